/* SPDX-License-Identifier: BSD-3-Clause
 * The copy stage (copy.h): decisions become copies in the shadow pool; and
 * the short path's copy half, where classify and sample have nothing to
 * decide (one session accepting every packet whole) and only count.
 */
#include <rte_branch_prediction.h>
#include <rte_ether.h>
#include <rte_ip.h>
#include <rte_mbuf.h>
#include <rte_memcpy.h>
#include <rte_prefetch.h>

#include "lcore.h"
#include "copy.h"
#include "classify.h"
#include "compiled_policy.h"

/* How many packets ahead to prefetch while copying (l3fwd uses 3). */
#define ST_PREFETCH_OFFSET 3

/* One copy of m (first `len` bytes) into a fresh mbuf; a single-segment
 * frame that fits is copied by hand (the common case), anything else by
 * rte_pktmbuf_copy. NULL when the pool is empty. */
static inline struct rte_mbuf *
copy_frame(struct rte_mbuf *m, struct rte_mbuf *fresh, struct rte_mempool *pool, uint32_t len)
{
	struct rte_mbuf *cp;

	if (likely(fresh != NULL && m->nb_segs == 1 && len <= rte_pktmbuf_tailroom(fresh))) {
		rte_memcpy(rte_pktmbuf_mtod(fresh, void *), rte_pktmbuf_mtod(m, const void *), len);
		fresh->data_len = (uint16_t)len;
		fresh->pkt_len = len;
		fresh->port = m->port;
		fresh->vlan_tci = m->vlan_tci;
		fresh->vlan_tci_outer = m->vlan_tci_outer;
		fresh->packet_type = m->packet_type;
		fresh->hash = m->hash;
		return fresh;
	}
	cp = rte_pktmbuf_copy(m, pool, 0, len);
	if (fresh != NULL)
		rte_pktmbuf_free(fresh);
	return cp;
}

/* How many bytes a truncated copy keeps: snaplen, but never less than the
 * headers the rewrite translates (L2 with up to two VLAN tags, the IP header
 * and its extension headers, the TCP/UDP/ICMP header, the quoted header of
 * an ICMP error), and control-plane payloads the rewrite translates (DHCP,
 * IPv6 ND) whole: a copy cut inside a header could not be translated and
 * would be dropped. Only what the first segment holds is read. */
uint32_t
st_copy_len(const struct rte_mbuf *m, uint32_t snaplen, uint32_t len)
{
	const uint8_t *f = rte_pktmbuf_mtod(m, const uint8_t *);
	const uint32_t seg = rte_pktmbuf_data_len(m);
	uint32_t off = RTE_ETHER_HDR_LEN, need;
	uint16_t et;
	uint8_t nh;

	if (seg < RTE_ETHER_HDR_LEN)
		return snaplen;
	et = (uint16_t)(f[12] << 8 | f[13]);
	for (int k = 0; k < 2 && st_is_vlan_tpid(et) && off + 4 <= seg; k++) {
		et = (uint16_t)(f[off + 2] << 8 | f[off + 3]);
		off += 4;
	}
	if (et == RTE_ETHER_TYPE_ARP) {
		need = off + 28;
	} else if (et == RTE_ETHER_TYPE_IPV4 && off + 20 <= seg) {
		const uint8_t *ip = f + off;
		const uint32_t ihl = (uint32_t)(ip[0] & 0xf) * 4;
		const int first = (((ip[6] & 0x1f) << 8) | ip[7]) == 0;

		off += ihl;
		need = off;
		nh = ip[9];
		if (first && nh == IPPROTO_TCP)
			need = off + (off + 13 <= seg ? (uint32_t)(f[off + 12] >> 4) * 4 : 20);
		else if (first && nh == IPPROTO_UDP)
			need = off + 4 <= seg && (f[off + 1] == 67 || f[off + 1] == 68) && f[off] == 0 &&
				f[off + 2] == 0 && (f[off + 3] == 67 || f[off + 3] == 68) ? len : off + 8;
		else if (first && nh == IPPROTO_ICMP)
			need = off + 1 <= seg && (f[off] == 3 || f[off] == 4 || f[off] == 5 || f[off] == 11 ||
						f[off] == 12) ? off + 8 + 60 + 8 : off + 8;
	} else if (et == RTE_ETHER_TYPE_IPV6 && off + 40 <= seg) {
		int later;

		nh = f[off + 6];
		off += 40;
		nh = st_ipv6_walk(f, seg, &off, nh, &later);
		need = off;   /* a later fragment has no upper-layer header */
		if (!later && nh == IPPROTO_TCP)
			need = off + (off + 13 <= seg ? (uint32_t)(f[off + 12] >> 4) * 4 : 20);
		else if (!later && nh == IPPROTO_UDP)
			need = off + 8;
		else if (!later && nh == IPPROTO_ICMPV6)
			need = off + 1 <= seg && f[off] >= 133 && f[off] <= 137 ? len
				: off + 1 <= seg && f[off] >= 1 && f[off] <= 4 ? off + 8 + 40 + 8 : off + 8;
	} else {
		return snaplen;
	}
	if (need < snaplen)
		return snaplen;
	return need < len ? need : len;
}

void
st_copy_materialize(struct st_lcore *lc, const struct st_policy *pol, struct rte_mbuf **pkts,
	    const struct st_decision *dec, uint32_t nd, struct st_burst *b, int final)
{
	struct st_lcore_ctr *c = &lc->ctr;
	struct st_pol_work *wk = &lc->work;
	struct rte_mempool *pool = lc->conf.shadow_pool;
	const uint64_t alone = lc->conf.tap && final ? ~b->multi : 0;
	struct rte_mbuf *fresh[ST_PENDING_MAX];
	uint32_t i, need = 0, f = 0;
	int bulk;

	for (i = 0; i < nd; i++) {
		const struct st_pol_session *ps = &pol->sessions[dec[i].session];
		const uint16_t pi = dec[i].pkt;

		need += !((alone >> pi & 1) &&
			  (ps->snaplen == 0 || ps->snaplen >= rte_pktmbuf_pkt_len(pkts[pi])));
	}
	bulk = need != 0 && rte_pktmbuf_alloc_bulk(pool, fresh, need) == 0;

	/* The originals' frames are read by the copies: ahead of time. */
	for (i = 0; i < nd && i < ST_PREFETCH_OFFSET; i++)
		rte_prefetch0(rte_pktmbuf_mtod(pkts[dec[i].pkt], void *));
	for (i = 0; i < nd; i++) {
		const uint16_t pi = dec[i].pkt;
		const struct st_pol_session *ps = &pol->sessions[dec[i].session];
		struct rte_mbuf *m = pkts[pi];

		if (i + ST_PREFETCH_OFFSET < nd)
			rte_prefetch0(rte_pktmbuf_mtod(pkts[dec[i + ST_PREFETCH_OFFSET].pkt], void *));
		const uint32_t len = rte_pktmbuf_pkt_len(m);
		struct st_pending *p;
		struct rte_mbuf *cp;

		if ((alone >> pi & 1) && (ps->snaplen == 0 || ps->snaplen >= len)) {
			cp = m;
			pkts[pi] = NULL;
		} else {
			uint32_t cl = ps->snaplen != 0 && ps->snaplen < len ? st_copy_len(m, ps->snaplen, len) : len;

			cp = copy_frame(m, bulk ? fresh[f++] : NULL, pool, cl);
			if (unlikely(cp == NULL)) {
				c->sess[ps->slot].dropped[ST_SDROP_NOMEM]++;
				c->dropped[ST_DROP_NOMEM]++;
				continue;
			}
			if (cl < len)
				c->sess[ps->slot].truncated++;
		}
		p = &wk->p[wk->nb++];
		p->m = cp;
		p->wire_len = len;
		p->hash = b->hash != NULL ? b->hash[pi] : 0;
		p->session = dec[i].session;
		p->first = !(b->first_done >> pi & 1);
		b->first_done |= UINT64_C(1) << pi;
	}
}

/* ---- the short path's copy half (pol->simple) ------------------------------
 * One session that copies every packet whole: no key, no decisions, no
 * pending list. It keeps the general path's counters (the fixed rule's hits,
 * matched, sampled) and order (copies before the production tx);
 * policy-shortpath.test.ts compares both paths' output and counters. */
uint16_t
st_simple_copy(struct st_lcore *lc, const struct st_policy *pol, struct rte_mbuf **pkts,
	       uint16_t n, struct rte_mbuf **cps, int take)
{
	struct st_lcore_ctr *c = &lc->ctr;
	const struct st_pol_session *ps = &pol->sessions[0];
	struct st_session_stats *st = &c->sess[ps->slot];
	struct rte_mempool *pool = lc->conf.shadow_pool;
	struct rte_mbuf *fresh[ST_BURST_MAX];
	const uint64_t live = st_copy_live(lc, pkts, n);
	const unsigned int nb_live = (unsigned int)__builtin_popcountll(live);
	uint16_t i, k = 0, f = 0;
	int bulk;

	if (nb_live == 0)
		return 0;
	c->rule_hits[pol->rules[ps->fixed_rule].slot] += nb_live;
	st->matched += nb_live;
	st->sampled += nb_live;
	if (take) {
		for (i = 0; i < n; i++) {
			if (likely(live >> i & 1)) {
				cps[k++] = pkts[i];
				pkts[i] = NULL;
			}
		}
		return k;
	}
	bulk = rte_pktmbuf_alloc_bulk(pool, fresh, nb_live) == 0;
	for (i = 0; i < n && i < ST_PREFETCH_OFFSET; i++)
		rte_prefetch0(rte_pktmbuf_mtod(pkts[i], void *));
	for (i = 0; i < n; i++) {
		struct rte_mbuf *m = pkts[i];
		struct rte_mbuf *cp;

		if (i + ST_PREFETCH_OFFSET < n)
			rte_prefetch0(rte_pktmbuf_mtod(pkts[i + ST_PREFETCH_OFFSET], void *));
		if (unlikely(!(live >> i & 1)))
			continue;
		cp = copy_frame(m, bulk ? fresh[f++] : NULL, pool, rte_pktmbuf_pkt_len(m));
		if (unlikely(cp == NULL)) {
			st->dropped[ST_SDROP_NOMEM]++;
			c->dropped[ST_DROP_NOMEM]++;
			continue;
		}
		cps[k++] = cp;
	}
	return k;
}
