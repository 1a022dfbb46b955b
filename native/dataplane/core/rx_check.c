/* SPDX-License-Identifier: BSD-3-Clause
 * The rx check (rx_check.h): only suspects get here, so this walks chains. */
#include "rx_check.h"

#include "st_dataplane.h"

enum st_rx_verdict
st_rx_check_mbuf(struct rte_mbuf *m, uint64_t *bad)
{
	struct rte_mbuf *seg;
	uint32_t segs = 0, overrun = 0;
	uint64_t sum = 0;

	for (seg = m; seg != NULL && segs < RTE_MBUF_MAX_NB_SEGS; seg = seg->next) {
		if ((uint32_t)seg->data_off + seg->data_len > seg->buf_len)
			overrun = 1;
		sum += seg->data_len;
		segs++;
	}
	if (seg != NULL) {
		bad[ST_RXBAD_CHAIN]++;
		return ST_RX_ABANDON;
	}
	if (overrun) {
		bad[ST_RXBAD_SEG_OVERRUN]++;
		return ST_RX_FREE;
	}
	if (segs == m->nb_segs && sum == m->pkt_len)
		return ST_RX_OK;
	if (segs != m->nb_segs) {
		bad[ST_RXBAD_NB_SEGS]++;
		m->nb_segs = (uint16_t)segs;
	}
	if (sum != m->pkt_len) {
		bad[ST_RXBAD_PKT_LEN]++;
		m->pkt_len = (uint32_t)sum;
	}
	return ST_RX_REPAIRED;
}

uint16_t
st_rx_check_burst(struct rte_mbuf **pkts, uint16_t n, uint64_t suspects, uint64_t *bad,
		  uint64_t *nocopy)
{
	uint64_t nc = 0;
	uint16_t i, k = 0;

	for (i = 0; i < n; i++) {
		struct rte_mbuf *m = pkts[i];

		if (suspects >> i & 1) {
			switch (st_rx_check_mbuf(m, bad)) {
			case ST_RX_OK:
				break;
			case ST_RX_REPAIRED:
				nc |= UINT64_C(1) << k;
				break;
			case ST_RX_FREE:
				rte_pktmbuf_free(m);
				continue;
			case ST_RX_ABANDON:
				continue;
			}
		}
		pkts[k++] = m;
	}
	*nocopy = nc;
	return k;
}
