/* SPDX-License-Identifier: BSD-3-Clause
 * What the parts of the header-rewrite test (st_rewrite_test) share: the
 * frame descriptions (IP and control-plane), the reference side and the
 * builders, the checks, the start plans, and the test entry points main() calls.
 *
 * One program, one tally: every part includes this header, which asks
 * st_check.h for a pass/fail count and random stream shared by all of
 * them (ST_CHECK_SHARED; rewrite_test.c defines them), so the program
 * prints one "N passed, M failed" line and a seed repeats the whole run.
 *
 * The parts, by area:
 *   rewrite_test.c           main (EAL), table compile errors, empty tables
 *   rewrite_test_frame.c     the reference translator, the IP builder, fixtures
 *   rewrite_test_check.c     running the code under test, check_desc, start plans
 *   rewrite_test_ip.c        literal, valid, malformed, UDP 0xFFFF and unmapped IP frames
 *   rewrite_test_policy.c    policy-era tables, and truncated copies
 *   rewrite_test_cp_frame.c  control-plane (ARP, DHCPv4, ND) descriptions, builder, check
 *   rewrite_test_cp.c        control-plane literals and malformed payloads, the CP driver
 *   rewrite_test_random.c    random valid frames and garbage, IP and control-plane
 * and, shared with the other native tests, test_csum.h: full checksums and
 * big-endian loads and stores.
 */
#ifndef ST_REWRITE_TEST_H
#define ST_REWRITE_TEST_H

#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <arpa/inet.h>

#include <rte_eal.h>
#include <rte_errno.h>

#define ST_CHECK_SHARED
#include "st_check.h"
#include "test_csum.h"
#include "rewrite.h"
#include "leak.h"

#define MAXF 4096

/* ---- frame descriptions and the builder -------------------------------- */

struct ext6 {
	uint8_t type;      /* 0, 43, 44, 51, 60 */
	uint8_t len;       /* hdr ext len field (0/60: (len+1)*8; 51: (len+2)*4) */
	uint8_t segleft;   /* routing header */
	uint8_t naddr;     /* routing header (type 0) addresses */
	uint8_t addr[3][16];
};

enum { FR_NONE, FR_FIRST, FR_LATER, FR_ATOMIC };

struct desc {
	uint8_t dmac[6], smac[6];
	int nvlan;
	uint16_t tpid[3], tci[3];
	uint16_t ethertype;     /* 0 = from v6 */
	int v6;
	uint32_t src4, dst4;
	uint8_t src6[16], dst6[16];
	uint32_t optlen;        /* IPv4 options bytes, multiple of 4 */
	int srcroute;           /* 0 none, 1 LSRR not exhausted, 2 exhausted */
	uint8_t sr_n;
	uint32_t sr_addr[3];
	int next;
	struct ext6 ext[6];
	int frag;               /* FR_* */
	uint16_t frag_off8;     /* later fragment offset, 8-byte units */
	int later_mf;
	uint32_t frag_bytes;    /* first fragment: L4 bytes carried */
	uint8_t proto;
	int udp_zero;
	uint8_t icmp_type, icmp_code;
	int inner;              /* ICMP error quoting an IP header */
	uint32_t in_src4, in_dst4;
	uint8_t in_src6[16], in_dst6[16];
	/* the quoted UDP checksum follows these addresses instead of in_*
	 * (qcs_keep: a first fragment that does not carry it keeps it) */
	int qcs_keep;
	uint32_t qcs_src4, qcs_dst4;
	uint8_t qcs_src6[16], qcs_dst6[16];
	uint8_t tcp_doff;
	uint32_t paylen;
	uint32_t seed;
	uint32_t pad;           /* Ethernet padding after the datagram */
};

/* Layout facts the builder reports. */
struct layout {
	uint32_t len, l3, l4;
	uint32_t l4_in_frame;   /* L4 bytes in the datagram in this frame */
};

/* ---- control-plane frames ------------------------------------------------- */

enum { CP_ARP = 1, CP_DHCP, CP_ND };

struct dopt {
	uint8_t code, len;
	uint8_t nolen;            /* write the code byte only (malformed) */
	uint8_t data[64];
};

struct ndopt {
	uint8_t type, len8;
	uint8_t data[62];
};

struct cpd {
	int kind;
	uint8_t dmac[6], smac[6];
	int nvlan;
	uint16_t tci[2];
	/* ARP */
	uint16_t htype, ptype, op;
	uint8_t hlen, plen;
	uint8_t sha[6], tha[6];
	uint32_t spa, tpa;
	/* IP */
	uint32_t src4, dst4;
	uint8_t src6[16], dst6[16];
	uint16_t sport, dport;
	int udp_zero, mf;
	/* DHCP */
	uint8_t bop, bhtype, bhlen;
	uint32_t ciaddr, yiaddr, siaddr, giaddr;
	uint8_t chaddr[16];
	int cookie;
	int nopt, nsname, nfile;
	struct dopt opt[16], sname[4], file[6];
	uint32_t trail;           /* zero bytes after the options, inside UDP */
	/* ND */
	uint8_t type;
	uint8_t target[16], dest[16];
	int nnd;
	struct ndopt nd[6];
	uint32_t pad;             /* Ethernet padding after the unit */
	uint32_t seed;
};

struct cplo {
	uint32_t len, l3, l4, hdr_end;  /* hdr_end: what must be whole */
};

/* The translation applied while building the expected frame. */
struct xl {
	const struct st_start_plan *p;
	uint32_t lim;             /* only fields wholly below lim */
	int payload;              /* translate the CP payload */
	int straddle, unmapped, changed;
};

/* ---- shared state -------------------------------------------------------- */

/* rewrite_test_frame.c: the policy the reference follows (NULL: the plain
 * tables' rules) and whether run() calls st_rewrite_frame_ex() */
extern const struct st_policy_conf *g_pol;
extern int g_ex;
/* rewrite_test_policy.c: the policy-era tables' description */
extern struct st_start_plan g_policy_start_plan;               /* reference maps of g_policy */
extern struct st_policy_conf g_policy;
extern struct st_mac_map g_macs[8];

/* ---- rewrite_test_frame.c: reference translation, the IP builder, fixtures */

uint32_t xs32(uint32_t *s);
uint32_t mask4(unsigned int len);
int ref4(const struct st_start_plan *p, uint32_t a, uint32_t *out);
int bit6(const uint8_t *a, unsigned int i);
int ref6(const struct st_start_plan *p, const uint8_t *a, uint8_t *out);
int cp_aware(void);
int refx4(const struct st_start_plan *p, uint32_t a, uint32_t *out);
int refx6(const struct st_start_plan *p, const uint8_t *a, uint8_t *out);
int mac_zero(const uint8_t *m);
const uint8_t *ref_mac(const uint8_t *mac, const uint8_t *def);
int l4_csum_off(const struct desc *d);
int icmp_is_error(const struct desc *d);
uint32_t build(const struct desc *d, uint8_t *f, struct layout *lo);
/* fixtures: n VLAN tags (1: 802.1Q; 2: QinQ, 0x88a8 then 0x8100; 3: QinQ and
 * one more 0x8100, a tag too many); base_desc as the first fragment of its
 * 100-byte datagram, frag_bytes of L4 in it (IPv6: behind a fragment header);
 * an ICMPv4 error of this type quoting the reverse of base_desc's flow
 * (192.168.1.77 -> 10.20.30.40) */
void desc_tags(struct desc *d, int n);
void desc_first_fragment(struct desc *d, int v6, uint8_t proto, uint32_t frag_bytes);
void desc_icmp4_error(struct desc *d, uint8_t type);
/* build d into in and run the code under test over the whole frame into out */
void build_run(const struct st_rewrite_tables *t, const struct desc *d, uint8_t *in,
	       uint8_t *out, struct layout *lo, struct st_rewrite_result *res);

/* ---- rewrite_test_check.c: running and checking, start plans -------------------- */

void run(const struct st_rewrite_tables *t, const uint8_t *in, uint32_t seg, uint32_t pkt,
	 uint8_t *out, struct st_rewrite_result *res);
uint32_t expected_anoms(const struct desc *d);
void dump_diff(const uint8_t *a, const uint8_t *b, uint32_t n);
int check_desc(const char *name, const struct st_rewrite_tables *t,
	       const struct st_start_plan *p, const struct desc *d);
void check_refused(const char *name, const struct st_rewrite_tables *t, const uint8_t *in,
		   uint32_t seg, uint32_t pkt, int drop, uint32_t anoms);
void ip6(uint8_t *out, const char *s);
uint32_t ip4(const char *s);
void add4(struct st_start_plan *p, const char *from, const char *to, uint8_t len);
void add6(struct st_start_plan *p, const char *from, const char *to, uint8_t len);
void main_start_plan(struct st_start_plan *p);
uint32_t addr_in4(const struct st_start_plan *p, int i);
void addr_in6(const struct st_start_plan *p, int i, uint8_t *out);
void base_desc(struct desc *d, int v6, uint8_t proto);

/* ---- rewrite_test_ip.c ---------------------------------------------------- */

void test_literals(const struct st_rewrite_tables *t);
void test_valid(const struct st_rewrite_tables *t, const struct st_start_plan *p);
void test_malformed(const struct st_rewrite_tables *t);
void test_udp_ffff(const struct st_rewrite_tables *t, const struct st_start_plan *p);
void test_unmapped(struct st_rewrite_tables *t, const struct st_start_plan *p);

/* ---- rewrite_test_random.c ------------------------------------------------ */

void random_desc(struct desc *d, const struct st_start_plan *p, int mostly_mapped);
void test_random_valid(struct st_rewrite_tables *t, const struct st_start_plan *p, int count);
void test_random_garbage(struct st_rewrite_tables *t, const struct st_start_plan *p, int count);
void test_cp_random(struct st_rewrite_tables *t, int iterations);
void test_cp_garbage(struct st_rewrite_tables *t, int count);

/* ---- rewrite_test_policy.c: policy-era tables, truncated copies ----------- */

void mac(uint8_t *out, const char *s);
void policy_start_plan(struct st_start_plan *p);
void make_policy(uint32_t cp, int with_macs, uint8_t unmapped);
struct st_rewrite_tables *compile_policy(const char *suffix);
void test_policy_compile(void);
void test_policy_ip(int iterations);
void quoted_cs_keep(const struct desc *d, struct desc *e);
void run_ex(const struct st_rewrite_tables *t, const uint8_t *in, uint32_t seg,
	    uint32_t pkt, uint32_t wire, uint8_t *out, struct st_rewrite_result *res);
void test_truncated(int iterations);

/* ---- rewrite_test_cp_frame.c: control-plane frames ------------------------ */

int ref_dhcp_addr_opt(uint8_t c);
uint32_t dopts_len(const struct dopt *o, int n);
uint16_t ip4_csum(const uint8_t *ip);
uint32_t build_cp(const struct cpd *d0, uint8_t *f, struct xl *x, struct cplo *lo);
void dopt_addrs(struct dopt *o, uint8_t code, int n, const uint32_t *a);
void dopt_bytes(struct dopt *o, uint8_t code, uint8_t len, uint8_t fill);
void cp_arp(struct cpd *d);
void cp_dhcp(struct cpd *d);
void cp_nd(struct cpd *d, uint8_t type);
int check_cp(const char *name, const struct st_rewrite_tables *t, const struct cpd *d,
	     uint32_t n);
int ip4_ok(const uint8_t *ip);
int udp4_ok(const uint8_t *ip);
int icmp6_ok(const uint8_t *ip);
int eq_mac(const uint8_t *p, const char *s);
int eq6(const uint8_t *p, const char *s);

/* ---- rewrite_test_cp.c ---------------------------------------------------- */

void test_cp(int iterations);

#endif /* ST_REWRITE_TEST_H */
