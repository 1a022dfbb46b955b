/* SPDX-License-Identifier: BSD-3-Clause
 * The measure stage's per-packet work (fast path: no locks, allocation,
 * logging or system calls). For each packet: its time, a bounds-checked
 * parse (first segment only: headers a driver splits across segments are
 * counted as malformed and not read), per class counters, and for TCP the
 * flow table: handshake RTT, timestamp RTT (pping's way), retransmissions,
 * out-of-order segments, resets, zero windows. Production packets also go
 * through the detectors (measure_detect.c).
 *
 * Definitions (docs/measurement.md): per direction the flow keeps the
 * highest sequence end seen and one hole (the gap the last jump left). A
 * segment with data wholly at or below the highest end is a retransmission
 * unless it falls in the hole, which makes it out of order. Handshake RTT
 * is skipped when the SYN or SYN/ACK was seen twice (Karn). The timestamp
 * RTT keeps the newest TSval per direction with the time it was first seen
 * until the other side echoes it (a sample); an echo past it (the value was
 * never echoed as such) drops it unsampled.
 */
#include <rte_branch_prediction.h>
#include <rte_byteorder.h>
#include <rte_cycles.h>
#include <rte_mbuf.h>
#include <rte_mbuf_dyn.h>

#include <rte_acl.h>

#include "measure_int.h"
#include "classify.h"
#include "flight.h"

/* Packets classified per rte_acl call (the key array lives on the stack). */
#define ST_MEAS_CLS_CHUNK 32

struct st_measure *st_measure_cur;

static const uint64_t hist_bounds_us[ST_MEAS_HIST_BUCKETS] = ST_MEAS_HIST_BOUNDS_US;

static inline uint16_t
rd16(const uint8_t *p)
{
	return (uint16_t)(p[0] << 8 | p[1]);
}

static inline uint32_t
rd32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

/* Sequence arithmetic (RFC 1982). */
static inline int
seq_lt(uint32_t a, uint32_t b)
{
	return (int32_t)(a - b) < 0;
}

static inline int
seq_le(uint32_t a, uint32_t b)
{
	return (int32_t)(a - b) <= 0;
}

static void
hist_add(struct st_meas_hist *h, uint64_t ns)
{
	const uint64_t us = ns / 1000;
	unsigned int i = 0;

	while (i < ST_MEAS_HIST_BUCKETS && us > hist_bounds_us[i])
		i++;
	h->bucket[i]++;
	h->count++;
	h->sum_ns += ns;
}

static inline uint64_t
pkt_time(const struct st_measure *ms, struct st_meas_worker *w, const struct rte_mbuf *m,
	 uint16_t port_id, uint64_t tsc_ns)
{
	if (port_id < RTE_MAX_ETHPORTS && ms->ts_offset >= 0 && ms->port_ns[port_id] != 0 && (m->ol_flags & ms->ts_flag) != 0) {
		w->ts_rx++;
		return *RTE_MBUF_DYNFIELD(m, ms->ts_offset, const rte_mbuf_timestamp_t *) *
			ms->port_ns[port_id];
	}
	w->ts_tsc++;
	return tsc_ns;
}

/* Parse what the first segment holds. Returns 0 when L2 is unreadable. */
static int
parse(const struct rte_mbuf *m, struct st_meas_pkt *p)
{
	const uint8_t *d = rte_pktmbuf_mtod(m, const uint8_t *);
	uint32_t have = rte_pktmbuf_data_len(m), off = 14, ihl, tot;
	uint16_t et;
	int vlans = 0;

	p->len = rte_pktmbuf_pkt_len(m);
	p->eth = d;
	p->l3 = p->l4 = NULL;
	p->mproto = ST_MPROTO_OTHER;
	p->proto = 0;
	p->sport = p->dport = 0;
	if (have < 14)
		return 0;
	et = rd16(d + 12);
	while ((et == 0x8100 || et == 0x88a8) && vlans < 2) {
		if (have < off + 4)
			return 0;
		et = rd16(d + off + 2);
		off += 4;
		vlans++;
	}
	p->l3 = d + off;
	p->l3_len = have - off;
	if (et == 0x0806) {
		p->mproto = ST_MPROTO_ARP;
		return 1;
	}
	if (et == 0x0800) {
		p->mproto = ST_MPROTO_OTHER_IP;
		if (p->l3_len < 20 || (p->l3[0] >> 4) != 4)
			goto bad_l3;
		ihl = (uint32_t)(p->l3[0] & 0xf) * 4;
		tot = rd16(p->l3 + 2);
		if (ihl < 20 || tot < ihl || tot > p->l3_len)
			goto bad_l3;
		p->v6 = 0;
		p->proto = p->l3[9];
		memset(p->src, 0, 16);
		memset(p->dst, 0, 16);
		memcpy(p->src, p->l3 + 12, 4);
		memcpy(p->dst, p->l3 + 16, 4);
		/* Later fragments carry no L4 header. */
		if ((rd16(p->l3 + 6) & 0x1fff) != 0)
			return 1;
		p->l4 = p->l3 + ihl;
		p->l4_len = tot - ihl;
	} else if (et == 0x86dd) {
		p->mproto = ST_MPROTO_OTHER_IP;
		if (p->l3_len < 40 || (p->l3[0] >> 4) != 6)
			goto bad_l3;
		tot = rd16(p->l3 + 4);
		if (40 + tot > p->l3_len)
			goto bad_l3;
		p->v6 = 1;
		/* Extension headers are not walked: their packets count as other_ip. */
		p->proto = p->l3[6];
		memcpy(p->src, p->l3 + 8, 16);
		memcpy(p->dst, p->l3 + 24, 16);
		p->l4 = p->l3 + 40;
		p->l4_len = tot;
	} else {
		p->l3 = NULL;
		return 1;
	}
	switch (p->proto) {
	case 6:
		if (p->l4_len < 20 || (uint32_t)(p->l4[12] >> 4) * 4 < 20 ||
		    (uint32_t)(p->l4[12] >> 4) * 4 > p->l4_len)
			goto bad_l4;
		p->mproto = ST_MPROTO_TCP;
		p->payload_len = p->l4_len - (uint32_t)(p->l4[12] >> 4) * 4;
		break;
	case 17:
		if (p->l4_len < 8)
			goto bad_l4;
		p->mproto = ST_MPROTO_UDP;
		p->payload_len = p->l4_len - 8;
		break;
	case 1:
	case 58:
		if (p->l4_len < 4)
			goto bad_l4;
		p->mproto = ST_MPROTO_ICMP;
		return 1;
	default:
		p->l4 = NULL;
		return 1;
	}
	p->sport = rd16(p->l4);
	p->dport = rd16(p->l4 + 2);
	return 1;
bad_l4:
	p->l4 = NULL;
	return 2;
bad_l3:
	p->l3 = NULL;
	return 2;
}

static inline int
prefix_match(const uint8_t *addr, const uint8_t *pfx, uint8_t len)
{
	uint8_t full = len / 8, rest = len % 8;

	if (memcmp(addr, pfx, full) != 0)
		return 0;
	if (rest == 0)
		return 1;
	return ((addr[full] ^ pfx[full]) & (uint8_t)(0xff << (8 - rest))) == 0;
}

/* The VM an address belongs to on this side, or nb_vms (other). First
 * listed wins (the schema orders hosts before prefixes). */
static inline uint8_t
vm_of(const struct st_meas_conf *c, uint8_t side, const uint8_t *addr, uint8_t v6)
{
	uint16_t i;

	for (i = 0; i < c->nb_vms; i++)
		if (c->vm[i].v6 == v6 && prefix_match(addr, c->vm[i].addr[side], c->vm[i].len[side]))
			return (uint8_t)i;
	return (uint8_t)c->nb_vms;
}

/* A VM for a packet: its destination's if that is one, else its source's. */
static inline uint8_t
vm_of_pkt(const struct st_meas_conf *c, uint8_t side, const struct st_meas_pkt *p)
{
	uint8_t v;

	if (p->l3 == NULL || p->mproto == ST_MPROTO_ARP)
		return (uint8_t)c->nb_vms;
	v = vm_of(c, side, p->dst, p->v6);
	return v != c->nb_vms ? v : vm_of(c, side, p->src, p->v6);
}

/* Find or make the flow of a TCP packet; *dir is 0 for a->b, *created set
 * for a new entry. A full set evicts its least recently seen entry. */
static struct st_meas_flow *
flow_get(const struct st_measure *ms, struct st_meas_worker *w, uint8_t side,
	 const struct st_meas_pkt *p, int *dir, int *created)
{
	const int alen = p->v6 ? 16 : 4;
	int c = memcmp(p->src, p->dst, alen);
	const uint8_t *a, *b;
	uint16_t pa, pb;
	uint32_t h, set, i;
	struct st_meas_flow *f, *victim = NULL;

	if (c < 0 || (c == 0 && p->sport <= p->dport)) {
		a = p->src; b = p->dst; pa = p->sport; pb = p->dport; *dir = 0;
	} else {
		a = p->dst; b = p->src; pa = p->dport; pb = p->sport; *dir = 1;
	}
	h = st_meas_hash(a, (uint32_t)alen, 2166136261u ^ side);
	h = st_meas_hash(b, (uint32_t)alen, h);
	h = st_meas_hash((const uint8_t *)&pa, 2, h);
	h = st_meas_hash((const uint8_t *)&pb, 2, h);
	set = (h & (ms->conf.flows / ST_MEAS_WAYS - 1)) * ST_MEAS_WAYS;
	for (i = 0; i < ST_MEAS_WAYS; i++) {
		f = &w->flows[set + i];
		if (f->state == ST_FLOW_FREE) {
			if (victim == NULL || victim->state != ST_FLOW_FREE)
				victim = f;
			continue;
		}
		if (f->side == side && f->v6 == p->v6 && f->pa == pa && f->pb == pb &&
		    memcmp(f->a, a, alen) == 0 && memcmp(f->b, b, alen) == 0) {
			if (p->ns - f->last_ns <= ms->conf.flow_idle_ns || p->ns < f->last_ns)
				return f;
			/* Aged out: this packet starts a new flow in its place. */
			w->flows_expired++;
			w->flows_active--;
			f->state = ST_FLOW_FREE;
			victim = f;
			break;
		}
		if (victim == NULL ||
		    (victim->state != ST_FLOW_FREE && f->last_ns < victim->last_ns))
			victim = f;
	}
	if (victim->state != ST_FLOW_FREE) {
		if (p->ns - victim->last_ns > ms->conf.flow_idle_ns && p->ns >= victim->last_ns)
			w->flows_expired++;
		else
			w->flows_evicted++;
		w->flows_active--;
	}
	f = victim;
	memset(f, 0, sizeof(*f));
	memcpy(f->a, a, alen);
	memcpy(f->b, b, alen);
	f->pa = pa;
	f->pb = pb;
	f->side = side;
	f->v6 = p->v6;
	f->state = ST_FLOW_EST;
	w->flows_active++;
	w->flows_created++;
	*created = 1;
	return f;
}

/* The TCP timestamps option's TSval and TSecr; 0 when absent. */
static int
tcp_ts(const uint8_t *th, uint32_t *val, uint32_t *ecr)
{
	const uint32_t hl = (uint32_t)(th[12] >> 4) * 4;
	uint32_t o = 20;

	while (o < hl) {
		const uint8_t kind = th[o];

		if (kind == 0)
			break;
		if (kind == 1) {
			o++;
			continue;
		}
		if (o + 1 >= hl || th[o + 1] < 2 || o + th[o + 1] > hl)
			break;
		if (kind == 8 && th[o + 1] == 10) {
			*val = rd32(th + o + 2);
			*ecr = rd32(th + o + 6);
			return 1;
		}
		o += th[o + 1];
	}
	return 0;
}

static void
tcp_packet(const struct st_measure *ms, struct st_meas_worker *w, uint8_t side,
	   const struct st_meas_pkt *p, struct st_meas_vm_ctr *pv)
{
	const uint8_t *th = p->l4;
	const uint8_t fl = th[13];
	const int syn = fl & 0x02, ack = fl & 0x10, rst = fl & 0x04, fin = fl & 0x01;
	const uint32_t seq = rd32(th + 4), ackno = rd32(th + 8);
	const uint32_t seglen = p->payload_len + (syn ? 1 : 0) + (fin ? 1 : 0);
	const uint32_t end = seq + seglen;
	struct st_meas_vm_ctr *fv;
	struct st_meas_flow *f;
	uint32_t tsval, tsecr;
	int dir, d, created = 0;

	if (rst)
		pv->tcp[ST_MTCP_RST]++;
	else if (rd16(th + 14) == 0)
		pv->tcp[ST_MTCP_ZERO_WIN]++;
	if (syn && !ack)
		pv->tcp[ST_MTCP_SYN]++;
	else if (syn)
		pv->tcp[ST_MTCP_SYNACK]++;
	if (side == ST_MEAS_PRODUCTION && syn)
		st_meas_detect_syn(ms, w, p, ack != 0);

	f = flow_get(ms, w, side, p, &dir, &created);
	if (created) {
		/* New: the flow's VM is the server's (the SYN's destination) when
		 * known, else the packet's. */
		f->vm = (uint8_t)(pv - &w->side[side][0]);
		w->side[side][f->vm].tcp[ST_MTCP_FLOWS]++;
		if (syn && !ack) {
			f->state = ST_FLOW_SYN;
			f->syn_ns = p->ns;
			if (dir == 1)
				f->flags |= ST_FF_CLIENT_B;
		}
	}
	f->last_ns = p->ns;
	fv = &w->side[side][f->vm];
	d = (f->flags & ST_FF_CLIENT_B) ? !dir : dir;   /* 0: client to server */

	/* Handshake. */
	if (syn && !ack) {
		if (f->state == ST_FLOW_SYN && p->ns != f->syn_ns && d == 0)
			f->flags |= ST_FF_SYN_RETX;
	} else if (syn && ack) {
		if (f->state == ST_FLOW_SYN && d == 1) {
			f->state = ST_FLOW_SYNACK;
			f->synack_ns = p->ns;
			f->synack_seq = seq;
			if (!(f->flags & ST_FF_SYN_RETX) && p->ns >= f->syn_ns)
				hist_add(&fv->rtt[ST_RTT_SYN], p->ns - f->syn_ns);
		} else if (f->state == ST_FLOW_SYNACK && d == 1) {
			f->flags |= ST_FF_SYN_RETX;
		}
	} else if (ack && f->state == ST_FLOW_SYNACK && d == 0 && ackno == f->synack_seq + 1) {
		f->state = ST_FLOW_EST;
		if (!(f->flags & ST_FF_SYN_RETX) && p->ns >= f->synack_ns)
			hist_add(&fv->rtt[ST_RTT_ACK], p->ns - f->synack_ns);
	}

	/* Sequence space, per direction (dir: 0 is a->b). */
	if (!rst) {
		const uint8_t known = dir ? ST_FF_SEQ1 : ST_FF_SEQ0;

		if (!(f->flags & known)) {
			f->flags |= known;
			f->next[dir] = end;
		} else if (seglen != 0) {
			if (seq_lt(f->next[dir], end)) {
				if (seq_lt(f->next[dir], seq)) {
					/* A jump: remember the hole it leaves. */
					f->hole_lo[dir] = f->next[dir];
					f->hole_hi[dir] = seq;
				}
				f->next[dir] = end;
			} else if (f->hole_lo[dir] != f->hole_hi[dir] &&
				   seq_le(f->hole_lo[dir], seq) && seq_le(end, f->hole_hi[dir])) {
				fv->tcp[ST_MTCP_OOO]++;
				if (seq == f->hole_lo[dir])
					f->hole_lo[dir] = end;
				else if (end == f->hole_hi[dir])
					f->hole_hi[dir] = seq;
				else
					f->hole_lo[dir] = f->hole_hi[dir] = 0;
			} else {
				fv->tcp[ST_MTCP_RETRANS]++;
			}
		}
	}

	/* Timestamp RTT: this direction's TSval waits for the other's echo. */
	if (tcp_ts(th, &tsval, &tsecr)) {
		const uint8_t mine = dir ? ST_FF_TS1 : ST_FF_TS0;
		const uint8_t theirs = dir ? ST_FF_TS0 : ST_FF_TS1;

		if ((f->flags & theirs) && ack) {
			if (tsecr == f->ts_val[!dir]) {
				if (p->ns >= f->ts_ns[!dir])
					hist_add(&fv->rtt[ST_RTT_TS], p->ns - f->ts_ns[!dir]);
				f->flags &= (uint8_t)~theirs;
			} else if (seq_lt(f->ts_val[!dir], tsecr)) {
				f->flags &= (uint8_t)~theirs;
			}
		}
		/* The newest TSval replaces one still waiting: the peer echoes
		 * the latest in-order value, so the older one would never match. */
		if (tsval != 0 && (f->ts_val[dir] == 0 || seq_lt(f->ts_val[dir], tsval))) {
			f->ts_val[dir] = tsval;
			f->ts_ns[dir] = p->ns;
			f->flags |= mine;
		}
	}
	if (rst) {
		/* A reset flow is over: its entry is free at once. */
		f->state = ST_FLOW_FREE;
		w->flows_active--;
	}
}

/* Each packet's application class (measurement.classes): the policy
 * classifier's own key and an rte_acl context of the classes' rules, so a
 * class means here what `app:` means in a filter. Result: class index, or
 * nb_classes ("other"). */
static void
classify(const struct st_measure *ms, struct rte_mbuf *const *pkts, uint16_t n, uint8_t *cls)
{
	struct st_key keys[ST_MEAS_CLS_CHUNK];
	const uint8_t *kp[ST_MEAS_CLS_CHUNK];
	uint32_t res[ST_MEAS_CLS_CHUNK];
	uint16_t i, k = 0;

	for (i = 0; i < n; i++) {
		if (pkts[i] == NULL)
			continue;
		st_key_parse(&keys[k], rte_pktmbuf_mtod(pkts[i], const uint8_t *),
			     rte_pktmbuf_data_len(pkts[i]));
		kp[k] = (const uint8_t *)&keys[k];
		k++;
	}
	if (k == 0 || rte_acl_classify(ms->class_acl, kp, res, k, 1) != 0) {
		for (i = 0; i < k; i++)
			res[i] = 0;
	}
	for (i = 0, k = 0; i < n; i++) {
		if (pkts[i] == NULL)
			continue;
		cls[i] = res[k] != 0 && res[k] <= ms->conf.nb_classes ? (uint8_t)(res[k] - 1) :
			 (uint8_t)ms->conf.nb_classes;
		k++;
	}
}

void
st_measure_burst(struct st_measure *ms, uint16_t worker, uint8_t side, uint16_t port_id,
		 struct rte_mbuf *const *pkts, uint16_t n)
{
	struct st_meas_worker *w = worker < ST_MAX_WORKERS ? ms->w[worker] : NULL;
	const struct st_meas_conf *c = &ms->conf;
	struct st_flight_slot *fs = st_flight_slot(worker);
	const struct st_flight_mark was = st_flight_save(fs);
	uint8_t cls[ST_MEAS_CLS_CHUNK];
	uint64_t tsc_ns;
	uint16_t i;

	if (unlikely(w == NULL))
		return;
	/* One TSC read per burst: packets timed by the TSC share their burst's time. */
	tsc_ns = (uint64_t)(((unsigned __int128)rte_rdtsc() * ms->ns_mult) >> 32) + ms->tsc_epoch_ns;
	for (i = 0; i < n; i++) {
		const struct rte_mbuf *m = pkts[i];
		struct st_meas_pkt p;
		struct st_meas_vm_ctr *v;
		int r;

		if (ms->class_acl != NULL && i % ST_MEAS_CLS_CHUNK == 0)
			classify(ms, pkts + i, (uint16_t)RTE_MIN(n - i, ST_MEAS_CLS_CHUNK), cls);
		if (m == NULL)
			continue;
		st_flight_at(fs, ST_FLIGHT_MEASURE, m);
		st_test_crash_check_at(ST_FLIGHT_MEASURE, m);
		p.ns = pkt_time(ms, w, m, port_id, tsc_ns);
		r = parse(m, &p);
		if (r != 1)
			w->malformed++;
		v = &w->side[side][vm_of_pkt(c, side, &p)];
		v->packets[p.mproto]++;
		v->bytes[p.mproto] += p.len;
		if (ms->class_acl != NULL) {
			v->cls_packets[cls[i % ST_MEAS_CLS_CHUNK]]++;
			v->cls_bytes[cls[i % ST_MEAS_CLS_CHUNK]] += p.len;
		}
		if (r == 0)
			continue;
		if (p.mproto == ST_MPROTO_TCP)
			tcp_packet(ms, w, side, &p, v);
		if (side == ST_MEAS_PRODUCTION)
			st_meas_detect(ms, w, &p);
	}
	st_flight_restore(fs, was);
}
