/* SPDX-License-Identifier: BSD-3-Clause
 * Control-time half of the header rewrite: turns the plan's prefix maps and
 * shadow MACs into immutable tables that st_rewrite_frame() only reads.
 *
 * - rte_lpm (IPv4) and rte_lpm6 (IPv6), next hop = index of the map in the
 *   copied map4[]/map6[] arrays. A family without maps keeps a NULL table, so
 *   the fast path treats every address of that family as unmapped.
 * - rte_lpm/rte_lpm6 reject depth 0, so a /0 map is installed as its two /1
 *   halves, first, so that any real /1 map replaces them (rte_*_add on an
 *   existing rule only updates its next hop): longest prefix still wins.
 * - Maps are copied with the host bits of from/to cleared: the fast path then
 *   only has to OR the packet's host bits in.
 * - Two maps with the same prefix are refused: the plan would be ambiguous.
 *
 * Memory: rte_lpm and rte_lpm6 each allocate a 2^24-entry tbl24 (64 MiB) from
 * the DPDK heap, so a compiled table set costs up to ~130 MiB, twice that
 * while an old and a new set coexist during a swap.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE /* DPDK headers need POSIX types (ssize_t) under -std=c11 */
#endif
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>

#include <rte_errno.h>
#include <rte_lpm.h>
#include <rte_lpm6.h>
#include <rte_malloc.h>
#include <rte_memory.h>

#include "rewrite.h"

/* rte_lpm*_create() prefixes the name with "LPM_" (and lpm6 its rule hash
 * with "LRH_") inside a RTE_LPM_NAMESIZE buffer. */
#define RW_NAME_MAX (RTE_LPM_NAMESIZE - 5)

static atomic_uint rw_name_seq;

static void rw_err(struct st_error *err, const char *field, int errnum,
		   const char *fmt, const char *detail)
{
	if (err == NULL)
		return;
	memset(err, 0, sizeof(*err));
	snprintf(err->code, sizeof(err->code), "%s", "ST_ERR_MAP_COMPILE");
	snprintf(err->field, sizeof(err->field), "%s", field);
	snprintf(err->message, sizeof(err->message), fmt, detail);
	err->errnum = errnum;
}

static inline uint32_t rw_mask4(uint8_t len)
{
	return len == 0 ? 0 : UINT32_MAX << (32 - len);
}

static void rw_mask6(uint8_t out[16], const uint8_t in[16], uint8_t len)
{
	for (unsigned int i = 0; i < 16; i++) {
		unsigned int bits = len > i * 8 ? len - i * 8 : 0;
		uint8_t m = bits >= 8 ? 0xff : (uint8_t)(0xff00u >> bits);
		out[i] = in[i] & m;
	}
}

static int rw_make_name(char *out, size_t size, char family,
			const char *suffix)
{
	int n;

	if (suffix != NULL && suffix[0] != '\0')
		n = snprintf(out, size, "rw%c_%s", family, suffix);
	else
		n = snprintf(out, size, "rw%c_%u", family,
			     atomic_fetch_add(&rw_name_seq, 1));
	return (n < 0 || (size_t)n >= size || n > RW_NAME_MAX) ? -1 : 0;
}

static int rw_compile4(struct st_rewrite_tables *t, const struct st_plan *plan,
		       const char *suffix, struct st_error *err)
{
	char name[RTE_LPM_NAMESIZE], field[32];
	struct rte_lpm_config conf;
	uint16_t n = plan->nb_map4;
	int ret;

	for (uint16_t i = 0; i < n; i++) {
		const struct st_map4 *m = &plan->map4[i];

		if (m->len > 32) {
			snprintf(field, sizeof(field), "map4[%u].len", i);
			rw_err(err, field, EINVAL, "%s",
			       "prefix length must be 0..32");
			return -EINVAL;
		}
		t->map4[i].len = m->len;
		t->map4[i].from = m->from & rw_mask4(m->len);
		t->map4[i].to = m->to & rw_mask4(m->len);
		for (uint16_t j = 0; j < i; j++) {
			if (t->map4[j].len == t->map4[i].len &&
			    t->map4[j].from == t->map4[i].from) {
				char other[32];

				snprintf(field, sizeof(field), "map4[%u]", i);
				snprintf(other, sizeof(other), "map4[%u]", j);
				rw_err(err, field, EINVAL,
				       "same prefix as %s: each prefix may be mapped once",
				       other);
				return -EINVAL;
			}
		}
	}
	t->nb_map4 = n;
	if (n == 0)
		return 0;

	if (rw_make_name(name, sizeof(name), '4', suffix) < 0) {
		rw_err(err, "map4", ENAMETOOLONG,
		       "table name suffix '%s' is too long", suffix);
		return -ENAMETOOLONG;
	}
	memset(&conf, 0, sizeof(conf));
	conf.max_rules = n + 2u;       /* a /0 takes two rules */
	conf.number_tbl8s = n + 1u;    /* a prefix longer than /24 takes one */
	t->lpm4 = rte_lpm_create(name, SOCKET_ID_ANY, &conf);
	if (t->lpm4 == NULL) {
		int e = rte_errno;

		rw_err(err, "map4", e, "cannot create IPv4 map table: %s",
		       rte_strerror(e));
		return -e;
	}

	/* pass 0 installs the /0 map, pass 1 everything more specific */
	for (int pass = 0; pass < 2; pass++) {
		for (uint16_t i = 0; i < n; i++) {
			const struct st_map4 *m = &t->map4[i];

			if ((pass == 0) != (m->len == 0))
				continue;
			if (m->len == 0) {
				ret = rte_lpm_add(t->lpm4, 0, 1, i);
				if (ret == 0)
					ret = rte_lpm_add(t->lpm4, UINT32_C(0x80000000), 1, i);
			} else {
				ret = rte_lpm_add(t->lpm4, m->from, m->len, i);
			}
			if (ret < 0) {
				snprintf(field, sizeof(field), "map4[%u]", i);
				rw_err(err, field, -ret, "cannot add IPv4 map: %s",
				       rte_strerror(-ret));
				return ret;
			}
		}
	}
	return 0;
}

static int rw_compile6(struct st_rewrite_tables *t, const struct st_plan *plan,
		       const char *suffix, struct st_error *err)
{
	char name[RTE_LPM6_NAMESIZE], field[32];
	struct rte_lpm6_config conf;
	uint16_t n = plan->nb_map6;
	int ret;

	for (uint16_t i = 0; i < n; i++) {
		const struct st_map6 *m = &plan->map6[i];

		if (m->len > 128) {
			snprintf(field, sizeof(field), "map6[%u].len", i);
			rw_err(err, field, EINVAL, "%s",
			       "prefix length must be 0..128");
			return -EINVAL;
		}
		t->map6[i].len = m->len;
		rw_mask6(t->map6[i].from, m->from, m->len);
		rw_mask6(t->map6[i].to, m->to, m->len);
		for (uint16_t j = 0; j < i; j++) {
			if (t->map6[j].len == t->map6[i].len &&
			    memcmp(t->map6[j].from, t->map6[i].from, 16) == 0) {
				char other[32];

				snprintf(field, sizeof(field), "map6[%u]", i);
				snprintf(other, sizeof(other), "map6[%u]", j);
				rw_err(err, field, EINVAL,
				       "same prefix as %s: each prefix may be mapped once",
				       other);
				return -EINVAL;
			}
		}
	}
	t->nb_map6 = n;
	if (n == 0)
		return 0;

	if (rw_make_name(name, sizeof(name), '6', suffix) < 0) {
		rw_err(err, "map6", ENAMETOOLONG,
		       "table name suffix '%s' is too long", suffix);
		return -ENAMETOOLONG;
	}
	memset(&conf, 0, sizeof(conf));
	conf.max_rules = n + 2u;
	/* a /128 walks 13 tbl8 levels below tbl24; groups are 1 KiB each */
	conf.number_tbl8s = 14u * n + 16u;
	t->lpm6 = rte_lpm6_create(name, SOCKET_ID_ANY, &conf);
	if (t->lpm6 == NULL) {
		int e = rte_errno;

		rw_err(err, "map6", e, "cannot create IPv6 map table: %s",
		       rte_strerror(e));
		return -e;
	}

	for (int pass = 0; pass < 2; pass++) {
		for (uint16_t i = 0; i < n; i++) {
			const struct st_map6 *m = &t->map6[i];

			if ((pass == 0) != (m->len == 0))
				continue;
			if (m->len == 0) {
				uint8_t half[16] = { 0 };

				ret = rte_lpm6_add(t->lpm6, half, 1, i);
				half[0] = 0x80;
				if (ret == 0)
					ret = rte_lpm6_add(t->lpm6, half, 1, i);
			} else {
				ret = rte_lpm6_add(t->lpm6, m->from, m->len, i);
			}
			if (ret < 0) {
				snprintf(field, sizeof(field), "map6[%u]", i);
				rw_err(err, field, -ret, "cannot add IPv6 map: %s",
				       rte_strerror(-ret));
				return ret;
			}
		}
	}
	return 0;
}

struct st_rewrite_tables *st_rewrite_compile(const struct st_plan *plan,
					     const char *name_suffix,
					     struct st_error *err)
{
	struct st_rewrite_tables *t;

	if (plan == NULL) {
		rw_err(err, "", EINVAL, "%s", "no plan given");
		return NULL;
	}
	if (plan->nb_map4 > ST_MAX_MAPS) {
		rw_err(err, "map4", EINVAL, "%s",
		       "more IPv4 maps than ST_MAX_MAPS (256)");
		return NULL;
	}
	if (plan->nb_map6 > ST_MAX_MAPS) {
		rw_err(err, "map6", EINVAL, "%s",
		       "more IPv6 maps than ST_MAX_MAPS (256)");
		return NULL;
	}
	if (plan->unmapped != ST_UNMAPPED_DROP &&
	    plan->unmapped != ST_UNMAPPED_MIRROR) {
		rw_err(err, "unmapped", EINVAL, "%s",
		       "unmapped rule must be 0 (drop) or 1 (mirror)");
		return NULL;
	}

	t = rte_zmalloc("st_rewrite_tables", sizeof(*t), RTE_CACHE_LINE_SIZE);
	if (t == NULL) {
		rw_err(err, "", ENOMEM, "%s",
		       "cannot allocate rewrite tables: out of DPDK memory");
		return NULL;
	}
	memcpy(t->src_mac, plan->shadow_src_mac, sizeof(t->src_mac));
	memcpy(t->dst_mac, plan->shadow_dst_mac, sizeof(t->dst_mac));
	t->unmapped = plan->unmapped;

	if (rw_compile4(t, plan, name_suffix, err) < 0 ||
	    rw_compile6(t, plan, name_suffix, err) < 0) {
		st_rewrite_free(t);
		return NULL;
	}
	return t;
}

void st_rewrite_free(struct st_rewrite_tables *t)
{
	if (t == NULL)
		return;
	rte_lpm_free(t->lpm4);    /* both accept NULL */
	rte_lpm6_free(t->lpm6);
	rte_free(t);
}
