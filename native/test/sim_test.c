/* SPDX-License-Identifier: BSD-3-Clause
 * Test of net_shadowsim, the emulated SmartNIC, through DPDK's public APIs
 * only: ethdev for ports and bursts, rte_flow for rules, rte_ring and pcap
 * files for traffic. Nothing here calls the PMD's own functions.
 *
 * Usage: st_sim_test PROFILE_DIR WORK_DIR
 *   PROFILE_DIR holds <family>.sim files made by src/offload/sim-profile.ts
 *   (mlx5, ice, i40e, net_tap, net_null, bnxt); WORK_DIR receives in.pcap
 *   (written here) and the captures the ports write: sim0-tx.pcap (what the
 *   application sent back out of the emulated port) and mirror.pcap (what
 *   the transfer SAMPLE rule sent to net_shadowsim1, on the same E-Switch). The ava runner
 *   checks those two with tshark, an independent decoder.
 *
 * The execution cases are in sim_test_exec.h, included below (one
 * translation unit: st_check.h's counters are per file).
 *
 * Prints "N passed, M failed" and exits non-zero on any failure.
 *
 * Checksums are verified here by full recomputation, independently of the
 * PMD's incremental updates.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <arpa/inet.h>
#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <rte_bus_vdev.h>
#include <rte_eal.h>
#include <rte_errno.h>
#include <rte_ethdev.h>
#include <rte_flow.h>
#include <rte_mbuf.h>
#include <rte_ring.h>

#include "st_check.h"

static const char *g_profiles;
static const char *g_work;
static struct rte_mempool *g_pool;

/* ---- frames ------------------------------------------------------------------- */

struct frame {
	int ipv;                /* 4 or 6 */
	uint8_t proto;          /* IPPROTO_UDP / IPPROTO_TCP */
	const char *src, *dst;
	uint16_t sport, dport;
	uint16_t vid;           /* 0: untagged */
	uint8_t ttl;
	uint16_t paylen;
	bool udp_zero_csum;
	bool bad_l4_csum;
};

static uint32_t sum16(const uint8_t *p, size_t n)
{
	uint32_t s = 0;

	for (size_t i = 0; i + 1 < n; i += 2)
		s += (uint32_t)(p[i] << 8 | p[i + 1]);
	if (n & 1)
		s += (uint32_t)p[n - 1] << 8;
	return s;
}

static uint16_t fold(uint32_t s)
{
	while (s >> 16)
		s = (s & 0xffff) + (s >> 16);
	return (uint16_t)s;
}

static void put16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)(v >> 8);
	p[1] = (uint8_t)v;
}

static uint16_t get16(const uint8_t *p)
{
	return (uint16_t)(p[0] << 8 | p[1]);
}

static uint16_t build(uint8_t *b, const struct frame *f)
{
	static const uint8_t dmac[6] = { 0x02, 0, 0, 0, 0, 0x01 }, smac[6] = { 0x02, 0, 0, 0, 0, 0x02 };
	uint16_t off = 12, l3, l4, l4len, hl = f->proto == IPPROTO_TCP ? 20 : 8;
	uint32_t s;

	memcpy(b, dmac, 6);
	memcpy(b + 6, smac, 6);
	if (f->vid) {
		put16(b + 12, 0x8100);
		put16(b + 14, f->vid);
		off = 16;
	}
	put16(b + off, f->ipv == 4 ? 0x0800 : 0x86dd);
	l3 = (uint16_t)(off + 2);
	l4len = (uint16_t)(hl + f->paylen);
	if (f->ipv == 4) {
		memset(b + l3, 0, 20);
		b[l3] = 0x45;
		put16(b + l3 + 2, (uint16_t)(20 + l4len));
		put16(b + l3 + 4, 0x1234);
		b[l3 + 8] = f->ttl ? f->ttl : 64;
		b[l3 + 9] = f->proto;
		inet_pton(AF_INET, f->src, b + l3 + 12);
		inet_pton(AF_INET, f->dst, b + l3 + 16);
		put16(b + l3 + 10, (uint16_t)~fold(sum16(b + l3, 20)));
		l4 = (uint16_t)(l3 + 20);
	} else {
		memset(b + l3, 0, 40);
		b[l3] = 0x60;
		put16(b + l3 + 4, l4len);
		b[l3 + 6] = f->proto;
		b[l3 + 7] = f->ttl ? f->ttl : 64;
		inet_pton(AF_INET6, f->src, b + l3 + 8);
		inet_pton(AF_INET6, f->dst, b + l3 + 24);
		l4 = (uint16_t)(l3 + 40);
	}
	memset(b + l4, 0, hl);
	put16(b + l4, f->sport);
	put16(b + l4 + 2, f->dport);
	if (f->proto == IPPROTO_UDP)
		put16(b + l4 + 4, l4len);
	else
		b[l4 + 12] = 0x50;
	for (uint16_t i = 0; i < f->paylen; i++)
		b[l4 + hl + i] = (uint8_t)(i * 7 + 3);
	/* pseudo-header + segment */
	s = f->ipv == 4 ? sum16(b + l3 + 12, 8) : sum16(b + l3 + 8, 32);
	s += f->proto + l4len + sum16(b + l4, l4len);
	{
		uint16_t c = (uint16_t)~fold(s);

		if (f->proto == IPPROTO_UDP && c == 0)
			c = 0xffff;
		if (f->proto == IPPROTO_UDP && f->udp_zero_csum)
			c = 0;
		if (f->bad_l4_csum)
			c ^= 0x5a5a;
		put16(b + l4 + (f->proto == IPPROTO_TCP ? 16 : 6), c);
	}
	return (uint16_t)(l4 + l4len);
}

/* An independent view of a frame, for the checks. */
struct view {
	int nvlan;
	uint16_t vid;
	int ipv;
	uint16_t l3, l4;
	uint8_t proto;
	char src[64], dst[64];
	uint16_t sport, dport;
	uint8_t ttl;
	bool ip_ok, l4_ok;
	uint16_t l4_csum;
};

static bool see(const uint8_t *d, uint32_t len, struct view *v)
{
	uint16_t off = 12, type;
	uint32_t s;
	uint16_t l4len;

	memset(v, 0, sizeof(*v));
	if (len < 14)
		return false;
	type = get16(d + 12);
	while (type == 0x8100 || type == 0x88a8) {
		if (v->nvlan == 0)
			v->vid = get16(d + off + 2) & 0x0fff;
		v->nvlan++;
		off += 4;
		type = get16(d + off);
	}
	v->l3 = (uint16_t)(off + 2);
	if (type == 0x0800) {
		const uint8_t *ip = d + v->l3;

		v->ipv = 4;
		v->proto = ip[9];
		v->ttl = ip[8];
		inet_ntop(AF_INET, ip + 12, v->src, sizeof(v->src));
		inet_ntop(AF_INET, ip + 16, v->dst, sizeof(v->dst));
		v->ip_ok = fold(sum16(ip, (ip[0] & 15) * 4)) == 0xffff;
		v->l4 = (uint16_t)(v->l3 + (ip[0] & 15) * 4);
		l4len = (uint16_t)(get16(ip + 2) - (ip[0] & 15) * 4);
		s = sum16(ip + 12, 8);
	} else if (type == 0x86dd) {
		const uint8_t *ip = d + v->l3;

		v->ipv = 6;
		v->proto = ip[6];
		v->ttl = ip[7];
		inet_ntop(AF_INET6, ip + 8, v->src, sizeof(v->src));
		inet_ntop(AF_INET6, ip + 24, v->dst, sizeof(v->dst));
		v->ip_ok = true;
		v->l4 = (uint16_t)(v->l3 + 40);
		l4len = get16(ip + 4);
		s = sum16(ip + 8, 32);
	} else {
		return false;
	}
	if (v->l4 + l4len > len)
		return false;
	v->sport = get16(d + v->l4);
	v->dport = get16(d + v->l4 + 2);
	v->l4_csum = get16(d + v->l4 + (v->proto == IPPROTO_TCP ? 16 : 6));
	s += v->proto + l4len + sum16(d + v->l4, l4len);
	v->l4_ok = fold(s) == 0xffff || (v->proto == IPPROTO_UDP && v->ipv == 4 && v->l4_csum == 0);
	return true;
}

/* ---- pcap (input only; the outputs are read by tshark in the runner) ---------- */

static int write_pcap(const char *path, uint8_t frames[][256], const uint16_t *lens, unsigned int n)
{
	const uint32_t hdr[6] = { 0xa1b2c3d4u, 0x00040002u, 0, 0, 65535, 1 };
	FILE *f = fopen(path, "wb");

	if (f == NULL)
		return -errno;
	fwrite(hdr, sizeof(hdr), 1, f);
	for (unsigned int i = 0; i < n; i++) {
		uint32_t rec[4] = { 1700000000u + i, 0, lens[i], lens[i] };

		fwrite(rec, sizeof(rec), 1, f);
		fwrite(frames[i], 1, lens[i], f);
	}
	return fclose(f) == 0 ? 0 : -errno;
}

/* ---- ports ---------------------------------------------------------------------- */

static uint16_t port_of(const char *name)
{
	uint16_t p = UINT16_MAX;

	if (rte_eth_dev_get_port_by_name(name, &p) != 0)
		return UINT16_MAX;
	return p;
}

static int start_port(uint16_t port, uint16_t nrxq)
{
	struct rte_eth_conf conf;
	int rc;

	memset(&conf, 0, sizeof(conf));
	rc = rte_eth_dev_configure(port, nrxq, 1, &conf);
	for (uint16_t q = 0; rc == 0 && q < nrxq; q++)
		rc = rte_eth_rx_queue_setup(port, q, 256, (unsigned int)rte_socket_id(), NULL, g_pool);
	if (rc == 0)
		rc = rte_eth_tx_queue_setup(port, 0, 256, (unsigned int)rte_socket_id(), NULL);
	if (rc == 0)
		rc = rte_eth_dev_start(port);
	return rc;
}

/* Hot-plugs a vdev; returns its port id or UINT16_MAX. */
static uint16_t plug(const char *name, const char *fmt, ...)
{
	char args[1024];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(args, sizeof(args), fmt, ap);
	va_end(ap);
	if (rte_eal_hotplug_add("vdev", name, args) != 0) {
		fprintf(stderr, "hotplug %s,%s failed: %s\n", name, args, rte_strerror(rte_errno));
		return UINT16_MAX;
	}
	return port_of(name);
}

static void unplug(const char *name)
{
	uint16_t p = port_of(name);

	if (p != UINT16_MAX) {
		rte_eth_dev_stop(p);
		rte_eth_dev_close(p);
	}
	rte_eal_hotplug_remove("vdev", name);
}

static char *profile(const char *family)
{
	static char buf[4][600];
	static int k;
	char *b = buf[k++ % 4];

	snprintf(b, sizeof(buf[0]), "%s/%s.sim", g_profiles, family);
	return b;
}

static struct rte_mbuf *mbuf_of(const uint8_t *d, uint16_t len)
{
	struct rte_mbuf *m = rte_pktmbuf_alloc(g_pool);

	if (m == NULL)
		return NULL;
	memcpy(rte_pktmbuf_append(m, len), d, len);
	return m;
}

#define MAXQ 4
#define MAXGOT 64

struct got {
	unsigned int n;
	struct rte_mbuf *m[MAXGOT];
};

/* Feeds frames into the emulated port's rx ring and collects every rx queue. */
static void run(uint16_t port, struct rte_ring *in, const uint8_t *frame, uint16_t len, unsigned int count,
		uint16_t nrxq, struct got *got)
{
	for (unsigned int i = 0; i < count; i++) {
		struct rte_mbuf *m = mbuf_of(frame, len);

		if (m == NULL || rte_ring_enqueue(in, m) != 0) {
			CHECK(false, "cannot feed frame %u", i);
			rte_pktmbuf_free(m);
		}
	}
	for (int round = 0; round < 16; round++)
		for (uint16_t q = 0; q < nrxq; q++) {
			struct rte_mbuf *b[32];
			uint16_t n = rte_eth_rx_burst(port, q, b, 32);

			for (uint16_t i = 0; i < n; i++) {
				if (got[q].n < MAXGOT)
					got[q].m[got[q].n++] = b[i];
				else
					rte_pktmbuf_free(b[i]);
			}
		}
}

static unsigned int drain(struct rte_ring *r, struct rte_mbuf **out, unsigned int max)
{
	unsigned int n = 0;
	void *m = NULL;

	while (n < max && rte_ring_dequeue(r, &m) == 0)
		out[n++] = m;
	return n;
}

static void free_got(struct got *got, uint16_t nq)
{
	for (uint16_t q = 0; q < nq; q++) {
		for (unsigned int i = 0; i < got[q].n; i++)
			rte_pktmbuf_free(got[q].m[i]);
		got[q].n = 0;
	}
}

static void free_all(struct rte_mbuf **m, unsigned int n)
{
	for (unsigned int i = 0; i < n; i++)
		rte_pktmbuf_free(m[i]);
}

static bool view_of(const struct rte_mbuf *m, struct view *v)
{
	return see(rte_pktmbuf_mtod(m, const uint8_t *), rte_pktmbuf_data_len(m), v);
}

/* ---- rule helpers ------------------------------------------------------------------- */

#define END_ITEM { .type = RTE_FLOW_ITEM_TYPE_END }
#define END_ACTION { .type = RTE_FLOW_ACTION_TYPE_END }

static const struct rte_flow_item pat_eth_ipv4[] = {
	{ .type = RTE_FLOW_ITEM_TYPE_ETH }, { .type = RTE_FLOW_ITEM_TYPE_IPV4 }, END_ITEM };

/* A poisoned error struct: a refusal must overwrite every field. */
static void poison(struct rte_flow_error *e)
{
	e->type = (enum rte_flow_error_type)0x7777;
	e->cause = (const void *)(uintptr_t)0x1;
	e->message = NULL;
}

static bool filled(const struct rte_flow_error *e)
{
	return (int)e->type != 0x7777 && e->message != NULL && e->message[0] != '\0';
}

static int validate(uint16_t port, const struct rte_flow_attr *attr, const struct rte_flow_item *pat,
		    const struct rte_flow_action *act, struct rte_flow_error *e)
{
	poison(e);
	return rte_flow_validate(port, attr, pat, act, e);
}

static const struct rte_flow_attr ingress = { .ingress = 1 };
static const struct rte_flow_attr egress = { .egress = 1 };
static const struct rte_flow_attr transfer = { .transfer = 1 };

/* ---- validation, per profile ------------------------------------------------------------ */

static void test_validation(void)
{
	struct rte_flow_error e;
	struct rte_flow_action_queue q0 = { .index = 0 }, q1 = { .index = 1 };
	struct rte_flow_action_mark mk = { .id = 5 };
	struct rte_flow_action_set_ipv4 dst = { .ipv4_addr = RTE_BE32(0x0a090909) };
	struct rte_flow_action sub_q1[] = { { .type = RTE_FLOW_ACTION_TYPE_MARK, .conf = &mk },
					    { .type = RTE_FLOW_ACTION_TYPE_QUEUE, .conf = &q1 }, END_ACTION };
	struct rte_flow_action_sample smp = { .ratio = 1, .actions = sub_q1 };
	struct rte_flow_action mirror_rewrite[] = { { .type = RTE_FLOW_ACTION_TYPE_SAMPLE, .conf = &smp },
						    { .type = RTE_FLOW_ACTION_TYPE_SET_IPV4_DST, .conf = &dst },
						    { .type = RTE_FLOW_ACTION_TYPE_QUEUE, .conf = &q0 }, END_ACTION };
	struct rte_flow_action queue0[] = { { .type = RTE_FLOW_ACTION_TYPE_QUEUE, .conf = &q0 }, END_ACTION };
	struct rte_flow_action drop[] = { { .type = RTE_FLOW_ACTION_TYPE_DROP }, END_ACTION };
	struct rte_flow_action mark_q[] = { { .type = RTE_FLOW_ACTION_TYPE_MARK, .conf = &mk },
					    { .type = RTE_FLOW_ACTION_TYPE_QUEUE, .conf = &q0 }, END_ACTION };
	struct rte_flow_action set_q[] = { { .type = RTE_FLOW_ACTION_TYPE_SET_IPV4_DST, .conf = &dst },
					   { .type = RTE_FLOW_ACTION_TYPE_QUEUE, .conf = &q0 }, END_ACTION };
	uint16_t mlx5, ice, tap, i40e, null, bnxt;
	int rc;

	mlx5 = plug("net_shadowsim_v_mlx5", "profile=%s", profile("mlx5"));
	ice = plug("net_shadowsim_v_ice", "profile=%s", profile("ice"));
	tap = plug("net_shadowsim_v_tap", "profile=%s", profile("net_tap"));
	i40e = plug("net_shadowsim_v_i40e", "profile=%s", profile("i40e"));
	null = plug("net_shadowsim_v_null", "profile=%s", profile("net_null"));
	bnxt = plug("net_shadowsim_v_bnxt", "profile=%s", profile("bnxt"));
	CHECK(mlx5 != UINT16_MAX && ice != UINT16_MAX && tap != UINT16_MAX && i40e != UINT16_MAX && null != UINT16_MAX &&
	      bnxt != UINT16_MAX, "cannot probe the validation ports");
	if (mlx5 == UINT16_MAX || ice == UINT16_MAX || tap == UINT16_MAX || i40e == UINT16_MAX || null == UINT16_MAX ||
	    bnxt == UINT16_MAX)
		return;
	for (uint16_t p = 0; p < RTE_MAX_ETHPORTS; p++)
		if (p == mlx5 || p == ice || p == tap || p == i40e || p == null || p == bnxt)
			CHECK(start_port(p, 2) == 0, "start port %u", p);

	/* mlx5: mirror + rewrite in one ingress rule is accepted */
	rc = validate(mlx5, &ingress, pat_eth_ipv4, mirror_rewrite, &e);
	CHECK(rc == 0, "mlx5 sample+set_ipv4_dst: %d %s", rc, e.message ? e.message : "");
	/* ...but not a rewrite on the copy */
	{
		struct rte_flow_action sub_bad[] = { { .type = RTE_FLOW_ACTION_TYPE_SET_IPV4_DST, .conf = &dst },
						     { .type = RTE_FLOW_ACTION_TYPE_QUEUE, .conf = &q1 }, END_ACTION };
		struct rte_flow_action_sample s2 = { .ratio = 1, .actions = sub_bad };
		struct rte_flow_action act[] = { { .type = RTE_FLOW_ACTION_TYPE_SAMPLE, .conf = &s2 },
						 { .type = RTE_FLOW_ACTION_TYPE_QUEUE, .conf = &q0 }, END_ACTION };

		rc = validate(mlx5, &ingress, pat_eth_ipv4, act, &e);
		CHECK(rc == -ENOTSUP && e.type == RTE_FLOW_ERROR_TYPE_ACTION && e.cause == &sub_bad[0] && filled(&e),
		      "mlx5 set_ipv4_dst in the sample list: rc %d type %d cause ok %d", rc, e.type, e.cause == &sub_bad[0]);
	}
	/* an Rx sample needs a queue for the copy */
	{
		struct rte_flow_action sub_mark[] = { { .type = RTE_FLOW_ACTION_TYPE_MARK, .conf = &mk }, END_ACTION };
		struct rte_flow_action_sample s2 = { .ratio = 1, .actions = sub_mark };
		struct rte_flow_action act[] = { { .type = RTE_FLOW_ACTION_TYPE_SAMPLE, .conf = &s2 },
						 { .type = RTE_FLOW_ACTION_TYPE_QUEUE, .conf = &q0 }, END_ACTION };

		rc = validate(mlx5, &ingress, pat_eth_ipv4, act, &e);
		CHECK(rc == -EINVAL && filled(&e) && strstr(e.message, "dest QUEUE") != NULL,
		      "mlx5 sample without queue: rc %d %s", rc, e.message ? e.message : "");
	}
	/* no SAMPLE in the NIC Tx domain */
	{
		struct rte_flow_action_sample s2 = { .ratio = 1, .actions = sub_q1 };
		struct rte_flow_action act[] = { { .type = RTE_FLOW_ACTION_TYPE_SAMPLE, .conf = &s2 }, END_ACTION };

		rc = validate(mlx5, &egress, pat_eth_ipv4, act, &e);
		CHECK(rc < 0 && e.type == RTE_FLOW_ERROR_TYPE_ACTION && e.cause == &act[0] && filled(&e),
		      "mlx5 egress sample: rc %d type %d", rc, e.type);
	}
	/* transfer, ratio above 1: nothing extra on the copy */
	{
		struct rte_flow_action_port_id pid = { .id = mlx5 };
		struct rte_flow_action sub_port[] = { { .type = RTE_FLOW_ACTION_TYPE_PORT_ID, .conf = &pid }, END_ACTION };
		struct rte_flow_action_sample s2 = { .ratio = 2, .actions = sub_port };
		struct rte_flow_action act[] = { { .type = RTE_FLOW_ACTION_TYPE_SAMPLE, .conf = &s2 },
						 { .type = RTE_FLOW_ACTION_TYPE_PORT_ID, .conf = &pid }, END_ACTION };

		rc = validate(mlx5, &transfer, pat_eth_ipv4, act, &e);
		CHECK(rc == -ENOTSUP && e.cause == &sub_port[0] && filled(&e), "mlx5 transfer ratio 2 with port_id: rc %d", rc);
		s2.ratio = 1;
		rc = validate(mlx5, &transfer, pat_eth_ipv4, act, &e);
		CHECK(rc == 0, "mlx5 transfer mirror to port: rc %d %s", rc, e.message ? e.message : "");
	}
	/* structural checks */
	{
		struct rte_flow_action two[] = { { .type = RTE_FLOW_ACTION_TYPE_DROP },
						 { .type = RTE_FLOW_ACTION_TYPE_QUEUE, .conf = &q0 }, END_ACTION };
		struct rte_flow_item eth_only[] = { { .type = RTE_FLOW_ITEM_TYPE_ETH }, END_ITEM };
		struct rte_flow_action_queue q9 = { .index = 9 };
		struct rte_flow_action bad_q[] = { { .type = RTE_FLOW_ACTION_TYPE_QUEUE, .conf = &q9 }, END_ACTION };

		rc = validate(mlx5, &ingress, pat_eth_ipv4, two, &e);
		CHECK(rc == -EINVAL && e.cause == &two[1] && filled(&e), "two fates: rc %d", rc);
		rc = validate(mlx5, &ingress, eth_only, set_q, &e);
		CHECK(rc == -EINVAL && filled(&e) && strstr(e.message, "no ipv4 item") != NULL, "set_ipv4_dst without ipv4: rc %d", rc);
		rc = validate(mlx5, &ingress, pat_eth_ipv4, bad_q, &e);
		CHECK(rc == -EINVAL && e.type == RTE_FLOW_ERROR_TYPE_ACTION_CONF && filled(&e), "queue out of range: rc %d", rc);
	}

	/* ice: no SAMPLE, no rewrite, ingress only; classify, mark, queue, drop */
	rc = validate(ice, &ingress, pat_eth_ipv4, mirror_rewrite, &e);
	CHECK(rc == -EINVAL && e.type == RTE_FLOW_ERROR_TYPE_ACTION && e.cause == &mirror_rewrite[0] && filled(&e) &&
		      strncmp(e.message, "Invalid action.", 15) == 0,
	      "ice sample: rc %d type %d msg %s", rc, e.type, e.message ? e.message : "(null)");
	rc = validate(ice, &ingress, pat_eth_ipv4, set_q, &e);
	CHECK(rc == -EINVAL && e.cause == &set_q[0] && filled(&e), "ice set_ipv4_dst: rc %d", rc);
	CHECK(validate(ice, &ingress, pat_eth_ipv4, mark_q, &e) == 0, "ice mark+queue refused: %s", e.message);
	CHECK(validate(ice, &ingress, pat_eth_ipv4, drop, &e) == 0, "ice drop refused: %s", e.message);
	rc = validate(ice, &egress, pat_eth_ipv4, drop, &e);
	CHECK(rc == -EINVAL && e.type == RTE_FLOW_ERROR_TYPE_ATTR_EGRESS && filled(&e), "ice egress: rc %d type %d", rc, e.type);

	/* net_tap: drop, queue, passthru only; validate passes, create fails */
	{
		struct rte_flow_action pass[] = { { .type = RTE_FLOW_ACTION_TYPE_PASSTHRU }, END_ACTION };
		uint16_t qs[1] = { 0 };
		struct rte_flow_action_rss rss = { .queue_num = 1, .queue = qs };
		struct rte_flow_action rssa[] = { { .type = RTE_FLOW_ACTION_TYPE_RSS, .conf = &rss }, END_ACTION };

		CHECK(validate(tap, &ingress, pat_eth_ipv4, drop, &e) == 0, "tap drop: %s", e.message);
		CHECK(validate(tap, &ingress, pat_eth_ipv4, queue0, &e) == 0, "tap queue: %s", e.message);
		CHECK(validate(tap, &ingress, pat_eth_ipv4, pass, &e) == 0, "tap passthru: %s", e.message);
		rc = validate(tap, &ingress, pat_eth_ipv4, mark_q, &e);
		CHECK(rc == -ENOTSUP && e.cause == &mark_q[0] && filled(&e), "tap mark: rc %d", rc);
		rc = validate(tap, &ingress, pat_eth_ipv4, rssa, &e);
		CHECK(rc == -ENOTSUP && filled(&e), "tap rss (quirk off: error filled): rc %d", rc);
		poison(&e);
		CHECK(rte_flow_create(tap, &ingress, pat_eth_ipv4, drop, &e) == NULL && rte_errno == EEXIST && filled(&e),
		      "tap create must fail with EEXIST: errno %d", rte_errno);
	}
	/* i40e: group 0 only */
	{
		struct rte_flow_attr g1 = { .ingress = 1, .group = 1 };

		rc = validate(i40e, &g1, pat_eth_ipv4, queue0, &e);
		CHECK(rc == -EINVAL && e.type == RTE_FLOW_ERROR_TYPE_ATTR_GROUP && filled(&e), "i40e group 1: rc %d", rc);
	}
	/* net_null: no rte_flow at all */
	rc = validate(null, &ingress, pat_eth_ipv4, drop, &e);
	CHECK(rc == -ENOSYS && filled(&e), "net_null validate: rc %d", rc);
	/* bnxt: SAMPLE only as an indirect action */
	rc = validate(bnxt, &ingress, pat_eth_ipv4, mirror_rewrite, &e);
	CHECK(rc < 0 && e.cause == &mirror_rewrite[0] && filled(&e), "bnxt direct sample: rc %d", rc);

	unplug("net_shadowsim_v_mlx5");
	unplug("net_shadowsim_v_ice");
	unplug("net_shadowsim_v_tap");
	unplug("net_shadowsim_v_i40e");
	unplug("net_shadowsim_v_null");
	unplug("net_shadowsim_v_bnxt");
}

/* net_tap's quirk, reproduced on demand: a refused RSS leaves the error struct untouched. */
static void test_error_unset_quirk(void)
{
	struct rte_flow_error e;
	uint16_t qs[1] = { 0 };
	struct rte_flow_action_rss rss = { .queue_num = 1, .queue = qs };
	struct rte_flow_action rssa[] = { { .type = RTE_FLOW_ACTION_TYPE_RSS, .conf = &rss }, END_ACTION };
	uint16_t tap = plug("net_shadowsim_quirk", "profile=%s,quirk_error_unset=1", profile("net_tap"));
	int rc;

	CHECK(tap != UINT16_MAX && start_port(tap, 1) == 0, "quirk port");
	if (tap == UINT16_MAX)
		return;
	rc = validate(tap, &ingress, pat_eth_ipv4, rssa, &e);
	CHECK(rc < 0 && (int)e.type == 0x7777 && e.message == NULL, "quirk: rc %d, the error struct must stay untouched", rc);
	unplug("net_shadowsim_quirk");
}

/* Capacity: the table fills, create fails the mlx5 way, a destroy frees a slot. */
static void test_capacity(void)
{
	struct rte_flow_error e;
	struct rte_flow_action_queue q0 = { .index = 0 };
	struct rte_flow_action act[] = { { .type = RTE_FLOW_ACTION_TYPE_QUEUE, .conf = &q0 }, END_ACTION };
	uint16_t p = plug("net_shadowsim_cap", "profile=%s,capacity=2", profile("mlx5"));
	struct rte_flow *f[3];

	CHECK(p != UINT16_MAX && start_port(p, 1) == 0, "capacity port");
	if (p == UINT16_MAX)
		return;
	f[0] = rte_flow_create(p, &ingress, pat_eth_ipv4, act, &e);
	f[1] = rte_flow_create(p, &ingress, pat_eth_ipv4, act, &e);
	poison(&e);
	CHECK(rte_flow_validate(p, &ingress, pat_eth_ipv4, act, &e) == 0, "validate does not check capacity");
	poison(&e);
	f[2] = rte_flow_create(p, &ingress, pat_eth_ipv4, act, &e);
	CHECK(f[0] != NULL && f[1] != NULL && f[2] == NULL && rte_errno == ENOMEM && filled(&e) &&
		      strstr(e.message, "table full") != NULL,
	      "third create: %p errno %d %s", (void *)f[2], rte_errno, e.message ? e.message : "");
	CHECK(rte_flow_destroy(p, f[1], &e) == 0, "destroy");
	f[2] = rte_flow_create(p, &ingress, pat_eth_ipv4, act, &e);
	CHECK(f[2] != NULL, "create after destroy");
	CHECK(rte_flow_flush(p, &e) == 0, "flush");
	unplug("net_shadowsim_cap");
}

/* ---- execution: sim_test_exec.h ------------------------------------------------------- */

#include "sim_test_exec.h"

/* ---- capture files: what the runner checks with tshark ----------------------------------- */

#define NFRAMES 8

static int make_input(const char *path)
{
	static uint8_t frames[NFRAMES][256];
	uint16_t lens[NFRAMES];

	for (unsigned int i = 0; i < NFRAMES; i++) {
		struct frame f = { .ipv = 4, .proto = i % 2 ? IPPROTO_TCP : IPPROTO_UDP, .src = "10.1.0.1", .dst = "10.1.0.2",
				   .sport = (uint16_t)(10000 + i), .dport = (uint16_t)(i < 6 ? 5000 : 6000), .paylen = (uint16_t)(20 + i) };

		if (i == 7) {
			f.ipv = 6;
			f.src = "2001:db8::a";
			f.dst = "2001:db8::b";
		}
		lens[i] = build(frames[i], &f);
	}
	return write_pcap(path, frames, lens, NFRAMES);
}

/* The EAL's own vdevs: net_shadowsim0 (mlx5, rx_pcap -> tx_pcap) and net_shadowsim1 (the mirror,
 * tx_pcap), both on E-Switch domain 1 (a port outside it, such as net_pcap, cannot be sent to). */
static void test_pcap_io(void)
{
	struct rte_flow_error e;
	uint16_t sim = port_of("net_shadowsim0"), mir = port_of("net_shadowsim1");
	struct rte_flow_item_udp udp = { .hdr.dst_port = RTE_BE16(5000) };
	struct rte_flow_item_udp udpm = { .hdr.dst_port = RTE_BE16(0xffff) };
	struct rte_flow_item pat[] = { { .type = RTE_FLOW_ITEM_TYPE_ETH }, { .type = RTE_FLOW_ITEM_TYPE_IPV4 },
				       { .type = RTE_FLOW_ITEM_TYPE_UDP, .spec = &udp, .mask = &udpm }, END_ITEM };
	struct rte_flow_action_port_id pid = { .id = mir };
	struct rte_flow_action sub[] = { { .type = RTE_FLOW_ACTION_TYPE_PORT_ID, .conf = &pid }, END_ACTION };
	struct rte_flow_action_sample smp = { .ratio = 1, .actions = sub };
	struct rte_flow_action_set_ipv4 dst = { .ipv4_addr = RTE_BE32(0xc0000207) }; /* 192.0.2.7 */
	struct rte_flow_action act[] = { { .type = RTE_FLOW_ACTION_TYPE_SAMPLE, .conf = &smp },
					 { .type = RTE_FLOW_ACTION_TYPE_SET_IPV4_DST, .conf = &dst }, END_ACTION };
	unsigned int total = 0;

	CHECK(sim != UINT16_MAX && mir != UINT16_MAX, "EAL vdevs net_shadowsim0 / net_shadowsim1 missing");
	if (sim == UINT16_MAX || mir == UINT16_MAX)
		return;
	CHECK(start_port(sim, 1) == 0 && start_port(mir, 1) == 0, "start pcap ports");
	CHECK(rte_flow_create(sim, &transfer, pat, act, &e) != NULL, "pcap transfer rule: %s", e.message ? e.message : "");
	/* the application forwards whatever arrives straight back out */
	for (int round = 0; round < 32; round++) {
		struct rte_mbuf *b[32];
		uint16_t n = rte_eth_rx_burst(sim, 0, b, 32);
		uint16_t s = n ? rte_eth_tx_burst(sim, 0, b, n) : 0;

		for (uint16_t i = s; i < n; i++)
			rte_pktmbuf_free(b[i]);
		total += n;
	}
	CHECK(total == NFRAMES, "pcap: %u frames received, want %d", total, NFRAMES);
	rte_flow_flush(sim, &e);
	rte_eth_dev_stop(sim);
	rte_eth_dev_stop(mir);
	rte_eth_dev_close(sim);
	rte_eth_dev_close(mir);
	printf("pcap: %u frames through net_shadowsim0; see %s/sim0-tx.pcap and %s/mirror.pcap\n", total, g_work, g_work);
}

int main(int argc, char **argv)
{
	char in[600], tx[600], mirror[600], vsim[2048], vpcap[2048], prefix[64];
	char *eal[16];
	int n = 0;

	if (argc != 3) {
		fprintf(stderr, "usage: %s PROFILE_DIR WORK_DIR\n", argv[0]);
		return 2;
	}
	g_profiles = argv[1];
	g_work = argv[2];
	st_print_sanitizers();
	snprintf(in, sizeof(in), "%s/in.pcap", g_work);
	snprintf(tx, sizeof(tx), "%s/sim0-tx.pcap", g_work);
	snprintf(mirror, sizeof(mirror), "%s/mirror.pcap", g_work);
	if (make_input(in) != 0) {
		fprintf(stderr, "cannot write %s\n", in);
		return 2;
	}
	snprintf(vsim, sizeof(vsim), "net_shadowsim0,profile=%s/mlx5.sim,rx_pcap=%s,tx_pcap=%s,switch_domain=1", g_profiles, in,
		 tx);
	snprintf(vpcap, sizeof(vpcap), "net_shadowsim1,profile=%s/net_null.sim,tx_pcap=%s,switch_domain=1", g_profiles, mirror);
	/* the runner names the prefix so that it can remove /var/run/dpdk/<prefix> afterwards */
	if (getenv("ST_SIM_PREFIX") != NULL)
		snprintf(prefix, sizeof(prefix), "%s", getenv("ST_SIM_PREFIX"));
	else
		snprintf(prefix, sizeof(prefix), "st_sim_test_%d", (int)getpid());
	eal[n++] = argv[0];
	eal[n++] = (char *)"--no-huge";
	eal[n++] = (char *)"-m";
	eal[n++] = (char *)"256";
	eal[n++] = (char *)"--no-pci";
	eal[n++] = (char *)"--file-prefix";
	eal[n++] = prefix;
	eal[n++] = (char *)"--log-level=lib.eal:error";
	eal[n++] = (char *)"--vdev";
	eal[n++] = vsim;
	eal[n++] = (char *)"--vdev";
	eal[n++] = vpcap;
	eal[n] = NULL;
	if (rte_eal_init(n, eal) < 0) {
		fprintf(stderr, "EAL init failed: %s\n", rte_strerror(rte_errno));
		return 2;
	}
	g_pool = rte_pktmbuf_pool_create("sim_test", 8191, 256, 0, RTE_MBUF_DEFAULT_BUF_SIZE, (int)rte_socket_id());
	if (g_pool == NULL) {
		fprintf(stderr, "mbuf pool: %s\n", rte_strerror(rte_errno));
		return 2;
	}
	test_validation();
	test_error_unset_quirk();
	test_capacity();
	test_ingress_exec();
	test_transfer_exec();
	test_pcap_io();
	rte_eal_cleanup();
	printf("%u passed, %u failed\n", g_pass, g_fail);
	return g_fail == 0 ? 0 : 1;
}
