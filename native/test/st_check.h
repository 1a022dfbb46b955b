/* SPDX-License-Identifier: BSD-3-Clause
 * What every standalone C test of the data plane shares: the pass/fail
 * tally with its CHECK macro (the runner reads the "N passed, M failed"
 * line), a seedable xorshift for randomised cases (seed printed, settable
 * with ST_TEST_SEED), the sanitizer line, and removal of the EAL runtime
 * directory a test created.
 */
#ifndef ST_CHECK_H
#define ST_CHECK_H

#include <dirent.h>
#include <errno.h>
#include <inttypes.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* A test of several files defines ST_CHECK_SHARED before including this
 * header and defines g_pass, g_fail and g_rng once, in its main's file, so
 * that all its parts keep one tally and one random stream. */
#ifdef ST_CHECK_SHARED
extern unsigned int g_pass, g_fail;
extern uint64_t g_rng;
#else
static unsigned int g_pass, g_fail;
#endif

#define CHECK(cond, ...)                                                     \
	do {                                                                 \
		if (cond) {                                                  \
			g_pass++;                                            \
		} else {                                                     \
			g_fail++;                                            \
			fprintf(stderr, "FAIL %s:%d: ", __FILE__, __LINE__); \
			fprintf(stderr, __VA_ARGS__);                        \
			fputc('\n', stderr);                                 \
		}                                                            \
	} while (0)

/* Seed by assigning before use (st_seed() below); never 0. */
#ifndef ST_CHECK_SHARED
static uint64_t g_rng __attribute__((unused)) = 0x5eed5eed12345678ull;
#endif

/* The seed of a run: the argument when one is given (the runner passes
 * one), else $ST_TEST_SEED, else the test's fixed default; always printed
 * as "seed 0x..." so that a failing run can be repeated with
 * ST_TEST_SEED=0x... . A seed that is not a number is refused (exit 2):
 * silently running another seed would repeat nothing. */
static inline void __attribute__((unused)) st_seed(const char *arg, uint64_t dflt)
{
	const char *from = arg != NULL ? arg : getenv("ST_TEST_SEED");
	char *end = NULL;

	g_rng = dflt;
	if (from != NULL) {
		errno = 0;
		g_rng = strtoull(from, &end, 0);
		if (errno != 0 || end == from || *end != '\0') {
			fprintf(stderr, "seed: expected an unsigned integer (decimal or 0x...), got '%s'\n",
				from);
			exit(2);
		}
	}
	g_rng |= 1;     /* xorshift never leaves 0 */
	printf("seed %#" PRIx64 "\n", g_rng);
	fflush(stdout);  /* a sanitizer abort must not lose it in the pipe's buffer */
}

/* Which sanitizers the binary was built with, printed by every test so that
 * the runner can tell a sanitized run from a plain one (GCC defines
 * __SANITIZE_ADDRESS__; CMake defines ST_SANITIZE_UNDEFINED with
 * -fsanitize=undefined, which has no predefined macro). */
static inline void __attribute__((unused)) st_print_sanitizers(void)
{
	printf("sanitizers:%s%s\n",
#ifdef __SANITIZE_ADDRESS__
	       " address",
#else
	       "",
#endif
#ifdef ST_SANITIZE_UNDEFINED
	       " undefined"
#else
	       ""
#endif
	       );
	fflush(stdout);
}

static inline uint32_t rnd(void)
{
	g_rng ^= g_rng << 13;
	g_rng ^= g_rng >> 7;
	g_rng ^= g_rng << 17;
	return (uint32_t)(g_rng >> 11);
}

static inline uint32_t rndn(uint32_t n)
{
	return n == 0 ? 0 : rnd() % n;
}

/* EAL leaves /var/run/dpdk/<prefix> behind after rte_eal_cleanup. */
static inline void remove_runtime_dir(const char *dir)
{
	DIR *dp = opendir(dir);
	struct dirent *e;

	if (dp == NULL)
		return;
	while ((e = readdir(dp)) != NULL) {
		if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
			continue;
		unlinkat(dirfd(dp), e->d_name, 0);
	}
	closedir(dp);
	if (rmdir(dir) != 0 && errno != ENOENT)
		fprintf(stderr, "warning: cannot remove %s: %s\n", dir,
			strerror(errno));
}

#endif /* ST_CHECK_H */
