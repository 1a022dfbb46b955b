/* SPDX-License-Identifier: BSD-3-Clause
 * The rewrite's burst path (rewrite_fast.h) compiled with -mavx2 (the
 * build adds it to this file alone, on x86-64 only): its eight lanes are
 * one 256-bit register. Called only when the CPU has AVX2
 * (st_rw_burst_pick); everything this file includes is static inline, so no
 * AVX2 code reaches another object through the linker.
 */
#define ST_RW_FAST_BODY
#include "rewrite_fast.h"

#if defined(RTE_ARCH_X86_64)
#if !defined(__AVX2__)
#error "rewrite_fast_avx2.c must be compiled with -mavx2 (CMakeLists.txt)"
#endif

uint64_t
st_rw_burst_avx2(const struct st_rewrite_tables *t, uint8_t *const *f, const uint32_t *seg,
		 const uint32_t *pkt, const uint32_t *wire, unsigned int n, uint64_t *xl)
{
	return rw_burst_body(t, f, seg, pkt, wire, n, xl);
}
#endif
