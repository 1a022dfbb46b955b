/* SPDX-License-Identifier: BSD-3-Clause
 * Which leak-policy payload a transport carries, and the policy's action on
 * it (rewrite_payload.h, section 9).
 */
#include <netinet/in.h>

#include "rewrite_payload.h"
#include "rewrite_rt.h"
#include "rewrite_dns.h"

/* The kind a transport payload is, -1 for none. Ports are read only when
 * the transport header is in the first segment (the IP layer has checked
 * it against the datagram). */
static int rw_pl_kind(const struct rw_ctx *c, const struct rw_pl *p)
{
	uint16_t sp, dp;

	if (p->proto == 89)
		return ST_LEAK_OSPF;
	switch (p->proto) {
	case IPPROTO_GRE:
	case IPPROTO_IPIP:
	case IPPROTO_IPV6:
		return ST_LEAK_TUNNEL;
	case IPPROTO_PIM:
		return st_rw_tun_pim_register(c, p) ? ST_LEAK_TUNNEL : -1;
	case IPPROTO_UDP:
	case IPPROTO_TCP:
		break;
	default:
		return -1;
	}
	if (p->l4 + 4 > c->seg || p->l4 + 4 > p->dend)
		return -1;
	sp = rw_rd16(c->f + p->l4);
	dp = rw_rd16(c->f + p->l4 + 2);
	if (p->proto == IPPROTO_TCP && (sp == 179 || dp == 179))
		return ST_LEAK_BGP;
	/* a tunnel's source port is a flow hash: its destination decides */
	if (p->proto == IPPROTO_UDP && (dp == 4789 || dp == 6081))
		return ST_LEAK_TUNNEL;
	if (sp == 53 || dp == 53)
		return ST_LEAK_DNS;
	if (p->proto == IPPROTO_UDP && (sp == 5353 || dp == 5353))
		return ST_LEAK_MDNS;
	if (sp == 5355 || dp == 5355)
		return ST_LEAK_LLMNR;
	return -1;
}

/* A routing translator's pass-0 verdict (rewrite_rt.h): 1 = dropped. */
static int rw_pl_rt(const struct rw_ctx *c, struct rw_pl *p, enum rw_cp r, uint8_t why)
{
	switch (r) {
	case RW_CP_OK:
		p->go = 1;
		return 0;
	case RW_CP_BAD:
		return rw_leak(c, (enum st_leak_kind)p->kind, ST_LEAK_R_MALFORMED);
	case RW_CP_CUT:
		return rw_leak(c, (enum st_leak_kind)p->kind, ST_LEAK_R_TRUNCATED);
	default:
		return rw_leak(c, (enum st_leak_kind)p->kind, st_rt_leak_reason(why));
	}
}

/* Where a DNS payload is: [*s, *e) and whether it rides TCP. -1 when it is
 * all there to look at, else a leak reason (the header cut off). */
static int rw_pl_dns_span(const struct rw_ctx *c, const struct rw_pl *p,
			  uint32_t *s, uint32_t *e)
{
	const uint8_t *l4 = c->f + p->l4;

	if (p->proto == IPPROTO_UDP) {
		if (p->l4 + 8 > c->seg)
			return ST_LEAK_R_TRUNCATED;
		*s = p->l4 + 8;
		*e = p->l4 + rw_rd16(l4 + 4);   /* 8..datagram, checked by the IP layer */
		if (*e < *s || *e > p->dend)
			return ST_LEAK_R_MALFORMED;
		return -1;
	}
	if (p->l4 + 20 > c->seg)
		return ST_LEAK_R_TRUNCATED;
	*s = p->l4 + (uint32_t)(l4[12] >> 4) * 4;
	*e = p->dend;
	if ((l4[12] >> 4) < 5 || *s > *e)
		return ST_LEAK_R_MALFORMED;
	return -1;
}

/* DNS, mDNS, LLMNR: -1 translatable (edits in ed), else a reason. */
static int rw_pl_dns(const struct rw_ctx *c, const struct rw_pl *p,
		     struct rw_dns_edits *ed)
{
	uint32_t s, e;
	int r = rw_pl_dns_span(c, p, &s, &e);

	ed->n = 0;
	if (r >= 0)
		return r;
	return st_rw_dns_check(c, s, e, p->proto == IPPROTO_TCP, ed);
}

int st_rw_payload_check(const struct rw_ctx *c, struct rw_pl *p)
{
	const struct st_rewrite_tables *t = c->t;
	int k;

	p->kind = -1;
	p->go = 0;
	if (!t->payloads || (k = rw_pl_kind(c, p)) < 0)
		return 0;
	p->kind = (int8_t)k;
	switch (st_leak_action(t->leak, (enum st_leak_kind)k)) {
	case ST_LEAK_DROP:
		st_leak_policy(t->leak, &c->res->leak, (enum st_leak_kind)k);
		c->res->drop = ST_DROP_LEAK;
		return 1;
	case ST_LEAK_PASS:
		st_leak_policy(t->leak, &c->res->leak, (enum st_leak_kind)k);
		return 0;
	default:
		break;
	}
	if (p->frag)
		return rw_leak(c, (enum st_leak_kind)k, ST_LEAK_R_UNSUPPORTED);
	switch (k) {
	case ST_LEAK_BGP: {
		uint8_t why = 0;
		enum rw_cp r;

		/* a TCP header the snaplen cut holds no payload byte */
		if (p->l4 + 20 > c->seg)
			return 0;
		/* (why is read after the call: argument order is unspecified) */
		r = st_rw_bgp(c, p->l3, p->v6, p->l4, p->dend, 0, NULL, &why);
		return rw_pl_rt(c, p, r, why);
	}
	case ST_LEAK_OSPF: {
		uint8_t why = 0;
		enum rw_cp r = p->v6 ? st_rw_ospf3(c, p->l4, p->dend, 0, NULL, &why)
				     : st_rw_ospf2(c, p->l4, p->dend, 0, &why);

		return rw_pl_rt(c, p, r, why);
	}
	case ST_LEAK_DNS:
	case ST_LEAK_MDNS:
	case ST_LEAK_LLMNR: {
		struct rw_dns_edits ed;
		int r;

		/* over TCP with the worker's flow state: messages across
		 * segments (rewrite_rt.h); without it, whole messages only */
		if (p->proto == IPPROTO_TCP && c->rt != NULL) {
			uint8_t why = 0;
			enum rw_cp v;

			if (p->l4 + 20 > c->seg)
				return rw_leak(c, (enum st_leak_kind)k, ST_LEAK_R_TRUNCATED);
			v = st_rw_dns_tcp(c, p->l3, p->v6, p->l4, p->dend, 0, NULL, &why);
			return rw_pl_rt(c, p, v, why);
		}
		r = rw_pl_dns(c, p, &ed);

		if (r >= 0)
			return rw_leak(c, (enum st_leak_kind)k, (enum st_leak_reason)r);
		p->go = ed.n != 0;
		return 0;
	}
	case ST_LEAK_TUNNEL: {
		int r = st_rw_tun_check(c, p);

		if (r == -2)
			return 1;
		if (r >= 0)
			return rw_leak(c, ST_LEAK_TUNNEL, (enum st_leak_reason)r);
		p->go = 1;
		return 0;
	}
	default:
		return 0;
	}
}

void st_rw_payload_commit(const struct rw_ctx *c, struct rw_pl *p,
			  uint32_t *delta)
{
	uint8_t why;

	if (!p->go)
		return;
	switch (p->kind) {
	case ST_LEAK_BGP:
		st_rw_bgp(c, p->l3, p->v6, p->l4, p->dend, 1, delta, &why);
		break;
	case ST_LEAK_OSPF:
		/* OSPFv2's checksum does not cover the IP header: fixed in
		 * place; OSPFv3's delta joins the pseudo-header fix */
		if (p->v6)
			st_rw_ospf3(c, p->l4, p->dend, 1, delta, &why);
		else
			st_rw_ospf2(c, p->l4, p->dend, 1, &why);
		break;
	case ST_LEAK_DNS:
	case ST_LEAK_MDNS:
	case ST_LEAK_LLMNR: {
		/* the payload is as check saw it: the same edits again */
		struct rw_dns_edits ed;

		if (p->proto == IPPROTO_TCP && c->rt != NULL) {
			st_rw_dns_tcp(c, p->l3, p->v6, p->l4, p->dend, 1, delta, &why);
			break;
		}
		if (rw_pl_dns(c, p, &ed) < 0)
			st_rw_dns_commit(c, &ed, delta);
		break;
	}
	case ST_LEAK_TUNNEL:
		st_rw_tun_commit(c, p, delta);
		break;
	default:
		break;
	}
}
