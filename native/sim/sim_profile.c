/* SPDX-License-Identifier: BSD-3-Clause
 * The profile file of net_shadowsim: what the emulated driver accepts.
 *
 * Line-based so that C can read it without a JSON parser: one keyword and its
 * arguments per line, '#' starts a comment. scripts/sim-profile.ts writes it
 * from a hw-profile; the format is described in docs/emulated-nic.md.
 * rte_flow names are resolved through rte_flow_conv(), i.e. DPDK's own
 * name table, so the profile speaks exactly DPDK's vocabulary.
 */
#include <ctype.h>
#include <errno.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <rte_log.h>

#include "sim.h"

static const char *flow_name(bool action, int type)
{
	const char *name = NULL;

	if (type < 0 || type >= ST_SIM_NAME_BITS)
		return NULL;
	if (rte_flow_conv(action ? RTE_FLOW_CONV_OP_ACTION_NAME_PTR : RTE_FLOW_CONV_OP_ITEM_NAME_PTR,
			  &name, sizeof(name), (void *)(uintptr_t)type, NULL) < 0)
		return NULL;
	return name;
}

const char *st_sim_item_name(int type)
{
	return flow_name(false, type);
}

const char *st_sim_action_name(int type)
{
	return flow_name(true, type);
}

/* DPDK spells its names in upper case ("SET_IPV4_DST"); the feature matrices in lower case. */
static int flow_type_of(bool action, const char *word)
{
	for (int t = 0; t < ST_SIM_NAME_BITS; t++) {
		const char *n = flow_name(action, t);

		if (n != NULL && strcasecmp(n, word) == 0)
			return t;
	}
	return -1;
}

static const struct {
	const char *name;
	int value;
} errnos[] = {
	{ "ENOTSUP", ENOTSUP }, { "EINVAL", EINVAL }, { "ENOSPC", ENOSPC }, { "ENOMEM", ENOMEM },
	{ "ENOBUFS", ENOBUFS }, { "EEXIST", EEXIST }, { "ENOSYS", ENOSYS }, { "E2BIG", E2BIG },
	{ "EPERM", EPERM },     { "EIO", EIO },       { "EBUSY", EBUSY },
};

static const struct {
	const char *name;
	enum rte_flow_error_type value;
} error_types[] = {
	{ "unspecified", RTE_FLOW_ERROR_TYPE_UNSPECIFIED },
	{ "handle", RTE_FLOW_ERROR_TYPE_HANDLE },
	{ "attr", RTE_FLOW_ERROR_TYPE_ATTR },
	{ "attr_group", RTE_FLOW_ERROR_TYPE_ATTR_GROUP },
	{ "attr_priority", RTE_FLOW_ERROR_TYPE_ATTR_PRIORITY },
	{ "attr_ingress", RTE_FLOW_ERROR_TYPE_ATTR_INGRESS },
	{ "attr_egress", RTE_FLOW_ERROR_TYPE_ATTR_EGRESS },
	{ "attr_transfer", RTE_FLOW_ERROR_TYPE_ATTR_TRANSFER },
	{ "item", RTE_FLOW_ERROR_TYPE_ITEM },
	{ "action", RTE_FLOW_ERROR_TYPE_ACTION },
	{ "action_conf", RTE_FLOW_ERROR_TYPE_ACTION_CONF },
};

static void errspec(struct st_sim_errspec *e, int err, enum rte_flow_error_type type, const char *msg)
{
	e->set = true;
	e->err = err;
	e->type = type;
	snprintf(e->msg, sizeof(e->msg), "%s", msg);
}

void st_sim_profile_default(struct st_sim_profile *p)
{
	memset(p, 0, sizeof(*p));
	snprintf(p->family, sizeof(p->family), "none");
	p->flow_api = false;
	p->capacity = 0;
	p->capacity_documented = true;
	p->mwm = ST_SIM_MWM_NA;
	errspec(&p->err_item, ENOTSUP, RTE_FLOW_ERROR_TYPE_ITEM, "item not supported");
	errspec(&p->err_action, ENOTSUP, RTE_FLOW_ERROR_TYPE_ACTION, "action not supported");
	errspec(&p->err_attr, ENOTSUP, RTE_FLOW_ERROR_TYPE_ATTR, "attribute not supported");
	errspec(&p->err_full, ENOSPC, RTE_FLOW_ERROR_TYPE_HANDLE, "rule table full");
}

struct parser {
	const char *path;
	unsigned int line;
	char *why;
	size_t why_len;
};

static int fail(struct parser *ps, const char *fmt, ...)
{
	char msg[256];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	snprintf(ps->why, ps->why_len, "%s:%u: %s", ps->path, ps->line, msg);
	return -EINVAL;
}

static int domain_of(const char *w)
{
	if (strcmp(w, "ingress") == 0)
		return ST_SIM_INGRESS;
	if (strcmp(w, "egress") == 0)
		return ST_SIM_EGRESS;
	if (strcmp(w, "transfer") == 0)
		return ST_SIM_TRANSFER;
	return -1;
}

static int targets_of(const char *w)
{
	if (strcmp(w, "original-and-copy") == 0)
		return ST_SIM_TGT_BOTH;
	if (strcmp(w, "original-only") == 0)
		return ST_SIM_TGT_ORIGINAL;
	if (strcmp(w, "copy-only") == 0)
		return ST_SIM_TGT_COPY;
	return -1;
}

/* Adds every name in words[from..n) to bits; unknown names are reported, not fatal:
 * a name DPDK 22.11 cannot express can never be asked for through rte_flow anyway. */
static void add_names(struct parser *ps, bool action, struct st_sim_bits *bits, char **words, int from, int n)
{
	for (int i = from; i < n; i++) {
		int t = flow_type_of(action, words[i]);

		if (t < 0) {
			RTE_LOG(WARNING, PMD, "%s: %s:%u: '%s' is not an rte_flow %s name in this DPDK; ignored\n",
				ST_SIM_DRIVER, ps->path, ps->line, words[i], action ? "action" : "item");
			continue;
		}
		st_sim_bit_set(bits, t);
	}
}

static int parse_error_line(struct parser *ps, struct st_sim_errspec *e, char **w, int n, const char *rest)
{
	int err = 0;
	int type = -1;

	if (n < 3)
		return fail(ps, "expected: <ERRNO> <error-type> <message>");
	for (size_t i = 0; i < RTE_DIM(errnos); i++)
		if (strcmp(errnos[i].name, w[0]) == 0)
			err = errnos[i].value;
	if (err == 0)
		return fail(ps, "unknown errno name '%s'", w[0]);
	for (size_t i = 0; i < RTE_DIM(error_types); i++)
		if (strcmp(error_types[i].name, w[1]) == 0)
			type = (int)error_types[i].value;
	if (type < 0)
		return fail(ps, "unknown rte_flow error type '%s'", w[1]);
	errspec(e, err, (enum rte_flow_error_type)type, rest);
	return 0;
}

#define MAX_WORDS 256

int st_sim_profile_load(const char *path, struct st_sim_profile *p, char *why, size_t why_len)
{
	struct parser ps = { .path = path, .line = 0, .why = why, .why_len = why_len };
	char buf[8192];
	bool header = false;
	int rc = 0;
	FILE *f;

	st_sim_profile_default(p);
	snprintf(p->path, sizeof(p->path), "%s", path);
	f = fopen(path, "r");
	if (f == NULL) {
		snprintf(why, why_len, "profile %s: %s", path, strerror(errno));
		return -errno;
	}
	while (rc == 0 && fgets(buf, sizeof(buf), f) != NULL) {
		char *words[MAX_WORDS];
		char *save = NULL, *tok, *hash;
		char raw[sizeof(buf)];
		const char *rest;
		int n = 0;

		ps.line++;
		if (strchr(buf, '\n') == NULL && !feof(f)) {
			rc = fail(&ps, "line longer than %zu characters", sizeof(buf) - 2);
			break;
		}
		hash = strchr(buf, '#');
		if (hash != NULL)
			*hash = '\0';
		snprintf(raw, sizeof(raw), "%s", buf);
		for (tok = strtok_r(buf, " \t\r\n", &save); tok != NULL && n < MAX_WORDS; tok = strtok_r(NULL, " \t\r\n", &save))
			words[n++] = tok;
		if (n == 0)
			continue;
		if (!header) {
			if (strcmp(words[0], "shadowsim-profile") != 0 || n != 2 || strcmp(words[1], "1") != 0) {
				rc = fail(&ps, "expected the first line 'shadowsim-profile 1'");
				break;
			}
			header = true;
			continue;
		}
		/* the message of an error line is the rest of the line after three words */
		rest = raw;
		for (int skip = 0; skip < 3 && *rest; skip++) {
			while (*rest && isspace((unsigned char)*rest))
				rest++;
			while (*rest && !isspace((unsigned char)*rest))
				rest++;
		}
		while (*rest && isspace((unsigned char)*rest))
			rest++;
		{
			char msg[sizeof(p->err_item.msg)];
			size_t l;

			snprintf(msg, sizeof(msg), "%.159s", rest);
			l = strlen(msg);
			while (l > 0 && isspace((unsigned char)msg[l - 1]))
				msg[--l] = '\0';

			const char *k = words[0];

			if (strcmp(k, "family") == 0 && n == 2) {
				snprintf(p->family, sizeof(p->family), "%s", words[1]);
			} else if (strcmp(k, "flow-api") == 0 && n == 2) {
				if (strcmp(words[1], "rte_flow") == 0)
					p->flow_api = true;
				else if (strcmp(words[1], "none") == 0)
					p->flow_api = false;
				else
					rc = fail(&ps, "flow-api: expected rte_flow or none, got '%s'", words[1]);
			} else if (strcmp(k, "capacity") == 0 && n == 2) {
				if (strcmp(words[1], "unlimited") == 0) {
					p->capacity = ST_SIM_UNLIMITED;
					p->capacity_documented = false;
				} else {
					char *end;
					unsigned long v = strtoul(words[1], &end, 10);

					if (*end != '\0' || v > UINT32_MAX - 1)
						rc = fail(&ps, "capacity: expected a number or 'unlimited', got '%s'", words[1]);
					p->capacity = (uint32_t)v;
					p->capacity_documented = true;
				}
			} else if (strcmp(k, "items") == 0) {
				add_names(&ps, false, &p->items, words, 1, n);
			} else if (strcmp(k, "domain") == 0 && n == 3) {
				int d = domain_of(words[1]);

				if (d < 0 || (strcmp(words[2], "on") != 0 && strcmp(words[2], "off") != 0))
					rc = fail(&ps, "domain: expected 'domain <ingress|egress|transfer> <on|off>'");
				else
					p->domain_on[d] = strcmp(words[2], "on") == 0;
			} else if (strcmp(k, "actions") == 0 && n >= 2) {
				int d = domain_of(words[1]);

				if (d < 0)
					rc = fail(&ps, "actions: unknown domain '%s'", words[1]);
				else
					add_names(&ps, true, &p->actions[d], words, 2, n);
			} else if (strcmp(k, "sample-domains") == 0) {
				for (int i = 1; i < n && rc == 0; i++) {
					int d = domain_of(words[i]);

					if (d < 0)
						rc = fail(&ps, "sample-domains: unknown domain '%s'", words[i]);
					else
						p->sample_domain[d] = true;
				}
			} else if (strcmp(k, "sample-ratios") == 0) {
				for (int i = 1; i < n && rc == 0; i++) {
					if (strcmp(words[i], "mirror") == 0)
						p->sample_mirror = true;
					else if (strcmp(words[i], "fractional") == 0)
						p->sample_fractional = true;
					else if (strcmp(words[i], "none") != 0)
						rc = fail(&ps, "sample-ratios: expected mirror, fractional or none, got '%s'", words[i]);
				}
			} else if (strcmp(k, "sample-actions") == 0 && n >= 2) {
				static const char *const cases[ST_SIM_NSC] = { "ingress", "egress", "transfer",
									       "transfer-ratio-above-1" };
				int c = -1;

				for (int i = 0; i < ST_SIM_NSC; i++)
					if (strcmp(words[1], cases[i]) == 0)
						c = i;
				if (c < 0) {
					rc = fail(&ps, "sample-actions: unknown case '%s'", words[1]);
				} else {
					p->sample_sub_known[c] = true;
					add_names(&ps, true, &p->sample_sub[c], words, 2, n);
				}
			} else if (strcmp(k, "modify-with-sample") == 0 && n == 2) {
				if (strcmp(words[1], "split-around-sample") == 0)
					p->mwm = ST_SIM_MWM_SPLIT;
				else if (strcmp(words[1], "unsupported") == 0)
					p->mwm = ST_SIM_MWM_UNSUPPORTED;
				else if (strcmp(words[1], "not-applicable") == 0)
					p->mwm = ST_SIM_MWM_NA;
				else
					rc = fail(&ps, "modify-with-sample: unknown value '%s'", words[1]);
			} else if ((strcmp(k, "modify-before-sample") == 0 || strcmp(k, "modify-after-sample") == 0) && n == 2) {
				int t = targets_of(words[1]);

				if (t < 0)
					rc = fail(&ps, "%s: expected original-and-copy, original-only or copy-only", k);
				else if (k[7] == 'b')
					p->before_sample = (enum st_sim_targets)t;
				else
					p->after_sample = (enum st_sim_targets)t;
			} else if (strcmp(k, "attr") == 0 && n == 2) {
				if (strcmp(words[1], "group0-only") == 0)
					p->group0_only = true;
				else if (strcmp(words[1], "priority0-only") == 0)
					p->priority0_only = true;
				else
					rc = fail(&ps, "attr: unknown restriction '%s'", words[1]);
			} else if (strcmp(k, "sample-indirect-only") == 0 && n == 1) {
				p->sample_indirect_only = true;
			} else if (strcmp(k, "quirk") == 0 && n == 2) {
				if (strcmp(words[1], "rss-validate-error-unset") == 0)
					p->rss_error_unset = true;
				else
					rc = fail(&ps, "quirk: unknown quirk '%s'", words[1]);
			} else if (strcmp(k, "create-fails") == 0) {
				rc = parse_error_line(&ps, &p->create_fails, words + 1, n - 1, msg);
			} else if (strcmp(k, "error") == 0 && n >= 2) {
				struct st_sim_errspec *e = NULL;

				if (strcmp(words[1], "item") == 0)
					e = &p->err_item;
				else if (strcmp(words[1], "action") == 0)
					e = &p->err_action;
				else if (strcmp(words[1], "attr") == 0)
					e = &p->err_attr;
				else if (strcmp(words[1], "full") == 0)
					e = &p->err_full;
				if (e == NULL) {
					rc = fail(&ps, "error: expected item, action, attr or full, got '%s'", words[1]);
				} else {
					/* the message starts after four words here */
					const char *m = msg;

					while (*m && !isspace((unsigned char)*m))
						m++;
					while (*m && isspace((unsigned char)*m))
						m++;
					rc = parse_error_line(&ps, e, words + 2, n - 2, m);
				}
			} else {
				rc = fail(&ps, "unknown or malformed line starting with '%s'", k);
			}
		}
	}
	fclose(f);
	if (rc == 0 && !header) {
		snprintf(why, why_len, "profile %s: empty; expected the first line 'shadowsim-profile 1'", path);
		rc = -EINVAL;
	}
	if (rc == 0 && (p->mwm == ST_SIM_MWM_SPLIT) &&
	    (p->before_sample == ST_SIM_TGT_UNSET || p->after_sample == ST_SIM_TGT_UNSET)) {
		snprintf(why, why_len,
			 "profile %s: modify-with-sample split-around-sample needs modify-before-sample and modify-after-sample", path);
		rc = -EINVAL;
	}
	return rc;
}
