/* SPDX-License-Identifier: BSD-3-Clause
 * Classic pcap files for net_shadowsim's rx_pcap and tx_pcap.
 *
 * The input capture is read into memory once, at start, so replay (and
 * infinite_rx) costs no system call per packet. Only Ethernet link type is
 * accepted: the emulated NIC is an Ethernet port. Microsecond and nanosecond
 * captures of either byte order are read; output is written little-endian
 * with microsecond timestamps, the format tshark and net_pcap expect.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>

#include <rte_byteorder.h>

#include "sim.h"

#define PCAP_MAGIC_US 0xa1b2c3d4u
#define PCAP_MAGIC_NS 0xa1b23c4du
#define LINKTYPE_ETHERNET 1u
#define SNAPLEN 65535u

struct st_sim_capture {
	uint8_t *data;          /* the whole file */
	size_t size;
	uint32_t *offsets;      /* start of each frame's bytes */
	uint32_t *lengths;      /* captured length of each frame */
	uint32_t count;
	uint32_t cursor;
};

static uint32_t rd32(const uint8_t *p, bool swap)
{
	uint32_t v;

	memcpy(&v, p, 4);
	return swap ? rte_bswap32(v) : v;
}

struct st_sim_capture *st_sim_capture_load(const char *path, char *why, size_t why_len)
{
	struct st_sim_capture *c = calloc(1, sizeof(*c));
	uint32_t cap = 0;
	bool swap;
	size_t off;
	uint32_t magic;
	FILE *f;
	long sz;

	if (c == NULL) {
		snprintf(why, why_len, "rx_pcap %s: out of memory", path);
		return NULL;
	}
	f = fopen(path, "rb");
	if (f == NULL) {
		snprintf(why, why_len, "rx_pcap %s: %s", path, strerror(errno));
		free(c);
		return NULL;
	}
	if (fseek(f, 0, SEEK_END) != 0 || (sz = ftell(f)) < 0 || fseek(f, 0, SEEK_SET) != 0) {
		snprintf(why, why_len, "rx_pcap %s: cannot size the file", path);
		goto fail;
	}
	c->size = (size_t)sz;
	c->data = malloc(c->size ? c->size : 1);
	if (c->data == NULL || fread(c->data, 1, c->size, f) != c->size) {
		snprintf(why, why_len, "rx_pcap %s: cannot read %zu bytes", path, c->size);
		goto fail;
	}
	fclose(f);
	f = NULL;
	if (c->size < 24) {
		snprintf(why, why_len, "rx_pcap %s: %zu bytes, shorter than a pcap file header (24)", path, c->size);
		goto fail;
	}
	memcpy(&magic, c->data, 4);
	if (magic == PCAP_MAGIC_US || magic == PCAP_MAGIC_NS) {
		swap = false;
	} else if (rte_bswap32(magic) == PCAP_MAGIC_US || rte_bswap32(magic) == PCAP_MAGIC_NS) {
		swap = true;
	} else {
		snprintf(why, why_len, "rx_pcap %s: not a classic pcap file (magic 0x%08x; pcapng is not read)", path, magic);
		goto fail;
	}
	if ((rd32(c->data + 20, swap) & 0x0fffffffu) != LINKTYPE_ETHERNET) {
		snprintf(why, why_len, "rx_pcap %s: link type %u, expected 1 (Ethernet)", path, rd32(c->data + 20, swap));
		goto fail;
	}
	for (off = 24; off + 16 <= c->size;) {
		uint32_t incl = rd32(c->data + off + 8, swap);

		if (incl > 262144 || off + 16 + incl > c->size) {
			snprintf(why, why_len, "rx_pcap %s: frame %u truncated or corrupt at byte %zu", path, c->count + 1, off);
			goto fail;
		}
		if (c->count == cap) {
			uint32_t ncap = cap ? cap * 2 : 1024;
			uint32_t *no = realloc(c->offsets, ncap * sizeof(*no));
			uint32_t *nl;

			if (no == NULL)
				goto oom;
			c->offsets = no;
			nl = realloc(c->lengths, ncap * sizeof(*nl));
			if (nl == NULL)
				goto oom;
			c->lengths = nl;
			cap = ncap;
		}
		c->offsets[c->count] = (uint32_t)(off + 16);
		c->lengths[c->count] = incl;
		c->count++;
		off += 16 + incl;
	}
	return c;
oom:
	snprintf(why, why_len, "rx_pcap %s: out of memory indexing frames", path);
fail:
	if (f != NULL)
		fclose(f);
	st_sim_capture_free(c);
	return NULL;
}

void st_sim_capture_free(struct st_sim_capture *c)
{
	if (c == NULL)
		return;
	free(c->data);
	free(c->offsets);
	free(c->lengths);
	free(c);
}

const uint8_t *st_sim_capture_next(struct st_sim_capture *c, bool infinite, uint32_t *len)
{
	if (c->count == 0)
		return NULL;
	if (c->cursor >= c->count) {
		if (!infinite)
			return NULL;
		c->cursor = 0;
	}
	*len = c->lengths[c->cursor];
	return c->data + c->offsets[c->cursor++];
}

void st_sim_capture_unread(struct st_sim_capture *c)
{
	if (c->cursor > 0)
		c->cursor--;
}

FILE *st_sim_capture_create(const char *path, char *why, size_t why_len)
{
	/* little-endian header: magic, version 2.4, thiszone, sigfigs, snaplen, linktype */
	const uint32_t hdr32[6] = { rte_cpu_to_le_32(PCAP_MAGIC_US), rte_cpu_to_le_32(0x00040002u), 0, 0,
				    rte_cpu_to_le_32(SNAPLEN), rte_cpu_to_le_32(LINKTYPE_ETHERNET) };
	FILE *f = fopen(path, "wb");

	if (f == NULL) {
		snprintf(why, why_len, "tx_pcap %s: %s", path, strerror(errno));
		return NULL;
	}
	if (fwrite(hdr32, sizeof(hdr32), 1, f) != 1 || fflush(f) != 0) {
		snprintf(why, why_len, "tx_pcap %s: cannot write the header: %s", path, strerror(errno));
		fclose(f);
		return NULL;
	}
	return f;
}

int st_sim_capture_write(FILE *f, const struct rte_mbuf *m)
{
	uint32_t len = rte_pktmbuf_pkt_len(m);
	uint32_t incl = len < SNAPLEN ? len : SNAPLEN;
	uint32_t rec[4];
	struct timeval tv;
	uint32_t left = incl;

	gettimeofday(&tv, NULL);
	rec[0] = rte_cpu_to_le_32((uint32_t)tv.tv_sec);
	rec[1] = rte_cpu_to_le_32((uint32_t)tv.tv_usec);
	rec[2] = rte_cpu_to_le_32(incl);
	rec[3] = rte_cpu_to_le_32(len);
	if (fwrite(rec, sizeof(rec), 1, f) != 1)
		return -EIO;
	for (const struct rte_mbuf *s = m; s != NULL && left > 0; s = s->next) {
		uint32_t n = s->data_len < left ? s->data_len : left;

		if (n > 0 && fwrite(rte_pktmbuf_mtod(s, const void *), 1, n, f) != n)
			return -EIO;
		left -= n;
	}
	return 0;
}
