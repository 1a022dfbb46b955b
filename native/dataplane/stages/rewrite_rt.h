/* SPDX-License-Identifier: BSD-3-Clause
 * Routing-protocol payloads of the rewrite (internal to stages/rewrite_*.c):
 * BGP (rewrite_bgp.c), OSPFv2 and OSPFv3 (rewrite_ospf.c), and the address,
 * prefix and router-id translation they share (rewrite_rt.c). Section 10 of
 * the rewrite's specification (rewrite_frame.h has the overview; docs/policy.md
 * lists every field per protocol for operators):
 *
 * 10. Routing payloads (policy tables; leak kinds bgp, ospf, ra). Translation
 *    is length-preserving: only address bytes change, so TCP sequence
 *    numbers, message and LSA lengths stay valid.
 *    - An address field: the address maps (covered: translated, host bits
 *      kept; outside every map: kept, never "unmapped"; 0.0.0.0 never).
 *    - A router id (BGP identifier, ORIGINATOR_ID, CLUSTER_LIST, AGGREGATOR
 *      address, OSPF router ids and advertising routers): the policy's
 *      router-id map (exact), else the address maps.
 *    - A prefix P/L (NLRI, OSPF stub links, summary and external LSAs): L = 0
 *      is kept (the default route names no production host); the longest map
 *      covering P.0 translates it when that map's length <= L; when it is
 *      longer, or no map covers P.0 but a map lies inside P/L, the prefix is
 *      shorter than the map and cannot be translated (ST_RT_PREFIX_SHORT).
 *    - A field only partly in the copy (a BGP field split by a segment
 *      boundary): its bytes present are written when every address starting
 *      with them translates to the same leading bytes (no map or router id
 *      longer than the bytes known starts with them), else ST_RT_SPLIT.
 *    What cannot be translated goes to the leak policy (leak.h) with its
 *    reason: fail-closed, the copy is not sent unless the kind is "pass".
 *    The dispatch is rewrite_payload.c's: kinds bgp (TCP 179), ospf (IP 89);
 *    the RA options of ND (kind ra) are in rewrite_cp.c.
 */
#ifndef ST_REWRITE_RT_H
#define ST_REWRITE_RT_H

#include <stdint.h>

#include "rewrite_frame.h"
#include "leak.h"

/* Why a routing payload is not translated (mapped onto the leak policy's
 * reasons, leak.h, by st_rt_leak_reason). */
enum st_rt_reason {
	ST_RT_OK = 0,
	ST_RT_PREFIX_SHORT,  /* a prefix shorter than the map that covers part of it */
	ST_RT_SPLIT,         /* a field split by a segment boundary, ambiguous */
	ST_RT_GAP,           /* a segment missed or out of order: no message boundary */
	ST_RT_NO_STATE,      /* mid-stream with no per-flow state (new flow, evicted, no table) */
	ST_RT_MALFORMED,     /* lengths or markers that do not parse */
	ST_RT_UNSUPPORTED,   /* AFI/SAFI, attribute, LSA type, ADD-PATH, extended message */
	ST_RT_AUTH,          /* cryptographic authentication: the digest would break */
	ST_RT_TRUNCATED,     /* the payload is not all in the copy's first segment */
	ST_RT_NAME_LENGTH,   /* DNS: a reverse name whose translation changes its length */
};

static inline enum st_leak_reason st_rt_leak_reason(unsigned int r)
{
	switch (r) {
	case ST_RT_PREFIX_SHORT: return ST_LEAK_R_PREFIX_LENGTH;
	case ST_RT_SPLIT:
	case ST_RT_GAP:
	case ST_RT_NO_STATE: return ST_LEAK_R_SEGMENT;
	case ST_RT_MALFORMED: return ST_LEAK_R_MALFORMED;
	case ST_RT_TRUNCATED: return ST_LEAK_R_TRUNCATED;
	case ST_RT_NAME_LENGTH: return ST_LEAK_R_NAME_LENGTH;
	default: return ST_LEAK_R_UNSUPPORTED;
	}
}

/* Field kinds of the routing payloads. */
enum rt_field { RT_ADDR4, RT_ADDR6, RT_RID, RT_PFX4, RT_PFX6 };

/* Translate a whole field: in[0..n) -> out[0..n), n = 4 or 16 for
 * addresses and router ids, (L + 7) / 8 for a prefix of L bits.
 * 0 = translated or kept; else an enum st_rt_reason. */
int st_rt_xlat(const struct st_rewrite_tables *t, enum rt_field k,
	       const uint8_t *in, unsigned int n, unsigned int L, uint8_t *out);

/* The leading k bytes of a field of n bytes (k < n): out[0..k) when every
 * completion translates to the same leading bytes; else ST_RT_SPLIT. */
int st_rt_partial(const struct st_rewrite_tables *t, enum rt_field k,
		  const uint8_t *in, unsigned int known, unsigned int n,
		  unsigned int L, uint8_t *out);

/* Prefix length of a contiguous IPv4 mask, or -1. */
static inline int st_rt_masklen(uint32_t m)
{
	int l = m == 0 ? 0 : 32 - __builtin_ctz(m);

	return (l == 0 ? m == 0 : m == (UINT32_MAX << (32 - l))) ? l : -1;
}


/* ---- message streams over TCP (rewrite_bgp.c) --------------------------- */

/* Each direction of a TCP connection carrying a message protocol (BGP, DNS)
 * is a flow: the next sequence number expected and the original bytes of
 * the message in progress (at most ST_RT_MSG_MAX). A segment in order is
 * walked as the continuation of that message by the protocol's walker.
 * Each protocol has its own table (enum st_rt_table, rewrite.h). */
#define ST_RT_MSG_MAX 4096

struct st_rt_flow_key {
	uint8_t v6;
	uint8_t pad[3];
	uint8_t src[16], dst[16];
	uint16_t sport, dport;
};

struct st_rt_flow {
	struct st_rt_flow_key key;
	uint8_t used;
	uint8_t synced;      /* next_seq and the message state are known */
	uint8_t addpath;     /* BGP: this side's OPEN offered ADD-PATH */
	uint32_t next_seq;
	uint64_t last;       /* LRU stamp */
	uint32_t have;       /* bytes of the message in progress in buf */
	uint8_t buf[ST_RT_MSG_MAX];
};

/* A protocol's message walker. walk: n payload bytes p (original) that
 * continue f's stream, their translation written to out (out[0..n) holds a
 * copy of p on entry); f->have and f->buf advance; 0 or an enum
 * st_rt_reason; ST_RT_MALFORMED leaves f unsynced. starts: 1 when the
 * payload starts at a message boundary (a flow may be (re)synchronised
 * there). */
struct st_rt_proto {
	enum st_rt_table table;   /* whose flow table it uses */
	int (*walk)(const struct st_rewrite_tables *t, struct st_rt_flow *f,
		    const uint8_t *p, uint32_t n, uint8_t *out);
	int (*starts)(const uint8_t *p, uint32_t n);
};

/* The TCP segment at l4 of a datagram at l3 ending at dend, of protocol pr:
 * the two passes of st_rw_bgp below, for any message protocol. */
enum rw_cp st_rt_tcp(const struct rw_ctx *c, const struct st_rt_proto *pr, uint32_t l3,
		     int v6, uint32_t l4, uint32_t dend, int commit, uint32_t *delta,
		     uint8_t *why);

/* DNS and LLMNR over TCP (rewrite_dns.c): st_rt_tcp with the DNS walker. */
enum rw_cp st_rw_dns_tcp(const struct rw_ctx *c, uint32_t l3, int v6, uint32_t l4,
			 uint32_t dend, int commit, uint32_t *delta, uint8_t *why);

/* ---- BGP (rewrite_bgp.c) ------------------------------------------------ */

/* The TCP segment at l4 (absolute) of an IP datagram at l3 ending at dend,
 * to or from port 179. Pass 0 (commit 0): the payload is walked with the
 * flow's state (advanced whatever happens to the copy), translated into the
 * worker's scratch; RW_CP_UNTR when any of it cannot be translated. Pass 1:
 * the translated payload is written and its checksum delta added to *delta.
 * Without per-worker state (c->rt == NULL) any payload is untranslatable.
 * RW_CP_UNTR: *why is an enum st_rt_reason. */
enum rw_cp st_rw_bgp(const struct rw_ctx *c, uint32_t l3, int v6, uint32_t l4,
		     uint32_t dend, int commit, uint32_t *delta, uint8_t *why);

/* ---- OSPF (rewrite_ospf.c) ---------------------------------------------- */

/* The OSPFv2 packet at o (absolute) in an IPv4 datagram ending at dend; two
 * passes like DHCP. Pass 1 fixes every LSA's Fletcher checksum and the
 * OSPF checksum itself. */
enum rw_cp st_rw_ospf2(const struct rw_ctx *c, uint32_t o, uint32_t dend,
		       int commit, uint8_t *why);
/* The OSPFv3 packet at o in an IPv6 datagram; pass 1 adds the change to
 * *delta (the checksum covers the IPv6 pseudo-header: the caller fixes it). */
enum rw_cp st_rw_ospf3(const struct rw_ctx *c, uint32_t o, uint32_t dend,
		       int commit, uint32_t *delta, uint8_t *why);

/* ISO 8473 / RFC 905 Fletcher checksum of an LSA of len bytes (from its age
 * field): the value for its checksum field (bytes 16-17), and the check. */
uint16_t st_rt_fletcher(const uint8_t *lsa, uint32_t len);
int st_rt_fletcher_ok(const uint8_t *lsa, uint32_t len);

#endif /* ST_REWRITE_RT_H */
