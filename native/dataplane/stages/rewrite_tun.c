/* SPDX-License-Identifier: BSD-3-Clause
 * Tunnels carried by production traffic: the inner packet translated like
 * an outer one (rewrite_payload.h, 9.2).
 */
#include <netinet/in.h>
#include <string.h>

#include <rte_ether.h>

#include "rewrite_payload.h"
#include "rewrite_ip.h"
#include "rewrite_cp.h"

/* Where a tunnel's inner packet is. */
struct rw_tun {
	uint32_t inner;    /* inner Ethernet header, or inner IP header */
	uint32_t end;      /* end of the tunnel payload */
	uint32_t gre;      /* GRE header with a checksum (C bit), 0 for none */
	uint8_t ether;
};

/* -1 when the tunnel's headers are understood (tn set), else a reason. */
/* GENEVE's and GRE's protocol type: Ethernet (transparent bridging) or IP
 * inside; anything else is not translated. */
static int rw_tun_inner_type(struct rw_tun *tn, uint16_t type)
{
	switch (type) {
	case 0x6558:
		tn->ether = 1;
		return -1;
	case RTE_ETHER_TYPE_IPV4:
	case RTE_ETHER_TYPE_IPV6:
		return -1;
	default:
		return ST_LEAK_R_UNSUPPORTED;
	}
}

static int rw_tun_find(const struct rw_ctx *c, const struct rw_pl *p, struct rw_tun *tn)
{
	const uint8_t *f = c->f;
	const uint32_t l4 = p->l4;

	memset(tn, 0, sizeof(*tn));
	if (p->proto == IPPROTO_UDP) {
		uint32_t b = l4 + 8;

		if (b + 8 > c->seg)
			return ST_LEAK_R_TRUNCATED;
		tn->end = l4 + rw_rd16(f + l4 + 4);   /* checked by the IP layer */
		if (tn->end > p->dend || b + 8 > tn->end)
			return ST_LEAK_R_MALFORMED;
		if (rw_rd16(f + l4 + 2) == 4789) {    /* VXLAN: I flag, then Ethernet */
			if ((f[b] & 0x08) == 0)
				return ST_LEAK_R_MALFORMED;
			tn->inner = b + 8;
			tn->ether = 1;
			return -1;
		}
		/* GENEVE: version 0, options, protocol type */
		if ((f[b] >> 6) != 0)
			return ST_LEAK_R_UNSUPPORTED;
		tn->inner = b + 8 + (uint32_t)(f[b] & 0x3f) * 4;
		if (tn->inner > tn->end)
			return ST_LEAK_R_MALFORMED;
		return rw_tun_inner_type(tn, rw_rd16(f + b + 2));
	}
	tn->end = p->dend;
	switch (p->proto) {
	case IPPROTO_IPIP:
	case IPPROTO_IPV6:
		tn->inner = l4;
		return -1;
	case IPPROTO_PIM:        /* version 2 Register: 8 bytes, then the packet */
		tn->inner = l4 + 8;
		return tn->inner > tn->end ? ST_LEAK_R_MALFORMED : -1;
	case IPPROTO_GRE: {
		uint16_t fl;
		uint32_t off = 4;

		if (l4 + 4 > c->seg)
			return ST_LEAK_R_TRUNCATED;
		fl = rw_rd16(f + l4);
		/* version 1 (PPTP) and source routing are not translated */
		if ((fl & 0x7) != 0 || (fl & 0x4000) != 0)
			return ST_LEAK_R_UNSUPPORTED;
		if (fl & 0x8000) {
			tn->gre = l4;
			off += 4;
		}
		off += (fl & 0x2000) ? 4 : 0;
		off += (fl & 0x1000) ? 4 : 0;
		tn->inner = l4 + off;
		if (tn->inner > tn->end)
			return ST_LEAK_R_MALFORMED;
		return rw_tun_inner_type(tn, rw_rd16(f + l4 + 2));
	}
	default:
		return ST_LEAK_R_UNSUPPORTED;
	}
}

/* 1 when p (proto 103) is a PIM version 2 Register, whose payload is a
 * packet; other PIM messages are not tunnels. */
int st_rw_tun_pim_register(const struct rw_ctx *c, const struct rw_pl *p)
{
	return p->l4 + 1 <= c->seg && c->f[p->l4] == 0x21;
}

/* The ones' complement sum of [s, e), as 16-bit words from s. */
static uint32_t rw_tun_sum(const uint8_t *f, uint32_t s, uint32_t e)
{
	uint32_t sum = 0, i;

	for (i = s; i + 1 < e; i += 2) {
		sum += rw_rd16(f + i);
		if (sum >= 0x80000000u)
			sum = rw_cs_fold(sum);
	}
	if (i < e)
		sum += (uint32_t)f[i] << 8;
	return rw_cs_fold(sum);
}

/* Run the inner packet: dry (checks only) or for real. The outcome in *r. */
static void rw_tun_inner(const struct rw_ctx *c, const struct rw_tun *tn, int commit,
			 struct st_rewrite_result *r)
{
	struct rw_ctx s = *c;
	uint32_t l3 = tn->inner;
	uint16_t et;

	r->drop = -1;
	r->translated = 0;
	r->anomalies = 0;
	r->unmapped_seen = 0;
	st_leak_clear(&r->leak);
	s.res = r;
	s.wire = tn->end;   /* inner lengths are checked against the tunnel's */
	s.inner = 1;
	s.dry = (uint8_t)!commit;
	if (tn->ether) {
		if (rw_hdr_fail(&s, l3 + RTE_ETHER_HDR_LEN, s.wire, ST_ANOM_TRUNC_L2))
			return;
		et = rw_rd16(c->f + l3 + 12);
		l3 += RTE_ETHER_HDR_LEN;
		for (int k = 0; k < 2 && rw_is_vlan(et); k++) {
			if (rw_hdr_fail(&s, l3 + 4, s.wire, ST_ANOM_TRUNC_L2))
				return;
			et = rw_rd16(c->f + l3 + 2);
			l3 += 4;
		}
		if (commit) {
			/* inner MACs like outer ones: the map, else the shadow MACs */
			uint8_t *m = c->f + tn->inner;
			const int pol = c->t->cp_aware || c->t->mac_hash != NULL;
			const uint8_t *d = rw_mac_new(c->t, m, c->t->dst_mac, pol);
			const uint8_t *sm = rw_mac_new(c->t, m + 6, c->t->src_mac, pol);

			if (d != NULL)
				memcpy(m, d, 6);
			if (sm != NULL)
				memcpy(m + 6, sm, 6);
		}
		if (et == RTE_ETHER_TYPE_ARP) {
			if (c->t->control_plane & ST_CP_ARP)
				st_rw_arp(&s, l3);
			return;
		}
		if (et != RTE_ETHER_TYPE_IPV4 && et != RTE_ETHER_TYPE_IPV6)
			return;   /* no addresses (LLDP, ...): MACs only */
	} else {
		if (rw_hdr_fail(&s, l3 + 1, s.wire, ST_ANOM_TRUNC_L3))
			return;
		et = (c->f[l3] >> 4) == 6 ? RTE_ETHER_TYPE_IPV6 : RTE_ETHER_TYPE_IPV4;
	}
	if (et == RTE_ETHER_TYPE_IPV4) {
		if (c->t->cp_aware || c->t->mac_hash != NULL)
			st_rw_ipv4_cp(&s, l3);
		else
			st_rw_ipv4(&s, l3);
	} else {
		if (c->t->cp_aware || c->t->mac_hash != NULL)
			st_rw_ipv6_cp(&s, l3);
		else
			st_rw_ipv6(&s, l3);
	}
}

/* The inner packet's verdict for the copy: -1 to go on, else a reason
 * (the copy is then judged by the leak policy), or -2 when the inner
 * packet itself dropped the copy (unmapped, or a payload of its own). */
static int rw_tun_verdict(const struct rw_ctx *c, const struct st_rewrite_result *r)
{
	if (r->leak.kind >= 0)
		st_leak_record(&c->res->leak, (enum st_leak_kind)r->leak.kind,
			       (enum st_leak_reason)r->leak.reason,
			       (enum st_leak_action)r->leak.action);
	if (r->drop < 0)
		return -1;
	if (r->drop == ST_DROP_UNMAPPED || r->drop == ST_DROP_LEAK) {
		c->res->drop = r->drop;
		c->res->unmapped_seen = r->unmapped_seen;
		return -2;
	}
	return r->anomalies != 0 ? ST_LEAK_R_MALFORMED : ST_LEAK_R_TRUNCATED;
}

int st_rw_tun_check(const struct rw_ctx *c, const struct rw_pl *p)
{
	struct rw_tun tn;
	struct st_rewrite_result r;
	int v;

	if (c->inner)
		return ST_LEAK_R_NESTED;   /* one level of tunnel only */
	if ((v = rw_tun_find(c, p, &tn)) >= 0)
		return v;
	/* the inner packet's bytes all in the first segment: the sums below
	 * and the checksum deltas need them */
	if (tn.end > c->seg)
		return ST_LEAK_R_TRUNCATED;
	rw_tun_inner(c, &tn, 0, &r);
	return rw_tun_verdict(c, &r);
}

void st_rw_tun_commit(const struct rw_ctx *c, const struct rw_pl *p, uint32_t *delta)
{
	struct rw_tun tn;
	struct st_rewrite_result r;
	uint32_t before, d;

	if (rw_tun_find(c, p, &tn) >= 0)
		return;
	before = rw_tun_sum(c->f, tn.inner, tn.end);
	rw_tun_inner(c, &tn, 1, &r);
	c->res->translated |= r.translated;
	/* every byte the inner packet changed, for the outer checksums */
	d = rw_cs_word((uint16_t)before, (uint16_t)rw_tun_sum(c->f, tn.inner, tn.end));
	if (rw_cs_fold(d) == 0)
		return;
	rw_cs_acc(delta, rw_cs_parity(d, tn.inner - c->cs_base));
	if (tn.gre != 0 && tn.gre + 6 <= c->seg)
		rw_cs_apply(c->f + tn.gre + 4, rw_cs_parity(d, tn.inner - tn.gre));
}
