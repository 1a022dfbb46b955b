/* SPDX-License-Identifier: BSD-3-Clause
 * net_shadowsim's fast path: parse a frame, find the first matching rule per
 * group, execute its compiled instructions, and say where every packet
 * (original and copies) goes.
 *
 * Order of the domains, as on an mlx5 E-Switch: a frame from the wire meets
 * the transfer (E-Switch) rules first; unless they forward or drop it, it
 * goes on to the port's ingress (NIC Rx) rules; a miss lands on rx queue 0
 * (or is spread by RSS when the port was configured with RSS). Frames the
 * application transmits meet the egress (NIC Tx) rules.
 *
 * SAMPLE follows the profile's mirror-with-modify semantics. For mlx5
 * (split-around-sample) a rewrite placed before SAMPLE changes the original
 * and the copy, one placed after changes only the original: exactly what the
 * hardware does after the PMD splits the rule, so a plan that rewrites
 * before SAMPLE shows up as altered production traffic.
 *
 * The rewrites themselves (incremental checksums, RFC 1624, as a NIC does
 * them; encapsulation headers with their lengths and IPv4 checksum filled
 * in) are sim_rewrite.c's.
 */
#include <string.h>

#include <ethdev_driver.h>

#include "sim.h"
#include "sim_node.h"

/* ---- parsing -------------------------------------------------------------- */

static void parse_level(const uint8_t *d, uint16_t len, uint16_t off, struct st_sim_level *l, bool outer)
{
	uint16_t type;

	memset(l, 0, sizeof(*l));
	if ((uint32_t)off + 14 > len)
		return;
	l->eth = true;
	l->eth_off = off;
	type = be16at(d + off + 12);
	off += 14;
	while (type == RTE_ETHER_TYPE_VLAN || type == RTE_ETHER_TYPE_QINQ) {
		if ((uint32_t)off + 4 > len)
			return;
		if (l->nvlan < 2)
			l->tci_off[l->nvlan++] = off;
		type = be16at(d + off + 2);
		off += 4;
	}
	if (type == RTE_ETHER_TYPE_IPV4) {
		uint16_t ihl;

		if ((uint32_t)off + 20 > len || (d[off] >> 4) != 4)
			return;
		ihl = (uint16_t)((d[off] & 0x0f) * 4);
		if (ihl < 20 || (uint32_t)off + ihl > len)
			return;
		l->l3 = 4;
		l->l3_off = off;
		if (be16at(d + off + 6) & 0x1fff)
			return; /* a later fragment carries no L4 header */
		l->l4 = d[off + 9];
		l->l4_off = off + ihl;
	} else if (type == RTE_ETHER_TYPE_IPV6) {
		uint8_t nh;
		uint16_t p;

		if ((uint32_t)off + 40 > len || (d[off] >> 4) != 6)
			return;
		l->l3 = 6;
		l->l3_off = off;
		nh = d[off + 6];
		p = off + 40;
		for (int guard = 0; guard < 8; guard++) {
			if (nh == IPPROTO_HOPOPTS || nh == IPPROTO_ROUTING || nh == IPPROTO_DSTOPTS) {
				if ((uint32_t)p + 8 > len)
					return;
				nh = d[p];
				p = (uint16_t)(p + (d[p + 1] + 1) * 8);
			} else if (nh == IPPROTO_FRAGMENT) {
				if ((uint32_t)p + 8 > len)
					return;
				if (be16at(d + p + 2) & 0xfff8)
					return;
				nh = d[p];
				p += 8;
			} else {
				break;
			}
		}
		l->l4 = nh;
		l->l4_off = p;
	} else {
		return;
	}
	{
		uint16_t need = 0;

		switch (l->l4) {
		case IPPROTO_TCP:
			need = 20;
			break;
		case IPPROTO_UDP:
			need = 8;
			break;
		case IPPROTO_SCTP:
			need = 12;
			break;
		case IPPROTO_ICMP:
			need = 8;
			break;
		case IPPROTO_ICMPV6:
			need = 4;
			break;
		default:
			break;
		}
		if (need == 0 || (uint32_t)l->l4_off + need > len) {
			l->l4 = 0;
			return;
		}
	}
	if (outer && l->l4 == IPPROTO_UDP && be16at(d + l->l4_off + 2) == RTE_VXLAN_DEFAULT_PORT &&
	    (uint32_t)l->l4_off + 8 + 8 + 14 <= len) {
		l->vxlan = true;
		l->tun_off = l->l4_off + 8;
	}
}

void st_sim_parse(const struct rte_mbuf *m, struct st_sim_layers *L)
{
	const uint8_t *d = rte_pktmbuf_mtod(m, const uint8_t *);

	L->len = m->data_len;
	parse_level(d, L->len, 0, &L->lv[0], true);
	if (L->lv[0].vxlan)
		parse_level(d, L->len, L->lv[0].tun_off + 8, &L->lv[1], false);
	else
		memset(&L->lv[1], 0, sizeof(L->lv[1]));
}

/* ---- matching ------------------------------------------------------------- */

static inline bool cmp_masked(const uint8_t *d, const struct st_sim_match *m)
{
	for (unsigned int i = 0; i < m->len; i++)
		if ((d[i] & m->mask[i]) != m->spec[i])
			return false;
	return true;
}

static bool match_rule(const struct st_sim_rule *r, const struct rte_mbuf *mb, const struct st_sim_layers *L, uint16_t src_port)
{
	const uint8_t *d = rte_pktmbuf_mtod(mb, const uint8_t *);
	int lv = 0, vlan_k = 0;

	for (uint16_t i = 0; i < r->nmatch; i++) {
		const struct st_sim_match *m = &r->match[i];
		const struct st_sim_level *l = &L->lv[lv];

		switch (m->type) {
		case RTE_FLOW_ITEM_TYPE_ETH:
			if (!l->eth || !cmp_masked(d + l->eth_off, m))
				return false;
			if (m->want_vlan && (l->nvlan > 0) != m->has_vlan)
				return false;
			break;
		case RTE_FLOW_ITEM_TYPE_VLAN:
			if (vlan_k >= l->nvlan || !cmp_masked(d + l->tci_off[vlan_k], m))
				return false;
			vlan_k++;
			break;
		case RTE_FLOW_ITEM_TYPE_IPV4:
			if (l->l3 != 4 || !cmp_masked(d + l->l3_off, m))
				return false;
			break;
		case RTE_FLOW_ITEM_TYPE_IPV6:
			if (l->l3 != 6 || !cmp_masked(d + l->l3_off, m))
				return false;
			break;
		case RTE_FLOW_ITEM_TYPE_TCP:
			if (l->l4 != IPPROTO_TCP || !cmp_masked(d + l->l4_off, m))
				return false;
			break;
		case RTE_FLOW_ITEM_TYPE_UDP:
			if (l->l4 != IPPROTO_UDP || !cmp_masked(d + l->l4_off, m))
				return false;
			break;
		case RTE_FLOW_ITEM_TYPE_SCTP:
			if (l->l4 != IPPROTO_SCTP || !cmp_masked(d + l->l4_off, m))
				return false;
			break;
		case RTE_FLOW_ITEM_TYPE_ICMP:
			if (l->l3 != 4 || l->l4 != IPPROTO_ICMP || !cmp_masked(d + l->l4_off, m))
				return false;
			break;
		case RTE_FLOW_ITEM_TYPE_ICMP6:
			if (l->l3 != 6 || l->l4 != IPPROTO_ICMPV6 || !cmp_masked(d + l->l4_off, m))
				return false;
			break;
		case RTE_FLOW_ITEM_TYPE_VXLAN:
			if (lv != 0 || !l->vxlan || !cmp_masked(d + l->tun_off, m))
				return false;
			lv = 1;
			vlan_k = 0;
			break;
		case RTE_FLOW_ITEM_TYPE_MARK:
			if (!(mb->ol_flags & RTE_MBUF_F_RX_FDIR_ID) || (mb->hash.fdir.hi & m->value_mask) != m->value)
				return false;
			break;
		case RTE_FLOW_ITEM_TYPE_PORT_ID:
		case RTE_FLOW_ITEM_TYPE_REPRESENTED_PORT:
			if ((src_port & m->value_mask) != m->value)
				return false;
			break;
		default:
			return false;
		}
	}
	return true;
}

static const uint16_t all_queues[ST_SIM_MAX_QUEUES] = { 0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15 };
static const uint8_t default_key[40] = { 0x6d, 0x5a, 0x56, 0xda, 0x25, 0x5b, 0x0e, 0xc2, 0x41, 0x67,
					 0x25, 0x3d, 0x43, 0xa3, 0x8f, 0xb0, 0xd0, 0xca, 0x2b, 0xcb,
					 0xae, 0x7b, 0x30, 0xb4, 0x77, 0xcb, 0x2d, 0xa3, 0x80, 0x30,
					 0xf2, 0x0c, 0x6a, 0x42, 0xb7, 0x3b, 0xbe, 0xac, 0x01, 0xfa };

/* ---- rule execution ------------------------------------------------------- */

enum fate { F_NONE, F_DROP, F_QUEUE, F_PORT, F_JUMP, F_PASSTHRU, F_GONE };

struct outcome {
	enum fate fate;
	uint16_t arg;           /* queue or port */
	uint32_t group;
};

/* A copy made by SAMPLE, waiting to be sent once the original has been placed. */
struct pending {
	struct rte_mbuf *m;
	enum st_sim_domain domain;
	enum st_sim_dest_kind kind;
	uint16_t arg;
	bool to_self;           /* transfer copy with no port (or this port): to this port's NIC Rx */
};

#define MAX_PENDING 8

struct run {
	struct st_sim_exec *x;
	struct st_sim_batch *b;
	struct pending pend[MAX_PENDING];
	unsigned int npend;
};

static void emit(struct st_sim_dev *sd, struct st_sim_batch *b, struct rte_mbuf *m, enum st_sim_dest_kind kind,
		 uint16_t arg)
{
	if (kind == ST_SIM_TO_DROP || b->n == ST_SIM_BATCH) {
		rte_pktmbuf_free(m);
		if (kind != ST_SIM_TO_DROP)
			sd->xs.queue_full++;
		return;
	}
	b->o[b->n].m = m;
	b->o[b->n].kind = kind;
	b->o[b->n].arg = arg;
	b->n++;
}

/* Executes the copy's actions and queues the copy. */
static void finish_copy(struct run *run, const struct st_sim_rule *r, const struct st_sim_op *sample, struct rte_mbuf *c)
{
	struct st_sim_dev *sd = run->x->sd;
	struct pending p = { .domain = r->domain, .kind = ST_SIM_TO_DROP };
	bool dest = false;

	for (uint16_t i = 0; i < sample->u.sample.nsub && c != NULL; i++) {
		const struct st_sim_op *op = &sample->u.sample.sub[i];

		switch (op->kind) {
		case ST_SIM_OP_COUNT:
			st_sim_count(op->counter, c);
			break;
		case ST_SIM_OP_MARK:
			st_sim_mark(c, op->u.mark, true);
			break;
		case ST_SIM_OP_FLAG:
			st_sim_mark(c, 0, false);
			break;
		case ST_SIM_OP_QUEUE:
			p.kind = ST_SIM_TO_QUEUE;
			p.arg = op->u.queue;
			dest = true;
			break;
		case ST_SIM_OP_RSS:
			p.kind = ST_SIM_TO_QUEUE;
			p.arg = st_sim_rss_queue(c, op->u.rss.key, op->u.rss.queue, op->u.rss.n);
			dest = true;
			break;
		case ST_SIM_OP_PORT:
			p.kind = ST_SIM_TO_PORT;
			p.arg = op->u.port;
			dest = true;
			break;
		default:
			c = st_sim_apply(run->x, op, c);
			break;
		}
	}
	if (c == NULL)
		return;
	sd->xs.sample_copies++;
	if (!dest) {
		/* no destination: a transfer copy goes to this port's NIC Rx (the E-Switch
		 * manager), an egress copy to the wire, an ingress copy to queue 0 */
		if (r->domain == ST_SIM_TRANSFER)
			p.to_self = true;
		else if (r->domain == ST_SIM_EGRESS)
			p.kind = ST_SIM_TO_WIRE;
		else
			p.kind = ST_SIM_TO_QUEUE;
	}
	if (p.kind == ST_SIM_TO_PORT && p.arg == sd->port_id && r->domain == ST_SIM_TRANSFER)
		p.to_self = true;
	p.m = c;
	if (run->npend == MAX_PENDING) {
		rte_pktmbuf_free(c);
		sd->xs.queue_full++;
		return;
	}
	run->pend[run->npend++] = p;
}

static struct rte_mbuf *modify_both(struct st_sim_exec *x, const struct st_sim_op *op, struct rte_mbuf **a, struct rte_mbuf *b,
				    bool do_a, bool do_b)
{
	if (do_a && *a != NULL)
		*a = st_sim_apply(x, op, *a);
	if (do_b && b != NULL)
		b = st_sim_apply(x, op, b);
	return b;
}

static struct outcome exec_rule(struct run *run, struct st_sim_rule *r, struct rte_mbuf **pm)
{
	struct st_sim_exec *x = run->x;
	const struct st_sim_profile *p = &x->sd->profile;
	struct outcome out = { .fate = F_NONE };
	struct rte_mbuf *m = *pm;
	struct rte_mbuf *base = NULL;   /* what the copy will be made from, when not the original */
	struct rte_mbuf *copy = NULL;
	const struct st_sim_op *sample = NULL;
	bool after = false;
	enum st_sim_targets before_t = p->before_sample == ST_SIM_TGT_UNSET ? ST_SIM_TGT_BOTH : p->before_sample;
	enum st_sim_targets after_t = p->after_sample == ST_SIM_TGT_UNSET ? ST_SIM_TGT_ORIGINAL : p->after_sample;

	/* a copy that must not see the rewrites before SAMPLE is taken from the frame as it arrived */
	if (r->has_sample && before_t != ST_SIM_TGT_BOTH)
		base = rte_pktmbuf_copy(m, x->pool, 0, UINT32_MAX);

	for (uint16_t i = 0; i < r->nops && m != NULL; i++) {
		const struct st_sim_op *op = &r->ops[i];

		if (op->modifies) {
			if (!r->has_sample) {
				m = st_sim_apply(x, op, m);
			} else if (!after) {
				base = modify_both(x, op, &m, base, before_t != ST_SIM_TGT_COPY, before_t != ST_SIM_TGT_ORIGINAL);
			} else {
				copy = modify_both(x, op, &m, copy, after_t != ST_SIM_TGT_COPY, after_t != ST_SIM_TGT_ORIGINAL);
			}
			continue;
		}
		switch (op->kind) {
		case ST_SIM_OP_COUNT:
			st_sim_count(op->counter, m);
			break;
		case ST_SIM_OP_MARK:
			st_sim_mark(m, op->u.mark, true);
			break;
		case ST_SIM_OP_FLAG:
			st_sim_mark(m, 0, false);
			break;
		case ST_SIM_OP_SAMPLE: {
			uint64_t n = __atomic_fetch_add(&((struct st_sim_op *)(uintptr_t)op)->u.sample.seen, 1,
							__ATOMIC_RELAXED);

			after = true;
			sample = op;
			if (n % op->u.sample.ratio == 0) {
				copy = base != NULL ? base : rte_pktmbuf_copy(m, x->pool, 0, UINT32_MAX);
				base = NULL;
			} else if (base != NULL) {
				rte_pktmbuf_free(base);
				base = NULL;
			}
			break;
		}
		case ST_SIM_OP_DROP:
			out.fate = F_DROP;
			break;
		case ST_SIM_OP_PASSTHRU:
			out.fate = F_PASSTHRU;
			break;
		case ST_SIM_OP_QUEUE:
			out.fate = F_QUEUE;
			out.arg = op->u.queue;
			break;
		case ST_SIM_OP_RSS:
			out.fate = F_QUEUE;
			out.arg = st_sim_rss_queue(m, op->u.rss.key, op->u.rss.queue, op->u.rss.n);
			break;
		case ST_SIM_OP_PORT:
			out.fate = F_PORT;
			out.arg = op->u.port;
			break;
		case ST_SIM_OP_JUMP:
			out.fate = F_JUMP;
			out.group = op->u.group;
			break;
		default:
			break;
		}
	}
	if (base != NULL)
		rte_pktmbuf_free(base);
	if (copy != NULL && sample != NULL)
		finish_copy(run, r, sample, copy);
	else if (copy != NULL)
		rte_pktmbuf_free(copy);
	*pm = m;
	if (m == NULL)
		out.fate = F_GONE;
	return out;
}

/* Runs one domain's rules on a packet: first match per group, JUMP to another group. */
static struct outcome run_domain(struct run *run, enum st_sim_domain dom, struct rte_mbuf **pm)
{
	struct st_sim_dev *sd = run->x->sd;
	struct outcome out = { .fate = F_NONE };
	uint32_t group = 0;
	int jumps = 0;
	struct st_sim_rule *r;
	struct st_sim_layers L;

	if (__atomic_load_n(&sd->nrules_domain[dom], __ATOMIC_RELAXED) == 0)
		return out;
restart:
	st_sim_parse(*pm, &L);
	TAILQ_FOREACH(r, &sd->rules, next) {
		if (r->domain != dom || r->group != group)
			continue;
		if (!match_rule(r, *pm, &L, run->x->src_port))
			continue;
		out = exec_rule(run, r, pm);
		switch (out.fate) {
		case F_PASSTHRU:
			/* on to the next rule of the group, with what this one changed */
			st_sim_parse(*pm, &L);
			out.fate = F_NONE;
			continue;
		case F_JUMP:
			if (++jumps > ST_SIM_MAX_JUMPS) {
				out.fate = F_DROP;
				return out;
			}
			group = out.group;
			out.fate = F_NONE;
			goto restart;
		default:
			return out;
		}
	}
	return out;
}

static uint16_t default_queue(struct st_sim_dev *sd, struct rte_mbuf *m)
{
	uint16_t n = sd->eth->data->nb_rx_queues;

	if (sd->rss_default && n > 1)
		return st_sim_rss_queue(m, default_key, all_queues, n > ST_SIM_MAX_QUEUES ? ST_SIM_MAX_QUEUES : n);
	return 0;
}

/* NIC Rx of this port. */
static void nic_rx(struct run *run, struct rte_mbuf *m)
{
	struct st_sim_dev *sd = run->x->sd;
	struct outcome o = run_domain(run, ST_SIM_INGRESS, &m);

	switch (o.fate) {
	case F_GONE:
		return;
	case F_DROP:
		sd->xs.rule_drops++;
		rte_pktmbuf_free(m);
		return;
	case F_QUEUE:
		emit(sd, run->b, m, ST_SIM_TO_QUEUE, o.arg);
		return;
	default:
		emit(sd, run->b, m, ST_SIM_TO_QUEUE, default_queue(sd, m));
		return;
	}
}

static void flush_pending(struct run *run)
{
	struct st_sim_dev *sd = run->x->sd;

	/* copies sent to this port's NIC Rx meet the ingress rules, and may add copies of their own */
	for (unsigned int i = 0; i < run->npend; i++) {
		struct pending p = run->pend[i];

		if (p.to_self) {
			nic_rx(run, p.m);
		} else {
			if (p.kind == ST_SIM_TO_PORT)
				sd->xs.port_tx++;
			emit(sd, run->b, p.m, p.kind, p.arg);
		}
	}
	run->npend = 0;
}

void st_sim_from_wire(struct st_sim_dev *sd, struct rte_mbuf *m, struct rte_mempool *pool, struct st_sim_batch *b)
{
	struct st_sim_exec x = { .sd = sd, .pool = pool, .src_port = sd->port_id };
	struct run run = { .x = &x, .b = b, .npend = 0 };
	struct outcome o;

	m->port = sd->port_id;
	m->ol_flags &= ~(RTE_MBUF_F_RX_FDIR | RTE_MBUF_F_RX_FDIR_ID | RTE_MBUF_F_RX_RSS_HASH);
	o = run_domain(&run, ST_SIM_TRANSFER, &m);
	switch (o.fate) {
	case F_GONE:
		break;
	case F_DROP:
		sd->xs.rule_drops++;
		rte_pktmbuf_free(m);
		break;
	case F_PORT:
		if (o.arg != sd->port_id) {
			sd->xs.port_tx++;
			emit(sd, b, m, ST_SIM_TO_PORT, o.arg);
		} else {
			nic_rx(&run, m); /* this port's own NIC Rx */
		}
		break;
	default:
		nic_rx(&run, m);
		break;
	}
	flush_pending(&run);
}

void st_sim_from_host(struct st_sim_dev *sd, struct rte_mbuf *m, struct rte_mempool *pool, struct st_sim_batch *b)
{
	struct st_sim_exec x = { .sd = sd, .pool = pool, .src_port = sd->port_id };
	struct run run = { .x = &x, .b = b, .npend = 0 };
	struct outcome o = run_domain(&run, ST_SIM_EGRESS, &m);

	switch (o.fate) {
	case F_GONE:
		break;
	case F_DROP:
		sd->xs.rule_drops++;
		rte_pktmbuf_free(m);
		break;
	default:
		emit(sd, b, m, ST_SIM_TO_WIRE, 0);
		break;
	}
	flush_pending(&run);
}

/* ---- delivery (rules lock released) --------------------------------------- */

static bool port_can_take(uint16_t port)
{
	const struct rte_eth_dev *dev;

	if (!rte_eth_dev_is_valid_port(port))
		return false;
	dev = &rte_eth_devices[port];
	return dev->data->dev_started && dev->data->nb_tx_queues > 0 && dev->data->tx_queues != NULL &&
	       dev->data->tx_queues[0] != NULL;
}

void st_sim_deliver(struct st_sim_dev *sd, struct st_sim_batch *b)
{
	unsigned int i = 0;

	while (i < b->n) {
		struct st_sim_out *o = &b->o[i];
		unsigned int j = i + 1;

		/* runs of packets to the same place go out in one burst */
		while (j < b->n && b->o[j].kind == o->kind && b->o[j].arg == o->arg)
			j++;
		switch (o->kind) {
		case ST_SIM_TO_QUEUE:
			for (unsigned int k = i; k < j; k++) {
				struct st_sim_rxq *q = o->arg < ST_SIM_MAX_QUEUES ? &sd->rxq[o->arg] : NULL;

				if (q == NULL || q->ring == NULL || rte_ring_enqueue(q->ring, b->o[k].m) != 0) {
					rte_pktmbuf_free(b->o[k].m);
					if (q != NULL)
						__atomic_fetch_add(&q->missed, 1, __ATOMIC_RELAXED);
					sd->xs.queue_full++;
				}
			}
			break;
		case ST_SIM_TO_WIRE: {
			struct rte_mbuf *pk[64];

			for (unsigned int k = i; k < j;) {
				uint16_t n = 0;

				while (k < j && n < RTE_DIM(pk))
					pk[n++] = b->o[k++].m;
				st_sim_output(sd, pk, n);
			}
			break;
		}
		case ST_SIM_TO_PORT: {
			struct rte_mbuf *pk[64];

			for (unsigned int k = i; k < j;) {
				uint16_t n = 0, sent = 0;

				while (k < j && n < RTE_DIM(pk))
					pk[n++] = b->o[k++].m;
				if (port_can_take(o->arg))
					sent = rte_eth_tx_burst(o->arg, 0, pk, n);
				for (uint16_t s = sent; s < n; s++)
					rte_pktmbuf_free(pk[s]);
				sd->xs.port_tx_failed += (uint64_t)(n - sent);
			}
			break;
		}
		default:
			for (unsigned int k = i; k < j; k++)
				rte_pktmbuf_free(b->o[k].m);
			break;
		}
		i = j;
	}
	b->n = 0;
}
