/* SPDX-License-Identifier: BSD-3-Clause
 * The copy stage (copy.h): decisions become copies in the shadow pool; and
 * the short path's copy half, where classify and sample have nothing to
 * decide (one session accepting every packet whole) and only count.
 */
#include <rte_branch_prediction.h>
#include <rte_ether.h>
#include <rte_ip.h>
#include <rte_mbuf.h>
#include <rte_memcpy.h>
#include <rte_prefetch.h>

#include "lcore.h"
#include "copy.h"
#include "policy_parse.h"
#include "classify.h"
#include "compiled_policy.h"

/* How many packets ahead to prefetch while copying (l3fwd uses 3). */
#define ST_PREFETCH_OFFSET 3

/* Fresh mbufs for copies, in one call. They come from the pool the way a
 * PMD's rx takes them (rte_mempool_get_bulk, no reset): an mbuf in a pool
 * always has refcnt 1, next NULL and nb_segs 1 (rte_pktmbuf_prefree_seg
 * restores them before it goes back, rte_mbuf_raw_alloc documents it), and
 * our pools hold neither external nor pinned buffers, so copy_frame writes
 * only what the copy's tx reads. 0 on success, like rte_pktmbuf_alloc_bulk. */
static inline int
fresh_bulk(struct rte_mempool *pool, struct rte_mbuf **m, unsigned int n)
{
	return rte_mempool_get_bulk(pool, (void **)m, n);
}

/* One copy of m (first `len` bytes) into a fresh mbuf; a single-segment
 * frame that fits is copied by hand (the common case), anything else by
 * rte_pktmbuf_copy. NULL when the pool is empty. */
static inline struct rte_mbuf *
copy_frame(struct rte_mbuf *m, struct rte_mbuf *fresh, struct rte_mempool *pool, uint32_t len)
{
	struct rte_mbuf *cp;

	if (likely(fresh != NULL && m->nb_segs == 1 &&
		   len <= (uint32_t)fresh->buf_len - RTE_PKTMBUF_HEADROOM)) {
		/* rte_pktmbuf_reset's fields, those the pool does not keep */
		fresh->data_off = RTE_PKTMBUF_HEADROOM;
		fresh->ol_flags = 0;
		fresh->tx_offload = 0;
		fresh->data_len = (uint16_t)len;
		fresh->pkt_len = len;
		fresh->port = m->port;
		fresh->vlan_tci = m->vlan_tci;
		fresh->vlan_tci_outer = m->vlan_tci_outer;
		fresh->packet_type = m->packet_type;
		fresh->hash = m->hash;
		rte_memcpy(rte_pktmbuf_mtod(fresh, void *), rte_pktmbuf_mtod(m, const void *), len);
		return fresh;
	}
	cp = rte_pktmbuf_copy(m, pool, 0, len);
	if (fresh != NULL) {
		/* not reset: give it back as it came */
		rte_mempool_put(pool, fresh);
	}
	return cp;
}

/* How many bytes a truncated copy keeps: st_copy_len_frame (policy_parse.h),
 * on what the first segment holds. */
uint32_t
st_copy_len(const struct rte_mbuf *m, uint32_t snaplen, uint32_t len)
{
	return st_copy_len_frame(rte_pktmbuf_mtod(m, const uint8_t *), rte_pktmbuf_data_len(m),
				 snaplen, len);
}

void
st_copy_materialize(struct st_lcore *lc, const struct st_policy *pol, struct rte_mbuf **pkts,
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
	bulk = need != 0 && fresh_bulk(pool, fresh, need) == 0;

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
			uint32_t cl = ps->snaplen != 0 && ps->snaplen < len ? st_copy_len(m, ps->snaplen, len) : len;

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

/* ---- the short path's copy half (pol->simple) ------------------------------
 * One session that copies every packet whole: no key, no decisions, no
 * pending list. It keeps the general path's counters (the fixed rule's hits,
 * matched, sampled) and order (copies before the production tx);
 * policy-shortpath.test.ts compares both paths' output and counters. */
uint16_t
st_simple_copy(struct st_lcore *lc, const struct st_policy *pol, struct rte_mbuf **pkts,
	       uint16_t n, struct rte_mbuf **cps, int take)
{
	struct st_lcore_ctr *c = &lc->ctr;
	const struct st_pol_session *ps = &pol->sessions[0];
	struct st_session_stats *st = &c->sess[ps->slot];
	struct rte_mempool *pool = lc->conf.shadow_pool;
	struct rte_mbuf *fresh[ST_BURST_MAX];
	const uint64_t live = st_copy_live(lc, pkts, n);
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
	bulk = fresh_bulk(pool, fresh, nb_live) == 0;
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
