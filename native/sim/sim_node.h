/* SPDX-License-Identifier: BSD-3-Clause
 * What net_shadowsim's fast path shares between sim_node.c (parse, match,
 * run the rules, deliver) and sim_rewrite.c (execute one rewrite, count,
 * mark, hash): the parsed layers of a frame and the executor's context.
 */
#ifndef ST_SIM_NODE_H
#define ST_SIM_NODE_H

#include <stdbool.h>
#include <stdint.h>

#include <rte_mbuf.h>

#include "sim.h"

/* Where the headers of one encapsulation level are (offsets from the frame's start). */
struct st_sim_level {
	bool eth;
	uint16_t eth_off;
	uint8_t nvlan;
	uint16_t tci_off[2];    /* TCI of each 802.1Q/802.1ad tag, outermost first */
	uint8_t l3;             /* 4, 6 or 0 */
	uint16_t l3_off;
	uint8_t l4;             /* IPPROTO_* when the L4 header is present, else 0 */
	uint16_t l4_off;
	bool vxlan;
	uint16_t tun_off;       /* VXLAN header */
};

struct st_sim_layers {
	uint16_t len;           /* bytes of the first segment */
	struct st_sim_level lv[2]; /* outer, and inner after VXLAN */
};

static inline uint16_t be16at(const uint8_t *p)
{
	return (uint16_t)(p[0] << 8 | p[1]);
}

/* The executor's context for one packet. */
struct st_sim_exec {
	struct st_sim_dev *sd;
	struct rte_mempool *pool;
	uint16_t src_port;
};

/* Parses the first segment's outer level and, after VXLAN, the inner one. */
void st_sim_parse(const struct rte_mbuf *m, struct st_sim_layers *L);
/* Applies one rewrite; returns the (possibly new) mbuf, NULL if it had to be dropped. */
struct rte_mbuf *st_sim_apply(struct st_sim_exec *x, const struct st_sim_op *op, struct rte_mbuf *m);
void st_sim_count(struct st_sim_counter *c, const struct rte_mbuf *m);
void st_sim_mark(struct rte_mbuf *m, uint32_t id, bool with_id);
/* Sets the mbuf's RSS hash (Toeplitz over the outer addresses and ports) and picks a queue. */
uint16_t st_sim_rss_queue(struct rte_mbuf *m, const uint8_t *key, const uint16_t *queues, uint16_t n);

#endif /* ST_SIM_NODE_H */
