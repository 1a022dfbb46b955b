/* SPDX-License-Identifier: BSD-3-Clause
 * The flight recorder: which packet each worker is working on, and in which
 * stage, kept in memory that outlives the process.
 *
 * The data plane maps a file under the run directory (MAP_SHARED): a header
 * and one cache-line-aligned slot per worker. A worker writes its slot with
 * plain stores as it moves a packet through the stages (the stage number and
 * the mbuf pointer: two stores, no fence, no syscall). If the process dies
 * on a fatal signal, the handler (on its own stack) copies the packet the
 * crashing worker was on into that worker's slot, with the signal, the
 * faulting address, the time and the packet's signature (quarantine.h), and
 * re-raises the signal. The pages belong to the file, not to the process, so
 * the supervisor reads them after the child is gone (src/reliability/).
 *
 * The handler reads at most ST_FLIGHT_SNAP bytes of the packet's first
 * segment, bounded by the mbuf's own lengths. If reading the packet faults
 * too (the crash may be about that very mbuf), the default action ends the
 * process and the slot still says which worker, stage and signal.
 */
#ifndef ST_FLIGHT_H
#define ST_FLIGHT_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <rte_branch_prediction.h>

#include <rte_common.h>
#include <rte_mbuf.h>

#include "st_dataplane.h"

#define ST_FLIGHT_MAGIC   UINT32_C(0x52465453)   /* "STFR" little-endian */
#define ST_FLIGHT_VERSION 1
#define ST_FLIGHT_SNAP    256

/* Where a worker is. Keep in step with ST_FLIGHT_STAGE_NAMES and
 * src/reliability/flight.ts. */
enum st_flight_stage {
	ST_FLIGHT_IDLE = 0,    /* between bursts */
	ST_FLIGHT_RX,          /* rx check, MARKs, quarantine */
	ST_FLIGHT_CLASSIFY,    /* key parse, signatures, rte_acl, decisions */
	ST_FLIGHT_COPY,        /* copies (snaplen) */
	ST_FLIGHT_PRODUCTION,  /* production tx */
	ST_FLIGHT_REWRITE,     /* headers and control-plane payloads */
	ST_FLIGHT_FIREWALL,
	ST_FLIGHT_ENCAP,
	ST_FLIGHT_SHADOW_TX,
	ST_FLIGHT_TEST_CRASH,  /* the test-only crash switch (flight.c) */
	ST_FLIGHT_MEASURE,     /* the measure stage: rx step and copies as they leave (measure.h) */
	ST_FLIGHT_IMPAIR,      /* the fault table on copies (faults.h) */
	ST_FLIGHT_FAULT_KEY,   /* what faults match on, from each copy */
	ST_FLIGHT__COUNT
};

#define ST_FLIGHT_STAGE_NAMES { "idle", "rx", "classify", "copy", "production", "rewrite", \
	"firewall", "encap", "shadow_tx", "test_crash", "measure", "impair", "fault_key" }

/* One worker's slot: the first line is the worker's, the rest the handler's. */
struct st_flight_slot {
	volatile uint32_t stage;             /* enum st_flight_stage */
	volatile uint16_t port_id;           /* port of the burst */
	uint16_t lcore;
	const struct rte_mbuf *volatile pkt; /* packet being worked on (this process only) */
	volatile uint64_t bursts;
	uint8_t pad_[RTE_CACHE_LINE_SIZE - 24];
	/* written by the crash handler */
	uint32_t crashed;                    /* 1: this worker took the signal */
	int32_t signal;
	uint64_t fault_addr;
	uint64_t time_ns;                    /* CLOCK_REALTIME at the crash */
	uint32_t pkt_len;                    /* as the mbuf says */
	uint32_t cap_len;                    /* bytes in data[] */
	uint64_t signature;                  /* quarantine.h; 0: none taken */
	uint8_t data[ST_FLIGHT_SNAP];
} __rte_cache_aligned;

struct st_flight_file {
	uint32_t magic, version;
	uint32_t slot_size, nb_workers;
	uint32_t pid;
	int32_t crash_signal;                /* 0 until a fatal signal */
	int32_t crash_worker;                /* -1: not a worker thread */
	uint32_t crash_stage;
	uint64_t crash_time_ns;
	uint64_t crash_fault_addr;
	uint8_t pad_[RTE_CACHE_LINE_SIZE - 48];
	struct st_flight_slot slots[ST_MAX_WORKERS];
} __rte_cache_aligned;

/* src/reliability/flight.ts reads the file at these offsets. */
_Static_assert(offsetof(struct st_flight_file, slots) == 64, "flight file layout");
_Static_assert(offsetof(struct st_flight_slot, crashed) == 64, "flight slot layout");
_Static_assert(offsetof(struct st_flight_slot, data) == 104, "flight slot layout");

/* The mapping, or NULL when no recorder was asked for. */
extern struct st_flight_file *st_flight_g;

/* Create (truncate) `path`, map it and install the fatal-signal handlers.
 * lcores[w] is worker w's lcore id. */
int st_flight_open(const char *path, uint16_t nb_workers, const uint16_t *lcores,
		   struct st_error *err);
/* Restore the default signal actions, unmap (the file stays). */
void st_flight_close(void);

/* The test-only crash switch: when the data plane starts with
 * SHADOWTAP_TEST_CRASH=<text> in its environment, the rewrite stage dies with
 * SIGSEGV on a copy whose first segment contains <text> (at most 32 bytes);
 * SHADOWTAP_TEST_CRASH_STAGE=measure|impair|fault_key moves the crash into
 * that stage instead. It exists so that the recorder, quarantine and the
 * crash-loop guard can be tested on a real crash; unset, it costs one
 * predictable branch per packet. */
struct st_test_crash {
	uint8_t len;
	uint8_t stage;                       /* enum st_flight_stage that crashes */
	uint8_t bytes[32];
};
extern struct st_test_crash st_test_crash_g;
void st_test_crash_setup(void);
void st_test_crash_hit(void) __attribute__((noreturn, cold));

static inline void
st_test_crash_check_at(uint32_t stage, const struct rte_mbuf *m)
{
	if (unlikely(st_test_crash_g.len != 0) && st_test_crash_g.stage == stage &&
	    memmem(rte_pktmbuf_mtod(m, const void *), m->data_len, st_test_crash_g.bytes,
		   st_test_crash_g.len) != NULL)
		st_test_crash_hit();
}

static inline void
st_test_crash_check(const struct rte_mbuf *m)
{
	st_test_crash_check_at(ST_FLIGHT_REWRITE, m);
}

static inline struct st_flight_slot *
st_flight_slot(unsigned int worker)
{
	return st_flight_g != NULL ? &st_flight_g->slots[worker] : NULL;
}

/* The worker is at `stage` with packet `m` (NULL: the whole burst). */
static inline void
st_flight_at(struct st_flight_slot *s, uint32_t stage, const struct rte_mbuf *m)
{
	if (s != NULL) {
		s->stage = stage;
		s->pkt = m;
	}
}

/* A stage that runs inside another's span (measure in the rx step, the fault
 * stages in the shadow list) notes where the worker was and puts it back
 * when done, so a crash after it is not charged to it. */
struct st_flight_mark {
	uint32_t stage;
	const struct rte_mbuf *pkt;
};

static inline struct st_flight_mark
st_flight_save(const struct st_flight_slot *s)
{
	struct st_flight_mark k = { ST_FLIGHT_IDLE, NULL };

	if (s != NULL) {
		k.stage = s->stage;
		k.pkt = s->pkt;
	}
	return k;
}

static inline void
st_flight_restore(struct st_flight_slot *s, struct st_flight_mark k)
{
	st_flight_at(s, k.stage, k.pkt);
}

#endif
