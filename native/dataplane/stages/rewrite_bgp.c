/* SPDX-License-Identifier: BSD-3-Clause
 * BGP payloads of the rewrite (rewrite_rt.h, section 10), and the per-worker
 * flow state of message streams over TCP (st_rt_tcp: BGP here, DNS with its
 * own walker in rewrite_dns.c): BGP rides TCP, so a message and any field in it can span
 * segments. Each direction of a session is a flow; its state is the next
 * sequence number expected and the original bytes of the message in
 * progress (at most 4096: RFC 4271's maximum). A segment in order is walked
 * as the continuation of that message, re-reading its earlier bytes from the
 * state, so a field that straddles segments is translated in both.
 *
 * Fields translated (docs/policy.md): OPEN's BGP identifier (router id);
 * UPDATE withdrawn routes and NLRI (IPv4 prefixes), NEXT_HOP, AGGREGATOR and
 * AS4_AGGREGATOR address, ORIGINATOR_ID and CLUSTER_LIST (router ids),
 * IPv4- and IPv6-address-specific extended communities, MP_REACH_NLRI next
 * hops (4, 16 or 32 bytes) and NLRI and MP_UNREACH_NLRI withdrawn routes for
 * AFI 1/2 with SAFI 1/2. Anything else that may hold an address is
 * untranslatable (ST_RT_UNSUPPORTED): other AFI/SAFIs, unknown path
 * attributes, NOTIFICATION data (but Cease's), ROUTE-REFRESH ORFs, UPDATEs on
 * a flow whose OPEN offered to send ADD-PATH, messages over 4096 bytes.
 * KEEPALIVE and the rest of OPEN carry none.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <string.h>

#include <rte_malloc.h>
#include <rte_tcp.h>

#include "rewrite_rt.h"

#define BGP_HDR 19
#define BGP_MSG_MAX ST_RT_MSG_MAX
#define BGP_SETS 32
#define BGP_WAYS 4
#define BGP_SCRATCH 65536

struct st_rt_state {
	uint64_t clock;
	uint64_t evicted[ST_RT_TABLE__COUNT];
	struct st_rt_flow tmp;          /* a stateless walk (retransmission) */
	uint8_t scratch[BGP_SCRATCH]; /* the translated payload of pass 0 */
	uint32_t scratch_len;
	struct st_rt_flow flows[ST_RT_TABLE__COUNT][BGP_SETS * BGP_WAYS];
};

struct st_rt_state *st_rt_state_new(int socket)
{
	return rte_zmalloc_socket("st_rt_state", sizeof(struct st_rt_state),
				  RTE_CACHE_LINE_SIZE, socket);
}

void st_rt_state_free(struct st_rt_state *s)
{
	rte_free(s);
}

void st_rt_state_reset(struct st_rt_state *s)
{
	memset(s, 0, sizeof(*s));
}

uint64_t st_rt_state_evicted(const struct st_rt_state *s, enum st_rt_table table)
{
	if (s == NULL || (unsigned int)table >= ST_RT_TABLE__COUNT)
		return 0;
	return __atomic_load_n(&s->evicted[table], __ATOMIC_RELAXED);
}


/* ---- one message, seen through the bytes of earlier segments ------------ */

struct bgp_view {
	const struct st_rewrite_tables *t;
	const uint8_t *old;   /* the message's bytes [0, have) from earlier segments */
	uint32_t have;
	const uint8_t *seg;   /* its bytes from `have` on, in this segment (original) */
	uint8_t *out;         /* where they are written translated */
	uint32_t end;         /* bytes of the message visible so far */
	uint32_t len;
	uint8_t reason;       /* first enum st_rt_reason (0 = all translated) */
	uint8_t malformed;
	uint8_t addpath;
};

static inline uint8_t vb(const struct bgp_view *v, uint32_t i)
{
	return i < v->have ? v->old[i] : v->seg[i - v->have];
}

static inline uint32_t vb16(const struct bgp_view *v, uint32_t i)
{
	return (uint32_t)vb(v, i) << 8 | vb(v, i + 1);
}

static inline void bv_fail(struct bgp_view *v, uint8_t reason)
{
	if (v->reason == 0)
		v->reason = reason;
}

/* The field [off, off + n) of kind k: translated where this segment holds
 * it (bytes of earlier segments were written with them). */
static void bv_field(struct bgp_view *v, uint32_t off, unsigned int n, enum rt_field k,
		     unsigned int L)
{
	uint8_t in[16], nw[16];
	uint32_t stop, known, from;
	int r;

	if (n == 0 || off + n <= v->have || off >= v->end)
		return;
	stop = off + n < v->end ? off + n : v->end;
	known = stop - off;
	for (uint32_t i = 0; i < known; i++)
		in[i] = vb(v, off + i);
	if (known == n)
		r = st_rt_xlat(v->t, k, in, n, L, nw);
	else
		r = st_rt_partial(v->t, k, in, known, n, L, nw);
	if (r != ST_RT_OK) {
		bv_fail(v, (uint8_t)r);
		return;
	}
	from = off > v->have ? off : v->have;
	for (uint32_t i = from; i < stop; i++)
		v->out[i - v->have] = nw[i - off];
}

/* NLRI of family afi (1, 2) in [a, b). */
static void bv_nlri(struct bgp_view *v, uint32_t a, uint32_t b, unsigned int afi)
{
	const unsigned int max = afi == 1 ? 32 : 128;

	while (a < b && a < v->end) {
		unsigned int L = vb(v, a), n = (L + 7) / 8;

		if (L > max || a + 1 + n > b) {
			v->malformed = 1;
			return;
		}
		bv_field(v, a + 1, n, afi == 1 ? RT_PFX4 : RT_PFX6, L);
		a += 1 + n;
	}
}

static int bv_no_addr_attr(unsigned int type)
{
	/* ORIGIN, AS_PATH, MED, LOCAL_PREF, ATOMIC_AGGREGATE, COMMUNITIES,
	 * AS4_PATH, AIGP, LARGE_COMMUNITY, OTC */
	return type == 1 || type == 2 || type == 4 || type == 5 || type == 6 ||
	       type == 8 || type == 17 || type == 26 || type == 32 || type == 35;
}

static void bv_mp(struct bgp_view *v, uint32_t vs, uint32_t ve, int reach)
{
	unsigned int afi, safi, nhl;
	uint32_t nlri;

	if (vs + 3 > ve) {
		v->malformed = 1;
		return;
	}
	if (vs + 3 > v->end)
		return;
	afi = vb16(v, vs);
	safi = vb(v, vs + 2);
	if ((afi != 1 && afi != 2) || (safi != 1 && safi != 2)) {
		bv_fail(v, ST_RT_UNSUPPORTED);
		return;
	}
	if (!reach) {
		bv_nlri(v, vs + 3, ve, afi);
		return;
	}
	if (vs + 4 > ve) {
		v->malformed = 1;
		return;
	}
	if (vs + 4 > v->end)
		return;
	nhl = vb(v, vs + 3);
	nlri = vs + 4 + nhl + 1;
	if (nlri > ve || !(nhl == 16 || nhl == 32 || (afi == 1 && nhl == 4))) {
		v->malformed = 1;
		return;
	}
	if (nhl == 4)
		bv_field(v, vs + 4, 4, RT_ADDR4, 32);
	else
		for (unsigned int i = 0; i < nhl; i += 16)
			bv_field(v, vs + 4 + i, 16, RT_ADDR6, 128);
	bv_nlri(v, nlri, ve, afi);
}

static void bv_attrs(struct bgp_view *v, uint32_t a, uint32_t b)
{
	while (a < b && a + 2 <= v->end) {
		unsigned int flags = vb(v, a), type = vb(v, a + 1);
		uint32_t hl = (flags & 0x10) ? 4 : 3, vs, ve, alen;

		if (a + hl > b) {
			v->malformed = 1;
			return;
		}
		if (a + hl > v->end)
			return;
		alen = (flags & 0x10) ? vb16(v, a + 2) : vb(v, a + 2);
		vs = a + hl;
		ve = vs + alen;
		if (ve > b) {
			v->malformed = 1;
			return;
		}
		switch (type) {
		case 3:   /* NEXT_HOP */
			if (alen != 4)
				v->malformed = 1;
			bv_field(v, vs, 4, RT_ADDR4, 32);
			break;
		case 7:   /* AGGREGATOR: AS (2 or 4 bytes), address */
			if (alen != 6 && alen != 8)
				v->malformed = 1;
			else
				bv_field(v, ve - 4, 4, RT_RID, 32);
			break;
		case 18:  /* AS4_AGGREGATOR */
			if (alen != 8)
				v->malformed = 1;
			else
				bv_field(v, vs + 4, 4, RT_RID, 32);
			break;
		case 9:   /* ORIGINATOR_ID */
			if (alen != 4)
				v->malformed = 1;
			bv_field(v, vs, 4, RT_RID, 32);
			break;
		case 10:  /* CLUSTER_LIST */
			if (alen % 4 != 0)
				v->malformed = 1;
			for (uint32_t i = 0; i + 4 <= alen; i += 4)
				bv_field(v, vs + i, 4, RT_RID, 32);
			break;
		case 16:  /* extended communities: IPv4-address-specific 0x01/0x41 */
			if (alen % 8 != 0)
				v->malformed = 1;
			for (uint32_t i = 0; i + 8 <= alen && vs + i < v->end; i += 8)
				if ((vb(v, vs + i) & 0xbf) == 0x01)
					bv_field(v, vs + i + 2, 4, RT_ADDR4, 32);
			break;
		case 25:  /* IPv6-address-specific extended communities */
			if (alen % 20 != 0)
				v->malformed = 1;
			for (uint32_t i = 0; i + 20 <= alen && vs + i < v->end; i += 20)
				if ((vb(v, vs + i) & 0xbf) == 0x00)
					bv_field(v, vs + i + 2, 16, RT_ADDR6, 128);
			break;
		case 14:
		case 15:
			bv_mp(v, vs, ve, type == 14);
			break;
		default:
			if (!bv_no_addr_attr(type))
				bv_fail(v, ST_RT_UNSUPPORTED);
			break;
		}
		if (v->malformed)
			return;
		a = ve;
	}
}

static void bv_update(struct bgp_view *v)
{
	uint32_t p = BGP_HDR, wl, al;

	if (v->addpath) {
		bv_fail(v, ST_RT_UNSUPPORTED);
		return;
	}
	if (p + 4 > v->len) {
		v->malformed = 1;
		return;
	}
	if (p + 2 > v->end)
		return;
	wl = vb16(v, p);
	if (p + 2 + wl + 2 > v->len) {
		v->malformed = 1;
		return;
	}
	bv_nlri(v, p + 2, p + 2 + wl, 1);
	if (v->malformed)
		return;
	p += 2 + wl;
	if (p + 2 > v->end)
		return;
	al = vb16(v, p);
	if (p + 2 + al > v->len) {
		v->malformed = 1;
		return;
	}
	bv_attrs(v, p + 2, p + 2 + al);
	if (v->malformed)
		return;
	bv_nlri(v, p + 2 + al, v->len, 1);
}

static void bv_open(struct bgp_view *v)
{
	uint32_t p, e;

	if (v->len < 29) {
		v->malformed = 1;
		return;
	}
	bv_field(v, 24, 4, RT_RID, 32);
	if (v->end < 29)
		return;
	e = 29 + vb(v, 28);
	if (e > v->len) {
		v->malformed = 1;
		return;
	}
	/* optional parameters: capabilities (2) are walked for ADD-PATH (69) */
	for (p = 29; p + 2 <= e && p + 2 <= v->end;) {
		uint32_t pe = p + 2 + vb(v, p + 1);

		if (pe > e) {
			v->malformed = 1;
			return;
		}
		if (vb(v, p) == 2) {
			for (uint32_t q = p + 2; q + 2 <= pe && q + 2 <= v->end;
			     q += 2 + vb(v, q + 1)) {
				uint32_t ce = q + 2 + vb(v, q + 1);

				if (vb(v, q) != 69)
					continue;
				/* (AFI, SAFI, send/receive) entries: this side's
				 * UPDATEs carry path ids only if it offers to send */
				for (uint32_t e = q + 2; e + 4 <= ce && e + 4 <= pe &&
				     e + 4 <= v->end; e += 4)
					if (vb(v, e + 3) & 2)
						v->addpath = 1;
			}
		}
		p = pe;
	}
}

/* One message (its header visible: end >= 19). */
static void bv_message(struct bgp_view *v, unsigned int type)
{
	switch (type) {
	case 1:
		bv_open(v);
		break;
	case 2:
		bv_update(v);
		break;
	case 3:   /* NOTIFICATION: its data may quote anything, but Cease's */
		if (v->len < 21)
			v->malformed = 1;
		else if (v->len > 21 && v->end > 19 && vb(v, 19) != 6)
			bv_fail(v, ST_RT_UNSUPPORTED);
		break;
	case 4:
		if (v->len != BGP_HDR)
			v->malformed = 1;
		break;
	case 5:   /* ROUTE-REFRESH; ORF entries may hold prefixes */
		if (v->len < 23)
			v->malformed = 1;
		else if (v->len > 23)
			bv_fail(v, ST_RT_UNSUPPORTED);
		break;
	default:
		v->malformed = 1;
		break;
	}
}

/* Walk n payload bytes p (original) of flow f, writing the translation to
 * out. Returns 0 or an enum st_rt_reason; f's message state advances (a
 * malformed stream leaves it unsynced). */
static int bgp_walk(const struct st_rewrite_tables *t, struct st_rt_flow *f, const uint8_t *p,
		    uint32_t n, uint8_t *out)
{
	uint32_t pos = 0;
	int reason = 0;

	while (pos < n) {
		struct bgp_view v;
		uint32_t vis = f->have + (n - pos), lim = vis < 19 ? vis : 19;

		memset(&v, 0, sizeof(v));
		v.t = t;
		v.old = f->buf;
		v.have = f->have;
		v.seg = p + pos;
		v.out = out + pos;
		v.addpath = f->addpath;
		for (uint32_t i = 0; i < lim && i < 16; i++)
			if (vb(&v, i) != 0xff)
				goto bad;
		if (vis < 19) {
			memcpy(f->buf + f->have, p + pos, n - pos);
			f->have = vis;
			break;
		}
		v.len = vb16(&v, 16);
		if (v.len < BGP_HDR)
			goto bad;
		if (v.len > BGP_MSG_MAX) {
			f->synced = 0;
			f->have = 0;
			return reason ? reason : ST_RT_UNSUPPORTED;
		}
		v.end = vis < v.len ? vis : v.len;
		bv_message(&v, vb(&v, 18));
		if (v.malformed)
			goto bad;
		f->addpath |= v.addpath;
		if (reason == 0)
			reason = v.reason;
		if (v.end == v.len) {
			pos += v.len - f->have;
			f->have = 0;
		} else {
			memcpy(f->buf + f->have, p + pos, n - pos);
			f->have = v.end;
			pos = n;
		}
	}
	return reason;
bad:
	f->synced = 0;
	f->have = 0;
	return ST_RT_MALFORMED;
}

/* Does the payload start with a BGP header (a message boundary)? */
static int bgp_starts(const uint8_t *p, uint32_t n)
{
	unsigned int len;

	if (n < BGP_HDR)
		return 0;
	for (int i = 0; i < 16; i++)
		if (p[i] != 0xff)
			return 0;
	len = rw_rd16(p + 16);
	return len >= BGP_HDR && p[18] >= 1 && p[18] <= 5;
}

/* ---- the flow table ------------------------------------------------------ */

static uint32_t bgp_hash(const struct st_rt_flow_key *k)
{
	const uint8_t *b = (const uint8_t *)k;
	uint32_t h = 2166136261u;

	for (size_t i = 0; i < sizeof(*k); i++)
		h = (h ^ b[i]) * 16777619u;
	return h;
}

static struct st_rt_flow *bgp_flow(struct st_rt_state *s, enum st_rt_table table,
				   const struct st_rt_flow_key *k, int create)
{
	struct st_rt_flow *set = &s->flows[table][(bgp_hash(k) % BGP_SETS) * BGP_WAYS];
	struct st_rt_flow *victim = NULL;

	s->clock++;
	for (int w = 0; w < BGP_WAYS; w++) {
		struct st_rt_flow *f = &set[w];

		if (f->used && memcmp(&f->key, k, sizeof(*k)) == 0) {
			f->last = s->clock;
			return f;
		}
		if (victim == NULL || !f->used || (victim->used && f->last < victim->last))
			victim = f;
	}
	if (!create)
		return NULL;
	if (victim->used)
		__atomic_store_n(&s->evicted[table], s->evicted[table] + 1, __ATOMIC_RELAXED);
	victim->used = 1;
	victim->key = *k;
	victim->synced = 0;
	victim->addpath = 0;
	victim->have = 0;
	victim->last = s->clock;
	return victim;
}

static enum rw_cp bgp_untr(uint8_t *why, uint8_t reason)
{
	*why = reason;
	return RW_CP_UNTR;
}

static const struct st_rt_proto bgp_proto = { ST_RT_TABLE_BGP, bgp_walk, bgp_starts };

enum rw_cp st_rw_bgp(const struct rw_ctx *c, uint32_t l3, int v6, uint32_t l4,
		     uint32_t dend, int commit, uint32_t *delta, uint8_t *why)
{
	return st_rt_tcp(c, &bgp_proto, l3, v6, l4, dend, commit, delta, why);
}

enum rw_cp st_rt_tcp(const struct rw_ctx *c, const struct st_rt_proto *pr, uint32_t l3,
		     int v6, uint32_t l4, uint32_t dend, int commit, uint32_t *delta,
		     uint8_t *why)
{
	struct st_rt_state *s = c->rt;
	const uint8_t *f = c->f, *tcp = f + l4;
	uint32_t po, n, seq, reason;
	struct st_rt_flow_key k;
	struct st_rt_flow *fl;
	uint8_t flags;

	if (commit) {
		uint32_t d = 0;

		po = l4 + (uint32_t)(tcp[12] >> 4) * 4;
		n = dend - po;
		if (s == NULL || n == 0 || n != s->scratch_len)
			return RW_CP_OK;
		for (uint32_t i = 0; i < n; i += 2) {
			uint16_t o = (uint16_t)(f[po + i] << 8 | (i + 1 < n ? f[po + i + 1] : 0));
			uint16_t w = (uint16_t)(s->scratch[i] << 8 |
						(i + 1 < n ? s->scratch[i + 1] : 0));

			if (o != w)
				rw_cs_acc(&d, rw_cs_word(o, w));
		}
		if (d != 0) {
			memcpy(c->f + po, s->scratch, n);
			c->res->translated = 1;
			rw_cs_acc(delta, rw_cs_parity(d, po - c->cs_base));
		}
		return RW_CP_OK;
	}

	/* the TCP header is in the first segment (rewrite_ip.h checked it) */
	po = l4 + (uint32_t)(tcp[12] >> 4) * 4;
	n = dend > po ? dend - po : 0;
	seq = rw_rd32(tcp + 4);
	flags = tcp[13];
	if (s != NULL)
		s->scratch_len = 0;
	memset(&k, 0, sizeof(k));
	k.v6 = (uint8_t)v6;
	memcpy(k.src, f + l3 + (v6 ? 8 : 12), v6 ? 16 : 4);
	memcpy(k.dst, f + l3 + (v6 ? 24 : 16), v6 ? 16 : 4);
	k.sport = rw_rd16(tcp);
	k.dport = rw_rd16(tcp + 2);
	if (n == 0) {
		if (s == NULL)
			return RW_CP_OK;
		fl = bgp_flow(s, pr->table, &k, (flags & RTE_TCP_SYN_FLAG) != 0);
		if (fl != NULL && (flags & RTE_TCP_SYN_FLAG)) {
			fl->synced = 1;
			fl->have = 0;
			fl->addpath = 0;
			fl->next_seq = seq + 1;
		}
		if (fl != NULL && (flags & (RTE_TCP_RST_FLAG | RTE_TCP_FIN_FLAG)))
			fl->used = 0;
		return RW_CP_OK;
	}
	if (s == NULL)
		return bgp_untr(why, ST_RT_NO_STATE);
	fl = bgp_flow(s, pr->table, &k, 1);
	if (flags & RTE_TCP_SYN_FLAG) {   /* data on a SYN (TFO) */
		fl->synced = 1;
		fl->have = 0;
		fl->next_seq = seq + 1;
		seq++;
	}
	if (po + n > c->seg) {
		/* bytes cut by the snaplen or in a later segment: the stream
		 * cannot be followed past them */
		fl->synced = 0;
		return bgp_untr(why, ST_RT_TRUNCATED);
	}
	if (n > BGP_SCRATCH)
		return bgp_untr(why, ST_RT_TRUNCATED);
	memcpy(s->scratch, f + po, n);
	if (fl->synced && seq == fl->next_seq) {
		reason = (uint32_t)pr->walk(c->t, fl, f + po, n, s->scratch);
		if (reason != ST_RT_MALFORMED)
			fl->next_seq = seq + n;
	} else if (fl->synced && (int32_t)(seq - fl->next_seq) < 0 &&
		   (int32_t)(seq + n - fl->next_seq) <= 0) {
		/* old data again: translated on its own when it starts a message */
		if (!pr->starts(f + po, n))
			return bgp_untr(why, ST_RT_GAP);
		s->tmp.synced = 1;
		s->tmp.have = 0;
		s->tmp.addpath = fl->addpath;
		reason = (uint32_t)pr->walk(c->t, &s->tmp, f + po, n, s->scratch);
	} else if (pr->starts(f + po, n)) {
		/* a message boundary: (re)synchronised here */
		fl->synced = 1;
		fl->have = 0;
		reason = (uint32_t)pr->walk(c->t, fl, f + po, n, s->scratch);
		if (reason != ST_RT_MALFORMED)
			fl->next_seq = seq + n;
	} else {
		reason = fl->synced ? ST_RT_GAP : ST_RT_NO_STATE;
		fl->synced = 0;
	}
	if (flags & (RTE_TCP_RST_FLAG | RTE_TCP_FIN_FLAG))
		fl->used = 0;
	if (reason != 0)
		return bgp_untr(why, (uint8_t)reason);
	s->scratch_len = n;
	return RW_CP_OK;
}
