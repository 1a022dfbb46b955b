/* SPDX-License-Identifier: BSD-3-Clause
 * Fast-path half of the header rewrite: st_rewrite_frame() and
 * st_rewrite_frame_ex().
 *
 * What it does to one shadow copy (a private, writable frame), in order.
 * Nothing is written unless the copy is going to be sent (drop == -1): a
 * dropped copy leaves the frame exactly as it was. Anomaly bits are reported
 * whether or not the copy is dropped. st_rewrite_frame(t, f, seg, pkt) is
 * st_rewrite_frame_ex(t, f, seg, pkt, pkt): a copy that was not truncated.
 *
 * 0. Lengths. seg_len: bytes in the first segment (the only bytes read or
 *    written); pkt_len: bytes in the copy; wire_len: bytes the frame had on
 *    the wire (> pkt_len when the copy was cut to a snaplen; a smaller value
 *    counts as pkt_len). Length fields (IPv4 total_length, IPv6
 *    payload_length, UDP length, option lengths) are validated against the
 *    wire, never against the copy: a truncated copy is not a truncated
 *    packet. Where a needed header byte lies decides the outcome:
 *    - beyond what the packet's own lengths allow: the packet is malformed
 *      (the anomaly named below, drop MALFORMED);
 *    - in the copy but past the first segment (chained mbuf): the same
 *      anomaly and drop, as before truncation existed;
 *    - cut off by the snaplen: drop MALFORMED with NO anomaly (the packet is
 *      fine; the snaplen is too short to translate it without sending
 *      production addresses). This applies to the Ethernet header and tags,
 *      the whole IPv4 header with options, the IPv6 header and its
 *      extension headers, and any control-plane address or MAC field only
 *      partly in the copy. A snaplen of 128 holds every header of ordinary
 *      traffic.
 *
 * 1. L2. Ethernet II. Up to two VLAN tags (TPID 0x8100, 0x88a8, 0x9100) are
 *    skipped and kept; a tagged frame sets ST_ANOM_VLAN. A frame shorter than
 *    its Ethernet (+tags) header: drop MALFORMED, ST_ANOM_TRUNC_L2. ARP
 *    (0x0806) with ST_CP_ARP: see 8. Any other ethertype (including a third
 *    tag, and ARP without ST_CP_ARP): drop NOT_IP, no anomaly.
 *
 * 2. IPv4. The 20-byte header must be there, else TRUNC_L3. Version not 4
 *    or IHL < 5: BAD_IHL. total_length < IHL*4 or beyond the wire length,
 *    or IHL*4 beyond total_length or the first segment: TRUNC_L3. (A
 *    total_length shorter than the frame is fine: the rest is Ethernet
 *    padding, never touched and never counted in a checksum.) All three
 *    drop the copy as MALFORMED.
 *    IHL > 5: ST_ANOM_IP_OPTIONS, mirrored; the header checksum covers the
 *    options, which are not changed. An unexhausted loose/strict source route
 *    option (131/137) makes the L4 pseudo-header destination the final hop
 *    named in the option, which is not translated: only the source delta is
 *    applied to TCP/UDP checksums (as for the IPv6 routing header below).
 *    MF set or fragment offset != 0: ST_ANOM_FRAGMENT, mirrored; the IP header
 *    is translated; the L4 checksum is fixed only in the first fragment
 *    (offset 0), and a first fragment whose datagram is too short to hold
 *    the L4 checksum field (TCP 18, UDP 8, ICMP 4 bytes) is dropped
 *    MALFORMED + TRUNC_L4. Later fragments carry no L4 header and get no L4
 *    fix.
 *    Unfragmented: TCP needs 20 bytes with data offset >= 5 and data
 *    offset*4 within total_length, UDP 8 bytes with a UDP length from 8 to
 *    the datagram's length (IPv4 and IPv6), ICMP 8 bytes, within
 *    total_length; else MALFORMED + TRUNC_L4 (also when those bytes are in
 *    the copy but not in the first segment). Other protocols (GRE, ESP,
 *    SCTP, OSPFv2 (proto 89: its checksum does not cover the IP header),
 *    ...) have no checksum over IP addresses: only the IP header changes.
 *    BGP (TCP 179) is plain TCP: its headers are translated, its payload
 *    (next hops, NLRI) is not.
 *
 * 3. IPv6. The 40-byte header must be there and 40 + payload_length within
 *    the wire length, else TRUNC_L3; version not 6: BAD_IHL; both MALFORMED.
 *    Extension headers 0, 43, 60 ((len+1)*8 bytes), 51 (AH, (len+2)*4) and 44
 *    (fragment, 8) are walked; one that does not fit in the payload or the
 *    first segment is TRUNC_L3 + MALFORMED. Fragment header with offset !=
 *    0: ST_ANOM_FRAGMENT, the walk stops, no L4 fix. Offset 0 with M set:
 *    ST_ANOM_FRAGMENT, the walk goes on and the L4 checksum is fixed, with the
 *    same first-fragment rule as IPv4 (too short for the checksum field:
 *    MALFORMED + TRUNC_L4). Offset 0 without M (atomic fragment) is not an
 *    anomaly. Upper layers fixed through the pseudo-header: TCP (checksum at
 *    16, header 20), UDP (6, 8), ICMPv6 (2, 8), OSPFv3 (12, 16); shorter ones
 *    are TRUNC_L4 + MALFORMED. A routing header with segments_left > 0 means
 *    the pseudo-header destination is the final destination inside the
 *    routing header, which is not translated: only the source delta is
 *    applied. Other next headers (ESP, 59, Mobility, ...) get no L4 fix.
 *
 * 4. Translation. Source and destination are looked up independently
 *    (rte_lpm / rte_lpm6, longest prefix wins, so /32 and /128 host
 *    overrides beat their subnet's map); the new address is the map's "to"
 *    prefix with the packet's host bits kept. If an address is outside every
 *    map, the unmapped rule decides: DROP drops the copy (UNMAPPED)
 *    untouched; COUNT does the same and also sets res->unmapped_seen (the
 *    caller counts it as seen, not as a drop); MIRROR sends it with only the
 *    covered addresses changed. translated = 1 when at least one IP address
 *    (outer, ICMP-inner or control-plane payload) changed; an identity map
 *    (to == from) changes nothing; MACs do not count.
 *    Addresses that name no host, with control-plane translation on (any
 *    ST_CP_* bit; tables from a policy only): 0.0.0.0, :: and
 *    255.255.255.255 are never translated; multicast (224.0.0.0/4,
 *    ff00::/8) and IPv6 link-local (fe80::/10) are translated when a map
 *    covers them and otherwise kept. None of them is ever "unmapped", so a
 *    DHCP DISCOVER (0.0.0.0 -> 255.255.255.255), OSPF hellos to 224.0.0.5 and
 *    ND to ff02:: or from fe80:: are mirrored under the DROP rule. Without
 *    control-plane bits (and from a plan) they are ordinary addresses.
 *
 * 5. Checksums, incrementally (RFC 1624 eqn. 3: HC' = ~(~HC + ~m + m')), so
 *    a checksum that was wrong stays exactly as wrong, and the checksum of a
 *    truncated copy is the one of the whole translated packet (it is fixed
 *    whenever its field is in the copy; the data it covers need not be). A
 *    checksum field the snaplen cuts in half keeps its one byte as it was:
 *    without the other byte it cannot be adjusted. (For control-plane
 *    payloads cut by the snaplen, "the whole packet" is the one whose fields
 *    after the cut are untranslated: they are not in the copy.)
 *    IPv4 header; TCP; UDP only when its checksum is non-zero (0 = "none"
 *    over IPv4; over IPv6 a 0 is the RFC 6936 zero-checksum mode and is kept
 *    too), and a UDP result of 0 is written as 0xFFFF; ICMPv4 has no
 *    pseudo-header so echo & co. keep their checksum; ICMPv6 and OSPFv3 with
 *    the pseudo-header. Control-plane payload changes are folded into the
 *    same delta (fields at odd offsets of the datagram, e.g. DHCP options,
 *    with their bytes swapped, RFC 1071).
 *    ICMP errors (ICMPv4 types 3, 4, 5, 11, 12; ICMPv6 types 1-4) quote the
 *    invoking packet's IP header at icmp+8. When that whole IPv4 (20-byte) or
 *    IPv6 (40-byte) header is inside the segment and the outer IP payload and
 *    has the right version, its source and destination are translated with
 *    the same maps (covered ones only; an unmapped inner address never drops
 *    the copy), an inner IPv4 header checksum is fixed, and the outer ICMP
 *    checksum is adjusted for every changed byte. The quoted L4 header (ports,
 *    its checksum) is left as it was: it is usually cut short, so its
 *    checksum could not be verified by anyone anyway.
 *
 * 6. MACs in the Ethernet header. Destination and source each: the MAC map
 *    (policy) when it has the MAC; else the default MAC (the plan's shadow
 *    MAC, or the policy's default_dst_mac / default_src_mac) unless that is
 *    all zeros (then the original is kept). With control-plane translation
 *    on, group (multicast/broadcast) and all-zero MACs get no default MAC
 *    (only an explicit map): an ARP request stays a broadcast. A kept
 *    multicast destination MAC follows a translated IP group (01:00:5e + low
 *    23 bits, 33:33 + low 32 bits) when it was the old group's MAC.
 *
 * 7. Bounds and cost. Only the first segment (min(seg_len, pkt_len) bytes)
 *    is read or written; every length field is checked before use; every
 *    walk (extension headers, DHCP and ND options) advances by at least one
 *    byte and stops at the end of its unit. No malloc, logging or system
 *    calls: one pass over headers (two over a control-plane payload),
 *    O(length). Tables without MAC maps and control-plane bits (every plan)
 *    run a variant compiled without that code (about 60 more instructions
 *    per frame than the walking skeleton's rewrite, for truncation
 *    support); with them, each MAC costs one rte_hash lookup.
 *
 * 8. Control-plane payloads (policy tables, per ST_CP_* bit). Each payload
 *    is validated completely before anything is written. Malformed (the
 *    cases below): ST_ANOM_CP_MALFORMED ("control_plane"), drop MALFORMED.
 *    A field cut off entirely by the snaplen is left alone; one cut in the
 *    middle, or lying past the first segment, drops the copy (MALFORMED, no
 *    anomaly), see 0.
 *    - ARP (ST_CP_ARP; ethertype 0x0806 after up to two tags): htype 1 or 6,
 *      ptype 0x0800, hlen 6, plen 4 and 28 bytes on the wire, else
 *      malformed. Sender and target protocol addresses translated like IP
 *      addresses, and subject to the unmapped rule (0.0.0.0 of an ARP probe
 *      excepted). Sender hardware address: MAC map, else default src MAC;
 *      target hardware address: MAC map, else default dst MAC; all-zero
 *      (request) and group MACs only through the map. No checksum.
 *    - DHCPv4 (ST_CP_DHCP; IPv4 UDP with both ports in {67, 68}, not a
 *      fragment): UDP length >= 8 + 236, else malformed ("truncated
 *      DHCP"); a UDP length past the datagram or under 8 is an L4 fault
 *      (TRUNC_L4) whatever the ports. ciaddr, yiaddr, siaddr, giaddr
 *      translated when covered; chaddr through the MAC map when htype 1 and
 *      hlen 6. After the magic cookie 99.130.83.99 (none: plain BOOTP, no
 *      options) the options are walked: pad 0, end 255, else code, length,
 *      data; an option whose length byte or data runs past the UDP length
 *      is malformed. Address options (data = n x 4-byte IPv4 addresses):
 *      3 router, 4, 5, 6 DNS, 7, 28 broadcast, 41, 42 NTP, 44, 45, 48, 49,
 *      50 requested address, 54 server identifier, 65, 68-76, 118; a length
 *      that is not a non-zero multiple of 4 (exactly 4 for 28, 50, 54, 118)
 *      is malformed. Option 1 (mask) and 121 (classless routes) untouched.
 *      Client identifier (61) of type 1 + 6 bytes: the MAC through the map.
 *      Overload (52, one byte 1..3, else malformed): the file and/or sname
 *      fields are walked as options too (when 52 is in the copy). DHCP
 *      payload addresses never trigger the unmapped rule (a DNS server
 *      outside the topology must not drop the lease); the IP header does.
 *      The UDP checksum (when non-zero) is adjusted for all of it.
 *    - IPv6 ND (ST_CP_ND; ICMPv6 133 RS, 134 RA, 135 NS, 136 NA, 137
 *      redirect, not a fragment): shorter than its fixed part (8, 16, 24,
 *      24, 40 bytes) is malformed. NS/NA/redirect target address and the
 *      redirect destination translated; the NS/NA target is subject to the
 *      unmapped rule. Options: length 0 or running past the payload is
 *      malformed; source/target link-layer address (1, 2) of 8 bytes: the
 *      MAC through the MAC map; prefix information (3, must be 32 bytes)
 *      prefix translated when covered. An NS sent to its target's
 *      solicited-node group ff02::1:ffXX:XXXX gets the group (and its
 *      33:33:ff MAC) of the translated target. ICMPv6 checksum adjusted.
 *    - BGP and OSPF: header translation only (2, 3).
 *
 * Not done here (yet): BGP/OSPF payload addresses, DHCP option 82 and 121,
 * DHCPv6, UDP-Lite/DCCP/SCTP/Mobility-header checksums.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE /* DPDK headers need POSIX types (ssize_t) under -std=c11 */
#endif
#include <string.h>

#include <rte_byteorder.h>
#include <rte_ether.h>
#include <rte_hash.h>
#include <rte_ip.h>
#include <rte_lpm.h>
#include <rte_lpm6.h>

#include <rte_mbuf.h>
#include <rte_prefetch.h>

#include "rewrite.h"
#include "lcore.h"
#include "compiled_policy.h"

#define RW_BIT(a) (1u << (a))

enum rw_l4 { RW_L4_NONE, RW_L4_TCP, RW_L4_UDP, RW_L4_ICMP, RW_L4_ICMP6,
	     RW_L4_OSPF };

/* One frame being rewritten. seg: bytes that may be read and written (the
 * first segment, never past pkt); pkt: bytes present in the copy; wire:
 * bytes the frame had on the wire (>= pkt; larger for a truncated copy).
 * cs_base: where the L4 checksummed data starts, for the byte parity of a
 * control-plane field. */
struct rw_ctx {
	const struct st_rewrite_tables *t;
	uint8_t *f;
	uint32_t seg, pkt, wire;
	uint32_t cs_base;
	struct st_rewrite_result *res;
};

/* Where the bytes [.., end) are, for a unit whose length fields say it ends
 * at lim (<= wire). */
enum rw_where { RW_OK, RW_BAD, RW_FAR, RW_CUT };

static inline enum rw_where rw_span(const struct rw_ctx *c, uint32_t end,
				   uint32_t lim)
{
	if (end > lim)
		return RW_BAD;     /* the frame's own lengths say it is short */
	if (end <= c->seg)
		return RW_OK;
	if (end <= c->pkt)
		return RW_FAR;     /* present, but past the first segment */
	return RW_CUT;             /* cut off by the snaplen */
}

/* A field [off, off + len) inside a unit already checked against its
 * length fields: 1 usable, 0 entirely cut off by the snaplen, -1 partly cut
 * off or (partly) beyond the first segment. */
static inline int rw_field(const struct rw_ctx *c, uint32_t off, uint32_t len)
{
	if (off + len <= c->seg)
		return 1;
	if (off >= c->pkt)
		return 0;
	return -1;
}

/* Frames are byte streams with no alignment promise: read and write fields
 * byte by byte in network order. */
static inline uint16_t rw_rd16(const uint8_t *p)
{
	return (uint16_t)((unsigned int)p[0] << 8 | p[1]);
}

static inline void rw_wr16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)(v >> 8);
	p[1] = (uint8_t)v;
}

static inline uint32_t rw_rd32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 |
	       (uint32_t)p[2] << 8 | p[3];
}

static inline void rw_wr32(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)(v >> 24);
	p[1] = (uint8_t)(v >> 16);
	p[2] = (uint8_t)(v >> 8);
	p[3] = (uint8_t)v;
}

/* RFC 1624 terms ~m + m' for one 16-bit word. */
static inline uint32_t rw_cs_word(uint16_t old, uint16_t new_)
{
	return (uint32_t)(uint16_t)~old + new_;
}

static inline uint32_t rw_cs_addr4(uint32_t old, uint32_t new_)
{
	return rw_cs_word((uint16_t)(old >> 16), (uint16_t)(new_ >> 16)) +
	       rw_cs_word((uint16_t)old, (uint16_t)new_);
}

/* Delta for n (even) bytes at an even offset of the checksummed data. */
static inline uint32_t rw_cs_bytes(const uint8_t *old, const uint8_t *new_,
				   unsigned int n)
{
	uint32_t d = 0;

	for (unsigned int i = 0; i < n; i += 2)
		d += rw_cs_word(rw_rd16(old + i), rw_rd16(new_ + i));
	return d;
}

static inline uint32_t rw_cs_addr6(const uint8_t *old, const uint8_t *new_)
{
	return rw_cs_bytes(old, new_, 16);
}

static inline uint16_t rw_cs_fold(uint32_t s)
{
	s = (s & 0xffff) + (s >> 16);
	s = (s & 0xffff) + (s >> 16);
	return (uint16_t)s;
}

/* A field at an odd offset contributes its bytes to the other half of each
 * 16-bit word: in one's complement arithmetic that is the even-offset delta
 * rotated by 8 bits (RFC 1071, byte order independence). */
static inline uint32_t rw_cs_parity(uint32_t d, uint32_t rel_off)
{
	uint16_t w;

	if ((rel_off & 1) == 0)
		return d;
	w = rw_cs_fold(d);
	return (uint32_t)(uint16_t)(w << 8 | w >> 8);
}

/* HC' = ~(~HC + delta); returns the new checksum. Deltas are folded as
 * they grow (see rw_cs_acc), far from overflowing 32 bits. */
static __rte_always_inline uint16_t
rw_cs_apply(uint8_t *field, uint32_t delta)
{
	uint32_t s = (uint32_t)(uint16_t)~rw_rd16(field) + rw_cs_fold(delta);
	uint16_t hc = (uint16_t)~rw_cs_fold(s);

	rw_wr16(field, hc);
	return hc;
}

/* Add d to a running delta, folded: a DHCP message may change hundreds of
 * words. */
static inline void rw_cs_acc(uint32_t *acc, uint32_t d)
{
	*acc = (uint32_t)rw_cs_fold(*acc) + rw_cs_fold(d);
}

static inline int rw_is_vlan(uint16_t et)
{
	return et == RTE_ETHER_TYPE_VLAN || et == RTE_ETHER_TYPE_QINQ ||
	       et == RTE_ETHER_TYPE_QINQ1;
}

/* Translate one IPv4 address in place in *addr; 1 if covered by a map. */
static inline int rw_xlat4(const struct st_rewrite_tables *t, uint32_t *addr)
{
	uint32_t nh;

	if (t->lpm4 == NULL || rte_lpm_lookup(t->lpm4, *addr, &nh) != 0 ||
	    nh >= t->nb_map4)
		return 0;
	*addr = t->map4[nh].to | (*addr & ~t->map4_mask[nh]);
	return 1;
}

/* Translate one IPv6 address from in[] into out[]; 1 if covered. */
static inline int rw_xlat6(const struct st_rewrite_tables *t,
			   const uint8_t *in, uint8_t *out)
{
	uint32_t nh;
	const struct st_map6 *m;
	unsigned int full, i;

	memcpy(out, in, 16);
	if (t->lpm6 == NULL || rte_lpm6_lookup(t->lpm6, in, &nh) != 0 ||
	    nh >= t->nb_map6)
		return 0;
	m = &t->map6[nh];
	full = m->len / 8u;
	for (i = 0; i < full; i++)
		out[i] = m->to[i];
	if (full < 16 && (m->len & 7) != 0) {
		uint8_t mask = (uint8_t)(0xff00u >> (m->len & 7));

		out[full] = (uint8_t)((m->to[full] & mask) | (in[full] & ~mask));
	}
	return 1;
}

/* What a lookup found for one address. */
enum rw_cover { RW_UNCOVERED = 0, RW_COVERED = 1, RW_EXEMPT = 2 };

/* IPv4 lookup with the control-plane exemptions (cp_aware): 0.0.0.0 and
 * 255.255.255.255 are never translated, and a multicast address that no
 * map covers is kept; neither is "unmapped". */
static inline enum rw_cover rw_addr4(const struct st_rewrite_tables *t,
				     uint32_t a, uint32_t *out, const int cp)
{
	*out = a;
	if (cp && t->cp_aware && (a == 0 || a == UINT32_MAX))
		return RW_EXEMPT;
	if (rw_xlat4(t, out))
		return RW_COVERED;
	if (cp && t->cp_aware && (a >> 28) == 0xe)
		return RW_EXEMPT;
	return RW_UNCOVERED;
}

static inline int rw_is_unspec6(const uint8_t *a)
{
	uint8_t o = 0;

	for (int i = 0; i < 16; i++)
		o |= a[i];
	return o == 0;
}

/* IPv6 likewise: :: is never translated; multicast (ff00::/8) and
 * link-local (fe80::/10) are kept when no map covers them. */
static inline enum rw_cover rw_addr6(const struct st_rewrite_tables *t,
				     const uint8_t *in, uint8_t *out, const int cp)
{
	if (cp && t->cp_aware && rw_is_unspec6(in)) {
		memcpy(out, in, 16);
		return RW_EXEMPT;
	}
	if (rw_xlat6(t, in, out))
		return RW_COVERED;
	if (cp && t->cp_aware &&
	    (in[0] == 0xff || (in[0] == 0xfe && (in[1] & 0xc0) == 0x80)))
		return RW_EXEMPT;
	return RW_UNCOVERED;
}

static inline int rw_mac_is_zero(const uint8_t *mac)
{
	return (mac[0] | mac[1] | mac[2] | mac[3] | mac[4] | mac[5]) == 0;
}

/* MAC map lookup: 1 and *to set when mac is mapped. */
static inline int rw_mac_map(const struct st_rewrite_tables *t,
			     const uint8_t *mac, const uint8_t **to)
{
	/* rte_jhash reads the key in 32-bit words: give it an aligned copy */
	union { uint32_t w[2]; uint8_t b[8]; } key;
	void *data;

	if (t->mac_hash == NULL)
		return 0;
	memcpy(key.b, mac, 6);
	if (rte_hash_lookup_data(t->mac_hash, key.b, &data) < 0)
		return 0;
	*to = t->mac_to[(uintptr_t)data];
	return 1;
}

/* The replacement for one Ethernet MAC: the MAC map, else def unless it is
 * all zero; with cp_aware a group (multicast/broadcast) or all-zero MAC
 * names no single host and is kept unless mapped. NULL = keep. */
static inline const uint8_t *rw_mac_new(const struct st_rewrite_tables *t,
					const uint8_t *mac, const uint8_t *def,
					const int cp)
{
	const uint8_t *to;

	if (cp && rw_mac_map(t, mac, &to))
		return to;
	if (cp && t->cp_aware && ((mac[0] & 1) != 0 || rw_mac_is_zero(mac)))
		return NULL;
	return rw_mac_is_zero(def) ? NULL : def;
}

/* Ethernet MACs. Returns 1 when the destination was kept as it was. */
static inline int rw_set_macs(const struct rw_ctx *c, const int cp)
{
	const uint8_t *d = rw_mac_new(c->t, c->f, c->t->dst_mac, cp);
	const uint8_t *s = rw_mac_new(c->t, c->f + RTE_ETHER_ADDR_LEN,
				      c->t->src_mac, cp);

	if (d != NULL)
		memcpy(c->f, d, RTE_ETHER_ADDR_LEN);
	if (s != NULL)
		memcpy(c->f + RTE_ETHER_ADDR_LEN, s, RTE_ETHER_ADDR_LEN);
	return d == NULL;
}

/* A kept multicast destination MAC follows its translated IP group
 * (RFC 1112 01:00:5e + 23 bits; RFC 2464 33:33 + 32 bits), so the shadow
 * switch delivers it to the translated group's listeners. */
static inline void rw_mcast_mac4(const struct rw_ctx *c, uint32_t old,
				 uint32_t new_)
{
	uint8_t *d = c->f;

	if (!c->t->cp_aware || old == new_ || (new_ >> 28) != 0xe ||
	    d[0] != 0x01 || d[1] != 0x00 || d[2] != 0x5e ||
	    ((uint32_t)d[3] << 16 | (uint32_t)d[4] << 8 | d[5]) != (old & 0x7fffff))
		return;
	d[3] = (uint8_t)((new_ >> 16) & 0x7f);
	d[4] = (uint8_t)(new_ >> 8);
	d[5] = (uint8_t)new_;
}

static inline void rw_mcast_mac6(const struct rw_ctx *c, const uint8_t *old,
				 const uint8_t *new_)
{
	uint8_t *d = c->f;

	if (!c->t->cp_aware || new_[0] != 0xff || memcmp(old, new_, 16) == 0 ||
	    d[0] != 0x33 || d[1] != 0x33 || memcmp(d + 2, old + 12, 4) != 0)
		return;
	memcpy(d + 2, new_ + 12, 4);
}

static inline void rw_malformed(struct st_rewrite_result *res,
				enum st_anomaly a)
{
	res->drop = ST_DROP_MALFORMED;
	res->anomalies |= RW_BIT(a);
}

/* The snaplen cut the copy inside a header or inside a field that must be
 * translated. Nothing is wrong with the packet, so no anomaly; but the copy
 * cannot be sent without leaking or garbling an address. */
static inline void rw_cut(struct st_rewrite_result *res)
{
	res->drop = ST_DROP_MALFORMED;
}

/* Header bytes [.., end) of a unit ending at lim: BAD/FAR are anomaly a,
 * CUT drops the copy silently. Returns 1 when the frame is done. */
static inline int rw_hdr_fail(const struct rw_ctx *c, uint32_t end,
			      uint32_t lim, enum st_anomaly a)
{
	switch (rw_span(c, end, lim)) {
	case RW_OK:
		return 0;
	case RW_CUT:
		rw_cut(c->res);
		return 1;
	default:
		rw_malformed(c->res, a);
		return 1;
	}
}

/* The unmapped rule, once every address has been looked up. 1 = done. */
static inline int rw_unmapped(const struct rw_ctx *c, int unmapped)
{
	if (!unmapped || c->t->unmapped == ST_UNMAPPED_RULE_MIRROR)
		return 0;
	c->res->drop = ST_DROP_UNMAPPED;
	if (c->t->unmapped == ST_UNMAPPED_RULE_COUNT)
		c->res->unmapped_seen = 1;
	return 1;
}

/* ---- control-plane payloads -------------------------------------------------
 * Each payload is handled in two passes over the same code: pass 0
 * (commit == 0) validates and looks addresses up without writing; only if
 * the copy is then going to be sent, pass 1 writes and sums the checksum
 * delta. A dropped copy is therefore never modified. */

enum rw_cp { RW_CP_OK, RW_CP_BAD, RW_CP_CUT };

static inline void rw_cp_fail(const struct rw_ctx *c, enum rw_cp r)
{
	if (r == RW_CP_BAD)
		rw_malformed(c->res, ST_ANOM_CP_MALFORMED);
	else
		rw_cut(c->res);
}

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

static void rw_arp(const struct rw_ctx *c, uint32_t a)
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
		if (pass == 0 && rw_unmapped(c, unmapped))
			return;
	}
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
static enum rw_cp rw_dhcp(const struct rw_ctx *c, uint32_t u, uint32_t dend,
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

static inline int rw_is_nd(uint8_t type)
{
	return type >= 133 && type <= 137;
}

/* The ND message at l4 (absolute) ending at dend. Target address (NS, NA,
 * redirect) and redirect destination; options: source/target link-layer
 * address (1, 2; 8 bytes) through the MAC map, prefix information (3) prefix
 * through the maps. An option of length 0, running past the message, or a
 * prefix option not 32 bytes long is malformed. *unmapped is set when an
 * NS/NA target is outside every map. */
static enum rw_cp rw_nd(const struct rw_ctx *c, uint32_t l4, uint32_t dend,
			int commit, uint32_t *delta, int *unmapped)
{
	const uint8_t *f = c->f;
	uint8_t type = f[l4];
	uint32_t i = l4 + rw_nd_fixed[type - 133];
	enum rw_cover cov;

	if (i > dend)
		return RW_CP_BAD;
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
		if ((f[i] == 1 || f[i] == 2) && len == 8)
			pr = rw_cp_mac(c, i + 2, commit, NULL, delta);
		else if (f[i] == 3 && len != 32)
			return RW_CP_BAD;
		else if (f[i] == 3)
			pr = rw_cp_addr6(c, i + 16, commit, delta, &cov);
		if (pr < 0)
			return RW_CP_CUT;
		i += len;
	}
	return RW_CP_OK;
}

/* ---- IP ------------------------------------------------------------------- */

/* 1 if the IPv4 options hold a loose or strict source route that is not yet
 * exhausted: the IP destination is then the next hop, not the final one. */
static inline int rw_ipv4_src_route(const uint8_t *ip, uint32_t hlen)
{
	uint32_t i = sizeof(struct rte_ipv4_hdr);

	while (i < hlen) {
		uint8_t type = ip[i], len;

		if (type == 0)            /* end of option list */
			break;
		if (type == 1) {          /* no-operation */
			i++;
			continue;
		}
		if (hlen - i < 2)
			break;
		len = ip[i + 1];
		if (len < 2 || len > hlen - i)
			break;
		if ((type == 131 || type == 137) && len >= 3 &&
		    ip[i + 2] <= len)
			return 1;
		i += len;
	}
	return 0;
}

/* The IPv4 header quoted by an ICMP error at in[0..20): translate covered
 * addresses, fix its checksum; return the delta for the outer checksum. */
static inline uint32_t rw_inner4(const struct st_rewrite_tables *t,
				 uint8_t *in, uint8_t *translated, const int cp)
{
	uint32_t src, dst, nsrc, ndst, dh = 0;
	uint16_t old_cs;

	if ((in[0] >> 4) != 4 || (in[0] & 0xf) < 5)
		return 0;
	src = rw_rd32(in + 12);
	dst = rw_rd32(in + 16);
	rw_addr4(t, src, &nsrc, cp);
	rw_addr4(t, dst, &ndst, cp);
	if (nsrc != src) {
		dh += rw_cs_addr4(src, nsrc);
		rw_wr32(in + 12, nsrc);
	}
	if (ndst != dst) {
		dh += rw_cs_addr4(dst, ndst);
		rw_wr32(in + 16, ndst);
	}
	if (dh == 0)
		return 0;
	*translated = 1;
	old_cs = rw_rd16(in + 10);
	return dh + rw_cs_word(old_cs, rw_cs_apply(in + 10, dh));
}

/* The IPv6 header quoted by an ICMPv6 error at in[0..40). */
static inline uint32_t rw_inner6(const struct st_rewrite_tables *t,
				 uint8_t *in, uint8_t *translated, const int cp)
{
	uint8_t na[16];
	uint32_t d = 0;

	if ((in[0] >> 4) != 6)
		return 0;
	for (unsigned int off = 8; off <= 24; off += 16) {
		rw_addr6(t, in + off, na, cp);
		if (memcmp(na, in + off, 16) != 0) {
			d += rw_cs_addr6(in + off, na);
			memcpy(in + off, na, 16);
			*translated = 1;
		}
	}
	return d;
}

/* Apply an L4 checksum delta. UDP: 0 means "no checksum" and stays; a
 * computed 0 must be sent as 0xFFFF (RFC 768). */
static __rte_always_inline void
rw_l4_fix(enum rw_l4 kind, uint8_t *field, uint32_t delta)
{
	if (kind == RW_L4_UDP) {
		if (rw_rd16(field) == 0)
			return;
		if (rw_cs_apply(field, delta) == 0)
			rw_wr16(field, 0xffff);
		return;
	}
	rw_cs_apply(field, delta);
}

static inline int rw_dhcp_port(uint16_t p)
{
	return p == 67 || p == 68;
}

static __rte_always_inline void
rw_ipv4(struct rw_ctx *c, uint32_t l3, const int cp)
{
	const struct st_rewrite_tables *t = c->t;
	struct st_rewrite_result *res = c->res;
	uint8_t *ip = c->f + l3, *l4;
	uint32_t hlen, tot, dend, dg, rd, pr, need = 0, csum_off = 0;
	uint32_t src, dst, nsrc, ndst, d_ip = 0, d_l4 = 0, d_cp = 0;
	uint16_t frag, foff;
	int mf, src_route = 0, dhcp = 0, fix_l4;
	enum rw_cover ms, md;
	enum rw_l4 kind = RW_L4_NONE;
	enum rw_cp cpr;

	if (rw_hdr_fail(c, l3 + sizeof(struct rte_ipv4_hdr), c->wire,
			ST_ANOM_TRUNC_L3))
		return;
	if ((ip[0] >> 4) != 4 || (ip[0] & 0xf) < 5)
		{ rw_malformed(res, ST_ANOM_BAD_IHL); return; }
	hlen = (uint32_t)(ip[0] & 0xf) * 4;
	tot = rw_rd16(ip + 2);
	/* total_length is checked against the frame on the wire, not the
	 * copy: a truncated copy is not a truncated datagram */
	if (tot < hlen || tot > c->wire - l3)
		{ rw_malformed(res, ST_ANOM_TRUNC_L3); return; }
	dend = l3 + tot;
	if (rw_hdr_fail(c, l3 + hlen, dend, ST_ANOM_TRUNC_L3))
		return;
	if (hlen > sizeof(struct rte_ipv4_hdr)) {
		res->anomalies |= RW_BIT(ST_ANOM_IP_OPTIONS);
		src_route = rw_ipv4_src_route(ip, hlen);
	}
	frag = rw_rd16(ip + 6);
	foff = frag & RTE_IPV4_HDR_OFFSET_MASK;
	mf = (frag & RTE_IPV4_HDR_MF_FLAG) != 0;
	if (mf || foff != 0)
		res->anomalies |= RW_BIT(ST_ANOM_FRAGMENT);

	l4 = ip + hlen;
	dg = tot - hlen;                                   /* in the datagram */
	rd = (dend < c->seg ? dend : c->seg) - (l3 + hlen); /* readable */
	pr = (dend < c->pkt ? dend : c->pkt) - (l3 + hlen); /* in the copy */
	if (foff == 0) {
		switch (ip[9]) {
		case IPPROTO_TCP:
			kind = RW_L4_TCP; csum_off = 16; need = mf ? 18 : 20;
			break;
		case IPPROTO_UDP:
			kind = RW_L4_UDP; csum_off = 6; need = 8;
			break;
		case IPPROTO_ICMP:
			kind = RW_L4_ICMP; csum_off = 2; need = mf ? 4 : 8;
			break;
		default:
			break;
		}
		/* too short by its own lengths, or present in the copy but
		 * not in the first segment */
		if (dg < need || (rd < need && pr > rd))
			{ rw_malformed(res, ST_ANOM_TRUNC_L4); return; }
		if (kind == RW_L4_TCP && !mf && rd >= 13 &&
		    ((l4[12] >> 4) < 5 || (uint32_t)(l4[12] >> 4) * 4 > dg))
			{ rw_malformed(res, ST_ANOM_TRUNC_L4); return; }
		/* a UDP length is the whole datagram's: checked when the
		 * datagram is not fragmented */
		if (kind == RW_L4_UDP && !mf && rd >= 6 &&
		    (rw_rd16(l4 + 4) < 8 || rw_rd16(l4 + 4) > dg))
			{ rw_malformed(res, ST_ANOM_TRUNC_L4); return; }
	}
	/* the checksum field may be cut off by the snaplen: then nothing to fix */
	fix_l4 = kind != RW_L4_NONE && rd >= csum_off + 2;

	c->cs_base = l3 + hlen;
	if (cp && kind == RW_L4_UDP && !mf && (t->control_plane & ST_CP_DHCP) &&
	    rd >= 4 && rw_dhcp_port(rw_rd16(l4)) && rw_dhcp_port(rw_rd16(l4 + 2))) {
		dhcp = 1;
		cpr = rw_dhcp(c, l3 + hlen, dend, 0, NULL);
		if (cpr != RW_CP_OK)
			{ rw_cp_fail(c, cpr); return; }
	}

	src = rw_rd32(ip + 12);
	dst = rw_rd32(ip + 16);
	ms = rw_addr4(t, src, &nsrc, cp);
	md = rw_addr4(t, dst, &ndst, cp);
	if (rw_unmapped(c, ms == RW_UNCOVERED || md == RW_UNCOVERED))
		return;

	/* commit: from here on the copy is sent */
	if (nsrc != src) {
		d_ip += rw_cs_addr4(src, nsrc);
		d_l4 += rw_cs_addr4(src, nsrc);
		rw_wr32(ip + 12, nsrc);
	}
	if (ndst != dst) {
		d_ip += rw_cs_addr4(dst, ndst);
		if (!src_route)
			d_l4 += rw_cs_addr4(dst, ndst);
		rw_wr32(ip + 16, ndst);
	}
	if (d_ip != 0) {
		res->translated = 1;
		rw_cs_apply(ip + 10, d_ip);
	}
	if (cp && dhcp) {
		rw_dhcp(c, l3 + hlen, dend, 1, &d_cp);
		rw_cs_acc(&d_l4, d_cp);
	}
	switch (kind) {
	case RW_L4_TCP:
	case RW_L4_UDP:
		if (fix_l4 && rw_cs_fold(d_l4) != 0)
			rw_l4_fix(kind, l4 + csum_off, d_l4);
		break;
	case RW_L4_ICMP: {
		uint32_t d = 0;
		uint8_t type = fix_l4 ? l4[0] : 0;

		if ((type == 3 || type == 4 || type == 5 || type == 11 ||
		     type == 12) &&
		    rd >= 8 + sizeof(struct rte_ipv4_hdr))
			d = rw_inner4(t, l4 + 8, &res->translated, cp);
		if (d != 0)
			rw_cs_apply(l4 + csum_off, d);
		break;
	}
	default:
		break;
	}
	if (rw_set_macs(c, cp) && cp)
		rw_mcast_mac4(c, dst, ndst);
}

static __rte_always_inline void
rw_ipv6(struct rw_ctx *c, uint32_t l3, const int cp)
{
	const struct st_rewrite_tables *t = c->t;
	struct st_rewrite_result *res = c->res;
	uint8_t *ip = c->f + l3, *l4;
	uint8_t nsrc[16], ndst[16], odst[16];
	uint32_t dend, off, rd, pr, dg, need = 0, csum_off = 0;
	uint32_t d_l4 = 0, d_cp = 0;
	uint8_t nh;
	int routed = 0, first_frag = 0, later_frag = 0, nd = 0, unmapped = 0;
	int fix_l4;
	enum rw_l4 kind = RW_L4_NONE;
	enum rw_cp cpr;

	if (rw_hdr_fail(c, l3 + sizeof(struct rte_ipv6_hdr), c->wire,
			ST_ANOM_TRUNC_L3))
		return;
	if ((ip[0] >> 4) != 6)
		{ rw_malformed(res, ST_ANOM_BAD_IHL); return; }
	dend = l3 + sizeof(struct rte_ipv6_hdr) + (uint32_t)rw_rd16(ip + 4);
	if (dend > c->wire)
		{ rw_malformed(res, ST_ANOM_TRUNC_L3); return; }

	/* Each extension header is >= 8 bytes, so the walk ends within
	 * (dend - l3) / 8 steps whatever the frame says. */
	off = l3 + sizeof(struct rte_ipv6_hdr);
	nh = ip[6];
	for (;;) {
		const uint8_t *x = c->f + off;
		uint32_t hl;

		if (nh != IPPROTO_HOPOPTS && nh != IPPROTO_ROUTING &&
		    nh != IPPROTO_DSTOPTS && nh != IPPROTO_AH &&
		    nh != IPPROTO_FRAGMENT)
			break;
		if (rw_hdr_fail(c, off + 8, dend, ST_ANOM_TRUNC_L3))
			return;
		if (nh == IPPROTO_FRAGMENT) {
			uint16_t fo = rw_rd16(x + 2);

			nh = x[0];
			off += 8;
			if ((fo & 0xfff8) != 0) {
				res->anomalies |= RW_BIT(ST_ANOM_FRAGMENT);
				later_frag = 1;
				break;
			}
			if (fo & 1) {
				res->anomalies |= RW_BIT(ST_ANOM_FRAGMENT);
				first_frag = 1;
			}
			continue;
		}
		hl = nh == IPPROTO_AH ? ((uint32_t)x[1] + 2) * 4
				      : ((uint32_t)x[1] + 1) * 8;
		if (rw_hdr_fail(c, off + hl, dend, ST_ANOM_TRUNC_L3))
			return;
		if (nh == IPPROTO_ROUTING && x[3] != 0)
			routed = 1;
		nh = x[0];
		off += hl;
	}

	l4 = c->f + off;
	dg = dend - off;
	rd = (dend < c->seg ? dend : c->seg) - off;
	pr = (dend < c->pkt ? dend : c->pkt) - off;
	if (!later_frag) {
		switch (nh) {
		case IPPROTO_TCP:
			kind = RW_L4_TCP; csum_off = 16;
			need = first_frag ? 18 : 20;
			break;
		case IPPROTO_UDP:
			kind = RW_L4_UDP; csum_off = 6; need = 8;
			break;
		case IPPROTO_ICMPV6:
			kind = RW_L4_ICMP6; csum_off = 2;
			need = first_frag ? 4 : 8;
			break;
		case 89: /* OSPFv3 */
			kind = RW_L4_OSPF; csum_off = 12;
			need = first_frag ? 14 : 16;
			break;
		default:
			break;
		}
		if (dg < need || (rd < need && pr > rd))
			{ rw_malformed(res, ST_ANOM_TRUNC_L4); return; }
		if (kind == RW_L4_TCP && !first_frag && rd >= 13 &&
		    ((l4[12] >> 4) < 5 || (uint32_t)(l4[12] >> 4) * 4 > dg))
			{ rw_malformed(res, ST_ANOM_TRUNC_L4); return; }
		if (kind == RW_L4_UDP && !first_frag && rd >= 6 &&
		    (rw_rd16(l4 + 4) < 8 || rw_rd16(l4 + 4) > dg))
			{ rw_malformed(res, ST_ANOM_TRUNC_L4); return; }
	}
	fix_l4 = kind != RW_L4_NONE && rd >= csum_off + 2;

	/* ND is never fragmented (RFC 6980): fragments get headers only */
	c->cs_base = off;
	if (cp && kind == RW_L4_ICMP6 && !first_frag && (t->control_plane & ST_CP_ND) &&
	    rd >= 1 && rw_is_nd(l4[0])) {
		nd = 1;
		cpr = rw_nd(c, off, dend, 0, NULL, &unmapped);
		if (cpr != RW_CP_OK)
			{ rw_cp_fail(c, cpr); return; }
	}

	unmapped |= rw_addr6(t, ip + 8, nsrc, cp) == RW_UNCOVERED;
	unmapped |= rw_addr6(t, ip + 24, ndst, cp) == RW_UNCOVERED;
	if (rw_unmapped(c, unmapped))
		return;

	/* commit */
	memcpy(odst, ip + 24, 16);
	if (cp && nd) {
		uint8_t otgt[16];
		int ns = l4[0] == 135 && rw_field(c, off + 8, 16) > 0;

		if (ns)
			memcpy(otgt, l4 + 8, 16);
		rw_nd(c, off, dend, 1, &d_cp, &unmapped);
		/* an NS to the target's solicited-node group (ff02::1:ffXX:XXXX)
		 * follows the translated target when no map covers the group */
		if (ns && memcmp(ndst, odst, 16) == 0 &&
		    memcmp(odst, "\xff\x02\0\0\0\0\0\0\0\0\0\x01\xff", 13) == 0 &&
		    memcmp(odst + 13, otgt + 13, 3) == 0)
			memcpy(ndst + 13, l4 + 8 + 13, 3);
	}
	if (memcmp(nsrc, ip + 8, 16) != 0) {
		d_l4 += rw_cs_addr6(ip + 8, nsrc);
		memcpy(ip + 8, nsrc, 16);
		res->translated = 1;
	}
	if (memcmp(ndst, ip + 24, 16) != 0) {
		if (!routed)
			d_l4 += rw_cs_addr6(ip + 24, ndst);
		memcpy(ip + 24, ndst, 16);
		res->translated = 1;
	}
	rw_cs_acc(&d_l4, d_cp);
	if (kind == RW_L4_ICMP6 && rd >= 8 + sizeof(struct rte_ipv6_hdr) &&
	    l4[0] >= 1 && l4[0] <= 4)
		rw_cs_acc(&d_l4, rw_inner6(t, l4 + 8, &res->translated, cp));
	if (fix_l4 && rw_cs_fold(d_l4) != 0)
		rw_l4_fix(kind, l4 + csum_off, d_l4);
	if (rw_set_macs(c, cp) && cp)
		rw_mcast_mac6(c, odst, ndst);
}

/* cp = 0 is the variant for tables without MAC maps or control-plane bits
 * (every plan, and simple policies): the compiler drops all of their code
 * from it, so the skeleton's fast path pays nothing for them. */
static __rte_always_inline void
rw_frame(const struct st_rewrite_tables *t, uint8_t *frame, uint32_t seg_len,
	 uint32_t pkt_len, uint32_t wire_len, struct st_rewrite_result *res,
	 const int cp)
{
	struct rw_ctx c;
	uint32_t off = RTE_ETHER_HDR_LEN;
	uint16_t et;

	res->drop = -1;
	res->translated = 0;
	res->anomalies = 0;
	res->unmapped_seen = 0;

	c.t = t;
	c.f = frame;
	c.res = res;
	c.pkt = pkt_len;
	c.seg = seg_len < pkt_len ? seg_len : pkt_len;
	c.wire = wire_len > pkt_len ? wire_len : pkt_len;
	c.cs_base = 0;

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
	if (et == RTE_ETHER_TYPE_IPV4)
		rw_ipv4(&c, off, cp);
	else if (et == RTE_ETHER_TYPE_IPV6)
		rw_ipv6(&c, off, cp);
	else if (cp && et == RTE_ETHER_TYPE_ARP && (t->control_plane & ST_CP_ARP))
		rw_arp(&c, off);
	else
		res->drop = ST_DROP_NOT_IP;
}

/* Tables with MAC maps or control-plane bits: out of line, so the plain
 * variant below stays compact. */
static __rte_noinline void
rw_frame_policy(const struct st_rewrite_tables *t, uint8_t *frame,
		uint32_t seg_len, uint32_t pkt_len, uint32_t wire_len,
		struct st_rewrite_result *res)
{
	rw_frame(t, frame, seg_len, pkt_len, wire_len, res, 1);
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
rw_frame_general(const struct st_rewrite_tables *t, uint8_t *frame,
		 uint32_t seg_len, uint32_t pkt_len, uint32_t wire_len,
		 struct st_rewrite_result *res)
{
	/* control_plane != 0 implies cp_aware */
	if (t->cp_aware || t->mac_hash != NULL)
		rw_frame_policy(t, frame, seg_len, pkt_len, wire_len, res);
	else
		rw_frame(t, frame, seg_len, pkt_len, wire_len, res, 0);
}

void st_rewrite_frame_ex(const struct st_rewrite_tables *t, uint8_t *frame,
			 uint32_t seg_len, uint32_t pkt_len, uint32_t wire_len,
			 struct st_rewrite_result *res)
{
	if (likely(rw_fast4(t, frame, seg_len, pkt_len, wire_len, res)))
		return;
	rw_frame_general(t, frame, seg_len, pkt_len, wire_len, res);
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
shadow_rewrite(struct st_lcore_ctr *c, struct st_session_stats *st, const struct st_policy *pol,
	       struct rte_mbuf *m, uint32_t wire_len, int first, uint64_t *translated)
{
	struct st_rewrite_result res;

	res.drop = -1;
	res.translated = 0;
	res.anomalies = 0;
	res.unmapped_seen = 0;
	st_rewrite_frame_ex(pol->rw, rte_pktmbuf_mtod(m, uint8_t *), rte_pktmbuf_data_len(m),
			    rte_pktmbuf_pkt_len(m), wire_len, &res);
	if (unlikely(res.anomalies != 0) && first)
		count_anomalies(c, res.anomalies);
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

uint32_t
st_rewrite_stage(struct st_lcore *lc, const struct st_policy *pol, struct st_pending *p,
		 uint32_t n)
{
	struct st_lcore_ctr *c = &lc->ctr;
	uint64_t translated = 0;
	uint32_t i, k = 0;

	for (i = 0; i < n && i < ST_PREFETCH_OFFSET; i++)
		rte_prefetch0(rte_pktmbuf_mtod(p[i].m, void *));
	for (i = 0; i < n; i++) {
		if (i + ST_PREFETCH_OFFSET < n)
			rte_prefetch0(rte_pktmbuf_mtod(p[i + ST_PREFETCH_OFFSET].m, void *));
		if (shadow_rewrite(c, &c->sess[pol->sessions[p[i].session].slot], pol, p[i].m,
				   p[i].wire_len, p[i].first, &translated))
			p[k++] = p[i];
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
	struct st_session_stats *st = &c->sess[pol->sessions[0].slot];
	uint64_t translated = 0;
	uint16_t i, k = 0;

	for (i = 0; i < n && i < ST_PREFETCH_OFFSET; i++)
		rte_prefetch0(rte_pktmbuf_mtod(cps[i], void *));
	for (i = 0; i < n; i++) {
		struct rte_mbuf *m = cps[i];

		if (i + ST_PREFETCH_OFFSET < n)
			rte_prefetch0(rte_pktmbuf_mtod(cps[i + ST_PREFETCH_OFFSET], void *));
		if (shadow_rewrite(c, st, pol, m, rte_pktmbuf_pkt_len(m), 1, &translated))
			cps[k++] = m;
	}
	c->translated_packets += translated;
	return k;
}
