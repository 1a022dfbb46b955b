/* SPDX-License-Identifier: BSD-3-Clause
 * Mirror policy: the compiled, flat form that crosses from TypeScript
 * (src/policy/compile.ts) into the data plane, and the public entry points to
 * install it. Everything here is plain data; the data plane compiles it into
 * immutable tables (rte_acl contexts, rte_lpm/rte_lpm6, rte_hash for MACs,
 * precomputed encap headers) and swaps them in with rte_rcu_qsbr, so a policy
 * change applies while traffic flows and every packet sees either the whole
 * old or the whole new policy.
 *
 * Semantics (TypeScript has already validated, defaulted and expanded):
 * - sessions[] is in evaluation order (priority ascending, then id).
 * - A packet is offered to every session whose `sources` contains the bit of
 *   (port it was seen on, direction): bit = 2 * port_index + dir, dir 0 = rx
 *   (received on that port), dir 1 = tx (forwarded out of that port).
 * - Within a session, the FIRST rule that matches decides (accept or reject);
 *   no matching rule = reject. A session with no filters gets one accept-all
 *   rule from TypeScript.
 * - Per target: the first session (in order) that accepts gets the packet
 *   (cloud traffic-mirroring semantics), unless match_all is set, in which
 *   case every accepting session mirrors it (one copy per session).
 * - Then, per mirroring session: sampling, rate cap, copy (snaplen), rewrite
 *   (topology translation incl. control-plane payloads), shadow firewall,
 *   encapsulation, transmit to the target's ports.
 */
#ifndef ST_POLICY_H
#define ST_POLICY_H

#include <stdint.h>
#include "st_dataplane.h"

#ifdef __cplusplus
extern "C" {
#endif

#define ST_MAX_SESSIONS     1024
#define ST_MAX_RULES        16384   /* classifier rules after expansion */
#define ST_MAX_TARGETS      16
#define ST_MAX_SIGNATURES   32
#define ST_SIG_MAX_LEN      16
#define ST_MAX_MAC_MAPS     1024
#define ST_MAX_FW_RULES     4096
#define ST_MAX_RATE         9007199254740991LL  /* pps or bps: what a JS number holds exactly */

enum st_rule_action {
	ST_RULE_ACCEPT = 0,
	ST_RULE_REJECT = 1,
};

/* Where a signature's offset is counted from. */
enum st_sig_base {
	ST_SIG_L2 = 0,        /* start of the Ethernet frame */
	ST_SIG_L3 = 1,        /* start of the IP header */
	ST_SIG_L4 = 2,        /* start of the TCP/UDP/ICMP header */
	ST_SIG_PAYLOAD = 3,   /* first byte after the TCP/UDP header */
};

/* User signature: matches when (frame[base + offset + i] & mask[i]) == value[i]
 * for i < len, all inside the frame. */
struct st_signature_conf {
	uint8_t base;          /* enum st_sig_base */
	uint16_t offset;
	uint8_t len;           /* 1..ST_SIG_MAX_LEN */
	uint8_t value[ST_SIG_MAX_LEN];
	uint8_t mask[ST_SIG_MAX_LEN];
};

/* One classifier rule. Wildcards: masks/lengths of 0, full ranges. IPv4
 * addresses are carried as IPv4-mapped IPv6 (::ffff:a.b.c.d) with len + 96. */
struct st_rule_conf {
	uint16_t session;         /* index into sessions[] */
	uint32_t rule_slot;       /* counter slot for per-rule hits, < ST_MAX_RULES */
	uint8_t action;           /* enum st_rule_action */
	uint16_t ethertype;       /* matched when (et & ethertype_mask) == ethertype */
	uint16_t ethertype_mask;
	uint16_t vlan_lo, vlan_hi; /* outer VLAN id range; 4096 = untagged; any = 0..4096 */
	uint8_t ip_version;       /* 0 = any (incl. non-IP), 4, 6 */
	uint8_t proto, proto_mask;
	uint8_t src[16];
	uint8_t src_len;          /* 0..128 */
	uint8_t dst[16];
	uint8_t dst_len;
	uint16_t sport_lo, sport_hi;
	uint16_t dport_lo, dport_hi;
	uint8_t tcp_flags, tcp_flags_mask;
	int8_t signature;         /* -1 = none, else index into signatures[] */
};

enum st_sample_mode {
	ST_SAMPLE_ALL = 0,        /* 100 % */
	ST_SAMPLE_PACKET = 1,     /* independent per packet */
	ST_SAMPLE_FLOW = 2,       /* symmetric 5-tuple hash: a flow is whole or absent, both directions */
};

struct st_session_conf {
	uint32_t id;              /* operator's session id */
	uint16_t slot;            /* counter slot, stable across swaps, < ST_MAX_SESSIONS */
	uint16_t target;          /* index into targets[] */
	uint32_t sources;         /* bitmask, see header comment */
	uint8_t sample_mode;      /* enum st_sample_mode */
	uint32_t sample_threshold; /* sampled when hash32 < threshold (pct * 2^32 / 100) */
	uint32_t snaplen;         /* 0 = whole frame; else copy at most this many bytes */
	uint64_t rate_pps;        /* 0 = no cap; each worker gets rate / nb_workers */
	uint64_t rate_bps;        /* 0 = no cap; bits on the shadow wire incl. encap */
};

enum st_encap {
	ST_ENCAP_NONE = 0,
	ST_ENCAP_VLAN = 1,        /* push an 802.1Q tag */
	ST_ENCAP_VXLAN = 2,       /* outer Ether/IP/UDP(4789)/VXLAN(VNI) */
	ST_ENCAP_GENEVE = 3,      /* outer Ether/IP/UDP(6081)/Geneve(VNI, proto 0x6558) */
};

struct st_target_conf {
	uint16_t nb_ports;
	int16_t ports[ST_MAX_PORTS];  /* indexes into start plan ports; role shadow only */
	uint8_t encap;                /* enum st_encap */
	uint16_t vlan_id;             /* VLAN encap */
	uint8_t vlan_pcp;
	uint32_t vni;                 /* VXLAN/GENEVE, 24 bits */
	uint16_t udp_dst_port;        /* 4789 / 6081 unless overridden */
	uint8_t outer_ipv6;           /* 0: outer IPv4 */
	uint8_t outer_src[16];        /* IPv4 in the first 4 bytes when outer_ipv6 == 0 */
	uint8_t outer_dst[16];
	uint8_t outer_src_mac[6];
	uint8_t outer_dst_mac[6];
	uint8_t outer_ttl;
};

struct st_mac_map {
	uint8_t from[6];
	uint8_t to[6];
};

/* What to do with a copy that has an address outside every map. */
enum st_unmapped_rule {
	ST_UNMAPPED_RULE_DROP = 0,    /* not sent; dropped{unmapped} */
	ST_UNMAPPED_RULE_MIRROR = 1,  /* sent; covered addresses translated, others kept */
	ST_UNMAPPED_RULE_COUNT = 2,   /* not sent; counted only as unmapped_seen (no drop) */
};

/* Control-plane payload translation switches (on by default in the config). */
#define ST_CP_ARP   (1u << 0)   /* ARP sender/target IP and MAC */
#define ST_CP_DHCP  (1u << 1)   /* DHCPv4 yiaddr/ciaddr/siaddr/giaddr, chaddr, address options */
#define ST_CP_ND    (1u << 2)   /* IPv6 ND target address and link-layer options */
#define ST_CP_ALL   (ST_CP_ARP | ST_CP_DHCP | ST_CP_ND)

/* One router-id map entry (BGP identifiers, OSPF router ids). */
struct st_rid_map {
	uint32_t from, to;   /* host byte order */
};

struct st_fw_rule {
	uint8_t action;           /* enum st_rule_action: ACCEPT = allow, REJECT = deny */
	uint8_t ip_version;       /* 0 any, 4, 6 */
	uint8_t proto, proto_mask;
	uint8_t src[16];
	uint8_t src_len;
	uint8_t dst[16];
	uint8_t dst_len;
	uint16_t sport_lo, sport_hi;
	uint16_t dport_lo, dport_hi;
};

struct st_policy_conf {
	uint32_t generation;      /* increases with every install; echoed in stats */
	uint8_t match_all;        /* 1: every accepting session mirrors (not first per target) */
	/* 1: rte_acl for every session that needs a classifier, however few its
	 * rules (the tests hold the direct evaluator to it); 0: the compile
	 * chooses (ST_DIRECT_MAX_RULES, compiled_policy.h). */
	uint8_t force_acl;
	uint16_t nb_sessions;
	struct st_session_conf *sessions;
	uint32_t nb_rules;
	struct st_rule_conf *rules;
	uint16_t nb_targets;
	struct st_target_conf targets[ST_MAX_TARGETS];
	uint16_t nb_signatures;
	struct st_signature_conf signatures[ST_MAX_SIGNATURES];
	/* topology translation */
	uint16_t nb_map4;
	struct st_map4 map4[ST_MAX_MAPS];
	uint16_t nb_map6;
	struct st_map6 map6[ST_MAX_MAPS];
	uint16_t nb_mac_maps;
	struct st_mac_map *mac_maps;
	uint8_t default_src_mac[6];   /* for MACs outside every MAC map (all zero = keep) */
	uint8_t default_dst_mac[6];
	uint8_t unmapped;             /* enum st_unmapped_rule */
	uint32_t control_plane;       /* ST_CP_* bits */
	uint16_t nb_router_ids;
	struct st_rid_map router_ids[ST_MAX_RIDS];
	uint8_t leak[ST_LEAK__COUNT]; /* enum st_leak_action per enum st_leak_kind (leak.h) */
	/* shadow firewall: translated security rules enforced on copies */
	uint8_t fw_enabled;
	uint8_t fw_default;           /* enum st_rule_action when no rule matches */
	uint32_t nb_fw_rules;
	struct st_fw_rule *fw_rules;
};

/* Reasons a session's copy was not sent (per session counters). */
enum st_session_drop {
	ST_SDROP_RATE = 0,      /* over the session's pps/bps cap */
	ST_SDROP_NOMEM,
	ST_SDROP_TX_FULL,
	ST_SDROP_UNMAPPED,
	ST_SDROP_MALFORMED,
	ST_SDROP_FIREWALL,      /* denied by the translated security rules */
	ST_SDROP_ENCAP,         /* no headroom / encapsulation failed */
	ST_SDROP_NOT_IP,        /* the rewrite refused a non-IP frame (like ST_DROP_NOT_IP) */
	ST_SDROP_LEAK,          /* a payload that could not be translated (like ST_DROP_LEAK) */
	ST_SDROP__COUNT
};
#define ST_SDROP_NAMES { "rate", "nomem", "tx_full", "unmapped", "malformed", "firewall", \
	"encap", "not_ip", "leak" }

struct st_session_stats {
	uint64_t matched;          /* accepted by a filter rule */
	uint64_t sampled;          /* passed sampling */
	uint64_t mirrored_packets, mirrored_bytes;  /* handed to shadow tx */
	uint64_t truncated;        /* copies cut to snaplen */
	uint64_t unmapped_seen;    /* unmapped rule = count */
	uint64_t dropped[ST_SDROP__COUNT];
};

/* Check a policy's fields one by one (ranges, counts, indexes into its own
 * arrays) without building anything: the binding calls it before it queues
 * an install. The compile calls it again, then checks what no single field
 * shows (a slot or a target port used twice). */
int st_policy_check(const struct st_policy_conf *pol, struct st_error *err);

/* Build the policy's tables and make it current (RCU swap). Callable while
 * workers run (from any thread); on failure the running policy is untouched.
 * Before st_dp_launch it simply becomes the initial policy. */
int st_dp_policy_install(const struct st_policy_conf *pol, struct st_error *err);

/* NIC MARKs (src/offload/planner.ts, MARK): a hardware rule of the placement
 * start plan marks what it decided; the software path reads the mark from
 * mbuf hash.fdir.hi (RTE_MBUF_F_RX_FDIR_ID) on production ports.
 * - ST_MARK_DECIDED_BASE + slot with kind NIC_DECIDED: the session accepted
 *   the packet and the NIC made its copy (hybrid-mirror, hardware); software
 *   forwards it to production and makes no copy of it.
 * - ST_MARK_COPY_BASE + slot with kind NIC_COPY: a copy the NIC made for the
 *   session (hybrid-mirror); never forwarded to production; software rate-caps,
 *   truncates, translates, filters, encapsulates and sends it.
 * - any other MARK (punts, hybrid-classify decisions) changes nothing: the
 *   whole software policy applies.
 * A MARK in the copy range that is not installed (a rule left from an older
 * start plan) is dropped and counted as dropped{nic_copy}: whatever happens, a
 * NIC-made copy never reaches a production port. */
#define ST_MARK_DECIDED_BASE 0x100u
#define ST_MARK_COPY_BASE    0x1000u

enum st_mark_kind {
	ST_MARK_KIND_NIC_DECIDED = 1,
	ST_MARK_KIND_NIC_COPY = 2,
};

/* At most one entry per (port, slot, kind). */
#define ST_MAX_MARKS (ST_MAX_PORTS * ST_MAX_SESSIONS * 2)

struct st_mark_conf {
	uint16_t port;            /* start plan port index (a production port) */
	uint16_t slot;            /* session counter slot, < ST_MAX_SESSIONS */
	uint8_t kind;             /* enum st_mark_kind */
};

/* Make `marks` the MARKs honoured (nb = 0: none). Callable while workers run;
 * returns once no worker can still see the previous table. On failure the
 * running table is untouched; err names "marks[i].<field>". */
int st_dp_marks_install(const struct st_mark_conf *marks, uint32_t nb, struct st_error *err);

/* Which fast path the running policy takes: 1 = the short path for the
 * common shape (one session copying every packet whole to one target, no
 * classifier, sampling, cap, encapsulation or firewall), 0 = the general
 * path, -1 = no policy running. */
int st_dp_policy_path(void);
/* How each session of the running policy finds its deciding rule, by
 * counter slot: 0 none (no rule, or a first rule matching everything),
 * 1 the direct evaluator, 2 rte_acl (enum st_classifier); slots without a
 * session read 0. -1 = no policy running. */
int st_dp_policy_classifiers(uint8_t *by_slot, uint16_t nb_slots);

/* Per-session counters summed over workers, indexed by slot; `rule_hits`
 * (may be NULL) gets ST_MAX_RULES slots. */
int st_dp_policy_stats(struct st_session_stats *out, uint16_t nb_slots,
		       uint64_t *rule_hits, uint32_t nb_rule_slots,
		       uint32_t *generation);

#ifdef __cplusplus
}
#endif

#endif /* ST_POLICY_H */
