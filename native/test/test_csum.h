/* SPDX-License-Identifier: BSD-3-Clause
 * The native tests' reference checksum and the byte accessors it needs:
 * the Internet checksum (RFC 1071) summed in full over plain bytes, and
 * big-endian stores and loads. The data plane updates checksums
 * incrementally with DPDK's helpers; the tests recompute them from scratch
 * here, with none of that code, so a checksum the data plane gets wrong
 * cannot agree with its own reference.
 *
 * Header-only (static inline): each test program takes its own copy, and a
 * test of several files (st_rewrite_test) shares it through its <name>_test.h.
 */
#ifndef ST_TEST_CSUM_H
#define ST_TEST_CSUM_H

#include <stdint.h>

static inline void put16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)(v >> 8);
	p[1] = (uint8_t)v;
}

static inline void put32(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)(v >> 24);
	p[1] = (uint8_t)(v >> 16);
	p[2] = (uint8_t)(v >> 8);
	p[3] = (uint8_t)v;
}

static inline uint16_t get16(const uint8_t *p)
{
	return (uint16_t)(p[0] << 8 | p[1]);
}

static inline uint32_t get32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 |
	       (uint32_t)p[2] << 8 | p[3];
}

/* s plus the 16-bit big-endian words of p[0..n), an odd last byte padded
 * with a zero. Left unfolded so that sums chain, a pseudo-header's into
 * its datagram's: sum_bytes(sum_bytes(0, ph, 12), l4, len) (a uint32_t
 * holds the sum of up to 128 KiB unfolded). */
static inline uint32_t sum_bytes(uint32_t s, const uint8_t *p, uint32_t n)
{
	for (uint32_t i = 0; i + 1 < n; i += 2)
		s += (uint32_t)p[i] << 8 | p[i + 1];
	if (n & 1)
		s += (uint32_t)p[n - 1] << 8;
	return s;
}

/* The checksum field's value for a sum: folded to 16 bits, complemented. */
static inline uint16_t fold_not(uint32_t s)
{
	while (s >> 16)
		s = (s & 0xffff) + (s >> 16);
	return (uint16_t)~s;
}

/* The checksum of p[0..n) after a partial sum s (0, or a pseudo-header's). */
static inline uint16_t csum(uint32_t s, const uint8_t *p, uint32_t n)
{
	return fold_not(sum_bytes(s, p, n));
}

#endif /* ST_TEST_CSUM_H */
