/* SPDX-License-Identifier: BSD-3-Clause
 * The cases of impair_test.c (included once, after its helpers).
 */

/* ---- bad descriptions: refused, naming the field ------------------------------ */

static void expect_refused(const char *what, struct st_fault_conf *f, uint16_t nb,
			   const char *field, uint32_t capacity)
{
	struct st_fault_table_conf t = tc(f, nb, 1);
	struct st_error err;
	struct st_fault_table *tab;

	if (capacity)
		t.line_capacity = capacity;
	memset(&err, 0, sizeof(err));
	tab = st_fault_table_build(&t, &err);
	CHECK(tab == NULL, "%s: built", what);
	st_fault_table_free(tab);
	CHECK(strcmp(err.field, field) == 0, "%s: field '%s' (%s), expected '%s'", what, err.field,
	      err.message, field);
	CHECK(strcmp(err.code, "ST_ERR_FAULT_INVALID") == 0 && err.message[0] != '\0',
	      "%s: code %s", what, err.code);
}

static void test_build_errors(void)
{
	static double not_monotone[] = { -1, 1, 0.5, -0.5 };
	static double not_standard[] = { 0, 1, 2, 3 };
	struct st_fault_conf f[2];

	f[0] = fc(); f[0].loss_model = ST_LOSS_RANDOM; f[0].loss[0] = 1.5;
	expect_refused("loss above 100 %", f, 1, "faults[0].loss.percent", 0);
	f[0] = fc(); f[0].loss_model = ST_LOSS_GEMODEL; f[0].loss[0] = -0.1;
	expect_refused("negative GE p", f, 1, "faults[0].loss.p", 0);
	f[0] = fc(); f[0].loss_model = ST_LOSS_STATE; f[0].loss[0] = 0.7; f[0].loss[4] = 0.5;
	expect_refused("4-state p13 + p14 > 1", f, 1, "faults[0].loss.p14", 0);
	f[0] = fc(); f[0].delay_ns = 61000 * MS;
	expect_refused("absurd delay", f, 1, "faults[0].delay.time", 0);
	f[0] = fc(); f[0].delay_ns = 10 * MS; f[0].jitter_ns = MS; f[0].delay_corr = 1.0;
	expect_refused("correlation 100 %", f, 1, "faults[0].delay.correlation", 0);
	f[0] = fc(); f[0].delay_ns = 10 * MS; f[0].jitter_ns = MS; f[0].dist = ST_DIST_CUSTOM;
	f[0].table = not_monotone; f[0].table_len = 4;
	expect_refused("table not monotone", f, 1, "faults[0].delay.distribution.table", 0);
	f[0].table = not_standard;
	expect_refused("table not standardised", f, 1, "faults[0].delay.distribution.table", 0);
	f[0].table = NULL;
	expect_refused("table missing", f, 1, "faults[0].delay.distribution.table", 0);
	f[0] = fc(); f[0].reorder = 0.25;
	expect_refused("reorder without delay", f, 1, "faults[0].reorder.percent", 0);
	f[0] = fc(); f[0].delay_ns = 100 * MS;   /* 100 ms at 10 kpps = 1,000 packets */
	expect_refused("delay the line cannot hold", f, 1, "faults[0].delay.time", 999);
	f[0] = fc(); f[0].delay_ns = 50 * MS; f[1] = fc(); f[1].slot = 1; f[1].id = 2;
	f[1].delay_ns = 60 * MS;                  /* 500 + 600 > 1,000 */
	expect_refused("second fault over the line", f, 2, "faults[1].delay.time", 1000);
	f[0] = fc(); f[0].match.sport_lo = 2000; f[0].match.sport_hi = 1000;
	expect_refused("port range reversed", f, 1, "faults[0].match.sport", 0);
	f[0] = fc(); f[0].match.nb_src = 1; f[0].match.src[0].len = 200;
	expect_refused("prefix length", f, 1, "faults[0].match.src[0]", 0);
	f[0] = fc(); f[1] = fc();
	expect_refused("slot used twice", f, 2, "faults[1].slot", 0);
	f[0] = fc(); f[0].slot_min_ns = 2 * MS; f[0].slot_max_ns = MS;
	expect_refused("slot end before start", f, 1, "faults[0].slot.max", 0);
	f[0] = fc(); f[0].rate_mode = ST_RATE_SHAPE; f[0].rate_bps = 0;
	expect_refused("rate 0", f, 1, "faults[0].rate.rate", 0);
	f[0] = fc(); f[0].delay_ns = 10 * MS; f[0].jitter_ns = 5 * MS; f[0].reorder_jitter = 1;
	f[0].rate_mode = ST_RATE_SHAPE; f[0].rate_bps = 1000000;
	expect_refused("reordering jitter with a shaper", f, 1, "faults[0].delay.reorder", 0);
	f[0] = fc(); f[0].corrupt = 0.1; f[0].corrupt_bits = 0;
	expect_refused("zero bits", f, 1, "faults[0].corrupt.bits", 0);
	{
		struct st_fault_table_conf t = tc(f, 1, 1);
		struct st_error err;

		f[0] = fc(); f[0].delay_ns = 10 * MS; f[0].jitter_ns = 600 * MS;
		f[0].dist = ST_DIST_NORMAL; f[0].reorder_jitter = 1; f[0].limit = 100;
		CHECK(st_fault_table_build(&t, &err) == NULL &&
		      strcmp(err.field, "faults[0].delay.jitter") == 0,
		      "jitter beyond the wheel: %s", err.field);
		f[0] = fc(); f[0].delay_ns = 10 * MS;
		struct st_fault_table *ok = st_fault_table_build(&t, &err);
		CHECK(ok != NULL && st_fault_table_limit(ok, 0) == 100,
		      "10 ms at 10 kpps: limit %u", st_fault_table_limit(ok, 0));
		st_fault_table_free(ok);
	}
}

/* ---- loss ---------------------------------------------------------------------------- */

static uint32_t lost_count(const struct col *c)
{
	uint32_t l = 0;

	for (uint32_t i = 0; i < c->n; i++)
		l += c->seen[i] == 0;
	return l;
}

static void check_rate(const char *what, double got, double want, double var_per_packet, uint32_t n)
{
	double bound = Z_1E6_TWO * sqrt(var_per_packet / n);

	CHECK(fabs(got - want) <= bound, "%s: rate %.6f, expected %.6f +- %.6f", what, got, want,
	      bound);
}

static void test_random_loss(void)
{
	const uint32_t n = 1000000;
	struct st_fault_conf f = fc();
	struct st_fault_stats st;
	struct col *c;
	double *ind;

	f.loss_model = ST_LOSS_RANDOM;
	f.loss[0] = 0.01;
	c = run1(&f, n, 1000, 32, 32, g_seed, &st);
	check_rate("loss 1 %", lost_count(c) / (double)n, 0.01, 0.01 * 0.99, n);
	CHECK(st.matched == n && st.dropped == lost_count(c), "counters: matched %" PRIu64
	      " dropped %" PRIu64, st.matched, st.dropped);
	col_free(c);

	/* with correlation: the rate stays 1 % (netem's drops far below it) and
	 * successive decisions have lag-1 correlation 0.25 */
	f.loss_corr = 0.25;
	c = run1(&f, n, 1000, 32, 32, g_seed + 1, &st);
	check_rate("loss 1 % 25 %", lost_count(c) / (double)n, 0.01, 0.01 * 0.99 * 1.25 / 0.75, n);
	ind = malloc(n * sizeof(double));
	for (uint32_t i = 0; i < n; i++)
		ind[i] = c->seen[i] == 0;
	CHECK(fabs(lag1(ind, n) - 0.25) <= 0.05, "loss lag-1 correlation %.4f, expected 0.25",
	      lag1(ind, n));
	free(ind);
	col_free(c);
}

static void test_gemodel(void)
{
	const uint32_t n = 1000000;
	struct st_fault_conf f = fc();
	struct col *c;

	/* the example: gemodel 1% 10% 70% 0.1% */
	f.loss_model = ST_LOSS_GEMODEL;
	f.loss[0] = 0.01; f.loss[1] = 0.10; f.loss[2] = 0.70; f.loss[3] = 0.001;
	c = run1(&f, n, 1000, 32, 32, g_seed + 2, NULL);
	{
		double p = f.loss[0], r = f.loss[1], a = f.loss[2], b = f.loss[3];
		double pb = p / (p + r), pg = 1 - pb, lam = 1 - p - r;
		double want = pb * a + pg * b;
		double var = pb * a * (1 - a) + pg * b * (1 - b) +
			     (a - b) * (a - b) * pb * pg * (1 + lam) / (1 - lam);

		check_rate("gemodel 1% 10% 70% 0.1%", lost_count(c) / (double)n, want, var, n);
	}
	col_free(c);

	/* simple Gilbert (1-h = 100 %, 1-k = 0): a loss burst is a stay in the
	 * bad state, geometric with parameter r; chi-square goodness of fit */
	f.loss[0] = 0.02; f.loss[1] = 0.25; f.loss[2] = 1.0; f.loss[3] = 0;
	c = run1(&f, n, 1000, 32, 32, g_seed + 3, NULL);
	{
		enum { BINS = 16 };
		double obs[BINS] = { 0 }, chi = 0, r = f.loss[1];
		uint64_t bursts = 0;
		uint32_t run = 0;

		for (uint32_t i = 0; i < n; i++) {
			if (c->seen[i] == 0) {
				run++;
			} else if (run > 0) {
				obs[run > BINS ? BINS - 1 : run - 1]++;
				bursts++;
				run = 0;
			}
		}
		for (int k = 0; k < BINS; k++) {
			double pk = k < BINS - 1 ? r * pow(1 - r, k) : pow(1 - r, BINS - 1);
			double e = pk * (double)bursts;

			chi += (obs[k] - e) * (obs[k] - e) / e;
		}
		CHECK(bursts > 10000, "only %" PRIu64 " loss bursts", bursts);
		CHECK(chi <= chi2_quantile(BINS - 1, Z_1E6_ONE),
		      "GE burst lengths vs geometric(%.2f): chi-square %.1f over %" PRIu64
		      " bursts, limit %.1f", r, chi, bursts, chi2_quantile(BINS - 1, Z_1E6_ONE));
	}
	col_free(c);
}

static void test_4state(void)
{
	const uint32_t n = 1000000, batches = 100;
	struct st_fault_conf f = fc();
	double P[5][5] = { { 0 } }, pi[5] = { 0, 1, 0, 0, 0 }, bm[100], m, sd;
	struct col *c;

	f.loss_model = ST_LOSS_STATE;
	f.loss[0] = 0.01; f.loss[1] = 0.5; f.loss[2] = 0.1; f.loss[3] = 0.05; f.loss[4] = 0.005;
	/* netem's chain: 1 gap tx, 2 burst tx, 3 burst loss, 4 isolated loss */
	P[1][3] = f.loss[0]; P[1][4] = f.loss[4]; P[1][1] = 1 - f.loss[0] - f.loss[4];
	P[2][3] = f.loss[3]; P[2][2] = 1 - f.loss[3];
	P[3][1] = f.loss[1]; P[3][2] = f.loss[2]; P[3][3] = 1 - f.loss[1] - f.loss[2];
	P[4][1] = 1;
	for (int it = 0; it < 100000; it++) {
		double nx[5] = { 0 };

		for (int a = 1; a <= 4; a++)
			for (int b = 1; b <= 4; b++)
				nx[b] += pi[a] * P[a][b];
		memcpy(pi, nx, sizeof(pi));
	}
	c = run1(&f, n, 1000, 32, 32, g_seed + 4, NULL);
	for (uint32_t b = 0; b < batches; b++) {
		uint32_t l = 0;

		for (uint32_t i = b * (n / batches); i < (b + 1) * (n / batches); i++)
			l += c->seen[i] == 0;
		bm[b] = l / (double)(n / batches);
	}
	mean_sd(bm, batches, &m, &sd);
	/* batch means: a t statistic with 99 degrees of freedom; 6.0 leaves
	 * less than 1e-6 */
	CHECK(fabs(m - (pi[3] + pi[4])) <= 6.0 * sd / sqrt(batches),
	      "4-state loss %.5f, stationary %.5f, batch sd %.5f", m, pi[3] + pi[4], sd);
	col_free(c);
}

/* ---- delay ---------------------------------------------------------------------------- */

static double *applied(const struct col *c, uint64_t spacing, uint32_t group)
{
	double *d = malloc(c->n * sizeof(double));

	for (uint32_t i = 0; i < c->n; i++)
		d[i] = (double)(c->t_out[i] - (1000 + (uint64_t)(i / group) * spacing));
	return d;
}

static void check_delays(const char *what, const struct col *c, uint64_t spacing, double median,
			 double p99, double sd_want, double rho)
{
	double *d = applied(c, spacing, 1), m, sd;
	double med = quantile(d, c->n, 0.5), q99 = quantile(d, c->n, 0.99), r = lag1(d, c->n);

	mean_sd(d, c->n, &m, &sd);
	CHECK(fabs(med - median) <= 0.05 * median, "%s: median %.0f ns, expected %.0f", what, med,
	      median);
	CHECK(fabs(q99 - p99) <= 0.05 * p99, "%s: p99 %.0f ns, expected %.0f", what, q99, p99);
	CHECK(fabs(sd - sd_want) <= 0.05 * sd_want, "%s: jitter sd %.0f ns, expected %.0f", what,
	      sd, sd_want);
	CHECK(fabs(r - rho) <= 0.05, "%s: lag-1 autocorrelation %.4f, expected %.2f", what, r, rho);
	free(d);
}

/* The standardised pareto table, built here from the definition. */
static void pareto_ref(double *t, int n)
{
	double m = 0, v = 0;

	for (int i = 0; i < n; i++) {
		t[i] = pow(1 - (i + 0.5) / n, -1.0 / 3);
		m += t[i];
	}
	m /= n;
	for (int i = 0; i < n; i++)
		v += (t[i] - m) * (t[i] - m);
	for (int i = 0; i < n; i++)
		t[i] = (t[i] - m) / sqrt(v / n);
}

static void test_delay_stats(void)
{
	const uint64_t sp = 50 * MS;
	struct st_fault_conf f = fc();
	struct st_fault_stats st;
	struct col *c;

	f.delay_ns = 20 * MS;
	f.jitter_ns = 2 * MS;
	f.dist = ST_DIST_NORMAL;
	c = run1(&f, 100000, sp, 1, 1, g_seed + 5, &st);
	check_delays("normal 20ms 2ms", c, sp, 20e6, 20e6 + 2e6 * 2.3263, 2e6, 0);
	{
		uint64_t h = 0, e = 0;

		for (int b = 0; b < ST_IMP_HIST; b++) {
			h += st.delay_hist[b];
			e += st.release_err_hist[b];
		}
		CHECK(h == st.delayed && st.delayed == 100000, "delay histogram holds %" PRIu64
		      " of %" PRIu64, h, st.delayed);
		CHECK(st.delay_hist[25] > 90000, "20 ms is in bucket 25 (2^24..2^25 ns): %" PRIu64,
		      st.delay_hist[25]);
		CHECK(e == st.released && st.release_err_hist[0] == st.released,
		      "released exactly at due: bucket 0 %" PRIu64 " of %" PRIu64,
		      st.release_err_hist[0], st.released);
	}
	col_free(c);

	f.delay_corr = 0.5;
	c = run1(&f, 100000, sp, 1, 1, g_seed + 6, NULL);
	check_delays("normal 20ms 2ms 50%", c, sp, 20e6, 20e6 + 2e6 * 2.3263, 2e6, 0.5);
	col_free(c);

	/* uniform: netem's jitter is the half-width */
	f.dist = ST_DIST_UNIFORM;
	f.jitter_ns = 4 * MS;
	f.delay_corr = 0.3;
	c = run1(&f, 100000, sp, 1, 1, g_seed + 7, NULL);
	check_delays("uniform 20ms 4ms 30%", c, sp, 20e6, 20e6 + 4e6 * 0.98, 4e6 / sqrt(3), 0.3);
	col_free(c);

	/* pareto: heavy tail, more samples */
	{
		static double t[4096];

		pareto_ref(t, 4096);
		f.dist = ST_DIST_PARETO;
		f.jitter_ns = 2 * MS;
		f.delay_corr = 0.25;
		c = run1(&f, 400000, sp, 1, 1, g_seed + 8, NULL);
		check_delays("pareto 20ms 2ms 25%", c, sp, 20e6 + 2e6 * (t[2047] + t[2048]) / 2,
			     20e6 + 2e6 * t[(int)(0.99 * 4096)], 2e6, 0.25);
		col_free(c);
	}

	/* a custom table from measured samples: two modes */
	{
		static double t[1000];

		for (int i = 0; i < 1000; i++)
			t[i] = i < 500 ? -1 : 1;
		f.dist = ST_DIST_CUSTOM;
		f.table = t;
		f.table_len = 1000;
		f.delay_corr = 0.3;
		c = run1(&f, 100000, sp, 1, 1, g_seed + 9, NULL);
		{
			double *d = applied(c, sp, 1), m, sd;

			mean_sd(d, c->n, &m, &sd);
			CHECK(fabs(sd - 2e6) <= 0.05 * 2e6, "custom table: sd %.0f", sd);
			CHECK(fabs(lag1(d, c->n) - 0.3) <= 0.05, "custom table: lag-1 %.4f",
			      lag1(d, c->n));
			CHECK(quantile(d, c->n, 0.01) == 18e6 && quantile(d, c->n, 0.99) == 22e6,
			      "custom table: only 18 and 22 ms");
			free(d);
		}
		col_free(c);
	}
}

static uint64_t inversions(const struct col *c)
{
	uint64_t inv = 0;

	for (uint64_t k = 1; k < c->norder; k++)
		inv += c->order[k] < c->order[k - 1];
	return inv;
}

static void test_order(void)
{
	const uint64_t sp = 100 * US;
	struct st_fault_conf f = fc();
	struct st_fault_stats st;
	struct col *c;

	f.delay_ns = 30 * MS;
	f.jitter_ns = 5 * MS;
	f.dist = ST_DIST_NORMAL;
	c = run1(&f, 50000, sp, 1, 1, g_seed + 10, NULL);
	CHECK(c->norder == 50000 && inversions(c) == 0, "order kept: %" PRIu64 " inversions in %"
	      PRIu64, inversions(c), c->norder);
	col_free(c);

	/* netem-style: each packet at its own due time, through the wheel */
	f.reorder_jitter = 1;
	c = run1(&f, 50000, sp, 1, 1, g_seed + 11, &st);
	CHECK(c->norder == 50000 && inversions(c) > 1000, "reordering jitter reorders: %" PRIu64
	      " inversions", inversions(c));
	/* the clock stops at every due time the stage reports: a packet left
	 * late means the wheel gave a later packet first */
	CHECK(st.release_err_hist[0] == 50000, "wheel: %" PRIu64 " of 50000 released on time",
	      st.release_err_hist[0]);
	{
		double *d = applied(c, sp, 1), m, sd;

		mean_sd(d, c->n, &m, &sd);
		CHECK(fabs(sd - 5e6) <= 0.05 * 5e6 && fabs(m - 30e6) <= 0.01 * 30e6,
		      "wheel: mean %.0f sd %.0f", m, sd);
		free(d);
	}
	col_free(c);
}

#include "impair_test_cases2.h"
