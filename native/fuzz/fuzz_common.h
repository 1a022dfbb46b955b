/* SPDX-License-Identifier: BSD-3-Clause
 * Shared by the libFuzzer targets in this directory (see README.md).
 *
 * Every input is ST_FUZZ_PARAMS bytes of parameters followed by a frame. The
 * parameters pick what the packet's own bytes cannot: how many of them are
 * in the first segment, what pkt_len and wire_len the mbuf and the wire
 * claim, the snaplen, the table set. All-zero parameters mean the ordinary
 * case (the whole frame in one segment, every length agreeing), which is
 * what the seed tool (src/tools/fuzz-seeds.ts) writes.
 *
 * The bytes a parser may read are copied into a heap buffer of exactly that
 * size, so AddressSanitizer reports the first byte read past them.
 */
#ifndef ST_FUZZ_COMMON_H
#define ST_FUZZ_COMMON_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define ST_FUZZ_PARAMS 8

struct st_fuzz_in {
	uint8_t p[ST_FUZZ_PARAMS];  /* zero when the input is shorter */
	const uint8_t *frame;
	uint32_t len;
};

static inline void
st_fuzz_split(const uint8_t *data, size_t size, struct st_fuzz_in *in)
{
	size_t n = size < ST_FUZZ_PARAMS ? size : ST_FUZZ_PARAMS;

	memset(in->p, 0, sizeof(in->p));
	memcpy(in->p, data, n);
	in->frame = data + n;
	in->len = (uint32_t)(size - n);
}

static inline uint16_t
st_fuzz_le16(const uint8_t *p)
{
	return (uint16_t)(p[0] | p[1] << 8);
}

/* A check that must hold whatever the input: abort, so libFuzzer keeps the
 * input as a crash. */
#define ST_FUZZ_ASSERT(cond, ...)                                         \
	do {                                                              \
		if (!(cond)) {                                            \
			fprintf(stderr, "fuzz invariant failed: %s: ", #cond); \
			fprintf(stderr, __VA_ARGS__);                     \
			fputc('\n', stderr);                              \
			abort();                                          \
		}                                                         \
	} while (0)

/* An exact-size heap copy of the first n bytes of the frame (ASan's
 * malloc(0) is a valid pointer with no readable byte). */
static inline uint8_t *
st_fuzz_copy(const uint8_t *frame, uint32_t n)
{
	uint8_t *b = malloc(n);

	if (b == NULL && n != 0)
		abort();
	memcpy(b, frame, n);
	return b;
}

#endif /* ST_FUZZ_COMMON_H */
