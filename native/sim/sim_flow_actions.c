/* SPDX-License-Identifier: BSD-3-Clause
 * net_shadowsim's rte_flow actions: each action of a rule checked against
 * the profile and the structural rules a real driver applies (one fate, a
 * queue in range, a rewrite only of a layer the pattern names, SAMPLE's
 * copy lists...), worded as mlx5 words them, and compiled into the
 * st_sim_op instructions sim_node.c executes. The rule as a whole, its
 * attributes and pattern are sim_flow.c's.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include <ethdev_driver.h>
#include <rte_flow_driver.h>

#include "sim.h"
#include "sim_flow.h"

static int need_conf(struct st_sim_compile *c, const struct rte_flow_action *a)
{
	if (a->conf == NULL)
		return st_sim_refuse(c->error, EINVAL, RTE_FLOW_ERROR_TYPE_ACTION, a, "configuration cannot be NULL");
	return 0;
}

static int check_queue(struct st_sim_compile *c, const struct rte_flow_action *a, uint16_t q)
{
	uint16_t n = c->sd->eth->data->nb_rx_queues;

	if (q >= n)
		return st_sim_refuse(c->error, EINVAL, RTE_FLOW_ERROR_TYPE_ACTION_CONF, a->conf,
				     "queue index out of range (queue %u, the port has %u rx queues)", q, n);
	return 0;
}

static int check_port(struct st_sim_compile *c, const struct rte_flow_action *a, uint32_t port)
{
	if (port >= RTE_MAX_ETHPORTS || !rte_eth_dev_is_valid_port((uint16_t)port))
		return st_sim_refuse(c->error, EINVAL, RTE_FLOW_ERROR_TYPE_ACTION_CONF, a->conf,
				     "invalid port id %u: no such ethdev port", port);
	return 0;
}

/* A transfer rule may send only to a port of this port's E-Switch, as mlx5
 * checks it (DPDK 22.11 flow_dv_validate_action_port_id(): EINVAL, with its
 * three messages). Sending to this port itself needs no E-Switch. The text
 * after mlx5's is kept short: applications copy ~128 characters of it. */
static int check_eswitch(struct st_sim_compile *c, const struct rte_flow_action *a, uint32_t port)
{
	const struct st_sim_dev *sd = c->sd;
	struct rte_eth_dev_info info;

	if (port == sd->port_id)
		return 0;
	if (sd->switch_domain < 0)
		return st_sim_refuse(c->error, EINVAL, RTE_FLOW_ERROR_TYPE_UNSPECIFIED, NULL,
				     "failed to obtain E-Switch info (%s emulated by " ST_SIM_DRIVER
				     ": port %u is on no E-Switch: no switch_domain devarg)",
				     c->p->family, sd->port_id);
	if (rte_eth_dev_info_get((uint16_t)port, &info) != 0 ||
	    info.switch_info.domain_id == RTE_ETH_DEV_SWITCH_DOMAIN_ID_INVALID)
		return st_sim_refuse(c->error, EINVAL, RTE_FLOW_ERROR_TYPE_ACTION_CONF, a->conf,
				     "failed to obtain E-Switch port id for port (%s emulated by " ST_SIM_DRIVER
				     ": port %u is on no E-Switch)",
				     c->p->family, port);
	if (info.switch_info.domain_id != (uint16_t)sd->switch_domain)
		return st_sim_refuse(c->error, EINVAL, RTE_FLOW_ERROR_TYPE_ACTION, a,
				     "port does not belong to E-Switch being configured (%s emulated by " ST_SIM_DRIVER
				     ": port %u is on switch domain %u, port %u on %d)",
				     c->p->family, port, info.switch_info.domain_id, sd->port_id, (int)sd->switch_domain);
	return 0;
}

static bool is_fate(enum rte_flow_action_type t)
{
	switch (t) {
	case RTE_FLOW_ACTION_TYPE_DROP:
	case RTE_FLOW_ACTION_TYPE_QUEUE:
	case RTE_FLOW_ACTION_TYPE_RSS:
	case RTE_FLOW_ACTION_TYPE_JUMP:
	case RTE_FLOW_ACTION_TYPE_PASSTHRU:
	case RTE_FLOW_ACTION_TYPE_PORT_ID:
	case RTE_FLOW_ACTION_TYPE_REPRESENTED_PORT:
		return true;
	default:
		return false;
	}
}

static int set_field_op(struct st_sim_compile *c, const struct rte_flow_action *a, struct st_sim_op *op,
			enum st_sim_field f, const void *val, size_t len)
{
	(void)c;
	(void)a;
	op->kind = ST_SIM_OP_SET;
	op->modifies = true;
	op->u.set.field = f;
	op->u.set.from = ST_SIM_F_NONE;
	memcpy(op->u.set.value, val, len);
	return 0;
}

/* Layer a rewrite needs in the pattern (mlx5 refuses a rewrite of a layer the rule does not match on). */
static int need_layer(struct st_sim_compile *c, const struct rte_flow_action *a, bool present, const char *msg)
{
	if (!present)
		return st_sim_refuse(c->error, EINVAL, RTE_FLOW_ERROR_TYPE_ACTION, a, "%s", msg);
	return 0;
}

static int field_of(enum rte_flow_field_id id, enum st_sim_field *f, unsigned int *bits)
{
	switch (id) {
	case RTE_FLOW_FIELD_MAC_DST:
		*f = ST_SIM_F_MAC_DST;
		*bits = 48;
		return 0;
	case RTE_FLOW_FIELD_MAC_SRC:
		*f = ST_SIM_F_MAC_SRC;
		*bits = 48;
		return 0;
	case RTE_FLOW_FIELD_IPV4_SRC:
		*f = ST_SIM_F_IPV4_SRC;
		*bits = 32;
		return 0;
	case RTE_FLOW_FIELD_IPV4_DST:
		*f = ST_SIM_F_IPV4_DST;
		*bits = 32;
		return 0;
	case RTE_FLOW_FIELD_IPV6_SRC:
		*f = ST_SIM_F_IPV6_SRC;
		*bits = 128;
		return 0;
	case RTE_FLOW_FIELD_IPV6_DST:
		*f = ST_SIM_F_IPV6_DST;
		*bits = 128;
		return 0;
	case RTE_FLOW_FIELD_TCP_PORT_SRC:
	case RTE_FLOW_FIELD_UDP_PORT_SRC:
		*f = ST_SIM_F_TP_SRC;
		*bits = 16;
		return 0;
	case RTE_FLOW_FIELD_TCP_PORT_DST:
	case RTE_FLOW_FIELD_UDP_PORT_DST:
		*f = ST_SIM_F_TP_DST;
		*bits = 16;
		return 0;
	case RTE_FLOW_FIELD_IPV4_TTL:
		*f = ST_SIM_F_IPV4_TTL;
		*bits = 8;
		return 0;
	case RTE_FLOW_FIELD_IPV6_HOPLIMIT:
		*f = ST_SIM_F_IPV6_HOPLIMIT;
		*bits = 8;
		return 0;
	default:
		return -1;
	}
}

static int layer_for_field(struct st_sim_compile *c, const struct rte_flow_action *a, enum st_sim_field f)
{
	switch (f) {
	case ST_SIM_F_MAC_DST:
	case ST_SIM_F_MAC_SRC:
		return need_layer(c, a, c->l2, "no L2 item in pattern");
	case ST_SIM_F_IPV4_SRC:
	case ST_SIM_F_IPV4_DST:
	case ST_SIM_F_IPV4_TTL:
		return need_layer(c, a, c->ipv4, "no ipv4 item in pattern");
	case ST_SIM_F_IPV6_SRC:
	case ST_SIM_F_IPV6_DST:
	case ST_SIM_F_IPV6_HOPLIMIT:
		return need_layer(c, a, c->ipv6, "no ipv6 item in pattern");
	case ST_SIM_F_TP_SRC:
	case ST_SIM_F_TP_DST:
		return need_layer(c, a, c->tcp || c->udp, "no transport layer in pattern");
	default:
		return 0;
	}
}

static int compile_modify_field(struct st_sim_compile *c, const struct rte_flow_action *a, struct st_sim_op *op)
{
	const struct rte_flow_action_modify_field *mf = a->conf;
	enum st_sim_field dst, src = ST_SIM_F_NONE;
	unsigned int dbits, sbits;

	if (mf->operation != RTE_FLOW_MODIFY_SET)
		return st_sim_refuse(c->error, ENOTSUP, RTE_FLOW_ERROR_TYPE_ACTION, a,
				     "modify_field: the emulator executes operation SET only");
	if (field_of(mf->dst.field, &dst, &dbits) < 0)
		return st_sim_refuse(c->error, ENOTSUP, RTE_FLOW_ERROR_TYPE_ACTION, a,
				     "modify_field: destination field %d is not emulated (MAC, IPv4/IPv6 address, TCP/UDP port, TTL, hop limit)",
				     (int)mf->dst.field);
	if (mf->dst.level > 1 || mf->dst.offset != 0 || mf->width != dbits)
		return st_sim_refuse(c->error, ENOTSUP, RTE_FLOW_ERROR_TYPE_ACTION, a,
				     "modify_field: the emulator sets whole outer fields only (offset 0, width %u)", dbits);
	op->kind = ST_SIM_OP_SET;
	op->modifies = true;
	op->u.set.field = dst;
	op->u.set.from = ST_SIM_F_NONE;
	if (mf->src.field == RTE_FLOW_FIELD_VALUE) {
		/* "the same byte order and length as in the relevant rte_flow_item": network order */
		memcpy(op->u.set.value, mf->src.value, (dbits + 7) / 8);
	} else if (mf->src.field == RTE_FLOW_FIELD_POINTER) {
		if (mf->src.pvalue == NULL)
			return st_sim_refuse(c->error, EINVAL, RTE_FLOW_ERROR_TYPE_ACTION_CONF, a->conf,
					     "modify_field: NULL source pointer");
		memcpy(op->u.set.value, mf->src.pvalue, (dbits + 7) / 8);
	} else if (field_of(mf->src.field, &src, &sbits) == 0 && sbits == dbits && mf->src.offset == 0) {
		op->kind = ST_SIM_OP_COPY_FIELD;
		op->u.set.from = src;
		if (layer_for_field(c, a, src) < 0)
			return -rte_errno;
	} else {
		return st_sim_refuse(c->error, ENOTSUP, RTE_FLOW_ERROR_TYPE_ACTION, a,
				     "modify_field: source must be a value, a pointer or a whole field of the same width");
	}
	return layer_for_field(c, a, dst);
}

static int compile_rss(struct st_sim_compile *c, const struct rte_flow_action *a, struct st_sim_op *op)
{
	const struct rte_flow_action_rss *rss = a->conf;

	if (rss->queue_num == 0)
		return st_sim_refuse(c->error, EINVAL, RTE_FLOW_ERROR_TYPE_ACTION_CONF, a->conf, "no queues were provided for RSS");
	if (rss->queue_num > ST_SIM_MAX_QUEUES)
		return st_sim_refuse(c->error, ENOTSUP, RTE_FLOW_ERROR_TYPE_ACTION_CONF, a->conf, "too many queues for RSS context");
	if (rss->func != RTE_ETH_HASH_FUNCTION_DEFAULT && rss->func != RTE_ETH_HASH_FUNCTION_TOEPLITZ)
		return st_sim_refuse(c->error, ENOTSUP, RTE_FLOW_ERROR_TYPE_ACTION_CONF, a->conf,
				     "RSS hash function not supported");
	if (rss->level > 1)
		return st_sim_refuse(c->error, ENOTSUP, RTE_FLOW_ERROR_TYPE_ACTION_CONF, a->conf,
				     "tunnel RSS is not supported");
	if (rss->key_len != 0 && rss->key_len != 40)
		return st_sim_refuse(c->error, ENOTSUP, RTE_FLOW_ERROR_TYPE_ACTION_CONF, a->conf,
				     "RSS hash key must be 40 bytes");
	op->kind = ST_SIM_OP_RSS;
	op->u.rss.n = (uint16_t)rss->queue_num;
	op->u.rss.types = rss->types;
	for (uint32_t i = 0; i < rss->queue_num; i++) {
		if (check_queue(c, a, rss->queue[i]) < 0)
			return -rte_errno;
		op->u.rss.queue[i] = rss->queue[i];
	}
	if (rss->key_len == 40 && rss->key != NULL) {
		memcpy(op->u.rss.key, rss->key, 40);
	} else {
		/* the Toeplitz verification key of Microsoft's RSS specification */
		static const uint8_t k[40] = { 0x6d, 0x5a, 0x56, 0xda, 0x25, 0x5b, 0x0e, 0xc2, 0x41, 0x67,
					       0x25, 0x3d, 0x43, 0xa3, 0x8f, 0xb0, 0xd0, 0xca, 0x2b, 0xcb,
					       0xae, 0x7b, 0x30, 0xb4, 0x77, 0xcb, 0x2d, 0xa3, 0x80, 0x30,
					       0xf2, 0x0c, 0x6a, 0x42, 0xb7, 0x3b, 0xbe, 0xac, 0x01, 0xfa };
		memcpy(op->u.rss.key, k, 40);
	}
	return 0;
}

static int compile_sample(struct st_sim_compile *c, const struct rte_flow_action *a, struct st_sim_op *op)
{
	const struct st_sim_profile *p = c->p;
	const struct rte_flow_action_sample *s = a->conf;
	enum st_sim_sample_case sc;
	bool dest = false, any = false;
	char why[200];

	if (p->sample_indirect_only)
		return st_sim_refuse_action(c, a, "SAMPLE is accepted only as an indirect (shared) action, not in a rule's action list");
	if (!p->sample_domain[c->d]) {
		snprintf(why, sizeof(why), "SAMPLE is not supported in %s rules", st_sim_domain_names[c->d]);
		return st_sim_refuse_action(c, a, why);
	}
	if (need_conf(c, a) < 0)
		return -rte_errno;
	if (s->ratio == 0)
		return st_sim_refuse(c->error, EINVAL, RTE_FLOW_ERROR_TYPE_ACTION, a, "ratio value starts from 1");
	if (s->ratio == 1 && !p->sample_mirror)
		return st_sim_refuse_action(c, a, "SAMPLE with ratio 1 (mirror every packet) is not supported");
	if (s->ratio > 1 && !p->sample_fractional) {
		snprintf(why, sizeof(why), "SAMPLE with ratio %u (one packet in %u) is not supported; only ratio 1",
			 s->ratio, s->ratio);
		return st_sim_refuse_action(c, a, why);
	}
	if (c->sample)
		return st_sim_refuse(c->error, EINVAL, RTE_FLOW_ERROR_TYPE_ACTION, NULL, "Multiple sample actions not supported");
	if (c->jump)
		return st_sim_refuse(c->error, EINVAL, RTE_FLOW_ERROR_TYPE_ACTION, a,
				     "wrong action order, jump should be after sample action");
	c->sample = true;
	if (c->d == ST_SIM_TRANSFER && s->ratio > 1 && p->sample_sub_known[ST_SIM_SC_TRANSFER_RATIO_ABOVE_1])
		sc = ST_SIM_SC_TRANSFER_RATIO_ABOVE_1;
	else
		sc = c->d == ST_SIM_INGRESS ? ST_SIM_SC_INGRESS : c->d == ST_SIM_EGRESS ? ST_SIM_SC_EGRESS : ST_SIM_SC_TRANSFER;
	op->kind = ST_SIM_OP_SAMPLE;
	op->u.sample.ratio = s->ratio;
	op->u.sample.sub = c->r->sub_ops;
	op->u.sample.counter = &c->r->sample_counter;
	op->u.sample.seen = 0;
	if (st_sim_compile_actions(c, s->actions, true, sc, c->r->sub_ops, ST_SIM_MAX_SUB_OPS, &op->u.sample.nsub) < 0)
		return -rte_errno;
	for (uint16_t i = 0; i < op->u.sample.nsub; i++) {
		enum st_sim_op_kind k = c->r->sub_ops[i].kind;

		any = true;
		if (k == ST_SIM_OP_QUEUE || k == ST_SIM_OP_RSS || k == ST_SIM_OP_PORT)
			dest = true;
	}
	if (c->d == ST_SIM_INGRESS && !dest)
		return st_sim_refuse(c->error, EINVAL, RTE_FLOW_ERROR_TYPE_ACTION, NULL, "Ingress must has a dest QUEUE for Sample");
	if (c->d == ST_SIM_TRANSFER && any && !dest)
		return st_sim_refuse(c->error, EINVAL, RTE_FLOW_ERROR_TYPE_ACTION, NULL,
				     "E-Switch must has a dest port for mirroring");
	c->r->has_sample = true;
	return 0;
}

static int compile_action(struct st_sim_compile *c, const struct rte_flow_action *a, bool in_sample,
			  enum st_sim_sample_case sc, struct st_sim_op *op)
{
	const struct st_sim_profile *p = c->p;
	char why[200];

	memset(op, 0, sizeof(*op));
	/* devarg refuse=: firmware without what the profile claims. Refused as
	 * the family refuses any action it lacks, in a SAMPLE list too. */
	if (st_sim_bit(&c->sd->refused, a->type)) {
		snprintf(why, sizeof(why), "refuse= devarg: this device lacks %s, the profile aside", st_sim_aname(a->type));
		return st_sim_refuse_action(c, a, why);
	}
	if (in_sample) {
		if (!p->sample_sub_known[sc]) {
			snprintf(why, sizeof(why), "which actions the sampled copy may carry is undocumented for %s; none accepted",
				 p->family);
			return st_sim_refuse_action(c, a, why);
		}
		if (!st_sim_bit(&p->sample_sub[sc], a->type)) {
			snprintf(why, sizeof(why), "%s is not allowed in the SAMPLE action list here (%s)", st_sim_aname(a->type),
				 sc == ST_SIM_SC_TRANSFER_RATIO_ABOVE_1 ? "transfer, ratio above 1" : st_sim_domain_names[c->d]);
			return st_sim_refuse(c->error, p->err_action.err, RTE_FLOW_ERROR_TYPE_ACTION, a,
					     "Doesn't support optional action (%s emulated by " ST_SIM_DRIVER ": %s)", p->family,
					     why);
		}
	} else if (!st_sim_bit(&p->actions[c->d], a->type)) {
		snprintf(why, sizeof(why), "%s is not in this profile's %s actions", st_sim_aname(a->type), st_sim_domain_names[c->d]);
		if (p->rss_error_unset && c->sd->quirk_error_unset && a->type == RTE_FLOW_ACTION_TYPE_RSS) {
			/* net_tap 22.11: fails without filling struct rte_flow_error */
			rte_errno = ENOTSUP;
			return -ENOTSUP;
		}
		return st_sim_refuse_action(c, a, why);
	}
	if (!in_sample && is_fate(a->type)) {
		if (++c->fates > 1)
			return st_sim_refuse(c->error, EINVAL, RTE_FLOW_ERROR_TYPE_ACTION, a, "can't have 2 fate actions in same flow");
	}

	switch (a->type) {
	case RTE_FLOW_ACTION_TYPE_COUNT:
		op->kind = ST_SIM_OP_COUNT;
		if (in_sample) {
			op->counter = &c->r->sample_counter;
			c->r->has_sample_count = true;
		} else {
			op->counter = &c->r->counter;
			c->r->has_count = true;
		}
		return 0;
	case RTE_FLOW_ACTION_TYPE_DROP:
		op->kind = ST_SIM_OP_DROP;
		return 0;
	case RTE_FLOW_ACTION_TYPE_PASSTHRU:
		op->kind = ST_SIM_OP_PASSTHRU;
		return 0;
	case RTE_FLOW_ACTION_TYPE_MARK:
		if (need_conf(c, a) < 0)
			return -rte_errno;
		if (c->d == ST_SIM_EGRESS)
			return st_sim_refuse(c->error, ENOTSUP, RTE_FLOW_ERROR_TYPE_ACTION, a, "mark action not supported for egress");
		op->kind = ST_SIM_OP_MARK;
		op->u.mark = ((const struct rte_flow_action_mark *)a->conf)->id;
		return 0;
	case RTE_FLOW_ACTION_TYPE_FLAG:
		if (c->d == ST_SIM_EGRESS)
			return st_sim_refuse(c->error, ENOTSUP, RTE_FLOW_ERROR_TYPE_ACTION, a, "flag action not supported for egress");
		op->kind = ST_SIM_OP_FLAG;
		return 0;
	case RTE_FLOW_ACTION_TYPE_QUEUE:
		if (need_conf(c, a) < 0)
			return -rte_errno;
		if (c->d != ST_SIM_INGRESS)
			return st_sim_refuse(c->error, ENOTSUP, RTE_FLOW_ERROR_TYPE_ACTION, a, "queue action not supported for %s",
					     st_sim_domain_names[c->d]);
		op->kind = ST_SIM_OP_QUEUE;
		op->u.queue = ((const struct rte_flow_action_queue *)a->conf)->index;
		return check_queue(c, a, op->u.queue);
	case RTE_FLOW_ACTION_TYPE_RSS:
		if (need_conf(c, a) < 0)
			return -rte_errno;
		if (c->d != ST_SIM_INGRESS)
			return st_sim_refuse(c->error, ENOTSUP, RTE_FLOW_ERROR_TYPE_ACTION, a, "rss action not supported for %s",
					     st_sim_domain_names[c->d]);
		return compile_rss(c, a, op);
	case RTE_FLOW_ACTION_TYPE_JUMP:
		if (need_conf(c, a) < 0)
			return -rte_errno;
		op->kind = ST_SIM_OP_JUMP;
		op->u.group = ((const struct rte_flow_action_jump *)a->conf)->group;
		if (op->u.group == c->attr->group)
			return st_sim_refuse(c->error, EINVAL, RTE_FLOW_ERROR_TYPE_ACTION, a,
					     "target group must be other than the current flow group");
		c->jump = true;
		return 0;
	case RTE_FLOW_ACTION_TYPE_PORT_ID:
	case RTE_FLOW_ACTION_TYPE_REPRESENTED_PORT:
	case RTE_FLOW_ACTION_TYPE_PORT_REPRESENTOR: {
		uint32_t port;

		if (need_conf(c, a) < 0)
			return -rte_errno;
		if (c->d != ST_SIM_TRANSFER)
			return st_sim_refuse(c->error, ENOTSUP, RTE_FLOW_ERROR_TYPE_ACTION, a,
					     "port id action is valid in transfer mode only");
		if (a->type == RTE_FLOW_ACTION_TYPE_PORT_ID) {
			const struct rte_flow_action_port_id *pid = a->conf;

			port = pid->original ? c->sd->port_id : pid->id;
		} else {
			port = ((const struct rte_flow_action_ethdev *)a->conf)->port_id;
		}
		if (check_port(c, a, port) < 0 || check_eswitch(c, a, port) < 0)
			return -rte_errno;
		/* delivering to a representor's own receive side is not emulated */
		if (a->type == RTE_FLOW_ACTION_TYPE_PORT_REPRESENTOR)
			return st_sim_refuse(c->error, ENOTSUP, RTE_FLOW_ERROR_TYPE_ACTION, a,
					     "action not emulated (the profile allows action port_representor but the emulator does not execute it)");
		op->kind = ST_SIM_OP_PORT;
		op->u.port = (uint16_t)port;
		return 0;
	}
	case RTE_FLOW_ACTION_TYPE_SAMPLE:
		if (in_sample)
			return st_sim_refuse(c->error, EINVAL, RTE_FLOW_ERROR_TYPE_ACTION, a, "nested sample actions are not supported");
		return compile_sample(c, a, op);
	case RTE_FLOW_ACTION_TYPE_VXLAN_ENCAP:
	case RTE_FLOW_ACTION_TYPE_NVGRE_ENCAP:
	case RTE_FLOW_ACTION_TYPE_RAW_ENCAP: {
		const char *reason = NULL;

		if (need_conf(c, a) < 0)
			return -rte_errno;
		op->kind = ST_SIM_OP_ENCAP;
		if (a->type == RTE_FLOW_ACTION_TYPE_RAW_ENCAP) {
			const struct rte_flow_action_raw_encap *raw = a->conf;

			if (raw->data == NULL || raw->size == 0)
				return st_sim_refuse(c->error, EINVAL, RTE_FLOW_ERROR_TYPE_ACTION, a, "raw encap data cannot be empty");
			if (raw->size > ST_SIM_ENCAP_MAX)
				return st_sim_refuse(c->error, EINVAL, RTE_FLOW_ERROR_TYPE_ACTION, a,
						     "raw encap size is too big (at most %d bytes)", ST_SIM_ENCAP_MAX);
			memcpy(op->u.encap.data, raw->data, raw->size);
			op->u.encap.len = (uint16_t)raw->size;
			st_sim_encap_locate(op->u.encap.data, op->u.encap.len, &op->u.encap.l3_off, &op->u.encap.l3,
					    &op->u.encap.l4_off);
		} else {
			const struct rte_flow_item *def = a->type == RTE_FLOW_ACTION_TYPE_VXLAN_ENCAP ?
				((const struct rte_flow_action_vxlan_encap *)a->conf)->definition :
				((const struct rte_flow_action_nvgre_encap *)a->conf)->definition;

			if (st_sim_encap_template(def, op->u.encap.data, &op->u.encap.len, &op->u.encap.l3_off,
						  &op->u.encap.l3, &op->u.encap.l4_off, &reason) < 0)
				return st_sim_refuse(c->error, EINVAL, RTE_FLOW_ERROR_TYPE_ACTION, a, "%s", reason);
		}
		if (!in_sample)
			c->encap = true;
		return 0;
	}
	default:
		break;
	}

	/* header rewrites */
	if (!in_sample && c->encap)
		return st_sim_refuse(c->error, EINVAL, RTE_FLOW_ERROR_TYPE_ACTION, a, "can't have encap action before modify action");
	switch (a->type) {
	case RTE_FLOW_ACTION_TYPE_SET_MAC_SRC:
	case RTE_FLOW_ACTION_TYPE_SET_MAC_DST:
		if (need_conf(c, a) < 0 || need_layer(c, a, c->l2, "no L2 item in pattern") < 0)
			return -rte_errno;
		set_field_op(c, a, op, a->type == RTE_FLOW_ACTION_TYPE_SET_MAC_SRC ? ST_SIM_F_MAC_SRC : ST_SIM_F_MAC_DST,
			     ((const struct rte_flow_action_set_mac *)a->conf)->mac_addr, 6);
		break;
	case RTE_FLOW_ACTION_TYPE_SET_IPV4_SRC:
	case RTE_FLOW_ACTION_TYPE_SET_IPV4_DST:
		if (need_conf(c, a) < 0 || need_layer(c, a, c->ipv4, "no ipv4 item in pattern") < 0)
			return -rte_errno;
		set_field_op(c, a, op, a->type == RTE_FLOW_ACTION_TYPE_SET_IPV4_SRC ? ST_SIM_F_IPV4_SRC : ST_SIM_F_IPV4_DST,
			     &((const struct rte_flow_action_set_ipv4 *)a->conf)->ipv4_addr, 4);
		break;
	case RTE_FLOW_ACTION_TYPE_SET_IPV6_SRC:
	case RTE_FLOW_ACTION_TYPE_SET_IPV6_DST:
		if (need_conf(c, a) < 0 || need_layer(c, a, c->ipv6, "no ipv6 item in pattern") < 0)
			return -rte_errno;
		set_field_op(c, a, op, a->type == RTE_FLOW_ACTION_TYPE_SET_IPV6_SRC ? ST_SIM_F_IPV6_SRC : ST_SIM_F_IPV6_DST,
			     ((const struct rte_flow_action_set_ipv6 *)a->conf)->ipv6_addr, 16);
		break;
	case RTE_FLOW_ACTION_TYPE_SET_TP_SRC:
	case RTE_FLOW_ACTION_TYPE_SET_TP_DST:
		if (need_conf(c, a) < 0 || need_layer(c, a, c->tcp || c->udp, "no transport layer in pattern") < 0)
			return -rte_errno;
		set_field_op(c, a, op, a->type == RTE_FLOW_ACTION_TYPE_SET_TP_SRC ? ST_SIM_F_TP_SRC : ST_SIM_F_TP_DST,
			     &((const struct rte_flow_action_set_tp *)a->conf)->port, 2);
		break;
	case RTE_FLOW_ACTION_TYPE_SET_TTL:
		if (need_conf(c, a) < 0 || need_layer(c, a, c->ipv4 || c->ipv6, "no IP protocol in pattern") < 0)
			return -rte_errno;
		set_field_op(c, a, op, c->ipv4 ? ST_SIM_F_IPV4_TTL : ST_SIM_F_IPV6_HOPLIMIT,
			     &((const struct rte_flow_action_set_ttl *)a->conf)->ttl_value, 1);
		break;
	case RTE_FLOW_ACTION_TYPE_DEC_TTL:
		if (need_layer(c, a, c->ipv4 || c->ipv6, "no IP protocol in pattern") < 0)
			return -rte_errno;
		op->kind = ST_SIM_OP_DEC_TTL;
		op->modifies = true;
		break;
	case RTE_FLOW_ACTION_TYPE_SET_IPV4_DSCP:
	case RTE_FLOW_ACTION_TYPE_SET_IPV6_DSCP:
		if (need_conf(c, a) < 0)
			return -rte_errno;
		if (a->type == RTE_FLOW_ACTION_TYPE_SET_IPV4_DSCP ? need_layer(c, a, c->ipv4, "no ipv4 item in pattern") < 0 :
								    need_layer(c, a, c->ipv6, "no ipv6 item in pattern") < 0)
			return -rte_errno;
		op->kind = ST_SIM_OP_SET_DSCP;
		op->modifies = true;
		op->u.dscp = ((const struct rte_flow_action_set_dscp *)a->conf)->dscp & 0x3f;
		break;
	case RTE_FLOW_ACTION_TYPE_MODIFY_FIELD:
		if (need_conf(c, a) < 0 || compile_modify_field(c, a, op) < 0)
			return -rte_errno;
		break;
	case RTE_FLOW_ACTION_TYPE_OF_PUSH_VLAN: {
		uint16_t tpid;

		if (need_conf(c, a) < 0)
			return -rte_errno;
		tpid = rte_be_to_cpu_16(((const struct rte_flow_action_of_push_vlan *)a->conf)->ethertype);
		if (tpid != RTE_ETHER_TYPE_VLAN && tpid != RTE_ETHER_TYPE_QINQ)
			return st_sim_refuse(c->error, EINVAL, RTE_FLOW_ERROR_TYPE_ACTION, a, "invalid vlan ethertype");
		op->kind = ST_SIM_OP_PUSH_VLAN;
		op->modifies = true;
		op->u.tpid = tpid;
		c->pushed_vlan = true;
		break;
	}
	case RTE_FLOW_ACTION_TYPE_OF_SET_VLAN_VID:
		if (need_conf(c, a) < 0)
			return -rte_errno;
		op->kind = ST_SIM_OP_SET_VLAN_VID;
		op->modifies = true;
		op->u.vid = rte_be_to_cpu_16(((const struct rte_flow_action_of_set_vlan_vid *)a->conf)->vlan_vid);
		if (op->u.vid > 0xffe)
			return st_sim_refuse(c->error, EINVAL, RTE_FLOW_ERROR_TYPE_ACTION, a, "VLAN VID value is too big");
		if (!c->pushed_vlan && !c->vlan)
			return st_sim_refuse(c->error, EINVAL, RTE_FLOW_ERROR_TYPE_ACTION, a,
					     "set VLAN VID action must follow push VLAN action or match on VLAN item");
		break;
	case RTE_FLOW_ACTION_TYPE_OF_SET_VLAN_PCP:
		if (need_conf(c, a) < 0)
			return -rte_errno;
		op->kind = ST_SIM_OP_SET_VLAN_PCP;
		op->modifies = true;
		op->u.pcp = ((const struct rte_flow_action_of_set_vlan_pcp *)a->conf)->vlan_pcp;
		if (op->u.pcp > 7)
			return st_sim_refuse(c->error, EINVAL, RTE_FLOW_ERROR_TYPE_ACTION, a, "VLAN PCP value is too big");
		if (!c->pushed_vlan && !c->vlan)
			return st_sim_refuse(c->error, EINVAL, RTE_FLOW_ERROR_TYPE_ACTION, a,
					     "set VLAN PCP action must follow push VLAN action or match on VLAN item");
		break;
	case RTE_FLOW_ACTION_TYPE_OF_POP_VLAN:
		if (!c->vlan)
			return st_sim_refuse(c->error, ENOTSUP, RTE_FLOW_ERROR_TYPE_ACTION, a,
					     "cannot pop vlan without a match on (outer) vlan in the flow pattern");
		op->kind = ST_SIM_OP_POP_VLAN;
		op->modifies = true;
		break;
	default:
		snprintf(why, sizeof(why), "the profile allows action %s but the emulator does not execute it",
			 st_sim_aname(a->type));
		return st_sim_refuse(c->error, ENOTSUP, RTE_FLOW_ERROR_TYPE_ACTION, a, "action not emulated (%s)", why);
	}
	if (!in_sample) {
		c->modify = true;
		if (c->first_modify == NULL)
			c->first_modify = a;
	}
	return 0;
}

int st_sim_compile_actions(struct st_sim_compile *c, const struct rte_flow_action *actions, bool in_sample,
			enum st_sim_sample_case sc, struct st_sim_op *ops, uint16_t max, uint16_t *nops)
{
	*nops = 0;
	if (actions == NULL)
		return in_sample ? 0 : st_sim_refuse(c->error, EINVAL, RTE_FLOW_ERROR_TYPE_ACTION_NUM, NULL, "NULL action.");
	for (const struct rte_flow_action *a = actions; a->type != RTE_FLOW_ACTION_TYPE_END; a++) {
		if (a->type == RTE_FLOW_ACTION_TYPE_VOID)
			continue;
		if (*nops == max)
			return st_sim_refuse(c->error, ENOTSUP, RTE_FLOW_ERROR_TYPE_ACTION, a, "too many actions");
		if (compile_action(c, a, in_sample, sc, &ops[*nops]) < 0)
			return -rte_errno;
		(*nops)++;
	}
	return 0;
}
