/* SPDX-License-Identifier: BSD-3-Clause
 * What the impair stage's test (impair_test.c) drives it with: synthetic
 * IPv4/UDP copies whose payload names their sequence number, an
 * event-driven clock (1 cycle = 1 ns: the tables are built with tsc_hz =
 * 1e9), and the statistics the checks need (quantiles, lag-1
 * autocorrelation, a chi-square quantile).
 */
#ifndef ST_IMPAIR_SIM_H
#define ST_IMPAIR_SIM_H

#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <rte_mbuf.h>
#include <rte_mempool.h>

#include "impair.h"

#define SIM_HZ     1000000000ull
#define PKT_LEN    128
#define MS         1000000ull
#define US         1000ull

static struct rte_mempool *g_pool;

static void put16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)(v >> 8);
	p[1] = (uint8_t)v;
}

/* Ones' complement sum, folded and inverted: the test's own checksum. */
static uint16_t csum(uint32_t s, const uint8_t *p, uint32_t n)
{
	for (uint32_t i = 0; i + 1 < n; i += 2)
		s += (uint32_t)p[i] << 8 | p[i + 1];
	if (n & 1)
		s += (uint32_t)p[n - 1] << 8;
	while (s >> 16)
		s = (s & 0xffff) + (s >> 16);
	return (uint16_t)~s;
}

/* The frame for sequence number seq: Ethernet, IPv4 (tos given), UDP to
 * port 5000 + (seq % 4), payload from seq; checksums computed here. */
static void frame(uint8_t *f, uint32_t seq, uint8_t tos)
{
	uint8_t *ip = f + 14, *udp = f + 34;
	uint32_t s;

	memset(f, 0, PKT_LEN);
	for (int i = 0; i < 6; i++) {
		f[i] = (uint8_t)(0x02 + i);
		f[6 + i] = (uint8_t)(0x12 + i);
	}
	put16(f + 12, 0x0800);
	ip[0] = 0x45;
	ip[1] = tos;
	put16(ip + 2, PKT_LEN - 14);
	ip[8] = 64;
	ip[9] = 17;
	ip[12] = 10; ip[15] = 1;          /* 10.0.0.1 */
	ip[16] = 10; ip[17] = 9; ip[19] = 2;  /* 10.9.0.2 */
	put16(ip + 10, csum(0, ip, 20));
	put16(udp, 40000);
	put16(udp + 2, (uint16_t)(5000 + seq % 4));
	put16(udp + 4, PKT_LEN - 34);
	for (int i = 42; i < PKT_LEN; i++)
		f[i] = (uint8_t)(seq >> (8 * (i % 4)));
	s = (uint32_t)(ip[12] << 8 | ip[13]) + (uint32_t)(ip[14] << 8 | ip[15]) +
	    (uint32_t)(ip[16] << 8 | ip[17]) + (uint32_t)(ip[18] << 8 | ip[19]) + 17 + (PKT_LEN - 34);
	put16(udp + 6, csum(s, udp, PKT_LEN - 34));
	if (udp[6] == 0 && udp[7] == 0)
		put16(udp + 6, 0xffff);
}

static struct rte_mbuf *mkpkt(uint32_t seq, uint8_t tos)
{
	struct rte_mbuf *m = rte_pktmbuf_alloc(g_pool);

	if (m == NULL) {
		fprintf(stderr, "mbuf pool exhausted\n");
		exit(2);
	}
	frame((uint8_t *)rte_pktmbuf_append(m, PKT_LEN), seq, tos);
	return m;
}

/* The meta every test starts from: what the worker would have parsed. */
static void base_meta(struct st_imp_meta *m, uint32_t seq)
{
	memset(m, 0, sizeof(*m));
	m->src[10] = m->src[11] = 0xff;
	m->src[12] = 10; m->src[15] = 1;
	m->dst[10] = m->dst[11] = 0xff;
	m->dst[12] = 10; m->dst[13] = 9; m->dst[15] = 2;
	m->ip_version = 4;
	m->proto = 17;
	m->sport = 40000;
	m->dport = (uint16_t)(5000 + seq % 4);
	m->session = 0;
	m->port = 0;
	m->dir = ST_IMP_DIR_RX;
	m->tag = seq;
	m->held_tag = seq;
}

/* ---- the event-driven run ---------------------------------------------------- */

struct sim;
typedef void (*sim_out_fn)(struct sim *s, struct rte_mbuf *m, uint32_t seq, uint64_t now);
typedef void (*sim_meta_fn)(struct st_imp_meta *m, uint32_t seq);

struct sim {
	struct st_impair_worker *w;
	struct st_fault_table *t;
	uint32_t n;               /* packets */
	uint64_t spacing;         /* between arrival groups, cycles */
	uint32_t group;           /* packets sharing an arrival time (>= 1) */
	uint32_t burst;           /* largest burst handed to process (0: random 1..64) */
	uint64_t burst_rng;
	uint8_t tos;
	sim_meta_fn meta;
	sim_out_fn out;
	void *ctx;
	uint64_t emitted;
};

static uint64_t sim_arrival(const struct sim *s, uint32_t i)
{
	return 1000 + (uint64_t)(i / (s->group ? s->group : 1)) * s->spacing;
}

static uint32_t sim_burst(struct sim *s)
{
	if (s->burst)
		return s->burst;
	s->burst_rng = s->burst_rng * 6364136223846793005ull + 1442695040888963407ull;
	return 1 + (uint32_t)((s->burst_rng >> 33) % 64);
}

static void sim_release(struct sim *s, uint64_t now)
{
	struct rte_mbuf *out[16];
	uint32_t tags[16];
	uint16_t k;

	/* a small max: the order must not depend on how releases are cut */
	while ((k = st_impair_release(s->w, now, out, tags, 7)) > 0)
		for (uint16_t j = 0; j < k; j++) {
			s->emitted++;
			s->out(s, out[j], tags[j], now);
		}
}

/* Arrivals and due times in time order; a release at every due time (so
 * the applied delay is exact) and before each arrival group. */
static void sim_run(struct sim *s)
{
	struct rte_mbuf *pk[64], *out[128];
	struct st_imp_meta meta[64];
	uint32_t tags[128], i = 0;

	while (i < s->n || st_impair_held(s->w) > 0) {
		uint64_t arr = i < s->n ? sim_arrival(s, i) : UINT64_MAX;
		uint64_t due = st_impair_next_due(s->w);

		if (due < arr) {
			sim_release(s, due);
			continue;
		}
		sim_release(s, arr);
		while (i < s->n && sim_arrival(s, i) == arr) {
			uint32_t b = sim_burst(s), k = 0;

			while (k < b && i < s->n && sim_arrival(s, i) == arr) {
				pk[k] = mkpkt(i, s->tos);
				s->meta(&meta[k], i);
				k++;
				i++;
			}
			uint16_t no = st_impair_process(s->w, s->t, pk, meta, (uint16_t)k, arr, out,
							tags, 128);
			for (uint16_t j = 0; j < no; j++) {
				s->emitted++;
				s->out(s, out[j], tags[j], arr);
			}
		}
	}
}

/* ---- statistics ---------------------------------------------------------------- */

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

/* Quantile q of v[0..n) (sorts a copy). */
static double quantile(const double *v, size_t n, double q)
{
	double *c = malloc(n * sizeof(double)), r;

	memcpy(c, v, n * sizeof(double));
	qsort(c, n, sizeof(double), cmp_double);
	r = c[(size_t)(q * (double)(n - 1))];
	free(c);
	return r;
}

static void mean_sd(const double *v, size_t n, double *mean, double *sd)
{
	double m = 0, s = 0;

	for (size_t i = 0; i < n; i++)
		m += v[i];
	m /= (double)n;
	for (size_t i = 0; i < n; i++)
		s += (v[i] - m) * (v[i] - m);
	*mean = m;
	*sd = sqrt(s / (double)(n - 1));
}

static double lag1(const double *v, size_t n)
{
	double m, sd, c = 0;

	mean_sd(v, n, &m, &sd);
	for (size_t i = 1; i < n; i++)
		c += (v[i] - m) * (v[i - 1] - m);
	return c / (double)(n - 1) / (sd * sd);
}

/* Upper quantile of chi-square with k degrees of freedom at standard normal
 * quantile z (Wilson-Hilferty). */
static double chi2_quantile(double k, double z)
{
	double a = 2.0 / (9.0 * k);

	return k * pow(1 - a + z * sqrt(a), 3);
}

/* One-sided standard normal quantile for 1e-6 and the two-sided one: the
 * bounds every statistical check uses (a correct implementation misses
 * them with probability below one in a million). */
#define Z_1E6_ONE  4.753
#define Z_1E6_TWO  4.892

#endif /* ST_IMPAIR_SIM_H */
