/* SPDX-License-Identifier: BSD-3-Clause
 * Between the capture port's parts (capture.h): the ethdev (capture_ethdev.c),
 * the writer thread (capture_writer.c) and the counters' registry
 * (capture_stats.c, built even where the PMD cannot be).
 */
#ifndef ST_CAPTURE_INT_H
#define ST_CAPTURE_INT_H

#include <limits.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

#include <rte_common.h>

#include "capture.h"

struct rte_mbuf;
struct rte_mempool;
struct rte_ring;
struct rte_eth_dev;

#define CAP_MAX_QUEUES 16   /* ST_MAX_WORKERS: a tx queue per worker */
#define CAP_BATCH      32

/* What crosses the ring: the copy and when its worker sent it (TSC). */
struct st_cap_elem {
	struct rte_mbuf *m;
	uint64_t tsc;
};

struct st_cap_conf {
	char path[PATH_MAX];         /* absolute or relative to the process's cwd */
	uint32_t snaplen;
	uint32_t ring;               /* elements per tx queue's ring (power of 2) */
	uint64_t size;               /* rotate before a file passes this many bytes; 0: never */
	uint32_t seconds;            /* rotate when a file is this old; 0: never */
	uint32_t count;              /* keep at most this many files; 0: all */
};

struct st_cap_txq {
	struct st_cap_dev *dev;
	struct rte_ring *ring;
	uint16_t qid;
	uint64_t ring_full;          /* written by the one worker sending on this queue */
} __rte_cache_aligned;

/* The file being written. */
struct st_cap_file {
	int fd;                      /* -1: none open */
	void *pc;                    /* rte_pcapng_t */
	char path[PATH_MAX];
	uint64_t size;               /* bytes in it, batched records included */
	uint64_t packets;
	uint64_t start_ns;           /* when its period (-G) began */
};

struct st_cap_dev {
	char name[64];
	uint16_t port_id;
	uint16_t nb_txq;
	struct st_cap_conf conf;
	volatile bool started;
	struct st_cap_txq txq[CAP_MAX_QUEUES];
	/* the writer */
	pthread_t writer;
	bool writer_running;
	uint8_t stop;                /* atomic: the writer drains, closes and exits */
	struct rte_mempool *pool;    /* pcapng records (rte_pcapng_copy) */
	struct st_cap_file file;
	uint64_t retry_ns;           /* after a failed open, no new try before this */
	uint64_t tsc_hz, anchor_tsc, anchor_ns; /* TSC to wall clock (capture_writer.c) */
	struct st_capture_stats ctr; /* writer's counters (ring_full is per queue) */
};

/* capture_writer.c: open the first file (the caller reports failure), start
 * the writer; stop drains every ring, fsyncs and closes. */
int st_cap_writer_start(struct st_cap_dev *d);
void st_cap_writer_stop(struct st_cap_dev *d);

/* capture_stats.c: the registry stats.c reads through st_capture_stats(). */
void st_cap_register(uint16_t port_id, const struct st_cap_dev *d);
void st_cap_unregister(uint16_t port_id);
void st_cap_read(const struct st_cap_dev *d, struct st_capture_stats *out);

#endif /* ST_CAPTURE_INT_H */
