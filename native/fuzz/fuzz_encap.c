/* SPDX-License-Identifier: BSD-3-Clause
 * Fuzz target: shadow-target encapsulation (st_encap_apply, encap_node.c)
 * of a copy that may be a chain of segments, with templates built by
 * st_encap_build for VLAN, VXLAN and GENEVE over IPv4 and IPv6.
 *
 * The mbufs are made by hand, not taken from a mempool: every segment's
 * buffer is its own heap allocation of exactly headroom + data bytes, so
 * AddressSanitizer reports any access outside it (a mempool's buffers sit
 * side by side in one mapping, where an overrun reads a neighbour).
 *
 * Parameters (fuzz_common.h):
 *   p[0]    template: none, VLAN, VXLAN/IPv4, GENEVE/IPv4, VXLAN/IPv6,
 *           GENEVE/IPv6 (mod 6)
 *   p[1]    headroom of the first segment
 *   p[2]    segments - 1 (mod 4)
 *   p[3]    bytes in the first segment when there are several (clamped)
 *   p[4]    bit 0: pkt_len = p[5..6] whatever the segments hold; bits 1-7:
 *           added to pkt_len << 16 (big-TCP lengths past 64 KiB)
 *   p[5..6] see p[4]
 *   p[7]    flow hash seed
 *
 * Beyond the sanitizers: a refused copy (-1) is left exactly as it was; an
 * accepted one grew by the template's length at the front, and its outer
 * UDP length is the whole inner frame's (no length wrapped at 16 bits).
 */
#include "fuzz_common.h"

#include <arpa/inet.h>

#include <rte_mbuf.h>

#include "encap.h"

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define NB_TMPL 6
#define MAX_SEGS 4
static struct st_encap_tmpl g_tmpl[NB_TMPL];

static void
target(struct st_target_conf *t, uint8_t kind, int v6)
{
	static const uint8_t sm[6] = { 0x02, 0x53, 0x48, 0x00, 0x00, 0x01 };
	static const uint8_t dm[6] = { 0x02, 0x53, 0x48, 0x00, 0x00, 0x02 };

	memset(t, 0, sizeof(*t));
	t->nb_ports = 1;
	t->encap = kind;
	t->vlan_id = 100;
	t->vlan_pcp = 3;
	t->vni = 5000;
	t->outer_ttl = 64;
	memcpy(t->outer_src_mac, sm, 6);
	memcpy(t->outer_dst_mac, dm, 6);
	t->outer_ipv6 = (uint8_t)v6;
	if (inet_pton(v6 ? AF_INET6 : AF_INET, v6 ? "fd00:5348::1" : "192.0.2.1", t->outer_src) != 1 ||
	    inet_pton(v6 ? AF_INET6 : AF_INET, v6 ? "fd00:5348::2" : "192.0.2.2", t->outer_dst) != 1)
		abort();
}

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	static const struct { uint8_t kind; int v6; } k[NB_TMPL] = {
		{ ST_ENCAP_NONE, 0 }, { ST_ENCAP_VLAN, 0 }, { ST_ENCAP_VXLAN, 0 },
		{ ST_ENCAP_GENEVE, 0 }, { ST_ENCAP_VXLAN, 1 }, { ST_ENCAP_GENEVE, 1 },
	};
	struct st_target_conf t;
	struct st_error err;

	(void)argc;
	(void)argv;
	for (int i = 0; i < NB_TMPL; i++) {
		target(&t, k[i].kind, k[i].v6);
		memset(&err, 0, sizeof(err));
		if (st_encap_build(&t, (uint16_t)i, &g_tmpl[i], &err) != 0) {
			fprintf(stderr, "fuzz_encap: template %d: %s %s\n", i, err.field, err.message);
			exit(2);
		}
	}
	return 0;
}

struct seg {
	struct rte_mbuf *m;
	uint8_t *buf;
};

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct st_fuzz_in in;
	struct seg s[MAX_SEGS];
	struct rte_mbuf before[MAX_SEGS];
	uint8_t *copy;
	uint32_t nsegs, headroom, pos = 0, total = 0, hash;
	const struct st_encap_tmpl *tm;
	int rc;

	st_fuzz_split(data, size, &in);
	tm = &g_tmpl[in.p[0] % NB_TMPL];
	headroom = in.p[1];
	nsegs = 1u + in.p[2] % MAX_SEGS;
	if (nsegs > in.len)
		nsegs = in.len > 0 ? in.len : 1;
	hash = in.p[7] * 2654435761u;

	for (uint32_t i = 0; i < nsegs; i++) {
		uint32_t n, room = i == 0 ? headroom : 0;

		if (i + 1 == nsegs)
			n = in.len - pos;
		else if (i == 0)
			n = RTE_MIN((uint32_t)in.p[3], in.len - pos - (nsegs - 1));
		else
			n = (in.len - pos) / (nsegs - i);
		s[i].m = aligned_alloc(RTE_CACHE_LINE_SIZE, RTE_ALIGN_CEIL(sizeof(struct rte_mbuf),
									 RTE_CACHE_LINE_SIZE));
		s[i].buf = malloc(room + n);
		if (s[i].m == NULL || (s[i].buf == NULL && room + n != 0))
			abort();
		memset(s[i].m, 0, sizeof(struct rte_mbuf));
		memcpy(s[i].buf + room, in.frame + pos, n);
		s[i].m->buf_addr = s[i].buf;
		s[i].m->buf_len = (uint16_t)(room + n);
		s[i].m->data_off = (uint16_t)room;
		s[i].m->data_len = (uint16_t)n;
		s[i].m->nb_segs = 1;
		rte_mbuf_refcnt_set(s[i].m, 1);
		if (i > 0)
			s[i - 1].m->next = s[i].m;
		pos += n;
		total += n;
	}
	s[0].m->nb_segs = (uint16_t)nsegs;
	s[0].m->pkt_len = ((in.p[4] & 1) ? st_fuzz_le16(in.p + 5) : total) + ((uint32_t)(in.p[4] >> 1) << 16);
	for (uint32_t i = 0; i < nsegs; i++)
		before[i] = *s[i].m;
	copy = st_fuzz_copy(s[0].buf, headroom + s[0].m->data_len);

	rc = st_encap_apply(tm, s[0].m, hash);

	ST_FUZZ_ASSERT(rc == 0 || rc == -1, "rc %d", rc);
	if (rc != 0 || tm->kind == ST_ENCAP_NONE) {
		ST_FUZZ_ASSERT(memcmp(&before[0], s[0].m, sizeof(before[0])) == 0 &&
			       memcmp(copy, s[0].buf, headroom + before[0].data_len) == 0,
			       "encapsulation %u returned %d but changed the mbuf", tm->kind, rc);
	} else {
		ST_FUZZ_ASSERT(s[0].m->pkt_len == before[0].pkt_len + tm->hdr_len &&
			       s[0].m->data_len == before[0].data_len + tm->hdr_len &&
			       s[0].m->data_off == before[0].data_off - tm->hdr_len,
			       "encapsulation %u: pkt_len %u -> %u, data_len %u -> %u, hdr_len %u",
			       tm->kind, before[0].pkt_len, s[0].m->pkt_len, before[0].data_len,
			       s[0].m->data_len, tm->hdr_len);
		if (tm->kind == ST_ENCAP_VXLAN || tm->kind == ST_ENCAP_GENEVE) {
			const uint8_t *udp = rte_pktmbuf_mtod(s[0].m, const uint8_t *) + tm->l4_off;
			const uint32_t ulen = (uint32_t)udp[4] << 8 | udp[5];

			ST_FUZZ_ASSERT(ulen == tm->hdr_len - tm->l4_off + before[0].pkt_len,
				       "outer UDP length %u for an inner frame of %u bytes", ulen,
				       before[0].pkt_len);
		}
	}
	for (uint32_t i = 1; i < nsegs; i++)
		ST_FUZZ_ASSERT(memcmp(&before[i], s[i].m, sizeof(before[i])) == 0,
			       "segment %u changed", i);
	for (uint32_t i = 0; i < nsegs; i++) {
		free(s[i].buf);
		free(s[i].m);
	}
	free(copy);
	return 0;
}
