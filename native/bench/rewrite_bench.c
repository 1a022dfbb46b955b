/* SPDX-License-Identifier: BSD-3-Clause
 * The rewrite in isolation, for A/B figures that a shared machine cannot
 * spoil: 1,024 prepared 64-byte IPv4/UDP frames (10.0.0.0/16, 1,024 flows)
 * rewritten in bursts of 32, 10.0.0.0/16 -> 10.200.0.0/16 and back in
 * alternate passes, through the per-frame path (st_rewrite_frame_ex) and each
 * burst variant (rewrite_fast.h) this CPU runs; also with no maps and the
 * unmapped rule "mirror", and with a policy's table flags (payload
 * translators, DHCP, control-plane aware). The figure is the best of many
 * short runs: what the code costs when nothing else takes the CPU. Not a
 * test (no assertion on time): docs/benchmarks.md cites its output.
 *
 * Usage: build/st_rewrite_bench [runs]   (pin it: taskset -c 1 ...)
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <rte_cycles.h>
#include <rte_eal.h>
#include <rte_errno.h>

#include "rewrite.h"
#include "rewrite_fast.h"
#include "policy.h"

#define NF 1024
#define BURST 32
#define ITERS 8

static uint8_t frames[NF][64] __attribute__((aligned(64)));

static uint16_t csum(const uint8_t *p, int n)
{
	uint32_t s = 0;

	for (int i = 0; i < n; i += 2)
		s += (uint32_t)(p[i] << 8 | p[i + 1]);
	while (s >> 16)
		s = (s & 0xffff) + (s >> 16);
	return (uint16_t)~s;
}

static void make_frames(void)
{
	for (int i = 0; i < NF; i++) {
		uint8_t *f = frames[i];
		uint16_t c;

		memset(f, 0, 64);
		f[0] = 0x02;         /* unicast MACs: a control-plane-aware table */
		f[5] = 0x0b;         /* sends group or all-zero MACs to the general path */
		f[6] = 0x02;
		f[11] = 0x0a;
		f[12] = 0x08;
		f[14] = 0x45;
		f[17] = 46;          /* total length: 64-byte frame without FCS */
		f[22] = 64;
		f[23] = 17;
		f[26] = 10;
		f[28] = (uint8_t)(i >> 8);
		f[29] = (uint8_t)i;
		f[30] = 10;
		f[32] = (uint8_t)((i * 7) >> 8 & 3);
		f[33] = (uint8_t)(i * 7);
		f[34] = 0x30;
		f[35] = 0x39;
		f[36] = 0x1f;
		f[37] = 0x90;
		f[39] = 26;          /* UDP length */
		c = csum(f + 14, 20);
		f[24] = (uint8_t)(c >> 8);
		f[25] = (uint8_t)c;
		f[40] = 0x12;        /* any UDP checksum: updated incrementally */
		f[41] = 0x34;
	}
}

/* Best TSC cycles per frame over `runs` runs of ITERS passes; variant
 * NULL = the per-frame path. ta/tb alternate (a map and its inverse). */
static double run(const struct st_rewrite_tables *ta, const struct st_rewrite_tables *tb,
		  st_rw_burst_fn fn, int runs)
{
	uint8_t *fp[BURST];
	uint32_t len[BURST];
	uint64_t best = UINT64_MAX;

	for (int i = 0; i < BURST; i++)
		len[i] = 64;
	for (int r = 0; r < runs; r++) {
		const uint64_t t0 = rte_rdtsc_precise();

		for (int it = 0; it < ITERS; it++) {
			const struct st_rewrite_tables *t = (it & 1) ? tb : ta;

			for (int b = 0; b < NF; b += BURST) {
				uint64_t xl;

				for (int i = 0; i < BURST; i++)
					fp[i] = frames[b + i];
				if (fn == NULL) {
					struct st_rewrite_result res;

					for (int i = 0; i < BURST; i++)
						st_rewrite_frame_ex(t, fp[i], 64, 64, 64, &res);
				} else if (fn(t, fp, len, len, len, BURST, &xl) != UINT32_MAX) {
					fprintf(stderr, "a frame left the burst path\n");
					exit(1);
				}
			}
		}
		const uint64_t d = rte_rdtsc_precise() - t0;

		if (d < best)
			best = d;
	}
	return (double)best / ((double)ITERS * NF);
}

int main(int argc, char **argv)
{
	char prefix[64];
	char *eal_argv[] = { argv[0], "--no-huge", "-m", "400", "--no-pci", "--file-prefix", prefix,
			     "--log-level=error", NULL };
	static const uint8_t sm[6] = { 2, 0, 0, 0, 0, 1 }, dm[6] = { 2, 0, 0, 0, 0, 2 };
	const int runs = argc > 1 ? atoi(argv[1]) : 400;
	struct st_start_plan pa, pb, pn;
	struct st_error err;
	struct st_rewrite_tables *t[5];
	const char *picked = NULL;
	struct variant { const char *name; st_rw_burst_fn fn; } var[3] = {
		{ "per-frame", NULL }, { "burst generic", st_rw_burst_generic }, { NULL, NULL } };

	snprintf(prefix, sizeof(prefix), "st-rwbench-%d", (int)getpid());
	if (rte_eal_init(8, eal_argv) < 0) {
		fprintf(stderr, "rte_eal_init: %s\n", rte_strerror(rte_errno));
		return 2;
	}
#if defined(RTE_ARCH_X86_64)
	if (__builtin_cpu_supports("avx2"))
		var[2] = (struct variant){ "burst avx2", st_rw_burst_avx2 };
#endif
	memset(&pa, 0, sizeof(pa));
	memcpy(pa.shadow_src_mac, sm, 6);
	memcpy(pa.shadow_dst_mac, dm, 6);
	pn = pb = pa;
	pn.unmapped = ST_UNMAPPED_MIRROR;
	pa.nb_map4 = pb.nb_map4 = 1;
	pa.map4[0] = (struct st_map4){ .from = 0x0a000000, .to = 0x0ac80000, .len = 16 };
	pb.map4[0] = (struct st_map4){ .from = 0x0ac80000, .to = 0x0a000000, .len = 16 };
	memset(&err, 0, sizeof(err));
	t[0] = st_rewrite_compile(&pa, "ba", &err);
	t[1] = st_rewrite_compile(&pb, "bb", &err);
	t[2] = st_rewrite_compile(&pn, "bn", &err);
	t[3] = st_rewrite_compile(&pa, "pa", &err);
	t[4] = st_rewrite_compile(&pb, "pb", &err);
	for (int i = 0; i < 5; i++) {
		if (t[i] == NULL) {
			fprintf(stderr, "compile: %s %s\n", err.field, err.message);
			return 2;
		}
	}
	for (int i = 3; i < 5; i++) {
		t[i]->payloads = 1;
		t[i]->cp_aware = 1;
		t[i]->control_plane = ST_CP_DHCP;
	}
	make_frames();
	(void)st_rw_burst_pick(&picked);
	printf("picked for this CPU: %s; TSC %.0f MHz; best of %d runs, cycles per frame\n", picked,
	       (double)rte_get_tsc_hz() / 1e6, runs);
	printf("%-16s %10s %10s %10s\n", "", "one /16", "no maps", "policy");
	for (int v = 0; v < 3 && var[v].name != NULL; v++) {
		/* in this order: printf's arguments may be evaluated in any */
		const double one = run(t[0], t[1], var[v].fn, runs);
		const double none = run(t[2], t[2], var[v].fn, runs);
		const double pol = run(t[3], t[4], var[v].fn, runs);

		printf("%-16s %10.1f %10.1f %10.1f\n", var[v].name, one, none, pol);
	}
	for (int i = 0; i < 5; i++)
		st_rewrite_free(t[i]);
	rte_eal_cleanup();
	return 0;
}
