/* SPDX-License-Identifier: BSD-3-Clause
 * Impair stage: failure injection on shadow copies (issue 13).
 *
 * Three parts, each usable on its own:
 * - the fault table (impair_ctl.c): an immutable, flat struct built from the
 *   plain-data description below (struct st_fault_table_conf, what
 *   src/faults/compile.ts produces). Built and checked on the control thread;
 *   a worker only reads it. It carries no per-packet state, so it is swapped
 *   with RCU on its own (st_fault_table_swap), never with the policy.
 * - the per-worker state (struct st_impair_worker): the state of every
 *   fault's random processes, its counters, and its delay line
 *   (delay_line.h). Keyed by fault slot, so it survives table swaps.
 * - the per-packet work (impair_node.c): st_impair_process on a burst of
 *   copies (after rewrite and encapsulation, before shadow tx) and
 *   st_impair_release from the worker's deadline step.
 *
 * Matching: each fault has one match, evaluated on fields the worker has
 * already parsed (struct st_imp_meta), never on the copy's bytes (after
 * encapsulation they are the outer headers). All given fields must match;
 * within a prefix list any prefix matches; an empty list or a full range is
 * a wildcard. The FIRST fault in table order whose match holds handles the
 * packet; later faults do not see it. A fault carries all of netem's
 * impairments at once (like one netem qdisc), so combining impairments on
 * the same traffic is one fault with several actions.
 *
 * Determinism: every random decision is a pure function of (table seed,
 * fault id, fault epoch, worker stream, index of the packet among those the
 * fault matched on this worker, decision kind): a counter-based generator
 * (impair_rng.h), no generator state. Stateful models (Gilbert-Elliott, the
 * 4-state Markov chain, correlated Bernoulli, the AR(1) delay process) advance
 * once per matched packet. Hence the same input, arrival times and seed give
 * the same decisions and deadlines whatever the burst boundaries.
 */
#ifndef ST_IMPAIR_H
#define ST_IMPAIR_H

#include <stdint.h>
struct rte_mbuf;  /* no DPDK header: the binding includes this file */
#include "st_dataplane.h"

#ifdef __cplusplus
extern "C" {
#endif

#define ST_IMP_MAX_FAULTS    64     /* slots; also the table's maximum size */
#define ST_IMP_MAX_PREFIXES  8      /* per list (src, dst, hosts) */
#define ST_IMP_MAX_TABLE     65536  /* custom distribution table entries */
#define ST_IMP_MAX_BITS      64     /* bit flips per corrupted packet */
#define ST_IMP_HIST          48     /* log2 buckets of nanoseconds */
#define ST_IMP_ANY16         0xffff

/* ---- the plain-data description ---------------------------------------- */

enum st_fault_kind {
	ST_FAULT_IMPAIR = 0,     /* the netem actions below */
	ST_FAULT_BLACKHOLE = 1,  /* drop everything matched (a VM or prefix failure) */
	ST_FAULT_LINK_DOWN = 2,  /* drop everything matched (a shadow port or link) */
};

enum st_loss_model {
	ST_LOSS_NONE = 0,
	ST_LOSS_RANDOM = 1,      /* p[0] = loss probability; loss_corr = lag-1 correlation */
	ST_LOSS_GEMODEL = 2,     /* p[0..3] = p, r, 1-h, 1-k (netem "loss gemodel") */
	ST_LOSS_STATE = 3,       /* p[0..4] = p13, p31, p32, p23, p14 (netem "loss state") */
};

enum st_delay_dist {
	ST_DIST_UNIFORM = 0,     /* netem's default: delay +- jitter, uniformly */
	ST_DIST_NORMAL = 1,
	ST_DIST_PARETO = 2,
	ST_DIST_PARETONORMAL = 3,
	ST_DIST_CUSTOM = 4,      /* table = standardised inverse CDF (mean 0, sd 1) */
};

enum st_rate_mode {
	ST_RATE_NONE = 0,
	ST_RATE_SHAPE = 1,       /* netem "rate": queued and paced, never dropped for rate */
	ST_RATE_POLICE = 2,      /* token bucket (rte_meter srTCM): above the rate, dropped */
};

enum st_imp_dir {
	ST_IMP_DIR_ANY = 0,
	ST_IMP_DIR_RX = 1,       /* the original was received on its port */
	ST_IMP_DIR_TX = 2,       /* the original was forwarded out of its port */
};

struct st_imp_prefix {
	uint8_t addr[16];        /* IPv4 as IPv4-mapped IPv6 (::ffff:a.b.c.d) */
	uint8_t len;             /* 0..128; IPv4 prefixes are len + 96 */
	uint8_t v4;              /* 1: an IPv4 prefix (matches IPv4 packets only) */
};

struct st_fault_match {
	uint8_t nb_src, nb_dst, nb_hosts;
	struct st_imp_prefix src[ST_IMP_MAX_PREFIXES];
	struct st_imp_prefix dst[ST_IMP_MAX_PREFIXES];
	struct st_imp_prefix hosts[ST_IMP_MAX_PREFIXES]; /* source OR destination */
	uint8_t ip_version;      /* 0 any (non-IP included), 4, 6 */
	uint8_t proto;           /* 0 any */
	uint16_t sport_lo, sport_hi;  /* 0..65535 = any */
	uint16_t dport_lo, dport_hi;
	uint16_t session;        /* policy session slot; ST_IMP_ANY16 = any */
	uint16_t port;           /* start plan port index of the shadow port; ST_IMP_ANY16 = any */
	uint8_t dir;             /* enum st_imp_dir */
};

struct st_fault_conf {
	uint32_t id;             /* operator's fault id (numeric; part of every random key) */
	uint32_t epoch;          /* bumped at each arming: state restarts at packet index 0 */
	uint64_t seed;           /* netem's seed for this fault; 0 = the table's seed */
	uint16_t slot;           /* state and counter slot, < ST_IMP_MAX_FAULTS, stable */
	uint8_t kind;            /* enum st_fault_kind */
	struct st_fault_match match;
	/* loss */
	uint8_t loss_model;      /* enum st_loss_model */
	double loss[5];          /* probabilities 0..1, see enum st_loss_model */
	double loss_corr;        /* RANDOM only: lag-1 correlation 0..<1 */
	uint8_t ecn;             /* mark CE on ECT packets instead of dropping them */
	/* delay */
	uint64_t delay_ns;
	uint64_t jitter_ns;      /* uniform: half-width; otherwise the standard deviation */
	double delay_corr;       /* lag-1 correlation of successive delays, 0..<1 */
	uint8_t dist;            /* enum st_delay_dist */
	uint8_t reorder_jitter;  /* 0: order kept (default); 1: netem's reordering jitter */
	const double *table;     /* ST_DIST_CUSTOM: non-decreasing, mean 0, sd 1 */
	uint32_t table_len;
	/* corruption */
	double corrupt;          /* probability a packet is corrupted */
	double corrupt_corr;
	uint8_t corrupt_bits;    /* distinct bits flipped per corrupted packet, 1..64 */
	uint16_t corrupt_offset; /* first byte that may be flipped (0 = whole frame, as netem) */
	uint8_t corrupt_fix_csum; /* recompute IPv4/TCP/UDP checksums afterwards */
	/* duplication and reordering */
	double duplicate, duplicate_corr;
	double reorder, reorder_corr;
	uint32_t gap;            /* netem gap; 0 with reorder > 0 means 1 */
	/* rate */
	uint8_t rate_mode;       /* enum st_rate_mode */
	uint64_t rate_bps;
	int32_t overhead;        /* bytes added (or removed) per packet */
	uint32_t cell_size;      /* 0 = no cells */
	int32_t cell_overhead;
	uint64_t burst_bytes;    /* POLICE: bucket size (0: one 64 KiB frame's worth) */
	/* slotting (netem "slot MIN MAX packets N bytes B") */
	uint64_t slot_min_ns, slot_max_ns;
	uint32_t slot_packets;   /* 0 = no packet budget */
	uint64_t slot_bytes;     /* 0 = no byte budget */
	/* packets this fault may hold in the delay line; 0 = sized from the
	 * maximum delay at line_pps (+ 1,024 for a shaper's queue) */
	uint32_t limit;
};

struct st_fault_table_conf {
	uint64_t seed;
	uint32_t generation;
	uint16_t nb_faults;
	const struct st_fault_conf *faults;   /* in evaluation order */
	uint64_t tsc_hz;         /* 0 = rte_get_tsc_hz() */
	uint32_t line_pps;       /* per worker packet rate the delay line is sized for */
	uint32_t line_capacity;  /* packets one worker's delay line holds */
	uint64_t wheel_span_ns;  /* reach of the timing wheel (reordering jitter) */
};

/* ---- counters ------------------------------------------------------------- */

struct st_fault_stats {
	uint64_t matched;
	uint64_t dropped;        /* loss model, blackhole, link down */
	uint64_t delayed;        /* put in the delay line */
	uint64_t corrupted;
	uint64_t duplicated;
	uint64_t reordered;      /* sent ahead of the queue (reorder) */
	uint64_t rate_limited;   /* POLICE: dropped; SHAPE: waited for the link */
	uint64_t overflowed;     /* the fault's limit or the line was full: dropped */
	uint64_t ecn_marked;
	uint64_t nomem;          /* no mbuf for a duplicate */
	uint64_t released;       /* left the delay line */
	uint64_t delay_hist[ST_IMP_HIST];        /* applied delay, ns, bucket = bit length */
	uint64_t release_err_hist[ST_IMP_HIST];  /* release time - due time, ns */
	uint64_t delay_sum_ns;                   /* sums of the two histograms' samples */
	uint64_t release_err_sum_ns;
};

/* ---- per-packet input ------------------------------------------------------ */

/* What the worker knows of a copy, filled from the classification key it
 * parsed before the rewrite (production addresses). */
struct st_imp_meta {
	uint8_t src[16], dst[16]; /* IPv4 as IPv4-mapped IPv6 */
	uint8_t ip_version;       /* 0 (not IP), 4, 6 */
	uint8_t proto;
	uint16_t sport, dport;
	uint16_t session;         /* policy session slot */
	uint16_t port;            /* shadow port (start plan index) the copy goes to */
	uint8_t dir;              /* ST_IMP_DIR_RX or ST_IMP_DIR_TX */
	uint32_t tag;             /* opaque to the stage, returned with the packet */
	/* opaque too, kept in the delay line's entry and returned instead of
	 * `tag` when a held packet is released: what the release needs to send
	 * it (the impair stage: its ports and session), so that neither the
	 * hold nor the release writes or reads the mbuf for it */
	uint32_t held_tag;
};

struct st_fault_table;
struct st_impair_worker;

/* ---- control side (impair_ctl.c) -------------------------------------------- */

/* Build and check a table. NULL on error, err naming the field
 * ("faults[2].delay.jitter"). nb_faults == 0 builds an empty table. */
struct st_fault_table *st_fault_table_build(const struct st_fault_table_conf *conf,
					    struct st_error *err);
void st_fault_table_free(struct st_fault_table *t);
/* Whether the table may give more copies than it is given (a fault
 * duplicates): the short path, whose vectors hold one burst, cannot take it. */
int st_fault_table_grows(const struct st_fault_table *t);

/* Publish `next` in *cur and free the table it replaces once no reader can
 * hold it (rte_rcu_qsbr_synchronize on qs; qs may be NULL when no worker
 * runs). Returns the number of faults in the new table. */
struct rte_rcu_qsbr;
int st_fault_table_swap(struct st_fault_table **cur, struct st_fault_table *next,
			struct rte_rcu_qsbr *qs);

uint16_t st_fault_table_size(const struct st_fault_table *t);
/* Fault i's numeric id and counter slot. */
void st_fault_table_ident(const struct st_fault_table *t, uint16_t i, uint32_t *id,
			  uint16_t *slot);
/* Packets fault i may hold in the delay line (after defaults). */
uint32_t st_fault_table_limit(const struct st_fault_table *t, uint16_t i);

/* A worker's state: its delay line holds `capacity` packets and its timing
 * wheel reaches `wheel_span_ns` (both the values the tables are built for).
 * `stream` separates workers' random streams. */
struct st_impair_worker *st_impair_worker_create(uint32_t capacity, uint64_t wheel_span_ns,
						 uint64_t tsc_hz, uint16_t stream, int socket,
						 struct st_error *err);
/* Frees every packet still held. */
void st_impair_worker_free(struct st_impair_worker *w);

/* Add a worker's counters for `slot` into *out. */
void st_impair_stats_add(const struct st_impair_worker *w, uint16_t slot,
			 struct st_fault_stats *out);
/* Packets held in the worker's delay line. */
uint32_t st_impair_held(const struct st_impair_worker *w);

/* The last ST_IMP_SAMPLES applied delays the worker drew (any fault), oldest
 * first: up to max of those of `slot` into out (ns). Read while the worker
 * runs, a sample being overwritten may be missed; for tests and
 * diagnostics, not for counters. */
#define ST_IMP_SAMPLES 65536
uint32_t st_impair_delay_samples(const struct st_impair_worker *w, uint16_t slot,
				 uint64_t *out, uint32_t max);

/* ---- fast path (impair_node.c) ------------------------------------------------ */

/* Apply the table to n copies arriving at TSC `now`. Packets to send now go to
 * out[] with their meta tag in tags[] (input order, a duplicate right after
 * its original); delayed ones go to the delay line; dropped ones are freed.
 * max_out should be at least 2 * n (duplicates); what does not fit is freed
 * and counted as overflowed. Returns the number in out[]. t may be NULL (no
 * faults: every packet passes). */
uint16_t st_impair_process(struct st_impair_worker *w, const struct st_fault_table *t,
			   struct rte_mbuf **pkts, const struct st_imp_meta *meta, uint16_t n,
			   uint64_t now, struct rte_mbuf **out, uint32_t *tags, uint16_t max_out);

/* The deadline step: packets due at `now`, in due order (ties in arrival
 * order), at most max; tags[] are the packets' `held_tag`s. The mbufs are
 * prefetched (held for milliseconds, they come back cold), so the caller's
 * tx finds them in cache; the release reads only the line's entries. */
uint16_t st_impair_release(struct st_impair_worker *w, uint64_t now,
			   struct rte_mbuf **out, uint32_t *tags, uint16_t max);

/* Earliest due time held (UINT64_MAX when empty): when the deadline step
 * next has work. */
uint64_t st_impair_next_due(const struct st_impair_worker *w);

#ifdef __cplusplus
}
#endif

#endif /* ST_IMPAIR_H */
