/* SPDX-License-Identifier: BSD-3-Clause
 * net_stcap: shadowtap's capture port (docs/captures.md). A shadow-role port
 * like any other: the tx stage hands it copies with rte_eth_tx_burst, which
 * only puts them on a ring (one per tx queue, that is per worker); a writer
 * thread of its own (an EAL control thread, never a worker lcore) writes
 * them as pcapng with DPDK's librte_pcapng and rotates the file by size,
 * time and count as tcpdump's -C, -G and -W do. A full ring refuses the
 * copy: the worker frees and counts it (tx_dropped), never waits.
 *
 *   --vdev net_stcap0,path=FILE[,snaplen=N][,ring=N][,size=BYTES][,seconds=N][,count=N]
 *
 * FILE may hold strftime conversions (%Y %m %d %H %M %S %j %y %s %%, in
 * UTC) in its last component; the supervisor builds the devargs from the
 * port's `capture` section of the configuration.
 */
#ifndef ST_CAPTURE_H
#define ST_CAPTURE_H

#include <stdint.h>

#define ST_CAP_DRIVER         "net_stcap"
#define ST_CAP_SNAPLEN_MAX    65000u  /* one mbuf holds the copy and its pcapng framing */
#define ST_CAP_SNAPLEN_MIN    64u
#define ST_CAP_RING_MIN       64u
#define ST_CAP_RING_MAX       65536u
#define ST_CAP_COUNT_MAX      100000u
#define ST_CAP_SECONDS_MAX    (31u * 86400u)

/* What a capture port has done, since its data plane started. Written by
 * the writer thread (and ring_full by each worker for its own queue); read
 * with relaxed loads. */
struct st_capture_stats {
	uint64_t packets;        /* copies written to files */
	uint64_t bytes;          /* bytes written to files, pcapng framing included */
	uint64_t rotations;      /* files closed for a newer one while running */
	uint64_t files_removed;  /* oldest files removed to keep `count` */
	uint64_t ring_full;      /* copies refused: the writer's ring was full */
	uint64_t nomem;          /* copies lost: no buffer for the pcapng record */
	uint64_t write_errors;   /* copies lost: a file could not be opened or written */
};

/* Counters of the capture port on ethdev port_id, if it is one: 0 and *out
 * filled, else -1. After the port is closed the last counters stay
 * readable until the port id is used again. */
int st_capture_stats(uint16_t port_id, struct st_capture_stats *out);

/* Strftime conversions a capture path may use (the names stay orderable and
 * matchable, so the count limit finds a capture's own files and no other). */
#define ST_CAP_CONVERSIONS "YmdHMSjys%"

/* Does `name` belong to the capture whose file-name pattern is `pattern`
 * (the last path component, with its strftime conversions), optionally with
 * a ".N" sequence suffix? Sets *seq to N (0 without a suffix). */
int st_capture_name_matches(const char *pattern, const char *name, uint64_t *seq);

#endif /* ST_CAPTURE_H */
