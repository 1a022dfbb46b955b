/* SPDX-License-Identifier: BSD-3-Clause
 * The normalised classification key: what rte_acl sees of a packet.
 *
 * A packet is parsed once (L2, up to two VLAN tags, IPv4/IPv6 with extension
 * headers, L4 ports and TCP flags) into a fixed 49-byte key, so every filter
 * field sits at a fixed offset whatever the encapsulation. rte_acl wants the
 * first field to be 1 byte and the rest in groups of 4 consecutive bytes (one
 * input_index per group), all in network byte order; rules are written in
 * host order. Layout (offset: field, group):
 *
 *    0: proto                               group 0 (the 1-byte first field)
 *    1: ip_version | 2: tcp_flags | 3: vlan  group 1  (vlan 16 bit, 4096 = untagged)
 *    5: ethertype  | 7: family | 8: pad      group 2  (family 4: IPv4 or ARP, 6: IPv6)
 *    9: signature hits (bit k = signature k) group 3
 *   13: src address, last 32 bits            group 4  (all of an IPv4 address)
 *   17: dst address, last 32 bits            group 5
 *   21: sport | 23: dport                    group 6
 *   25: src address, first 96 bits           groups 7-9  (IPv4: ::ffff)
 *   37: dst address, first 96 bits           groups 10-12
 *
 * Two field sets over the same key: the narrow one (groups 0-6, 25 bytes)
 * serves a context whose rules name no IPv6 prefix, the wide one (all 49
 * bytes) the others; rte_acl walks one trie level per byte, so IPv4-only
 * policies classify in about half the steps. An IPv4 prefix is carried as
 * IPv4-mapped IPv6 (::ffff:a.b.c.d, len + 96) and also requires family 4, so
 * it never matches an IPv6 packet.
 *
 * The source bit (port, direction) is not in the key: every packet of a burst
 * comes from the same queue, so a session's source check is done once per
 * burst, and a packet that is both "rx on A" and "tx on B" (inline forward)
 * reaches a session that lists either, once.
 *
 * Non-IP frames: ip_version 0, proto 0, the (inner) ethertype; an Ethernet/
 * IPv4 ARP frame carries its sender and target protocol addresses as src/dst
 * (family 4), so a CIDR scope includes the ARP traffic of that subnet.
 *
 * The classify stage: the key and its parsing are here (inline, shared with
 * the shadow firewall); classify_ctl.c builds the rte_acl contexts of a
 * policy's session groups, classify_node.c parses a burst's keys and decides
 * each session's rule per packet.
 */
#ifndef ST_CLASSIFY_H
#define ST_CLASSIFY_H

#include <stdint.h>
#include <string.h>

#include <rte_acl.h>
#include <rte_byteorder.h>
#include <rte_common.h>
#include <rte_hash_crc.h>

#include "st_dataplane.h"
#include "policy.h"

#define ST_KEY_NO_OFF 0xffff

/* The ACL input and, after it, what signatures and hashing need. */
struct st_key {
	uint8_t proto;
	uint8_t ip_version;
	uint8_t tcp_flags;
	uint8_t vlan[2];
	uint8_t ethertype[2];
	uint8_t family;
	uint8_t pad;
	uint8_t sig[4];
	uint8_t src_lo[4];    /* address bytes 12..15 */
	uint8_t dst_lo[4];
	uint8_t sport[2];
	uint8_t dport[2];
	uint8_t src_hi[12];   /* address bytes 0..11 */
	uint8_t dst_hi[12];
	/* ---- not read by rte_acl ---- */
	uint8_t has_addr;     /* IP or ARP: src/dst are meaningful */
	uint16_t l3_off, l4_off, pay_off;  /* ST_KEY_NO_OFF when absent */
} __attribute__((packed, aligned(64)));

/* Rule fields; the narrow set is the first ST_KF__NARROW. */
enum {
	ST_KF_PROTO = 0,
	ST_KF_IPVER,
	ST_KF_TCPFLAGS,
	ST_KF_VLAN,
	ST_KF_ETHERTYPE,
	ST_KF_FAMILY,
	ST_KF_PAD,
	ST_KF_SIG,
	ST_KF_SRC3,
	ST_KF_DST3,
	ST_KF_SPORT,
	ST_KF_DPORT,
	ST_KF__NARROW,
	ST_KF_SRC0 = ST_KF__NARROW, ST_KF_SRC1, ST_KF_SRC2,
	ST_KF_DST0, ST_KF_DST1, ST_KF_DST2,
	ST_KF__COUNT
};

RTE_ACL_RULE_DEF(st_acl_rule, ST_KF__COUNT);

static inline uint16_t
st_rd16(const uint8_t *p)
{
	return (uint16_t)((unsigned int)p[0] << 8 | p[1]);
}

static inline void
st_wr16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)(v >> 8);
	p[1] = (uint8_t)v;
}

static inline int
st_is_vlan_tpid(uint16_t et)
{
	return et == 0x8100 || et == 0x88a8 || et == 0x9100;
}

/* Walk IPv6 extension headers (hop-by-hop, routing, destination options,
 * AH, fragment; at most 8) from *p, where header `nh` starts, within len
 * bytes. Returns the upper-layer protocol; *p is where it starts. *later is
 * set for a fragment other than the first (no upper-layer header: the walk
 * stops after the fragment header). */
static __rte_always_inline uint8_t
st_ipv6_walk(const uint8_t *f, uint32_t len, uint32_t *p, uint8_t nh, int *later)
{
	uint32_t q = *p;
	int hops;

	*later = 0;
	for (hops = 0; hops < 8; hops++) {
		if (nh == 0 || nh == 43 || nh == 60) {
			if (q + 8 > len)
				break;
			nh = f[q];
			q += ((uint32_t)f[q + 1] + 1) * 8;
		} else if (nh == 51) {
			if (q + 8 > len)
				break;
			nh = f[q];
			q += ((uint32_t)f[q + 1] + 2) * 4;
		} else if (nh == 44) {
			if (q + 8 > len)
				break;
			nh = f[q];
			*later = (st_rd16(f + q + 2) & 0xfff8) != 0;
			q += 8;
			if (*later)
				break;
		} else {
			break;
		}
	}
	*p = q;
	return nh;
}

/* The L4 part of the key: ports (TCP, UDP, SCTP), TCP flags and where the
 * payload starts, for an L4 header of `proto` at l4 (never read past len). */
static __rte_always_inline void
st_key_l4(const uint8_t *f, uint32_t len, uint8_t proto, uint32_t l4, uint32_t *ports,
	  uint8_t *flags, uint16_t *payo)
{
	switch (proto) {
	case 6: /* TCP */
		if (l4 + 14 <= len) {
			memcpy(ports, f + l4, 4);
			*flags = f[l4 + 13];
			if (l4 + 20 <= len) {
				uint32_t doff = (uint32_t)(f[l4 + 12] >> 4) * 4;

				if (doff >= 20 && l4 + doff <= len)
					*payo = (uint16_t)(l4 + doff);
			}
		}
		break;
	case 17: /* UDP */
	case 132: /* SCTP: ports at the same place */
		if (l4 + 4 <= len)
			memcpy(ports, f + l4, 4);
		if (proto == 17 && l4 + 8 <= len)
			*payo = (uint16_t)(l4 + 8);
		break;
	default:
		break;
	}
}

/* Store a key, each group whole (see st_key_parse). Inlined with constant
 * arguments (the common IPv4 frame), the constant groups are stored as
 * constants. */
static __rte_always_inline void
st_key_store(struct st_key *k, uint8_t proto, uint8_t ipv, uint8_t flags, uint16_t vlan,
	     const uint8_t et_b[2], uint8_t family, uint32_t src_lo, uint32_t dst_lo,
	     uint32_t ports, const uint8_t *src_hi, const uint8_t *dst_hi, uint8_t has_addr,
	     uint16_t l3o, uint16_t l4o, uint16_t payo)
{
	const uint8_t g1[4] = { ipv, flags, (uint8_t)(vlan >> 8), (uint8_t)vlan };
	const uint8_t g2[4] = { et_b[0], et_b[1], family, 0 };
	const uint32_t sig = 0;

	k->proto = proto;
	memcpy(&k->ip_version, g1, 4);
	memcpy(k->ethertype, g2, 4);
	memcpy(k->sig, &sig, 4);
	memcpy(k->src_lo, &src_lo, 4);
	memcpy(k->dst_lo, &dst_lo, 4);
	memcpy(k->sport, &ports, 4);
	memcpy(k->src_hi, src_hi, 12);
	memcpy(k->dst_hi, dst_hi, 12);
	k->has_addr = has_addr;
	k->l3_off = l3o;
	k->l4_off = l4o;
	k->pay_off = payo;
}

/* Parse the first segment (len bytes) of a frame into k. Never reads past
 * len; a header that does not fit leaves the fields it would have set zero.
 * Fields are gathered in registers and written as the 4-byte groups rte_acl
 * loads (and the flow hash reads), so no load straddles several narrower
 * stores (a store-forwarding stall per group otherwise). */
static __rte_always_inline void
st_key_parse(struct st_key *k, const uint8_t *f, uint32_t len)
{
	static const uint8_t v4mapped[12] = { 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff };
	static const uint8_t zero[12];
	const uint8_t *src_hi = zero, *dst_hi = zero;
	uint8_t proto = 0, ipv = 0, flags = 0, family = 0, has_addr = 0;
	uint8_t et_b[2] = { 0, 0 };
	uint32_t src_lo = 0, dst_lo = 0, ports = 0;
	uint16_t vlan = 4096, l3o = ST_KEY_NO_OFF, l4o = ST_KEY_NO_OFF, payo = ST_KEY_NO_OFF;
	uint32_t off = 12, l3 = 0, l4 = 0;
	int has_l4 = 0;
	uint16_t et;

	/* The common frame first: untagged IPv4 with a 20-byte header. Same
	 * key as the general walk below, without its branches, and with the
	 * constant groups stored as constants. */
	if (likely(len >= 34) && f[12] == 0x08 && f[13] == 0x00 && f[14] == 0x45) {
		static const uint8_t et_ipv4[2] = { 0x08, 0x00 };

		proto = f[23];
		memcpy(&src_lo, f + 26, 4);
		memcpy(&dst_lo, f + 30, 4);
		if ((st_rd16(f + 20) & 0x1fff) == 0) {
			l4o = 34;
			st_key_l4(f, len, proto, 34, &ports, &flags, &payo);
		}
		st_key_store(k, proto, 4, flags, 4096, et_ipv4, 4, src_lo, dst_lo, ports,
			     v4mapped, v4mapped, 1, 14, l4o, payo);
		return;
	}
	if (len < 14)
		goto out;
	et = st_rd16(f + 12);
	if (st_is_vlan_tpid(et)) {
		if (len < 18)
			goto out;
		vlan = st_rd16(f + 14) & 0x0fff;
		off = 16;
		et = st_rd16(f + 16);
		if (st_is_vlan_tpid(et)) {
			if (len < 22)
				goto out;
			off = 20;
			et = st_rd16(f + 20);
		}
	}
	et_b[0] = f[off];
	et_b[1] = f[off + 1];
	l3 = off + 2;
	l3o = (uint16_t)l3;
	if (et == 0x0800) {
		uint32_t ihl;

		if (l3 + 20 > len || (f[l3] >> 4) != 4)
			goto out;
		ihl = (uint32_t)(f[l3] & 0x0f) * 4;
		if (ihl < 20 || l3 + ihl > len)
			goto out;
		ipv = 4;
		family = 4;
		has_addr = 1;
		proto = f[l3 + 9];
		src_hi = dst_hi = v4mapped;
		memcpy(&src_lo, f + l3 + 12, 4);
		memcpy(&dst_lo, f + l3 + 16, 4);
		/* a later fragment has no L4 header */
		if ((st_rd16(f + l3 + 6) & 0x1fff) == 0) {
			l4 = l3 + ihl;
			has_l4 = 1;
		}
	} else if (et == 0x86dd) {
		uint32_t p = l3 + 40;
		uint8_t nh;
		int later;

		if (p > len || (f[l3] >> 4) != 6)
			goto out;
		ipv = 6;
		family = 6;
		has_addr = 1;
		src_hi = f + l3 + 8;
		memcpy(&src_lo, f + l3 + 20, 4);
		dst_hi = f + l3 + 24;
		memcpy(&dst_lo, f + l3 + 36, 4);
		nh = st_ipv6_walk(f, len, &p, f[l3 + 6], &later);
		has_l4 = !later;
		proto = nh;
		l4 = p;
		has_l4 = has_l4 && p <= len;
	} else if (et == 0x0806) {
		/* Ethernet/IPv4 ARP: sender IP at 14, target IP at 24. */
		if (l3 + 28 <= len && st_rd16(f + l3) == 1 && st_rd16(f + l3 + 2) == 0x0800 &&
		    f[l3 + 4] == 6 && f[l3 + 5] == 4) {
			has_addr = 1;
			family = 4;
			src_hi = dst_hi = v4mapped;
			memcpy(&src_lo, f + l3 + 14, 4);
			memcpy(&dst_lo, f + l3 + 24, 4);
		}
	}
	if (has_l4) {
		l4o = (uint16_t)l4;
		st_key_l4(f, len, proto, l4, &ports, &flags, &payo);
	}
out:
	st_key_store(k, proto, ipv, flags, vlan, et_b, family, src_lo, dst_lo, ports, src_hi, dst_hi,
		     has_addr, l3o, l4o, payo);
}

/* Signature hits go in as one 4-byte group, network order. */
static inline void
st_key_set_sig(struct st_key *k, uint32_t hits)
{
	uint8_t b[4] = { (uint8_t)(hits >> 24), (uint8_t)(hits >> 16), (uint8_t)(hits >> 8),
			 (uint8_t)hits };

	memcpy(k->sig, b, 4);
}

/* Symmetric flow hash: both directions of a flow get the same value, so per
 * flow sampling keeps or drops a conversation whole. Symmetric by
 * construction (each pair enters as its XOR and its sum, both commutative),
 * so there is no compare-and-swap per packet; CRC32 instructions, then a
 * murmur3 finaliser so that every bit counts in a threshold comparison.
 * Addresses are read from the frame (in cache, and not just written), ports
 * from the key's 4-byte group. Frames without addresses hash their MAC pair. */
static inline uint32_t
st_flow_hash(const struct st_key *k, const uint8_t *frame, uint32_t len)
{
	uint64_t a0 = 0, a1 = 0, b0 = 0, b1 = 0;
	uint32_t ports, pa, pb, h;

	memcpy(&ports, k->sport, 4);
	pa = st_rd16((const uint8_t *)&ports);
	pb = st_rd16((const uint8_t *)&ports + 2);
	if (k->family == 6) {
		const uint8_t *ip = frame + k->l3_off;

		memcpy(&a0, ip + 8, 8);
		memcpy(&a1, ip + 16, 8);
		memcpy(&b0, ip + 24, 8);
		memcpy(&b1, ip + 32, 8);
	} else if (k->family == 4) {
		uint32_t a, b;

		/* IPv4 (and ARP): the address pair as its XOR and its sum in one
		 * word, the ports and protocol in another; two CRC steps. */
		memcpy(&a, k->src_lo, 4);
		memcpy(&b, k->dst_lo, 4);
		h = rte_hash_crc_8byte((uint64_t)(a ^ b) << 32 | (uint32_t)(a + b), 0x5348u);
		h = rte_hash_crc_8byte((uint64_t)(pa ^ pb) | (uint64_t)(pa + pb) << 16 |
				       (uint64_t)k->proto << 40 | (uint64_t)k->ip_version << 48, h);
		goto mix;
	} else if (len >= 12) {
		memcpy(&a0, frame, 6);
		memcpy(&b0, frame + 6, 6);
	}
	h = rte_hash_crc_8byte(a0 ^ b0, 0x5348u);
	h = rte_hash_crc_8byte(a1 ^ b1, h);
	h = rte_hash_crc_8byte(a0 + b0, h);
	h = rte_hash_crc_8byte(a1 + b1, h);
	h = rte_hash_crc_8byte((uint64_t)(pa ^ pb) | (uint64_t)(pa + pb) << 16 |
			       (uint64_t)k->proto << 40 | (uint64_t)k->ip_version << 48, h);
mix:
	h ^= h >> 16;
	h *= 0x85ebca6bu;
	h ^= h >> 13;
	h *= 0xc2b2ae35u;
	h ^= h >> 16;
	return h;
}

/* Field definitions shared by the session classifier and the shadow
 * firewall: the narrow set, or (wide) all of them. */
static inline void
st_key_acl_defs(struct rte_acl_config *cfg, int wide)
{
	static const struct { uint8_t type, size, input; uint32_t off; } d[ST_KF__COUNT] = {
		[ST_KF_PROTO] = { RTE_ACL_FIELD_TYPE_BITMASK, 1, 0, 0 },
		[ST_KF_IPVER] = { RTE_ACL_FIELD_TYPE_BITMASK, 1, 1, 1 },
		[ST_KF_TCPFLAGS] = { RTE_ACL_FIELD_TYPE_BITMASK, 1, 1, 2 },
		[ST_KF_VLAN] = { RTE_ACL_FIELD_TYPE_RANGE, 2, 1, 3 },
		[ST_KF_ETHERTYPE] = { RTE_ACL_FIELD_TYPE_BITMASK, 2, 2, 5 },
		[ST_KF_FAMILY] = { RTE_ACL_FIELD_TYPE_BITMASK, 1, 2, 7 },
		[ST_KF_PAD] = { RTE_ACL_FIELD_TYPE_BITMASK, 1, 2, 8 },
		[ST_KF_SIG] = { RTE_ACL_FIELD_TYPE_BITMASK, 4, 3, 9 },
		[ST_KF_SRC3] = { RTE_ACL_FIELD_TYPE_MASK, 4, 4, 13 },
		[ST_KF_DST3] = { RTE_ACL_FIELD_TYPE_MASK, 4, 5, 17 },
		[ST_KF_SPORT] = { RTE_ACL_FIELD_TYPE_RANGE, 2, 6, 21 },
		[ST_KF_DPORT] = { RTE_ACL_FIELD_TYPE_RANGE, 2, 6, 23 },
		[ST_KF_SRC0] = { RTE_ACL_FIELD_TYPE_MASK, 4, 7, 25 },
		[ST_KF_SRC1] = { RTE_ACL_FIELD_TYPE_MASK, 4, 8, 29 },
		[ST_KF_SRC2] = { RTE_ACL_FIELD_TYPE_MASK, 4, 9, 33 },
		[ST_KF_DST0] = { RTE_ACL_FIELD_TYPE_MASK, 4, 10, 37 },
		[ST_KF_DST1] = { RTE_ACL_FIELD_TYPE_MASK, 4, 11, 41 },
		[ST_KF_DST2] = { RTE_ACL_FIELD_TYPE_MASK, 4, 12, 45 },
	};
	unsigned int i, n = wide ? ST_KF__COUNT : ST_KF__NARROW;

	cfg->num_fields = n;
	for (i = 0; i < n; i++) {
		cfg->defs[i].type = d[i].type;
		cfg->defs[i].size = d[i].size;
		cfg->defs[i].field_index = (uint8_t)i;
		cfg->defs[i].input_index = d[i].input;
		cfg->defs[i].offset = d[i].off;
	}
}

/* ---- control time (classify_ctl.c); errors name the policy field ---------- */

struct rte_mbuf;
struct st_lcore;
struct st_policy;
struct st_pol_group;
struct st_pol_session;

/* The fields of a rule both the classifier and the firewall match. */
void st_classify_acl_common(struct st_acl_rule *a, uint8_t ipv, uint8_t proto,
			    uint8_t proto_mask, const uint8_t src[16], uint8_t src_len,
			    const uint8_t dst[16], uint8_t dst_len, uint16_t slo,
			    uint16_t shi, uint16_t dlo, uint16_t dhi);
/* A session rule's fields (and the measure stage's class rules, measure_ctl.c). */
void st_classify_acl_from_rule(struct st_acl_rule *a, const struct st_rule_conf *r);
/* Whether a prefix needs the wide key (an IPv6 prefix that is not "none"). */
int st_classify_prefix_is_wide(const uint8_t addr[16], uint8_t len);
/* A rule that matches every packet: its session needs no classifier. */
int st_classify_rule_is_wild(const struct st_rule_conf *r);
struct rte_acl_ctx *st_classify_acl_create(uint32_t max_rules, struct st_error *err,
					   const char *field);
int st_classify_acl_build(struct rte_acl_ctx *ctx, uint32_t categories, int wide,
			  struct st_error *err, const char *field, uint32_t nb_rules);
/* One context for the sessions of group g that need the classifier (their
 * rules from c, built in scratch); a group with none gets no context. */
int st_classify_build_group(struct st_policy *pol, const struct st_policy_conf *c,
			    struct st_pol_group *g, struct st_acl_rule *scratch,
			    struct st_error *err);

/* ---- per burst (classify_node.c) ------------------------------------------- */

/* Parse every packet of the burst into keys[] (kp[] pointing at them), set
 * the signature hits when the policy has signatures, and the symmetric flow
 * hash into hash[] when it needs one. */
void st_classify_keys(const struct st_policy *pol, struct rte_mbuf *const *pkts, uint16_t n,
		      struct st_key *keys, const uint8_t **kp, uint32_t *hash);
/* The deciding rule of each packet of `todo` (bits) for session ps: counts
 * each rule's hits and returns the packets it accepts. `res` holds the
 * burst's rte_acl results (cats categories per packet) when ps->acl; keys
 * the burst's keys (read by the direct evaluator, ST_CLS_DIRECT). */
uint64_t st_classify_session(struct st_lcore *lc, const struct st_policy *pol,
			     const struct st_pol_session *ps, uint64_t todo,
			     const uint32_t *res, uint32_t cats, const struct st_key *keys);

#endif /* ST_CLASSIFY_H */
