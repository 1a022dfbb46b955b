/* SPDX-License-Identifier: BSD-3-Clause
 * Standalone test of the impair stage (impair_ctl.c, impair_node.c,
 * delay_line.c) on synthetic mbufs from a small --no-huge mempool, driven by
 * an event-driven clock (impair_sim.h). Statistical checks are seeded (the
 * seed is argv[1], printed first) and use bounds a correct implementation
 * misses with probability below one in a million (4.9 standard errors
 * two-sided, a chi-square quantile at 1 - 1e-6); where the spec says "within
 * 5 %" the sample sizes make 5 % many standard errors wide.
 *
 * Usage: impair_test [seed]   exit 0 and "N passed, 0 failed" on success.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <rte_eal.h>
#include <rte_errno.h>
#include <rte_mbuf.h>
#include <rte_mempool.h>

#include "st_check.h"
#include "impair.h"
#include "impair_sim.h"

static uint64_t g_seed;

static struct st_fault_conf fc(void)
{
	struct st_fault_conf c;

	memset(&c, 0, sizeof(c));
	c.id = 1;
	c.match.sport_hi = c.match.dport_hi = 0xffff;
	c.match.session = c.match.port = ST_IMP_ANY16;
	c.corrupt_bits = 1;
	return c;
}

static struct st_fault_table_conf tc(const struct st_fault_conf *f, uint16_t nb, uint64_t seed)
{
	struct st_fault_table_conf t = {
		.seed = seed, .nb_faults = nb, .faults = f, .tsc_hz = SIM_HZ,
		.line_pps = 10000, .line_capacity = 65536, .wheel_span_ns = 1000 * MS,
	};
	return t;
}

static struct st_fault_table *build(const struct st_fault_conf *f, uint16_t nb, uint64_t seed)
{
	struct st_fault_table_conf t = tc(f, nb, seed);
	struct st_error err;
	struct st_fault_table *tab = st_fault_table_build(&t, &err);

	if (tab == NULL) {
		fprintf(stderr, "build: %s %s: %s\n", err.code, err.field, err.message);
		exit(2);
	}
	return tab;
}

static struct st_impair_worker *worker(void)
{
	struct st_error err;
	struct st_impair_worker *w = st_impair_worker_create(65536, 1000 * MS, SIM_HZ, 0,
							     SOCKET_ID_ANY, &err);
	if (w == NULL) {
		fprintf(stderr, "worker: %s\n", err.message);
		exit(2);
	}
	return w;
}

static struct st_fault_stats stats(const struct st_impair_worker *w, uint16_t slot)
{
	struct st_fault_stats s;

	memset(&s, 0, sizeof(s));
	st_impair_stats_add(w, slot, &s);
	return s;
}

/* ---- what came out --------------------------------------------------------- */

struct col {
	uint32_t n;
	uint64_t *t_out;          /* first output time per seq */
	uint8_t *seen;            /* outputs per seq */
	uint32_t *order;          /* seqs in output order */
	uint64_t norder;
	uint32_t *diff_bits;      /* bits differing from the original (first output) */
	uint8_t *ce;              /* IPv4 ECN field of the first output */
	uint8_t *csum_ok;         /* IPv4 and UDP checksums verify */
	uint64_t hash;            /* FNV-1a over (seq, time, bytes) of every output */
	uint8_t tos;
};

static struct col *col_new(uint32_t n)
{
	struct col *c = calloc(1, sizeof(*c));

	c->n = n;
	c->t_out = calloc(n, sizeof(uint64_t));
	c->seen = calloc(n, 1);
	c->order = calloc(2 * (size_t)n + 16, sizeof(uint32_t));
	c->diff_bits = calloc(n, sizeof(uint32_t));
	c->ce = calloc(n, 1);
	c->csum_ok = calloc(n, 1);
	c->hash = 1469598103934665603ull;
	return c;
}

static void col_free(struct col *c)
{
	free(c->t_out);
	free(c->seen);
	free(c->order);
	free(c->diff_bits);
	free(c->ce);
	free(c->csum_ok);
	free(c);
}

static void fnv(uint64_t *h, const void *p, size_t n)
{
	const uint8_t *b = p;

	for (size_t i = 0; i < n; i++)
		*h = (*h ^ b[i]) * 1099511628211ull;
}

static int verify_csums(const uint8_t *f)
{
	const uint8_t *ip = f + 14, *udp = f + 34;
	uint32_t s = (uint32_t)(ip[12] << 8 | ip[13]) + (uint32_t)(ip[14] << 8 | ip[15]) +
		     (uint32_t)(ip[16] << 8 | ip[17]) + (uint32_t)(ip[18] << 8 | ip[19]) + 17 +
		     (PKT_LEN - 34);

	return csum(0, ip, 20) == 0 && csum(s, udp, PKT_LEN - 34) == 0;
}

static void col_out(struct sim *s, struct rte_mbuf *m, uint32_t seq, uint64_t now)
{
	struct col *c = s->ctx;
	uint8_t got[PKT_LEN], want[PKT_LEN];
	uint32_t bits = 0;

	if (seq >= c->n || m->pkt_len != PKT_LEN || m->nb_segs != 1) {
		CHECK(0, "output seq %u, length %u, %u segments", seq, m->pkt_len, m->nb_segs);
		rte_pktmbuf_free(m);
		return;
	}
	memcpy(got, rte_pktmbuf_mtod(m, const uint8_t *), PKT_LEN);
	frame(want, seq, c->tos);
	for (int i = 0; i < PKT_LEN; i++)
		bits += (uint32_t)__builtin_popcount(got[i] ^ want[i]);
	if (c->seen[seq] == 0) {
		c->t_out[seq] = now;
		c->diff_bits[seq] = bits;
		c->ce[seq] = got[15] & 3;
		c->csum_ok[seq] = (uint8_t)verify_csums(got);
	}
	c->seen[seq]++;
	c->order[c->norder++] = seq;
	fnv(&c->hash, &seq, sizeof(seq));
	fnv(&c->hash, &now, sizeof(now));
	fnv(&c->hash, got, PKT_LEN);
	rte_pktmbuf_free(m);
}

/* One fault, n packets; the collector is returned (col_free it). */
static struct col *run1(const struct st_fault_conf *f, uint32_t n, uint64_t spacing,
			uint32_t group, uint32_t burst, uint64_t seed, struct st_fault_stats *st)
{
	struct sim s;
	struct col *c = col_new(n);

	memset(&s, 0, sizeof(s));
	s.w = worker();
	s.t = build(f, 1, seed);
	s.n = n;
	s.spacing = spacing;
	s.group = group;
	s.burst = burst;
	s.burst_rng = seed;
	s.meta = base_meta;
	s.out = col_out;
	s.ctx = c;
	sim_run(&s);
	if (st != NULL)
		*st = stats(s.w, f->slot);
	CHECK(st_impair_held(s.w) == 0, "the delay line drained");
	st_impair_worker_free(s.w);
	st_fault_table_free(s.t);
	return c;
}

#include "impair_test_cases.h"

int main(int argc, char **argv)
{
	char prefix[64], runtime_dir[512];
	char *eal_argv[] = { argv[0], "--no-huge", "-m", "256", "--no-pci",
			     "--file-prefix", prefix, "--log-level=error", NULL };
	int eal_argc = (int)(sizeof(eal_argv) / sizeof(eal_argv[0])) - 1;

	g_seed = argc > 1 ? strtoull(argv[1], NULL, 0) : 0x5eed;
	g_rng = g_seed | 1;
	printf("seed %" PRIu64 "\n", g_seed);
	snprintf(prefix, sizeof(prefix), "st-imptest-%d", (int)getpid());
	if (rte_eal_init(eal_argc, eal_argv) < 0) {
		fprintf(stderr, "rte_eal_init: %s\n", rte_strerror(rte_errno));
		return 2;
	}
	snprintf(runtime_dir, sizeof(runtime_dir), "%s", rte_eal_get_runtime_dir());
	g_pool = rte_pktmbuf_pool_create("st_imp_test", 32767, 0, 0, 256 + RTE_PKTMBUF_HEADROOM,
					 SOCKET_ID_ANY);
	if (g_pool == NULL) {
		fprintf(stderr, "mempool: %s\n", rte_strerror(rte_errno));
		rte_eal_cleanup();
		remove_runtime_dir(runtime_dir);
		return 2;
	}
	run_cases(argc > 2 ? argv[2] : NULL);
	CHECK(rte_mempool_in_use_count(g_pool) == 0, "every mbuf returned (%u in use)",
	      rte_mempool_in_use_count(g_pool));
	rte_mempool_free(g_pool);
	rte_eal_cleanup();
	remove_runtime_dir(runtime_dir);
	printf("%u passed, %u failed\n", g_pass, g_fail);
	return g_fail == 0 ? 0 : 1;
}
