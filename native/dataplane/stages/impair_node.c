/* SPDX-License-Identifier: BSD-3-Clause
 * Impair stage, fast path: match, then netem's order of decisions per
 * matched packet (duplicate, loss or ECN mark, police, corrupt, reorder or
 * delay), every draw from the counter-based generator (impair_int.h), and
 * the release of due packets for the worker's deadline step.
 */
#include <math.h>
#include <string.h>

#include <rte_byteorder.h>
#include <rte_ip.h>
#include <rte_mbuf.h>
#include <rte_meter.h>
#include <rte_tcp.h>
#include <rte_udp.h>

#include "impair_int.h"

/* rte_meter takes its (read-only) profile without const. */
#define METER_PROFILE(f) ((struct rte_meter_srtcm_profile *)(uintptr_t)&(f)->meter)

double st_imp_variate(const struct st_imp_fault *f, double z);

/* ---- match ----------------------------------------------------------------- */

static inline int prefix_hit(const struct st_imp_cprefix *p, const uint8_t *a, uint8_t ipv)
{
	if (p->v4 ? ipv != 4 : ipv != 6 && ipv != 4)
		return 0;
	for (int b = 0; b < 16; b++)
		if ((a[b] & p->mask[b]) != p->addr[b])
			return 0;
	return 1;
}

static inline int any_hit(const struct st_imp_cprefix *p, uint8_t nb, const uint8_t *a,
			  uint8_t ipv)
{
	for (uint8_t j = 0; j < nb; j++)
		if (prefix_hit(&p[j], a, ipv))
			return 1;
	return 0;
}

static inline int fault_matches(const struct st_imp_fault *f, const struct st_imp_meta *m)
{
	if (f->ip_version && m->ip_version != f->ip_version)
		return 0;
	if (f->proto && m->proto != f->proto)
		return 0;
	if (f->session != ST_IMP_ANY16 && m->session != f->session)
		return 0;
	if (f->port != ST_IMP_ANY16 && m->port != f->port)
		return 0;
	if (f->dir && m->dir != f->dir)
		return 0;
	if ((f->sport_lo || f->sport_hi != 0xffff) &&
	    (m->sport < f->sport_lo || m->sport > f->sport_hi))
		return 0;
	if ((f->dport_lo || f->dport_hi != 0xffff) &&
	    (m->dport < f->dport_lo || m->dport > f->dport_hi))
		return 0;
	if (f->nb_src && !any_hit(f->src, f->nb_src, m->src, m->ip_version))
		return 0;
	if (f->nb_dst && !any_hit(f->dst, f->nb_dst, m->dst, m->ip_version))
		return 0;
	if (f->nb_hosts && !any_hit(f->hosts, f->nb_hosts, m->src, m->ip_version) &&
	    !any_hit(f->hosts, f->nb_hosts, m->dst, m->ip_version))
		return 0;
	return 1;
}

/* ---- random processes ----------------------------------------------------------- */

/* A Bernoulli sequence with marginal probability p and lag-1 correlation
 * rho: a two-state Markov chain with P(1|1) = p + rho (1 - p) and
 * P(1|0) = p (1 - rho). (netem mixes the uniform draws instead, which
 * lowers the realised rate.) */
static inline int bernoulli(uint8_t *last, double p, double rho, double u)
{
	double q = *last ? p + rho * (1 - p) : p * (1 - rho);
	int hit = u < q;

	*last = (uint8_t)hit;
	return hit;
}

static inline void fstate_reset(struct st_imp_fstate *s, const struct st_imp_fault *f,
				uint16_t stream)
{
	memset(s, 0, sizeof(*s));
	s->id = f->id;
	s->epoch = f->epoch;
	s->valid = 1;
	s->key = st_imp_key(f->seed, f->id, f->epoch, stream);
	s->seed = f->seed;
	s->loss_state = f->loss_model == ST_LOSS_STATE ? 1 : 0;
	if (f->rate_mode == ST_RATE_POLICE)
		rte_meter_srtcm_config(&s->meter, METER_PROFILE(f));
}

static inline int loss_event(const struct st_imp_fault *f, struct st_imp_fstate *s, uint64_t i)
{
	double u;

	switch (f->loss_model) {
	case ST_LOSS_RANDOM:
		u = st_imp_unif(s->key, i, ST_DRAW_LOSS_EMIT);
		if (i == 0)
			return (s->loss_last = u < f->loss[0]);
		return bernoulli(&s->loss_last, f->loss[0], f->loss_corr, u);
	case ST_LOSS_GEMODEL: {
		/* netem's loss_gilb_ell: the loss is decided by the state the
		 * packet finds, then the chain moves */
		double mv = st_imp_unif(s->key, i, ST_DRAW_LOSS_MOVE);
		int lost;

		u = st_imp_unif(s->key, i, ST_DRAW_LOSS_EMIT);
		if (s->loss_state == 0) {
			lost = u < f->loss[3];            /* 1-k */
			if (mv < f->loss[0])
				s->loss_state = 1;
		} else {
			lost = u < f->loss[2];            /* 1-h */
			if (mv < f->loss[1])
				s->loss_state = 0;
		}
		return lost;
	}
	case ST_LOSS_STATE:
		/* netem's loss_4state: the state entered decides (3 and 4 lose) */
		u = st_imp_unif(s->key, i, ST_DRAW_LOSS_MOVE);
		switch (s->loss_state) {
		case 1:
			if (u < f->loss[4]) {
				s->loss_state = 4;
				return 1;
			}
			if (u < f->loss[4] + f->loss[0]) {
				s->loss_state = 3;
				return 1;
			}
			return 0;
		case 2:
			if (u < f->loss[3]) {
				s->loss_state = 3;
				return 1;
			}
			return 0;
		case 3:
			if (u < f->loss[2]) {
				s->loss_state = 2;
				return 0;
			}
			if (u < f->loss[2] + f->loss[1]) {
				s->loss_state = 1;
				return 0;
			}
			return 1;
		default:
			s->loss_state = 1;
			return 0;
		}
	default:
		return 0;
	}
}

static inline int chance(struct st_imp_fstate *s, uint8_t *last, uint64_t i, uint32_t kind,
			 double p, double rho)
{
	double u;

	if (p <= 0)
		return 0;
	u = st_imp_unif(s->key, i, kind);
	if (i == 0 || rho == 0)
		return (*last = u < p);
	return bernoulli(last, p, rho, u);
}

/* The drawn delay in cycles (>= 0): AR(1) on a latent standard normal,
 * mapped through the distribution (impair_ctl.c: st_imp_variate). */
static inline double draw_delay(const struct st_imp_fault *f, struct st_imp_fstate *s, uint64_t i,
				int first)
{
	double e, z, d;

	if (f->jitter_cyc <= 0)
		return f->delay_cyc;
	e = sqrt(-2 * log(1 - st_imp_unif(s->key, i, ST_DRAW_DELAY_A))) *
	    cos(2 * M_PI * st_imp_unif(s->key, i, ST_DRAW_DELAY_B));
	z = first ? e : f->rho * s->z + f->rho_c * e;
	s->z = z;
	s->z_started = 1;
	d = f->delay_cyc + f->jitter_cyc * st_imp_variate(f, z);
	return d > 0 ? d : 0;
}

/* ---- packet bytes ------------------------------------------------------------------ */

static inline uint8_t *byte_at(struct rte_mbuf *m, uint32_t off)
{
	while (m != NULL && off >= m->data_len) {
		off -= m->data_len;
		m = m->next;
	}
	return m != NULL ? rte_pktmbuf_mtod_offset(m, uint8_t *, off) : NULL;
}

/* Where the IP header starts in the first segment (after up to two VLAN
 * tags), and its version; 0 when there is none within the segment. */
static inline uint32_t ip_offset(struct rte_mbuf *m, uint8_t *ver)
{
	const uint8_t *p = rte_pktmbuf_mtod(m, const uint8_t *);
	uint32_t len = m->data_len, off = 12;
	uint16_t et;

	for (int tags = 0; tags < 3; tags++) {
		if (off + 2 > len)
			return 0;
		et = (uint16_t)(p[off] << 8 | p[off + 1]);
		if (et == 0x8100 || et == 0x88a8 || et == 0x9100) {
			off += 4;
			continue;
		}
		off += 2;
		if (et == 0x0800 && off + 20 <= len && (p[off] >> 4) == 4)
			*ver = 4;
		else if (et == 0x86dd && off + 40 <= len && (p[off] >> 4) == 6)
			*ver = 6;
		else
			return 0;
		return off;
	}
	return 0;
}

/* Set CE on an ECT packet; 0 when it is not ECT (or not IP), and the
 * caller drops it. An already-CE packet stays CE and counts as marked. */
static int ecn_mark(struct rte_mbuf *m)
{
	uint8_t ver = 0;
	uint32_t off = ip_offset(m, &ver);
	uint8_t *ip;

	if (off == 0)
		return 0;
	ip = rte_pktmbuf_mtod_offset(m, uint8_t *, off);
	if (ver == 4) {
		struct rte_ipv4_hdr *h = (struct rte_ipv4_hdr *)ip;
		uint32_t ihl = (uint32_t)(ip[0] & 0x0f) * 4;

		if ((ip[1] & 3) == 0 || ihl < 20 || off + ihl > m->data_len)
			return 0;
		ip[1] |= 3;
		h->hdr_checksum = 0;
		h->hdr_checksum = rte_ipv4_cksum(h);
		return 1;
	}
	if (((ip[1] >> 4) & 3) == 0)
		return 0;
	ip[1] |= 0x30;
	return 1;
}

/* Recompute the IPv4 header and TCP/UDP checksums of what still parses
 * after the flips; lengths are checked against the segment first (a flip
 * may have made them lie). Single-segment frames only. */
static void fix_checksums(struct rte_mbuf *m)
{
	uint8_t ver = 0, proto;
	uint32_t off, l4, l4len;
	uint8_t *ip;

	if (m->nb_segs != 1 || (off = ip_offset(m, &ver)) == 0)
		return;
	ip = rte_pktmbuf_mtod_offset(m, uint8_t *, off);
	if (ver == 4) {
		struct rte_ipv4_hdr *h = (struct rte_ipv4_hdr *)ip;
		uint32_t ihl = (uint32_t)(ip[0] & 0x0f) * 4;
		uint32_t tot = rte_be_to_cpu_16(h->total_length);

		if (ihl < 20 || off + ihl > m->data_len)
			return;
		h->hdr_checksum = 0;
		h->hdr_checksum = rte_ipv4_cksum(h);
		if (tot < ihl || off + tot > m->data_len ||
		    (rte_be_to_cpu_16(h->fragment_offset) & 0x3fff) != 0)
			return;
		proto = h->next_proto_id;
		l4 = off + ihl;
		l4len = tot - ihl;
		if (proto == IPPROTO_TCP && l4len >= 20) {
			struct rte_tcp_hdr *t = rte_pktmbuf_mtod_offset(m, struct rte_tcp_hdr *, l4);

			t->cksum = 0;
			t->cksum = rte_ipv4_udptcp_cksum(h, t);
		} else if (proto == IPPROTO_UDP && l4len >= 8) {
			struct rte_udp_hdr *u = rte_pktmbuf_mtod_offset(m, struct rte_udp_hdr *, l4);

			if (u->dgram_cksum != 0 && rte_be_to_cpu_16(u->dgram_len) == l4len) {
				u->dgram_cksum = 0;
				u->dgram_cksum = rte_ipv4_udptcp_cksum(h, u);
			}
		}
	} else {
		struct rte_ipv6_hdr *h = (struct rte_ipv6_hdr *)ip;

		l4len = rte_be_to_cpu_16(h->payload_len);
		l4 = off + 40;
		if (l4 + l4len > m->data_len)
			return;
		if (h->proto == IPPROTO_TCP && l4len >= 20) {
			struct rte_tcp_hdr *t = rte_pktmbuf_mtod_offset(m, struct rte_tcp_hdr *, l4);

			t->cksum = 0;
			t->cksum = rte_ipv6_udptcp_cksum(h, t);
		} else if (h->proto == IPPROTO_UDP && l4len >= 8 &&
			   rte_be_to_cpu_16(((struct rte_udp_hdr *)(ip + 40))->dgram_len) == l4len) {
			struct rte_udp_hdr *u = rte_pktmbuf_mtod_offset(m, struct rte_udp_hdr *, l4);

			u->dgram_cksum = 0;
			u->dgram_cksum = rte_ipv6_udptcp_cksum(h, u);
		}
	}
}

/* Flip f->corrupt_bits distinct bits at or after corrupt_offset. Returns
 * the number flipped (0: the frame has no byte there). */
static unsigned int corrupt(const struct st_imp_fault *f, struct st_imp_fstate *s, uint64_t i,
			    struct rte_mbuf *m)
{
	uint64_t pos[ST_IMP_MAX_BITS];
	uint64_t nbits;
	unsigned int want, got = 0, attempt = 0;

	if (m->pkt_len <= f->corrupt_offset)
		return 0;
	nbits = (uint64_t)(m->pkt_len - f->corrupt_offset) * 8;
	want = f->corrupt_bits < nbits ? f->corrupt_bits : (unsigned int)nbits;
	while (got < want && attempt < 8u * ST_IMP_MAX_BITS + want) {
		uint64_t p = st_imp_rand(s->key, i, ST_DRAW_BIT + (attempt++ << 8)) % nbits;
		unsigned int k;

		for (k = 0; k < got && pos[k] != p; k++)
			;
		if (k == got)
			pos[got++] = p;
	}
	for (unsigned int k = 0; k < got; k++) {
		uint8_t *b = byte_at(m, f->corrupt_offset + (uint32_t)(pos[k] / 8));

		if (b != NULL)
			*b ^= (uint8_t)(1u << (pos[k] % 8));
	}
	if (f->corrupt_fix)
		fix_checksums(m);
	return got;
}

/* Bytes the packet occupies on the rated link (netem's packet_time_ns). */
static inline double wire_bytes(const struct st_imp_fault *f, uint32_t len)
{
	int64_t b = (int64_t)len + f->overhead;

	if (f->cell_size) {
		int64_t cells = (b + f->cell_size - 1) / f->cell_size;

		b = cells * ((int64_t)f->cell_size + f->cell_overhead);
	}
	return b > 0 ? (double)b : 0;
}

/* ---- the stage ------------------------------------------------------------------------ */

static inline void emit(struct rte_mbuf *m, uint32_t tag, struct rte_mbuf **out, uint32_t *tags,
			uint16_t *no, uint16_t max_out, struct st_fault_stats *st)
{
	if (*no < max_out) {
		out[*no] = m;
		tags[*no] = tag;
		(*no)++;
	} else {
		rte_pktmbuf_free(m);
		if (st != NULL)
			st->overflowed++;
	}
}

/* The due time of a delayed packet (order kept: never before the previous
 * one of the fault; shaper: after the link is free; slotting: at a slot). */
static inline uint64_t due_time(const struct st_imp_fault *f, struct st_imp_fstate *s,
				struct st_fault_stats *st, uint64_t i, uint64_t now, uint32_t len)
{
	double d = draw_delay(f, s, i, !s->z_started);
	uint64_t due = now + (uint64_t)d;

	if (f->reorder_jitter)
		return due;
	if (f->rate_mode == ST_RATE_SHAPE) {
		if (s->last_due > due) {
			due = s->last_due;
			st->rate_limited++;
		}
		due += (uint64_t)(wire_bytes(f, len) * f->cyc_per_byte);
	} else if (s->last_due > due) {
		due = s->last_due;
	}
	if (f->slotting) {
		if (s->slot_start < due) {
			double u = st_imp_unif(s->key, s->slot_draws++, ST_DRAW_SLOT);

			s->slot_start = due + (uint64_t)(f->slot_min_cyc +
							 u * (f->slot_max_cyc - f->slot_min_cyc));
			s->slot_packets_left = f->slot_packets;
			s->slot_bytes_left = (int64_t)f->slot_bytes;
		}
		due = s->slot_start;
		s->slot_packets_left--;
		s->slot_bytes_left -= len;
		if ((f->slot_packets && s->slot_packets_left <= 0) ||
		    (f->slot_bytes && s->slot_bytes_left <= 0)) {
			double u = st_imp_unif(s->key, s->slot_draws++, ST_DRAW_SLOT);

			s->slot_start = due + (uint64_t)(f->slot_min_cyc +
							 u * (f->slot_max_cyc - f->slot_min_cyc));
			s->slot_packets_left = f->slot_packets;
			s->slot_bytes_left = (int64_t)f->slot_bytes;
		}
	}
	s->last_due = due;
	return due;
}

static inline void hold(struct st_impair_worker *w, const struct st_imp_fault *f,
			struct st_fault_stats *st, struct rte_mbuf *m, uint64_t due, uint64_t now,
			uint32_t tag)
{
	int rc = f->reorder_jitter ?
		 st_dl_push_wheel(w->dl, f->slot, f->limit, m, due, now, tag) :
		 st_dl_push_fifo(w->dl, f->slot, f->limit, m, due, now, tag);

	if (rc != 0) {
		rte_pktmbuf_free(m);
		st->overflowed++;
		return;
	}
	{
		const uint64_t ns = (uint64_t)((double)(due - now) * w->ns_per_cycle);

		st->delayed++;
		st->delay_hist[st_imp_bucket(ns)]++;
		st->delay_sum_ns += ns;
		w->samples[w->samples_n++ & (ST_IMP_SAMPLES - 1)] =
			(uint64_t)f->slot << 56 | (ns & ((UINT64_C(1) << 56) - 1));
	}
}

uint16_t st_impair_process(struct st_impair_worker *w, const struct st_fault_table *t,
			   struct rte_mbuf **pkts, const struct st_imp_meta *meta, uint16_t n,
			   uint64_t now, struct rte_mbuf **out, uint32_t *tags, uint16_t max_out)
{
	uint16_t no = 0;

	for (uint16_t k = 0; k < n; k++) {
		struct rte_mbuf *m = pkts[k], *dup = NULL;
		const struct st_imp_fault *f = NULL;
		struct st_imp_fstate *s;
		struct st_fault_stats *st;
		uint32_t tag = meta[k].tag;
		uint64_t i;
		int count;

		for (uint16_t j = 0; t != NULL && j < t->nb; j++)
			if (fault_matches(&t->f[j], &meta[k])) {
				f = &t->f[j];
				break;
			}
		if (f == NULL) {
			emit(m, tag, out, tags, &no, max_out, NULL);
			continue;
		}
		s = &w->fs[f->slot];
		st = &w->stats[f->slot];
		if (!s->valid || s->id != f->id || s->epoch != f->epoch || s->seed != f->seed)
			fstate_reset(s, f, w->stream);
		i = s->index++;
		st->matched++;
		if (f->kind != ST_FAULT_IMPAIR) {
			rte_pktmbuf_free(m);
			st->dropped++;
			continue;
		}
		/* netem's order: a duplicate is decided first, and a loss takes
		 * one of the copies */
		count = 1 + chance(s, &s->dup_last, i, ST_DRAW_DUP, f->duplicate, f->duplicate_corr);
		if (loss_event(f, s, i)) {
			if (f->ecn && ecn_mark(m))
				st->ecn_marked++;
			else
				count--;
		}
		if (count == 0) {
			rte_pktmbuf_free(m);
			st->dropped++;
			continue;
		}
		if (f->rate_mode == ST_RATE_POLICE &&
		    rte_meter_srtcm_color_blind_check(&s->meter, METER_PROFILE(f), now,
						      (uint32_t)wire_bytes(f, m->pkt_len)) !=
		    RTE_COLOR_GREEN) {
			rte_pktmbuf_free(m);
			st->rate_limited++;
			continue;
		}
		if (count == 2) {
			/* copied before corruption, as netem clones before it corrupts */
			dup = rte_pktmbuf_copy(m, m->pool, 0, UINT32_MAX);
			if (dup == NULL)
				st->nomem++;
			else
				st->duplicated++;
		}
		if (chance(s, &s->corrupt_last, i, ST_DRAW_CORRUPT, f->corrupt, f->corrupt_corr) &&
		    corrupt(f, s, i, m) > 0)
			st->corrupted++;
		if (!f->delays) {
			emit(m, tag, out, tags, &no, max_out, st);
			if (dup != NULL)
				emit(dup, tag, out, tags, &no, max_out, st);
			continue;
		}
		if (f->reorder > 0) {
			/* netem: after gap - 1 delayed packets, one goes ahead of the
			 * queue with probability reorder */
			if (s->reorder_count + 1 >= f->gap &&
			    chance(s, &s->reorder_last, i, ST_DRAW_REORDER, f->reorder, f->reorder_corr)) {
				s->reorder_count = 0;
				st->reordered++;
				emit(m, tag, out, tags, &no, max_out, st);
				if (dup != NULL)
					emit(dup, tag, out, tags, &no, max_out, st);
				continue;
			}
			s->reorder_count++;
		}
		{
			uint64_t due = due_time(f, s, st, i, now, m->pkt_len);

			hold(w, f, st, m, due, now, meta[k].held_tag);
			if (dup != NULL)
				hold(w, f, st, dup, due, now, meta[k].held_tag);
		}
	}
	return no;
}

uint16_t st_impair_release(struct st_impair_worker *w, uint64_t now,
			   struct rte_mbuf **out, uint32_t *tags, uint16_t max)
{
	struct st_dl_node nd[ST_DL_BURST];
	uint16_t no = 0;

	while (no < max) {
		const uint16_t want = max - no < ST_DL_BURST ? max - no : ST_DL_BURST;
		const uint16_t k = st_dl_pop_burst(w->dl, now, nd, want);

		for (uint16_t j = 0; j < k; j++) {
			struct st_fault_stats *st = &w->stats[nd[j].slot];
			const uint64_t ns = now > nd[j].due ?
				(uint64_t)((double)(now - nd[j].due) * w->ns_per_cycle) : 0;

			out[no] = nd[j].m;
			tags[no] = nd[j].tag;
			no++;
			st->released++;
			st->release_err_hist[st_imp_bucket(ns)]++;
			st->release_err_sum_ns += ns;
		}
		if (k < want)
			break;
	}
	return no;
}

uint32_t st_impair_delay_samples(const struct st_impair_worker *w, uint16_t slot,
				 uint64_t *out, uint32_t max)
{
	const uint64_t end = __atomic_load_n(&w->samples_n, __ATOMIC_ACQUIRE);
	uint64_t i = end > ST_IMP_SAMPLES ? end - ST_IMP_SAMPLES : 0;
	uint32_t n = 0;

	for (; i < end && n < max; i++) {
		const uint64_t v = w->samples[i & (ST_IMP_SAMPLES - 1)];

		if ((uint16_t)(v >> 56) == slot)
			out[n++] = v & ((UINT64_C(1) << 56) - 1);
	}
	return n;
}

uint64_t st_impair_next_due(const struct st_impair_worker *w)
{
	return st_dl_next_due(w->dl);
}
