/* SPDX-License-Identifier: BSD-3-Clause
 * Standalone test of the header rewrite (rewrite_ctl.c + rewrite_node.c).
 *
 * Frames are built byte by byte from a description (struct desc). The
 * expected result of a rewrite is obtained by building the frame again from
 * the description with the addresses translated by a reference translator
 * (a linear longest-prefix scan, independent of rte_lpm) and every checksum
 * computed in full: the rewritten frame must equal it byte for byte. So each
 * incremental checksum is checked against a full recomputation, and every
 * byte that should not change is checked too.
 *
 * Each call gets a heap copy of exactly seg_len bytes, so AddressSanitizer or
 * valgrind flag any access past the segment.
 *
 * Each rte_lpm/rte_lpm6 table takes 64 MiB of DPDK memory (its tbl24), so
 * EAL gets -m 256: at most two tables are alive at any time here.
 *
 * Usage: rewrite_test [seed [iterations]]
 *   exit 0 and "N passed, 0 failed" on success; the seed is printed first.
 * Build (the lead wires it as CMake target st_rewrite_test):
 *   gcc -std=c11 -D_GNU_SOURCE -Wall -Wextra -Werror -Inative/dataplane \
 *     native/test/rewrite_test.c native/dataplane/rewrite_ctl.c \
 *     native/dataplane/rewrite_node.c $(pkg-config --cflags --libs libdpdk)
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <arpa/inet.h>

#include <rte_eal.h>
#include <rte_errno.h>

#include "rewrite.h"

#define MAXF 4096

static unsigned int g_pass, g_fail;

#define CHECK(cond, ...)                                                     \
	do {                                                                 \
		if (cond) {                                                  \
			g_pass++;                                            \
		} else {                                                     \
			g_fail++;                                            \
			fprintf(stderr, "FAIL %s:%d: ", __FILE__, __LINE__); \
			fprintf(stderr, __VA_ARGS__);                        \
			fputc('\n', stderr);                                 \
		}                                                            \
	} while (0)

/* ---- randomness (reproducible: the seed is printed) -------------------- */

static uint64_t g_rng = 0x5eed5eed12345678ull;

static uint32_t rnd(void)
{
	g_rng ^= g_rng << 13;
	g_rng ^= g_rng >> 7;
	g_rng ^= g_rng << 17;
	return (uint32_t)(g_rng >> 11);
}

static uint32_t rndn(uint32_t n)
{
	return n == 0 ? 0 : rnd() % n;
}

/* the builder's own stream, so that a description always builds the same */
static uint32_t xs32(uint32_t *s)
{
	uint32_t x = *s;

	x ^= x << 13;
	x ^= x >> 17;
	x ^= x << 5;
	*s = x;
	return x;
}

/* ---- full checksums (the reference, not the code under test) ----------- */

static uint32_t sum_bytes(uint32_t s, const uint8_t *p, uint32_t n)
{
	uint32_t i;

	for (i = 0; i + 1 < n; i += 2)
		s += (uint32_t)p[i] << 8 | p[i + 1];
	if (n & 1)
		s += (uint32_t)p[n - 1] << 8;
	return s;
}

static uint16_t fold_not(uint32_t s)
{
	while (s >> 16)
		s = (s & 0xffff) + (s >> 16);
	return (uint16_t)~s;
}

static void put16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)(v >> 8);
	p[1] = (uint8_t)v;
}

static void put32(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)(v >> 24);
	p[1] = (uint8_t)(v >> 16);
	p[2] = (uint8_t)(v >> 8);
	p[3] = (uint8_t)v;
}

static uint32_t get32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 |
	       (uint32_t)p[2] << 8 | p[3];
}

/* ---- reference translation: linear longest-prefix scan ------------------ */

static uint32_t mask4(unsigned int len)
{
	return (uint32_t)((0xffffffffull << (32 - len)) & 0xffffffffull);
}

static int ref4(const struct st_plan *p, uint32_t a, uint32_t *out)
{
	int best = -1;

	*out = a;
	for (int i = 0; i < p->nb_map4; i++) {
		uint32_t m = mask4(p->map4[i].len);

		if ((a & m) == (p->map4[i].from & m) &&
		    (best < 0 || p->map4[i].len > p->map4[best].len))
			best = i;
	}
	if (best < 0)
		return 0;
	*out = (p->map4[best].to & mask4(p->map4[best].len)) |
	       (a & ~mask4(p->map4[best].len));
	return 1;
}

static int bit6(const uint8_t *a, unsigned int i)
{
	return (a[i / 8] >> (7 - i % 8)) & 1;
}

static int ref6(const struct st_plan *p, const uint8_t *a, uint8_t *out)
{
	int best = -1;

	memcpy(out, a, 16);
	for (int i = 0; i < p->nb_map6; i++) {
		unsigned int b, len = p->map6[i].len;

		for (b = 0; b < len; b++)
			if (bit6(a, b) != bit6(p->map6[i].from, b))
				break;
		if (b == len && (best < 0 || len > p->map6[best].len))
			best = i;
	}
	if (best < 0)
		return 0;
	for (unsigned int b = 0; b < p->map6[best].len; b++) {
		uint8_t m = (uint8_t)(0x80 >> (b % 8));

		if (bit6(p->map6[best].to, b))
			out[b / 8] |= m;
		else
			out[b / 8] &= (uint8_t)~m;
	}
	return 1;
}

/* ---- frame descriptions and the builder -------------------------------- */

struct ext6 {
	uint8_t type;      /* 0, 43, 44, 51, 60 */
	uint8_t len;       /* hdr ext len field (0/60: (len+1)*8; 51: (len+2)*4) */
	uint8_t segleft;   /* routing header */
	uint8_t naddr;     /* routing header (type 0) addresses */
	uint8_t addr[3][16];
};

enum { FR_NONE, FR_FIRST, FR_LATER, FR_ATOMIC };

struct desc {
	uint8_t dmac[6], smac[6];
	int nvlan;
	uint16_t tpid[3], tci[3];
	uint16_t ethertype;     /* 0 = from v6 */
	int v6;
	uint32_t src4, dst4;
	uint8_t src6[16], dst6[16];
	uint32_t optlen;        /* IPv4 options bytes, multiple of 4 */
	int srcroute;           /* 0 none, 1 LSRR not exhausted, 2 exhausted */
	uint8_t sr_n;
	uint32_t sr_addr[3];
	int next;
	struct ext6 ext[6];
	int frag;               /* FR_* */
	uint16_t frag_off8;     /* later fragment offset, 8-byte units */
	int later_mf;
	uint32_t frag_bytes;    /* first fragment: L4 bytes carried */
	uint8_t proto;
	int udp_zero;
	uint8_t icmp_type, icmp_code;
	int inner;              /* ICMP error quoting an IP header */
	uint32_t in_src4, in_dst4;
	uint8_t in_src6[16], in_dst6[16];
	uint8_t tcp_doff;
	uint32_t paylen;
	uint32_t seed;
	uint32_t pad;           /* Ethernet padding after the datagram */
};

/* Layout facts the builder reports. */
struct layout {
	uint32_t len, l3, l4;
	uint32_t l4_in_frame;   /* L4 bytes in the datagram in this frame */
};

static int l4_csum_off(const struct desc *d)
{
	switch (d->proto) {
	case 6: return 16;
	case 17: return 6;
	case 1: return d->v6 ? -1 : 2;
	case 58: return d->v6 ? 2 : -1;
	case 89: return d->v6 ? 12 : -1;
	default: return -1;
	}
}

static int icmp_is_error(const struct desc *d)
{
	if (d->v6)
		return d->proto == 58 && d->icmp_type >= 1 && d->icmp_type <= 4;
	return d->proto == 1 &&
	       (d->icmp_type == 3 || d->icmp_type == 4 || d->icmp_type == 5 ||
		d->icmp_type == 11 || d->icmp_type == 12);
}

/* The whole upper-layer datagram with its checksum computed in full. */
static uint32_t build_l4(const struct desc *d, uint8_t *l4, uint32_t *rs)
{
	uint32_t n = 0, i;
	int co;

	switch (d->proto) {
	case 6: {
		uint32_t hl = (uint32_t)d->tcp_doff * 4;

		put16(l4, (uint16_t)xs32(rs));
		put16(l4 + 2, (uint16_t)xs32(rs));
		put32(l4 + 4, xs32(rs));
		put32(l4 + 8, xs32(rs));
		l4[12] = (uint8_t)(d->tcp_doff << 4);
		l4[13] = (uint8_t)xs32(rs);
		put16(l4 + 14, (uint16_t)xs32(rs));
		put16(l4 + 16, 0);
		put16(l4 + 18, 0);
		for (i = 20; i < hl; i++)
			l4[i] = 1; /* NOP options */
		n = hl;
		break;
	}
	case 17:
		put16(l4, (uint16_t)xs32(rs));
		put16(l4 + 2, (uint16_t)xs32(rs));
		put16(l4 + 4, (uint16_t)(8 + d->paylen));
		put16(l4 + 6, 0);
		n = 8;
		break;
	case 1:
	case 58:
		l4[0] = d->icmp_type;
		l4[1] = d->icmp_code;
		put16(l4 + 2, 0);
		put32(l4 + 4, xs32(rs));
		n = 8;
		if (d->inner && !d->v6) {
			uint8_t *in = l4 + 8;

			memset(in, 0, 20);
			in[0] = 0x45;
			put16(in + 2, (uint16_t)(20 + 8 + xs32(rs) % 500));
			put16(in + 4, (uint16_t)xs32(rs));
			in[8] = (uint8_t)xs32(rs);
			in[9] = 17;
			put32(in + 12, d->in_src4);
			put32(in + 16, d->in_dst4);
			put16(in + 10, fold_not(sum_bytes(0, in, 20)));
			for (i = 20; i < 28; i++)
				in[i] = (uint8_t)xs32(rs);
			n += 28;
		} else if (d->inner) {
			uint8_t *in = l4 + 8;

			in[0] = 0x60;
			in[1] = in[2] = in[3] = 0;
			put16(in + 4, (uint16_t)(8 + xs32(rs) % 500));
			in[6] = 17;
			in[7] = 64;
			memcpy(in + 8, d->in_src6, 16);
			memcpy(in + 24, d->in_dst6, 16);
			for (i = 40; i < 48; i++)
				in[i] = (uint8_t)xs32(rs);
			n += 48;
		}
		break;
	case 89:
		l4[0] = 3;
		l4[1] = 1;
		put16(l4 + 2, (uint16_t)(16 + d->paylen));
		put32(l4 + 4, xs32(rs));
		put32(l4 + 8, xs32(rs));
		put16(l4 + 12, 0);
		l4[14] = 0;
		l4[15] = 0;
		n = 16;
		break;
	default:
		break;
	}
	for (i = 0; i < d->paylen; i++)
		l4[n + i] = (uint8_t)xs32(rs);
	/* an ICMP error without a quoted header must not look like one */
	if ((d->proto == 1 || d->proto == 58) && !d->inner && d->paylen > 0)
		l4[n] = 0;
	n += d->paylen;

	co = l4_csum_off(d);
	if (co >= 0) {
		uint32_t s = 0;
		uint16_t c;

		if (!(d->proto == 1 && !d->v6)) { /* pseudo-header */
			uint8_t ph[40];

			if (d->v6) {
				const uint8_t *pd = d->dst6;

				for (int k = 0; k < d->next; k++)
					if (d->ext[k].type == 43 && d->ext[k].segleft)
						pd = d->ext[k].addr[d->ext[k].naddr - 1];
				memcpy(ph, d->src6, 16);
				memcpy(ph + 16, pd, 16);
				put32(ph + 32, n);
				put32(ph + 36, d->proto);
				s = sum_bytes(0, ph, 40);
			} else {
				uint32_t pd = d->srcroute == 1 ?
					d->sr_addr[d->sr_n - 1] : d->dst4;

				put32(ph, d->src4);
				put32(ph + 4, pd);
				ph[8] = 0;
				ph[9] = d->proto;
				put16(ph + 10, (uint16_t)n);
				s = sum_bytes(0, ph, 12);
			}
		}
		c = fold_not(sum_bytes(s, l4, n));
		if (d->proto == 17 && c == 0)
			c = 0xffff;
		if (d->proto == 17 && d->udp_zero)
			c = 0;
		put16(l4 + co, c);
	}
	return n;
}

static uint32_t build(const struct desc *d, uint8_t *f, struct layout *lo)
{
	uint8_t l4[MAXF];
	uint32_t rs = d->seed | 1, o = 0, n, sl_off = 0, sl_len, i;

	memcpy(f, d->dmac, 6);
	memcpy(f + 6, d->smac, 6);
	o = 12;
	for (int k = 0; k < d->nvlan; k++) {
		put16(f + o, d->tpid[k]);
		put16(f + o + 2, d->tci[k]);
		o += 4;
	}
	put16(f + o, d->ethertype ? d->ethertype : d->v6 ? 0x86dd : 0x0800);
	o += 2;
	lo->l3 = o;

	n = build_l4(d, l4, &rs);
	sl_len = n;
	if (d->frag == FR_FIRST)
		sl_len = d->frag_bytes;
	if (d->frag == FR_LATER) {  /* raw continuation bytes */
		for (i = 0; i < d->paylen; i++)
			l4[i] = (uint8_t)xs32(&rs);
		sl_len = d->paylen;
	}

	if (!d->v6) {
		uint8_t *ip = f + o;
		uint32_t hl = 20 + d->optlen;
		uint16_t fr = 0;

		ip[0] = (uint8_t)(0x40 | hl / 4);
		ip[1] = (uint8_t)xs32(&rs);
		put16(ip + 2, (uint16_t)(hl + sl_len));
		put16(ip + 4, (uint16_t)xs32(&rs));
		if (d->frag == FR_FIRST)
			fr = 0x2000;
		else if (d->frag == FR_LATER)
			fr = (uint16_t)(d->frag_off8 | (d->later_mf ? 0x2000 : 0));
		else
			fr = (uint16_t)(xs32(&rs) & 0x4000); /* DF sometimes */
		put16(ip + 6, fr);
		ip[8] = (uint8_t)(1 + xs32(&rs) % 255);
		ip[9] = d->proto;
		put16(ip + 10, 0);
		put32(ip + 12, d->src4);
		put32(ip + 16, d->dst4);
		memset(ip + 20, 1, d->optlen); /* NOPs */
		if (d->srcroute) {
			uint8_t *op = ip + 20;
			uint8_t len = (uint8_t)(3 + 4 * d->sr_n);

			op[0] = 131;
			op[1] = len;
			op[2] = d->srcroute == 1 ? 4 : (uint8_t)(len + 1);
			for (int k = 0; k < d->sr_n; k++)
				put32(op + 3 + 4 * k, d->sr_addr[k]);
		}
		if (d->optlen)
			ip[hl - 1] = 0; /* end of options */
		put16(ip + 10, fold_not(sum_bytes(0, ip, hl)));
		o += hl;
	} else {
		uint8_t *ip = f + o;
		uint32_t e = 40;
		uint8_t *prev_nh = ip + 6;

		put32(ip, 0x60000000u | (xs32(&rs) & 0x0fffffff));
		ip[7] = (uint8_t)xs32(&rs);
		memcpy(ip + 8, d->src6, 16);
		memcpy(ip + 24, d->dst6, 16);
		for (int k = 0; k < d->next; k++) {
			const struct ext6 *x = &d->ext[k];
			uint8_t *h = ip + e;
			uint32_t hl;

			*prev_nh = x->type;
			prev_nh = h;
			if (x->type == 44) {
				uint16_t fo = 0;

				if (d->frag == FR_FIRST)
					fo = 1;
				else if (d->frag == FR_LATER)
					fo = (uint16_t)(d->frag_off8 << 3 | d->later_mf);
				h[1] = 0;
				put16(h + 2, fo);
				put32(h + 4, xs32(&rs));
				e += 8;
				continue;
			}
			hl = x->type == 51 ? ((uint32_t)x->len + 2) * 4 :
					     ((uint32_t)x->len + 1) * 8;
			memset(h + 1, 0, hl - 1);
			h[1] = x->len;
			if (x->type == 43) {
				h[2] = 0;
				h[3] = x->segleft;
				for (int a = 0; a < x->naddr; a++)
					memcpy(h + 8 + 16 * a, x->addr[a], 16);
			} else if (x->type == 51) {
				for (i = 4; i < hl; i++)
					h[i] = (uint8_t)xs32(&rs);
			}
			e += hl;
		}
		*prev_nh = d->proto;
		put16(ip + 4, (uint16_t)(e - 40 + sl_len));
		o += e;
	}
	lo->l4 = o;
	memcpy(f + o, l4 + sl_off, sl_len);
	lo->l4_in_frame = sl_len;
	o += sl_len;
	for (i = 0; i < d->pad; i++)
		f[o + i] = (uint8_t)xs32(&rs);
	o += d->pad;
	lo->len = o;
	return o;
}

/* ---- running the code under test ---------------------------------------- */

/* A heap copy of exactly seg bytes: any access past it is a sanitizer or
 * valgrind error. */
static void run(const struct st_rewrite_tables *t, const uint8_t *in,
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
	st_rewrite_frame(t, b, seg, pkt, res);
	if (seg)
		memcpy(out, b, seg);
	free(b);
}

static uint32_t expected_anoms(const struct desc *d)
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

static void dump_diff(const uint8_t *a, const uint8_t *b, uint32_t n)
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

/* Build d, rewrite it with t (built from plan p), and compare with the
 * frame built from the translated description. Returns 0 if all matched. */
static int check_desc(const char *name, const struct st_rewrite_tables *t,
		      const struct st_plan *p, const struct desc *d)
{
	static uint8_t in[MAXF], out[MAXF], want[MAXF];
	struct st_rewrite_result res;
	struct layout lo, lw;
	struct desc e = *d;
	uint32_t n = build(d, in, &lo);
	int ms, md, changed = 0, fails = (int)g_fail;

	if (d->v6) {
		ms = ref6(p, d->src6, e.src6);
		md = ref6(p, d->dst6, e.dst6);
		changed = memcmp(e.src6, d->src6, 16) || memcmp(e.dst6, d->dst6, 16);
	} else {
		ms = ref4(p, d->src4, &e.src4);
		md = ref4(p, d->dst4, &e.dst4);
		changed = e.src4 != d->src4 || e.dst4 != d->dst4;
	}
	run(t, in, n, n, out, &res);
	CHECK(res.anomalies == expected_anoms(d), "%s: anomalies %#x want %#x",
	      name, res.anomalies, expected_anoms(d));

	if (!(ms && md) && t->unmapped == ST_UNMAPPED_DROP) {
		CHECK(res.drop == ST_DROP_UNMAPPED, "%s: drop %d want unmapped",
		      name, res.drop);
		CHECK(memcmp(in, out, n) == 0, "%s: dropped frame modified", name);
		return (int)g_fail != fails;
	}

	/* ICMP errors: the quoted header is translated when it is all there */
	if (d->inner && icmp_is_error(d) &&
	    (d->frag == FR_NONE || d->frag == FR_ATOMIC ||
	     (d->frag == FR_FIRST && d->frag_bytes >= 8u + (d->v6 ? 40u : 20u)))) {
		if (d->v6) {
			ref6(p, d->in_src6, e.in_src6);
			ref6(p, d->in_dst6, e.in_dst6);
			changed |= memcmp(e.in_src6, d->in_src6, 16) ||
				   memcmp(e.in_dst6, d->in_dst6, 16);
		} else {
			ref4(p, d->in_src4, &e.in_src4);
			ref4(p, d->in_dst4, &e.in_dst4);
			changed |= e.in_src4 != d->in_src4 ||
				   e.in_dst4 != d->in_dst4;
		}
	}
	for (int k = 0; k < 6; k++) {
		if (p->shadow_dst_mac[0] | p->shadow_dst_mac[1] | p->shadow_dst_mac[2] |
		    p->shadow_dst_mac[3] | p->shadow_dst_mac[4] | p->shadow_dst_mac[5])
			e.dmac[k] = p->shadow_dst_mac[k];
		if (p->shadow_src_mac[0] | p->shadow_src_mac[1] | p->shadow_src_mac[2] |
		    p->shadow_src_mac[3] | p->shadow_src_mac[4] | p->shadow_src_mac[5])
			e.smac[k] = p->shadow_src_mac[k];
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
static void check_refused(const char *name, const struct st_rewrite_tables *t,
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

/* ---- plans --------------------------------------------------------------- */

static void ip6(uint8_t *out, const char *s)
{
	if (inet_pton(AF_INET6, s, out) != 1)
		abort();
}

static uint32_t ip4(const char *s)
{
	struct in_addr a;

	if (inet_pton(AF_INET, s, &a) != 1)
		abort();
	return ntohl(a.s_addr);
}

static void add4(struct st_plan *p, const char *from, const char *to,
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

static void add6(struct st_plan *p, const char *from, const char *to,
		 uint8_t len)
{
	ip6(p->map6[p->nb_map6].from, from);
	ip6(p->map6[p->nb_map6].to, to);
	p->map6[p->nb_map6].len = len;
	p->nb_map6++;
}

static void main_plan(struct st_plan *p)
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

/* a random address inside map i of the plan, or anywhere when i < 0 */
static uint32_t addr_in4(const struct st_plan *p, int i)
{
	uint32_t r = rnd();

	if (i < 0)
		return r;
	return (p->map4[i].from & mask4(p->map4[i].len)) |
	       (r & ~mask4(p->map4[i].len));
}

static void addr_in6(const struct st_plan *p, int i, uint8_t *out)
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

static void base_desc(struct desc *d, int v6, uint8_t proto)
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

/* ---- the tests ----------------------------------------------------------- */

static void test_literals(const struct st_rewrite_tables *t)
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
		build(&d, in, &lo);
		run(t, in, lo.len, lo.len, out, &res);
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
		build(&d, in, &lo);
		run(t, in, lo.len, lo.len, out, &res);
		snprintf(name, sizeof(name), "literal %s", v6[i].in);
		CHECK(res.drop == -1 && memcmp(out + lo.l3 + 8, want, 16) == 0,
		      "%s -> wrong address", name);
	}
}

static void test_valid(const struct st_rewrite_tables *t, const struct st_plan *p)
{
	struct desc d;

	/* IPv4 */
	base_desc(&d, 0, 6);
	check_desc("ipv4 tcp", t, p, &d);
	d.tcp_doff = 15;
	check_desc("ipv4 tcp with options", t, p, &d);
	base_desc(&d, 0, 17);
	check_desc("ipv4 udp", t, p, &d);
	d.udp_zero = 1;
	check_desc("ipv4 udp checksum 0 stays 0", t, p, &d);
	base_desc(&d, 0, 1);
	check_desc("ipv4 icmp echo", t, p, &d);
	base_desc(&d, 0, 47);
	check_desc("ipv4 gre", t, p, &d);
	base_desc(&d, 0, 6);
	d.paylen = 0;
	check_desc("ipv4 tcp no payload", t, p, &d);
	d.pad = 6;
	check_desc("ipv4 tcp with ethernet padding", t, p, &d);
	base_desc(&d, 0, 17);
	d.paylen = 0;
	d.pad = 18;
	check_desc("ipv4 udp with ethernet padding", t, p, &d);

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
	base_desc(&d, 0, 6);
	d.paylen = 100;
	d.frag = FR_FIRST;
	d.frag_bytes = 24;
	check_desc("ipv4 first fragment tcp", t, p, &d);
	base_desc(&d, 0, 17);
	d.paylen = 100;
	d.frag = FR_FIRST;
	d.frag_bytes = 8;
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
	base_desc(&d, 0, 1);
	d.icmp_type = 3;
	d.inner = 1;
	d.in_src4 = ip4("192.168.1.77");
	d.in_dst4 = ip4("10.20.30.40");
	d.paylen = 64;
	d.frag = FR_FIRST;
	d.frag_bytes = 32;
	check_desc("ipv4 first fragment icmp error", t, p, &d);
	d.frag_bytes = 16;
	check_desc("ipv4 first fragment icmp error, inner cut", t, p, &d);

	/* VLAN */
	base_desc(&d, 0, 6);
	d.nvlan = 1;
	d.tpid[0] = 0x8100;
	d.tci[0] = 100;
	check_desc("vlan 0x8100", t, p, &d);
	d.nvlan = 2;
	d.tpid[0] = 0x88a8;
	d.tpid[1] = 0x8100;
	check_desc("qinq 0x88a8/0x8100", t, p, &d);
	d.tpid[0] = 0x9100;
	d.v6 = 1;
	d.src6[0] = 0x20; d.src6[1] = 0x01; d.src6[2] = 0x0d; d.src6[3] = 0xb8;
	memcpy(d.dst6, d.src6, 16);
	d.dst6[15] = 1;
	check_desc("qinq 0x9100 ipv6", t, p, &d);

	/* IPv6 */
	base_desc(&d, 1, 6);
	check_desc("ipv6 tcp", t, p, &d);
	base_desc(&d, 1, 17);
	check_desc("ipv6 udp", t, p, &d);
	d.udp_zero = 1;
	check_desc("ipv6 udp checksum 0 kept", t, p, &d);
	base_desc(&d, 1, 58);
	check_desc("ipv6 icmpv6 echo", t, p, &d);
	base_desc(&d, 1, 89);
	check_desc("ipv6 ospfv3", t, p, &d);
	base_desc(&d, 1, 59);
	d.paylen = 0;
	check_desc("ipv6 no next header", t, p, &d);
	base_desc(&d, 1, 50);
	check_desc("ipv6 esp", t, p, &d);

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
	base_desc(&d, 1, 17);
	d.next = 1;
	d.ext[0].type = 44;
	d.frag = FR_FIRST;
	d.paylen = 100;
	d.frag_bytes = 8;
	check_desc("ipv6 first fragment udp 8 bytes", t, p, &d);

	/* ICMP errors */
	base_desc(&d, 0, 1);
	d.icmp_type = 3;
	d.icmp_code = 3;
	d.inner = 1;
	d.in_src4 = ip4("192.168.1.77");
	d.in_dst4 = ip4("10.20.30.40");
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

static void test_malformed(const struct st_rewrite_tables *t)
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
	d.nvlan = 1;
	d.tpid[0] = 0x8100;
	build(&d, f, &lo);
	for (uint32_t n = 14; n < 18; n++)
		check_refused("short vlan", t, f, n, n, MAL, TL2 | VL);
	d.nvlan = 2;
	d.tpid[0] = 0x88a8;
	d.tpid[1] = 0x8100;
	build(&d, f, &lo);
	for (uint32_t n = 18; n < 22; n++)
		check_refused("short qinq", t, f, n, n, MAL, TL2 | VL);
	d.nvlan = 3;
	d.tpid[0] = 0x88a8;
	d.tpid[1] = 0x8100;
	d.tpid[2] = 0x8100;
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
	d.nvlan = 1;
	d.tpid[0] = 0x8100;
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
	base_desc(&d, 0, 1);
	d.paylen = 0;
	build(&d, f, &lo);
	for (uint32_t n = 0; n < 8; n++) {
		put16(f + 16, (uint16_t)(20 + n));
		check_refused("icmp truncated", t, f, lo.len, lo.len, MAL, TL4);
	}
	base_desc(&d, 0, 6);
	d.paylen = 100;
	d.frag = FR_FIRST;
	d.frag_bytes = 16;
	build(&d, f, &lo);
	check_refused("ipv4 tiny first fragment tcp", t, f, lo.len, lo.len, MAL,
		      TL4 | FRG);
	d.optlen = 4;
	build(&d, f, &lo);
	check_refused("ipv4 tiny first fragment tcp with options", t, f, lo.len,
		      lo.len, MAL, TL4 | FRG | OPT);
	base_desc(&d, 0, 17);
	d.paylen = 100;
	d.frag = FR_FIRST;
	d.frag_bytes = 8;
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
	base_desc(&d, 1, 6);
	d.next = 1;
	d.ext[0].type = 44;
	d.frag = FR_FIRST;
	d.paylen = 100;
	d.frag_bytes = 24;
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
	base_desc(&d, 1, 6);
	d.next = 1;
	d.ext[0].type = 44;
	d.frag = FR_FIRST;
	d.paylen = 100;
	d.frag_bytes = 24;
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
static void test_udp_ffff(const struct st_rewrite_tables *t,
			  const struct st_plan *p)
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

static void test_unmapped(struct st_rewrite_tables *t, const struct st_plan *p)
{
	struct desc d;

	t->unmapped = ST_UNMAPPED_DROP;
	base_desc(&d, 0, 6);
	d.src4 = ip4("8.8.8.8");
	check_desc("drop: ipv4 src unmapped", t, p, &d);
	base_desc(&d, 0, 17);
	d.dst4 = ip4("9.9.9.9");
	d.nvlan = 1;
	d.tpid[0] = 0x8100;
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

/* A random valid frame description; mostly_mapped picks addresses inside
 * the plan's maps 9 times out of 10, else anywhere. */
static void random_desc(struct desc *d, const struct st_plan *p, int mostly_mapped)
{
	static const uint16_t tpids[3] = { 0x8100, 0x88a8, 0x9100 };
	static const uint8_t v4p[] = { 6, 17, 1, 1, 47, 50, 132 };
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

static void test_random_valid(struct st_rewrite_tables *t,
			      const struct st_plan *p, int count)
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

static void test_random_garbage(struct st_rewrite_tables *t,
				const struct st_plan *p, int count)
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
	printf("random garbage: %d frames, %u sent, none out of bounds\n", count,
	       sent);
}

static void test_zero_and_one(void)
{
	struct st_plan p;
	struct st_error err;
	struct st_rewrite_tables *t;
	struct desc d;

	memset(&p, 0, sizeof(p));
	p.unmapped = ST_UNMAPPED_DROP;
	add4(&p, "0.0.0.0", "5.6.7.8", 0);        /* identity, marks all mapped */
	add4(&p, "128.0.0.0", "0.0.0.0", 1);      /* a real /1 beats the /0 halves */
	add4(&p, "10.0.0.0", "11.0.0.0", 8);
	add6(&p, "::", "fd00::", 0);
	add6(&p, "2001:db8::", "fd00:1::", 32);
	t = st_rewrite_compile(&p, "zero", &err);
	CHECK(t != NULL, "compile /0 plan: %s %s %s", err.code, err.field,
	      err.message);
	if (t == NULL)
		return;
	base_desc(&d, 0, 6);
	d.src4 = ip4("1.2.3.4");
	d.dst4 = ip4("200.1.2.3");
	check_desc("/0 identity + /1", t, &p, &d);
	{
		static uint8_t in[MAXF], out[MAXF];
		struct st_rewrite_result res;
		struct layout lo;

		build(&d, in, &lo);
		run(t, in, lo.len, lo.len, out, &res);
		CHECK(res.drop == -1 && get32(out + lo.l3 + 12) == ip4("1.2.3.4") &&
		      get32(out + lo.l3 + 16) == ip4("72.1.2.3"),
		      "/0 keeps all bits, /1 maps 200.1.2.3 to 72.1.2.3");
	}
	d.src4 = ip4("10.9.9.9");
	check_desc("/0 with /8", t, &p, &d);
	base_desc(&d, 1, 17);
	ip6(d.src6, "fe80::1");
	check_desc("ipv6 /0 identity", t, &p, &d);
	for (int i = 0; i < 300; i++) {
		random_desc(&d, &p, 0);
		check_desc("random with /0 maps", t, &p, &d);
	}
	st_rewrite_free(t);

	/* only IPv4 maps: IPv6 table stays NULL, IPv6 frames are unmapped */
	memset(&p, 0, sizeof(p));
	add4(&p, "10.0.0.0", "11.0.0.0", 8);
	p.unmapped = ST_UNMAPPED_DROP;
	/* all-zero MACs: originals kept */
	t = st_rewrite_compile(&p, "v4only", &err);
	CHECK(t != NULL && t->lpm4 != NULL && t->lpm6 == NULL && t->nb_map6 == 0,
	      "compile v4-only plan");
	if (t == NULL)
		return;
	base_desc(&d, 1, 6);
	check_desc("no ipv6 maps: dropped as unmapped", t, &p, &d);
	t->unmapped = ST_UNMAPPED_MIRROR;
	check_desc("no ipv6 maps: mirrored untranslated", t, &p, &d);
	base_desc(&d, 0, 6);
	d.src4 = ip4("10.1.1.1");
	d.dst4 = ip4("10.2.2.2");
	check_desc("zero MACs kept", t, &p, &d);
	st_rewrite_free(t);

	memset(&p, 0, sizeof(p));
	p.unmapped = ST_UNMAPPED_MIRROR;
	t = st_rewrite_compile(&p, "empty", &err);
	CHECK(t != NULL && t->lpm4 == NULL && t->lpm6 == NULL,
	      "compile empty plan: both tables NULL");
	if (t != NULL) {
		base_desc(&d, 0, 17);
		check_desc("empty plan mirror", t, &p, &d);
		t->unmapped = ST_UNMAPPED_DROP;
		check_desc("empty plan drop", t, &p, &d);
	}
	st_rewrite_free(t);
	st_rewrite_free(NULL);
}

static void test_compile_errors(void)
{
	static struct st_plan p;
	struct st_error err;
	struct st_rewrite_tables *t, *t2;

	memset(&p, 0, sizeof(p));
	add4(&p, "10.0.0.0", "11.0.0.0", 8);
	add4(&p, "10.0.0.0", "11.0.0.0", 33);
	memset(&err, 0, sizeof(err));
	t = st_rewrite_compile(&p, "e1", &err);
	CHECK(t == NULL && strcmp(err.code, "ST_ERR_MAP_COMPILE") == 0 &&
	      strcmp(err.field, "map4[1].len") == 0,
	      "ipv4 len 33 refused: '%s' '%s' '%s'", err.code, err.field,
	      err.message);

	memset(&p, 0, sizeof(p));
	add6(&p, "2001:db8::", "fd00::", 129);
	t = st_rewrite_compile(&p, "e2", &err);
	CHECK(t == NULL && strcmp(err.field, "map6[0].len") == 0,
	      "ipv6 len 129 refused: '%s'", err.field);

	memset(&p, 0, sizeof(p));
	add4(&p, "10.0.0.0", "11.0.0.0", 8);
	add4(&p, "10.1.0.0", "12.0.0.0", 16);
	add4(&p, "10.9.9.9", "13.0.0.0", 8);   /* same prefix as map4[0] */
	t = st_rewrite_compile(&p, "e3", &err);
	CHECK(t == NULL && strcmp(err.field, "map4[2]") == 0 &&
	      strstr(err.message, "map4[0]") != NULL,
	      "duplicate prefix refused: '%s' '%s'", err.field, err.message);

	memset(&p, 0, sizeof(p));
	p.nb_map4 = ST_MAX_MAPS + 1;
	t = st_rewrite_compile(&p, "e4", &err);
	CHECK(t == NULL && strcmp(err.field, "map4") == 0, "too many maps refused");

	memset(&p, 0, sizeof(p));
	p.unmapped = 7;
	t = st_rewrite_compile(&p, "e5", &err);
	CHECK(t == NULL && strcmp(err.field, "unmapped") == 0,
	      "bad unmapped rule refused");

	CHECK(st_rewrite_compile(NULL, "e6", &err) == NULL, "NULL plan refused");

	memset(&p, 0, sizeof(p));
	add4(&p, "10.0.0.0", "11.0.0.0", 8);
	t = st_rewrite_compile(&p, "a-very-long-suffix-that-does-not-fit", &err);
	CHECK(t == NULL && err.errnum == ENAMETOOLONG && strcmp(err.field, "map4") == 0,
	      "too long name suffix refused: '%s'", err.message);

	/* the same suffix twice while the first is alive: rte_lpm refuses */
	t = st_rewrite_compile(&p, "dup", &err);
	memset(&err, 0, sizeof(err));
	t2 = st_rewrite_compile(&p, "dup", &err);
	CHECK(t != NULL && t2 == NULL && strcmp(err.code, "ST_ERR_MAP_COMPILE") == 0 &&
	      err.errnum == EEXIST && strstr(err.message, rte_strerror(EEXIST)) != NULL,
	      "same table name twice refused: '%s' '%s' (%d)", err.field,
	      err.message, err.errnum);
	st_rewrite_free(t2);
	st_rewrite_free(t);
	/* unique automatic names when no suffix is given */
	t = st_rewrite_compile(&p, NULL, &err);
	t2 = st_rewrite_compile(&p, "", &err);
	CHECK(t != NULL && t2 != NULL, "two tables without suffix coexist: %s",
	      err.message);
	st_rewrite_free(t2);
	st_rewrite_free(t);
	/* and the name is free again after st_rewrite_free */
	t = st_rewrite_compile(&p, "dup", &err);
	CHECK(t != NULL, "name reusable after free: %s", err.message);
	st_rewrite_free(t);
}

/* ---- EAL ------------------------------------------------------------------ */

static void remove_runtime_dir(const char *dir)
{
	DIR *dp = opendir(dir);
	struct dirent *e;

	if (dp == NULL)
		return;
	while ((e = readdir(dp)) != NULL) {
		if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
			continue;
		unlinkat(dirfd(dp), e->d_name, 0);
	}
	closedir(dp);
	if (rmdir(dir) != 0 && errno != ENOENT)
		fprintf(stderr, "warning: cannot remove %s: %s\n", dir,
			strerror(errno));
}

int main(int argc, char **argv)
{
	char prefix[64], runtime_dir[512];
	char *eal_argv[] = { argv[0], "--no-huge", "-m", "256", "--no-pci",
			     "--file-prefix", prefix, "--log-level=error", NULL };
	int eal_argc = (int)(sizeof(eal_argv) / sizeof(eal_argv[0])) - 1;
	struct st_plan plan;
	struct st_error err;
	struct st_rewrite_tables *t;
	int iterations = 3000;

	if (argc > 1)
		g_rng = strtoull(argv[1], NULL, 0) | 1;
	if (argc > 2)
		iterations = atoi(argv[2]);
	printf("seed %#" PRIx64 "\n", g_rng);

	snprintf(prefix, sizeof(prefix), "st-rwtest-%d", (int)getpid());
	if (rte_eal_init(eal_argc, eal_argv) < 0) {
		fprintf(stderr, "rte_eal_init: %s\n", rte_strerror(rte_errno));
		return 2;
	}
	snprintf(runtime_dir, sizeof(runtime_dir), "%s", rte_eal_get_runtime_dir());

	test_compile_errors();
	test_zero_and_one();

	main_plan(&plan);
	memset(&err, 0, sizeof(err));
	t = st_rewrite_compile(&plan, "main", &err);
	CHECK(t != NULL, "compile main plan: %s %s %s", err.code, err.field,
	      err.message);
	if (t != NULL) {
		CHECK(t->nb_map4 == plan.nb_map4 && t->nb_map6 == plan.nb_map6 &&
		      memcmp(t->src_mac, plan.shadow_src_mac, 6) == 0 &&
		      memcmp(t->dst_mac, plan.shadow_dst_mac, 6) == 0,
		      "tables copy maps and MACs");
		test_literals(t);
		test_valid(t, &plan);
		test_malformed(t);
		test_unmapped(t, &plan);
		test_udp_ffff(t, &plan);
		test_random_valid(t, &plan, iterations);
		test_random_garbage(t, &plan, iterations * 2);
		st_rewrite_free(t);
	}

	rte_eal_cleanup();
	remove_runtime_dir(runtime_dir);
	printf("%u passed, %u failed\n", g_pass, g_fail);
	return g_fail == 0 ? 0 : 1;
}
