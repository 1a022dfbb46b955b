/* SPDX-License-Identifier: BSD-3-Clause
 * The rx check: no length a driver claims is trusted before it is checked.
 *
 * Every received mbuf is held to its own segment chain before any byte of it
 * is read: pkt_len must be the sum of the segments' data_len, nb_segs the
 * chain's length, and each segment's data must lie inside its buffer. The
 * common case (one segment, pkt_len == data_len, inside the buffer) costs a
 * few compares on the mbuf's first cache line, which rx has just written.
 *
 * What fails is counted by reason (st_dataplane.h, enum st_rx_invalid) and
 * never offered to the policy: no shadow copy is made of it. Production gets
 * it where forwarding is safe, with its metadata set to what the segments
 * really hold (the bytes sent are the bytes the driver delivered); a segment
 * whose data runs past its buffer is freed instead, and a chain that does not
 * end is abandoned (freeing a looped chain would corrupt the pool).
 */
#ifndef ST_RX_CHECK_H
#define ST_RX_CHECK_H

#include <stdint.h>

#include <rte_branch_prediction.h>
#include <rte_mbuf.h>

/* Packets of a burst (bits) that need the full check. */
static inline uint64_t
st_rx_suspects(struct rte_mbuf *const *pkts, uint16_t n)
{
	uint64_t s = 0;
	uint16_t i;

	for (i = 0; i < n; i++) {
		const struct rte_mbuf *m = pkts[i];

		s |= (uint64_t)(m->nb_segs != 1 || m->pkt_len != m->data_len ||
				(uint32_t)m->data_off + m->data_len > m->buf_len) << i;
	}
	return s;
}

/* What the full check decided for one mbuf. */
enum st_rx_verdict {
	ST_RX_OK = 0,       /* consistent (a well-formed chain) */
	ST_RX_REPAIRED,     /* metadata set to the chain's truth: forward, never copy */
	ST_RX_FREE,         /* not safe to send: free it */
	ST_RX_ABANDON,      /* not safe to send or to free */
};

/* Full check of one mbuf; counts each reason found into bad[] (indexed by
 * enum st_rx_invalid). */
enum st_rx_verdict st_rx_check_mbuf(struct rte_mbuf *m, uint64_t *bad);

/* Check the suspects of a burst (bits from st_rx_suspects): mbufs that must
 * not be sent are freed or abandoned and removed from pkts[] (order kept);
 * *nocopy gets the repaired ones (bits, positions after removal). Returns the
 * new burst size. */
uint16_t st_rx_check_burst(struct rte_mbuf **pkts, uint16_t n, uint64_t suspects,
			   uint64_t *bad, uint64_t *nocopy);

#endif
