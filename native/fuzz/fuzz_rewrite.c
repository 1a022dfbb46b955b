/* SPDX-License-Identifier: BSD-3-Clause
 * Fuzz target: the header rewrite of a shadow copy (st_rewrite_frame_ex and
 * st_rewrite_frame, rewrite_node.c), including ARP, DHCPv4 and IPv6 ND
 * payload translation, over four table sets compiled the way the data plane
 * compiles them (st_rewrite_compile from a plan, st_rewrite_compile_policy
 * from a policy), with maps that cover the seed captures' addresses
 * (src/tools/gen-demo-capture.ts: 10.0.0.0/16, fd00::/16) and MACs.
 *
 * Parameters (fuzz_common.h):
 *   p[0]    table set (bits 0-1), bit 7: st_rewrite_frame (wire = pkt)
 *   p[1]    bytes cut from the end of the frame: the first segment
 *   p[2..3] bytes the chain holds beyond the segment: pkt_len = seg + this
 *   p[4..5] bytes the wire had beyond the copy (snaplen): wire = pkt + this
 *   p[6]    bit 0: pkt_len = p[2..3] as is; bit 1: wire_len = p[4..5] as is
 *           (lengths that disagree with the segment and with each other);
 *           bit 2: pkt_len += p[7] << 16; bit 3: wire_len += p[7] << 16
 *           (big-TCP frames: lengths past 64 KiB)
 *
 * Beyond the sanitizers (the segment is an exact-size heap buffer, so any
 * read or write past seg_len is reported): the result is in range, and a
 * copy the rewrite drops is left exactly as it was (rewrite_node.c's
 * promise).
 */
#include "fuzz_common.h"
#include "fuzz_eal.h"

#include <arpa/inet.h>

#include "rewrite.h"

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define NB_SETS 4
static struct st_rewrite_tables *g_sets[NB_SETS];

static void
mac(uint8_t *out, const char *s)
{
	unsigned int b[6];

	if (sscanf(s, "%x:%x:%x:%x:%x:%x", &b[0], &b[1], &b[2], &b[3], &b[4], &b[5]) != 6)
		abort();
	for (int i = 0; i < 6; i++)
		out[i] = (uint8_t)b[i];
}

static struct st_rewrite_tables *
check(struct st_rewrite_tables *t, const char *what, const struct st_error *err)
{
	if (t == NULL) {
		fprintf(stderr, "fuzz_rewrite: cannot compile %s: %s %s %s\n", what, err->code,
			err->field, err->message);
		exit(2);
	}
	return t;
}

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	static struct st_plan plan;
	static struct st_policy_conf pol;
	static struct st_mac_map macs[4];
	static const char *const mm[][2] = {
		{ "02:04:0a:00:01:0a", "02:aa:00:00:00:01" },
		{ "02:04:0a:00:01:01", "02:aa:00:00:00:02" },
		{ "02:06:00:00:00:05", "02:aa:00:00:00:03" },
		{ "33:33:00:00:00:01", "33:33:00:00:00:99" },  /* a group, mapped */
	};
	struct st_error err;

	(void)argc;
	/* Five 64 MiB lookup tables (rte_lpm, rte_lpm6 tbl24) and the rest. */
	st_fuzz_eal_init((*argv)[0], "768");
	memset(&err, 0, sizeof(err));

	/* 0: from a plan, both families, shadow MACs: the short IPv4 path. */
	st_fuzz_maps(plan.map4, &plan.nb_map4, plan.map6, &plan.nb_map6);
	mac(plan.shadow_src_mac, "02:53:00:00:00:01");
	mac(plan.shadow_dst_mac, "02:53:00:00:00:02");
	plan.unmapped = ST_UNMAPPED_DROP;
	g_sets[0] = check(st_rewrite_compile(&plan, "fz0", &err), "plan", &err);

	/* 1: policy, every control-plane payload, MAC maps, unmapped COUNT. */
	st_fuzz_maps(pol.map4, &pol.nb_map4, pol.map6, &pol.nb_map6);
	for (size_t i = 0; i < sizeof(mm) / sizeof(mm[0]); i++) {
		mac(macs[i].from, mm[i][0]);
		mac(macs[i].to, mm[i][1]);
	}
	pol.mac_maps = macs;
	pol.nb_mac_maps = (uint16_t)(sizeof(mm) / sizeof(mm[0]));
	mac(pol.default_src_mac, "02:53:00:00:00:11");
	mac(pol.default_dst_mac, "02:53:00:00:00:12");
	pol.control_plane = ST_CP_ARP | ST_CP_DHCP | ST_CP_ND;
	pol.unmapped = ST_UNMAPPED_RULE_COUNT;
	g_sets[1] = check(st_rewrite_compile_policy(&pol, "fz1", &err), "policy 1", &err);

	/* 2: policy, control-plane payloads, no MAC maps, IPv4 only, unmapped
	 * MIRROR: the short IPv4 path with its control-plane checks. */
	pol.nb_mac_maps = 0;
	pol.mac_maps = NULL;
	pol.nb_map6 = 0;
	pol.unmapped = ST_UNMAPPED_RULE_MIRROR;
	g_sets[2] = check(st_rewrite_compile_policy(&pol, "fz2", &err), "policy 2", &err);

	/* 3: policy, no control-plane bits, MAC maps, no default MACs, IPv6
	 * only, unmapped DROP. */
	pol.mac_maps = macs;
	pol.nb_mac_maps = (uint16_t)(sizeof(mm) / sizeof(mm[0]));
	pol.nb_map4 = 0;
	st_fuzz_maps(pol.map4, &pol.nb_map4, pol.map6, &pol.nb_map6);
	pol.nb_map4 = 0;   /* IPv6 only */
	memset(pol.default_src_mac, 0, 6);
	memset(pol.default_dst_mac, 0, 6);
	pol.control_plane = 0;
	pol.unmapped = ST_UNMAPPED_RULE_DROP;
	g_sets[3] = check(st_rewrite_compile_policy(&pol, "fz3", &err), "policy 3", &err);
	return 0;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct st_fuzz_in in;
	struct st_rewrite_result res;
	const struct st_rewrite_tables *t;
	uint32_t seg, pkt, wire;
	uint8_t *f;

	st_fuzz_split(data, size, &in);
	t = g_sets[in.p[0] % NB_SETS];
	seg = in.len > in.p[1] ? in.len - in.p[1] : 0;
	pkt = (in.p[6] & 1) ? st_fuzz_le16(in.p + 2) : seg + st_fuzz_le16(in.p + 2);
	if (in.p[6] & 4)
		pkt += (uint32_t)in.p[7] << 16;
	wire = (in.p[6] & 2) ? st_fuzz_le16(in.p + 4) : pkt + st_fuzz_le16(in.p + 4);
	if (in.p[6] & 8)
		wire += (uint32_t)in.p[7] << 16;
	f = st_fuzz_copy(in.frame, seg);

	memset(&res, 0x5a, sizeof(res));
	if (in.p[0] & 0x80)
		st_rewrite_frame(t, f, seg, pkt, &res);
	else
		st_rewrite_frame_ex(t, f, seg, pkt, wire, &res);

	ST_FUZZ_ASSERT(res.drop >= -1 && res.drop < ST_DROP__COUNT, "drop %d", res.drop);
	ST_FUZZ_ASSERT(res.translated <= 1, "translated %u", res.translated);
	ST_FUZZ_ASSERT(res.anomalies >> ST_ANOM__COUNT == 0, "anomalies %#x", res.anomalies);
	ST_FUZZ_ASSERT(!res.unmapped_seen || res.drop == ST_DROP_UNMAPPED,
		       "unmapped_seen with drop %d", res.drop);
	ST_FUZZ_ASSERT(res.drop == -1 || memcmp(f, in.frame, seg) == 0,
		       "copy dropped (reason %d) but changed (seg %u pkt %u wire %u)", res.drop, seg,
		       pkt, wire);
	free(f);
	return 0;
}
