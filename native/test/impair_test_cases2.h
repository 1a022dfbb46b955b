/* SPDX-License-Identifier: BSD-3-Clause
 * The cases of impair_test.c, continued: corruption, duplication,
 * reordering, rate, slotting, matching, ECN, determinism, limits, swaps.
 */

static void test_corrupt(void)
{
	const uint32_t n = 100000;
	struct st_fault_conf f = fc();
	struct st_fault_stats st;
	struct col *c;
	uint32_t hit = 0, wrong = 0, bad_csum = 0;

	f.corrupt = 0.1;
	f.corrupt_bits = 1;
	c = run1(&f, n, 1000, 32, 32, g_seed + 12, &st);
	for (uint32_t i = 0; i < n; i++) {
		hit += c->diff_bits[i] > 0;
		wrong += c->diff_bits[i] > 1;
	}
	check_rate("corrupt 10 %", hit / (double)n, 0.1, 0.09, n);
	CHECK(wrong == 0 && st.corrupted == hit, "one bit each: %u packets with more, counter %"
	      PRIu64 " of %u", wrong, st.corrupted, hit);
	col_free(c);

	/* three distinct bits, kept out of the headers, checksums fixed after */
	f.corrupt = 0.2;
	f.corrupt_bits = 3;
	f.corrupt_offset = 42;
	f.corrupt_fix_csum = 1;
	c = run1(&f, n, 1000, 32, 32, g_seed + 13, &st);
	hit = wrong = 0;
	for (uint32_t i = 0; i < n; i++) {
		/* diff_bits counts the UDP checksum's change too: check the
		 * payload alone against a rebuilt frame */
		bad_csum += !c->csum_ok[i];
		if (c->diff_bits[i] > 0)
			hit++;
	}
	CHECK(bad_csum == 0, "checksums fixed: %u frames fail", bad_csum);
	CHECK(st.corrupted == hit, "counter %" PRIu64 ", frames changed %u", st.corrupted, hit);
	check_rate("corrupt 20 %", hit / (double)n, 0.2, 0.16, n);
	col_free(c);

	/* without the fix, the bits flipped are exactly the difference */
	f.corrupt_fix_csum = 0;
	c = run1(&f, n, 1000, 32, 32, g_seed + 13, &st);
	wrong = 0;
	for (uint32_t i = 0; i < n; i++)
		wrong += c->diff_bits[i] != 0 && c->diff_bits[i] != 3;
	CHECK(wrong == 0 && st.corrupted > 0, "three bits each: %u frames differ otherwise", wrong);
	col_free(c);
}

static void test_duplicate_reorder(void)
{
	const uint32_t n = 200000;
	struct st_fault_conf f = fc();
	struct st_fault_stats st;
	struct col *c;
	uint32_t twice = 0, apart = 0, changed = 0;

	f.duplicate = 0.05;
	c = run1(&f, n, 1000, 32, 32, g_seed + 14, &st);
	for (uint32_t i = 0; i < n; i++) {
		twice += c->seen[i] == 2;
		changed += c->diff_bits[i] != 0;
	}
	/* a duplicate leaves right after its original */
	for (uint64_t k = 0; k < c->norder; k++)
		if (c->seen[c->order[k]] == 2 && (k == 0 || c->order[k - 1] != c->order[k]) &&
		    (k + 1 == c->norder || c->order[k + 1] != c->order[k]))
			apart++;
	check_rate("duplicate 5 %", twice / (double)n, 0.05, 0.0475, n);
	CHECK(st.duplicated == twice && c->norder == n + twice && apart == 0 && changed == 0,
	      "duplicates: counter %" PRIu64 ", twice %u, outputs %" PRIu64, st.duplicated, twice,
	      c->norder);
	col_free(c);

	/* reorder 25 % gap 5 with a 10 ms delay, a packet every ms: one packet
	 * in (4 + geometric(1/4)) goes ahead, 1/8 on average */
	f = fc();
	f.delay_ns = 10 * MS;
	f.reorder = 0.25;
	f.gap = 5;
	c = run1(&f, n, MS, 1, 1, g_seed + 15, &st);
	{
		uint32_t ahead = 0, last = 0, close = 0, first = 1;

		for (uint32_t i = 0; i < n; i++)
			if (c->t_out[i] == 1000 + (uint64_t)i * MS) {
				ahead++;
				if (!first && i - last < 5)
					close++;
				last = i;
				first = 0;
			}
		CHECK(ahead == st.reordered && close == 0, "reordered %u (counter %" PRIu64 "), %u "
		      "closer than the gap", ahead, st.reordered, close);
		CHECK(fabs(ahead - n / 8.0) <= Z_1E6_TWO * sqrt(n * 12.0 / 512),
		      "reorder 25%% gap 5: %u of %u, expected %.0f", ahead, n, n / 8.0);
		/* a packet sent ahead leaves before every earlier one still queued
		 * (the nine before it that were delayed); the delayed ones keep
		 * their order among themselves */
		{
			uint64_t *pos = malloc(n * sizeof(uint64_t));
			uint32_t late = 0, last = 0, disorder = 0;

			for (uint64_t q = 0; q < c->norder; q++)
				pos[c->order[q]] = q;
			for (uint64_t q = 0; q < c->norder; q++) {
				uint32_t v = c->order[q];

				if (c->t_out[v] != 1000 + (uint64_t)v * MS) {
					disorder += q > 0 && last > v;
					last = v;
				}
			}
			for (uint32_t k = 0; k < n; k++) {
				if (c->t_out[k] != 1000 + (uint64_t)k * MS)
					continue;
				for (uint32_t j = k >= 9 ? k - 9 : 0; j < k; j++)
					late += c->t_out[j] != 1000 + (uint64_t)j * MS && pos[j] < pos[k];
			}
			CHECK(late == 0 && disorder == 0, "ahead of the queue: %u queued packets left "
			      "first, %u delayed out of order", late, disorder);
			free(pos);
		}
	}
	col_free(c);
}

static void test_rate(void)
{
	struct st_fault_conf f = fc();
	struct st_fault_stats st;
	struct col *c;
	uint32_t off = 0;

	/* shaping: 10 Mbit/s, 24 bytes of overhead: 152 bytes = 121.6 us each */
	f.rate_mode = ST_RATE_SHAPE;
	f.rate_bps = 10000000;
	f.overhead = 24;
	f.limit = 10000;
	c = run1(&f, 5000, 50 * US, 1, 1, g_seed, &st);
	for (uint32_t i = 1; i < 5000; i++)
		off += c->t_out[i] - c->t_out[i - 1] != 121600;
	CHECK(off == 0 && c->t_out[0] == 1000 + 121600 && st.rate_limited == 4999,
	      "paced at 121.6 us: %u gaps differ, rate_limited %" PRIu64, off, st.rate_limited);
	col_free(c);

	/* ATM cells: 152 bytes = 4 cells of 48 + 5 */
	f.cell_size = 48;
	f.cell_overhead = 5;
	c = run1(&f, 100, 50 * US, 1, 1, g_seed, NULL);
	CHECK(c->t_out[99] - c->t_out[98] == 212 * 800, "cells: %" PRIu64 " cycles",
	      c->t_out[99] - c->t_out[98]);
	col_free(c);

	/* policing: 1 Mbit/s with a 3,000-byte bucket, 10 kpps of 128 bytes */
	f = fc();
	f.rate_mode = ST_RATE_POLICE;
	f.rate_bps = 1000000;
	f.burst_bytes = 3000;
	c = run1(&f, 100000, 100 * US, 1, 1, g_seed, &st);
	{
		uint32_t *pass = malloc(100000 * sizeof(uint32_t)), np = 0, viol = 0;
		double secs = 100000 * 100e-6, want = (125000 * secs + 3000) / 128;

		for (uint32_t i = 0; i < 100000; i++)
			if (c->seen[i])
				pass[np++] = i;
		for (uint32_t k = 1; k < np; k <<= 1)
			for (uint32_t a = 0; a + k < np; a++) {
				double dt = (c->t_out[pass[a + k]] - c->t_out[pass[a]]) / 1e9;

				viol += (k + 1) * 128.0 > 3000 + 125000 * dt + 128;
			}
		CHECK(viol == 0, "policed: %u windows above rate + bucket", viol);
		CHECK(fabs(np - want) <= 0.01 * want && st.rate_limited == 100000 - np,
		      "policed: %u passed, expected %.0f", np, want);
		free(pass);
	}
	col_free(c);
}

static void test_slot(void)
{
	struct st_fault_conf f = fc();
	struct col *c;
	uint32_t groups = 0, over = 0, outside = 0;
	double gaps = 0;

	f.slot_min_ns = 800 * US;
	f.slot_max_ns = 1000 * US;
	f.slot_packets = 4;
	f.limit = 20000;
	c = run1(&f, 20000, 50 * US, 1, 1, g_seed + 16, NULL);
	for (uint64_t k = 0, start = 0; k <= c->norder; k++) {
		if (k < c->norder && c->t_out[c->order[k]] == c->t_out[c->order[start]])
			continue;
		over += k - start > 4 || (k < c->norder && k - start != 4);
		if (k < c->norder) {
			uint64_t g = c->t_out[c->order[k]] - c->t_out[c->order[start]];

			outside += g < 800 * US || g > 1000 * US;
			gaps += (double)g;
			groups++;
		}
		start = k;
	}
	CHECK(over == 0 && outside == 0, "slots of 4 every 0.8-1 ms: %u slots not of 4, %u gaps "
	      "outside", over, outside);
	CHECK(fabs(gaps / groups - 900e3) <= 0.01 * 900e3, "mean slot gap %.0f ns", gaps / groups);
	col_free(c);
}

/* ---- matching, blackhole, link down ------------------------------------------------ */

static void varied_meta(struct st_imp_meta *m, uint32_t seq)
{
	base_meta(m, seq);
	m->port = (uint16_t)((seq / 4) % 2);
	m->session = (uint16_t)((seq / 8) % 4);
	m->dir = (seq / 32) % 2 ? ST_IMP_DIR_TX : ST_IMP_DIR_RX;
}

static void test_match(void)
{
	const uint32_t n = 4096;
	struct st_fault_conf f[4];
	struct sim s;
	struct col *c = col_new(n);
	uint64_t want[4] = { 0 }, pass = 0;
	struct st_fault_stats st[4];

	f[0] = fc();   /* VM failure: everything to or from 10.9.0.0/16, dport 5001 only */
	f[0].kind = ST_FAULT_BLACKHOLE;
	f[0].match.nb_hosts = 1;
	f[0].match.hosts[0].addr[10] = f[0].match.hosts[0].addr[11] = 0xff;
	f[0].match.hosts[0].addr[12] = 10;
	f[0].match.hosts[0].addr[13] = 9;
	f[0].match.hosts[0].len = 96 + 16;
	f[0].match.hosts[0].v4 = 1;
	f[0].match.dport_lo = f[0].match.dport_hi = 5001;
	f[1] = fc();   /* an IPv6-only fault never sees IPv4 */
	f[1].slot = 1; f[1].id = 2;
	f[1].kind = ST_FAULT_BLACKHOLE;
	f[1].match.ip_version = 6;
	f[2] = fc();   /* link down on shadow port 1 */
	f[2].slot = 2; f[2].id = 3;
	f[2].kind = ST_FAULT_LINK_DOWN;
	f[2].match.port = 1;
	f[3] = fc();   /* session 3, tx direction: all lost */
	f[3].slot = 3; f[3].id = 4;
	f[3].loss_model = ST_LOSS_RANDOM;
	f[3].loss[0] = 1;
	f[3].match.session = 3;
	f[3].match.dir = ST_IMP_DIR_TX;
	memset(&s, 0, sizeof(s));
	s.w = worker();
	s.t = build(f, 4, g_seed);
	s.n = n;
	s.spacing = 1000;
	s.group = 16;
	s.burst = 16;
	s.meta = varied_meta;
	s.out = col_out;
	s.ctx = c;
	sim_run(&s);
	for (uint32_t i = 0; i < n; i++) {
		struct st_imp_meta m;

		varied_meta(&m, i);
		if (m.dport == 5001)
			want[0]++;
		else if (m.port == 1)
			want[2]++;
		else if (m.session == 3 && m.dir == ST_IMP_DIR_TX)
			want[3]++;
		else
			pass++;
	}
	for (uint16_t k = 0; k < 4; k++) {
		st[k] = stats(s.w, k);
		CHECK(st[k].matched == want[k] && st[k].dropped == want[k], "fault %u: matched %"
		      PRIu64 " dropped %" PRIu64 ", expected %" PRIu64, k, st[k].matched,
		      st[k].dropped, want[k]);
	}
	CHECK(c->norder == pass, "passed %" PRIu64 ", expected %" PRIu64, c->norder, pass);
	st_impair_worker_free(s.w);
	st_fault_table_free(s.t);
	col_free(c);
}

static void test_ecn(void)
{
	const uint32_t n = 4000;
	struct st_fault_conf f = fc();
	struct st_fault_stats st;
	uint32_t bad = 0;

	f.loss_model = ST_LOSS_RANDOM;
	f.loss[0] = 1;
	f.ecn = 1;
	for (uint8_t ecn = 0; ecn < 4; ecn++) {
		struct sim s;
		struct col *c = col_new(n);

		memset(&s, 0, sizeof(s));
		s.w = worker();
		s.t = build(&f, 1, g_seed);
		s.n = n;
		s.spacing = 1000;
		s.group = 32;
		s.burst = 32;
		s.tos = (uint8_t)(0xb8 | ecn);
		c->tos = s.tos;
		s.meta = base_meta;
		s.out = col_out;
		s.ctx = c;
		sim_run(&s);
		st = stats(s.w, 0);
		for (uint32_t i = 0; i < c->norder; i++) {
			uint32_t q = c->order[i];

			/* CE differs from ECT(0)/ECT(1) in one or two bits, and the
			 * header checksum is good again */
			bad += c->ce[q] != 3 || !c->csum_ok[q] ||
			       c->diff_bits[q] > 3u + (uint32_t)__builtin_popcount(3u ^ ecn) + 16;
		}
		if (ecn == 0)
			CHECK(c->norder == 0 && st.dropped == n && st.ecn_marked == 0,
			      "not-ECT dropped: %" PRIu64 " out", c->norder);
		else
			CHECK(c->norder == n && st.ecn_marked == n && st.dropped == 0,
			      "ECN %u marked instead of dropped: %" PRIu64 " out, %" PRIu64 " marked",
			      ecn, c->norder, st.ecn_marked);
		st_impair_worker_free(s.w);
		st_fault_table_free(s.t);
		col_free(c);
	}
	CHECK(bad == 0, "%u marked packets not CE, with a bad checksum or other changes", bad);
}

/* ---- determinism ------------------------------------------------------------------- */

static uint64_t det_run(uint64_t seed, uint64_t fault_seed, uint32_t burst,
		       struct st_fault_stats *st)
{
	struct st_fault_conf f = fc();

	f.seed = fault_seed;
	struct col *c;
	uint64_t h;

	f.loss_model = ST_LOSS_GEMODEL;
	f.loss[0] = 0.01; f.loss[1] = 0.1; f.loss[2] = 0.7; f.loss[3] = 0.001;
	f.delay_ns = 5 * MS;
	f.jitter_ns = 1 * MS;
	f.dist = ST_DIST_NORMAL;
	f.delay_corr = 0.3;
	f.duplicate = 0.02;
	f.corrupt = 0.05;
	f.corrupt_bits = 2;
	f.reorder = 0.1;
	f.gap = 3;
	c = run1(&f, 50000, 200 * US, 64, burst, seed, st);
	h = c->hash;
	col_free(c);
	return h;
}

static void test_determinism(void)
{
	struct st_fault_stats a, b, d;
	uint64_t ha = det_run(g_seed, 0, 32, &a);
	uint64_t hb = det_run(g_seed, 0, 0, &b);     /* random bursts of 1..64 */
	uint64_t hc = det_run(g_seed, 0, 32, NULL);
	uint64_t hd = det_run(g_seed ^ 0xabcdef, 0, 32, &d);
	/* a fault's own seed (netem's "seed") wins over the table's */
	const uint64_t fs = (g_seed ^ 0x5a5a5a5a5a5a5a5aull) | 0x100;   /* never g_seed, never 0 */
	uint64_t he = det_run(1, fs, 32, NULL), hf = det_run(2, fs, 32, NULL);

	CHECK(he == hf && he != ha, "the fault's seed decides, not the table's");

	CHECK(ha == hc, "same seed, same bursts: same output (%#" PRIx64 " vs %#" PRIx64 ")", ha, hc);
	CHECK(ha == hb, "same seed, other bursts: same output (%#" PRIx64 " vs %#" PRIx64 ")", ha, hb);
	CHECK(memcmp(&a, &b, sizeof(a)) == 0, "same counters whatever the bursts");
	CHECK(ha != hd, "another seed: another output");
	(void)d;
	CHECK(a.dropped > 0 && a.duplicated > 0 && a.corrupted > 0 && a.reordered > 0 &&
	      a.delayed > 0, "every decision exercised");
}

/* ---- limits, late release, swap ----------------------------------------------------- */

static void test_limits(void)
{
	struct st_fault_conf f = fc();
	struct st_fault_stats st;
	struct col *c;

	f.delay_ns = 10 * MS;
	f.limit = 100;
	c = run1(&f, 1000, 1000, 1000, 32, g_seed, &st);
	CHECK(st.delayed == 100 && st.overflowed == 900 && c->norder == 100,
	      "limit 100: delayed %" PRIu64 ", overflowed %" PRIu64, st.delayed, st.overflowed);
	col_free(c);

	/* a worker freed with packets held gives them back; a late release is
	 * measured as such */
	{
		struct st_impair_worker *w = worker();
		struct st_fault_table *t = build(&f, 1, g_seed);
		struct rte_mbuf *pk[10], *out[20];
		struct st_imp_meta meta[10];
		uint32_t tags[20];

		for (uint32_t i = 0; i < 10; i++) {
			pk[i] = mkpkt(i, 0);
			base_meta(&meta[i], i);
		}
		CHECK(st_impair_process(w, t, pk, meta, 10, 5000, out, tags, 20) == 0,
		      "all delayed");
		CHECK(st_impair_release(w, 5000 + 10 * MS - 1, out, tags, 20) == 0, "none early");
		CHECK(st_impair_release(w, 5000 + 10 * MS + 1000, out, tags, 20) == 10, "ten due");
		for (int i = 0; i < 10; i++)
			rte_pktmbuf_free(out[i]);
		st = stats(w, 0);
		CHECK(st.release_err_hist[10] == 10, "1,000 ns late: bucket 10 has %" PRIu64,
		      st.release_err_hist[10]);
		for (uint32_t i = 0; i < 10; i++) {
			pk[i] = mkpkt(i, 0);
			base_meta(&meta[i], i);
		}
		st_impair_process(w, t, pk, meta, 10, 6000, out, tags, 20);
		CHECK(st_impair_held(w) == 10, "ten held");
		st_impair_worker_free(w);
		st_fault_table_free(t);
	}
}

static void test_swap(void)
{
	struct st_fault_conf f = fc();
	struct st_fault_table *cur, *same, *rearmed;
	struct st_impair_worker *w = worker();
	struct rte_mbuf *pk[1], *out[2];
	struct st_imp_meta meta;
	uint32_t tags[2];
	uint8_t a[2000], b[1000];

	f.loss_model = ST_LOSS_RANDOM;
	f.loss[0] = 0.5;
	cur = build(&f, 1, 7);
	same = build(&f, 1, 7);
	f.epoch = 1;
	rearmed = build(&f, 1, 7);
	for (uint32_t i = 0; i < 2000; i++) {
		if (i == 1000)
			CHECK(st_fault_table_swap(&cur, same, NULL) == 1, "swapped");
		pk[0] = mkpkt(i, 0);
		base_meta(&meta, i);
		a[i] = (uint8_t)st_impair_process(w, cur, pk, &meta, 1, 1000 + i, out, tags, 2);
		if (a[i])
			rte_pktmbuf_free(out[0]);
	}
	st_fault_table_swap(&cur, rearmed, NULL);
	for (uint32_t i = 0; i < 1000; i++) {
		pk[0] = mkpkt(i, 0);
		base_meta(&meta, i);
		b[i] = (uint8_t)st_impair_process(w, cur, pk, &meta, 1, 5000 + i, out, tags, 2);
		if (b[i])
			rte_pktmbuf_free(out[0]);
	}
	{
		struct st_impair_worker *w2 = worker();
		struct st_fault_table *one;
		uint32_t diff = 0, rediff = 0;

		f.epoch = 0;
		one = build(&f, 1, 7);
		for (uint32_t i = 0; i < 2000; i++) {
			pk[0] = mkpkt(i, 0);
			base_meta(&meta, i);
			uint16_t k = st_impair_process(w2, one, pk, &meta, 1, 1000 + i, out, tags, 2);

			diff += k != a[i];
			if (k)
				rte_pktmbuf_free(out[0]);
		}
		for (uint32_t i = 0; i < 1000; i++)
			rediff += a[i] != b[i];
		CHECK(diff == 0, "a swap to the same fault continues its sequence (%u differ)", diff);
		CHECK(rediff > 300, "re-armed (epoch 1): a new sequence (%u of 1000 differ)", rediff);
		st_impair_worker_free(w2);
		st_fault_table_free(one);
	}
	st_fault_table_swap(&cur, NULL, NULL);
	st_impair_worker_free(w);
}


/* ---- malformed frames never crash the stage ---------------------------------------- */

/* Random bytes of 1..300 bytes over 1..4 segments (a runt, an IPv4 header
 * whose lengths lie, a VLAN tag and nothing after it): corrupted with the
 * checksum fix, ECN-marked, duplicated, delayed. Nothing may read or write
 * outside the frame (run under the sanitizers), and every mbuf comes back. */
/* Every byte of each segment's buffer outside its data still 0xa5. */
static int canaries_intact(const struct rte_mbuf *m)
{
	for (; m != NULL; m = m->next) {
		const uint8_t *b = m->buf_addr;

		for (uint32_t i = 0; i < m->buf_len; i++)
			if ((i < m->data_off || i >= (uint32_t)m->data_off + m->data_len) && b[i] != 0xa5)
				return 0;
	}
	return 1;
}

static void test_malformed(void)
{
	uint32_t broken = 0;

	struct st_fault_conf f = fc();
	struct st_impair_worker *w = worker();
	struct st_fault_table *t;
	uint64_t out_n = 0, in_n = 0;

	f.corrupt = 1;
	f.corrupt_bits = 8;
	f.corrupt_fix_csum = 1;
	f.loss_model = ST_LOSS_RANDOM;
	f.loss[0] = 0.5;
	f.ecn = 1;
	f.duplicate = 0.5;
	f.delay_ns = 10 * US;
	t = build(&f, 1, g_seed);
	for (uint32_t round = 0; round < 2000; round++) {
		struct rte_mbuf *pk[8], *out[16];
		struct st_imp_meta meta[8];
		uint32_t tags[16];
		uint16_t k;

		for (int j = 0; j < 8; j++) {
			uint32_t len = 1 + rndn(300), nseg = 1 + rndn(4), done = 0;
			struct rte_mbuf *head = NULL, *prev = NULL;

			for (uint32_t sgi = 0; done < len; sgi++) {
				struct rte_mbuf *m = rte_pktmbuf_alloc(g_pool);
				uint32_t part = sgi + 1 >= nseg ? len - done : 1 + rndn(len - done);

				memset(m->buf_addr, 0xa5, m->buf_len);

				if (part > 200)   /* the test pool's data room is 256 bytes */
					part = 200;
				uint8_t *p = (uint8_t *)rte_pktmbuf_append(m, (uint16_t)part);

				for (uint32_t b = 0; b < part; b++)
					p[b] = (uint8_t)rnd();
				/* often a plausible Ethernet/IP start, so the parsers go deep */
				if (sgi == 0 && part >= 16 && rndn(2)) {
					p[12] = rndn(3) == 0 ? 0x81 : rndn(2) ? 0x08 : 0x86;
					p[13] = p[12] == 0x81 ? 0x00 : p[12] == 0x08 ? 0x00 : 0xdd;
					p[14] = p[12] == 0x86 ? 0x60 : 0x45;
				}
				if (head == NULL) {
					head = m;
				} else {
					prev->next = m;
					head->nb_segs++;
					head->pkt_len += part;
				}
				prev = m;
				done += part;
			}
			pk[j] = head;
			base_meta(&meta[j], round * 8 + (uint32_t)j);
		}
		in_n += 8;
		k = st_impair_process(w, t, pk, meta, 8, 1000 + round * 1000ull, out, tags, 16);
		for (uint16_t j = 0; j < k; j++) {
			broken += !canaries_intact(out[j]);
			rte_pktmbuf_free(out[j]);
		}
		out_n += k;
		while ((k = st_impair_release(w, 1000 + round * 1000ull, out, tags, 16)) > 0) {
			for (uint16_t j = 0; j < k; j++) {
				broken += !canaries_intact(out[j]);
				rte_pktmbuf_free(out[j]);
			}
			out_n += k;
		}
	}
	{
		struct st_fault_stats st = stats(w, 0);

		CHECK(st.matched == in_n && st.corrupted > 0 && st.duplicated > 0,
		      "malformed: matched %" PRIu64 " corrupted %" PRIu64, st.matched, st.corrupted);
	}
	st_impair_worker_free(w);
	st_fault_table_free(t);
	CHECK(out_n > 0 && broken == 0, "malformed frames went through: %u with bytes written "
	      "outside their data", broken);
}

static void run_cases(const char *only)
{
	static const struct {
		const char *name;
		void (*fn)(void);
	} cases[] = {
		{ "build_errors", test_build_errors }, { "random_loss", test_random_loss },
		{ "gemodel", test_gemodel }, { "4state", test_4state },
		{ "delay_stats", test_delay_stats }, { "order", test_order },
		{ "corrupt", test_corrupt }, { "duplicate_reorder", test_duplicate_reorder },
		{ "rate", test_rate }, { "slot", test_slot }, { "match", test_match },
		{ "ecn", test_ecn }, { "determinism", test_determinism },
		{ "limits", test_limits }, { "swap", test_swap },
		{ "malformed", test_malformed },
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		unsigned int fail0 = g_fail;

		if (only != NULL && strcmp(only, cases[i].name) != 0)
			continue;
		cases[i].fn();
		printf("%-18s %s\n", cases[i].name, g_fail == fail0 ? "ok" : "FAILED");
		fflush(stdout);
	}
}
