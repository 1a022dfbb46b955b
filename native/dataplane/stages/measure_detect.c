/* SPDX-License-Identifier: BSD-3-Clause
 * The data-plane detectors (fast path), on production packets only: ARP
 * spoofing (new station, changed station, flip-flop: arpwatch's words) and
 * gratuitous ARP storms; rogue DHCP servers, DHCPv6 servers and IPv6 router
 * advertisements against allow lists; port and host scans (distinct ports on
 * one host, distinct hosts on one port, from one source, in a window: Zeek's
 * model); SYN floods (SYNs against SYN/ACKs per destination). Why here and
 * not in the supervisor: docs/decisions.md.
 *
 * Each finding is an event in this worker's ring (one writer; readers check
 * each slot's sequence number before and after copying it, so a slot being
 * rewritten is seen as lost, never half read). Tables are fixed size, 4-way
 * sets; a full set replaces its oldest entry. Times are packet times.
 */
#include <rte_branch_prediction.h>

#include "measure_int.h"

static inline uint16_t
rd16(const uint8_t *p)
{
	return (uint16_t)(p[0] << 8 | p[1]);
}

struct st_meas_event *
st_meas_event_begin(struct st_meas_worker *w)
{
	const uint64_t seq = ++w->ev_seq;
	struct st_meas_event *e = &w->ring[seq % ST_MEAS_EVENTS];

	__atomic_store_n(&e->seq, 0, __ATOMIC_RELAXED);
	__atomic_thread_fence(__ATOMIC_RELEASE);
	memset((uint8_t *)e + sizeof(e->seq), 0, sizeof(*e) - sizeof(e->seq));
	return e;
}

void
st_meas_event_end(struct st_meas_worker *w, struct st_meas_event *e)
{
	__atomic_store_n(&e->seq, w->ev_seq, __ATOMIC_RELEASE);
}

/* Reported already within repeat_ns? Otherwise remember it now. */
static int
seen_recently(const struct st_measure *ms, struct st_meas_worker *w, uint8_t det,
	      const uint8_t *addr, uint64_t ns)
{
	struct st_meas_seen *old = &w->seen[0];
	unsigned int i;

	for (i = 0; i < ST_MEAS_SEEN_SLOTS; i++) {
		struct st_meas_seen *s = &w->seen[i];

		if (s->used && s->detector == det && memcmp(s->addr, addr, 16) == 0) {
			if (ns >= s->last_ns && ns - s->last_ns < ms->conf.repeat_ns)
				return 1;
			s->last_ns = ns;
			return 0;
		}
		if (!s->used || (old->used && s->last_ns < old->last_ns))
			old = s;
	}
	old->used = 1;
	old->detector = det;
	memcpy(old->addr, addr, 16);
	old->last_ns = ns;
	return 0;
}

static int
allowed(const uint8_t (*list)[16], uint16_t n, const uint8_t *addr)
{
	uint16_t i;

	for (i = 0; i < n; i++)
		if (memcmp(list[i], addr, 16) == 0)
			return 1;
	return 0;
}

static void
rogue(const struct st_measure *ms, struct st_meas_worker *w, const struct st_meas_pkt *p,
      uint8_t det, const uint8_t *server, uint8_t v6, uint32_t msg_type)
{
	struct st_meas_event *e;
	uint8_t key[16] = { 0 };

	memcpy(key, server, v6 ? 16 : 4);
	if (seen_recently(ms, w, det, key, p->ns))
		return;
	e = st_meas_event_begin(w);
	e->detector = det;
	e->severity = ST_SEV_CRITICAL;
	e->ts_ns = p->ns;
	e->window_ns = ms->conf.repeat_ns;
	e->v6 = v6;
	e->count = 1;
	e->extra = msg_type;
	memcpy(e->addr[0], key, 16);
	memcpy(e->addr[1], p->dst, 16);
	memcpy(e->mac[0], p->eth + 6, 6);
	st_meas_event_end(w, e);
}

static void
arp_packet(const struct st_measure *ms, struct st_meas_worker *w, const struct st_meas_pkt *p)
{
	const struct st_meas_conf *c = &ms->conf;
	const uint8_t *a = p->l3, *sha, *spa;
	struct st_meas_arp *set, *hit = NULL, *old;
	uint32_t ip, i;
	struct st_meas_event *e;

	if (p->l3_len < 28 || rd16(a) != 1 || rd16(a + 2) != 0x0800 || a[4] != 6 || a[5] != 4)
		return;
	sha = a + 8;
	spa = a + 14;
	memcpy(&ip, spa, 4);
	if (ip == 0)
		return;  /* a probe (RFC 5227) claims nothing */
	if (c->det_on[ST_DET_GARP_STORM] && memcmp(spa, a + 24, 4) == 0) {
		if (p->ns < w->garp_start_ns || p->ns - w->garp_start_ns >= 1000000000ull) {
			w->garp_start_ns = p->ns;
			w->garp_count = 0;
			w->garp_fired = 0;
		}
		if (++w->garp_count >= c->garp_per_s && !w->garp_fired) {
			w->garp_fired = 1;
			e = st_meas_event_begin(w);
			e->detector = ST_DET_GARP_STORM;
			e->severity = ST_SEV_WARNING;
			e->ts_ns = p->ns;
			e->window_ns = p->ns - w->garp_start_ns;
			e->count = w->garp_count;
			e->threshold = c->garp_per_s;
			memcpy(e->addr[0], spa, 4);
			memcpy(e->mac[0], sha, 6);
			st_meas_event_end(w, e);
		}
	}
	if (!c->det_on[ST_DET_ARP_SPOOF])
		return;
	set = &w->arp[(st_meas_hash(spa, 4, 2166136261u) & (ST_MEAS_ARP_SETS - 1)) * ST_MEAS_WAYS];
	old = &set[0];
	for (i = 0; i < ST_MEAS_WAYS; i++) {
		if (set[i].ip == ip) {
			hit = &set[i];
			break;
		}
		if (set[i].ip == 0 || (old->ip != 0 && set[i].last_ns < old->last_ns))
			old = &set[i];
	}
	if (hit == NULL) {
		hit = old;
		hit->ip = ip;
		memcpy(hit->mac, sha, 6);
		hit->has_prev = 0;
		hit->last_ns = p->ns;
		if (!c->arp_new_station)
			return;
		e = st_meas_event_begin(w);
		e->extra = ST_ARP_NEW_STATION;
		e->severity = ST_SEV_INFO;
	} else {
		uint8_t key[16];

		hit->last_ns = p->ns;
		if (memcmp(hit->mac, sha, 6) == 0)
			return;
		/* The same change (IP, new MAC, old MAC) is reported once per
		 * repeat_ns: a station flapping between two MACs is one finding
		 * per kind, not one per ARP. The binding follows every change. */
		memcpy(key, spa, 4);
		memcpy(key + 4, sha, 6);
		memcpy(key + 10, hit->mac, 6);
		if (seen_recently(ms, w, ST_DET_ARP_SPOOF, key, p->ns)) {
			memcpy(hit->prev, hit->mac, 6);
			hit->has_prev = 1;
			memcpy(hit->mac, sha, 6);
			return;
		}
		e = st_meas_event_begin(w);
		if (hit->has_prev && memcmp(hit->prev, sha, 6) == 0) {
			e->extra = ST_ARP_FLIP_FLOP;
			e->severity = ST_SEV_CRITICAL;
		} else {
			e->extra = ST_ARP_CHANGED;
			e->severity = ST_SEV_WARNING;
		}
		memcpy(e->mac[1], hit->mac, 6);
		memcpy(hit->prev, hit->mac, 6);
		hit->has_prev = 1;
		memcpy(hit->mac, sha, 6);
	}
	e->detector = ST_DET_ARP_SPOOF;
	e->ts_ns = p->ns;
	e->count = 1;
	memcpy(e->addr[0], spa, 4);
	memcpy(e->mac[0], sha, 6);
	st_meas_event_end(w, e);
}

static void
dhcp_packet(const struct st_measure *ms, struct st_meas_worker *w, const struct st_meas_pkt *p)
{
	const uint8_t *d = p->l4 + 8, *server = p->src;
	const uint32_t n = p->payload_len;
	uint32_t o = 240, type = 0;
	uint8_t list_key[16] = { 0 };

	if (n < 240 || d[236] != 0x63 || d[237] != 0x82 || d[238] != 0x53 || d[239] != 0x63)
		return;
	while (o < n && d[o] != 255) {
		if (d[o] == 0) {
			o++;
			continue;
		}
		if (o + 1 >= n || o + 2 + d[o + 1] > n)
			break;
		if (d[o] == 53 && d[o + 1] == 1)
			type = d[o + 2];
		else if (d[o] == 54 && d[o + 1] == 4)
			server = d + o + 2;
		o += 2u + d[o + 1];
	}
	if (type != 2 && type != 5)
		return;  /* only offers and acks speak for a server */
	memcpy(list_key, server, 4);
	if (allowed((const uint8_t (*)[16])ms->conf.dhcp_allow, ms->conf.nb_dhcp_allow, list_key))
		return;
	rogue(ms, w, p, ST_DET_ROGUE_DHCP, list_key, 0, type);
}

static void
scan_track(const struct st_measure *ms, struct st_meas_worker *w, const struct st_meas_pkt *p,
	   int hosts)
{
	const struct st_meas_conf *c = &ms->conf;
	struct st_meas_scan *set, *s = NULL, *old;
	uint8_t key2[16] = { 0 };
	const uint32_t thr = hosts ? c->scan_hosts : c->scan_ports;
	uint32_t val, h, i;
	struct st_meas_event *e;

	if (hosts) {
		key2[0] = (uint8_t)(p->dport >> 8);
		key2[1] = (uint8_t)p->dport;
		val = st_meas_hash(p->dst, 16, 2166136261u);
	} else {
		memcpy(key2, p->dst, 16);
		val = p->dport;
	}
	h = st_meas_hash(p->src, 16, 2166136261u ^ (uint32_t)hosts);
	h = st_meas_hash(key2, 16, h);
	set = &(hosts ? w->hscan : w->pscan)[(h & (ST_MEAS_SCAN_SETS - 1)) * ST_MEAS_WAYS];
	old = &set[0];
	for (i = 0; i < ST_MEAS_WAYS; i++) {
		if (set[i].used && set[i].v6 == p->v6 && memcmp(set[i].src, p->src, 16) == 0 &&
		    memcmp(set[i].key2, key2, 16) == 0) {
			s = &set[i];
			break;
		}
		if (!set[i].used || (old->used && set[i].start_ns < old->start_ns))
			old = &set[i];
	}
	if (s == NULL || p->ns < s->start_ns || p->ns - s->start_ns > c->scan_window_ns) {
		if (s == NULL) {
			s = old;
			memcpy(s->src, p->src, 16);
			memcpy(s->key2, key2, 16);
			s->v6 = p->v6;
			s->used = 1;
		}
		s->start_ns = p->ns;
		s->nb = 0;
		s->fired = 0;
	}
	if (s->fired)
		return;
	for (i = 0; i < s->nb; i++)
		if (s->vals[i] == val)
			return;
	if (s->nb < ST_MEAS_SCAN_MAX)
		s->vals[s->nb++] = val;
	if (s->nb < thr)
		return;
	s->fired = 1;
	e = st_meas_event_begin(w);
	e->detector = hosts ? ST_DET_HOST_SCAN : ST_DET_PORT_SCAN;
	e->severity = ST_SEV_WARNING;
	e->ts_ns = p->ns;
	e->window_ns = p->ns - s->start_ns;
	e->count = s->nb;
	e->threshold = thr;
	e->v6 = p->v6;
	memcpy(e->addr[0], p->src, 16);
	memcpy(e->addr[1], p->dst, 16);   /* host scan: the last host tried */
	e->port = p->dport;
	if (!hosts) {
		e->nb_values = (uint8_t)RTE_MIN(s->nb, 16u);
		for (i = 0; i < e->nb_values; i++)
			e->values[i] = (uint16_t)s->vals[i];
	}
	st_meas_event_end(w, e);
}

void
st_meas_detect_syn(const struct st_measure *ms, struct st_meas_worker *w,
		   const struct st_meas_pkt *p, int synack)
{
	const struct st_meas_conf *c = &ms->conf;
	const uint8_t *dst = synack ? p->src : p->dst;
	struct st_meas_syn *set, *s = NULL, *old;
	struct st_meas_event *e;
	uint32_t i;

	if (!c->det_on[ST_DET_SYN_FLOOD])
		return;
	set = &w->syn[(st_meas_hash(dst, 16, 2166136261u) & (ST_MEAS_SYN_SETS - 1)) * ST_MEAS_WAYS];
	old = &set[0];
	for (i = 0; i < ST_MEAS_WAYS; i++) {
		if (set[i].used && set[i].v6 == p->v6 && memcmp(set[i].dst, dst, 16) == 0) {
			s = &set[i];
			break;
		}
		if (!set[i].used || (old->used && set[i].start_ns < old->start_ns))
			old = &set[i];
	}
	if (s == NULL) {
		if (synack)
			return;  /* answers to SYNs not counted here */
		s = old;
		memcpy(s->dst, dst, 16);
		s->v6 = p->v6;
		s->used = 1;
		s->start_ns = p->ns;
		s->syns = s->synacks = 0;
		s->fired = 0;
	} else if (p->ns < s->start_ns || p->ns - s->start_ns > c->syn_window_ns) {
		s->start_ns = p->ns;
		s->syns = s->synacks = 0;
		s->fired = 0;
	}
	if (synack) {
		s->synacks++;
		return;
	}
	s->syns++;
	s->port = p->dport;
	if (s->fired || s->syns < c->syn_min ||
	    (uint64_t)s->synacks * 100 >= (uint64_t)s->syns * c->syn_ratio_pct)
		return;
	s->fired = 1;
	e = st_meas_event_begin(w);
	e->detector = ST_DET_SYN_FLOOD;
	e->severity = ST_SEV_CRITICAL;
	e->ts_ns = p->ns;
	e->window_ns = p->ns - s->start_ns;
	e->count = s->syns;
	e->extra = s->synacks;
	e->threshold = c->syn_min;
	e->v6 = p->v6;
	memcpy(e->addr[0], p->src, 16);   /* the last source seen */
	memcpy(e->addr[1], dst, 16);
	e->port = p->dport;
	st_meas_event_end(w, e);
}

void
st_meas_detect(const struct st_measure *ms, struct st_meas_worker *w, const struct st_meas_pkt *p)
{
	const struct st_meas_conf *c = &ms->conf;

	switch (p->mproto) {
	case ST_MPROTO_ARP:
		arp_packet(ms, w, p);
		return;
	case ST_MPROTO_TCP:
		if ((p->l4[13] & 0x12) == 0x02) {
			if (c->det_on[ST_DET_PORT_SCAN])
				scan_track(ms, w, p, 0);
			if (c->det_on[ST_DET_HOST_SCAN])
				scan_track(ms, w, p, 1);
		}
		return;
	case ST_MPROTO_UDP:
		if (!p->v6 && p->sport == 67 && p->dport == 68 && c->det_on[ST_DET_ROGUE_DHCP])
			dhcp_packet(ms, w, p);
		else if (p->v6 && p->sport == 547 && p->dport == 546 &&
			 c->det_on[ST_DET_ROGUE_DHCPV6] && p->payload_len >= 4 &&
			 (p->l4[8] == 2 || p->l4[8] == 7) &&
			 !allowed((const uint8_t (*)[16])c->dhcp6_allow, c->nb_dhcp6_allow, p->src))
			rogue(ms, w, p, ST_DET_ROGUE_DHCPV6, p->src, 1, p->l4[8]);
		return;
	case ST_MPROTO_ICMP:
		if (p->v6 && p->proto == 58 && p->l4[0] == 134 && c->det_on[ST_DET_ROGUE_RA] &&
		    !allowed((const uint8_t (*)[16])c->ra_allow, c->nb_ra_allow, p->src))
			rogue(ms, w, p, ST_DET_ROGUE_RA, p->src, 1, 134);
		return;
	default:
		return;
	}
}
