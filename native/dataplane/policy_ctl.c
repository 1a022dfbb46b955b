/* SPDX-License-Identifier: BSD-3-Clause
 * Control side of the mirror policy: check a struct st_policy_conf, compile
 * it into an immutable struct st_policy, bind it to the running plan, and
 * make it current with an RCU swap.
 *
 * What the compile builds:
 * - sessions in groups of 16 consecutive sessions, one rte_acl context per
 *   group over the normalised key (classify.h), one category per session that
 *   needs it; within a session the first rule wins (priority = reverse rule
 *   order). A session whose first rule matches everything (the default, or
 *   "no filters") is decided without the classifier, and a group where every
 *   session is like that has no context at all.
 * - the rewrite tables (st_rewrite_compile_policy), one encapsulation
 *   template per target (st_encap_build), the shadow firewall (a second
 *   rte_acl context over the same key, one category), token buckets per
 *   capped session and worker.
 * Install = compile, bind, publish the pointer, rte_rcu_qsbr_synchronize, free
 * the old one. Any failure frees what was built and leaves the running
 * policy as it was. Errors name the NativePolicy field ("policy.rules[12].srcLen").
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include <rte_acl.h>
#include <rte_cycles.h>
#include <rte_errno.h>
#include <rte_lcore.h>
#include <rte_malloc.h>
#include <rte_rcu_qsbr.h>

#include "pipeline.h"
#include "classify.h"

/* rte_acl context names must be unique in the process (rte_acl_create
 * returns an existing context of the same name). */
static uint32_t acl_seq;

static int
pol_err(struct st_error *err, const char *code, int errnum, const char *fmt, ...)
	__rte_format_printf(4, 5);

/* fmt is "field|message": the field is formatted along with the message
 * and split off, so every check names its field in one call. */
static int
pol_err(struct st_error *err, const char *code, int errnum, const char *fmt, ...)
{
	char buf[ST_ERR_MSG_LEN + 96];
	char field[96];
	const char *bar;
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	bar = strchr(buf, '|');
	if (bar == NULL) {
		st_error_set(err, code, "", errnum, "%s", buf);
		return -errnum;
	}
	snprintf(field, sizeof(field), "%.*s", (int)(bar - buf), buf);
	st_error_set(err, code, field, errnum, "%s: %s", field, bar + 1);
	return -errnum;
}

#define INVALID(err, ...) pol_err(err, "ST_ERR_PLAN_INVALID", EINVAL, __VA_ARGS__)

/* ---- checks ---------------------------------------------------------------- */

static int
check_ranges(struct st_error *err, const char *what, uint32_t i, uint16_t slo, uint16_t shi,
	     uint16_t dlo, uint16_t dhi, uint8_t ipv, uint8_t slen, uint8_t dlen)
{
	if (ipv != 0 && ipv != 4 && ipv != 6)
		return INVALID(err, "policy.%s[%u].ipVersion|expected 0 (any), 4 or 6, got %u",
			       what, i, ipv);
	if (slen > 128)
		return INVALID(err, "policy.%s[%u].srcLen|expected a prefix length 0..128, got %u",
			       what, i, slen);
	if (dlen > 128)
		return INVALID(err, "policy.%s[%u].dstLen|expected a prefix length 0..128, got %u",
			       what, i, dlen);
	if (slo > shi)
		return INVALID(err, "policy.%s[%u].sportLo|range %u..%u is empty (lo > hi)",
			       what, i, slo, shi);
	if (dlo > dhi)
		return INVALID(err, "policy.%s[%u].dportLo|range %u..%u is empty (lo > hi)",
			       what, i, dlo, dhi);
	return 0;
}

static int
check_conf(const struct st_policy_conf *c, struct st_error *err)
{
	uint32_t i, j;
	int rc;

	if (c->nb_sessions > ST_MAX_SESSIONS)
		return INVALID(err, "policy.sessions|expected at most %u sessions, got %u",
			       ST_MAX_SESSIONS, c->nb_sessions);
	if (c->nb_sessions != 0 && c->sessions == NULL)
		return INVALID(err, "policy.sessions|%u sessions announced, none given",
			       c->nb_sessions);
	if (c->nb_rules > ST_MAX_RULES)
		return INVALID(err, "policy.rules|expected at most %u rules, got %u",
			       ST_MAX_RULES, c->nb_rules);
	if (c->nb_rules != 0 && c->rules == NULL)
		return INVALID(err, "policy.rules|%u rules announced, none given", c->nb_rules);
	if (c->nb_targets > ST_MAX_TARGETS)
		return INVALID(err, "policy.targets|expected at most %u targets, got %u",
			       ST_MAX_TARGETS, c->nb_targets);
	if (c->nb_signatures > ST_MAX_SIGNATURES)
		return INVALID(err, "policy.signatures|expected at most %u signatures, got %u",
			       ST_MAX_SIGNATURES, c->nb_signatures);
	if (c->nb_map4 > ST_MAX_MAPS)
		return INVALID(err, "policy.map4|expected at most %u maps, got %u",
			       ST_MAX_MAPS, c->nb_map4);
	if (c->nb_map6 > ST_MAX_MAPS)
		return INVALID(err, "policy.map6|expected at most %u maps, got %u",
			       ST_MAX_MAPS, c->nb_map6);
	if (c->nb_mac_maps > ST_MAX_MAC_MAPS)
		return INVALID(err, "policy.macMaps|expected at most %u MAC maps, got %u",
			       ST_MAX_MAC_MAPS, c->nb_mac_maps);
	if (c->nb_mac_maps != 0 && c->mac_maps == NULL)
		return INVALID(err, "policy.macMaps|%u MAC maps announced, none given",
			       c->nb_mac_maps);
	if (c->unmapped > ST_UNMAPPED_RULE_COUNT)
		return INVALID(err, "policy.unmapped|expected 0 (drop), 1 (mirror) or 2 (count), got %u",
			       c->unmapped);
	if ((c->control_plane & ~(uint32_t)(ST_CP_ARP | ST_CP_DHCP | ST_CP_ND)) != 0)
		return INVALID(err, "policy.controlPlane|unknown bits 0x%x (known: arp 1, dhcp 2, nd 4)",
			       c->control_plane & ~(uint32_t)(ST_CP_ARP | ST_CP_DHCP | ST_CP_ND));
	if (c->fw_default > ST_RULE_REJECT)
		return INVALID(err, "policy.fwDefault|expected 0 (allow) or 1 (deny), got %u",
			       c->fw_default);
	if (c->nb_fw_rules > ST_MAX_FW_RULES)
		return INVALID(err, "policy.fwRules|expected at most %u rules, got %u",
			       ST_MAX_FW_RULES, c->nb_fw_rules);
	if (c->nb_fw_rules != 0 && c->fw_rules == NULL)
		return INVALID(err, "policy.fwRules|%u rules announced, none given", c->nb_fw_rules);

	for (i = 0; i < c->nb_sessions; i++) {
		const struct st_session_conf *s = &c->sessions[i];

		if (s->slot >= ST_MAX_SESSIONS)
			return INVALID(err, "policy.sessions[%u].slot|expected 0..%u, got %u",
				       i, ST_MAX_SESSIONS - 1, s->slot);
		for (j = 0; j < i; j++)
			if (c->sessions[j].slot == s->slot)
				return INVALID(err, "policy.sessions[%u].slot|slot %u is already "
					       "used by sessions[%u] (id %u)", i, s->slot, j,
					       c->sessions[j].id);
		if (s->target >= c->nb_targets)
			return INVALID(err, "policy.sessions[%u].target|expected a target index "
				       "below %u, got %u", i, c->nb_targets, s->target);
		if (s->sample_mode > ST_SAMPLE_FLOW)
			return INVALID(err, "policy.sessions[%u].sampleMode|expected 0 (all), "
				       "1 (packet) or 2 (flow), got %u", i, s->sample_mode);
	}
	for (i = 0; i < c->nb_rules; i++) {
		const struct st_rule_conf *r = &c->rules[i];

		if (r->session >= c->nb_sessions)
			return INVALID(err, "policy.rules[%u].session|expected a session index "
				       "below %u, got %u", i, c->nb_sessions, r->session);
		if (r->rule_slot >= ST_MAX_RULES)
			return INVALID(err, "policy.rules[%u].ruleSlot|expected 0..%u, got %u",
				       i, ST_MAX_RULES - 1, r->rule_slot);
		if (r->action > ST_RULE_REJECT)
			return INVALID(err, "policy.rules[%u].action|expected 0 (accept) or "
				       "1 (reject), got %u", i, r->action);
		if (r->vlan_lo > r->vlan_hi || r->vlan_hi > 4096)
			return INVALID(err, "policy.rules[%u].vlanLo|expected 0 <= vlanLo <= vlanHi "
				       "<= 4096 (4096 = untagged), got %u..%u", i, r->vlan_lo,
				       r->vlan_hi);
		if (r->signature < -1 || r->signature >= (int)c->nb_signatures)
			return INVALID(err, "policy.rules[%u].signature|expected -1 (none) or a "
				       "signature index below %u, got %d", i, c->nb_signatures,
				       r->signature);
		rc = check_ranges(err, "rules", i, r->sport_lo, r->sport_hi, r->dport_lo,
				  r->dport_hi, r->ip_version, r->src_len, r->dst_len);
		if (rc != 0)
			return rc;
	}
	for (i = 0; i < c->nb_targets; i++) {
		const struct st_target_conf *t = &c->targets[i];

		if (t->nb_ports < 1 || t->nb_ports > ST_MAX_PORTS)
			return INVALID(err, "policy.targets[%u].ports|expected 1..%u ports, got %u",
				       i, ST_MAX_PORTS, t->nb_ports);
		for (j = 0; j < t->nb_ports; j++) {
			uint32_t k;

			if (t->ports[j] < 0 || t->ports[j] >= ST_MAX_PORTS)
				return INVALID(err, "policy.targets[%u].ports[%u]|expected a port "
					       "index 0..%u, got %d", i, j, ST_MAX_PORTS - 1,
					       t->ports[j]);
			for (k = 0; k < j; k++)
				if (t->ports[k] == t->ports[j])
					return INVALID(err, "policy.targets[%u].ports[%u]|port %d "
						       "is listed twice", i, j, t->ports[j]);
		}
		if (t->encap > ST_ENCAP_GENEVE)
			return INVALID(err, "policy.targets[%u].encap|expected 0 (none), 1 (vlan), "
				       "2 (vxlan) or 3 (geneve), got %u", i, t->encap);
	}
	for (i = 0; i < c->nb_signatures; i++) {
		const struct st_signature_conf *s = &c->signatures[i];

		if (s->base > ST_SIG_PAYLOAD)
			return INVALID(err, "policy.signatures[%u].base|expected 0 (l2), 1 (l3), "
				       "2 (l4) or 3 (payload), got %u", i, s->base);
		if (s->len < 1 || s->len > ST_SIG_MAX_LEN)
			return INVALID(err, "policy.signatures[%u].value|expected 1..%u bytes, got %u",
				       i, ST_SIG_MAX_LEN, s->len);
	}
	for (i = 0; i < c->nb_fw_rules; i++) {
		const struct st_fw_rule *r = &c->fw_rules[i];

		if (r->action > ST_RULE_REJECT)
			return INVALID(err, "policy.fwRules[%u].action|expected 0 (allow) or "
				       "1 (deny), got %u", i, r->action);
		rc = check_ranges(err, "fwRules", i, r->sport_lo, r->sport_hi, r->dport_lo,
				  r->dport_hi, r->ip_version, r->src_len, r->dst_len);
		if (rc != 0)
			return rc;
	}
	return 0;
}

/* ---- rte_acl --------------------------------------------------------------- */

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
static int
prefix_is_wide(const uint8_t addr[16], uint8_t len)
{
	return len != 0 && !prefix_is_v4(addr, len);
}

static void
acl_common(struct st_acl_rule *a, uint8_t ipv, uint8_t proto, uint8_t proto_mask,
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

static void
acl_from_rule(struct st_acl_rule *a, const struct st_rule_conf *r)
{
	memset(a, 0, sizeof(*a));
	acl_common(a, r->ip_version, r->proto, r->proto_mask, r->src, r->src_len, r->dst,
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

static int
rule_is_wild(const struct st_rule_conf *r)
{
	return r->ethertype_mask == 0 && r->vlan_lo == 0 && r->vlan_hi == 4096 &&
	       r->ip_version == 0 && r->proto_mask == 0 && r->src_len == 0 &&
	       r->dst_len == 0 && r->sport_lo == 0 && r->sport_hi == UINT16_MAX &&
	       r->dport_lo == 0 && r->dport_hi == UINT16_MAX && r->tcp_flags_mask == 0 &&
	       r->signature < 0;
}

static struct rte_acl_ctx *
acl_create(uint32_t max_rules, struct st_error *err, const char *field)
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

		pol_err(err, "ST_ERR_NOMEM", e, "%s|cannot create a classifier for %u rules: %s "
			"(EAL memory, dataplane.eal.memory_mb)", field, max_rules, rte_strerror(e));
	}
	return ctx;
}

static int
acl_build(struct rte_acl_ctx *ctx, uint32_t categories, int wide, struct st_error *err,
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
			return pol_err(err, "ST_ERR_NOMEM", ENOMEM, "%s|not enough memory to build "
				       "the classifier for %u rules (EAL memory, "
				       "dataplane.eal.memory_mb)", field, nb_rules);
		return pol_err(err, "ST_ERR_POLICY_COMPILE", -rc, "%s|rte_acl_build failed for "
			       "%u rules: %s", field, nb_rules, rte_strerror(-rc));
	}
	return 0;
}

/* One context for the sessions of group g that need the classifier. */
static int
build_group(struct st_policy *pol, const struct st_policy_conf *c, struct st_pol_group *g,
	    struct st_acl_rule *scratch, struct st_error *err)
{
	uint32_t k = 0, n = 0, i;
	char field[64];
	int rc, wide = 0;

	for (i = g->first; i < (uint32_t)g->first + g->count; i++)
		if (pol->sessions[i].acl)
			pol->sessions[i].category = (uint8_t)k++;
	if (k == 0)
		return 0;
	g->categories = k == 1 ? 1 : RTE_ALIGN(k, RTE_ACL_RESULTS_MULTIPLIER);

	for (i = 0; i < c->nb_rules; i++) {
		const struct st_rule_conf *r = &c->rules[i];
		const struct st_pol_session *s = &pol->sessions[r->session];

		if (r->session < g->first || r->session >= g->first + g->count || !s->acl)
			continue;
		acl_from_rule(&scratch[n], r);
		wide |= prefix_is_wide(r->src, r->src_len) || prefix_is_wide(r->dst, r->dst_len);
		scratch[n].data.category_mask = UINT32_C(1) << s->category;
		/* First rule wins: earlier rules get higher priorities. */
		scratch[n].data.priority = (int32_t)(RTE_ACL_MAX_PRIORITY - i);
		scratch[n].data.userdata = i + 1;
		n++;
	}
	snprintf(field, sizeof(field), "policy.sessions[%u]", g->first);
	g->acl = acl_create(n, err, field);
	if (g->acl == NULL)
		return -ENOMEM;
	rc = rte_acl_add_rules(g->acl, (const struct rte_acl_rule *)scratch, n);
	if (rc != 0)
		return pol_err(err, "ST_ERR_POLICY_COMPILE", -rc, "%s|cannot add %u rules of "
			       "sessions %u..%u to the classifier: %s", field, n, g->first,
			       g->first + g->count - 1, rte_strerror(-rc));
	return acl_build(g->acl, g->categories, wide, err, field, n);
}

static int
build_firewall(struct st_policy *pol, const struct st_policy_conf *c,
	       struct st_acl_rule *scratch, struct st_error *err)
{
	uint32_t i;
	int rc, wide = 0;

	pol->fw_default = c->fw_default;
	if (c->nb_fw_rules == 0)
		return 0;
	pol->fw_action = rte_zmalloc("st_fw_action", c->nb_fw_rules, 0);
	if (pol->fw_action == NULL)
		return pol_err(err, "ST_ERR_NOMEM", ENOMEM, "policy.fwRules|out of memory");
	for (i = 0; i < c->nb_fw_rules; i++) {
		const struct st_fw_rule *r = &c->fw_rules[i];
		struct st_acl_rule *a = &scratch[i];

		memset(a, 0, sizeof(*a));
		acl_common(a, r->ip_version, r->proto, r->proto_mask, r->src, r->src_len, r->dst,
			   r->dst_len, r->sport_lo, r->sport_hi, r->dport_lo, r->dport_hi);
		a->data.category_mask = 1;
		a->data.priority = (int32_t)(RTE_ACL_MAX_PRIORITY - i);
		a->data.userdata = i + 1;
		pol->fw_action[i] = r->action;
		wide |= prefix_is_wide(r->src, r->src_len) || prefix_is_wide(r->dst, r->dst_len);
	}
	pol->fw = acl_create(c->nb_fw_rules, err, "policy.fwRules");
	if (pol->fw == NULL)
		return -ENOMEM;
	rc = rte_acl_add_rules(pol->fw, (const struct rte_acl_rule *)scratch, c->nb_fw_rules);
	if (rc != 0)
		return pol_err(err, "ST_ERR_POLICY_COMPILE", -rc, "policy.fwRules|cannot add %u "
			       "rules to the firewall: %s", c->nb_fw_rules, rte_strerror(-rc));
	return acl_build(pol->fw, 1, wide, err, "policy.fwRules", c->nb_fw_rules);
}

/* ---- rewrite tables, shared across swaps ------------------------------------------ */

/* Building the rewrite tables (rte_lpm/rte_lpm6, 64 MiB each, MAC hash) is
 * most of a swap's time, and most swaps change filters, not the topology:
 * tables built from the same topology are shared, reference-counted by
 * policies (under policy_lock only, so a plain counter). */
struct st_rw_shared {
	uint32_t refs;
	struct st_rewrite_tables *tables;
	size_t key_len;
	uint8_t key[];   /* the topology fields of the conf, serialised */
};

static void
key_put(uint8_t *buf, size_t *off, const void *p, size_t n)
{
	if (buf != NULL)
		memcpy(buf + *off, p, n);
	*off += n;
}

/* Field by field (no struct padding), in one pass that sizes (buf NULL) or
 * writes. */
static size_t
rw_key(const struct st_policy_conf *c, uint8_t *buf)
{
	size_t off = 0;
	uint32_t i;

	key_put(buf, &off, &c->nb_map4, sizeof(c->nb_map4));
	for (i = 0; i < c->nb_map4; i++) {
		key_put(buf, &off, &c->map4[i].from, 4);
		key_put(buf, &off, &c->map4[i].to, 4);
		key_put(buf, &off, &c->map4[i].len, 1);
	}
	key_put(buf, &off, &c->nb_map6, sizeof(c->nb_map6));
	for (i = 0; i < c->nb_map6; i++) {
		key_put(buf, &off, c->map6[i].from, 16);
		key_put(buf, &off, c->map6[i].to, 16);
		key_put(buf, &off, &c->map6[i].len, 1);
	}
	key_put(buf, &off, &c->nb_mac_maps, sizeof(c->nb_mac_maps));
	for (i = 0; i < c->nb_mac_maps; i++) {
		key_put(buf, &off, c->mac_maps[i].from, 6);
		key_put(buf, &off, c->mac_maps[i].to, 6);
	}
	key_put(buf, &off, c->default_src_mac, 6);
	key_put(buf, &off, c->default_dst_mac, 6);
	key_put(buf, &off, &c->unmapped, 1);
	key_put(buf, &off, &c->control_plane, 4);
	return off;
}

static int
rw_attach(struct st_policy *pol, const struct st_policy_conf *c,
	  const struct st_policy *current, struct st_error *err)
{
	size_t len = rw_key(c, NULL);
	struct st_rw_shared *rws;
	char suffix[24];

	rws = rte_zmalloc("st_rw_shared", sizeof(*rws) + len, 0);
	if (rws == NULL)
		return pol_err(err, "ST_ERR_NOMEM", ENOMEM, "policy|out of memory");
	rws->key_len = rw_key(c, rws->key);
	if (current != NULL && current->rws != NULL && current->rws->key_len == rws->key_len &&
	    memcmp(current->rws->key, rws->key, len) == 0) {
		rte_free(rws);
		pol->rws = current->rws;
		pol->rws->refs++;
		pol->rw = pol->rws->tables;
		return 0;
	}
	snprintf(suffix, sizeof(suffix), "p%u", __atomic_fetch_add(&acl_seq, 1, __ATOMIC_RELAXED));
	rws->tables = st_rewrite_compile_policy(c, suffix, err);
	if (rws->tables == NULL) {
		rte_free(rws);
		if (err != NULL && err->code[0] == '\0')
			pol_err(err, "ST_ERR_REWRITE", EINVAL, "policy|cannot compile the rewrite tables");
		return -EINVAL;
	}
	rws->refs = 1;
	pol->rws = rws;
	pol->rw = rws->tables;
	return 0;
}

static void
rw_detach(struct st_policy *pol)
{
	if (pol->rws != NULL && --pol->rws->refs == 0) {
		st_rewrite_free(pol->rws->tables);
		rte_free(pol->rws);
	}
	pol->rws = NULL;
	pol->rw = NULL;
}

/* ---- compile ------------------------------------------------------------------ */

void
st_policy_free(struct st_policy *pol)
{
	uint16_t i;

	if (pol == NULL)
		return;
	if (pol->groups != NULL)
		for (i = 0; i < pol->nb_groups; i++)
			rte_acl_free(pol->groups[i].acl);
	rte_acl_free(pol->fw);
	rw_detach(pol);
	rte_free(pol->fw_action);
	rte_free(pol->buckets);
	rte_free(pol->groups);
	rte_free(pol->rules);
	rte_free(pol->sessions);
	rte_free(pol);
}

struct st_policy *
st_policy_compile(const struct st_policy_conf *c, const struct st_policy *current,
		  struct st_error *err)
{
	struct st_acl_rule *scratch = NULL;
	struct st_policy *pol;
	int32_t *first_rule = NULL;
	uint32_t i, nb_buckets = 0, scratch_n;
	uint8_t any_acl = 0, any_flow = 0, any_encap = 0;

	if (check_conf(c, err) != 0)
		return NULL;
	pol = rte_zmalloc("st_policy", sizeof(*pol), RTE_CACHE_LINE_SIZE);
	if (pol == NULL) {
		pol_err(err, "ST_ERR_NOMEM", ENOMEM, "policy|out of memory for the policy");
		return NULL;
	}
	pol->generation = c->generation;
	pol->match_all = c->match_all ? 1 : 0;
	pol->nb_sessions = c->nb_sessions;
	pol->nb_rules = c->nb_rules;
	pol->nb_targets = c->nb_targets;
	pol->nb_signatures = c->nb_signatures;

	if (c->nb_sessions != 0) {
		pol->sessions = rte_zmalloc("st_pol_sessions",
					    sizeof(*pol->sessions) * c->nb_sessions,
					    RTE_CACHE_LINE_SIZE);
		pol->nb_groups = (uint16_t)((c->nb_sessions + ST_GROUP_SESSIONS - 1) /
					    ST_GROUP_SESSIONS);
		pol->groups = rte_zmalloc("st_pol_groups", sizeof(*pol->groups) * pol->nb_groups,
					  RTE_CACHE_LINE_SIZE);
		first_rule = rte_malloc("st_pol_first", sizeof(*first_rule) * c->nb_sessions, 0);
		if (pol->sessions == NULL || pol->groups == NULL || first_rule == NULL)
			goto nomem;
	}
	if (c->nb_rules != 0) {
		pol->rules = rte_zmalloc("st_pol_rules", sizeof(*pol->rules) * c->nb_rules,
					 RTE_CACHE_LINE_SIZE);
		if (pol->rules == NULL)
			goto nomem;
	}

	for (i = 0; i < c->nb_sessions; i++)
		first_rule[i] = -1;
	for (i = 0; i < ST_MAX_SESSIONS; i++)
		pol->slot_si[i] = -1;
	for (i = 0; i < c->nb_rules; i++) {
		pol->rules[i].slot = c->rules[i].rule_slot;
		pol->rules[i].action = c->rules[i].action;
		if (first_rule[c->rules[i].session] < 0)
			first_rule[c->rules[i].session] = (int32_t)i;
	}
	for (i = 0; i < c->nb_sessions; i++) {
		const struct st_session_conf *sc = &c->sessions[i];
		struct st_pol_session *s = &pol->sessions[i];
		int32_t fr = first_rule[i];

		s->sources = sc->sources;
		s->slot = sc->slot;
		pol->slot_si[sc->slot] = (int16_t)i;
		s->target = sc->target;
		s->sample_mode = sc->sample_mode;
		s->sample_threshold = sc->sample_threshold;
		s->snaplen = sc->snaplen;
		s->rate_pps = sc->rate_pps;
		s->rate_bps = sc->rate_bps;
		s->bucket = -1;
		if (sc->rate_pps != 0 || sc->rate_bps != 0)
			s->bucket = (int32_t)nb_buckets++;
		/* A session with no rule rejects everything; one whose first rule
		 * matches everything needs no classifier. */
		s->acl = fr >= 0 && !rule_is_wild(&c->rules[fr]);
		s->fixed_rule = s->acl ? -1 : fr;
		any_acl |= s->acl;
		any_flow |= sc->sample_mode == ST_SAMPLE_FLOW;
		pol->sources |= sc->sources;
	}
	rte_free(first_rule);
	first_rule = NULL;

	/* Every group's rules fit in the scratch (and so do the firewall's). */
	scratch_n = RTE_MAX(c->nb_rules, c->nb_fw_rules);
	if (scratch_n != 0 && (any_acl || (c->fw_enabled && c->nb_fw_rules != 0))) {
		scratch = rte_malloc("st_acl_scratch", sizeof(*scratch) * scratch_n, 0);
		if (scratch == NULL)
			goto nomem;
	}
	for (i = 0; i < pol->nb_groups; i++) {
		struct st_pol_group *g = &pol->groups[i];

		g->first = (uint16_t)(i * ST_GROUP_SESSIONS);
		g->count = (uint16_t)RTE_MIN(ST_GROUP_SESSIONS, c->nb_sessions - g->first);
		for (uint32_t k = g->first; k < (uint32_t)g->first + g->count; k++)
			g->sources |= pol->sessions[k].sources;
		if (build_group(pol, c, g, scratch, err) != 0)
			goto fail;
	}

	for (i = 0; i < c->nb_signatures; i++) {
		const struct st_signature_conf *sc = &c->signatures[i];
		struct st_pol_sig *sg = &pol->signatures[i];

		sg->base = sc->base;
		sg->len = sc->len;
		sg->offset = sc->offset;
		for (uint32_t b = 0; b < sc->len; b++) {
			sg->mask[b] = sc->mask[b];
			sg->value[b] = sc->value[b] & sc->mask[b];
		}
	}

	for (i = 0; i < c->nb_targets; i++) {
		const struct st_target_conf *tc = &c->targets[i];
		struct st_pol_target *t = &pol->targets[i];

		t->nb_ports = tc->nb_ports;
		for (uint32_t k = 0; k < tc->nb_ports; k++)
			t->port_idx[k] = (uint16_t)tc->ports[k];
		if (st_encap_build(tc, (uint16_t)i, &t->tmpl, err) != 0) {
			if (err != NULL && err->code[0] == '\0')
				pol_err(err, "ST_ERR_ENCAP", EINVAL, "policy.targets[%u]|cannot build "
					"the encapsulation", i);
			goto fail;
		}
		t->wire_extra = tc->encap == ST_ENCAP_NONE ? 0 : t->tmpl.hdr_len;
		any_encap |= tc->encap != ST_ENCAP_NONE;
	}

	if (c->nb_sessions != 0 && rw_attach(pol, c, current, err) != 0)
		goto fail;

	if (c->fw_enabled) {
		pol->fw_enabled = 1;
		if (build_firewall(pol, c, scratch, err) != 0)
			goto fail;
	}
	rte_free(scratch);
	scratch = NULL;

	if (nb_buckets != 0) {
		pol->nb_buckets = nb_buckets;
		pol->buckets = rte_zmalloc("st_pol_buckets",
					   sizeof(*pol->buckets) * nb_buckets * ST_MAX_WORKERS,
					   RTE_CACHE_LINE_SIZE);
		if (pol->buckets == NULL)
			goto nomem;
	}
	pol->need_hash = any_flow || any_encap;
	pol->need_key = any_acl || pol->need_hash || c->nb_signatures != 0;
	/* The common shape the short path serves (pipeline.h, "simple"). */
	if (pol->nb_sessions == 1) {
		const struct st_pol_session *s0 = &pol->sessions[0];

		pol->simple = !s0->acl && s0->fixed_rule >= 0 &&
			pol->rules[s0->fixed_rule].action == ST_RULE_ACCEPT &&
			s0->sample_mode == ST_SAMPLE_ALL && s0->bucket < 0 && s0->snaplen == 0 &&
			!pol->need_key && !pol->fw_enabled &&
			pol->targets[s0->target].tmpl.kind == ST_ENCAP_NONE;
	}
	return pol;

nomem:
	pol_err(err, "ST_ERR_NOMEM", ENOMEM, "policy|out of memory for the policy tables");
fail:
	rte_free(first_rule);
	rte_free(scratch);
	st_policy_free(pol);
	return NULL;
}

int
st_policy_bind(struct st_policy *pol, const struct st_plan *plan, struct st_error *err)
{
	const double hz = (double)rte_get_tsc_hz();
	const uint32_t nbw = plan->nb_workers ? plan->nb_workers : 1;
	uint32_t valid = plan->nb_ports >= 16 ? UINT32_MAX :
		(UINT32_C(1) << (2 * plan->nb_ports)) - 1;
	uint32_t i, k, w;

	for (i = 0; i < pol->nb_sessions; i++)
		if ((pol->sessions[i].sources & ~valid) != 0)
			return INVALID(err, "policy.sessions[%u].sources|bits 0x%x name ports the "
				       "plan does not have (it has %u ports: bits 0..%u)", i,
				       pol->sessions[i].sources & ~valid, plan->nb_ports,
				       2 * plan->nb_ports - 1);
	for (i = 0; i < pol->nb_targets; i++) {
		struct st_pol_target *t = &pol->targets[i];

		for (k = 0; k < t->nb_ports; k++) {
			uint16_t p = t->port_idx[k];

			if (p >= plan->nb_ports)
				return INVALID(err, "policy.targets[%u].ports[%u]|expected a port "
					       "index below %u, got %u", i, k, plan->nb_ports, p);
			if (plan->ports[p].role != ST_ROLE_SHADOW)
				return INVALID(err, "policy.targets[%u].ports[%u]|ports[%u] '%s' is "
					       "not a shadow-role port; copies may only leave on "
					       "shadow ports", i, k, p, plan->ports[p].name);
			t->port_id[k] = st_dp_g.ports[p].port_id;
		}
	}
	/* Each worker gets rate / nb_workers, a burst allowance of 10 ms of it
	 * (at least 32 packets, 64 KiB), and starts full. */
	for (i = 0; i < pol->nb_sessions; i++) {
		const struct st_pol_session *s = &pol->sessions[i];
		double pps, bps;

		if (s->bucket < 0)
			continue;
		pps = (double)s->rate_pps / nbw;
		bps = (double)s->rate_bps / nbw;
		for (w = 0; w < ST_MAX_WORKERS; w++) {
			struct st_bucket *b = &pol->buckets[w * pol->nb_buckets + s->bucket];

			memset(b, 0, sizeof(*b));
			b->pps_per_tsc = pps / hz;
			b->bps_per_tsc = bps / hz;
			b->pps_depth = RTE_MAX(pps / 100.0, 32.0);
			b->bps_depth = RTE_MAX(bps / 100.0, 65536.0 * 8);
			b->pps_tokens = b->pps_depth;
			b->bps_tokens = b->bps_depth;
			b->last_tsc = 0;
		}
	}
	pol->bound = 1;
	return 0;
}

/* ---- the skeleton's policy, from the plan --------------------------------------- */

struct st_policy *
st_policy_from_plan(const struct st_plan *plan, struct st_error *err)
{
	struct st_policy_conf *c;
	struct st_session_conf sess;
	struct st_rule_conf rule;
	struct st_policy *pol;
	uint16_t i;

	/* ~25 KiB of maps: not for the stack of a libuv thread. */
	c = rte_zmalloc("st_default_policy", sizeof(*c), 0);
	if (c == NULL) {
		pol_err(err, "ST_ERR_NOMEM", ENOMEM, "policy|out of memory");
		return NULL;
	}
	memset(&sess, 0, sizeof(sess));
	memset(&rule, 0, sizeof(rule));
	if (plan->nb_shadow_ports != 0) {
		for (i = 0; i < plan->nb_ports; i++)
			if (plan->ports[i].role == ST_ROLE_PRODUCTION)
				sess.sources |= UINT32_C(1) << (2 * i);
		sess.sample_mode = ST_SAMPLE_ALL;
		rule.action = ST_RULE_ACCEPT;
		rule.vlan_hi = 4096;
		rule.sport_hi = UINT16_MAX;
		rule.dport_hi = UINT16_MAX;
		rule.signature = -1;
		c->nb_sessions = 1;
		c->sessions = &sess;
		c->nb_rules = 1;
		c->rules = &rule;
		c->nb_targets = 1;
		c->targets[0].nb_ports = plan->nb_shadow_ports;
		for (i = 0; i < plan->nb_shadow_ports; i++)
			c->targets[0].ports[i] = plan->shadow_ports[i];
		c->targets[0].encap = ST_ENCAP_NONE;
	}
	c->nb_map4 = plan->nb_map4;
	memcpy(c->map4, plan->map4, sizeof(c->map4[0]) * plan->nb_map4);
	c->nb_map6 = plan->nb_map6;
	memcpy(c->map6, plan->map6, sizeof(c->map6[0]) * plan->nb_map6);
	memcpy(c->default_src_mac, plan->shadow_src_mac, 6);
	memcpy(c->default_dst_mac, plan->shadow_dst_mac, 6);
	c->unmapped = plan->unmapped == ST_UNMAPPED_MIRROR ? ST_UNMAPPED_RULE_MIRROR :
		ST_UNMAPPED_RULE_DROP;
	c->control_plane = 0;
	pol = st_policy_compile(c, NULL, err);
	rte_free(c);
	return pol;
}

/* ---- install ---------------------------------------------------------------------- */

int
st_dp_policy_install(const struct st_policy_conf *conf, struct st_error *err)
{
	struct st_dp *g = &st_dp_g;
	struct st_policy *pol, *old;
	int s, rc;

	st_error_clear(err);
	if (conf == NULL)
		return INVALID(err, "policy|no policy given");
	pthread_mutex_lock(&g->policy_lock);
	s = st_dp_state_get();
	if (s == ST_DP_NO_EAL || s == ST_DP_CLEANED) {
		pthread_mutex_unlock(&g->policy_lock);
		st_error_set(err, "ST_ERR_EAL_NOT_READY", "", ENODEV,
			     "a policy needs EAL: initialise it first");
		return -ENODEV;
	}
	pol = st_policy_compile(conf, g->policy, err);
	if (pol == NULL) {
		pthread_mutex_unlock(&g->policy_lock);
		return err != NULL && err->errnum > 0 ? -err->errnum : -EINVAL;
	}
	/* Set up (ready or running): bind now; otherwise setup binds it. */
	if (s == ST_DP_READY || s == ST_DP_RUNNING) {
		rc = st_policy_bind(pol, &g->plan, err);
		if (rc != 0) {
			st_policy_free(pol);
			pthread_mutex_unlock(&g->policy_lock);
			return rc;
		}
	}
	old = g->policy;
	__atomic_store_n(&g->policy, pol, __ATOMIC_RELEASE);
	g->policy_installed = 1;
	__atomic_store_n(&g->policy_generation, pol->generation, __ATOMIC_RELAXED);
	/* Every worker that might still hold the old pointer passes a quiescent
	 * point (or goes offline) before it is freed. Cheap when none runs. */
	if (old != NULL && g->rcu != NULL)
		rte_rcu_qsbr_synchronize(g->rcu, RTE_QSBR_THRID_INVALID);
	st_policy_free(old);
	pthread_mutex_unlock(&g->policy_lock);
	return 0;
}

/* ---- NIC MARKs honoured ----------------------------------------------------------- */

int
st_dp_marks_install(const struct st_mark_conf *marks, uint32_t nb, struct st_error *err)
{
	struct st_dp *g = &st_dp_g;
	struct st_marks *mk = NULL, *old;
	uint32_t i;
	int s;

	st_error_clear(err);
	if (nb != 0 && marks == NULL)
		return INVALID(err, "marks|no marks given");
	for (i = 0; i < nb; i++) {
		const struct st_mark_conf *m = &marks[i];

		if (m->port >= ST_MAX_PORTS)
			return INVALID(err, "marks[%u].port|expected a plan port index below %u, got %u",
				       i, ST_MAX_PORTS, m->port);
		if (m->slot >= ST_MAX_SESSIONS)
			return INVALID(err, "marks[%u].slot|expected a session slot below %u, got %u",
				       i, ST_MAX_SESSIONS, m->slot);
		if (m->kind != ST_MARK_KIND_NIC_DECIDED && m->kind != ST_MARK_KIND_NIC_COPY)
			return INVALID(err, "marks[%u].kind|expected %d (decided by the NIC) or %d (a NIC-made copy), got %u",
				       i, ST_MARK_KIND_NIC_DECIDED, ST_MARK_KIND_NIC_COPY, m->kind);
	}
	pthread_mutex_lock(&g->policy_lock);
	s = st_dp_state_get();
	if (s == ST_DP_NO_EAL || s == ST_DP_CLEANED) {
		pthread_mutex_unlock(&g->policy_lock);
		st_error_set(err, "ST_ERR_EAL_NOT_READY", "", ENODEV,
			     "MARKs need EAL: initialise it first");
		return -ENODEV;
	}
	if (nb != 0) {
		mk = rte_zmalloc("st_marks", sizeof(*mk), RTE_CACHE_LINE_SIZE);
		if (mk == NULL) {
			pthread_mutex_unlock(&g->policy_lock);
			return pol_err(err, "ST_ERR_NOMEM", ENOMEM, "marks|out of memory for the MARK table");
		}
		for (i = 0; i < nb; i++) {
			mk->on[marks[i].port] = 1;
			mk->kind[marks[i].port][marks[i].slot] |= marks[i].kind;
		}
	}
	old = g->marks;
	__atomic_store_n(&g->marks, mk, __ATOMIC_RELEASE);
	if (old != NULL && g->rcu != NULL)
		rte_rcu_qsbr_synchronize(g->rcu, RTE_QSBR_THRID_INVALID);
	rte_free(old);
	pthread_mutex_unlock(&g->policy_lock);
	return 0;
}

int
st_dp_policy_path(void)
{
	struct st_dp *g = &st_dp_g;
	int path = -1;

	pthread_mutex_lock(&g->policy_lock);
	if (g->policy != NULL)
		path = g->policy->simple ? 1 : 0;
	pthread_mutex_unlock(&g->policy_lock);
	return path;
}
