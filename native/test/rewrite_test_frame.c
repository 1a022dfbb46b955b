/* SPDX-License-Identifier: BSD-3-Clause
 * The reference side of rewrite_test: the reference translator (a linear
 * longest-prefix scan, independent of rte_lpm), its policy-era rules
 * (g_pol), and the IP frame builder (struct desc -> bytes). Its checksums
 * are computed in full by test_csum.h.
 * Part of st_rewrite_test (rewrite_test.h).
 */
#include "rewrite_test.h"

/* ---- randomness (reproducible: the seed is printed) -------------------- */


/* the builder's own stream, so that a description always builds the same */
uint32_t xs32(uint32_t *s)
{
	uint32_t x = *s;

	x ^= x << 13;
	x ^= x >> 17;
	x ^= x << 5;
	*s = x;
	return x;
}

/* ---- reference translation: linear longest-prefix scan ------------------ */

uint32_t mask4(unsigned int len)
{
	return (uint32_t)((0xffffffffull << (32 - len)) & 0xffffffffull);
}

int ref4(const struct st_start_plan *p, uint32_t a, uint32_t *out)
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

int bit6(const uint8_t *a, unsigned int i)
{
	return (a[i / 8] >> (7 - i % 8)) & 1;
}

int ref6(const struct st_start_plan *p, const uint8_t *a, uint8_t *out)
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
 * of the reference start plan must equal the policy's. With g_ex set, run() calls
 * st_rewrite_frame_ex() (wire == pkt) instead of st_rewrite_frame(). */

const struct st_policy_conf *g_pol;
int g_ex;

int cp_aware(void)
{
	return g_pol != NULL && g_pol->control_plane != 0;
}

/* 0 uncovered, 1 covered, 2 exempt (kept, never unmapped) */
int refx4(const struct st_start_plan *p, uint32_t a, uint32_t *out)
{
	*out = a;
	if (cp_aware() && (a == 0 || a == 0xffffffffu))
		return 2;
	if (ref4(p, a, out))
		return 1;
	return cp_aware() && (a >> 28) == 0xe ? 2 : 0;
}

int refx6(const struct st_start_plan *p, const uint8_t *a, uint8_t *out)
{
	static const uint8_t zero[16];

	memcpy(out, a, 16);
	if (cp_aware() && memcmp(a, zero, 16) == 0)
		return 2;
	if (ref6(p, a, out))
		return 1;
	return cp_aware() && (a[0] == 0xff || (a[0] == 0xfe && (a[1] & 0xc0) == 0x80)) ? 2 : 0;
}

int mac_zero(const uint8_t *m)
{
	return (m[0] | m[1] | m[2] | m[3] | m[4] | m[5]) == 0;
}

/* The expected replacement of a MAC (NULL: kept): a linear scan of the MAC
 * maps, else def unless zero; group and zero MACs with cp only by map. */
const uint8_t *ref_mac(const uint8_t *mac, const uint8_t *def)
{
	if (g_pol != NULL)
		for (int i = 0; i < g_pol->nb_mac_maps; i++)
			if (memcmp(g_pol->mac_maps[i].from, mac, 6) == 0)
				return g_pol->mac_maps[i].to;
	if (cp_aware() && ((mac[0] & 1) || mac_zero(mac)))
		return NULL;
	return def == NULL || mac_zero(def) ? NULL : def;
}


int l4_csum_off(const struct desc *d)
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

int icmp_is_error(const struct desc *d)
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

uint32_t build(const struct desc *d, uint8_t *f, struct layout *lo)
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

/* ---- description fixtures: shapes several checks start from --------------- */

void desc_tags(struct desc *d, int n)
{
	static const uint16_t tpids[3][3] = {
		{ 0x8100 }, { 0x88a8, 0x8100 }, { 0x88a8, 0x8100, 0x8100 },
	};

	d->nvlan = n;
	for (int k = 0; k < n; k++)
		d->tpid[k] = tpids[n - 1][k];
}

void desc_first_fragment(struct desc *d, int v6, uint8_t proto, uint32_t frag_bytes)
{
	base_desc(d, v6, proto);
	if (v6) {
		d->next = 1;
		d->ext[0].type = 44;
	}
	d->frag = FR_FIRST;
	d->paylen = 100;
	d->frag_bytes = frag_bytes;
}

void desc_icmp4_error(struct desc *d, uint8_t type)
{
	base_desc(d, 0, 1);
	d->icmp_type = type;
	d->inner = 1;
	d->in_src4 = ip4("192.168.1.77");
	d->in_dst4 = ip4("10.20.30.40");
}

void build_run(const struct st_rewrite_tables *t, const struct desc *d, uint8_t *in,
	       uint8_t *out, struct layout *lo, struct st_rewrite_result *res)
{
	build(d, in, lo);
	run(t, in, lo->len, lo->len, out, res);
}
