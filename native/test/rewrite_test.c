/* SPDX-License-Identifier: BSD-3-Clause
 * Standalone test of the header rewrite (stages/rewrite_ctl.c and the node:
 * rewrite_node.c, rewrite_ipv4.c, rewrite_ipv6.c, rewrite_cp.c).
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
 *   exit 0 and "N passed, 0 failed" on success; the seed (argument, else
 *   $ST_TEST_SEED, else fixed) is printed first. Out-of-bounds accesses are
 *   caught by the sanitized build (build/sanitize, docs/testing.md), not by
 *   this program: it cannot see them itself.
 * Build: CMake target st_rewrite_test (with the st_dataplane objects).
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

#include "st_check.h"
#include "rewrite.h"
#include "leak.h"

#define MAXF 4096


/* ---- randomness (reproducible: the seed is printed) -------------------- */


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

static uint16_t get16(const uint8_t *p)
{
	return (uint16_t)(p[0] << 8 | p[1]);
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

/* ---- policy-era reference (issue 3) --------------------------------------
 * With g_pol set, check_desc() expects what tables compiled from that policy
 * do: MAC maps and default MACs, and with control-plane bits the addresses
 * that name no host exempted (see rewrite_node.c, 4 and 6). The prefix maps
 * of the reference plan must equal the policy's. With g_ex set, run() calls
 * st_rewrite_frame_ex() (wire == pkt) instead of st_rewrite_frame(). */

static const struct st_policy_conf *g_pol;
static int g_ex;

static int cp_aware(void)
{
	return g_pol != NULL && g_pol->control_plane != 0;
}

/* 0 uncovered, 1 covered, 2 exempt (kept, never unmapped) */
static int refx4(const struct st_plan *p, uint32_t a, uint32_t *out)
{
	*out = a;
	if (cp_aware() && (a == 0 || a == 0xffffffffu))
		return 2;
	if (ref4(p, a, out))
		return 1;
	return cp_aware() && (a >> 28) == 0xe ? 2 : 0;
}

static int refx6(const struct st_plan *p, const uint8_t *a, uint8_t *out)
{
	static const uint8_t zero[16];

	memcpy(out, a, 16);
	if (cp_aware() && memcmp(a, zero, 16) == 0)
		return 2;
	if (ref6(p, a, out))
		return 1;
	return cp_aware() && (a[0] == 0xff || (a[0] == 0xfe && (a[1] & 0xc0) == 0x80)) ? 2 : 0;
}

static int mac_zero(const uint8_t *m)
{
	return (m[0] | m[1] | m[2] | m[3] | m[4] | m[5]) == 0;
}

/* The expected replacement of a MAC (NULL: kept): a linear scan of the MAC
 * maps, else def unless zero; group and zero MACs with cp only by map. */
static const uint8_t *ref_mac(const uint8_t *mac, const uint8_t *def)
{
	if (g_pol != NULL)
		for (int i = 0; i < g_pol->nb_mac_maps; i++)
			if (memcmp(g_pol->mac_maps[i].from, mac, 6) == 0)
				return g_pol->mac_maps[i].to;
	if (cp_aware() && ((mac[0] & 1) || mac_zero(mac)))
		return NULL;
	return def == NULL || mac_zero(def) ? NULL : def;
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
	/* the quoted UDP checksum follows these addresses instead of in_*
	 * (qcs_keep: a first fragment that does not carry it keeps it) */
	int qcs_keep;
	uint32_t qcs_src4, qcs_dst4;
	uint8_t qcs_src6[16], qcs_dst6[16];
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
			/* the quoted UDP checksum: the one of a datagram whose unseen
			 * rest sums to the source port, so it follows the quoted
			 * addresses through the pseudo-header (never 0: "none") */
			{
				uint8_t a[8];
				uint16_t c;

				put32(a, d->qcs_keep ? d->qcs_src4 : d->in_src4);
				put32(a + 4, d->qcs_keep ? d->qcs_dst4 : d->in_dst4);
				c = fold_not(sum_bytes(0, a, 8) + 17 +
						      ((uint32_t)in[24] << 8 | in[25]) +
						      ((uint32_t)in[20] << 8 | in[21]));

				put16(in + 26, c == 0 ? 0xffff : c);
			}
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
			{
				uint8_t a[32];
				uint16_t c;

				memcpy(a, d->qcs_keep ? d->qcs_src6 : d->in_src6, 16);
				memcpy(a + 16, d->qcs_keep ? d->qcs_dst6 : d->in_dst6, 16);
				c = fold_not(sum_bytes(0, a, 32) + 17 +
						      ((uint32_t)in[44] << 8 | in[45]) +
						      ((uint32_t)in[40] << 8 | in[41]));

				put16(in + 46, c == 0 ? 0xffff : c);
			}
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
	res->unmapped_seen = 99;
	if (g_ex)
		st_rewrite_frame_ex(t, b, seg, pkt, pkt, res);
	else
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
static void quoted_cs_keep(const struct desc *d, struct desc *e);

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
	printf("random garbage: %d frames, %u sent\n", count, sent);
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

/* ---- policy-era tests (issue 3) --------------------------------------------
 * Tables from st_rewrite_compile_policy(): host overrides, MAC maps, default
 * MACs, the 3-way unmapped rule, truncated copies (st_rewrite_frame_ex with
 * wire_len), and control-plane payloads (ARP, DHCPv4, IPv6 ND). CP frames
 * have their own description and builder; the expected frame is built again
 * from the description with every field translated by the reference (a
 * linear scan of the maps and of the MAC maps) and every checksum computed
 * in full, as for IP frames above. */

static struct st_plan g_pplan;               /* reference maps of g_policy */
static struct st_policy_conf g_policy;
static struct st_mac_map g_macs[8];

static void mac(uint8_t *out, const char *s)
{
	unsigned int b[6];

	if (sscanf(s, "%x:%x:%x:%x:%x:%x", &b[0], &b[1], &b[2], &b[3], &b[4],
		   &b[5]) != 6)
		abort();
	for (int i = 0; i < 6; i++)
		out[i] = (uint8_t)b[i];
}

static void policy_plan(struct st_plan *p)
{
	main_plan(p);
	add4(p, "192.168.1.200", "10.200.0.1", 32);    /* host override in a /24 */
	add4(p, "239.1.0.0", "239.9.0.0", 16);         /* a covered multicast range */
	add6(p, "2001:db8:1:2::77", "fd99::1:2345:6789", 128); /* host override in a /64 */
	add6(p, "ff0e::1:0", "ff0e::9:0", 112);        /* covered IPv6 groups */
}

/* g_policy from g_pplan; cp bits, MAC maps on or off. */
static void make_policy(uint32_t cp, int with_macs, uint8_t unmapped)
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
	g_policy.nb_map4 = g_pplan.nb_map4;
	memcpy(g_policy.map4, g_pplan.map4, sizeof(g_pplan.map4));
	g_policy.nb_map6 = g_pplan.nb_map6;
	memcpy(g_policy.map6, g_pplan.map6, sizeof(g_pplan.map6));
	memcpy(g_policy.default_src_mac, g_pplan.shadow_src_mac, 6);
	memcpy(g_policy.default_dst_mac, g_pplan.shadow_dst_mac, 6);
	g_policy.unmapped = unmapped;
	g_policy.control_plane = cp;
	for (size_t i = 0; i < sizeof(m) / sizeof(m[0]); i++) {
		mac(g_macs[i].from, m[i][0]);
		mac(g_macs[i].to, m[i][1]);
	}
	g_policy.mac_maps = g_macs;
	g_policy.nb_mac_maps = with_macs ? (uint16_t)(sizeof(m) / sizeof(m[0])) : 0;
}

static struct st_rewrite_tables *compile_policy(const char *suffix)
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

static void test_policy_compile(void)
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
			check_desc("1024 MAC maps", t, &g_pplan, &d);
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

static void test_policy_ip(int iterations)
{
	static const uint8_t rules[3] = { ST_UNMAPPED_RULE_DROP,
					  ST_UNMAPPED_RULE_MIRROR,
					  ST_UNMAPPED_RULE_COUNT };
	struct st_rewrite_tables *t;
	struct desc d;
	char name[96];

	g_pol = &g_policy;
	for (int conf = 0; conf < 3; conf++) {
		/* 0: the plan's behaviour; 1: MAC maps; 2: MAC maps + cp */
		make_policy(conf == 2 ? 7 : 0, conf >= 1, ST_UNMAPPED_RULE_DROP);
		t = compile_policy(conf == 0 ? "pip0" : conf == 1 ? "pip1" : "pip2");
		if (t == NULL)
			continue;
		for (int ex = 0; ex < 2; ex++) {
			int bad = 0;

			g_ex = ex;
			for (int i = 0; i < iterations / 2 && bad < 10; i++) {
				random_desc(&d, &g_pplan, 1);
				if (conf >= 1)
					policy_spice(&d);
				not_cp(&d);
				t->unmapped = rules[rndn(3)];
				snprintf(name, sizeof(name), "policy conf %d ex %d #%d", conf,
					 ex, i);
				bad += check_desc(name, t, &g_pplan, &d);
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
static void quoted_cs_keep(const struct desc *d, struct desc *e)
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
static int expect_desc(const struct st_rewrite_tables *t, const struct st_plan *p,
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

static void run_ex(const struct st_rewrite_tables *t, const uint8_t *in,
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
			    const struct st_plan *p, const struct desc *d,
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

static void test_truncated(int iterations)
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

		random_desc(&d, &g_pplan, 1);
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
			bad += check_trunc_desc(name, t, &g_pplan, &d, cuts[k]);
		}
	}
	/* the literal case: TCP cut after 40 bytes keeps a right checksum */
	base_desc(&d, 0, 6);
	d.paylen = 1400;
	t->unmapped = ST_UNMAPPED_RULE_DROP;
	check_trunc_desc("tcp 1400 bytes cut to 64", t, &g_pplan, &d, 64);
	check_trunc_desc("tcp cut just after its checksum", t, &g_pplan, &d, 14 + 20 + 18);
	check_trunc_desc("tcp cut inside its checksum", t, &g_pplan, &d, 14 + 20 + 17);
	base_desc(&d, 1, 17);
	d.paylen = 1000;
	check_trunc_desc("ipv6 udp cut to 128", t, &g_pplan, &d, 128);
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

/* ---- control-plane frames ------------------------------------------------- */

enum { CP_ARP = 1, CP_DHCP, CP_ND };

struct dopt {
	uint8_t code, len;
	uint8_t nolen;            /* write the code byte only (malformed) */
	uint8_t data[64];
};

struct ndopt {
	uint8_t type, len8;
	uint8_t data[62];
};

struct cpd {
	int kind;
	uint8_t dmac[6], smac[6];
	int nvlan;
	uint16_t tci[2];
	/* ARP */
	uint16_t htype, ptype, op;
	uint8_t hlen, plen;
	uint8_t sha[6], tha[6];
	uint32_t spa, tpa;
	/* IP */
	uint32_t src4, dst4;
	uint8_t src6[16], dst6[16];
	uint16_t sport, dport;
	int udp_zero, mf;
	/* DHCP */
	uint8_t bop, bhtype, bhlen;
	uint32_t ciaddr, yiaddr, siaddr, giaddr;
	uint8_t chaddr[16];
	int cookie;
	int nopt, nsname, nfile;
	struct dopt opt[16], sname[4], file[6];
	uint32_t trail;           /* zero bytes after the options, inside UDP */
	/* ND */
	uint8_t type;
	uint8_t target[16], dest[16];
	int nnd;
	struct ndopt nd[6];
	uint32_t pad;             /* Ethernet padding after the unit */
	uint32_t seed;
};

struct cplo {
	uint32_t len, l3, l4, hdr_end;  /* hdr_end: what must be whole */
};

/* The translation applied while building the expected frame. */
struct xl {
	const struct st_plan *p;
	uint32_t lim;             /* only fields wholly below lim */
	int payload;              /* translate the CP payload */
	int straddle, unmapped, changed;
};

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
static int ref_dhcp_addr_opt(uint8_t c)
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

static uint32_t dopts_len(const struct dopt *o, int n)
{
	uint32_t l = 0;

	for (int i = 0; i < n; i++)
		l += (o[i].code == 0 || o[i].code == 255 || o[i].nolen) ? 1u : 2u + o[i].len;
	return l;
}

static uint16_t ip4_csum(const uint8_t *ip)
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

static uint32_t build_cp(const struct cpd *d0, uint8_t *f, struct xl *x,
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

static void dopt_addrs(struct dopt *o, uint8_t code, int n, const uint32_t *a)
{
	memset(o, 0, sizeof(*o));
	o->code = code;
	o->len = (uint8_t)(4 * n);
	for (int i = 0; i < n; i++)
		put32(o->data + 4 * i, a[i]);
}

static void dopt_bytes(struct dopt *o, uint8_t code, uint8_t len, uint8_t fill)
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
static void cp_arp(struct cpd *d)
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
static void cp_dhcp(struct cpd *d)
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

static void cp_nd(struct cpd *d, uint8_t type)
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
static int check_cp(const char *name, const struct st_rewrite_tables *t,
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
	x.p = &g_pplan;
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
static int ip4_ok(const uint8_t *ip)
{
	return fold_not(sum_bytes(0, ip, 20)) == 0;
}

static int udp4_ok(const uint8_t *ip)
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

static int icmp6_ok(const uint8_t *ip)
{
	uint32_t len = (uint32_t)(ip[4] << 8 | ip[5]);
	uint8_t ph[40];

	memcpy(ph, ip + 8, 32);
	put32(ph + 32, len);
	put32(ph + 36, 58);
	return fold_not(sum_bytes(sum_bytes(0, ph, 40), ip + 40, len)) == 0;
}

static int eq_mac(const uint8_t *p, const char *s)
{
	uint8_t m[6];

	mac(m, s);
	return memcmp(p, m, 6) == 0;
}

static int eq6(const uint8_t *p, const char *s)
{
	uint8_t a[16];

	ip6(a, s);
	return memcmp(p, a, 16) == 0;
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
	n = build_cp(&d, in, NULL, &lo);
	run_ex(t, in, n, n, n, out, &res);
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
	n = build_cp(&d, in, NULL, &lo);
	run_ex(t, in, n, n, n, out, &res);
	CHECK(res.drop == -1 && eq_mac(out, "ff:ff:ff:ff:ff:ff") &&
	      memcmp(out + 6, g_policy.default_src_mac, 6) == 0 &&
	      memcmp(out + lo.l3 + 8, g_policy.default_src_mac, 6) == 0 &&
	      eq_mac(out + lo.l3 + 18, "00:00:00:00:00:00"),
	      "arp request: broadcast dst and zero tha kept, sha gets the default");
	/* ARP probe: sender 0.0.0.0 is not unmapped */
	d.spa = 0;
	n = build_cp(&d, in, NULL, &lo);
	run_ex(t, in, n, n, n, out, &res);
	CHECK(res.drop == -1 && get32(out + lo.l3 + 14) == 0 &&
	      get32(out + lo.l3 + 24) == ip4("192.168.201.77"),
	      "arp probe (sender 0.0.0.0) mirrored under drop");
	d.tpa = ip4("8.8.8.8");
	n = build_cp(&d, in, NULL, &lo);
	run_ex(t, in, n, n, n, out, &res);
	CHECK(res.drop == ST_DROP_UNMAPPED && memcmp(in, out, n) == 0,
	      "arp for an unmapped address dropped under drop");

	/* DHCP OFFER */
	cp_dhcp(&d);
	n = build_cp(&d, in, NULL, &lo);
	run_ex(t, in, n, n, n, out, &res);
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
	n = build_cp(&d, in, NULL, &lo);
	run_ex(t, in, n, n, n, out, &res);
	{
		const uint8_t *ip = out + lo.l3, *o = ip + 28 + 240;

		CHECK(res.drop == -1 && get32(ip + 12) == 0 &&
		      get32(ip + 16) == 0xffffffffu && o[3] == 50 &&
		      get32(o + 5) == ip4("172.16.30.77") &&
		      eq_mac(out + 6, "02:aa:00:00:00:13") && ip4_ok(ip) && udp4_ok(ip),
		      "dhcp discover mirrored under drop; requested address translated");
	}
	d.udp_zero = 1;
	n = build_cp(&d, in, NULL, &lo);
	run_ex(t, in, n, n, n, out, &res);
	CHECK(res.drop == -1 && get16(out + lo.l3 + 26) == 0 &&
	      get32(out + lo.l3 + 28 + 240 + 5) == ip4("172.16.30.77"),
	      "dhcp with UDP checksum 0: translated, checksum stays 0");

	/* ND: NS to the solicited-node group of a host override */
	cp_nd(&d, 135);
	n = build_cp(&d, in, NULL, &lo);
	run_ex(t, in, n, n, n, out, &res);
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
	n = build_cp(&d, in, NULL, &lo);
	run_ex(t, in, n, n, n, out, &res);
	{
		const uint8_t *ip = out + lo.l3, *l4 = ip + 40;

		CHECK(res.drop == -1 && eq6(l4 + 8, "fd00:aaaa:bbbb:cccc::1234:5678") &&
		      eq6(ip + 24, "ff02::1:ff34:5678") && eq_mac(out, "33:33:ff:34:56:78") &&
		      icmp6_ok(ip), "ns: /64 map keeps the solicited-node group");
	}
	/* NA with target link-layer address */
	cp_nd(&d, 136);
	n = build_cp(&d, in, NULL, &lo);
	run_ex(t, in, n, n, n, out, &res);
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
	n = build_cp(&d, in, NULL, &lo);
	run_ex(t, in, n, n, n, out, &res);
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
	n = build_cp(&d, in, NULL, &lo);
	run_ex(t, in, n, n, n, out, &res);
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
	n = build_cp(&d, in, NULL, &lo);
	run_ex(t, in, n, n, n, out, &res);
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
	n = build_cp(&d, f, NULL, &lo);
	{
		static uint8_t out[MAXF];
		struct st_rewrite_result res;
		const uint8_t *b;

		run_ex(t, f, n, n, n, out, &res);
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

/* A random CP description: addresses mostly mapped, sometimes special or
 * unmapped; MACs from the map, random, group or zero; random options. */
static uint32_t cp_addr4(void)
{
	static const char *const sp[] = { "0.0.0.0", "255.255.255.255", "224.0.0.1",
					  "239.1.0.9", "8.8.8.8" };

	if (rndn(5) == 0)
		return ip4(sp[rndn(5)]);
	return addr_in4(&g_pplan, rndn(8) ? (int)rndn(g_pplan.nb_map4) : -1);
}

static void cp_addr6(uint8_t *a)
{
	static const char *const sp[] = { "::", "ff02::1", "fe80::1", "ff0e::1:7",
					  "2001:db9::1" };

	if (rndn(5) == 0)
		ip6(a, sp[rndn(5)]);
	else
		addr_in6(&g_pplan, rndn(8) ? (int)rndn(g_pplan.nb_map6) : -1, a);
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

static void test_cp_random(struct st_rewrite_tables *t, int iterations)
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
static void test_cp_garbage(struct st_rewrite_tables *t, int count)
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

static void test_cp(int iterations)
{
	struct st_rewrite_tables *t;
	struct cpd d;

	g_pol = &g_policy;
	/* control-plane translation off: ARP not IP, payloads untouched */
	make_policy(0, 1, ST_UNMAPPED_RULE_MIRROR);
	t = compile_policy("cpoff");
	if (t != NULL) {
		cp_arp(&d);
		check_cp("arp, cp off", t, &d, 0);
		cp_dhcp(&d);
		check_cp("dhcp, cp off: payload untouched", t, &d, 0);
		cp_nd(&d, 136);
		check_cp("nd, cp off: payload untouched", t, &d, 0);
		st_rewrite_free(t);
	}
	/* one bit at a time */
	for (int bit = 0; bit < 3; bit++) {
		make_policy(1u << bit, 1, ST_UNMAPPED_RULE_MIRROR);
		t = compile_policy(bit == 0 ? "cpa" : bit == 1 ? "cpd" : "cpn");
		if (t == NULL)
			continue;
		cp_arp(&d);
		check_cp("arp, one cp bit", t, &d, 0);
		cp_dhcp(&d);
		check_cp("dhcp, one cp bit", t, &d, 0);
		cp_nd(&d, 135);
		check_cp("ns, one cp bit", t, &d, 0);
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

/* ---- EAL ------------------------------------------------------------------ */

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

	st_seed(argc > 1 ? argv[1] : NULL, 0x5eed5eed12345678ull);
	if (argc > 2)
		iterations = atoi(argv[2]);
	st_print_sanitizers();

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

	/* policy-era: at most one table set alive at a time (-m 256) */
	policy_plan(&g_pplan);
	test_policy_compile();
	test_policy_ip(iterations);
	test_truncated(iterations / 2);
	test_cp(iterations);

	rte_eal_cleanup();
	remove_runtime_dir(runtime_dir);
	printf("%u passed, %u failed\n", g_pass, g_fail);
	return g_fail == 0 ? 0 : 1;
}
