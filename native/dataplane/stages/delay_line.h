/* SPDX-License-Identifier: BSD-3-Clause
 * Delay line: where a worker holds delayed shadow copies until their TSC due
 * time. Fixed memory, allocated once (st_dl_create): a pool of `capacity`
 * nodes, linked by index, serving
 * - one FIFO per fault slot, for faults whose due times never go backwards
 *   (constant delay, order-preserving jitter, rate shaping, slotting): a
 *   push is O(1) and the head is the fault's next due packet;
 * - one timing wheel for netem-style reordering jitter: slot = due tick,
 *   each slot's list kept sorted by (due, arrival), so a packet leaves at its
 *   own due time, not at its tick's.
 * Release merges the FIFO heads and the wheel in (due, arrival sequence)
 * order, so the order packets leave in does not depend on how often the
 * release is called. Nothing is allocated per packet; a push that does not
 * fit (the pool, the fault's limit, or a due time beyond the wheel's reach
 * when the release step has fallen behind) is refused and the caller counts
 * it.
 */
#ifndef ST_DELAY_LINE_H
#define ST_DELAY_LINE_H

#include <stdint.h>
#include <rte_mbuf.h>

#define ST_DL_NIL UINT32_MAX
#define ST_DL_FIFOS 64            /* = ST_IMP_MAX_FAULTS */
#define ST_DL_BURST 32            /* = the tx burst: what one release pops */

struct st_dl_node {
	struct rte_mbuf *m;
	uint64_t due;
	uint64_t arrived;         /* for the applied-delay histogram */
	uint32_t seq;             /* arrival order, ties in due time */
	uint32_t next;
	uint32_t tag;
	uint16_t slot;            /* fault slot */
	uint16_t pad;
};

struct st_dl_list {
	uint32_t head, tail;
};

struct st_delay_line {
	struct st_dl_node *nodes;
	uint32_t capacity;
	uint32_t free_head;
	uint32_t held;
	uint32_t seq;
	uint64_t fifo_mask;                  /* bit s: fifo[s] not empty */
	struct st_dl_list fifo[ST_DL_FIFOS];
	uint32_t held_by_slot[ST_DL_FIFOS];  /* FIFO and wheel, for limits */
	/* timing wheel */
	struct st_dl_list *wheel;
	uint32_t wheel_slots;                /* power of two */
	uint32_t wheel_held;
	uint64_t tick;                       /* cycles per wheel slot */
	uint64_t cursor;                     /* absolute tick of the next slot to look at */
};

struct st_delay_line *st_dl_create(uint32_t capacity, uint64_t span_cycles, int socket);
/* Frees every mbuf still held, then the line. */
void st_dl_free(struct st_delay_line *dl);

/* 0, or -1 when the pool is exhausted or the fault holds `limit` already,
 * or (wheel) the due time is beyond the wheel's reach from its cursor. */
int st_dl_push_fifo(struct st_delay_line *dl, uint16_t slot, uint32_t limit,
		    struct rte_mbuf *m, uint64_t due, uint64_t arrived, uint32_t tag);
int st_dl_push_wheel(struct st_delay_line *dl, uint16_t slot, uint32_t limit,
		     struct rte_mbuf *m, uint64_t due, uint64_t arrived, uint32_t tag);

/* Pop the next node due at `now` (due <= now) in (due, seq) order into *out;
 * 0 when none is due. */
int st_dl_pop_due(struct st_delay_line *dl, uint64_t now, struct st_dl_node *out);

/* Pop up to max (<= ST_DL_BURST) nodes due at `now`, in the same order as
 * repeated st_dl_pop_due; their mbufs are prefetched as they are popped, and
 * those of the next nodes of a single FIFO too, for the next release. */
uint16_t st_dl_pop_burst(struct st_delay_line *dl, uint64_t now, struct st_dl_node *out,
			 uint16_t max);

uint64_t st_dl_next_due(const struct st_delay_line *dl);

#endif /* ST_DELAY_LINE_H */
