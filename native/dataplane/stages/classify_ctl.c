/* SPDX-License-Identifier: BSD-3-Clause
 * Control side of classification: rte_acl contexts over the normalised key
 * (classify.h). Sessions are compiled in groups of 16 consecutive sessions,
 * one context per group, one category per session that needs it; within a
 * session the first rule wins (priority = reverse rule order). A session
 * whose first rule matches everything (the default, or "no filters") is
 * decided without the classifier, and a group where every session is like
 * that has no context at all. The shadow firewall (firewall_ctl.c) builds
 * its context with the same helpers.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include <rte_acl.h>
#include <rte_errno.h>

#include "error.h"
#include "classify.h"
#include "compiled_policy.h"

/* rte_acl context names must be unique in the process (rte_acl_create
 * returns an existing context of the same name). */
static uint32_t acl_seq;

/* A prefix over the four 32-bit words of the key (the last word is the
 * narrow key's, the first three only the wide key's). */
static void
acl_prefix(struct rte_acl_field *lo, struct rte_acl_field *hi, const uint8_t addr[16],
	   uint8_t len)
{
	unsigned int w;

	for (w = 0; w < 4; w++) {
		struct rte_acl_field *f = w == 3 ? lo : &hi[w];
		int bits = (int)len - 32 * (int)w;
		uint32_t v = (uint32_t)addr[4 * w] << 24 | (uint32_t)addr[4 * w + 1] << 16 |
			     (uint32_t)addr[4 * w + 2] << 8 | addr[4 * w + 3];

		if (bits <= 0) {
			f->value.u32 = 0;
			f->mask_range.u32 = 0;
		} else {
			if (bits > 32)
				bits = 32;
			f->value.u32 = bits == 32 ? v : v & ~(UINT32_MAX >> bits);
			f->mask_range.u32 = (uint32_t)bits;
		}
	}
}

/* ::ffff:a.b.c.d/(96 + n): an IPv4 prefix. */
static int
prefix_is_v4(const uint8_t addr[16], uint8_t len)
{
	static const uint8_t mapped[12] = { 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff };

	return len >= 96 && memcmp(addr, mapped, sizeof(mapped)) == 0;
}

/* Whether a prefix needs the wide key (an IPv6 prefix that is not "none"). */
int
st_classify_prefix_is_wide(const uint8_t addr[16], uint8_t len)
{
	return len != 0 && !prefix_is_v4(addr, len);
}

void
st_classify_acl_common(struct st_acl_rule *a, uint8_t ipv, uint8_t proto, uint8_t proto_mask,
	   const uint8_t src[16], uint8_t src_len, const uint8_t dst[16], uint8_t dst_len,
	   uint16_t slo, uint16_t shi, uint16_t dlo, uint16_t dhi)
{
	a->field[ST_KF_PROTO].value.u8 = proto & proto_mask;
	a->field[ST_KF_PROTO].mask_range.u8 = proto_mask;
	a->field[ST_KF_IPVER].value.u8 = ipv;
	a->field[ST_KF_IPVER].mask_range.u8 = ipv != 0 ? 0xff : 0;
	acl_prefix(&a->field[ST_KF_SRC3], &a->field[ST_KF_SRC0], src, src_len);
	acl_prefix(&a->field[ST_KF_DST3], &a->field[ST_KF_DST0], dst, dst_len);
	/* An IPv4 prefix matches IPv4 (and ARP) only, never an IPv6 packet
	 * that happens to carry an IPv4-mapped address. */
	if (prefix_is_v4(src, src_len) || prefix_is_v4(dst, dst_len)) {
		a->field[ST_KF_FAMILY].value.u8 = 4;
		a->field[ST_KF_FAMILY].mask_range.u8 = 0xff;
	}
	a->field[ST_KF_SPORT].value.u16 = slo;
	a->field[ST_KF_SPORT].mask_range.u16 = shi;
	a->field[ST_KF_DPORT].value.u16 = dlo;
	a->field[ST_KF_DPORT].mask_range.u16 = dhi;
	/* vlan any: the whole 16-bit range */
	a->field[ST_KF_VLAN].value.u16 = 0;
	a->field[ST_KF_VLAN].mask_range.u16 = UINT16_MAX;
}

void
st_classify_acl_from_rule(struct st_acl_rule *a, const struct st_rule_conf *r)
{
	memset(a, 0, sizeof(*a));
	st_classify_acl_common(a, r->ip_version, r->proto, r->proto_mask, r->src, r->src_len, r->dst,
		   r->dst_len, r->sport_lo, r->sport_hi, r->dport_lo, r->dport_hi);
	a->field[ST_KF_TCPFLAGS].value.u8 = r->tcp_flags & r->tcp_flags_mask;
	a->field[ST_KF_TCPFLAGS].mask_range.u8 = r->tcp_flags_mask;
	if (!(r->vlan_lo == 0 && r->vlan_hi == 4096)) {
		a->field[ST_KF_VLAN].value.u16 = r->vlan_lo;
		a->field[ST_KF_VLAN].mask_range.u16 = r->vlan_hi;
	}
	a->field[ST_KF_ETHERTYPE].value.u16 = r->ethertype & r->ethertype_mask;
	a->field[ST_KF_ETHERTYPE].mask_range.u16 = r->ethertype_mask;
	if (r->signature >= 0) {
		a->field[ST_KF_SIG].value.u32 = UINT32_C(1) << r->signature;
		a->field[ST_KF_SIG].mask_range.u32 = UINT32_C(1) << r->signature;
	}
}

/* The direct evaluator's form of a rule: the rte_acl rule's fields (so the
 * two cannot drift apart), read back as value/mask pairs and ranges. */
static void
direct_from_acl(struct st_direct_rule *d, const struct st_acl_rule *a, int wide)
{
	static const uint8_t src_f[4] = { ST_KF_SRC0, ST_KF_SRC1, ST_KF_SRC2, ST_KF_SRC3 };
	static const uint8_t dst_f[4] = { ST_KF_DST0, ST_KF_DST1, ST_KF_DST2, ST_KF_DST3 };
	unsigned int w;

	d->proto = a->field[ST_KF_PROTO].value.u8;
	d->proto_mask = a->field[ST_KF_PROTO].mask_range.u8;
	d->ipv = a->field[ST_KF_IPVER].value.u8;
	d->ipv_mask = a->field[ST_KF_IPVER].mask_range.u8;
	d->flags = a->field[ST_KF_TCPFLAGS].value.u8;
	d->flags_mask = a->field[ST_KF_TCPFLAGS].mask_range.u8;
	d->family = a->field[ST_KF_FAMILY].value.u8;
	d->family_mask = a->field[ST_KF_FAMILY].mask_range.u8;
	d->et = a->field[ST_KF_ETHERTYPE].value.u16;
	d->et_mask = a->field[ST_KF_ETHERTYPE].mask_range.u16;
	d->vlan_lo = a->field[ST_KF_VLAN].value.u16;
	d->vlan_hi = a->field[ST_KF_VLAN].mask_range.u16;
	d->sig = a->field[ST_KF_SIG].mask_range.u32;
	d->slo = a->field[ST_KF_SPORT].value.u16;
	d->shi = a->field[ST_KF_SPORT].mask_range.u16;
	d->dlo = a->field[ST_KF_DPORT].value.u16;
	d->dhi = a->field[ST_KF_DPORT].mask_range.u16;
	for (w = 0; w < 4; w++) {
		const uint32_t sb = a->field[src_f[w]].mask_range.u32;
		const uint32_t db = a->field[dst_f[w]].mask_range.u32;

		/* a narrow context has no fields for the first 96 bits */
		if (w < 3 && !wide)
			continue;
		/* (a shift by 32 is undefined: a whole word is spelt out) */
		d->src_m[w] = sb == 0 ? 0 : sb >= 32 ? UINT32_MAX : ~(UINT32_MAX >> sb);
		d->src_v[w] = a->field[src_f[w]].value.u32 & d->src_m[w];
		d->dst_m[w] = db == 0 ? 0 : db >= 32 ? UINT32_MAX : ~(UINT32_MAX >> db);
		d->dst_v[w] = a->field[dst_f[w]].value.u32 & d->dst_m[w];
	}
	/* The packed forms (compiled_policy.h), in key byte order. */
	{
		uint8_t v[8] = { d->proto, d->ipv, d->flags, 0, 0, (uint8_t)(d->et >> 8),
				 (uint8_t)d->et, d->family };
		uint8_t m[8] = { d->proto_mask, d->ipv_mask, d->flags_mask, 0, 0,
				 (uint8_t)(d->et_mask >> 8), (uint8_t)d->et_mask, d->family_mask };
		uint8_t av[8], am[8];

		for (w = 0; w < 4; w++) {
			av[w] = (uint8_t)(d->src_v[3] >> (24 - 8 * w));
			am[w] = (uint8_t)(d->src_m[3] >> (24 - 8 * w));
			av[4 + w] = (uint8_t)(d->dst_v[3] >> (24 - 8 * w));
			am[4 + w] = (uint8_t)(d->dst_m[3] >> (24 - 8 * w));
		}
		memcpy(&d->lo_v, v, 8);
		memcpy(&d->lo_m, m, 8);
		memcpy(&d->addr_v, av, 8);
		memcpy(&d->addr_m, am, 8);
	}
	d->need = (d->vlan_lo != 0 || d->vlan_hi != UINT16_MAX ? ST_DR_NEED_VLAN : 0) |
		  (d->sig != 0 ? ST_DR_NEED_SIG : 0) |
		  (d->slo != 0 || d->shi != UINT16_MAX || d->dlo != 0 || d->dhi != UINT16_MAX ?
		   ST_DR_NEED_PORTS : 0) |
		  ((d->src_m[0] | d->src_m[1] | d->src_m[2] | d->dst_m[0] | d->dst_m[1] |
		    d->dst_m[2]) != 0 ? ST_DR_NEED_HI : 0);
}

int
st_classify_rule_is_wild(const struct st_rule_conf *r)
{
	return r->ethertype_mask == 0 && r->vlan_lo == 0 && r->vlan_hi == 4096 &&
	       r->ip_version == 0 && r->proto_mask == 0 && r->src_len == 0 &&
	       r->dst_len == 0 && r->sport_lo == 0 && r->sport_hi == UINT16_MAX &&
	       r->dport_lo == 0 && r->dport_hi == UINT16_MAX && r->tcp_flags_mask == 0 &&
	       r->signature < 0;
}

struct rte_acl_ctx *
st_classify_acl_create(uint32_t max_rules, struct st_error *err, const char *field)
{
	char name[RTE_ACL_NAMESIZE];
	struct rte_acl_param prm;
	struct rte_acl_ctx *ctx;

	snprintf(name, sizeof(name), "st_acl_%u",
		 __atomic_fetch_add(&acl_seq, 1, __ATOMIC_RELAXED));
	memset(&prm, 0, sizeof(prm));
	prm.name = name;
	prm.socket_id = SOCKET_ID_ANY;
	prm.rule_size = RTE_ACL_RULE_SZ(ST_KF__COUNT);
	prm.max_rule_num = max_rules;
	ctx = rte_acl_create(&prm);
	if (ctx == NULL) {
		int e = rte_errno ? rte_errno : ENOMEM;

		st_error_fieldf(err, "ST_ERR_NOMEM", e, "%s|cannot create a classifier for %u rules: %s "
			"(EAL memory, dataplane.eal.memory_mb)", field, max_rules, rte_strerror(e));
	}
	return ctx;
}

int
st_classify_acl_build(struct rte_acl_ctx *ctx, uint32_t categories, int wide, struct st_error *err,
	  const char *field, uint32_t nb_rules)
{
	struct rte_acl_config cfg;
	int rc;

	memset(&cfg, 0, sizeof(cfg));
	cfg.num_categories = categories;
	st_key_acl_defs(&cfg, wide);
	rc = rte_acl_build(ctx, &cfg);
	if (rc != 0) {
		if (rc == -ENOMEM)
			return st_error_fieldf(err, "ST_ERR_NOMEM", ENOMEM, "%s|not enough memory to build "
				       "the classifier for %u rules (EAL memory, "
				       "dataplane.eal.memory_mb)", field, nb_rules);
		return st_error_fieldf(err, "ST_ERR_POLICY_COMPILE", -rc, "%s|rte_acl_build failed for "
			       "%u rules: %s", field, nb_rules, rte_strerror(-rc));
	}
	return 0;
}

/* One context for the sessions of group g that need the classifier; or,
 * when they have at most ST_DIRECT_MAX_RULES rules between them (and the
 * policy does not force rte_acl), direct rules and no context. */
int
st_classify_build_group(struct st_policy *pol, const struct st_policy_conf *c, struct st_pol_group *g,
	    struct st_acl_rule *scratch, struct st_error *err)
{
	uint32_t k = 0, n = 0, i;
	char field[64];
	int rc, wide = 0, direct;

	for (i = g->first; i < (uint32_t)g->first + g->count; i++)
		if (pol->sessions[i].acl)
			pol->sessions[i].category = (uint8_t)k++;
	if (k == 0)
		return 0;

	for (i = 0; i < c->nb_rules; i++) {
		const struct st_rule_conf *r = &c->rules[i];
		const struct st_pol_session *s = &pol->sessions[r->session];

		if (r->session < g->first || r->session >= g->first + g->count || !s->acl)
			continue;
		st_classify_acl_from_rule(&scratch[n], r);
		wide |= st_classify_prefix_is_wide(r->src, r->src_len) || st_classify_prefix_is_wide(r->dst, r->dst_len);
		scratch[n].data.category_mask = UINT32_C(1) << s->category;
		/* First rule wins: earlier rules get higher priorities. */
		scratch[n].data.priority = (int32_t)(RTE_ACL_MAX_PRIORITY - i);
		scratch[n].data.userdata = i + 1;
		n++;
	}
	direct = !c->force_acl && n <= ST_DIRECT_MAX_RULES;
	if (direct) {
		/* Rules are in policy order, so each session's are consecutive
		 * in direct[] and the first that matches is the deciding one. */
		for (i = g->first; i < (uint32_t)g->first + g->count; i++) {
			struct st_pol_session *s = &pol->sessions[i];

			if (!s->acl)
				continue;
			s->acl = 0;
			s->classifier = ST_CLS_DIRECT;
			s->dr_first = pol->nb_direct;
			s->dr_count = 0;
			for (uint32_t j = 0; j < n; j++) {
				if (scratch[j].data.category_mask != UINT32_C(1) << s->category)
					continue;
				direct_from_acl(&pol->direct[pol->nb_direct], &scratch[j], wide);
				pol->direct[pol->nb_direct].rule = scratch[j].data.userdata - 1;
				pol->nb_direct++;
				s->dr_count++;
			}
		}
		return 0;
	}
	for (i = g->first; i < (uint32_t)g->first + g->count; i++)
		if (pol->sessions[i].acl)
			pol->sessions[i].classifier = ST_CLS_ACL;
	g->categories = k == 1 ? 1 : RTE_ALIGN(k, RTE_ACL_RESULTS_MULTIPLIER);
	snprintf(field, sizeof(field), "policy.sessions[%u]", g->first);
	g->acl = st_classify_acl_create(n, err, field);
	if (g->acl == NULL)
		return -ENOMEM;
	rc = rte_acl_add_rules(g->acl, (const struct rte_acl_rule *)scratch, n);
	if (rc != 0)
		return st_error_fieldf(err, "ST_ERR_POLICY_COMPILE", -rc, "%s|cannot add %u rules of "
			       "sessions %u..%u to the classifier: %s", field, n, g->first,
			       g->first + g->count - 1, rte_strerror(-rc));
	return st_classify_acl_build(g->acl, g->categories, wide, err, field, n);
}
