/* SPDX-License-Identifier: BSD-3-Clause
 * The rewrite's burst path (stages/rewrite_fast.h) against the per-frame
 * path: random bursts of random frames, mostly of the common shape (IPv4
 * TCP/UDP, addresses in or near the maps) with every way of not being it
 * mixed in (other ethertypes, options, fragments, bad lengths, short
 * segments, DHCP and payload ports, group MACs, 0.0.0.0, UDP checksum 0 and
 * results of 0/0xffff), through every variant this CPU runs (generic, and
 * AVX2 when present), for several table shapes: mask compares (one map, the
 * bench's /16 -> /16; nested maps), rte_lpm (more maps than mask compares),
 * no maps with the unmapped rule "mirror", and control-plane-aware tables.
 *
 * For every frame: a variant that rewrote it left exactly the bytes
 * st_rewrite_frame_ex leaves (which rewrite_test.c holds to a reference
 * translator with full checksum recomputation) and said "translated" when it
 * did; a frame it did not rewrite is untouched. The variants agree with each
 * other bit for bit. Each frame sits in a heap buffer of exactly its
 * segment's length, so the sanitized build catches a read past it.
 *
 * Usage: st_rewrite_simd_test [seed] [bursts]
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <rte_eal.h>
#include <rte_errno.h>

#include "st_check.h"
#include "test_csum.h"
#include "rewrite.h"
#include "rewrite_fast.h"
#include "policy.h"

struct variant {
	const char *name;
	st_rw_burst_fn fn;
};

static struct variant g_var[4];
static unsigned int g_nvar;

/* An address: mostly inside one of the plan's maps, sometimes anywhere,
 * sometimes one of the control-plane specials. */
static uint32_t pick_addr(const struct st_start_plan *p)
{
	uint32_t r = rndn(100);

	if (r < 3)
		return 0;
	if (r < 5)
		return UINT32_MAX;
	if (r < 8)
		return 0xe0000000u | rndn(1u << 28);
	if (r < 20 || p->nb_map4 == 0)
		return rnd() << 1 ^ rnd();
	{
		const struct st_map4 *m = &p->map4[rndn(p->nb_map4)];
		const uint32_t mask = m->len == 0 ? 0 : ~UINT32_C(0) << (32 - m->len);

		return (m->from & mask) | (rnd() & ~mask);
	}
}

/* One frame of the common shape (valid, with right checksums), then, one
 * time in three, one thing changed that may take it off the burst path. */
static uint32_t make_frame(const struct st_start_plan *p, uint8_t *f, uint32_t cap, uint32_t *wire)
{
	const int tcp = rndn(3) == 0;
	const uint32_t l4h = tcp ? 20 : 8;
	uint32_t pay = rndn(64), tot = 20 + l4h + pay, len = 14 + tot;
	uint8_t *ip = f + 14, *l4 = ip + 20;
	uint32_t ps;

	if (rndn(8) == 0)
		len += rndn(8);       /* Ethernet padding */
	if (len > cap)
		len = cap;
	memset(f, 0, cap);
	for (int i = 0; i < 12; i++)
		f[i] = (uint8_t)rnd();
	f[0] &= 0xfe;
	f[6] &= 0xfe;
	f[5] |= 1;
	f[11] |= 1;
	put16(f + 12, 0x0800);
	ip[0] = 0x45;
	put16(ip + 2, (uint16_t)tot);
	put16(ip + 4, (uint16_t)rnd());
	put16(ip + 6, rndn(2) ? 0x4000 : 0);
	ip[8] = 64;
	ip[9] = tcp ? 6 : 17;
	put32(ip + 12, pick_addr(p));
	put32(ip + 16, pick_addr(p));
	put16(l4, (uint16_t)(1024 + rndn(60000)));
	put16(l4 + 2, (uint16_t)(1024 + rndn(60000)));
	if (tcp)
		l4[12] = 5 << 4;
	else
		put16(l4 + 4, (uint16_t)(8 + pay));
	for (uint32_t i = 0; i < pay && 34 + l4h + i < len; i++)
		l4[l4h + i] = (uint8_t)rnd();
	put16(ip + 10, csum(0, ip, 20));
	ps = (uint32_t)(ip[12] << 8 | ip[13]) + (uint32_t)(ip[14] << 8 | ip[15]) +
	     (uint32_t)(ip[16] << 8 | ip[17]) + (uint32_t)(ip[18] << 8 | ip[19]) + ip[9] +
	     l4h + pay;
	{
		const uint32_t co = tcp ? 16 : 6;
		uint16_t c = csum(ps, l4, l4h + pay <= len - 34 ? l4h + pay : len - 34);

		if (!tcp && c == 0)
			c = 0xffff;
		put16(l4 + co, c);
		if (rndn(10) == 0)      /* a checksum that was wrong, or none */
			put16(l4 + co, rndn(3) == 0 ? 0 : (uint16_t)rnd());
	}
	if (rndn(20) == 0)
		put16(ip + 10, rndn(2) ? 0xffff : 0);
	*wire = len;
	if (rndn(3) == 0) {
		switch (rndn(16)) {
		case 0: put16(f + 12, rndn(2) ? 0x86dd : 0x8100); break;
		case 1: ip[0] = (uint8_t)(0x40 | (5 + rndn(3))); break;
		case 2: put16(ip + 6, (uint16_t)(rndn(2) ? 0x2000 : rndn(8192))); break;
		case 3: put16(ip + 2, (uint16_t)rndn(tot + 40)); break;
		case 4: ip[9] = (uint8_t)rndn(256); break;
		case 5: put16(l4 + 4, (uint16_t)rndn(tot + 8)); break;
		case 6: l4[12] = (uint8_t)(rndn(16) << 4); break;
		case 7: {
			/* every port with a payload translator (the list both paths use) */
			static const uint16_t pl[] = { RW_PL_PORTS };

			put16(l4 + rndn(2) * 2, rndn(3) == 0 ? (uint16_t)(67 + rndn(2))
							 : pl[rndn(sizeof(pl) / sizeof(pl[0]))]);
			break;
		}
		case 8: put16(l4, 67); put16(l4 + 2, 68); break;
		case 9: f[rndn(2) * 6] |= 1; break;
		case 10: memset(f + rndn(2) * 6, 0, 6); break;
		case 11: *wire = len + rndn(64); break;
		case 12: *wire = rndn(len); break;
		case 13: put16(l4 + (tcp ? 16 : 6), rndn(2) ? 0 : 0xffff); break;
		case 14: put32(ip + 12 + 4 * rndn(2), rndn(2) ? 0 : UINT32_MAX); break;
		default: put16(ip + 10, (uint16_t)rnd()); break;
		}
	}
	return len;
}

static int cpu_has_avx2(void)
{
#if defined(RTE_ARCH_X86_64)
	return __builtin_cpu_supports("avx2");
#else
	return 0;
#endif
}

#define CAP 160

/* Bursts of random frames through the per-frame path and every variant. */
static void run_tables(const char *name, struct st_rewrite_tables *t, const struct st_start_plan *p,
		       unsigned int bursts, unsigned int want_done)
{
	unsigned long done_total = 0, frames = 0, xl_total = 0;
	unsigned int bad = 0;

	for (unsigned int b = 0; b < bursts && bad < 5; b++) {
		const unsigned int n = 1 + rndn(64);
		uint8_t orig[64][CAP], ref[64][CAP];
		uint8_t *buf[4][64];
		uint32_t seg[64], pkt[64], wire[64];
		struct st_rewrite_result res[64];
		uint64_t done[4], xl[4];

		for (unsigned int i = 0; i < n; i++) {
			pkt[i] = make_frame(p, orig[i], CAP, &wire[i]);
			seg[i] = rndn(10) == 0 ? 14 + rndn(pkt[i] - 13) : pkt[i];
			if (seg[i] == 0)
				seg[i] = 1;
			memcpy(ref[i], orig[i], CAP);
			st_rewrite_frame_ex(t, ref[i], seg[i], pkt[i], wire[i], &res[i]);
		}
		for (unsigned int v = 0; v < g_nvar; v++) {
			for (unsigned int i = 0; i < n; i++) {
				buf[v][i] = malloc(seg[i]);
				memcpy(buf[v][i], orig[i], seg[i]);
			}
			done[v] = g_var[v].fn(t, buf[v], seg, pkt, wire, n, &xl[v]);
		}
		for (unsigned int v = 0; v < g_nvar; v++) {
			CHECK((done[v] & ~(n == 64 ? UINT64_MAX : (UINT64_C(1) << n) - 1)) == 0 &&
			      (xl[v] & ~done[v]) == 0, "%s/%s: masks within the burst", name,
			      g_var[v].name);
			if (v > 0)
				CHECK(done[v] == done[0] && xl[v] == xl[0],
				      "%s: %s and %s rewrite the same frames (%#" PRIx64 "/%#" PRIx64
				      " vs %#" PRIx64 "/%#" PRIx64 ")", name, g_var[v].name,
				      g_var[0].name, done[v], xl[v], done[0], xl[0]);
			for (unsigned int i = 0; i < n; i++) {
				const int d = (int)(done[v] >> i & 1);
				const uint8_t *want = d ? ref[i] : orig[i];

				if (memcmp(buf[v][i], want, seg[i]) != 0 ||
				    (d && (res[i].drop >= 0 || res[i].translated != (xl[v] >> i & 1)))) {
					bad++;
					CHECK(0, "%s/%s burst %u frame %u (%s, seg %u pkt %u wire %u): "
					      "bytes or outcome differ from the per-frame path",
					      name, g_var[v].name, b, i, d ? "rewritten" : "left",
					      seg[i], pkt[i], wire[i]);
					for (unsigned int j = 0; j < seg[i] && j < 64; j++)
						if (buf[v][i][j] != want[j])
							fprintf(stderr, "  byte %u: %02x, want %02x (was %02x)\n",
								j, buf[v][i][j], want[j], orig[i][j]);
				} else {
					g_pass++;
				}
			}
		}
		for (unsigned int v = 0; v < g_nvar; v++)
			for (unsigned int i = 0; i < n; i++)
				free(buf[v][i]);
		frames += n;
		done_total += (unsigned long)__builtin_popcountll(done[0]);
		xl_total += (unsigned long)__builtin_popcountll(xl[0]);
	}
	printf("%s: %lu frames, %lu on the burst path, %lu translated there\n", name, frames,
	       done_total, xl_total);
	/* the path was exercised, and not only for a token few */
	CHECK(done_total * 100 >= frames * want_done,
	      "%s: at least %u %% of frames on the burst path (%lu of %lu)", name, want_done,
	      done_total, frames);
}

static const uint8_t smac[6] = { 0x02, 0x53, 0x48, 0x44, 0x57, 0x01 };
static const uint8_t dmac[6] = { 0x02, 0x53, 0x48, 0x44, 0x57, 0x02 };

static void plan_init(struct st_start_plan *p, uint8_t unmapped)
{
	memset(p, 0, sizeof(*p));
	memcpy(p->shadow_src_mac, smac, 6);
	memcpy(p->shadow_dst_mac, dmac, 6);
	p->unmapped = unmapped;
}

static void add4(struct st_start_plan *p, uint32_t from, uint32_t to, uint8_t len)
{
	p->map4[p->nb_map4].from = from;
	p->map4[p->nb_map4].to = to;
	p->map4[p->nb_map4].len = len;
	p->nb_map4++;
}

static void one(const char *name, const struct st_start_plan *p, unsigned int bursts,
		unsigned int want_done, int cp, uint8_t want_lpm)
{
	struct st_error err;
	struct st_rewrite_tables *t;

	memset(&err, 0, sizeof(err));
	t = st_rewrite_compile(p, name, &err);
	CHECK(t != NULL, "%s: compile: %s %s", name, err.field, err.message);
	if (t == NULL)
		return;
	CHECK(t->burst_ok && t->fm_lpm == want_lpm && (want_lpm || t->nb_fm == p->nb_map4),
	      "%s: burst path on, %s", name, want_lpm ? "rte_lpm" : "mask compares");
	if (cp) {
		/* a policy's control-plane-aware tables, as far as the
		 * common shape is concerned: group MACs, 0.0.0.0 and
		 * 255.255.255.255, DHCP and payload ports stay off the path */
		t->cp_aware = 1;
		t->control_plane = ST_CP_DHCP;
		t->payloads = 1;
	}
	run_tables(name, t, p, bursts, want_done);
	st_rewrite_free(t);
}

int main(int argc, char **argv)
{
	char prefix[64], runtime_dir[512];
	char *eal_argv[] = { argv[0], "--no-huge", "-m", "256", "--no-pci",
			     "--file-prefix", prefix, "--log-level=error", NULL };
	int eal_argc = (int)(sizeof(eal_argv) / sizeof(eal_argv[0])) - 1;
	unsigned int bursts = 400;
	const char *picked = NULL;
	struct st_start_plan p;

	st_seed(argc > 1 ? argv[1] : NULL, 0x51dd51dd0badcafeull);
	if (argc > 2)
		bursts = (unsigned int)atoi(argv[2]);
	st_print_sanitizers();
	snprintf(prefix, sizeof(prefix), "st-rwsimd-%d", (int)getpid());
	if (rte_eal_init(eal_argc, eal_argv) < 0) {
		fprintf(stderr, "rte_eal_init: %s\n", rte_strerror(rte_errno));
		return 2;
	}
	snprintf(runtime_dir, sizeof(runtime_dir), "%s", rte_eal_get_runtime_dir());

	g_var[g_nvar++] = (struct variant){ "generic", st_rw_burst_generic };
#if defined(RTE_ARCH_X86_64)
	if (cpu_has_avx2())
		g_var[g_nvar++] = (struct variant){ "avx2", st_rw_burst_avx2 };
	else
		printf("avx2: not on this CPU, not run\n");
#endif
	printf("variants:");
	for (unsigned int v = 0; v < g_nvar; v++)
		printf(" %s", g_var[v].name);
	(void)st_rw_burst_pick(&picked);
	printf("\npicked for this CPU: %s\n", picked);
	CHECK(strcmp(picked, cpu_has_avx2() ? "avx2" : "generic") == 0,
	      "the pick follows the CPU's flags (%s)", picked);

	/* the bench's map: 10.0.0.0/16 -> 10.200.0.0/16 */
	plan_init(&p, ST_UNMAPPED_DROP);
	add4(&p, 0x0a000000, 0x0ac80000, 16);
	one("one16", &p, bursts, 25, 0, 0);
	/* nested maps: the longest must win, whatever the order given */
	plan_init(&p, ST_UNMAPPED_DROP);
	add4(&p, 0x0a000000, 0x14000000, 8);
	add4(&p, 0x0a010100, 0x1e000000, 24);
	add4(&p, 0x0a010000, 0x28280000, 16);
	add4(&p, 0x0a010180, 0x32000080, 25);
	one("nested4", &p, bursts, 25, 0, 0);
	/* the /0 map and a host: mask 0 and mask ~0 */
	plan_init(&p, ST_UNMAPPED_DROP);
	add4(&p, 0, 0x0b000000, 0);
	add4(&p, 0x0a000001, 0x0a0000fe, 32);
	one("zero-host", &p, bursts, 25, 0, 0);
	/* more maps than mask compares: rte_lpm */
	plan_init(&p, ST_UNMAPPED_DROP);
	for (uint32_t i = 0; i < 6; i++)
		add4(&p, 0x0a000000 | i << 16, 0x0ac80000 | i << 16, 16);
	add4(&p, 0x0a000100, 0x0b000100, 24);
	one("lpm7", &p, bursts, 20, 0, 1);
	/* no maps, unmapped copies mirrored: MACs only */
	plan_init(&p, ST_UNMAPPED_MIRROR);
	one("nomap-mirror", &p, bursts, 40, 0, 0);
	/* maps and the mirror rule: uncovered addresses kept */
	plan_init(&p, ST_UNMAPPED_MIRROR);
	add4(&p, 0x0a000000, 0x0ac80000, 16);
	one("one16-mirror", &p, bursts, 40, 0, 0);
	/* control-plane aware */
	plan_init(&p, ST_UNMAPPED_MIRROR);
	add4(&p, 0x0a000000, 0x0ac80000, 16);
	add4(&p, 0xe0000000, 0xe0c80000, 16);
	one("cp-aware", &p, bursts, 30, 1, 0);

	rte_eal_cleanup();
	remove_runtime_dir(runtime_dir);
	printf("%u passed, %u failed\n", g_pass, g_fail);
	return g_fail == 0 ? 0 : 1;
}
