/* SPDX-License-Identifier: BSD-3-Clause
 * net_stcap, the capture port (capture.h): the virtual device, its devargs
 * and ethdev ops. Transmit only puts copies on the queue's ring (a worker
 * owns each tx queue: single producer; the writer is the one consumer)
 * with the TSC they were sent at; a full ring refuses the rest of the
 * burst, which the worker frees and counts. Nothing here blocks, allocates
 * or makes a system call on the worker's path.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include <bus_vdev_driver.h>
#include <ethdev_driver.h>
#include <ethdev_vdev.h>
#include <rte_cycles.h>
#include <rte_kvargs.h>
#include <rte_malloc.h>
#include <rte_ring.h>
#include <rte_ring_elem.h>

#include "capture_int.h"

#define CAP_LOG(level, name, fmt, ...) \
	RTE_LOG(level, USER1, ST_CAP_DRIVER ": %s: " fmt "\n", name, ##__VA_ARGS__)

#define ARG_PATH "path"
#define ARG_SNAPLEN "snaplen"
#define ARG_RING "ring"
#define ARG_SIZE "size"
#define ARG_SECONDS "seconds"
#define ARG_COUNT "count"
static const char *const valid_args[] = { ARG_PATH, ARG_SNAPLEN, ARG_RING, ARG_SIZE, ARG_SECONDS,
					  ARG_COUNT, NULL };
#define KNOWN_KEYS "path, snaplen, ring, size, seconds, count"

/* ---- bursts ---------------------------------------------------------------- */

static uint16_t
cap_tx_burst(void *queue, struct rte_mbuf **bufs, uint16_t nb)
{
	struct st_cap_txq *q = queue;
	struct st_cap_elem e[CAP_BATCH];
	const uint64_t tsc = rte_rdtsc();
	uint16_t sent = 0;

	if (unlikely(!q->dev->started))
		return 0;
	while (sent < nb) {
		unsigned int k = RTE_MIN((unsigned int)(nb - sent), (unsigned int)CAP_BATCH), n;

		for (unsigned int i = 0; i < k; i++) {
			e[i].m = bufs[sent + i];
			e[i].tsc = tsc;
		}
		n = rte_ring_enqueue_burst_elem(q->ring, e, sizeof(e[0]), k, NULL);
		sent += (uint16_t)n;
		if (n < k)
			break;
	}
	if (unlikely(sent < nb))
		q->ring_full += (uint64_t)(nb - sent);
	return sent;
}

/* ---- ethdev ops ------------------------------------------------------------ */

static int
cap_configure(struct rte_eth_dev *dev)
{
	struct st_cap_dev *d = dev->data->dev_private;

	if (dev->data->nb_rx_queues != 0 || dev->data->nb_tx_queues > CAP_MAX_QUEUES) {
		CAP_LOG(ERR, d->name, "a capture port has no rx queue and at most %d tx queues",
			CAP_MAX_QUEUES);
		return -EINVAL;
	}
	return 0;
}

static int
cap_infos_get(struct rte_eth_dev *dev, struct rte_eth_dev_info *info)
{
	(void)dev;
	info->max_mac_addrs = 1;
	info->max_rx_pktlen = UINT16_MAX;
	info->min_mtu = RTE_ETHER_MIN_MTU;
	info->max_mtu = UINT16_MAX - RTE_ETHER_HDR_LEN;
	info->max_rx_queues = 0;   /* write-only: never polled (port.c) */
	info->max_tx_queues = CAP_MAX_QUEUES;
	info->tx_offload_capa = RTE_ETH_TX_OFFLOAD_MULTI_SEGS;
	info->tx_desc_lim.nb_max = UINT16_MAX;
	info->tx_desc_lim.nb_min = 1;
	info->tx_desc_lim.nb_align = 1;
	return 0;
}

static int
cap_link_update(struct rte_eth_dev *dev, int wait)
{
	struct st_cap_dev *d = dev->data->dev_private;
	struct rte_eth_link link = {
		.link_speed = RTE_ETH_SPEED_NUM_NONE,
		.link_duplex = RTE_ETH_LINK_FULL_DUPLEX,
		.link_autoneg = RTE_ETH_LINK_FIXED,
		.link_status = d->started ? RTE_ETH_LINK_UP : RTE_ETH_LINK_DOWN,
	};

	(void)wait;
	return rte_eth_linkstatus_set(dev, &link);
}

static int
cap_start(struct rte_eth_dev *dev)
{
	struct st_cap_dev *d = dev->data->dev_private;
	int rc;

	for (uint16_t i = 0; i < dev->data->nb_tx_queues; i++)
		if (d->txq[i].ring == NULL)
			return -EINVAL;
	d->nb_txq = dev->data->nb_tx_queues;
	rc = st_cap_writer_start(d);
	if (rc != 0)
		return rc;
	for (uint16_t i = 0; i < dev->data->nb_tx_queues; i++)
		dev->data->tx_queue_state[i] = RTE_ETH_QUEUE_STATE_STARTED;
	d->started = true;
	cap_link_update(dev, 0);
	return 0;
}

static int
cap_stop(struct rte_eth_dev *dev)
{
	struct st_cap_dev *d = dev->data->dev_private;

	/* Workers stop before ports (st_dp_stop): nothing is sent past this. */
	d->started = false;
	st_cap_writer_stop(d);
	for (uint16_t i = 0; i < dev->data->nb_tx_queues; i++)
		dev->data->tx_queue_state[i] = RTE_ETH_QUEUE_STATE_STOPPED;
	cap_link_update(dev, 0);
	return 0;
}

static void
cap_tx_queue_release(struct rte_eth_dev *dev, uint16_t qid)
{
	struct st_cap_dev *d = dev->data->dev_private;
	struct st_cap_txq *q;
	struct st_cap_elem e;

	if (qid >= CAP_MAX_QUEUES)
		return;
	q = &d->txq[qid];
	if (q->ring != NULL) {
		while (rte_ring_dequeue_elem(q->ring, &e, sizeof(e)) == 0)
			rte_pktmbuf_free(e.m);
		rte_ring_free(q->ring);
		q->ring = NULL;
	}
	dev->data->tx_queues[qid] = NULL;
}

static int
cap_tx_queue_setup(struct rte_eth_dev *dev, uint16_t qid, uint16_t nb_desc, unsigned int socket,
		   const struct rte_eth_txconf *conf)
{
	struct st_cap_dev *d = dev->data->dev_private;
	struct st_cap_txq *q;
	char name[RTE_RING_NAMESIZE];
	static uint32_t seq;

	(void)nb_desc; /* the ring's size is the capture's `ring`, not the port's tx_desc */
	(void)conf;
	if (qid >= CAP_MAX_QUEUES)
		return -EINVAL;
	cap_tx_queue_release(dev, qid);
	q = &d->txq[qid];
	snprintf(name, sizeof(name), "stcap%u_%u_%u", d->port_id, qid,
		 __atomic_fetch_add(&seq, 1, __ATOMIC_RELAXED));
	q->ring = rte_ring_create_elem(name, sizeof(struct st_cap_elem), d->conf.ring, (int)socket,
				       RING_F_SP_ENQ | RING_F_SC_DEQ | RING_F_EXACT_SZ);
	if (q->ring == NULL) {
		CAP_LOG(ERR, d->name, "cannot create the ring of tx queue %u: %s", qid,
			rte_strerror(rte_errno));
		return -rte_errno;
	}
	q->dev = d;
	q->qid = qid;
	dev->data->tx_queues[qid] = q;
	return 0;
}

static int
cap_stats_get(struct rte_eth_dev *dev, struct rte_eth_stats *st)
{
	struct st_cap_dev *d = dev->data->dev_private;
	struct st_capture_stats c;

	st_cap_read(d, &c);
	st->opackets = c.packets;
	st->obytes = c.bytes;
	/* accepted onto the ring, then lost (refused copies are the caller's) */
	st->oerrors = c.nomem + c.write_errors;
	return 0;
}

static int
cap_nop(struct rte_eth_dev *dev)
{
	(void)dev;
	return 0;
}

static int
cap_close(struct rte_eth_dev *dev)
{
	struct st_cap_dev *d = dev->data->dev_private;

	if (rte_eal_process_type() != RTE_PROC_PRIMARY)
		return 0;
	if (d->started)
		cap_stop(dev);
	for (uint16_t i = 0; i < CAP_MAX_QUEUES; i++)
		cap_tx_queue_release(dev, i);
	st_cap_unregister(d->port_id);
	return 0;
}

static const struct eth_dev_ops cap_ops = {
	.dev_configure = cap_configure,
	.dev_infos_get = cap_infos_get,
	.dev_start = cap_start,
	.dev_stop = cap_stop,
	.dev_close = cap_close,
	.link_update = cap_link_update,
	.promiscuous_enable = cap_nop,
	.promiscuous_disable = cap_nop,
	.allmulticast_enable = cap_nop,
	.allmulticast_disable = cap_nop,
	.tx_queue_setup = cap_tx_queue_setup,
	.tx_queue_release = cap_tx_queue_release,
	.stats_get = cap_stats_get,
};

/* ---- devargs --------------------------------------------------------------- */

struct arg_range {
	uint64_t *out;
	uint64_t min, max;
	bool zero_ok;
};

static int
arg_u64(const char *key, const char *value, void *opaque)
{
	const struct arg_range *r = opaque;
	char *end;
	unsigned long long v;

	if (value == NULL || value[0] < '0' || value[0] > '9')
		goto bad;
	errno = 0;
	v = strtoull(value, &end, 10);
	if (errno != 0 || *end != '\0' || (v == 0 ? !r->zero_ok : v < r->min || v > r->max))
		goto bad;
	*r->out = v;
	return 0;
bad:
	RTE_LOG(ERR, USER1, ST_CAP_DRIVER ": devarg %s: expected a whole number from %" PRIu64
		" to %" PRIu64 "%s, got '%s'\n", key, r->min, r->max, r->zero_ok ? " (or 0: off)" : "",
		value != NULL ? value : "");
	return -EINVAL;
}

static int
arg_path(const char *key, const char *value, void *opaque)
{
	char *dst = opaque;
	const char *slash = value != NULL ? strrchr(value, '/') : NULL;

	if (value == NULL || value[0] == '\0' || strlen(value) >= PATH_MAX - 32) {
		RTE_LOG(ERR, USER1, ST_CAP_DRIVER ": devarg %s: expected a file path shorter than %d "
			"characters\n", key, PATH_MAX - 32);
		return -EINVAL;
	}
	/* Conversions only in the file name, and only those the count limit can match. */
	for (const char *p = value; *p != '\0'; p++) {
		if (*p != '%')
			continue;
		if (slash != NULL && p < slash) {
			RTE_LOG(ERR, USER1, ST_CAP_DRIVER ": devarg %s: '%s': strftime conversions are "
				"allowed in the file name only, not in its directory\n", key, value);
			return -EINVAL;
		}
		if (p[1] == '\0' || strchr(ST_CAP_CONVERSIONS, p[1]) == NULL) {
			RTE_LOG(ERR, USER1, ST_CAP_DRIVER ": devarg %s: '%s': expected only the "
				"conversions %%Y %%m %%d %%H %%M %%S %%j %%y %%s %%%%\n", key, value);
			return -EINVAL;
		}
		p++;
	}
	snprintf(dst, PATH_MAX, "%s", value);
	return 0;
}

static int
parse_devargs(const char *name, const char *args, struct st_cap_conf *c)
{
	uint64_t snaplen = ST_CAP_SNAPLEN_MAX, ring = 4096, size = 0, seconds = 0, count = 0;
	struct arg_range r_snap = { &snaplen, ST_CAP_SNAPLEN_MIN, ST_CAP_SNAPLEN_MAX, false };
	struct arg_range r_ring = { &ring, ST_CAP_RING_MIN, ST_CAP_RING_MAX, false };
	struct arg_range r_size = { &size, 1000, UINT64_MAX / 2, true };
	struct arg_range r_secs = { &seconds, 1, ST_CAP_SECONDS_MAX, true };
	struct arg_range r_count = { &count, 1, ST_CAP_COUNT_MAX, true };
	struct rte_kvargs *kv;
	int rc = 0;

	kv = args != NULL ? rte_kvargs_parse(args, valid_args) : NULL;
	if (kv == NULL) {
		CAP_LOG(ERR, name, "cannot parse devargs '%s'; known keys: " KNOWN_KEYS " (path is required)",
			args != NULL ? args : "");
		return -EINVAL;
	}
	for (const char *const *k = valid_args; *k != NULL && rc == 0; k++)
		if (rte_kvargs_count(kv, *k) > 1) {
			CAP_LOG(ERR, name, "devarg %s given more than once", *k);
			rc = -EINVAL;
		}
	if (rc == 0 && rte_kvargs_count(kv, ARG_PATH) != 1) {
		CAP_LOG(ERR, name, "devarg path=FILE is required");
		rc = -EINVAL;
	}
	if (rc == 0)
		rc = rte_kvargs_process(kv, ARG_PATH, arg_path, c->path);
	if (rc == 0)
		rc = rte_kvargs_process(kv, ARG_SNAPLEN, arg_u64, &r_snap);
	if (rc == 0)
		rc = rte_kvargs_process(kv, ARG_RING, arg_u64, &r_ring);
	if (rc == 0)
		rc = rte_kvargs_process(kv, ARG_SIZE, arg_u64, &r_size);
	if (rc == 0)
		rc = rte_kvargs_process(kv, ARG_SECONDS, arg_u64, &r_secs);
	if (rc == 0)
		rc = rte_kvargs_process(kv, ARG_COUNT, arg_u64, &r_count);
	rte_kvargs_free(kv);
	if (rc != 0)
		return rc < 0 ? rc : -EINVAL;
	c->snaplen = (uint32_t)snaplen;
	c->ring = (uint32_t)ring;
	c->size = size;
	c->seconds = (uint32_t)seconds;
	c->count = (uint32_t)count;
	return 0;
}

/* ---- probe / remove --------------------------------------------------------- */

static int
cap_probe(struct rte_vdev_device *vdev)
{
	const char *name = rte_vdev_device_name(vdev);
	struct rte_eth_dev *eth;
	struct st_cap_dev *d;
	struct st_cap_conf conf;
	int socket, rc;

	if (rte_eal_process_type() != RTE_PROC_PRIMARY) {
		CAP_LOG(ERR, name, "secondary processes are not supported");
		return -ENOTSUP;
	}
	memset(&conf, 0, sizeof(conf));
	rc = parse_devargs(name, rte_vdev_device_args(vdev), &conf);
	if (rc != 0)
		return rc;
	eth = rte_eth_vdev_allocate(vdev, sizeof(*d));
	if (eth == NULL)
		return -ENOMEM;
	socket = vdev->device.numa_node < 0 ? (int)rte_socket_id() : vdev->device.numa_node;
	d = eth->data->dev_private;
	snprintf(d->name, sizeof(d->name), "%s", name);
	d->port_id = eth->data->port_id;
	d->conf = conf;
	d->file.fd = -1;
	eth->data->mac_addrs = rte_zmalloc_socket(name, sizeof(struct rte_ether_addr), 0, socket);
	if (eth->data->mac_addrs == NULL) {
		rte_eth_dev_release_port(eth);
		return -ENOMEM;
	}
	rte_eth_random_addr(eth->data->mac_addrs->addr_bytes);
	eth->data->dev_link.link_status = RTE_ETH_LINK_DOWN;
	eth->dev_ops = &cap_ops;
	eth->tx_pkt_burst = cap_tx_burst;
	st_cap_register(d->port_id, d);
	rte_eth_dev_probing_finish(eth);
	CAP_LOG(INFO, name, "port %u captures to %s (snaplen %u, ring %u, size %" PRIu64 " bytes, "
		"%u s, %u files; 0 = off)", d->port_id, conf.path, conf.snaplen, conf.ring, conf.size,
		conf.seconds, conf.count);
	return 0;
}

static int
cap_remove(struct rte_vdev_device *vdev)
{
	struct rte_eth_dev *eth = rte_eth_dev_allocated(rte_vdev_device_name(vdev));

	if (eth == NULL)
		return 0; /* already closed (rte_eth_dev_close releases the port) */
	cap_close(eth);
	rte_eth_dev_release_port(eth);
	return 0;
}

static struct rte_vdev_driver st_cap_driver = {
	.probe = cap_probe,
	.remove = cap_remove,
};

RTE_PMD_REGISTER_VDEV(net_stcap, st_cap_driver);
RTE_PMD_REGISTER_PARAM_STRING(net_stcap,
	"path=<file> snaplen=<int> ring=<int> size=<bytes> seconds=<int> count=<int>");
