/* SPDX-License-Identifier: BSD-3-Clause
 * Running the code under test (a heap copy of exactly the segment) and
 * comparing its output with the frame built again from the translated
 * description; the start plans the IP tests use.
 * Part of st_rewrite_test (rewrite_test.h).
 */
#include "rewrite_test.h"

/* ---- running the code under test ---------------------------------------- */

/* A heap copy of exactly seg bytes: any access past it is a sanitizer or
 * valgrind error. */
void run(const struct st_rewrite_tables *t, const uint8_t *in,
	 uint32_t seg, uint32_t pkt, uint8_t *out,
	 struct st_rewrite_result *res)
{
	uint8_t *b = malloc(seg);

	if (seg != 0 && b == NULL) {
		fprintf(stderr, "out of memory\n");
		exit(2);
	}
	if (seg)
		memcpy(b, in, seg);
	res->drop = 99;
	res->translated = 99;
	res->anomalies = 0xdeadbeef;
	res->unmapped_seen = 99;
	if (g_ex)
		st_rewrite_frame_ex(t, b, seg, pkt, pkt, res);
	else
		st_rewrite_frame(t, b, seg, pkt, res);
	if (seg)
		memcpy(out, b, seg);
	free(b);
}

uint32_t expected_anoms(const struct desc *d)
{
	uint32_t a = 0;

	if (d->nvlan)
		a |= 1u << ST_ANOM_VLAN;
	if (!d->v6 && d->optlen)
		a |= 1u << ST_ANOM_IP_OPTIONS;
	if (d->frag == FR_FIRST || d->frag == FR_LATER)
		a |= 1u << ST_ANOM_FRAGMENT;
	return a;
}

void dump_diff(const uint8_t *a, const uint8_t *b, uint32_t n)
{
	int shown = 0;

	for (uint32_t i = 0; i < n && shown < 8; i++) {
		if (a[i] != b[i]) {
			fprintf(stderr, "    byte %u: got %02x want %02x\n", i,
				a[i], b[i]);
			shown++;
		}
	}
}

/* Build d, rewrite it with t (built from start plan p), and compare with the
 * frame built from the translated description. Returns 0 if all matched. */

int check_desc(const char *name, const struct st_rewrite_tables *t,
	       const struct st_start_plan *p, const struct desc *d)
{
	static uint8_t in[MAXF], out[MAXF], want[MAXF];
	struct st_rewrite_result res;
	struct layout lo, lw;
	struct desc e = *d;
	uint32_t n = build(d, in, &lo);
	int ms, md, changed = 0, fails = (int)g_fail;

	if (d->v6) {
		ms = refx6(p, d->src6, e.src6) != 0;
		md = refx6(p, d->dst6, e.dst6) != 0;
		changed = memcmp(e.src6, d->src6, 16) || memcmp(e.dst6, d->dst6, 16);
	} else {
		ms = refx4(p, d->src4, &e.src4) != 0;
		md = refx4(p, d->dst4, &e.dst4) != 0;
		changed = e.src4 != d->src4 || e.dst4 != d->dst4;
	}
	run(t, in, n, n, out, &res);
	CHECK(res.anomalies == expected_anoms(d), "%s: anomalies %#x want %#x",
	      name, res.anomalies, expected_anoms(d));

	if (!(ms && md) && t->unmapped != ST_UNMAPPED_MIRROR) {
		CHECK(res.drop == ST_DROP_UNMAPPED, "%s: drop %d want unmapped",
		      name, res.drop);
		CHECK(res.unmapped_seen == (t->unmapped == ST_UNMAPPED_RULE_COUNT),
		      "%s: unmapped_seen %u with rule %u", name, res.unmapped_seen,
		      t->unmapped);
		CHECK(memcmp(in, out, n) == 0, "%s: dropped frame modified", name);
		return (int)g_fail != fails;
	}
	CHECK(res.unmapped_seen == 0, "%s: unmapped_seen %u on a sent copy", name,
	      res.unmapped_seen);

	/* ICMP errors: the quoted header is translated when it is all there */
	if (d->inner && icmp_is_error(d) &&
	    (d->frag == FR_NONE || d->frag == FR_ATOMIC ||
	     (d->frag == FR_FIRST && d->frag_bytes >= 8u + (d->v6 ? 40u : 20u)))) {
		if (d->v6) {
			refx6(p, d->in_src6, e.in_src6);
			refx6(p, d->in_dst6, e.in_dst6);
			changed |= memcmp(e.in_src6, d->in_src6, 16) ||
				   memcmp(e.in_dst6, d->in_dst6, 16);
		} else {
			refx4(p, d->in_src4, &e.in_src4);
			refx4(p, d->in_dst4, &e.in_dst4);
			changed |= e.in_src4 != d->in_src4 ||
				   e.in_dst4 != d->in_dst4;
		}
		quoted_cs_keep(d, &e);
	}
	if (g_pol == NULL) {
		for (int k = 0; k < 6; k++) {
			if (p->shadow_dst_mac[0] | p->shadow_dst_mac[1] | p->shadow_dst_mac[2] |
			    p->shadow_dst_mac[3] | p->shadow_dst_mac[4] | p->shadow_dst_mac[5])
				e.dmac[k] = p->shadow_dst_mac[k];
			if (p->shadow_src_mac[0] | p->shadow_src_mac[1] | p->shadow_src_mac[2] |
			    p->shadow_src_mac[3] | p->shadow_src_mac[4] | p->shadow_src_mac[5])
				e.smac[k] = p->shadow_src_mac[k];
		}
	} else {
		const uint8_t *dm = ref_mac(d->dmac, g_pol->default_dst_mac);
		const uint8_t *sm = ref_mac(d->smac, g_pol->default_src_mac);

		if (dm != NULL)
			memcpy(e.dmac, dm, 6);
		else if (cp_aware() && !d->v6 && d->dst4 != e.dst4 && (e.dst4 >> 28) == 0xe &&
			 d->dmac[0] == 1 && d->dmac[1] == 0 && d->dmac[2] == 0x5e &&
			 ((uint32_t)d->dmac[3] << 16 | (uint32_t)d->dmac[4] << 8 | d->dmac[5]) ==
			 (d->dst4 & 0x7fffff)) {
			e.dmac[3] = (uint8_t)((e.dst4 >> 16) & 0x7f);
			e.dmac[4] = (uint8_t)(e.dst4 >> 8);
			e.dmac[5] = (uint8_t)e.dst4;
		} else if (cp_aware() && d->v6 && memcmp(d->dst6, e.dst6, 16) != 0 &&
			   e.dst6[0] == 0xff && d->dmac[0] == 0x33 && d->dmac[1] == 0x33 &&
			   memcmp(d->dmac + 2, d->dst6 + 12, 4) == 0) {
			memcpy(e.dmac + 2, e.dst6 + 12, 4);
		}
		if (sm != NULL)
			memcpy(e.smac, sm, 6);
	}
	build(&e, want, &lw);
	CHECK(res.drop == -1, "%s: drop %d want -1 (sent)", name, res.drop);
	CHECK(res.translated == (changed ? 1 : 0), "%s: translated %u want %d",
	      name, res.translated, changed);
	CHECK(lw.len == n && memcmp(out, want, n) == 0,
	      "%s: rewritten frame differs from full recomputation", name);
	if (memcmp(out, want, n) != 0) {
		fprintf(stderr, "    v6=%d proto=%u vlan=%d opt=%u sr=%d frag=%d "
			"frag_bytes=%u next=%d inner=%d icmp=%u udp0=%d len=%u "
			"l3=%u l4=%u\n", d->v6, d->proto, d->nvlan, d->optlen,
			d->srcroute, d->frag, d->frag_bytes, d->next, d->inner,
			d->icmp_type, d->udp_zero, n, lo.l3, lo.l4);
		for (int k = 0; k < d->next; k++)
			fprintf(stderr, "    ext %u len %u segleft %u\n",
				d->ext[k].type, d->ext[k].len, d->ext[k].segleft);
		dump_diff(out, want, n);
	}
	return (int)g_fail != fails;
}

/* Run raw bytes that must be refused: the result and an untouched frame. */
void check_refused(const char *name, const struct st_rewrite_tables *t,
		   const uint8_t *in, uint32_t seg, uint32_t pkt,
		   int drop, uint32_t anoms)
{
	static uint8_t out[MAXF];
	struct st_rewrite_result res;

	run(t, in, seg, pkt, out, &res);
	CHECK(res.drop == drop, "%s: drop %d want %d", name, res.drop, drop);
	CHECK(res.anomalies == anoms, "%s: anomalies %#x want %#x", name,
	      res.anomalies, anoms);
	CHECK(res.translated == 0, "%s: translated set on a refused frame", name);
	CHECK(seg == 0 || memcmp(in, out, seg) == 0, "%s: refused frame modified",
	      name);
}

/* ---- start plans --------------------------------------------------------------- */

void ip6(uint8_t *out, const char *s)
{
	if (inet_pton(AF_INET6, s, out) != 1)
		abort();
}

uint32_t ip4(const char *s)
{
	struct in_addr a;

	if (inet_pton(AF_INET, s, &a) != 1)
		abort();
	return ntohl(a.s_addr);
}

void add4(struct st_start_plan *p, const char *from, const char *to,
	  uint8_t len)
{
	unsigned int a, b, c, d2, e, f, g, h;

	if (sscanf(from, "%u.%u.%u.%u", &a, &b, &c, &d2) != 4 ||
	    sscanf(to, "%u.%u.%u.%u", &e, &f, &g, &h) != 4)
		abort();
	p->map4[p->nb_map4].from = a << 24 | b << 16 | c << 8 | d2;
	p->map4[p->nb_map4].to = e << 24 | f << 16 | g << 8 | h;
	p->map4[p->nb_map4].len = len;
	p->nb_map4++;
}

void add6(struct st_start_plan *p, const char *from, const char *to,
	  uint8_t len)
{
	ip6(p->map6[p->nb_map6].from, from);
	ip6(p->map6[p->nb_map6].to, to);
	p->map6[p->nb_map6].len = len;
	p->nb_map6++;
}

void main_start_plan(struct st_start_plan *p)
{
	static const uint8_t smac[6] = { 0x02, 0x53, 0x48, 0x44, 0x57, 0x01 };
	static const uint8_t dmac[6] = { 0x02, 0x53, 0x48, 0x44, 0x57, 0x02 };

	memset(p, 0, sizeof(*p));
	p->unmapped = ST_UNMAPPED_DROP;
	memcpy(p->shadow_src_mac, smac, 6);
	memcpy(p->shadow_dst_mac, dmac, 6);
	add4(p, "10.0.0.0", "11.0.0.0", 8);
	add4(p, "10.20.0.0", "172.16.0.0", 16);
	add4(p, "192.168.1.0", "192.168.201.0", 24);
	add4(p, "203.0.113.7", "198.51.100.9", 32);
	add4(p, "100.64.0.0", "100.128.0.0", 10);
	add4(p, "10.20.30.128", "10.99.99.0", 25);
	add4(p, "198.18.0.0", "198.18.0.0", 15);        /* identity */
	add6(p, "2001:db8::", "fd11:2222::", 32);
	add6(p, "2001:db8:1::", "fd00:1:2::", 48);
	add6(p, "2001:db8:1:2::", "fd00:aaaa:bbbb:cccc::", 64);
	add6(p, "2001:db8::1", "fd00::99", 128);
	add6(p, "2001:db8:1:2:8000::", "fd77:7777:7777:7777:7777:ffff::", 77);
}

/* a random address inside map i of the start plan, or anywhere when i < 0 */
uint32_t addr_in4(const struct st_start_plan *p, int i)
{
	uint32_t r = rnd();

	if (i < 0)
		return r;
	return (p->map4[i].from & mask4(p->map4[i].len)) |
	       (r & ~mask4(p->map4[i].len));
}

void addr_in6(const struct st_start_plan *p, int i, uint8_t *out)
{
	for (int k = 0; k < 16; k++)
		out[k] = (uint8_t)rnd();
	if (i < 0)
		return;
	for (unsigned int b = 0; b < p->map6[i].len; b++) {
		uint8_t m = (uint8_t)(0x80 >> (b % 8));

		if (bit6(p->map6[i].from, b))
			out[b / 8] |= m;
		else
			out[b / 8] &= (uint8_t)~m;
	}
}

void base_desc(struct desc *d, int v6, uint8_t proto)
{
	static const uint8_t dm[6] = { 0x00, 0x11, 0x22, 0x33, 0x44, 0x55 };
	static const uint8_t sm[6] = { 0x00, 0x66, 0x77, 0x88, 0x99, 0xaa };

	memset(d, 0, sizeof(*d));
	memcpy(d->dmac, dm, 6);
	memcpy(d->smac, sm, 6);
	d->v6 = v6;
	d->proto = proto;
	d->tcp_doff = 5;
	d->paylen = 33;
	d->seed = 0x1234567;
	if (v6) {
		ip6(d->src6, "2001:db8:1:2::abcd");
		ip6(d->dst6, "2001:db8:1:5::1");
	} else {
		d->src4 = ip4("10.20.30.40");
		d->dst4 = ip4("192.168.1.77");
	}
	if (proto == 1)
		d->icmp_type = 8;
	if (proto == 58)
		d->icmp_type = 128;
}
