/* SPDX-License-Identifier: BSD-3-Clause
 * Control-time half of shadow-target encapsulation: st_encap_build() turns
 * one target into a ready-made outer header that st_encap_apply() copies in
 * front of each copy, so the fast path only fills lengths, one checksum and
 * the UDP source port.
 *
 * Template layouts (hdr[], network order):
 * - VLAN: 4 bytes, TPID 0x8100 + TCI (PCP << 13 | VID); inserted after the
 *   MACs, so an already tagged copy gets a second, outer tag.
 * - VXLAN (RFC 7348): Ethernet (outer MACs, 0x0800/0x86dd) | IPv4 (DF, id 0,
 *   TTL, proto 17) or IPv6 (hop limit = TTL, next header 17) | UDP (source
 *   port filled per packet, destination 4789 or udp_dst_port) | VXLAN (flags
 *   0x08 = VNI valid, VNI << 8). 50 bytes over IPv4, 70 over IPv6.
 * - GENEVE (RFC 8926): same outer headers, UDP 6081 | Geneve version 0, no
 *   options, O and C clear, protocol type 0x6558 (Ethernet), VNI.
 *
 * ip_csum_base is the outer IPv4 header checksum for a total length of 0;
 * the fast path folds in the real total length (RFC 1624).
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "encap.h"
#include "compiled_policy.h"

#define ENC_VXLAN_PORT   4789
#define ENC_GENEVE_PORT  6081
#define ENC_DEFAULT_TTL  64

static int enc_err(struct st_error *err, uint16_t ti, const char *field,
		   const char *msg)
{
	if (err != NULL) {
		memset(err, 0, sizeof(*err));
		snprintf(err->code, sizeof(err->code), "%s", "ST_ERR_ENCAP");
		snprintf(err->field, sizeof(err->field), "targets[%u].%s", ti, field);
		snprintf(err->message, sizeof(err->message), "%s", msg);
		err->errnum = EINVAL;
	}
	return -EINVAL;
}

static void enc_wr16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)(v >> 8);
	p[1] = (uint8_t)v;
}

static int enc_zero(const uint8_t *p, unsigned int n)
{
	uint8_t o = 0;

	for (unsigned int i = 0; i < n; i++)
		o |= p[i];
	return o == 0;
}

/* One's complement checksum of an IPv4 header (checksum field included). */
static uint16_t enc_ip_csum(const uint8_t *ip)
{
	uint32_t s = 0;

	for (unsigned int i = 0; i < 20; i += 2)
		s += (uint32_t)ip[i] << 8 | ip[i + 1];
	while (s >> 16)
		s = (s & 0xffff) + (s >> 16);
	return (uint16_t)~s;
}

/* Outer addresses must be usable unicast endpoints. */
static int enc_check_addrs(const struct st_target_conf *t, uint16_t ti,
			   struct st_error *err)
{
	unsigned int n = t->outer_ipv6 ? 16 : 4;

	if (enc_zero(t->outer_src, n))
		return enc_err(err, ti, "outer_src",
			       "outer source address is unspecified: expected the local tunnel endpoint address");
	if (enc_zero(t->outer_dst, n))
		return enc_err(err, ti, "outer_dst",
			       "outer destination address is unspecified: expected the remote tunnel endpoint address");
	if (t->outer_ipv6 ? t->outer_src[0] == 0xff : (t->outer_src[0] >> 4) == 0xe)
		return enc_err(err, ti, "outer_src",
			       "outer source address is multicast: expected a unicast address");
	if (!t->outer_ipv6 && (t->outer_src[0] & t->outer_src[1] & t->outer_src[2] &
			       t->outer_src[3]) == 0xff)
		return enc_err(err, ti, "outer_src",
			       "outer source address is 255.255.255.255: expected a unicast address");
	if (enc_zero(t->outer_dst_mac, 6))
		return enc_err(err, ti, "outer_dst_mac",
			       "outer destination MAC is 00:00:00:00:00:00: expected the next hop's MAC");
	if (enc_zero(t->outer_src_mac, 6) || (t->outer_src_mac[0] & 1) != 0)
		return enc_err(err, ti, "outer_src_mac",
			       "expected a unicast source MAC (first octet even, not all "
			       "zeros), e.g. the shadow port's MAC");
	return 0;
}

int st_encap_build(const struct st_target_conf *t, uint16_t ti,
		   struct st_encap_tmpl *out, struct st_error *err)
{
	uint8_t *h, *ip, *udp, *tun;
	uint16_t port;
	uint8_t ttl;
	int ret;

	if (t == NULL || out == NULL)
		return enc_err(err, ti, "encap", "no target or template given");
	memset(out, 0, sizeof(*out));
	out->kind = t->encap;
	switch (t->encap) {
	case ST_ENCAP_NONE:
		return 0;
	case ST_ENCAP_VLAN:
		if (t->vlan_id > 4094)
			return enc_err(err, ti, "vlan_id",
				       "VLAN id must be 0..4094 (4095 is reserved)");
		if (t->vlan_pcp > 7)
			return enc_err(err, ti, "vlan_pcp",
				       "VLAN priority (PCP) must be 0..7");
		out->vlan_tci = (uint16_t)(t->vlan_pcp << 13 | t->vlan_id);
		out->hdr_len = 4;
		enc_wr16(out->hdr, 0x8100);
		enc_wr16(out->hdr + 2, out->vlan_tci);
		return 0;
	case ST_ENCAP_VXLAN:
	case ST_ENCAP_GENEVE:
		break;
	default:
		return enc_err(err, ti, "encap",
			       "encapsulation must be 0 (none), 1 (vlan), 2 (vxlan) or 3 (geneve)");
	}

	if (t->vni > 0xffffff)
		return enc_err(err, ti, "vni", "VNI must be 0..16777215 (24 bits)");
	ret = enc_check_addrs(t, ti, err);
	if (ret < 0)
		return ret;
	port = t->udp_dst_port != 0 ? t->udp_dst_port :
	       t->encap == ST_ENCAP_VXLAN ? ENC_VXLAN_PORT : ENC_GENEVE_PORT;
	ttl = t->outer_ttl != 0 ? t->outer_ttl : ENC_DEFAULT_TTL;

	out->outer_ipv6 = t->outer_ipv6 != 0;
	out->l3_off = 14;
	out->l4_off = out->outer_ipv6 ? 14 + 40 : 14 + 20;
	out->hdr_len = (uint16_t)(out->l4_off + 8 + 8);
	h = out->hdr;
	memcpy(h, t->outer_dst_mac, 6);
	memcpy(h + 6, t->outer_src_mac, 6);
	enc_wr16(h + 12, out->outer_ipv6 ? 0x86dd : 0x0800);

	ip = h + out->l3_off;
	if (out->outer_ipv6) {
		ip[0] = 0x60;      /* flow label filled per packet */
		/* payload length per packet */
		ip[6] = 17;
		ip[7] = ttl;
		memcpy(ip + 8, t->outer_src, 16);
		memcpy(ip + 24, t->outer_dst, 16);
	} else {
		ip[0] = 0x45;
		/* total length per packet; id 0: DF set, never fragmented (RFC 6864) */
		enc_wr16(ip + 6, 0x4000);
		ip[8] = ttl;
		ip[9] = 17;
		memcpy(ip + 12, t->outer_src, 4);
		memcpy(ip + 16, t->outer_dst, 4);
		out->ip_csum_base = enc_ip_csum(ip);
	}

	udp = h + out->l4_off;
	enc_wr16(udp + 2, port);   /* source port, length, checksum per packet */

	tun = udp + 8;
	if (t->encap == ST_ENCAP_VXLAN) {
		tun[0] = 0x08;     /* I: VNI valid */
	} else {
		tun[0] = 0;        /* version 0, no options */
		tun[1] = 0;        /* O, C clear */
		enc_wr16(tun + 2, 0x6558);
	}
	tun[4] = (uint8_t)(t->vni >> 16);
	tun[5] = (uint8_t)(t->vni >> 8);
	tun[6] = (uint8_t)t->vni;
	return 0;
}

int
st_encap_needed(const struct st_policy *pol)
{
	return pol->any_encap;
}
