/* SPDX-License-Identifier: BSD-3-Clause
 * Control-plane payload translation: literal field-by-field checks,
 * malformed payloads (counted, dropped, untouched), and the driver that runs
 * every control-plane test over the policy tables.
 * Part of st_rewrite_test (rewrite_test.h).
 */
#include "rewrite_test.h"

/* Build d into in and run the policy-era path over the whole frame into out;
 * the frame's length. */
static uint32_t cp_build_run(const struct st_rewrite_tables *t, const struct cpd *d, uint8_t *in,
			     uint8_t *out, struct cplo *lo, struct st_rewrite_result *res)
{
	uint32_t n = build_cp(d, in, NULL, lo);

	run_ex(t, in, n, n, n, out, res);
	return n;
}

/* Field by field, with literal expected values. */
static void test_cp_literals(struct st_rewrite_tables *t)
{
	static uint8_t in[MAXF], out[MAXF];
	struct st_rewrite_result res;
	struct cplo lo;
	struct cpd d;
	uint32_t n;

	t->unmapped = ST_UNMAPPED_RULE_DROP;
	/* ARP reply */
	cp_arp(&d);
	n = cp_build_run(t, &d, in, out, &lo, &res);
	CHECK(res.drop == -1 && res.translated == 1 && res.anomalies == 0 &&
	      eq_mac(out + lo.l3 + 8, "02:aa:00:00:00:11") &&         /* sha: map */
	      get32(out + lo.l3 + 14) == ip4("172.16.30.40") &&       /* spa */
	      eq_mac(out + lo.l3 + 18, "02:aa:00:00:00:12") &&        /* tha: map */
	      get32(out + lo.l3 + 24) == ip4("192.168.201.77") &&     /* tpa */
	      get16(out + lo.l3) == 1 && get16(out + lo.l3 + 6) == 2 &&
	      eq_mac(out, "02:aa:00:00:00:12") && eq_mac(out + 6, "02:aa:00:00:00:11") &&
	      memcmp(out + lo.l3 + 28, in + lo.l3 + 28, 18) == 0,
	      "arp reply: sender/target IP and MAC translated, padding kept");
	/* ARP request: broadcast and zero MACs kept, unmapped sender MAC default */
	d.op = 1;
	mac(d.dmac, "ff:ff:ff:ff:ff:ff");
	mac(d.sha, "02:77:77:77:77:77");
	mac(d.smac, "02:77:77:77:77:77");
	memset(d.tha, 0, 6);
	n = cp_build_run(t, &d, in, out, &lo, &res);
	CHECK(res.drop == -1 && eq_mac(out, "ff:ff:ff:ff:ff:ff") &&
	      memcmp(out + 6, g_policy.default_src_mac, 6) == 0 &&
	      memcmp(out + lo.l3 + 8, g_policy.default_src_mac, 6) == 0 &&
	      eq_mac(out + lo.l3 + 18, "00:00:00:00:00:00"),
	      "arp request: broadcast dst and zero tha kept, sha gets the default");
	/* ARP probe: sender 0.0.0.0 is not unmapped */
	d.spa = 0;
	n = cp_build_run(t, &d, in, out, &lo, &res);
	CHECK(res.drop == -1 && get32(out + lo.l3 + 14) == 0 &&
	      get32(out + lo.l3 + 24) == ip4("192.168.201.77"),
	      "arp probe (sender 0.0.0.0) mirrored under drop");
	d.tpa = ip4("8.8.8.8");
	n = cp_build_run(t, &d, in, out, &lo, &res);
	CHECK(res.drop == ST_DROP_UNMAPPED && memcmp(in, out, n) == 0,
	      "arp for an unmapped address dropped under drop");

	/* DHCP OFFER */
	cp_dhcp(&d);
	n = cp_build_run(t, &d, in, out, &lo, &res);
	{
		const uint8_t *ip = out + lo.l3, *b = ip + 28, *o = b + 240;

		CHECK(res.drop == -1 && res.translated == 1 && res.anomalies == 0,
		      "dhcp offer sent: drop %d anomalies %#x", res.drop, res.anomalies);
		CHECK(get32(ip + 12) == ip4("172.16.30.1") &&
		      get32(ip + 16) == ip4("255.255.255.255") &&
		      eq_mac(out, "ff:ff:ff:ff:ff:ff"),
		      "dhcp offer: server translated, broadcast kept");
		CHECK(get32(b + 12) == 0 && get32(b + 16) == ip4("172.16.30.77") &&
		      get32(b + 20) == ip4("172.16.30.1") &&
		      get32(b + 24) == ip4("192.168.201.1"),
		      "dhcp ciaddr 0 kept, yiaddr, siaddr, giaddr translated");
		CHECK(eq_mac(b + 28, "02:aa:00:00:00:13") &&
		      memcmp(b + 34, in + lo.l3 + 28 + 34, 10) == 0,
		      "dhcp chaddr through the MAC map, padding kept");
		CHECK(get32(b + 236) == 0x63825363u && o[0] == 53 && o[2] == 2 &&
		      o[3] == 54 && get32(o + 5) == ip4("172.16.30.1") &&
		      o[9] == 1 && get32(o + 11) == ip4("255.255.0.0") &&
		      o[15] == 3 && get32(o + 17) == ip4("172.16.0.1") &&
		      o[21] == 6 && o[22] == 12 && get32(o + 23) == ip4("172.16.0.53") &&
		      get32(o + 27) == ip4("8.8.8.8") &&
		      get32(o + 31) == ip4("192.168.201.53") && o[35] == 0 &&
		      o[36] == 28 && get32(o + 38) == ip4("172.16.255.255") &&
		      o[42] == 61 && o[44] == 1 && eq_mac(o + 45, "02:aa:00:00:00:13") &&
		      o[51] == 42 && get32(o + 53) == ip4("172.16.30.123") &&
		      o[57] == 51 && get32(o + 59) == 0x11111111u && o[63] == 255,
		      "dhcp options: 54, 3, 6, 28, 61, 42 translated; 1, 51, 8.8.8.8 kept");
		CHECK(ip4_ok(ip) && udp4_ok(ip) && get16(ip + 26) != 0,
		      "dhcp offer: IPv4 and UDP checksums verify in full");
	}
	/* DISCOVER: 0.0.0.0 -> 255.255.255.255, requested address option 50 */
	cp_dhcp(&d);
	d.src4 = 0;
	d.sport = 68;
	d.dport = 67;
	d.bop = 1;
	d.yiaddr = d.siaddr = d.giaddr = 0;
	mac(d.smac, "02:00:00:00:00:03");
	{
		uint32_t a = ip4("10.20.30.77");

		dopt_bytes(&d.opt[0], 53, 1, 1);
		dopt_addrs(&d.opt[1], 50, 1, &a);
		d.opt[2].code = 255;
		d.nopt = 3;
	}
	n = cp_build_run(t, &d, in, out, &lo, &res);
	{
		const uint8_t *ip = out + lo.l3, *o = ip + 28 + 240;

		CHECK(res.drop == -1 && get32(ip + 12) == 0 &&
		      get32(ip + 16) == 0xffffffffu && o[3] == 50 &&
		      get32(o + 5) == ip4("172.16.30.77") &&
		      eq_mac(out + 6, "02:aa:00:00:00:13") && ip4_ok(ip) && udp4_ok(ip),
		      "dhcp discover mirrored under drop; requested address translated");
	}
	d.udp_zero = 1;
	n = cp_build_run(t, &d, in, out, &lo, &res);
	CHECK(res.drop == -1 && get16(out + lo.l3 + 26) == 0 &&
	      get32(out + lo.l3 + 28 + 240 + 5) == ip4("172.16.30.77"),
	      "dhcp with UDP checksum 0: translated, checksum stays 0");

	/* ND: NS to the solicited-node group of a host override */
	cp_nd(&d, 135);
	n = cp_build_run(t, &d, in, out, &lo, &res);
	{
		const uint8_t *ip = out + lo.l3, *l4 = ip + 40;

		CHECK(res.drop == -1 && res.translated == 1 && res.anomalies == 0,
		      "ns sent: drop %d", res.drop);
		CHECK(eq6(ip + 8, "fd00:aaaa:bbbb:cccc::abcd") &&
		      eq6(l4 + 8, "fd99::1:2345:6789") && eq6(ip + 24, "ff02::1:ff45:6789") &&
		      eq_mac(out, "33:33:ff:45:67:89") &&
		      l4[24] == 1 && l4[25] == 1 && eq_mac(l4 + 26, "02:aa:00:00:00:11") &&
		      icmp6_ok(ip),
		      "ns: target, SLLA, solicited-node group and its MAC follow; checksum verifies");
	}
	ip6(d.target, "2001:db8:1:2::1234:5678");
	ip6(d.dst6, "ff02::1:ff34:5678");
	mac(d.dmac, "33:33:ff:34:56:78");
	n = cp_build_run(t, &d, in, out, &lo, &res);
	{
		const uint8_t *ip = out + lo.l3, *l4 = ip + 40;

		CHECK(res.drop == -1 && eq6(l4 + 8, "fd00:aaaa:bbbb:cccc::1234:5678") &&
		      eq6(ip + 24, "ff02::1:ff34:5678") && eq_mac(out, "33:33:ff:34:56:78") &&
		      icmp6_ok(ip), "ns: /64 map keeps the solicited-node group");
	}
	/* NA with target link-layer address */
	cp_nd(&d, 136);
	n = cp_build_run(t, &d, in, out, &lo, &res);
	{
		const uint8_t *ip = out + lo.l3, *l4 = ip + 40;

		CHECK(res.drop == -1 && eq6(l4 + 8, "fd99::1:2345:6789") &&
		      eq6(ip + 24, "fd00:1:2:5::1") && l4[24] == 2 &&
		      eq_mac(l4 + 26, "02:aa:00:00:00:11") && icmp6_ok(ip),
		      "na: target and target link-layer address translated");
	}
	/* DAD: NS from :: */
	cp_nd(&d, 135);
	memset(d.src6, 0, 16);
	d.nnd = 0;
	n = cp_build_run(t, &d, in, out, &lo, &res);
	{
		const uint8_t *ip = out + lo.l3, *l4 = ip + 40;

		CHECK(res.drop == -1 && eq6(ip + 8, "::") && eq6(l4 + 8, "fd99::1:2345:6789") &&
		      eq6(ip + 24, "ff02::1:ff45:6789") && icmp6_ok(ip),
		      "dad ns from :: mirrored under drop");
	}
	/* RA from link-local with a prefix option */
	cp_nd(&d, 134);
	ip6(d.src6, "fe80::1");
	ip6(d.dst6, "ff02::1");
	mac(d.dmac, "33:33:00:00:00:01");
	n = cp_build_run(t, &d, in, out, &lo, &res);
	{
		const uint8_t *ip = out + lo.l3, *l4 = ip + 40;

		CHECK(res.drop == -1 && eq6(ip + 8, "fe80::1") && eq6(ip + 24, "ff02::1") &&
		      eq_mac(out, "33:33:00:00:00:99") &&
		      l4[16] == 1 && eq_mac(l4 + 18, "02:aa:00:00:00:11") &&
		      l4[24] == 3 && l4[26] == 64 && eq6(l4 + 24 + 16, "fd00:aaaa:bbbb:cccc::") &&
		      l4[56] == 5 && icmp6_ok(ip),
		      "ra: link-local and all-nodes kept, prefix and SLLA translated");
	}
	/* redirect */
	cp_nd(&d, 137);
	n = cp_build_run(t, &d, in, out, &lo, &res);
	{
		const uint8_t *ip = out + lo.l3, *l4 = ip + 40;

		CHECK(res.drop == -1 && eq6(l4 + 8, "fd99::1:2345:6789") &&
		      eq6(l4 + 24, "fd00:1:2:5::1") && icmp6_ok(ip),
		      "redirect: target and destination translated");
	}
}

/* Malformed control-plane payloads: counted, dropped, untouched. */
static void cp_refused(const char *name, const struct st_rewrite_tables *t,
		       const uint8_t *in, uint32_t n, uint32_t wire, int drop,
		       uint32_t anoms)
{
	static uint8_t out[MAXF];
	struct st_rewrite_result res;

	run_ex(t, in, n, n, wire, out, &res);
	CHECK(res.drop == drop && res.anomalies == anoms && res.translated == 0 &&
	      memcmp(in, out, n) == 0,
	      "%s: drop %d anomalies %#x, want drop %d anomalies %#x", name, res.drop,
	      res.anomalies, drop, anoms);
}

static void fix_ip4(uint8_t *ip)
{
	put16(ip + 10, 0);
	put16(ip + 10, ip4_csum(ip));
}

static void test_cp_malformed(struct st_rewrite_tables *t)
{
	static uint8_t f[MAXF], g[MAXF];
	const uint32_t CPA = 1u << ST_ANOM_CP_MALFORMED, VL = 1u << ST_ANOM_VLAN;
	const int MAL = ST_DROP_MALFORMED;
	struct cplo lo;
	struct cpd d;
	uint32_t n;

	t->unmapped = ST_UNMAPPED_RULE_MIRROR;
	/* ARP: odd sizes and types */
	for (int k = 0; k < 8; k++) {
		cp_arp(&d);
		d.nvlan = k & 1;
		switch (k / 2) {
		case 0: d.hlen = 8; break;
		case 1: d.plen = 16; break;
		case 2: d.ptype = 0x86dd; break;
		case 3: d.htype = 0x20; d.hlen = 20; break;
		}
		n = build_cp(&d, f, NULL, &lo);
		cp_refused("arp with odd sizes", t, f, n, n, MAL, CPA | (d.nvlan ? VL : 0));
	}
	cp_arp(&d);
	d.hlen = 0;
	n = build_cp(&d, f, NULL, &lo);
	cp_refused("arp hlen 0", t, f, n, n, MAL, CPA);
	d.hlen = 6;
	d.plen = 0;
	n = build_cp(&d, f, NULL, &lo);
	cp_refused("arp plen 0", t, f, n, n, MAL, CPA);
	cp_arp(&d);
	d.pad = 0;
	n = build_cp(&d, f, NULL, &lo);
	for (uint32_t k = 0; k < 28; k++)
		cp_refused("arp truncated on the wire", t, f, 14 + k, 14 + k, MAL, CPA);
	for (uint32_t k = 0; k < 8; k++)
		cp_refused("arp cut by the snaplen in its fixed part", t, f, 14 + k, 60,
			   MAL, 0);

	/* DHCP */
	cp_dhcp(&d);
	n = build_cp(&d, f, NULL, &lo);
	{
		uint8_t *ip = f + lo.l3, *u = ip + 20;
		uint32_t ulen = get16(u + 4);

		/* shorter than BOOTP: a truncated DHCP datagram */
		for (uint32_t cut = 8; cut < 8 + 236; cut += 17) {
			memcpy(g, f, n);
			put16(g + lo.l3 + 2, (uint16_t)(20 + cut));
			put16(g + lo.l3 + 24, (uint16_t)cut);
			fix_ip4(g + lo.l3);
			cp_refused("truncated dhcp", t, g, lo.l3 + 20 + cut, lo.l3 + 20 + cut,
				   MAL, CPA);
		}
		memcpy(g, f, n);
		put16(g + lo.l3 + 24, (uint16_t)(ulen + 1));
		/* a UDP length that lies is an L4 fault, whatever the ports */
		cp_refused("dhcp udp length past the datagram", t, g, n, n, MAL,
			   1u << ST_ANOM_TRUNC_L4);
		memcpy(g, f, n);
		put16(g + lo.l3 + 24, 4);
		cp_refused("dhcp udp length 4", t, g, n, n, MAL, 1u << ST_ANOM_TRUNC_L4);
	}
	{
		static const struct {
			const char *name;
			uint8_t code, len;
			int nolen;
		} bad[] = {
			{ "router option of 5 bytes", 3, 5, 0 },
			{ "dns option of 0 bytes", 6, 0, 0 },
			{ "dns option of 6 bytes", 6, 6, 0 },
			{ "requested address of 8 bytes", 50, 8, 0 },
			{ "server identifier of 3 bytes", 54, 3, 0 },
			{ "broadcast of 0 bytes", 28, 0, 0 },
			{ "overload of 2 bytes", 52, 2, 0 },
			{ "option code without length at the end", 3, 0, 1 },
		};

		for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
			cp_dhcp(&d);
			if (bad[i].nolen) {
				dopt_bytes(&d.opt[10], bad[i].code, 0, 0);
				d.opt[10].nolen = 1;
				d.trail = 0;
			} else {
				dopt_bytes(&d.opt[3], bad[i].code, bad[i].len, 0x0a);
			}
			n = build_cp(&d, f, NULL, &lo);
			cp_refused(bad[i].name, t, f, n, n, MAL, CPA);
		}
	}
	cp_dhcp(&d);
	dopt_bytes(&d.opt[3], 52, 1, 4);
	n = build_cp(&d, f, NULL, &lo);
	cp_refused("overload value 4", t, f, n, n, MAL, CPA);
	cp_dhcp(&d);
	d.opt[10] = d.opt[9];          /* lease time option again instead of end */
	d.opt[10].len = 200;           /* ... claiming 200 bytes */
	d.opt[10].nolen = 0;
	{
		struct dopt keep = d.opt[10];

		d.opt[10].len = 4;     /* built with 4 bytes of data */
		n = build_cp(&d, f, NULL, &lo);
		f[lo.l3 + 28 + 240 + dopts_len(d.opt, 10) + 1] = keep.len;
		fix_ip4(f + lo.l3);
		cp_refused("option length past the end of the message", t, f, n, n, MAL, CPA);
	}
	cp_dhcp(&d);
	dopt_bytes(&d.opt[3], 52, 1, 1);    /* file holds options ... */
	dopt_bytes(&d.file[0], 6, 8, 1);    /* ... one running past the field */
	d.nfile = 1;
	n = build_cp(&d, f, NULL, &lo);
	f[lo.l3 + 28 + 108 + 1] = 130;
	cp_refused("overloaded file option past the field", t, f, n, n, MAL, CPA);
	/* a valid overloaded message is translated, file and sname too */
	cp_dhcp(&d);
	dopt_bytes(&d.opt[3], 52, 1, 3);
	{
		uint32_t a[2] = { ip4("10.20.0.9"), ip4("192.168.1.9") };

		dopt_addrs(&d.file[0], 6, 2, a);
		d.file[1].code = 255;
		d.nfile = 2;
		d.sname[0].code = 0;
		dopt_addrs(&d.sname[1], 3, 1, a + 1);
		d.sname[2].code = 255;
		d.nsname = 3;
	}
	t->unmapped = ST_UNMAPPED_RULE_DROP;
	check_cp("dhcp with overloaded sname and file", t, &d, 0);
	{
		static uint8_t out[MAXF];
		struct st_rewrite_result res;
		const uint8_t *b;

		cp_build_run(t, &d, f, out, &lo, &res);
		b = out + lo.l3 + 28;
		CHECK(res.drop == -1 && get32(b + 108 + 2) == ip4("172.16.0.9") &&
		      get32(b + 108 + 6) == ip4("192.168.201.9") &&
		      get32(b + 44 + 3) == ip4("192.168.201.9") && udp4_ok(out + lo.l3),
		      "overloaded file/sname options translated (odd offset included)");
	}
	t->unmapped = ST_UNMAPPED_RULE_MIRROR;

	/* ND */
	cp_nd(&d, 135);
	n = build_cp(&d, f, NULL, &lo);
	for (uint32_t pl = 0; pl < 24; pl++) {
		if (pl < 8)
			continue;            /* shorter than ICMPv6: truncated_l4 */
		memcpy(g, f, n);
		put16(g + lo.l3 + 4, (uint16_t)pl);
		cp_refused("ns shorter than 24 bytes", t, g, lo.l3 + 40 + pl,
			   lo.l3 + 40 + pl, MAL, CPA);
	}
	memcpy(g, f, n);
	g[lo.l4 + 24 + 1] = 0;
	cp_refused("nd option length 0", t, g, n, n, MAL, CPA);
	memcpy(g, f, n);
	g[lo.l4 + 24 + 1] = 2;
	cp_refused("nd option past the message", t, g, n, n, MAL, CPA);
	memcpy(g, f, n);
	put16(g + lo.l3 + 4, (uint16_t)(get16(g + lo.l3 + 4) - 7));
	cp_refused("truncated nd option", t, g, n - 7, n - 7, MAL, CPA);
	memcpy(g, f, n);
	g[n] = 0;
	put16(g + lo.l3 + 4, (uint16_t)(get16(g + lo.l3 + 4) + 1));
	cp_refused("nd with a stray byte after the options", t, g, n + 1, n + 1, MAL, CPA);
	cp_nd(&d, 134);
	n = build_cp(&d, f, NULL, &lo);
	memcpy(g, f, n);
	g[lo.l4 + 16 + 8 + 1] = 3;     /* prefix information of 24 bytes */
	g[lo.l4 + 16 + 8 + 24] = 5;    /* ... followed by an 8-byte option */
	g[lo.l4 + 16 + 8 + 25] = 1;
	cp_refused("prefix information of 24 bytes", t, g, n, n, MAL, CPA);
	for (uint32_t pl = 8; pl < 16; pl++) {
		memcpy(g, f, n);
		put16(g + lo.l3 + 4, (uint16_t)pl);
		cp_refused("ra shorter than 16 bytes", t, g, lo.l3 + 40 + pl,
			   lo.l3 + 40 + pl, MAL, CPA);
	}
	cp_nd(&d, 137);
	n = build_cp(&d, f, NULL, &lo);
	memcpy(g, f, n);
	put16(g + lo.l3 + 4, 39);
	cp_refused("redirect shorter than 40 bytes", t, g, lo.l3 + 40 + 39,
		   lo.l3 + 40 + 39, MAL, CPA);
	t->unmapped = ST_UNMAPPED_RULE_DROP;
}

/* An ARP, a DHCP and an ND frame (of nd_type) against the reference. */
static void check_cp_kinds(const char *what, const struct st_rewrite_tables *t, uint8_t nd_type)
{
	char name[96];
	struct cpd d;

	cp_arp(&d);
	snprintf(name, sizeof(name), "arp, %s", what);
	check_cp(name, t, &d, 0);
	cp_dhcp(&d);
	snprintf(name, sizeof(name), "dhcp, %s", what);
	check_cp(name, t, &d, 0);
	cp_nd(&d, nd_type);
	snprintf(name, sizeof(name), "nd %u, %s", nd_type, what);
	check_cp(name, t, &d, 0);
}

void test_cp(int iterations)
{
	struct st_rewrite_tables *t;
	struct cpd d;

	g_pol = &g_policy;
	/* control-plane translation off: ARP not IP, payloads untouched */
	make_policy(0, 1, ST_UNMAPPED_RULE_MIRROR);
	t = compile_policy("cpoff");
	if (t != NULL) {
		check_cp_kinds("cp off (payloads untouched)", t, 136);
		st_rewrite_free(t);
	}
	/* one bit at a time */
	for (int bit = 0; bit < 3; bit++) {
		make_policy(1u << bit, 1, ST_UNMAPPED_RULE_MIRROR);
		t = compile_policy(bit == 0 ? "cpa" : bit == 1 ? "cpd" : "cpn");
		if (t == NULL)
			continue;
		check_cp_kinds("one cp bit", t, 135);
		st_rewrite_free(t);
	}

	make_policy(ST_CP_ARP | ST_CP_DHCP | ST_CP_ND, 1, ST_UNMAPPED_RULE_DROP);
	t = compile_policy("cp");
	if (t == NULL) {
		g_pol = NULL;
		return;
	}
	test_cp_literals(t);
	test_cp_malformed(t);
	cp_dhcp(&d);
	d.mf = 1;
	check_cp("dhcp first fragment: headers only", t, &d, 0);
	for (int v = 0; v < 3; v++) {
		cp_arp(&d);
		d.nvlan = v;
		check_cp("arp with tags", t, &d, 0);
	}
	test_cp_random(t, iterations);
	test_cp_garbage(t, iterations * 2);
	st_rewrite_free(t);
	g_pol = NULL;
}
