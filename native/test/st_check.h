/* SPDX-License-Identifier: BSD-3-Clause
 * What every standalone C test of the data plane shares: the pass/fail
 * tally with its CHECK macro (the runner reads the "N passed, M failed"
 * line), a seedable xorshift for randomised cases, and removal of the EAL
 * runtime directory a test created.
 */
#ifndef ST_CHECK_H
#define ST_CHECK_H

#include <dirent.h>
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

static unsigned int g_pass, g_fail;

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

/* Seed by assigning before use (tests take it from argv); never 0. */
static uint64_t g_rng __attribute__((unused)) = 0x5eed5eed12345678ull;

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
