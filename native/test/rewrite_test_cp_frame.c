/* SPDX-License-Identifier: BSD-3-Clause
 * Control-plane frames (ARP, DHCPv4, IPv6 ND): their description,
 * builder and reference translation, base descriptions, and the check that
 * compares a rewrite with the frame built again from the description.
 * Part of st_rewrite_test (rewrite_test.h).
 */
#include "rewrite_test.h"

static uint32_t x4(struct xl *x, uint32_t off, uint32_t a, int endpoint)
{
	uint32_t n;
	int c;

	if (x == NULL)
		return a;
	if (off + 4 > x->lim) {
		if (off < x->lim)
			x->straddle = 1;
		return a;
	}
	c = refx4(x->p, a, &n);
	if (endpoint && c == 0)
		x->unmapped = 1;
	if (n != a)
		x->changed = 1;
	return n;
}

static void x6(struct xl *x, uint32_t off, uint8_t *a, int endpoint)
{
	uint8_t n[16];
	int c;

	if (x == NULL)
		return;
	if (off + 16 > x->lim) {
		if (off < x->lim)
			x->straddle = 1;
		return;
	}
	c = refx6(x->p, a, n);
	if (endpoint && c == 0)
		x->unmapped = 1;
	if (memcmp(n, a, 16) != 0)
		x->changed = 1;
	memcpy(a, n, 16);
}

static void xmac(struct xl *x, uint32_t off, uint8_t *m, const uint8_t *def)
{
	const uint8_t *to;

	if (x == NULL)
		return;
	if (off + 6 > x->lim) {
		if (off < x->lim)
			x->straddle = 1;
		return;
	}
	to = ref_mac(m, def);
	if (to != NULL)
		memcpy(m, to, 6);
}

/* The reference's own list of DHCP address options (RFC 2132, RFC 3011). */
int ref_dhcp_addr_opt(uint8_t c)
{
	static const uint8_t l[] = { 3, 4, 5, 6, 7, 28, 41, 42, 44, 45, 48, 49,
				     50, 54, 65, 68, 69, 70, 71, 72, 73, 74, 75,
				     76, 118 };

	for (size_t i = 0; i < sizeof(l); i++)
		if (l[i] == c)
			return 1;
	return 0;
}

static uint32_t put_dopts(const struct dopt *o, int n, uint8_t *f, uint32_t at,
			  struct xl *x)
{
	for (int i = 0; i < n; i++) {
		f[at++] = o[i].code;
		if (o[i].code == 0 || o[i].code == 255 || o[i].nolen)
			continue;
		f[at++] = o[i].len;
		memcpy(f + at, o[i].data, o[i].len);
		if (x != NULL && x->payload && ref_dhcp_addr_opt(o[i].code) &&
		    o[i].len % 4 == 0) {
			for (uint32_t k = 0; k < o[i].len; k += 4)
				put32(f + at + k, x4(x, at + k, get32(f + at + k), 0));
		} else if (x != NULL && x->payload && o[i].code == 61 && o[i].len == 7 &&
			   o[i].data[0] == 1 && at < x->lim) {
			xmac(x, at + 1, f + at + 1, NULL);
		}
		at += o[i].len;
	}
	return at;
}

uint32_t dopts_len(const struct dopt *o, int n)
{
	uint32_t l = 0;

	for (int i = 0; i < n; i++)
		l += (o[i].code == 0 || o[i].code == 255 || o[i].nolen) ? 1u : 2u + o[i].len;
	return l;
}

uint16_t ip4_csum(const uint8_t *ip)
{
	return fold_not(sum_bytes(0, ip, 20));
}

static uint16_t l4_csum6(const uint8_t *ip, const uint8_t *l4, uint32_t len,
			 uint8_t nh)
{
	uint8_t ph[40];

	memcpy(ph, ip + 8, 32);
	put32(ph + 32, len);
	put32(ph + 36, nh);
	return fold_not(sum_bytes(sum_bytes(0, ph, 40), l4, len));
}

static uint16_t l4_csum4(const uint8_t *ip, const uint8_t *l4, uint32_t len)
{
	uint8_t ph[12];

	memcpy(ph, ip + 12, 8);
	ph[8] = 0;
	ph[9] = ip[9];
	put16(ph + 10, (uint16_t)len);
	return fold_not(sum_bytes(sum_bytes(0, ph, 12), l4, len));
}

uint32_t build_cp(const struct cpd *d0, uint8_t *f, struct xl *x,
		  struct cplo *lo)
{
	struct cpd dd = *d0, *d = &dd;
	uint32_t rs = d->seed | 1, o;
	const uint8_t *edm = NULL, *esm = NULL;

	memcpy(f, d->dmac, 6);
	memcpy(f + 6, d->smac, 6);
	o = 12;
	for (int k = 0; k < d->nvlan; k++) {
		put16(f + o, 0x8100);
		put16(f + o + 2, d->tci[k]);
		o += 4;
	}
	put16(f + o, d->kind == CP_ARP ? 0x0806 : d->kind == CP_DHCP ? 0x0800 : 0x86dd);
	o += 2;
	lo->l3 = o;

	if (d->kind == CP_ARP) {
		uint8_t *a = f + o;

		put16(a, d->htype);
		put16(a + 2, d->ptype);
		a[4] = d->hlen;
		a[5] = d->plen;
		put16(a + 6, d->op);
		if (x != NULL) {
			xmac(x, o + 8, d->sha, g_pol->default_src_mac);
			xmac(x, o + 18, d->tha, g_pol->default_dst_mac);
		}
		memcpy(a + 8, d->sha, 6);
		put32(a + 14, x4(x, o + 14, d->spa, 1));
		memcpy(a + 18, d->tha, 6);
		put32(a + 24, x4(x, o + 24, d->tpa, 1));
		lo->l4 = lo->hdr_end = o + 8;
		o += 28;
	} else if (d->kind == CP_DHCP) {
		uint8_t *ip = f + o, *u = ip + 20, *b = u + 8;
		uint32_t ulen, bo = o + 28, ov_at = 0, at;
		uint8_t ov = 0;
		struct xl xs;
		uint32_t nsrc, ndst;

		ulen = 8 + 236 + (d->cookie ? 4 + dopts_len(d->opt, d->nopt) : 0) + d->trail;
		memset(ip, 0, 20 + ulen);
		ip[0] = 0x45;
		put16(ip + 2, (uint16_t)(20 + ulen));
		put16(ip + 4, (uint16_t)xs32(&rs));
		put16(ip + 6, d->mf ? 0x2000 : 0);
		ip[8] = 64;
		ip[9] = 17;
		nsrc = x4(x, o + 12, d->src4, 1);
		ndst = x4(x, o + 16, d->dst4, 1);
		put32(ip + 12, nsrc);
		put32(ip + 16, ndst);
		put16(ip + 10, ip4_csum(ip));
		put16(u, d->sport);
		put16(u + 2, d->dport);
		put16(u + 4, (uint16_t)ulen);
		b[0] = d->bop;
		b[1] = d->bhtype;
		b[2] = d->bhlen;
		put32(b + 4, xs32(&rs));
		put16(b + 10, 0x8000);
		/* a fragment's payload is never translated */
		if (x != NULL && d->mf) {
			xs = *x;
			xs.payload = 0;
			x = &xs;
		}
		{
			struct xl *xp = x != NULL && x->payload ? x : NULL;

			put32(b + 12, x4(xp, bo + 12, d->ciaddr, 0));
			put32(b + 16, x4(xp, bo + 16, d->yiaddr, 0));
			put32(b + 20, x4(xp, bo + 20, d->siaddr, 0));
			put32(b + 24, x4(xp, bo + 24, d->giaddr, 0));
			if (d->bhtype == 1 && d->bhlen == 6)
				xmac(xp, bo + 28, d->chaddr, NULL);
			memcpy(b + 28, d->chaddr, 16);
			/* where the overload value byte is, if any */
			at = bo + 240;
			for (int i = 0; d->cookie && i < d->nopt; i++) {
				if (d->opt[i].code == 52 && !d->opt[i].nolen && d->opt[i].len == 1) {
					ov_at = at + 2;
					ov = d->opt[i].data[0];
					break;
				}
				if (d->opt[i].code == 255)
					break;
				at += (d->opt[i].code == 0 || d->opt[i].nolen) ? 1u :
								       2u + d->opt[i].len;
			}
			{
				struct xl *xo = xp != NULL && ov_at != 0 && ov_at < xp->lim ? xp : NULL;

				put_dopts(d->sname, d->nsname, f, bo + 44, ov & 2 ? xo : NULL);
				put_dopts(d->file, d->nfile, f, bo + 108, ov & 1 ? xo : NULL);
			}
			if (d->cookie) {
				put32(b + 236, 0x63825363u);
				put_dopts(d->opt, d->nopt, f, bo + 240, xp);
			}
		}
		if (!d->udp_zero) {
			uint16_t c = l4_csum4(ip, u, ulen);

			put16(u + 6, c == 0 ? 0xffff : c);
		}
		lo->l4 = lo->hdr_end = o + 20;
		if (x != NULL && ndst != d->dst4 && (ndst >> 28) == 0xe &&
		    ref_mac(d->dmac, g_pol->default_dst_mac) == NULL &&
		    d->dmac[0] == 1 && d->dmac[1] == 0 && d->dmac[2] == 0x5e &&
		    ((uint32_t)d->dmac[3] << 16 | (uint32_t)d->dmac[4] << 8 | d->dmac[5]) ==
		    (d->dst4 & 0x7fffff)) {
			f[3] = (uint8_t)((ndst >> 16) & 0x7f);
			f[4] = (uint8_t)(ndst >> 8);
			f[5] = (uint8_t)ndst;
		}
		o += 20 + ulen;
	} else {
		uint8_t *ip = f + o, *l4 = ip + 40, otgt[16];
		uint32_t fixed = d->type == 133 ? 8 : d->type == 134 ? 16 :
				 d->type == 137 ? 40 : 24;
		uint32_t l4o = o + 40, plen, i;
		uint8_t ndst[16];
		int dst_exempt;

		plen = fixed;
		for (int k = 0; k < d->nnd; k++)
			plen += d->nd[k].len8 * 8u;
		memset(ip, 0, 40 + plen);
		put32(ip, 0x60000000u | (xs32(&rs) & 0xfffff));
		put16(ip + 4, (uint16_t)plen);
		ip[6] = 58;
		ip[7] = 255;
		l4[0] = d->type;
		if (d->type == 134) {
			l4[4] = 64;
			put16(l4 + 6, 1800);
		}
		if (d->type == 136)
			l4[4] = 0x60;
		memcpy(otgt, d->target, 16);
		if (d->type >= 135) {
			if (x != NULL && x->payload)
				x6(x, l4o + 8, d->target, d->type != 137);
			memcpy(l4 + 8, d->target, 16);
		}
		if (d->type == 137) {
			if (x != NULL && x->payload)
				x6(x, l4o + 24, d->dest, 0);
			memcpy(l4 + 24, d->dest, 16);
		}
		i = l4o + fixed;
		for (int k = 0; k < d->nnd; k++) {
			uint8_t *op = f + i;

			op[0] = d->nd[k].type;
			op[1] = d->nd[k].len8;
			if (d->nd[k].len8 > 0)
				memcpy(op + 2, d->nd[k].data, d->nd[k].len8 * 8u - 2);
			if (x != NULL && x->payload) {
				if ((op[0] == 1 || op[0] == 2) && op[1] == 1 && i < x->lim)
					xmac(x, i + 2, op + 2, NULL);
				if (op[0] == 3 && op[1] == 4)
					x6(x, i + 16, op + 16, 0);
			}
			i += d->nd[k].len8 * 8u;
		}
		memcpy(ndst, d->dst6, 16);
		dst_exempt = 0;
		if (x != NULL) {
			uint8_t tmp[16];

			x6(x, o + 8, d->src6, 1);
			dst_exempt = refx6(x->p, d->dst6, tmp) == 2;
			x6(x, o + 24, ndst, 1);
			/* solicited-node group of the translated target */
			if (x->payload && d->type == 135 && dst_exempt &&
			    memcmp(d->dst6, "\xff\x02\0\0\0\0\0\0\0\0\0\x01\xff", 13) == 0 &&
			    memcmp(d->dst6 + 13, otgt + 13, 3) == 0 &&
			    memcmp(otgt, d->target, 16) != 0)
				memcpy(ndst + 13, d->target + 13, 3);
		}
		memcpy(ip + 8, d->src6, 16);
		memcpy(ip + 24, ndst, 16);
		put16(l4 + 2, l4_csum6(ip, l4, plen, 58));
		lo->l4 = lo->hdr_end = l4o;
		if (x != NULL && memcmp(ndst, d->dst6, 16) != 0) {
			/* MAC follow, below */
			if (ref_mac(d->dmac, g_pol->default_dst_mac) == NULL &&
			    ndst[0] == 0xff && d->dmac[0] == 0x33 && d->dmac[1] == 0x33 &&
			    memcmp(d->dmac + 2, d->dst6 + 12, 4) == 0)
				memcpy(f + 2, ndst + 12, 4);
		}
		o += 40 + plen;
	}
	for (uint32_t k = 0; k < d->pad; k++)
		f[o + k] = (uint8_t)xs32(&rs);
	o += d->pad;
	lo->len = o;
	if (x != NULL) {
		edm = ref_mac(d->dmac, g_pol->default_dst_mac);
		esm = ref_mac(d->smac, g_pol->default_src_mac);
		if (edm != NULL)
			memcpy(f, edm, 6);
		if (esm != NULL)
			memcpy(f + 6, esm, 6);
	}
	return o;
}

/* ---- control-plane descriptions ------------------------------------------- */

void dopt_addrs(struct dopt *o, uint8_t code, int n, const uint32_t *a)
{
	memset(o, 0, sizeof(*o));
	o->code = code;
	o->len = (uint8_t)(4 * n);
	for (int i = 0; i < n; i++)
		put32(o->data + 4 * i, a[i]);
}

void dopt_bytes(struct dopt *o, uint8_t code, uint8_t len, uint8_t fill)
{
	memset(o, 0, sizeof(*o));
	o->code = code;
	o->len = len;
	memset(o->data, fill, len);
}

static void cp_base(struct cpd *d, int kind)
{
	memset(d, 0, sizeof(*d));
	d->kind = kind;
	mac(d->smac, "02:00:00:00:00:01");
	mac(d->dmac, "02:00:00:00:00:02");
	d->seed = 0xc0ffee;
}

/* ARP reply 10.20.30.40 is-at 02:00:00:00:00:01, to 192.168.1.77 */
void cp_arp(struct cpd *d)
{
	cp_base(d, CP_ARP);
	d->htype = 1;
	d->ptype = 0x0800;
	d->hlen = 6;
	d->plen = 4;
	d->op = 2;
	mac(d->sha, "02:00:00:00:00:01");
	mac(d->tha, "02:00:00:00:00:02");
	d->spa = ip4("10.20.30.40");
	d->tpa = ip4("192.168.1.77");
	d->pad = 18;
}

/* DHCP OFFER from 10.20.30.1 (server) to broadcast, every address field and
 * address option set */
void cp_dhcp(struct cpd *d)
{
	uint32_t a[3];

	cp_base(d, CP_DHCP);
	mac(d->dmac, "ff:ff:ff:ff:ff:ff");
	d->src4 = ip4("10.20.30.1");
	d->dst4 = ip4("255.255.255.255");
	d->sport = 67;
	d->dport = 68;
	d->bop = 2;
	d->bhtype = 1;
	d->bhlen = 6;
	d->ciaddr = 0;
	d->yiaddr = ip4("10.20.30.77");
	d->siaddr = ip4("10.20.30.1");
	d->giaddr = ip4("192.168.1.1");
	mac(d->chaddr, "02:00:00:00:00:03");
	d->cookie = 1;
	dopt_bytes(&d->opt[0], 53, 1, 2);                         /* OFFER */
	a[0] = ip4("10.20.30.1");
	dopt_addrs(&d->opt[1], 54, 1, a);                         /* server id */
	a[0] = ip4("255.255.0.0");
	dopt_addrs(&d->opt[2], 1, 1, a);                          /* mask: kept */
	a[0] = ip4("10.20.0.1");
	dopt_addrs(&d->opt[3], 3, 1, a);                          /* router */
	a[0] = ip4("10.20.0.53");
	a[1] = ip4("8.8.8.8");                                    /* unmapped: kept */
	a[2] = ip4("192.168.1.53");
	dopt_addrs(&d->opt[4], 6, 3, a);                          /* DNS */
	d->opt[5].code = 0;                                       /* pad: odd offsets */
	a[0] = ip4("10.20.255.255");
	dopt_addrs(&d->opt[6], 28, 1, a);                         /* broadcast */
	dopt_bytes(&d->opt[7], 61, 7, 0);                         /* client id */
	d->opt[7].data[0] = 1;
	mac(d->opt[7].data + 1, "02:00:00:00:00:03");
	a[0] = ip4("10.20.30.123");
	dopt_addrs(&d->opt[8], 42, 1, a);                         /* NTP */
	dopt_bytes(&d->opt[9], 51, 4, 0x11);                      /* lease time */
	d->opt[10].code = 255;
	d->nopt = 11;
	d->trail = 7;
}

void cp_nd(struct cpd *d, uint8_t type)
{
	cp_base(d, CP_ND);
	d->type = type;
	ip6(d->src6, "2001:db8:1:2::abcd");
	ip6(d->target, "2001:db8:1:2::77");
	if (type == 135) {
		/* to the target's solicited-node group */
		ip6(d->dst6, "ff02::1:ff00:77");
		mac(d->dmac, "33:33:ff:00:00:77");
	} else {
		ip6(d->dst6, "2001:db8:1:5::1");
	}
	ip6(d->dest, "2001:db8:1:5::1");
	d->nnd = 1;
	d->nd[0].type = type == 136 ? 2 : 1;
	d->nd[0].len8 = 1;
	mac(d->nd[0].data, "02:00:00:00:00:01");
	if (type == 134) {
		d->nnd = 3;
		d->nd[1].type = 3;                            /* prefix information */
		d->nd[1].len8 = 4;
		d->nd[1].data[0] = 64;
		ip6(d->nd[1].data + 14, "2001:db8:1:2::");
		d->nd[2].type = 5;                            /* MTU */
		d->nd[2].len8 = 1;
		put32(d->nd[2].data + 2, 1500);
	}
}

static uint32_t cp_anoms(const struct cpd *d)
{
	uint32_t a = 0;

	if (d->nvlan)
		a |= 1u << ST_ANOM_VLAN;
	if (d->kind == CP_DHCP && d->mf)
		a |= 1u << ST_ANOM_FRAGMENT;
	return a;
}

static uint32_t cp_bit(int kind)
{
	return kind == CP_ARP ? ST_CP_ARP : kind == CP_DHCP ? ST_CP_DHCP : ST_CP_ND;
}

/* d cut to n bytes (0: whole), rewritten with t, against the reference. */
int check_cp(const char *name, const struct st_rewrite_tables *t,
	     const struct cpd *d, uint32_t n)
{
	static uint8_t in[MAXF], out[MAXF], want[MAXF];
	struct st_rewrite_result res;
	struct cplo lo, lw;
	struct xl x;
	uint32_t full = build_cp(d, in, NULL, &lo);
	uint32_t an = cp_anoms(d);
	int fails = (int)g_fail;

	if (n == 0 || n > full)
		n = full;
	memset(&x, 0, sizeof(x));
	x.p = &g_policy_start_plan;
	x.lim = n;
	x.payload = (t->control_plane & cp_bit(d->kind)) != 0;
	build_cp(d, want, &x, &lw);
	run_ex(t, in, n, n, full, out, &res);
	if (d->kind == CP_ARP && !x.payload) {
		CHECK(res.drop == (n < lo.l3 ? ST_DROP_MALFORMED : ST_DROP_NOT_IP) &&
		      memcmp(in, out, n) == 0, "%s: arp without ST_CP_ARP: drop %d",
		      name, res.drop);
		return (int)g_fail != fails;
	}
	if (n < lo.hdr_end || x.straddle) {
		CHECK(res.drop == ST_DROP_MALFORMED && (res.anomalies & ~an) == 0 &&
		      memcmp(in, out, n) == 0 && res.translated == 0,
		      "%s: cut at %u (headers to %u, straddle %d): drop %d anomalies %#x",
		      name, n, lo.hdr_end, x.straddle, res.drop, res.anomalies);
		return (int)g_fail != fails;
	}
	CHECK(res.anomalies == an, "%s (cut %u): anomalies %#x want %#x", name, n,
	      res.anomalies, an);
	if (x.unmapped && t->unmapped != ST_UNMAPPED_RULE_MIRROR) {
		CHECK(res.drop == ST_DROP_UNMAPPED && memcmp(in, out, n) == 0 &&
		      res.unmapped_seen == (t->unmapped == ST_UNMAPPED_RULE_COUNT),
		      "%s (cut %u): drop %d want unmapped", name, n, res.drop);
		return (int)g_fail != fails;
	}
	if (d->kind != CP_ARP && n == lo.l4 + (d->kind == CP_DHCP ? 6u : 2u) + 1)
		want[n - 1] = in[n - 1];   /* checksum cut in half: kept */
	CHECK(res.drop == -1 && res.translated == x.changed && res.unmapped_seen == 0,
	      "%s (cut %u of %u): drop %d translated %u want %d", name, n, full,
	      res.drop, res.translated, x.changed);
	CHECK(memcmp(out, want, n) == 0, "%s (cut %u of %u): differs from the reference",
	      name, n, full);
	if (memcmp(out, want, n) != 0)
		dump_diff(out, want, n);
	return (int)g_fail != fails;
}

/* Full checksum checks on an output frame, independent of any builder. */
int ip4_ok(const uint8_t *ip)
{
	return fold_not(sum_bytes(0, ip, 20)) == 0;
}

int udp4_ok(const uint8_t *ip)
{
	uint32_t len = (uint32_t)(ip[2] << 8 | ip[3]) - 20;
	const uint8_t *u = ip + 20;
	uint8_t ph[12];

	if ((u[6] | u[7]) == 0)
		return 1;
	memcpy(ph, ip + 12, 8);
	ph[8] = 0;
	ph[9] = 17;
	put16(ph + 10, (uint16_t)len);
	return fold_not(sum_bytes(sum_bytes(0, ph, 12), u, len)) == 0;
}

int icmp6_ok(const uint8_t *ip)
{
	uint32_t len = (uint32_t)(ip[4] << 8 | ip[5]);
	uint8_t ph[40];

	memcpy(ph, ip + 8, 32);
	put32(ph + 32, len);
	put32(ph + 36, 58);
	return fold_not(sum_bytes(sum_bytes(0, ph, 40), ip + 40, len)) == 0;
}

int eq_mac(const uint8_t *p, const char *s)
{
	uint8_t m[6];

	mac(m, s);
	return memcmp(p, m, 6) == 0;
}

int eq6(const uint8_t *p, const char *s)
{
	uint8_t a[16];

	ip6(a, s);
	return memcmp(p, a, 16) == 0;
}
