/* SPDX-License-Identifier: BSD-3-Clause
 * Fuzz target: the length of a truncated copy (st_copy_len_frame, policy_parse.h),
 * which policy_node.c computes for a session with a snaplen shorter than the
 * packet.
 *
 * Parameters (fuzz_common.h): p[0..1] snaplen (little endian; 0 becomes 1,
 * as the caller never asks for 0), p[2] bytes cut from the end of the frame
 * to make the first segment, p[3..4] bytes the chain holds beyond it (pkt_len
 * = segment + that), or with p[5] bit 0 pkt_len = p[3..4] whatever the
 * segment holds (a driver whose lengths disagree); p[6] << 16 is added to
 * pkt_len (big-TCP frames past 64 KiB).
 *
 * The result must be at least the snaplen and at most the packet's length
 * (when the snaplen is shorter than the packet, the only case the caller
 * asks about).
 */
#include "fuzz_common.h"

#include "policy_parse.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct st_fuzz_in in;
	uint32_t seg, len, snaplen, cl;
	uint8_t *f;

	st_fuzz_split(data, size, &in);
	snaplen = st_fuzz_le16(in.p);
	if (snaplen == 0)
		snaplen = 1;
	seg = in.len > in.p[2] ? in.len - in.p[2] : 0;
	len = (in.p[5] & 1) ? st_fuzz_le16(in.p + 3) : seg + st_fuzz_le16(in.p + 3);
	len += (uint32_t)in.p[6] << 16;
	f = st_fuzz_copy(in.frame, seg);

	cl = st_copy_len_frame(f, seg, snaplen, len);
	if (snaplen < len)
		ST_FUZZ_ASSERT(cl >= snaplen && cl <= len, "copy_len %u for snaplen %u len %u seg %u",
			       cl, snaplen, len, seg);
	free(f);
	return 0;
}
