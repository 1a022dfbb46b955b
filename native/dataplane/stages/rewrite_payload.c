/* SPDX-License-Identifier: BSD-3-Clause
 * Which leak-policy payload a transport carries, and the policy's action on
 * it (rewrite_payload.h, section 9).
 */
#include <netinet/in.h>

#include "rewrite_payload.h"
#include "rewrite_rt.h"

/* The kind a transport payload is, -1 for none. Ports are read only when
 * the transport header is in the first segment (the IP layer has checked
 * it against the datagram). */
static int rw_pl_kind(const struct rw_ctx *c, const struct rw_pl *p)
{
	const uint8_t *l4 = c->f + p->l4;

	if (p->proto == IPPROTO_TCP && p->l4 + 4 <= c->seg &&
	    (rw_rd16(l4) == 179 || rw_rd16(l4 + 2) == 179))
		return ST_LEAK_BGP;
	if (p->proto == 89)
		return ST_LEAK_OSPF;
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
	default:
		break;
	}
}
