/* SPDX-License-Identifier: BSD-3-Clause
 * Delay line (delay_line.h): a node pool, FIFOs per fault slot and a timing
 * wheel with sorted slots, merged on release in (due, arrival) order.
 */
#include <string.h>

#include <rte_common.h>
#include <rte_malloc.h>
#include <rte_mbuf.h>
#include <rte_prefetch.h>

#include "delay_line.h"

/* Arrival order with wrap-around: a before b. */
static inline int seq_before(uint32_t a, uint32_t b)
{
	return (int32_t)(a - b) < 0;
}

static inline int node_before(const struct st_dl_node *a, const struct st_dl_node *b)
{
	return a->due < b->due || (a->due == b->due && seq_before(a->seq, b->seq));
}

struct st_delay_line *st_dl_create(uint32_t capacity, uint64_t span_cycles, int socket)
{
	struct st_delay_line *dl;
	uint32_t slots = 1024;

	if (capacity == 0 || capacity >= ST_DL_NIL)
		return NULL;
	dl = rte_zmalloc_socket("st_delay_line", sizeof(*dl), RTE_CACHE_LINE_SIZE, socket);
	if (dl == NULL)
		return NULL;
	dl->nodes = rte_zmalloc_socket("st_dl_nodes", (size_t)capacity * sizeof(struct st_dl_node),
				       RTE_CACHE_LINE_SIZE, socket);
	/* 65,536 slots at most: a slot is a list head, the tick is what varies;
	 * sorted slots keep release precise whatever the tick. */
	while (slots < 65536 && span_cycles / slots > 2048)
		slots <<= 1;
	dl->wheel = rte_zmalloc_socket("st_dl_wheel", (size_t)slots * sizeof(struct st_dl_list),
				       RTE_CACHE_LINE_SIZE, socket);
	if (dl->nodes == NULL || dl->wheel == NULL) {
		rte_free(dl->nodes);
		rte_free(dl->wheel);
		rte_free(dl);
		return NULL;
	}
	dl->capacity = capacity;
	dl->wheel_slots = slots;
	/* one slot to spare: a due time exactly span ahead must not alias the
	 * cursor's slot */
	dl->tick = span_cycles / (slots - 1) + 1;
	for (uint32_t i = 0; i < capacity; i++)
		dl->nodes[i].next = i + 1 < capacity ? i + 1 : ST_DL_NIL;
	dl->free_head = 0;
	for (uint32_t s = 0; s < ST_DL_FIFOS; s++)
		dl->fifo[s].head = dl->fifo[s].tail = ST_DL_NIL;
	for (uint32_t s = 0; s < slots; s++)
		dl->wheel[s].head = dl->wheel[s].tail = ST_DL_NIL;
	return dl;
}

void st_dl_free(struct st_delay_line *dl)
{
	struct st_dl_node n;

	if (dl == NULL)
		return;
	while (st_dl_pop_due(dl, UINT64_MAX, &n))
		rte_pktmbuf_free(n.m);
	rte_free(dl->nodes);
	rte_free(dl->wheel);
	rte_free(dl);
}

static inline uint32_t node_get(struct st_delay_line *dl, uint16_t slot, uint32_t limit,
				struct rte_mbuf *m, uint64_t due, uint64_t arrived, uint32_t tag)
{
	uint32_t i = dl->free_head;
	struct st_dl_node *n;

	if (i == ST_DL_NIL || slot >= ST_DL_FIFOS || dl->held_by_slot[slot] >= limit)
		return ST_DL_NIL;
	n = &dl->nodes[i];
	dl->free_head = n->next;
	n->m = m;
	n->due = due;
	n->arrived = arrived;
	n->seq = dl->seq++;
	n->next = ST_DL_NIL;
	n->tag = tag;
	n->slot = slot;
	dl->held++;
	dl->held_by_slot[slot]++;
	return i;
}

static inline void node_put(struct st_delay_line *dl, uint32_t i)
{
	struct st_dl_node *n = &dl->nodes[i];

	dl->held--;
	dl->held_by_slot[n->slot]--;
	n->m = NULL;
	n->next = dl->free_head;
	dl->free_head = i;
}

int st_dl_push_fifo(struct st_delay_line *dl, uint16_t slot, uint32_t limit,
		    struct rte_mbuf *m, uint64_t due, uint64_t arrived, uint32_t tag)
{
	uint32_t i = node_get(dl, slot, limit, m, due, arrived, tag);
	struct st_dl_list *l;

	if (i == ST_DL_NIL)
		return -1;
	l = &dl->fifo[slot];
	if (l->tail == ST_DL_NIL) {
		l->head = i;
		dl->fifo_mask |= 1ull << slot;
	} else {
		/* the caller keeps due times non-decreasing per FIFO; should it
		 * not, the packet waits for its predecessor instead */
		if (dl->nodes[l->tail].due > due)
			dl->nodes[i].due = dl->nodes[l->tail].due;
		dl->nodes[l->tail].next = i;
	}
	l->tail = i;
	return 0;
}

int st_dl_push_wheel(struct st_delay_line *dl, uint16_t slot, uint32_t limit,
		     struct rte_mbuf *m, uint64_t due, uint64_t arrived, uint32_t tag)
{
	uint64_t t = due / dl->tick;
	struct st_dl_list *l;
	struct st_dl_node *n;
	uint32_t i, p, q;

	if (dl->wheel_held == 0) {
		/* nothing to pass over: start the cursor where time is */
		uint64_t c = arrived / dl->tick < t ? arrived / dl->tick : t;

		if (c > dl->cursor)
			dl->cursor = c;
	}
	if (t < dl->cursor)
		t = dl->cursor;
	if (t - dl->cursor >= dl->wheel_slots)
		return -1;
	i = node_get(dl, slot, limit, m, due, arrived, tag);
	if (i == ST_DL_NIL)
		return -1;
	n = &dl->nodes[i];
	l = &dl->wheel[t & (dl->wheel_slots - 1)];
	dl->wheel_held++;
	if (l->tail == ST_DL_NIL) {
		l->head = l->tail = i;
		return 0;
	}
	if (!node_before(n, &dl->nodes[l->tail])) {   /* the common case: append */
		dl->nodes[l->tail].next = i;
		l->tail = i;
		return 0;
	}
	p = ST_DL_NIL;
	q = l->head;
	while (q != ST_DL_NIL && !node_before(n, &dl->nodes[q])) {
		p = q;
		q = dl->nodes[q].next;
	}
	n->next = q;
	if (p == ST_DL_NIL)
		l->head = i;
	else
		dl->nodes[p].next = i;
	return 0;
}

/* The wheel's earliest node at or before tick `upto`, moving the cursor over
 * empty slots; ST_DL_NIL if none. */
static uint32_t wheel_head(struct st_delay_line *dl, uint64_t upto)
{
	if (dl->wheel_held == 0)
		return ST_DL_NIL;
	while (dl->cursor <= upto) {
		struct st_dl_list *l = &dl->wheel[dl->cursor & (dl->wheel_slots - 1)];

		if (l->head != ST_DL_NIL)
			return l->head;
		dl->cursor++;
	}
	return ST_DL_NIL;
}

int st_dl_pop_due(struct st_delay_line *dl, uint64_t now, struct st_dl_node *out)
{
	uint32_t best = ST_DL_NIL, w;
	int best_fifo = -1;
	uint64_t mask = dl->fifo_mask;

	while (mask) {
		int s = __builtin_ctzll(mask);
		uint32_t h = dl->fifo[s].head;

		mask &= mask - 1;
		if (dl->nodes[h].due <= now &&
		    (best == ST_DL_NIL || node_before(&dl->nodes[h], &dl->nodes[best]))) {
			best = h;
			best_fifo = s;
		}
	}
	w = wheel_head(dl, now == UINT64_MAX ? UINT64_MAX - 1 : now / dl->tick);
	if (w != ST_DL_NIL && dl->nodes[w].due <= now &&
	    (best == ST_DL_NIL || node_before(&dl->nodes[w], &dl->nodes[best]))) {
		struct st_dl_list *l = &dl->wheel[dl->cursor & (dl->wheel_slots - 1)];

		l->head = dl->nodes[w].next;
		if (l->head == ST_DL_NIL)
			l->tail = ST_DL_NIL;
		dl->wheel_held--;
		*out = dl->nodes[w];
		node_put(dl, w);
		return 1;
	}
	if (best == ST_DL_NIL)
		return 0;
	dl->fifo[best_fifo].head = dl->nodes[best].next;
	if (dl->fifo[best_fifo].head == ST_DL_NIL) {
		dl->fifo[best_fifo].tail = ST_DL_NIL;
		dl->fifo_mask &= ~(1ull << best_fifo);
	}
	*out = dl->nodes[best];
	node_put(dl, best);
	return 1;
}

/* A held mbuf comes back cold (milliseconds of other copies went through the
 * cache meanwhile): the tx reads its first line (lengths, pool, refcnt) and
 * the free its second (next). */
static inline void mbuf_warm(const struct rte_mbuf *m)
{
	rte_prefetch0(m);
	rte_prefetch0((const char *)m + RTE_CACHE_LINE_SIZE);
}

/* Mbufs prefetched beyond a single FIFO's popped run, for the next release. */
#define ST_DL_AHEAD 8

uint16_t st_dl_pop_burst(struct st_delay_line *dl, uint64_t now, struct st_dl_node *out,
			 uint16_t max)
{
	const uint64_t mask = dl->fifo_mask;
	uint16_t n = 0;

	if (dl->wheel_held == 0 && mask != 0 && (mask & (mask - 1)) == 0) {
		/* One FIFO holds everything (one delaying fault: the common
		 * case): its run of due nodes is the answer, no merge. */
		const int s = __builtin_ctzll(mask);
		struct st_dl_list *l = &dl->fifo[s];
		uint32_t i = l->head;

		while (n < max && i != ST_DL_NIL && dl->nodes[i].due <= now) {
			const uint32_t next = dl->nodes[i].next;

			if (next != ST_DL_NIL)
				rte_prefetch0(&dl->nodes[next]);
			out[n] = dl->nodes[i];
			mbuf_warm(out[n].m);
			n++;
			node_put(dl, i);
			i = next;
		}
		l->head = i;
		if (i == ST_DL_NIL) {
			l->tail = ST_DL_NIL;
			dl->fifo_mask &= ~(1ull << s);
		} else {
			for (int k = 0; k < ST_DL_AHEAD && i != ST_DL_NIL; k++) {
				mbuf_warm(dl->nodes[i].m);
				i = dl->nodes[i].next;
			}
		}
		return n;
	}
	while (n < max && st_dl_pop_due(dl, now, &out[n])) {
		mbuf_warm(out[n].m);
		n++;
	}
	return n;
}

uint64_t st_dl_next_due(const struct st_delay_line *dl)
{
	uint64_t best = UINT64_MAX, mask = dl->fifo_mask;

	while (mask) {
		int s = __builtin_ctzll(mask);

		mask &= mask - 1;
		if (dl->nodes[dl->fifo[s].head].due < best)
			best = dl->nodes[dl->fifo[s].head].due;
	}
	if (dl->wheel_held) {
		for (uint64_t t = dl->cursor; t < dl->cursor + dl->wheel_slots; t++) {
			const struct st_dl_list *l = &dl->wheel[t & (dl->wheel_slots - 1)];

			if (l->head != ST_DL_NIL) {
				if (dl->nodes[l->head].due < best)
					best = dl->nodes[l->head].due;
				break;
			}
		}
	}
	return best;
}
