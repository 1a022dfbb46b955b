/* SPDX-License-Identifier: BSD-3-Clause
 * Control-plane payloads of the rewrite (internal to stages/rewrite_*.c;
 * rewrite_cp.c): ARP, DHCPv4, IPv6 ND. Section 8 of the rewrite's
 * specification (rewrite_frame.h has the overview):
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
 * Each payload is handled in two passes over the same code: pass 0
 * (commit == 0) validates and looks addresses up without writing; only if
 * the copy is then going to be sent, pass 1 writes and sums the checksum
 * delta. A dropped copy is therefore never modified.
 */
#ifndef ST_REWRITE_CP_H
#define ST_REWRITE_CP_H

#include <stdint.h>

#include "rewrite_frame.h"

/* The ARP payload at a (absolute), in the Ethernet frame of c. */
void st_rw_arp(const struct rw_ctx *c, uint32_t a);
/* The DHCP message in the UDP datagram at u (absolute), which ends at dend
 * by the IP length; pass 0 (commit 0) checks, pass 1 writes and adds the
 * UDP checksum delta to *delta. */
enum rw_cp st_rw_dhcp(const struct rw_ctx *c, uint32_t u, uint32_t dend,
		      int commit, uint32_t *delta);
/* The ND message at l4 (absolute) ending at dend, likewise; *unmapped is
 * set when an NS/NA target is outside every map. */
enum rw_cp st_rw_nd(const struct rw_ctx *c, uint32_t l4, uint32_t dend,
		    int commit, uint32_t *delta, int *unmapped);

#endif /* ST_REWRITE_CP_H */
