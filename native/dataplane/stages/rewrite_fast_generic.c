/* SPDX-License-Identifier: BSD-3-Clause
 * The rewrite's burst path (rewrite_fast.h) compiled for the build's
 * baseline ISA: every CPU the build targets runs it.
 */
#define ST_RW_FAST_BODY
#include "rewrite_fast.h"

uint64_t
st_rw_burst_generic(const struct st_rewrite_tables *t, uint8_t *const *f, const uint32_t *seg,
		    const uint32_t *pkt, const uint32_t *wire, unsigned int n, uint64_t *xl)
{
	return rw_burst_body(t, f, seg, pkt, wire, n, xl);
}
