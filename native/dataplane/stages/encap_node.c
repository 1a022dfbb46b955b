/* SPDX-License-Identifier: BSD-3-Clause
 * Fast-path half of shadow-target encapsulation: st_encap_apply().
 *
 * The copy must be a private, direct mbuf (rte_pktmbuf_copy): its first
 * segment is written. Nothing is changed when it returns -1.
 * - VLAN: 4 bytes are prepended and the 12 bytes of MACs moved to the front,
 *   leaving the template's TPID/TCI right after them. The first segment must
 *   hold the 12 bytes of MACs.
 * - VXLAN/GENEVE: the template is prepended; then the outer lengths (IPv4
 *   total length or IPv6 payload length, UDP length = 16 + inner frame),
 *   the UDP source port 49152 + flow_hash % 16384 (RFC 7348 entropy), over
 *   IPv6 the flow label (low 20 bits of flow_hash, RFC 6438), and:
 *   IPv4 header checksum = template base + total length (RFC 1624), UDP
 *   checksum 0 (RFC 7348); IPv6 UDP checksum computed in full over the
 *   pseudo-header and the whole datagram, every segment of a chained copy
 *   included (RFC 8200 needs it; RFC 6935 zero checksums are not assumed
 *   to be accepted by the far end). A result of 0 is sent as 0xFFFF.
 * Returns -1 without touching the mbuf when the headroom is short, the
 * first segment has no room for the MACs (VLAN), or the outer length would
 * exceed 65535.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <string.h>

#include <rte_byteorder.h>
#include <rte_ether.h>
#include <rte_ip.h>
#include <rte_mbuf.h>

#include "encap.h"
#include "lcore.h"
#include "compiled_policy.h"

static inline void enc_wr16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)(v >> 8);
	p[1] = (uint8_t)v;
}

static inline uint32_t enc_fold(uint32_t s)
{
	s = (s & 0xffff) + (s >> 16);
	s = (s & 0xffff) + (s >> 16);
	return s;
}

/* Big-endian one's complement sum of [off, pkt_len) over every segment. A
 * segment that starts at an odd offset of the sum contributes its bytes
 * swapped (RFC 1071 byte order independence). */
static uint32_t enc_sum_mbuf(const struct rte_mbuf *m, uint32_t off)
{
	uint32_t sum = 0, pos = 0;

	for (const struct rte_mbuf *s = m; s != NULL; s = s->next) {
		uint32_t len = s->data_len;
		const uint8_t *p = rte_pktmbuf_mtod(s, const uint8_t *);
		uint16_t v;

		if (off >= len) {
			off -= len;
			continue;
		}
		p += off;
		len -= off;
		off = 0;
		/* rte_raw_cksum sums 16-bit words in memory order: as big
		 * endian after rte_be_to_cpu_16 */
		v = rte_be_to_cpu_16(rte_raw_cksum(p, len));
		if (pos & 1)
			v = (uint16_t)(v << 8 | v >> 8);
		sum = enc_fold(sum + v);
		pos += len;
	}
	return sum;
}

static uint16_t enc_udp6_csum(const struct rte_mbuf *m, const uint8_t *ip,
			      uint32_t l4_off, uint32_t udp_len)
{
	uint32_t s = enc_sum_mbuf(m, l4_off);

	for (unsigned int i = 8; i < 40; i += 2)    /* source, destination */
		s += (uint32_t)ip[i] << 8 | ip[i + 1];
	s += udp_len >> 16;
	s += udp_len & 0xffff;
	s += 17;
	s = (uint16_t)~enc_fold(s);
	return s == 0 ? 0xffff : (uint16_t)s;
}

int st_encap_apply(const struct st_encap_tmpl *tm, struct rte_mbuf *m,
		   uint32_t flow_hash)
{
	uint8_t *p, *ip, *udp;
	uint32_t inner, udp_len;

	switch (tm->kind) {
	case ST_ENCAP_NONE:
		return 0;
	case ST_ENCAP_VLAN:
		if (m->data_len < 2 * RTE_ETHER_ADDR_LEN)
			return -1;
		p = (uint8_t *)rte_pktmbuf_prepend(m, 4);
		if (p == NULL)
			return -1;
		memmove(p, p + 4, 2 * RTE_ETHER_ADDR_LEN);
		memcpy(p + 2 * RTE_ETHER_ADDR_LEN, tm->hdr, 4);
		return 0;
	case ST_ENCAP_VXLAN:
	case ST_ENCAP_GENEVE:
		break;
	default:
		return -1;
	}

	inner = rte_pktmbuf_pkt_len(m);
	udp_len = (uint32_t)(tm->hdr_len - tm->l4_off) + inner;
	if (udp_len + (tm->outer_ipv6 ? 0u : 20u) > UINT16_MAX)
		return -1;
	p = (uint8_t *)rte_pktmbuf_prepend(m, tm->hdr_len);
	if (p == NULL)
		return -1;
	memcpy(p, tm->hdr, tm->hdr_len);
	ip = p + tm->l3_off;
	udp = p + tm->l4_off;
	enc_wr16(udp, (uint16_t)(0xc000u | (flow_hash & 0x3fffu)));
	enc_wr16(udp + 4, (uint16_t)udp_len);
	if (tm->outer_ipv6) {
		ip[1] = (uint8_t)(ip[1] | ((flow_hash >> 16) & 0x0f));
		ip[2] = (uint8_t)(flow_hash >> 8);
		ip[3] = (uint8_t)flow_hash;
		enc_wr16(ip + 4, (uint16_t)udp_len);
		enc_wr16(udp + 6, enc_udp6_csum(m, ip, tm->l4_off, udp_len));
	} else {
		uint32_t tot = udp_len + 20;
		uint32_t s = (uint32_t)(uint16_t)~tm->ip_csum_base + tot;

		enc_wr16(ip + 2, (uint16_t)tot);
		enc_wr16(ip + 10, (uint16_t)~enc_fold(s));
	}
	return 0;
}

uint32_t
st_encap_stage(struct st_lcore *lc, const struct st_policy *pol, struct st_pending *p,
	       uint32_t n)
{
	struct st_lcore_ctr *c = &lc->ctr;
	uint32_t i, k = 0;

	for (i = 0; i < n; i++) {
		const struct st_pol_session *ps = &pol->sessions[p[i].session];
		const struct st_pol_target *tg = &pol->targets[ps->target];

		if (tg->tmpl.kind != ST_ENCAP_NONE &&
		    unlikely(st_encap_apply(&tg->tmpl, p[i].m, p[i].hash) != 0)) {
			c->sess[ps->slot].dropped[ST_SDROP_ENCAP]++;
			rte_pktmbuf_free(p[i].m);
			continue;
		}
		p[k++] = p[i];
	}
	return k;
}
