/* SPDX-License-Identifier: BSD-3-Clause
 * The rewrite's burst path (internal to stages/rewrite_*.c): the common
 * frame, several at a time. It does, byte for byte, what rw_fast4 and the
 * general path (rewrite_node.c) do to an untagged IPv4 TCP or UDP datagram
 * with a 20-byte header, not a fragment, with lengths that hold, whose
 * addresses are covered by a map (or kept by the unmapped rule "mirror"),
 * when the tables have no MAC maps and both shadow MACs are set; any other
 * frame is left untouched for the per-frame path.
 *
 * The body below is written once with GCC vector extensions over
 * ST_RW_LANES 32-bit lanes (one register: 4 with SSE or NEON, 8 with AVX2)
 * and compiled once per ISA: rewrite_fast_generic.c
 * (the build's baseline: SSE4.2 on x86-64 from DPDK's -march=corei7, NEON on
 * ARM, plain C elsewhere) and rewrite_fast_avx2.c (x86-64 only, -mavx2).
 * rewrite_ctl.c picks one at run time from the CPU's flags, the way DPDK's
 * libraries pick theirs (rte_cpu_get_flag_enabled, limited by EAL's
 * --force-max-simd-bitwidth). No intrinsics: the ARM build compiles the same
 * text. Per lane: fields read with scalar loads (frames are in different
 * mbufs), checks, map lookups (mask compares for up to ST_RW_FAST_MAPS maps,
 * longest first; rte_lpm beyond), the combined address delta folded once and
 * applied to the IPv4 header and L4 checksums (RFC 1624), then written back.
 * rewrite_simd_test.c holds every variant to the per-frame path.
 */
#ifndef ST_REWRITE_FAST_H
#define ST_REWRITE_FAST_H

#include <stdint.h>
#include <string.h>

#include <netinet/in.h>

#include <rte_byteorder.h>
#include <rte_ether.h>
#include <rte_lpm.h>
#include <rte_prefetch.h>

#include "rewrite.h"
#include "rewrite_payload.h"

/* One burst variant: frames f[0..n) (n <= 64), seg/pkt/wire as for
 * st_rewrite_frame_ex. Returns the frames it rewrote (bit i = f[i]); *xl gets
 * those among them whose addresses changed. Frames it did not rewrite are
 * untouched. */
typedef uint64_t (*st_rw_burst_fn)(const struct st_rewrite_tables *t, uint8_t *const *f,
				   const uint32_t *seg, const uint32_t *pkt,
				   const uint32_t *wire, unsigned int n, uint64_t *xl);

uint64_t st_rw_burst_generic(const struct st_rewrite_tables *t, uint8_t *const *f,
			     const uint32_t *seg, const uint32_t *pkt, const uint32_t *wire,
			     unsigned int n, uint64_t *xl);
#if defined(RTE_ARCH_X86_64)
uint64_t st_rw_burst_avx2(const struct st_rewrite_tables *t, uint8_t *const *f,
			  const uint32_t *seg, const uint32_t *pkt, const uint32_t *wire,
			  unsigned int n, uint64_t *xl);
#endif

/* The variant this CPU runs (rewrite_ctl.c), and its name for logs/tests. */
st_rw_burst_fn st_rw_burst_pick(const char **name);

#ifdef ST_RW_FAST_BODY

/* The helpers below pass vectors by value; all are static and inlined, so
 * GCC's note that a 32-byte vector's calling convention depends on -mavx
 * concerns no call that exists. */
#pragma GCC diagnostic ignored "-Wpsabi"

/* One register's worth of 32-bit lanes: wider vectors than the ISA has are
 * lowered lane by lane, far slower than scalar code. */
#if defined(__AVX2__)
#define ST_RW_LANES 8
#else
#define ST_RW_LANES 4
#endif
typedef uint32_t rwv __attribute__((vector_size(ST_RW_LANES * 4)));
typedef int32_t rwm __attribute__((vector_size(ST_RW_LANES * 4)));

/* A lane that must not be looked at reads this instead of a frame. */
static const uint8_t rw_zero_frame[64] __attribute__((aligned(64)));

static inline rwv rwv_set1(uint32_t x)
{
	return (rwv){ 0 } + x;
}

static inline rwv rwv_fold(rwv s)
{
	s = (s & 0xffff) + (s >> 16);
	return (s & 0xffff) + (s >> 16);
}

/* rw_cs_apply's arithmetic on host-order 16-bit checksums. */
static inline rwv rwv_cs_apply(rwv hc, rwv fd)
{
	return ~rwv_fold((~hc & 0xffff) + fd) & 0xffff;
}

/* The translation of one address vector (in the frame's byte order: masks
 * and prefixes are swapped to it once per burst): *cov gets the covered
 * lanes. */
struct rw_fm {
	uint32_t mask[ST_RW_FAST_MAPS], from[ST_RW_FAST_MAPS], to[ST_RW_FAST_MAPS];
	unsigned int n;
};

static inline rwv rwv_xlat(const struct rw_fm *fm, rwv a, rwm *cov)
{
	rwm found = (rwm){ 0 };
	rwv out = a;

	for (unsigned int k = 0; k < fm->n; k++) {
		const rwv mk = rwv_set1(fm->mask[k]);
		rwm hit = ((a & mk) == rwv_set1(fm->from[k])) & ~found;

		out = ((rwv)hit & (rwv_set1(fm->to[k]) | (a & ~mk))) | (~(rwv)hit & out);
		found |= hit;
	}
	*cov = found;
	return out;
}

/* 16 bytes at off of each lane's frame, transposed: out[k] holds the
 * 32-bit word at off + 4k of every lane, as loaded (little-endian). */
typedef uint32_t rw4 __attribute__((vector_size(16)));

static __rte_always_inline void
rw_rows(const uint8_t *const *fr, unsigned int off, rwv out[4])
{
	rw4 r[ST_RW_LANES];

	for (unsigned int l = 0; l < ST_RW_LANES; l++)
		memcpy(&r[l], fr[l] + off, 16);
#if ST_RW_LANES == 4
	{
		const rw4 t0 = __builtin_shufflevector(r[0], r[1], 0, 4, 1, 5);
		const rw4 t1 = __builtin_shufflevector(r[0], r[1], 2, 6, 3, 7);
		const rw4 t2 = __builtin_shufflevector(r[2], r[3], 0, 4, 1, 5);
		const rw4 t3 = __builtin_shufflevector(r[2], r[3], 2, 6, 3, 7);

		out[0] = __builtin_shufflevector(t0, t2, 0, 1, 4, 5);
		out[1] = __builtin_shufflevector(t0, t2, 2, 3, 6, 7);
		out[2] = __builtin_shufflevector(t1, t3, 0, 1, 4, 5);
		out[3] = __builtin_shufflevector(t1, t3, 2, 3, 6, 7);
	}
#else
	{
		/* lanes j and j+4 in one register, then the in-lane 4x4
		 * transpose (unpack 32, unpack 64) */
		rwv a[4], t0, t1, t2, t3;

		for (unsigned int j = 0; j < 4; j++)
			a[j] = __builtin_shufflevector(r[j], r[j + 4], 0, 1, 2, 3, 4, 5, 6, 7);
		t0 = __builtin_shufflevector(a[0], a[1], 0, 8, 1, 9, 4, 12, 5, 13);
		t1 = __builtin_shufflevector(a[0], a[1], 2, 10, 3, 11, 6, 14, 7, 15);
		t2 = __builtin_shufflevector(a[2], a[3], 0, 8, 1, 9, 4, 12, 5, 13);
		t3 = __builtin_shufflevector(a[2], a[3], 2, 10, 3, 11, 6, 14, 7, 15);
		out[0] = __builtin_shufflevector(t0, t2, 0, 1, 8, 9, 4, 5, 12, 13);
		out[1] = __builtin_shufflevector(t0, t2, 2, 3, 10, 11, 6, 7, 14, 15);
		out[2] = __builtin_shufflevector(t1, t3, 0, 1, 8, 9, 4, 5, 12, 13);
		out[3] = __builtin_shufflevector(t1, t3, 2, 3, 10, 11, 6, 7, 14, 15);
	}
#endif
}

/* One bit per lane of a mask (lane 0 = bit 0): the sign bits in one
 * instruction where the ISA has it, else lane by lane. */
static inline uint64_t rwm_bits(rwm m)
{
#if defined(__AVX2__)
	typedef float rwf __attribute__((vector_size(32)));

	return (uint64_t)(unsigned int)__builtin_ia32_movmskps256((rwf)m);
#elif defined(__SSE2__) && ST_RW_LANES == 4
	typedef float rwf __attribute__((vector_size(16)));

	return (uint64_t)(unsigned int)__builtin_ia32_movmskps((rwf)m);
#else
	uint64_t b = 0;

	for (unsigned int l = 0; l < ST_RW_LANES; l++)
		b |= (uint64_t)(m[l] != 0) << l;
	return b;
#endif
}

/* A big-endian 16-bit field loaded little-endian, as a number. */
static inline rwv rwv_num16(rwv w)
{
	return ((w & 0xff) << 8) | ((w >> 8) & 0xff);
}

/* ST_RW_LANES frames from f[base..base+cnt): the rewrite, or nothing.
 * Fields stay in the frame's byte order (loaded little-endian): mask
 * compares work bytewise, and one's complement sums are byte-order
 * independent (RFC 1071, 2.B), so the deltas and checksums are computed
 * on the swapped 16-bit words and stored back as they are. */
static __rte_always_inline uint64_t
rw_group(const struct st_rewrite_tables *t, const struct rw_fm *fm, uint8_t *const *f,
	 const uint32_t *seg, const uint32_t *pkt, const uint32_t *wire, unsigned int base,
	 unsigned int cnt, uint64_t *xl)
{
	const uint8_t *fr[ST_RW_LANES];
	rwv A[4], B[4], C[4], wv, ns, nd;
	rwm ok, veto = (rwm){ 0 };
	uint64_t done = 0, tr = 0, mac0;
	uint32_t mac1;
	unsigned int l;

	if (likely(cnt == ST_RW_LANES)) {
		rwv pv;

		memcpy(&wv, wire + base, sizeof(wv));
		memcpy(&pv, pkt + base, sizeof(pv));
		wv = ((rwv)(wv > pv) & wv) | ((rwv)(wv <= pv) & pv);
	} else {
		for (l = 0; l < ST_RW_LANES; l++)
			wv[l] = l < cnt ? (wire[base + l] > pkt[base + l] ? wire[base + l] : pkt[base + l]) : 0;
	}
	for (l = 0; l < ST_RW_LANES; l++) {
		const unsigned int i = base + l;

		/* headers up to the TCP checksum in the first segment */
		fr[l] = l < cnt && seg[i] >= RTE_ETHER_HDR_LEN + 20 + 20 &&
			pkt[i] >= RTE_ETHER_HDR_LEN + 20 + 20 ? f[i] : rw_zero_frame;
	}
	rw_rows(fr, 12, A);   /* ethertype..TOS, total length, flags..protocol, checksum */
	rw_rows(fr, 26, B);   /* source, destination, ports, UDP length and checksum */
	rw_rows(fr, 38, C);   /* .., .., TCP data offset, TCP checksum */
	/* What the per-frame path leaves to the general path: payloads with
	 * translators (rw_pl_port), DHCP, and with control-plane awareness
	 * group or all-zero MACs. Ports as loaded: swapped constants. */
	if (t->payloads || (t->control_plane & ST_CP_DHCP)) {
		const rwv sp = B[2] & 0xffff, dp = B[2] >> 16;

		if (t->payloads) {
			static const uint16_t pl[] = { RW_PL_PORTS };

			for (unsigned int k = 0; k < sizeof(pl) / sizeof(pl[0]); k++) {
				const rwv c = rwv_set1(rte_cpu_to_be_16(pl[k]));

				veto |= (sp == c) | (dp == c);
			}
		}
		if (t->control_plane & ST_CP_DHCP) {
			const rwv c67 = rwv_set1(rte_cpu_to_be_16(67)), c68 = rwv_set1(rte_cpu_to_be_16(68));

			veto |= ((A[2] >> 24) == IPPROTO_UDP) & ((sp == c67) | (sp == c68)) &
				((dp == c67) | (dp == c68));
		}
	}
	if (t->cp_aware) {
		rwv M[4];

		rw_rows(fr, 0, M);   /* destination MAC, then source MAC */
		veto |= ((M[0] & 1) != 0) | ((M[1] & 0x10000) != 0) |
			((M[0] == 0) & ((M[1] & 0xffff) == 0)) | (((M[1] >> 16) == 0) & (M[2] == 0));
	}

	{
		const rwv s = B[0], d = B[1];
		const rwv proto = A[2] >> 24;
		const rwm tcp = proto == 6, udp = proto == 17;
		const rwv need = ((rwv)tcp & 12) + 8;
		const rwv tl = rwv_num16(A[1]);
		const rwv dg = tl - 20;   /* the datagram after the IP header */
		const rwv ulen = rwv_num16(B[3]), doff = (C[2] & 0xff) >> 4;
		rwv ic = A[3] & 0xffff, l4t;
		rwm cvs, cvd;

		ok = ((A[0] & 0xffffff) == 0x450008) & ((A[2] & 0xff3f) == 0) & (tcp | udp) & ~veto;
		ok &= (tl >= 20 + need) & (tl <= wv - RTE_ETHER_HDR_LEN) & (wv >= RTE_ETHER_HDR_LEN);
		ok &= ~udp | ((ulen >= 8) & (ulen <= dg));
		ok &= ~tcp | ((doff >= 5) & (doff * 4 <= dg));
		if (t->cp_aware)
			ok &= (s != 0) & (s != ~(rwv){ 0 }) & (d != 0) & (d != ~(rwv){ 0 });
		if (t->fm_lpm) {
			ns = s;
			nd = d;
			cvs = cvd = (rwm){ 0 };
			for (l = 0; l < ST_RW_LANES; l++) {
				const uint32_t hs = rte_be_to_cpu_32(s[l]), hd = rte_be_to_cpu_32(d[l]);
				uint32_t nh;

				if (ok[l] == 0)
					continue;
				if (rte_lpm_lookup(t->lpm4, hs, &nh) == 0 && nh < t->nb_map4) {
					ns[l] = rte_cpu_to_be_32(t->map4[nh].to | (hs & ~t->map4_mask[nh]));
					cvs[l] = -1;
				}
				if (rte_lpm_lookup(t->lpm4, hd, &nh) == 0 && nh < t->nb_map4) {
					nd[l] = rte_cpu_to_be_32(t->map4[nh].to | (hd & ~t->map4_mask[nh]));
					cvd[l] = -1;
				}
			}
		} else {
			ns = rwv_xlat(fm, s, &cvs);
			nd = rwv_xlat(fm, d, &cvd);
		}
		if (t->unmapped != ST_UNMAPPED_RULE_MIRROR)
			ok &= cvs & cvd;

		/* The combined delta of both addresses, folded once. Only a
		 * changed address counts: an unchanged one would add a
		 * negative zero (0xffff), which turns a checksum of 0xffff
		 * into 0 (rw_fast4 adds nothing for it). */
		{
			const rwm cs = ns != s, cd = nd != d;
			const rwv ds = ((~s >> 16) + (ns >> 16) + (~s & 0xffff) + (ns & 0xffff)) & (rwv)cs;
			const rwv dd = ((~d >> 16) + (nd >> 16) + (~d & 0xffff) + (nd & 0xffff)) & (rwv)cd;
			const rwv fd = rwv_fold(ds + dd);
			const rwm ch = fd != 0;
			const rwv l4c = ((rwv)tcp & (C[3] & 0xffff)) | ((rwv)udp & (B[3] >> 16));
			rwv r = rwv_cs_apply(l4c, fd);
			rwm fix;

			ic = ((rwv)ch & rwv_cs_apply(ic, fd)) | (~(rwv)ch & ic);
			/* UDP: 0 is "no checksum" and stays; a result of 0 is sent as 0xffff */
			fix = ch & ~(udp & (l4c == 0));
			r |= (rwv)(udp & (r == 0)) & 0xffff;
			l4t = ((rwv)fix & r) | (~(rwv)fix & l4c);
			done = rwm_bits(ok);
			tr = rwm_bits(ok & ch);
		}
		/* the MACs in registers: a store to a frame could alias the
		 * tables as far as the compiler knows */
		memcpy(&mac0, t->mac_pair, 8);
		memcpy(&mac1, t->mac_pair + 8, 4);
		for (l = 0; l < ST_RW_LANES; l++) {
			uint8_t *p;
			uint32_t w;
			uint16_t h;

			if (!(done >> l & 1))
				continue;
			p = f[base + l];
			memcpy(p, &mac0, 8);
			memcpy(p + 8, &mac1, 4);
			w = ns[l];
			memcpy(p + 26, &w, 4);
			w = nd[l];
			memcpy(p + 30, &w, 4);
			h = (uint16_t)ic[l];
			memcpy(p + 24, &h, 2);
			h = (uint16_t)l4t[l];
			memcpy(p + (tcp[l] ? 50 : 40), &h, 2);
		}
	}
	*xl |= tr << base;
	return done << base;
}

static __rte_always_inline uint64_t
rw_burst_body(const struct st_rewrite_tables *t, uint8_t *const *f, const uint32_t *seg,
	      const uint32_t *pkt, const uint32_t *wire, unsigned int n, uint64_t *xl)
{
	uint64_t done = 0;
	unsigned int b;
	struct rw_fm fm;

	*xl = 0;
	/* the fields are handled as loaded little-endian (rw_group) */
	if (RTE_BYTE_ORDER != RTE_LITTLE_ENDIAN || !t->burst_ok || n == 0)
		return 0;
	if (n > 64)
		n = 64;
	fm.n = t->nb_fm;
	for (unsigned int k = 0; k < fm.n && k < ST_RW_FAST_MAPS; k++) {
		fm.mask[k] = rte_cpu_to_be_32(t->fm_mask[k]);
		fm.from[k] = rte_cpu_to_be_32(t->fm_from[k]);
		fm.to[k] = rte_cpu_to_be_32(t->fm_to[k]);
	}
	for (b = 0; b < n; b += ST_RW_LANES) {
		const unsigned int cnt = n - b < ST_RW_LANES ? n - b : ST_RW_LANES;

		/* the next group's headers, while this one is worked on */
		for (unsigned int l = b + ST_RW_LANES; l < n && l < b + 2 * ST_RW_LANES; l++)
			rte_prefetch0(f[l]);
		done |= rw_group(t, &fm, f, seg, pkt, wire, b, cnt, xl);
	}
	return done;
}

#endif /* ST_RW_FAST_BODY */
#endif /* ST_REWRITE_FAST_H */
