/* SPDX-License-Identifier: BSD-3-Clause
 * Policy-era tables (st_rewrite_compile_policy): host overrides, MAC
 * maps, default MACs, the 3-way unmapped rule, and truncated copies
 * (st_rewrite_frame_ex with wire_len).
 * Part of st_rewrite_test (rewrite_test.h).
 */
#include "rewrite_test.h"

/* ---- policy-era tests (issue 3) --------------------------------------------
 * Tables from st_rewrite_compile_policy(): host overrides, MAC maps, default
 * MACs, the 3-way unmapped rule, truncated copies (st_rewrite_frame_ex with
 * wire_len), and control-plane payloads (ARP, DHCPv4, IPv6 ND). CP frames
 * have their own description and builder; the expected frame is built again
 * from the description with every field translated by the reference (a
 * linear scan of the maps and of the MAC maps) and every checksum computed
 * in full, as for IP frames above. */

struct st_start_plan g_policy_start_plan;               /* reference maps of g_policy */
struct st_policy_conf g_policy;
struct st_mac_map g_macs[8];

void mac(uint8_t *out, const char *s)
{
	unsigned int b[6];

	if (sscanf(s, "%x:%x:%x:%x:%x:%x", &b[0], &b[1], &b[2], &b[3], &b[4],
		   &b[5]) != 6)
		abort();
	for (int i = 0; i < 6; i++)
		out[i] = (uint8_t)b[i];
}

void policy_start_plan(struct st_start_plan *p)
{
	main_start_plan(p);
	add4(p, "192.168.1.200", "10.200.0.1", 32);    /* host override in a /24 */
	add4(p, "239.1.0.0", "239.9.0.0", 16);         /* a covered multicast range */
	add6(p, "2001:db8:1:2::77", "fd99::1:2345:6789", 128); /* host override in a /64 */
	add6(p, "ff0e::1:0", "ff0e::9:0", 112);        /* covered IPv6 groups */
}

/* g_policy from g_policy_start_plan; cp bits, MAC maps on or off. */
void make_policy(uint32_t cp, int with_macs, uint8_t unmapped)
{
	static const char *const m[][2] = {
		{ "00:66:77:88:99:aa", "02:aa:00:00:00:01" },  /* base_desc smac */
		{ "00:11:22:33:44:55", "02:aa:00:00:00:02" },  /* base_desc dmac */
		{ "02:00:00:00:00:01", "02:aa:00:00:00:11" },
		{ "02:00:00:00:00:02", "02:aa:00:00:00:12" },
		{ "02:00:00:00:00:03", "02:aa:00:00:00:13" },
		{ "33:33:00:00:00:01", "33:33:00:00:00:99" },  /* a group, mapped */
	};

	memset(&g_policy, 0, sizeof(g_policy));
	g_policy.nb_map4 = g_policy_start_plan.nb_map4;
	memcpy(g_policy.map4, g_policy_start_plan.map4, sizeof(g_policy_start_plan.map4));
	g_policy.nb_map6 = g_policy_start_plan.nb_map6;
	memcpy(g_policy.map6, g_policy_start_plan.map6, sizeof(g_policy_start_plan.map6));
	memcpy(g_policy.default_src_mac, g_policy_start_plan.shadow_src_mac, 6);
	memcpy(g_policy.default_dst_mac, g_policy_start_plan.shadow_dst_mac, 6);
	g_policy.unmapped = unmapped;
	g_policy.control_plane = cp;
	for (size_t i = 0; i < sizeof(m) / sizeof(m[0]); i++) {
		mac(g_macs[i].from, m[i][0]);
		mac(g_macs[i].to, m[i][1]);
	}
	g_policy.mac_maps = g_macs;
	g_policy.nb_mac_maps = with_macs ? (uint16_t)(sizeof(m) / sizeof(m[0])) : 0;
}

struct st_rewrite_tables *compile_policy(const char *suffix)
{
	struct st_error err;
	struct st_rewrite_tables *t;

	memset(&err, 0, sizeof(err));
	/* The reference here translates headers only: random frames that
	 * land on a payload translator's port or protocol (BGP on TCP 179,
	 * OSPF on IP 89, DNS/mDNS/LLMNR on 53/5353/5355, VXLAN/GENEVE, GRE,
	 * IP-in-IP, PIM) carry payloads that pass as they are. Their
	 * translation has tests of its own (fuzz_routing, fuzz_dns, the
	 * routing, dns and tunnels tests under test/dataplane). */
	g_policy.leak[ST_LEAK_BGP] = ST_LEAK_PASS;
	g_policy.leak[ST_LEAK_OSPF] = ST_LEAK_PASS;
	g_policy.leak[ST_LEAK_DNS] = ST_LEAK_PASS;
	g_policy.leak[ST_LEAK_MDNS] = ST_LEAK_PASS;
	g_policy.leak[ST_LEAK_LLMNR] = ST_LEAK_PASS;
	g_policy.leak[ST_LEAK_TUNNEL] = ST_LEAK_PASS;
	t = st_rewrite_compile_policy(&g_policy, suffix, &err);
	CHECK(t != NULL, "compile policy %s: %s %s %s", suffix, err.code, err.field,
	      err.message);
	return t;
}

void test_policy_compile(void)
{
	static struct st_mac_map mm[ST_MAX_MAC_MAPS + 1];
	struct st_rewrite_tables *t;
	struct st_error err;

	make_policy(ST_CP_ARP | ST_CP_DHCP | ST_CP_ND, 1, ST_UNMAPPED_RULE_COUNT);
	t = compile_policy("pc1");
	if (t != NULL) {
		CHECK(t->control_plane == 7 && t->cp_aware == 1 && t->nb_mac_maps == 6 &&
		      t->mac_hash != NULL && t->unmapped == ST_UNMAPPED_RULE_COUNT &&
		      t->lpm4 != NULL && t->lpm6 != NULL &&
		      memcmp(t->src_mac, g_policy.default_src_mac, 6) == 0 &&
		      memcmp(t->dst_mac, g_policy.default_dst_mac, 6) == 0,
		      "policy tables carry cp bits, MAC maps, rule and default MACs");
		st_rewrite_free(t);
	}
	make_policy(0, 0, ST_UNMAPPED_RULE_DROP);
	g_policy.nb_map6 = 0;
	t = compile_policy("pc2");
	CHECK(t != NULL && t->mac_hash == NULL && t->cp_aware == 0 && t->lpm6 == NULL,
	      "no MAC maps: no hash; no IPv6 maps: no rte_lpm6 (64 MiB saved)");
	st_rewrite_free(t);

	struct {
		const char *field;
		int which;
	} bad[] = {
		{ "mac_maps[3].from", 0 }, { "mac_maps[2].from", 1 },
		{ "mac_maps[4].to", 2 }, { "mac_maps", 3 }, { "mac_maps", 4 },
		{ "unmapped", 5 }, { "control_plane", 6 }, { "map4[1].len", 7 },
		{ "map6[1]", 8 }, { "", 9 },
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		const struct st_policy_conf *pp = &g_policy;

		make_policy(7, 1, ST_UNMAPPED_RULE_DROP);
		switch (bad[i].which) {
		case 0: memcpy(g_macs[3].from, g_macs[1].from, 6); break;
		case 1: memset(g_macs[2].from, 0, 6); break;
		case 2: memset(g_macs[4].to, 0, 6); break;
		case 3:
			for (int k = 0; k < ST_MAX_MAC_MAPS + 1; k++) {
				mm[k].from[0] = 2;
				mm[k].from[4] = (uint8_t)(k >> 8);
				mm[k].from[5] = (uint8_t)k;
				mm[k].to[0] = 2;
			}
			g_policy.mac_maps = mm;
			g_policy.nb_mac_maps = ST_MAX_MAC_MAPS + 1;
			break;
		case 4: g_policy.mac_maps = NULL; break;
		case 5: g_policy.unmapped = 3; break;
		case 6: g_policy.control_plane = 8; break;
		case 7: g_policy.map4[1].len = 33; break;
		case 8: g_policy.map6[1] = g_policy.map6[0]; break;
		case 9: pp = NULL; break;
		}
		memset(&err, 0, sizeof(err));
		t = st_rewrite_compile_policy(pp, "bad", &err);
		CHECK(t == NULL && strcmp(err.code, "ST_ERR_MAP_COMPILE") == 0 &&
		      strcmp(err.field, bad[i].field) == 0 &&
		      err.message[0] != 0,
		      "bad policy %d refused as '%s': got '%s' '%s'", bad[i].which,
		      bad[i].field, err.field, err.message);
		st_rewrite_free(t);
	}
	/* a full MAC map set compiles */
	make_policy(7, 0, ST_UNMAPPED_RULE_DROP);
	for (int k = 0; k < ST_MAX_MAC_MAPS; k++) {
		memset(&mm[k], 0, sizeof(mm[k]));
		mm[k].from[0] = 2;
		mm[k].from[4] = (uint8_t)(k >> 8);
		mm[k].from[5] = (uint8_t)k;
		mm[k].to[0] = 4;
		mm[k].to[5] = (uint8_t)k;
	}
	g_policy.mac_maps = mm;
	g_policy.nb_mac_maps = ST_MAX_MAC_MAPS;
	t = compile_policy("pc3");
	if (t != NULL) {
		struct desc d;

		g_pol = &g_policy;
		base_desc(&d, 0, 6);
		for (int k = 0; k < ST_MAX_MAC_MAPS; k += 97) {
			memcpy(d.smac, mm[k].from, 6);
			memcpy(d.dmac, mm[(k + 1) % ST_MAX_MAC_MAPS].from, 6);
			check_desc("1024 MAC maps", t, &g_policy_start_plan, &d);
		}
		g_pol = NULL;
		st_rewrite_free(t);
	}
}

/* Sometimes give a desc the MACs and addresses the policy treats apart. */
static void policy_spice(struct desc *d)
{
	static const char *const macs[] = {
		"00:66:77:88:99:aa", "00:11:22:33:44:55", "02:00:00:00:00:03",
		"33:33:00:00:00:01", "ff:ff:ff:ff:ff:ff", "00:00:00:00:00:00",
		"01:00:5e:01:02:03", "33:33:00:01:00:05",
	};
	static const char *const a4[] = {
		"0.0.0.0", "255.255.255.255", "224.0.0.5", "239.1.2.3", "239.200.1.1",
		"192.168.1.200", "192.168.1.201",
	};
	static const char *const a6[] = {
		"::", "ff02::1", "ff02::1:ff00:77", "ff0e::1:5", "fe80::1",
		"fe80::abcd:1", "2001:db8:1:2::77", "2001:db8:1:2::78",
	};

	if (rndn(3) == 0)
		mac(d->dmac, macs[rndn(8)]);
	if (rndn(3) == 0)
		mac(d->smac, macs[rndn(8)]);
	if (rndn(3) == 0) {
		if (d->v6)
			ip6(d->src6, a6[rndn(8)]);
		else
			d->src4 = ip4(a4[rndn(7)]);
	}
	if (rndn(3) == 0) {
		if (d->v6)
			ip6(d->dst6, a6[rndn(8)]);
		else
			d->dst4 = ip4(a4[rndn(7)]);
	}
	/* a multicast destination with its own MAC: the MAC must follow */
	if (!d->v6 && (d->dst4 >> 28) == 0xe && rndn(2)) {
		d->dmac[0] = 1; d->dmac[1] = 0; d->dmac[2] = 0x5e;
		d->dmac[3] = (uint8_t)((d->dst4 >> 16) & 0x7f);
		d->dmac[4] = (uint8_t)(d->dst4 >> 8);
		d->dmac[5] = (uint8_t)d->dst4;
	}
	if (d->v6 && d->dst6[0] == 0xff && rndn(2)) {
		d->dmac[0] = 0x33; d->dmac[1] = 0x33;
		memcpy(d->dmac + 2, d->dst6 + 12, 4);
	}
}

/* IP descs are checked against the IP reference: keep them clear of the
 * control-plane payloads (ND types), which have their own tests below. */
static void not_cp(struct desc *d)
{
	if (d->v6 && d->proto == 58 && d->icmp_type >= 133 && d->icmp_type <= 137)
		d->icmp_type = (uint8_t)(d->icmp_type - 5);
}

void test_policy_ip(int iterations)
{
	static const uint8_t rules[3] = { ST_UNMAPPED_RULE_DROP,
					  ST_UNMAPPED_RULE_MIRROR,
					  ST_UNMAPPED_RULE_COUNT };
	struct st_rewrite_tables *t;
	struct desc d;
	char name[96];

	g_pol = &g_policy;
	for (int conf = 0; conf < 3; conf++) {
		/* 0: the start plan's behaviour; 1: MAC maps; 2: MAC maps + cp */
		make_policy(conf == 2 ? 7 : 0, conf >= 1, ST_UNMAPPED_RULE_DROP);
		t = compile_policy(conf == 0 ? "pip0" : conf == 1 ? "pip1" : "pip2");
		if (t == NULL)
			continue;
		for (int ex = 0; ex < 2; ex++) {
			int bad = 0;

			g_ex = ex;
			for (int i = 0; i < iterations / 2 && bad < 10; i++) {
				random_desc(&d, &g_policy_start_plan, 1);
				if (conf >= 1)
					policy_spice(&d);
				not_cp(&d);
				t->unmapped = rules[rndn(3)];
				snprintf(name, sizeof(name), "policy conf %d ex %d #%d", conf,
					 ex, i);
				bad += check_desc(name, t, &g_policy_start_plan, &d);
			}
		}
		g_ex = 0;
		t->unmapped = ST_UNMAPPED_RULE_DROP;
		if (conf == 2) {
			static uint8_t in[MAXF], out[MAXF];
			struct st_rewrite_result res;
			struct layout lo;

			/* host overrides beat their subnet's map */
			base_desc(&d, 0, 17);
			d.src4 = ip4("192.168.1.200");
			d.dst4 = ip4("192.168.1.201");
			build(&d, in, &lo);
			run(t, in, lo.len, lo.len, out, &res);
			CHECK(res.drop == -1 && get32(out + lo.l3 + 12) == ip4("10.200.0.1") &&
			      get32(out + lo.l3 + 16) == ip4("192.168.201.201"),
			      "ipv4 /32 host override wins over its /24");
			base_desc(&d, 1, 6);
			ip6(d.src6, "2001:db8:1:2::77");
			build(&d, in, &lo);
			run(t, in, lo.len, lo.len, out, &res);
			{
				uint8_t w[16], w2[16];

				ip6(w, "fd99::1:2345:6789");
				ip6(w2, "fd00:1:2:5::1");
				CHECK(res.drop == -1 && memcmp(out + lo.l3 + 8, w, 16) == 0 &&
				      memcmp(out + lo.l3 + 24, w2, 16) == 0,
				      "ipv6 /128 host override wins over its /64");
			}
			/* MAC map and default MAC, field by field */
			base_desc(&d, 0, 6);
			build(&d, in, &lo);
			run(t, in, lo.len, lo.len, out, &res);
			{
				uint8_t ws[6], wd[6];

				mac(ws, "02:aa:00:00:00:01");
				mac(wd, "02:aa:00:00:00:02");
				CHECK(memcmp(out, wd, 6) == 0 && memcmp(out + 6, ws, 6) == 0,
				      "both MACs through the MAC map");
			}
			mac(d.smac, "02:77:00:00:00:01");
			mac(d.dmac, "ff:ff:ff:ff:ff:ff");
			build(&d, in, &lo);
			run(t, in, lo.len, lo.len, out, &res);
			CHECK(memcmp(out + 6, g_policy.default_src_mac, 6) == 0 &&
			      memcmp(out, in, 6) == 0,
			      "unmapped src MAC gets the default; broadcast dst kept (cp on)");
			/* OSPFv2 hello to 224.0.0.5 under the drop rule */
			base_desc(&d, 0, 89);
			d.dst4 = ip4("224.0.0.5");
			mac(d.dmac, "01:00:5e:00:00:05");
			build(&d, in, &lo);
			run(t, in, lo.len, lo.len, out, &res);
			CHECK(res.drop == -1 && get32(out + lo.l3 + 16) == ip4("224.0.0.5") &&
			      get32(out + lo.l3 + 12) == ip4("172.16.30.40") &&
			      memcmp(out, in, 6) == 0,
			      "ospf to 224.0.0.5: mirrored under drop, group and MAC kept");
			/* a covered group: address and MAC follow */
			d.proto = 17;
			d.dst4 = ip4("239.1.2.3");
			mac(d.dmac, "01:00:5e:01:02:03");
			build(&d, in, &lo);
			run(t, in, lo.len, lo.len, out, &res);
			{
				uint8_t wd[6];

				mac(wd, "01:00:5e:09:02:03");
				CHECK(res.drop == -1 && get32(out + lo.l3 + 16) == ip4("239.9.2.3") &&
				      memcmp(out, wd, 6) == 0,
				      "covered multicast group translated, its MAC follows");
			}
			/* COUNT */
			t->unmapped = ST_UNMAPPED_RULE_COUNT;
			base_desc(&d, 0, 6);
			d.dst4 = ip4("8.8.8.8");
			build(&d, in, &lo);
			run(t, in, lo.len, lo.len, out, &res);
			CHECK(res.drop == ST_DROP_UNMAPPED && res.unmapped_seen == 1 &&
			      memcmp(in, out, lo.len) == 0,
			      "count: not sent, unmapped_seen, untouched");
			t->unmapped = ST_UNMAPPED_RULE_MIRROR;
			run(t, in, lo.len, lo.len, out, &res);
			CHECK(res.drop == -1 && res.unmapped_seen == 0,
			      "mirror: sent, unmapped_seen 0");
			t->unmapped = ST_UNMAPPED_RULE_DROP;
			run(t, in, lo.len, lo.len, out, &res);
			CHECK(res.drop == ST_DROP_UNMAPPED && res.unmapped_seen == 0,
			      "drop: dropped, unmapped_seen 0");
		}
		st_rewrite_free(t);
	}
	g_pol = NULL;
}

/* ---- truncated copies of IP frames ---------------------------------------- */

static int inner_hdr_len(const struct desc *d)
{
	return d->v6 ? 40 : 20;
}

/* A first fragment whose quoted UDP checksum is in a later fragment: that
 * one is not changed (the data plane never sees it), so the whole
 * translated datagram keeps the original there. */
void quoted_cs_keep(const struct desc *d, struct desc *e)
{
	if (d->frag != FR_FIRST || d->frag_bytes >= 8u + (uint32_t)inner_hdr_len(d) + 8u)
		return;
	e->qcs_keep = 1;
	e->qcs_src4 = d->in_src4;
	e->qcs_dst4 = d->in_dst4;
	memcpy(e->qcs_src6, d->in_src6, 16);
	memcpy(e->qcs_dst6, d->in_dst6, 16);
}

/* Expected translated description and outcome of d (see check_desc);
 * inner: whether the quoted header is translated. Returns 1 if sent. */
static int expect_desc(const struct st_rewrite_tables *t, const struct st_start_plan *p,
		       const struct desc *d, int inner, struct desc *e,
		       int *changed)
{
	int ms, md;

	*e = *d;
	if (d->v6) {
		ms = refx6(p, d->src6, e->src6) != 0;
		md = refx6(p, d->dst6, e->dst6) != 0;
		*changed = memcmp(e->src6, d->src6, 16) || memcmp(e->dst6, d->dst6, 16);
	} else {
		ms = refx4(p, d->src4, &e->src4) != 0;
		md = refx4(p, d->dst4, &e->dst4) != 0;
		*changed = e->src4 != d->src4 || e->dst4 != d->dst4;
	}
	if (!(ms && md) && t->unmapped != ST_UNMAPPED_MIRROR)
		return 0;
	if (inner) {
		if (d->v6) {
			refx6(p, d->in_src6, e->in_src6);
			refx6(p, d->in_dst6, e->in_dst6);
			*changed |= memcmp(e->in_src6, d->in_src6, 16) ||
				    memcmp(e->in_dst6, d->in_dst6, 16);
		} else {
			refx4(p, d->in_src4, &e->in_src4);
			refx4(p, d->in_dst4, &e->in_dst4);
			*changed |= e->in_src4 != d->in_src4 || e->in_dst4 != d->in_dst4;
		}
		quoted_cs_keep(d, e);
	}
	if (g_pol == NULL) {
		if (!mac_zero(p->shadow_dst_mac))
			memcpy(e->dmac, p->shadow_dst_mac, 6);
		if (!mac_zero(p->shadow_src_mac))
			memcpy(e->smac, p->shadow_src_mac, 6);
	} else {
		const uint8_t *dm = ref_mac(d->dmac, g_pol->default_dst_mac);
		const uint8_t *sm = ref_mac(d->smac, g_pol->default_src_mac);

		if (dm != NULL)
			memcpy(e->dmac, dm, 6);
		else if (cp_aware() && !d->v6 && d->dst4 != e->dst4 &&
			 (e->dst4 >> 28) == 0xe && d->dmac[0] == 1 && d->dmac[1] == 0 &&
			 d->dmac[2] == 0x5e &&
			 ((uint32_t)d->dmac[3] << 16 | (uint32_t)d->dmac[4] << 8 | d->dmac[5]) ==
			 (d->dst4 & 0x7fffff)) {
			e->dmac[3] = (uint8_t)((e->dst4 >> 16) & 0x7f);
			e->dmac[4] = (uint8_t)(e->dst4 >> 8);
			e->dmac[5] = (uint8_t)e->dst4;
		} else if (cp_aware() && d->v6 && memcmp(d->dst6, e->dst6, 16) != 0 &&
			   e->dst6[0] == 0xff && d->dmac[0] == 0x33 && d->dmac[1] == 0x33 &&
			   memcmp(d->dmac + 2, d->dst6 + 12, 4) == 0) {
			memcpy(e->dmac + 2, e->dst6 + 12, 4);
		}
		if (sm != NULL)
			memcpy(e->smac, sm, 6);
	}
	return 1;
}

void run_ex(const struct st_rewrite_tables *t, const uint8_t *in,
	    uint32_t seg, uint32_t pkt, uint32_t wire, uint8_t *out,
	    struct st_rewrite_result *res)
{
	uint8_t *b = malloc(seg ? seg : 1);

	if (b == NULL)
		exit(2);
	memcpy(b, in, seg);
	res->drop = 99;
	res->translated = 99;
	res->anomalies = 0xdeadbeef;
	res->unmapped_seen = 99;
	st_rewrite_frame_ex(t, b, seg, pkt, wire, res);
	memcpy(out, b, seg);
	free(b);
}

/* d cut to n bytes (wire = the whole frame): a cut inside the headers drops
 * the copy without an anomaly; otherwise the copy is the first n bytes of
 * the whole translated frame, checksums included. */
static int check_trunc_desc(const char *name, const struct st_rewrite_tables *t,
			    const struct st_start_plan *p, const struct desc *d,
			    uint32_t n)
{
	static uint8_t in[MAXF], out[MAXF], want[MAXF];
	struct st_rewrite_result res;
	struct layout lo, lw;
	struct desc e;
	uint32_t full = build(d, in, &lo);
	int changed, sent, inner, fails = (int)g_fail;

	if (n > full)
		n = full;
	inner = d->inner && icmp_is_error(d) &&
		(d->frag == FR_NONE || d->frag == FR_ATOMIC ||
		 (d->frag == FR_FIRST && d->frag_bytes >= 8u + (uint32_t)inner_hdr_len(d))) &&
		n >= lo.l4 + 8 + (uint32_t)inner_hdr_len(d);
	sent = expect_desc(t, p, d, inner, &e, &changed);
	run_ex(t, in, n, n, full, out, &res);
	if (n < lo.l4) {
		CHECK(res.drop == ST_DROP_MALFORMED &&
		      (res.anomalies & ~expected_anoms(d)) == 0 && res.translated == 0 &&
		      memcmp(in, out, n) == 0,
		      "%s: cut at %u inside the headers (l4 %u): drop %d anomalies %#x",
		      name, n, lo.l4, res.drop, res.anomalies);
		return (int)g_fail != fails;
	}
	CHECK(res.anomalies == expected_anoms(d), "%s (cut %u): anomalies %#x want %#x",
	      name, n, res.anomalies, expected_anoms(d));
	if (!sent) {
		CHECK(res.drop == ST_DROP_UNMAPPED && memcmp(in, out, n) == 0,
		      "%s (cut %u): drop %d want unmapped", name, n, res.drop);
		return (int)g_fail != fails;
	}
	build(&e, want, &lw);
	/* a checksum cut in half cannot be adjusted (its other byte is gone):
	 * the byte in the copy stays as it was */
	if (l4_csum_off(d) >= 0 && d->frag != FR_LATER &&
	    n == lo.l4 + (uint32_t)l4_csum_off(d) + 1)
		want[n - 1] = in[n - 1];
	/* the same for the quoted UDP checksum of an ICMP error */
	if (inner && n == lo.l4 + 8 + (uint32_t)inner_hdr_len(d) + 6 + 1)
		want[n - 1] = in[n - 1];
	CHECK(res.drop == -1 && res.translated == changed && res.unmapped_seen == 0,
	      "%s (cut %u of %u, l4 %u): drop %d translated %u want %d", name, n,
	      full, lo.l4, res.drop, res.translated, changed);
	CHECK(memcmp(out, want, n) == 0,
	      "%s (cut %u of %u): copy differs from the whole translated frame",
	      name, n, full);
	if (memcmp(out, want, n) != 0) {
		fprintf(stderr, "    v6=%d proto=%u frag=%d inner=%d icmp=%u l4=%u\n",
			d->v6, d->proto, d->frag, d->inner, d->icmp_type, lo.l4);
		dump_diff(out, want, n);
	}
	return (int)g_fail != fails;
}

void test_truncated(int iterations)
{
	static uint8_t f[MAXF];
	struct st_rewrite_tables *t;
	struct layout lo;
	struct desc d;
	char name[64];
	int bad = 0;

	g_pol = &g_policy;
	make_policy(7, 1, ST_UNMAPPED_RULE_MIRROR);
	t = compile_policy("trunc");
	if (t == NULL)
		return;
	for (int i = 0; i < iterations && bad < 10; i++) {
		uint32_t full, cuts[8];

		random_desc(&d, &g_policy_start_plan, 1);
		if (rndn(2))
			policy_spice(&d);
		not_cp(&d);
		t->unmapped = (uint8_t)rndn(3);
		full = build(&d, f, &lo);
		cuts[0] = rndn(full + 1);
		cuts[1] = lo.l4 ? lo.l4 - 1 : 0;
		cuts[2] = lo.l4;
		cuts[3] = lo.l4 + 1 + rndn(20);
		cuts[4] = lo.l4 + 8 + rndn(60);
		cuts[5] = full - rndn(4);
		cuts[6] = 14 + rndn(40);
		cuts[7] = rndn(14);
		for (int k = 0; k < 8; k++) {
			snprintf(name, sizeof(name), "truncated #%d", i);
			bad += check_trunc_desc(name, t, &g_policy_start_plan, &d, cuts[k]);
		}
	}
	/* the literal case: TCP cut after 40 bytes keeps a right checksum */
	base_desc(&d, 0, 6);
	d.paylen = 1400;
	t->unmapped = ST_UNMAPPED_RULE_DROP;
	check_trunc_desc("tcp 1400 bytes cut to 64", t, &g_policy_start_plan, &d, 64);
	check_trunc_desc("tcp cut just after its checksum", t, &g_policy_start_plan, &d, 14 + 20 + 18);
	check_trunc_desc("tcp cut inside its checksum", t, &g_policy_start_plan, &d, 14 + 20 + 17);
	base_desc(&d, 1, 17);
	d.paylen = 1000;
	check_trunc_desc("ipv6 udp cut to 128", t, &g_policy_start_plan, &d, 128);
	/* length fields are checked against wire_len, not the copy */
	{
		static uint8_t out[MAXF];
		struct st_rewrite_result res;

		uint32_t full;

		base_desc(&d, 0, 6);
		d.paylen = 500;
		full = build(&d, f, &lo);
		run_ex(t, f, 100, 100, full - 1, out, &res);
		CHECK(res.drop == ST_DROP_MALFORMED &&
		      res.anomalies == (1u << ST_ANOM_TRUNC_L3),
		      "total_length beyond wire_len is truncated_l3");
		run_ex(t, f, 100, 100, 50, out, &res);
		CHECK(res.drop == ST_DROP_MALFORMED &&
		      res.anomalies == (1u << ST_ANOM_TRUNC_L3),
		      "wire_len < pkt_len counts as pkt_len");
		run_ex(t, f, 60, 100, full, out, &res);
		CHECK(res.drop == -1, "chained truncated copy, tcp header in segment 1");
		run_ex(t, f, 40, 100, full, out, &res);
		CHECK(res.drop == ST_DROP_MALFORMED &&
		      res.anomalies == (1u << ST_ANOM_TRUNC_L4),
		      "chained truncated copy, tcp header past segment 1");
	}
	st_rewrite_free(t);
	g_pol = NULL;
}
