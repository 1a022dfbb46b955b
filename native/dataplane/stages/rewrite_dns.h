/* SPDX-License-Identifier: BSD-3-Clause
 * DNS, mDNS and LLMNR messages in shadow copies (internal to
 * stages/rewrite_*.c; rewrite_dns.c). Part of section 9 of the rewrite's
 * specification (rewrite_payload.h):
 *
 * 9.1 DNS (UDP/TCP 53), mDNS (UDP 5353) and LLMNR (UDP/TCP 5355) share the
 *    message format (RFC 1035, 6762, 4795). A UDP datagram holds one
 *    message (the UDP length is its length). Over TCP each message follows
 *    its 2-byte length (RFC 7766) and may span segments: with the worker's
 *    flow state (rewrite_rt.h, st_rw_dns_tcp) the message in progress is
 *    kept and walked up to the bytes seen so far; an address cut by a
 *    segment is written as far as every completion agrees, else "segment";
 *    a segment ending inside a name whose last labels are address-like (it
 *    may be a reverse name, not translatable before its end is seen), a
 *    change to bytes of a segment already sent (a reverse name completed
 *    later), an OPT or SVCB/HTTPS record cut by a segment, a segment missed
 *    or out of order: "segment". Without flow state a segment must hold
 *    whole messages (st_rw_dns_check), else "segment".
 *    The whole message must be in the first segment of the copy, else
 *    "truncated" (a snaplen shorter than the message included).
 *    Nothing a message claims is trusted: the header needs 12 bytes; each
 *    of the qd/an/ns/ar counts is walked within the message's length, and
 *    a message whose records run past its end, or leave bytes after them
 *    that are not all zero (padding), is "malformed". Names: labels of 1..63 bytes,
 *    compression pointers (RFC 1035 4.1.4) to an earlier offset of the
 *    same message, at most 64 of them and 255 bytes per name, else
 *    "malformed"; label types 0x40 and 0x80: "malformed".
 *    Translated, in every section (question, answer, authority,
 *    additional), queries and responses alike (mDNS queries carry known
 *    answers):
 *    - A (class IN, cache-flush bit ignored; rdlength 4) and AAAA
 *      (rdlength 16): the address through the maps (other rdlengths:
 *      "malformed"); WKS (11): its leading address.
 *    - Reverse names (question names and record owner names) under
 *      in-addr.arpa (the up to 4 decimal labels just before it) and
 *      ip6.arpa (up to 32 one-nibble labels): the k labels are a prefix of
 *      8k (4k) bits, translated when a map covers it with a prefix length
 *      <= 8k (4k); covered by a longer map only: "prefix_length". A decimal
 *      label whose translation has another number of digits would change
 *      the name's length: "name_length" (nibbles always fit). Labels
 *      reached through a compression pointer are translated where they
 *      are; the same bytes given two different translations by two names:
 *      "unsupported".
 *    - EDNS client subnet (OPT option 8, RFC 7871): the address prefix,
 *      the same way ("prefix_length" when its map is longer than the
 *      source prefix length; a length that does not match: "malformed").
 *    - SVCB/HTTPS (64/65) ipv4hint (4) and ipv6hint (6) parameters.
 *    - A6 (38) and APL (42), which carry address prefixes in forms not
 *      translated: "unsupported".
 *    Addresses outside every map are kept (as in DHCP: a name that
 *    resolves outside the topology is not production); they never trigger
 *    the unmapped rule. More than ST_DNS_MAX_EDITS fields to change in one
 *    copy: "unsupported". Pass 0 computes every change from the original
 *    bytes; pass 1 writes them and sums the transport checksum delta.
 */
#ifndef ST_REWRITE_DNS_H
#define ST_REWRITE_DNS_H

#include <stdint.h>

#include "rewrite_frame.h"

#define ST_DNS_MAX_EDITS 64

/* One field to write: len bytes at off (absolute). */
struct rw_dns_edit {
	uint32_t off;
	uint8_t len;
	uint8_t b[16];
};

struct rw_dns_edits {
	uint32_t n;
	struct rw_dns_edit e[ST_DNS_MAX_EDITS];
};

/* The DNS payload of a UDP datagram at u (absolute) ending at dend, or of a
 * TCP segment whose payload is [s, dend) (tcp = 1). Pass 0: fills ed; returns
 * -1 when the payload can be translated, else the enum st_leak_reason it
 * cannot. */
int st_rw_dns_check(const struct rw_ctx *c, uint32_t s, uint32_t dend,
		    int tcp, struct rw_dns_edits *ed);
/* Pass 1: write the edits, add their checksum delta to *delta. */
void st_rw_dns_commit(const struct rw_ctx *c, const struct rw_dns_edits *ed,
		      uint32_t *delta);

#endif /* ST_REWRITE_DNS_H */
