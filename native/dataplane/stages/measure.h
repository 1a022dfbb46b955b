/* SPDX-License-Identifier: BSD-3-Clause
 * The measure stage: passive measurement of production traffic as it is
 * mirrored (on production/tap rx, before the copy and before any fault) and
 * of what comes back on shadow ports (then dropped): per class packet and
 * byte counters, TCP handshake and timestamp RTT histograms, retransmissions,
 * out-of-order segments, resets, zero windows, per VM and overall; a fixed
 * size flow table with aging and counted evictions; and the data-plane
 * detectors (measure_detect.c) whose events go to a per-worker ring.
 *
 * One state per worker, written by that worker alone (no locks); the
 * configuration is installed before the workers start and read-only after,
 * so there is no RCU here. Off (nothing installed) the rx step pays one load
 * and one predictable branch per burst (rx.c).
 *
 * Time: each packet's rx timestamp (the mbuf's rte_mbuf_timestamp dynfield)
 * where its port gives one in nanoseconds (net_pcap gives the capture's own
 * timestamps), the TSC otherwise; both in ns. docs/measurement.md.
 */
#ifndef ST_MEASURE_H
#define ST_MEASURE_H

#include <stdint.h>

#include "st_dataplane.h"

#ifdef __cplusplus
extern "C" {
#endif

struct rte_mbuf;

#define ST_MEAS_MAX_VMS        64
#define ST_MEAS_MAX_ALLOW      32
#define ST_MEAS_HIST_BUCKETS   20      /* finite upper bounds, ST_MEAS_HIST_BOUNDS_US */
#define ST_MEAS_HIST_BOUNDS_US { 10, 25, 50, 100, 250, 500, 1000, 2500, 5000, 10000, \
	25000, 50000, 100000, 250000, 500000, 1000000, 2500000, 5000000, 10000000, 30000000 }
#define ST_MEAS_FLOWS_MIN      64
#define ST_MEAS_FLOWS_MAX      (1u << 22)
#define ST_MEAS_SCAN_MAX       64      /* the most distinct values a scan entry holds */
#define ST_MEAS_EVENTS         512     /* ring slots per worker */
#define ST_MEAS_MAX_CLASSES    63      /* application classes with series; +1: "other" */
#define ST_MEAS_MAX_CLASS_RULES 1024

enum st_meas_side { ST_MEAS_PRODUCTION = 0, ST_MEAS_SHADOW = 1, ST_MEAS__SIDES };

enum st_meas_proto {
	ST_MPROTO_TCP = 0, ST_MPROTO_UDP, ST_MPROTO_ICMP, ST_MPROTO_ARP,
	ST_MPROTO_OTHER_IP, ST_MPROTO_OTHER, ST_MPROTO__COUNT
};
#define ST_MPROTO_NAMES { "tcp", "udp", "icmp", "arp", "other_ip", "other" }

enum st_meas_rtt { ST_RTT_SYN = 0, ST_RTT_ACK, ST_RTT_TS, ST_RTT__COUNT };
#define ST_RTT_NAMES { "syn_synack", "synack_ack", "timestamp" }

enum st_meas_tcp_ctr {
	ST_MTCP_SYN = 0, ST_MTCP_SYNACK, ST_MTCP_RETRANS, ST_MTCP_OOO, ST_MTCP_RST,
	ST_MTCP_ZERO_WIN, ST_MTCP_FLOWS, ST_MTCP__COUNT
};
#define ST_MTCP_NAMES { "syn", "synack", "retransmissions", "out_of_order", "resets", \
	"zero_windows", "flows" }

enum st_meas_detector {
	ST_DET_ARP_SPOOF = 0, ST_DET_GARP_STORM, ST_DET_ROGUE_DHCP, ST_DET_ROGUE_DHCPV6,
	ST_DET_ROGUE_RA, ST_DET_PORT_SCAN, ST_DET_HOST_SCAN, ST_DET_SYN_FLOOD, ST_DET__COUNT
};
#define ST_DET_NAMES { "arp_spoof", "garp_storm", "rogue_dhcp", "rogue_dhcpv6", \
	"rogue_ra", "port_scan", "host_scan", "syn_flood" }

enum st_meas_severity { ST_SEV_INFO = 0, ST_SEV_WARNING, ST_SEV_CRITICAL };

/* What an ARP spoof event saw (event.kind). */
enum st_meas_arp_kind { ST_ARP_NEW_STATION = 0, ST_ARP_CHANGED, ST_ARP_FLIP_FLOP };

/* One VM (host or prefix) with its address on each side: the shadow prefix is
 * the production one through the address maps (TypeScript derives it), so
 * both sides' series carry the same vm label. */
struct st_meas_vm {
	uint8_t v6;
	uint8_t len[ST_MEAS__SIDES];
	uint8_t addr[ST_MEAS__SIDES][16];   /* network byte order (v4: first 4) */
};

struct st_rule_conf;

struct st_meas_conf {
	uint16_t nb_workers;
	/* Application classes: their classifier rules (the policy's own
	 * expansion of `app: <class>`, policy/expand.ts), class by class, the
	 * rule's session field being the class index; first class listed wins.
	 * Read by the install only (the pointer is not kept). */
	uint16_t nb_classes;
	uint32_t nb_class_rules;
	const struct st_rule_conf *class_rules;
	uint32_t flows;                 /* flow table entries per worker, power of 2 */
	uint64_t flow_idle_ns;          /* a flow idle this long is expired */
	uint8_t shadow_tx;              /* measure copies as they leave (measure_stage.c) */
	uint16_t nb_vms;
	struct st_meas_vm vm[ST_MEAS_MAX_VMS];
	/* detectors (production side only) */
	uint8_t det_on[ST_DET__COUNT];
	uint8_t arp_new_station;        /* report first sightings (info) */
	uint32_t garp_per_s;            /* gratuitous ARPs per second for a storm */
	uint32_t scan_ports;            /* distinct ports on one host from one source */
	uint32_t scan_hosts;            /* distinct hosts on one port from one source */
	uint64_t scan_window_ns;
	uint32_t syn_min;               /* SYNs to one destination in a window */
	uint32_t syn_ratio_pct;         /* flood when SYN/ACKs < this % of SYNs */
	uint64_t syn_window_ns;
	uint64_t repeat_ns;             /* the same finding is re-reported after this */
	uint16_t nb_dhcp_allow, nb_dhcp6_allow, nb_ra_allow;
	uint8_t dhcp_allow[ST_MEAS_MAX_ALLOW][16];    /* v4 in the first 4 bytes */
	uint8_t dhcp6_allow[ST_MEAS_MAX_ALLOW][16];
	uint8_t ra_allow[ST_MEAS_MAX_ALLOW][16];
};

struct st_meas_hist {
	uint64_t bucket[ST_MEAS_HIST_BUCKETS + 1];   /* last: above every bound */
	uint64_t count;
	uint64_t sum_ns;
};

/* Per side, per VM (index nb_vms: "other"); summed over workers at scrape. */
struct st_meas_vm_ctr {
	uint64_t packets[ST_MPROTO__COUNT];
	uint64_t bytes[ST_MPROTO__COUNT];
	uint64_t tcp[ST_MTCP__COUNT];
	struct st_meas_hist rtt[ST_RTT__COUNT];
	uint64_t cls_packets[ST_MEAS_MAX_CLASSES + 1];   /* index nb_classes: "other" */
	uint64_t cls_bytes[ST_MEAS_MAX_CLASSES + 1];
};

struct st_meas_event {
	uint64_t seq;                  /* worker's event number, from 1; 0 while written */
	uint64_t ts_ns;                /* the packet that raised it (packet time) */
	uint64_t window_ns;
	uint32_t count, threshold;
	uint32_t extra;                /* SYN flood: SYN/ACKs; ARP: the kind */
	uint16_t port;                 /* scans: the port (host scan); flood: the port */
	uint8_t detector, severity, v6, nb_values;
	uint8_t addr[2][16];           /* subject (source/IP/server), object (target) */
	uint8_t mac[2][6];             /* ARP: new and old MAC; DHCP/RA: source MAC */
	uint16_t values[16];           /* scans: the first distinct ports seen */
};

/* Totals for one scrape; each worker's counters summed. */
struct st_meas_snapshot {
	uint16_t nb_vms, nb_classes;
	struct st_meas_vm_ctr side[ST_MEAS__SIDES][ST_MEAS_MAX_VMS + 1];
	uint64_t flows_active, flows_created, flows_evicted, flows_expired;
	uint64_t flows_capacity;
	uint64_t ts_rx, ts_tsc;        /* packets timed by rx timestamp / by TSC */
	uint64_t malformed;
	uint64_t events, events_lost;
};

/* control side (measure_ctl.c, main thread) */
int st_measure_install(const struct st_meas_conf *conf, struct st_error *err);
void st_measure_remove(void);
int st_measure_installed(void);
/* Called by port setup: ask the port for rx timestamps when measuring. */
uint64_t st_measure_rx_offloads(uint16_t port_id, const char *driver, uint64_t capa);
int st_measure_snapshot(struct st_meas_snapshot *s);
/* Copy events of worker w with seq > after into out (at most max); returns
 * how many; *lost gets how many were overwritten before they were read,
 * *next the sequence number to pass as after next time. */
uint32_t st_measure_events(uint16_t w, uint64_t after, struct st_meas_event *out,
			   uint32_t max, uint64_t *lost, uint64_t *next);

/* fast path (measure_node.c): the rx step calls it; NULL when off. Copies
 * on their way out (measure_stage.c) pass ST_MEAS_NO_PORT: timed by the TSC
 * as they are sent, not by the stamp the original arrived with. */
#define ST_MEAS_NO_PORT 0xffff
struct st_measure;
extern struct st_measure *st_measure_cur;
void st_measure_burst(struct st_measure *ms, uint16_t worker, uint8_t side,
		      uint16_t port_id, struct rte_mbuf *const *pkts, uint16_t n);

/* the shadow stage list's measure stage (measure_stage.c, stage.h) */
struct st_lcore;
struct st_pending;
struct st_policy;
int st_measure_needed(const struct st_policy *pol);
uint32_t st_measure_stage(struct st_lcore *lc, const struct st_policy *pol,
			  struct st_pending *p, uint32_t n);
uint16_t st_measure_stage_short(struct st_lcore *lc, const struct st_policy *pol,
				struct rte_mbuf **m, uint16_t n);
/* the delay line's released copies, from the worker's deadline step */
void st_measure_released(struct st_lcore *lc, struct rte_mbuf *const *m, uint16_t n);

static inline struct st_measure *
st_measure_get(void)
{
	return __atomic_load_n(&st_measure_cur, __ATOMIC_ACQUIRE);
}

#ifdef __cplusplus
}
#endif

#endif /* ST_MEASURE_H */
