/* SPDX-License-Identifier: BSD-3-Clause
 * The IP layer of the rewrite (internal to stages/rewrite_*.c): IPv4 in
 * rewrite_ipv4.c, IPv6 in rewrite_ipv6.c, each in two variants compiled
 * from one body: plain (tables without MAC maps or control-plane bits, all
 * of that code dropped) and _cp. Sections 2 and 3 of the rewrite's
 * specification (rewrite_frame.h has the overview):
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
 *    the copy but not in the first segment). Other protocols (ESP,
 *    SCTP, OSPFv2 (proto 89: its checksum does not cover the IP header),
 *    ...) have no checksum over IP addresses: only the IP header changes.
 *    Tunnels (GRE, IP-in-IP, PIM Register; VXLAN and GENEVE over UDP) and
 *    DNS: section 9 (rewrite_payload.h), with tables from a policy.
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
 */
#ifndef ST_REWRITE_IP_H
#define ST_REWRITE_IP_H

#include <stdint.h>

#include "rewrite_frame.h"

/* The IP header at l3 (absolute) and what it carries: checked, translated,
 * checksums fixed, MACs set; the outcome in c->res. */
void st_rw_ipv4(struct rw_ctx *c, uint32_t l3);
void st_rw_ipv4_cp(struct rw_ctx *c, uint32_t l3);
void st_rw_ipv6(struct rw_ctx *c, uint32_t l3);
void st_rw_ipv6_cp(struct rw_ctx *c, uint32_t l3);

#endif /* ST_REWRITE_IP_H */
