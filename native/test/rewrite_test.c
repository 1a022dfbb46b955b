/* SPDX-License-Identifier: BSD-3-Clause
 * Standalone test of the header rewrite (stages/rewrite_ctl.c and the node:
 * rewrite_node.c, rewrite_ipv4.c, rewrite_ipv6.c, rewrite_cp.c).
 *
 * Frames are built byte by byte from a description (struct desc). The
 * expected result of a rewrite is obtained by building the frame again from
 * the description with the addresses translated by a reference translator
 * (a linear longest-prefix scan, independent of rte_lpm) and every checksum
 * computed in full: the rewritten frame must equal it byte for byte. So each
 * incremental checksum is checked against a full recomputation, and every
 * byte that should not change is checked too.
 *
 * Each call gets a heap copy of exactly seg_len bytes, so AddressSanitizer or
 * valgrind flag any access past the segment.
 *
 * Each rte_lpm/rte_lpm6 table takes 64 MiB of DPDK memory (its tbl24), so
 * EAL gets -m 256: at most two tables are alive at any time here.
 *
 * Usage: rewrite_test [seed [iterations]]
 *   exit 0 and "N passed, 0 failed" on success; the seed (argument, else
 *   $ST_TEST_SEED, else fixed) is printed first. Out-of-bounds accesses are
 *   caught by the sanitized build (build/sanitize, docs/testing.md), not by
 *   this program: it cannot see them itself.
 * Build: CMake target st_rewrite_test (with the st_dataplane objects), from
 * this file (main, compile errors, empty tables) and the parts that
 * rewrite_test.h lists by area.
 */
#include "rewrite_test.h"

/* st_check.h's tally and random stream, one for every part (ST_CHECK_SHARED) */
unsigned int g_pass, g_fail;
uint64_t g_rng = 0x5eed5eed12345678ull;

static void test_zero_and_one(void)
{
	struct st_start_plan p;
	struct st_error err;
	struct st_rewrite_tables *t;
	struct desc d;

	memset(&p, 0, sizeof(p));
	p.unmapped = ST_UNMAPPED_DROP;
	add4(&p, "0.0.0.0", "5.6.7.8", 0);        /* identity, marks all mapped */
	add4(&p, "128.0.0.0", "0.0.0.0", 1);      /* a real /1 beats the /0 halves */
	add4(&p, "10.0.0.0", "11.0.0.0", 8);
	add6(&p, "::", "fd00::", 0);
	add6(&p, "2001:db8::", "fd00:1::", 32);
	t = st_rewrite_compile(&p, "zero", &err);
	CHECK(t != NULL, "compile /0 plan: %s %s %s", err.code, err.field,
	      err.message);
	if (t == NULL)
		return;
	base_desc(&d, 0, 6);
	d.src4 = ip4("1.2.3.4");
	d.dst4 = ip4("200.1.2.3");
	check_desc("/0 identity + /1", t, &p, &d);
	{
		static uint8_t in[MAXF], out[MAXF];
		struct st_rewrite_result res;
		struct layout lo;

		build(&d, in, &lo);
		run(t, in, lo.len, lo.len, out, &res);
		CHECK(res.drop == -1 && get32(out + lo.l3 + 12) == ip4("1.2.3.4") &&
		      get32(out + lo.l3 + 16) == ip4("72.1.2.3"),
		      "/0 keeps all bits, /1 maps 200.1.2.3 to 72.1.2.3");
	}
	d.src4 = ip4("10.9.9.9");
	check_desc("/0 with /8", t, &p, &d);
	base_desc(&d, 1, 17);
	ip6(d.src6, "fe80::1");
	check_desc("ipv6 /0 identity", t, &p, &d);
	for (int i = 0; i < 300; i++) {
		random_desc(&d, &p, 0);
		check_desc("random with /0 maps", t, &p, &d);
	}
	st_rewrite_free(t);

	/* only IPv4 maps: IPv6 table stays NULL, IPv6 frames are unmapped */
	memset(&p, 0, sizeof(p));
	add4(&p, "10.0.0.0", "11.0.0.0", 8);
	p.unmapped = ST_UNMAPPED_DROP;
	/* all-zero MACs: originals kept */
	t = st_rewrite_compile(&p, "v4only", &err);
	CHECK(t != NULL && t->lpm4 != NULL && t->lpm6 == NULL && t->nb_map6 == 0,
	      "compile v4-only plan");
	if (t == NULL)
		return;
	base_desc(&d, 1, 6);
	check_desc("no ipv6 maps: dropped as unmapped", t, &p, &d);
	t->unmapped = ST_UNMAPPED_MIRROR;
	check_desc("no ipv6 maps: mirrored untranslated", t, &p, &d);
	base_desc(&d, 0, 6);
	d.src4 = ip4("10.1.1.1");
	d.dst4 = ip4("10.2.2.2");
	check_desc("zero MACs kept", t, &p, &d);
	st_rewrite_free(t);

	memset(&p, 0, sizeof(p));
	p.unmapped = ST_UNMAPPED_MIRROR;
	t = st_rewrite_compile(&p, "empty", &err);
	CHECK(t != NULL && t->lpm4 == NULL && t->lpm6 == NULL,
	      "compile empty plan: both tables NULL");
	if (t != NULL) {
		base_desc(&d, 0, 17);
		check_desc("empty plan mirror", t, &p, &d);
		t->unmapped = ST_UNMAPPED_DROP;
		check_desc("empty plan drop", t, &p, &d);
	}
	st_rewrite_free(t);
	st_rewrite_free(NULL);
}

static void test_compile_errors(void)
{
	static struct st_start_plan p;
	struct st_error err;
	struct st_rewrite_tables *t, *t2;

	memset(&p, 0, sizeof(p));
	add4(&p, "10.0.0.0", "11.0.0.0", 8);
	add4(&p, "10.0.0.0", "11.0.0.0", 33);
	memset(&err, 0, sizeof(err));
	t = st_rewrite_compile(&p, "e1", &err);
	CHECK(t == NULL && strcmp(err.code, "ST_ERR_MAP_COMPILE") == 0 &&
	      strcmp(err.field, "map4[1].len") == 0,
	      "ipv4 len 33 refused: '%s' '%s' '%s'", err.code, err.field,
	      err.message);

	memset(&p, 0, sizeof(p));
	add6(&p, "2001:db8::", "fd00::", 129);
	t = st_rewrite_compile(&p, "e2", &err);
	CHECK(t == NULL && strcmp(err.field, "map6[0].len") == 0,
	      "ipv6 len 129 refused: '%s'", err.field);

	memset(&p, 0, sizeof(p));
	add4(&p, "10.0.0.0", "11.0.0.0", 8);
	add4(&p, "10.1.0.0", "12.0.0.0", 16);
	add4(&p, "10.9.9.9", "13.0.0.0", 8);   /* same prefix as map4[0] */
	t = st_rewrite_compile(&p, "e3", &err);
	CHECK(t == NULL && strcmp(err.field, "map4[2]") == 0 &&
	      strstr(err.message, "map4[0]") != NULL,
	      "duplicate prefix refused: '%s' '%s'", err.field, err.message);

	memset(&p, 0, sizeof(p));
	p.nb_map4 = ST_MAX_MAPS + 1;
	t = st_rewrite_compile(&p, "e4", &err);
	CHECK(t == NULL && strcmp(err.field, "map4") == 0, "too many maps refused");

	memset(&p, 0, sizeof(p));
	p.unmapped = 7;
	t = st_rewrite_compile(&p, "e5", &err);
	CHECK(t == NULL && strcmp(err.field, "unmapped") == 0,
	      "bad unmapped rule refused");

	CHECK(st_rewrite_compile(NULL, "e6", &err) == NULL, "NULL plan refused");

	memset(&p, 0, sizeof(p));
	add4(&p, "10.0.0.0", "11.0.0.0", 8);
	t = st_rewrite_compile(&p, "a-very-long-suffix-that-does-not-fit", &err);
	CHECK(t == NULL && err.errnum == ENAMETOOLONG && strcmp(err.field, "map4") == 0,
	      "too long name suffix refused: '%s'", err.message);

	/* the same suffix twice while the first is alive: rte_lpm refuses */
	t = st_rewrite_compile(&p, "dup", &err);
	memset(&err, 0, sizeof(err));
	t2 = st_rewrite_compile(&p, "dup", &err);
	CHECK(t != NULL && t2 == NULL && strcmp(err.code, "ST_ERR_MAP_COMPILE") == 0 &&
	      err.errnum == EEXIST && strstr(err.message, rte_strerror(EEXIST)) != NULL,
	      "same table name twice refused: '%s' '%s' (%d)", err.field,
	      err.message, err.errnum);
	st_rewrite_free(t2);
	st_rewrite_free(t);
	/* unique automatic names when no suffix is given */
	t = st_rewrite_compile(&p, NULL, &err);
	t2 = st_rewrite_compile(&p, "", &err);
	CHECK(t != NULL && t2 != NULL, "two tables without suffix coexist: %s",
	      err.message);
	st_rewrite_free(t2);
	st_rewrite_free(t);
	/* and the name is free again after st_rewrite_free */
	t = st_rewrite_compile(&p, "dup", &err);
	CHECK(t != NULL, "name reusable after free: %s", err.message);
	st_rewrite_free(t);
}

/* ---- EAL ------------------------------------------------------------------ */

int main(int argc, char **argv)
{
	char prefix[64], runtime_dir[512];
	char *eal_argv[] = { argv[0], "--no-huge", "-m", "256", "--no-pci",
			     "--file-prefix", prefix, "--log-level=error", NULL };
	int eal_argc = (int)(sizeof(eal_argv) / sizeof(eal_argv[0])) - 1;
	struct st_start_plan sp;
	struct st_error err;
	struct st_rewrite_tables *t;
	int iterations = 3000;

	st_seed(argc > 1 ? argv[1] : NULL, 0x5eed5eed12345678ull);
	if (argc > 2)
		iterations = atoi(argv[2]);
	st_print_sanitizers();

	snprintf(prefix, sizeof(prefix), "st-rwtest-%d", (int)getpid());
	if (rte_eal_init(eal_argc, eal_argv) < 0) {
		fprintf(stderr, "rte_eal_init: %s\n", rte_strerror(rte_errno));
		return 2;
	}
	snprintf(runtime_dir, sizeof(runtime_dir), "%s", rte_eal_get_runtime_dir());

	test_compile_errors();
	test_zero_and_one();

	main_start_plan(&sp);
	memset(&err, 0, sizeof(err));
	t = st_rewrite_compile(&sp, "main", &err);
	CHECK(t != NULL, "compile main plan: %s %s %s", err.code, err.field,
	      err.message);
	if (t != NULL) {
		CHECK(t->nb_map4 == sp.nb_map4 && t->nb_map6 == sp.nb_map6 &&
		      memcmp(t->src_mac, sp.shadow_src_mac, 6) == 0 &&
		      memcmp(t->dst_mac, sp.shadow_dst_mac, 6) == 0,
		      "tables copy maps and MACs");
		test_literals(t);
		test_valid(t, &sp);
		test_malformed(t);
		test_unmapped(t, &sp);
		test_udp_ffff(t, &sp);
		test_random_valid(t, &sp, iterations);
		test_random_garbage(t, &sp, iterations * 2);
		st_rewrite_free(t);
	}

	/* policy-era: at most one table set alive at a time (-m 256) */
	policy_start_plan(&g_policy_start_plan);
	test_policy_compile();
	test_policy_ip(iterations);
	test_truncated(iterations / 2);
	test_cp(iterations);

	rte_eal_cleanup();
	remove_runtime_dir(runtime_dir);
	printf("%u passed, %u failed\n", g_pass, g_fail);
	return g_fail == 0 ? 0 : 1;
}
