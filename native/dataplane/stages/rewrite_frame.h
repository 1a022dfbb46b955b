/* SPDX-License-Identifier: BSD-3-Clause
 * The frame being rewritten (internal to stages/rewrite_*.c): its context,
 * bounds, address and MAC lookups, and how a copy is refused. The
 * specification of st_rewrite_frame_ex is split over the headers of the
 * parts it describes: here sections 0, 1, 4, 6 and 7; IPv4 (2) and IPv6 (3)
 * in rewrite_ip.h; checksums (5) in rewrite_csum.h; control-plane payloads
 * (8) in rewrite_cp.h.
 *
 * What it does to one shadow copy (a private, writable frame), in order.
 * Nothing is written unless the copy is going to be sent (drop == -1): a
 * dropped copy leaves the frame exactly as it was. Anomaly bits are reported
 * whether or not the copy is dropped. st_rewrite_frame(t, f, seg, pkt) is
 * st_rewrite_frame_ex(t, f, seg, pkt, pkt): a copy that was not truncated.
 *
 * 0. Lengths. seg_len: bytes in the first segment (the only bytes read or
 *    written); pkt_len: bytes in the copy; wire_len: bytes the frame had on
 *    the wire (> pkt_len when the copy was cut to a snaplen; a smaller value
 *    counts as pkt_len). Length fields (IPv4 total_length, IPv6
 *    payload_length, UDP length, option lengths) are validated against the
 *    wire, never against the copy: a truncated copy is not a truncated
 *    packet. Where a needed header byte lies decides the outcome:
 *    - beyond what the packet's own lengths allow: the packet is malformed
 *      (the anomaly named below, drop MALFORMED);
 *    - in the copy but past the first segment (chained mbuf): the same
 *      anomaly and drop, as before truncation existed;
 *    - cut off by the snaplen: drop MALFORMED with NO anomaly (the packet is
 *      fine; the snaplen is too short to translate it without sending
 *      production addresses). This applies to the Ethernet header and tags,
 *      the whole IPv4 header with options, the IPv6 header and its
 *      extension headers, and any control-plane address or MAC field only
 *      partly in the copy. A snaplen of 128 holds every header of ordinary
 *      traffic.
 *
 * 1. L2. Ethernet II. Up to two VLAN tags (TPID 0x8100, 0x88a8, 0x9100) are
 *    skipped and kept; a tagged frame sets ST_ANOM_VLAN. A frame shorter than
 *    its Ethernet (+tags) header: drop MALFORMED, ST_ANOM_TRUNC_L2. ARP
 *    (0x0806) with ST_CP_ARP: see 8. Any other ethertype (including a third
 *    tag, and ARP without ST_CP_ARP): drop NOT_IP, no anomaly.
 *
 * 4. Translation. Source and destination are looked up independently
 *    (rte_lpm / rte_lpm6, longest prefix wins, so /32 and /128 host
 *    overrides beat their subnet's map); the new address is the map's "to"
 *    prefix with the packet's host bits kept. If an address is outside every
 *    map, the unmapped rule decides: DROP drops the copy (UNMAPPED)
 *    untouched; COUNT does the same and also sets res->unmapped_seen (the
 *    caller counts it as seen, not as a drop); MIRROR sends it with only the
 *    covered addresses changed. translated = 1 when at least one IP address
 *    (outer, ICMP-inner or control-plane payload) changed; an identity map
 *    (to == from) changes nothing; MACs do not count.
 *    Addresses that name no host, with control-plane translation on (any
 *    ST_CP_* bit; tables from a policy only): 0.0.0.0, :: and
 *    255.255.255.255 are never translated; multicast (224.0.0.0/4,
 *    ff00::/8) and IPv6 link-local (fe80::/10) are translated when a map
 *    covers them and otherwise kept. None of them is ever "unmapped", so a
 *    DHCP DISCOVER (0.0.0.0 -> 255.255.255.255), OSPF hellos to 224.0.0.5 and
 *    ND to ff02:: or from fe80:: are mirrored under the DROP rule. Without
 *    control-plane bits (and from a plan) they are ordinary addresses.
 *
 * 6. MACs in the Ethernet header. Destination and source each: the MAC map
 *    (policy) when it has the MAC; else the default MAC (the plan's shadow
 *    MAC, or the policy's default_dst_mac / default_src_mac) unless that is
 *    all zeros (then the original is kept). With control-plane translation
 *    on, group (multicast/broadcast) and all-zero MACs get no default MAC
 *    (only an explicit map): an ARP request stays a broadcast. A kept
 *    multicast destination MAC follows a translated IP group (01:00:5e + low
 *    23 bits, 33:33 + low 32 bits) when it was the old group's MAC.
 *
 * 7. Bounds and cost. Only the first segment (min(seg_len, pkt_len) bytes)
 *    is read or written; every length field is checked before use; every
 *    walk (extension headers, DHCP and ND options) advances by at least one
 *    byte and stops at the end of its unit. No malloc, logging or system
 *    calls: one pass over headers (two over a control-plane payload),
 *    O(length). Tables without MAC maps and control-plane bits (every plan)
 *    run a variant compiled without that code (about 60 more instructions
 *    per frame than the walking skeleton's rewrite, for truncation
 *    support); with them, each MAC costs one rte_hash lookup.
 *
 *
 * 9. Payloads under the leak policy (DNS, tunnels, BGP, OSPF, ...):
 *    rewrite_payload.h; the routing translators in rewrite_rt.h.
 *
 * Not done here (yet): DHCP option 82 and 121,
 * DHCPv6, UDP-Lite/DCCP/SCTP/Mobility-header checksums.
 */
#ifndef ST_REWRITE_FRAME_H
#define ST_REWRITE_FRAME_H

#include <stdint.h>
#include <string.h>

#include <rte_byteorder.h>
#include <rte_common.h>
#include <rte_ether.h>
#include <rte_hash.h>
#include <rte_lpm.h>
#include <rte_lpm6.h>

#include "rewrite.h"
#include "rewrite_csum.h"

#define RW_BIT(a) (1u << (a))

enum rw_l4 { RW_L4_NONE, RW_L4_TCP, RW_L4_UDP, RW_L4_ICMP, RW_L4_ICMP6,
	     RW_L4_OSPF, RW_L4_PIM };

/* One frame being rewritten. seg: bytes that may be read and written (the
 * first segment, never past pkt); pkt: bytes present in the copy; wire:
 * bytes the frame had on the wire (>= pkt; larger for a truncated copy).
 * cs_base: where the L4 checksummed data starts, for the byte parity of a
 * control-plane field. */
struct rw_ctx {
	const struct st_rewrite_tables *t;
	struct st_rt_state *rt;        /* the worker's routing state, or NULL */
	uint8_t *f;
	uint32_t seg, pkt, wire;
	uint32_t cs_base;
	struct st_rewrite_result *res;
	/* A tunnel's inner packet (rewrite_tun.c): inner = 1 leaves the
	 * Ethernet header at f[0] alone (the outer one); dry = 1 stops each
	 * layer after its checks, before it writes anything. */
	uint8_t inner, dry;
};

/* Where the bytes [.., end) are, for a unit whose length fields say it ends
 * at lim (<= wire). */
enum rw_where { RW_OK, RW_BAD, RW_FAR, RW_CUT };

static inline enum rw_where rw_span(const struct rw_ctx *c, uint32_t end,
				   uint32_t lim)
{
	if (end > lim)
		return RW_BAD;     /* the frame's own lengths say it is short */
	if (end <= c->seg)
		return RW_OK;
	if (end <= c->pkt)
		return RW_FAR;     /* present, but past the first segment */
	return RW_CUT;             /* cut off by the snaplen */
}

/* A field [off, off + len) inside a unit already checked against its
 * length fields: 1 usable, 0 entirely cut off by the snaplen, -1 partly cut
 * off or (partly) beyond the first segment. */
static inline int rw_field(const struct rw_ctx *c, uint32_t off, uint32_t len)
{
	if (off + len <= c->seg)
		return 1;
	if (off >= c->pkt)
		return 0;
	return -1;
}

static inline int rw_is_vlan(uint16_t et)
{
	return et == RTE_ETHER_TYPE_VLAN || et == RTE_ETHER_TYPE_QINQ ||
	       et == RTE_ETHER_TYPE_QINQ1;
}

/* Translate one IPv4 address in place in *addr; 1 if covered by a map. */
static inline int rw_xlat4(const struct st_rewrite_tables *t, uint32_t *addr)
{
	uint32_t nh;

	if (t->lpm4 == NULL || rte_lpm_lookup(t->lpm4, *addr, &nh) != 0 ||
	    nh >= t->nb_map4)
		return 0;
	*addr = t->map4[nh].to | (*addr & ~t->map4_mask[nh]);
	return 1;
}

/* Translate one IPv6 address from in[] into out[]; 1 if covered. */
static inline int rw_xlat6(const struct st_rewrite_tables *t,
			   const uint8_t *in, uint8_t *out)
{
	uint32_t nh;
	const struct st_map6 *m;
	unsigned int full, i;

	memcpy(out, in, 16);
	if (t->lpm6 == NULL || rte_lpm6_lookup(t->lpm6, in, &nh) != 0 ||
	    nh >= t->nb_map6)
		return 0;
	m = &t->map6[nh];
	full = m->len / 8u;
	for (i = 0; i < full; i++)
		out[i] = m->to[i];
	if (full < 16 && (m->len & 7) != 0) {
		uint8_t mask = (uint8_t)(0xff00u >> (m->len & 7));

		out[full] = (uint8_t)((m->to[full] & mask) | (in[full] & ~mask));
	}
	return 1;
}

/* What a lookup found for one address. */
enum rw_cover { RW_UNCOVERED = 0, RW_COVERED = 1, RW_EXEMPT = 2 };

/* IPv4 lookup with the control-plane exemptions (cp_aware): 0.0.0.0 and
 * 255.255.255.255 are never translated, and a multicast address that no
 * map covers is kept; neither is "unmapped". */
static inline enum rw_cover rw_addr4(const struct st_rewrite_tables *t,
				     uint32_t a, uint32_t *out, const int cp)
{
	*out = a;
	if (cp && t->cp_aware && (a == 0 || a == UINT32_MAX))
		return RW_EXEMPT;
	if (rw_xlat4(t, out))
		return RW_COVERED;
	if (cp && t->cp_aware && (a >> 28) == 0xe)
		return RW_EXEMPT;
	return RW_UNCOVERED;
}

static inline int rw_is_unspec6(const uint8_t *a)
{
	uint8_t o = 0;

	for (int i = 0; i < 16; i++)
		o |= a[i];
	return o == 0;
}

/* IPv6 likewise: :: is never translated; multicast (ff00::/8) and
 * link-local (fe80::/10) are kept when no map covers them. */
static inline enum rw_cover rw_addr6(const struct st_rewrite_tables *t,
				     const uint8_t *in, uint8_t *out, const int cp)
{
	if (cp && t->cp_aware && rw_is_unspec6(in)) {
		memcpy(out, in, 16);
		return RW_EXEMPT;
	}
	if (rw_xlat6(t, in, out))
		return RW_COVERED;
	if (cp && t->cp_aware &&
	    (in[0] == 0xff || (in[0] == 0xfe && (in[1] & 0xc0) == 0x80)))
		return RW_EXEMPT;
	return RW_UNCOVERED;
}

static inline int rw_mac_is_zero(const uint8_t *mac)
{
	return (mac[0] | mac[1] | mac[2] | mac[3] | mac[4] | mac[5]) == 0;
}

/* MAC map lookup: 1 and *to set when mac is mapped. */
static inline int rw_mac_map(const struct st_rewrite_tables *t,
			     const uint8_t *mac, const uint8_t **to)
{
	/* rte_jhash reads the key in 32-bit words: give it an aligned copy */
	union { uint32_t w[2]; uint8_t b[8]; } key;
	void *data;

	if (t->mac_hash == NULL)
		return 0;
	memcpy(key.b, mac, 6);
	if (rte_hash_lookup_data(t->mac_hash, key.b, &data) < 0)
		return 0;
	*to = t->mac_to[(uintptr_t)data];
	return 1;
}

/* The replacement for one Ethernet MAC: the MAC map, else def unless it is
 * all zero; with cp_aware a group (multicast/broadcast) or all-zero MAC
 * names no single host and is kept unless mapped. NULL = keep. */
static inline const uint8_t *rw_mac_new(const struct st_rewrite_tables *t,
					const uint8_t *mac, const uint8_t *def,
					const int cp)
{
	const uint8_t *to;

	if (cp && rw_mac_map(t, mac, &to))
		return to;
	if (cp && t->cp_aware && ((mac[0] & 1) != 0 || rw_mac_is_zero(mac)))
		return NULL;
	return rw_mac_is_zero(def) ? NULL : def;
}

/* Ethernet MACs. Returns 1 when the destination was kept as it was. */
static inline int rw_set_macs(const struct rw_ctx *c, const int cp)
{
	const uint8_t *d = rw_mac_new(c->t, c->f, c->t->dst_mac, cp);
	const uint8_t *s = rw_mac_new(c->t, c->f + RTE_ETHER_ADDR_LEN,
				      c->t->src_mac, cp);

	if (d != NULL)
		memcpy(c->f, d, RTE_ETHER_ADDR_LEN);
	if (s != NULL)
		memcpy(c->f + RTE_ETHER_ADDR_LEN, s, RTE_ETHER_ADDR_LEN);
	return d == NULL;
}

/* A kept multicast destination MAC follows its translated IP group
 * (RFC 1112 01:00:5e + 23 bits; RFC 2464 33:33 + 32 bits), so the shadow
 * switch delivers it to the translated group's listeners. */
static inline void rw_mcast_mac4(const struct rw_ctx *c, uint32_t old,
				 uint32_t new_)
{
	uint8_t *d = c->f;

	if (!c->t->cp_aware || old == new_ || (new_ >> 28) != 0xe ||
	    d[0] != 0x01 || d[1] != 0x00 || d[2] != 0x5e ||
	    ((uint32_t)d[3] << 16 | (uint32_t)d[4] << 8 | d[5]) != (old & 0x7fffff))
		return;
	d[3] = (uint8_t)((new_ >> 16) & 0x7f);
	d[4] = (uint8_t)(new_ >> 8);
	d[5] = (uint8_t)new_;
}

static inline void rw_mcast_mac6(const struct rw_ctx *c, const uint8_t *old,
				 const uint8_t *new_)
{
	uint8_t *d = c->f;

	if (!c->t->cp_aware || new_[0] != 0xff || memcmp(old, new_, 16) == 0 ||
	    d[0] != 0x33 || d[1] != 0x33 || memcmp(d + 2, old + 12, 4) != 0)
		return;
	memcpy(d + 2, new_ + 12, 4);
}

static inline void rw_malformed(struct st_rewrite_result *res,
				enum st_anomaly a)
{
	res->drop = ST_DROP_MALFORMED;
	res->anomalies |= RW_BIT(a);
}

/* The snaplen cut the copy inside a header or inside a field that must be
 * translated. Nothing is wrong with the packet, so no anomaly; but the copy
 * cannot be sent without leaking or garbling an address. */
static inline void rw_cut(struct st_rewrite_result *res)
{
	res->drop = ST_DROP_MALFORMED;
}

/* Header bytes [.., end) of a unit ending at lim: BAD/FAR are anomaly a,
 * CUT drops the copy silently. Returns 1 when the frame is done. */
static inline int rw_hdr_fail(const struct rw_ctx *c, uint32_t end,
			      uint32_t lim, enum st_anomaly a)
{
	switch (rw_span(c, end, lim)) {
	case RW_OK:
		return 0;
	case RW_CUT:
		rw_cut(c->res);
		return 1;
	default:
		rw_malformed(c->res, a);
		return 1;
	}
}

/* The unmapped rule, once every address has been looked up. 1 = done. */
static inline int rw_unmapped(const struct rw_ctx *c, int unmapped)
{
	if (!unmapped || c->t->unmapped == ST_UNMAPPED_RULE_MIRROR)
		return 0;
	c->res->drop = ST_DROP_UNMAPPED;
	if (c->t->unmapped == ST_UNMAPPED_RULE_COUNT)
		c->res->unmapped_seen = 1;
	return 1;
}


/* Control-plane payloads (rewrite_cp.h) fail in one of two ways. */
enum rw_cp { RW_CP_OK, RW_CP_BAD, RW_CP_CUT,
	     RW_CP_UNTR /* not translatable: the leak policy (leak.h) dropped the copy */ };

static inline void rw_cp_fail(const struct rw_ctx *c, enum rw_cp r)
{
	if (r == RW_CP_BAD)
		rw_malformed(c->res, ST_ANOM_CP_MALFORMED);
	else if (r == RW_CP_CUT)
		rw_cut(c->res);
	/* RW_CP_UNTR: the leak policy has set the drop already */
}

static inline int rw_is_nd(uint8_t type)
{
	return type >= 133 && type <= 137;
}


/* Apply an L4 checksum delta. UDP: 0 means "no checksum" and stays; a
 * computed 0 must be sent as 0xFFFF (RFC 768). */
static __rte_always_inline void
rw_l4_fix(enum rw_l4 kind, uint8_t *field, uint32_t delta)
{
	if (kind == RW_L4_UDP) {
		if (rw_rd16(field) == 0)
			return;
		if (rw_cs_apply(field, delta) == 0)
			rw_wr16(field, 0xffff);
		return;
	}
	rw_cs_apply(field, delta);
}

static inline int rw_dhcp_port(uint16_t p)
{
	return p == 67 || p == 68;
}

#endif /* ST_REWRITE_FRAME_H */
