/* SPDX-License-Identifier: BSD-3-Clause
 * Fuzz target: the classification key (st_key_parse with its IPv6 extension
 * walk), signature evaluation (st_signature_hits) and the symmetric flow hash
 * (st_flow_hash), as policy_node.c runs them on a frame's first segment.
 *
 * Parameters (fuzz_common.h): p[0..5] two signatures (base, offset, length;
 * the value is the frame's own bytes there, so they can match), p[6] bytes
 * cut from the end of the frame to make the first segment.
 *
 * Beyond the sanitizers, the key must name only offsets inside the segment:
 * signatures and the hash read the frame at them.
 */
#include "fuzz_common.h"

#include "classify.h"
#include "policy_parse.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct st_fuzz_in in;
	struct st_pol_sig sigs[3];
	struct st_key k;
	uint32_t seg, hits, h;
	uint8_t *f;

	st_fuzz_split(data, size, &in);
	seg = in.len > in.p[6] ? in.len - in.p[6] : 0;
	f = st_fuzz_copy(in.frame, seg);

	st_key_parse(&k, f, seg);
	ST_FUZZ_ASSERT(k.l3_off == ST_KEY_NO_OFF || k.l3_off <= seg, "l3_off %u seg %u", k.l3_off, seg);
	ST_FUZZ_ASSERT(k.l4_off == ST_KEY_NO_OFF || k.l4_off <= seg, "l4_off %u seg %u", k.l4_off, seg);
	ST_FUZZ_ASSERT(k.pay_off == ST_KEY_NO_OFF || k.pay_off <= seg, "pay_off %u seg %u", k.pay_off, seg);
	ST_FUZZ_ASSERT(k.family != 6 || (k.l3_off != ST_KEY_NO_OFF && k.l3_off + 40u <= seg),
		       "IPv6 key with l3_off %u seg %u", k.l3_off, seg);
	ST_FUZZ_ASSERT(k.family == 0 || k.family == 4 || k.family == 6, "family %u", k.family);

	memset(sigs, 0, sizeof(sigs));
	for (int i = 0; i < 2; i++) {
		sigs[i].base = in.p[3 * i] & 3;
		sigs[i].offset = in.p[3 * i + 1];
		sigs[i].len = (uint8_t)(1 + in.p[3 * i + 2] % ST_SIG_MAX_LEN);
		memset(sigs[i].mask, 0xff, sizeof(sigs[i].mask));
		/* The value is read from the input (not the parsed frame), so a
		 * signature can match without the target reading anything. */
		for (int j = 0; j < sigs[i].len; j++)
			sigs[i].value[j] = in.len > 0 ? in.frame[(sigs[i].offset + (uint32_t)j) % in.len] : 0;
	}
	/* An offset at the top of its range: start + len must not wrap. */
	sigs[2].base = ST_SIG_PAYLOAD;
	sigs[2].offset = UINT16_MAX;
	sigs[2].len = ST_SIG_MAX_LEN;
	hits = st_signature_hits(sigs, 3, &k, f, seg);
	ST_FUZZ_ASSERT((hits & ~UINT32_C(7)) == 0, "hits %#x", hits);
	st_key_set_sig(&k, hits);

	h = st_flow_hash(&k, f, seg);
	/* The hash is a pure function of the frame. */
	ST_FUZZ_ASSERT(h == st_flow_hash(&k, f, seg), "flow hash not deterministic");

	free(f);
	return 0;
}
