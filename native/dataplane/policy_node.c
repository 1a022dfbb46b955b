/* SPDX-License-Identifier: BSD-3-Clause
 * Fast-path half of the mirror policy, per production burst.
 *
 * st_policy_copy (before production tx):
 *  1. Runts (shorter than an Ethernet header) are counted as malformed once
 *     and never classified.
 *  2. Only when something reads it: every packet is parsed once into the
 *     normalised key (classify.h), signatures are evaluated when the policy
 *     has any, and the symmetric flow hash is computed when a session samples
 *     per flow or a target encapsulates.
 *  3. Sessions, in order, in groups of 16: a group none of whose sessions
 *     lists this queue's source bits is skipped; otherwise one
 *     rte_acl_classify over the whole burst gives, per session (category),
 *     its first matching rule. A session decided without the classifier
 *     (first rule matches everything) reads its fixed rule.
 *  4. Per offered session (session-major, packets as bits of a 64-bit mask):
 *     packets whose target an earlier session already took are skipped
 *     (unless match_all; skipped sessions count nothing); the deciding rule
 *     counts a hit; reject or no rule = no copy. Accept: matched, then
 *     sampling (per packet: xorshift64* per lcore; per flow: flow hash <
 *     threshold), sampled, then the rate cap (token buckets per worker; pps
 *     and bits on the shadow wire incl. encapsulation), then the copy of the
 *     first snaplen bytes (bulk-allocated; rte_pktmbuf_copy for chained or
 *     oversized frames). Tap mode: a packet with exactly one copy that is
 *     not truncated is taken itself, no copy. A copy counts in its session
 *     at each step; copies of different sessions may leave in session order
 *     rather than packet order.
 * st_policy_shadow (after production tx), for the copies of the burst:
 *  5. st_rewrite_frame_ex (wire_len = original length); anomalies are counted
 *     once per packet (on its first copy).
 *  6. Shadow firewall on IP copies (after translation, so the translated
 *     security rules apply): one classify per 64 copies; non-IP copies
 *     (ARP...) are not filtered.
 *  7. st_encap_apply, then transmit per target (one reference per port);
 *     mirrored packets/bytes count once per target port that accepted the
 *     copy (bytes as sent, encapsulation included), like the global counters.
 */
#include <stddef.h>

#include <rte_acl.h>
#include <rte_branch_prediction.h>
#include <rte_cycles.h>
#include <rte_ethdev.h>
#include <rte_mbuf.h>
#include <rte_memcpy.h>
#include <rte_prefetch.h>

#include "pipeline.h"
#include "classify.h"
#include "policy_parse.h"

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
_Static_assert(ST_MAX_TARGETS <= 16, "targets taken per packet fit a uint16_t");

static inline uint64_t
xorshift64s(uint64_t *s)
{
	uint64_t x = *s;

	x ^= x >> 12;
	x ^= x << 25;
	x ^= x >> 27;
	*s = x;
	return x * 0x2545f4914f6cdd1dull;
}

static inline void
count_anomalies(struct st_lcore_ctr *c, uint32_t bits)
{
	while (bits != 0) {
		unsigned int a = (unsigned int)__builtin_ctz(bits);

		bits &= bits - 1;
		if (likely(a < ST_ANOM__COUNT))
			c->anomalies[a]++;
	}
}

static inline uint32_t
signature_hits(const struct st_policy *pol, const struct st_key *k, const uint8_t *f,
	       uint32_t len)
{
	return st_signature_hits(pol->signatures, pol->nb_signatures, k, f, len);
}

/* Token buckets, refilled lazily from the TSC. The first use starts the
 * clock with a full bucket. */
static inline int
bucket_take(struct st_bucket *b, uint64_t now, double bits)
{
	if (unlikely(b->last_tsc == 0)) {
		b->last_tsc = now;
	} else if (now > b->last_tsc) {
		double dt = (double)(now - b->last_tsc);

		b->pps_tokens += dt * b->pps_per_tsc;
		if (b->pps_tokens > b->pps_depth)
			b->pps_tokens = b->pps_depth;
		b->bps_tokens += dt * b->bps_per_tsc;
		if (b->bps_tokens > b->bps_depth)
			b->bps_tokens = b->bps_depth;
		b->last_tsc = now;
	}
	if (b->pps_per_tsc > 0 && b->pps_tokens < 1.0)
		return 0;
	if (b->bps_per_tsc > 0 && b->bps_tokens < bits)
		return 0;
	if (b->pps_per_tsc > 0)
		b->pps_tokens -= 1.0;
	if (b->bps_per_tsc > 0)
		b->bps_tokens -= bits;
	return 1;
}

static uint32_t copy_len(const struct rte_mbuf *m, uint32_t snaplen, uint32_t len);

/* The session's rate cap for one copy of m (the copy's length as truncation
 * leaves it, headers kept, plus what encapsulation adds): 1 = within the
 * cap. `buckets` and `now` are this worker's, set whenever the policy has a
 * capped session. */
static inline int
within_rate(const struct st_policy *pol, const struct st_pol_session *ps,
	    struct st_bucket *buckets, uint64_t now, const struct rte_mbuf *m)
{
	uint32_t len;

	if (ps->bucket < 0)
		return 1;
	len = rte_pktmbuf_pkt_len(m);
	if (ps->snaplen != 0 && len > ps->snaplen)
		len = copy_len(m, ps->snaplen, len);
	return bucket_take(&buckets[ps->bucket], now,
			   8.0 * (len + pol->targets[ps->target].wire_extra));
}

struct st_decision {
	uint16_t pkt;
	uint16_t session;
};

/* One copy of m (first `len` bytes) into a fresh mbuf; a single-segment
 * frame that fits is copied by hand (the common case), anything else by
 * rte_pktmbuf_copy. NULL when the pool is empty. */
static inline struct rte_mbuf *
copy_frame(struct rte_mbuf *m, struct rte_mbuf *fresh, struct rte_mempool *pool, uint32_t len)
{
	struct rte_mbuf *cp;

	if (likely(fresh != NULL && m->nb_segs == 1 && len <= rte_pktmbuf_tailroom(fresh))) {
		rte_memcpy(rte_pktmbuf_mtod(fresh, void *), rte_pktmbuf_mtod(m, const void *), len);
		fresh->data_len = (uint16_t)len;
		fresh->pkt_len = len;
		fresh->port = m->port;
		fresh->vlan_tci = m->vlan_tci;
		fresh->vlan_tci_outer = m->vlan_tci_outer;
		fresh->packet_type = m->packet_type;
		fresh->hash = m->hash;
		return fresh;
	}
	cp = rte_pktmbuf_copy(m, pool, 0, len);
	if (fresh != NULL)
		rte_pktmbuf_free(fresh);
	return cp;
}

/* How many bytes a truncated copy keeps: see st_copy_len (policy_parse.h). */
static uint32_t
copy_len(const struct rte_mbuf *m, uint32_t snaplen, uint32_t len)
{
	return st_copy_len(rte_pktmbuf_mtod(m, const uint8_t *), rte_pktmbuf_data_len(m), snaplen, len);
}

/* What the copy step needs to know of a burst; packets are bits (a burst
 * is at most 64 packets). */
struct st_burst {
	uint64_t once;          /* packets with at least one copy decided */
	uint64_t multi;         /* ... with two or more (tap mode: no in-place) */
	uint64_t first_done;    /* packets whose first copy exists (anomalies) */
	const uint32_t *hash;   /* flow hashes, or NULL */
};

_Static_assert(ST_BURST_MAX <= 64, "a burst is a 64-bit mask");

/* Turn decisions into pending copies. `final`: every decision of the burst
 * is known, so a tap-mode packet with exactly one may be taken itself.
 * Copies are allocated in one bulk call. */
static void
materialize(struct st_lcore *lc, const struct st_policy *pol, struct rte_mbuf **pkts,
	    const struct st_decision *dec, uint32_t nd, struct st_burst *b, int final)
{
	struct st_lcore_ctr *c = &lc->ctr;
	struct st_pol_work *wk = &lc->work;
	struct rte_mempool *pool = lc->conf.shadow_pool;
	const uint64_t alone = lc->conf.tap && final ? ~b->multi : 0;
	struct rte_mbuf *fresh[ST_PENDING_MAX];
	uint32_t i, need = 0, f = 0;
	int bulk;

	for (i = 0; i < nd; i++) {
		const struct st_pol_session *ps = &pol->sessions[dec[i].session];
		const uint16_t pi = dec[i].pkt;

		need += !((alone >> pi & 1) &&
			  (ps->snaplen == 0 || ps->snaplen >= rte_pktmbuf_pkt_len(pkts[pi])));
	}
	bulk = need != 0 && rte_pktmbuf_alloc_bulk(pool, fresh, need) == 0;

	/* The originals' frames are read by the copies: ahead of time. */
	for (i = 0; i < nd && i < ST_PREFETCH_OFFSET; i++)
		rte_prefetch0(rte_pktmbuf_mtod(pkts[dec[i].pkt], void *));
	for (i = 0; i < nd; i++) {
		const uint16_t pi = dec[i].pkt;
		const struct st_pol_session *ps = &pol->sessions[dec[i].session];
		struct rte_mbuf *m = pkts[pi];

		if (i + ST_PREFETCH_OFFSET < nd)
			rte_prefetch0(rte_pktmbuf_mtod(pkts[dec[i + ST_PREFETCH_OFFSET].pkt], void *));
		const uint32_t len = rte_pktmbuf_pkt_len(m);
		struct st_pending *p;
		struct rte_mbuf *cp;

		if ((alone >> pi & 1) && (ps->snaplen == 0 || ps->snaplen >= len)) {
			cp = m;
			pkts[pi] = NULL;
		} else {
			uint32_t cl = ps->snaplen != 0 && ps->snaplen < len ? copy_len(m, ps->snaplen, len) : len;

			cp = copy_frame(m, bulk ? fresh[f++] : NULL, pool, cl);
			if (unlikely(cp == NULL)) {
				c->sess[ps->slot].dropped[ST_SDROP_NOMEM]++;
				c->dropped[ST_DROP_NOMEM]++;
				continue;
			}
			if (cl < len)
				c->sess[ps->slot].truncated++;
		}
		p = &wk->p[wk->nb++];
		p->m = cp;
		p->wire_len = len;
		p->hash = b->hash != NULL ? b->hash[pi] : 0;
		p->session = dec[i].session;
		p->first = !(b->first_done >> pi & 1);
		b->first_done |= UINT64_C(1) << pi;
	}
}

/* Packets of the burst that can be classified and copied (bits); a runt,
 * shorter than an Ethernet header, is counted as what it is (and
 * rte_pktmbuf_copy would refuse an empty frame). What the rx check repaired
 * is never offered (rx_check.h). */
static inline uint64_t
live_packets(struct st_lcore *lc, struct rte_mbuf *const *pkts, uint16_t n)
{
	struct st_lcore_ctr *c = &lc->ctr;
	const uint64_t nocopy = lc->work.nocopy;
	uint64_t live = 0;
	uint16_t i;

	for (i = 0; i < n; i++) {
		if (unlikely(nocopy >> i & 1))
			continue;
		if (likely(rte_pktmbuf_pkt_len(pkts[i]) >= RTE_ETHER_HDR_LEN)) {
			live |= UINT64_C(1) << i;
		} else {
			c->dropped[ST_DROP_MALFORMED]++;
			c->anomalies[ST_ANOM_TRUNC_L2]++;
		}
	}
	return live;
}

void
st_policy_copy(struct st_lcore *lc, const struct st_rxq *q, const struct st_policy *pol,
	       struct rte_mbuf **pkts, uint16_t n, const struct st_nic_burst *nb)
{
	struct st_lcore_ctr *c = &lc->ctr;
	const uint32_t src = q->src_bits;
	struct st_key keys[ST_BURST_MAX];
	const uint8_t *kp[ST_BURST_MAX];
	uint32_t res[ST_BURST_MAX * RTE_ACL_MAX_CATEGORIES];
	uint32_t hash[ST_BURST_MAX];
	/* per target: packets a session has already taken it for */
	uint64_t taken[ST_MAX_TARGETS];
	struct st_decision dec[ST_PENDING_MAX];
	struct st_burst b = { 0, 0, 0, pol->need_hash ? hash : NULL };
	struct st_bucket *buckets = NULL;
	uint64_t rng = c->rng;
	uint64_t live = live_packets(lc, pkts, n), now = 0;
	uint32_t nd = 0;
	uint16_t i, gi;

	/* What the NIC decided (and copied) or copied is not classified again. */
	if (unlikely(nb != NULL))
		live &= ~(nb->skip | nb->drop);
	if (unlikely(live == 0) && (nb == NULL || nb->copies == 0))
		return;
	memset(taken, 0, sizeof(taken[0]) * pol->nb_targets);

	if (pol->need_key) {
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
	if (pol->nb_buckets != 0) {
		now = rte_rdtsc();
		buckets = &pol->buckets[(uint32_t)lc->conf.worker * pol->nb_buckets];
	}

	/* Session-major: a packet still meets its sessions in order (what a
	 * session may do with it depends only on the targets earlier sessions
	 * took), and a session's counters stay in registers for the burst. */
	for (gi = 0; gi < pol->nb_groups; gi++) {
		const struct st_pol_group *g = &pol->groups[gi];
		uint32_t offered = 0, acl_offered = 0;
		const uint32_t cats = g->categories;
		uint16_t k;

		if ((g->sources & src) == 0)
			continue;
		for (k = 0; k < g->count; k++) {
			const struct st_pol_session *ps = &pol->sessions[g->first + k];

			if ((ps->sources & src) != 0) {
				offered |= UINT32_C(1) << k;
				if (ps->acl)
					acl_offered |= UINT32_C(1) << k;
			}
		}
		if (acl_offered != 0)
			rte_acl_classify(g->acl, kp, res, n, cats);

		while (offered != 0) {
			const uint16_t si = (uint16_t)(g->first + __builtin_ctz(offered));
			const struct st_pol_session *ps = &pol->sessions[si];
			const uint16_t t = ps->target;
			uint64_t todo = live & ~(pol->match_all ? 0 : taken[t]);
			uint64_t acc = 0, matched, sampled = 0, rate_drops = 0;

			offered &= offered - 1;
			if (todo == 0)
				continue;
			/* 1. The deciding rule of each packet: accepted ones. */
			if (!ps->acl) {
				const int32_t r = ps->fixed_rule;

				if (r < 0)
					continue;
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
			if (acc == 0)
				continue;
			taken[t] |= acc;
			matched = (uint64_t)__builtin_popcountll(acc);

			/* 2. Sampling, rate cap, a decision per surviving packet. */
			while (acc != 0) {
				const unsigned int pi = (unsigned int)__builtin_ctzll(acc);
				const uint64_t bit = UINT64_C(1) << pi;

				acc &= acc - 1;
				if (ps->sample_mode == ST_SAMPLE_PACKET) {
					if ((uint32_t)(xorshift64s(&rng) >> 32) >= ps->sample_threshold)
						continue;
				} else if (ps->sample_mode == ST_SAMPLE_FLOW) {
					if (hash[pi] >= ps->sample_threshold)
						continue;
				}
				sampled++;
				if (!within_rate(pol, ps, buckets, now, pkts[pi])) {
					rate_drops++;
					continue;
				}
				dec[nd].pkt = (uint16_t)pi;
				dec[nd].session = si;
				nd++;
				b.multi |= b.once & bit;
				b.once |= bit;
				if (unlikely(nd == ST_PENDING_MAX)) {
					/* Only with match_all and many sessions: send
					 * what is decided so far and go on. */
					materialize(lc, pol, pkts, dec, nd, &b, 0);
					nd = 0;
					st_policy_shadow(lc, pol);
				}
			}
			{
				struct st_session_stats *st = &c->sess[ps->slot];

				st->matched += matched;
				st->sampled += sampled;
				if (rate_drops != 0)
					st->dropped[ST_SDROP_RATE] += rate_drops;
			}
		}
	}
	/* NIC-made copies: matched and sampled in hardware; the rate cap and
	 * the rest apply as to a copy software decided. */
	if (unlikely(nb != NULL) && nb->copies != 0) {
		uint64_t cps = nb->copies;

		while (cps != 0) {
			const unsigned int pi = (unsigned int)__builtin_ctzll(cps);
			const uint16_t si = nb->copy_si[pi];
			const struct st_pol_session *ps = &pol->sessions[si];

			cps &= cps - 1;
			c->sess[ps->slot].sampled++;
			if (!within_rate(pol, ps, buckets, now, pkts[pi])) {
				c->sess[ps->slot].dropped[ST_SDROP_RATE]++;
				continue;
			}
			if (unlikely(nd == ST_PENDING_MAX)) {
				materialize(lc, pol, pkts, dec, nd, &b, 0);
				nd = 0;
				st_policy_shadow(lc, pol);
			}
			dec[nd].pkt = (uint16_t)pi;
			dec[nd].session = si;
			nd++;
		}
	}
	c->rng = rng;
	if (nd != 0)
		materialize(lc, pol, pkts, dec, nd, &b, 1);
}

static inline void
drop_copy(struct st_lcore_ctr *c, struct st_session_stats *st, struct rte_mbuf *m,
	  int8_t reason)
{
	static const uint8_t sdrop[ST_DROP__COUNT] = {
		[ST_DROP_UNMAPPED] = ST_SDROP_UNMAPPED,
		[ST_DROP_NOT_IP] = ST_SDROP_NOT_IP,
		[ST_DROP_MALFORMED] = ST_SDROP_MALFORMED,
		[ST_DROP_NOMEM] = ST_SDROP_NOMEM,
		[ST_DROP_TX_FULL] = ST_SDROP_TX_FULL,
	};

	if (unlikely(reason < 0 || reason >= ST_DROP__COUNT))
		reason = ST_DROP_MALFORMED;
	c->dropped[reason]++;
	st->dropped[sdrop[reason]]++;
	rte_pktmbuf_free(m);
}

/* Step 5 for one copy: translate it; 1 = send it, 0 = it was freed (dropped,
 * or seen by the unmapped rule "count"). Anomalies count on a packet's first
 * copy only. */
static __rte_always_inline int
shadow_rewrite(struct st_lcore_ctr *c, struct st_session_stats *st, const struct st_policy *pol,
	       struct rte_mbuf *m, uint32_t wire_len, int first, uint64_t *translated)
{
	struct st_rewrite_result res;

	res.drop = -1;
	res.translated = 0;
	res.anomalies = 0;
	res.unmapped_seen = 0;
	st_rewrite_frame_ex(pol->rw, rte_pktmbuf_mtod(m, uint8_t *), rte_pktmbuf_data_len(m),
			    rte_pktmbuf_pkt_len(m), wire_len, &res);
	if (unlikely(res.anomalies != 0) && first)
		count_anomalies(c, res.anomalies);
	if (unlikely(res.unmapped_seen)) {
		/* unmapped rule "count": seen, not sent, not a drop */
		st->unmapped_seen++;
		rte_pktmbuf_free(m);
		return 0;
	}
	if (unlikely(res.drop >= 0)) {
		drop_copy(c, st, m, res.drop);
		return 0;
	}
	*translated += res.translated;
	return 1;
}

/* Shadow firewall over pending copies [from, to): denied ones are freed and
 * their slot's mbuf set to NULL. */
static void
firewall(struct st_lcore *lc, const struct st_policy *pol, uint32_t from, uint32_t to)
{
	struct st_lcore_ctr *c = &lc->ctr;
	struct st_pending *p = lc->work.p;
	struct st_key keys[ST_BURST_MAX];
	const uint8_t *kp[ST_BURST_MAX];
	uint32_t idx[ST_BURST_MAX];
	uint32_t res[ST_BURST_MAX];
	uint32_t i, nk = 0;

	for (i = from; i < to; i++) {
		struct rte_mbuf *m = p[i].m;

		if (m == NULL)
			continue;
		st_key_parse(&keys[nk], rte_pktmbuf_mtod(m, const uint8_t *),
			     rte_pktmbuf_data_len(m));
		if (keys[nk].ip_version == 0)
			continue;   /* ARP, LLDP...: security rules are about IP */
		kp[nk] = (const uint8_t *)&keys[nk];
		idx[nk] = i;
		nk++;
	}
	if (nk == 0)
		return;
	if (pol->fw != NULL)
		rte_acl_classify(pol->fw, kp, res, nk, 1);
	for (i = 0; i < nk; i++) {
		uint8_t action = pol->fw != NULL && res[i] != 0 ? pol->fw_action[res[i] - 1] :
			pol->fw_default;

		if (action == ST_RULE_ACCEPT)
			continue;
		c->sess[pol->sessions[p[idx[i]].session].slot].dropped[ST_SDROP_FIREWALL]++;
		rte_pktmbuf_free(p[idx[i]].m);
		p[idx[i]].m = NULL;
	}
}

/* Send copies to one target's ports: one reference per port, a queue that
 * refuses a copy drops that reference. Lengths and slots are read before
 * the first tx: a PMD may free what it sent inside rte_eth_tx_burst. */
static void
target_tx(struct st_lcore *lc, const struct st_policy *pol, const struct st_pol_target *t,
	  struct rte_mbuf **m, const uint16_t *slot, uint16_t n)
{
	struct st_lcore_ctr *c = &lc->ctr;
	uint32_t len[ST_PENDING_MAX];
	uint16_t j, i;

	(void)pol;
	for (i = 0; i < n; i++)
		len[i] = rte_pktmbuf_pkt_len(m[i]);
	if (t->nb_ports > 1)
		for (i = 0; i < n; i++)
			rte_mbuf_refcnt_update(m[i], (int16_t)(t->nb_ports - 1));
	for (j = 0; j < t->nb_ports; j++) {
		struct st_port_ctr *pc = &c->ports[t->port_idx[j]];
		uint16_t sent = rte_eth_tx_burst(t->port_id[j], lc->conf.worker, m, n);
		uint64_t bytes = 0, run_pk = 0, run_by = 0;
		uint16_t run_slot = n != 0 ? slot[0] : 0;

		/* Per session, in runs: a burst's copies mostly share a session,
		 * and one add per run beats a read-modify-write per copy. */
		for (i = 0; i < sent; i++) {
			if (slot[i] != run_slot) {
				c->sess[run_slot].mirrored_packets += run_pk;
				c->sess[run_slot].mirrored_bytes += run_by;
				run_slot = slot[i];
				run_pk = run_by = 0;
			}
			run_pk++;
			run_by += len[i];
			bytes += len[i];
		}
		if (run_pk != 0) {
			c->sess[run_slot].mirrored_packets += run_pk;
			c->sess[run_slot].mirrored_bytes += run_by;
		}
		for (i = sent; i < n; i++) {
			c->sess[slot[i]].dropped[ST_SDROP_TX_FULL]++;
			rte_pktmbuf_free(m[i]);
		}
		if (unlikely(sent < n)) {
			c->dropped[ST_DROP_TX_FULL] += (uint64_t)(n - sent);
			pc->tx_dropped += (uint64_t)(n - sent);
		}
		pc->tx_packets += sent;
		pc->tx_bytes += bytes;
		c->mirror_packets += sent;
		c->mirror_bytes += bytes;
	}
}

void
st_policy_shadow(struct st_lcore *lc, const struct st_policy *pol)
{
	struct st_lcore_ctr *c = &lc->ctr;
	struct st_pol_work *wk = &lc->work;
	struct st_pending *p = wk->p;
	struct rte_mbuf *out[ST_PENDING_MAX];
	uint16_t slot[ST_PENDING_MAX];
	uint32_t n = wk->nb, i, k = 0;
	uint64_t translated = 0;
	uint16_t t;

	wk->nb = 0;
	/* 5. Translate. The frames are prefetched a few copies ahead: in tap
	 * mode (and for a policy that reads no key) nothing has touched them
	 * yet, and one packet's rewrite is shorter than a miss to memory. */
	for (i = 0; i < n && i < ST_PREFETCH_OFFSET; i++)
		rte_prefetch0(rte_pktmbuf_mtod(p[i].m, void *));
	for (i = 0; i < n; i++) {
		if (i + ST_PREFETCH_OFFSET < n)
			rte_prefetch0(rte_pktmbuf_mtod(p[i + ST_PREFETCH_OFFSET].m, void *));
		if (shadow_rewrite(c, &c->sess[pol->sessions[p[i].session].slot], pol, p[i].m,
				   p[i].wire_len, p[i].first, &translated))
			p[k++] = p[i];
	}
	c->translated_packets += translated;
	n = k;

	/* 6. Shadow firewall. */
	if (pol->fw_enabled && n != 0) {
		for (i = 0; i < n; i += ST_BURST_MAX)
			firewall(lc, pol, i, RTE_MIN(n, i + ST_BURST_MAX));
		for (i = 0, k = 0; i < n; i++)
			if (p[i].m != NULL)
				p[k++] = p[i];
		n = k;
	}

	/* 7. Encapsulate and send, target by target. */
	for (t = 0; t < pol->nb_targets && n != 0; t++) {
		const struct st_pol_target *tg = &pol->targets[t];
		uint16_t nb = 0;

		for (i = 0, k = 0; i < n; i++) {
			const struct st_pol_session *ps = &pol->sessions[p[i].session];

			if (ps->target != t) {
				p[k++] = p[i];
				continue;
			}
			if (tg->tmpl.kind != ST_ENCAP_NONE &&
			    unlikely(st_encap_apply(&tg->tmpl, p[i].m, p[i].hash) != 0)) {
				c->sess[ps->slot].dropped[ST_SDROP_ENCAP]++;
				rte_pktmbuf_free(p[i].m);
				continue;
			}
			out[nb] = p[i].m;
			slot[nb] = ps->slot;
			nb++;
		}
		n = k;
		if (nb != 0)
			target_tx(lc, pol, tg, out, slot, nb);
	}
	/* Copies for a target index beyond nb_targets cannot exist (checked at
	 * compile); anything left is a bug, freed rather than leaked. */
	for (i = 0; i < n; i++)
		rte_pktmbuf_free(p[i].m);
}

/* ---- the short path (pol->simple) ---------------------------------------
 * One session that copies every packet whole to one target without
 * encapsulation or firewall: no key, no decisions, no pending list. Each
 * step keeps the general path's counters and order (copies before the
 * production tx, rewrite and send after it); policy-shortpath.test.ts
 * compares both paths' output and counters. */
uint16_t
st_simple_copy(struct st_lcore *lc, const struct st_policy *pol, struct rte_mbuf **pkts,
	       uint16_t n, struct rte_mbuf **cps, int take)
{
	struct st_lcore_ctr *c = &lc->ctr;
	const struct st_pol_session *ps = &pol->sessions[0];
	struct st_session_stats *st = &c->sess[ps->slot];
	struct rte_mempool *pool = lc->conf.shadow_pool;
	struct rte_mbuf *fresh[ST_BURST_MAX];
	const uint64_t live = live_packets(lc, pkts, n);
	const unsigned int nb_live = (unsigned int)__builtin_popcountll(live);
	uint16_t i, k = 0, f = 0;
	int bulk;

	if (nb_live == 0)
		return 0;
	c->rule_hits[pol->rules[ps->fixed_rule].slot] += nb_live;
	st->matched += nb_live;
	st->sampled += nb_live;
	if (take) {
		for (i = 0; i < n; i++) {
			if (likely(live >> i & 1)) {
				cps[k++] = pkts[i];
				pkts[i] = NULL;
			}
		}
		return k;
	}
	bulk = rte_pktmbuf_alloc_bulk(pool, fresh, nb_live) == 0;
	for (i = 0; i < n && i < ST_PREFETCH_OFFSET; i++)
		rte_prefetch0(rte_pktmbuf_mtod(pkts[i], void *));
	for (i = 0; i < n; i++) {
		struct rte_mbuf *m = pkts[i];
		struct rte_mbuf *cp;

		if (i + ST_PREFETCH_OFFSET < n)
			rte_prefetch0(rte_pktmbuf_mtod(pkts[i + ST_PREFETCH_OFFSET], void *));
		if (unlikely(!(live >> i & 1)))
			continue;
		cp = copy_frame(m, bulk ? fresh[f++] : NULL, pool, rte_pktmbuf_pkt_len(m));
		if (unlikely(cp == NULL)) {
			st->dropped[ST_SDROP_NOMEM]++;
			c->dropped[ST_DROP_NOMEM]++;
			continue;
		}
		cps[k++] = cp;
	}
	return k;
}

void
st_simple_shadow(struct st_lcore *lc, const struct st_policy *pol, struct rte_mbuf **cps,
		 uint16_t n)
{
	struct st_lcore_ctr *c = &lc->ctr;
	const struct st_pol_session *ps = &pol->sessions[0];
	struct st_session_stats *st = &c->sess[ps->slot];
	uint16_t slot[ST_BURST_MAX];
	uint64_t translated = 0;
	uint16_t i, k = 0;

	for (i = 0; i < n && i < ST_PREFETCH_OFFSET; i++)
		rte_prefetch0(rte_pktmbuf_mtod(cps[i], void *));
	for (i = 0; i < n; i++) {
		struct rte_mbuf *m = cps[i];

		if (i + ST_PREFETCH_OFFSET < n)
			rte_prefetch0(rte_pktmbuf_mtod(cps[i + ST_PREFETCH_OFFSET], void *));
		/* whole copies: the wire length is the copy's; one copy per packet */
		if (!shadow_rewrite(c, st, pol, m, rte_pktmbuf_pkt_len(m), 1, &translated))
			continue;
		slot[k] = ps->slot;
		cps[k++] = m;
	}
	c->translated_packets += translated;
	if (k != 0)
		target_tx(lc, pol, &pol->targets[ps->target], cps, slot, k);
}
