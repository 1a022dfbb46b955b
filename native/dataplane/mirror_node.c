/* SPDX-License-Identifier: BSD-3-Clause
 * The per-lcore fast path: poll, copy, forward, rewrite the copy, send it to
 * the shadow ports.
 *
 * Rules kept here: counters are plain uint64_t with this lcore as the only
 * writer; no locks, atomic read-modify-writes, allocation (besides mbufs),
 * logging or system calls in the loop (the adaptive idle nap is the one
 * deliberate exception, and only when nothing arrived). Production mbufs are
 * never written: every rewrite happens on a private copy from the shadow pool,
 * so a shadow-side fault or a full shadow queue cannot touch or slow
 * production beyond the copy itself.
 */
#include <rte_branch_prediction.h>
#include <rte_cycles.h>
#include <rte_ether.h>
#include <rte_ethdev.h>
#include <rte_mbuf.h>
#include <rte_prefetch.h>

#include "pipeline.h"

/* How many packets ahead to prefetch while copying (l3fwd uses 3). */
#define ST_PREFETCH_OFFSET 3

static inline uint64_t
frame_bytes(struct rte_mbuf **pkts, uint16_t from, uint16_t to)
{
	uint64_t b = 0;

	for (; from < to; from++)
		b += rte_pktmbuf_pkt_len(pkts[from]);
	return b;
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

/* Send the surviving copies to every shadow port. With several ports the same
 * mbuf goes to each of them: one reference per port, and a queue that refuses
 * it just drops that reference. */
static inline void
shadow_tx(struct st_lcore *lc, struct rte_mbuf **copies, uint16_t n)
{
	const struct st_lcore_conf *cf = &lc->conf;
	struct st_lcore_ctr *c = &lc->ctr;
	uint64_t bytes = frame_bytes(copies, 0, n);
	uint16_t s, i;

	if (cf->nb_shadow > 1)
		for (i = 0; i < n; i++)
			rte_mbuf_refcnt_update(copies[i], (int16_t)(cf->nb_shadow - 1));

	for (s = 0; s < cf->nb_shadow; s++) {
		struct st_port_ctr *pc = &c->ports[cf->shadow_idx[s]];
		uint16_t sent = rte_eth_tx_burst(cf->shadow_port_id[s], cf->worker,
						 copies, n);
		uint64_t sent_bytes = bytes;

		if (unlikely(sent < n)) {
			uint16_t lost = (uint16_t)(n - sent);

			sent_bytes -= frame_bytes(copies, sent, n);
			for (i = sent; i < n; i++)
				rte_pktmbuf_free(copies[i]);
			c->dropped[ST_DROP_TX_FULL] += lost;
			pc->tx_dropped += lost;
		}
		pc->tx_packets += sent;
		pc->tx_bytes += sent_bytes;
		c->mirror_packets += sent;
		c->mirror_bytes += sent_bytes;
	}
}

void
st_rx_production(struct st_lcore *lc, const struct st_rxq *q,
		 struct rte_mbuf **pkts, uint16_t n)
{
	const struct st_lcore_conf *cf = &lc->conf;
	struct st_lcore_ctr *c = &lc->ctr;
	struct rte_mbuf *copies[ST_BURST_MAX];
	uint16_t nb_copies = 0, nb_out = 0;
	uint64_t bytes = 0;
	uint16_t i;

	/* 1. Copies first: once an original is handed to tx the driver may
	 * free and recycle it at any moment. */
	for (i = 0; i < n && i < ST_PREFETCH_OFFSET; i++)
		rte_prefetch0(rte_pktmbuf_mtod(pkts[i], void *));
	for (i = 0; i < n; i++) {
		struct rte_mbuf *m = pkts[i];

		if (i + ST_PREFETCH_OFFSET < n)
			rte_prefetch0(rte_pktmbuf_mtod(pkts[i + ST_PREFETCH_OFFSET], void *));
		bytes += rte_pktmbuf_pkt_len(m);
		if (cf->mirror) {
			struct rte_mbuf *cp;

			/* A runt cannot be mirrored, and rte_pktmbuf_copy()
			 * refuses an empty frame: count it as what it is, not
			 * as an allocation failure. */
			if (unlikely(rte_pktmbuf_pkt_len(m) < RTE_ETHER_HDR_LEN)) {
				c->dropped[ST_DROP_MALFORMED]++;
				c->anomalies[ST_ANOM_TRUNC_L2]++;
				continue;
			}
			cp = rte_pktmbuf_copy(m, cf->shadow_pool, 0, UINT32_MAX);

			if (likely(cp != NULL))
				copies[nb_copies++] = cp;
			else
				c->dropped[ST_DROP_NOMEM]++;
		}
	}
	c->ports[q->port_idx].rx_packets += n;
	c->ports[q->port_idx].rx_bytes += bytes;

	/* 2. Production continues untouched (inline) or is released (tap). */
	if (q->egress_port_id != ST_NO_PORT) {
		struct st_port_ctr *ec = &c->ports[q->egress_idx];
		uint16_t sent = rte_eth_tx_burst(q->egress_port_id, cf->worker, pkts, n);
		uint64_t sent_bytes = bytes;

		if (unlikely(sent < n)) {
			sent_bytes -= frame_bytes(pkts, sent, n);
			rte_pktmbuf_free_bulk(&pkts[sent], (unsigned int)(n - sent));
			ec->tx_dropped += (uint64_t)(n - sent);
		}
		ec->tx_packets += sent;
		ec->tx_bytes += sent_bytes;
	} else {
		rte_pktmbuf_free_bulk(pkts, n);
	}

	if (nb_copies == 0)
		return;

	/* 3. Rewrite the private copies; keep those the rewrite did not drop. */
	for (i = 0; i < nb_copies; i++) {
		struct rte_mbuf *cp = copies[i];
		struct st_rewrite_result res;

		res.drop = -1;
		res.translated = 0;
		res.anomalies = 0;
		st_rewrite_frame(cf->tables, rte_pktmbuf_mtod(cp, uint8_t *),
				 rte_pktmbuf_data_len(cp), rte_pktmbuf_pkt_len(cp), &res);
		if (unlikely(res.anomalies != 0))
			count_anomalies(c, res.anomalies);
		if (res.drop >= 0) {
			if (likely(res.drop < ST_DROP__COUNT))
				c->dropped[res.drop]++;
			else
				c->dropped[ST_DROP_MALFORMED]++;
			rte_pktmbuf_free(cp);
			continue;
		}
		c->translated_packets += res.translated;
		copies[nb_out++] = cp;
	}
	if (nb_out != 0)
		shadow_tx(lc, copies, nb_out);
}

/* Tap mode: what arrives is already a copy (SPAN/TAP port), so nothing goes
 * back to production and the frame itself is translated in place: no copy. */
void
st_rx_tap(struct st_lcore *lc, const struct st_rxq *q,
	  struct rte_mbuf **pkts, uint16_t n)
{
	const struct st_lcore_conf *cf = &lc->conf;
	struct st_lcore_ctr *c = &lc->ctr;
	uint16_t nb_out = 0, i;
	uint64_t bytes = 0;

	for (i = 0; i < n && i < ST_PREFETCH_OFFSET; i++)
		rte_prefetch0(rte_pktmbuf_mtod(pkts[i], void *));
	for (i = 0; i < n; i++) {
		struct rte_mbuf *m = pkts[i];
		struct st_rewrite_result res;

		if (i + ST_PREFETCH_OFFSET < n)
			rte_prefetch0(rte_pktmbuf_mtod(pkts[i + ST_PREFETCH_OFFSET], void *));
		bytes += rte_pktmbuf_pkt_len(m);
		res.drop = -1;
		res.translated = 0;
		res.anomalies = 0;
		st_rewrite_frame(cf->tables, rte_pktmbuf_mtod(m, uint8_t *),
				 rte_pktmbuf_data_len(m), rte_pktmbuf_pkt_len(m), &res);
		if (unlikely(res.anomalies != 0))
			count_anomalies(c, res.anomalies);
		if (res.drop >= 0) {
			c->dropped[res.drop < ST_DROP__COUNT ? res.drop : ST_DROP_MALFORMED]++;
			rte_pktmbuf_free(m);
			continue;
		}
		c->translated_packets += res.translated;
		pkts[nb_out++] = m;
	}
	c->ports[q->port_idx].rx_packets += n;
	c->ports[q->port_idx].rx_bytes += bytes;
	if (nb_out != 0)
		shadow_tx(lc, pkts, nb_out);
}

/* Egress-role ports: whatever arrives there (e.g. replies on the far side of
 * an inline pair when only one direction is configured) is counted, freed. */
void
st_rx_sink(struct st_lcore *lc, const struct st_rxq *q,
	   struct rte_mbuf **pkts, uint16_t n)
{
	struct st_port_ctr *pc = &lc->ctr.ports[q->port_idx];

	pc->rx_packets += n;
	pc->rx_bytes += frame_bytes(pkts, 0, n);
	rte_pktmbuf_free_bulk(pkts, n);
}

/* Shadow-role ports: the replica's own traffic is measured and dropped, and
 * never reaches a production port. */
void
st_rx_shadow(struct st_lcore *lc, const struct st_rxq *q,
	     struct rte_mbuf **pkts, uint16_t n)
{
	lc->ctr.shadow_rx_packets += n;
	st_rx_sink(lc, q, pkts, n);
}

int
st_worker_main(void *arg)
{
	struct st_lcore *lc = arg;
	const struct st_lcore_conf *cf = &lc->conf;
	struct st_lcore_ctr *c = &lc->ctr;
	struct rte_mbuf *pkts[ST_BURST_MAX];
	const uint16_t burst = cf->burst;
	const int adaptive = cf->idle == ST_IDLE_ADAPTIVE;
	uint32_t empty = 0;

	while (likely(*cf->quit == 0)) {
		uint32_t got = 0;
		uint16_t i;

		c->loops++;
		for (i = 0; i < cf->nb_rxq; i++) {
			const struct st_rxq *q = &cf->rxq[i];
			uint16_t want = burst, n;
			uint64_t now = 0;

			if (unlikely(q->pace_tsc != 0)) {
				/* Replay pacing: deliver at most one packet per
				 * pace_tsc cycles, in bursts, with up to one burst of
				 * credit saved while idle. */
				uint64_t next = c->pace_next[i], credit;

				now = rte_rdtsc();
				if (now < next)
					continue;
				credit = (now - next) / q->pace_tsc + 1;
				if (credit < want)
					want = (uint16_t)credit;
			}
			n = rte_eth_rx_burst(q->port_id, q->queue, pkts, want);
			if (unlikely(q->pace_tsc != 0) && n != 0) {
				uint64_t window = (uint64_t)burst * q->pace_tsc;

				if (now > window && c->pace_next[i] < now - window)
					c->pace_next[i] = now - window;
				c->pace_next[i] += (uint64_t)n * q->pace_tsc;
			}
			if (n == 0)
				continue;
			got += n;
			q->handle(lc, q, pkts, n);
		}
		if (got != 0) {
			c->rx_packets += got;
			c->busy_loops++;
			empty = 0;
		} else if (adaptive && ++empty >= ST_IDLE_SPINS) {
			/* Keep a core free on shared test and demo hosts; stay in
			 * naps until traffic comes back. */
			empty = ST_IDLE_SPINS;
			rte_delay_us_sleep(ST_IDLE_SLEEP_US);
		}
	}
	return 0;
}
