/* SPDX-License-Identifier: BSD-3-Clause
 * Address, prefix and router-id translation shared by the routing payloads
 * (rewrite_rt.h, section 10), and the LSA Fletcher checksum.
 */
#include <string.h>

#include "rewrite_rt.h"

static inline void put32(uint8_t *p, uint32_t v)
{
	rw_wr32(p, v);
}

/* The router-id map (exact, sorted): 1 and *to when a is in it. */
static int rt_rid_find(const struct st_rewrite_tables *t, uint32_t a, uint32_t *to)
{
	uint32_t lo = 0, hi = t->nb_rid;

	while (lo < hi) {
		uint32_t mid = (lo + hi) / 2;

		if (t->rid_from[mid] == a) {
			*to = t->rid_to[mid];
			return 1;
		}
		if (t->rid_from[mid] < a)
			lo = mid + 1;
		else
			hi = mid;
	}
	return 0;
}

/* Map i of the family as bytes. */
static inline void rt_map(const struct st_rewrite_tables *t, int v6, unsigned int i,
			  uint8_t *from, uint8_t *to, unsigned int *len)
{
	if (v6) {
		memcpy(from, t->map6[i].from, 16);
		memcpy(to, t->map6[i].to, 16);
		*len = t->map6[i].len;
	} else {
		put32(from, t->map4[i].from);
		put32(to, t->map4[i].to);
		*len = t->map4[i].len;
	}
}

/* 1 when the first bits of a and b agree. */
static inline int rt_bits_eq(const uint8_t *a, const uint8_t *b, unsigned int bits)
{
	unsigned int full = bits / 8, rest = bits % 8;

	if (memcmp(a, b, full) != 0)
		return 0;
	return rest == 0 || ((a[full] ^ b[full]) & (uint8_t)(0xff00u >> rest)) == 0;
}

/* Is there a map of length > L inside P/L? */
static int rt_map_inside(const struct st_rewrite_tables *t, int v6, const uint8_t *p,
			 unsigned int L)
{
	const uint8_t *first = v6 ? t->map6_first : t->map4_first;
	unsigned int n = v6 ? t->nb_map6 : t->nb_map4;

	if (L >= 8 && (first[p[0] / 8] & (1u << (p[0] % 8))) == 0)
		return 0;
	for (unsigned int i = 0; i < n; i++) {
		uint8_t from[16], to[16];
		unsigned int len;

		rt_map(t, v6, i, from, to, &len);
		if (len > L && rt_bits_eq(from, p, L))
			return 1;
	}
	return 0;
}

/* Translate the address a (4 or 16 bytes); the longest map's length in
 * *mlen when covered (return 1). */
static int rt_lookup(const struct st_rewrite_tables *t, int v6, const uint8_t *a,
		     uint8_t *out, unsigned int *mlen)
{
	uint32_t nh;

	if (v6) {
		if (t->lpm6 == NULL || rte_lpm6_lookup(t->lpm6, a, &nh) != 0 || nh >= t->nb_map6) {
			memcpy(out, a, 16);
			return 0;
		}
		*mlen = t->map6[nh].len;
		return rw_xlat6(t, a, out);
	} else {
		uint32_t x = rw_rd32(a);

		if (t->lpm4 == NULL || rte_lpm_lookup(t->lpm4, x, &nh) != 0 || nh >= t->nb_map4) {
			memcpy(out, a, 4);
			return 0;
		}
		*mlen = t->map4[nh].len;
		put32(out, t->map4[nh].to | (x & ~t->map4_mask[nh]));
		return 1;
	}
}

int st_rt_xlat(const struct st_rewrite_tables *t, enum rt_field k, const uint8_t *in,
	       unsigned int n, unsigned int L, uint8_t *out)
{
	uint8_t a[16], b[16];
	unsigned int mlen = 0;
	int v6 = k == RT_ADDR6 || k == RT_PFX6;
	uint32_t x, to;

	switch (k) {
	case RT_RID:
	case RT_ADDR4:
		x = rw_rd32(in);
		/* a router id outside the router-id map is an address */
		if (k == RT_RID && rt_rid_find(t, x, &to)) {
			put32(out, to);
			return ST_RT_OK;
		}
		rw_addr4(t, x, &to, 1);
		put32(out, to);
		return ST_RT_OK;
	case RT_ADDR6:
		rw_addr6(t, in, out, 1);
		return ST_RT_OK;
	case RT_PFX4:
	case RT_PFX6:
		break;
	}
	memset(a, 0, sizeof(a));
	memcpy(a, in, n);
	memcpy(out, in, n);
	if (L == 0)
		return ST_RT_OK;
	/* bits past the prefix length are not part of it (RFC 4861 4.6.2:
	 * ignored by receivers): looked up as zero, written back as they were */
	for (unsigned int i = 0; i < 16; i++)
		a[i] &= i * 8 + 8 <= L ? 0xff : i * 8 >= L ? 0 : (uint8_t)(0xff00u >> (L - i * 8));
	if (rt_lookup(t, v6, a, b, &mlen)) {
		if (mlen > L)
			return ST_RT_PREFIX_SHORT;
		/* the map's bits, then the input's own (host bits included) */
		for (unsigned int i = 0; i < n; i++) {
			uint8_t mask = i * 8 + 8 <= mlen ? 0xff : i * 8 >= mlen ? 0 :
				       (uint8_t)(0xff00u >> (mlen - i * 8));

			out[i] = (uint8_t)((b[i] & mask) | (in[i] & ~mask));
		}
		return ST_RT_OK;
	}
	return rt_map_inside(t, v6, a, L) ? ST_RT_PREFIX_SHORT : ST_RT_OK;
}

int st_rt_partial(const struct st_rewrite_tables *t, enum rt_field k, const uint8_t *in,
		  unsigned int known, unsigned int n, unsigned int L, uint8_t *out)
{
	uint8_t best_to[16];
	int v6 = k == RT_ADDR6 || k == RT_PFX6, pfx = k == RT_PFX4 || k == RT_PFX6;
	unsigned int nmaps = v6 ? t->nb_map6 : t->nb_map4, best_len = 0, bits = known * 8;
	int best = 0;

	if (known == 0)
		return ST_RT_OK;
	(void)n;
	/* What the bytes known become when no longer map or router id takes
	 * the address: the longest map within them, else themselves. */
	for (unsigned int i = 0; i < nmaps; i++) {
		uint8_t from[16], to[16];
		unsigned int len;

		rt_map(t, v6, i, from, to, &len);
		if (len <= bits && rt_bits_eq(from, in, len) && (!best || len >= best_len)) {
			best = 1;
			best_len = len;
			memcpy(best_to, to, 16);
		}
	}
	memcpy(out, in, known);
	if (best) {
		for (unsigned int i = 0; i < known; i++) {
			unsigned int lo = i * 8;
			uint8_t mask = lo + 8 <= best_len ? 0xff :
				       lo >= best_len ? 0 : (uint8_t)(0xff00u >> (best_len - lo));

			out[i] = (uint8_t)((best_to[i] & mask) | (in[i] & ~mask));
		}
	}
	/* Every longer map or router id the completions may meet must give
	 * the same leading bytes; a prefix may not be shorter than one. */
	for (unsigned int i = 0; i < nmaps; i++) {
		uint8_t from[16], to[16];
		unsigned int len;

		rt_map(t, v6, i, from, to, &len);
		if (len <= bits || !rt_bits_eq(from, in, bits))
			continue;
		if ((pfx && len > L) || memcmp(to, out, known) != 0)
			return ST_RT_SPLIT;
	}
	if (k == RT_RID) {
		for (unsigned int i = 0; i < t->nb_rid; i++) {
			uint8_t f[4], to[4];

			put32(f, t->rid_from[i]);
			put32(to, t->rid_to[i]);
			if (memcmp(f, in, known) == 0 && memcmp(to, out, known) != 0)
				return ST_RT_SPLIT;
		}
	}
	/* 0.0.0.0 and 255.255.255.255 are kept whatever the maps say */
	if (!v6 && !pfx && t->cp_aware && best) {
		unsigned int z = 0, o = 0xff;

		for (unsigned int i = 0; i < known; i++) {
			z |= in[i];
			o &= in[i];
		}
		if ((z == 0 || o == 0xff) && memcmp(out, in, known) != 0)
			return ST_RT_SPLIT;
	}
	return ST_RT_OK;
}

uint16_t st_rt_fletcher(const uint8_t *lsa, uint32_t len)
{
	/* RFC 905 annex B over bytes 2..len, the checksum field (16, 17) as
	 * zero; X and Y make both running sums zero at the receiver. */
	uint32_t c0 = 0, c1 = 0;
	int32_t x, y;
	const uint32_t L = len - 2, p = 14;

	for (uint32_t i = 2; i < len; i++) {
		c0 += (i == 16 || i == 17) ? 0 : lsa[i];
		c1 += c0;
		if ((i & 0xfff) == 0) {
			c0 %= 255;
			c1 %= 255;
		}
	}
	c0 %= 255;
	c1 %= 255;
	x = (int32_t)(((L - p - 1) * c0 + 255 - c1) % 255);
	y = (int32_t)((c1 + 255u * 255u - ((L - p) % 255) * c0) % 255);
	if (x == 0)
		x = 255;
	if (y == 0)
		y = 255;
	return (uint16_t)(x << 8 | y);
}

int st_rt_fletcher_ok(const uint8_t *lsa, uint32_t len)
{
	uint32_t c0 = 0, c1 = 0;

	if (lsa[16] == 0 && lsa[17] == 0)
		return 0;
	for (uint32_t i = 2; i < len; i++) {
		c0 += lsa[i];
		c1 += c0;
		if ((i & 0xfff) == 0) {
			c0 %= 255;
			c1 %= 255;
		}
	}
	return c0 % 255 == 0 && c1 % 255 == 0;
}
