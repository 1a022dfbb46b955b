#!/bin/sh
# SPDX-License-Identifier: BSD-3-Clause
#
# Provides DPDK's driver-SDK headers (ethdev_driver.h, ethdev_vdev.h,
# bus_vdev_driver.h, dev_driver.h) for building net_shadowsim.
#
# Why: Debian's libdpdk-dev 22.11 is built without `enable_driver_sdk`, so it
# ships rte_flow_driver.h but not the ethdev_driver.h it includes; a PMD built
# outside the DPDK tree cannot compile without them. The headers must match
# the installed library exactly (they describe struct rte_eth_dev and the
# driver ops table), so they are taken from Debian's own source package of the
# installed libdpdk-dev version, through apt, and never committed.
#
# apt runs with private state and cache directories under OUTDIR, with the
# machine's configured Debian mirrors turned into deb-src entries: nothing in
# /etc/apt or /var/lib/apt is changed.
#
# usage: fetch-dpdk-sdk.sh OUTDIR     -> OUTDIR/include/{ethdev_driver.h,...}
# exit 0 when OUTDIR/include holds the headers for the installed version.
set -eu

out=${1:?usage: fetch-dpdk-sdk.sh OUTDIR}
inc="$out/include"
headers="lib/ethdev/ethdev_driver.h lib/ethdev/ethdev_vdev.h drivers/bus/vdev/bus_vdev_driver.h lib/eal/include/dev_driver.h"

say() { echo "fetch-dpdk-sdk: $*" >&2; }

debver=$(dpkg-query -W -f='${Version}' libdpdk-dev 2>/dev/null || true)
if [ -z "$debver" ]; then
	say "libdpdk-dev is not installed (dpkg-query found no version); install it first"
	exit 1
fi

if [ -f "$inc/.version" ] && [ "$(cat "$inc/.version")" = "$debver" ]; then
	exit 0
fi

if ! command -v apt-get >/dev/null 2>&1; then
	say "apt-get not found: cannot fetch the source of libdpdk-dev $debver"
	exit 1
fi

work="$out/apt"
rm -rf "$work" "$inc"
mkdir -p "$work/parts" "$work/lists/partial" "$work/cache/archives/partial" "$work/src" "$inc"

# The machine's own Debian sources, as deb-src (deb822 files and one-line lists).
for f in /etc/apt/sources.list.d/*.sources; do
	[ -f "$f" ] || continue
	# Only entries that are enabled Debian binary sources; a file may hold several stanzas.
	awk 'BEGIN { RS=""; ORS="\n\n" }
	     /(^|\n)Types:[^\n]*deb([ \t\n]|$)/ && !/(^|\n)Enabled:[ \t]*no/ {
	       gsub(/(^|\n)Types:[^\n]*/, "\nTypes: deb-src"); sub(/^\n/, ""); print }' "$f" \
		>"$work/parts/$(basename "$f")"
done
for f in /etc/apt/sources.list /etc/apt/sources.list.d/*.list; do
	[ -f "$f" ] || continue
	sed -n 's/^[[:space:]]*deb[[:space:]]/deb-src /p' "$f" >>"$work/parts/one-line.list"
done

apt_opts="-o Dir::Etc::SourceList=/dev/null -o Dir::Etc::SourceParts=$work/parts \
 -o Dir::State::Lists=$work/lists -o Dir::Cache=$work/cache -o APT::Sandbox::User=root -q"

say "fetching Debian's source of dpdk $debver for the driver-SDK headers"
# shellcheck disable=SC2086
if ! apt-get $apt_opts update >"$work/update.log" 2>&1; then
	say "apt-get update (deb-src) failed; see $work/update.log"
	exit 1
fi
# shellcheck disable=SC2086
if ! (cd "$work/src" && apt-get $apt_opts source --download-only "dpdk=$debver") >"$work/source.log" 2>&1; then
	say "apt-get source dpdk=$debver failed; see $work/source.log"
	exit 1
fi

tarball=$(ls "$work/src"/dpdk_*.orig.tar.* 2>/dev/null | head -n 1)
if [ -z "$tarball" ]; then
	say "no dpdk orig tarball in $work/src"
	exit 1
fi
top=$(tar -tf "$tarball" | head -n 1 | cut -d/ -f1)
members=""
for h in $headers; do members="$members $top/$h"; done
# shellcheck disable=SC2086
tar -xf "$tarball" -C "$work/src" $members
for h in $headers; do
	cp "$work/src/$top/$h" "$inc/"
done
{
	echo "DPDK driver-SDK headers from Debian's source package dpdk $debver ($(basename "$tarball"))."
	echo "BSD-3-Clause, as in DPDK. Fetched by native/sim/fetch-dpdk-sdk.sh; not part of shadowtap's sources."
} >"$inc/SOURCE.txt"
echo "$debver" >"$inc/.version"
rm -rf "$work"
say "headers ready in $inc"
