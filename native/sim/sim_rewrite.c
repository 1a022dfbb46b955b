/* SPDX-License-Identifier: BSD-3-Clause
 * net_shadowsim's rewrites, as the NIC executes them per packet: header
 * fields set or modified (with incremental checksum updates, RFC 1624: a
 * checksum that was right stays right, one that was wrong stays wrong),
 * VLAN push/pop, encapsulation and decapsulation, MARK/FLAG and the RSS
 * hash. sim_node.c decides which rule runs; this file does what its
 * instructions say.
 */
#include <string.h>

#include <ethdev_driver.h>
#include <rte_thash.h>

#include "sim.h"
#include "sim_node.h"

/* ---- checksums -------------------------------------------------------------- */

static uint32_t sum16(const uint8_t *p, size_t n)
{
	uint32_t s = 0;
	size_t i;

	for (i = 0; i + 1 < n; i += 2)
		s += (uint32_t)(p[i] << 8 | p[i + 1]);
	if (n & 1)
		s += (uint32_t)p[n - 1] << 8;
	return s;
}

static uint16_t fold(uint32_t s)
{
	while (s >> 16)
		s = (s & 0xffff) + (s >> 16);
	return (uint16_t)s;
}

/* RFC 1624 eqn. 3: HC' = ~(~HC + ~m + m'), over folded 16-bit sums. */
static void csum_adjust(uint8_t *csum, uint32_t old_sum, uint32_t new_sum, bool udp)
{
	uint16_t hc = be16at(csum);
	uint32_t s;
	uint16_t r;

	if (udp && hc == 0)
		return; /* UDP over IPv4 without checksum stays without */
	s = (uint16_t)~hc + (uint16_t)~fold(old_sum) + fold(new_sum);
	r = (uint16_t)~fold(s);
	if (udp && r == 0)
		r = 0xffff;
	csum[0] = (uint8_t)(r >> 8);
	csum[1] = (uint8_t)r;
}

static void ipv4_full_csum(uint8_t *ip)
{
	uint16_t hl = (uint16_t)((ip[0] & 0x0f) * 4);
	uint16_t c;

	ip[10] = 0;
	ip[11] = 0;
	c = (uint16_t)~fold(sum16(ip, hl));
	ip[10] = (uint8_t)(c >> 8);
	ip[11] = (uint8_t)c;
}

/* The L4 checksum that covers the field, or NULL. */
static uint8_t *l4_csum(uint8_t *d, const struct st_sim_level *l, bool *udp)
{
	*udp = false;
	switch (l->l4) {
	case IPPROTO_TCP:
		return d + l->l4_off + 16;
	case IPPROTO_UDP:
		*udp = l->l3 == 4;
		return d + l->l4_off + 6;
	case IPPROTO_ICMPV6:
		return d + l->l4_off + 2;
	default:
		return NULL;
	}
}

/*
 * Writes len bytes at off and fixes the checksums that cover them: the IPv4
 * header checksum when the bytes are in the IPv4 header, the L4 checksum when
 * they are in the pseudo-header (addresses) or in the L4 header (ports).
 */
static void write_field(uint8_t *d, const struct st_sim_level *l, uint16_t off, const uint8_t *val, uint16_t len,
			bool in_ip_hdr, bool in_pseudo, bool in_l4_hdr)
{
	uint8_t *csum = NULL;
	uint32_t old_ip = 0, new_ip = 0, old_l4 = 0, new_l4 = 0;
	uint16_t ws = 0, we = 0;
	bool udp = false;

	if (in_ip_hdr && l->l3 == 4) {
		ws = (uint16_t)(l->l3_off + ((off - l->l3_off) & ~1u));
		we = (uint16_t)(l->l3_off + ((off + len - l->l3_off + 1) & ~1u));
		old_ip = sum16(d + ws, we - ws);
	}
	if (in_pseudo || in_l4_hdr) {
		csum = l4_csum(d, l, &udp);
		if (csum != NULL && in_pseudo && l->l4 == IPPROTO_ICMP)
			csum = NULL;
		if (csum != NULL)
			old_l4 = sum16(d + off, len);
	}
	memcpy(d + off, val, len);
	if (in_ip_hdr && l->l3 == 4) {
		new_ip = sum16(d + ws, we - ws);
		csum_adjust(d + l->l3_off + 10, old_ip, new_ip, false);
	}
	if (csum != NULL) {
		new_l4 = sum16(d + off, len);
		csum_adjust(csum, old_l4, new_l4, udp);
	}
}

/* ---- rewrites ------------------------------------------------------------- */

struct fieldloc {
	uint16_t off, len;
	bool ip, pseudo, l4;
};

/* Where each field lives: the layer it needs, its offset in that layer's
 * header and its length, and the checksums it takes part in (IPv4 header,
 * L4 pseudo-header, L4 header). */
enum { NEED_ETH = 1, NEED_IPV4, NEED_IPV6, NEED_TCP_UDP };
static const struct {
	uint8_t need, off, len;
	bool ip, pseudo, l4;
} FIELD_AT[] = {
	[ST_SIM_F_MAC_DST] = { NEED_ETH, 0, 6, false, false, false },
	[ST_SIM_F_MAC_SRC] = { NEED_ETH, 6, 6, false, false, false },
	[ST_SIM_F_IPV4_SRC] = { NEED_IPV4, 12, 4, true, true, false },
	[ST_SIM_F_IPV4_DST] = { NEED_IPV4, 16, 4, true, true, false },
	[ST_SIM_F_IPV6_SRC] = { NEED_IPV6, 8, 16, false, true, false },
	[ST_SIM_F_IPV6_DST] = { NEED_IPV6, 24, 16, false, true, false },
	[ST_SIM_F_TP_SRC] = { NEED_TCP_UDP, 0, 2, false, false, true },
	[ST_SIM_F_TP_DST] = { NEED_TCP_UDP, 2, 2, false, false, true },
	[ST_SIM_F_IPV4_TTL] = { NEED_IPV4, 8, 1, true, false, false },
	[ST_SIM_F_IPV6_HOPLIMIT] = { NEED_IPV6, 7, 1, false, false, false },
};

static bool locate(const struct st_sim_layers *L, enum st_sim_field f, struct fieldloc *loc)
{
	const struct st_sim_level *l = &L->lv[0];
	uint16_t base;

	memset(loc, 0, sizeof(*loc));
	/* TTL and hop limit are one field to the NIC: whichever the packet has. */
	if (f == ST_SIM_F_IPV4_TTL && l->l3 == 6)
		f = ST_SIM_F_IPV6_HOPLIMIT;
	else if (f == ST_SIM_F_IPV6_HOPLIMIT && l->l3 == 4)
		f = ST_SIM_F_IPV4_TTL;
	if ((unsigned int)f >= RTE_DIM(FIELD_AT) || FIELD_AT[f].need == 0)
		return false;
	switch (FIELD_AT[f].need) {
	case NEED_ETH:
		if (!l->eth)
			return false;
		base = l->eth_off;
		break;
	case NEED_IPV4:
	case NEED_IPV6:
		if (l->l3 != (FIELD_AT[f].need == NEED_IPV4 ? 4 : 6))
			return false;
		base = l->l3_off;
		break;
	default:
		if (l->l4 != IPPROTO_TCP && l->l4 != IPPROTO_UDP)
			return false;
		base = l->l4_off;
		break;
	}
	loc->off = (uint16_t)(base + FIELD_AT[f].off);
	loc->len = FIELD_AT[f].len;
	loc->ip = FIELD_AT[f].ip;
	loc->pseudo = FIELD_AT[f].pseudo;
	loc->l4 = FIELD_AT[f].l4;
	return true;
}

/* A packet we may write: not shared with anyone else. */
static struct rte_mbuf *own(struct rte_mbuf *m, struct rte_mempool *pool)
{
	struct rte_mbuf *c;

	if (RTE_MBUF_DIRECT(m) && rte_mbuf_refcnt_read(m) == 1)
		return m;
	c = rte_pktmbuf_copy(m, pool, 0, UINT32_MAX);
	if (c == NULL)
		return m;
	rte_pktmbuf_free(m);
	return c;
}

static struct rte_mbuf *headroom(struct rte_mbuf *m, struct rte_mempool *pool, uint16_t need)
{
	struct rte_mbuf *c;

	if (rte_pktmbuf_headroom(m) >= need)
		return m;
	/* a fresh copy starts with RTE_PKTMBUF_HEADROOM in front */
	c = rte_pktmbuf_copy(m, pool, 0, UINT32_MAX);
	if (c == NULL || rte_pktmbuf_headroom(c) < need) {
		if (c != NULL)
			rte_pktmbuf_free(c);
		return NULL;
	}
	rte_pktmbuf_free(m);
	return c;
}

/* Applies one rewrite; returns the (possibly new) mbuf, NULL if it had to be dropped. */
struct rte_mbuf *st_sim_apply(struct st_sim_exec *x, const struct st_sim_op *op, struct rte_mbuf *m)
{
	struct st_sim_layers L;
	struct fieldloc loc;
	uint8_t *d;

	m = own(m, x->pool);
	st_sim_parse(m, &L);
	d = rte_pktmbuf_mtod(m, uint8_t *);
	switch (op->kind) {
	case ST_SIM_OP_SET:
		if (locate(&L, op->u.set.field, &loc))
			write_field(d, &L.lv[0], loc.off, op->u.set.value, loc.len, loc.ip, loc.pseudo, loc.l4);
		return m;
	case ST_SIM_OP_COPY_FIELD: {
		struct fieldloc from;
		uint8_t tmp[16];

		if (locate(&L, op->u.set.from, &from) && locate(&L, op->u.set.field, &loc) && from.len == loc.len) {
			memcpy(tmp, d + from.off, from.len);
			write_field(d, &L.lv[0], loc.off, tmp, loc.len, loc.ip, loc.pseudo, loc.l4);
		}
		return m;
	}
	case ST_SIM_OP_DEC_TTL:
		if (locate(&L, ST_SIM_F_IPV4_TTL, &loc) && d[loc.off] > 0) {
			uint8_t t = (uint8_t)(d[loc.off] - 1);

			write_field(d, &L.lv[0], loc.off, &t, 1, loc.ip, false, false);
		}
		return m;
	case ST_SIM_OP_SET_DSCP: {
		const struct st_sim_level *l = &L.lv[0];

		if (l->l3 == 4) {
			uint8_t tos = (uint8_t)((op->u.dscp << 2) | (d[l->l3_off + 1] & 0x03));

			write_field(d, l, (uint16_t)(l->l3_off + 1), &tos, 1, true, false, false);
		} else if (l->l3 == 6) {
			uint32_t w = (uint32_t)d[l->l3_off] << 24 | (uint32_t)d[l->l3_off + 1] << 16;

			w = (w & ~(0x3fu << 22)) | ((uint32_t)op->u.dscp << 22);
			d[l->l3_off] = (uint8_t)(w >> 24);
			d[l->l3_off + 1] = (uint8_t)(w >> 16);
		}
		return m;
	}
	case ST_SIM_OP_PUSH_VLAN: {
		uint16_t tci = 0;
		uint8_t *n;

		if (!L.lv[0].eth)
			return m;
		if (L.lv[0].nvlan > 0)
			tci = be16at(d + L.lv[0].tci_off[0]); /* the new tag starts as a copy of the outer one */
		m = headroom(m, x->pool, 4);
		if (m == NULL)
			return NULL;
		n = (uint8_t *)rte_pktmbuf_prepend(m, 4);
		if (n == NULL) {
			rte_pktmbuf_free(m);
			return NULL;
		}
		memmove(n, n + 4, 12);
		n[12] = (uint8_t)(op->u.tpid >> 8);
		n[13] = (uint8_t)op->u.tpid;
		n[14] = (uint8_t)(tci >> 8);
		n[15] = (uint8_t)tci;
		return m;
	}
	case ST_SIM_OP_SET_VLAN_VID:
	case ST_SIM_OP_SET_VLAN_PCP:
		if (L.lv[0].nvlan > 0) {
			uint8_t *t = d + L.lv[0].tci_off[0];
			uint16_t tci = be16at(t);

			if (op->kind == ST_SIM_OP_SET_VLAN_VID)
				tci = (uint16_t)((tci & 0xf000) | (op->u.vid & 0x0fff));
			else
				tci = (uint16_t)((tci & 0x1fff) | (op->u.pcp << 13));
			t[0] = (uint8_t)(tci >> 8);
			t[1] = (uint8_t)tci;
		}
		return m;
	case ST_SIM_OP_POP_VLAN:
		if (L.lv[0].nvlan > 0) {
			memmove(d + 4, d, 12);
			rte_pktmbuf_adj(m, 4);
		}
		return m;
	case ST_SIM_OP_ENCAP: {
		uint16_t hl = op->u.encap.len;
		uint32_t total;
		uint8_t *n;

		m = headroom(m, x->pool, hl);
		if (m == NULL) {
			x->sd->xs.encap_failed++;
			return NULL;
		}
		n = (uint8_t *)rte_pktmbuf_prepend(m, hl);
		if (n == NULL) {
			rte_pktmbuf_free(m);
			return NULL;
		}
		memcpy(n, op->u.encap.data, hl);
		total = rte_pktmbuf_pkt_len(m);
		if (op->u.encap.l3 == 4) {
			uint8_t *ip = n + op->u.encap.l3_off;
			uint16_t tl = (uint16_t)(total - op->u.encap.l3_off);

			ip[2] = (uint8_t)(tl >> 8);
			ip[3] = (uint8_t)tl;
			ipv4_full_csum(ip);
		} else if (op->u.encap.l3 == 6) {
			uint8_t *ip = n + op->u.encap.l3_off;
			uint16_t pl = (uint16_t)(total - op->u.encap.l3_off - 40);

			ip[4] = (uint8_t)(pl >> 8);
			ip[5] = (uint8_t)pl;
		}
		if (op->u.encap.l4_off != 0) {
			uint8_t *u = n + op->u.encap.l4_off;
			uint16_t ul = (uint16_t)(total - op->u.encap.l4_off);

			u[4] = (uint8_t)(ul >> 8);
			u[5] = (uint8_t)ul;
			u[6] = 0; /* the outer UDP checksum of a tunnel is left zero */
			u[7] = 0;
		}
		return m;
	}
	default:
		return m;
	}
}

void st_sim_count(struct st_sim_counter *c, const struct rte_mbuf *m)
{
	__atomic_fetch_add(&c->hits, 1, __ATOMIC_RELAXED);
	__atomic_fetch_add(&c->bytes, rte_pktmbuf_pkt_len(m), __ATOMIC_RELAXED);
}

void st_sim_mark(struct rte_mbuf *m, uint32_t id, bool with_id)
{
	m->ol_flags |= RTE_MBUF_F_RX_FDIR;
	if (with_id) {
		m->hash.fdir.hi = id;
		m->ol_flags |= RTE_MBUF_F_RX_FDIR_ID;
	}
}

uint16_t st_sim_rss_queue(struct rte_mbuf *m, const uint8_t *key, const uint16_t *queues, uint16_t n)
{
	const uint8_t *d = rte_pktmbuf_mtod(m, const uint8_t *);
	uint32_t tuple[RTE_THASH_V6_L4_LEN];
	uint32_t len = 0, h = 0;
	struct st_sim_layers L;

	st_sim_parse(m, &L);
	if (L.lv[0].l3 == 4) {
		const uint8_t *ip = d + L.lv[0].l3_off;

		/* byte by byte: the IPv4 header is 2-byte aligned at best (14-byte Ethernet header) */
		for (int i = 0; i < 2; i++)
			tuple[i] = (uint32_t)be16at(ip + 12 + 4 * i) << 16 | be16at(ip + 14 + 4 * i);
		len = 2;
	} else if (L.lv[0].l3 == 6) {
		const uint8_t *ip = d + L.lv[0].l3_off + 8;

		for (int i = 0; i < 8; i++)
			tuple[i] = (uint32_t)ip[4 * i] << 24 | (uint32_t)ip[4 * i + 1] << 16 |
				   (uint32_t)ip[4 * i + 2] << 8 | ip[4 * i + 3];
		len = 8;
	}
	if (len > 0 && (L.lv[0].l4 == IPPROTO_TCP || L.lv[0].l4 == IPPROTO_UDP || L.lv[0].l4 == IPPROTO_SCTP)) {
		const uint8_t *p = d + L.lv[0].l4_off;

		tuple[len++] = (uint32_t)be16at(p) << 16 | be16at(p + 2);
	}
	if (len > 0)
		h = rte_softrss(tuple, len, key);
	m->hash.rss = h;
	m->ol_flags |= RTE_MBUF_F_RX_RSS_HASH;
	return queues[h % n];
}

