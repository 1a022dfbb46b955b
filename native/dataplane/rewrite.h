/* SPDX-License-Identifier: BSD-3-Clause
 * Header rewrite for shadow copies: types and the two halves of the module.
 *
 * Control time (rewrite_ctl.c): st_rewrite_compile() turns the plan's prefix
 * maps and MACs into immutable lookup tables (rte_lpm / rte_lpm6; next hop =
 * index of the map) that the fast path only reads.
 *
 * Fast path (rewrite_node.c): st_rewrite_frame() parses one frame that is a
 * private copy (never a production mbuf), translates IPv4/IPv6 source and
 * destination addresses, sets the shadow MACs and fixes every checksum it
 * touches incrementally (RFC 1624). It never reads beyond seg_len and never
 * trusts a length field that points past the frame.
 */
#ifndef ST_REWRITE_H
#define ST_REWRITE_H

#include <stdint.h>
#include "st_dataplane.h"

struct rte_lpm;
struct rte_lpm6;

struct st_rewrite_tables {
	struct rte_lpm *lpm4;          /* NULL when there are no IPv4 maps */
	struct rte_lpm6 *lpm6;         /* NULL when there are no IPv6 maps */
	uint16_t nb_map4, nb_map6;
	struct st_map4 map4[ST_MAX_MAPS];
	struct st_map6 map6[ST_MAX_MAPS];
	uint8_t src_mac[6];
	uint8_t dst_mac[6];
	uint8_t unmapped;              /* enum st_unmapped */
};

/* Result of rewriting one frame. */
struct st_rewrite_result {
	int8_t drop;         /* -1: send the copy; else an enum st_drop_reason */
	uint8_t translated;  /* 1 if at least one address was rewritten */
	uint32_t anomalies;  /* bit (1u << enum st_anomaly) for each seen */
};

/* Build tables from the plan; name_suffix keeps rte_lpm names unique so an
 * old and a new table can coexist during a swap. NULL + err on failure. */
struct st_rewrite_tables *st_rewrite_compile(const struct st_plan *plan,
					     const char *name_suffix,
					     struct st_error *err);
void st_rewrite_free(struct st_rewrite_tables *t);

/* frame: first segment's data (writable); seg_len: bytes in it;
 * pkt_len: total frame length (>= seg_len for chained mbufs). */
void st_rewrite_frame(const struct st_rewrite_tables *t, uint8_t *frame,
		      uint32_t seg_len, uint32_t pkt_len,
		      struct st_rewrite_result *res);

#endif /* ST_REWRITE_H */
