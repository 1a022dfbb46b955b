/* SPDX-License-Identifier: BSD-3-Clause
 * What the policy fast path reads of a frame besides the classification key
 * (classify.h): signature hits and the length of a truncated copy.
 *
 * Internal (classify_node.c, copy_node.c and the fuzz targets in native/fuzz): both work on
 * plain bytes (the first segment and its length), not on an mbuf, so a fuzz
 * target can hand them a buffer of exactly that length and AddressSanitizer
 * sees any read past it.
 */
#ifndef ST_POLICY_PARSE_H
#define ST_POLICY_PARSE_H

#include <stdint.h>

#include <netinet/in.h>
#include <rte_ether.h>

#include "classify.h"
#include "compiled_policy.h"

/* Bit s set when signature s of sigs[0..n) matches frame f (len bytes of it
 * readable), at offsets taken from the key k of that frame. */
static inline uint32_t
st_signature_hits(const struct st_pol_sig *sigs, uint16_t n, const struct st_key *k,
		  const uint8_t *f, uint32_t len)
{
	uint32_t hits = 0;
	uint16_t s;

	for (s = 0; s < n; s++) {
		const struct st_pol_sig *sg = &sigs[s];
		uint32_t base, start, i;

		switch (sg->base) {
		case ST_SIG_L2: base = 0; break;
		case ST_SIG_L3: base = k->l3_off; break;
		case ST_SIG_L4: base = k->l4_off; break;
		default: base = k->pay_off; break;
		}
		if (base == ST_KEY_NO_OFF)
			continue;
		start = base + sg->offset;
		if (start + sg->len > len)
			continue;
		for (i = 0; i < sg->len; i++)
			if ((f[start + i] & sg->mask[i]) != sg->value[i])
				break;
		if (i == sg->len)
			hits |= UINT32_C(1) << s;
	}
	return hits;
}

/* DNS, mDNS and LLMNR (either port): the rewrite translates the messages
 * whole (rewrite_dns.h), so a copy keeps them whole. */
static inline int
st_copy_dns_port(const uint8_t *f, uint32_t seg, uint32_t off)
{
	uint16_t sp, dp;

	if (off + 4 > seg)
		return 0;
	sp = (uint16_t)(f[off] << 8 | f[off + 1]);
	dp = (uint16_t)(f[off + 2] << 8 | f[off + 3]);
	return sp == 53 || dp == 53 || sp == 5353 || dp == 5353 || sp == 5355 || dp == 5355;
}

/* How many bytes a truncated copy keeps: snaplen, but never less than the
 * headers the rewrite translates (L2 with up to two VLAN tags, the IP header
 * and its extension headers, the TCP/UDP/ICMP header, the quoted header of
 * an ICMP error), and control-plane payloads the rewrite translates (DHCP,
 * IPv6 ND, DNS) whole: a copy cut inside a header could not be translated and
 * would be dropped. f is the first segment (seg bytes), len the packet's
 * length; only the first segment is read. */
static inline uint32_t
st_copy_len_frame(const uint8_t *f, uint32_t seg, uint32_t snaplen, uint32_t len)
{
	uint32_t off = RTE_ETHER_HDR_LEN, need;
	uint16_t et;
	uint8_t nh;

	if (seg < RTE_ETHER_HDR_LEN)
		return snaplen;
	et = (uint16_t)(f[12] << 8 | f[13]);
	for (int k = 0; k < 2 && st_is_vlan_tpid(et) && off + 4 <= seg; k++) {
		et = (uint16_t)(f[off + 2] << 8 | f[off + 3]);
		off += 4;
	}
	if (et == RTE_ETHER_TYPE_ARP) {
		need = off + 28;
	} else if (et == RTE_ETHER_TYPE_IPV4 && off + 20 <= seg) {
		const uint8_t *ip = f + off;
		const uint32_t ihl = (uint32_t)(ip[0] & 0xf) * 4;
		const int first = (((ip[6] & 0x1f) << 8) | ip[7]) == 0;

		off += ihl;
		need = off;
		nh = ip[9];
		if (first && (nh == IPPROTO_TCP || nh == IPPROTO_UDP) && st_copy_dns_port(f, seg, off))
			need = len;
		else if (first && nh == IPPROTO_TCP)
			need = off + (off + 13 <= seg ? (uint32_t)(f[off + 12] >> 4) * 4 : 20);
		else if (first && nh == IPPROTO_UDP)
			need = off + 4 <= seg && (f[off + 1] == 67 || f[off + 1] == 68) && f[off] == 0 &&
				f[off + 2] == 0 && (f[off + 3] == 67 || f[off + 3] == 68) ? len : off + 8;
		else if (first && nh == IPPROTO_ICMP)
			need = off + 1 <= seg && (f[off] == 3 || f[off] == 4 || f[off] == 5 || f[off] == 11 ||
						f[off] == 12) ? off + 8 + 60 + 8 : off + 8;
	} else if (et == RTE_ETHER_TYPE_IPV6 && off + 40 <= seg) {
		int later;

		nh = f[off + 6];
		off += 40;
		nh = st_ipv6_walk(f, seg, &off, nh, &later);
		need = off;   /* a later fragment has no upper-layer header */
		if (!later && (nh == IPPROTO_TCP || nh == IPPROTO_UDP) && st_copy_dns_port(f, seg, off))
			need = len;
		else if (!later && nh == IPPROTO_TCP)
			need = off + (off + 13 <= seg ? (uint32_t)(f[off + 12] >> 4) * 4 : 20);
		else if (!later && nh == IPPROTO_UDP)
			need = off + 8;
		else if (!later && nh == IPPROTO_ICMPV6)
			need = off + 1 <= seg && f[off] >= 133 && f[off] <= 137 ? len
				: off + 1 <= seg && f[off] >= 1 && f[off] <= 4 ? off + 8 + 40 + 8 : off + 8;
	} else {
		return snaplen;
	}
	if (need < snaplen)
		return snaplen;
	return need < len ? need : len;
}

#endif /* ST_POLICY_PARSE_H */
