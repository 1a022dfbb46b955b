/* SPDX-License-Identifier: BSD-3-Clause
 * The capture ports' counters as stats.c reads them (capture.h), and the
 * file-name matching the count limit relies on. Built with or without the
 * PMD (it needs DPDK's driver SDK; this file does not).
 */
#include <ctype.h>
#include <string.h>

#include <rte_ethdev.h>
#include <rte_spinlock.h>

#include "capture_int.h"

#define LD(x) __atomic_load_n(&(x), __ATOMIC_RELAXED)

static rte_spinlock_t reg_lock = RTE_SPINLOCK_INITIALIZER;
static struct {
	uint8_t known;
	const struct st_cap_dev *dev;   /* NULL once closed: `last` holds its counters */
	struct st_capture_stats last;
} reg[RTE_MAX_ETHPORTS];

void
st_cap_read(const struct st_cap_dev *d, struct st_capture_stats *out)
{
	out->packets = LD(d->ctr.packets);
	out->bytes = LD(d->ctr.bytes);
	out->rotations = LD(d->ctr.rotations);
	out->files_removed = LD(d->ctr.files_removed);
	out->nomem = LD(d->ctr.nomem);
	out->write_errors = LD(d->ctr.write_errors);
	out->ring_full = 0;
	for (uint16_t q = 0; q < CAP_MAX_QUEUES; q++)
		out->ring_full += LD(d->txq[q].ring_full);
}

void
st_cap_register(uint16_t port_id, const struct st_cap_dev *d)
{
	if (port_id >= RTE_MAX_ETHPORTS)
		return;
	rte_spinlock_lock(&reg_lock);
	reg[port_id].known = 1;
	reg[port_id].dev = d;
	memset(&reg[port_id].last, 0, sizeof(reg[port_id].last));
	rte_spinlock_unlock(&reg_lock);
}

void
st_cap_unregister(uint16_t port_id)
{
	if (port_id >= RTE_MAX_ETHPORTS)
		return;
	rte_spinlock_lock(&reg_lock);
	if (reg[port_id].dev != NULL)
		st_cap_read(reg[port_id].dev, &reg[port_id].last);
	reg[port_id].dev = NULL;
	rte_spinlock_unlock(&reg_lock);
}

int
st_capture_stats(uint16_t port_id, struct st_capture_stats *out)
{
	int rc = -1;

	memset(out, 0, sizeof(*out));
	if (port_id >= RTE_MAX_ETHPORTS)
		return -1;
	rte_spinlock_lock(&reg_lock);
	if (reg[port_id].known) {
		if (reg[port_id].dev != NULL)
			st_cap_read(reg[port_id].dev, out);
		else
			*out = reg[port_id].last;
		rc = 0;
	}
	rte_spinlock_unlock(&reg_lock);
	return rc;
}

/* Digits a conversion expands to: exactly n, or 1..20 for %s (n = 0). */
static int
conv_digits(char c)
{
	switch (c) {
	case 'Y': return 4;
	case 'j': return 3;
	case 'm': case 'd': case 'H': case 'M': case 'S': case 'y': return 2;
	case 's': return 0;
	default: return -1;
	}
}

static int
match_digits(const char **s, int n)
{
	int k = 0;

	while (isdigit((unsigned char)(*s)[k]) && (n == 0 ? k < 20 : k < n))
		k++;
	if (k == 0 || (n != 0 && k != n))
		return -1;
	*s += k;
	return 0;
}

int
st_capture_name_matches(const char *pattern, const char *name, uint64_t *seq)
{
	const char *p = pattern, *s = name;

	*seq = 0;
	while (*p != '\0') {
		if (*p == '%') {
			int n;

			if (p[1] == '%') {
				if (*s != '%')
					return 0;
				p += 2;
				s++;
				continue;
			}
			n = conv_digits(p[1]);
			if (n < 0 || match_digits(&s, n) != 0)
				return 0;
			p += 2;
			continue;
		}
		if (*p++ != *s++)
			return 0;
	}
	if (*s == '\0')
		return 1;
	/* FILE.N: a later file of the same name (size rotation, or a restart) */
	if (*s != '.' || !isdigit((unsigned char)s[1]) || s[1] == '0')
		return 0;
	s++;
	for (; *s != '\0'; s++) {
		if (!isdigit((unsigned char)*s) || *seq > (UINT64_MAX - 9) / 10)
			return 0;
		*seq = *seq * 10 + (uint64_t)(*s - '0');
	}
	return 1;
}
