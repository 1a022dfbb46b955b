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
 * A rule is compiled once, here, into st_sim_op instructions that
 * sim_node.c executes per packet.
 */
#include <errno.h>
#include <stdarg.h>
#include <string.h>

#include <ethdev_driver.h>
#include <rte_flow_driver.h>
#include <rte_malloc.h>

#include "sim.h"

/* rte_flow_error.message must outlive the call: one buffer per thread. */
static _Thread_local char errbuf[384];

static int refuse(struct rte_flow_error *error, int err, enum rte_flow_error_type type, const void *cause,
		  const char *fmt, ...) __attribute__((format(printf, 5, 6)));

static int refuse(struct rte_flow_error *error, int err, enum rte_flow_error_type type, const void *cause,
		  const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(errbuf, sizeof(errbuf), fmt, ap);
	va_end(ap);
	return rte_flow_error_set(error, err, type, cause, errbuf);
}

static const char *const domain_names[ST_SIM_NDOMAINS] = { "ingress", "egress", "transfer" };

struct compile {
	struct st_sim_dev *sd;
	const struct st_sim_profile *p;
	const struct rte_flow_attr *attr;
	struct rte_flow_error *error;
	struct st_sim_rule *r;
	enum st_sim_domain d;
	/* what the pattern names */
	bool l2, vlan, ipv4, ipv6, tcp, udp;
	/* what the actions so far did */
	int fates;
	bool encap, pushed_vlan, sample, jump;
	bool modify;
	const struct rte_flow_action *first_modify;
};

static const char *iname(int t)
{
	const char *n = st_sim_item_name(t);

	return n ? n : "(unknown item)";
}

static const char *aname(int t)
{
	const char *n = st_sim_action_name(t);

	return n ? n : "(unknown action)";
}

/* The family's own wording first, then what the emulator saw. */
static int refuse_item(struct compile *c, const struct rte_flow_item *item, const char *why)
{
	const struct st_sim_errspec *e = &c->p->err_item;

	return refuse(c->error, e->err, RTE_FLOW_ERROR_TYPE_ITEM, item, "%s (%s emulated by " ST_SIM_DRIVER ": %s)",
		      e->msg, c->p->family, why);
}

static int refuse_action(struct compile *c, const struct rte_flow_action *a, const char *why)
{
	const struct st_sim_errspec *e = &c->p->err_action;

	return refuse(c->error, e->err, RTE_FLOW_ERROR_TYPE_ACTION, a, "%s (%s emulated by " ST_SIM_DRIVER ": %s)",
		      e->msg, c->p->family, why);
}

/* ---- attributes --------------------------------------------------------- */

static int check_attr(struct compile *c)
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
		return refuse(c->error, EINVAL, RTE_FLOW_ERROR_TYPE_ATTR, a,
			      "must specify exactly one of ingress or egress (or transfer)");
	}
	if (!c->p->domain_on[c->d])
		return refuse(c->error, e->err, dt, a, "%s (%s emulated by " ST_SIM_DRIVER ": %s rules are not supported)",
			      e->msg, c->p->family, domain_names[c->d]);
	if (c->p->group0_only && a->group != 0)
		return refuse(c->error, EINVAL, RTE_FLOW_ERROR_TYPE_ATTR_GROUP, a,
			      "Not support group. (%s emulated by " ST_SIM_DRIVER ": group 0 only)", c->p->family);
	if (c->p->priority0_only && a->priority != 0)
		return refuse(c->error, EINVAL, RTE_FLOW_ERROR_TYPE_ATTR_PRIORITY, a,
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

static int compile_item(struct compile *c, const struct rte_flow_item *item)
{
	struct st_sim_rule *r = c->r;
	struct st_sim_match *m;
	const void *dmask = NULL;
	uint8_t len = 0;
	char why[160];

	if (!st_sim_bit(&c->p->items, item->type)) {
		snprintf(why, sizeof(why), "item %s is not in this profile's items", iname(item->type));
		return refuse_item(c, item, why);
	}
	if (r->nmatch == ST_SIM_MAX_ITEMS)
		return refuse(c->error, ENOTSUP, RTE_FLOW_ERROR_TYPE_ITEM, item, "too many items (at most %d)",
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
			 iname(item->type));
		return refuse(c->error, ENOTSUP, RTE_FLOW_ERROR_TYPE_ITEM, item, "item not emulated (%s)", why);
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
					return refuse(c->error, ENOTSUP, RTE_FLOW_ERROR_TYPE_ITEM, item,
						      "range is not supported");
		}
		if (item->type == RTE_FLOW_ITEM_TYPE_ETH) {
			const struct rte_flow_item_eth *se = item->spec, *ke = item->mask ? item->mask : &rte_flow_item_eth_mask;

			m->want_vlan = ke->has_vlan;
			m->has_vlan = se->has_vlan;
		}
	} else if (item->mask != NULL || item->last != NULL) {
		return refuse(c->error, EINVAL, RTE_FLOW_ERROR_TYPE_ITEM, item, "mask or last without spec");
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

/* ---- encapsulation templates ------------------------------------------------ */

/* Where the outer IP and UDP headers of an encapsulation header are, so the
 * executor can fill the length fields and the IPv4 checksum as the NIC does. */
void st_sim_encap_locate(const uint8_t *buf, uint16_t len, uint16_t *l3_off, uint8_t *l3, uint16_t *l4_off)
{
	uint16_t off = 14, type;
	uint8_t proto = 0;

	*l3_off = 0;
	*l3 = 0;
	*l4_off = 0;
	if (len < 14)
		return;
	type = (uint16_t)(buf[12] << 8 | buf[13]);
	while ((type == RTE_ETHER_TYPE_VLAN || type == RTE_ETHER_TYPE_QINQ) && off + 4 <= len) {
		type = (uint16_t)(buf[off + 2] << 8 | buf[off + 3]);
		off += 4;
	}
	if (type == RTE_ETHER_TYPE_IPV4 && off + 20 <= len) {
		*l3_off = off;
		*l3 = 4;
		proto = buf[off + 9];
		off += (uint16_t)((buf[off] & 0x0f) * 4);
	} else if (type == RTE_ETHER_TYPE_IPV6 && off + 40 <= len) {
		*l3_off = off;
		*l3 = 6;
		proto = buf[off + 6];
		off += 40;
	} else {
		return;
	}
	if (proto == IPPROTO_UDP && off + 8 <= len)
		*l4_off = off;
}

/* Builds the header of VXLAN_ENCAP / NVGRE_ENCAP from its item list, filling
 * what the application left zero the way mlx5 does (EtherType, IPv4
 * version/IHL and TTL 64, IPv6 version and hop limit 255, UDP port 4789,
 * VXLAN flags, IP protocol). */
int st_sim_encap_template(const struct rte_flow_item *def, uint8_t *buf, uint16_t *len, uint16_t *l3_off,
			  uint8_t *l3, uint16_t *l4_off, const char **why)
{
	struct rte_ether_hdr *eth = NULL;
	struct rte_vlan_hdr *vlan = NULL;
	struct rte_ipv4_hdr *ipv4 = NULL;
	struct rte_ipv6_hdr *ipv6 = NULL;
	struct rte_udp_hdr *udp = NULL;
	uint16_t n = 0;

	if (def == NULL) {
		*why = "invalid empty data";
		return -EINVAL;
	}
	for (; def->type != RTE_FLOW_ITEM_TYPE_END; def++) {
		uint16_t hl;

		switch (def->type) {
		case RTE_FLOW_ITEM_TYPE_VOID:
			continue;
		case RTE_FLOW_ITEM_TYPE_ETH:
			hl = sizeof(struct rte_ether_hdr);
			break;
		case RTE_FLOW_ITEM_TYPE_VLAN:
			hl = sizeof(struct rte_vlan_hdr);
			break;
		case RTE_FLOW_ITEM_TYPE_IPV4:
			hl = sizeof(struct rte_ipv4_hdr);
			break;
		case RTE_FLOW_ITEM_TYPE_IPV6:
			hl = sizeof(struct rte_ipv6_hdr);
			break;
		case RTE_FLOW_ITEM_TYPE_UDP:
			hl = sizeof(struct rte_udp_hdr);
			break;
		case RTE_FLOW_ITEM_TYPE_VXLAN:
			hl = sizeof(struct rte_vxlan_hdr);
			break;
		case RTE_FLOW_ITEM_TYPE_NVGRE:
			hl = 8;
			break;
		default:
			*why = "unsupported item in the encapsulation definition";
			return -ENOTSUP;
		}
		if (n + hl > ST_SIM_ENCAP_MAX) {
			*why = "items total size is too big for encap action";
			return -EINVAL;
		}
		if (def->spec == NULL) {
			*why = "encapsulation item without spec";
			return -EINVAL;
		}
		memcpy(buf + n, def->spec, hl);
		switch (def->type) {
		case RTE_FLOW_ITEM_TYPE_ETH:
			eth = (struct rte_ether_hdr *)(buf + n);
			break;
		case RTE_FLOW_ITEM_TYPE_VLAN:
			if (eth == NULL) {
				*why = "eth header not found";
				return -EINVAL;
			}
			vlan = (struct rte_vlan_hdr *)(buf + n);
			if (eth->ether_type == 0)
				eth->ether_type = RTE_BE16(RTE_ETHER_TYPE_VLAN);
			break;
		case RTE_FLOW_ITEM_TYPE_IPV4:
			if (eth == NULL) {
				*why = "neither eth nor vlan header found";
				return -EINVAL;
			}
			ipv4 = (struct rte_ipv4_hdr *)(buf + n);
			if (vlan != NULL && vlan->eth_proto == 0)
				vlan->eth_proto = RTE_BE16(RTE_ETHER_TYPE_IPV4);
			else if (vlan == NULL && eth->ether_type == 0)
				eth->ether_type = RTE_BE16(RTE_ETHER_TYPE_IPV4);
			if (ipv4->version_ihl == 0)
				ipv4->version_ihl = 0x45;
			if (ipv4->time_to_live == 0)
				ipv4->time_to_live = 64;
			break;
		case RTE_FLOW_ITEM_TYPE_IPV6:
			if (eth == NULL) {
				*why = "neither eth nor vlan header found";
				return -EINVAL;
			}
			ipv6 = (struct rte_ipv6_hdr *)(buf + n);
			if (vlan != NULL && vlan->eth_proto == 0)
				vlan->eth_proto = RTE_BE16(RTE_ETHER_TYPE_IPV6);
			else if (vlan == NULL && eth->ether_type == 0)
				eth->ether_type = RTE_BE16(RTE_ETHER_TYPE_IPV6);
			if (ipv6->vtc_flow == 0)
				ipv6->vtc_flow = RTE_BE32(0x60000000);
			if (ipv6->hop_limits == 0)
				ipv6->hop_limits = 0xff;
			break;
		case RTE_FLOW_ITEM_TYPE_UDP:
			if (ipv4 == NULL && ipv6 == NULL) {
				*why = "ip header not found";
				return -EINVAL;
			}
			udp = (struct rte_udp_hdr *)(buf + n);
			if (ipv4 != NULL && ipv4->next_proto_id == 0)
				ipv4->next_proto_id = IPPROTO_UDP;
			else if (ipv6 != NULL && ipv6->proto == 0)
				ipv6->proto = IPPROTO_UDP;
			break;
		case RTE_FLOW_ITEM_TYPE_VXLAN: {
			struct rte_vxlan_hdr *vx = (struct rte_vxlan_hdr *)(buf + n);

			if (udp == NULL) {
				*why = "udp header not found";
				return -EINVAL;
			}
			if (udp->dst_port == 0)
				udp->dst_port = RTE_BE16(RTE_VXLAN_DEFAULT_PORT);
			if (vx->vx_flags == 0)
				vx->vx_flags = RTE_BE32(0x08000000);
			break;
		}
		case RTE_FLOW_ITEM_TYPE_NVGRE: {
			/* c_k_s_rsvd0_ver, protocol, tni[3], flow_id */
			uint8_t *g = buf + n;

			if (g[2] == 0 && g[3] == 0) {
				*why = "next protocol not found";
				return -EINVAL;
			}
			if (ipv4 == NULL && ipv6 == NULL) {
				*why = "ip header not found";
				return -EINVAL;
			}
			if (ipv4 != NULL && ipv4->next_proto_id == 0)
				ipv4->next_proto_id = IPPROTO_GRE;
			else if (ipv6 != NULL && ipv6->proto == 0)
				ipv6->proto = IPPROTO_GRE;
			break;
		}
		default:
			break;
		}
		n += hl;
	}
	if (n == 0) {
		*why = "invalid empty data";
		return -EINVAL;
	}
	*len = n;
	st_sim_encap_locate(buf, n, l3_off, l3, l4_off);
	return 0;
}

/* ---- actions ------------------------------------------------------------ */

static int need_conf(struct compile *c, const struct rte_flow_action *a)
{
	if (a->conf == NULL)
		return refuse(c->error, EINVAL, RTE_FLOW_ERROR_TYPE_ACTION, a, "configuration cannot be NULL");
	return 0;
}

static int check_queue(struct compile *c, const struct rte_flow_action *a, uint16_t q)
{
	uint16_t n = c->sd->eth->data->nb_rx_queues;

	if (q >= n)
		return refuse(c->error, EINVAL, RTE_FLOW_ERROR_TYPE_ACTION_CONF, a->conf,
			      "queue index out of range (queue %u, the port has %u rx queues)", q, n);
	return 0;
}

static int check_port(struct compile *c, const struct rte_flow_action *a, uint32_t port)
{
	if (port >= RTE_MAX_ETHPORTS || !rte_eth_dev_is_valid_port((uint16_t)port))
		return refuse(c->error, EINVAL, RTE_FLOW_ERROR_TYPE_ACTION_CONF, a->conf,
			      "invalid port id %u: no such ethdev port", port);
	return 0;
}

/* A transfer rule may send only to a port of this port's E-Switch, as mlx5
 * checks it (DPDK 22.11 flow_dv_validate_action_port_id(): EINVAL, with its
 * three messages). Sending to this port itself needs no E-Switch. The text
 * after mlx5's is kept short: applications copy ~128 characters of it. */
static int check_eswitch(struct compile *c, const struct rte_flow_action *a, uint32_t port)
{
	const struct st_sim_dev *sd = c->sd;
	struct rte_eth_dev_info info;

	if (port == sd->port_id)
		return 0;
	if (sd->switch_domain < 0)
		return refuse(c->error, EINVAL, RTE_FLOW_ERROR_TYPE_UNSPECIFIED, NULL,
			      "failed to obtain E-Switch info (%s emulated by " ST_SIM_DRIVER
			      ": port %u is on no E-Switch: no switch_domain devarg)",
			      c->p->family, sd->port_id);
	if (rte_eth_dev_info_get((uint16_t)port, &info) != 0 ||
	    info.switch_info.domain_id == RTE_ETH_DEV_SWITCH_DOMAIN_ID_INVALID)
		return refuse(c->error, EINVAL, RTE_FLOW_ERROR_TYPE_ACTION_CONF, a->conf,
			      "failed to obtain E-Switch port id for port (%s emulated by " ST_SIM_DRIVER
			      ": port %u is on no E-Switch)",
			      c->p->family, port);
	if (info.switch_info.domain_id != (uint16_t)sd->switch_domain)
		return refuse(c->error, EINVAL, RTE_FLOW_ERROR_TYPE_ACTION, a,
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

static int set_field_op(struct compile *c, const struct rte_flow_action *a, struct st_sim_op *op,
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
static int need_layer(struct compile *c, const struct rte_flow_action *a, bool present, const char *msg)
{
	if (!present)
		return refuse(c->error, EINVAL, RTE_FLOW_ERROR_TYPE_ACTION, a, "%s", msg);
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

static int layer_for_field(struct compile *c, const struct rte_flow_action *a, enum st_sim_field f)
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

static int compile_modify_field(struct compile *c, const struct rte_flow_action *a, struct st_sim_op *op)
{
	const struct rte_flow_action_modify_field *mf = a->conf;
	enum st_sim_field dst, src = ST_SIM_F_NONE;
	unsigned int dbits, sbits;

	if (mf->operation != RTE_FLOW_MODIFY_SET)
		return refuse(c->error, ENOTSUP, RTE_FLOW_ERROR_TYPE_ACTION, a,
			      "modify_field: the emulator executes operation SET only");
	if (field_of(mf->dst.field, &dst, &dbits) < 0)
		return refuse(c->error, ENOTSUP, RTE_FLOW_ERROR_TYPE_ACTION, a,
			      "modify_field: destination field %d is not emulated (MAC, IPv4/IPv6 address, TCP/UDP port, TTL, hop limit)",
			      (int)mf->dst.field);
	if (mf->dst.level > 1 || mf->dst.offset != 0 || mf->width != dbits)
		return refuse(c->error, ENOTSUP, RTE_FLOW_ERROR_TYPE_ACTION, a,
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
			return refuse(c->error, EINVAL, RTE_FLOW_ERROR_TYPE_ACTION_CONF, a->conf,
				      "modify_field: NULL source pointer");
		memcpy(op->u.set.value, mf->src.pvalue, (dbits + 7) / 8);
	} else if (field_of(mf->src.field, &src, &sbits) == 0 && sbits == dbits && mf->src.offset == 0) {
		op->kind = ST_SIM_OP_COPY_FIELD;
		op->u.set.from = src;
		if (layer_for_field(c, a, src) < 0)
			return -rte_errno;
	} else {
		return refuse(c->error, ENOTSUP, RTE_FLOW_ERROR_TYPE_ACTION, a,
			      "modify_field: source must be a value, a pointer or a whole field of the same width");
	}
	return layer_for_field(c, a, dst);
}

static int compile_rss(struct compile *c, const struct rte_flow_action *a, struct st_sim_op *op)
{
	const struct rte_flow_action_rss *rss = a->conf;

	if (rss->queue_num == 0)
		return refuse(c->error, EINVAL, RTE_FLOW_ERROR_TYPE_ACTION_CONF, a->conf, "no queues were provided for RSS");
	if (rss->queue_num > ST_SIM_MAX_QUEUES)
		return refuse(c->error, ENOTSUP, RTE_FLOW_ERROR_TYPE_ACTION_CONF, a->conf, "too many queues for RSS context");
	if (rss->func != RTE_ETH_HASH_FUNCTION_DEFAULT && rss->func != RTE_ETH_HASH_FUNCTION_TOEPLITZ)
		return refuse(c->error, ENOTSUP, RTE_FLOW_ERROR_TYPE_ACTION_CONF, a->conf,
			      "RSS hash function not supported");
	if (rss->level > 1)
		return refuse(c->error, ENOTSUP, RTE_FLOW_ERROR_TYPE_ACTION_CONF, a->conf,
			      "tunnel RSS is not supported");
	if (rss->key_len != 0 && rss->key_len != 40)
		return refuse(c->error, ENOTSUP, RTE_FLOW_ERROR_TYPE_ACTION_CONF, a->conf,
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

static int compile_list(struct compile *c, const struct rte_flow_action *actions, bool in_sample,
			enum st_sim_sample_case sc, struct st_sim_op *ops, uint16_t max, uint16_t *nops);

static int compile_sample(struct compile *c, const struct rte_flow_action *a, struct st_sim_op *op)
{
	const struct st_sim_profile *p = c->p;
	const struct rte_flow_action_sample *s = a->conf;
	enum st_sim_sample_case sc;
	bool dest = false, any = false;
	char why[200];

	if (p->sample_indirect_only)
		return refuse_action(c, a, "SAMPLE is accepted only as an indirect (shared) action, not in a rule's action list");
	if (!p->sample_domain[c->d]) {
		snprintf(why, sizeof(why), "SAMPLE is not supported in %s rules", domain_names[c->d]);
		return refuse_action(c, a, why);
	}
	if (need_conf(c, a) < 0)
		return -rte_errno;
	if (s->ratio == 0)
		return refuse(c->error, EINVAL, RTE_FLOW_ERROR_TYPE_ACTION, a, "ratio value starts from 1");
	if (s->ratio == 1 && !p->sample_mirror)
		return refuse_action(c, a, "SAMPLE with ratio 1 (mirror every packet) is not supported");
	if (s->ratio > 1 && !p->sample_fractional) {
		snprintf(why, sizeof(why), "SAMPLE with ratio %u (one packet in %u) is not supported; only ratio 1",
			 s->ratio, s->ratio);
		return refuse_action(c, a, why);
	}
	if (c->sample)
		return refuse(c->error, EINVAL, RTE_FLOW_ERROR_TYPE_ACTION, NULL, "Multiple sample actions not supported");
	if (c->jump)
		return refuse(c->error, EINVAL, RTE_FLOW_ERROR_TYPE_ACTION, a,
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
	if (compile_list(c, s->actions, true, sc, c->r->sub_ops, ST_SIM_MAX_SUB_OPS, &op->u.sample.nsub) < 0)
		return -rte_errno;
	for (uint16_t i = 0; i < op->u.sample.nsub; i++) {
		enum st_sim_op_kind k = c->r->sub_ops[i].kind;

		any = true;
		if (k == ST_SIM_OP_QUEUE || k == ST_SIM_OP_RSS || k == ST_SIM_OP_PORT)
			dest = true;
	}
	if (c->d == ST_SIM_INGRESS && !dest)
		return refuse(c->error, EINVAL, RTE_FLOW_ERROR_TYPE_ACTION, NULL, "Ingress must has a dest QUEUE for Sample");
	if (c->d == ST_SIM_TRANSFER && any && !dest)
		return refuse(c->error, EINVAL, RTE_FLOW_ERROR_TYPE_ACTION, NULL,
			      "E-Switch must has a dest port for mirroring");
	c->r->has_sample = true;
	return 0;
}

static int compile_action(struct compile *c, const struct rte_flow_action *a, bool in_sample,
			  enum st_sim_sample_case sc, struct st_sim_op *op)
{
	const struct st_sim_profile *p = c->p;
	char why[200];

	memset(op, 0, sizeof(*op));
	/* devarg refuse=: firmware without what the profile claims. Refused as
	 * the family refuses any action it lacks, in a SAMPLE list too. */
	if (st_sim_bit(&c->sd->refused, a->type)) {
		snprintf(why, sizeof(why), "refuse= devarg: this device lacks %s, the profile aside", aname(a->type));
		return refuse_action(c, a, why);
	}
	if (in_sample) {
		if (!p->sample_sub_known[sc]) {
			snprintf(why, sizeof(why), "which actions the sampled copy may carry is undocumented for %s; none accepted",
				 p->family);
			return refuse_action(c, a, why);
		}
		if (!st_sim_bit(&p->sample_sub[sc], a->type)) {
			snprintf(why, sizeof(why), "%s is not allowed in the SAMPLE action list here (%s)", aname(a->type),
				 sc == ST_SIM_SC_TRANSFER_RATIO_ABOVE_1 ? "transfer, ratio above 1" : domain_names[c->d]);
			return refuse(c->error, p->err_action.err, RTE_FLOW_ERROR_TYPE_ACTION, a,
				      "Doesn't support optional action (%s emulated by " ST_SIM_DRIVER ": %s)", p->family,
				      why);
		}
	} else if (!st_sim_bit(&p->actions[c->d], a->type)) {
		snprintf(why, sizeof(why), "%s is not in this profile's %s actions", aname(a->type), domain_names[c->d]);
		if (p->rss_error_unset && c->sd->quirk_error_unset && a->type == RTE_FLOW_ACTION_TYPE_RSS) {
			/* net_tap 22.11: fails without filling struct rte_flow_error */
			rte_errno = ENOTSUP;
			return -ENOTSUP;
		}
		return refuse_action(c, a, why);
	}
	if (!in_sample && is_fate(a->type)) {
		if (++c->fates > 1)
			return refuse(c->error, EINVAL, RTE_FLOW_ERROR_TYPE_ACTION, a, "can't have 2 fate actions in same flow");
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
			return refuse(c->error, ENOTSUP, RTE_FLOW_ERROR_TYPE_ACTION, a, "mark action not supported for egress");
		op->kind = ST_SIM_OP_MARK;
		op->u.mark = ((const struct rte_flow_action_mark *)a->conf)->id;
		return 0;
	case RTE_FLOW_ACTION_TYPE_FLAG:
		if (c->d == ST_SIM_EGRESS)
			return refuse(c->error, ENOTSUP, RTE_FLOW_ERROR_TYPE_ACTION, a, "flag action not supported for egress");
		op->kind = ST_SIM_OP_FLAG;
		return 0;
	case RTE_FLOW_ACTION_TYPE_QUEUE:
		if (need_conf(c, a) < 0)
			return -rte_errno;
		if (c->d != ST_SIM_INGRESS)
			return refuse(c->error, ENOTSUP, RTE_FLOW_ERROR_TYPE_ACTION, a, "queue action not supported for %s",
				      domain_names[c->d]);
		op->kind = ST_SIM_OP_QUEUE;
		op->u.queue = ((const struct rte_flow_action_queue *)a->conf)->index;
		return check_queue(c, a, op->u.queue);
	case RTE_FLOW_ACTION_TYPE_RSS:
		if (need_conf(c, a) < 0)
			return -rte_errno;
		if (c->d != ST_SIM_INGRESS)
			return refuse(c->error, ENOTSUP, RTE_FLOW_ERROR_TYPE_ACTION, a, "rss action not supported for %s",
				      domain_names[c->d]);
		return compile_rss(c, a, op);
	case RTE_FLOW_ACTION_TYPE_JUMP:
		if (need_conf(c, a) < 0)
			return -rte_errno;
		op->kind = ST_SIM_OP_JUMP;
		op->u.group = ((const struct rte_flow_action_jump *)a->conf)->group;
		if (op->u.group == c->attr->group)
			return refuse(c->error, EINVAL, RTE_FLOW_ERROR_TYPE_ACTION, a,
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
			return refuse(c->error, ENOTSUP, RTE_FLOW_ERROR_TYPE_ACTION, a,
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
			return refuse(c->error, ENOTSUP, RTE_FLOW_ERROR_TYPE_ACTION, a,
				      "action not emulated (the profile allows action port_representor but the emulator does not execute it)");
		op->kind = ST_SIM_OP_PORT;
		op->u.port = (uint16_t)port;
		return 0;
	}
	case RTE_FLOW_ACTION_TYPE_SAMPLE:
		if (in_sample)
			return refuse(c->error, EINVAL, RTE_FLOW_ERROR_TYPE_ACTION, a, "nested sample actions are not supported");
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
				return refuse(c->error, EINVAL, RTE_FLOW_ERROR_TYPE_ACTION, a, "raw encap data cannot be empty");
			if (raw->size > ST_SIM_ENCAP_MAX)
				return refuse(c->error, EINVAL, RTE_FLOW_ERROR_TYPE_ACTION, a,
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
				return refuse(c->error, EINVAL, RTE_FLOW_ERROR_TYPE_ACTION, a, "%s", reason);
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
		return refuse(c->error, EINVAL, RTE_FLOW_ERROR_TYPE_ACTION, a, "can't have encap action before modify action");
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
			return refuse(c->error, EINVAL, RTE_FLOW_ERROR_TYPE_ACTION, a, "invalid vlan ethertype");
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
			return refuse(c->error, EINVAL, RTE_FLOW_ERROR_TYPE_ACTION, a, "VLAN VID value is too big");
		if (!c->pushed_vlan && !c->vlan)
			return refuse(c->error, EINVAL, RTE_FLOW_ERROR_TYPE_ACTION, a,
				      "set VLAN VID action must follow push VLAN action or match on VLAN item");
		break;
	case RTE_FLOW_ACTION_TYPE_OF_SET_VLAN_PCP:
		if (need_conf(c, a) < 0)
			return -rte_errno;
		op->kind = ST_SIM_OP_SET_VLAN_PCP;
		op->modifies = true;
		op->u.pcp = ((const struct rte_flow_action_of_set_vlan_pcp *)a->conf)->vlan_pcp;
		if (op->u.pcp > 7)
			return refuse(c->error, EINVAL, RTE_FLOW_ERROR_TYPE_ACTION, a, "VLAN PCP value is too big");
		if (!c->pushed_vlan && !c->vlan)
			return refuse(c->error, EINVAL, RTE_FLOW_ERROR_TYPE_ACTION, a,
				      "set VLAN PCP action must follow push VLAN action or match on VLAN item");
		break;
	case RTE_FLOW_ACTION_TYPE_OF_POP_VLAN:
		if (!c->vlan)
			return refuse(c->error, ENOTSUP, RTE_FLOW_ERROR_TYPE_ACTION, a,
				      "cannot pop vlan without a match on (outer) vlan in the flow pattern");
		op->kind = ST_SIM_OP_POP_VLAN;
		op->modifies = true;
		break;
	default:
		snprintf(why, sizeof(why), "the profile allows action %s but the emulator does not execute it",
			 aname(a->type));
		return refuse(c->error, ENOTSUP, RTE_FLOW_ERROR_TYPE_ACTION, a, "action not emulated (%s)", why);
	}
	if (!in_sample) {
		c->modify = true;
		if (c->first_modify == NULL)
			c->first_modify = a;
	}
	return 0;
}

static int compile_list(struct compile *c, const struct rte_flow_action *actions, bool in_sample,
			enum st_sim_sample_case sc, struct st_sim_op *ops, uint16_t max, uint16_t *nops)
{
	*nops = 0;
	if (actions == NULL)
		return in_sample ? 0 : refuse(c->error, EINVAL, RTE_FLOW_ERROR_TYPE_ACTION_NUM, NULL, "NULL action.");
	for (const struct rte_flow_action *a = actions; a->type != RTE_FLOW_ACTION_TYPE_END; a++) {
		if (a->type == RTE_FLOW_ACTION_TYPE_VOID)
			continue;
		if (*nops == max)
			return refuse(c->error, ENOTSUP, RTE_FLOW_ERROR_TYPE_ACTION, a, "too many actions");
		if (compile_action(c, a, in_sample, sc, &ops[*nops]) < 0)
			return -rte_errno;
		(*nops)++;
	}
	return 0;
}

/* Validates and, when r is not NULL, compiles. */
static int compile_rule(struct st_sim_dev *sd, const struct rte_flow_attr *attr, const struct rte_flow_item pattern[],
			const struct rte_flow_action actions[], struct rte_flow_error *error, struct st_sim_rule *r)
{
	struct compile c = { .sd = sd, .p = &sd->profile, .attr = attr, .error = error, .r = r };

	if (attr == NULL)
		return refuse(error, EINVAL, RTE_FLOW_ERROR_TYPE_ATTR, NULL, "NULL attribute.");
	if (pattern == NULL)
		return refuse(error, EINVAL, RTE_FLOW_ERROR_TYPE_ITEM_NUM, NULL, "NULL pattern.");
	if (actions == NULL)
		return refuse(error, EINVAL, RTE_FLOW_ERROR_TYPE_ACTION_NUM, NULL, "NULL action.");
	if (check_attr(&c) < 0)
		return -rte_errno;
	for (const struct rte_flow_item *it = pattern; it->type != RTE_FLOW_ITEM_TYPE_END; it++) {
		if (it->type == RTE_FLOW_ITEM_TYPE_VOID)
			continue;
		if (compile_item(&c, it) < 0)
			return -rte_errno;
	}
	if (compile_list(&c, actions, false, ST_SIM_SC_INGRESS, r->ops, ST_SIM_MAX_OPS, &r->nops) < 0)
		return -rte_errno;
	if (c.sample && c.modify && sd->profile.mwm == ST_SIM_MWM_UNSUPPORTED)
		return refuse_action(&c, c.first_modify,
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
		return refuse(error, ENOMEM, RTE_FLOW_ERROR_TYPE_UNSPECIFIED, NULL, "cannot allocate memory for validation");
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
		refuse(error, p->create_fails.err, p->create_fails.type, NULL, "%s (%s emulated by " ST_SIM_DRIVER
		       ": flow creation is disabled on this device)", p->create_fails.msg, p->family);
		return NULL;
	}
	r = rte_zmalloc("shadowsim_rule", sizeof(*r), 0);
	if (r == NULL) {
		refuse(error, ENOMEM, RTE_FLOW_ERROR_TYPE_HANDLE, NULL, "cannot allocate memory for rte_flow");
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
		refuse(error, p->err_full.err, p->err_full.type, NULL, "%s (%s emulated by " ST_SIM_DRIVER
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
		return refuse(error, EINVAL, RTE_FLOW_ERROR_TYPE_HANDLE, flow, "invalid flow handle");
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
		return refuse(error, EINVAL, RTE_FLOW_ERROR_TYPE_ACTION, action, "query needs an action and a result buffer");
	if (action->type != RTE_FLOW_ACTION_TYPE_COUNT)
		return refuse(error, ENOTSUP, RTE_FLOW_ERROR_TYPE_ACTION, action, "action not supported");
	rte_rwlock_read_lock(&sd->rules_lock);
	TAILQ_FOREACH(r, &sd->rules, next)
		if ((struct rte_flow *)r == flow)
			break;
	if (r == NULL) {
		rc = refuse(error, EINVAL, RTE_FLOW_ERROR_TYPE_HANDLE, flow, "invalid flow handle");
	} else if (r->has_count) {
		ctr = &r->counter;
	} else if (r->has_sample_count) {
		ctr = &r->sample_counter;
	} else {
		rc = refuse(error, EINVAL, RTE_FLOW_ERROR_TYPE_UNSPECIFIED, NULL, "counters are not available");
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
