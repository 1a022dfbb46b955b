/* SPDX-License-Identifier: BSD-3-Clause
 * Fuzz target: the DNS translator of the rewrite (rewrite_dns.c, through
 * rewrite_payload.c and st_rewrite_frame_ex). The input after the parameter
 * block is a DNS message (or, over TCP, a segment's payload: messages after
 * their 2-byte lengths); the target wraps it in a well-formed frame with a
 * right checksum, so every input reaches the DNS parser.
 *
 * Parameters (fuzz_common.h):
 *   p[0] bits 0-1: 0 UDP/IPv4 port 53, 1 UDP/IPv6 5353, 2 TCP/IPv4 53,
 *        3 TCP/IPv6 5355; bit 2: the leak policy passes DNS instead of
 *        translating it; bit 3: UDP/IPv4 without a checksum (0)
 *   p[1] bytes cut from the end of the frame: the first segment (the rest
 *        of the packet is in the copy, past the segment)
 *   p[2] bytes the snaplen cut: wire = pkt + p[2]
 *
 * Beyond the sanitizers (the segment is an exact-size heap buffer): the
 * result is in range; a dropped copy is left exactly as it was; a copy sent
 * whole (seg = pkt = wire) still has a valid IP and transport checksum (the
 * incremental update of every translated byte is right); with pass, the
 * payload is unchanged.
 */
#include "fuzz_common.h"
#include "fuzz_eal.h"

#include <arpa/inet.h>

#include "rewrite.h"

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static struct st_rewrite_tables *g_sets[2];

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	static struct st_policy_conf pol;
	struct st_error err;

	(void)argc;
	st_fuzz_eal_init((*argv)[0], "512");
	st_fuzz_maps(pol.map4, &pol.nb_map4, pol.map6, &pol.nb_map6);
	pol.control_plane = ST_CP_ARP | ST_CP_DHCP | ST_CP_ND;
	pol.unmapped = ST_UNMAPPED_RULE_DROP;
	g_sets[0] = st_rewrite_compile_policy(&pol, "fzd0", &err);
	pol.leak[ST_LEAK_DNS] = pol.leak[ST_LEAK_MDNS] = pol.leak[ST_LEAK_LLMNR] = ST_LEAK_PASS;
	g_sets[1] = st_rewrite_compile_policy(&pol, "fzd1", &err);
	if (g_sets[0] == NULL || g_sets[1] == NULL) {
		fprintf(stderr, "fuzz_dns: cannot compile: %s %s %s\n", err.code, err.field,
			err.message);
		exit(2);
	}
	return 0;
}

static uint32_t
sum16(const uint8_t *p, uint32_t n, uint32_t s)
{
	for (uint32_t i = 0; i + 1 < n; i += 2)
		s += (uint32_t)p[i] << 8 | p[i + 1];
	if (n & 1)
		s += (uint32_t)p[n - 1] << 8;
	return s;
}

static uint16_t
fold(uint32_t s)
{
	while (s >> 16)
		s = (s & 0xffff) + (s >> 16);
	return (uint16_t)s;
}

/* The transport checksum over [l4, l4 + n) with its pseudo-header: the
 * ones' complement sum, 0xffff when the checksum field is right. */
static uint16_t
l4sum(const uint8_t *f, int v6, uint32_t l3, uint32_t l4, uint32_t n, uint8_t proto)
{
	uint32_t s = v6 ? sum16(f + l3 + 8, 32, 0) : sum16(f + l3 + 12, 8, 0);

	s += proto + n;
	return fold(sum16(f + l4, n, s));
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct st_fuzz_in in;
	struct st_rewrite_result res;
	uint8_t sh, proto;
	uint32_t l3 = 14, l4, hl, n, tot, seg, pkt, wire;
	uint8_t *f, *orig;
	uint16_t cs;
	int is6, tcp;

	st_fuzz_split(data, size, &in);
	if (in.len > 1400)
		return 0;
	sh = in.p[0] & 3;
	is6 = sh & 1;
	tcp = sh >> 1;
	proto = tcp ? IPPROTO_TCP : IPPROTO_UDP;
	hl = tcp ? 20 : 8;
	l4 = l3 + (is6 ? 40 : 20);
	n = hl + in.len;
	tot = l4 + n;
	orig = calloc(1, tot);
	if (orig == NULL)
		abort();
	orig[12] = is6 ? 0x86 : 0x08;
	orig[13] = is6 ? 0xdd : 0x00;
	memcpy(orig, "\x02\x00\x00\x00\x00\x02\x02\x00\x00\x00\x00\x01", 12);
	if (is6) {
		orig[l3] = 0x60;
		orig[l3 + 4] = (uint8_t)(n >> 8);
		orig[l3 + 5] = (uint8_t)n;
		orig[l3 + 6] = proto;
		orig[l3 + 7] = 64;
		inet_pton(AF_INET6, "fd00:20::53", orig + l3 + 8);
		inet_pton(AF_INET6, "2001:db8:1::11", orig + l3 + 24);
	} else {
		orig[l3] = 0x45;
		orig[l3 + 2] = (uint8_t)((20 + n) >> 8);
		orig[l3 + 3] = (uint8_t)(20 + n);
		orig[l3 + 8] = 64;
		orig[l3 + 9] = proto;
		inet_pton(AF_INET, "10.0.0.53", orig + l3 + 12);
		inet_pton(AF_INET, "192.168.1.11", orig + l3 + 16);
		cs = (uint16_t)~fold(sum16(orig + l3, 20, 0));
		orig[l3 + 10] = (uint8_t)(cs >> 8);
		orig[l3 + 11] = (uint8_t)cs;
	}
	{
		const uint16_t port = sh == 1 ? 5353 : sh == 3 ? 5355 : 53;

		orig[l4] = (uint8_t)(port >> 8);
		orig[l4 + 1] = (uint8_t)port;
		orig[l4 + 2] = 0xc3;
		orig[l4 + 3] = 0x51;
	}
	if (tcp) {
		orig[l4 + 12] = 0x50;
		orig[l4 + 13] = 0x18;
		orig[l4 + 14] = 0x01;
	} else {
		orig[l4 + 4] = (uint8_t)(n >> 8);
		orig[l4 + 5] = (uint8_t)n;
	}
	memcpy(orig + l4 + hl, in.frame, in.len);
	if (!(!is6 && !tcp && (in.p[0] & 8))) {
		cs = (uint16_t)~l4sum(orig, is6, l3, l4, n, proto);
		if (!tcp && cs == 0)
			cs = 0xffff;
		orig[l4 + (tcp ? 16 : 6)] = (uint8_t)(cs >> 8);
		orig[l4 + (tcp ? 17 : 7)] = (uint8_t)cs;
	}

	pkt = tot;
	seg = pkt > in.p[1] ? pkt - in.p[1] : 0;
	wire = pkt + in.p[2];
	f = st_fuzz_copy(orig, seg);
	memset(&res, 0x5a, sizeof(res));
	st_rewrite_frame_ex(g_sets[(in.p[0] >> 2) & 1], f, seg, pkt, wire, &res);

	ST_FUZZ_ASSERT(res.drop >= -1 && res.drop < ST_DROP__COUNT, "drop %d", res.drop);
	ST_FUZZ_ASSERT(res.leak.kind >= -1 && res.leak.kind < ST_LEAK__COUNT &&
		       res.leak.reason < ST_LEAK_R__COUNT, "leak %d/%u", res.leak.kind,
		       res.leak.reason);
	ST_FUZZ_ASSERT(res.drop == -1 || memcmp(f, orig, seg) == 0,
		       "copy dropped (reason %d) but changed", res.drop);
	if (res.drop == -1 && seg == pkt && in.p[2] == 0) {
		if (!is6)
			ST_FUZZ_ASSERT(fold(sum16(f + l3, 20, 0)) == 0xffff, "IPv4 header checksum");
		if (!(!is6 && !tcp && (in.p[0] & 8)))
			ST_FUZZ_ASSERT(l4sum(f, is6, l3, l4, n, proto) == 0xffff,
				       "transport checksum wrong after the rewrite (shape %u)", sh);
		if (in.p[0] & 4)
			ST_FUZZ_ASSERT(memcmp(f + l4 + hl, orig + l4 + hl, in.len) == 0,
				       "leak policy pass changed the payload");
	}
	free(f);
	free(orig);
	return 0;
}
