/* SPDX-License-Identifier: BSD-3-Clause
 * Which leak-policy payload a transport carries, and the policy's action on
 * it (rewrite_payload.h, section 9).
 */
#include <netinet/in.h>

#include "rewrite_payload.h"

/* The kind a transport payload is, -1 for none. Ports are read only when
 * the transport header is in the first segment (the IP layer has checked
 * it against the datagram). */
static int rw_pl_kind(const struct rw_ctx *c, const struct rw_pl *p)
{
	(void)c;
	(void)p;
	return -1;
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
	default:
		return 0;
	}
}

void st_rw_payload_commit(const struct rw_ctx *c, struct rw_pl *p,
			  uint32_t *delta)
{
	if (!p->go)
		return;
	(void)c;
	(void)delta;
}
