/* SPDX-License-Identifier: BSD-3-Clause
 * Fast-path half of the header rewrite: st_rewrite_frame().
 *
 * What it does to one shadow copy (a private, writable frame), in order.
 * Nothing is written unless the copy is going to be sent (drop == -1): a
 * dropped copy leaves the frame exactly as it was. Anomaly bits are reported
 * whether or not the copy is dropped.
 *
 * 1. L2. Ethernet II. Up to two VLAN tags (TPID 0x8100, 0x88a8, 0x9100) are
 *    skipped and kept; a tagged frame sets ST_ANOM_VLAN. A frame shorter than
 *    its Ethernet (+tags) header in the first segment: drop MALFORMED,
 *    ST_ANOM_TRUNC_L2. Any other ethertype (including a third tag): drop
 *    NOT_IP, no anomaly.
 *
 * 2. IPv4. The 20-byte header must be in the segment, else TRUNC_L3. Version
 *    not 4 or IHL < 5: BAD_IHL. IHL*4 beyond the segment, total_length <
 *    IHL*4, or total_length beyond pkt_len: TRUNC_L3. (total_length shorter
 *    than the frame is fine: the rest is Ethernet padding, never touched and
 *    never counted in a checksum.) All three drop the copy as MALFORMED.
 *    IHL > 5: ST_ANOM_IP_OPTIONS, mirrored; the header checksum covers the
 *    options, which are not changed. An unexhausted loose/strict source route
 *    option (131/137) makes the L4 pseudo-header destination the final hop
 *    named in the option, which is not translated: only the source delta is
 *    applied to TCP/UDP checksums (as for the IPv6 routing header below).
 *    MF set or fragment offset != 0: ST_ANOM_FRAGMENT, mirrored; the IP header
 *    is translated; the L4 checksum is fixed only in the first fragment
 *    (offset 0), and a first fragment too short to hold the L4 checksum field
 *    (TCP 18, UDP 8, ICMP 4 bytes) is dropped MALFORMED + TRUNC_L4. Later
 *    fragments carry no L4 header and get no L4 fix.
 *    Unfragmented: TCP needs 20 bytes with data offset >= 5 and data
 *    offset*4 within total_length, UDP 8 bytes, ICMP 8 bytes, all within both
 *    the segment and total_length; else MALFORMED + TRUNC_L4. Other protocols
 *    (GRE, ESP, SCTP, OSPFv2, ...) have no checksum over IP addresses: only
 *    the IP header changes.
 *
 * 3. IPv6. The 40-byte header must be in the segment and 40 + payload_length
 *    within pkt_len, else TRUNC_L3; version not 6: BAD_IHL; both MALFORMED.
 *    Extension headers 0, 43, 60 ((len+1)*8 bytes), 51 (AH, (len+2)*4) and 44
 *    (fragment, 8) are walked; one that does not fit in the segment and the
 *    payload is TRUNC_L3 + MALFORMED. Fragment header with offset != 0:
 *    ST_ANOM_FRAGMENT, the walk stops, no L4 fix. Offset 0 with M set:
 *    ST_ANOM_FRAGMENT, the walk goes on and the L4 checksum is fixed, with the
 *    same first-fragment rule as IPv4 (too short for the checksum field:
 *    MALFORMED + TRUNC_L4). Offset 0 without M (atomic fragment) is not an
 *    anomaly. Upper layers fixed through the pseudo-header: TCP (checksum at
 *    16, header 20), UDP (6, 8), ICMPv6 (2, 8), OSPFv3 (12, 16); shorter ones
 *    are TRUNC_L4 + MALFORMED. A routing header with segments_left > 0 means
 *    the pseudo-header destination is the final destination inside the
 *    routing header, which is not translated: only the source delta is
 *    applied. Other next headers (ESP, 59, Mobility, ...) get no L4 fix.
 *
 * 4. Translation. Source and destination are looked up independently
 *    (rte_lpm / rte_lpm6, longest prefix wins); the new address is the map's
 *    "to" prefix with the packet's host bits kept. If either address is
 *    outside every map: with ST_UNMAPPED_DROP the copy is dropped (UNMAPPED)
 *    untouched; with ST_UNMAPPED_MIRROR only covered addresses change.
 *    translated = 1 when at least one address (outer or ICMP-inner) changed;
 *    an identity map (to == from) changes nothing.
 *
 * 5. Checksums, incrementally (RFC 1624 eqn. 3: HC' = ~(~HC + ~m + m')), so
 *    a checksum that was wrong stays exactly as wrong. IPv4 header; TCP; UDP
 *    only when its checksum is non-zero (0 = "none" over IPv4; over IPv6 a 0
 *    is the RFC 6936 zero-checksum mode and is kept too), and a UDP result of
 *    0 is written as 0xFFFF; ICMPv4 has no pseudo-header so echo & co. keep
 *    their checksum; ICMPv6 and OSPFv3 with the pseudo-header.
 *    ICMP errors (ICMPv4 types 3, 4, 5, 11, 12; ICMPv6 types 1-4) quote the
 *    invoking packet's IP header at icmp+8. When that whole IPv4 (20-byte) or
 *    IPv6 (40-byte) header is inside the segment and the outer IP payload and
 *    has the right version, its source and destination are translated with
 *    the same maps (covered ones only; an unmapped inner address never drops
 *    the copy), an inner IPv4 header checksum is fixed, and the outer ICMP
 *    checksum is adjusted for every changed byte. The quoted L4 header (ports,
 *    its checksum) is left as it was: it is usually cut short, so its
 *    checksum could not be verified by anyone anyway.
 *
 * 6. MACs. t->dst_mac and t->src_mac are written into the Ethernet header,
 *    each unless it is all zeros (then the original is kept).
 *
 * 7. Bounds. Only the first segment (min(seg_len, pkt_len) bytes) is read or
 *    written; every length field is checked against it before use. No
 *    malloc, logging or system calls: one pass, O(header length).
 *
 * Not done here (yet): ARP/ND/DHCP payload addresses, UDP-Lite/DCCP/SCTP/
 * Mobility-header checksums.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE /* DPDK headers need POSIX types (ssize_t) under -std=c11 */
#endif
#include <string.h>

#include <rte_byteorder.h>
#include <rte_ether.h>
#include <rte_ip.h>
#include <rte_lpm.h>
#include <rte_lpm6.h>

#include "rewrite.h"

#define RW_BIT(a) (1u << (a))

enum rw_l4 { RW_L4_NONE, RW_L4_TCP, RW_L4_UDP, RW_L4_ICMP, RW_L4_ICMP6,
	     RW_L4_OSPF };

/* Frames are byte streams with no alignment promise: read and write fields
 * byte by byte in network order. */
static inline uint16_t rw_rd16(const uint8_t *p)
{
	return (uint16_t)((unsigned int)p[0] << 8 | p[1]);
}

static inline void rw_wr16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)(v >> 8);
	p[1] = (uint8_t)v;
}

static inline uint32_t rw_rd32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 |
	       (uint32_t)p[2] << 8 | p[3];
}

static inline void rw_wr32(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)(v >> 24);
	p[1] = (uint8_t)(v >> 16);
	p[2] = (uint8_t)(v >> 8);
	p[3] = (uint8_t)v;
}

/* RFC 1624 terms ~m + m' for one 16-bit word. */
static inline uint32_t rw_cs_word(uint16_t old, uint16_t new_)
{
	return (uint32_t)(uint16_t)~old + new_;
}

static inline uint32_t rw_cs_addr4(uint32_t old, uint32_t new_)
{
	return rw_cs_word((uint16_t)(old >> 16), (uint16_t)(new_ >> 16)) +
	       rw_cs_word((uint16_t)old, (uint16_t)new_);
}

static inline uint32_t rw_cs_addr6(const uint8_t *old, const uint8_t *new_)
{
	uint32_t d = 0;

	for (unsigned int i = 0; i < 16; i += 2)
		d += rw_cs_word(rw_rd16(old + i), rw_rd16(new_ + i));
	return d;
}

static inline uint16_t rw_cs_fold(uint32_t s)
{
	s = (s & 0xffff) + (s >> 16);
	s = (s & 0xffff) + (s >> 16);
	return (uint16_t)s;
}

/* HC' = ~(~HC + delta); returns the new checksum. delta is a sum of at most
 * a few dozen rw_cs_word() terms, far from overflowing 32 bits. */
static inline uint16_t rw_cs_apply(uint8_t *field, uint32_t delta)
{
	uint32_t s = (uint32_t)(uint16_t)~rw_rd16(field) + rw_cs_fold(delta);
	uint16_t hc = (uint16_t)~rw_cs_fold(s);

	rw_wr16(field, hc);
	return hc;
}

static inline int rw_is_vlan(uint16_t et)
{
	return et == RTE_ETHER_TYPE_VLAN || et == RTE_ETHER_TYPE_QINQ ||
	       et == RTE_ETHER_TYPE_QINQ1;
}

/* Translate one IPv4 address in place in *addr; 1 if covered by a map. */
static inline int rw_xlat4(const struct st_rewrite_tables *t, uint32_t *addr)
{
	uint32_t nh, mask;
	const struct st_map4 *m;

	if (t->lpm4 == NULL || rte_lpm_lookup(t->lpm4, *addr, &nh) != 0 ||
	    nh >= t->nb_map4)
		return 0;
	m = &t->map4[nh];
	mask = m->len == 0 ? 0 : UINT32_MAX << (32 - m->len);
	*addr = (m->to & mask) | (*addr & ~mask);
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

static inline int rw_mac_is_zero(const uint8_t *mac)
{
	return (mac[0] | mac[1] | mac[2] | mac[3] | mac[4] | mac[5]) == 0;
}

static inline void rw_set_macs(const struct st_rewrite_tables *t,
			       uint8_t *frame)
{
	if (!rw_mac_is_zero(t->dst_mac))
		memcpy(frame, t->dst_mac, RTE_ETHER_ADDR_LEN);
	if (!rw_mac_is_zero(t->src_mac))
		memcpy(frame + RTE_ETHER_ADDR_LEN, t->src_mac,
		       RTE_ETHER_ADDR_LEN);
}

static inline void rw_malformed(struct st_rewrite_result *res,
				enum st_anomaly a)
{
	res->drop = ST_DROP_MALFORMED;
	res->anomalies |= RW_BIT(a);
}

/* 1 if the IPv4 options hold a loose or strict source route that is not yet
 * exhausted: the IP destination is then the next hop, not the final one. */
static inline int rw_ipv4_src_route(const uint8_t *ip, uint32_t hlen)
{
	uint32_t i = sizeof(struct rte_ipv4_hdr);

	while (i < hlen) {
		uint8_t type = ip[i], len;

		if (type == 0)            /* end of option list */
			break;
		if (type == 1) {          /* no-operation */
			i++;
			continue;
		}
		if (hlen - i < 2)
			break;
		len = ip[i + 1];
		if (len < 2 || len > hlen - i)
			break;
		if ((type == 131 || type == 137) && len >= 3 &&
		    ip[i + 2] <= len)
			return 1;
		i += len;
	}
	return 0;
}

/* The IPv4 header quoted by an ICMP error at in[0..20): translate covered
 * addresses, fix its checksum; return the delta for the outer checksum. */
static inline uint32_t rw_inner4(const struct st_rewrite_tables *t,
				 uint8_t *in, uint8_t *translated)
{
	uint32_t src, dst, nsrc, ndst, dh = 0;
	uint16_t old_cs;

	if ((in[0] >> 4) != 4 || (in[0] & 0xf) < 5)
		return 0;
	nsrc = src = rw_rd32(in + 12);
	ndst = dst = rw_rd32(in + 16);
	rw_xlat4(t, &nsrc);
	rw_xlat4(t, &ndst);
	if (nsrc != src) {
		dh += rw_cs_addr4(src, nsrc);
		rw_wr32(in + 12, nsrc);
	}
	if (ndst != dst) {
		dh += rw_cs_addr4(dst, ndst);
		rw_wr32(in + 16, ndst);
	}
	if (dh == 0)
		return 0;
	*translated = 1;
	old_cs = rw_rd16(in + 10);
	return dh + rw_cs_word(old_cs, rw_cs_apply(in + 10, dh));
}

/* The IPv6 header quoted by an ICMPv6 error at in[0..40). */
static inline uint32_t rw_inner6(const struct st_rewrite_tables *t,
				 uint8_t *in, uint8_t *translated)
{
	uint8_t na[16];
	uint32_t d = 0;

	if ((in[0] >> 4) != 6)
		return 0;
	for (unsigned int off = 8; off <= 24; off += 16) {
		rw_xlat6(t, in + off, na);
		if (memcmp(na, in + off, 16) != 0) {
			d += rw_cs_addr6(in + off, na);
			memcpy(in + off, na, 16);
			*translated = 1;
		}
	}
	return d;
}

/* Apply an L4 checksum delta. UDP: 0 means "no checksum" and stays; a
 * computed 0 must be sent as 0xFFFF (RFC 768). */
static inline void rw_l4_fix(enum rw_l4 kind, uint8_t *field, uint32_t delta)
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

static inline void rw_ipv4(const struct st_rewrite_tables *t, uint8_t *frame,
			   uint32_t seg, uint32_t pkt, uint32_t l3,
			   struct st_rewrite_result *res)
{
	uint8_t *ip = frame + l3, *l4;
	uint32_t room = seg - l3, hlen, tot, avail, need = 0, csum_off = 0;
	uint32_t src, dst, nsrc, ndst, d_ip = 0, d_l4 = 0;
	uint16_t frag, foff;
	int mf, src_route = 0, ms, md;
	enum rw_l4 kind = RW_L4_NONE;

	if (room < sizeof(struct rte_ipv4_hdr))
		{ rw_malformed(res, ST_ANOM_TRUNC_L3); return; }
	if ((ip[0] >> 4) != 4 || (ip[0] & 0xf) < 5)
		{ rw_malformed(res, ST_ANOM_BAD_IHL); return; }
	hlen = (uint32_t)(ip[0] & 0xf) * 4;
	tot = rw_rd16(ip + 2);
	if (hlen > room || tot < hlen || tot > pkt - l3)
		{ rw_malformed(res, ST_ANOM_TRUNC_L3); return; }
	if (hlen > sizeof(struct rte_ipv4_hdr)) {
		res->anomalies |= RW_BIT(ST_ANOM_IP_OPTIONS);
		src_route = rw_ipv4_src_route(ip, hlen);
	}
	frag = rw_rd16(ip + 6);
	foff = frag & RTE_IPV4_HDR_OFFSET_MASK;
	mf = (frag & RTE_IPV4_HDR_MF_FLAG) != 0;
	if (mf || foff != 0)
		res->anomalies |= RW_BIT(ST_ANOM_FRAGMENT);

	l4 = ip + hlen;
	/* L4 bytes both in the segment and in the datagram (not padding) */
	avail = (tot < room ? tot : room) - hlen;
	if (foff == 0) {
		switch (ip[9]) {
		case IPPROTO_TCP:
			kind = RW_L4_TCP; csum_off = 16; need = mf ? 18 : 20;
			break;
		case IPPROTO_UDP:
			kind = RW_L4_UDP; csum_off = 6; need = 8;
			break;
		case IPPROTO_ICMP:
			kind = RW_L4_ICMP; csum_off = 2; need = mf ? 4 : 8;
			break;
		default:
			break;
		}
		if (avail < need)
			{ rw_malformed(res, ST_ANOM_TRUNC_L4); return; }
		if (kind == RW_L4_TCP && !mf &&
		    ((l4[12] >> 4) < 5 || (uint32_t)(l4[12] >> 4) * 4 > tot - hlen))
			{ rw_malformed(res, ST_ANOM_TRUNC_L4); return; }
	}

	nsrc = src = rw_rd32(ip + 12);
	ndst = dst = rw_rd32(ip + 16);
	ms = rw_xlat4(t, &nsrc);
	md = rw_xlat4(t, &ndst);
	if (!(ms && md) && t->unmapped == ST_UNMAPPED_DROP) {
		res->drop = ST_DROP_UNMAPPED;
		return;
	}

	/* commit: from here on the copy is sent */
	if (nsrc != src) {
		d_ip += rw_cs_addr4(src, nsrc);
		d_l4 += rw_cs_addr4(src, nsrc);
		rw_wr32(ip + 12, nsrc);
	}
	if (ndst != dst) {
		d_ip += rw_cs_addr4(dst, ndst);
		if (!src_route)
			d_l4 += rw_cs_addr4(dst, ndst);
		rw_wr32(ip + 16, ndst);
	}
	if (d_ip != 0) {
		res->translated = 1;
		rw_cs_apply(ip + 10, d_ip);
	}
	switch (kind) {
	case RW_L4_TCP:
	case RW_L4_UDP:
		if (d_l4 != 0)
			rw_l4_fix(kind, l4 + csum_off, d_l4);
		break;
	case RW_L4_ICMP: {
		uint32_t d = 0;
		uint8_t type = l4[0];

		if ((type == 3 || type == 4 || type == 5 || type == 11 ||
		     type == 12) &&
		    avail >= 8 + sizeof(struct rte_ipv4_hdr))
			d = rw_inner4(t, l4 + 8, &res->translated);
		if (d != 0)
			rw_cs_apply(l4 + csum_off, d);
		break;
	}
	default:
		break;
	}
	rw_set_macs(t, frame);
}

static inline void rw_ipv6(const struct st_rewrite_tables *t, uint8_t *frame,
			   uint32_t seg, uint32_t pkt, uint32_t l3,
			   struct st_rewrite_result *res)
{
	uint8_t *ip = frame + l3, *l4;
	uint8_t nsrc[16], ndst[16];
	uint32_t room = seg - l3, end, lim, off, avail, need = 0, csum_off = 0;
	uint32_t d_l4 = 0;
	uint8_t nh;
	int routed = 0, first_frag = 0, later_frag = 0, ms, md;
	enum rw_l4 kind = RW_L4_NONE;

	if (room < sizeof(struct rte_ipv6_hdr))
		{ rw_malformed(res, ST_ANOM_TRUNC_L3); return; }
	if ((ip[0] >> 4) != 6)
		{ rw_malformed(res, ST_ANOM_BAD_IHL); return; }
	end = sizeof(struct rte_ipv6_hdr) + (uint32_t)rw_rd16(ip + 4);
	if (end > pkt - l3)
		{ rw_malformed(res, ST_ANOM_TRUNC_L3); return; }
	lim = end < room ? end : room;   /* readable bytes of the datagram */

	/* Each extension header is >= 8 bytes, so the walk ends within
	 * lim / 8 steps whatever the frame says. Invariant: off <= lim. */
	off = sizeof(struct rte_ipv6_hdr);
	nh = ip[6];
	for (;;) {
		const uint8_t *x = ip + off;
		uint32_t hl;

		if (nh != IPPROTO_HOPOPTS && nh != IPPROTO_ROUTING &&
		    nh != IPPROTO_DSTOPTS && nh != IPPROTO_AH &&
		    nh != IPPROTO_FRAGMENT)
			break;
		if (lim - off < 8)
			{ rw_malformed(res, ST_ANOM_TRUNC_L3); return; }
		if (nh == IPPROTO_FRAGMENT) {
			uint16_t fo = rw_rd16(x + 2);

			nh = x[0];
			off += 8;
			if ((fo & 0xfff8) != 0) {
				res->anomalies |= RW_BIT(ST_ANOM_FRAGMENT);
				later_frag = 1;
				break;
			}
			if (fo & 1) {
				res->anomalies |= RW_BIT(ST_ANOM_FRAGMENT);
				first_frag = 1;
			}
			continue;
		}
		hl = nh == IPPROTO_AH ? ((uint32_t)x[1] + 2) * 4
				      : ((uint32_t)x[1] + 1) * 8;
		if (hl > lim - off)
			{ rw_malformed(res, ST_ANOM_TRUNC_L3); return; }
		if (nh == IPPROTO_ROUTING && x[3] != 0)
			routed = 1;
		nh = x[0];
		off += hl;
	}

	l4 = ip + off;
	avail = lim - off;
	if (!later_frag) {
		switch (nh) {
		case IPPROTO_TCP:
			kind = RW_L4_TCP; csum_off = 16;
			need = first_frag ? 18 : 20;
			break;
		case IPPROTO_UDP:
			kind = RW_L4_UDP; csum_off = 6; need = 8;
			break;
		case IPPROTO_ICMPV6:
			kind = RW_L4_ICMP6; csum_off = 2;
			need = first_frag ? 4 : 8;
			break;
		case 89: /* OSPFv3 */
			kind = RW_L4_OSPF; csum_off = 12;
			need = first_frag ? 14 : 16;
			break;
		default:
			break;
		}
		if (avail < need)
			{ rw_malformed(res, ST_ANOM_TRUNC_L4); return; }
		if (kind == RW_L4_TCP && !first_frag &&
		    ((l4[12] >> 4) < 5 ||
		     (uint32_t)(l4[12] >> 4) * 4 > end - off))
			{ rw_malformed(res, ST_ANOM_TRUNC_L4); return; }
	}

	ms = rw_xlat6(t, ip + 8, nsrc);
	md = rw_xlat6(t, ip + 24, ndst);
	if (!(ms && md) && t->unmapped == ST_UNMAPPED_DROP) {
		res->drop = ST_DROP_UNMAPPED;
		return;
	}

	/* commit */
	if (memcmp(nsrc, ip + 8, 16) != 0) {
		d_l4 += rw_cs_addr6(ip + 8, nsrc);
		memcpy(ip + 8, nsrc, 16);
		res->translated = 1;
	}
	if (memcmp(ndst, ip + 24, 16) != 0) {
		if (!routed)
			d_l4 += rw_cs_addr6(ip + 24, ndst);
		memcpy(ip + 24, ndst, 16);
		res->translated = 1;
	}
	if (kind == RW_L4_ICMP6 && l4[0] >= 1 && l4[0] <= 4 &&
	    avail >= 8 + sizeof(struct rte_ipv6_hdr))
		d_l4 += rw_inner6(t, l4 + 8, &res->translated);
	if (kind != RW_L4_NONE && d_l4 != 0)
		rw_l4_fix(kind, l4 + csum_off, d_l4);
	rw_set_macs(t, frame);
}

void st_rewrite_frame(const struct st_rewrite_tables *t, uint8_t *frame,
		      uint32_t seg_len, uint32_t pkt_len,
		      struct st_rewrite_result *res)
{
	uint32_t seg = seg_len < pkt_len ? seg_len : pkt_len;
	uint32_t off = RTE_ETHER_HDR_LEN;
	uint16_t et;

	res->drop = -1;
	res->translated = 0;
	res->anomalies = 0;

	if (seg < RTE_ETHER_HDR_LEN)
		{ rw_malformed(res, ST_ANOM_TRUNC_L2); return; }
	et = rw_rd16(frame + 12);
	for (int tags = 0; tags < 2 && rw_is_vlan(et); tags++) {
		res->anomalies |= RW_BIT(ST_ANOM_VLAN);
		if (seg - off < 4)
			{ rw_malformed(res, ST_ANOM_TRUNC_L2); return; }
		et = rw_rd16(frame + off + 2);
		off += 4;
	}
	if (et == RTE_ETHER_TYPE_IPV4)
		rw_ipv4(t, frame, seg, pkt_len, off, res);
	else if (et == RTE_ETHER_TYPE_IPV6)
		rw_ipv6(t, frame, seg, pkt_len, off, res);
	else
		res->drop = ST_DROP_NOT_IP;
}
