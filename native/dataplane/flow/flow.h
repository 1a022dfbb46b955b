/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * rte_flow programming: a C mirror of src/offload/flow.ts FlowRule, free of
 * DPDK headers so the binding can fill it. Arrays are fixed size and end in
 * END (type 0); each item carries its spec and mask side by side (the binding
 * already turned "spec without mask" into a full mask). SAMPLE's copy list and
 * VXLAN_ENCAP's definition live in side arrays of the rule, named by range.
 *
 * Every call zeroes struct rte_flow_error first and never trusts its message
 * (net_tap may leave it unset): a result carries errno (rte_errno), the error
 * type and a sanitised copy of the message, empty when the driver gave none.
 */
#ifndef ST_FLOW_H
#define ST_FLOW_H

#include <stdint.h>

#define ST_FLOW_MAX_ITEMS 12
#define ST_FLOW_MAX_ACTIONS 16
#define ST_FLOW_MAX_SUB 8
#define ST_FLOW_MAX_QUEUES 16
#define ST_FLOW_MAX_INSTALLED 4096
#define ST_FLOW_MSG 128

#ifdef __cplusplus
extern "C" {

#endif

enum st_flow_item_type {
	ST_FI_END = 0,
	ST_FI_ETH,
	ST_FI_VLAN,
	ST_FI_IPV4,
	ST_FI_IPV6,
	ST_FI_UDP,
	ST_FI_TCP,
	ST_FI_ICMP,
	ST_FI_ICMP6,
	ST_FI_VXLAN,
	ST_FI_GENEVE,
	ST_FI_MARK,
	ST_FI_PORT_ID,
	ST_FI_REPRESENTED_PORT,
};

enum st_flow_action_type {
	ST_FA_END = 0,
	ST_FA_COUNT,
	ST_FA_DROP,
	ST_FA_PASSTHRU,
	ST_FA_MARK,
	ST_FA_QUEUE,
	ST_FA_RSS,
	ST_FA_JUMP,
	ST_FA_SAMPLE,
	ST_FA_PORT_ID,
	ST_FA_REPRESENTED_PORT,
	ST_FA_SET_IPV4_SRC,
	ST_FA_SET_IPV4_DST,
	ST_FA_SET_IPV6_SRC,
	ST_FA_SET_IPV6_DST,
	ST_FA_SET_MAC_SRC,
	ST_FA_SET_MAC_DST,
	ST_FA_OF_PUSH_VLAN,
	ST_FA_OF_SET_VLAN_VID,
	ST_FA_OF_SET_VLAN_PCP,
	ST_FA_VXLAN_ENCAP,
	ST_FA_RAW_ENCAP,
};

/* Every field any item has; an item reads only its own. Network byte order
 * is applied in flow_ctl.c: values here are host order, addresses bytes. */
struct st_flow_fields {
	uint8_t mac_dst[6];
	uint8_t mac_src[6];
	uint16_t eth_type;
	uint16_t vlan_tci;      /* pcp << 13 | vid, or tci */
	uint16_t inner_type;
	uint8_t ip_src[16];     /* IPv4: first 4 bytes */
	uint8_t ip_dst[16];
	uint8_t proto;
	uint8_t tos;            /* IPv4 tos / IPv6 traffic class */
	uint8_t ttl;            /* IPv4 ttl / IPv6 hop limit */
	uint16_t l4_src;
	uint16_t l4_dst;
	uint8_t tcp_flags;
	uint8_t icmp_type;
	uint8_t icmp_code;
	uint32_t vni;
	uint16_t geneve_proto;
	uint32_t id;            /* mark id, port_id id, represented_port ethdev id */
};

struct st_flow_item {
	uint8_t type;           /* enum st_flow_item_type */
	uint8_t has_spec;       /* 0: any header of this type */
	struct st_flow_fields spec;
	struct st_flow_fields mask;
};

struct st_flow_action {
	uint8_t type;           /* enum st_flow_action_type */
	uint32_t value;         /* mark id, queue index, jump group, port id, ethertype, vid, pcp */
	uint8_t addr[16];       /* set_ipv4/ipv6 (4/16 bytes), set_mac (6 bytes) */
	uint16_t nb_queues;     /* rss: 0 = the port's own receive queues */
	uint16_t queues[ST_FLOW_MAX_QUEUES];
	uint32_t ratio;         /* sample */
	uint8_t sub_first;      /* sample: range in st_flow_rule.sub; encap: range in encap */
	uint8_t sub_count;
};

struct st_flow_rule {
	uint16_t port;          /* DPDK port id */
	uint32_t group;
	uint32_t priority;
	uint8_t ingress, egress, transfer;
	struct st_flow_item pattern[ST_FLOW_MAX_ITEMS];   /* ends in ST_FI_END */
	struct st_flow_action actions[ST_FLOW_MAX_ACTIONS]; /* ends in ST_FA_END */
	struct st_flow_action sub[ST_FLOW_MAX_SUB];       /* SAMPLE copy actions */
	struct st_flow_item encap[ST_FLOW_MAX_ITEMS];     /* VXLAN_ENCAP definitions */
};

struct st_flow_result {
	uint32_t id;            /* create: the installed rule's id (0 on failure) */
	int ok;
	int errnum;             /* positive rte_errno */
	int error_type;         /* enum rte_flow_error_type */
	char message[ST_FLOW_MSG]; /* printable copy; "" when the driver gave none */
};

struct st_flow_count {
	uint32_t id;
	int ok;
	int errnum;
	uint64_t hits;
	uint64_t bytes;
};

/* rte_flow_validate. Never fails itself: the outcome is in *res. */
void st_flow_validate(const struct st_flow_rule *rule, struct st_flow_result *res);
/* rte_flow_create; on success the rule is kept (deep copy) under res->id. */
void st_flow_create(const struct st_flow_rule *rule, struct st_flow_result *res);
/* rte_flow_destroy of a kept rule; an unknown id answers ENOENT. */
void st_flow_destroy(uint32_t id, struct st_flow_result *res);
/* rte_flow_flush of a port; kept rules of that port are forgotten. */
void st_flow_flush(uint16_t port, struct st_flow_result *res);
/* rte_flow_query (COUNT) of a kept rule. */
void st_flow_query_count(uint32_t id, struct st_flow_count *out);
/* The kept copy of an installed rule (for listing, reinstall); 0 when known. */
int st_flow_get(uint32_t id, struct st_flow_rule *out);
/* Forget every kept rule without touching the NIC (after EAL cleanup). */
void st_flow_forget_all(void);

#ifdef __cplusplus
}
#endif

#endif
