/* SPDX-License-Identifier: BSD-3-Clause
 * OSPF payloads of the rewrite (rewrite_rt.h, section 10): OSPFv2 (RFC 2328,
 * NSSA RFC 3101) and OSPFv3 (RFC 5340). Stateless: one packet is one
 * datagram, handled in two passes like DHCP (pass 0 checks and decides,
 * pass 1 writes), so a copy that is not sent is never modified.
 *
 * OSPFv2 fields (docs/policy.md): header router id; hello DR, BDR
 * (addresses) and neighbours (router ids); LSA headers in database
 * descriptions, LS requests, LS updates and LS acks: link state id (router
 * id for router and ASBR-summary LSAs, address for network LSAs, prefix with
 * the LSA's mask for summary and external LSAs when the body is there, else
 * address) and advertising router; router-LSA links (p2p and virtual: the
 * neighbour's router id and the interface address; transit: the DR's and
 * the interface address; stub: the network as a prefix with its mask);
 * network-LSA attached routers; external/NSSA forwarding addresses. Every
 * LSA's Fletcher checksum is recomputed (an LSA whose checksum did not
 * verify is malformed), and the OSPF checksum adjusted. Untranslatable:
 * opaque and unknown LSA bodies (UNSUPPORTED), cryptographic authentication
 * (AUTH), fragments, packets not all in the first segment.
 *
 * An LSA header without its body (DD, LS ack) keeps its checksum: it names
 * the production instance, which the replica, holding the translated LSA
 * with another checksum, treats as a different instance and requests.
 */
#include <string.h>

#include "rewrite_rt.h"

struct ospf_w {
	const struct rw_ctx *c;
	uint8_t *f;
	uint32_t base;       /* where the OSPF packet starts (checksum parity) */
	int commit;
	uint8_t reason;
	uint32_t delta;
};

static void ow_fail(struct ospf_w *w, uint8_t reason)
{
	if (w->reason == 0)
		w->reason = reason;
}

/* The field at off (n bytes; prefix of L bits for RT_PFX*). */
static void ow_field(struct ospf_w *w, uint32_t off, unsigned int n, enum rt_field k,
		     unsigned int L)
{
	uint8_t nw[16], *p = w->f + off;
	int r = st_rt_xlat(w->c->t, k, p, n, L, nw);

	if (r != ST_RT_OK) {
		ow_fail(w, (uint8_t)r);
		return;
	}
	if (!w->commit || memcmp(nw, p, n) == 0)
		return;
	if (n % 2 == 0) {
		rw_cs_acc(&w->delta, rw_cs_parity(rw_cs_bytes(p, nw, n), off - w->base));
	} else {
		/* an odd-length prefix: the last byte with a zero after it */
		uint8_t a[18] = { 0 }, b[18] = { 0 };

		memcpy(a, p, n);
		memcpy(b, nw, n);
		rw_cs_acc(&w->delta, rw_cs_parity(rw_cs_bytes(a, b, n + 1), off - w->base));
	}
	memcpy(p, nw, n);
	w->c->res->translated = 1;
}

/* ---- OSPFv2 --------------------------------------------------------------- */

/* The link state id of an LSA header at h; mask < 0: no body here. */
static void o2_lsid(struct ospf_w *w, uint32_t h, int masklen)
{
	switch (w->f[h + 3]) {
	case 1:
	case 4:
		ow_field(w, h + 4, 4, RT_RID, 32);
		break;
	case 2:
		ow_field(w, h + 4, 4, RT_ADDR4, 32);
		break;
	case 3:
	case 5:
	case 7:
		if (masklen >= 0)
			ow_field(w, h + 4, 4, RT_PFX4, (unsigned int)masklen);
		else
			ow_field(w, h + 4, 4, RT_ADDR4, 32);
		break;
	default:   /* opaque (9-11): type and id, not an address */
		break;
	}
	ow_field(w, h + 8, 4, RT_RID, 32);
}

/* One LSA at h of len bytes (checked: 20 <= len, within the packet). */
static int o2_lsa(struct ospf_w *w, uint32_t h, uint32_t len)
{
	uint8_t *f = w->f;
	uint16_t old_ck = rw_rd16(f + h + 16);
	int ml = -1;

	if (!w->commit && !st_rt_fletcher_ok(f + h, len))
		return -1;
	switch (f[h + 3]) {
	case 1: {   /* router LSA */
		uint32_t nl, i = h + 24;

		if (len < 24)
			return -1;
		nl = rw_rd16(f + h + 22);
		for (uint32_t k = 0; k < nl; k++) {
			uint32_t ll;

			if (i + 12 > h + len)
				return -1;
			ll = 12 + (uint32_t)f[i + 9] * 4;
			if (i + ll > h + len)
				return -1;
			switch (f[i + 8]) {
			case 1:
			case 4:
				ow_field(w, i, 4, RT_RID, 32);
				ow_field(w, i + 4, 4, RT_ADDR4, 32);
				break;
			case 2:
				ow_field(w, i, 4, RT_ADDR4, 32);
				ow_field(w, i + 4, 4, RT_ADDR4, 32);
				break;
			case 3:
				ml = st_rt_masklen(rw_rd32(f + i + 4));
				if (ml < 0)
					return -1;
				ow_field(w, i, 4, RT_PFX4, (unsigned int)ml);
				break;
			default:
				return -1;
			}
			i += ll;
		}
		ml = -1;
		break;
	}
	case 2:     /* network LSA: mask, attached routers */
		if (len < 24 || (len - 24) % 4 != 0)
			return -1;
		for (uint32_t i = h + 24; i < h + len; i += 4)
			ow_field(w, i, 4, RT_RID, 32);
		break;
	case 3:
	case 4:
		if (len < 28)
			return -1;
		ml = st_rt_masklen(rw_rd32(f + h + 20));
		if (ml < 0)
			return -1;
		break;
	case 5:
	case 7:     /* external: mask, then (E/TOS, metric, forwarding, tag) */
		if (len < 36 || (len - 24) % 12 != 0)
			return -1;
		ml = st_rt_masklen(rw_rd32(f + h + 20));
		if (ml < 0)
			return -1;
		for (uint32_t i = h + 24; i < h + len; i += 12)
			ow_field(w, i + 4, 4, RT_ADDR4, 32);
		break;
	default:
		ow_fail(w, ST_RT_UNSUPPORTED);
		return 0;
	}
	o2_lsid(w, h, f[h + 3] == 4 ? -1 : ml);
	if (w->commit) {
		uint16_t ck = st_rt_fletcher(f + h, len);

		if (ck != old_ck) {
			rw_cs_acc(&w->delta, rw_cs_parity(rw_cs_word(old_ck, ck), h + 16 - w->base));
			rw_wr16(f + h + 16, ck);
		}
	}
	return 0;
}

/* The LSAs of an LS update (the count word at i, the packet ending at e),
 * each through its version's lsa(): -1 when their lengths do not add up.
 * The LSA header's length field sits at the same offset in v2 and v3. */
static int ospf_update(struct ospf_w *w, uint32_t i, uint32_t e,
		       int (*lsa)(struct ospf_w *, uint32_t, uint32_t))
{
	uint32_t nb = rw_rd32(w->f + i);

	for (i += 4; nb > 0 && i < e; nb--) {
		uint32_t ll;

		if (i + 20 > e)
			return -1;
		ll = rw_rd16(w->f + i + 18);
		if (ll < 20 || i + ll > e || lsa(w, i, ll) < 0)
			return -1;
		i += ll;
	}
	return 0;
}

enum rw_cp st_rw_ospf2(const struct rw_ctx *c, uint32_t o, uint32_t dend, int commit,
		       uint8_t *why)
{
	struct ospf_w w = { .c = c, .f = c->f, .base = o, .commit = commit };
	uint8_t *f = c->f;
	uint32_t len, e, i;

	if (o + 24 > dend)
		return RW_CP_BAD;
	if (o + 24 > c->seg || dend > c->seg) {
		*why = (uint8_t)ST_RT_TRUNCATED;
		return RW_CP_UNTR;
	}
	len = rw_rd16(f + o + 2);
	if (f[o] != 2 || len < 24 || o + len > dend)
		return RW_CP_BAD;
	e = o + len;
	if (rw_rd16(f + o + 14) == 2) {
		*why = (uint8_t)ST_RT_AUTH;
		return RW_CP_UNTR;
	}
	if (rw_rd16(f + o + 14) > 2)
		return RW_CP_BAD;
	ow_field(&w, o + 4, 4, RT_RID, 32);
	i = o + 24;
	switch (f[o + 1]) {
	case 1:   /* hello */
		if (len < 44 || (len - 44) % 4 != 0)
			return RW_CP_BAD;
		ow_field(&w, i + 12, 4, RT_ADDR4, 32);
		ow_field(&w, i + 16, 4, RT_ADDR4, 32);
		for (i += 20; i < e; i += 4)
			ow_field(&w, i, 4, RT_RID, 32);
		break;
	case 2:   /* database description: LSA headers */
		if (len < 32 || (len - 32) % 20 != 0)
			return RW_CP_BAD;
		for (i += 8; i < e; i += 20)
			o2_lsid(&w, i, -1);
		break;
	case 3:   /* LS request: (type, id, advertising router) */
		if ((len - 24) % 12 != 0)
			return RW_CP_BAD;
		for (; i < e; i += 12) {
			/* the same fields as in an LSA header, at other offsets */
			switch (f[i + 3]) {
			case 1:
			case 4:
				ow_field(&w, i + 4, 4, RT_RID, 32);
				break;
			case 2:
			case 3:
			case 5:
			case 7:
				ow_field(&w, i + 4, 4, RT_ADDR4, 32);
				break;
			default:
				break;
			}
			ow_field(&w, i + 8, 4, RT_RID, 32);
		}
		break;
	case 4:   /* LS update */
		if (len < 28 || ospf_update(&w, i, e, o2_lsa) < 0)
			return RW_CP_BAD;
		break;
	case 5:   /* LS ack */
		if ((len - 24) % 20 != 0)
			return RW_CP_BAD;
		for (; i < e; i += 20)
			o2_lsid(&w, i, -1);
		break;
	default:
		return RW_CP_BAD;
	}
	if (w.reason != 0) {
		*why = (uint8_t)w.reason;
		return RW_CP_UNTR;
	}
	/* The checksum covers the packet but the 8-byte authentication field
	 * (type 0 and 1); every change above was at an even offset. */
	if (commit && rw_cs_fold(w.delta) != 0)
		rw_cs_apply(f + o + 12, w.delta);
	return RW_CP_OK;
}

/* ---- OSPFv3 --------------------------------------------------------------- */

/* A prefix (RFC 5340 A.4.1) at p: length, options, 2 bytes, then
 * ceil(len/32) words. Returns its size, 0 when malformed. */
static uint32_t o3_prefix(struct ospf_w *w, uint32_t p, uint32_t end)
{
	unsigned int L;
	uint32_t sz;

	if (p + 4 > end)
		return 0;
	L = w->f[p];
	if (L > 128)
		return 0;
	sz = 4 + (L + 31) / 32 * 4;
	if (p + sz > end)
		return 0;
	ow_field(w, p + 4, (L + 7) / 8, RT_PFX6, L);
	return sz;
}

static int o3_lsa(struct ospf_w *w, uint32_t h, uint32_t len)
{
	uint8_t *f = w->f;
	uint16_t old_ck = rw_rd16(f + h + 16), type = rw_rd16(f + h + 2) & 0x1fff;
	uint32_t e = h + len, i, sz;

	if (!w->commit && !st_rt_fletcher_ok(f + h, len))
		return -1;
	ow_field(w, h + 8, 4, RT_RID, 32);   /* advertising router */
	switch (type) {
	case 1:   /* router: links (type, 0, metric, if id, nbr if id, nbr router) */
		if (len < 24 || (len - 24) % 16 != 0)
			return -1;
		for (i = h + 24; i < e; i += 16)
			ow_field(w, i + 12, 4, RT_RID, 32);
		break;
	case 2:   /* network: options, attached routers */
		if (len < 24 || (len - 24) % 4 != 0)
			return -1;
		for (i = h + 24; i < e; i += 4)
			ow_field(w, i, 4, RT_RID, 32);
		break;
	case 3:   /* inter-area prefix: 0, metric, prefix */
		if (len < 28 || (sz = o3_prefix(w, h + 24, e)) == 0)
			return -1;
		break;
	case 4:   /* inter-area router: options, metric, destination router id */
		if (len < 32)
			return -1;
		ow_field(w, h + 28, 4, RT_RID, 32);
		break;
	case 5:
	case 7: { /* AS-external / NSSA: flags+metric, prefix, [fwd], [tag], [ref id] */
		uint8_t fl;

		if (len < 28)
			return -1;
		fl = f[h + 20];
		if ((sz = o3_prefix(w, h + 24, e)) == 0)
			return -1;
		i = h + 24 + sz;
		if (fl & 0x02) {   /* F: forwarding address (E 0x04, T 0x01) */
			if (i + 16 > e)
				return -1;
			ow_field(w, i, 16, RT_ADDR6, 128);
		}
		break;
	}
	case 8: { /* link: priority, options, link-local address, #prefixes, prefixes */
		uint32_t nb;

		if (len < 44)
			return -1;
		ow_field(w, h + 24, 16, RT_ADDR6, 128);
		nb = rw_rd32(f + h + 40);
		for (i = h + 44; nb > 0; nb--, i += sz)
			if ((sz = o3_prefix(w, i, e)) == 0)
				return -1;
		break;
	}
	case 9: { /* intra-area prefix: #prefixes, ref type, ref id, ref adv, prefixes */
		uint32_t nb;

		if (len < 32)
			return -1;
		/* the referenced id is 0 or the DR's interface id: no address */
		nb = rw_rd16(f + h + 20);
		ow_field(w, h + 28, 4, RT_RID, 32);
		for (i = h + 32; nb > 0; nb--, i += sz)
			if ((sz = o3_prefix(w, i, e)) == 0)
				return -1;
		break;
	}
	default:
		ow_fail(w, ST_RT_UNSUPPORTED);
		return 0;
	}
	/* OSPFv3 link state ids are numbers, never addresses */
	if (w->commit) {
		uint16_t ck = st_rt_fletcher(f + h, len);

		if (ck != old_ck) {
			rw_cs_acc(&w->delta, rw_cs_parity(rw_cs_word(old_ck, ck), h + 16 - w->base));
			rw_wr16(f + h + 16, ck);
		}
	}
	return 0;
}

enum rw_cp st_rw_ospf3(const struct rw_ctx *c, uint32_t o, uint32_t dend, int commit,
		       uint32_t *delta, uint8_t *why)
{
	struct ospf_w w = { .c = c, .f = c->f, .base = c->cs_base, .commit = commit };
	uint8_t *f = c->f;
	uint32_t len, e, i;

	if (o + 16 > dend)
		return RW_CP_BAD;
	if (dend > c->seg) {
		*why = (uint8_t)ST_RT_TRUNCATED;
		return RW_CP_UNTR;
	}
	len = rw_rd16(f + o + 2);
	if (f[o] != 3 || len < 16 || o + len > dend)
		return RW_CP_BAD;
	if (o + len < dend) {
		/* an authentication trailer (RFC 7166) covers the packet */
		*why = (uint8_t)ST_RT_AUTH;
		return RW_CP_UNTR;
	}
	e = o + len;
	ow_field(&w, o + 4, 4, RT_RID, 32);
	i = o + 16;
	switch (f[o + 1]) {
	case 1:   /* hello: if id, prio+options, intervals, DR, BDR, neighbours */
		if (len < 36 || (len - 36) % 4 != 0)
			return RW_CP_BAD;
		for (i += 12; i < e; i += 4)
			ow_field(&w, i, 4, RT_RID, 32);
		break;
	case 2:   /* DD: 0, options, mtu, 0, flags, seq, LSA headers */
		if (len < 28 || (len - 28) % 20 != 0)
			return RW_CP_BAD;
		for (i += 12; i < e; i += 20)
			ow_field(&w, i + 8, 4, RT_RID, 32);
		break;
	case 3:   /* LS request: 0, type, id, advertising router */
		if ((len - 16) % 12 != 0)
			return RW_CP_BAD;
		for (; i < e; i += 12)
			ow_field(&w, i + 8, 4, RT_RID, 32);
		break;
	case 4:   /* LS update */
		if (len < 20 || ospf_update(&w, i, e, o3_lsa) < 0)
			return RW_CP_BAD;
		break;
	case 5:
		if ((len - 16) % 20 != 0)
			return RW_CP_BAD;
		for (; i < e; i += 20)
			ow_field(&w, i + 8, 4, RT_RID, 32);
		break;
	default:
		return RW_CP_BAD;
	}
	if (w.reason != 0) {
		*why = (uint8_t)w.reason;
		return RW_CP_UNTR;
	}
	if (commit)
		rw_cs_acc(delta, w.delta);
	return RW_CP_OK;
}
