/* SPDX-License-Identifier: BSD-3-Clause
 * Impair stage internals shared by impair_ctl.c and impair_node.c: the
 * compiled fault, the per-worker state, and the counter-based random
 * generator every decision is drawn from.
 */
#ifndef ST_IMPAIR_INT_H
#define ST_IMPAIR_INT_H

#include <math.h>
#include <stdint.h>

#include <rte_meter.h>

#include "impair.h"
#include "delay_line.h"

/* Decision kinds: the last input of the generator, so that two decisions
 * about the same packet never share a draw. */
enum st_imp_draw {
	ST_DRAW_LOSS_MOVE = 1,    /* Markov transition */
	ST_DRAW_LOSS_EMIT,        /* loss given the state */
	ST_DRAW_DELAY_A,          /* Box-Muller pair */
	ST_DRAW_DELAY_B,
	ST_DRAW_CORRUPT,
	ST_DRAW_DUP,
	ST_DRAW_REORDER,
	ST_DRAW_SLOT,
	ST_DRAW_BIT = 0x100,      /* + (attempt << 8): bit positions */
};

/* SplitMix64's finaliser: a bijection with full avalanche. */
static inline uint64_t st_imp_mix(uint64_t z)
{
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
	return z ^ (z >> 31);
}

/* The fault's key: seed, fault id, epoch and worker stream, mixed once. */
static inline uint64_t st_imp_key(uint64_t seed, uint32_t id, uint32_t epoch, uint16_t stream)
{
	uint64_t k = st_imp_mix(seed ^ 0x5348414457544150ull);

	k = st_imp_mix(k ^ ((uint64_t)id << 32 | epoch));
	return st_imp_mix(k ^ ((uint64_t)stream + 0x9e3779b97f4a7c15ull));
}

/* The draw for (key, packet index, kind): a pure function, no state. */
static inline uint64_t st_imp_rand(uint64_t key, uint64_t index, uint32_t kind)
{
	return st_imp_mix(key + st_imp_mix(index * 0x9e3779b97f4a7c15ull ^ ((uint64_t)kind << 40)));
}

/* Uniform in [0, 1) with 53 bits. */
static inline double st_imp_unif(uint64_t key, uint64_t index, uint32_t kind)
{
	return (double)(st_imp_rand(key, index, kind) >> 11) * 0x1.0p-53;
}

/* A compiled prefix: compare (addr & mask) over 16 bytes. */
struct st_imp_cprefix {
	uint8_t addr[16];
	uint8_t mask[16];
	uint8_t v4;
};

struct st_imp_fault {
	uint32_t id, epoch;
	uint64_t seed;            /* its own, or the table's */
	uint16_t slot;
	uint8_t kind;
	/* match */
	uint8_t nb_src, nb_dst, nb_hosts;
	struct st_imp_cprefix src[ST_IMP_MAX_PREFIXES];
	struct st_imp_cprefix dst[ST_IMP_MAX_PREFIXES];
	struct st_imp_cprefix hosts[ST_IMP_MAX_PREFIXES];
	uint8_t ip_version, proto, dir;
	uint16_t sport_lo, sport_hi, dport_lo, dport_hi, session, port;
	/* loss */
	uint8_t loss_model, ecn;
	double loss[5], loss_corr;
	/* delay: all times in TSC cycles */
	uint8_t delays;           /* goes through the delay line */
	uint8_t reorder_jitter;   /* uses the wheel */
	uint8_t dist;
	double delay_cyc, jitter_cyc;
	double rho, rho_c;        /* latent AR(1) coefficient and sqrt(1 - rho^2) */
	double *table;            /* standardised inverse CDF (not for normal/uniform) */
	uint32_t table_len;
	double max_delay_cyc;
	/* corruption, duplication, reordering */
	double corrupt, corrupt_corr, duplicate, duplicate_corr, reorder, reorder_corr;
	uint8_t corrupt_bits, corrupt_fix;
	uint16_t corrupt_offset;
	uint32_t gap;
	/* rate */
	uint8_t rate_mode;
	double cyc_per_byte;
	int32_t overhead, cell_overhead;
	uint32_t cell_size;
	struct rte_meter_srtcm_profile meter;
	/* slotting */
	uint8_t slotting;
	double slot_min_cyc, slot_max_cyc;
	uint32_t slot_packets;
	uint64_t slot_bytes;
	uint32_t limit;
};

struct st_fault_table {
	uint64_t seed;
	uint32_t generation;
	uint16_t nb;
	uint8_t grows;            /* a fault duplicates: more copies out than in */
	uint64_t hz;
	struct st_imp_fault f[];
};

/* Per fault slot, per worker: the state of the fault's processes. */
struct st_imp_fstate {
	uint32_t id, epoch;
	uint8_t valid;
	uint8_t loss_state;       /* GE: 0 good, 1 bad; 4-state: 1..4 */
	uint8_t loss_last, dup_last, corrupt_last, reorder_last;
	uint64_t key;
	uint64_t seed;            /* the table seed the key was made from */
	uint64_t index;           /* packets matched so far: the draw counter */
	double z;                 /* AR(1) latent */
	uint8_t z_started;
	uint64_t last_due;        /* order kept / shaper: the previous packet's due time */
	uint32_t reorder_count;   /* netem's counter for gap */
	uint64_t slot_start;
	int64_t slot_packets_left, slot_bytes_left;
	uint64_t slot_draws;
	struct rte_meter_srtcm meter;
};

struct st_impair_worker {
	uint16_t stream;
	uint64_t hz;
	double ns_per_cycle;
	struct st_delay_line *dl;
	struct st_imp_fstate fs[ST_IMP_MAX_FAULTS];
	struct st_fault_stats stats[ST_IMP_MAX_FAULTS];
	/* applied delays, slot << 56 | ns, a ring (st_impair_delay_samples) */
	uint64_t samples_n;
	uint64_t samples[ST_IMP_SAMPLES];
};

/* Bucket of a nanosecond value: its bit length, capped. */
static inline unsigned int st_imp_bucket(uint64_t ns)
{
	unsigned int b = ns == 0 ? 0 : 64 - (unsigned int)__builtin_clzll(ns);

	return b < ST_IMP_HIST ? b : ST_IMP_HIST - 1;
}

#endif /* ST_IMPAIR_INT_H */
