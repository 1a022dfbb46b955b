/* SPDX-License-Identifier: BSD-3-Clause
 * DNS, mDNS and LLMNR messages of shadow copies (rewrite_dns.h has what is
 * translated and what is counted instead).
 */
#include <string.h>

#include <rte_lpm.h>
#include <rte_lpm6.h>

#include "rewrite_dns.h"
#include "rewrite_rt.h"
#include "leak.h"

#define DNS_HDR 12u
#define DNS_MAX_PTRS 64
#define DNS_MAX_NAME 255u
#define DNS_MAX_LABELS 128
/* The walk reached the end of the bytes visible so far (a message over TCP
 * continued in a later segment): not an error. */
#define DNS_VIS (-2)

/* One message being walked: [m, end) in f. Over TCP a message may span
 * segments: f holds its bytes [0, vis) seen so far, of which [0, have) were
 * in earlier segments, already sent (and translated where they could be);
 * for a whole message have = 0 and vis = end. */
struct dns_msg {
	const struct st_rewrite_tables *t;
	const uint8_t *f;
	uint32_t m, end;
	uint32_t have, vis;
	struct rw_dns_edits *ed;
	uint8_t early;       /* walking a name that ended before have */
};

/* Queue len bytes at off; the same bytes edited twice must agree. */
static int dns_edit(struct dns_msg *d, uint32_t off, const uint8_t *b, uint8_t len)
{
	struct rw_dns_edits *ed = d->ed;

	if (memcmp(d->f + off, b, len) == 0)
		return -1;
	for (uint32_t i = 0; i < ed->n; i++) {
		const struct rw_dns_edit *e = &ed->e[i];

		if (off < e->off + e->len && e->off < off + len) {
			if (e->off == off && e->len == len && memcmp(e->b, b, len) == 0)
				return -1;
			return ST_LEAK_R_UNSUPPORTED;
		}
	}
	/* bytes of an earlier segment went out as its walk left them: the
	 * edits of names that ended there (made again here, so that a later
	 * name's same edit agrees above), else a change is too late */
	if (off < d->have && !d->early)
		return ST_LEAK_R_SEGMENT;
	if (ed->n >= ST_DNS_MAX_EDITS)
		return ST_LEAK_R_UNSUPPORTED;
	ed->e[ed->n].off = off;
	ed->e[ed->n].len = len;
	memcpy(ed->e[ed->n].b, b, len);
	ed->n++;
	return -1;
}

/* The address of w (4, 16) bytes at off. Over TCP, only its bytes from
 * have on are written (earlier ones were, with an earlier segment); one cut
 * by the visible end is written as far as it goes when every completion
 * gives those bytes (rewrite_rt.h, st_rt_partial), else "segment". */
static int dns_addr(struct dns_msg *d, uint32_t off, unsigned int w)
{
	uint8_t nw[16];
	uint32_t stop, from;

	if (off + w <= d->have || off >= d->vis)
		return -1;
	stop = off + w < d->vis ? off + w : d->vis;
	if (stop - off < w) {
		if (st_rt_partial(d->t, w == 4 ? RT_ADDR4 : RT_ADDR6, d->f + off, stop - off,
				  w, w * 8, nw) != ST_RT_OK)
			return ST_LEAK_R_SEGMENT;
	} else if (w == 4) {
		uint32_t a = rw_rd32(d->f + off), n;

		if (rw_addr4(d->t, a, &n, 1) != RW_COVERED || n == a)
			return -1;
		rw_wr32(nw, n);
	} else if (rw_addr6(d->t, d->f + off, nw, 1) != RW_COVERED) {
		return -1;
	}
	from = off > d->have ? off : d->have;
	return dns_edit(d, from, nw + (from - off), (uint8_t)(stop - from));
}

/* The prefix of bits bits in a[] (family 4 when v4) through the maps: 1 and
 * out[] set when a map covers it with a length <= bits, 0 when none covers
 * it, -1 when only a longer map does. */
static int dns_prefix(const struct st_rewrite_tables *t, int v4, const uint8_t *a,
		      unsigned int bits, uint8_t *out)
{
	uint32_t nh;

	if (v4) {
		uint32_t x = rw_rd32(a), n = x;

		if (t->lpm4 == NULL || rte_lpm_lookup(t->lpm4, x, &nh) != 0 ||
		    nh >= t->nb_map4)
			return 0;
		if (t->map4[nh].len > bits)
			return -1;
		rw_xlat4(t, &n);
		rw_wr32(out, n);
		return 1;
	}
	if (t->lpm6 == NULL || rte_lpm6_lookup(t->lpm6, a, &nh) != 0 || nh >= t->nb_map6)
		return 0;
	if (t->map6[nh].len > bits)
		return -1;
	rw_xlat6(t, a, out);
	return 1;
}

static inline int dns_lower(uint8_t ch)
{
	return ch >= 'A' && ch <= 'Z' ? ch + 32 : ch;
}

static int dns_label_is(const uint8_t *p, uint8_t len, const char *s)
{
	size_t n = strlen(s);

	if (len != n)
		return 0;
	for (size_t i = 0; i < n; i++)
		if (dns_lower(p[i]) != (uint8_t)s[i])
			return 0;
	return 1;
}

/* A decimal label 0..255 without leading zeros: its value, else -1. */
static int dns_dec(const uint8_t *p, uint8_t len)
{
	int v = 0;

	if (len == 0 || len > 3 || (len > 1 && p[0] == '0'))
		return -1;
	for (uint8_t i = 0; i < len; i++) {
		if (p[i] < '0' || p[i] > '9')
			return -1;
		v = v * 10 + (p[i] - '0');
	}
	return v <= 255 ? v : -1;
}

static int dns_hex(uint8_t ch)
{
	ch = (uint8_t)dns_lower(ch);
	if (ch >= '0' && ch <= '9')
		return ch - '0';
	if (ch >= 'a' && ch <= 'f')
		return ch - 'a' + 10;
	return -1;
}

/* The labels of a name after every pointer is followed: offsets (absolute)
 * and lengths, for the reverse-name check. */
struct dns_name {
	uint32_t nb;
	uint32_t cut;        /* a label cut by the visible end: its first byte, or 0 */
	uint8_t cutlen;
	uint32_t off[DNS_MAX_LABELS];
	uint8_t len[DNS_MAX_LABELS];
};

/* Walk the name at *p: *p is set past it (past its first pointer); nm gets
 * its labels when not NULL. -1 when well formed, else a reason. */
static int dns_walk(const struct dns_msg *d, uint32_t *p, struct dns_name *nm)
{
	const uint8_t *f = d->f;
	uint32_t i = *p, total = 1, after = 0;
	int ptrs = 0;

	if (nm != NULL) {
		nm->nb = 0;
		nm->cut = 0;
	}
	for (;;) {
		uint8_t l;

		if (i >= d->end)
			return ST_LEAK_R_MALFORMED;
		if (i >= d->vis)
			return DNS_VIS;
		l = f[i];
		if ((l & 0xc0) == 0xc0) {
			uint32_t to;

			if (i + 2 > d->end || ++ptrs > DNS_MAX_PTRS)
				return ST_LEAK_R_MALFORMED;
			if (i + 2 > d->vis)
				return DNS_VIS;
			to = d->m + ((uint32_t)(l & 0x3f) << 8 | f[i + 1]);
			/* only backwards: a pointer names an earlier occurrence */
			if (to >= i)
				return ST_LEAK_R_MALFORMED;
			if (after == 0)
				after = i + 2;
			i = to;
			continue;
		}
		if ((l & 0xc0) != 0)
			return ST_LEAK_R_MALFORMED;   /* 0x40/0x80 label types */
		if (l == 0) {
			*p = after != 0 ? after : i + 1;
			return -1;
		}
		total += 1u + l;
		if (total > DNS_MAX_NAME || i + 1 + l > d->end)
			return ST_LEAK_R_MALFORMED;
		if (i + 1 + l > d->vis) {
			if (nm != NULL) {
				nm->cut = i + 1;
				nm->cutlen = l;
			}
			return DNS_VIS;
		}
		if (nm != NULL && nm->nb < DNS_MAX_LABELS) {
			nm->off[nm->nb] = i + 1;
			nm->len[nm->nb] = l;
			nm->nb++;
		}
		i += 1u + l;
	}
}

/* A reverse name (in-addr.arpa / ip6.arpa): translate its address labels. */
static int dns_reverse(struct dns_msg *d, const struct dns_name *nm)
{
	const uint8_t *f = d->f;
	uint32_t n = nm->nb, k = 0;
	uint8_t a[16] = { 0 }, out[16];
	int v4, r;

	if (n < 3 || !dns_label_is(f + nm->off[n - 1], nm->len[n - 1], "arpa"))
		return -1;
	if (dns_label_is(f + nm->off[n - 2], nm->len[n - 2], "in-addr"))
		v4 = 1;
	else if (dns_label_is(f + nm->off[n - 2], nm->len[n - 2], "ip6"))
		v4 = 0;
	else
		return -1;
	/* the run of address labels just before the suffix, most significant
	 * last: label n-3 is the first octet / nibble */
	while (k < (v4 ? 4u : 32u) && k + 2 < n) {
		uint32_t li = n - 3 - k;

		if (v4 ? dns_dec(f + nm->off[li], nm->len[li]) < 0
		       : (nm->len[li] != 1 || dns_hex(f[nm->off[li]]) < 0))
			break;
		k++;
	}
	if (k == 0)
		return -1;
	for (uint32_t j = 0; j < k; j++) {
		uint32_t li = n - 3 - j;

		if (v4)
			a[j] = (uint8_t)dns_dec(f + nm->off[li], nm->len[li]);
		else
			a[j / 2] |= (uint8_t)(dns_hex(f[nm->off[li]]) << ((j & 1) ? 0 : 4));
	}
	r = dns_prefix(d->t, v4, a, v4 ? 8 * k : 4 * k, out);
	if (r == 0)
		return -1;
	if (r < 0)
		return ST_LEAK_R_PREFIX_LENGTH;
	for (uint32_t j = 0; j < k; j++) {
		uint32_t li = n - 3 - j;
		uint8_t txt[3];
		uint8_t len;
		int e;

		if (v4) {
			uint8_t v = out[j];

			len = v >= 100 ? 3 : v >= 10 ? 2 : 1;
			if (len != nm->len[li])
				return ST_LEAK_R_NAME_LENGTH;
			for (int q = len - 1; q >= 0; q--, v /= 10)
				txt[q] = (uint8_t)('0' + v % 10);
		} else {
			uint8_t nib = (j & 1) ? (out[j / 2] & 0xf) : (out[j / 2] >> 4);

			len = 1;
			txt[0] = (uint8_t)(nib < 10 ? '0' + nib : 'a' + nib - 10);
			if (dns_hex(f[nm->off[li]]) == nib)
				continue;   /* same nibble: keep its case */
		}
		if ((e = dns_edit(d, nm->off[li], txt, len)) >= 0)
			return e;
	}
	return -1;
}

static int dns_addr_label(const uint8_t *p, uint8_t len)
{
	return dns_dec(p, len) >= 0 || (len == 1 && dns_hex(p[0]) >= 0);
}

/* A name cut by the visible end (TCP): whether it may still become a
 * reverse name whose address labels this segment would send as they are.
 * Its end is not seen, so it cannot be translated: "segment" when its last
 * run of labels is address-like (or in-addr/ip6/arpa) and reaches this
 * segment; fail-closed on names that only look like one. */
static int dns_cut_name(const struct dns_msg *d, const struct dns_name *nm)
{
	const uint8_t *f = d->f;
	int addr = 0;

	for (uint32_t j = 0; j < nm->nb; j++) {
		const uint8_t *lp = f + nm->off[j];
		uint8_t len = nm->len[j];

		if (dns_addr_label(lp, len)) {
			if (nm->off[j] + len > d->have)
				addr = 1;
		} else if (!dns_label_is(lp, len, "in-addr") && !dns_label_is(lp, len, "ip6") &&
			   !dns_label_is(lp, len, "arpa")) {
			addr = 0;
		}
	}
	if (nm->cut != 0 && nm->cut < d->vis) {
		/* the label cut (never a 1-byte one: nothing of it seen) is
		 * address-like when its bytes seen are digits of up to 3; the
		 * start of in-addr, ip6 or arpa keeps the run going */
		static const char *const sfx[] = { "in-addr", "ip6", "arpa" };
		int digits = nm->cutlen <= 3, suffix = 0;

		for (uint32_t i = nm->cut; i < d->vis; i++)
			digits = digits && f[i] >= '0' && f[i] <= '9';
		for (unsigned int q = 0; q < 3 && !digits; q++) {
			int ok = nm->cutlen == strlen(sfx[q]);

			for (uint32_t i = nm->cut; i < d->vis && ok; i++)
				ok = dns_lower(f[i]) == (uint8_t)sfx[q][i - nm->cut];
			suffix |= ok;
		}
		if (digits)
			addr = 1;
		else if (!suffix)
			addr = 0;
	}
	return addr ? ST_LEAK_R_SEGMENT : DNS_VIS;
}

/* A name at *p that may be a reverse name (question, owner). */
static int dns_owner(struct dns_msg *d, uint32_t *p)
{
	struct dns_name nm;
	int r = dns_walk(d, p, &nm);

	if (r == DNS_VIS && nm.nb + (nm.cut != 0) > 0)
		return dns_cut_name(d, &nm);
	if (r != -1)
		return r;
	/* a name that ended in an earlier segment was translated with it (its
	 * edits are made again, for dns_edit's checks); one that reaches this
	 * segment may not change bytes of earlier ones but as they were */
	d->early = *p <= d->have;
	r = dns_reverse(d, &nm);
	d->early = 0;
	return r;
}

/* EDNS options of an OPT record's rdata [s, e): client subnet (8). */
static int dns_opt(struct dns_msg *d, uint32_t s, uint32_t e)
{
	const uint8_t *f = d->f;

	while (s < e) {
		uint16_t code, len;

		if (s + 4 > e)
			return ST_LEAK_R_MALFORMED;
		code = rw_rd16(f + s);
		len = rw_rd16(f + s + 2);
		if (s + 4 + len > e)
			return ST_LEAK_R_MALFORMED;
		if (code == 8) {
			uint16_t fam;
			uint8_t src, nb, a[16] = { 0 }, out[16];
			int r, v4;

			if (len < 4)
				return ST_LEAK_R_MALFORMED;
			fam = rw_rd16(f + s + 4);
			src = f[s + 6];
			if (fam != 1 && fam != 2)
				return ST_LEAK_R_UNSUPPORTED;
			v4 = fam == 1;
			nb = (uint8_t)((src + 7) / 8);
			if (src > (v4 ? 32 : 128) || len != 4u + nb)
				return ST_LEAK_R_MALFORMED;
			memcpy(a, f + s + 8, nb);
			if (nb > 0) {
				r = dns_prefix(d->t, v4, a, src, out);
				if (r < 0)
					return ST_LEAK_R_PREFIX_LENGTH;
				if (r > 0 && (r = dns_edit(d, s + 8, out, nb)) >= 0)
					return r;
			}
		}
		s += 4u + len;
	}
	return -1;
}

/* SVCB/HTTPS rdata [s, e): ipv4hint (4) and ipv6hint (6). */
static int dns_svcb(struct dns_msg *d, uint32_t s, uint32_t e)
{
	const uint8_t *f = d->f;
	struct dns_msg sub = *d;
	int r;

	if (s + 2 > e)
		return ST_LEAK_R_MALFORMED;
	s += 2;
	sub.end = e;   /* the target name is uncompressed, inside the rdata */
	if ((r = dns_walk(&sub, &s, NULL)) != -1)
		return r >= 0 ? r : ST_LEAK_R_MALFORMED;
	while (s < e) {
		uint16_t key, len, w;

		if (s + 4 > e)
			return ST_LEAK_R_MALFORMED;
		key = rw_rd16(f + s);
		len = rw_rd16(f + s + 2);
		if (s + 4 + len > e)
			return ST_LEAK_R_MALFORMED;
		w = key == 4 ? 4 : key == 6 ? 16 : 0;
		if (w != 0 && (len == 0 || len % w != 0))
			return ST_LEAK_R_MALFORMED;
		for (uint32_t i = 0; w != 0 && i < len; i += w)
			if ((r = w == 4 ? dns_addr(d, s + 4 + i, 4)
					: dns_addr(d, s + 4 + i, 16)) >= 0)
				return r;
		s += 4u + len;
	}
	return -1;
}

/* One resource record's rdata [s, s + len) of type and class. */
static int dns_rdata(struct dns_msg *d, uint16_t type, uint16_t cls, uint32_t s,
		     uint16_t len)
{
	const int in = (cls & 0x7fff) == 1;  /* mDNS: top bit = cache flush */

	/* options and hints are walked whole: cut by a segment, "segment" */
	if ((type == 41 || type == 64 || type == 65) && s + len > d->vis)
		return ST_LEAK_R_SEGMENT;
	switch (type) {
	case 1:   /* A */
		if (!in)
			return -1;
		if (len != 4)
			return ST_LEAK_R_MALFORMED;
		return dns_addr(d, s, 4);
	case 28:  /* AAAA */
		if (!in)
			return -1;
		if (len != 16)
			return ST_LEAK_R_MALFORMED;
		return dns_addr(d, s, 16);
	case 11:  /* WKS: address, protocol, bitmap */
		if (!in)
			return -1;
		if (len < 5)
			return ST_LEAK_R_MALFORMED;
		return dns_addr(d, s, 4);
	case 41:  /* OPT */
		return dns_opt(d, s, s + len);
	case 64:  /* SVCB */
	case 65:  /* HTTPS */
		return dns_svcb(d, s, s + len);
	case 38:  /* A6 */
	case 42:  /* APL */
		return ST_LEAK_R_UNSUPPORTED;
	default:
		return -1;
	}
}

/* One message [m, end) of f, its bytes [0, vis) visible, [0, have) sent
 * with earlier segments (struct dns_msg). -1 when translatable, DNS_VIS
 * when it is so far and continues past vis, else a leak reason. */
static int dns_msg(const struct st_rewrite_tables *t, const uint8_t *f, uint32_t m,
		   uint32_t end, uint32_t have, uint32_t vis, struct rw_dns_edits *ed)
{
	struct dns_msg d = { t, f, m, end, have, vis, ed, 0 };
	uint32_t p = m + DNS_HDR, qd, rr;
	int r;

	if (end - m < DNS_HDR)
		return ST_LEAK_R_MALFORMED;
	if (vis < m + DNS_HDR)
		return DNS_VIS;
	qd = rw_rd16(f + m + 4);
	rr = (uint32_t)rw_rd16(f + m + 6) + rw_rd16(f + m + 8) + rw_rd16(f + m + 10);
	/* every question takes >= 5 bytes and every record >= 11: a count
	 * the message cannot hold fails inside the loop, at its end */
	for (uint32_t i = 0; i < qd; i++) {
		if ((r = dns_owner(&d, &p)) != -1)
			return r;
		if (p + 4 > end)
			return ST_LEAK_R_MALFORMED;
		if (p + 4 > vis)
			return DNS_VIS;
		p += 4;
	}
	for (uint32_t i = 0; i < rr; i++) {
		uint16_t type, cls, len;

		if ((r = dns_owner(&d, &p)) != -1)
			return r;
		if (p + 10 > end)
			return ST_LEAK_R_MALFORMED;
		if (p + 10 > vis)
			return DNS_VIS;
		type = rw_rd16(f + p);
		cls = rw_rd16(f + p + 2);
		len = rw_rd16(f + p + 8);
		p += 10;
		if (p + len > end)
			return ST_LEAK_R_MALFORMED;
		/* rdata all in earlier segments was translated with them */
		if (p + len > have && (r = dns_rdata(&d, type, cls, p, len)) >= 0)
			return r;
		if (p + len > vis)
			return DNS_VIS;
		p += len;
	}
	/* bytes after the last record: zero padding is harmless; anything
	 * else means the counts lie, and could be records nobody translated */
	for (; p < end && p < vis; p++)
		if (f[p] != 0)
			return ST_LEAK_R_MALFORMED;
	return p < end ? DNS_VIS : -1;
}

int st_rw_dns_check(const struct rw_ctx *c, uint32_t s, uint32_t dend, int tcp,
		    struct rw_dns_edits *ed)
{
	ed->n = 0;
	if (s >= dend)
		return -1;          /* no payload (a TCP ACK) */
	if (dend > c->seg)
		return ST_LEAK_R_TRUNCATED;
	if (!tcp)
		return dns_msg(c->t, c->f, s, dend, 0, dend, ed);
	while (s < dend) {
		uint32_t len;
		int r;

		if (s + 2 > dend)
			return ST_LEAK_R_SEGMENT;
		len = rw_rd16(c->f + s);
		if (s + 2 + len > dend)
			return ST_LEAK_R_SEGMENT;
		if ((r = dns_msg(c->t, c->f, s + 2, s + 2 + len, 0, s + 2 + len, ed)) >= 0)
			return r;
		s += 2 + len;
	}
	return -1;
}

void st_rw_dns_commit(const struct rw_ctx *c, const struct rw_dns_edits *ed,
		      uint32_t *delta)
{
	for (uint32_t i = 0; i < ed->n; i++) {
		const struct rw_dns_edit *e = &ed->e[i];
		uint8_t *p = c->f + e->off;
		uint32_t d = 0;

		/* byte by byte: a field may start at an odd offset of the
		 * checksummed data, or have an odd length (a label) */
		for (uint8_t j = 0; j < e->len; j++) {
			const int hi = ((e->off + j - c->cs_base) & 1) == 0;

			d += hi ? rw_cs_word((uint16_t)(p[j] << 8), (uint16_t)(e->b[j] << 8))
				: rw_cs_word(p[j], e->b[j]);
			p[j] = e->b[j];
		}
		rw_cs_acc(delta, d);
		c->res->translated = 1;
	}
}


/* ---- DNS over TCP: messages across segments (rewrite_rt.h) -------------- */

static uint8_t dns_rt_reason(int r)
{
	switch (r) {
	case ST_LEAK_R_MALFORMED: return ST_RT_MALFORMED;
	case ST_LEAK_R_PREFIX_LENGTH: return ST_RT_PREFIX_SHORT;
	case ST_LEAK_R_NAME_LENGTH: return ST_RT_NAME_LENGTH;
	case ST_LEAK_R_SEGMENT: return ST_RT_SPLIT;
	case ST_LEAK_R_TRUNCATED: return ST_RT_TRUNCATED;
	default: return ST_RT_UNSUPPORTED;
	}
}

/* The walker of st_rt_tcp: the flow's buffer holds the message in progress
 * from its 2-byte length on, so the message parser sees it whole as far as
 * it has come, and only the edits of this segment's bytes are written. */
static int dns_tcp_walk(const struct st_rewrite_tables *t, struct st_rt_flow *fl,
			const uint8_t *p, uint32_t n, uint8_t *out)
{
	uint32_t pos = 0;
	int reason = 0;

	while (pos < n) {
		struct rw_dns_edits ed;
		uint32_t take, total, have, vis;
		int r;

		if (fl->have < 2) {
			take = 2 - fl->have < n - pos ? 2 - fl->have : n - pos;
			memcpy(fl->buf + fl->have, p + pos, take);
			fl->have += take;
			pos += take;
			if (fl->have < 2)
				break;
		}
		total = 2 + rw_rd16(fl->buf);
		if (total > ST_RT_MSG_MAX) {
			fl->synced = 0;
			fl->have = 0;
			return reason ? reason : ST_RT_UNSUPPORTED;
		}
		have = fl->have;
		take = total - have < n - pos ? total - have : n - pos;
		memcpy(fl->buf + have, p + pos, take);
		vis = have + take;
		ed.n = 0;
		r = dns_msg(t, fl->buf, 2, total, have, vis, &ed);
		if (r == ST_LEAK_R_MALFORMED) {
			fl->synced = 0;
			fl->have = 0;
			return ST_RT_MALFORMED;
		}
		if (r >= 0 && reason == 0)
			reason = dns_rt_reason(r);
		for (uint32_t i = 0; i < ed.n; i++)
			for (uint32_t j = 0; j < ed.e[i].len; j++) {
				uint32_t o = ed.e[i].off + j;

				if (o >= have && o < vis)
					out[pos + o - have] = ed.e[i].b[j];
			}
		pos += take;
		fl->have = vis == total ? 0 : vis;
	}
	return reason;
}

/* A payload of whole messages, each after its length: a boundary where a
 * flow whose start was not seen can be followed from. */
static int dns_tcp_starts(const uint8_t *p, uint32_t n)
{
	uint32_t s = 0;

	while (s + 2 <= n) {
		uint32_t len = rw_rd16(p + s);

		if (len < DNS_HDR || s + 2 + len > n)
			return 0;
		s += 2 + len;
	}
	return n > 0 && s == n;
}

static const struct st_rt_proto dns_tcp_proto = { ST_RT_TABLE_DNS, dns_tcp_walk, dns_tcp_starts };

enum rw_cp st_rw_dns_tcp(const struct rw_ctx *c, uint32_t l3, int v6, uint32_t l4,
			 uint32_t dend, int commit, uint32_t *delta, uint8_t *why)
{
	return st_rt_tcp(c, &dns_tcp_proto, l3, v6, l4, dend, commit, delta, why);
}
