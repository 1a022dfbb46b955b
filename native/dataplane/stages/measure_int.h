/* SPDX-License-Identifier: BSD-3-Clause
 * The measure stage's private state: what one worker owns (flow table,
 * counters, detector tables, event ring) and the parsed view of a packet the
 * node and the detectors share. Only measure_*.c include this.
 */
#ifndef ST_MEASURE_INT_H
#define ST_MEASURE_INT_H

#include <stdint.h>
#include <string.h>

#include <rte_common.h>

#include "measure.h"

#define ST_MEAS_WAYS        4      /* flow and detector tables: 4-way sets */
#define ST_MEAS_ARP_SETS    1024
#define ST_MEAS_SCAN_SETS   256
#define ST_MEAS_SYN_SETS    256
#define ST_MEAS_SEEN_SLOTS  64     /* rogue servers already reported */
/* net_pcap's rx timestamp unit in ns (DPDK 22.11: the record's time in us). */
#define ST_PCAP_TS_NS       1000

/* TCP flow state in the table. */
enum { ST_FLOW_FREE = 0, ST_FLOW_SYN, ST_FLOW_SYNACK, ST_FLOW_EST };

/* Flow flags. */
#define ST_FF_SYN_RETX      0x01   /* SYN or SYN/ACK seen twice: handshake RTT ambiguous (Karn) */
#define ST_FF_CLIENT_B      0x02   /* the SYN came from b */
#define ST_FF_SEQ0          0x04   /* next[0] known */
#define ST_FF_SEQ1          0x08   /* next[1] known */
#define ST_FF_TS0           0x10   /* ts_val[0] waits for its echo */
#define ST_FF_TS1           0x20

struct st_meas_flow {
	uint8_t a[16], b[16];          /* a < b (memcmp, then ports) */
	uint16_t pa, pb;
	uint8_t state, flags, side, v6;
	uint8_t vm;                    /* VM index for the flow's series */
	uint8_t pad[3];
	uint32_t synack_seq;
	uint64_t last_ns;
	uint64_t syn_ns, synack_ns;
	uint32_t next[2];              /* per direction (0: a->b): highest sequence end */
	uint32_t hole_lo[2], hole_hi[2];
	uint32_t ts_val[2];
	uint64_t ts_ns[2];
};

struct st_meas_arp {
	uint32_t ip;                   /* network order; 0: free */
	uint8_t mac[6], prev[6];
	uint8_t has_prev, pad;
	uint64_t last_ns;
};

/* Scans: a source and what it touched in a window. key2 is the target host
 * (port scan) or the port (host scan). */
struct st_meas_scan {
	uint8_t src[16];
	uint8_t key2[16];
	uint8_t v6, used, fired, nb;
	uint64_t start_ns;
	uint32_t vals[ST_MEAS_SCAN_MAX];
};

struct st_meas_syn {
	uint8_t dst[16];
	uint8_t v6, used, fired, pad;
	uint16_t port;
	uint32_t syns, synacks;
	uint64_t start_ns;
};

struct st_meas_seen {
	uint8_t addr[16];
	uint8_t detector, used;
	uint64_t last_ns;
};

struct st_meas_worker {
	struct st_meas_vm_ctr side[ST_MEAS__SIDES][ST_MEAS_MAX_VMS + 1];
	uint64_t flows_active, flows_created, flows_evicted, flows_expired;
	uint64_t ts_rx, ts_tsc, malformed;
	uint64_t ev_seq;                         /* last event written */
	struct st_meas_event ring[ST_MEAS_EVENTS];
	/* detectors */
	struct st_meas_arp arp[ST_MEAS_ARP_SETS * ST_MEAS_WAYS];
	uint64_t garp_start_ns;
	uint32_t garp_count;
	uint8_t garp_fired;
	struct st_meas_scan pscan[ST_MEAS_SCAN_SETS * ST_MEAS_WAYS];
	struct st_meas_scan hscan[ST_MEAS_SCAN_SETS * ST_MEAS_WAYS];
	struct st_meas_syn syn[ST_MEAS_SYN_SETS * ST_MEAS_WAYS];
	struct st_meas_seen seen[ST_MEAS_SEEN_SLOTS];
	struct st_meas_flow *flows;              /* conf.flows entries */
} __rte_cache_aligned;

struct rte_acl_ctx;

struct st_measure {
	struct st_meas_conf conf;               /* class_rules: NULL (install only) */
	struct rte_acl_ctx *class_acl;           /* NULL: no class series */
	uint64_t ns_mult;                        /* TSC to ns: (tsc * ns_mult) >> 32 */
	uint64_t tsc_epoch_ns;                   /* added to TSC ns: the epoch time */
	int ts_offset;                           /* rte_mbuf timestamp dynfield, -1: none */
	uint64_t ts_flag;
	uint16_t port_ns[RTE_MAX_ETHPORTS];      /* ns per unit of the port's rx timestamps, 0: none */
	struct st_meas_worker *w[ST_MAX_WORKERS];
};

/* A parsed packet: what the node and the detectors read. Lengths checked. */
struct st_meas_pkt {
	uint64_t ns;
	uint32_t len;                            /* frame length */
	const uint8_t *eth;                      /* L2 header */
	const uint8_t *l3, *l4;                  /* NULL when absent or truncated */
	uint32_t l3_len, l4_len;                 /* bytes available from l3/l4 */
	uint32_t payload_len;                    /* L4 payload per the IP header */
	uint8_t v6, proto, mproto;
	uint8_t src[16], dst[16];
	uint16_t sport, dport;
};

static inline uint32_t
st_meas_hash(const uint8_t *p, uint32_t n, uint32_t h)
{
	uint32_t i;

	for (i = 0; i < n; i++)
		h = (h ^ p[i]) * 16777619u;
	return h ^ (h >> 15);
}

static inline int
st_meas_addr_eq(const uint8_t *a, const uint8_t *b, uint8_t v6)
{
	return memcmp(a, b, v6 ? 16 : 4) == 0;
}

/* measure_detect.c: the detectors, on production packets */
void st_meas_detect(const struct st_measure *ms, struct st_meas_worker *w,
		    const struct st_meas_pkt *p);
void st_meas_detect_syn(const struct st_measure *ms, struct st_meas_worker *w,
			const struct st_meas_pkt *p, int synack);
struct st_meas_event *st_meas_event_begin(struct st_meas_worker *w);
void st_meas_event_end(struct st_meas_worker *w, struct st_meas_event *e);

#endif /* ST_MEASURE_INT_H */
