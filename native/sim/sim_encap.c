/* SPDX-License-Identifier: BSD-3-Clause
 * net_shadowsim's encapsulation templates: the header VXLAN_ENCAP and
 * NVGRE_ENCAP push, built once from the action's item list when a rule is
 * compiled, and where its length fields and checksum lie, so the fast path
 * (sim_rewrite.c) fills them per packet as the NIC does.
 */
#include <errno.h>
#include <string.h>

#include <rte_flow.h>

#include "sim.h"

/* Where the outer IP and UDP headers of an encapsulation header are, so the
 * executor can fill the length fields and the IPv4 checksum as the NIC does. */
void st_sim_encap_locate(const uint8_t *buf, uint16_t len, uint16_t *l3_off, uint8_t *l3, uint16_t *l4_off)
{
	uint16_t off = 14, type;
	uint8_t proto = 0;

	*l3_off = 0;
	*l3 = 0;
	*l4_off = 0;
	if (len < 14)
		return;
	type = (uint16_t)(buf[12] << 8 | buf[13]);
	while ((type == RTE_ETHER_TYPE_VLAN || type == RTE_ETHER_TYPE_QINQ) && off + 4 <= len) {
		type = (uint16_t)(buf[off + 2] << 8 | buf[off + 3]);
		off += 4;
	}
	if (type == RTE_ETHER_TYPE_IPV4 && off + 20 <= len) {
		*l3_off = off;
		*l3 = 4;
		proto = buf[off + 9];
		off += (uint16_t)((buf[off] & 0x0f) * 4);
	} else if (type == RTE_ETHER_TYPE_IPV6 && off + 40 <= len) {
		*l3_off = off;
		*l3 = 6;
		proto = buf[off + 6];
		off += 40;
	} else {
		return;
	}
	if (proto == IPPROTO_UDP && off + 8 <= len)
		*l4_off = off;
}

/* Builds the header of VXLAN_ENCAP / NVGRE_ENCAP from its item list, filling
 * what the application left zero the way mlx5 does (EtherType, IPv4
 * version/IHL and TTL 64, IPv6 version and hop limit 255, UDP port 4789,
 * VXLAN flags, IP protocol). */
int st_sim_encap_template(const struct rte_flow_item *def, uint8_t *buf, uint16_t *len, uint16_t *l3_off,
			  uint8_t *l3, uint16_t *l4_off, const char **why)
{
	struct rte_ether_hdr *eth = NULL;
	struct rte_vlan_hdr *vlan = NULL;
	struct rte_ipv4_hdr *ipv4 = NULL;
	struct rte_ipv6_hdr *ipv6 = NULL;
	struct rte_udp_hdr *udp = NULL;
	uint16_t n = 0;

	if (def == NULL) {
		*why = "invalid empty data";
		return -EINVAL;
	}
	for (; def->type != RTE_FLOW_ITEM_TYPE_END; def++) {
		uint16_t hl;

		switch (def->type) {
		case RTE_FLOW_ITEM_TYPE_VOID:
			continue;
		case RTE_FLOW_ITEM_TYPE_ETH:
			hl = sizeof(struct rte_ether_hdr);
			break;
		case RTE_FLOW_ITEM_TYPE_VLAN:
			hl = sizeof(struct rte_vlan_hdr);
			break;
		case RTE_FLOW_ITEM_TYPE_IPV4:
			hl = sizeof(struct rte_ipv4_hdr);
			break;
		case RTE_FLOW_ITEM_TYPE_IPV6:
			hl = sizeof(struct rte_ipv6_hdr);
			break;
		case RTE_FLOW_ITEM_TYPE_UDP:
			hl = sizeof(struct rte_udp_hdr);
			break;
		case RTE_FLOW_ITEM_TYPE_VXLAN:
			hl = sizeof(struct rte_vxlan_hdr);
			break;
		case RTE_FLOW_ITEM_TYPE_NVGRE:
			hl = 8;
			break;
		default:
			*why = "unsupported item in the encapsulation definition";
			return -ENOTSUP;
		}
		if (n + hl > ST_SIM_ENCAP_MAX) {
			*why = "items total size is too big for encap action";
			return -EINVAL;
		}
		if (def->spec == NULL) {
			*why = "encapsulation item without spec";
			return -EINVAL;
		}
		memcpy(buf + n, def->spec, hl);
		switch (def->type) {
		case RTE_FLOW_ITEM_TYPE_ETH:
			eth = (struct rte_ether_hdr *)(buf + n);
			break;
		case RTE_FLOW_ITEM_TYPE_VLAN:
			if (eth == NULL) {
				*why = "eth header not found";
				return -EINVAL;
			}
			vlan = (struct rte_vlan_hdr *)(buf + n);
			if (eth->ether_type == 0)
				eth->ether_type = RTE_BE16(RTE_ETHER_TYPE_VLAN);
			break;
		case RTE_FLOW_ITEM_TYPE_IPV4:
			if (eth == NULL) {
				*why = "neither eth nor vlan header found";
				return -EINVAL;
			}
			ipv4 = (struct rte_ipv4_hdr *)(buf + n);
			if (vlan != NULL && vlan->eth_proto == 0)
				vlan->eth_proto = RTE_BE16(RTE_ETHER_TYPE_IPV4);
			else if (vlan == NULL && eth->ether_type == 0)
				eth->ether_type = RTE_BE16(RTE_ETHER_TYPE_IPV4);
			if (ipv4->version_ihl == 0)
				ipv4->version_ihl = 0x45;
			if (ipv4->time_to_live == 0)
				ipv4->time_to_live = 64;
			break;
		case RTE_FLOW_ITEM_TYPE_IPV6:
			if (eth == NULL) {
				*why = "neither eth nor vlan header found";
				return -EINVAL;
			}
			ipv6 = (struct rte_ipv6_hdr *)(buf + n);
			if (vlan != NULL && vlan->eth_proto == 0)
				vlan->eth_proto = RTE_BE16(RTE_ETHER_TYPE_IPV6);
			else if (vlan == NULL && eth->ether_type == 0)
				eth->ether_type = RTE_BE16(RTE_ETHER_TYPE_IPV6);
			if (ipv6->vtc_flow == 0)
				ipv6->vtc_flow = RTE_BE32(0x60000000);
			if (ipv6->hop_limits == 0)
				ipv6->hop_limits = 0xff;
			break;
		case RTE_FLOW_ITEM_TYPE_UDP:
			if (ipv4 == NULL && ipv6 == NULL) {
				*why = "ip header not found";
				return -EINVAL;
			}
			udp = (struct rte_udp_hdr *)(buf + n);
			if (ipv4 != NULL && ipv4->next_proto_id == 0)
				ipv4->next_proto_id = IPPROTO_UDP;
			else if (ipv6 != NULL && ipv6->proto == 0)
				ipv6->proto = IPPROTO_UDP;
			break;
		case RTE_FLOW_ITEM_TYPE_VXLAN: {
			struct rte_vxlan_hdr *vx = (struct rte_vxlan_hdr *)(buf + n);

			if (udp == NULL) {
				*why = "udp header not found";
				return -EINVAL;
			}
			if (udp->dst_port == 0)
				udp->dst_port = RTE_BE16(RTE_VXLAN_DEFAULT_PORT);
			if (vx->vx_flags == 0)
				vx->vx_flags = RTE_BE32(0x08000000);
			break;
		}
		case RTE_FLOW_ITEM_TYPE_NVGRE: {
			/* c_k_s_rsvd0_ver, protocol, tni[3], flow_id */
			uint8_t *g = buf + n;

			if (g[2] == 0 && g[3] == 0) {
				*why = "next protocol not found";
				return -EINVAL;
			}
			if (ipv4 == NULL && ipv6 == NULL) {
				*why = "ip header not found";
				return -EINVAL;
			}
			if (ipv4 != NULL && ipv4->next_proto_id == 0)
				ipv4->next_proto_id = IPPROTO_GRE;
			else if (ipv6 != NULL && ipv6->proto == 0)
				ipv6->proto = IPPROTO_GRE;
			break;
		}
		default:
			break;
		}
		n += hl;
	}
	if (n == 0) {
		*why = "invalid empty data";
		return -EINVAL;
	}
	*len = n;
	st_sim_encap_locate(buf, n, l3_off, l3, l4_off);
	return 0;
}

