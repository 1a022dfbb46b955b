/* SPDX-License-Identifier: BSD-3-Clause
 * The leak policy (issue 17): what happens to a shadow copy whose payload
 * carries production addresses that the rewrite translates (or cannot).
 *
 * Every payload translator of the rewrite (ARP, DHCP and ND in
 * rewrite_cp.c, DNS in rewrite_dns.c, tunnels in rewrite_tun.c, BGP/OSPF/RA
 * in theirs) has a kind below. The policy gives each kind an action:
 *  - TRANSLATE (0, the default): translate the payload; when that is not
 *    possible (malformed, cut off, a name that would not fit, ...) the
 *    translator calls st_leak_untranslatable(), which fails closed: the copy
 *    is dropped (drop reason "leak") and counted per kind and reason.
 *  - DROP: no copy carrying that payload is sent (reason "policy").
 *  - PASS: the payload is sent as it is, untranslated, and counted (reason
 *    "policy"; or the reason translation failed, for a translator that
 *    gives up).
 * Counts reach /metrics as shadowtap_leak_total{protocol,reason,action}
 * (action "drop" or "pass"): per worker, in st_lcore_ctr.leak, one count
 * per copy (the first event a copy records), summed in stats.c.
 *
 * A dispatcher asks st_leak_action() first: DROP and PASS it settles with
 * st_leak_policy() without parsing further (PASS still needs the headers
 * translated); TRANSLATE runs the translator. Keep the names in step with
 * the enums (ST_LEAK_KIND_NAMES ...) and with src/dataplane/native-types.ts
 * LEAK_KINDS / LEAK_REASONS, which the policy schema (translate.leak) uses.
 */
#ifndef ST_LEAK_H
#define ST_LEAK_H

#include <stdint.h>

enum st_leak_kind {
	ST_LEAK_ARP = 0,
	ST_LEAK_DHCP,
	ST_LEAK_ND,
	ST_LEAK_DNS,         /* UDP/TCP port 53 */
	ST_LEAK_MDNS,        /* UDP 5353 */
	ST_LEAK_LLMNR,       /* UDP/TCP 5355 */
	ST_LEAK_BGP,         /* TCP 179 */
	ST_LEAK_OSPF,        /* IP 89 */
	ST_LEAK_RA,          /* ICMPv6 router advertisement options */
	ST_LEAK_TUNNEL,      /* VXLAN, GENEVE, GRE, IP-in-IP, PIM Register inner headers */
	ST_LEAK_ICMP_ERR,    /* the packet quoted by an ICMP/ICMPv6 error */
	ST_LEAK__COUNT
};

#define ST_LEAK_KIND_NAMES { "arp", "dhcp", "nd", "dns", "mdns", "llmnr", \
	"bgp", "ospf", "ra", "tunnel", "icmp_err" }

enum st_leak_action {
	ST_LEAK_TRANSLATE = 0,
	ST_LEAK_DROP = 1,
	ST_LEAK_PASS = 2,
};

#define ST_LEAK_ACTION_NAMES { "translate", "drop", "pass" }

/* Why a payload was not translated. */
enum st_leak_reason {
	ST_LEAK_R_POLICY = 0,    /* the kind's action is drop or pass */
	ST_LEAK_R_MALFORMED,     /* lengths, counts or pointers that do not add up */
	ST_LEAK_R_TRUNCATED,     /* a field to translate is cut off (snaplen, first segment) */
	ST_LEAK_R_NAME_LENGTH,   /* a translated name would not fit (PTR labels) */
	ST_LEAK_R_PREFIX_LENGTH, /* a prefix shorter than its map's: cannot be translated */
	ST_LEAK_R_SEGMENT,       /* a TCP segment missed or out of order (per-flow state lost) */
	ST_LEAK_R_NESTED,        /* a payload inside a tunnel (only one level is translated) */
	ST_LEAK_R_UNSUPPORTED,   /* a form the translator does not handle */
	ST_LEAK_R__COUNT
};

#define ST_LEAK_REASON_NAMES { "policy", "malformed", "truncated", "name_length", \
	"prefix_length", "segment", "nested", "unsupported" }

/* What one copy recorded: kind -1 = nothing. action is DROP or PASS. */
struct st_leak_event {
	int8_t kind;
	uint8_t reason;
	uint8_t action;
};

static inline void st_leak_clear(struct st_leak_event *ev)
{
	ev->kind = -1;
	ev->reason = 0;
	ev->action = 0;
}

static inline enum st_leak_action st_leak_action(const uint8_t *actions,
						 enum st_leak_kind kind)
{
	return (enum st_leak_action)actions[kind];
}

static inline void st_leak_record(struct st_leak_event *ev, enum st_leak_kind kind,
				  enum st_leak_reason reason, enum st_leak_action action)
{
	if (ev->kind >= 0)
		return;     /* one count per copy: the first event */
	ev->kind = (int8_t)kind;
	ev->reason = (uint8_t)reason;
	ev->action = (uint8_t)action;
}

/* A translator that cannot translate its payload of kind for reason.
 * Returns 1 when the copy must be dropped (the kind's action is TRANSLATE
 * or DROP: fail closed), 0 when it is to be sent as it is (PASS). Records
 * the event either way. */
static inline int st_leak_untranslatable(const uint8_t *actions,
					 struct st_leak_event *ev,
					 enum st_leak_kind kind,
					 enum st_leak_reason reason)
{
	const int pass = actions[kind] == ST_LEAK_PASS;

	st_leak_record(ev, kind, reason, pass ? ST_LEAK_PASS : ST_LEAK_DROP);
	return !pass;
}

/* A payload of kind whose action is DROP or PASS (not translated at all):
 * records reason "policy"; returns 1 when the copy must be dropped. */
static inline int st_leak_policy(const uint8_t *actions, struct st_leak_event *ev,
				 enum st_leak_kind kind)
{
	const int pass = actions[kind] == ST_LEAK_PASS;

	st_leak_record(ev, kind, ST_LEAK_R_POLICY, pass ? ST_LEAK_PASS : ST_LEAK_DROP);
	return !pass;
}

/* Counter index of an event's action: 0 drop, 1 pass. */
static inline unsigned int st_leak_slot(uint8_t action)
{
	return action == ST_LEAK_PASS ? 1u : 0u;
}

#endif /* ST_LEAK_H */
