/* SPDX-License-Identifier: BSD-3-Clause
 * The IPv4 layer of the rewrite (rewrite_ip.h, section 2), and the IPv4
 * header an ICMP error quotes.
 */
#include <string.h>

#include <rte_byteorder.h>
#include <rte_ip.h>

#include "rewrite_ip.h"
#include "rewrite_cp.h"
#include "rewrite_payload.h"

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
				 uint8_t *in, uint32_t avail, uint32_t inwire,
				 uint8_t *translated, const int cp)
{
	uint32_t src, dst, nsrc, ndst, dh = 0, hl, dq = 0;
	uint16_t old_cs;

	if ((in[0] >> 4) != 4 || (in[0] & 0xf) < 5)
		return 0;
	src = rw_rd32(in + 12);
	dst = rw_rd32(in + 16);
	rw_addr4(t, src, &nsrc, cp);
	rw_addr4(t, dst, &ndst, cp);
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
	/* the quoted TCP/UDP checksum, when the quote holds it (not a later
	 * fragment): it covers the addresses through the pseudo-header */
	hl = (uint32_t)(in[0] & 0xf) * 4;
	if ((rw_rd16(in + 6) & RTE_IPV4_HDR_OFFSET_MASK) == 0 && hl <= avail) {
		if (in[9] == IPPROTO_TCP)
			dq = rw_cs_quoted(in, hl + 16, avail, inwire, 0, dh);
		else if (in[9] == IPPROTO_UDP)
			dq = rw_cs_quoted(in, hl + 6, avail, inwire, 1, dh);
	}
	old_cs = rw_rd16(in + 10);
	return dh + dq + rw_cs_word(old_cs, rw_cs_apply(in + 10, dh));
}

static __rte_always_inline void
rw_ipv4(struct rw_ctx *c, uint32_t l3, const int cp)
{
	const struct st_rewrite_tables *t = c->t;
	struct st_rewrite_result *res = c->res;
	uint8_t *ip = c->f + l3, *l4;
	uint32_t hlen, tot, dend, dg, rd, pr, need = 0, csum_off = 0;
	uint32_t src, dst, nsrc, ndst, d_ip = 0, d_l4 = 0, d_cp = 0;
	uint16_t frag, foff;
	int mf, src_route = 0, dhcp = 0, fix_l4;
	enum rw_cover ms, md;
	enum rw_l4 kind = RW_L4_NONE;
	enum rw_cp cpr;
	struct rw_pl pl;

	if (rw_hdr_fail(c, l3 + sizeof(struct rte_ipv4_hdr), c->wire,
			ST_ANOM_TRUNC_L3))
		return;
	if ((ip[0] >> 4) != 4 || (ip[0] & 0xf) < 5)
		{ rw_malformed(res, ST_ANOM_BAD_IHL); return; }
	hlen = (uint32_t)(ip[0] & 0xf) * 4;
	tot = rw_rd16(ip + 2);
	/* total_length is checked against the frame on the wire, not the
	 * copy: a truncated copy is not a truncated datagram */
	if (tot < hlen || tot > c->wire - l3)
		{ rw_malformed(res, ST_ANOM_TRUNC_L3); return; }
	dend = l3 + tot;
	if (rw_hdr_fail(c, l3 + hlen, dend, ST_ANOM_TRUNC_L3))
		return;
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
	dg = tot - hlen;                                   /* in the datagram */
	rd = (dend < c->seg ? dend : c->seg) - (l3 + hlen); /* readable */
	pr = (dend < c->pkt ? dend : c->pkt) - (l3 + hlen); /* in the copy */
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
		/* too short by its own lengths, or present in the copy but
		 * not in the first segment */
		if (dg < need || (rd < need && pr > rd))
			{ rw_malformed(res, ST_ANOM_TRUNC_L4); return; }
		if (kind == RW_L4_TCP && !mf && rd >= 13 &&
		    ((l4[12] >> 4) < 5 || (uint32_t)(l4[12] >> 4) * 4 > dg))
			{ rw_malformed(res, ST_ANOM_TRUNC_L4); return; }
		/* a UDP length is the whole datagram's: checked when the
		 * datagram is not fragmented */
		if (kind == RW_L4_UDP && !mf && rd >= 6 &&
		    (rw_rd16(l4 + 4) < 8 || rw_rd16(l4 + 4) > dg))
			{ rw_malformed(res, ST_ANOM_TRUNC_L4); return; }
	}
	/* the checksum field may be cut off by the snaplen: then nothing to fix */
	fix_l4 = kind != RW_L4_NONE && rd >= csum_off + 2;

	c->cs_base = l3 + hlen;
	if (cp && kind == RW_L4_UDP && !mf && (t->control_plane & ST_CP_DHCP) &&
	    rd >= 4 && rw_dhcp_port(rw_rd16(l4)) && rw_dhcp_port(rw_rd16(l4 + 2))) {
		dhcp = 1;
		cpr = st_rw_dhcp(c, l3 + hlen, dend, 0, NULL);
		if (cpr != RW_CP_OK)
			{ rw_cp_fail(c, cpr); return; }
	}

	pl.l3 = l3;
	pl.l4 = l3 + hlen;
	pl.dend = dend;
	pl.proto = ip[9];
	pl.v6 = 0;
	pl.frag = (uint8_t)mf;
	pl.kind = -1;
	pl.go = 0;
	if (t->payloads && foff == 0 && !dhcp && st_rw_payload_check(c, &pl))
		return;

	src = rw_rd32(ip + 12);
	dst = rw_rd32(ip + 16);
	ms = rw_addr4(t, src, &nsrc, cp);
	md = rw_addr4(t, dst, &ndst, cp);
	if (rw_unmapped(c, ms == RW_UNCOVERED || md == RW_UNCOVERED) || c->dry)
		return;

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
	if (cp && dhcp) {
		st_rw_dhcp(c, l3 + hlen, dend, 1, &d_cp);
		rw_cs_acc(&d_l4, d_cp);
	}
	if (pl.go) {
		d_cp = 0;
		st_rw_payload_commit(c, &pl, &d_cp);
		rw_cs_acc(&d_l4, d_cp);
	}
	switch (kind) {
	case RW_L4_TCP:
	case RW_L4_UDP:
		if (fix_l4 && rw_cs_fold(d_l4) != 0)
			rw_l4_fix(kind, l4 + csum_off, d_l4);
		break;
	case RW_L4_ICMP: {
		uint32_t d = 0;
		uint8_t type = fix_l4 ? l4[0] : 0;

		if ((type == 3 || type == 4 || type == 5 || type == 11 ||
		     type == 12) &&
		    rd >= 8 + sizeof(struct rte_ipv4_hdr))
			d = rw_inner4(t, l4 + 8, rd - 8, dg - 8, &res->translated, cp);
		if (d != 0)
			rw_cs_apply(l4 + csum_off, d);
		break;
	}
	default:
		break;
	}
	if (!c->inner && rw_set_macs(c, cp) && cp)
		rw_mcast_mac4(c, dst, ndst);
}

void
st_rw_ipv4(struct rw_ctx *c, uint32_t l3)
{
	rw_ipv4(c, l3, 0);
}

void
st_rw_ipv4_cp(struct rw_ctx *c, uint32_t l3)
{
	rw_ipv4(c, l3, 1);
}
