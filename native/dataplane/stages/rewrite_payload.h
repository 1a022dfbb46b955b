/* SPDX-License-Identifier: BSD-3-Clause
 * Transport payloads of the rewrite that carry addresses (internal to
 * stages/rewrite_*.c; the dispatch in rewrite_payload.c): DNS, mDNS and
 * LLMNR (rewrite_dns.c), and the kinds of the leak policy (leak.h) that
 * later translators add (BGP, OSPF, RA, tunnels). Section 9 of the
 * rewrite's specification (rewrite_frame.h has the overview):
 *
 * 9. Payloads under the leak policy (tables from a policy: t->payloads).
 *    The IP layer describes the transport (struct rw_pl) and calls
 *    st_rw_payload_check() after its own checks and before it writes
 *    anything, and st_rw_payload_commit() when the copy is going to be sent.
 *    check finds the kind (ports, protocol), then by the kind's action:
 *    DROP drops the copy (ST_DROP_LEAK, reason "policy"); PASS lets it go
 *    with its headers translated and its payload as it was (counted);
 *    TRANSLATE validates the whole payload without writing; what cannot be
 *    translated goes through st_leak_untranslatable() (fail-closed: drop,
 *    unless the action is PASS). commit writes and adds the transport
 *    checksum delta of every changed byte to *delta (odd offsets swapped,
 *    RFC 1071), so the IP layer fixes the UDP/TCP checksum once.
 *    A fragment of such a payload cannot be translated whole: the first
 *    fragment is untranslatable ("unsupported"); later fragments carry no
 *    ports and are not recognised (headers only).
 * 9.1 DNS, mDNS, LLMNR: rewrite_dns.h.
 * 9.2 Tunnels (rewrite_tun.c): VXLAN (UDP destination port 4789: the I
 *    flag, then Ethernet), GENEVE (6081: version 0; Ethernet, IPv4 or
 *    IPv6), GRE version 0 without routing (IPv4, IPv6 or Ethernet; C, K, S
 *    fields), IP-in-IP (4), IPv6 in IP (41), PIM v2 Register (103, type
 *    1). The inner packet goes through the same IP layer as an outer one
 *    (rw_ctx.inner: the outer Ethernet header stays; rw_ctx.dry: checks
 *    only), with its lengths checked against the tunnel's payload: first
 *    dry (nothing written; an inner address outside the maps drops the copy
 *    by the unmapped rule, a payload inside it is judged as its own kind),
 *    then for real. Inner Ethernet MACs like outer ones. The bytes it
 *    changed are summed before and after (O(inner length), tunnels only)
 *    for the outer transport checksum and the GRE checksum. The whole
 *    tunnel payload must be in the first segment ("truncated"). A tunnel in
 *    a tunnel: "nested"; other versions and payload types: "unsupported".
 */
#ifndef ST_REWRITE_PAYLOAD_H
#define ST_REWRITE_PAYLOAD_H

#include <stdint.h>

#include "rewrite_frame.h"
#include "leak.h"

/* One transport payload, as the IP layer saw it. */
struct rw_pl {
	uint32_t l3;      /* IP header (absolute): BGP's flow key */
	uint32_t l4;      /* transport header (absolute) */
	uint32_t dend;    /* end of the datagram by the IP length */
	uint8_t proto;    /* IPPROTO_* (after IPv6 extension headers) */
	uint8_t v6;
	uint8_t frag;     /* first fragment of a fragmented datagram */
	/* set by check */
	int8_t kind;      /* enum st_leak_kind, -1: none */
	uint8_t go;       /* commit translates */
};

/* Ports whose payloads the dispatch looks at (both directions): DNS,
 * mDNS, LLMNR, BGP, VXLAN, GENEVE. The short IPv4 path leaves them to the
 * general one. */
/* The ports whose payloads have translators (DNS, mDNS, LLMNR, BGP, VXLAN,
 * GENEVE): one list, which the burst path (rewrite_fast.h) compares too. */
#define RW_PL_PORTS 53, 5353, 5355, 179, 4789, 6081

static inline int rw_pl_port(uint16_t p)
{
	static const uint16_t ports[] = { RW_PL_PORTS };

	for (unsigned int i = 0; i < sizeof(ports) / sizeof(ports[0]); i++)
		if (p == ports[i])
			return 1;
	return 0;
}

/* Tunnels (rewrite_tun.c). check: -1 translatable, -2 the inner packet
 * dropped the copy itself (c->res says why), else a leak reason. */
int st_rw_tun_pim_register(const struct rw_ctx *c, const struct rw_pl *p);
int st_rw_tun_check(const struct rw_ctx *c, const struct rw_pl *p);
void st_rw_tun_commit(const struct rw_ctx *c, const struct rw_pl *p, uint32_t *delta);

/* 1 when the copy is dropped (c->res says why) and the frame is done. */
int st_rw_payload_check(const struct rw_ctx *c, struct rw_pl *p);
void st_rw_payload_commit(const struct rw_ctx *c, struct rw_pl *p,
			  uint32_t *delta);

/* The leak policy's verdict on a payload that cannot be translated:
 * 1 = the copy is dropped (ST_DROP_LEAK). */
static inline int rw_leak(const struct rw_ctx *c, enum st_leak_kind kind,
			  enum st_leak_reason reason)
{
	if (!st_leak_untranslatable(c->t->leak, &c->res->leak, kind, reason))
		return 0;
	c->res->drop = ST_DROP_LEAK;
	return 1;
}

#endif /* ST_REWRITE_PAYLOAD_H */
