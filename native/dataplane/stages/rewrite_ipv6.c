/* SPDX-License-Identifier: BSD-3-Clause
 * The IPv6 layer of the rewrite (rewrite_ip.h, section 3), and the IPv6
 * header an ICMPv6 error quotes.
 */
#include <string.h>

#include <rte_byteorder.h>
#include <rte_ip.h>

#include "rewrite_ip.h"
#include "rewrite_cp.h"
#include "rewrite_payload.h"

/* The IPv6 header quoted by an ICMPv6 error at in[0..40). */
static inline uint32_t rw_inner6(const struct st_rewrite_tables *t,
				 uint8_t *in, uint32_t avail, uint32_t inwire,
				 uint8_t *translated, const int cp)
{
	uint8_t na[16];
	uint32_t d = 0, dq = 0;

	if ((in[0] >> 4) != 6)
		return 0;
	for (unsigned int off = 8; off <= 24; off += 16) {
		rw_addr6(t, in + off, na, cp);
		if (memcmp(na, in + off, 16) != 0) {
			d += rw_cs_addr6(in + off, na);
			memcpy(in + off, na, 16);
			*translated = 1;
		}
	}
	/* the quoted upper-layer checksum right after the quoted header
	 * (extension headers are not walked): TCP, UDP, ICMPv6 */
	if (in[6] == IPPROTO_TCP)
		dq = rw_cs_quoted(in, 40 + 16, avail, inwire, 0, d);
	else if (in[6] == IPPROTO_UDP)
		dq = rw_cs_quoted(in, 40 + 6, avail, inwire, 1, d);
	else if (in[6] == IPPROTO_ICMPV6)
		dq = rw_cs_quoted(in, 40 + 2, avail, inwire, 0, d);
	return d + dq;
}

static __rte_always_inline void
rw_ipv6(struct rw_ctx *c, uint32_t l3, const int cp)
{
	const struct st_rewrite_tables *t = c->t;
	struct st_rewrite_result *res = c->res;
	uint8_t *ip = c->f + l3, *l4;
	uint8_t nsrc[16], ndst[16], odst[16];
	uint32_t dend, off, rd, pr, dg, need = 0, csum_off = 0;
	uint32_t d_l4 = 0, d_cp = 0;
	uint8_t nh;
	int routed = 0, first_frag = 0, later_frag = 0, nd = 0, unmapped = 0;
	int fix_l4;
	enum rw_l4 kind = RW_L4_NONE;
	enum rw_cp cpr;
	struct rw_pl pl;

	if (rw_hdr_fail(c, l3 + sizeof(struct rte_ipv6_hdr), c->wire,
			ST_ANOM_TRUNC_L3))
		return;
	if ((ip[0] >> 4) != 6)
		{ rw_malformed(res, ST_ANOM_BAD_IHL); return; }
	dend = l3 + sizeof(struct rte_ipv6_hdr) + (uint32_t)rw_rd16(ip + 4);
	if (dend > c->wire)
		{ rw_malformed(res, ST_ANOM_TRUNC_L3); return; }

	/* Each extension header is >= 8 bytes, so the walk ends within
	 * (dend - l3) / 8 steps whatever the frame says. */
	off = l3 + sizeof(struct rte_ipv6_hdr);
	nh = ip[6];
	for (;;) {
		const uint8_t *x = c->f + off;
		uint32_t hl;

		if (nh != IPPROTO_HOPOPTS && nh != IPPROTO_ROUTING &&
		    nh != IPPROTO_DSTOPTS && nh != IPPROTO_AH &&
		    nh != IPPROTO_FRAGMENT)
			break;
		if (rw_hdr_fail(c, off + 8, dend, ST_ANOM_TRUNC_L3))
			return;
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
		if (rw_hdr_fail(c, off + hl, dend, ST_ANOM_TRUNC_L3))
			return;
		if (nh == IPPROTO_ROUTING && x[3] != 0)
			routed = 1;
		nh = x[0];
		off += hl;
	}

	l4 = c->f + off;
	dg = dend - off;
	rd = (dend < c->seg ? dend : c->seg) - off;
	pr = (dend < c->pkt ? dend : c->pkt) - off;
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
		case IPPROTO_PIM:
			/* PIMv2 over IPv6 sums the pseudo-header too (RFC 7761
			 * 4.9): the translated addresses change it */
			kind = RW_L4_PIM; csum_off = 2; need = 4;
			break;
		default:
			break;
		}
		if (dg < need || (rd < need && pr > rd))
			{ rw_malformed(res, ST_ANOM_TRUNC_L4); return; }
		if (kind == RW_L4_TCP && !first_frag && rd >= 13 &&
		    ((l4[12] >> 4) < 5 || (uint32_t)(l4[12] >> 4) * 4 > dg))
			{ rw_malformed(res, ST_ANOM_TRUNC_L4); return; }
		if (kind == RW_L4_UDP && !first_frag && rd >= 6 &&
		    (rw_rd16(l4 + 4) < 8 || rw_rd16(l4 + 4) > dg))
			{ rw_malformed(res, ST_ANOM_TRUNC_L4); return; }
	}
	fix_l4 = kind != RW_L4_NONE && rd >= csum_off + 2;

	/* ND is never fragmented (RFC 6980): fragments get headers only */
	c->cs_base = off;
	if (cp && kind == RW_L4_ICMP6 && !first_frag && (t->control_plane & ST_CP_ND) &&
	    rd >= 1 && rw_is_nd(l4[0])) {
		nd = 1;
		cpr = st_rw_nd(c, off, dend, 0, NULL, &unmapped);
		if (cpr != RW_CP_OK)
			{ rw_cp_fail(c, cpr); return; }
	}

	pl.l3 = l3;
	pl.l4 = off;
	pl.dend = dend;
	pl.proto = nh;
	pl.v6 = 1;
	pl.frag = (uint8_t)first_frag;
	pl.kind = -1;
	pl.go = 0;
	if (t->payloads && !later_frag && !nd && st_rw_payload_check(c, &pl))
		return;

	unmapped |= rw_addr6(t, ip + 8, nsrc, cp) == RW_UNCOVERED;
	unmapped |= rw_addr6(t, ip + 24, ndst, cp) == RW_UNCOVERED;
	if (rw_unmapped(c, unmapped) || c->dry)
		return;

	/* commit */
	memcpy(odst, ip + 24, 16);
	if (cp && nd) {
		uint8_t otgt[16];
		int ns = l4[0] == 135 && rw_field(c, off + 8, 16) > 0;

		if (ns)
			memcpy(otgt, l4 + 8, 16);
		st_rw_nd(c, off, dend, 1, &d_cp, &unmapped);
		/* an NS to the target's solicited-node group (ff02::1:ffXX:XXXX)
		 * follows the translated target when no map covers the group */
		if (ns && memcmp(ndst, odst, 16) == 0 &&
		    memcmp(odst, "\xff\x02\0\0\0\0\0\0\0\0\0\x01\xff", 13) == 0 &&
		    memcmp(odst + 13, otgt + 13, 3) == 0)
			memcpy(ndst + 13, l4 + 8 + 13, 3);
	}
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
	rw_cs_acc(&d_l4, d_cp);
	if (pl.go) {
		d_cp = 0;
		st_rw_payload_commit(c, &pl, &d_cp);
		/* a PIM Register's checksum covers its 8-byte header, not the
		 * packet it carries (RFC 7761 4.9) */
		if (kind != RW_L4_PIM)
			rw_cs_acc(&d_l4, d_cp);
	}
	if (kind == RW_L4_ICMP6 && rd >= 8 + sizeof(struct rte_ipv6_hdr) &&
	    l4[0] >= 1 && l4[0] <= 4)
		rw_cs_acc(&d_l4, rw_inner6(t, l4 + 8, rd - 8, dg - 8, &res->translated, cp));
	if (fix_l4 && rw_cs_fold(d_l4) != 0)
		rw_l4_fix(kind, l4 + csum_off, d_l4);
	if (!c->inner && rw_set_macs(c, cp) && cp)
		rw_mcast_mac6(c, odst, ndst);
}

/* cp = 0 is the variant for tables without MAC maps or control-plane bits
 * (every plan, and simple policies): the compiler drops all of their code
 * from it, so the skeleton's fast path pays nothing for them. */

void
st_rw_ipv6(struct rw_ctx *c, uint32_t l3)
{
	rw_ipv6(c, l3, 0);
}

void
st_rw_ipv6_cp(struct rw_ctx *c, uint32_t l3)
{
	rw_ipv6(c, l3, 1);
}
