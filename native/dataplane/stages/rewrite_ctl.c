/* SPDX-License-Identifier: BSD-3-Clause
 * Control-time half of the header rewrite: turns the start plan's (or the
 * policy's) prefix maps, MAC maps and shadow MACs into immutable tables that
 * st_rewrite_frame() / st_rewrite_frame_ex() only read.
 *
 * - rte_lpm (IPv4) and rte_lpm6 (IPv6), next hop = index of the map in the
 *   copied map4[]/map6[] arrays. A family without maps keeps a NULL table, so
 *   the fast path treats every address of that family as unmapped.
 * - rte_lpm/rte_lpm6 reject depth 0, so a /0 map is installed as its two /1
 *   halves, first, so that any real /1 map replaces them (rte_*_add on an
 *   existing rule only updates its next hop): longest prefix still wins.
 *   Host overrides are simply /32 and /128 maps: the longest prefix wins.
 * - Maps are copied with the host bits of from/to cleared: the fast path then
 *   only has to OR the packet's host bits in.
 * - Two maps with the same prefix are refused: the start plan would be ambiguous.
 * - MAC maps (policy only) go into an rte_hash keyed by the 6-byte MAC whose
 *   data is the index of the replacement in mac_to[]; no MAC maps, no hash.
 *   A duplicate or all-zero MAC is refused.
 *
 * Memory: rte_lpm and rte_lpm6 each allocate a 2^24-entry tbl24 of 4-byte
 * entries (64 MiB) from the DPDK heap whatever the number of maps, plus
 * small tbl8 groups (rte_lpm6: 1 KiB per group, 14 per /128 map, so ~3.6 MiB
 * for 256 maps). A compiled table set therefore costs ~64 MiB per address
 * family that has at least one map (~130 MiB with both), nothing for a family
 * without maps, and twice that while an old and a new set coexist during a
 * policy swap. The MAC hash is small (64 bytes per entry and bucket slot,
 * entries = 2 x maps, at least 64). The tables struct itself is ~24 KiB.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE /* DPDK headers need POSIX types (ssize_t) under -std=c11 */
#endif
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>

#include <rte_cpuflags.h>
#include <rte_errno.h>
#include <rte_hash.h>
#include <rte_jhash.h>
#include <rte_lpm.h>
#include <rte_lpm6.h>
#include <rte_malloc.h>
#include <rte_memory.h>
#include <rte_vect.h>

#include "rewrite.h"
#include "rewrite_fast.h"
#include "error.h"
#include "compiled_policy.h"

/* rte_lpm*_create() prefixes the name with "LPM_" (and lpm6 its rule hash
 * with "LRH_") inside a RTE_LPM_NAMESIZE buffer. */
#define RW_NAME_MAX (RTE_LPM_NAMESIZE - 5)

static atomic_uint rw_name_seq;

static void rw_err(struct st_error *err, const char *field, int errnum,
		   const char *fmt, const char *detail)
{
	if (err == NULL)
		return;
	memset(err, 0, sizeof(*err));
	snprintf(err->code, sizeof(err->code), "%s", "ST_ERR_MAP_COMPILE");
	snprintf(err->field, sizeof(err->field), "%s", field);
	snprintf(err->message, sizeof(err->message), fmt, detail);
	err->errnum = errnum;
}

/* A table that does not fit in EAL memory is the operator's memory budget,
 * not a bad map: say which setting to raise. */
static void rw_nomem(struct st_error *err, const char *field, const char *what)
{
	if (err == NULL)
		return;
	memset(err, 0, sizeof(*err));
	snprintf(err->code, sizeof(err->code), "%s", "ST_ERR_NOMEM");
	snprintf(err->field, sizeof(err->field), "%s", field);
	snprintf(err->message, sizeof(err->message),
		 "cannot create %s: out of EAL memory (an IP map table alone takes "
		 "64 MiB; raise dataplane.eal.memory_mb)", what);
	err->errnum = ENOMEM;
}

static inline uint32_t rw_mask4(uint8_t len)
{
	return len == 0 ? 0 : UINT32_MAX << (32 - len);
}

static void rw_mask6(uint8_t out[16], const uint8_t in[16], uint8_t len)
{
	for (unsigned int i = 0; i < 16; i++) {
		unsigned int bits = len > i * 8 ? len - i * 8 : 0;
		uint8_t m = bits >= 8 ? 0xff : (uint8_t)(0xff00u >> bits);
		out[i] = in[i] & m;
	}
}

static int rw_make_name(char *out, size_t size, char family,
			const char *suffix)
{
	int n;

	if (suffix != NULL && suffix[0] != '\0')
		n = snprintf(out, size, "rw%c_%s", family, suffix);
	else
		n = snprintf(out, size, "rw%c_%u", family,
			     atomic_fetch_add(&rw_name_seq, 1));
	return (n < 0 || (size_t)n >= size || n > RW_NAME_MAX) ? -1 : 0;
}

static int rw_compile4(struct st_rewrite_tables *t, uint16_t n,
		       const struct st_map4 *maps, const char *suffix,
		       struct st_error *err)
{
	char name[RTE_LPM_NAMESIZE], field[32];
	struct rte_lpm_config conf;
	int ret;

	for (uint16_t i = 0; i < n; i++) {
		const struct st_map4 *m = &maps[i];

		if (m->len > 32) {
			snprintf(field, sizeof(field), "map4[%u].len", i);
			rw_err(err, field, EINVAL, "%s",
			       "prefix length must be 0..32");
			return -EINVAL;
		}
		t->map4[i].len = m->len;
		t->map4[i].from = m->from & rw_mask4(m->len);
		t->map4[i].to = m->to & rw_mask4(m->len);
		t->map4_mask[i] = rw_mask4(m->len);
		for (uint16_t j = 0; j < i; j++) {
			if (t->map4[j].len == t->map4[i].len &&
			    t->map4[j].from == t->map4[i].from) {
				char other[32];

				snprintf(field, sizeof(field), "map4[%u]", i);
				snprintf(other, sizeof(other), "map4[%u]", j);
				rw_err(err, field, EINVAL,
				       "same prefix as %s: each prefix may be mapped once",
				       other);
				return -EINVAL;
			}
		}
	}
	t->nb_map4 = n;
	if (n == 0)
		return 0;

	if (rw_make_name(name, sizeof(name), '4', suffix) < 0) {
		rw_err(err, "map4", ENAMETOOLONG,
		       "table name suffix '%s' is too long", suffix);
		return -ENAMETOOLONG;
	}
	memset(&conf, 0, sizeof(conf));
	conf.max_rules = n + 2u;       /* a /0 takes two rules */
	conf.number_tbl8s = n + 1u;    /* a prefix longer than /24 takes one */
	t->lpm4 = rte_lpm_create(name, SOCKET_ID_ANY, &conf);
	if (t->lpm4 == NULL) {
		int e = rte_errno;

		if (e == ENOMEM) {
			rw_nomem(err, "map4", "the IPv4 map table");
			return -e;
		}
		rw_err(err, "map4", e, "cannot create IPv4 map table: %s",
		       rte_strerror(e));
		return -e;
	}

	/* pass 0 installs the /0 map, pass 1 everything more specific */
	for (int pass = 0; pass < 2; pass++) {
		for (uint16_t i = 0; i < n; i++) {
			const struct st_map4 *m = &t->map4[i];

			if ((pass == 0) != (m->len == 0))
				continue;
			if (m->len == 0) {
				ret = rte_lpm_add(t->lpm4, 0, 1, i);
				if (ret == 0)
					ret = rte_lpm_add(t->lpm4, UINT32_C(0x80000000), 1, i);
			} else {
				ret = rte_lpm_add(t->lpm4, m->from, m->len, i);
			}
			if (ret < 0) {
				snprintf(field, sizeof(field), "map4[%u]", i);
				rw_err(err, field, -ret, "cannot add IPv4 map: %s",
				       rte_strerror(-ret));
				return ret;
			}
		}
	}
	return 0;
}

static int rw_compile6(struct st_rewrite_tables *t, uint16_t n,
		       const struct st_map6 *maps, const char *suffix,
		       struct st_error *err)
{
	char name[RTE_LPM6_NAMESIZE], field[32];
	struct rte_lpm6_config conf;
	int ret;

	for (uint16_t i = 0; i < n; i++) {
		const struct st_map6 *m = &maps[i];

		if (m->len > 128) {
			snprintf(field, sizeof(field), "map6[%u].len", i);
			rw_err(err, field, EINVAL, "%s",
			       "prefix length must be 0..128");
			return -EINVAL;
		}
		t->map6[i].len = m->len;
		rw_mask6(t->map6[i].from, m->from, m->len);
		rw_mask6(t->map6[i].to, m->to, m->len);
		for (uint16_t j = 0; j < i; j++) {
			if (t->map6[j].len == t->map6[i].len &&
			    memcmp(t->map6[j].from, t->map6[i].from, 16) == 0) {
				char other[32];

				snprintf(field, sizeof(field), "map6[%u]", i);
				snprintf(other, sizeof(other), "map6[%u]", j);
				rw_err(err, field, EINVAL,
				       "same prefix as %s: each prefix may be mapped once",
				       other);
				return -EINVAL;
			}
		}
	}
	t->nb_map6 = n;
	if (n == 0)
		return 0;

	if (rw_make_name(name, sizeof(name), '6', suffix) < 0) {
		rw_err(err, "map6", ENAMETOOLONG,
		       "table name suffix '%s' is too long", suffix);
		return -ENAMETOOLONG;
	}
	memset(&conf, 0, sizeof(conf));
	conf.max_rules = n + 2u;
	/* a /128 walks 13 tbl8 levels below tbl24; groups are 1 KiB each */
	conf.number_tbl8s = 14u * n + 16u;
	t->lpm6 = rte_lpm6_create(name, SOCKET_ID_ANY, &conf);
	if (t->lpm6 == NULL) {
		int e = rte_errno;

		if (e == ENOMEM) {
			rw_nomem(err, "map6", "the IPv6 map table");
			return -e;
		}
		rw_err(err, "map6", e, "cannot create IPv6 map table: %s",
		       rte_strerror(e));
		return -e;
	}

	for (int pass = 0; pass < 2; pass++) {
		for (uint16_t i = 0; i < n; i++) {
			const struct st_map6 *m = &t->map6[i];

			if ((pass == 0) != (m->len == 0))
				continue;
			if (m->len == 0) {
				uint8_t half[16] = { 0 };

				ret = rte_lpm6_add(t->lpm6, half, 1, i);
				half[0] = 0x80;
				if (ret == 0)
					ret = rte_lpm6_add(t->lpm6, half, 1, i);
			} else {
				ret = rte_lpm6_add(t->lpm6, m->from, m->len, i);
			}
			if (ret < 0) {
				snprintf(field, sizeof(field), "map6[%u]", i);
				rw_err(err, field, -ret, "cannot add IPv6 map: %s",
				       rte_strerror(-ret));
				return ret;
			}
		}
	}
	return 0;
}

static int rw_mac_zero(const uint8_t *m)
{
	return (m[0] | m[1] | m[2] | m[3] | m[4] | m[5]) == 0;
}

static int rw_compile_mac(struct st_rewrite_tables *t,
			  const struct st_policy_conf *pol, struct st_error *err)
{
	struct rte_hash_parameters hp;
	char name[RTE_HASH_NAMESIZE], field[48];
	uint16_t n = pol->nb_mac_maps;

	t->nb_mac_maps = n;
	if (n == 0)
		return 0;
	for (uint16_t i = 0; i < n; i++) {
		const struct st_mac_map *m = &pol->mac_maps[i];

		if (rw_mac_zero(m->from) || rw_mac_zero(m->to)) {
			snprintf(field, sizeof(field), "mac_maps[%u].%s", i,
				 rw_mac_zero(m->from) ? "from" : "to");
			rw_err(err, field, EINVAL, "%s",
			       "expected a MAC other than 00:00:00:00:00:00");
			return -EINVAL;
		}
		for (uint16_t j = 0; j < i; j++) {
			if (memcmp(pol->mac_maps[j].from, m->from, 6) == 0) {
				char other[32];

				snprintf(field, sizeof(field), "mac_maps[%u].from", i);
				snprintf(other, sizeof(other), "mac_maps[%u]", j);
				rw_err(err, field, EINVAL,
				       "same MAC as %s: each MAC may be mapped once",
				       other);
				return -EINVAL;
			}
		}
		memcpy(t->mac_to[i], m->to, 6);
	}

	/* rte_hash names its ring "HT_<name>" inside a 32-byte memzone name:
	 * a counter keeps the name short and unique, whatever the suffix. */
	snprintf(name, sizeof(name), "rwm_%u", atomic_fetch_add(&rw_name_seq, 1));
	memset(&hp, 0, sizeof(hp));
	hp.name = name;
	hp.entries = n * 2u < 64u ? 64u : n * 2u;
	hp.key_len = 6;
	hp.hash_func = rte_jhash;
	hp.socket_id = SOCKET_ID_ANY;
	t->mac_hash = rte_hash_create(&hp);
	if (t->mac_hash == NULL) {
		int e = rte_errno;

		if (e == ENOMEM) {
			rw_nomem(err, "mac_maps", "the MAC map table");
			return -e;
		}
		rw_err(err, "mac_maps", e, "cannot create the MAC map table: %s",
		       rte_strerror(e));
		return -e;
	}
	for (uint16_t i = 0; i < n; i++) {
		/* rte_jhash reads the key in aligned 32-bit words */
		union { uint32_t w[2]; uint8_t b[8]; } key = { .w = { 0, 0 } };
		int ret;

		memcpy(key.b, pol->mac_maps[i].from, 6);
		ret = rte_hash_add_key_data(t->mac_hash, key.b, (void *)(uintptr_t)i);

		if (ret < 0) {
			snprintf(field, sizeof(field), "mac_maps[%u]", i);
			rw_err(err, field, -ret, "cannot add MAC map: %s",
			       rte_strerror(-ret));
			return ret;
		}
	}
	return 0;
}

/* DHCP options whose data is a list of IPv4 addresses (RFC 2132): router,
 * time/name/DNS/log servers, broadcast, NIS, NTP, NetBIOS, X, NIS+, mobile
 * IP home agent, SMTP/POP3/NNTP/WWW/finger/IRC/StreetTalk/STDA servers,
 * requested address, server identifier, subnet selection (RFC 3011).
 * Option 1 (subnet mask) and 121 (classless routes) are not addresses. */
static const uint8_t rw_dhcp_addr_opts[] = {
	3, 4, 5, 6, 7, 28, 41, 42, 44, 45, 48, 49, 50, 54, 65, 68, 69, 70,
	71, 72, 73, 74, 75, 76, 118,
};

static struct st_rewrite_tables *
rw_compile(uint16_t nb_map4, const struct st_map4 *map4, uint16_t nb_map6,
	   const struct st_map6 *map6, uint8_t unmapped, uint8_t max_unmapped,
	   const char *name_suffix, struct st_error *err)
{
	struct st_rewrite_tables *t;

	if (nb_map4 > ST_MAX_MAPS) {
		rw_err(err, "map4", EINVAL, "%s",
		       "more IPv4 maps than ST_MAX_MAPS (256)");
		return NULL;
	}
	if (nb_map6 > ST_MAX_MAPS) {
		rw_err(err, "map6", EINVAL, "%s",
		       "more IPv6 maps than ST_MAX_MAPS (256)");
		return NULL;
	}
	if (unmapped > max_unmapped) {
		rw_err(err, "unmapped", EINVAL, "%s", max_unmapped == 1 ?
		       "unmapped rule must be 0 (drop) or 1 (mirror)" :
		       "unmapped rule must be 0 (drop), 1 (mirror) or 2 (count)");
		return NULL;
	}

	t = rte_zmalloc("st_rewrite_tables", sizeof(*t), RTE_CACHE_LINE_SIZE);
	if (t == NULL) {
		rw_err(err, "", ENOMEM, "%s",
		       "cannot allocate rewrite tables: out of DPDK memory");
		return NULL;
	}
	t->unmapped = unmapped;
	if (rw_compile4(t, nb_map4, map4, name_suffix, err) < 0 ||
	    rw_compile6(t, nb_map6, map6, name_suffix, err) < 0) {
		st_rewrite_free(t);
		return NULL;
	}
	return t;
}

/* What the short IPv4 path reads instead of deciding per frame. */
static void rw_derive_fast(struct st_rewrite_tables *t)
{
	memcpy(t->mac_pair, t->dst_mac, 6);
	memcpy(t->mac_pair + 6, t->src_mac, 6);
	t->fast4 = t->lpm4 != NULL && t->mac_hash == NULL && !rw_mac_zero(t->src_mac) &&
		   !rw_mac_zero(t->dst_mac);
	/* The burst path (rewrite_fast.h) also takes copies whose addresses
	 * no map covers when the unmapped rule keeps them: mirroring without
	 * translation must not be slower than with it. */
	t->burst_ok = t->mac_hash == NULL && !rw_mac_zero(t->src_mac) &&
		      !rw_mac_zero(t->dst_mac) &&
		      (t->nb_map4 != 0 || t->unmapped == ST_UNMAPPED_RULE_MIRROR);
	t->fm_lpm = t->nb_map4 > ST_RW_FAST_MAPS;
	t->nb_fm = 0;
	if (!t->fm_lpm) {
		/* longest prefix first: the first mask that matches is the
		 * one rte_lpm would find (no two maps share a prefix) */
		uint16_t order[ST_RW_FAST_MAPS];

		for (uint16_t i = 0; i < t->nb_map4; i++) {
			uint16_t j = i;

			while (j > 0 && t->map4[order[j - 1]].len < t->map4[i].len) {
				order[j] = order[j - 1];
				j--;
			}
			order[j] = i;
		}
		for (uint16_t i = 0; i < t->nb_map4; i++) {
			const struct st_map4 *m = &t->map4[order[i]];

			t->fm_mask[i] = t->map4_mask[order[i]];
			t->fm_from[i] = m->from;
			t->fm_to[i] = m->to;
		}
		t->nb_fm = (uint8_t)t->nb_map4;
	}
	t->burst = st_rw_burst_pick(NULL);
}

/* The burst variant for this CPU: DPDK's CPU flags, within the SIMD width
 * EAL allows (--force-max-simd-bitwidth), as DPDK's own libraries choose. */
st_rw_burst_fn st_rw_burst_pick(const char **name)
{
#if defined(RTE_ARCH_X86_64)
	/* experimental in DPDK 22.11, stable since 23.03; a plain read */
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wdeprecated-declarations"
	const uint16_t simd = rte_vect_get_max_simd_bitwidth();
#pragma GCC diagnostic pop

	if (rte_cpu_get_flag_enabled(RTE_CPUFLAG_AVX2) > 0 && simd >= RTE_VECT_SIMD_256) {
		if (name != NULL)
			*name = "avx2";
		return st_rw_burst_avx2;
	}
#endif
	if (name != NULL)
		*name = "generic";
	return st_rw_burst_generic;
}

struct st_rewrite_tables *st_rewrite_compile(const struct st_start_plan *sp,
					     const char *name_suffix,
					     struct st_error *err)
{
	struct st_rewrite_tables *t;

	if (sp == NULL) {
		rw_err(err, "", EINVAL, "%s", "no plan given");
		return NULL;
	}
	t = rw_compile(sp->nb_map4, sp->map4, sp->nb_map6, sp->map6,
		       sp->unmapped, ST_UNMAPPED_MIRROR, name_suffix, err);
	if (t == NULL)
		return NULL;
	memcpy(t->src_mac, sp->shadow_src_mac, sizeof(t->src_mac));
	memcpy(t->dst_mac, sp->shadow_dst_mac, sizeof(t->dst_mac));
	rw_derive_fast(t);
	return t;
}

/* Routing payloads (rewrite_rt.h): the router-id map sorted for a binary
 * search, and which first bytes the maps' from-prefixes reach. */
static int rw_compile_rt(struct st_rewrite_tables *t, const struct st_policy_conf *pol,
			 struct st_error *err)
{
	for (uint16_t i = 0; i < pol->nb_router_ids; i++) {
		uint32_t f = pol->router_ids[i].from, to = pol->router_ids[i].to;
		uint16_t j = t->nb_rid;

		while (j > 0 && t->rid_from[j - 1] > f)
			j--;
		if (j > 0 && t->rid_from[j - 1] == f) {
			char field[32];

			snprintf(field, sizeof(field), "router_ids[%u].from", i);
			rw_err(err, field, EINVAL, "%s", "router id mapped twice");
			return -EINVAL;
		}
		memmove(&t->rid_from[j + 1], &t->rid_from[j], (t->nb_rid - j) * sizeof(uint32_t));
		memmove(&t->rid_to[j + 1], &t->rid_to[j], (t->nb_rid - j) * sizeof(uint32_t));
		t->rid_from[j] = f;
		t->rid_to[j] = to;
		t->nb_rid++;
	}
	for (uint16_t i = 0; i < t->nb_map4; i++) {
		unsigned int first = t->map4[i].from >> 24;
		unsigned int span = t->map4[i].len >= 8 ? 1u : 1u << (8 - t->map4[i].len);

		for (unsigned int b = first; b < first + span && b < 256; b++)
			t->map4_first[b / 8] |= (uint8_t)(1u << (b % 8));
	}
	for (uint16_t i = 0; i < t->nb_map6; i++) {
		unsigned int first = t->map6[i].from[0];
		unsigned int span = t->map6[i].len >= 8 ? 1u : 1u << (8 - t->map6[i].len);

		if (t->map6[i].len < 8)
			first &= ~(span - 1);
		for (unsigned int b = first; b < first + span && b < 256; b++)
			t->map6_first[b / 8] |= (uint8_t)(1u << (b % 8));
	}
	return 0;
}

struct st_rewrite_tables *st_rewrite_compile_policy(const struct st_policy_conf *pol,
						    const char *name_suffix,
						    struct st_error *err)
{
	struct st_rewrite_tables *t;

	if (pol == NULL) {
		rw_err(err, "", EINVAL, "%s", "no policy given");
		return NULL;
	}
	if (pol->nb_mac_maps > ST_MAX_MAC_MAPS) {
		rw_err(err, "mac_maps", EINVAL, "%s",
		       "more MAC maps than ST_MAX_MAC_MAPS (1024)");
		return NULL;
	}
	if (pol->nb_mac_maps > 0 && pol->mac_maps == NULL) {
		rw_err(err, "mac_maps", EINVAL, "%s",
		       "nb_mac_maps > 0 but no MAC map array");
		return NULL;
	}
	if ((pol->control_plane & ~(uint32_t)ST_CP_ALL) != 0) {
		rw_err(err, "control_plane", EINVAL, "%s",
		       "unknown control-plane bits: expected ST_CP_ARP | ST_CP_DHCP | ST_CP_ND");
		return NULL;
	}
	if (pol->nb_router_ids > ST_MAX_RIDS) {
		rw_err(err, "router_ids", EINVAL, "%s", "more router-id maps than ST_MAX_RIDS (256)");
		return NULL;
	}
	t = rw_compile(pol->nb_map4, pol->map4, pol->nb_map6, pol->map6,
		       pol->unmapped, ST_UNMAPPED_RULE_COUNT, name_suffix, err);
	if (t == NULL)
		return NULL;
	memcpy(t->src_mac, pol->default_src_mac, sizeof(t->src_mac));
	memcpy(t->dst_mac, pol->default_dst_mac, sizeof(t->dst_mac));
	t->control_plane = pol->control_plane;
	t->cp_aware = pol->control_plane != 0;
	for (unsigned int k = 0; k < ST_LEAK__COUNT; k++) {
		static const char *const names[] = ST_LEAK_KIND_NAMES;

		if (pol->leak[k] > ST_LEAK_PASS) {
			rw_err(err, "leak", EINVAL,
			       "leak.%s: expected 0 translate, 1 drop or 2 pass", names[k]);
			st_rewrite_free(t);
			return NULL;
		}
		t->leak[k] = pol->leak[k];
	}
	t->payloads = 1;
	for (size_t i = 0; i < sizeof(rw_dhcp_addr_opts); i++)
		t->dhcp_addr_opts[rw_dhcp_addr_opts[i] / 8] |=
			(uint8_t)(1u << (rw_dhcp_addr_opts[i] % 8));
	if (rw_compile_mac(t, pol, err) < 0 || rw_compile_rt(t, pol, err) < 0) {
		st_rewrite_free(t);
		return NULL;
	}
	rw_derive_fast(t);
	return t;
}

void st_rewrite_free(struct st_rewrite_tables *t)
{
	if (t == NULL)
		return;
	rte_lpm_free(t->lpm4);    /* all three accept NULL */
	rte_lpm6_free(t->lpm6);
	rte_hash_free(t->mac_hash);
	rte_free(t);
}

/* ---- a policy's tables, shared across swaps --------------------------------- */

/* Building the rewrite tables (rte_lpm/rte_lpm6, 64 MiB each, MAC hash) is
 * most of a swap's time, and most swaps change filters, not the topology:
 * tables built from the same topology are shared, reference-counted by
 * policies (under policy_lock only, so a plain counter). */
/* Suffixes of a policy's table names (rw_make_name adds its own sequence). */
static uint32_t policy_seq;

struct st_rw_shared {
	uint32_t refs;
	struct st_rewrite_tables *tables;
	size_t key_len;
	uint8_t key[];   /* the topology fields of the conf, serialised */
};

static void
key_put(uint8_t *buf, size_t *off, const void *p, size_t n)
{
	if (buf != NULL)
		memcpy(buf + *off, p, n);
	*off += n;
}

/* Field by field (no struct padding), in one pass that sizes (buf NULL) or
 * writes. */
static size_t
rw_key(const struct st_policy_conf *c, uint8_t *buf)
{
	size_t off = 0;
	uint32_t i;

	key_put(buf, &off, &c->nb_map4, sizeof(c->nb_map4));
	for (i = 0; i < c->nb_map4; i++) {
		key_put(buf, &off, &c->map4[i].from, 4);
		key_put(buf, &off, &c->map4[i].to, 4);
		key_put(buf, &off, &c->map4[i].len, 1);
	}
	key_put(buf, &off, &c->nb_map6, sizeof(c->nb_map6));
	for (i = 0; i < c->nb_map6; i++) {
		key_put(buf, &off, c->map6[i].from, 16);
		key_put(buf, &off, c->map6[i].to, 16);
		key_put(buf, &off, &c->map6[i].len, 1);
	}
	key_put(buf, &off, &c->nb_mac_maps, sizeof(c->nb_mac_maps));
	for (i = 0; i < c->nb_mac_maps; i++) {
		key_put(buf, &off, c->mac_maps[i].from, 6);
		key_put(buf, &off, c->mac_maps[i].to, 6);
	}
	key_put(buf, &off, c->default_src_mac, 6);
	key_put(buf, &off, c->default_dst_mac, 6);
	key_put(buf, &off, &c->unmapped, 1);
	key_put(buf, &off, &c->control_plane, 4);
	key_put(buf, &off, &c->nb_router_ids, sizeof(c->nb_router_ids));
	for (i = 0; i < c->nb_router_ids && i < ST_MAX_RIDS; i++)
		key_put(buf, &off, &c->router_ids[i], sizeof(c->router_ids[i]));
	key_put(buf, &off, c->leak, sizeof(c->leak));
	return off;
}

int
st_rewrite_attach(struct st_policy *pol, const struct st_policy_conf *c,
	  const struct st_policy *current, struct st_error *err)
{
	size_t len = rw_key(c, NULL);
	struct st_rw_shared *rws;
	char suffix[24];

	rws = rte_zmalloc("st_rw_shared", sizeof(*rws) + len, 0);
	if (rws == NULL)
		return st_error_fieldf(err, "ST_ERR_NOMEM", ENOMEM, "policy|out of memory");
	rws->key_len = rw_key(c, rws->key);
	if (current != NULL && current->rws != NULL && current->rws->key_len == rws->key_len &&
	    memcmp(current->rws->key, rws->key, len) == 0) {
		rte_free(rws);
		pol->rws = current->rws;
		pol->rws->refs++;
		pol->rw = pol->rws->tables;
		return 0;
	}
	snprintf(suffix, sizeof(suffix), "p%u", __atomic_fetch_add(&policy_seq, 1, __ATOMIC_RELAXED));
	rws->tables = st_rewrite_compile_policy(c, suffix, err);
	if (rws->tables == NULL) {
		rte_free(rws);
		if (err != NULL && err->code[0] == '\0')
			st_error_fieldf(err, "ST_ERR_REWRITE", EINVAL, "policy|cannot compile the rewrite tables");
		return -EINVAL;
	}
	rws->refs = 1;
	pol->rws = rws;
	pol->rw = rws->tables;
	return 0;
}

void
st_rewrite_detach(struct st_policy *pol)
{
	if (pol->rws != NULL && --pol->rws->refs == 0) {
		st_rewrite_free(pol->rws->tables);
		rte_free(pol->rws);
	}
	pol->rws = NULL;
	pol->rw = NULL;
}
