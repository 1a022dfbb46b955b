/* SPDX-License-Identifier: BSD-3-Clause
 * The cases of sim_test.c, continued: execution of accepted rules on the
 * emulated port's receive and transmit paths (ingress: mark, queue, RSS,
 * drop, jump, rewrites with checksums, SAMPLE; transfer: E-Switch mirrors,
 * encapsulation, counters). Included by sim_test.c, whose helpers it uses;
 * one translation unit, so st_check.h's counters are shared.
 */

struct rig {
	uint16_t sim, sink;
	struct rte_ring *in, *out, *sink_out;
};

static int rig_up(struct rig *r, const char *family, uint16_t nrxq)
{
	/* one E-Switch (switch_domain=1): a transfer rule may send only within it */
	r->sim = plug("net_shadowsim_x", "profile=%s,rx_ring=simx_in,tx_ring=simx_out,switch_domain=1", profile(family));
	/* a second emulated port with no rte_flow, as the mirror destination */
	r->sink = plug("net_shadowsim_sink", "profile=%s,tx_ring=sink_out,switch_domain=1", profile("net_null"));
	r->in = rte_ring_lookup("simx_in");
	r->out = rte_ring_lookup("simx_out");
	r->sink_out = rte_ring_lookup("sink_out");
	if (r->sim == UINT16_MAX || r->sink == UINT16_MAX || !r->in || !r->out || !r->sink_out)
		return -1;
	if (start_port(r->sim, nrxq) != 0 || start_port(r->sink, 1) != 0)
		return -1;
	return 0;
}

static void rig_down(void)
{
	struct rte_ring *rs[3] = { rte_ring_lookup("simx_in"), rte_ring_lookup("simx_out"), rte_ring_lookup("sink_out") };

	unplug("net_shadowsim_x");
	unplug("net_shadowsim_sink");
	for (int i = 0; i < 3; i++) {
		void *m = NULL;

		if (rs[i] == NULL)
			continue;
		while (rte_ring_dequeue(rs[i], &m) == 0)
			rte_pktmbuf_free(m);
		rte_ring_free(rs[i]);
	}
}

static void test_ingress_exec(void)
{
	struct rig r;
	struct got got[MAXQ];
	struct rte_flow_error e;
	uint8_t fr[256];
	struct frame f = { .ipv = 4, .proto = IPPROTO_UDP, .src = "10.0.0.1", .dst = "10.0.0.2", .sport = 1000, .dport = 2000,
			   .paylen = 40 };
	uint16_t len = build(fr, &f);
	struct view v;

	memset(got, 0, sizeof(got));
	CHECK(rig_up(&r, "mlx5", MAXQ) == 0, "ingress rig");
	if (r.sim == UINT16_MAX) {
		rig_down();
		return;
	}

	/* a miss lands on queue 0, untouched */
	run(r.sim, r.in, fr, len, 3, MAXQ, got);
	CHECK(got[0].n == 3 && got[1].n == 0, "miss: q0 %u q1 %u", got[0].n, got[1].n);
	CHECK(got[0].n > 0 && memcmp(rte_pktmbuf_mtod(got[0].m[0], void *), fr, len) == 0, "miss: frame changed");
	free_got(got, MAXQ);

	/* mark + count + queue 2 on a 5-tuple match */
	{
		struct rte_flow_item_ipv4 ip = { .hdr.dst_addr = RTE_BE32(0x0a000002) };
		struct rte_flow_item_ipv4 ipm = { .hdr.dst_addr = RTE_BE32(0xffffffff) };
		struct rte_flow_item_udp udp = { .hdr.dst_port = RTE_BE16(2000) };
		struct rte_flow_item_udp udpm = { .hdr.dst_port = RTE_BE16(0xffff) };
		struct rte_flow_item pat[] = { { .type = RTE_FLOW_ITEM_TYPE_ETH },
					       { .type = RTE_FLOW_ITEM_TYPE_IPV4, .spec = &ip, .mask = &ipm },
					       { .type = RTE_FLOW_ITEM_TYPE_UDP, .spec = &udp, .mask = &udpm }, END_ITEM };
		struct rte_flow_action_mark mk = { .id = 7 };
		struct rte_flow_action_queue q2 = { .index = 2 };
		struct rte_flow_action_count cnt = { 0 };
		struct rte_flow_action act[] = { { .type = RTE_FLOW_ACTION_TYPE_MARK, .conf = &mk },
						 { .type = RTE_FLOW_ACTION_TYPE_COUNT, .conf = &cnt },
						 { .type = RTE_FLOW_ACTION_TYPE_QUEUE, .conf = &q2 }, END_ACTION };
		struct rte_flow_action qa[] = { { .type = RTE_FLOW_ACTION_TYPE_COUNT }, END_ACTION };
		struct rte_flow_query_count qc = { .reset = 1 };
		struct rte_flow *fl = rte_flow_create(r.sim, &ingress, pat, act, &e);
		uint8_t other[256];
		struct frame f2 = f;
		uint16_t len2;

		CHECK(fl != NULL, "mark/count/queue rule: %s", e.message ? e.message : "");
		f2.dport = 2001;
		len2 = build(other, &f2);
		run(r.sim, r.in, fr, len, 4, MAXQ, got);
		run(r.sim, r.in, other, len2, 2, MAXQ, got);
		CHECK(got[2].n == 4 && got[0].n == 2, "queue 2 got %u (want 4), queue 0 got %u (want 2)", got[2].n, got[0].n);
		for (unsigned int i = 0; i < got[2].n; i++)
			CHECK((got[2].m[i]->ol_flags & RTE_MBUF_F_RX_FDIR_ID) && got[2].m[i]->hash.fdir.hi == 7, "mark on q2");
		CHECK(got[0].n == 0 || !(got[0].m[0]->ol_flags & RTE_MBUF_F_RX_FDIR), "miss must not be marked");
		CHECK(fl != NULL && rte_flow_query(r.sim, fl, qa, &qc, &e) == 0 && qc.hits == 4 && qc.bytes == 4ull * len,
		      "count: hits %" PRIu64 " bytes %" PRIu64, qc.hits, qc.bytes);
		memset(&qc, 0, sizeof(qc));
		CHECK(fl != NULL && rte_flow_query(r.sim, fl, qa, &qc, &e) == 0 && qc.hits == 0, "count reset: %" PRIu64, qc.hits);
		free_got(got, MAXQ);
		rte_flow_flush(r.sim, &e);
	}

	/* drop */
	{
		struct rte_flow_action act[] = { { .type = RTE_FLOW_ACTION_TYPE_COUNT }, { .type = RTE_FLOW_ACTION_TYPE_DROP },
						 END_ACTION };
		struct rte_flow *fl = rte_flow_create(r.sim, &ingress, pat_eth_ipv4, act, &e);
		struct rte_flow_query_count qc = { 0 };

		CHECK(fl != NULL, "drop rule: %s", e.message ? e.message : "");
		run(r.sim, r.in, fr, len, 5, MAXQ, got);
		CHECK(got[0].n + got[1].n + got[2].n + got[3].n == 0, "drop: packets delivered");
		CHECK(fl != NULL && rte_flow_query(r.sim, fl, act, &qc, &e) == 0 && qc.hits == 5, "drop count %" PRIu64, qc.hits);
		rte_flow_flush(r.sim, &e);
	}

	/* RSS over queues 1..3: every packet of a flow on one queue, flows spread */
	{
		uint16_t qs[3] = { 1, 2, 3 };
		struct rte_flow_action_rss rss = { .types = RTE_ETH_RSS_IP | RTE_ETH_RSS_UDP, .queue_num = 3, .queue = qs };
		struct rte_flow_action act[] = { { .type = RTE_FLOW_ACTION_TYPE_RSS, .conf = &rss }, END_ACTION };
		struct rte_flow *fl = rte_flow_create(r.sim, &ingress, pat_eth_ipv4, act, &e);
		unsigned int used = 0;

		CHECK(fl != NULL, "rss rule: %s", e.message ? e.message : "");
		for (uint16_t sp = 0; sp < 24; sp++) {
			struct frame g = f;
			uint8_t b[256];
			uint16_t l;

			g.sport = (uint16_t)(3000 + sp * 17);
			l = build(b, &g);
			run(r.sim, r.in, b, l, 2, MAXQ, got);
		}
		CHECK(got[0].n == 0, "rss: %u packets on queue 0", got[0].n);
		for (int q = 1; q < MAXQ; q++)
			used += got[q].n > 0;
		CHECK(got[1].n + got[2].n + got[3].n == 48 && used >= 2, "rss spread: %u %u %u", got[1].n, got[2].n, got[3].n);
		for (int q = 1; q < MAXQ; q++)
			for (unsigned int i = 0; i < got[q].n; i++)
				CHECK(got[q].m[i]->ol_flags & RTE_MBUF_F_RX_RSS_HASH, "rss hash flag");
		free_got(got, MAXQ);
		rte_flow_flush(r.sim, &e);
	}

	/* mlx5 split around SAMPLE: a rewrite before SAMPLE changes the copy too */
	{
		struct rte_flow_action_queue q0 = { .index = 0 }, q3 = { .index = 3 };
		struct rte_flow_action_mark mk = { .id = 9 };
		struct rte_flow_action_set_ipv4 dst = { .ipv4_addr = RTE_BE32(0xc0a80a0a) }; /* 192.168.10.10 */
		struct rte_flow_action sub[] = { { .type = RTE_FLOW_ACTION_TYPE_MARK, .conf = &mk },
						 { .type = RTE_FLOW_ACTION_TYPE_QUEUE, .conf = &q3 }, END_ACTION };
		struct rte_flow_action_sample smp = { .ratio = 1, .actions = sub };
		struct rte_flow_action before[] = { { .type = RTE_FLOW_ACTION_TYPE_SET_IPV4_DST, .conf = &dst },
						    { .type = RTE_FLOW_ACTION_TYPE_SAMPLE, .conf = &smp },
						    { .type = RTE_FLOW_ACTION_TYPE_QUEUE, .conf = &q0 }, END_ACTION };
		struct rte_flow_action after[] = { { .type = RTE_FLOW_ACTION_TYPE_SAMPLE, .conf = &smp },
						   { .type = RTE_FLOW_ACTION_TYPE_SET_IPV4_DST, .conf = &dst },
						   { .type = RTE_FLOW_ACTION_TYPE_QUEUE, .conf = &q0 }, END_ACTION };
		struct rte_flow *fl = rte_flow_create(r.sim, &ingress, pat_eth_ipv4, before, &e);

		CHECK(fl != NULL, "sample-after-rewrite rule: %s", e.message ? e.message : "");
		run(r.sim, r.in, fr, len, 2, MAXQ, got);
		CHECK(got[0].n == 2 && got[3].n == 2, "before: original %u copy %u", got[0].n, got[3].n);
		for (unsigned int i = 0; i < got[0].n; i++)
			CHECK(view_of(got[0].m[i], &v) && strcmp(v.dst, "192.168.10.10") == 0 && v.ip_ok && v.l4_ok,
			      "before: original dst %s ip %d l4 %d", v.dst, v.ip_ok, v.l4_ok);
		for (unsigned int i = 0; i < got[3].n; i++) {
			CHECK(view_of(got[3].m[i], &v) && strcmp(v.dst, "192.168.10.10") == 0 && v.ip_ok && v.l4_ok,
			      "before: the copy must carry the rewrite too (mlx5), dst %s", v.dst);
			CHECK(got[3].m[i]->hash.fdir.hi == 9 && !(got[0].m[0]->ol_flags & RTE_MBUF_F_RX_FDIR_ID),
			      "copy marked, original not");
		}
		free_got(got, MAXQ);
		rte_flow_flush(r.sim, &e);

		fl = rte_flow_create(r.sim, &ingress, pat_eth_ipv4, after, &e);
		CHECK(fl != NULL, "rewrite-after-sample rule: %s", e.message ? e.message : "");
		run(r.sim, r.in, fr, len, 2, MAXQ, got);
		CHECK(got[0].n == 2 && got[3].n == 2, "after: original %u copy %u", got[0].n, got[3].n);
		for (unsigned int i = 0; i < got[0].n; i++)
			CHECK(view_of(got[0].m[i], &v) && strcmp(v.dst, "192.168.10.10") == 0 && v.ip_ok && v.l4_ok,
			      "after: original dst %s", v.dst);
		for (unsigned int i = 0; i < got[3].n; i++)
			CHECK(got[3].n > 0 && memcmp(rte_pktmbuf_mtod(got[3].m[i], void *), fr, len) == 0,
			      "after: the copy must be the frame as received");
		free_got(got, MAXQ);
		rte_flow_flush(r.sim, &e);
	}

	/* SAMPLE 1 in 4 */
	{
		struct rte_flow_action_queue q0 = { .index = 0 }, q1 = { .index = 1 };
		struct rte_flow_action_count cnt = { 0 };
		struct rte_flow_action sub[] = { { .type = RTE_FLOW_ACTION_TYPE_COUNT, .conf = &cnt },
						 { .type = RTE_FLOW_ACTION_TYPE_QUEUE, .conf = &q1 }, END_ACTION };
		struct rte_flow_action_sample smp = { .ratio = 4, .actions = sub };
		struct rte_flow_action act[] = { { .type = RTE_FLOW_ACTION_TYPE_SAMPLE, .conf = &smp },
						 { .type = RTE_FLOW_ACTION_TYPE_QUEUE, .conf = &q0 }, END_ACTION };
		struct rte_flow *fl = rte_flow_create(r.sim, &ingress, pat_eth_ipv4, act, &e);
		struct rte_flow_query_count qc = { 0 };
		struct rte_flow_action qa[] = { { .type = RTE_FLOW_ACTION_TYPE_COUNT }, END_ACTION };

		CHECK(fl != NULL, "sample 1/4: %s", e.message ? e.message : "");
		run(r.sim, r.in, fr, len, 12, MAXQ, got);
		CHECK(got[0].n == 12 && got[1].n == 3, "1 in 4: original %u copies %u", got[0].n, got[1].n);
		CHECK(fl != NULL && rte_flow_query(r.sim, fl, qa, &qc, &e) == 0 && qc.hits == 3, "copy counter %" PRIu64, qc.hits);
		free_got(got, MAXQ);
		rte_flow_flush(r.sim, &e);
	}

	/* JUMP: group 0 marks and jumps, group 1 queues */
	{
		struct rte_flow_action_jump j = { .group = 1 };
		struct rte_flow_action_mark mk = { .id = 3 };
		struct rte_flow_action_queue q1 = { .index = 1 };
		struct rte_flow_attr g1 = { .ingress = 1, .group = 1 };
		struct rte_flow_action a0[] = { { .type = RTE_FLOW_ACTION_TYPE_MARK, .conf = &mk },
						{ .type = RTE_FLOW_ACTION_TYPE_JUMP, .conf = &j }, END_ACTION };
		struct rte_flow_action a1[] = { { .type = RTE_FLOW_ACTION_TYPE_QUEUE, .conf = &q1 }, END_ACTION };

		CHECK(rte_flow_create(r.sim, &g1, pat_eth_ipv4, a1, &e) != NULL, "group 1 rule: %s", e.message);
		CHECK(rte_flow_create(r.sim, &ingress, pat_eth_ipv4, a0, &e) != NULL, "group 0 jump rule: %s", e.message);
		run(r.sim, r.in, fr, len, 2, MAXQ, got);
		CHECK(got[1].n == 2 && got[1].m[0]->hash.fdir.hi == 3, "jump: q1 %u", got[1].n);
		free_got(got, MAXQ);
		rte_flow_flush(r.sim, &e);
	}

	/* checksums: zero UDP checksum stays zero, a bad one stays bad; TCP/IPv6 rewrites */
	{
		struct rte_flow_action_queue q0 = { .index = 0 };
		struct rte_flow_action_set_ipv4 dst = { .ipv4_addr = RTE_BE32(0x0b0b0b0b) };
		struct rte_flow_action_set_tp tp = { .port = RTE_BE16(8080) };
		struct rte_flow_item pat_udp[] = { { .type = RTE_FLOW_ITEM_TYPE_ETH }, { .type = RTE_FLOW_ITEM_TYPE_IPV4 },
						   { .type = RTE_FLOW_ITEM_TYPE_UDP }, END_ITEM };
		struct rte_flow_action act[] = { { .type = RTE_FLOW_ACTION_TYPE_SET_IPV4_DST, .conf = &dst },
						 { .type = RTE_FLOW_ACTION_TYPE_SET_TP_DST, .conf = &tp },
						 { .type = RTE_FLOW_ACTION_TYPE_DEC_TTL },
						 { .type = RTE_FLOW_ACTION_TYPE_QUEUE, .conf = &q0 }, END_ACTION };
		struct frame z = f, bad = f;
		uint8_t bz[256], bb[256];
		uint16_t lz, lb;

		z.udp_zero_csum = true;
		bad.bad_l4_csum = true;
		lz = build(bz, &z);
		lb = build(bb, &bad);
		CHECK(rte_flow_create(r.sim, &ingress, pat_udp, act, &e) != NULL, "rewrite rule: %s", e.message);
		run(r.sim, r.in, fr, len, 1, MAXQ, got);
		run(r.sim, r.in, bz, lz, 1, MAXQ, got);
		run(r.sim, r.in, bb, lb, 1, MAXQ, got);
		CHECK(got[0].n == 3, "rewrites: %u", got[0].n);
		if (got[0].n == 3) {
			CHECK(view_of(got[0].m[0], &v) && strcmp(v.dst, "11.11.11.11") == 0 && v.dport == 8080 && v.ttl == 63 &&
				      v.ip_ok && v.l4_ok,
			      "udp rewrite: dst %s dport %u ttl %u ip %d l4 %d", v.dst, v.dport, v.ttl, v.ip_ok, v.l4_ok);
			CHECK(view_of(got[0].m[1], &v) && v.l4_csum == 0 && v.ip_ok, "zero udp checksum: %04x", v.l4_csum);
			CHECK(view_of(got[0].m[2], &v) && !v.l4_ok && v.ip_ok, "a bad checksum must stay bad");
		}
		free_got(got, MAXQ);
		rte_flow_flush(r.sim, &e);
	}
	{
		struct rte_flow_action_queue q0 = { .index = 0 };
		struct rte_flow_action_set_ipv6 d6 = { 0 };
		struct rte_flow_action_set_tp sp = { .port = RTE_BE16(4444) };
		struct rte_flow_item pat6[] = { { .type = RTE_FLOW_ITEM_TYPE_ETH }, { .type = RTE_FLOW_ITEM_TYPE_IPV6 },
						{ .type = RTE_FLOW_ITEM_TYPE_TCP }, END_ITEM };
		struct rte_flow_action act[] = { { .type = RTE_FLOW_ACTION_TYPE_SET_IPV6_DST, .conf = &d6 },
						 { .type = RTE_FLOW_ACTION_TYPE_SET_TP_SRC, .conf = &sp },
						 { .type = RTE_FLOW_ACTION_TYPE_DEC_TTL },
						 { .type = RTE_FLOW_ACTION_TYPE_QUEUE, .conf = &q0 }, END_ACTION };
		struct frame t6 = { .ipv = 6, .proto = IPPROTO_TCP, .src = "2001:db8::1", .dst = "2001:db8::2", .sport = 1234,
				    .dport = 80, .paylen = 33 };
		uint8_t b6[256];
		uint16_t l6 = build(b6, &t6);

		inet_pton(AF_INET6, "2001:db8:ffff::99", d6.ipv6_addr);
		CHECK(rte_flow_create(r.sim, &ingress, pat6, act, &e) != NULL, "ipv6 rule: %s", e.message);
		run(r.sim, r.in, b6, l6, 1, MAXQ, got);
		CHECK(got[0].n == 1 && view_of(got[0].m[0], &v) && strcmp(v.dst, "2001:db8:ffff::99") == 0 && v.sport == 4444 &&
			      v.ttl == 63 && v.l4_ok,
		      "tcp/ipv6 rewrite: dst %s sport %u hop %u l4 %d", v.dst, v.sport, v.ttl, v.l4_ok);
		free_got(got, MAXQ);
		rte_flow_flush(r.sim, &e);
	}
	/* modify_field: set the IPv4 source from an immediate value */
	{
		struct rte_flow_action_queue q0 = { .index = 0 };
		struct rte_flow_action_modify_field mf = {
			.operation = RTE_FLOW_MODIFY_SET,
			.dst = { .field = RTE_FLOW_FIELD_IPV4_SRC },
			.src = { .field = RTE_FLOW_FIELD_VALUE },
			.width = 32,
		};
		struct rte_flow_action act[] = { { .type = RTE_FLOW_ACTION_TYPE_MODIFY_FIELD, .conf = &mf },
						 { .type = RTE_FLOW_ACTION_TYPE_QUEUE, .conf = &q0 }, END_ACTION };

		inet_pton(AF_INET, "172.16.0.9", mf.src.value);
		CHECK(rte_flow_create(r.sim, &ingress, pat_eth_ipv4, act, &e) != NULL, "modify_field rule: %s", e.message);
		run(r.sim, r.in, fr, len, 1, MAXQ, got);
		CHECK(got[0].n == 1 && view_of(got[0].m[0], &v) && strcmp(v.src, "172.16.0.9") == 0 && v.ip_ok && v.l4_ok,
		      "modify_field: src %s", v.src);
		free_got(got, MAXQ);
		rte_flow_flush(r.sim, &e);
	}
	rig_down();
}

static void test_transfer_exec(void)
{
	struct rig r;
	struct got got[MAXQ];
	struct rte_flow_error e;
	struct rte_mbuf *out[MAXGOT];
	unsigned int n;
	uint8_t fr[256];
	struct frame f = { .ipv = 4, .proto = IPPROTO_UDP, .src = "10.0.0.1", .dst = "10.0.0.2", .sport = 1000, .dport = 2000,
			   .paylen = 40 };
	uint16_t len = build(fr, &f);
	struct view v;

	memset(got, 0, sizeof(got));
	CHECK(rig_up(&r, "mlx5", 2) == 0, "transfer rig");
	if (r.sim == UINT16_MAX) {
		rig_down();
		return;
	}

	/* E-Switch mirror to another port; MAC rewrite after SAMPLE reaches only the original */
	{
		struct rte_flow_action_port_id pid = { .id = r.sink };
		struct rte_flow_action_set_mac mac = { .mac_addr = { 0x02, 0xaa, 0xbb, 0xcc, 0xdd, 0xee } };
		struct rte_flow_action sub[] = { { .type = RTE_FLOW_ACTION_TYPE_PORT_ID, .conf = &pid }, END_ACTION };
		struct rte_flow_action_sample smp = { .ratio = 1, .actions = sub };
		struct rte_flow_action act[] = { { .type = RTE_FLOW_ACTION_TYPE_SAMPLE, .conf = &smp },
						 { .type = RTE_FLOW_ACTION_TYPE_SET_MAC_DST, .conf = &mac }, END_ACTION };

		CHECK(rte_flow_create(r.sim, &transfer, pat_eth_ipv4, act, &e) != NULL, "transfer mirror: %s", e.message);
		run(r.sim, r.in, fr, len, 3, 2, got);
		n = drain(r.sink_out, out, MAXGOT);
		CHECK(n == 3 && got[0].n == 3, "mirror: sink %u, rx %u", n, got[0].n);
		for (unsigned int i = 0; i < n; i++)
			CHECK(memcmp(rte_pktmbuf_mtod(out[i], void *), fr, len) == 0, "mirror copy altered");
		for (unsigned int i = 0; i < got[0].n; i++)
			CHECK(memcmp(rte_pktmbuf_mtod(got[0].m[i], uint8_t *), mac.mac_addr, 6) == 0 &&
				      memcmp(rte_pktmbuf_mtod(got[0].m[i], uint8_t *) + 6, fr + 6, len - 6) == 0,
			      "original: MAC rewritten, nothing else");
		free_all(out, n);
		free_got(got, 2);
		rte_flow_flush(r.sim, &e);
	}

	/* E-Switch mirror with VXLAN encapsulation of the copy */
	{
		struct rte_flow_item_eth oeth = { .hdr.dst_addr.addr_bytes = { 0x02, 9, 9, 9, 9, 1 },
						  .hdr.src_addr.addr_bytes = { 0x02, 9, 9, 9, 9, 2 } };
		struct rte_flow_item_ipv4 oip = { .hdr.src_addr = RTE_BE32(0xc6336401), .hdr.dst_addr = RTE_BE32(0xc6336402) };
		struct rte_flow_item_udp oudp = { .hdr.src_port = RTE_BE16(49152) };
		struct rte_flow_item_vxlan ovx = { .vni = { 0, 0x12, 0x34 } };
		struct rte_flow_item def[] = { { .type = RTE_FLOW_ITEM_TYPE_ETH, .spec = &oeth },
					       { .type = RTE_FLOW_ITEM_TYPE_IPV4, .spec = &oip },
					       { .type = RTE_FLOW_ITEM_TYPE_UDP, .spec = &oudp },
					       { .type = RTE_FLOW_ITEM_TYPE_VXLAN, .spec = &ovx }, END_ITEM };
		struct rte_flow_action_vxlan_encap vx = { .definition = def };
		struct rte_flow_action_port_id pid = { .id = r.sink };
		struct rte_flow_action sub[] = { { .type = RTE_FLOW_ACTION_TYPE_VXLAN_ENCAP, .conf = &vx },
						 { .type = RTE_FLOW_ACTION_TYPE_PORT_ID, .conf = &pid }, END_ACTION };
		struct rte_flow_action_sample smp = { .ratio = 1, .actions = sub };
		struct rte_flow_action act[] = { { .type = RTE_FLOW_ACTION_TYPE_SAMPLE, .conf = &smp }, END_ACTION };

		CHECK(rte_flow_create(r.sim, &transfer, pat_eth_ipv4, act, &e) != NULL, "vxlan mirror: %s", e.message);
		run(r.sim, r.in, fr, len, 1, 2, got);
		n = drain(r.sink_out, out, MAXGOT);
		CHECK(n == 1 && got[0].n == 1, "vxlan mirror: sink %u rx %u", n, got[0].n);
		if (n == 1) {
			const uint8_t *d = rte_pktmbuf_mtod(out[0], const uint8_t *);
			uint32_t pl = rte_pktmbuf_pkt_len(out[0]);

			CHECK(pl == len + 50u, "vxlan length %u", pl);
			CHECK(view_of(out[0], &v) && v.ip_ok && strcmp(v.dst, "198.51.100.2") == 0 && v.dport == 4789 &&
				      v.sport == 49152 && v.ttl == 64,
			      "outer: dst %s dport %u ttl %u ip ok %d", v.dst, v.dport, v.ttl, v.ip_ok);
			CHECK(get16(d + 16) == len + 36 && get16(d + 38) == len + 16 && d[42] == 0x08 && d[46] == 0 && d[47] == 0x12 && d[48] == 0x34,
			      "outer lengths/vni");
			CHECK(memcmp(d + 50, fr, len) == 0, "inner frame altered");
		}
		free_all(out, n);
		free_got(got, 2);
		rte_flow_flush(r.sim, &e);
	}

	/* RAW_ENCAP on the copy: lengths and the outer IPv4 checksum are filled in as by the NIC */
	{
		uint8_t hdr[50];
		struct rte_flow_action_raw_encap raw = { .data = hdr, .size = sizeof(hdr) };
		struct rte_flow_action_port_id pid = { .id = r.sink };
		struct rte_flow_action sub[] = { { .type = RTE_FLOW_ACTION_TYPE_RAW_ENCAP, .conf = &raw },
						 { .type = RTE_FLOW_ACTION_TYPE_PORT_ID, .conf = &pid }, END_ACTION };
		struct rte_flow_action_sample smp = { .ratio = 1, .actions = sub };
		struct rte_flow_action act[] = { { .type = RTE_FLOW_ACTION_TYPE_SAMPLE, .conf = &smp }, END_ACTION };

		memset(hdr, 0, sizeof(hdr));
		memcpy(hdr, fr, 12);                    /* MACs */
		put16(hdr + 12, 0x0800);
		hdr[14] = 0x45;
		hdr[22] = 17;                           /* TTL 0 left as given: raw means raw */
		hdr[23] = IPPROTO_UDP;
		inet_pton(AF_INET, "203.0.113.1", hdr + 26);
		inet_pton(AF_INET, "203.0.113.2", hdr + 30);
		put16(hdr + 34, 40000);
		put16(hdr + 36, 4789);
		hdr[42] = 0x08;
		hdr[48] = 0x01;                         /* VNI 1 */
		CHECK(rte_flow_create(r.sim, &transfer, pat_eth_ipv4, act, &e) != NULL, "raw encap mirror: %s", e.message);
		run(r.sim, r.in, fr, len, 1, 2, got);
		n = drain(r.sink_out, out, MAXGOT);
		CHECK(n == 1, "raw encap: sink %u", n);
		if (n == 1) {
			const uint8_t *d = rte_pktmbuf_mtod(out[0], const uint8_t *);

			CHECK(view_of(out[0], &v) && v.ip_ok && strcmp(v.dst, "203.0.113.2") == 0 && v.ttl == 17 &&
				      get16(d + 16) == len + 36 && get16(d + 38) == len + 16 && memcmp(d + 50, fr, len) == 0,
			      "raw encap: ip ok %d dst %s total %u udp %u", v.ip_ok, v.dst, get16(d + 16), get16(d + 38));
		}
		free_all(out, n);
		free_got(got, 2);
		rte_flow_flush(r.sim, &e);
	}

	/* forward the original to another port with a VLAN pushed */
	{
		struct rte_flow_action_port_id pid = { .id = r.sink };
		struct rte_flow_action_of_push_vlan push = { .ethertype = RTE_BE16(0x8100) };
		struct rte_flow_action_of_set_vlan_vid vid = { .vlan_vid = RTE_BE16(100) };
		struct rte_flow_action_of_set_vlan_pcp pcp = { .vlan_pcp = 5 };
		struct rte_flow_action act[] = { { .type = RTE_FLOW_ACTION_TYPE_OF_PUSH_VLAN, .conf = &push },
						 { .type = RTE_FLOW_ACTION_TYPE_OF_SET_VLAN_VID, .conf = &vid },
						 { .type = RTE_FLOW_ACTION_TYPE_OF_SET_VLAN_PCP, .conf = &pcp },
						 { .type = RTE_FLOW_ACTION_TYPE_PORT_ID, .conf = &pid }, END_ACTION };

		CHECK(rte_flow_create(r.sim, &transfer, pat_eth_ipv4, act, &e) != NULL, "push vlan: %s", e.message);
		run(r.sim, r.in, fr, len, 2, 2, got);
		n = drain(r.sink_out, out, MAXGOT);
		CHECK(n == 2 && got[0].n == 0, "forward: sink %u rx %u", n, got[0].n);
		for (unsigned int i = 0; i < n; i++) {
			const uint8_t *d = rte_pktmbuf_mtod(out[i], const uint8_t *);

			CHECK(rte_pktmbuf_pkt_len(out[i]) == len + 4u && get16(d + 12) == 0x8100 && get16(d + 14) == (5 << 13 | 100) &&
				      memcmp(d + 16, fr + 12, len - 12) == 0,
			      "vlan tag %04x", get16(d + 14));
		}
		free_all(out, n);
		free_got(got, 2);
		rte_flow_flush(r.sim, &e);
	}

	/* egress: what the application sends meets the NIC Tx rules */
	{
		struct rte_flow_action_set_ipv4 src = { .ipv4_addr = RTE_BE32(0x0a636363) };
		struct rte_flow_action act[] = { { .type = RTE_FLOW_ACTION_TYPE_SET_IPV4_SRC, .conf = &src }, END_ACTION };
		struct rte_mbuf *m = mbuf_of(fr, len);

		CHECK(rte_flow_create(r.sim, &egress, pat_eth_ipv4, act, &e) != NULL, "egress rule: %s", e.message);
		CHECK(rte_eth_tx_burst(r.sim, 0, &m, 1) == 1, "tx");
		n = drain(r.out, out, MAXGOT);
		CHECK(n == 1 && view_of(out[0], &v) && strcmp(v.src, "10.99.99.99") == 0 && v.ip_ok && v.l4_ok, "egress rewrite: %s",
		      n ? v.src : "(nothing)");
		free_all(out, n);
		rte_flow_flush(r.sim, &e);
	}
	rig_down();
}
