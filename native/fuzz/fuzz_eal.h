/* SPDX-License-Identifier: BSD-3-Clause
 * EAL for the fuzz targets that need DPDK memory (rte_lpm, rte_lpm6,
 * rte_hash): no hugepages, no PCI, a file prefix of its own (from
 * ST_FUZZ_EAL_PREFIX, else st-fuzz-<pid>), cleaned up with its runtime
 * directory at exit. A crashing run exits without atexit handlers: the
 * runner (src/tools/fuzz.ts) removes /var/run/dpdk/<prefix> itself.
 */
#ifndef ST_FUZZ_EAL_H
#define ST_FUZZ_EAL_H

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include <rte_eal.h>
#include <rte_errno.h>

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

#endif /* ST_FUZZ_EAL_H */
