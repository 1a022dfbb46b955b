/* SPDX-License-Identifier: BSD-3-Clause
 * Control-plane payloads of the rewrite: ARP, DHCPv4 and IPv6 ND
 * (rewrite_cp.h has what is done to each).
 */
#include <string.h>

#include <rte_byteorder.h>
#include <rte_ether.h>

#include "rewrite_cp.h"
#include "rewrite_rt.h"
#include "rewrite_payload.h"

/* A 4-byte address field at off, if present. Returns rw_field()'s verdict;
 * *cov says what the lookup found (EXEMPT when the field is absent). */
static inline int rw_cp_addr4(const struct rw_ctx *c, uint32_t off, int commit,
			      uint32_t *delta, enum rw_cover *cov)
{
	int pr = rw_field(c, off, 4);
	uint32_t a, n;

	*cov = RW_EXEMPT;
	if (pr <= 0)
		return pr;
	a = rw_rd32(c->f + off);
	*cov = rw_addr4(c->t, a, &n, 1);
	if (commit && n != a) {
		if (delta != NULL)
			rw_cs_acc(delta, rw_cs_parity(rw_cs_addr4(a, n),
						      off - c->cs_base));
		rw_wr32(c->f + off, n);
		c->res->translated = 1;
	}
	return 1;
}

static inline int rw_cp_addr6(const struct rw_ctx *c, uint32_t off, int commit,
			      uint32_t *delta, enum rw_cover *cov)
{
	int pr = rw_field(c, off, 16);
	uint8_t n[16];

	*cov = RW_EXEMPT;
	if (pr <= 0)
		return pr;
	*cov = rw_addr6(c->t, c->f + off, n, 1);
	if (commit && memcmp(n, c->f + off, 16) != 0) {
		rw_cs_acc(delta, rw_cs_parity(rw_cs_addr6(c->f + off, n),
					      off - c->cs_base));
		memcpy(c->f + off, n, 16);
		c->res->translated = 1;
	}
	return 1;
}

/* An IPv6 prefix of L bits in n bytes at off (rewrite_rt.h's prefix rule):
 * rw_field()'s verdict, or -2 when it is shorter than the map covering
 * part of it. */
static inline int rw_cp_pfx6(const struct rw_ctx *c, uint32_t off, unsigned int n,
			     unsigned int L, int commit, uint32_t *delta)
{
	int pr = n == 0 ? 1 : rw_field(c, off, n);
	uint8_t nw[16];

	if (pr <= 0 || n == 0)
		return pr;
	if (st_rt_xlat(c->t, RT_PFX6, c->f + off, n, L, nw) != ST_RT_OK)
		return -2;
	if (commit && memcmp(nw, c->f + off, n) != 0) {
		rw_cs_acc(delta, rw_cs_parity(rw_cs_bytes(c->f + off, nw, n), off - c->cs_base));
		memcpy(c->f + off, nw, n);
		c->res->translated = 1;
	}
	return 1;
}

/* A MAC inside a control-plane payload: the MAC map, else def (NULL: keep);
 * group and all-zero MACs change only through the map. */
static inline int rw_cp_mac(const struct rw_ctx *c, uint32_t off, int commit,
			    const uint8_t *def, uint32_t *delta)
{
	int pr = rw_field(c, off, 6);
	const uint8_t *to;
	uint8_t *p = c->f + off;

	if (pr <= 0 || !commit)
		return pr;
	if (!rw_mac_map(c->t, p, &to)) {
		if (def == NULL || (p[0] & 1) != 0 || rw_mac_is_zero(p) ||
		    rw_mac_is_zero(def))
			return 1;
		to = def;
	}
	if (delta != NULL)
		rw_cs_acc(delta, rw_cs_parity(rw_cs_bytes(p, to, 6),
					      off - c->cs_base));
	memcpy(p, to, 6);
	return 1;
}

/* ---- ARP (RFC 826), IPv4 over Ethernet ---------------------------------- */

void st_rw_arp(const struct rw_ctx *c, uint32_t a)
{
	static const uint32_t ip_off[2] = { 14, 24 }, mac_off[2] = { 8, 18 };
	const struct st_rewrite_tables *t = c->t;
	const uint8_t *defs[2] = { t->src_mac, t->dst_mac };
	uint8_t *p = c->f + a;
	int unmapped = 0;
	uint16_t htype;

	switch (rw_span(c, a + 8, c->wire)) {
	case RW_OK:
		break;
	case RW_BAD:
		rw_cp_fail(c, RW_CP_BAD);
		return;
	default:
		rw_cp_fail(c, RW_CP_CUT);
		return;
	}
	htype = rw_rd16(p);
	if ((htype != 1 && htype != 6) || rw_rd16(p + 2) != RTE_ETHER_TYPE_IPV4 ||
	    p[4] != 6 || p[5] != 4 || a + 28 > c->wire) {
		rw_cp_fail(c, RW_CP_BAD);
		return;
	}
	for (int pass = 0; pass < 2; pass++) {
		for (int k = 0; k < 2; k++) {
			enum rw_cover cov;

			if (rw_cp_mac(c, a + mac_off[k], pass, defs[k], NULL) < 0 ||
			    rw_cp_addr4(c, a + ip_off[k], pass, NULL, &cov) < 0) {
				rw_cp_fail(c, RW_CP_CUT);
				return;
			}
			unmapped |= cov == RW_UNCOVERED;
		}
		if (pass == 0 && (rw_unmapped(c, unmapped) || c->dry))
			return;
	}
	if (!c->inner)
		rw_set_macs(c, 1);
}

/* ---- DHCPv4 (RFC 2131/2132) over UDP 67/68 ------------------------------- */

#define RW_BOOTP_LEN   236u   /* fixed BOOTP part, then the magic cookie */
#define RW_DHCP_COOKIE 0x63825363u

static inline int rw_dhcp_addr_opt(const struct st_rewrite_tables *t,
				   uint8_t code)
{
	return (t->dhcp_addr_opts[code / 8] >> (code % 8)) & 1;
}

/* Options whose data is exactly one address. */
static inline int rw_dhcp_single(uint8_t code)
{
	return code == 28 || code == 50 || code == 54 || code == 118;
}

/* Walk the options in [s, e) (e from the length fields). Pad (0) and end
 * (255) have no length byte; an option whose length byte or data runs past
 * e is malformed, as is an address option whose length is not a non-zero
 * multiple of 4 (exactly 4 for single-address options) or an overload (52)
 * that is not one byte of 1..3. Walking stops at the end of the copy.
 * overload is NULL for the sname/file fields (52 is not honoured there). */
static enum rw_cp rw_dhcp_opts(const struct rw_ctx *c, uint32_t s, uint32_t e,
			       int commit, uint32_t *delta, uint8_t *overload)
{
	const uint8_t *f = c->f;
	uint32_t i = s;

	while (i < e) {
		uint8_t code, len;
		int pr = 1;

		if (i >= c->seg)
			return i >= c->pkt ? RW_CP_OK : RW_CP_CUT;
		code = f[i];
		if (code == 0) {
			i++;
			continue;
		}
		if (code == 255)
			return RW_CP_OK;
		if (i + 1 >= e)
			return RW_CP_BAD;
		if (i + 1 >= c->seg)
			return i + 1 >= c->pkt ? RW_CP_OK : RW_CP_CUT;
		len = f[i + 1];
		if (i + 2 + len > e)
			return RW_CP_BAD;
		i += 2;
		if (code == 52 && overload != NULL) {
			if (len != 1)
				return RW_CP_BAD;
			pr = rw_field(c, i, 1);
			if (pr > 0 && (f[i] < 1 || f[i] > 3))
				return RW_CP_BAD;
			if (pr > 0)
				*overload = f[i];
		} else if (rw_dhcp_addr_opt(c->t, code)) {
			if (len == 0 || len % 4 != 0 ||
			    (rw_dhcp_single(code) && len != 4))
				return RW_CP_BAD;
			for (uint32_t k = 0; k < len && pr >= 0; k += 4) {
				enum rw_cover cov;

				pr = rw_cp_addr4(c, i + k, commit, delta, &cov);
			}
		} else if (code == 61 && len == 7) {
			/* client identifier: hardware type 1 + MAC, like chaddr */
			pr = rw_field(c, i, 1);
			if (pr > 0 && f[i] == 1)
				pr = rw_cp_mac(c, i + 1, commit, NULL, delta);
		}
		if (pr < 0)
			return RW_CP_CUT;
		i += len;
	}
	return RW_CP_OK;
}

/* The DHCP message in the UDP datagram at u (absolute), which ends at dend
 * by the IP length. */
enum rw_cp st_rw_dhcp(const struct rw_ctx *c, uint32_t u, uint32_t dend,
		      int commit, uint32_t *delta)
{
	static const uint32_t fixed[4] = { 12, 16, 20, 24 }; /* ci/yi/si/giaddr */
	const uint8_t *f = c->f;
	uint32_t ulen, b;
	uint8_t overload = 0;
	enum rw_cp r;

	if (u + 8 > c->seg)   /* UDP header cut off: no DHCP byte in the copy */
		return u + 8 > c->pkt ? RW_CP_OK : RW_CP_CUT;
	ulen = rw_rd16(f + u + 4);
	if (ulen < 8 + RW_BOOTP_LEN || u + ulen > dend)
		return RW_CP_BAD;
	b = u + 8;
	for (int k = 0; k < 4; k++) {
		enum rw_cover cov;

		if (rw_cp_addr4(c, b + fixed[k], commit, delta, &cov) < 0)
			return RW_CP_CUT;
	}
	/* chaddr is a MAC when htype 1, hlen 6 (bytes 1, 2) */
	if (rw_field(c, b, 3) > 0 && f[b + 1] == 1 && f[b + 2] == 6 &&
	    rw_cp_mac(c, b + 28, commit, NULL, delta) < 0)
		return RW_CP_CUT;
	if (ulen < 8 + RW_BOOTP_LEN + 4 || rw_field(c, b + RW_BOOTP_LEN, 4) <= 0 ||
	    rw_rd32(f + b + RW_BOOTP_LEN) != RW_DHCP_COOKIE)
		return RW_CP_OK;  /* plain BOOTP, or the options are cut off */
	r = rw_dhcp_opts(c, b + RW_BOOTP_LEN + 4, u + ulen, commit, delta,
			 &overload);
	if (r == RW_CP_OK && (overload & 1))   /* file holds options */
		r = rw_dhcp_opts(c, b + 108, b + 236, commit, delta, NULL);
	if (r == RW_CP_OK && (overload & 2))   /* sname holds options */
		r = rw_dhcp_opts(c, b + 44, b + 108, commit, delta, NULL);
	return r;
}

/* ---- IPv6 Neighbor Discovery (RFC 4861), ICMPv6 133..137 ---------------- */

/* Fixed part of each message = where its options start. */
static const uint8_t rw_nd_fixed[5] = { 8, 16, 24, 24, 40 };

/* The ND message at l4 (absolute) ending at dend. Target address (NS, NA,
 * redirect) and redirect destination; options: source/target link-layer
 * address (1, 2; 8 bytes) through the MAC map, prefix information (3) prefix
 * through the maps. An option of length 0, running past the message, or a
 * prefix option not 32 bytes long is malformed. *unmapped is set when an
 * NS/NA target is outside every map. */
enum rw_cp st_rw_nd(const struct rw_ctx *c, uint32_t l4, uint32_t dend,
		    int commit, uint32_t *delta, int *unmapped)
{
	const uint8_t *f = c->f;
	uint8_t type = f[l4];
	uint32_t i = l4 + rw_nd_fixed[type - 133];
	enum rw_cover cov;
	int ra_pass = 0;

	if (i > dend)
		return RW_CP_BAD;
	if (type == 134 && c->t->payloads) {
		switch (st_leak_action(c->t->leak, ST_LEAK_RA)) {
		case ST_LEAK_DROP:
			st_leak_policy(c->t->leak, &c->res->leak, ST_LEAK_RA);
			c->res->drop = ST_DROP_LEAK;
			return RW_CP_UNTR;
		case ST_LEAK_PASS:
			st_leak_policy(c->t->leak, &c->res->leak, ST_LEAK_RA);
			ra_pass = 1;
			break;
		default:
			break;
		}
	}
	if (type >= 135) {
		if (rw_cp_addr6(c, l4 + 8, commit, delta, &cov) < 0)
			return RW_CP_CUT;
		if (type != 137 && cov == RW_UNCOVERED)
			*unmapped = 1;
	}
	if (type == 137 && rw_cp_addr6(c, l4 + 24, commit, delta, &cov) < 0)
		return RW_CP_CUT;
	while (i < dend) {
		uint32_t len;
		int pr = 1;

		if (i + 2 > dend)
			return RW_CP_BAD;
		if (i + 2 > c->seg)
			return i + 2 > c->pkt ? RW_CP_OK : RW_CP_CUT;
		len = (uint32_t)f[i + 1] * 8;
		if (len == 0 || i + len > dend)
			return RW_CP_BAD;
		if ((f[i] == 1 || f[i] == 2) && len == 8) {
			pr = rw_cp_mac(c, i + 2, commit, NULL, delta);
		} else if (ra_pass && (f[i] == 3 || f[i] == 24 || f[i] == 25)) {
			/* kind ra is "pass": its options go as they are (counted) */
		} else if (f[i] == 3 || f[i] == 24) {
			/* prefix information (32 bytes, prefix at 16) and route
			 * information (RFC 4191: 8, 16 or 24 bytes, prefix at 8) */
			unsigned int L, n = f[i] == 3 ? 16 : len - 8;
			uint32_t at = f[i] == 3 ? i + 16 : i + 8;

			if ((f[i] == 3 && len != 32) || (f[i] == 24 && len > 24))
				return RW_CP_BAD;
			pr = rw_field(c, i + 2, 1);
			if (pr > 0) {
				L = f[i + 2];
				if (L > 128 || (f[i] == 24 && (L + 63) / 64 * 8 > n))
					return RW_CP_BAD;
				pr = rw_cp_pfx6(c, at, n, L, commit, delta);
			}
			if (pr == -2) {
				/* the leak policy's kind ra: fail-closed unless pass */
				if (rw_leak(c, ST_LEAK_RA, ST_LEAK_R_PREFIX_LENGTH))
					return RW_CP_UNTR;
				pr = 1;
			}
		} else if (f[i] == 25) {
			/* recursive DNS servers (RFC 8106): 8 + n x 16 bytes */
			if (len < 24 || (len - 8) % 16 != 0)
				return RW_CP_BAD;
			for (uint32_t k = i + 8; k < i + len && pr >= 0; k += 16)
				pr = rw_cp_addr6(c, k, commit, delta, &cov);
		}
		if (pr < 0)
			return RW_CP_CUT;
		i += len;
	}
	return RW_CP_OK;
}
