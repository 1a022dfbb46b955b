/* SPDX-License-Identifier: BSD-3-Clause
 * net_shadowsim: an emulated SmartNIC as a DPDK virtual PMD.
 *
 * The PMD answers rte_flow exactly as the hardware profile it is loaded with
 * allows (profile=FILE, made from hw-profiles/<family>.json by
 * scripts/sim-profile.ts) and executes the rules it accepted on its receive
 * path, so shadowtap's planner and programming code run against the real
 * ethdev and rte_flow APIs with no NIC present. See docs/emulated-nic.md.
 *
 * Split the VPP way: types here; control-time code in sim_ethdev.c (device,
 * queues, bursts), sim_devargs.c (devargs, inputs and outputs), sim_profile.c
 * (profile file), sim_flow.c (rte_flow ops, attributes and pattern),
 * sim_flow_actions.c (actions into st_sim_op instructions; sim_flow.h holds
 * what the two share) and sim_encap.c (encapsulation templates); fast-path
 * code in sim_node.c (parse, match, execute rules, deliver), sim_rewrite.c
 * (rewrites, checksums, marks, RSS; sim_node.h holds what the two share) and
 * sim_pcap.c (capture I/O).
 */
#ifndef ST_SIM_H
#define ST_SIM_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/queue.h>

#include <rte_ethdev.h>
#include <rte_flow.h>
#include <rte_mbuf.h>
#include <rte_ring.h>
#include <rte_rwlock.h>
#include <rte_spinlock.h>

#define ST_SIM_DRIVER "net_shadowsim"
#define ST_SIM_MAX_QUEUES 16
#define ST_SIM_MAX_ITEMS 16
#define ST_SIM_MAX_OPS 32
#define ST_SIM_MAX_SUB_OPS 8
#define ST_SIM_MAX_JUMPS 8
#define ST_SIM_ENCAP_MAX 128 /* fits RTE_PKTMBUF_HEADROOM */
#define ST_SIM_NAME_BITS 512 /* rte_flow item/action enum values we can name */
#define ST_SIM_DEFAULT_CAPACITY 65536u
#define ST_SIM_UNLIMITED UINT32_MAX

/* ---- profile ------------------------------------------------------------ */

enum st_sim_domain { ST_SIM_INGRESS, ST_SIM_EGRESS, ST_SIM_TRANSFER, ST_SIM_NDOMAINS };

/* Which SAMPLE sub-action list applies: per domain, plus transfer at ratio > 1. */
enum st_sim_sample_case {
	ST_SIM_SC_INGRESS,
	ST_SIM_SC_EGRESS,
	ST_SIM_SC_TRANSFER,
	ST_SIM_SC_TRANSFER_RATIO_ABOVE_1,
	ST_SIM_NSC
};

/* Which packets a header rewrite changes, relative to SAMPLE in the same rule. */
enum st_sim_targets {
	ST_SIM_TGT_UNSET,
	ST_SIM_TGT_BOTH,      /* original-and-copy */
	ST_SIM_TGT_ORIGINAL,  /* original-only */
	ST_SIM_TGT_COPY,      /* copy-only */
};

enum st_sim_mwm { ST_SIM_MWM_NA, ST_SIM_MWM_SPLIT, ST_SIM_MWM_UNSUPPORTED };

struct st_sim_bits {
	uint64_t w[ST_SIM_NAME_BITS / 64];
};

static inline bool st_sim_bit(const struct st_sim_bits *b, int i)
{
	return i >= 0 && i < ST_SIM_NAME_BITS && (b->w[i / 64] >> (i % 64)) & 1;
}

static inline void st_sim_bit_set(struct st_sim_bits *b, int i)
{
	if (i >= 0 && i < ST_SIM_NAME_BITS)
		b->w[i / 64] |= 1ull << (i % 64);
}

/* How the emulated driver reports one kind of refusal. */
struct st_sim_errspec {
	bool set;
	int err;                        /* positive errno */
	enum rte_flow_error_type type;  /* used where the refusal has no natural type */
	char msg[160];
};

struct st_sim_profile {
	char family[64];
	char path[256];
	bool flow_api;                  /* false: flow_ops_get says ENOSYS */
	uint32_t capacity;              /* ST_SIM_UNLIMITED: no documented figure */
	bool capacity_documented;
	struct st_sim_bits items;
	bool domain_on[ST_SIM_NDOMAINS];
	struct st_sim_bits actions[ST_SIM_NDOMAINS];
	bool sample_domain[ST_SIM_NDOMAINS];
	bool sample_mirror;             /* ratio 1 */
	bool sample_fractional;         /* ratio > 1 */
	bool sample_sub_known[ST_SIM_NSC];
	struct st_sim_bits sample_sub[ST_SIM_NSC];
	enum st_sim_mwm mwm;
	enum st_sim_targets before_sample, after_sample;
	bool group0_only, priority0_only, sample_indirect_only;
	bool rss_error_unset;           /* net_tap quirk (honoured with quirk_error_unset=1) */
	struct st_sim_errspec create_fails;
	struct st_sim_errspec err_item, err_action, err_attr, err_full;
};

int st_sim_profile_load(const char *path, struct st_sim_profile *p, char *why, size_t why_len);
void st_sim_profile_default(struct st_sim_profile *p);
/* rte_flow's own names ("ipv4", "set_ipv4_dst"), or NULL. */
const char *st_sim_item_name(int type);
const char *st_sim_action_name(int type);

/* ---- compiled rules ----------------------------------------------------- */

struct st_sim_counter {
	uint64_t hits;
	uint64_t bytes;
};

struct st_sim_match {
	enum rte_flow_item_type type;
	uint8_t len;                    /* header bytes compared */
	uint8_t spec[40];
	uint8_t mask[40];
	bool want_vlan, has_vlan;       /* eth.has_vlan when masked */
	uint32_t value;                 /* MARK id, PORT_ID/REPRESENTED_PORT port */
	uint32_t value_mask;
};

/* Packet fields a rewrite can write. */
enum st_sim_field {
	ST_SIM_F_NONE,
	ST_SIM_F_MAC_DST,
	ST_SIM_F_MAC_SRC,
	ST_SIM_F_IPV4_SRC,
	ST_SIM_F_IPV4_DST,
	ST_SIM_F_IPV6_SRC,
	ST_SIM_F_IPV6_DST,
	ST_SIM_F_TP_SRC,
	ST_SIM_F_TP_DST,
	ST_SIM_F_IPV4_TTL,
	ST_SIM_F_IPV6_HOPLIMIT,
};

enum st_sim_op_kind {
	ST_SIM_OP_COUNT,
	ST_SIM_OP_DROP,
	ST_SIM_OP_PASSTHRU,
	ST_SIM_OP_MARK,
	ST_SIM_OP_FLAG,
	ST_SIM_OP_QUEUE,
	ST_SIM_OP_RSS,
	ST_SIM_OP_JUMP,
	ST_SIM_OP_PORT,
	ST_SIM_OP_SAMPLE,
	ST_SIM_OP_SET,          /* write a whole field (set_* and modify_field) */
	ST_SIM_OP_COPY_FIELD,   /* modify_field from another field */
	ST_SIM_OP_DEC_TTL,
	ST_SIM_OP_SET_DSCP,
	ST_SIM_OP_PUSH_VLAN,
	ST_SIM_OP_SET_VLAN_VID,
	ST_SIM_OP_SET_VLAN_PCP,
	ST_SIM_OP_POP_VLAN,
	ST_SIM_OP_ENCAP,
};

struct st_sim_op {
	enum st_sim_op_kind kind;
	bool modifies;          /* a header rewrite (subject to the SAMPLE split) */
	union {
		uint32_t mark;
		uint16_t queue;
		uint32_t group;
		uint16_t port;
		uint8_t dscp;
		uint16_t vid;
		uint8_t pcp;
		uint16_t tpid;
		struct {
			enum st_sim_field field;
			enum st_sim_field from;
			uint8_t value[16];
		} set;
		struct {
			uint16_t n;
			uint16_t queue[ST_SIM_MAX_QUEUES];
			uint64_t types;
			uint8_t key[40];
		} rss;
		struct {
			uint32_t ratio;
			uint16_t nsub;
			struct st_sim_op *sub;  /* the copy's actions */
			struct st_sim_counter *counter;
			uint64_t seen;          /* packets that reached the SAMPLE */
		} sample;
		struct {
			uint16_t len;
			uint16_t l3_off;        /* 0: no IP header to fix up */
			uint8_t l3;             /* 4 or 6 */
			uint16_t l4_off;        /* 0: no UDP header to fix up */
			uint8_t data[ST_SIM_ENCAP_MAX];
		} encap;
	} u;
	struct st_sim_counter *counter; /* COUNT */
};

struct st_sim_rule;
TAILQ_HEAD(st_sim_rule_list, st_sim_rule);

/* struct rte_flow is opaque to applications: ours is the compiled rule. */
struct st_sim_rule {
	TAILQ_ENTRY(st_sim_rule) next;
	uint64_t id;                    /* creation order */
	enum st_sim_domain domain;
	uint32_t group;
	uint32_t priority;
	uint16_t nmatch;
	struct st_sim_match match[ST_SIM_MAX_ITEMS];
	uint16_t nops;
	struct st_sim_op ops[ST_SIM_MAX_OPS];
	struct st_sim_op sub_ops[ST_SIM_MAX_SUB_OPS];
	struct st_sim_counter counter;          /* COUNT in the action list */
	struct st_sim_counter sample_counter;   /* COUNT in the SAMPLE list */
	bool has_count, has_sample_count;
	bool has_sample;
};

/* ---- device ------------------------------------------------------------- */

struct st_sim_capture; /* sim_pcap.c */
struct st_sim_batch;

struct st_sim_rxq {
	struct st_sim_dev *dev;
	uint16_t qid;
	struct rte_mempool *pool;
	struct rte_ring *ring;          /* packets classified to this queue */
	uint64_t packets, bytes, missed;
};

struct st_sim_txq {
	struct st_sim_dev *dev;
	uint16_t qid;
	uint64_t packets, bytes, errors;
};

struct st_sim_xstats {
	uint64_t rule_drops;        /* dropped by a DROP rule */
	uint64_t sample_copies;     /* copies made by SAMPLE */
	uint64_t port_tx;           /* packets sent to another port by PORT_ID/REPRESENTED_PORT */
	uint64_t port_tx_failed;    /* ... that the destination refused */
	uint64_t queue_full;        /* classified to a full rx queue */
	uint64_t encap_failed;      /* no room to push a header */
	uint64_t input_packets;     /* read from rx_pcap / rx_ring */
};

struct st_sim_dev {
	struct rte_eth_dev *eth;
	uint16_t port_id;
	char name[RTE_DEV_NAME_MAX_LEN];
	struct st_sim_profile profile;
	uint32_t capacity;
	uint32_t reserved;              /* entries held by others (devarg reserved=): invisible to the application */
	bool quirk_error_unset;
	int32_t switch_domain;          /* devarg switch_domain=: the E-Switch this port is on; -1: none */
	struct st_sim_bits refused;     /* devarg refuse=: actions the "firmware" lacks whatever the profile says */

	/* devargs */
	char rx_pcap[512], tx_pcap[512], rx_ring[RTE_RING_NAMESIZE], tx_ring[RTE_RING_NAMESIZE];
	bool infinite_rx;

	/* I/O */
	struct st_sim_capture *in;      /* rx_pcap, loaded at start */
	FILE *out;                      /* tx_pcap */
	struct rte_ring *in_ring, *out_ring;
	rte_spinlock_t pump_lock;       /* one lcore reads the input at a time */
	rte_spinlock_t out_lock;        /* tx queues share one capture file */
	struct st_sim_batch *pump_batch;

	/* rules */
	rte_rwlock_t rules_lock;
	struct st_sim_rule_list rules;
	uint32_t nrules;
	uint32_t nrules_domain[ST_SIM_NDOMAINS]; /* a domain with no rule costs nothing */
	uint64_t next_rule_id;

	bool rss_default;               /* rxmode RSS: unmatched packets spread over queues */
	struct st_sim_rxq rxq[ST_SIM_MAX_QUEUES];
	struct st_sim_txq txq[ST_SIM_MAX_QUEUES];
	struct st_sim_xstats xs;
	struct rte_ether_addr mac;
	bool started;
};

extern const struct rte_flow_ops st_sim_flow_ops;
void st_sim_flow_flush_all(struct st_sim_dev *sd);

/* The PMD's log type (registered in sim_ethdev.c): a vdev probe returns only
 * an errno, so every refusal says why here. */
extern int st_sim_logtype;
#define SIM_LOG(level, fmt, ...) \
	rte_log(RTE_LOG_##level, st_sim_logtype, ST_SIM_DRIVER ": " fmt "\n", ##__VA_ARGS__)

/* ---- devargs and I/O (sim_devargs.c) ------------------------------------- */

/* What the devargs say beyond the fields they set in st_sim_dev. */
struct st_sim_config {
	char profile[512];
	uint32_t capacity;
	bool capacity_set;
};

/* Parses the vdev's devargs into sd and cfg; logs and returns -EINVAL on a bad one. */
int st_sim_parse_devargs(struct st_sim_dev *sd, const char *args, struct st_sim_config *cfg);
/* Opens the capture files and rings the devargs named. */
int st_sim_io_open(struct st_sim_dev *sd, int socket);
void st_sim_io_release(struct st_sim_dev *sd);

/* ---- fast path (sim_node.c) ---------------------------------------------- */

/* Where a packet goes once the rules have run. */
enum st_sim_dest_kind { ST_SIM_TO_QUEUE, ST_SIM_TO_PORT, ST_SIM_TO_WIRE, ST_SIM_TO_DROP };

struct st_sim_out {
	struct rte_mbuf *m;
	enum st_sim_dest_kind kind;
	uint16_t arg;                   /* queue or port */
};

#define ST_SIM_BATCH 512
struct st_sim_batch {
	unsigned int n;
	struct st_sim_out o[ST_SIM_BATCH];
};

/* Receive side: a packet from the wire (input), through transfer then ingress rules. */
void st_sim_from_wire(struct st_sim_dev *sd, struct rte_mbuf *m, struct rte_mempool *pool, struct st_sim_batch *b);
/* Transmit side: a packet the application sends, through egress rules. */
void st_sim_from_host(struct st_sim_dev *sd, struct rte_mbuf *m, struct rte_mempool *pool, struct st_sim_batch *b);
/* Delivers a batch after the rules lock is released. */
void st_sim_deliver(struct st_sim_dev *sd, struct st_sim_batch *b);
/* Writes packets to tx_pcap / tx_ring (or frees them); returns how many were taken. */
uint16_t st_sim_output(struct st_sim_dev *sd, struct rte_mbuf **pkts, uint16_t n);

/* Rewrite primitives shared by the executor and the rule compiler. */
int st_sim_encap_template(const struct rte_flow_item *def, uint8_t *buf, uint16_t *len,
			  uint16_t *l3_off, uint8_t *l3, uint16_t *l4_off, const char **why);
void st_sim_encap_locate(const uint8_t *buf, uint16_t len, uint16_t *l3_off, uint8_t *l3, uint16_t *l4_off);

/* ---- captures (sim_pcap.c) ----------------------------------------------- */

struct st_sim_capture *st_sim_capture_load(const char *path, char *why, size_t why_len);
void st_sim_capture_free(struct st_sim_capture *c);
/* Next frame or NULL at the end (with infinite, wraps around; NULL only when empty). */
const uint8_t *st_sim_capture_next(struct st_sim_capture *c, bool infinite, uint32_t *len);
/* Steps back over the frame st_sim_capture_next() just returned. */
void st_sim_capture_unread(struct st_sim_capture *c);
FILE *st_sim_capture_create(const char *path, char *why, size_t why_len);
int st_sim_capture_write(FILE *f, const struct rte_mbuf *m);

#endif /* ST_SIM_H */
