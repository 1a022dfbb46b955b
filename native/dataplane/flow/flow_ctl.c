/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * rte_flow programming from struct st_flow_rule (flow.h): builds the
 * rte_flow item/action arrays, calls validate/create/destroy/flush/query and
 * keeps a deep copy of every installed rule under an id. Called from libuv
 * threads (the binding's AsyncWorkers), so the table is under a mutex;
 * ethdev serialises the flow ops of PMDs that are not thread safe.
 */
#include <ctype.h>
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <rte_byteorder.h>
#include <rte_errno.h>
#include <rte_ethdev.h>
#include <rte_flow.h>

#include "flow.h"

/* Everything one rte_flow call points into, kept on the stack of the call. */
struct built {
	struct rte_flow_attr attr;
	struct rte_flow_item items[ST_FLOW_MAX_ITEMS + 1];
	struct rte_flow_action actions[ST_FLOW_MAX_ACTIONS + 1];
	struct rte_flow_action sub[ST_FLOW_MAX_SUB + ST_FLOW_MAX_ACTIONS];
	struct rte_flow_item encap_items[ST_FLOW_MAX_ITEMS + ST_FLOW_MAX_ACTIONS];
	union hdr {
		struct rte_flow_item_eth eth;
		struct rte_flow_item_vlan vlan;
		struct rte_flow_item_ipv4 ipv4;
		struct rte_flow_item_ipv6 ipv6;
		struct rte_flow_item_udp udp;
		struct rte_flow_item_tcp tcp;
		struct rte_flow_item_icmp icmp;
		struct rte_flow_item_icmp6 icmp6;
		struct rte_flow_item_vxlan vxlan;
		struct rte_flow_item_geneve geneve;
		struct rte_flow_item_mark mark;
		struct rte_flow_item_port_id port_id;
		struct rte_flow_item_ethdev ethdev;
	} spec[ST_FLOW_MAX_ITEMS * 2], mask[ST_FLOW_MAX_ITEMS * 2];
	union conf {
		struct rte_flow_action_mark mark;
		struct rte_flow_action_queue queue;
		struct rte_flow_action_rss rss;
		struct rte_flow_action_jump jump;
		struct rte_flow_action_sample sample;
		struct rte_flow_action_port_id port_id;
		struct rte_flow_action_ethdev ethdev;
		struct rte_flow_action_set_ipv4 ipv4;
		struct rte_flow_action_set_ipv6 ipv6;
		struct rte_flow_action_set_mac mac;
		struct rte_flow_action_of_push_vlan push;
		struct rte_flow_action_of_set_vlan_vid vid;
		struct rte_flow_action_of_set_vlan_pcp pcp;
		struct rte_flow_action_vxlan_encap vxlan;
	} conf[ST_FLOW_MAX_ACTIONS + ST_FLOW_MAX_SUB];
	uint16_t queues[ST_FLOW_MAX_ACTIONS + ST_FLOW_MAX_SUB][RTE_MAX_QUEUES_PER_PORT > 64 ? 64 : RTE_MAX_QUEUES_PER_PORT];
	unsigned int nspec, nconf, nsub, nencap;
};

struct kept {
	struct rte_flow *flow;
	uint32_t id;
	struct st_flow_rule rule;
};

static pthread_mutex_t table_lock = PTHREAD_MUTEX_INITIALIZER;
static struct kept *table[ST_FLOW_MAX_INSTALLED];
static uint32_t next_id = 1;

static void fill_header(uint8_t type, const struct st_flow_fields *f, union hdr *h, enum rte_flow_item_type *out)
{
	memset(h, 0, sizeof(*h));
	switch (type) {
	case ST_FI_ETH:
		*out = RTE_FLOW_ITEM_TYPE_ETH;
		memcpy(h->eth.hdr.dst_addr.addr_bytes, f->mac_dst, 6);
		memcpy(h->eth.hdr.src_addr.addr_bytes, f->mac_src, 6);
		h->eth.hdr.ether_type = rte_cpu_to_be_16(f->eth_type);
		break;
	case ST_FI_VLAN:
		*out = RTE_FLOW_ITEM_TYPE_VLAN;
		h->vlan.hdr.vlan_tci = rte_cpu_to_be_16(f->vlan_tci);
		h->vlan.hdr.eth_proto = rte_cpu_to_be_16(f->inner_type);
		break;
	case ST_FI_IPV4:
		*out = RTE_FLOW_ITEM_TYPE_IPV4;
		memcpy(&h->ipv4.hdr.src_addr, f->ip_src, 4);
		memcpy(&h->ipv4.hdr.dst_addr, f->ip_dst, 4);
		h->ipv4.hdr.next_proto_id = f->proto;
		h->ipv4.hdr.type_of_service = f->tos;
		h->ipv4.hdr.time_to_live = f->ttl;
		break;
	case ST_FI_IPV6:
		*out = RTE_FLOW_ITEM_TYPE_IPV6;
		memcpy(h->ipv6.hdr.src_addr, f->ip_src, 16);
		memcpy(h->ipv6.hdr.dst_addr, f->ip_dst, 16);
		h->ipv6.hdr.proto = f->proto;
		h->ipv6.hdr.hop_limits = f->ttl;
		h->ipv6.hdr.vtc_flow = rte_cpu_to_be_32((uint32_t)f->tos << 20);
		break;
	case ST_FI_UDP:
		*out = RTE_FLOW_ITEM_TYPE_UDP;
		h->udp.hdr.src_port = rte_cpu_to_be_16(f->l4_src);
		h->udp.hdr.dst_port = rte_cpu_to_be_16(f->l4_dst);
		break;
	case ST_FI_TCP:
		*out = RTE_FLOW_ITEM_TYPE_TCP;
		h->tcp.hdr.src_port = rte_cpu_to_be_16(f->l4_src);
		h->tcp.hdr.dst_port = rte_cpu_to_be_16(f->l4_dst);
		h->tcp.hdr.tcp_flags = f->tcp_flags;
		break;
	case ST_FI_ICMP:
		*out = RTE_FLOW_ITEM_TYPE_ICMP;
		h->icmp.hdr.icmp_type = f->icmp_type;
		h->icmp.hdr.icmp_code = f->icmp_code;
		break;
	case ST_FI_ICMP6:
		*out = RTE_FLOW_ITEM_TYPE_ICMP6;
		h->icmp6.type = f->icmp_type;
		h->icmp6.code = f->icmp_code;
		break;
	case ST_FI_VXLAN:
		*out = RTE_FLOW_ITEM_TYPE_VXLAN;
		h->vxlan.vni[0] = (uint8_t)(f->vni >> 16);
		h->vxlan.vni[1] = (uint8_t)(f->vni >> 8);
		h->vxlan.vni[2] = (uint8_t)f->vni;
		break;
	case ST_FI_GENEVE:
		*out = RTE_FLOW_ITEM_TYPE_GENEVE;
		h->geneve.vni[0] = (uint8_t)(f->vni >> 16);
		h->geneve.vni[1] = (uint8_t)(f->vni >> 8);
		h->geneve.vni[2] = (uint8_t)f->vni;
		h->geneve.protocol = rte_cpu_to_be_16(f->geneve_proto);
		break;
	case ST_FI_MARK:
		*out = RTE_FLOW_ITEM_TYPE_MARK;
		h->mark.id = f->id;
		break;
	case ST_FI_PORT_ID:
		*out = RTE_FLOW_ITEM_TYPE_PORT_ID;
		h->port_id.id = f->id;
		break;
	case ST_FI_REPRESENTED_PORT:
		*out = RTE_FLOW_ITEM_TYPE_REPRESENTED_PORT;
		h->ethdev.port_id = (uint16_t)f->id;
		break;
	default:
		*out = RTE_FLOW_ITEM_TYPE_VOID;
		break;
	}
}

/* Items of one list into out[] (END-terminated); -EINVAL on an unknown type. */
static int build_items(struct built *b, const struct st_flow_item *in, unsigned int n, struct rte_flow_item *out,
		       int with_mask)
{
	unsigned int i;

	for (i = 0; i < n && in[i].type != ST_FI_END; i++) {
		enum rte_flow_item_type t;

		if (in[i].type > ST_FI_REPRESENTED_PORT)
			return -EINVAL;
		memset(&out[i], 0, sizeof(out[i]));
		if (in[i].has_spec) {
			if (b->nspec >= RTE_DIM(b->spec))
				return -E2BIG;
			fill_header(in[i].type, &in[i].spec, &b->spec[b->nspec], &t);
			out[i].spec = &b->spec[b->nspec];
			if (with_mask) {
				fill_header(in[i].type, &in[i].mask, &b->mask[b->nspec], &t);
				out[i].mask = &b->mask[b->nspec];
			}
			b->nspec++;
		} else {
			/* Any header of this type: only the type is wanted. */
			struct st_flow_fields none;
			union hdr scratch;

			memset(&none, 0, sizeof(none));
			fill_header(in[i].type, &none, &scratch, &t);
		}
		out[i].type = t;
	}
	memset(&out[i], 0, sizeof(out[i]));
	out[i].type = RTE_FLOW_ITEM_TYPE_END;
	return 0;
}

static int build_actions(struct built *b, const struct st_flow_rule *r, const struct st_flow_action *in,
			 unsigned int n, struct rte_flow_action *out, int nested);

static int build_one(struct built *b, const struct st_flow_rule *r, const struct st_flow_action *a,
		     struct rte_flow_action *out, int nested)
{
	union conf *c;
	unsigned int k;
	int rc;

	memset(out, 0, sizeof(*out));
	if (b->nconf >= RTE_DIM(b->conf))
		return -E2BIG;
	c = &b->conf[b->nconf];
	memset(c, 0, sizeof(*c));
	switch (a->type) {
	case ST_FA_COUNT:
		out->type = RTE_FLOW_ACTION_TYPE_COUNT;
		return 0;
	case ST_FA_DROP:
		out->type = RTE_FLOW_ACTION_TYPE_DROP;
		return 0;
	case ST_FA_PASSTHRU:
		out->type = RTE_FLOW_ACTION_TYPE_PASSTHRU;
		return 0;
	case ST_FA_MARK:
		out->type = RTE_FLOW_ACTION_TYPE_MARK;
		c->mark.id = a->value;
		break;
	case ST_FA_QUEUE:
		out->type = RTE_FLOW_ACTION_TYPE_QUEUE;
		c->queue.index = (uint16_t)a->value;
		break;
	case ST_FA_RSS: {
		uint16_t *q = b->queues[b->nconf];
		unsigned int max = RTE_DIM(b->queues[0]);

		out->type = RTE_FLOW_ACTION_TYPE_RSS;
		if (a->nb_queues > 0) {
			for (k = 0; k < a->nb_queues && k < max; k++)
				q[k] = a->queues[k];
			c->rss.queue_num = k;
		} else {
			/* The port's own receive queues, as its default RSS. */
			struct rte_eth_dev_info info;
			unsigned int nq = 1;

			if (rte_eth_dev_info_get(r->port, &info) == 0 && info.nb_rx_queues > 0)
				nq = info.nb_rx_queues;
			for (k = 0; k < nq && k < max; k++)
				q[k] = (uint16_t)k;
			c->rss.queue_num = k;
		}
		c->rss.queue = q;
		c->rss.func = RTE_ETH_HASH_FUNCTION_DEFAULT;
		break;
	}
	case ST_FA_JUMP:
		out->type = RTE_FLOW_ACTION_TYPE_JUMP;
		c->jump.group = a->value;
		break;
	case ST_FA_SAMPLE: {
		struct rte_flow_action *sub;

		if (nested)
			return -EINVAL;
		if ((unsigned int)a->sub_first + a->sub_count > ST_FLOW_MAX_SUB)
			return -EINVAL;
		if (b->nsub + a->sub_count + 1 > RTE_DIM(b->sub))
			return -E2BIG;
		sub = &b->sub[b->nsub];
		b->nconf++; /* this conf is the sample's; its sub-actions take the next */
		rc = build_actions(b, r, &r->sub[a->sub_first], a->sub_count, sub, 1);
		if (rc != 0)
			return rc;
		b->nsub += a->sub_count + 1u;
		out->type = RTE_FLOW_ACTION_TYPE_SAMPLE;
		c->sample.ratio = a->ratio;
		c->sample.actions = sub;
		out->conf = c;
		return 0;
	}
	case ST_FA_PORT_ID:
		out->type = RTE_FLOW_ACTION_TYPE_PORT_ID;
		c->port_id.id = a->value;
		break;
	case ST_FA_REPRESENTED_PORT:
		out->type = RTE_FLOW_ACTION_TYPE_REPRESENTED_PORT;
		c->ethdev.port_id = (uint16_t)a->value;
		break;
	case ST_FA_SET_IPV4_SRC:
	case ST_FA_SET_IPV4_DST:
		out->type = a->type == ST_FA_SET_IPV4_SRC ? RTE_FLOW_ACTION_TYPE_SET_IPV4_SRC : RTE_FLOW_ACTION_TYPE_SET_IPV4_DST;
		memcpy(&c->ipv4.ipv4_addr, a->addr, 4);
		break;
	case ST_FA_SET_IPV6_SRC:
	case ST_FA_SET_IPV6_DST:
		out->type = a->type == ST_FA_SET_IPV6_SRC ? RTE_FLOW_ACTION_TYPE_SET_IPV6_SRC : RTE_FLOW_ACTION_TYPE_SET_IPV6_DST;
		memcpy(c->ipv6.ipv6_addr, a->addr, 16);
		break;
	case ST_FA_SET_MAC_SRC:
	case ST_FA_SET_MAC_DST:
		out->type = a->type == ST_FA_SET_MAC_SRC ? RTE_FLOW_ACTION_TYPE_SET_MAC_SRC : RTE_FLOW_ACTION_TYPE_SET_MAC_DST;
		memcpy(c->mac.mac_addr, a->addr, 6);
		break;
	case ST_FA_OF_PUSH_VLAN:
		out->type = RTE_FLOW_ACTION_TYPE_OF_PUSH_VLAN;
		c->push.ethertype = rte_cpu_to_be_16((uint16_t)a->value);
		break;
	case ST_FA_OF_SET_VLAN_VID:
		out->type = RTE_FLOW_ACTION_TYPE_OF_SET_VLAN_VID;
		c->vid.vlan_vid = rte_cpu_to_be_16((uint16_t)a->value);
		break;
	case ST_FA_OF_SET_VLAN_PCP:
		out->type = RTE_FLOW_ACTION_TYPE_OF_SET_VLAN_PCP;
		c->pcp.vlan_pcp = (uint8_t)a->value;
		break;
	case ST_FA_VXLAN_ENCAP: {
		struct rte_flow_item *def;

		if ((unsigned int)a->sub_first + a->sub_count > ST_FLOW_MAX_ITEMS)
			return -EINVAL;
		if (b->nencap + a->sub_count + 1 > RTE_DIM(b->encap_items))
			return -E2BIG;
		def = &b->encap_items[b->nencap];
		rc = build_items(b, &r->encap[a->sub_first], a->sub_count, def, 0);
		if (rc != 0)
			return rc;
		b->nencap += a->sub_count + 1u;
		out->type = RTE_FLOW_ACTION_TYPE_VXLAN_ENCAP;
		c->vxlan.definition = def;
		break;
	}
	case ST_FA_RAW_ENCAP:
		/* Serialising a header to bytes is not written yet: say so. */
		return -ENOTSUP;
	default:
		return -EINVAL;
	}
	out->conf = c;
	b->nconf++;
	return 0;
}

static int build_actions(struct built *b, const struct st_flow_rule *r, const struct st_flow_action *in,
			 unsigned int n, struct rte_flow_action *out, int nested)
{
	unsigned int i;
	int rc;

	for (i = 0; i < n && in[i].type != ST_FA_END; i++) {
		rc = build_one(b, r, &in[i], &out[i], nested);
		if (rc != 0)
			return rc;
	}
	memset(&out[i], 0, sizeof(out[i]));
	out[i].type = RTE_FLOW_ACTION_TYPE_END;
	return 0;
}

static int build(struct built *b, const struct st_flow_rule *r)
{
	int rc;

	memset(b, 0, sizeof(*b));
	b->attr.group = r->group;
	b->attr.priority = r->priority;
	b->attr.ingress = r->ingress ? 1 : 0;
	b->attr.egress = r->egress ? 1 : 0;
	b->attr.transfer = r->transfer ? 1 : 0;
	rc = build_items(b, r->pattern, ST_FLOW_MAX_ITEMS, b->items, 1);
	if (rc != 0)
		return rc;
	return build_actions(b, r, r->actions, ST_FLOW_MAX_ACTIONS, b->actions, 0);
}

static void result_ok(struct st_flow_result *res)
{
	memset(res, 0, sizeof(*res));
	res->ok = 1;
}

/* The driver's answer, distrusting the message: only when the driver set the
 * error type (we zeroed it) is the message read, bounded and made printable. */
static void result_fail(struct st_flow_result *res, int rc, const struct rte_flow_error *e)
{
	int en = rte_errno != 0 ? rte_errno : (rc < 0 ? -rc : EIO);

	memset(res, 0, sizeof(*res));
	res->ok = 0;
	res->errnum = en < 0 ? -en : en;
	if (e == NULL)
		return;
	res->error_type = (int)e->type;
	if (e->type != RTE_FLOW_ERROR_TYPE_NONE && e->message != NULL) {
		size_t i;

		for (i = 0; i + 1 < sizeof(res->message) && e->message[i] != '\0'; i++) {
			unsigned char ch = (unsigned char)e->message[i];

			res->message[i] = isprint(ch) ? (char)ch : ' ';
		}
		res->message[i] = '\0';
	}
}

static void result_build_fail(struct st_flow_result *res, int rc, const char *what)
{
	memset(res, 0, sizeof(*res));
	res->errnum = -rc;
	res->error_type = RTE_FLOW_ERROR_TYPE_UNSPECIFIED;
	snprintf(res->message, sizeof(res->message), "shadowtap cannot build this rule: %s", what);
}

static const char *build_why(int rc)
{
	if (rc == -ENOTSUP)
		return "raw_encap is not supported by shadowtap's flow code";
	if (rc == -E2BIG)
		return "too many items or actions";
	return "an unknown item or action, or a range out of bounds";
}

void st_flow_validate(const struct st_flow_rule *rule, struct st_flow_result *res)
{
	struct built *b = calloc(1, sizeof(*b));
	struct rte_flow_error e;
	int rc;

	if (b == NULL) {
		result_build_fail(res, -ENOMEM, "out of memory");
		return;
	}
	rc = build(b, rule);
	if (rc != 0) {
		result_build_fail(res, rc, build_why(rc));
		free(b);
		return;
	}
	memset(&e, 0, sizeof(e));
	rte_errno = 0;
	rc = rte_flow_validate(rule->port, &b->attr, b->items, b->actions, &e);
	if (rc == 0)
		result_ok(res);
	else
		result_fail(res, rc, &e);
	free(b);
}

void st_flow_create(const struct st_flow_rule *rule, struct st_flow_result *res)
{
	struct built *b = calloc(1, sizeof(*b));
	struct kept *k = calloc(1, sizeof(*k));
	struct rte_flow_error e;
	struct rte_flow *f;
	unsigned int slot;
	int rc;

	if (b == NULL || k == NULL) {
		free(b);
		free(k);
		result_build_fail(res, -ENOMEM, "out of memory");
		return;
	}
	rc = build(b, rule);
	if (rc != 0) {
		result_build_fail(res, rc, build_why(rc));
		free(b);
		free(k);
		return;
	}
	memset(&e, 0, sizeof(e));
	rte_errno = 0;
	f = rte_flow_create(rule->port, &b->attr, b->items, b->actions, &e);
	if (f == NULL) {
		result_fail(res, -EIO, &e);
		free(b);
		free(k);
		return;
	}
	free(b);
	k->flow = f;
	k->rule = *rule;
	pthread_mutex_lock(&table_lock);
	for (slot = 0; slot < ST_FLOW_MAX_INSTALLED && table[slot] != NULL; slot++)
		;
	if (slot == ST_FLOW_MAX_INSTALLED) {
		pthread_mutex_unlock(&table_lock);
		memset(&e, 0, sizeof(e));
		(void)rte_flow_destroy(rule->port, f, &e);
		free(k);
		memset(res, 0, sizeof(*res));
		res->errnum = ENOSPC;
		snprintf(res->message, sizeof(res->message), "shadowtap keeps at most %d rules", ST_FLOW_MAX_INSTALLED);
		return;
	}
	k->id = next_id++;
	if (next_id == 0)
		next_id = 1;
	table[slot] = k;
	pthread_mutex_unlock(&table_lock);
	result_ok(res);
	res->id = k->id;
}

static int find(uint32_t id)
{
	unsigned int i;

	for (i = 0; i < ST_FLOW_MAX_INSTALLED; i++)
		if (table[i] != NULL && table[i]->id == id)
			return (int)i;
	return -1;
}

void st_flow_destroy(uint32_t id, struct st_flow_result *res)
{
	struct rte_flow_error e;
	struct kept *k;
	int slot, rc;

	pthread_mutex_lock(&table_lock);
	slot = find(id);
	if (slot < 0) {
		pthread_mutex_unlock(&table_lock);
		memset(res, 0, sizeof(*res));
		res->id = id;
		res->errnum = ENOENT;
		snprintf(res->message, sizeof(res->message), "no installed rule %u", id);
		return;
	}
	k = table[slot];
	memset(&e, 0, sizeof(e));
	rte_errno = 0;
	rc = rte_flow_destroy(k->rule.port, k->flow, &e);
	if (rc == 0) {
		table[slot] = NULL;
		free(k);
		result_ok(res);
	} else {
		result_fail(res, rc, &e);
	}
	pthread_mutex_unlock(&table_lock);
	res->id = id;
}

void st_flow_flush(uint16_t port, struct st_flow_result *res)
{
	struct rte_flow_error e;
	unsigned int i;
	int rc;

	pthread_mutex_lock(&table_lock);
	memset(&e, 0, sizeof(e));
	rte_errno = 0;
	rc = rte_flow_flush(port, &e);
	if (rc == 0) {
		for (i = 0; i < ST_FLOW_MAX_INSTALLED; i++) {
			if (table[i] != NULL && table[i]->rule.port == port) {
				free(table[i]);
				table[i] = NULL;
			}
		}
		result_ok(res);
	} else {
		result_fail(res, rc, &e);
	}
	pthread_mutex_unlock(&table_lock);
}

void st_flow_query_count(uint32_t id, struct st_flow_count *out)
{
	struct rte_flow_action count[2];
	struct rte_flow_query_count q;
	struct rte_flow_error e;
	int slot, rc;

	memset(out, 0, sizeof(*out));
	out->id = id;
	pthread_mutex_lock(&table_lock);
	slot = find(id);
	if (slot < 0) {
		pthread_mutex_unlock(&table_lock);
		out->errnum = ENOENT;
		return;
	}
	memset(count, 0, sizeof(count));
	count[0].type = RTE_FLOW_ACTION_TYPE_COUNT;
	count[1].type = RTE_FLOW_ACTION_TYPE_END;
	memset(&q, 0, sizeof(q));
	memset(&e, 0, sizeof(e));
	rte_errno = 0;
	rc = rte_flow_query(table[slot]->rule.port, table[slot]->flow, count, &q, &e);
	pthread_mutex_unlock(&table_lock);
	if (rc != 0) {
		out->errnum = rte_errno != 0 ? rte_errno : -rc;
		return;
	}
	out->ok = 1;
	out->hits = q.hits_set ? q.hits : 0;
	out->bytes = q.bytes_set ? q.bytes : 0;
}

int st_flow_get(uint32_t id, struct st_flow_rule *out)
{
	int slot;

	pthread_mutex_lock(&table_lock);
	slot = find(id);
	if (slot >= 0)
		*out = table[slot]->rule;
	pthread_mutex_unlock(&table_lock);
	return slot >= 0 ? 0 : -ENOENT;
}

void st_flow_forget_all(void)
{
	unsigned int i;

	pthread_mutex_lock(&table_lock);
	for (i = 0; i < ST_FLOW_MAX_INSTALLED; i++) {
		free(table[i]);
		table[i] = NULL;
	}
	pthread_mutex_unlock(&table_lock);
}
