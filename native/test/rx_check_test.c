/* SPDX-License-Identifier: BSD-3-Clause
 * The rx check (native/dataplane/rx_check.h) on hand-built mbuf chains: the
 * shapes a driver or firmware bug can deliver and net_pcap cannot (a chain
 * longer or shorter than nb_segs claims, a segment past its buffer, a loop),
 * and the shapes that are fine. No EAL: the mbufs live on the stack and no
 * verdict here frees anything.
 */
#include <string.h>

#include "rx_check.h"
#include "st_dataplane.h"
#include "st_check.h"

#define NSEG 4
static uint8_t bufs[NSEG][256];

/* A chain of `n` segments of `len` bytes each in 256-byte buffers. */
static void chain(struct rte_mbuf *m, unsigned int n, uint16_t len)
{
	memset(m, 0, sizeof(*m) * NSEG);
	for (unsigned int i = 0; i < n; i++) {
		m[i].buf_addr = bufs[i];
		m[i].buf_len = sizeof(bufs[i]);
		m[i].data_off = 64;
		m[i].data_len = len;
		m[i].nb_segs = 1;
		m[i].next = i + 1 < n ? &m[i + 1] : NULL;
	}
	m[0].nb_segs = (uint16_t)n;
	m[0].pkt_len = (uint32_t)n * len;
}

static void expect(const char *name, struct rte_mbuf *m, enum st_rx_verdict want,
		   int reason, uint32_t pkt_len, uint16_t nb_segs)
{
	uint64_t bad[ST_RXBAD__COUNT] = { 0 };
	enum st_rx_verdict v = st_rx_check_mbuf(m, bad);

	CHECK(v == want, "%s: verdict %d, want %d", name, v, want);
	for (int k = 0; k < ST_RXBAD__COUNT; k++)
		CHECK(bad[k] == (uint64_t)(k == reason), "%s: reason %d counted %lu", name, k,
		      (unsigned long)bad[k]);
	if (want == ST_RX_OK || want == ST_RX_REPAIRED) {
		CHECK(m->pkt_len == pkt_len, "%s: pkt_len %u, want %u", name, m->pkt_len, pkt_len);
		CHECK(m->nb_segs == nb_segs, "%s: nb_segs %u, want %u", name, m->nb_segs, nb_segs);
	}
}

int main(void)
{
	struct rte_mbuf m[NSEG];

	st_print_sanitizers();

	chain(m, 1, 100);
	expect("one segment", m, ST_RX_OK, -1, 100, 1);
	chain(m, 3, 100);
	expect("three segments", m, ST_RX_OK, -1, 300, 3);
	chain(m, 3, 100);
	m[1].data_len = 0;
	m[0].pkt_len = 200;
	expect("an empty middle segment", m, ST_RX_OK, -1, 200, 3);

	chain(m, 1, 100);
	m[0].pkt_len = 67584;   /* net_pcap 22.11 on a record over 64 KiB */
	expect("pkt_len past the chain", m, ST_RX_REPAIRED, ST_RXBAD_PKT_LEN, 100, 1);
	chain(m, 2, 100);
	m[0].pkt_len = 150;
	expect("pkt_len short of the chain", m, ST_RX_REPAIRED, ST_RXBAD_PKT_LEN, 200, 2);
	chain(m, 2, 100);
	m[0].nb_segs = 3;
	expect("nb_segs past the chain", m, ST_RX_REPAIRED, ST_RXBAD_NB_SEGS, 200, 2);
	chain(m, 3, 100);
	m[0].nb_segs = 1;
	expect("nb_segs short of the chain", m, ST_RX_REPAIRED, ST_RXBAD_NB_SEGS, 300, 3);

	chain(m, 1, 100);
	m[0].data_len = 250;    /* 64 + 250 > 256 */
	m[0].pkt_len = 250;
	expect("data past the buffer", m, ST_RX_FREE, ST_RXBAD_SEG_OVERRUN, 0, 0);
	chain(m, 3, 100);
	m[2].data_off = 200;
	expect("a later segment past its buffer", m, ST_RX_FREE, ST_RXBAD_SEG_OVERRUN, 0, 0);
	chain(m, 3, 100);
	m[2].next = &m[1];
	expect("a looped chain", m, ST_RX_ABANDON, ST_RXBAD_CHAIN, 0, 0);

	/* A burst: the good stay in order, the repaired are marked, the looped
	 * one leaves the burst. */
	{
		struct rte_mbuf a[NSEG], b[NSEG], c[NSEG];
		struct rte_mbuf *pkts[3] = { a, b, c };
		uint64_t bad[ST_RXBAD__COUNT] = { 0 }, nocopy = ~UINT64_C(0), sus;
		uint16_t n;

		chain(a, 1, 60);
		chain(b, 3, 100);
		b[2].next = &b[0];
		chain(c, 1, 60);
		c[0].pkt_len = 70000;
		sus = st_rx_suspects(pkts, 3);
		CHECK(sus == 0x6, "suspects %#lx, want 0x6", (unsigned long)sus);
		n = st_rx_check_burst(pkts, 3, sus, bad, &nocopy);
		CHECK(n == 2 && pkts[0] == a && pkts[1] == c, "burst kept %u, order", n);
		CHECK(nocopy == 0x2, "nocopy %#lx, want 0x2 (after removal)", (unsigned long)nocopy);
		CHECK(bad[ST_RXBAD_CHAIN] == 1 && bad[ST_RXBAD_PKT_LEN] == 1, "burst reasons");
	}
	printf("%u passed, %u failed\n", g_pass, g_fail);
	return g_fail != 0;
}
