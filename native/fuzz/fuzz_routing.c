/* SPDX-License-Identifier: BSD-3-Clause
 * Fuzz target: the routing payloads of the rewrite (rewrite_rt.h: BGP with
 * its per-flow state across segments, OSPFv2, OSPFv3, RA options), through
 * st_rewrite_frame_rt with one worker state kept for the whole input, so a
 * sequence of segments of one BGP flow is followed as the data plane would.
 *
 * Input: p[0] bit 0: a fresh state per frame instead of one per input; then
 * frames, each as a 2-byte little-endian length and its bytes (the last one
 * takes what is left). Maps: 10.0.0.0/16 -> 10.99.0.0/16, the host
 * 10.0.5.5 -> 10.200.0.5 (a map longer than a /16: split fields meet it),
 * 192.168.1.0/24 -> 172.16.1.0/24, fd00::/16 -> fd99::/16; router id
 * 10.0.2.1 -> 192.0.2.2; every control-plane bit.
 *
 * Beyond the sanitizers: the result is in range, a copy not sent is left as
 * it was, and a payload not translated is never sent (every leak action is
 * translate: fail-closed).
 * ST_FUZZ_VERBOSE=1 prints the outcome of each frame (a debugging aid).
 */
#include "fuzz_common.h"
#include "fuzz_eal.h"

#include <arpa/inet.h>

#include "rewrite.h"
#include "leak.h"

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static struct st_rewrite_tables *g_t;
static struct st_rt_state *g_rt;
static int g_verbose;

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	static struct st_policy_conf pol;
	struct st_error err;

	(void)argc;
	st_fuzz_eal_init((*argv)[0], "512");
	memset(&err, 0, sizeof(err));
	st_fuzz_maps(pol.map4, &pol.nb_map4, pol.map6, &pol.nb_map6);
	pol.router_ids[0].from = 0x0a000201;
	pol.router_ids[0].to = 0xc0000202;
	pol.nb_router_ids = 1;
	pol.control_plane = ST_CP_ALL;
	pol.unmapped = ST_UNMAPPED_RULE_MIRROR;
	g_t = st_rewrite_compile_policy(&pol, "fzrt", &err);
	if (g_t == NULL) {
		fprintf(stderr, "fuzz_routing: %s %s %s\n", err.code, err.field, err.message);
		exit(2);
	}
	g_rt = st_rt_state_new(-1);   /* SOCKET_ID_ANY */
	if (g_rt == NULL)
		exit(2);
	g_verbose = getenv("ST_FUZZ_VERBOSE") != NULL;
	return 0;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	size_t i = 1;
	unsigned int k = 0;

	if (size < 1)
		return 0;
	st_rt_state_reset(g_rt);
	while (i < size) {
		struct st_rewrite_result res;
		size_t len = size - i;
		uint8_t *f;

		if (len >= 2) {
			size_t want = (size_t)data[i] | (size_t)data[i + 1] << 8;

			i += 2;
			len = want < size - i ? want : size - i;
		} else {
			i += len;
			len = 0;
		}
		if (data[0] & 1)
			st_rt_state_reset(g_rt);
		f = st_fuzz_copy(data + i, len);
		memset(&res, 0x5a, sizeof(res));
		st_rewrite_frame_rt(g_t, g_rt, f, (uint32_t)len, (uint32_t)len, (uint32_t)len, &res);
		if (g_verbose)
			fprintf(stderr, "frame %u (%zu bytes): drop %d translated %u anomalies %#x leak %d/%u\n",
				k, len, res.drop, res.translated, res.anomalies, res.leak.kind, res.leak.reason);
		ST_FUZZ_ASSERT(res.drop >= -1 && res.drop < ST_DROP__COUNT, "drop %d", res.drop);
		ST_FUZZ_ASSERT(res.leak.kind < ST_LEAK__COUNT && res.leak.reason < ST_LEAK_R__COUNT,
			       "leak %d/%u", res.leak.kind, res.leak.reason);
		/* every kind translates: a payload not translated is never sent */
		ST_FUZZ_ASSERT(res.leak.kind < 0 || res.drop == ST_DROP_LEAK, "leak %d/%u but drop %d",
			       res.leak.kind, res.leak.reason, res.drop);
		ST_FUZZ_ASSERT(res.drop == -1 || memcmp(f, data + i, len) == 0,
			       "copy dropped (reason %d) but changed", res.drop);
		free(f);
		i += len;
		k++;
	}
	return 0;
}
