/* SPDX-License-Identifier: BSD-3-Clause
 * Quarantine: after a crash attributed to a packet, the restarted data plane
 * forwards packets with the same signature to production without any shadow
 * work, until the quarantine expires. The shadow side loses those copies;
 * production loses nothing more.
 *
 * A packet's signature is its length and a CRC32-C of its first
 * ST_QUAR_BYTES bytes (first segment only), computed the same way by the
 * crash handler (flight.c) and by the rx step. It is exact on purpose: a
 * replayed poison packet matches; a neighbour that differs in the bytes that
 * identify it does not. The table is small, sorted, fixed at setup (the
 * supervisor sends it with the start plan) and consulted only when non-empty.
 */
#ifndef ST_QUARANTINE_H
#define ST_QUARANTINE_H

#include <stdint.h>

#include <rte_hash_crc.h>
#include <rte_mbuf.h>

#define ST_QUAR_BYTES 128
#define ST_QUAR_MAX   64

static inline uint64_t
st_pkt_signature(const uint8_t *frame, uint32_t seg_len, uint32_t pkt_len)
{
	uint32_t n = seg_len < pkt_len ? seg_len : pkt_len;

	if (n > ST_QUAR_BYTES)
		n = ST_QUAR_BYTES;
	return (uint64_t)pkt_len << 32 | rte_hash_crc(frame, n, UINT32_C(0x51a70000));
}

static inline uint64_t
st_mbuf_signature(const struct rte_mbuf *m)
{
	return st_pkt_signature(rte_pktmbuf_mtod(m, const uint8_t *), m->data_len, m->pkt_len);
}

struct st_quarantine {
	uint16_t n;
	uint64_t sig[ST_QUAR_MAX];         /* sorted */
	uint64_t until_tsc[ST_QUAR_MAX];   /* the entry's end, in this process's TSC */
};

/* 1: `sig` is quarantined at `now`. */
static inline int
st_quarantined(const struct st_quarantine *q, uint64_t sig, uint64_t now)
{
	uint16_t lo = 0, hi = q->n;

	while (lo < hi) {
		uint16_t mid = (uint16_t)((lo + hi) / 2);

		if (q->sig[mid] < sig)
			lo = (uint16_t)(mid + 1);
		else
			hi = mid;
	}
	return lo < q->n && q->sig[lo] == sig && now < q->until_tsc[lo];
}

#endif
