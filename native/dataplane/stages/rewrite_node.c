/* SPDX-License-Identifier: BSD-3-Clause
 * The rewrite stage's node: st_rewrite_frame() and st_rewrite_frame_ex()
 * (the L2 walk, the short IPv4 path, the dispatch to the IP layer), and the
 * stage of the shadow path over a burst's copies.
 *
 * The specification of what a copy becomes is in the headers of the parts
 * it describes: rewrite_frame.h (lengths, L2, translation, MACs, bounds),
 * rewrite_ip.h (IPv4: rewrite_ipv4.c; IPv6: rewrite_ipv6.c),
 * rewrite_csum.h (checksums), rewrite_cp.h (ARP, DHCP, ND: rewrite_cp.c).
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE /* DPDK headers need POSIX types (ssize_t) under -std=c11 */
#endif
#include <string.h>

#include <rte_byteorder.h>
#include <rte_ether.h>
#include <rte_ip.h>
#include <rte_lpm.h>
#include <rte_mbuf.h>
#include <rte_prefetch.h>

#include "rewrite.h"
#include "rewrite_frame.h"
#include "rewrite_ip.h"
#include "rewrite_cp.h"
#include "rewrite_payload.h"
#include "rewrite_fast.h"
#include "lcore.h"
#include "compiled_policy.h"

static __rte_always_inline void
rw_frame(const struct st_rewrite_tables *t, struct st_rt_state *rt, uint8_t *frame,
	 uint32_t seg_len, uint32_t pkt_len, uint32_t wire_len,
	 struct st_rewrite_result *res, const int cp)
{
	struct rw_ctx c;
	uint32_t off = RTE_ETHER_HDR_LEN;
	uint16_t et;

	res->drop = -1;
	res->translated = 0;
	res->anomalies = 0;
	res->unmapped_seen = 0;
	st_leak_clear(&res->leak);

	c.t = t;
	c.rt = rt;
	c.f = frame;
	c.res = res;
	c.pkt = pkt_len;
	c.seg = seg_len < pkt_len ? seg_len : pkt_len;
	c.wire = wire_len > pkt_len ? wire_len : pkt_len;
	c.cs_base = 0;
	c.inner = 0;
	c.dry = 0;

	if (rw_hdr_fail(&c, RTE_ETHER_HDR_LEN, c.wire, ST_ANOM_TRUNC_L2))
		return;
	et = rw_rd16(frame + 12);
	for (int tags = 0; tags < 2 && rw_is_vlan(et); tags++) {
		res->anomalies |= RW_BIT(ST_ANOM_VLAN);
		if (rw_hdr_fail(&c, off + 4, c.wire, ST_ANOM_TRUNC_L2))
			return;
		et = rw_rd16(frame + off + 2);
		off += 4;
	}
	if (et == RTE_ETHER_TYPE_IPV4) {
		if (cp)
			st_rw_ipv4_cp(&c, off);
		else
			st_rw_ipv4(&c, off);
	} else if (et == RTE_ETHER_TYPE_IPV6) {
		if (cp)
			st_rw_ipv6_cp(&c, off);
		else
			st_rw_ipv6(&c, off);
	}
	else if (cp && et == RTE_ETHER_TYPE_ARP && (t->control_plane & ST_CP_ARP))
		st_rw_arp(&c, off);
	else
		res->drop = ST_DROP_NOT_IP;
}

/* Tables with MAC maps or control-plane bits: out of line, so the plain
 * variant below stays compact. */
static __rte_noinline void
rw_frame_policy(const struct st_rewrite_tables *t, struct st_rt_state *rt, uint8_t *frame,
		uint32_t seg_len, uint32_t pkt_len, uint32_t wire_len,
		struct st_rewrite_result *res)
{
	rw_frame(t, rt, frame, seg_len, pkt_len, wire_len, res, 1);
}

/* The common case, short: an untagged IPv4 TCP or UDP datagram with a
 * 20-byte header, not a fragment, not DHCP, headers in the first segment,
 * both addresses covered by a map, no MAC maps and shadow MACs to write
 * (unicast MACs in the frame when control-plane handling is on). It does
 * exactly what rw_frame() does for such a frame, with none of the checks
 * the other shapes need; anything else returns 0 and takes the general path
 * (the lookups have no side effects, so repeating them there is harmless).
 * rewrite_test.c compares both paths against a reference translation. */
static __rte_always_inline int
rw_fast4(const struct st_rewrite_tables *t, uint8_t *f, uint32_t seg_len,
	 uint32_t pkt_len, uint32_t wire_len, struct st_rewrite_result *res)
{
	const uint32_t seg = seg_len < pkt_len ? seg_len : pkt_len;
	const uint32_t wire = wire_len > pkt_len ? wire_len : pkt_len;
	uint8_t *ip = f + RTE_ETHER_HDR_LEN, *l4 = ip + 20;
	uint64_t w0, w1;
	uint32_t tot, src, dst, nsrc, ndst, d, need, csum_off, nh0, nh1;
	uint16_t et;
	uint8_t proto;
	enum rw_l4 kind;

	/* Derived at compile: IPv4 maps, no MAC maps, shadow MACs set. */
	if (!t->fast4 || seg < RTE_ETHER_HDR_LEN + 20 + 20)
		return 0;
	memcpy(&et, f + 12, 2);
	/* Bytes 0..7 of the IP header in one load: version/IHL, total
	 * length, flags and fragment offset. */
	memcpy(&w0, ip, 8);
	if (et != rte_cpu_to_be_16(RTE_ETHER_TYPE_IPV4) || (uint8_t)w0 != 0x45 ||
	    (uint16_t)(w0 >> 48) & rte_cpu_to_be_16(RTE_IPV4_HDR_MF_FLAG | RTE_IPV4_HDR_OFFSET_MASK))
		return 0;
	proto = ip[9];
	if (proto == IPPROTO_TCP) {
		kind = RW_L4_TCP;
		csum_off = 16;
		need = 20;
	} else if (proto == IPPROTO_UDP) {
		kind = RW_L4_UDP;
		csum_off = 6;
		need = 8;
		if (t->control_plane & ST_CP_DHCP && rw_dhcp_port(rw_rd16(l4)) &&
		    rw_dhcp_port(rw_rd16(l4 + 2)))
			return 0;
	} else {
		return 0;
	}
	/* payloads under the leak policy: the general path (rewrite_payload.h) */
	if (t->payloads && (rw_pl_port(rw_rd16(l4)) || rw_pl_port(rw_rd16(l4 + 2))))
		return 0;
	tot = rte_be_to_cpu_16((uint16_t)(w0 >> 16));
	if (tot < 20 + need || tot > wire - RTE_ETHER_HDR_LEN)
		return 0;
	if (kind == RW_L4_TCP && ((l4[12] >> 4) < 5 || (uint32_t)(l4[12] >> 4) * 4 > tot - 20))
		return 0;
	if (kind == RW_L4_UDP && (rw_rd16(l4 + 4) < 8 || rw_rd16(l4 + 4) > tot - 20))
		return 0;
	if (t->cp_aware) {
		/* Group or all-zero MACs name no single host: general path.
		 * Bytes 0..7 hold the destination, 6..13 the source. */
		const uint64_t mac48 = rte_cpu_to_le_64(UINT64_C(0xffffffffffff));

		memcpy(&w0, f, 8);
		memcpy(&w1, f + 6, 8);
		if ((f[0] & 1) != 0 || (f[6] & 1) != 0 || (w0 & mac48) == 0 || (w1 & mac48) == 0)
			return 0;
	}
	memcpy(&src, ip + 12, 4);
	memcpy(&dst, ip + 16, 4);
	src = rte_be_to_cpu_32(src);
	dst = rte_be_to_cpu_32(dst);
	if (t->cp_aware && (src == 0 || src == UINT32_MAX || dst == 0 || dst == UINT32_MAX))
		return 0;
	if (rte_lpm_lookup(t->lpm4, src, &nh0) != 0 || nh0 >= t->nb_map4 ||
	    rte_lpm_lookup(t->lpm4, dst, &nh1) != 0 || nh1 >= t->nb_map4)
		return 0;
	nsrc = t->map4[nh0].to | (src & ~t->map4_mask[nh0]);
	ndst = t->map4[nh1].to | (dst & ~t->map4_mask[nh1]);

	res->drop = -1;
	res->anomalies = 0;
	res->unmapped_seen = 0;
	res->translated = 0;
	st_leak_clear(&res->leak);
	d = 0;
	if (nsrc != src) {
		const uint32_t b = rte_cpu_to_be_32(nsrc);

		d += rw_cs_addr4(src, nsrc);
		memcpy(ip + 12, &b, 4);
	}
	if (ndst != dst) {
		const uint32_t b = rte_cpu_to_be_32(ndst);

		d += rw_cs_addr4(dst, ndst);
		memcpy(ip + 16, &b, 4);
	}
	if (d != 0) {
		res->translated = 1;
		rw_cs_apply(ip + 10, d);
		if (rw_cs_fold(d) != 0)
			rw_l4_fix(kind, l4 + csum_off, d);
	}
	memcpy(f, t->mac_pair, 12);
	return 1;
}

/* Every other shape: out of line, so the short path above needs no stack
 * frame of its own. */
static __rte_noinline void
rw_frame_general(const struct st_rewrite_tables *t, struct st_rt_state *rt, uint8_t *frame,
		 uint32_t seg_len, uint32_t pkt_len, uint32_t wire_len,
		 struct st_rewrite_result *res)
{
	/* control_plane != 0 implies cp_aware */
	if (t->cp_aware || t->mac_hash != NULL)
		rw_frame_policy(t, rt, frame, seg_len, pkt_len, wire_len, res);
	else
		rw_frame(t, rt, frame, seg_len, pkt_len, wire_len, res, 0);
}

void st_rewrite_frame_rt(const struct st_rewrite_tables *t, struct st_rt_state *rt,
			 uint8_t *frame, uint32_t seg_len, uint32_t pkt_len,
			 uint32_t wire_len, struct st_rewrite_result *res)
{
	if (likely(rw_fast4(t, frame, seg_len, pkt_len, wire_len, res)))
		return;
	rw_frame_general(t, rt, frame, seg_len, pkt_len, wire_len, res);
}

void st_rewrite_frame_ex(const struct st_rewrite_tables *t, uint8_t *frame,
			 uint32_t seg_len, uint32_t pkt_len, uint32_t wire_len,
			 struct st_rewrite_result *res)
{
	st_rewrite_frame_rt(t, NULL, frame, seg_len, pkt_len, wire_len, res);
}

void st_rewrite_frame(const struct st_rewrite_tables *t, uint8_t *frame,
		      uint32_t seg_len, uint32_t pkt_len,
		      struct st_rewrite_result *res)
{
	st_rewrite_frame_ex(t, frame, seg_len, pkt_len, pkt_len, res);
}

/* ---- the rewrite stage of the shadow path (stage.h) ------------------------
 * Each copy is translated with st_rewrite_frame_ex (wire_len = the
 * original's length); anomalies are counted once per packet (on its first
 * copy); a copy the rewrite drops is freed and counted per session and
 * globally, one the unmapped rule "count" saw only as unmapped_seen. */

/* How many copies ahead to prefetch: in tap mode (and for a policy that
 * reads no key) nothing has touched the frames yet, and one packet's
 * rewrite is shorter than a miss to memory. */
#define ST_PREFETCH_OFFSET 3

static inline void
count_anomalies(struct st_lcore_ctr *c, uint32_t bits)
{
	while (bits != 0) {
		unsigned int a = (unsigned int)__builtin_ctz(bits);

		bits &= bits - 1;
		if (likely(a < ST_ANOM__COUNT))
			c->anomalies[a]++;
	}
}

static inline void
drop_copy(struct st_lcore_ctr *c, struct st_session_stats *st, struct rte_mbuf *m,
	  int8_t reason)
{
	static const uint8_t sdrop[ST_DROP__COUNT] = {
		[ST_DROP_UNMAPPED] = ST_SDROP_UNMAPPED,
		[ST_DROP_NOT_IP] = ST_SDROP_NOT_IP,
		[ST_DROP_MALFORMED] = ST_SDROP_MALFORMED,
		[ST_DROP_NOMEM] = ST_SDROP_NOMEM,
		[ST_DROP_TX_FULL] = ST_SDROP_TX_FULL,
		[ST_DROP_LEAK] = ST_SDROP_LEAK,
	};

	if (unlikely(reason < 0 || reason >= ST_DROP__COUNT))
		reason = ST_DROP_MALFORMED;
	c->dropped[reason]++;
	st->dropped[sdrop[reason]]++;
	rte_pktmbuf_free(m);
}

/* Step 5 for one copy: translate it; 1 = send it, 0 = it was freed (dropped,
 * or seen by the unmapped rule "count"). Anomalies count on a packet's first
 * copy only. */
static __rte_always_inline int
shadow_rewrite(struct st_lcore_ctr *c, struct st_rt_state *rt, struct st_session_stats *st,
	       const struct st_policy *pol, struct rte_mbuf *m, uint32_t wire_len, int first,
	       uint64_t *translated)
{
	struct st_rewrite_result res;

	res.drop = -1;
	res.translated = 0;
	res.anomalies = 0;
	res.unmapped_seen = 0;
	st_leak_clear(&res.leak);
	st_rewrite_frame_rt(pol->rw, rt, rte_pktmbuf_mtod(m, uint8_t *), rte_pktmbuf_data_len(m),
			    rte_pktmbuf_pkt_len(m), wire_len, &res);
	if (unlikely(res.anomalies != 0) && first)
		count_anomalies(c, res.anomalies);
	/* a copy dropped for another reason after its payload was judged is
	 * not a leak event */
	if (unlikely(res.leak.kind >= 0) && res.leak.kind < ST_LEAK__COUNT &&
	    res.leak.reason < ST_LEAK_R__COUNT &&
	    (res.drop < 0 || res.drop == ST_DROP_LEAK))
		c->leak[res.leak.kind][res.leak.reason][st_leak_slot(res.leak.action)]++;
	if (unlikely(res.unmapped_seen)) {
		/* unmapped rule "count": seen, not sent, not a drop */
		st->unmapped_seen++;
		rte_pktmbuf_free(m);
		return 0;
	}
	if (unlikely(res.drop >= 0)) {
		drop_copy(c, st, m, res.drop);
		return 0;
	}
	*translated += res.translated;
	return 1;
}

/* The burst path (rewrite_fast.h) over up to 64 frames: the crash switch
 * and the flight recorder see each packet first (a test crash names it),
 * then the whole burst is at the rewrite. Returns the frames it rewrote. */
static inline uint64_t
rewrite_burst(struct st_lcore *lc, const struct st_rewrite_tables *t, struct rte_mbuf *const *m,
	      const uint32_t *wire, unsigned int n, uint64_t *translated)
{
	uint8_t *f[ST_BURST_MAX];
	uint32_t seg[ST_BURST_MAX], len[ST_BURST_MAX];
	uint64_t done, xl;
	unsigned int i;

	for (i = 0; i < n && i < ST_PREFETCH_OFFSET; i++)
		rte_prefetch0(rte_pktmbuf_mtod(m[i], void *));
	for (i = 0; i < n; i++) {
		st_flight_at(lc->conf.flight, ST_FLIGHT_REWRITE, m[i]);
		st_test_crash_check(m[i]);
		f[i] = rte_pktmbuf_mtod(m[i], uint8_t *);
		seg[i] = rte_pktmbuf_data_len(m[i]);
		len[i] = rte_pktmbuf_pkt_len(m[i]);
	}
	st_flight_at(lc->conf.flight, ST_FLIGHT_REWRITE, NULL);
	done = t->burst(t, f, seg, len, wire != NULL ? wire : len, n, &xl);
	*translated += (uint64_t)__builtin_popcountll(xl);
	return done;
}

uint32_t
st_rewrite_stage(struct st_lcore *lc, const struct st_policy *pol, struct st_pending *p,
		 uint32_t n)
{
	struct st_lcore_ctr *c = &lc->ctr;
	const struct st_rewrite_tables *t = pol->rw;
	uint64_t translated = 0;
	uint32_t i, k = 0;

	for (uint32_t b = 0; b < n; b += ST_BURST_MAX) {
		const uint32_t cnt = n - b < ST_BURST_MAX ? n - b : ST_BURST_MAX;
		uint64_t done = 0;

		if (t->burst_ok) {
			struct rte_mbuf *m[ST_BURST_MAX];
			uint32_t wire[ST_BURST_MAX];

			for (i = 0; i < cnt; i++) {
				m[i] = p[b + i].m;
				wire[i] = p[b + i].wire_len;
			}
			done = rewrite_burst(lc, t, m, wire, cnt, &translated);
		}
		for (i = 0; i < cnt; i++) {
			struct st_pending *q = &p[b + i];

			if (done >> i & 1) {
				p[k++] = *q;
				continue;
			}
			st_flight_at(lc->conf.flight, ST_FLIGHT_REWRITE, q->m);
			st_test_crash_check(q->m);
			if (shadow_rewrite(c, lc->conf.rt, &c->sess[pol->sessions[q->session].slot], pol,
					   q->m, q->wire_len, q->first, &translated))
				p[k++] = *q;
		}
	}
	c->translated_packets += translated;
	return k;
}

/* The short form: whole copies (the wire length is the copy's), one copy
 * per packet, all of the one session. */
uint16_t
st_rewrite_stage_short(struct st_lcore *lc, const struct st_policy *pol, struct rte_mbuf **cps,
		       uint16_t n)
{
	struct st_lcore_ctr *c = &lc->ctr;
	const struct st_rewrite_tables *t = pol->rw;
	struct st_session_stats *st = &c->sess[pol->sessions[0].slot];
	uint64_t translated = 0, done = 0;
	uint16_t i, k = 0;

	if (likely(t->burst_ok))
		done = rewrite_burst(lc, t, cps, NULL, n, &translated);
	if (likely(done == (n >= 64 ? UINT64_MAX : (UINT64_C(1) << n) - 1))) {
		c->translated_packets += translated;
		return n;
	}
	for (i = 0; i < n; i++) {
		struct rte_mbuf *m = cps[i];

		if (done >> i & 1) {
			cps[k++] = m;
			continue;
		}
		st_flight_at(lc->conf.flight, ST_FLIGHT_REWRITE, m);
		st_test_crash_check(m);
		if (shadow_rewrite(c, lc->conf.rt, st, pol, m, rte_pktmbuf_pkt_len(m), 1, &translated))
			cps[k++] = m;
	}
	c->translated_packets += translated;
	return k;
}
