/* SPDX-License-Identifier: BSD-3-Clause
 * EAL for the fuzz targets that need DPDK memory (rte_lpm, rte_lpm6,
 * rte_hash): no hugepages, no PCI, a file prefix of its own (from
 * ST_FUZZ_EAL_PREFIX, else st-fuzz-<pid>), cleaned up with its runtime
 * directory at exit. A crashing run exits without atexit handlers: the
 * runner (src/tools/fuzz.ts) removes /var/run/dpdk/<prefix> itself.
 *
 * And the prefix maps those targets translate with (st_fuzz_maps): one set,
 * so every rewrite target meets nested maps, host overrides, a multicast
 * range and an identity map alike.
 */
#ifndef ST_FUZZ_EAL_H
#define ST_FUZZ_EAL_H

#include <arpa/inet.h>
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include <rte_eal.h>
#include <rte_errno.h>

#include "st_dataplane.h"

static char st_fuzz_runtime_dir[512];

static void
st_fuzz_eal_exit(void)
{
	DIR *d;
	struct dirent *e;
	char path[1024];

	rte_eal_cleanup();
	d = opendir(st_fuzz_runtime_dir);
	if (d == NULL)
		return;
	while ((e = readdir(d)) != NULL) {
		if (e->d_name[0] == '.' && (e->d_name[1] == 0 || (e->d_name[1] == '.' && e->d_name[2] == 0)))
			continue;
		snprintf(path, sizeof(path), "%s/%s", st_fuzz_runtime_dir, e->d_name);
		unlink(path);
	}
	closedir(d);
	rmdir(st_fuzz_runtime_dir);
}

static void
st_fuzz_eal_init(const char *argv0, const char *memory_mb)
{
	char prefix[64];
	const char *env = getenv("ST_FUZZ_EAL_PREFIX");
	char *eal_argv[] = { (char *)argv0, "--no-huge", "-m", (char *)memory_mb, "--no-pci",
			     "--file-prefix", prefix, "--log-level=error", NULL };
	int eal_argc = (int)(sizeof(eal_argv) / sizeof(eal_argv[0])) - 1;

	if (env != NULL && env[0] != 0)
		snprintf(prefix, sizeof(prefix), "%s", env);
	else
		snprintf(prefix, sizeof(prefix), "st-fuzz-%d", (int)getpid());
	if (rte_eal_init(eal_argc, eal_argv) < 0) {
		fprintf(stderr, "rte_eal_init (--file-prefix %s): %s\n", prefix, rte_strerror(rte_errno));
		exit(2);
	}
	snprintf(st_fuzz_runtime_dir, sizeof(st_fuzz_runtime_dir), "%s", rte_eal_get_runtime_dir());
	atexit(st_fuzz_eal_exit);
}

static void
st_fuzz_add4(struct st_map4 *m, uint16_t *n, const char *from, const char *to, uint8_t len)
{
	struct in_addr a, b;

	if (inet_pton(AF_INET, from, &a) != 1 || inet_pton(AF_INET, to, &b) != 1)
		abort();
	m[*n].from = ntohl(a.s_addr);
	m[*n].to = ntohl(b.s_addr);
	m[*n].len = len;
	(*n)++;
}

static void
st_fuzz_add6(struct st_map6 *m, uint16_t *n, const char *from, const char *to, uint8_t len)
{
	if (inet_pton(AF_INET6, from, m[*n].from) != 1 || inet_pton(AF_INET6, to, m[*n].to) != 1)
		abort();
	m[*n].len = len;
	(*n)++;
}

/* The maps every rewrite target uses (appended to m4/m6). */
static void
st_fuzz_maps(struct st_map4 *m4, uint16_t *n4, struct st_map6 *m6, uint16_t *n6)
{
	st_fuzz_add4(m4, n4, "10.0.0.0", "10.99.0.0", 16);
	st_fuzz_add4(m4, n4, "10.1.0.0", "10.2.0.0", 16);
	st_fuzz_add4(m4, n4, "10.0.5.5", "10.200.0.5", 32);       /* host override */
	st_fuzz_add4(m4, n4, "192.168.1.0", "172.16.1.0", 24);
	st_fuzz_add4(m4, n4, "192.168.1.200", "10.200.0.1", 32);
	st_fuzz_add4(m4, n4, "239.1.0.0", "239.9.0.0", 16);        /* a multicast range */
	st_fuzz_add6(m6, n6, "fd00::", "fd99::", 16);
	st_fuzz_add6(m6, n6, "2001:db8:1::", "fd77:1::", 48);
	st_fuzz_add6(m6, n6, "2001:db8:1:2::77", "fd99::1:2345:6789", 128);
	st_fuzz_add6(m6, n6, "ff0e::1:0", "ff0e::9:0", 112);
	st_fuzz_add6(m6, n6, "fe80::", "fe80::", 10);
}

#endif /* ST_FUZZ_EAL_H */
