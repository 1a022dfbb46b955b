/* SPDX-License-Identifier: BSD-3-Clause
 * Random frames: valid IP descriptions checked against the reference,
 * random garbage and mutated control-plane payloads (never a crash, never a
 * write past the segment), and random control-plane descriptions.
 * Part of st_rewrite_test (rewrite_test.h).
 */
#include "rewrite_test.h"

/* A random valid frame description; mostly_mapped picks addresses inside
 * the start plan's maps 9 times out of 10, else anywhere. */
void random_desc(struct desc *d, const struct st_start_plan *p, int mostly_mapped)
{
	static const uint16_t tpids[3] = { 0x8100, 0x88a8, 0x9100 };
	static const uint8_t v4p[] = { 6, 17, 1, 1, 2, 50, 132 };  /* GRE is a tunnel: rewrite_tun.c, tested in tunnels.test.ts */
	static const uint8_t v6p[] = { 6, 17, 58, 58, 89, 50, 59 };
	static const uint8_t e4[] = { 3, 4, 5, 11, 12 };
	uint32_t l4hdr, full;

	memset(d, 0, sizeof(*d));
	for (int k = 0; k < 6; k++) {
		d->dmac[k] = (uint8_t)rnd();
		d->smac[k] = (uint8_t)rnd();
	}
	d->seed = rnd();
	d->nvlan = (int)rndn(3);
	for (int k = 0; k < d->nvlan; k++) {
		d->tpid[k] = tpids[rndn(3)];
		d->tci[k] = (uint16_t)rnd();
	}
	d->v6 = (int)rndn(2);
	d->proto = d->v6 ? v6p[rndn(sizeof(v6p))] : v4p[rndn(sizeof(v4p))];
	d->paylen = rndn(4) == 0 ? 0 : rndn(300);
	d->pad = rndn(3) == 0 ? rndn(30) : 0;
	d->tcp_doff = (uint8_t)(5 + (rndn(3) == 0 ? rndn(11) : 0));
	d->udp_zero = rndn(5) == 0;
	if (d->proto == 59)
		d->paylen = 0;

#define PICK(n) (mostly_mapped && rndn(10) ? (int)rndn(n) : -1)
	if (!d->v6) {
		d->src4 = addr_in4(p, PICK(p->nb_map4));
		d->dst4 = addr_in4(p, PICK(p->nb_map4));
		if (d->proto == 1) {
			d->icmp_type = rndn(2) ? e4[rndn(5)] : (uint8_t)rndn(20);
			d->inner = rndn(4) != 0;
			d->in_src4 = addr_in4(p, PICK(p->nb_map4));
			d->in_dst4 = addr_in4(p, PICK(p->nb_map4));
		}
		if (rndn(4) == 0) {
			d->optlen = 4 * (1 + rndn(10));
			if (d->optlen >= 12 && rndn(2)) {
				d->sr_n = (uint8_t)(1 + rndn((d->optlen - 4) / 4 < 3 ?
							      (d->optlen - 4) / 4 : 3));
				d->srcroute = 1 + (int)rndn(2);
				for (int k = 0; k < d->sr_n; k++)
					d->sr_addr[k] = addr_in4(p, PICK(p->nb_map4));
			}
		}
	} else {
		addr_in6(p, PICK(p->nb_map6), d->src6);
		addr_in6(p, PICK(p->nb_map6), d->dst6);
		if (d->proto == 58) {
			d->icmp_type = rndn(2) ? (uint8_t)(1 + rndn(4)) :
						 (uint8_t)(128 + rndn(10));
			d->inner = rndn(4) != 0;
			addr_in6(p, PICK(p->nb_map6), d->in_src6);
			addr_in6(p, PICK(p->nb_map6), d->in_dst6);
		}
		if (rndn(2)) {
			struct ext6 *x;

			if (rndn(2)) {
				x = &d->ext[d->next++];
				x->type = 0;
				x->len = (uint8_t)rndn(3);
			}
			if (rndn(3) == 0) {
				x = &d->ext[d->next++];
				x->type = 60;
				x->len = (uint8_t)rndn(2);
			}
			if (rndn(3) == 0) {
				x = &d->ext[d->next++];
				x->type = 43;
				x->naddr = (uint8_t)(1 + rndn(3));
				x->len = (uint8_t)(2 * x->naddr);
				x->segleft = (uint8_t)rndn(x->naddr + 1u);
				for (int a = 0; a < x->naddr; a++)
					addr_in6(p, PICK(p->nb_map6), x->addr[a]);
			}
			if (rndn(3) == 0) {
				x = &d->ext[d->next++];
				x->type = 44;
				d->frag = rndn(3) == 0 ? FR_ATOMIC : FR_FIRST + (int)rndn(2);
			}
			if (d->frag != FR_LATER && rndn(4) == 0) {
				x = &d->ext[d->next++];
				x->type = 51;
				x->len = (uint8_t)(2 * (1 + rndn(3)));
			}
			if (d->frag != FR_LATER && rndn(4) == 0) {
				x = &d->ext[d->next++];
				x->type = 60;
				x->len = (uint8_t)rndn(2);
			}
		}
	}
#undef PICK
	if (d->inner && !((d->v6 && d->proto == 58) || (!d->v6 && d->proto == 1)))
		d->inner = 0;

	/* fragments: v4 picks here; v6 picked with its fragment header */
	if (!d->v6 && rndn(4) == 0)
		d->frag = FR_FIRST + (int)rndn(2);
	if (d->frag == FR_LATER) {
		d->frag_off8 = (uint16_t)(1 + rndn(d->v6 ? 8000 : 8000));
		d->later_mf = (int)rndn(2);
		if (d->paylen == 0)
			d->paylen = 1 + rndn(100);
		d->inner = 0;
	} else if (d->frag == FR_FIRST) {
		uint32_t minb;

		switch (d->proto) {
		case 6: l4hdr = d->tcp_doff * 4u; minb = 24; break;
		case 17: l4hdr = 8; minb = 8; break;
		case 1: case 58:
			l4hdr = 8 + (d->inner ? (d->v6 ? 48 : 28) : 0); minb = 8; break;
		case 89: l4hdr = 16; minb = 16; break;
		default: l4hdr = 0; minb = 8; break;
		}
		full = l4hdr + d->paylen;
		if (full <= minb) {
			d->frag = d->v6 ? FR_ATOMIC : FR_NONE;
		} else {
			uint32_t k = (full - 1) / 8;   /* max 8-byte blocks < full */

			d->frag_bytes = 8 * (minb / 8 + rndn(k - minb / 8 + 1));
			if (d->frag_bytes < minb || d->frag_bytes >= full)
				d->frag = d->v6 ? FR_ATOMIC : FR_NONE;
		}
	}
}

void test_random_valid(struct st_rewrite_tables *t,
		       const struct st_start_plan *p, int count)
{
	struct desc d;
	char name[64];
	int bad = 0;

	for (int i = 0; i < count; i++) {
		random_desc(&d, p, 1);
		t->unmapped = rndn(3) ? ST_UNMAPPED_DROP : ST_UNMAPPED_MIRROR;
		snprintf(name, sizeof(name), "random valid #%d", i);
		if (check_desc(name, t, p, &d) && ++bad > 10) {
			fprintf(stderr, "too many random failures, stopping\n");
			break;
		}
	}
	t->unmapped = ST_UNMAPPED_DROP;
}

void test_random_garbage(struct st_rewrite_tables *t,
			 const struct st_start_plan *p, int count)
{
	static uint8_t f[MAXF], out[MAXF];
	struct st_rewrite_result res;
	struct layout lo;
	struct desc d;
	unsigned int sent = 0, bad = 0;

	for (int i = 0; i < count && bad < 10; i++) {
		uint32_t n, seg, pkt;

		if (i % 3 == 0) {   /* pure noise with an IP-ish ethertype */
			n = rndn(200);
			for (uint32_t k = 0; k < n; k++)
				f[k] = (uint8_t)rnd();
			if (n >= 14 && rndn(4)) {
				static const uint16_t et[] = { 0x0800, 0x86dd, 0x8100,
							       0x88a8, 0x9100 };
				put16(f + 12, et[rndn(5)]);
				if (n >= 15 && rndn(2))
					f[14] = (uint8_t)((rndn(2) ? 0x40 : 0x60) |
							  (f[14] & 0xf));
			}
		} else {            /* a valid frame, mutated */
			random_desc(&d, p, 1);
			n = build(&d, f, &lo);
			for (uint32_t m = 1 + rndn(4); m > 0; m--)
				f[rndn(n < 120 ? n : 120)] ^= (uint8_t)(1u << rndn(8));
			if (rndn(3) == 0)
				n = rndn(n + 1);
		}
		seg = n;
		pkt = rndn(4) == 0 ? n + rndn(100) : n;
		if (rndn(8) == 0)
			pkt = rndn(n + 1);
		t->unmapped = (uint8_t)rndn(2);
		run(t, f, seg, pkt, out, &res);
		if (!((res.drop >= -1 && res.drop <= ST_DROP_MALFORMED) &&
		      (res.anomalies >> ST_ANOM__COUNT) == 0 && res.translated <= 1 &&
		      (res.drop == -1 || (res.translated == 0 &&
					  (seg == 0 || memcmp(f, out, seg) == 0))))) {
			bad++;
			CHECK(0, "garbage #%d: drop %d anomalies %#x translated %u",
			      i, res.drop, res.anomalies, res.translated);
		}
		if (res.drop == -1)
			sent++;
	}
	t->unmapped = ST_UNMAPPED_DROP;
	CHECK(bad == 0, "random garbage: %u bad results", bad);
	printf("random garbage: %d frames, %u sent\n", count, sent);
}


/* A random CP description: addresses mostly mapped, sometimes special or
 * unmapped; MACs from the map, random, group or zero; random options. */
static uint32_t cp_addr4(void)
{
	static const char *const sp[] = { "0.0.0.0", "255.255.255.255", "224.0.0.1",
					  "239.1.0.9", "8.8.8.8" };

	if (rndn(5) == 0)
		return ip4(sp[rndn(5)]);
	return addr_in4(&g_policy_start_plan, rndn(8) ? (int)rndn(g_policy_start_plan.nb_map4) : -1);
}

static void cp_addr6(uint8_t *a)
{
	static const char *const sp[] = { "::", "ff02::1", "fe80::1", "ff0e::1:7",
					  "2001:db9::1" };

	if (rndn(5) == 0)
		ip6(a, sp[rndn(5)]);
	else
		addr_in6(&g_policy_start_plan, rndn(8) ? (int)rndn(g_policy_start_plan.nb_map6) : -1, a);
}

static void cp_mac(uint8_t *m)
{
	switch (rndn(5)) {
	case 0: memcpy(m, g_macs[rndn(6)].from, 6); break;
	case 1: mac(m, rndn(2) ? "ff:ff:ff:ff:ff:ff" : "00:00:00:00:00:00"); break;
	default:
		for (int i = 0; i < 6; i++)
			m[i] = (uint8_t)rnd();
		break;
	}
}

static void random_dopts(struct dopt *o, int *n, int max, int room)
{
	static const uint8_t codes[] = { 3, 6, 28, 50, 54, 42, 1, 51, 53, 61, 12,
					 118, 4, 44 };
	int used = 0;

	*n = 0;
	while (*n < max - 1 && used < room - 20 && rndn(6) != 0) {
		struct dopt *x = &o[(*n)++];
		uint8_t c = codes[rndn(sizeof(codes))];

		memset(x, 0, sizeof(*x));
		if (rndn(8) == 0) {
			x->code = 0;
			used++;
			continue;
		}
		x->code = c;
		if (ref_dhcp_addr_opt(c)) {
			int k = (c == 28 || c == 50 || c == 54 || c == 118) ? 1 : 1 + (int)rndn(3);

			x->len = (uint8_t)(4 * k);
			for (int i = 0; i < k; i++)
				put32(x->data + 4 * i, cp_addr4());
		} else if (c == 61) {
			x->len = 7;
			x->data[0] = rndn(3) ? 1 : 0;
			cp_mac(x->data + 1);
		} else {
			x->len = (uint8_t)rndn(12);
			for (int i = 0; i < x->len; i++)
				x->data[i] = (uint8_t)rnd();
		}
		used += 2 + x->len;
	}
	if (rndn(4) != 0)
		o[(*n)++].code = 255;
}

static void random_cp(struct cpd *d)
{
	int kind = 1 + (int)rndn(3);

	if (kind == CP_ARP) {
		cp_arp(d);
		d->op = (uint16_t)(1 + rndn(2));
		d->spa = cp_addr4();
		d->tpa = cp_addr4();
		cp_mac(d->sha);
		cp_mac(d->tha);
		d->htype = rndn(4) ? 1 : 6;
		d->pad = rndn(30);
	} else if (kind == CP_DHCP) {
		cp_dhcp(d);
		d->src4 = cp_addr4();
		d->dst4 = cp_addr4();
		if (rndn(2)) {
			d->sport = 68;
			d->dport = 67;
		}
		d->ciaddr = cp_addr4();
		d->yiaddr = cp_addr4();
		d->siaddr = cp_addr4();
		d->giaddr = cp_addr4();
		cp_mac(d->chaddr);
		d->bhtype = rndn(5) ? 1 : 6;
		d->bhlen = rndn(5) ? 6 : 16;
		d->cookie = rndn(8) != 0;
		random_dopts(d->opt, &d->nopt, 14, 600);
		if (d->nopt > 0 && d->opt[d->nopt - 1].code == 255 && rndn(4) == 0) {
			/* overload: 52 before the end, options in file and sname */
			d->opt[d->nopt - 1].code = 52;
			d->opt[d->nopt - 1].len = 1;
			d->opt[d->nopt - 1].data[0] = (uint8_t)(1 + rndn(3));
			d->opt[d->nopt++].code = 255;
			random_dopts(d->file, &d->nfile, 6, 120);
			random_dopts(d->sname, &d->nsname, 4, 60);
		}
		d->trail = rndn(20);
		d->udp_zero = rndn(6) == 0;
		d->mf = rndn(12) == 0;
		d->pad = rndn(8);
	} else {
		static const uint8_t types[] = { 133, 134, 135, 136, 137 };

		cp_nd(d, types[rndn(5)]);
		cp_addr6(d->src6);
		if (d->type != 135 || rndn(2))
			cp_addr6(d->dst6);
		cp_addr6(d->target);
		cp_addr6(d->dest);
		if (d->type == 135 && rndn(2)) {
			ip6(d->dst6, "ff02::1:ff00:0");
			memcpy(d->dst6 + 13, d->target + 13, 3);
			d->dmac[0] = d->dmac[1] = 0x33;
			memcpy(d->dmac + 2, d->dst6 + 12, 4);
		}
		for (int k = 0; k < d->nnd; k++)
			if (d->nd[k].type <= 2)
				cp_mac(d->nd[k].data);
		if (d->type == 134) {
			/* a /64 prefix (bits past it zero, as RFC 4861 has them),
			 * not multicast: the prefix rule (rewrite_rt.h) then gives
			 * what the reference's address translation gives */
			cp_addr6(d->nd[1].data + 14);
			memset(d->nd[1].data + 14 + 8, 0, 8);
			if (d->nd[1].data[14] == 0xff)
				ip6(d->nd[1].data + 14, "2001:db8:1:2::");
		}
		d->pad = rndn(8);
	}
	d->nvlan = (int)rndn(3);
	d->tci[0] = (uint16_t)rnd();
	d->tci[1] = (uint16_t)rnd();
	if (rndn(4) == 0)
		cp_mac(d->dmac);
	if (rndn(4) == 0)
		cp_mac(d->smac);
	d->seed = rnd();
}

void test_cp_random(struct st_rewrite_tables *t, int iterations)
{
	static uint8_t f[MAXF];
	struct cplo lo;
	struct cpd d;
	char name[64];
	int bad = 0;

	for (int i = 0; i < iterations && bad < 10; i++) {
		uint32_t full;

		random_cp(&d);
		t->unmapped = (uint8_t)rndn(3);
		full = build_cp(&d, f, NULL, &lo);
		snprintf(name, sizeof(name), "random cp #%d kind %d", i, d.kind);
		bad += check_cp(name, t, &d, 0);
		bad += check_cp(name, t, &d, 1 + rndn(full));
		bad += check_cp(name, t, &d, lo.hdr_end + rndn(64));
		bad += check_cp(name, t, &d, lo.hdr_end + rndn(full - lo.hdr_end + 1));
	}
	t->unmapped = ST_UNMAPPED_RULE_DROP;
}

/* Mutated and random CP frames: never out of bounds (ASan/valgrind), a
 * dropped copy untouched, results in range. */
void test_cp_garbage(struct st_rewrite_tables *t, int count)
{
	static uint8_t f[MAXF], out[MAXF];
	struct st_rewrite_result res;
	struct cplo lo;
	struct cpd d;
	unsigned int sent = 0, bad = 0, cpm = 0;

	for (int i = 0; i < count && bad < 10; i++) {
		uint32_t n, seg, pkt, wire;

		random_cp(&d);
		n = build_cp(&d, f, NULL, &lo);
		if (rndn(5) == 0) {                   /* noise after the L3 start */
			for (uint32_t k = lo.l3; k < n; k++)
				if (rndn(3) == 0)
					f[k] = (uint8_t)rnd();
		} else {                              /* a few flipped bits */
			for (uint32_t m = 1 + rndn(6); m > 0; m--) {
				uint32_t at = lo.l3 + rndn(n - lo.l3);

				f[at] ^= (uint8_t)(1u << rndn(8));
			}
		}
		if (rndn(3) == 0 && n > lo.l3) {      /* a length byte set to junk */
			uint32_t at = lo.l4 + rndn(n - lo.l4 > 0 ? n - lo.l4 : 1);

			if (at < n)
				f[at] = (uint8_t)rnd();
		}
		wire = n;
		pkt = rndn(3) == 0 ? rndn(n + 1) : n;
		seg = rndn(5) == 0 ? rndn(pkt + 1) : pkt;
		if (rndn(5) == 0)
			wire = n + rndn(100);
		t->unmapped = (uint8_t)rndn(3);
		run_ex(t, f, seg, pkt, wire, out, &res);
		/* LEAK: an RA prefix shorter than its map (rewrite_rt.h), a payload that cannot be translated */
		if (!(((res.drop >= -1 && res.drop <= ST_DROP_MALFORMED) || res.drop == ST_DROP_LEAK) &&
		      (res.anomalies >> ST_ANOM__COUNT) == 0 && res.translated <= 1 &&
		      res.unmapped_seen == (res.drop == ST_DROP_UNMAPPED &&
					    t->unmapped == ST_UNMAPPED_RULE_COUNT) &&
		      (res.drop == -1 || (res.translated == 0 &&
					  (seg == 0 || memcmp(f, out, seg) == 0))))) {
			bad++;
			CHECK(0, "cp garbage #%d: drop %d anomalies %#x translated %u seen %u",
			      i, res.drop, res.anomalies, res.translated, res.unmapped_seen);
		}
		if (res.anomalies & (1u << ST_ANOM_CP_MALFORMED))
			cpm++;
		if (res.drop == -1)
			sent++;
	}
	t->unmapped = ST_UNMAPPED_RULE_DROP;
	CHECK(bad == 0, "cp garbage: %u bad results", bad);
	CHECK(cpm > 0, "cp garbage exercised control_plane anomalies");
	printf("control-plane garbage: %d frames, %u sent, %u control_plane anomalies\n",
	       count, sent, cpm);
}
