/* SPDX-License-Identifier: BSD-3-Clause
 * Checksums of the rewrite (internal to stages/rewrite_*.c), and reading and
 * writing frame fields. Section 5 of the rewrite's specification (the others:
 * rewrite_frame.h, rewrite_ip.h, rewrite_cp.h):
 *
 * 5. Checksums, incrementally (RFC 1624 eqn. 3: HC' = ~(~HC + ~m + m')), so
 *    a checksum that was wrong stays exactly as wrong, and the checksum of a
 *    truncated copy is the one of the whole translated packet (it is fixed
 *    whenever its field is in the copy; the data it covers need not be). A
 *    checksum field the snaplen cuts in half keeps its one byte as it was:
 *    without the other byte it cannot be adjusted. (For control-plane
 *    payloads cut by the snaplen, "the whole packet" is the one whose fields
 *    after the cut are untranslated: they are not in the copy.)
 *    IPv4 header; TCP; UDP only when its checksum is non-zero (0 = "none"
 *    over IPv4; over IPv6 a 0 is the RFC 6936 zero-checksum mode and is kept
 *    too), and a UDP result of 0 is written as 0xFFFF; ICMPv4 has no
 *    pseudo-header so echo & co. keep their checksum; ICMPv6 and OSPFv3 with
 *    the pseudo-header. Control-plane payload changes are folded into the
 *    same delta (fields at odd offsets of the datagram, e.g. DHCP options,
 *    with their bytes swapped, RFC 1071).
 *    ICMP errors (ICMPv4 types 3, 4, 5, 11, 12; ICMPv6 types 1-4) quote the
 *    invoking packet's IP header at icmp+8. When that whole IPv4 (20-byte) or
 *    IPv6 (40-byte) header is inside the segment and the outer IP payload and
 *    has the right version, its source and destination are translated with
 *    the same maps (covered ones only; an unmapped inner address never drops
 *    the copy), an inner IPv4 header checksum is fixed, and the outer ICMP
 *    checksum is adjusted for every changed byte. The quoted transport
 *    checksum (TCP, UDP; ICMPv6 too, behind a quoted IPv6 header without
 *    extension headers; not for a quoted later fragment), when the quote
 *    holds it, is adjusted for the quoted addresses' pseudo-header change,
 *    as the invoking packet's own would have been (Linux's NAT does the
 *    same; a UDP 0 stays 0), and the outer checksum follows. Ports stay.
 *
 */
#ifndef ST_REWRITE_CSUM_H
#define ST_REWRITE_CSUM_H

#include <stdint.h>

#include <rte_common.h>

/* Frames are byte streams with no alignment promise: read and write fields
 * byte by byte in network order. */
static inline uint16_t rw_rd16(const uint8_t *p)
{
	return (uint16_t)((unsigned int)p[0] << 8 | p[1]);
}

static inline void rw_wr16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)(v >> 8);
	p[1] = (uint8_t)v;
}

static inline uint32_t rw_rd32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 |
	       (uint32_t)p[2] << 8 | p[3];
}

static inline void rw_wr32(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)(v >> 24);
	p[1] = (uint8_t)(v >> 16);
	p[2] = (uint8_t)(v >> 8);
	p[3] = (uint8_t)v;
}

/* RFC 1624 terms ~m + m' for one 16-bit word. */
static inline uint32_t rw_cs_word(uint16_t old, uint16_t new_)
{
	return (uint32_t)(uint16_t)~old + new_;
}

static inline uint32_t rw_cs_addr4(uint32_t old, uint32_t new_)
{
	return rw_cs_word((uint16_t)(old >> 16), (uint16_t)(new_ >> 16)) +
	       rw_cs_word((uint16_t)old, (uint16_t)new_);
}

/* Delta for n (even) bytes at an even offset of the checksummed data. */
static inline uint32_t rw_cs_bytes(const uint8_t *old, const uint8_t *new_,
				   unsigned int n)
{
	uint32_t d = 0;

	for (unsigned int i = 0; i < n; i += 2)
		d += rw_cs_word(rw_rd16(old + i), rw_rd16(new_ + i));
	return d;
}

static inline uint32_t rw_cs_addr6(const uint8_t *old, const uint8_t *new_)
{
	return rw_cs_bytes(old, new_, 16);
}

static inline uint16_t rw_cs_fold(uint32_t s)
{
	s = (s & 0xffff) + (s >> 16);
	s = (s & 0xffff) + (s >> 16);
	return (uint16_t)s;
}

/* A field at an odd offset contributes its bytes to the other half of each
 * 16-bit word: in one's complement arithmetic that is the even-offset delta
 * rotated by 8 bits (RFC 1071, byte order independence). */
static inline uint32_t rw_cs_parity(uint32_t d, uint32_t rel_off)
{
	uint16_t w;

	if ((rel_off & 1) == 0)
		return d;
	w = rw_cs_fold(d);
	return (uint32_t)(uint16_t)(w << 8 | w >> 8);
}

/* HC' = ~(~HC + delta); returns the new checksum. Deltas are folded as
 * they grow (see rw_cs_acc), far from overflowing 32 bits. */
static __rte_always_inline uint16_t
rw_cs_apply(uint8_t *field, uint32_t delta)
{
	uint32_t s = (uint32_t)(uint16_t)~rw_rd16(field) + rw_cs_fold(delta);
	uint16_t hc = (uint16_t)~rw_cs_fold(s);

	rw_wr16(field, hc);
	return hc;
}

/* The transport checksum quoted at q[co] (avail bytes of q readable, inwire
 * bytes of the quote in the packet) after the quoted IP addresses changed
 * by dh (their RFC 1624 terms): adjusted the way the invoking packet's own
 * checksum would have been, so it is right for the translated packet
 * (Linux's NAT does the same). A UDP checksum of 0 (none) stays. Returns
 * the delta of the outer checksum. A field in the packet but not in the
 * copy (a snaplen) changes by exactly -dh whatever it holds, so the outer
 * checksum stays the whole translated packet's (a quoted UDP checksum of 0
 * there is taken for a checksum: it cannot be seen). */
static inline uint32_t rw_cs_quoted(uint8_t *q, uint32_t co, uint32_t avail,
				    uint32_t inwire, int udp, uint32_t dh)
{
	uint16_t old, hc;

	if (rw_cs_fold(dh) == 0 || co + 2 > inwire)
		return 0;
	if (co + 2 > avail)
		return (uint16_t)~rw_cs_fold(dh);
	old = (uint16_t)(q[co] << 8 | q[co + 1]);
	if (udp && old == 0)
		return 0;
	hc = rw_cs_apply(q + co, dh);
	if (udp && hc == 0) {
		q[co] = 0xff;
		q[co + 1] = 0xff;
		hc = 0xffff;
	}
	return rw_cs_word(old, hc);
}

/* Add d to a running delta, folded: a DHCP message may change hundreds of
 * words. */
static inline void rw_cs_acc(uint32_t *acc, uint32_t d)
{
	*acc = (uint32_t)rw_cs_fold(*acc) + rw_cs_fold(d);
}

#endif /* ST_REWRITE_CSUM_H */
