/* SPDX-License-Identifier: BSD-3-Clause
 * Shadow-target encapsulation: VLAN push, VXLAN and GENEVE toward a remote
 * shadow network.
 *
 * Control time (encap_ctl.c): st_encap_build() precomputes the whole outer
 * header (Ethernet, IPv4/IPv6, UDP, VXLAN/GENEVE) once per target, with the
 * outer IPv4 checksum computed for a zero total length so the fast path only
 * folds in the real length (RFC 1624).
 *
 * Fast path (encap_node.c): st_encap_apply() prepends the template to a copy
 * (never a production mbuf), fills lengths, checksum, and the UDP source port
 * from the flow hash (entropy for ECMP/RSS on the far side: 49152 + hash %
 * 16384). Outer UDP checksum: 0 over IPv4 (RFC 7348), computed over IPv6.
 */
#ifndef ST_ENCAP_H
#define ST_ENCAP_H

#include <stdint.h>
#include "st_dataplane.h"
#include "policy.h"

struct rte_mbuf;

#define ST_ENCAP_MAX_HDR 96

struct st_encap_tmpl {
	uint8_t kind;                 /* enum st_encap */
	uint8_t outer_ipv6;
	uint16_t hdr_len;             /* bytes to prepend (VLAN: 4, inserted after the MACs) */
	uint16_t l3_off, l4_off;      /* offsets of the outer IP and UDP headers in hdr */
	uint16_t vlan_tci;            /* VLAN encap */
	uint16_t ip_csum_base;        /* outer IPv4 checksum for total length 0 */
	uint8_t hdr[ST_ENCAP_MAX_HDR];
};

/* Build the template for one target; ST_ERR_ENCAP naming "targets[i].<field>". */
int st_encap_build(const struct st_target_conf *t, uint16_t target_index,
		   struct st_encap_tmpl *out, struct st_error *err);

/* Encapsulate m in place. Returns 0, or -1 when the mbuf lacks headroom
 * (the caller drops and counts dropped{encap}). ST_ENCAP_NONE is a no-op. */
int st_encap_apply(const struct st_encap_tmpl *tm, struct rte_mbuf *m,
		   uint32_t flow_hash);

/* ---- the encap stage of the shadow path (stage.h) ------------------------- */

struct st_lcore;
struct st_pending;
struct st_policy;

/* In the shadow path when some target of the policy encapsulates. */
int st_encap_needed(const struct st_policy *pol);
/* Each copy with its target's template; a copy without headroom is freed
 * and counted per session as dropped{encap}. */
uint32_t st_encap_stage(struct st_lcore *lc, const struct st_policy *pol,
			struct st_pending *p, uint32_t n);

#endif /* ST_ENCAP_H */
