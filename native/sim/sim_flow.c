/* SPDX-License-Identifier: BSD-3-Clause
 * rte_flow for net_shadowsim: validate, create, destroy, flush, query.
 *
 * Validation accepts exactly what the loaded profile allows: the items of
 * the family's feature matrix, the actions of the rule's domain, SAMPLE only
 * in the domains, at the ratios and with the copy actions the driver
 * documents. On top of that it applies the structural checks every real
 * driver makes (one fate action, a QUEUE in range, a rewrite only of a layer
 * the pattern names, no rewrite after an encap, the copy of an Rx SAMPLE
 * needing a queue...), worded as mlx5 words them. A refusal always fills
 * struct rte_flow_error, with the kind of error the emulated family gives
 * (from the profile's `error` lines) and the offending item or action as
 * the cause, except under the net_tap quirk enabled by quirk_error_unset=1.
 * Two devargs take away what the profile allows: switch_domain= (a transfer
 * rule sends only to ports of this port's E-Switch) and refuse= (actions the
 * "firmware" lacks).
 *
 * A rule is compiled once into st_sim_op instructions that sim_node.c
 * executes per packet: its attributes and pattern here, its actions in
 * sim_flow_actions.c, encapsulation headers in sim_encap.c.
 */
#include <errno.h>
#include <stdarg.h>
#include <string.h>

#include <ethdev_driver.h>
#include <rte_flow_driver.h>
#include <rte_malloc.h>

#include "sim.h"
#include "sim_flow.h"

/* rte_flow_error.message must outlive the call: one buffer per thread. */
static _Thread_local char errbuf[384];

int st_sim_refuse(struct rte_flow_error *error, int err, enum rte_flow_error_type type, const void *cause,
		  const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(errbuf, sizeof(errbuf), fmt, ap);
	va_end(ap);
	return rte_flow_error_set(error, err, type, cause, errbuf);
}

const char *const st_sim_domain_names[ST_SIM_NDOMAINS] = { "ingress", "egress", "transfer" };

const char *st_sim_iname(int t)
{
	const char *n = st_sim_item_name(t);

	return n ? n : "(unknown item)";
}

const char *st_sim_aname(int t)
{
	const char *n = st_sim_action_name(t);

	return n ? n : "(unknown action)";
}

/* The family's own wording first, then what the emulator saw. */
int st_sim_refuse_item(struct st_sim_compile *c, const struct rte_flow_item *item, const char *why)
{
	const struct st_sim_errspec *e = &c->p->err_item;

	return st_sim_refuse(c->error, e->err, RTE_FLOW_ERROR_TYPE_ITEM, item, "%s (%s emulated by " ST_SIM_DRIVER ": %s)",
			     e->msg, c->p->family, why);
}

int st_sim_refuse_action(struct st_sim_compile *c, const struct rte_flow_action *a, const char *why)
{
	const struct st_sim_errspec *e = &c->p->err_action;

	return st_sim_refuse(c->error, e->err, RTE_FLOW_ERROR_TYPE_ACTION, a, "%s (%s emulated by " ST_SIM_DRIVER ": %s)",
			     e->msg, c->p->family, why);
}

/* ---- attributes --------------------------------------------------------- */

static int check_attr(struct st_sim_compile *c)
{
	const struct rte_flow_attr *a = c->attr;
	const struct st_sim_errspec *e = &c->p->err_attr;
	enum rte_flow_error_type dt;

	if (a->transfer) {
		c->d = ST_SIM_TRANSFER;
		dt = RTE_FLOW_ERROR_TYPE_ATTR_TRANSFER;
	} else if (a->ingress && !a->egress) {
		c->d = ST_SIM_INGRESS;
		dt = RTE_FLOW_ERROR_TYPE_ATTR_INGRESS;
	} else if (a->egress && !a->ingress) {
		c->d = ST_SIM_EGRESS;
		dt = RTE_FLOW_ERROR_TYPE_ATTR_EGRESS;
	} else {
		return st_sim_refuse(c->error, EINVAL, RTE_FLOW_ERROR_TYPE_ATTR, a,
				     "must specify exactly one of ingress or egress (or transfer)");
	}
	if (!c->p->domain_on[c->d])
		return st_sim_refuse(c->error, e->err, dt, a, "%s (%s emulated by " ST_SIM_DRIVER ": %s rules are not supported)",
				     e->msg, c->p->family, st_sim_domain_names[c->d]);
	if (c->p->group0_only && a->group != 0)
		return st_sim_refuse(c->error, EINVAL, RTE_FLOW_ERROR_TYPE_ATTR_GROUP, a,
				     "Not support group. (%s emulated by " ST_SIM_DRIVER ": group 0 only)", c->p->family);
	if (c->p->priority0_only && a->priority != 0)
		return st_sim_refuse(c->error, EINVAL, RTE_FLOW_ERROR_TYPE_ATTR_PRIORITY, a,
				     "Not support priority. (%s emulated by " ST_SIM_DRIVER ": priority 0 only)", c->p->family);
	c->r->domain = c->d;
	c->r->group = a->group;
	c->r->priority = a->priority;
	return 0;
}

/* ---- pattern ------------------------------------------------------------ */

/* Header bytes compared for each emulated item, and its default mask. */
static int item_shape(enum rte_flow_item_type t, uint8_t *len, const void **dmask)
{
	switch (t) {
	case RTE_FLOW_ITEM_TYPE_ETH:
		*len = sizeof(struct rte_ether_hdr);
		*dmask = &rte_flow_item_eth_mask;
		return 0;
	case RTE_FLOW_ITEM_TYPE_VLAN:
		*len = 4;
		*dmask = &rte_flow_item_vlan_mask;
		return 0;
	case RTE_FLOW_ITEM_TYPE_IPV4:
		*len = sizeof(struct rte_ipv4_hdr);
		*dmask = &rte_flow_item_ipv4_mask;
		return 0;
	case RTE_FLOW_ITEM_TYPE_IPV6:
		*len = sizeof(struct rte_ipv6_hdr);
		*dmask = &rte_flow_item_ipv6_mask;
		return 0;
	case RTE_FLOW_ITEM_TYPE_TCP:
		*len = sizeof(struct rte_tcp_hdr);
		*dmask = &rte_flow_item_tcp_mask;
		return 0;
	case RTE_FLOW_ITEM_TYPE_UDP:
		*len = sizeof(struct rte_udp_hdr);
		*dmask = &rte_flow_item_udp_mask;
		return 0;
	case RTE_FLOW_ITEM_TYPE_SCTP:
		*len = sizeof(struct rte_sctp_hdr);
		*dmask = &rte_flow_item_sctp_mask;
		return 0;
	case RTE_FLOW_ITEM_TYPE_ICMP:
		*len = sizeof(struct rte_icmp_hdr);
		*dmask = &rte_flow_item_icmp_mask;
		return 0;
	case RTE_FLOW_ITEM_TYPE_ICMP6:
		*len = 4;
		*dmask = &rte_flow_item_icmp6_mask;
		return 0;
	case RTE_FLOW_ITEM_TYPE_VXLAN:
		*len = 8;
		*dmask = &rte_flow_item_vxlan_mask;
		return 0;
	default:
		return -1;
	}
}

static int compile_item(struct st_sim_compile *c, const struct rte_flow_item *item)
{
	struct st_sim_rule *r = c->r;
	struct st_sim_match *m;
	const void *dmask = NULL;
	uint8_t len = 0;
	char why[160];

	if (!st_sim_bit(&c->p->items, item->type)) {
		snprintf(why, sizeof(why), "item %s is not in this profile's items", st_sim_iname(item->type));
		return st_sim_refuse_item(c, item, why);
	}
	if (r->nmatch == ST_SIM_MAX_ITEMS)
		return st_sim_refuse(c->error, ENOTSUP, RTE_FLOW_ERROR_TYPE_ITEM, item, "too many items (at most %d)",
				     ST_SIM_MAX_ITEMS);
	m = &r->match[r->nmatch];
	memset(m, 0, sizeof(*m));
	m->type = item->type;

	switch (item->type) {
	case RTE_FLOW_ITEM_TYPE_MARK: {
		const struct rte_flow_item_mark *s = item->spec, *k = item->mask ? item->mask : &rte_flow_item_mark_mask;

		m->value_mask = s ? k->id : 0;
		m->value = s ? s->id & m->value_mask : 0;
		r->nmatch++;
		return 0;
	}
	case RTE_FLOW_ITEM_TYPE_PORT_ID: {
		const struct rte_flow_item_port_id *s = item->spec,
						   *k = item->mask ? item->mask : &rte_flow_item_port_id_mask;

		m->value_mask = s ? k->id : 0;
		m->value = s ? s->id & m->value_mask : 0;
		r->nmatch++;
		return 0;
	}
	case RTE_FLOW_ITEM_TYPE_REPRESENTED_PORT: {
		const struct rte_flow_item_ethdev *s = item->spec,
						  *k = item->mask ? item->mask : &rte_flow_item_ethdev_mask;

		m->value_mask = s ? k->port_id : 0;
		m->value = s ? (uint32_t)(s->port_id & m->value_mask) : 0;
		r->nmatch++;
		return 0;
	}
	default:
		break;
	}
	if (item_shape(item->type, &len, &dmask) < 0) {
		snprintf(why, sizeof(why), "the profile allows item %s but the emulator does not match on it",
			 st_sim_iname(item->type));
		return st_sim_refuse(c->error, ENOTSUP, RTE_FLOW_ERROR_TYPE_ITEM, item, "item not emulated (%s)", why);
	}
	m->len = len;
	if (item->spec != NULL) {
		const uint8_t *s = item->spec;
		const uint8_t *k = item->mask ? item->mask : dmask;

		for (unsigned int i = 0; i < len; i++) {
			m->mask[i] = k[i];
			m->spec[i] = s[i] & k[i];
		}
		if (item->last != NULL) {
			const uint8_t *l = item->last;

			for (unsigned int i = 0; i < len; i++)
				if ((l[i] & k[i]) != m->spec[i] && l[i] != 0)
					return st_sim_refuse(c->error, ENOTSUP, RTE_FLOW_ERROR_TYPE_ITEM, item,
							     "range is not supported");
		}
		if (item->type == RTE_FLOW_ITEM_TYPE_ETH) {
			const struct rte_flow_item_eth *se = item->spec, *ke = item->mask ? item->mask : &rte_flow_item_eth_mask;

			m->want_vlan = ke->has_vlan;
			m->has_vlan = se->has_vlan;
		}
	} else if (item->mask != NULL || item->last != NULL) {
		return st_sim_refuse(c->error, EINVAL, RTE_FLOW_ERROR_TYPE_ITEM, item, "mask or last without spec");
	}
	switch (item->type) {
	case RTE_FLOW_ITEM_TYPE_ETH:
		c->l2 = true;
		break;
	case RTE_FLOW_ITEM_TYPE_VLAN:
		c->vlan = true;
		break;
	case RTE_FLOW_ITEM_TYPE_IPV4:
		c->ipv4 = true;
		break;
	case RTE_FLOW_ITEM_TYPE_IPV6:
		c->ipv6 = true;
		break;
	case RTE_FLOW_ITEM_TYPE_TCP:
		c->tcp = true;
		break;
	case RTE_FLOW_ITEM_TYPE_UDP:
		c->udp = true;
		break;
	default:
		break;
	}
	r->nmatch++;
	return 0;
}

/* Validates and, when r is not NULL, compiles. */
static int compile_rule(struct st_sim_dev *sd, const struct rte_flow_attr *attr, const struct rte_flow_item pattern[],
			const struct rte_flow_action actions[], struct rte_flow_error *error, struct st_sim_rule *r)
{
	struct st_sim_compile c = { .sd = sd, .p = &sd->profile, .attr = attr, .error = error, .r = r };

	if (attr == NULL)
		return st_sim_refuse(error, EINVAL, RTE_FLOW_ERROR_TYPE_ATTR, NULL, "NULL attribute.");
	if (pattern == NULL)
		return st_sim_refuse(error, EINVAL, RTE_FLOW_ERROR_TYPE_ITEM_NUM, NULL, "NULL pattern.");
	if (actions == NULL)
		return st_sim_refuse(error, EINVAL, RTE_FLOW_ERROR_TYPE_ACTION_NUM, NULL, "NULL action.");
	if (check_attr(&c) < 0)
		return -rte_errno;
	for (const struct rte_flow_item *it = pattern; it->type != RTE_FLOW_ITEM_TYPE_END; it++) {
		if (it->type == RTE_FLOW_ITEM_TYPE_VOID)
			continue;
		if (compile_item(&c, it) < 0)
			return -rte_errno;
	}
	if (st_sim_compile_actions(&c, actions, false, ST_SIM_SC_INGRESS, r->ops, ST_SIM_MAX_OPS, &r->nops) < 0)
		return -rte_errno;
	if (c.sample && c.modify && sd->profile.mwm == ST_SIM_MWM_UNSUPPORTED)
		return st_sim_refuse_action(&c, c.first_modify,
					    "a header rewrite cannot be combined with SAMPLE in one rule for this family");
	return 0;
}

/* ---- rte_flow_ops --------------------------------------------------------- */

static int sim_flow_validate(struct rte_eth_dev *dev, const struct rte_flow_attr *attr,
			     const struct rte_flow_item pattern[], const struct rte_flow_action actions[],
			     struct rte_flow_error *error)
{
	struct st_sim_dev *sd = dev->data->dev_private;
	struct st_sim_rule *scratch = rte_zmalloc("shadowsim_validate", sizeof(*scratch), 0);
	int rc;

	if (scratch == NULL)
		return st_sim_refuse(error, ENOMEM, RTE_FLOW_ERROR_TYPE_UNSPECIFIED, NULL, "cannot allocate memory for validation");
	rc = compile_rule(sd, attr, pattern, actions, error, scratch);
	rte_free(scratch);
	return rc;
}

static struct rte_flow *sim_flow_create(struct rte_eth_dev *dev, const struct rte_flow_attr *attr,
					const struct rte_flow_item pattern[], const struct rte_flow_action actions[],
					struct rte_flow_error *error)
{
	struct st_sim_dev *sd = dev->data->dev_private;
	const struct st_sim_profile *p = &sd->profile;
	struct st_sim_rule *r, *it;

	if (p->create_fails.set) {
		st_sim_refuse(error, p->create_fails.err, p->create_fails.type, NULL, "%s (%s emulated by " ST_SIM_DRIVER
			      ": flow creation is disabled on this device)", p->create_fails.msg, p->family);
		return NULL;
	}
	r = rte_zmalloc("shadowsim_rule", sizeof(*r), 0);
	if (r == NULL) {
		st_sim_refuse(error, ENOMEM, RTE_FLOW_ERROR_TYPE_HANDLE, NULL, "cannot allocate memory for rte_flow");
		return NULL;
	}
	if (compile_rule(sd, attr, pattern, actions, error, r) < 0) {
		rte_free(r);
		return NULL;
	}
	rte_rwlock_write_lock(&sd->rules_lock);
	if (sd->capacity != ST_SIM_UNLIMITED && (uint64_t)sd->nrules + sd->reserved >= sd->capacity) {
		rte_rwlock_write_unlock(&sd->rules_lock);
		rte_free(r);
		st_sim_refuse(error, p->err_full.err, p->err_full.type, NULL, "%s (%s emulated by " ST_SIM_DRIVER
			      ": rule table full, capacity %u, %u held elsewhere)", p->err_full.msg, p->family, sd->capacity,
			      sd->reserved);
		return NULL;
	}
	r->id = sd->next_rule_id++;
	/* lookup order: group, then priority (0 first), then creation */
	TAILQ_FOREACH(it, &sd->rules, next) {
		if (it->group > r->group || (it->group == r->group && it->priority > r->priority))
			break;
	}
	if (it != NULL)
		TAILQ_INSERT_BEFORE(it, r, next);
	else
		TAILQ_INSERT_TAIL(&sd->rules, r, next);
	sd->nrules++;
	__atomic_fetch_add(&sd->nrules_domain[r->domain], 1, __ATOMIC_RELAXED);
	rte_rwlock_write_unlock(&sd->rules_lock);
	return (struct rte_flow *)r;
}

static int sim_flow_destroy(struct rte_eth_dev *dev, struct rte_flow *flow, struct rte_flow_error *error)
{
	struct st_sim_dev *sd = dev->data->dev_private;
	struct st_sim_rule *r;

	rte_rwlock_write_lock(&sd->rules_lock);
	TAILQ_FOREACH(r, &sd->rules, next)
		if ((struct rte_flow *)r == flow)
			break;
	if (r == NULL) {
		rte_rwlock_write_unlock(&sd->rules_lock);
		return st_sim_refuse(error, EINVAL, RTE_FLOW_ERROR_TYPE_HANDLE, flow, "invalid flow handle");
	}
	TAILQ_REMOVE(&sd->rules, r, next);
	sd->nrules--;
	__atomic_fetch_sub(&sd->nrules_domain[r->domain], 1, __ATOMIC_RELAXED);
	rte_rwlock_write_unlock(&sd->rules_lock);
	rte_free(r);
	return 0;
}

void st_sim_flow_flush_all(struct st_sim_dev *sd)
{
	struct st_sim_rule *r;

	rte_rwlock_write_lock(&sd->rules_lock);
	while ((r = TAILQ_FIRST(&sd->rules)) != NULL) {
		TAILQ_REMOVE(&sd->rules, r, next);
		rte_free(r);
	}
	sd->nrules = 0;
	for (int d = 0; d < ST_SIM_NDOMAINS; d++)
		__atomic_store_n(&sd->nrules_domain[d], 0, __ATOMIC_RELAXED);
	rte_rwlock_write_unlock(&sd->rules_lock);
}

static int sim_flow_flush(struct rte_eth_dev *dev, struct rte_flow_error *error)
{
	(void)error;
	st_sim_flow_flush_all(dev->data->dev_private);
	return 0;
}

static int sim_flow_query(struct rte_eth_dev *dev, struct rte_flow *flow, const struct rte_flow_action *action,
			  void *data, struct rte_flow_error *error)
{
	struct st_sim_dev *sd = dev->data->dev_private;
	struct rte_flow_query_count *q = data;
	struct st_sim_counter *ctr = NULL;
	struct st_sim_rule *r;
	int rc = 0;

	if (action == NULL || data == NULL)
		return st_sim_refuse(error, EINVAL, RTE_FLOW_ERROR_TYPE_ACTION, action, "query needs an action and a result buffer");
	if (action->type != RTE_FLOW_ACTION_TYPE_COUNT)
		return st_sim_refuse(error, ENOTSUP, RTE_FLOW_ERROR_TYPE_ACTION, action, "action not supported");
	rte_rwlock_read_lock(&sd->rules_lock);
	TAILQ_FOREACH(r, &sd->rules, next)
		if ((struct rte_flow *)r == flow)
			break;
	if (r == NULL) {
		rc = st_sim_refuse(error, EINVAL, RTE_FLOW_ERROR_TYPE_HANDLE, flow, "invalid flow handle");
	} else if (r->has_count) {
		ctr = &r->counter;
	} else if (r->has_sample_count) {
		ctr = &r->sample_counter;
	} else {
		rc = st_sim_refuse(error, EINVAL, RTE_FLOW_ERROR_TYPE_UNSPECIFIED, NULL, "counters are not available");
	}
	if (ctr != NULL) {
		q->hits_set = 1;
		q->bytes_set = 1;
		q->hits = __atomic_load_n(&ctr->hits, __ATOMIC_RELAXED);
		q->bytes = __atomic_load_n(&ctr->bytes, __ATOMIC_RELAXED);
		if (q->reset) {
			__atomic_fetch_sub(&ctr->hits, q->hits, __ATOMIC_RELAXED);
			__atomic_fetch_sub(&ctr->bytes, q->bytes, __ATOMIC_RELAXED);
		}
	}
	rte_rwlock_read_unlock(&sd->rules_lock);
	return rc;
}

const struct rte_flow_ops st_sim_flow_ops = {
	.validate = sim_flow_validate,
	.create = sim_flow_create,
	.destroy = sim_flow_destroy,
	.flush = sim_flow_flush,
	.query = sim_flow_query,
};
