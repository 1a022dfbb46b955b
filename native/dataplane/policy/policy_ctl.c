/* SPDX-License-Identifier: BSD-3-Clause
 * Control side of the mirror policy: check a struct st_policy_conf, compile
 * it into an immutable struct st_policy (compiled_policy.h), bind it to the
 * running start plan, and make it current with an RCU swap.
 *
 * The compile asks each stage's control side for its part: the classifier's
 * contexts (classify_ctl.c), the rewrite tables (rewrite_ctl.c, shared with
 * the running policy when the topology is the same), the targets and their
 * encapsulation templates (tx_ctl.c, encap_ctl.c), the shadow firewall
 * (firewall_ctl.c), token buckets per capped session and worker
 * (sample_ctl.c); then it lists the shadow stages the policy has work for,
 * in the one order of st_shadow_stages[] below (stage.h).
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

#include "error.h"
#include "field_check.h"
#include "dp.h"
#include "compiled_policy.h"
#include "sample.h"
#include "rewrite.h"
#include "firewall.h"
#include "encap.h"
#include "tx.h"
#include "faults.h"
#include "measure.h"

/* The shadow path, in order: the one place it is written (stage.h). A
 * stage is listed in a policy only when `needed` says it has work there;
 * the fault stages only in the list for rounds with a fault armed. */
static const struct {
	uint8_t id;
	uint8_t fault;
	int (*needed)(const struct st_policy *pol);
	st_stage_fn run;
	st_stage_short_fn run_short;
} st_shadow_stages[] = {
	{ ST_STAGE_FAULT_KEY, 1, NULL, st_fault_key_stage, st_fault_key_stage_short },
	{ ST_STAGE_REWRITE, 0, NULL, st_rewrite_stage, st_rewrite_stage_short },
	{ ST_STAGE_FIREWALL, 0, st_firewall_needed, st_firewall_stage, NULL },
	{ ST_STAGE_ENCAP, 0, st_encap_needed, st_encap_stage, NULL },
	{ ST_STAGE_IMPAIR, 1, NULL, st_impair_stage, st_impair_stage_short },
	{ ST_STAGE_MEASURE, 0, st_measure_needed, st_measure_stage, st_measure_stage_short },
	{ ST_STAGE_TX, 0, NULL, st_tx_stage, st_tx_stage_short },
};
_Static_assert(RTE_DIM(st_shadow_stages) == ST_STAGE__COUNT, "every stage has its place");

/* ---- checks ----------------------------------------------------------------
 * Ranges are checked here, in the order the binding reads the fields and in
 * its words (field_check.h), so a policy the binding copied and one a C
 * caller built are refused alike; the binding checks only JS types. */

/* A rule's fields that classifier and firewall rules share. The IP version
 * reads as the binding always worded it: first the integer range, then the
 * values that mean something. */
static int
check_match(struct st_error *err, const char *what, uint32_t i, uint8_t ipv, uint8_t slen,
	    uint8_t dlen, uint16_t slo, uint16_t shi, uint16_t dlo, uint16_t dhi)
{
	char f[64];
	int rc;

	if ((rc = st_field_int(err, ipv, 0, 6, "policy.%s[%u].ipVersion", what, i)) != 0)
		return rc;
	if (ipv != 0 && ipv != 4 && ipv != 6) {
		snprintf(f, sizeof(f), "policy.%s[%u].ipVersion", what, i);
		return st_field_error(err, f, "expected 0 (any), 4 or 6");
	}
	if ((rc = st_field_int(err, slen, 0, 128, "policy.%s[%u].srcLen", what, i)) != 0 ||
	    (rc = st_field_int(err, dlen, 0, 128, "policy.%s[%u].dstLen", what, i)) != 0 ||
	    (rc = st_field_int(err, shi, slo, UINT16_MAX, "policy.%s[%u].sportHi", what, i)) != 0 ||
	    (rc = st_field_int(err, dhi, dlo, UINT16_MAX, "policy.%s[%u].dportHi", what, i)) != 0)
		return rc;
	return 0;
}

static int
check_targets(const struct st_policy_conf *c, struct st_error *err)
{
	char f[64];
	uint32_t i, j;
	int rc;

	if (c->nb_targets > ST_MAX_TARGETS)
		return st_field_count_error(err, "policy.targets", ST_MAX_TARGETS, c->nb_targets);
	for (i = 0; i < c->nb_targets; i++) {
		const struct st_target_conf *t = &c->targets[i];

		snprintf(f, sizeof(f), "policy.targets[%u].ports", i);
		if (t->nb_ports > ST_MAX_PORTS)
			return st_field_count_error(err, f, ST_MAX_PORTS, t->nb_ports);
		if (t->nb_ports == 0)
			return st_field_error(err, f, "expected at least one shadow port");
		for (j = 0; j < t->nb_ports; j++)
			if ((rc = st_field_int(err, t->ports[j], 0, ST_MAX_PORTS - 1,
					       "policy.targets[%u].ports[%u]", i, j)) != 0)
				return rc;
		if ((rc = st_field_int(err, t->encap, 0, ST_ENCAP_GENEVE,
				       "policy.targets[%u].encap", i)) != 0 ||
		    (rc = st_field_int(err, t->vlan_id, 0, 4095, "policy.targets[%u].vlanId", i)) != 0 ||
		    (rc = st_field_int(err, t->vlan_pcp, 0, 7, "policy.targets[%u].vlanPcp", i)) != 0 ||
		    (rc = st_field_int(err, t->vni, 0, 0xffffff, "policy.targets[%u].vni", i)) != 0)
			return rc;
	}
	return 0;
}

static int
check_sessions(const struct st_policy_conf *c, struct st_error *err)
{
	uint32_t i;
	int rc;

	if (c->nb_sessions > ST_MAX_SESSIONS)
		return st_field_count_error(err, "policy.sessions", ST_MAX_SESSIONS, c->nb_sessions);
	for (i = 0; i < c->nb_sessions; i++) {
		const struct st_session_conf *s = &c->sessions[i];

		if ((rc = st_field_int(err, s->slot, 0, ST_MAX_SESSIONS - 1,
				       "policy.sessions[%u].slot", i)) != 0 ||
		    (rc = st_field_int(err, s->target, 0, (int64_t)c->nb_targets - 1,
				       "policy.sessions[%u].target", i)) != 0 ||
		    (rc = st_field_int(err, s->sample_mode, 0, ST_SAMPLE_FLOW,
				       "policy.sessions[%u].sampleMode", i)) != 0 ||
		    (rc = st_field_int(err, (int64_t)RTE_MIN(s->rate_pps, (uint64_t)INT64_MAX), 0,
				       ST_MAX_RATE, "policy.sessions[%u].ratePps", i)) != 0 ||
		    (rc = st_field_int(err, (int64_t)RTE_MIN(s->rate_bps, (uint64_t)INT64_MAX), 0,
				       ST_MAX_RATE, "policy.sessions[%u].rateBps", i)) != 0)
			return rc;
	}
	return 0;
}

static int
check_rules(const struct st_policy_conf *c, struct st_error *err)
{
	uint32_t i;
	int rc;

	if (c->nb_rules > ST_MAX_RULES)
		return st_field_count_error(err, "policy.rules", ST_MAX_RULES, c->nb_rules);
	for (i = 0; i < c->nb_rules; i++) {
		const struct st_rule_conf *r = &c->rules[i];

		if ((rc = st_field_int(err, r->session, 0, (int64_t)c->nb_sessions - 1,
				       "policy.rules[%u].session", i)) != 0 ||
		    (rc = st_field_int(err, r->rule_slot, 0, ST_MAX_RULES - 1,
				       "policy.rules[%u].ruleSlot", i)) != 0 ||
		    (rc = st_field_int(err, r->action, 0, ST_RULE_REJECT,
				       "policy.rules[%u].action", i)) != 0 ||
		    (rc = st_field_int(err, r->vlan_lo, 0, 4096, "policy.rules[%u].vlanLo", i)) != 0 ||
		    (rc = st_field_int(err, r->vlan_hi, r->vlan_lo, 4096,
				       "policy.rules[%u].vlanHi", i)) != 0 ||
		    (rc = check_match(err, "rules", i, r->ip_version, r->src_len, r->dst_len,
				      r->sport_lo, r->sport_hi, r->dport_lo, r->dport_hi)) != 0 ||
		    (rc = st_field_int(err, r->signature, -1, (int64_t)c->nb_signatures - 1,
				       "policy.rules[%u].signature", i)) != 0)
			return rc;
	}
	return 0;
}

int
st_policy_check(const struct st_policy_conf *c, struct st_error *err)
{
	uint32_t i;
	int rc;

	st_error_clear(err);
	if (c == NULL)
		return ST_INVALID(err, "policy|no policy given");
	/* What only a C caller can get wrong, first: the arrays are read below. */
	if (c->nb_sessions != 0 && c->sessions == NULL && c->nb_sessions <= ST_MAX_SESSIONS)
		return ST_INVALID(err, "policy.sessions|%u sessions announced, none given",
				  c->nb_sessions);
	if (c->nb_rules != 0 && c->rules == NULL && c->nb_rules <= ST_MAX_RULES)
		return ST_INVALID(err, "policy.rules|%u rules announced, none given", c->nb_rules);
	if (c->nb_mac_maps != 0 && c->mac_maps == NULL && c->nb_mac_maps <= ST_MAX_MAC_MAPS)
		return ST_INVALID(err, "policy.macMaps|%u MAC maps announced, none given",
				  c->nb_mac_maps);
	if (c->nb_fw_rules != 0 && c->fw_rules == NULL && c->nb_fw_rules <= ST_MAX_FW_RULES)
		return ST_INVALID(err, "policy.fwRules|%u rules announced, none given", c->nb_fw_rules);
	if ((rc = check_targets(c, err)) != 0)
		return rc;
	if (c->nb_signatures > ST_MAX_SIGNATURES)
		return st_field_count_error(err, "policy.signatures", ST_MAX_SIGNATURES,
					    c->nb_signatures);
	for (i = 0; i < c->nb_signatures; i++) {
		const struct st_signature_conf *s = &c->signatures[i];

		if ((rc = st_field_int(err, s->base, 0, ST_SIG_PAYLOAD,
				       "policy.signatures[%u].base", i)) != 0)
			return rc;
		/* The binding copies 1..ST_SIG_MAX_LEN bytes or none. */
		if (s->len < 1 || s->len > ST_SIG_MAX_LEN) {
			char f[48];

			snprintf(f, sizeof(f), "policy.signatures[%u].value", i);
			return st_field_bytes_error(err, f, 1, ST_SIG_MAX_LEN, s->len);
		}
	}
	if ((rc = check_sessions(c, err)) != 0 || (rc = check_rules(c, err)) != 0)
		return rc;
	if (c->nb_map4 > ST_MAX_MAPS)
		return st_field_count_error(err, "policy.map4", ST_MAX_MAPS, c->nb_map4);
	for (i = 0; i < c->nb_map4; i++)
		if ((rc = st_field_int(err, c->map4[i].len, 0, 32, "policy.map4[%u].len", i)) != 0)
			return rc;
	if (c->nb_map6 > ST_MAX_MAPS)
		return st_field_count_error(err, "policy.map6", ST_MAX_MAPS, c->nb_map6);
	for (i = 0; i < c->nb_map6; i++)
		if ((rc = st_field_int(err, c->map6[i].len, 0, 128, "policy.map6[%u].len", i)) != 0)
			return rc;
	if (c->nb_mac_maps > ST_MAX_MAC_MAPS)
		return st_field_count_error(err, "policy.macMaps", ST_MAX_MAC_MAPS, c->nb_mac_maps);
	if ((rc = st_field_int(err, c->unmapped, 0, ST_UNMAPPED_RULE_COUNT, "policy.unmapped")) != 0 ||
	    (rc = st_field_int(err, c->control_plane, 0, ST_CP_ALL, "policy.controlPlane")) != 0 ||
	    (rc = st_field_int(err, c->fw_default, 0, ST_RULE_REJECT, "policy.fwDefault")) != 0)
		return rc;
	if (c->nb_router_ids > ST_MAX_RIDS)
		return st_field_count_error(err, "policy.routerIds", ST_MAX_RIDS, c->nb_router_ids);
	for (i = 0; i < ST_LEAK__COUNT; i++) {
		static const char *const names[] = ST_LEAK_KIND_NAMES;

		if ((rc = st_field_int(err, c->leak[i], 0, ST_LEAK_PASS, "policy.leak.%s",
				       names[i])) != 0)
			return rc;
	}
	if (c->nb_fw_rules > ST_MAX_FW_RULES)
		return st_field_count_error(err, "policy.fwRules", ST_MAX_FW_RULES, c->nb_fw_rules);
	for (i = 0; i < c->nb_fw_rules; i++) {
		const struct st_fw_rule *r = &c->fw_rules[i];

		if ((rc = st_field_int(err, r->action, 0, ST_RULE_REJECT,
				       "policy.fwRules[%u].action", i)) != 0 ||
		    (rc = check_match(err, "fwRules", i, r->ip_version, r->src_len, r->dst_len,
				      r->sport_lo, r->sport_hi, r->dport_lo, r->dport_hi)) != 0)
			return rc;
	}
	return 0;
}

/* What the fields cannot say one by one: counter slots and target ports
 * used twice. Checked by the compile, after st_policy_check. */
static int
check_invariants(const struct st_policy_conf *c, struct st_error *err)
{
	uint32_t i, j, k;

	for (i = 0; i < c->nb_targets; i++) {
		const struct st_target_conf *t = &c->targets[i];

		for (j = 0; j < t->nb_ports; j++)
			for (k = 0; k < j; k++)
				if (t->ports[k] == t->ports[j])
					return ST_INVALID(err, "policy.targets[%u].ports[%u]|port %d "
							  "is listed twice", i, j, t->ports[j]);
	}
	for (i = 0; i < c->nb_sessions; i++)
		for (j = 0; j < i; j++)
			if (c->sessions[j].slot == c->sessions[i].slot)
				return ST_INVALID(err, "policy.sessions[%u].slot|slot %u is already "
						  "used by sessions[%u] (id %u)", i, c->sessions[i].slot,
						  j, c->sessions[j].id);
	return 0;
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
	st_rewrite_detach(pol);
	rte_free(pol->fw_action);
	rte_free(pol->direct);
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
	uint8_t any_acl = 0, any_flow = 0, short_stages = 1, short_stages_f = 1;

	if (st_policy_check(c, err) != 0 || check_invariants(c, err) != 0)
		return NULL;
	pol = rte_zmalloc("st_policy", sizeof(*pol), RTE_CACHE_LINE_SIZE);
	if (pol == NULL) {
		st_error_fieldf(err, "ST_ERR_NOMEM", ENOMEM, "policy|out of memory for the policy");
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
		s->acl = fr >= 0 && !st_classify_rule_is_wild(&c->rules[fr]);
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
	if (any_acl) {
		pol->direct = rte_zmalloc("st_pol_direct", sizeof(*pol->direct) * c->nb_rules,
					  RTE_CACHE_LINE_SIZE);
		if (pol->direct == NULL)
			goto nomem;
	}
	for (i = 0; i < pol->nb_groups; i++) {
		struct st_pol_group *g = &pol->groups[i];

		g->first = (uint16_t)(i * ST_GROUP_SESSIONS);
		g->count = (uint16_t)RTE_MIN(ST_GROUP_SESSIONS, c->nb_sessions - g->first);
		for (uint32_t k = g->first; k < (uint32_t)g->first + g->count; k++)
			g->sources |= pol->sessions[k].sources;
		if (st_classify_build_group(pol, c, g, scratch, err) != 0)
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

	if (st_tx_compile_targets(pol, c, err) != 0)
		goto fail;

	if (c->nb_sessions != 0 && st_rewrite_attach(pol, c, current, err) != 0)
		goto fail;

	if (c->fw_enabled) {
		pol->fw_enabled = 1;
		if (st_firewall_build(pol, c, scratch, err) != 0)
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
	pol->need_hash = any_flow || pol->any_encap;
	pol->need_key = any_acl || pol->need_hash || c->nb_signatures != 0;
	/* The shadow stages this policy has work for, in their one order. */
	for (i = 0; i < RTE_DIM(st_shadow_stages); i++) {
		struct st_stage *st;

		if (st_shadow_stages[i].needed != NULL && !st_shadow_stages[i].needed(pol))
			continue;
		st = &pol->stages_f[pol->nb_stages_f++];
		st->id = st_shadow_stages[i].id;
		st->run = st_shadow_stages[i].run;
		st->run_short = st_shadow_stages[i].run_short;
		short_stages_f &= st->run_short != NULL;
		if (st_shadow_stages[i].fault)
			continue;
		pol->stages[pol->nb_stages++] = *st;
		short_stages &= st->run_short != NULL;
	}
	/* The common shape the short path serves (compiled_policy.h, "simple"). */
	if (pol->nb_sessions == 1) {
		const struct st_pol_session *s0 = &pol->sessions[0];

		pol->simple = !s0->acl && s0->fixed_rule >= 0 &&
			pol->rules[s0->fixed_rule].action == ST_RULE_ACCEPT &&
			s0->sample_mode == ST_SAMPLE_ALL && s0->bucket < 0 && s0->snaplen == 0 &&
			!pol->need_key && short_stages;
		pol->simple_f = pol->simple && short_stages_f;
	}
	return pol;

nomem:
	st_error_fieldf(err, "ST_ERR_NOMEM", ENOMEM, "policy|out of memory for the policy tables");
fail:
	rte_free(first_rule);
	rte_free(scratch);
	st_policy_free(pol);
	return NULL;
}

int
st_policy_bind(struct st_policy *pol, const struct st_start_plan *sp, struct st_error *err)
{
	uint32_t valid = sp->nb_ports >= 16 ? UINT32_MAX :
		(UINT32_C(1) << (2 * sp->nb_ports)) - 1;
	uint32_t i;
	int rc;

	for (i = 0; i < pol->nb_sessions; i++)
		if ((pol->sessions[i].sources & ~valid) != 0)
			return ST_INVALID(err, "policy.sessions[%u].sources|bits 0x%x name ports the "
				       "plan does not have (it has %u ports: bits 0..%u)", i,
				       pol->sessions[i].sources & ~valid, sp->nb_ports,
				       2 * sp->nb_ports - 1);
	rc = st_tx_bind(pol, sp, err);
	if (rc != 0)
		return rc;
	st_sample_bind(pol, sp);
	pol->bound = 1;
	return 0;
}

/* ---- the skeleton's policy, from the start plan --------------------------------------- */

struct st_policy *
st_policy_from_start_plan(const struct st_start_plan *sp, struct st_error *err)
{
	struct st_policy_conf *c;
	struct st_session_conf sess;
	struct st_rule_conf rule;
	struct st_policy *pol;
	uint16_t i;

	/* ~25 KiB of maps: not for the stack of a libuv thread. */
	c = rte_zmalloc("st_default_policy", sizeof(*c), 0);
	if (c == NULL) {
		st_error_fieldf(err, "ST_ERR_NOMEM", ENOMEM, "policy|out of memory");
		return NULL;
	}
	memset(&sess, 0, sizeof(sess));
	memset(&rule, 0, sizeof(rule));
	if (sp->nb_shadow_ports != 0) {
		for (i = 0; i < sp->nb_ports; i++)
			if (sp->ports[i].role == ST_ROLE_PRODUCTION)
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
		c->targets[0].nb_ports = sp->nb_shadow_ports;
		for (i = 0; i < sp->nb_shadow_ports; i++)
			c->targets[0].ports[i] = sp->shadow_ports[i];
		c->targets[0].encap = ST_ENCAP_NONE;
	}
	c->nb_map4 = sp->nb_map4;
	memcpy(c->map4, sp->map4, sizeof(c->map4[0]) * sp->nb_map4);
	c->nb_map6 = sp->nb_map6;
	memcpy(c->map6, sp->map6, sizeof(c->map6[0]) * sp->nb_map6);
	memcpy(c->default_src_mac, sp->shadow_src_mac, 6);
	memcpy(c->default_dst_mac, sp->shadow_dst_mac, 6);
	c->unmapped = sp->unmapped == ST_UNMAPPED_MIRROR ? ST_UNMAPPED_RULE_MIRROR :
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
		return ST_INVALID(err, "policy|no policy given");
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

int
st_dp_policy_classifiers(uint8_t *by_slot, uint16_t nb_slots)
{
	struct st_dp *g = &st_dp_g;
	uint16_t i;

	memset(by_slot, ST_CLS_NONE, nb_slots);
	pthread_mutex_lock(&g->policy_lock);
	if (g->policy == NULL) {
		pthread_mutex_unlock(&g->policy_lock);
		return -1;
	}
	for (i = 0; i < g->policy->nb_sessions; i++)
		if (g->policy->sessions[i].slot < nb_slots)
			by_slot[g->policy->sessions[i].slot] = g->policy->sessions[i].classifier;
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

