/* SPDX-License-Identifier: BSD-3-Clause
 * The compiled policy: what policy_ctl.c builds from a struct st_policy_conf
 * (policy.h) and every worker reads through one pointer, loaded once per
 * poll round and swapped with rte_rcu_qsbr. Immutable once published.
 *
 * Without an installed policy, setup derives the skeleton's behaviour from
 * the start plan (st_policy_from_start_plan): one session, every production port's rx,
 * accept all, target = the start plan's shadow ports, the start plan's maps and MACs.
 */
#ifndef ST_COMPILED_POLICY_H
#define ST_COMPILED_POLICY_H

#include <stdint.h>

#include <rte_common.h>

#include "st_dataplane.h"
#include "policy.h"
#include "encap.h"
#include "stage.h"

struct rte_acl_ctx;
struct rte_mbuf;
struct st_lcore;
struct st_rxq;
struct st_nic_burst;
struct st_rewrite_tables;
struct st_rw_shared;

/* Sessions are evaluated in groups of up to RTE_ACL_MAX_CATEGORIES
 * consecutive sessions: one rte_acl context per group, one category per
 * session that needs the classifier. */
#define ST_GROUP_SESSIONS 16

/* A group whose classifier-needing sessions have at most this many rules
 * between them is decided by the direct evaluator (classify_node.c) instead
 * of rte_acl. Profiled on the worker (st-acl1, one UDP + /16 rule, 64-byte
 * frames): rte_acl_classify and its result walk took about 18 % of the
 * worker's user time, one direct rule about 3 %, and rte_acl's share hardly
 * grows with its rule count (st-acl1000 runs at st-acl1's rate). A packet
 * leaves the direct evaluator at its first matching rule, but one that
 * matches none tests them all: 6 rules is where that worst case meets
 * rte_acl (docs/benchmarks.md). */
#define ST_DIRECT_MAX_RULES 6

/* How a session's packets find their deciding rule (GET /v1/sessions). */
enum st_classifier {
	ST_CLS_NONE = 0,           /* no rule, or a first rule that matches everything */
	ST_CLS_DIRECT,             /* the direct evaluator, rule by rule on the key */
	ST_CLS_ACL,                /* rte_acl over the group's context */
};

struct st_pol_session {
	uint32_t sources;          /* bit 2 * port + dir */
	uint16_t slot;             /* counter slot */
	uint16_t target;
	uint8_t sample_mode;       /* enum st_sample_mode */
	uint8_t category;          /* in the group's context when acl */
	uint8_t acl;               /* 1: decided by rte_acl; 0: by fixed_rule or direct */
	uint8_t classifier;        /* enum st_classifier */
	uint16_t dr_count;         /* direct: its rules are direct[dr_first ...] */
	uint32_t dr_first;
	uint32_t sample_threshold;
	uint32_t snaplen;          /* 0 = whole frame */
	int32_t fixed_rule;        /* !acl: the rule deciding every packet, -1 = none */
	int32_t bucket;            /* index into the rate buckets, -1 = no cap */
	uint64_t rate_pps, rate_bps;
};

struct st_pol_rule {
	uint32_t slot;
	uint8_t action;            /* enum st_rule_action */
};

/* A rule as the direct evaluator tests it (classify_ctl.c builds it from the
 * same fields as the rte_acl rule, with rte_acl's semantics: bitmask fields
 * (key & mask) == value, ranges inclusive, prefixes as 32-bit words of the
 * key in host order; a narrow group leaves the first 96 address bits out,
 * as its narrow rte_acl context would). */
struct st_direct_rule {
	/* The bitmask fields of key bytes 0..7 (proto, IP version, TCP flags,
	 * ethertype, family) and the last address words (bytes 13..20) as two
	 * 64-bit value/mask pairs in key byte order: two loads and compares
	 * for what most rules test. The rest only when `need` says so. */
	uint64_t lo_v, lo_m, addr_v, addr_m;
	uint8_t need;              /* ST_DR_NEED_* */
	uint32_t rule;             /* index into rules */
	uint32_t sig;              /* signature bit the key must have, 0 = any */
	uint8_t proto, proto_mask, ipv, ipv_mask;
	uint8_t flags, flags_mask, family, family_mask;
	uint16_t et, et_mask;
	uint16_t vlan_lo, vlan_hi;
	uint16_t slo, shi, dlo, dhi;
	uint32_t src_v[4], src_m[4];   /* words 0..2: key src_hi, 3: src_lo */
	uint32_t dst_v[4], dst_m[4];
};

#define ST_DR_NEED_VLAN  0x01
#define ST_DR_NEED_SIG   0x02
#define ST_DR_NEED_PORTS 0x04
#define ST_DR_NEED_HI    0x08     /* the first 96 address bits (IPv6 prefixes) */

struct st_pol_group {
	struct rte_acl_ctx *acl;   /* NULL when no session of the group needs it */
	uint16_t first, count;     /* sessions [first, first + count) */
	uint32_t categories;       /* as built; what rte_acl_classify is given */
	uint32_t sources;          /* union of the group's sessions' sources */
};

struct st_pol_target {
	uint16_t nb_ports;
	uint16_t port_idx[ST_MAX_PORTS];   /* start plan indexes */
	uint16_t port_id[ST_MAX_PORTS];    /* ethdev ids, filled when bound to a start plan */
	uint16_t wire_extra;               /* bytes the encapsulation adds */
	struct st_encap_tmpl tmpl;
};

struct st_pol_sig {
	uint8_t base, len;
	uint16_t offset;
	uint8_t value[ST_SIG_MAX_LEN];
	uint8_t mask[ST_SIG_MAX_LEN];
};

/* Token buckets of one capped session on one worker: written by that worker
 * only; a cache line each so workers never share one. Tokens are in packets
 * and bits; the per-TSC rates are this worker's share (rate / nb_workers). */
struct st_bucket {
	double pps_tokens, bps_tokens;
	double pps_per_tsc, bps_per_tsc;
	double pps_depth, bps_depth;
	uint64_t last_tsc;
} __rte_cache_aligned;

struct st_policy {
	uint32_t generation;
	uint8_t match_all;
	uint8_t need_key;          /* something reads the parsed key */
	uint8_t need_hash;         /* flow sampling or encapsulation */
	uint8_t bound;             /* target ports and rates resolved for a start plan */
	/* The common shape, served by the short path (st_simple_copy and
	 * st_simple_shadow): one session, decided without the classifier by an
	 * accepting rule, every packet, no rate cap, whole frames, no
	 * signatures, and only shadow stages that have a short form (stage.h).
	 * Same output and counters as the general path. */
	uint8_t simple;
	/* simple, and the fault stages' short forms can serve it too: the short
	 * path also in rounds with a fault armed whose table does not duplicate
	 * (st_fault_table_grows) */
	uint8_t simple_f;
	uint8_t any_encap;         /* some target encapsulates */
	uint8_t nb_stages;
	/* The shadow path, in order, without the stages this policy has no
	 * work for (stage.h). */
	struct st_stage stages[ST_STAGE__COUNT];
	/* The same list with the fault stages, for rounds with a fault armed. */
	uint8_t nb_stages_f;
	struct st_stage stages_f[ST_STAGE__COUNT];
	uint32_t sources;          /* union of every session's sources */
	uint16_t nb_sessions;
	uint16_t nb_groups;
	uint16_t nb_targets;
	uint16_t nb_signatures;
	uint32_t nb_rules;
	uint32_t nb_buckets;       /* capped sessions; buckets[worker * nb_buckets + b] */
	struct st_pol_session *sessions;
	struct st_pol_rule *rules;
	struct st_pol_group *groups;
	struct st_direct_rule *direct;  /* rules of the directly decided sessions */
	uint32_t nb_direct;
	struct st_bucket *buckets;
	struct st_rewrite_tables *rw;  /* = rws->tables, for the fast path */
	struct st_rw_shared *rws;      /* shared with the previous policy when the
					* topology did not change */
	struct rte_acl_ctx *fw;    /* NULL: no firewall rules (fw_default decides) */
	uint8_t fw_enabled;        /* copies of IP packets go through the firewall */
	uint8_t fw_default;        /* enum st_rule_action */
	uint8_t *fw_action;        /* per firewall rule */
	struct st_pol_target targets[ST_MAX_TARGETS];
	struct st_pol_sig signatures[ST_MAX_SIGNATURES];
	/* counter slot -> session index, -1 = no such session (NIC MARKs name slots) */
	int16_t slot_si[ST_MAX_SESSIONS];
};

/* ---- control time (policy_ctl.c) ------------------------------------------ */

/* Compile conf; NULL + err on failure (nothing left allocated). `current`
 * (may be NULL): the running policy, whose rewrite tables are shared when the
 * topology part of conf is the same. Control threads only, under policy_lock. */
struct st_policy *st_policy_compile(const struct st_policy_conf *conf,
				    const struct st_policy *current,
				    struct st_error *err);
/* Resolve target ports and per-worker rates against a start plan and the ports
 * started for it; err names "policy.<field>". */
int st_policy_bind(struct st_policy *pol, const struct st_start_plan *sp,
		   struct st_error *err);
void st_policy_free(struct st_policy *pol);
/* The skeleton's behaviour as a policy (see the top of this file). */
struct st_policy *st_policy_from_start_plan(const struct st_start_plan *sp,
				      struct st_error *err);

/* ---- per burst (policy_node.c), in the order a production burst needs them:
 * st_policy_copy() classifies the burst and makes the copies (before the
 * originals go to production tx, which may recycle them at once); in tap
 * mode it may take an original itself and sets pkts[i] = NULL. Then the
 * caller forwards or frees the originals, and st_policy_shadow() runs the
 * policy's shadow stages over the copies. */
void st_policy_copy(struct st_lcore *lc, const struct st_rxq *q,
		    const struct st_policy *pol, struct rte_mbuf **pkts, uint16_t n,
		    const struct st_nic_burst *nb);
void st_policy_shadow(struct st_lcore *lc, const struct st_policy *pol);
/* The short path for a simple policy (pol->simple), in the same two halves:
 * st_simple_copy() counts the burst's packets in the session and puts one
 * whole copy of each into cps[] (take: tap mode, the packet itself, and
 * pkts[i] = NULL), returning how many; st_simple_shadow() runs the same
 * shadow stages, in their short forms. */
uint16_t st_simple_copy(struct st_lcore *lc, const struct st_policy *pol,
			struct rte_mbuf **pkts, uint16_t n, struct rte_mbuf **cps, int take);
void st_simple_shadow(struct st_lcore *lc, const struct st_policy *pol,
		      struct rte_mbuf **cps, uint16_t n);

#endif /* ST_COMPILED_POLICY_H */
