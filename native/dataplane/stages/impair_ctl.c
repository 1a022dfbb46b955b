/* SPDX-License-Identifier: BSD-3-Clause
 * Impair stage, control side: build and check a fault table from its
 * plain-data description, the delay distributions (inverse CDF tables and the
 * latent correlation that gives the configured lag-1 correlation of the
 * delays), the RCU swap, and a worker's state.
 */
#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include <rte_common.h>
#include <rte_cycles.h>
#include <rte_malloc.h>
#include <rte_meter.h>
#include <rte_rcu_qsbr.h>

#include "impair_int.h"

#define ST_IMP_TABLE_N     4096
#define ST_IMP_MAX_TIME_NS (60ull * 1000000000ull)   /* 60 s: beyond is a typo */
#define ST_IMP_MAX_RATE    1000000000000ull          /* 1 Tbit/s */
#define ST_IMP_Z_CLAMP     6.0                       /* normal draws kept in +-6 sd */

static int fail(struct st_error *err, int code, const char *field, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

static int fail(struct st_error *err, int code, const char *field, const char *fmt, ...)
{
	va_list ap;

	if (err != NULL) {
		memset(err, 0, sizeof(*err));
		snprintf(err->code, sizeof(err->code), "%s",
			 code == -ENOMEM ? "ST_ERR_NOMEM" : "ST_ERR_FAULT_INVALID");
		snprintf(err->field, sizeof(err->field), "%s", field);
		va_start(ap, fmt);
		vsnprintf(err->message, sizeof(err->message), fmt, ap);
		va_end(ap);
		err->errnum = -code;
	}
	return code;
}

/* ---- distributions ----------------------------------------------------- */

/* Standard normal quantile: Acklam's rational approximation, polished by
 * one Halley step on erfc (relative error below 1e-15 in practice). */
static double norm_quantile(double p)
{
	static const double a[] = { -3.969683028665376e+01, 2.209460984245205e+02,
		-2.759285104469687e+02, 1.383577518672690e+02, -3.066479806614716e+01,
		2.506628277459239e+00 };
	static const double b[] = { -5.447609879822406e+01, 1.615858368580409e+02,
		-1.556989798598866e+02, 6.680131188771972e+01, -1.328068155288572e+01 };
	static const double c[] = { -7.784894002430293e-03, -3.223964580411365e-01,
		-2.400758277161838e+00, -2.549732539343734e+00, 4.374664141464968e+00,
		2.938163982698783e+00 };
	static const double d[] = { 7.784695709041462e-03, 3.224671290700398e-01,
		2.445134137142996e+00, 3.754408661907416e+00 };
	double q, r, x, e, u;

	if (p <= 0)
		return -INFINITY;
	if (p >= 1)
		return INFINITY;
	if (p < 0.02425) {
		q = sqrt(-2 * log(p));
		x = (((((c[0] * q + c[1]) * q + c[2]) * q + c[3]) * q + c[4]) * q + c[5]) /
		    ((((d[0] * q + d[1]) * q + d[2]) * q + d[3]) * q + 1);
	} else if (p <= 1 - 0.02425) {
		q = p - 0.5;
		r = q * q;
		x = (((((a[0] * r + a[1]) * r + a[2]) * r + a[3]) * r + a[4]) * r + a[5]) * q /
		    (((((b[0] * r + b[1]) * r + b[2]) * r + b[3]) * r + b[4]) * r + 1);
	} else {
		q = sqrt(-2 * log(1 - p));
		x = -(((((c[0] * q + c[1]) * q + c[2]) * q + c[3]) * q + c[4]) * q + c[5]) /
		    ((((d[0] * q + d[1]) * q + d[2]) * q + d[3]) * q + 1);
	}
	e = 0.5 * erfc(-x / M_SQRT2) - p;
	u = e * sqrt(2 * M_PI) * exp(x * x / 2);
	return x - u / (1 + x * u / 2);
}

/* NISTnet's Pareto (shape 3, as netem's tables) at quantile u, centred on
 * its mean 1.5 and scaled as netem scales it (4/3). */
static double pareto_quantile(double u)
{
	return (pow(1 - u, -1.0 / 3.0) - 1.5) * (4.0 / 3.0);
}

/* A built-in table: the quantile function at (i + 0.5) / N, standardised so
 * that the discrete distribution drawn from has mean 0 and sd 1 exactly
 * (netem's tables are not standardised: its jitter is not the sd). */
static double *make_table(uint8_t dist, int socket)
{
	double *t = rte_malloc_socket("st_imp_table", ST_IMP_TABLE_N * sizeof(double), 0, socket);
	double mean = 0, var = 0;

	if (t == NULL)
		return NULL;
	for (int i = 0; i < ST_IMP_TABLE_N; i++) {
		double u = (i + 0.5) / ST_IMP_TABLE_N;

		t[i] = dist == ST_DIST_PARETO ? pareto_quantile(u) :
		       0.25 * norm_quantile(u) + 0.75 * pareto_quantile(u);
		mean += t[i];
	}
	mean /= ST_IMP_TABLE_N;
	for (int i = 0; i < ST_IMP_TABLE_N; i++)
		var += (t[i] - mean) * (t[i] - mean);
	var /= ST_IMP_TABLE_N;
	for (int i = 0; i < ST_IMP_TABLE_N; i++)
		t[i] = (t[i] - mean) / sqrt(var);
	return t;
}

/* The standardised delay variate for a latent standard normal z. Shared
 * with the fast path (impair_node.c) so both compute the same function. */
double st_imp_variate(const struct st_imp_fault *f, double z);

double st_imp_variate(const struct st_imp_fault *f, double z)
{
	double u;
	uint32_t i;

	if (z > ST_IMP_Z_CLAMP)
		z = ST_IMP_Z_CLAMP;
	else if (z < -ST_IMP_Z_CLAMP)
		z = -ST_IMP_Z_CLAMP;
	if (f->dist == ST_DIST_NORMAL)
		return z;
	u = 0.5 * erfc(-z / M_SQRT2);
	if (f->dist == ST_DIST_UNIFORM)
		return 2 * u - 1;
	i = (uint32_t)(u * f->table_len);
	return f->table[i < f->table_len ? i : f->table_len - 1];
}

/* The latent AR(1) coefficient that gives the delays a lag-1 correlation of
 * `target`. The delays are g(z) for a Gaussian AR(1) z (a Gaussian copula);
 * corr(g(z1), g(z2)) for latent correlation r is sum_k a_k^2 r^k / var(g)
 * (Mehler's expansion, a_k the Hermite coefficients of g), increasing in r,
 * so r is found by bisection. Normal: r = target; uniform: closed form. */
static double latent_rho(const struct st_imp_fault *f, double target)
{
	enum { K = 48 };
	double a[K + 1] = { 0 }, mean = 0, m2 = 0, var, lo = 0, hi = 0.99999;
	const double h = 1.0 / 512;

	if (target == 0 || f->dist == ST_DIST_NORMAL)
		return target;
	if (f->dist == ST_DIST_UNIFORM)
		return 2 * sin(M_PI * target / 6);
	for (double z = -8.5; z <= 8.5; z += h) {
		double w = exp(-z * z / 2) / sqrt(2 * M_PI) * h;
		double g = st_imp_variate(f, z), hp = 1, hk = z, hn;

		mean += w * g;
		m2 += w * g * g;
		a[1] += w * g * hk;
		for (int k = 1; k < K; k++) {
			hn = (z * hk - sqrt((double)k) * hp) / sqrt((double)k + 1);
			hp = hk;
			hk = hn;
			a[k + 1] += w * g * hk;
		}
	}
	var = m2 - mean * mean;
	if (var <= 0)
		return target;
	for (int it = 0; it < 60; it++) {
		double r = (lo + hi) / 2, s = 0, rk = 1;

		for (int k = 1; k <= K; k++) {
			rk *= r;
			s += a[k] * a[k] * rk;
		}
		if (s / var < target)
			lo = r;
		else
			hi = r;
	}
	return (lo + hi) / 2;
}

/* ---- checks -------------------------------------------------------------- */

#define FIELD(buf, i, name) (snprintf((buf), sizeof(buf), "faults[%u].%s", (unsigned)(i), (name)), (buf))

static int check_prob(double p, unsigned int i, const char *name, struct st_error *err)
{
	char f[96];

	if (!(p >= 0 && p <= 1))
		return fail(err, -EINVAL, FIELD(f, i, name),
			    "%s is %g: expected a probability from 0 to 1 (0 to 100 %%)", name, p);
	return 0;
}

static int check_corr(double c, unsigned int i, const char *name, struct st_error *err)
{
	char f[96];

	if (!(c >= 0 && c < 1))
		return fail(err, -EINVAL, FIELD(f, i, name),
			    "%s is %g: expected a correlation from 0 up to (not including) 1", name, c);
	return 0;
}

static int check_time(uint64_t ns, unsigned int i, const char *name, struct st_error *err)
{
	char f[96];

	if (ns > ST_IMP_MAX_TIME_NS)
		return fail(err, -EINVAL, FIELD(f, i, name),
			    "%s is %" PRIu64 " ns: expected at most 60 s", name, ns);
	return 0;
}

static int compile_prefixes(struct st_imp_cprefix *out, const struct st_imp_prefix *in,
			    uint8_t nb, unsigned int i, const char *list, struct st_error *err)
{
	static const uint8_t v4map[12] = { 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff };
	char f[96], name[48];

	if (nb > ST_IMP_MAX_PREFIXES) {
		snprintf(name, sizeof(name), "match.%s", list);
		return fail(err, -EINVAL, FIELD(f, i, name), "%u prefixes: at most %d",
			    nb, ST_IMP_MAX_PREFIXES);
	}
	for (unsigned int j = 0; j < nb; j++) {
		snprintf(name, sizeof(name), "match.%s[%u]", list, j);
		if (in[j].len > 128 || (in[j].v4 && (in[j].len < 96 ||
						     memcmp(in[j].addr, v4map, 12) != 0)))
			return fail(err, -EINVAL, FIELD(f, i, name),
				    "prefix length %u: expected 0..128 (IPv4: 96..128, IPv4-mapped)",
				    in[j].len);
		memset(&out[j], 0, sizeof(out[j]));
		for (unsigned int b = 0; b < in[j].len; b++)
			out[j].mask[b / 8] |= (uint8_t)(0x80 >> (b % 8));
		for (int b = 0; b < 16; b++)
			out[j].addr[b] = in[j].addr[b] & out[j].mask[b];
		out[j].v4 = in[j].v4;
	}
	return 0;
}

static int check_table(const struct st_fault_conf *c, unsigned int i, struct st_error *err)
{
	char f[96];
	double mean = 0, var = 0;

	FIELD(f, i, "delay.distribution.table");
	if (c->table == NULL || c->table_len < 2 || c->table_len > ST_IMP_MAX_TABLE)
		return fail(err, -EINVAL, f, "a custom distribution needs 2..%d entries, got %u",
			    ST_IMP_MAX_TABLE, c->table == NULL ? 0 : c->table_len);
	for (uint32_t k = 0; k < c->table_len; k++) {
		if (!isfinite(c->table[k]))
			return fail(err, -EINVAL, f, "entry %u is not a finite number", k);
		if (k > 0 && c->table[k] < c->table[k - 1])
			return fail(err, -EINVAL, f,
				    "not a distribution: entry %u (%g) is below entry %u (%g); "
				    "expected an inverse CDF, non-decreasing", k, c->table[k], k - 1,
				    c->table[k - 1]);
		mean += c->table[k];
	}
	mean /= c->table_len;
	for (uint32_t k = 0; k < c->table_len; k++)
		var += (c->table[k] - mean) * (c->table[k] - mean);
	var /= c->table_len;
	if (fabs(mean) > 0.01 || fabs(sqrt(var) - 1) > 0.01)
		return fail(err, -EINVAL, f,
			    "not a standardised distribution: mean %g, sd %g; expected mean 0 and "
			    "sd 1 (the delay's jitter scales it)", mean, sqrt(var));
	return 0;
}

static int compile_fault(struct st_imp_fault *o, const struct st_fault_conf *c, unsigned int i,
			 const struct st_fault_table_conf *tc, double hz, int socket,
			 struct st_error *err)
{
	char f[96];
	const double cpn = hz / 1e9;   /* cycles per ns */
	int rc;

	o->id = c->id;
	o->epoch = c->epoch;
	o->seed = c->seed ? c->seed : tc->seed;
	o->slot = c->slot;
	o->kind = c->kind;
	if (c->kind > ST_FAULT_LINK_DOWN)
		return fail(err, -EINVAL, FIELD(f, i, "kind"), "kind %u: expected impair, "
			    "blackhole or link_down", c->kind);
	/* match */
	if ((rc = compile_prefixes(o->src, c->match.src, c->match.nb_src, i, "src", err)) ||
	    (rc = compile_prefixes(o->dst, c->match.dst, c->match.nb_dst, i, "dst", err)) ||
	    (rc = compile_prefixes(o->hosts, c->match.hosts, c->match.nb_hosts, i, "host", err)))
		return rc;
	o->nb_src = c->match.nb_src;
	o->nb_dst = c->match.nb_dst;
	o->nb_hosts = c->match.nb_hosts;
	if (c->match.ip_version != 0 && c->match.ip_version != 4 && c->match.ip_version != 6)
		return fail(err, -EINVAL, FIELD(f, i, "match.ipVersion"), "%u: expected 4 or 6",
			    c->match.ip_version);
	if (c->match.sport_lo > c->match.sport_hi)
		return fail(err, -EINVAL, FIELD(f, i, "match.sport"), "range %u-%u ends before it "
			    "starts", c->match.sport_lo, c->match.sport_hi);
	if (c->match.dport_lo > c->match.dport_hi)
		return fail(err, -EINVAL, FIELD(f, i, "match.dport"), "range %u-%u ends before it "
			    "starts", c->match.dport_lo, c->match.dport_hi);
	if (c->match.dir > ST_IMP_DIR_TX)
		return fail(err, -EINVAL, FIELD(f, i, "match.direction"), "%u: expected any, rx "
			    "or tx", c->match.dir);
	if (c->match.port != ST_IMP_ANY16 && c->match.port >= ST_MAX_PORTS)
		return fail(err, -EINVAL, FIELD(f, i, "match.port"), "port index %u: expected "
			    "below %d", c->match.port, ST_MAX_PORTS);
	o->ip_version = c->match.ip_version;
	o->proto = c->match.proto;
	o->dir = c->match.dir;
	o->sport_lo = c->match.sport_lo;
	o->sport_hi = c->match.sport_hi;
	o->dport_lo = c->match.dport_lo;
	o->dport_hi = c->match.dport_hi;
	o->session = c->match.session;
	o->port = c->match.port;
	if (c->kind != ST_FAULT_IMPAIR)
		return 0;

	/* loss */
	o->loss_model = c->loss_model;
	o->ecn = c->ecn != 0;
	memcpy(o->loss, c->loss, sizeof(o->loss));
	o->loss_corr = c->loss_corr;
	switch (c->loss_model) {
	case ST_LOSS_NONE:
		break;
	case ST_LOSS_RANDOM:
		if ((rc = check_prob(c->loss[0], i, "loss.percent", err)) ||
		    (rc = check_corr(c->loss_corr, i, "loss.correlation", err)))
			return rc;
		break;
	case ST_LOSS_GEMODEL: {
		static const char *const n[] = { "loss.p", "loss.r", "loss.1-h", "loss.1-k" };

		for (int k = 0; k < 4; k++)
			if ((rc = check_prob(c->loss[k], i, n[k], err)))
				return rc;
		break;
	}
	case ST_LOSS_STATE: {
		static const char *const n[] = { "loss.p13", "loss.p31", "loss.p32", "loss.p23",
						 "loss.p14" };

		for (int k = 0; k < 5; k++)
			if ((rc = check_prob(c->loss[k], i, n[k], err)))
				return rc;
		if (c->loss[0] + c->loss[4] > 1)
			return fail(err, -EINVAL, FIELD(f, i, "loss.p14"), "p13 + p14 = %g: the "
				    "transitions out of state 1 exceed 1", c->loss[0] + c->loss[4]);
		if (c->loss[1] + c->loss[2] > 1)
			return fail(err, -EINVAL, FIELD(f, i, "loss.p32"), "p31 + p32 = %g: the "
				    "transitions out of state 3 exceed 1", c->loss[1] + c->loss[2]);
		break;
	}
	default:
		return fail(err, -EINVAL, FIELD(f, i, "loss.model"), "model %u: expected random, "
			    "gemodel or state", c->loss_model);
	}

	/* delay */
	if ((rc = check_time(c->delay_ns, i, "delay.time", err)) ||
	    (rc = check_time(c->jitter_ns, i, "delay.jitter", err)) ||
	    (rc = check_corr(c->delay_corr, i, "delay.correlation", err)))
		return rc;
	if (c->dist > ST_DIST_CUSTOM)
		return fail(err, -EINVAL, FIELD(f, i, "delay.distribution"), "distribution %u: "
			    "expected uniform, normal, pareto, paretonormal or a table", c->dist);
	o->dist = c->dist;
	o->delay_cyc = (double)c->delay_ns * cpn;
	o->jitter_cyc = (double)c->jitter_ns * cpn;
	if (c->jitter_ns > 0 && (c->dist == ST_DIST_PARETO || c->dist == ST_DIST_PARETONORMAL)) {
		o->table = make_table(c->dist, socket);
		o->table_len = ST_IMP_TABLE_N;
		if (o->table == NULL)
			return fail(err, -ENOMEM, FIELD(f, i, "delay.distribution"),
				    "no memory for the distribution table");
	} else if (c->jitter_ns > 0 && c->dist == ST_DIST_CUSTOM) {
		if ((rc = check_table(c, i, err)))
			return rc;
		o->table = rte_malloc_socket("st_imp_table", c->table_len * sizeof(double), 0, socket);
		if (o->table == NULL)
			return fail(err, -ENOMEM, FIELD(f, i, "delay.distribution"),
				    "no memory for the distribution table");
		memcpy(o->table, c->table, c->table_len * sizeof(double));
		o->table_len = c->table_len;
	}
	o->rho = latent_rho(o, c->delay_corr);
	o->rho_c = sqrt(1 - o->rho * o->rho);
	{
		double top = o->dist == ST_DIST_NORMAL ? ST_IMP_Z_CLAMP :
			     o->dist == ST_DIST_UNIFORM ? 1 :
			     o->table != NULL ? o->table[o->table_len - 1] : 0;

		o->max_delay_cyc = o->delay_cyc + o->jitter_cyc * top;
	}
	o->reorder_jitter = c->reorder_jitter != 0 && c->jitter_ns > 0;

	/* corruption, duplication, reordering */
	if ((rc = check_prob(c->corrupt, i, "corrupt.percent", err)) ||
	    (rc = check_corr(c->corrupt_corr, i, "corrupt.correlation", err)) ||
	    (rc = check_prob(c->duplicate, i, "duplicate.percent", err)) ||
	    (rc = check_corr(c->duplicate_corr, i, "duplicate.correlation", err)) ||
	    (rc = check_prob(c->reorder, i, "reorder.percent", err)) ||
	    (rc = check_corr(c->reorder_corr, i, "reorder.correlation", err)))
		return rc;
	if (c->corrupt > 0 && (c->corrupt_bits < 1 || c->corrupt_bits > ST_IMP_MAX_BITS))
		return fail(err, -EINVAL, FIELD(f, i, "corrupt.bits"), "%u bits: expected 1..%d",
			    c->corrupt_bits, ST_IMP_MAX_BITS);
	o->corrupt = c->corrupt;
	o->corrupt_corr = c->corrupt_corr;
	o->corrupt_bits = c->corrupt_bits;
	o->corrupt_offset = c->corrupt_offset;
	o->corrupt_fix = c->corrupt_fix_csum != 0;
	o->duplicate = c->duplicate;
	o->duplicate_corr = c->duplicate_corr;
	o->reorder = c->reorder;
	o->reorder_corr = c->reorder_corr;
	if (c->gap > 1000000000u)
		return fail(err, -EINVAL, FIELD(f, i, "reorder.gap"), "gap %u: expected at most "
			    "1e9", c->gap);
	o->gap = c->gap == 0 ? 1 : c->gap;
	if (c->reorder > 0 && c->delay_ns == 0 && c->jitter_ns == 0)
		return fail(err, -EINVAL, FIELD(f, i, "reorder.percent"), "reordering sends some "
			    "packets ahead of delayed ones: it needs a delay (as in netem)");

	/* rate */
	o->rate_mode = c->rate_mode;
	if (c->rate_mode > ST_RATE_POLICE)
		return fail(err, -EINVAL, FIELD(f, i, "rate.mode"), "mode %u: expected shape or "
			    "police", c->rate_mode);
	if (c->rate_mode != ST_RATE_NONE) {
		if (c->rate_bps < 8 || c->rate_bps > ST_IMP_MAX_RATE)
			return fail(err, -EINVAL, FIELD(f, i, "rate.rate"), "%" PRIu64 " bit/s: "
				    "expected 8 bit/s to 1 Tbit/s", c->rate_bps);
		if (c->overhead < -65535 || c->overhead > 65535)
			return fail(err, -EINVAL, FIELD(f, i, "rate.packetOverhead"), "%d bytes: "
				    "expected -65535..65535", c->overhead);
		if (c->cell_size > 65535)
			return fail(err, -EINVAL, FIELD(f, i, "rate.cellSize"), "%u bytes: "
				    "expected 0..65535", c->cell_size);
		if (c->cell_overhead < -65535 || c->cell_overhead > 65535)
			return fail(err, -EINVAL, FIELD(f, i, "rate.cellOverhead"), "%d bytes: "
				    "expected -65535..65535", c->cell_overhead);
		o->cyc_per_byte = 8.0 * hz / (double)c->rate_bps;
		o->overhead = c->overhead;
		o->cell_size = c->cell_size;
		o->cell_overhead = c->cell_overhead;
	}
	if (c->rate_mode == ST_RATE_POLICE) {
		/* rte_meter counts time in rte_get_tsc_hz() cycles: scale if the
		 * table is built for another clock */
		struct rte_meter_srtcm_params p = {
			.cir = (uint64_t)((double)c->rate_bps / 8 * (double)rte_get_tsc_hz() / hz),
			.cbs = c->burst_bytes ? c->burst_bytes : 65536,
			.ebs = 0,
		};

		if (p.cir == 0 || rte_meter_srtcm_profile_config(&o->meter, &p) != 0)
			return fail(err, -EINVAL, FIELD(f, i, "rate.burst"), "rte_meter refused rate "
				    "%" PRIu64 " bit/s with burst %" PRIu64 " bytes", c->rate_bps, p.cbs);
	}

	/* slotting */
	if ((rc = check_time(c->slot_min_ns, i, "slot.min", err)) ||
	    (rc = check_time(c->slot_max_ns, i, "slot.max", err)))
		return rc;
	if (c->slot_max_ns != 0 && c->slot_max_ns < c->slot_min_ns)
		return fail(err, -EINVAL, FIELD(f, i, "slot.max"), "%" PRIu64 " ns is below "
			    "slot.min (%" PRIu64 " ns)", c->slot_max_ns, c->slot_min_ns);
	o->slotting = c->slot_min_ns > 0 || c->slot_max_ns > 0;
	o->slot_min_cyc = (double)c->slot_min_ns * cpn;
	o->slot_max_cyc = (double)(c->slot_max_ns ? c->slot_max_ns : c->slot_min_ns) * cpn;
	o->slot_packets = c->slot_packets;
	o->slot_bytes = c->slot_bytes;
	if (o->reorder_jitter && (c->rate_mode == ST_RATE_SHAPE || o->slotting))
		return fail(err, -EINVAL, FIELD(f, i, "delay.reorder"), "reordering jitter cannot "
			    "be combined with rate shaping or slotting, which pace packets in order");

	o->delays = c->delay_ns > 0 || c->jitter_ns > 0 || c->rate_mode == ST_RATE_SHAPE ||
		    o->slotting;
	if (o->delays) {
		double max_s = (o->max_delay_cyc + o->slot_max_cyc) / hz;
		double need = c->limit ? c->limit :
			      ceil(max_s * tc->line_pps) + (c->rate_mode == ST_RATE_SHAPE ? 1024 : 0);

		if (need < 1)
			need = 1;
		if (need > tc->line_capacity)
			return fail(err, -EINVAL, FIELD(f, i, c->limit ? "limit" : "delay.time"),
				    "the delay line cannot hold this delay: up to %.3f ms at %u "
				    "packets/s needs %.0f packets, the line holds %u", max_s * 1e3,
				    tc->line_pps, need, tc->line_capacity);
		o->limit = (uint32_t)need;
		if (o->reorder_jitter &&
		    o->max_delay_cyc > (double)tc->wheel_span_ns * cpn * 0.9)
			return fail(err, -EINVAL, FIELD(f, i, "delay.jitter"), "reordering jitter "
				    "reaches %.3f ms, beyond 90 %% of the timing wheel's %.3f ms",
				    o->max_delay_cyc / hz * 1e3, (double)tc->wheel_span_ns / 1e6);
	}
	return 0;
}

struct st_fault_table *st_fault_table_build(const struct st_fault_table_conf *conf,
					    struct st_error *err)
{
	struct st_fault_table *t;
	uint64_t slots = 0;
	double hz;
	uint64_t held = 0;

	if (conf == NULL) {
		fail(err, -EINVAL, "faults", "no description");
		return NULL;
	}
	if (conf->nb_faults > ST_IMP_MAX_FAULTS || (conf->nb_faults && conf->faults == NULL)) {
		fail(err, -EINVAL, "faults", "%u faults: at most %d", conf->nb_faults,
		     ST_IMP_MAX_FAULTS);
		return NULL;
	}
	hz = (double)(conf->tsc_hz ? conf->tsc_hz : rte_get_tsc_hz());
	if (!(hz > 0)) {
		fail(err, -EINVAL, "tscHz", "no TSC frequency");
		return NULL;
	}
	t = rte_zmalloc("st_fault_table", sizeof(*t) + conf->nb_faults * sizeof(t->f[0]),
			RTE_CACHE_LINE_SIZE);
	if (t == NULL) {
		fail(err, -ENOMEM, "faults", "no memory for %u faults", conf->nb_faults);
		return NULL;
	}
	t->seed = conf->seed;
	t->generation = conf->generation;
	t->hz = (uint64_t)hz;
	for (unsigned int i = 0; i < conf->nb_faults; i++) {
		const struct st_fault_conf *c = &conf->faults[i];
		char f[96];

		t->nb = (uint16_t)(i + 1);   /* so that st_fault_table_free sees its tables */
		if (c->slot >= ST_IMP_MAX_FAULTS || (slots & (1ull << c->slot))) {
			fail(err, -EINVAL, FIELD(f, i, "slot"), "slot %u: expected a unique slot "
			     "below %d", c->slot, ST_IMP_MAX_FAULTS);
			goto out;
		}
		slots |= 1ull << c->slot;
		if (compile_fault(&t->f[i], c, i, conf, hz, SOCKET_ID_ANY, err) != 0)
			goto out;
		if (t->f[i].delays) {
			held += t->f[i].limit;
			if (held > conf->line_capacity) {
				fail(err, -EINVAL, FIELD(f, i, c->limit ? "limit" : "delay.time"),
				     "the delay line cannot hold this fault too: it needs %u packets, "
				     "%" PRIu64 " of the line's %u are taken by the faults before it",
				     t->f[i].limit, held - t->f[i].limit, conf->line_capacity);
				goto out;
			}
		}
	}
	t->nb = conf->nb_faults;
	for (unsigned int i = 0; i < t->nb; i++)
		t->grows |= t->f[i].duplicate > 0;
	return t;
out:
	st_fault_table_free(t);
	return NULL;
}

int st_fault_table_grows(const struct st_fault_table *t)
{
	return t != NULL && t->grows;
}

void st_fault_table_free(struct st_fault_table *t)
{
	if (t == NULL)
		return;
	for (unsigned int i = 0; i < t->nb; i++)
		rte_free(t->f[i].table);
	rte_free(t);
}

int st_fault_table_swap(struct st_fault_table **cur, struct st_fault_table *next,
			struct rte_rcu_qsbr *qs)
{
	struct st_fault_table *old = __atomic_exchange_n(cur, next, __ATOMIC_RELEASE);

	if (qs != NULL)
		rte_rcu_qsbr_synchronize(qs, RTE_QSBR_THRID_INVALID);
	st_fault_table_free(old);
	return next != NULL ? next->nb : 0;
}

uint16_t st_fault_table_size(const struct st_fault_table *t)
{
	return t != NULL ? t->nb : 0;
}

void st_fault_table_ident(const struct st_fault_table *t, uint16_t i, uint32_t *id,
			  uint16_t *slot)
{
	*id = t != NULL && i < t->nb ? t->f[i].id : 0;
	*slot = t != NULL && i < t->nb ? t->f[i].slot : 0;
}

uint32_t st_fault_table_limit(const struct st_fault_table *t, uint16_t i)
{
	return t != NULL && i < t->nb ? t->f[i].limit : 0;
}

/* ---- worker state ------------------------------------------------------------ */

struct st_impair_worker *st_impair_worker_create(uint32_t capacity, uint64_t wheel_span_ns,
						 uint64_t tsc_hz, uint16_t stream, int socket,
						 struct st_error *err)
{
	struct st_impair_worker *w;
	double hz = (double)(tsc_hz ? tsc_hz : rte_get_tsc_hz());

	if (capacity == 0 || capacity >= ST_DL_NIL) {
		fail(err, -EINVAL, "lineCapacity", "%u packets: expected 1..%u", capacity,
		     ST_DL_NIL - 1);
		return NULL;
	}
	if (wheel_span_ns == 0 || wheel_span_ns > ST_IMP_MAX_TIME_NS) {
		fail(err, -EINVAL, "wheelSpan", "%" PRIu64 " ns: expected 1 ns to 60 s", wheel_span_ns);
		return NULL;
	}
	w = rte_zmalloc_socket("st_impair_worker", sizeof(*w), RTE_CACHE_LINE_SIZE, socket);
	if (w == NULL) {
		fail(err, -ENOMEM, "lineCapacity", "no memory for the impair state");
		return NULL;
	}
	w->dl = st_dl_create(capacity, (uint64_t)((double)wheel_span_ns * hz / 1e9), socket);
	if (w->dl == NULL) {
		rte_free(w);
		fail(err, -ENOMEM, "lineCapacity", "no memory for a delay line of %u packets",
		     capacity);
		return NULL;
	}
	w->stream = stream;
	w->hz = (uint64_t)hz;
	w->ns_per_cycle = 1e9 / hz;
	return w;
}

void st_impair_worker_free(struct st_impair_worker *w)
{
	if (w == NULL)
		return;
	st_dl_free(w->dl);
	rte_free(w);
}

void st_impair_stats_add(const struct st_impair_worker *w, uint16_t slot,
			 struct st_fault_stats *out)
{
	const uint64_t *in;
	uint64_t *o = (uint64_t *)out;

	if (w == NULL || slot >= ST_IMP_MAX_FAULTS)
		return;
	in = (const uint64_t *)&w->stats[slot];
	/* every field is a uint64_t counter, read once (one writer) */
	for (size_t k = 0; k < sizeof(*out) / sizeof(uint64_t); k++)
		o[k] += __atomic_load_n(&in[k], __ATOMIC_RELAXED);
}

uint32_t st_impair_held(const struct st_impair_worker *w)
{
	return w != NULL ? w->dl->held : 0;
}
