/* SPDX-License-Identifier: BSD-3-Clause
 * net_shadowsim's devargs (see sim_ethdev.c for the list) and the inputs and
 * outputs they name: a capture or ring to receive from, a capture or ring to
 * send to. Every refusal names the devarg and what was expected, in the log,
 * because a vdev probe can only return an errno.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <rte_kvargs.h>
#include <rte_malloc.h>

#include "sim.h"

#define ARG_PROFILE "profile"
#define ARG_CAPACITY "capacity"
#define ARG_RX_PCAP "rx_pcap"
#define ARG_RX_RING "rx_ring"
#define ARG_TX_PCAP "tx_pcap"
#define ARG_TX_RING "tx_ring"
#define ARG_INFINITE_RX "infinite_rx"
#define ARG_QUIRK_ERROR_UNSET "quirk_error_unset"
#define ARG_RESERVED "reserved"
#define ARG_SWITCH_DOMAIN "switch_domain"
#define ARG_REFUSE "refuse"

static const char *const valid_args[] = { ARG_PROFILE, ARG_CAPACITY, ARG_RX_PCAP, ARG_RX_RING, ARG_TX_PCAP,
					  ARG_TX_RING, ARG_INFINITE_RX, ARG_QUIRK_ERROR_UNSET, ARG_RESERVED,
					  ARG_SWITCH_DOMAIN, ARG_REFUSE, NULL };
#define KNOWN_KEYS "profile, capacity, reserved, rx_pcap, rx_ring, tx_pcap, tx_ring, infinite_rx, quirk_error_unset, " \
	"switch_domain, refuse"

static int arg_string(const char *key, const char *value, void *opaque)
{
	char *dst = opaque;
	size_t cap = strcmp(key, ARG_RX_RING) == 0 || strcmp(key, ARG_TX_RING) == 0 ? RTE_RING_NAMESIZE : 512;

	if (value == NULL || value[0] == '\0' || strlen(value) >= cap) {
		SIM_LOG(ERR, "devarg %s: expected a non-empty value shorter than %zu characters", key, cap);
		return -EINVAL;
	}
	snprintf(dst, cap, "%s", value);
	return 0;
}

static int arg_u32(const char *key, const char *value, void *opaque)
{
	char *end;
	unsigned long v;

	if (value == NULL || value[0] == '\0')
		goto bad;
	errno = 0;
	v = strtoul(value, &end, 10);
	if (errno != 0 || *end != '\0' || v >= UINT32_MAX)
		goto bad;
	*(uint32_t *)opaque = (uint32_t)v;
	return 0;
bad:
	SIM_LOG(ERR, "devarg %s: expected a whole number, got '%s'", key, value ? value : "");
	return -EINVAL;
}

/* An E-Switch domain id: 0..65534 (65535 is RTE_ETH_DEV_SWITCH_DOMAIN_ID_INVALID). */
static int arg_domain(const char *key, const char *value, void *opaque)
{
	uint32_t v = 0;

	if (arg_u32(key, value, &v) < 0)
		return -EINVAL;
	if (v >= RTE_ETH_DEV_SWITCH_DOMAIN_ID_INVALID) {
		SIM_LOG(ERR, "devarg %s: expected 0..%u, got %u", key, RTE_ETH_DEV_SWITCH_DOMAIN_ID_INVALID - 1, v);
		return -EINVAL;
	}
	*(int32_t *)opaque = (int32_t)v;
	return 0;
}

/* refuse=sample:set_ipv4_dst: rte_flow action names (any case), separated by ':'. */
static int arg_refuse(const char *key, const char *value, void *opaque)
{
	struct st_sim_bits *bits = opaque;
	char list[512], *save = NULL;

	if (value == NULL || value[0] == '\0' || strlen(value) >= sizeof(list)) {
		SIM_LOG(ERR, "devarg %s: expected action names separated by ':' (e.g. sample:set_ipv4_dst)", key);
		return -EINVAL;
	}
	snprintf(list, sizeof(list), "%s", value);
	for (char *w = strtok_r(list, ":", &save); w != NULL; w = strtok_r(NULL, ":", &save)) {
		int type = -1;

		for (int t = 0; t < ST_SIM_NAME_BITS && type < 0; t++) {
			const char *n = st_sim_action_name(t);

			if (n != NULL && strcasecmp(n, w) == 0)
				type = t;
		}
		/* a typo must not leave the device claiming what the test meant to take away */
		if (type < 0) {
			SIM_LOG(ERR, "devarg %s: '%s' is not an rte_flow action name in this DPDK (expected names like sample, set_ipv4_dst)",
				key, w);
			return -EINVAL;
		}
		st_sim_bit_set(bits, type);
	}
	return 0;
}

static int arg_bool(const char *key, const char *value, void *opaque)
{
	if (value != NULL && (strcmp(value, "0") == 0 || strcmp(value, "1") == 0)) {
		*(bool *)opaque = value[0] == '1';
		return 0;
	}
	SIM_LOG(ERR, "devarg %s: expected 0 or 1, got '%s'", key, value ? value : "");
	return -EINVAL;
}

int st_sim_parse_devargs(struct st_sim_dev *sd, const char *args, struct st_sim_config *cfg)
{
	struct rte_kvargs *kv;
	int rc = 0;

	if (args == NULL || args[0] == '\0') {
		SIM_LOG(ERR, "%s: devarg profile=FILE is required (make one with `node dist/scripts/sim-profile.js <family> -o FILE`)",
			sd->name);
		return -EINVAL;
	}
	kv = rte_kvargs_parse(args, valid_args);
	if (kv == NULL) {
		SIM_LOG(ERR, "%s: cannot parse devargs '%s'; known keys: " KNOWN_KEYS, sd->name, args);
		return -EINVAL;
	}
	for (const char *const *k = valid_args; *k != NULL && rc == 0; k++)
		if (rte_kvargs_count(kv, *k) > 1) {
			SIM_LOG(ERR, "%s: devarg %s given more than once", sd->name, *k);
			rc = -EINVAL;
		}
	if (rc == 0)
		rc = rte_kvargs_process(kv, ARG_PROFILE, arg_string, cfg->profile);
	if (rc == 0 && rte_kvargs_count(kv, ARG_CAPACITY) == 1) {
		cfg->capacity_set = true;
		rc = rte_kvargs_process(kv, ARG_CAPACITY, arg_u32, &cfg->capacity);
	}
	/* Entries another user of the table holds (firmware, another application):
	 * the table fills before the application's own count reaches capacity. */
	if (rc == 0 && rte_kvargs_count(kv, ARG_RESERVED) == 1)
		rc = rte_kvargs_process(kv, ARG_RESERVED, arg_u32, &sd->reserved);
	if (rc == 0)
		rc = rte_kvargs_process(kv, ARG_RX_PCAP, arg_string, sd->rx_pcap);
	if (rc == 0)
		rc = rte_kvargs_process(kv, ARG_RX_RING, arg_string, sd->rx_ring);
	if (rc == 0)
		rc = rte_kvargs_process(kv, ARG_TX_PCAP, arg_string, sd->tx_pcap);
	if (rc == 0)
		rc = rte_kvargs_process(kv, ARG_TX_RING, arg_string, sd->tx_ring);
	if (rc == 0)
		rc = rte_kvargs_process(kv, ARG_INFINITE_RX, arg_bool, &sd->infinite_rx);
	if (rc == 0)
		rc = rte_kvargs_process(kv, ARG_QUIRK_ERROR_UNSET, arg_bool, &sd->quirk_error_unset);
	if (rc == 0 && rte_kvargs_count(kv, ARG_SWITCH_DOMAIN) == 1)
		rc = rte_kvargs_process(kv, ARG_SWITCH_DOMAIN, arg_domain, &sd->switch_domain);
	/* What the firmware lacks although the profile claims it: the probe, not
	 * the profile file (which port-facts.ts trusts), must find it out. */
	if (rc == 0 && rte_kvargs_count(kv, ARG_REFUSE) == 1)
		rc = rte_kvargs_process(kv, ARG_REFUSE, arg_refuse, &sd->refused);
	rte_kvargs_free(kv);
	if (rc != 0)
		return rc < 0 ? rc : -EINVAL;
	if (cfg->profile[0] == '\0') {
		SIM_LOG(ERR, "%s: devarg profile=FILE is required", sd->name);
		return -EINVAL;
	}
	if (sd->rx_pcap[0] != '\0' && sd->rx_ring[0] != '\0') {
		SIM_LOG(ERR, "%s: rx_pcap and rx_ring are exclusive: give one input", sd->name);
		return -EINVAL;
	}
	if (sd->tx_pcap[0] != '\0' && sd->tx_ring[0] != '\0') {
		SIM_LOG(ERR, "%s: tx_pcap and tx_ring are exclusive: give one output", sd->name);
		return -EINVAL;
	}
	return 0;
}

static struct rte_ring *ring_attach(const char *name, int socket)
{
	struct rte_ring *r = rte_ring_lookup(name);

	return r != NULL ? r : rte_ring_create(name, 4096, socket, 0);
}

int st_sim_io_open(struct st_sim_dev *sd, int socket)
{
	char why[512];

	if (sd->rx_pcap[0] != '\0') {
		sd->in = st_sim_capture_load(sd->rx_pcap, why, sizeof(why));
		if (sd->in == NULL) {
			SIM_LOG(ERR, "%s: %s", sd->name, why);
			return -EINVAL;
		}
	}
	if (sd->tx_pcap[0] != '\0') {
		sd->out = st_sim_capture_create(sd->tx_pcap, why, sizeof(why));
		if (sd->out == NULL) {
			SIM_LOG(ERR, "%s: %s", sd->name, why);
			return -EINVAL;
		}
	}
	if (sd->rx_ring[0] != '\0' && (sd->in_ring = ring_attach(sd->rx_ring, socket)) == NULL) {
		SIM_LOG(ERR, "%s: rx_ring %s: %s", sd->name, sd->rx_ring, rte_strerror(rte_errno));
		return -EINVAL;
	}
	if (sd->tx_ring[0] != '\0' && (sd->out_ring = ring_attach(sd->tx_ring, socket)) == NULL) {
		SIM_LOG(ERR, "%s: tx_ring %s: %s", sd->name, sd->tx_ring, rte_strerror(rte_errno));
		return -EINVAL;
	}
	sd->pump_batch = rte_zmalloc_socket("shadowsim_batch", sizeof(*sd->pump_batch), 0, socket);
	return sd->pump_batch != NULL ? 0 : -ENOMEM;
}


void st_sim_io_release(struct st_sim_dev *sd)
{
	if (sd->out != NULL) {
		fclose(sd->out);
		sd->out = NULL;
	}
	st_sim_capture_free(sd->in);
	sd->in = NULL;
	rte_free(sd->pump_batch);
	sd->pump_batch = NULL;
}
