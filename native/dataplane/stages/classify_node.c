/* SPDX-License-Identifier: BSD-3-Clause
 * The classify stage per burst (classify.h): keys, signatures and flow
 * hashes for the burst, and each session's deciding rule per packet.
 */
#include <stddef.h>
#include <string.h>

#include <rte_acl.h>
#include <rte_byteorder.h>
#include <rte_mbuf.h>
#include <rte_prefetch.h>

#include "lcore.h"
#include "classify.h"
#include "policy_parse.h"
#include "compiled_policy.h"

/* How many packets ahead to prefetch while parsing (l3fwd uses 3). */
#define ST_PREFETCH_OFFSET 3

_Static_assert(offsetof(struct st_key, vlan) == 3, "ACL key layout");
_Static_assert(offsetof(struct st_key, ethertype) == 5, "ACL key layout");
_Static_assert(offsetof(struct st_key, family) == 7, "ACL key layout");
_Static_assert(offsetof(struct st_key, sig) == 9, "ACL key layout");
_Static_assert(offsetof(struct st_key, src_lo) == 13, "ACL key layout");
_Static_assert(offsetof(struct st_key, dst_lo) == 17, "ACL key layout");
_Static_assert(offsetof(struct st_key, sport) == 21, "ACL key layout");
_Static_assert(offsetof(struct st_key, dport) == 23, "ACL key layout");
_Static_assert(offsetof(struct st_key, src_hi) == 25, "ACL key layout");
_Static_assert(offsetof(struct st_key, dst_hi) == 37, "ACL key layout");

static inline uint32_t
signature_hits(const struct st_policy *pol, const struct st_key *k, const uint8_t *f,
	       uint32_t len)
{
	return st_signature_hits(pol->signatures, pol->nb_signatures, k, f, len);
}

void
st_classify_keys(const struct st_policy *pol, struct rte_mbuf *const *pkts, uint16_t n,
		 struct st_key *keys, const uint8_t **kp, uint32_t *hash)
{
	uint16_t i;

	for (i = 0; i < n && i < ST_PREFETCH_OFFSET; i++)
		rte_prefetch0(rte_pktmbuf_mtod(pkts[i], void *));
	for (i = 0; i < n; i++) {
		const struct rte_mbuf *m = pkts[i];
		const uint8_t *f = rte_pktmbuf_mtod(m, const uint8_t *);
		uint32_t len = rte_pktmbuf_data_len(m);

		if (i + ST_PREFETCH_OFFSET < n)
			rte_prefetch0(rte_pktmbuf_mtod(pkts[i + ST_PREFETCH_OFFSET], void *));
		st_key_parse(&keys[i], f, len);
		if (pol->nb_signatures != 0)
			st_key_set_sig(&keys[i], signature_hits(pol, &keys[i], f, len));
		if (pol->need_hash)
			hash[i] = st_flow_hash(&keys[i], f, len);
		kp[i] = (const uint8_t *)&keys[i];
	}
}

static inline uint32_t
rd32(const uint8_t *p)
{
	uint32_t v;

	memcpy(&v, p, 4);
	return rte_be_to_cpu_32(v);
}

/* One direct rule against one key, with rte_acl's semantics (the rule was
 * made from the rte_acl rule: classify_ctl.c). What most rules test (the
 * bitmask fields, the last address words) is two 64-bit masked compares;
 * ranges, signatures and the first 96 address bits only when the rule
 * constrains them (the branches depend on the rule alone, so in the
 * rule-major loop they are always predicted). */
static __rte_always_inline int
direct_match(const struct st_direct_rule *d, const struct st_key *k)
{
	const uint8_t *kb = (const uint8_t *)k;
	uint64_t lo, addr;
	int ok;

	memcpy(&lo, kb, 8);
	memcpy(&addr, kb + offsetof(struct st_key, src_lo), 8);   /* src_lo, dst_lo */
	ok = ((lo & d->lo_m) == d->lo_v) & ((addr & d->addr_m) == d->addr_v);
	if (d->need & ST_DR_NEED_PORTS) {
		const uint16_t sp = st_rd16(k->sport), dp = st_rd16(k->dport);

		ok &= (sp >= d->slo) & (sp <= d->shi) & (dp >= d->dlo) & (dp <= d->dhi);
	}
	if (d->need & ST_DR_NEED_VLAN) {
		const uint16_t vlan = st_rd16(k->vlan);

		ok &= (vlan >= d->vlan_lo) & (vlan <= d->vlan_hi);
	}
	if (d->need & ST_DR_NEED_SIG)
		ok &= (rd32(k->sig) & d->sig) == d->sig;
	if ((d->need & ST_DR_NEED_HI) && ok) {
		for (unsigned int w = 0; w < 3; w++)
			ok &= ((rd32(k->src_hi + 4 * w) & d->src_m[w]) == d->src_v[w]) &
			      ((rd32(k->dst_hi + 4 * w) & d->dst_m[w]) == d->dst_v[w]);
	}
	return ok;
}

/* The deciding rule of each packet of todo for a directly decided session:
 * rule-major over the burst (one rule's constants stay in registers while
 * it meets every packet still undecided; a packet leaves at its first
 * match, so the first rule in policy order decides, as in rte_acl). */
static uint64_t
direct_session(struct st_lcore_ctr *c, const struct st_policy *pol,
	       const struct st_pol_session *ps, uint64_t todo, const struct st_key *keys)
{
	const struct st_direct_rule *d = &pol->direct[ps->dr_first];
	uint64_t acc = 0;
	uint16_t r;

	for (r = 0; r < ps->dr_count && todo != 0; r++, d++) {
		uint64_t left = todo, hit = 0;

		while (left != 0) {
			const unsigned int pi = (unsigned int)__builtin_ctzll(left);

			left &= left - 1;
			hit |= (uint64_t)direct_match(d, &keys[pi]) << pi;
		}
		if (hit == 0)
			continue;
		todo &= ~hit;
		c->rule_hits[pol->rules[d->rule].slot] += (uint64_t)__builtin_popcountll(hit);
		if (pol->rules[d->rule].action == ST_RULE_ACCEPT)
			acc |= hit;
	}
	return acc;
}

uint64_t
st_classify_session(struct st_lcore *lc, const struct st_policy *pol,
		    const struct st_pol_session *ps, uint64_t todo, const uint32_t *res,
		    uint32_t cats, const struct st_key *keys)
{
	struct st_lcore_ctr *c = &lc->ctr;
	uint64_t acc = 0;

	if (ps->classifier == ST_CLS_DIRECT)
		return direct_session(c, pol, ps, todo, keys);
	if (!ps->acl) {
		const int32_t r = ps->fixed_rule;

		if (r < 0)
			return 0;
		c->rule_hits[pol->rules[r].slot] += (uint64_t)__builtin_popcountll(todo);
		if (pol->rules[r].action == ST_RULE_ACCEPT)
			acc = todo;
	} else {
		const uint32_t *rs = res + ps->category;
		int32_t hit_rule = -1;
		uint64_t hits = 0;

		while (todo != 0) {
			const unsigned int pi = (unsigned int)__builtin_ctzll(todo);
			const int32_t r = (int32_t)rs[pi * cats] - 1;

			todo &= todo - 1;
			if (r < 0)
				continue;
			/* runs: one add per run of the same rule */
			if (r != hit_rule) {
				if (hits != 0)
					c->rule_hits[pol->rules[hit_rule].slot] += hits;
				hit_rule = r;
				hits = 0;
			}
			hits++;
			if (pol->rules[r].action == ST_RULE_ACCEPT)
				acc |= UINT64_C(1) << pi;
		}
		if (hits != 0)
			c->rule_hits[pol->rules[hit_rule].slot] += hits;
	}
	return acc;
}
