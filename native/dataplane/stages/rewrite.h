/* SPDX-License-Identifier: BSD-3-Clause
 * Header rewrite for shadow copies: types and the two halves of the module.
 *
 * Control time (rewrite_ctl.c): st_rewrite_compile() turns the start plan's prefix
 * maps and MACs into immutable lookup tables (rte_lpm / rte_lpm6; next hop =
 * index of the map) that the fast path only reads.
 *
 * Fast path (rewrite_node.c, with the IP layer in rewrite_ipv4.c and
 * rewrite_ipv6.c, control-plane payloads in rewrite_cp.c, checksums in
 * rewrite_csum.h): st_rewrite_frame() parses one frame that is a private
 * copy (never a production mbuf), translates IPv4/IPv6 source and
 * destination addresses, sets the shadow MACs and fixes every checksum it
 * touches incrementally (RFC 1624). It never reads beyond seg_len and never
 * trusts a length field that points past the frame. The full specification
 * is in rewrite_frame.h and the headers it names.
 *
 * The rewrite is also a stage of the shadow path (stage.h): at the end of
 * this file, with the share of tables between a policy and its successor.
 */
#ifndef ST_REWRITE_H
#define ST_REWRITE_H

#include <stdint.h>
#include "st_dataplane.h"
#include "policy.h"
#include "leak.h"

struct rte_lpm;
struct rte_lpm6;

/* Up to this many IPv4 maps, the burst path compares masks instead of
 * looking addresses up in rte_lpm (rewrite_fast.h). */
#define ST_RW_FAST_MAPS 4
struct rte_hash;

struct st_rewrite_tables {
	struct rte_lpm *lpm4;          /* NULL when there are no IPv4 maps */
	struct rte_lpm6 *lpm6;         /* NULL when there are no IPv6 maps */
	uint16_t nb_map4, nb_map6;
	struct st_map4 map4[ST_MAX_MAPS];
	struct st_map6 map6[ST_MAX_MAPS];
	/* Ethernet MACs outside every MAC map get these (all zero = keep):
	 * the start plan's shadow MACs, or the policy's default MACs. */
	uint8_t src_mac[6];
	uint8_t dst_mac[6];
	uint8_t unmapped;              /* enum st_unmapped / enum st_unmapped_rule */
	/* ---- policy-era (zero when compiled from a start plan) ---- */
	uint32_t control_plane;        /* ST_CP_* bits */
	/* control_plane != 0: addresses that name no host (0.0.0.0, ::,
	 * 255.255.255.255, multicast, IPv6 link-local) and group MACs are
	 * handled as described in rewrite_frame.h, 4. (kept, never "unmapped") */
	uint8_t cp_aware;
	uint16_t nb_mac_maps;
	struct rte_hash *mac_hash;     /* MAC -> index into mac_to; NULL without MAC maps */
	uint8_t mac_to[ST_MAX_MAC_MAPS][6];
	uint8_t dhcp_addr_opts[32];    /* bitmap: DHCP options carrying IPv4 addresses */
	/* The leak policy (leak.h): enum st_leak_action per kind. payloads is
	 * set when it is a policy's (payload translators and their leak
	 * counting run); a start plan's tables leave both zero. */
	uint8_t leak[ST_LEAK__COUNT];
	uint8_t payloads;
	/* ---- derived at compile for the short IPv4 path (rw_fast4, rewrite_node.c) ---- */
	uint8_t fast4;                 /* IPv4 maps, no MAC maps, both shadow MACs set */
	uint8_t mac_pair[12];          /* dst_mac then src_mac: the frame's first 12 bytes */
	uint32_t map4_mask[ST_MAX_MAPS];  /* prefix mask of map4[i] */
	/* ---- derived at compile for the burst path (rewrite_fast.h) ---- */
	uint8_t burst_ok;              /* no MAC maps, both shadow MACs set, and IPv4
	                                * maps or the unmapped rule "mirror" */
	uint8_t fm_lpm;                /* more than ST_RW_FAST_MAPS maps: rte_lpm */
	uint8_t nb_fm;                 /* else: the maps as mask compares, longest first */
	uint32_t fm_mask[ST_RW_FAST_MAPS], fm_from[ST_RW_FAST_MAPS], fm_to[ST_RW_FAST_MAPS];
	/* the burst variant this CPU runs (rewrite_fast.h), picked at compile */
	uint64_t (*burst)(const struct st_rewrite_tables *t, uint8_t *const *f,
			  const uint32_t *seg, const uint32_t *pkt, const uint32_t *wire,
			  unsigned int n, uint64_t *xl);
	/* ---- routing payloads (rewrite_rt.h) ---- */
	uint16_t nb_rid;                  /* router-id map, sorted by from */
	uint32_t rid_from[ST_MAX_RIDS], rid_to[ST_MAX_RIDS];
	/* bit b set: some map's from-prefix contains addresses whose first
	 * byte is b (a prefix of 8 bits or more elsewhere meets no map) */
	uint8_t map4_first[32], map6_first[32];
};

/* Per-worker state of the message streams over TCP (rewrite_rt.h): one
 * writer, no locks. Bounded: a table of flows per protocol, so a flood of
 * one (DNS over TCP is attack traffic's favourite) never evicts another's
 * (BGP's sessions); a flow evicted for a new one is counted per table. */
enum st_rt_table {
	ST_RT_TABLE_BGP = 0,
	ST_RT_TABLE_DNS,     /* DNS and LLMNR over TCP */
	ST_RT_TABLE__COUNT
};
struct st_rt_state;
struct st_rt_state *st_rt_state_new(int socket);
void st_rt_state_free(struct st_rt_state *s);
void st_rt_state_reset(struct st_rt_state *s);
uint64_t st_rt_state_evicted(const struct st_rt_state *s, enum st_rt_table table);


/* Result of rewriting one frame. */
struct st_rewrite_result {
	int8_t drop;         /* -1: send the copy; else an enum st_drop_reason */
	uint8_t translated;  /* 1 if at least one address was rewritten */
	uint32_t anomalies;  /* bit (1u << enum st_anomaly) for each seen */
	uint8_t unmapped_seen; /* unmapped rule COUNT hit (see st_rewrite_frame_ex) */
	struct st_leak_event leak; /* a payload not translated (leak.h); kind -1: none */
};

/* Build tables from the start plan; name_suffix keeps rte_lpm names unique so an
 * old and a new table can coexist during a swap. NULL + err on failure. */
struct st_rewrite_tables *st_rewrite_compile(const struct st_start_plan *sp,
					     const char *name_suffix,
					     struct st_error *err);
void st_rewrite_free(struct st_rewrite_tables *t);

/* frame: first segment's data (writable); seg_len: bytes in it;
 * pkt_len: total frame length (>= seg_len for chained mbufs). */
void st_rewrite_frame(const struct st_rewrite_tables *t, uint8_t *frame,
		      uint32_t seg_len, uint32_t pkt_len,
		      struct st_rewrite_result *res);

/* ---- policy-era extensions (issue 3) --------------------------------------
 * Compile from a policy instead of a start plan: maps, host overrides (maps with a
 * full-length prefix), MAC maps (rte_hash; a MAC outside every map gets the
 * policy's default MAC, or is kept when that is all zero), the 3-way unmapped
 * rule, and control-plane payload translation (ST_CP_* bits): ARP sender and
 * target IP/MAC; DHCPv4 ciaddr/yiaddr/siaddr/giaddr, chaddr and address
 * options (1 is a mask: untouched; 3 router, 6 DNS, 28 broadcast, 50
 * requested address, 54 server identifier, plus any option the compile marks
 * as address-carrying); IPv6 ND target address and source/target link-layer
 * address options. Every checksum touched is fixed; a malformed control-plane
 * payload (truncated DHCP, bad option length, odd ARP sizes) is counted as an
 * anomaly and the copy dropped as malformed, never a crash.
 *
 * The tables struct gains the fields it needs (MAC hash, cp bits, rule); the
 * plan-based st_rewrite_compile() keeps working for the walking skeleton. */
struct st_rewrite_tables *st_rewrite_compile_policy(const struct st_policy_conf *pol,
						    const char *name_suffix,
						    struct st_error *err);

/* Like st_rewrite_frame(), for a copy that may have been truncated to a
 * snaplen: wire_len is the frame's length before truncation (length fields
 * are validated against it), pkt_len what is present. Checksums are adjusted
 * incrementally, so they stay right for the whole packet. res->unmapped_seen
 * is set when the unmapped rule is COUNT and an address was outside the maps
 * (and res->drop is then ST_DROP_UNMAPPED too: the copy is not sent). */
void st_rewrite_frame_ex(const struct st_rewrite_tables *t, uint8_t *frame,
			 uint32_t seg_len, uint32_t pkt_len, uint32_t wire_len,
			 struct st_rewrite_result *res);
/* The same with a worker's routing state (BGP flows need it; NULL = none:
 * every BGP payload is then untranslatable). */
void st_rewrite_frame_rt(const struct st_rewrite_tables *t, struct st_rt_state *rt,
			 uint8_t *frame, uint32_t seg_len, uint32_t pkt_len,
			 uint32_t wire_len, struct st_rewrite_result *res);

/* ---- a policy's tables and the rewrite stage (stage.h) ------------------- */

struct rte_mbuf;
struct st_lcore;
struct st_pending;
struct st_policy;

/* Give pol the tables of conf: those of `current` (may be NULL) when the
 * topology part of conf is the same (reference-counted, under policy_lock),
 * else new ones. err names "policy...". */
int st_rewrite_attach(struct st_policy *pol, const struct st_policy_conf *conf,
		      const struct st_policy *current, struct st_error *err);
void st_rewrite_detach(struct st_policy *pol);

uint32_t st_rewrite_stage(struct st_lcore *lc, const struct st_policy *pol,
			  struct st_pending *p, uint32_t n);
uint16_t st_rewrite_stage_short(struct st_lcore *lc, const struct st_policy *pol,
				struct rte_mbuf **m, uint16_t n);

#endif /* ST_REWRITE_H */
