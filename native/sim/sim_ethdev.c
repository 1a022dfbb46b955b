/* SPDX-License-Identifier: BSD-3-Clause
 * net_shadowsim: the virtual device, its ethdev ops and bursts; its devargs and
 * inputs/outputs are in sim_devargs.c.
 *
 *   --vdev net_shadowsim0,profile=FILE[,capacity=N][,reserved=N][,rx_pcap=FILE|rx_ring=NAME]
 *          [,tx_pcap=FILE|tx_ring=NAME][,infinite_rx=0|1][,quirk_error_unset=0|1]
 *          [,switch_domain=N][,refuse=ACTION[:ACTION...]]
 *
 * Receive: a burst on any rx queue first pulls up to one burst of frames
 * from the input (capture or ring), runs them through the rules and places
 * each on the rx queue its rules chose (a ring per queue), then returns
 * what is waiting on the polled queue. Transmit: frames go through the
 * egress rules, then to tx_pcap / tx_ring (or are freed when neither is
 * given, like a link with nothing on the other end).
 */
#include <errno.h>
#include <string.h>

#include <bus_vdev_driver.h>
#include <ethdev_driver.h>
#include <ethdev_vdev.h>
#include <rte_flow_driver.h>
#include <rte_malloc.h>
#include <rte_random.h>

#include "sim.h"

RTE_LOG_REGISTER_DEFAULT(st_sim_logtype, NOTICE);

#define PUMP_BURST 32
#define RING_MIN 64
#define RING_MAX 16384

/* ---- bursts ---------------------------------------------------------------- */

static struct rte_mbuf *frame_to_mbuf(struct rte_mempool *pool, const uint8_t *data, uint32_t len)
{
	struct rte_mbuf *head = rte_pktmbuf_alloc(pool), *tail;
	uint32_t done = 0;

	if (head == NULL)
		return NULL;
	tail = head;
	/* frames longer than one buffer are chained, as a scattering NIC does */
	for (;;) {
		uint32_t room = rte_pktmbuf_tailroom(tail);
		uint32_t n = len - done < room ? len - done : room;

		memcpy(rte_pktmbuf_mtod(tail, uint8_t *), data + done, n);
		tail->data_len = (uint16_t)n;
		done += n;
		if (done == len)
			break;
		tail->next = rte_pktmbuf_alloc(pool);
		if (tail->next == NULL) {
			rte_pktmbuf_free(head);
			return NULL;
		}
		tail = tail->next;
		head->nb_segs++;
	}
	head->pkt_len = len;
	return head;
}

/* Pulls one burst from the input through the rules; one lcore at a time. */
static void pump(struct st_sim_dev *sd, struct rte_mempool *pool)
{
	struct st_sim_batch *b;
	struct rte_mbuf *in[PUMP_BURST];
	unsigned int n = 0;

	if (!rte_spinlock_trylock(&sd->pump_lock))
		return;
	b = sd->pump_batch;
	if (sd->in != NULL) {
		while (n < PUMP_BURST) {
			uint32_t len;
			const uint8_t *f = st_sim_capture_next(sd->in, sd->infinite_rx, &len);

			if (f == NULL)
				break;
			in[n] = frame_to_mbuf(pool, f, len);
			if (in[n] == NULL) {
				sd->eth->data->rx_mbuf_alloc_failed++;
				/* keep the frame for the next poll */
				st_sim_capture_unread(sd->in);
				break;
			}
			n++;
		}
	} else if (sd->in_ring != NULL) {
		n = rte_ring_dequeue_burst(sd->in_ring, (void **)in, PUMP_BURST, NULL);
	}
	if (n > 0) {
		sd->xs.input_packets += n;
		rte_rwlock_read_lock(&sd->rules_lock);
		for (unsigned int i = 0; i < n; i++)
			st_sim_from_wire(sd, in[i], pool, b);
		rte_rwlock_read_unlock(&sd->rules_lock);
		st_sim_deliver(sd, b);
	}
	rte_spinlock_unlock(&sd->pump_lock);
}

static uint16_t sim_rx_burst(void *queue, struct rte_mbuf **bufs, uint16_t nb)
{
	struct st_sim_rxq *q = queue;
	struct st_sim_dev *sd = q->dev;
	unsigned int got;
	uint64_t bytes = 0;

	if (!sd->started)
		return 0;
	if (rte_ring_count(q->ring) < nb && (sd->in != NULL || sd->in_ring != NULL))
		pump(sd, q->pool);
	got = rte_ring_dequeue_burst(q->ring, (void **)bufs, nb, NULL);
	for (unsigned int i = 0; i < got; i++)
		bytes += rte_pktmbuf_pkt_len(bufs[i]);
	q->packets += got;
	q->bytes += bytes;
	return (uint16_t)got;
}

uint16_t st_sim_output(struct st_sim_dev *sd, struct rte_mbuf **pkts, uint16_t n)
{
	uint16_t ok = 0;

	if (sd->out != NULL) {
		rte_spinlock_lock(&sd->out_lock);
		for (uint16_t i = 0; i < n; i++)
			if (st_sim_capture_write(sd->out, pkts[i]) == 0)
				ok++;
		fflush(sd->out);
		rte_spinlock_unlock(&sd->out_lock);
		for (uint16_t i = 0; i < n; i++)
			rte_pktmbuf_free(pkts[i]);
	} else if (sd->out_ring != NULL) {
		ok = (uint16_t)rte_ring_enqueue_burst(sd->out_ring, (void **)pkts, n, NULL);
		for (uint16_t i = ok; i < n; i++)
			rte_pktmbuf_free(pkts[i]);
	} else {
		for (uint16_t i = 0; i < n; i++)
			rte_pktmbuf_free(pkts[i]);
		ok = n;
	}
	return ok;
}

static uint16_t sim_tx_burst(void *queue, struct rte_mbuf **bufs, uint16_t nb)
{
	struct st_sim_txq *q = queue;
	struct st_sim_dev *sd = q->dev;
	uint64_t bytes = 0;
	uint16_t ok;

	if (!sd->started)
		return 0;
	for (uint16_t i = 0; i < nb; i++)
		bytes += rte_pktmbuf_pkt_len(bufs[i]);
	if (__atomic_load_n(&sd->nrules_domain[ST_SIM_EGRESS], __ATOMIC_RELAXED) == 0) {
		ok = st_sim_output(sd, bufs, nb);
	} else {
		struct st_sim_batch *b = rte_malloc("shadowsim_txbatch", sizeof(*b), 0);

		if (b == NULL)
			return 0;
		b->n = 0;
		rte_rwlock_read_lock(&sd->rules_lock);
		for (uint16_t i = 0; i < nb; i++)
			st_sim_from_host(sd, bufs[i], bufs[i]->pool, b);
		rte_rwlock_read_unlock(&sd->rules_lock);
		st_sim_deliver(sd, b);
		rte_free(b);
		ok = nb;
	}
	__atomic_fetch_add(&q->packets, nb, __ATOMIC_RELAXED);
	__atomic_fetch_add(&q->bytes, bytes, __ATOMIC_RELAXED);
	__atomic_fetch_add(&q->errors, (uint64_t)(nb - ok), __ATOMIC_RELAXED);
	return nb;
}

/* ---- ethdev ops ------------------------------------------------------------ */

static int sim_configure(struct rte_eth_dev *dev)
{
	struct st_sim_dev *sd = dev->data->dev_private;

	if (dev->data->nb_rx_queues > ST_SIM_MAX_QUEUES || dev->data->nb_tx_queues > ST_SIM_MAX_QUEUES) {
		SIM_LOG(ERR, "%s: at most %d rx and tx queues", sd->name, ST_SIM_MAX_QUEUES);
		return -EINVAL;
	}
	sd->rss_default = (dev->data->dev_conf.rxmode.mq_mode & RTE_ETH_MQ_RX_RSS_FLAG) != 0;
	return 0;
}

static int sim_infos_get(struct rte_eth_dev *dev, struct rte_eth_dev_info *info)
{
	const struct st_sim_dev *sd = dev->data->dev_private;

	info->max_mac_addrs = 1;
	info->max_rx_pktlen = 9618;
	info->min_mtu = RTE_ETHER_MIN_MTU;
	info->max_mtu = 9600;
	info->max_rx_queues = ST_SIM_MAX_QUEUES;
	info->max_tx_queues = ST_SIM_MAX_QUEUES;
	info->min_rx_bufsize = 0;
	info->rx_offload_capa = RTE_ETH_RX_OFFLOAD_SCATTER | RTE_ETH_RX_OFFLOAD_RSS_HASH;
	info->tx_offload_capa = RTE_ETH_TX_OFFLOAD_MULTI_SEGS;
	info->flow_type_rss_offloads = RTE_ETH_RSS_IP | RTE_ETH_RSS_TCP | RTE_ETH_RSS_UDP;
	info->hash_key_size = 40;
	info->speed_capa = RTE_ETH_LINK_SPEED_100G;
	info->rx_desc_lim.nb_max = RING_MAX;
	info->rx_desc_lim.nb_min = RING_MIN;
	info->rx_desc_lim.nb_align = 1;
	info->tx_desc_lim.nb_max = RING_MAX;
	info->tx_desc_lim.nb_min = 1;
	info->tx_desc_lim.nb_align = 1;
	/* Ports reporting one domain are on one E-Switch: transfer rules may send
	 * from one to the other (sim_flow.c checks it as mlx5 does). Without the
	 * devarg, ethdev's default stays: RTE_ETH_DEV_SWITCH_DOMAIN_ID_INVALID. */
	if (sd->switch_domain >= 0) {
		info->switch_info.name = ST_SIM_DRIVER;
		info->switch_info.domain_id = (uint16_t)sd->switch_domain;
		info->switch_info.port_id = sd->port_id;
	}
	return 0;
}

static int sim_link_update(struct rte_eth_dev *dev, int wait)
{
	struct st_sim_dev *sd = dev->data->dev_private;
	struct rte_eth_link link = {
		.link_speed = RTE_ETH_SPEED_NUM_100G,
		.link_duplex = RTE_ETH_LINK_FULL_DUPLEX,
		.link_autoneg = RTE_ETH_LINK_FIXED,
		.link_status = sd->started ? RTE_ETH_LINK_UP : RTE_ETH_LINK_DOWN,
	};

	(void)wait;
	return rte_eth_linkstatus_set(dev, &link);
}

static int sim_start(struct rte_eth_dev *dev)
{
	struct st_sim_dev *sd = dev->data->dev_private;

	for (uint16_t i = 0; i < dev->data->nb_rx_queues; i++) {
		if (sd->rxq[i].ring == NULL) {
			SIM_LOG(ERR, "%s: rx queue %u is not set up", sd->name, i);
			return -EINVAL;
		}
		dev->data->rx_queue_state[i] = RTE_ETH_QUEUE_STATE_STARTED;
	}
	for (uint16_t i = 0; i < dev->data->nb_tx_queues; i++)
		dev->data->tx_queue_state[i] = RTE_ETH_QUEUE_STATE_STARTED;
	sd->started = true;
	sim_link_update(dev, 0);
	return 0;
}

static int sim_stop(struct rte_eth_dev *dev)
{
	struct st_sim_dev *sd = dev->data->dev_private;

	sd->started = false;
	/* wait for a burst in flight before the queues may be reconfigured */
	rte_spinlock_lock(&sd->pump_lock);
	rte_spinlock_unlock(&sd->pump_lock);
	for (uint16_t i = 0; i < dev->data->nb_rx_queues; i++)
		dev->data->rx_queue_state[i] = RTE_ETH_QUEUE_STATE_STOPPED;
	for (uint16_t i = 0; i < dev->data->nb_tx_queues; i++)
		dev->data->tx_queue_state[i] = RTE_ETH_QUEUE_STATE_STOPPED;
	sim_link_update(dev, 0);
	if (sd->out != NULL)
		fflush(sd->out);
	return 0;
}

static void drain_ring(struct rte_ring *r)
{
	void *m;

	while (rte_ring_dequeue(r, &m) == 0)
		rte_pktmbuf_free(m);
}

static void sim_rx_queue_release(struct rte_eth_dev *dev, uint16_t qid)
{
	struct st_sim_dev *sd = dev->data->dev_private;
	struct st_sim_rxq *q;

	if (qid >= ST_SIM_MAX_QUEUES)
		return;
	q = &sd->rxq[qid];
	if (q->ring != NULL) {
		drain_ring(q->ring);
		rte_ring_free(q->ring);
	}
	memset(q, 0, sizeof(*q));
	dev->data->rx_queues[qid] = NULL;
}

static void sim_tx_queue_release(struct rte_eth_dev *dev, uint16_t qid)
{
	struct st_sim_dev *sd = dev->data->dev_private;

	if (qid >= ST_SIM_MAX_QUEUES)
		return;
	memset(&sd->txq[qid], 0, sizeof(sd->txq[qid]));
	dev->data->tx_queues[qid] = NULL;
}

static int sim_rx_queue_setup(struct rte_eth_dev *dev, uint16_t qid, uint16_t nb_desc, unsigned int socket,
			      const struct rte_eth_rxconf *conf, struct rte_mempool *pool)
{
	struct st_sim_dev *sd = dev->data->dev_private;
	struct st_sim_rxq *q;
	char name[RTE_RING_NAMESIZE];
	unsigned int size = rte_align32pow2(nb_desc < RING_MIN ? RING_MIN : nb_desc);
	static uint32_t seq;

	(void)conf;
	if (qid >= ST_SIM_MAX_QUEUES || pool == NULL)
		return -EINVAL;
	if (size > RING_MAX)
		size = RING_MAX;
	sim_rx_queue_release(dev, qid);
	q = &sd->rxq[qid];
	snprintf(name, sizeof(name), "shadowsim%u_rx%u_%u", sd->port_id, qid,
		 __atomic_fetch_add(&seq, 1, __ATOMIC_RELAXED));
	q->ring = rte_ring_create(name, size, (int)socket, RING_F_SC_DEQ);
	if (q->ring == NULL) {
		SIM_LOG(ERR, "%s: cannot create ring for rx queue %u: %s", sd->name, qid, rte_strerror(rte_errno));
		return -rte_errno;
	}
	q->dev = sd;
	q->qid = qid;
	q->pool = pool;
	dev->data->rx_queues[qid] = q;
	return 0;
}

static int sim_tx_queue_setup(struct rte_eth_dev *dev, uint16_t qid, uint16_t nb_desc, unsigned int socket,
			      const struct rte_eth_txconf *conf)
{
	struct st_sim_dev *sd = dev->data->dev_private;

	(void)nb_desc;
	(void)socket;
	(void)conf;
	if (qid >= ST_SIM_MAX_QUEUES)
		return -EINVAL;
	memset(&sd->txq[qid], 0, sizeof(sd->txq[qid]));
	sd->txq[qid].dev = sd;
	sd->txq[qid].qid = qid;
	dev->data->tx_queues[qid] = &sd->txq[qid];
	return 0;
}

static int sim_stats_get(struct rte_eth_dev *dev, struct rte_eth_stats *st)
{
	struct st_sim_dev *sd = dev->data->dev_private;

	for (uint16_t i = 0; i < ST_SIM_MAX_QUEUES; i++) {
		const struct st_sim_rxq *r = &sd->rxq[i];
		const struct st_sim_txq *t = &sd->txq[i];

		st->ipackets += r->packets;
		st->ibytes += r->bytes;
		st->imissed += r->missed;
		st->opackets += t->packets;
		st->obytes += t->bytes;
		st->oerrors += t->errors;
		if (i < RTE_ETHDEV_QUEUE_STAT_CNTRS) {
			st->q_ipackets[i] = r->packets;
			st->q_ibytes[i] = r->bytes;
			st->q_opackets[i] = t->packets;
			st->q_obytes[i] = t->bytes;
		}
	}
	st->rx_nombuf = dev->data->rx_mbuf_alloc_failed;
	return 0;
}

static int sim_stats_reset(struct rte_eth_dev *dev)
{
	struct st_sim_dev *sd = dev->data->dev_private;

	for (uint16_t i = 0; i < ST_SIM_MAX_QUEUES; i++) {
		sd->rxq[i].packets = sd->rxq[i].bytes = sd->rxq[i].missed = 0;
		sd->txq[i].packets = sd->txq[i].bytes = sd->txq[i].errors = 0;
	}
	memset(&sd->xs, 0, sizeof(sd->xs));
	return 0;
}

static const struct {
	const char *name;
	size_t off;
} xstat_names[] = {
	{ "rx_rule_drops", offsetof(struct st_sim_xstats, rule_drops) },
	{ "sample_copies", offsetof(struct st_sim_xstats, sample_copies) },
	{ "port_tx_packets", offsetof(struct st_sim_xstats, port_tx) },
	{ "port_tx_failed", offsetof(struct st_sim_xstats, port_tx_failed) },
	{ "rx_queue_full", offsetof(struct st_sim_xstats, queue_full) },
	{ "encap_failed", offsetof(struct st_sim_xstats, encap_failed) },
	{ "input_packets", offsetof(struct st_sim_xstats, input_packets) },
};
#define NB_XSTATS (RTE_DIM(xstat_names) + 2)

static int sim_xstats_get_names(struct rte_eth_dev *dev, struct rte_eth_xstat_name *names, unsigned int size)
{
	(void)dev;
	if (names == NULL || size < NB_XSTATS)
		return NB_XSTATS;
	for (unsigned int i = 0; i < RTE_DIM(xstat_names); i++)
		snprintf(names[i].name, sizeof(names[i].name), "%s", xstat_names[i].name);
	snprintf(names[RTE_DIM(xstat_names)].name, sizeof(names[0].name), "flow_rules");
	snprintf(names[RTE_DIM(xstat_names) + 1].name, sizeof(names[0].name), "flow_rule_capacity");
	return NB_XSTATS;
}

static int sim_xstats_get(struct rte_eth_dev *dev, struct rte_eth_xstat *xs, unsigned int n)
{
	struct st_sim_dev *sd = dev->data->dev_private;
	unsigned int i;

	if (xs == NULL || n < NB_XSTATS)
		return NB_XSTATS;
	for (i = 0; i < RTE_DIM(xstat_names); i++) {
		xs[i].id = i;
		memcpy(&xs[i].value, (const uint8_t *)&sd->xs + xstat_names[i].off, sizeof(uint64_t));
	}
	xs[i].id = i;
	xs[i].value = sd->nrules;
	i++;
	xs[i].id = i;
	xs[i].value = sd->capacity;
	return NB_XSTATS;
}

static int sim_promiscuous(struct rte_eth_dev *dev)
{
	(void)dev;
	return 0;
}

static int sim_mac_addr_set(struct rte_eth_dev *dev, struct rte_ether_addr *addr)
{
	struct st_sim_dev *sd = dev->data->dev_private;

	rte_ether_addr_copy(addr, &sd->mac);
	return 0;
}

static int sim_mtu_set(struct rte_eth_dev *dev, uint16_t mtu)
{
	(void)dev;
	(void)mtu;
	return 0;
}

static int sim_flow_ops_get(struct rte_eth_dev *dev, const struct rte_flow_ops **ops)
{
	struct st_sim_dev *sd = dev->data->dev_private;

	/* a family without rte_flow answers like net_null: ENOSYS, "Function not implemented" */
	*ops = sd->profile.flow_api ? &st_sim_flow_ops : NULL;
	return 0;
}

static int sim_close(struct rte_eth_dev *dev)
{
	struct st_sim_dev *sd = dev->data->dev_private;

	if (rte_eal_process_type() != RTE_PROC_PRIMARY)
		return 0;
	sd->started = false;
	st_sim_flow_flush_all(sd);
	for (uint16_t i = 0; i < ST_SIM_MAX_QUEUES; i++) {
		if (sd->rxq[i].ring != NULL)
			sim_rx_queue_release(dev, i);
	}
	st_sim_io_release(sd);
	return 0;
}

static const struct eth_dev_ops sim_ops = {
	.dev_configure = sim_configure,
	.dev_infos_get = sim_infos_get,
	.dev_start = sim_start,
	.dev_stop = sim_stop,
	.dev_close = sim_close,
	.link_update = sim_link_update,
	.promiscuous_enable = sim_promiscuous,
	.promiscuous_disable = sim_promiscuous,
	.allmulticast_enable = sim_promiscuous,
	.allmulticast_disable = sim_promiscuous,
	.mac_addr_set = sim_mac_addr_set,
	.mtu_set = sim_mtu_set,
	.rx_queue_setup = sim_rx_queue_setup,
	.tx_queue_setup = sim_tx_queue_setup,
	.rx_queue_release = sim_rx_queue_release,
	.tx_queue_release = sim_tx_queue_release,
	.stats_get = sim_stats_get,
	.stats_reset = sim_stats_reset,
	.xstats_get = sim_xstats_get,
	.xstats_get_names = sim_xstats_get_names,
	.xstats_reset = sim_stats_reset,
	.flow_ops_get = sim_flow_ops_get,
};

/* ---- probe / remove --------------------------------------------------------- */

static int sim_probe(struct rte_vdev_device *vdev)
{
	const char *name = rte_vdev_device_name(vdev);
	struct st_sim_config cfg = { .capacity = 0 };
	struct rte_eth_dev *eth;
	struct st_sim_dev *sd;
	char why[512];
	int socket;
	int rc;

	if (rte_eal_process_type() != RTE_PROC_PRIMARY) {
		SIM_LOG(ERR, "%s: secondary processes are not supported", name);
		return -ENOTSUP;
	}
	eth = rte_eth_vdev_allocate(vdev, sizeof(*sd));
	if (eth == NULL)
		return -ENOMEM;
	socket = vdev->device.numa_node < 0 ? (int)rte_socket_id() : vdev->device.numa_node;
	sd = eth->data->dev_private;
	sd->eth = eth;
	sd->port_id = eth->data->port_id;
	snprintf(sd->name, sizeof(sd->name), "%s", name);
	sd->switch_domain = -1;
	TAILQ_INIT(&sd->rules);
	rte_rwlock_init(&sd->rules_lock);
	rte_spinlock_init(&sd->pump_lock);
	rte_spinlock_init(&sd->out_lock);

	rc = st_sim_parse_devargs(sd, rte_vdev_device_args(vdev), &cfg);
	if (rc == 0) {
		rc = st_sim_profile_load(cfg.profile, &sd->profile, why, sizeof(why));
		if (rc != 0)
			SIM_LOG(ERR, "%s: %s", name, why);
	}
	if (rc == 0)
		rc = st_sim_io_open(sd, socket);
	if (rc != 0)
		goto fail;
	sd->capacity = cfg.capacity_set ? cfg.capacity : sd->profile.capacity;

	eth->data->mac_addrs = rte_zmalloc_socket(name, sizeof(struct rte_ether_addr), 0, socket);
	if (eth->data->mac_addrs == NULL) {
		rc = -ENOMEM;
		goto fail;
	}
	/* locally administered, unicast, distinct per port */
	rte_eth_random_addr(sd->mac.addr_bytes);
	sd->mac.addr_bytes[5] = (uint8_t)sd->port_id;
	rte_ether_addr_copy(&sd->mac, eth->data->mac_addrs);
	eth->data->dev_link.link_speed = RTE_ETH_SPEED_NUM_100G;
	eth->data->dev_link.link_duplex = RTE_ETH_LINK_FULL_DUPLEX;
	eth->data->dev_link.link_autoneg = RTE_ETH_LINK_FIXED;
	eth->data->dev_link.link_status = RTE_ETH_LINK_DOWN;
	eth->data->dev_flags |= RTE_ETH_DEV_AUTOFILL_QUEUE_XSTATS;
	eth->dev_ops = &sim_ops;
	eth->rx_pkt_burst = sim_rx_burst;
	eth->tx_pkt_burst = sim_tx_burst;
	rte_eth_dev_probing_finish(eth);
	if (sd->capacity == ST_SIM_UNLIMITED)
		SIM_LOG(INFO, "%s: port %u emulates %s (profile %s), rule capacity unlimited", name, sd->port_id,
			sd->profile.family, cfg.profile);
	else
		SIM_LOG(INFO, "%s: port %u emulates %s (profile %s), rule capacity %u", name, sd->port_id,
			sd->profile.family, cfg.profile, sd->capacity);
	if (sd->switch_domain >= 0)
		SIM_LOG(INFO, "%s: port %u is on E-Switch domain %d", name, sd->port_id, (int)sd->switch_domain);
	for (int t = 0; t < ST_SIM_NAME_BITS; t++)
		if (st_sim_bit(&sd->refused, t))
			SIM_LOG(INFO, "%s: port %u refuses action %s whatever its profile says (devarg refuse=)", name,
				sd->port_id, st_sim_action_name(t));
	return 0;
fail:
	st_sim_io_release(sd);
	rte_eth_dev_release_port(eth);
	return rc;
}

static int sim_remove(struct rte_vdev_device *vdev)
{
	struct rte_eth_dev *eth = rte_eth_dev_allocated(rte_vdev_device_name(vdev));

	if (eth == NULL)
		return 0; /* already closed (rte_eth_dev_close releases the port) */
	sim_close(eth);
	rte_eth_dev_release_port(eth);
	return 0;
}

static struct rte_vdev_driver st_sim_driver = {
	.probe = sim_probe,
	.remove = sim_remove,
};

RTE_PMD_REGISTER_VDEV(net_shadowsim, st_sim_driver);
RTE_PMD_REGISTER_PARAM_STRING(net_shadowsim,
	"profile=<file> capacity=<int> reserved=<int> rx_pcap=<file> rx_ring=<name> tx_pcap=<file> tx_ring=<name> "
	"infinite_rx=<0|1> quirk_error_unset=<0|1> switch_domain=<int> refuse=<action>[:<action>...]");
