/* SPDX-License-Identifier: BSD-3-Clause
 * IP frames against the main tables: literal frames, every valid shape
 * (VLANs, options, source routes, IPv6 extension headers, fragments, ICMP
 * errors), malformed frames refused untouched, UDP checksums that fold to
 * 0xFFFF, and the unmapped rule.
 * Part of st_rewrite_test (rewrite_test.h).
 */
#include "rewrite_test.h"

/* ---- the tests ----------------------------------------------------------- */

void test_literals(const struct st_rewrite_tables *t)
{
	static const struct {
		const char *in, *out;
	} v4[] = {
		{ "10.20.30.40", "172.16.30.40" },     /* /16 */
		{ "10.1.2.3", "11.1.2.3" },            /* /8 */
		{ "192.168.1.77", "192.168.201.77" },  /* /24 */
		{ "203.0.113.7", "198.51.100.9" },     /* /32 */
		{ "100.127.255.1", "100.191.255.1" },  /* /10: 100.64/10 -> 100.128/10 */
		{ "100.64.0.1", "100.128.0.1" },
		{ "10.20.30.200", "10.99.99.72" },     /* /25 inside /16: 7 host bits */
		{ "10.20.30.100", "172.16.30.100" },
	};
	static const struct {
		const char *in, *out;
	} v6[] = {
		{ "2001:db8:1:2::abcd", "fd00:aaaa:bbbb:cccc::abcd" },   /* /64 */
		{ "2001:db8:1:5::1", "fd00:1:2:5::1" },                  /* /48 */
		{ "2001:db8::1", "fd00::99" },                           /* /128 */
		{ "2001:db8::2", "fd11:2222::2" },                       /* /32 */
		{ "2001:db8:1:2:3:7fff:1:2", "fd00:aaaa:bbbb:cccc:3:7fff:1:2" },
		{ "2001:db8:1:2:8003:0:1:2", "fd77:7777:7777:7777:7773:0:1:2" }, /* /77 */
		{ "2001:db8:1:2:8008::1", "fd00:aaaa:bbbb:cccc:8008::1" },
	};
	struct desc d;
	char name[96];

	for (size_t i = 0; i < sizeof(v4) / sizeof(v4[0]); i++) {
		static uint8_t in[MAXF], out[MAXF];
		struct st_rewrite_result res;
		struct layout lo;

		base_desc(&d, 0, 17);
		d.src4 = ip4(v4[i].in);
		d.dst4 = ip4("203.0.113.7");
		build_run(t, &d, in, out, &lo, &res);
		snprintf(name, sizeof(name), "literal %s", v4[i].in);
		CHECK(res.drop == -1 && get32(out + lo.l3 + 12) == ip4(v4[i].out) &&
		      get32(out + lo.l3 + 16) == ip4("198.51.100.9"),
		      "%s -> %08x want %s", name, get32(out + lo.l3 + 12), v4[i].out);
	}
	for (size_t i = 0; i < sizeof(v6) / sizeof(v6[0]); i++) {
		static uint8_t in[MAXF], out[MAXF];
		struct st_rewrite_result res;
		struct layout lo;
		uint8_t want[16];

		base_desc(&d, 1, 17);
		ip6(d.src6, v6[i].in);
		ip6(want, v6[i].out);
		build_run(t, &d, in, out, &lo, &res);
		snprintf(name, sizeof(name), "literal %s", v6[i].in);
		CHECK(res.drop == -1 && memcmp(out + lo.l3 + 8, want, 16) == 0,
		      "%s -> wrong address", name);
	}
}

/* The plain shapes: base_desc's frame of this version and protocol, at
 * most its TCP header length, UDP checksum 0, payload (none) or Ethernet
 * padding changed. */
struct plain {
	const char *name;
	int v6;
	uint8_t proto;
	uint8_t tcp_doff;       /* 0: base_desc's 5 */
	int udp_zero, empty;
	uint32_t pad;
};

static const struct plain plain4[] = {
	{ "ipv4 tcp", 0, 6, 0, 0, 0, 0 },
	{ "ipv4 tcp with options", 0, 6, 15, 0, 0, 0 },
	{ "ipv4 udp", 0, 17, 0, 0, 0, 0 },
	{ "ipv4 udp checksum 0 stays 0", 0, 17, 0, 1, 0, 0 },
	{ "ipv4 icmp echo", 0, 1, 0, 0, 0, 0 },
	{ "ipv4 gre", 0, 47, 0, 0, 0, 0 },
	{ "ipv4 tcp no payload", 0, 6, 0, 0, 1, 0 },
	{ "ipv4 tcp with ethernet padding", 0, 6, 0, 0, 1, 6 },
	{ "ipv4 udp with ethernet padding", 0, 17, 0, 0, 1, 18 },
};

static const struct plain plain6[] = {
	{ "ipv6 tcp", 1, 6, 0, 0, 0, 0 },
	{ "ipv6 udp", 1, 17, 0, 0, 0, 0 },
	{ "ipv6 udp checksum 0 kept", 1, 17, 0, 1, 0, 0 },
	{ "ipv6 icmpv6 echo", 1, 58, 0, 0, 0, 0 },
	{ "ipv6 ospfv3", 1, 89, 0, 0, 0, 0 },
	{ "ipv6 no next header", 1, 59, 0, 0, 1, 0 },
	{ "ipv6 esp", 1, 50, 0, 0, 0, 0 },
};

static void check_plain(const struct st_rewrite_tables *t, const struct st_start_plan *p,
			const struct plain *s, size_t n)
{
	struct desc d;

	for (size_t i = 0; i < n; i++) {
		base_desc(&d, s[i].v6, s[i].proto);
		if (s[i].tcp_doff)
			d.tcp_doff = s[i].tcp_doff;
		d.udp_zero = s[i].udp_zero;
		if (s[i].empty)
			d.paylen = 0;
		d.pad = s[i].pad;
		check_desc(s[i].name, t, p, &d);
	}
}

void test_valid(const struct st_rewrite_tables *t, const struct st_start_plan *p)
{
	struct desc d;

	/* IPv4 */
	check_plain(t, p, plain4, sizeof(plain4) / sizeof(plain4[0]));

	/* options */
	base_desc(&d, 0, 6);
	d.optlen = 4;
	check_desc("ipv4 options 4", t, p, &d);
	d.optlen = 40;
	check_desc("ipv4 options 40", t, p, &d);
	base_desc(&d, 0, 17);
	d.optlen = 12;
	d.srcroute = 1;
	d.sr_n = 2;
	d.sr_addr[0] = ip4("10.20.1.1");
	d.sr_addr[1] = ip4("192.168.1.9");
	check_desc("ipv4 loose source route (pseudo dst = final hop)", t, p, &d);
	d.srcroute = 2;
	check_desc("ipv4 exhausted source route", t, p, &d);

	/* fragments */
	desc_first_fragment(&d, 0, 6, 24);
	check_desc("ipv4 first fragment tcp", t, p, &d);
	desc_first_fragment(&d, 0, 17, 8);
	check_desc("ipv4 first fragment udp 8 bytes", t, p, &d);
	d.udp_zero = 1;
	check_desc("ipv4 first fragment udp csum 0", t, p, &d);
	base_desc(&d, 0, 6);
	d.frag = FR_LATER;
	d.frag_off8 = 185;
	d.later_mf = 1;
	check_desc("ipv4 middle fragment", t, p, &d);
	d.later_mf = 0;
	d.paylen = 1;
	check_desc("ipv4 last fragment, 1 byte", t, p, &d);
	d.frag_off8 = 1;
	d.paylen = 40;
	check_desc("ipv4 fragment at offset 8 bytes", t, p, &d);
	d.frag_off8 = 0x1fff;
	check_desc("ipv4 fragment at the largest offset", t, p, &d);
	desc_icmp4_error(&d, 3);
	d.paylen = 64;
	d.frag = FR_FIRST;
	d.frag_bytes = 32;
	check_desc("ipv4 first fragment icmp error", t, p, &d);
	d.frag_bytes = 16;
	check_desc("ipv4 first fragment icmp error, inner cut", t, p, &d);

	/* VLAN */
	base_desc(&d, 0, 6);
	desc_tags(&d, 1);
	d.tci[0] = 100;
	check_desc("vlan 0x8100", t, p, &d);
	desc_tags(&d, 2);
	check_desc("qinq 0x88a8/0x8100", t, p, &d);
	d.tpid[0] = 0x9100;
	d.v6 = 1;
	d.src6[0] = 0x20; d.src6[1] = 0x01; d.src6[2] = 0x0d; d.src6[3] = 0xb8;
	memcpy(d.dst6, d.src6, 16);
	d.dst6[15] = 1;
	check_desc("qinq 0x9100 ipv6", t, p, &d);

	/* IPv6 */
	check_plain(t, p, plain6, sizeof(plain6) / sizeof(plain6[0]));

	base_desc(&d, 1, 6);
	d.next = 3;
	d.ext[0].type = 0; d.ext[0].len = 0;
	d.ext[1].type = 60; d.ext[1].len = 2;
	d.ext[2].type = 51; d.ext[2].len = 4;
	check_desc("ipv6 tcp hbh+dst+ah", t, p, &d);
	base_desc(&d, 1, 17);
	d.next = 1;
	d.ext[0].type = 43; d.ext[0].len = 4; d.ext[0].naddr = 2;
	d.ext[0].segleft = 0;
	ip6(d.ext[0].addr[0], "2001:db8:1:7::7");
	ip6(d.ext[0].addr[1], "2001:db8:1:8::8");
	check_desc("ipv6 udp routing header segments_left 0", t, p, &d);
	d.ext[0].segleft = 2;
	check_desc("ipv6 udp routing header segments_left 2", t, p, &d);
	d.proto = 58;
	d.icmp_type = 128;
	check_desc("ipv6 icmpv6 routing header segments_left 2", t, p, &d);
	d.proto = 6;
	check_desc("ipv6 tcp routing header segments_left 2", t, p, &d);

	base_desc(&d, 1, 6);
	d.next = 2;
	d.ext[0].type = 0;
	d.ext[1].type = 44;
	d.frag = FR_FIRST;
	d.paylen = 200;
	d.frag_bytes = 64;
	check_desc("ipv6 first fragment tcp", t, p, &d);
	d.frag = FR_LATER;
	d.frag_off8 = 8;
	d.later_mf = 1;
	check_desc("ipv6 later fragment", t, p, &d);
	d.frag_off8 = 1;
	check_desc("ipv6 fragment at offset 8 bytes", t, p, &d);
	d.later_mf = 0;
	d.frag_off8 = 0x1fff;
	check_desc("ipv6 fragment at the largest offset", t, p, &d);
	d.frag = FR_ATOMIC;
	check_desc("ipv6 atomic fragment", t, p, &d);
	desc_first_fragment(&d, 1, 17, 8);
	check_desc("ipv6 first fragment udp 8 bytes", t, p, &d);

	/* ICMP errors */
	desc_icmp4_error(&d, 3);
	d.icmp_code = 3;
	check_desc("icmpv4 port unreachable with inner", t, p, &d);
	for (int ty = 0; ty < 5; ty++) {
		static const uint8_t types[5] = { 3, 4, 5, 11, 12 };

		d.icmp_type = types[ty];
		d.in_src4 = ip4("203.0.113.7");
		d.in_dst4 = ip4("8.8.8.8"); /* inner unmapped: kept, not dropped */
		check_desc("icmpv4 error types", t, p, &d);
	}
	d.icmp_type = 11;
	d.paylen = 0;
	check_desc("icmpv4 time exceeded no trailing payload", t, p, &d);
	d.inner = 0;
	d.paylen = 40;
	check_desc("icmpv4 error quoting no IPv4 header", t, p, &d);
	base_desc(&d, 1, 58);
	d.inner = 1;
	ip6(d.in_src6, "2001:db8:1:5::1");
	ip6(d.in_dst6, "2001:db8:1:2::abcd");
	for (uint8_t ty = 1; ty <= 4; ty++) {
		d.icmp_type = ty;
		check_desc("icmpv6 error types with inner", t, p, &d);
	}
	d.icmp_type = 1;
	d.next = 2;
	d.ext[0].type = 0;
	d.ext[1].type = 60;
	check_desc("icmpv6 error after ext headers", t, p, &d);
	d.inner = 0;
	d.paylen = 60;
	check_desc("icmpv6 error quoting no IPv6 header", t, p, &d);
	d.inner = 1;
	d.icmp_type = 129; /* echo reply: no inner header */
	check_desc("icmpv6 echo reply (payload not an inner header)", t, p, &d);
}

void test_malformed(const struct st_rewrite_tables *t)
{
	static uint8_t f[MAXF];
	struct layout lo;
	struct desc d;
	const uint32_t VL = 1u << ST_ANOM_VLAN, TL2 = 1u << ST_ANOM_TRUNC_L2,
		       TL3 = 1u << ST_ANOM_TRUNC_L3, IHL = 1u << ST_ANOM_BAD_IHL,
		       TL4 = 1u << ST_ANOM_TRUNC_L4, FRG = 1u << ST_ANOM_FRAGMENT,
		       OPT = 1u << ST_ANOM_IP_OPTIONS;
	const int MAL = ST_DROP_MALFORMED;

	/* L2 */
	base_desc(&d, 0, 6);
	build(&d, f, &lo);
	for (uint32_t n = 0; n < 14; n++)
		check_refused("short ethernet", t, f, n, n, MAL, TL2);
	desc_tags(&d, 1);
	build(&d, f, &lo);
	for (uint32_t n = 14; n < 18; n++)
		check_refused("short vlan", t, f, n, n, MAL, TL2 | VL);
	desc_tags(&d, 2);
	build(&d, f, &lo);
	for (uint32_t n = 18; n < 22; n++)
		check_refused("short qinq", t, f, n, n, MAL, TL2 | VL);
	desc_tags(&d, 3);
	build(&d, f, &lo);
	check_refused("three tags", t, f, lo.len, lo.len, ST_DROP_NOT_IP, VL);
	base_desc(&d, 0, 6);
	d.ethertype = 0x0806;
	build(&d, f, &lo);
	check_refused("arp", t, f, lo.len, lo.len, ST_DROP_NOT_IP, 0);
	d.ethertype = 0x88cc;
	build(&d, f, &lo);
	check_refused("lldp", t, f, 14, 14, ST_DROP_NOT_IP, 0);

	/* IPv4 header */
	base_desc(&d, 0, 6);
	build(&d, f, &lo);
	for (uint32_t n = 14; n < 34; n++)
		check_refused("short ipv4", t, f, n, n, MAL, TL3);
	for (uint8_t ihl = 0; ihl < 5; ihl++) {
		build(&d, f, &lo);
		f[14] = (uint8_t)(0x40 | ihl);
		check_refused("ipv4 ihl < 5", t, f, lo.len, lo.len, MAL, IHL);
	}
	build(&d, f, &lo);
	f[14] = 0x65;
	check_refused("ipv4 version 6", t, f, lo.len, lo.len, MAL, IHL);
	build(&d, f, &lo);
	f[14] = 0x4f; /* 60-byte header, frame holds 20 + 53 */
	check_refused("ipv4 ihl beyond segment", t, f, 14 + 50, 14 + 50, MAL, TL3);
	build(&d, f, &lo);
	put16(f + 16, 19);
	check_refused("ipv4 total_length < ihl*4", t, f, lo.len, lo.len, MAL, TL3);
	build(&d, f, &lo);
	put16(f + 16, (uint16_t)(lo.len - 14 + 1));
	check_refused("ipv4 total_length > frame", t, f, lo.len, lo.len, MAL, TL3);
	build(&d, f, &lo);
	put16(f + 16, 0xffff);
	check_refused("ipv4 total_length 65535", t, f, lo.len, lo.len, MAL, TL3);
	build(&d, f, &lo);
	check_refused("ipv4 total_length > pkt_len (snaplen)", t, f, lo.len - 1,
		      lo.len - 1, MAL, TL3);
	d.optlen = 8;
	desc_tags(&d, 1);
	build(&d, f, &lo);
	check_refused("ipv4 options cut", t, f, 18 + 24, 18 + 24, MAL, VL | TL3);

	/* L4 */
	base_desc(&d, 0, 6);
	d.paylen = 0;
	build(&d, f, &lo);
	for (uint32_t n = 1; n < 20; n++) {
		uint8_t g[MAXF];

		memcpy(g, f, lo.len);
		put16(g + 16, (uint16_t)(20 + n));
		check_refused("tcp truncated by total_length", t, g, lo.len, lo.len,
			      MAL, TL4);
		check_refused("tcp truncated by frame", t, f, 34 + n, 34 + n, MAL, TL3);
	}
	for (uint8_t doff = 0; doff < 5; doff++) {
		build(&d, f, &lo);
		f[34 + 12] = (uint8_t)(doff << 4);
		check_refused("tcp data offset < 5", t, f, lo.len, lo.len, MAL, TL4);
	}
	build(&d, f, &lo);
	f[34 + 12] = 0x60;
	check_refused("tcp data offset past datagram", t, f, lo.len, lo.len, MAL, TL4);
	d.paylen = 100;
	build(&d, f, &lo);
	check_refused("tcp header beyond first segment (chained)", t, f, 34 + 19,
		      lo.len, MAL, TL4);
	{
		static uint8_t out[MAXF];
		struct st_rewrite_result res;

		run(t, f, 34 + 20, lo.len, out, &res);
		CHECK(res.drop == -1 && res.translated == 1,
		      "chained: tcp header in first segment is rewritten");
	}
	base_desc(&d, 0, 17);
	d.paylen = 0;
	build(&d, f, &lo);
	for (uint32_t n = 0; n < 8; n++) {
		put16(f + 16, (uint16_t)(20 + n));
		check_refused("udp truncated", t, f, lo.len, lo.len, MAL, TL4);
	}
	/* A UDP length that disagrees with the datagram (IPv4 and IPv6). */
	for (int v6 = 0; v6 <= 1; v6++) {
		static const uint16_t bad[] = { 0, 7, 8 + 10 + 1, 0xffff };

		base_desc(&d, v6, 17);
		d.paylen = 10;
		build(&d, f, &lo);
		for (uint32_t k = 0; k < sizeof(bad) / sizeof(bad[0]); k++) {
			put16(f + lo.l4 + 4, bad[k]);
			check_refused(v6 ? "udp6 length lies" : "udp length lies", t, f, lo.len,
				      lo.len, MAL, TL4);
		}
	}
	base_desc(&d, 0, 1);
	d.paylen = 0;
	build(&d, f, &lo);
	for (uint32_t n = 0; n < 8; n++) {
		put16(f + 16, (uint16_t)(20 + n));
		check_refused("icmp truncated", t, f, lo.len, lo.len, MAL, TL4);
	}
	desc_first_fragment(&d, 0, 6, 16);
	build(&d, f, &lo);
	check_refused("ipv4 tiny first fragment tcp", t, f, lo.len, lo.len, MAL,
		      TL4 | FRG);
	d.optlen = 4;
	build(&d, f, &lo);
	check_refused("ipv4 tiny first fragment tcp with options", t, f, lo.len,
		      lo.len, MAL, TL4 | FRG | OPT);
	desc_first_fragment(&d, 0, 17, 8);
	build(&d, f, &lo);
	put16(f + 16, 20 + 7);
	check_refused("ipv4 first fragment udp 7 bytes", t, f, lo.len, lo.len, MAL,
		      TL4 | FRG);

	/* IPv6 */
	base_desc(&d, 1, 6);
	build(&d, f, &lo);
	for (uint32_t n = 14; n < 54; n++)
		check_refused("short ipv6", t, f, n, n, MAL, TL3);
	build(&d, f, &lo);
	f[14] = 0x40;
	check_refused("ipv6 version 4", t, f, lo.len, lo.len, MAL, IHL);
	build(&d, f, &lo);
	put16(f + 18, (uint16_t)(lo.len - 54 + 1));
	check_refused("ipv6 payload_length > frame", t, f, lo.len, lo.len, MAL, TL3);
	build(&d, f, &lo);
	check_refused("ipv6 payload cut (snaplen)", t, f, lo.len - 1, lo.len - 1,
		      MAL, TL3);
	d.paylen = 0;
	build(&d, f, &lo);
	for (uint32_t n = 0; n < 20; n++) {
		put16(f + 18, (uint16_t)n);
		check_refused("ipv6 tcp truncated", t, f, lo.len, lo.len, MAL, TL4);
	}
	base_desc(&d, 1, 58);
	d.paylen = 0;
	build(&d, f, &lo);
	put16(f + 18, 4);
	check_refused("icmpv6 4 bytes", t, f, lo.len, lo.len, MAL, TL4);
	base_desc(&d, 1, 89);
	d.paylen = 0;
	build(&d, f, &lo);
	put16(f + 18, 15);
	check_refused("ospfv3 15 bytes", t, f, lo.len, lo.len, MAL, TL4);

	/* extension chains */
	base_desc(&d, 1, 6);
	d.next = 3;
	d.ext[0].type = 0;  d.ext[0].len = 1;   /* 16 bytes at 54 */
	d.ext[1].type = 60; d.ext[1].len = 0;   /* 8 bytes at 70 */
	d.ext[2].type = 51; d.ext[2].len = 4;   /* 24 bytes at 78 */
	build(&d, f, &lo);                      /* tcp at 102 */
	for (uint32_t n = 54; n < 102; n++) {
		check_refused("ext chain cut by frame", t, f, n, n, MAL, TL3);
		check_refused("ext chain cut by segment", t, f, n, lo.len, MAL, TL3);
	}
	for (uint32_t pl = 0; pl < 48; pl++) {
		uint8_t g[MAXF];

		memcpy(g, f, lo.len);
		put16(g + 18, (uint16_t)pl);
		check_refused("ext chain cut by payload_length", t, g, lo.len,
			      lo.len, MAL, TL3);
	}
	{
		uint8_t g[MAXF];

		memcpy(g, f, lo.len);
		g[55] = 0xff;   /* hop-by-hop claims 2048 bytes */
		check_refused("ext header length past frame", t, g, lo.len, lo.len,
			      MAL, TL3);
		memcpy(g, f, lo.len);
		g[79] = 0xff;   /* AH claims 1028 bytes */
		check_refused("ah length past frame", t, g, lo.len, lo.len, MAL, TL3);
	}
	desc_first_fragment(&d, 1, 6, 24);
	build(&d, f, &lo);
	for (uint32_t n = 54; n < 62; n++) {
		check_refused("fragment header cut", t, f, n, n, MAL, TL3);
		check_refused("fragment header cut by segment", t, f, n, lo.len,
			      MAL, TL3);
	}
	check_refused("ipv6 first fragment tcp 17 bytes", t, f, 62 + 17, 62 + 17,
		      MAL, TL3);
	put16(f + 18, 8 + 16);
	check_refused("ipv6 tiny first fragment tcp", t, f, lo.len, lo.len, MAL,
		      TL4 | FRG);

	/* IPv6 first fragment: 18 bytes hold the TCP checksum field, 17 not */
	desc_first_fragment(&d, 1, 6, 24);
	build(&d, f, &lo);
	put16(f + 18, 8 + 17);
	check_refused("ipv6 first fragment tcp 17 bytes of l4", t, f, lo.len,
		      lo.len, MAL, TL4 | FRG);
	{
		static uint8_t out[MAXF];
		struct st_rewrite_result res;
		uint8_t want[MAXF];
		struct layout lw;
		struct desc e = d;

		put16(f + 18, 8 + 18);
		run(t, f, lo.len, lo.len, out, &res);
		ip6(e.src6, "fd00:aaaa:bbbb:cccc::abcd");
		ip6(e.dst6, "fd00:1:2:5::1");
		memcpy(e.dmac, out, 6);
		memcpy(e.smac, out + 6, 6);
		build(&e, want, &lw);
		put16(want + 18, 8 + 18);
		CHECK(res.drop == -1 && res.anomalies == FRG &&
		      memcmp(out, want, lo.len) == 0,
		      "ipv6 first fragment with 18 bytes of tcp is rewritten");
	}

	/* pkt_len smaller than seg_len: the frame ends at pkt_len */
	base_desc(&d, 0, 6);
	build(&d, f, &lo);
	check_refused("pkt_len < seg_len", t, f, lo.len, lo.len - 10, MAL, TL3);
	for (uint32_t n = 0; n < 14; n++)
		check_refused("pkt_len < ethernet header, seg_len larger", t, f,
			      lo.len, n, MAL, TL2);
	check_refused("pkt_len < ipv4 header, seg_len larger", t, f, lo.len, 30,
		      MAL, TL3);
}

/* UDP checksums that land on 0 (sent as 0xFFFF) on either side of the
 * rewrite are rare in random traffic: search seeds until they occur. */
void test_udp_ffff(const struct st_rewrite_tables *t,
		   const struct st_start_plan *p)
{
	static uint8_t f[MAXF];
	struct layout lo;
	struct desc d, e;
	int found_after[2] = { 0, 0 }, found_before[2] = { 0, 0 };

	for (int v6 = 0; v6 < 2; v6++) {
		base_desc(&d, v6, 17);
		d.paylen = 6;
		for (uint32_t seed = 1; seed < 2000000 &&
		     !(found_after[v6] && found_before[v6]); seed++) {
			uint16_t c;

			d.seed = seed;
			e = d;
			if (v6) {
				ref6(p, d.src6, e.src6);
				ref6(p, d.dst6, e.dst6);
			} else {
				ref4(p, d.src4, &e.src4);
				ref4(p, d.dst4, &e.dst4);
			}
			build(&e, f, &lo);
			c = (uint16_t)(f[lo.l4 + 6] << 8 | f[lo.l4 + 7]);
			if (c == 0xffff && !found_after[v6]) {
				found_after[v6] = 1;
				check_desc(v6 ? "ipv6 udp result 0 sent as 0xffff" :
						"ipv4 udp result 0 sent as 0xffff", t, p, &d);
			}
			build(&d, f, &lo);
			c = (uint16_t)(f[lo.l4 + 6] << 8 | f[lo.l4 + 7]);
			if (c == 0xffff && !found_before[v6]) {
				found_before[v6] = 1;
				check_desc(v6 ? "ipv6 udp checksum 0xffff rewritten" :
						"ipv4 udp checksum 0xffff rewritten", t, p, &d);
			}
		}
		CHECK(found_after[v6] && found_before[v6],
		      "udp 0xffff cases found (v6=%d)", v6);
	}
}

void test_unmapped(struct st_rewrite_tables *t, const struct st_start_plan *p)
{
	struct desc d;

	t->unmapped = ST_UNMAPPED_DROP;
	base_desc(&d, 0, 6);
	d.src4 = ip4("8.8.8.8");
	check_desc("drop: ipv4 src unmapped", t, p, &d);
	base_desc(&d, 0, 17);
	d.dst4 = ip4("9.9.9.9");
	desc_tags(&d, 1);
	check_desc("drop: ipv4 dst unmapped, vlan anomaly kept", t, p, &d);
	base_desc(&d, 1, 6);
	ip6(d.dst6, "2001:db9::1");
	check_desc("drop: ipv6 dst unmapped", t, p, &d);

	t->unmapped = ST_UNMAPPED_MIRROR;
	base_desc(&d, 0, 6);
	d.src4 = ip4("8.8.8.8");
	check_desc("mirror: ipv4 src unmapped, dst translated", t, p, &d);
	d.dst4 = ip4("9.9.9.9");
	check_desc("mirror: ipv4 nothing mapped (translated 0)", t, p, &d);
	base_desc(&d, 0, 17);
	d.dst4 = ip4("8.8.4.4");
	check_desc("mirror: ipv4 udp dst unmapped", t, p, &d);
	base_desc(&d, 0, 6);
	d.src4 = ip4("198.18.5.5");
	d.dst4 = ip4("198.19.0.1");
	check_desc("mirror: identity map (translated 0)", t, p, &d);
	base_desc(&d, 1, 58);
	ip6(d.src6, "fe80::1");
	check_desc("mirror: ipv6 link-local src kept", t, p, &d);
	t->unmapped = ST_UNMAPPED_DROP;
}
