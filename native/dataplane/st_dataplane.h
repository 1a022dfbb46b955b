/* SPDX-License-Identifier: BSD-3-Clause
 * shadowtap data plane: the public C API used by the node-addon-api binding.
 *
 * The binding copies a complete, flat, validated start plan (built in TypeScript)
 * into these structs in one function per entry point. Every entry point
 * returns 0 on success or a negative errno-style code, and fills
 * struct st_error with a code name, the offending field and a message.
 * Nothing here aborts the process.
 */
#ifndef ST_DATAPLANE_H
#define ST_DATAPLANE_H

#include <stdint.h>
#include <stddef.h>

#include "leak.h"

#ifdef __cplusplus
extern "C" {
#endif

#define ST_MAX_PORTS       16
#define ST_MAX_WORKERS     16
#define ST_MAX_MAPS        256
#define ST_MAX_RIDS        256   /* router-id map entries (policy.h) */
#define ST_NAME_LEN        64
#define ST_DEV_LEN         512
#define ST_ERR_MSG_LEN     512

/* ---- errors ------------------------------------------------------------ */

struct st_error {
	/* Catalogue code, e.g. "ST_ERR_EAL_INIT", "ST_ERR_PORT_NOT_FOUND". */
	char code[48];
	/* Plan field that caused it, e.g. "ports[1].device"; empty if none. */
	char field[96];
	char message[ST_ERR_MSG_LEN];
	/* rte_errno or errno value behind it, 0 if none. */
	int errnum;
};

/* ---- start plan -------------------------------------------------------------- */

enum st_mode {
	ST_MODE_INLINE = 0, /* production rx is forwarded to its egress port */
	ST_MODE_TAP = 1,    /* production rx is itself a copy: nothing forwarded */
};

enum st_port_role {
	ST_ROLE_PRODUCTION = 0, /* polled; mirrored; forwarded to egress (inline) */
	ST_ROLE_EGRESS = 1,     /* production egress only (tx); also polled */
	ST_ROLE_SHADOW = 2,     /* shadow side: tx of copies; rx counted, dropped */
};

/* What happens to a packet whose source or destination is outside every map. */
enum st_unmapped {
	ST_UNMAPPED_DROP = 0,   /* copy not sent; counted as dropped{reason=unmapped} */
	ST_UNMAPPED_MIRROR = 1, /* copy sent; covered addresses translated, others kept */
};

enum st_idle {
	ST_IDLE_BUSY = 0,     /* poll continuously (production) */
	ST_IDLE_ADAPTIVE = 1, /* sleep briefly after many empty polls (shared hosts) */
};

struct st_port_conf {
	char name[ST_NAME_LEN];     /* operator's name, e.g. "prod-in" */
	char device[ST_DEV_LEN];    /* ethdev name to look up: "net_pcap0", "0000:3b:00.0" */
	uint8_t role;               /* enum st_port_role */
	int16_t egress;             /* index into start plan ports, -1 for none */
	uint16_t rx_desc;           /* 0 = default (1024) */
	uint16_t tx_desc;           /* 0 = default (1024) */
	uint8_t promiscuous;        /* 1 = enable promiscuous mode */
	/* Pace this port's rx to at most rx_pps packets/s (0 = unpaced). Meant
	 * for replay sources (net_pcap infinite_rx) in demos and rehearsals; on
	 * a real NIC it would leave packets in the ring (counted as imissed). */
	uint32_t rx_pps;            /* 0..ST_MAX_RX_PPS */
};

#define ST_MAX_RX_PPS      100000000

struct st_map4 {
	uint32_t from;  /* host byte order network prefix */
	uint32_t to;    /* host byte order */
	uint8_t len;    /* prefix length 0..32 */
};

struct st_map6 {
	uint8_t from[16];
	uint8_t to[16];
	uint8_t len;    /* 0..128 */
};

#define ST_PATH_LEN          256
#define ST_QUARANTINE_MAX    64

/* One quarantined packet signature (quarantine.h): length, CRC32-C of the
 * first 128 bytes, and how long from the start it lasts. */
struct st_quarantine_conf {
	uint32_t len;
	uint32_t crc;
	uint64_t ttl_ms;
};

struct st_start_plan {
	uint8_t mode;                      /* enum st_mode */
	uint8_t unmapped;                  /* enum st_unmapped */
	uint8_t idle;                      /* enum st_idle */
	uint16_t burst;                    /* rx burst size, 1..64; 0 = 32 */
	uint16_t nb_workers;               /* 1..ST_MAX_WORKERS */
	uint16_t worker_lcores[ST_MAX_WORKERS];
	uint16_t nb_ports;
	struct st_port_conf ports[ST_MAX_PORTS];
	/* shadow egress: copies go to every listed port (same mbuf, refcnt) */
	uint16_t nb_shadow_ports;
	int16_t shadow_ports[ST_MAX_PORTS];
	uint8_t shadow_src_mac[6];
	uint8_t shadow_dst_mac[6];
	uint16_t nb_map4;
	struct st_map4 map4[ST_MAX_MAPS];
	uint16_t nb_map6;
	struct st_map6 map6[ST_MAX_MAPS];
	uint32_t prod_pool_mbufs;          /* 0 = default */
	uint32_t shadow_pool_mbufs;        /* 0 = default */
	/* reliability (docs/reliability.md) */
	char flight_path[ST_PATH_LEN];     /* the flight recorder's file; "" = none */
	uint16_t nb_quarantine;
	struct st_quarantine_conf quarantine[ST_QUARANTINE_MAX];
	uint8_t forward_only;              /* start with no shadow work */
};

/* ---- counters ---------------------------------------------------------- */

/* Reasons a shadow copy was not sent. Keep in step with ST_DROP_NAMES. */
enum st_drop_reason {
	ST_DROP_UNMAPPED = 0,   /* an address outside every map (rule: drop) */
	ST_DROP_NOT_IP,         /* not IPv4/IPv6 (ARP etc. until control-plane mirroring) */
	ST_DROP_MALFORMED,      /* truncated/invalid headers: production still forwarded */
	ST_DROP_NOMEM,          /* shadow mempool exhausted */
	ST_DROP_TX_FULL,        /* shadow tx queue full (backpressure) */
	ST_DROP_NIC_COPY,       /* a NIC-made copy no installed MARK vouches for */
	ST_DROP_LEAK,           /* a payload carrying addresses that could not be translated,
				 * or whose leak policy is drop (leak.h) */
	ST_DROP__COUNT
};

#define ST_DROP_NAMES { "unmapped", "not_ip", "malformed", "nomem", "tx_full", "nic_copy", "leak" }

/* Kinds of malformed frames, counted separately (a copy is dropped for
 * truncated/invalid ones; fragments and options are mirrored). */
enum st_anomaly {
	ST_ANOM_TRUNC_L2 = 0,   /* shorter than an Ethernet (+VLAN) header */
	ST_ANOM_TRUNC_L3,       /* IPv4/IPv6 header truncated or length fields lie */
	ST_ANOM_BAD_IHL,        /* IPv4 IHL < 5 or version mismatch */
	ST_ANOM_TRUNC_L4,       /* TCP/UDP/ICMP header truncated */
	ST_ANOM_IP_OPTIONS,     /* IPv4 with options (mirrored) */
	ST_ANOM_FRAGMENT,       /* IP fragment (mirrored; L4 fixed only in first) */
	ST_ANOM_VLAN,           /* VLAN-tagged (mirrored, tags kept) */
	ST_ANOM_CP_MALFORMED,   /* control-plane payload (ARP, DHCPv4, IPv6 ND) malformed:
				 * odd ARP sizes, truncated DHCP, bad option lengths;
				 * the copy is dropped as malformed */
	ST_ANOM__COUNT
};

#define ST_ANOM_NAMES { "truncated_l2", "truncated_l3", "bad_ihl", "truncated_l4", \
	"ipv4_options", "fragment", "vlan", "control_plane" }

/* Received mbufs whose metadata disagree with their own segment chain (a
 * driver or firmware bug, or a record the driver cut: DPDK 22.11's net_pcap
 * keeps pkt_len at the record's length for records of 64 KiB and more while
 * its segments hold far fewer bytes). Checked before any byte is read; such
 * a packet is never offered to the policy (no shadow copy). Keep in step
 * with ST_RXBAD_NAMES. */
enum st_rx_invalid {
	ST_RXBAD_PKT_LEN = 0,   /* pkt_len is not what the segments hold: set to
				 * what they hold, forwarded */
	ST_RXBAD_NB_SEGS,       /* nb_segs is not the chain's length: set to it,
				 * forwarded */
	ST_RXBAD_SEG_OVERRUN,   /* a segment's data runs past its buffer: not
				 * forwarded (the bytes do not exist), freed */
	ST_RXBAD_CHAIN,         /* the chain does not end within
				 * RTE_MBUF_MAX_NB_SEGS segments (a loop): neither
				 * sent nor freed (freeing it would corrupt the pool) */
	ST_RXBAD__COUNT
};

#define ST_RXBAD_NAMES { "pkt_len", "nb_segs", "seg_overrun", "chain" }

struct st_port_stats {
	/* software counters, summed over workers */
	uint64_t rx_packets, rx_bytes;
	uint64_t tx_packets, tx_bytes;      /* production forward or shadow copies */
	uint64_t tx_dropped;                /* tx queue full: freed */
	/* ethdev counters (rte_eth_stats_get) */
	uint64_t hw_ipackets, hw_opackets, hw_ibytes, hw_obytes;
	uint64_t hw_imissed, hw_ierrors, hw_oerrors, hw_rx_nombuf;
	/* a capture port's (net_stcap, capture.h); all 0 on other ports */
	uint8_t is_capture;
	uint64_t cap_packets, cap_bytes, cap_rotations, cap_files_removed;
	uint64_t cap_ring_full, cap_nomem, cap_write_errors;
};

struct st_worker_stats {
	uint16_t lcore;
	uint64_t loops, busy_loops;
	uint64_t rx_packets;
	uint64_t mirror_packets, mirror_bytes;
};

struct st_stats {
	uint16_t nb_ports;
	struct st_port_stats ports[ST_MAX_PORTS];
	uint16_t nb_workers;
	struct st_worker_stats workers[ST_MAX_WORKERS];
	uint64_t mirror_packets, mirror_bytes;     /* copies handed to shadow tx */
	uint64_t translated_packets;               /* copies with >=1 address rewritten */
	uint64_t dropped[ST_DROP__COUNT];
	uint64_t anomalies[ST_ANOM__COUNT];
	/* copies whose payload was not translated (leak.h): [kind][reason][0 drop, 1 pass] */
	uint64_t leak[ST_LEAK__COUNT][ST_LEAK_R__COUNT][2];
	uint64_t bgp_flows_evicted;                /* BGP flow states evicted for new flows (rewrite_bgp.c) */
	uint64_t dns_tcp_flows_evicted;            /* DNS/LLMNR-over-TCP flow states evicted (their own table) */
	uint64_t rx_invalid[ST_RXBAD__COUNT];      /* mbufs failing the rx check, by reason */
	uint64_t shadow_rx_packets;                /* received on shadow ports, dropped */
	uint64_t nic_copies;                       /* NIC-made copies finished in software */
	uint64_t nic_decided;                      /* production packets the NIC decided and copied */
	uint64_t quarantined;                      /* production packets whose signature is quarantined: no shadow work */
	uint8_t forward_only;                      /* no shadow work at all (a crash loop) */
};

/* ---- entry points (called from the process's main thread = EAL main lcore) */

/* rte_eal_init with argv built by the supervisor. Once per process. */
int st_dp_eal_init(int argc, char **argv, struct st_error *err);

/* Number of ethdev ports and their names/drivers, for diagnostics. */
struct st_port_info {
	uint16_t port_id;
	char name[ST_DEV_LEN];
	char driver[ST_NAME_LEN];
	uint16_t max_rx_queues, max_tx_queues;
	uint8_t mac[6];
	int32_t switch_domain; /* rte_eth_dev_info.switch_info.domain_id; -1: on no E-Switch */
};
int st_dp_port_list(struct st_port_info *out, uint16_t max, uint16_t *nb_out);

/* Check a start plan's fields one by one (ranges, counts, port indexes) without
 * touching anything: the binding calls it before it queues a start.
 * st_dp_setup calls it again, then checks what no single field shows
 * (a device used twice, a production port forwarding to a shadow port). */
int st_start_plan_check(const struct st_start_plan *sp, struct st_error *err);

/* Resolve, configure and start ports and mempools and compile tables.
 * May be slow (real NICs): safe to call from a non-EAL thread. On failure
 * everything it started is stopped again. */
int st_dp_setup(const struct st_start_plan *sp, struct st_error *err);

/* A standby (docs/reliability.md): after EAL init without devices, make the
 * start plan's mempools ahead (setup takes them), then hot-plug the devices the
 * dead process held (rte_dev_probe) right before setup. */
int st_dp_prepare(const struct st_start_plan *sp, struct st_error *err);
int st_dp_probe_device(const char *devargs, struct st_error *err);

/* No shadow work at all (on), or back to normal; takes effect at each
 * worker's next round. */
void st_dp_forward_only(int on);

/* Launch the worker lcores (main thread only). */
int st_dp_launch(struct st_error *err);

/* Stop workers, stop and close ports, free pools. Idempotent. */
int st_dp_stop(struct st_error *err);

/* rte_eal_cleanup. */
int st_dp_eal_cleanup(struct st_error *err);

/* Consistent-enough snapshot: per-lcore counters summed (64-bit loads). */
int st_dp_stats(struct st_stats *out);

const char *st_dp_version(void);

#ifdef __cplusplus
}
#endif

#endif /* ST_DATAPLANE_H */
