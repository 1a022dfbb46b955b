/* SPDX-License-Identifier: BSD-3-Clause
 * Standalone test of shadow-target encapsulation (stages/encap_ctl.c +
 * stages/encap_node.c).
 *
 * Every encapsulated frame is compared byte for byte with a frame built
 * independently from the target's fields (not from the template): outer
 * Ethernet, IPv4 with its header checksum computed in full or IPv6 with the
 * flow label, UDP with the IPv6 checksum computed in full over the
 * linearised datagram, the VXLAN or GENEVE header, then the inner frame
 * untouched. Inner frames are random and split over 1 to 4 segments at
 * random points (odd ones included), so the checksum across segments is
 * covered. Failure paths (no headroom, runt VLAN copy, outer length over
 * 65535) must leave the mbuf exactly as it was.
 *
 * Usage: encap_test [seed [iterations]] [--pcap FILE]
 *   --pcap writes a fixed set of encapsulated frames (see PCAP_CASES) for
 *   decoding by tshark (test/native/encap.test.ts does it).
 *   exit 0 and "N passed, 0 failed" on success; the seed (argument, else
 *   $ST_TEST_SEED, else fixed) is printed first.
 * Build: CMake target st_encap_test (with the st_dataplane objects: the
 * encap stage's files also hold its step of the shadow path).
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <dirent.h>
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <arpa/inet.h>

#include <rte_eal.h>
#include <rte_errno.h>
#include <rte_mbuf.h>
#include <rte_mempool.h>

#include "st_check.h"
#include "test_csum.h"
#include "encap.h"

#define MAXF 70000

static struct rte_mempool *g_pool;

/* ---- reference ------------------------------------------------------------ */

/* The expected frame, from the target's own fields. */
static uint32_t reference(const struct st_target_conf *t, uint32_t hash,
			  const uint8_t *in, uint32_t n, uint8_t *out)
{
	uint32_t o, ipo, udpo, udp_len;
	uint16_t port;
	uint8_t ttl = t->outer_ttl ? t->outer_ttl : 64;

	if (t->encap == ST_ENCAP_NONE) {
		memcpy(out, in, n);
		return n;
	}
	if (t->encap == ST_ENCAP_VLAN) {
		memcpy(out, in, 12);
		put16(out + 12, 0x8100);
		put16(out + 14, (uint16_t)((t->vlan_pcp & 7) << 13 | (t->vlan_id & 0xfff)));
		memcpy(out + 16, in + 12, n - 12);
		return n + 4;
	}
	port = t->udp_dst_port ? t->udp_dst_port :
	       t->encap == ST_ENCAP_VXLAN ? 4789 : 6081;
	memcpy(out, t->outer_dst_mac, 6);
	memcpy(out + 6, t->outer_src_mac, 6);
	put16(out + 12, t->outer_ipv6 ? 0x86dd : 0x0800);
	ipo = 14;
	udp_len = 8 + 8 + n;
	if (t->outer_ipv6) {
		uint8_t *ip = out + ipo;

		ip[0] = 0x60;
		ip[1] = (uint8_t)((hash >> 16) & 0x0f);
		ip[2] = (uint8_t)(hash >> 8);
		ip[3] = (uint8_t)hash;
		put16(ip + 4, (uint16_t)udp_len);
		ip[6] = 17;
		ip[7] = ttl;
		memcpy(ip + 8, t->outer_src, 16);
		memcpy(ip + 24, t->outer_dst, 16);
		udpo = ipo + 40;
	} else {
		uint8_t *ip = out + ipo;

		ip[0] = 0x45;
		ip[1] = 0;
		put16(ip + 2, (uint16_t)(20 + udp_len));
		put16(ip + 4, 0);
		put16(ip + 6, 0x4000);
		ip[8] = ttl;
		ip[9] = 17;
		put16(ip + 10, 0);
		memcpy(ip + 12, t->outer_src, 4);
		memcpy(ip + 16, t->outer_dst, 4);
		put16(ip + 10, csum(0, ip, 20));
		udpo = ipo + 20;
	}
	o = udpo;
	put16(out + o, (uint16_t)(49152 + hash % 16384));
	put16(out + o + 2, port);
	put16(out + o + 4, (uint16_t)udp_len);
	put16(out + o + 6, 0);
	o += 8;
	memset(out + o, 0, 8);
	if (t->encap == ST_ENCAP_VXLAN) {
		out[o] = 0x08;
	} else {
		put16(out + o + 2, 0x6558);
	}
	out[o + 4] = (uint8_t)(t->vni >> 16);
	out[o + 5] = (uint8_t)(t->vni >> 8);
	out[o + 6] = (uint8_t)t->vni;
	o += 8;
	memcpy(out + o, in, n);
	o += n;
	if (t->outer_ipv6) {
		uint8_t ph[40];
		uint16_t c;

		memcpy(ph, t->outer_src, 16);
		memcpy(ph + 16, t->outer_dst, 16);
		ph[32] = (uint8_t)(udp_len >> 24);
		ph[33] = (uint8_t)(udp_len >> 16);
		ph[34] = (uint8_t)(udp_len >> 8);
		ph[35] = (uint8_t)udp_len;
		ph[36] = ph[37] = ph[38] = 0;
		ph[39] = 17;
		c = csum(sum_bytes(0, ph, 40), out + udpo, udp_len);
		put16(out + udpo + 6, c == 0 ? 0xffff : c);
	}
	return o;
}

/* ---- mbufs ---------------------------------------------------------------- */

/* An mbuf chain holding in[0..n) split at the given points, with headroom
 * `room` in the first segment (-1: the pool default). */
static struct rte_mbuf *make_chain(const uint8_t *in, uint32_t n,
				   const uint32_t *cuts, int ncuts, int room)
{
	struct rte_mbuf *head = NULL;
	uint32_t from = 0;

	for (int k = 0; k <= ncuts; k++) {
		uint32_t to = k < ncuts ? cuts[k] : n;
		struct rte_mbuf *m = rte_pktmbuf_alloc(g_pool);
		char *p;

		if (m == NULL) {
			fprintf(stderr, "mbuf pool exhausted\n");
			exit(2);
		}
		if (k == 0 && room >= 0)
			m->data_off = (uint16_t)room;
		p = rte_pktmbuf_append(m, (uint16_t)(to - from));
		if (p == NULL && to > from) {
			fprintf(stderr, "segment too large: %u\n", to - from);
			exit(2);
		}
		if (to > from)
			memcpy(p, in + from, to - from);
		from = to;
		if (head == NULL)
			head = m;
		else if (rte_pktmbuf_chain(head, m) != 0) {
			fprintf(stderr, "cannot chain\n");
			exit(2);
		}
	}
	return head;
}

static uint32_t linearize(const struct rte_mbuf *m, uint8_t *out)
{
	uint32_t o = 0;

	for (const struct rte_mbuf *s = m; s != NULL; s = s->next) {
		memcpy(out + o, rte_pktmbuf_mtod(s, const uint8_t *), s->data_len);
		o += s->data_len;
	}
	return o;
}

/* ---- targets -------------------------------------------------------------- */

static void addr(struct st_target_conf *t, int v6, const char *src,
		 const char *dst)
{
	memset(t->outer_src, 0, 16);
	memset(t->outer_dst, 0, 16);
	t->outer_ipv6 = (uint8_t)v6;
	if (inet_pton(v6 ? AF_INET6 : AF_INET, src, t->outer_src) != 1 ||
	    inet_pton(v6 ? AF_INET6 : AF_INET, dst, t->outer_dst) != 1)
		abort();
}

static void base_target(struct st_target_conf *t, uint8_t kind, int v6)
{
	static const uint8_t sm[6] = { 0x02, 0x53, 0x48, 0x00, 0x00, 0x01 };
	static const uint8_t dm[6] = { 0x02, 0x53, 0x48, 0x00, 0x00, 0x02 };

	memset(t, 0, sizeof(*t));
	t->nb_ports = 1;
	t->encap = kind;
	t->vni = 5000;
	memcpy(t->outer_src_mac, sm, 6);
	memcpy(t->outer_dst_mac, dm, 6);
	if (v6)
		addr(t, 1, "fd00:5348::1", "fd00:5348::2");
	else
		addr(t, 0, "192.0.2.1", "192.0.2.2");
}

static void random_target(struct st_target_conf *t)
{
	uint8_t kind = (uint8_t)(1 + rndn(3));

	base_target(t, kind, (int)rndn(2));
	if (kind == ST_ENCAP_VLAN) {
		t->vlan_id = (uint16_t)rndn(4095);
		t->vlan_pcp = (uint8_t)rndn(8);
		return;
	}
	t->vni = rndn(4) == 0 ? (rndn(2) ? 0 : 0xffffff) : rnd() & 0xffffff;
	t->udp_dst_port = rndn(3) == 0 ? (uint16_t)(1 + rndn(65535)) : 0;
	t->outer_ttl = rndn(2) ? (uint8_t)rnd() : 0;
	for (int i = 0; i < 16; i++) {
		t->outer_src[i] = (uint8_t)rnd();
		t->outer_dst[i] = (uint8_t)rnd();
	}
	/* keep them unicast and non-zero */
	t->outer_src[0] = t->outer_ipv6 ? 0xfd : (uint8_t)(1 + rndn(200));
	t->outer_dst[0] = t->outer_ipv6 ? 0xfd : (uint8_t)(1 + rndn(200));
	for (int i = 0; i < 6; i++) {
		t->outer_src_mac[i] = (uint8_t)rnd();
		t->outer_dst_mac[i] = (uint8_t)rnd();
	}
	t->outer_src_mac[0] = (uint8_t)((t->outer_src_mac[0] & 0xfe) | 0x02);
	t->outer_dst_mac[0] |= 0x02;
}

/* ---- tests ---------------------------------------------------------------- */

static void test_build_errors(void)
{
	struct st_target_conf t;
	struct st_encap_tmpl tm;
	struct st_error err;
	int ret;

	base_target(&t, 9, 0);
	memset(&err, 0, sizeof(err));
	ret = st_encap_build(&t, 3, &tm, &err);
	CHECK(ret < 0 && strcmp(err.code, "ST_ERR_ENCAP") == 0 &&
	      strcmp(err.field, "targets[3].encap") == 0,
	      "unknown encap refused: %d '%s' '%s' '%s'", ret, err.code,
	      err.field, err.message);

	base_target(&t, ST_ENCAP_VLAN, 0);
	t.vlan_id = 4095;
	ret = st_encap_build(&t, 0, &tm, &err);
	CHECK(ret < 0 && strcmp(err.field, "targets[0].vlan_id") == 0,
	      "vlan 4095 refused: '%s'", err.field);
	t.vlan_id = 4094;
	t.vlan_pcp = 8;
	ret = st_encap_build(&t, 1, &tm, &err);
	CHECK(ret < 0 && strcmp(err.field, "targets[1].vlan_pcp") == 0,
	      "pcp 8 refused: '%s'", err.field);
	t.vlan_pcp = 7;
	ret = st_encap_build(&t, 1, &tm, &err);
	CHECK(ret == 0 && tm.hdr_len == 4 && tm.vlan_tci == (7 << 13 | 4094),
	      "vlan 4094 pcp 7 accepted");
	t.vlan_id = 0;
	t.vlan_pcp = 0;
	ret = st_encap_build(&t, 1, &tm, &err);
	CHECK(ret == 0 && tm.vlan_tci == 0, "vlan 0 (priority tag) accepted");

	for (int kind = ST_ENCAP_VXLAN; kind <= ST_ENCAP_GENEVE; kind++) {
		for (int v6 = 0; v6 < 2; v6++) {
			struct {
				const char *field;
				int which;
			} bad[] = {
				{ "vni", 0 }, { "outer_src", 1 }, { "outer_dst", 2 },
				{ "outer_src", 3 }, { "outer_dst_mac", 4 },
				{ "outer_src_mac", 5 }, { "outer_src_mac", 6 },
				{ "outer_src", 7 },
			};
			char want[64];

			for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
				base_target(&t, (uint8_t)kind, v6);
				switch (bad[i].which) {
				case 0: t.vni = 0x1000000; break;
				case 1: memset(t.outer_src, 0, 16); break;
				case 2: memset(t.outer_dst, 0, 16); break;
				case 3: t.outer_src[0] = v6 ? 0xff : 224; break;
				case 4: memset(t.outer_dst_mac, 0, 6); break;
				case 5: memset(t.outer_src_mac, 0, 6); break;
				case 6: t.outer_src_mac[0] = 0x01; break;
				case 7:
					if (v6)
						continue;
					memset(t.outer_src, 0xff, 4);
					break;
				}
				memset(&err, 0, sizeof(err));
				ret = st_encap_build(&t, 2, &tm, &err);
				snprintf(want, sizeof(want), "targets[2].%s", bad[i].field);
				CHECK(ret < 0 && strcmp(err.code, "ST_ERR_ENCAP") == 0 &&
				      strcmp(err.field, want) == 0 && err.message[0] != 0,
				      "kind %d v6 %d case %d refused as %s: got '%s' '%s'",
				      kind, v6, bad[i].which, want, err.field, err.message);
			}
			base_target(&t, (uint8_t)kind, v6);
			t.vni = 0xffffff;
			t.outer_dst_mac[0] = 0x01;   /* multicast next hop is allowed */
			ret = st_encap_build(&t, 2, &tm, &err);
			CHECK(ret == 0 && tm.hdr_len == (v6 ? 70 : 50) &&
			      tm.l3_off == 14 && tm.l4_off == (v6 ? 54 : 34) &&
			      tm.kind == kind && tm.outer_ipv6 == v6,
			      "kind %d v6 %d template layout", kind, v6);
		}
	}
	base_target(&t, ST_ENCAP_NONE, 0);
	memset(t.outer_src, 0, 16);    /* ignored without encapsulation */
	ret = st_encap_build(&t, 0, &tm, &err);
	CHECK(ret == 0 && tm.kind == ST_ENCAP_NONE && tm.hdr_len == 0,
	      "no encapsulation builds an empty template");
	ret = st_encap_build(NULL, 4, &tm, &err);
	CHECK(ret < 0 && strcmp(err.field, "targets[4].encap") == 0,
	      "NULL target refused");
}

static void random_inner(uint8_t *in, uint32_t n)
{
	for (uint32_t i = 0; i < n; i++)
		in[i] = (uint8_t)rnd();
	if (n >= 14)
		put16(in + 12, rndn(2) ? 0x0800 : 0x86dd);
}

/* Encapsulate in[0..n) split at cuts with target t; compare. */
static int check_one(const char *name, const struct st_target_conf *t,
		     const uint8_t *in, uint32_t n, const uint32_t *cuts,
		     int ncuts, uint32_t hash)
{
	static uint8_t want[MAXF], got[MAXF];
	struct st_encap_tmpl tm;
	struct st_error err;
	struct rte_mbuf *m;
	uint32_t wn, gn, first_len;
	uint16_t segs;
	int ret, fails = (int)g_fail;

	ret = st_encap_build(t, 0, &tm, &err);
	CHECK(ret == 0, "%s: build: %s %s", name, err.field, err.message);
	if (ret != 0)
		return 1;
	m = make_chain(in, n, cuts, ncuts, -1);
	first_len = m->data_len;
	segs = m->nb_segs;
	ret = st_encap_apply(&tm, m, hash);
	wn = reference(t, hash, in, n, want);
	gn = linearize(m, got);
	CHECK(ret == 0, "%s: apply returned %d", name, ret);
	CHECK(gn == wn && m->pkt_len == wn && m->nb_segs == segs &&
	      m->data_len == first_len + tm.hdr_len,
	      "%s: lengths: got %u (pkt_len %u, first seg %u) want %u", name, gn,
	      m->pkt_len, m->data_len, wn);
	CHECK(gn == wn && memcmp(got, want, wn) == 0,
	      "%s: frame differs from the reference", name);
	if (gn == wn && memcmp(got, want, wn) != 0) {
		int shown = 0;

		for (uint32_t i = 0; i < wn && shown < 8; i++)
			if (got[i] != want[i]) {
				fprintf(stderr, "    byte %u: got %02x want %02x\n", i,
					got[i], want[i]);
				shown++;
			}
	}
	rte_pktmbuf_free(m);
	return (int)g_fail != fails;
}

static void random_cuts(uint32_t n, uint32_t *cuts, int *ncuts)
{
	int k = (int)rndn(4);
	uint32_t prev = 0;

	*ncuts = 0;
	for (int i = 0; i < k && prev < n; i++) {
		/* each segment at most 2000 bytes (the pool's data room) */
		uint32_t lo = prev + 1, hi = prev + 2000 < n ? prev + 2000 : n;

		if (lo >= hi)
			break;
		prev = lo + rndn(hi - lo);
		cuts[(*ncuts)++] = prev;
	}
	if (n - prev > 2000) {   /* too long for one more segment: split on */
		while (n - prev > 2000 && *ncuts < 60) {
			prev += 500 + rndn(1500);
			cuts[(*ncuts)++] = prev;
		}
	}
}

static void test_random(int count)
{
	static uint8_t in[MAXF];
	struct st_target_conf t;
	uint32_t cuts[64];
	int ncuts, bad = 0;
	char name[64];

	for (int i = 0; i < count && bad < 10; i++) {
		uint32_t n = 14 + rndn(rndn(8) == 0 ? 9000 : 1500);

		random_target(&t);
		random_inner(in, n);
		random_cuts(n, cuts, &ncuts);
		/* VLAN needs the MACs in the first segment (refusal tested apart) */
		while (t.encap == ST_ENCAP_VLAN && ncuts > 0 && cuts[0] < 12)
			memmove(cuts, cuts + 1, (size_t)--ncuts * sizeof(cuts[0]));
		snprintf(name, sizeof(name), "random #%d (kind %u v6 %u segs %d len %u)",
			 i, t.encap, t.outer_ipv6, ncuts + 1, n);
		bad += check_one(name, &t, in, n, cuts, ncuts, rnd());
	}
}

static void test_fixed(void)
{
	static uint8_t in[MAXF];
	struct st_target_conf t;
	uint32_t cuts[2];

	random_inner(in, 100);
	base_target(&t, ST_ENCAP_VXLAN, 0);
	check_one("vxlan ipv4 defaults", &t, in, 100, NULL, 0, 0);
	check_one("vxlan ipv4 hash 16383", &t, in, 100, NULL, 0, 16383);
	check_one("vxlan ipv4 hash 16384 wraps", &t, in, 100, NULL, 0, 16384);
	check_one("vxlan ipv4 hash max", &t, in, 100, NULL, 0, UINT32_MAX);
	base_target(&t, ST_ENCAP_GENEVE, 1);
	cuts[0] = 33;
	cuts[1] = 34;
	check_one("geneve ipv6 odd split + 1-byte segment", &t, in, 100, cuts, 2, 0xabcdef);
	cuts[0] = 1;
	check_one("geneve ipv6 1-byte first segment", &t, in, 100, cuts, 1, 7);
	base_target(&t, ST_ENCAP_VLAN, 0);
	t.vlan_id = 100;
	t.vlan_pcp = 5;
	check_one("vlan push", &t, in, 100, NULL, 0, 0);
	put16(in + 12, 0x8100);
	check_one("vlan push on a tagged frame", &t, in, 100, NULL, 0, 0);
	cuts[0] = 12;
	check_one("vlan push, first segment exactly the MACs", &t, in, 100, cuts, 1, 0);
	base_target(&t, ST_ENCAP_NONE, 0);
	check_one("no encapsulation is a no-op", &t, in, 100, NULL, 0, 0);

	/* the IPv6 checksum that comes out 0 is sent as 0xffff: search */
	{
		static uint8_t want[MAXF];
		int found = 0;

		base_target(&t, ST_ENCAP_VXLAN, 1);
		random_inner(in, 64);
		for (uint32_t h = 0; h < 1u << 20 && !found; h++) {
			uint32_t n;

			put16(in + 20, (uint16_t)h);
			put16(in + 22, (uint16_t)(h >> 16));
			n = reference(&t, 0, in, 64, want);
			(void)n;
			if (get16(want + 54 + 6) == 0xffff) {
				found = 1;
				check_one("ipv6 udp checksum 0 sent as 0xffff", &t, in,
					  64, NULL, 0, 0);
			}
		}
		CHECK(found, "a frame whose outer UDP checksum is 0 was found");
	}
}

/* Failures must leave the mbuf exactly as it was. */
static void check_refused(const char *name, const struct st_target_conf *t,
			  struct rte_mbuf *m)
{
	static uint8_t before[MAXF], after[MAXF];
	struct st_encap_tmpl tm;
	struct st_error err;
	uint32_t nb, na;
	uint16_t off = m->data_off, dl = m->data_len, segs = m->nb_segs;
	uint32_t pl = m->pkt_len;
	int ret;

	ret = st_encap_build(t, 0, &tm, &err);
	CHECK(ret == 0, "%s: build", name);
	nb = linearize(m, before);
	ret = st_encap_apply(&tm, m, 12345);
	na = linearize(m, after);
	CHECK(ret == -1, "%s: apply returned %d, want -1", name, ret);
	CHECK(m->data_off == off && m->data_len == dl && m->pkt_len == pl &&
	      m->nb_segs == segs && na == nb && memcmp(before, after, nb) == 0,
	      "%s: refused mbuf was modified", name);
}

static void test_failures(void)
{
	static uint8_t in[MAXF];
	struct st_target_conf t;
	struct rte_mbuf *m;
	uint32_t cuts[64];
	int ncuts = 0;

	random_inner(in, 200);
	for (int kind = ST_ENCAP_VXLAN; kind <= ST_ENCAP_GENEVE; kind++) {
		for (int v6 = 0; v6 < 2; v6++) {
			uint32_t need = v6 ? 70 : 50;

			base_target(&t, (uint8_t)kind, v6);
			m = make_chain(in, 200, NULL, 0, (int)need - 1);
			check_refused("no headroom", &t, m);
			rte_pktmbuf_free(m);
			m = make_chain(in, 200, NULL, 0, (int)need);
			{
				struct st_encap_tmpl tm;
				struct st_error err;

				st_encap_build(&t, 0, &tm, &err);
				CHECK(st_encap_apply(&tm, m, 1) == 0 && m->data_off == 0,
				      "exactly enough headroom (%u)", need);
			}
			rte_pktmbuf_free(m);
		}
	}
	base_target(&t, ST_ENCAP_VLAN, 0);
	m = make_chain(in, 200, NULL, 0, 3);
	check_refused("vlan: 3 bytes of headroom", &t, m);
	rte_pktmbuf_free(m);
	cuts[0] = 11;
	m = make_chain(in, 200, cuts, 1, -1);
	check_refused("vlan: MACs not in the first segment", &t, m);
	rte_pktmbuf_free(m);
	m = make_chain(in, 5, NULL, 0, -1);
	check_refused("vlan: 5-byte runt", &t, m);
	rte_pktmbuf_free(m);

	/* the largest inner frames that fit, and one byte more */
	for (int v6 = 0; v6 < 2; v6++) {
		uint32_t max = v6 ? 65535 - 16 : 65535 - 36;
		char name[64];

		base_target(&t, ST_ENCAP_GENEVE, v6);
		random_inner(in, max + 1);
		ncuts = 0;
		for (uint32_t p = 1999; p < max; p += 1999)   /* all < max */
			cuts[ncuts++] = p;
		snprintf(name, sizeof(name), "largest inner frame (v6 %d, %d segments)",
			 v6, ncuts + 1);
		check_one(name, &t, in, max, cuts, ncuts, 0x5a5a5a);
		m = make_chain(in, max + 1, cuts, ncuts, -1);
		check_refused("outer length over 65535", &t, m);
		rte_pktmbuf_free(m);
	}
}

/* ---- pcap for tshark ------------------------------------------------------ */

static void wr_le32(FILE *f, uint32_t v)
{
	uint8_t b[4] = { (uint8_t)v, (uint8_t)(v >> 8), (uint8_t)(v >> 16),
			 (uint8_t)(v >> 24) };

	fwrite(b, 1, 4, f);
}

/* An inner Ethernet/IPv4/UDP or TCP frame with valid checksums, so tshark's
 * verdict on the inner layers means something too. */
static uint32_t inner_frame(uint8_t *f, int tcp, uint32_t paylen)
{
	static const uint8_t dm[6] = { 0x02, 0, 0, 0, 0, 0xbb };
	static const uint8_t sm[6] = { 0x02, 0, 0, 0, 0, 0xaa };
	uint32_t l4len = (tcp ? 20 : 8) + paylen, tot = 20 + l4len;
	uint8_t *ip = f + 14, *l4 = ip + 20, ph[12];

	memcpy(f, dm, 6);
	memcpy(f + 6, sm, 6);
	put16(f + 12, 0x0800);
	memset(ip, 0, 20);
	ip[0] = 0x45;
	put16(ip + 2, (uint16_t)tot);
	put16(ip + 4, 0x1234);
	ip[8] = 64;
	ip[9] = tcp ? 6 : 17;
	ip[12] = 10; ip[13] = 1; ip[14] = 2; ip[15] = 3;
	ip[16] = 10; ip[17] = 4; ip[18] = 5; ip[19] = 6;
	put16(ip + 10, csum(0, ip, 20));
	memset(l4, 0, tcp ? 20 : 8);
	put16(l4, 40000);
	put16(l4 + 2, tcp ? 443 : 40002);
	if (tcp) {
		l4[12] = 0x50;
		l4[13] = 0x18;
		put16(l4 + 14, 512);
	} else {
		put16(l4 + 4, (uint16_t)l4len);
	}
	for (uint32_t i = 0; i < paylen; i++)
		l4[(tcp ? 20 : 8) + i] = (uint8_t)('a' + i % 26);
	memcpy(ph, ip + 12, 8);
	ph[8] = 0;
	ph[9] = ip[9];
	put16(ph + 10, (uint16_t)l4len);
	put16(l4 + (tcp ? 16 : 6), csum(sum_bytes(0, ph, 12), l4, l4len));
	return 14 + tot;
}

/* The frames test/native/encap.test.ts expects, in this order. */
static int write_pcap(const char *path)
{
	static uint8_t in[MAXF], out[MAXF];
	struct {
		uint8_t kind;
		int v6;
		uint32_t vni;
		uint16_t port;
		uint8_t ttl;
		uint16_t vid;
		uint8_t pcp;
		int tcp;
		uint32_t paylen;
		int nseg;
		uint32_t hash;
	} cases[] = {
		{ ST_ENCAP_VXLAN, 0, 5000, 0, 0, 0, 0, 1, 40, 1, 0x12345 },
		{ ST_ENCAP_VXLAN, 1, 16777215, 0, 9, 0, 0, 0, 101, 3, 0xfedcba98 },
		{ ST_ENCAP_GENEVE, 0, 0x123456, 0, 200, 0, 0, 0, 7, 2, 1 },
		{ ST_ENCAP_GENEVE, 1, 7, 0, 0, 0, 0, 1, 1000, 4, 0x00abcdef },
		{ ST_ENCAP_VLAN, 0, 0, 0, 0, 100, 5, 1, 20, 1, 0 },
		{ ST_ENCAP_VXLAN, 0, 42, 8472, 0, 0, 0, 0, 3, 2, 0x4000 },
	};
	FILE *f = fopen(path, "wb");

	if (f == NULL) {
		fprintf(stderr, "cannot write %s: %s\n", path, strerror(errno));
		return -1;
	}
	wr_le32(f, 0xa1b2c3d4);
	fputc(2, f); fputc(0, f); fputc(4, f); fputc(0, f);   /* version 2.4 */
	wr_le32(f, 0);
	wr_le32(f, 0);
	wr_le32(f, 65535);
	wr_le32(f, 1);                                        /* Ethernet */
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct st_target_conf t;
		struct st_encap_tmpl tm;
		struct st_error err;
		struct rte_mbuf *m;
		uint32_t n = inner_frame(in, cases[i].tcp, cases[i].paylen);
		uint32_t cuts[4], on;
		int ncuts = 0;

		base_target(&t, cases[i].kind, cases[i].v6);
		t.vni = cases[i].vni;
		t.udp_dst_port = cases[i].port;
		t.outer_ttl = cases[i].ttl;
		t.vlan_id = cases[i].vid;
		t.vlan_pcp = cases[i].pcp;
		for (int k = 1; k < cases[i].nseg; k++)
			cuts[ncuts++] = n * (uint32_t)k / (uint32_t)cases[i].nseg + (k & 1);
		if (st_encap_build(&t, 0, &tm, &err) != 0) {
			fprintf(stderr, "pcap case %zu: %s\n", i, err.message);
			fclose(f);
			return -1;
		}
		m = make_chain(in, n, cuts, ncuts, -1);
		if (st_encap_apply(&tm, m, cases[i].hash) != 0) {
			fprintf(stderr, "pcap case %zu: apply failed\n", i);
			fclose(f);
			return -1;
		}
		on = linearize(m, out);
		rte_pktmbuf_free(m);
		wr_le32(f, (uint32_t)(1700000000 + i));
		wr_le32(f, 0);
		wr_le32(f, on);
		wr_le32(f, on);
		fwrite(out, 1, on, f);
	}
	fclose(f);
	printf("wrote %zu frames to %s\n", sizeof(cases) / sizeof(cases[0]), path);
	return 0;
}

/* ---- EAL ------------------------------------------------------------------ */

int main(int argc, char **argv)
{
	char prefix[64], runtime_dir[512];
	char *eal_argv[] = { argv[0], "--no-huge", "-m", "64", "--no-pci",
			     "--file-prefix", prefix, "--log-level=error", NULL };
	int eal_argc = (int)(sizeof(eal_argv) / sizeof(eal_argv[0])) - 1;
	const char *pcap = NULL, *seed = NULL;
	int iterations = 2000, pos = 0;

	for (int i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--pcap") == 0 && i + 1 < argc) {
			pcap = argv[++i];
		} else if (pos == 0) {
			seed = argv[i];
			pos++;
		} else {
			iterations = atoi(argv[i]);
		}
	}
	st_seed(seed, 0x5eed5eed87654321ull);
	st_print_sanitizers();

	snprintf(prefix, sizeof(prefix), "st-enctest-%d", (int)getpid());
	if (rte_eal_init(eal_argc, eal_argv) < 0) {
		fprintf(stderr, "rte_eal_init: %s\n", rte_strerror(rte_errno));
		return 2;
	}
	snprintf(runtime_dir, sizeof(runtime_dir), "%s", rte_eal_get_runtime_dir());
	g_pool = rte_pktmbuf_pool_create("st_enc_test", 1023, 0, 0,
					 2000 + RTE_PKTMBUF_HEADROOM, SOCKET_ID_ANY);
	if (g_pool == NULL) {
		fprintf(stderr, "mempool: %s\n", rte_strerror(rte_errno));
		rte_eal_cleanup();
		remove_runtime_dir(runtime_dir);
		return 2;
	}

	if (pcap != NULL) {
		int ret = write_pcap(pcap);

		rte_mempool_free(g_pool);
		rte_eal_cleanup();
		remove_runtime_dir(runtime_dir);
		return ret == 0 ? 0 : 1;
	}
	test_build_errors();
	test_fixed();
	test_failures();
	test_random(iterations);
	CHECK(rte_mempool_in_use_count(g_pool) == 0, "every mbuf returned (%u in use)",
	      rte_mempool_in_use_count(g_pool));

	rte_mempool_free(g_pool);
	rte_eal_cleanup();
	remove_runtime_dir(runtime_dir);
	printf("%u passed, %u failed\n", g_pass, g_fail);
	return g_fail == 0 ? 0 : 1;
}
