/* SPDX-License-Identifier: BSD-3-Clause
 * The field-check messages (field_check.h).
 */
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>

#include "error.h"
#include "field_check.h"

int
st_field_int_error(struct st_error *err, const char *field, int64_t min, int64_t max,
		   const char *got)
{
	return st_error_fieldf(err, "ST_ERR_PLAN_INVALID", EINVAL,
			       "%s|expected an integer %" PRId64 "..%" PRId64 ", got %s", field,
			       min, max, got);
}

int
st_field_int(struct st_error *err, int64_t v, int64_t min, int64_t max, const char *field_fmt,
	     ...)
{
	char field[96], got[24];
	va_list ap;

	if (v >= min && v <= max)
		return 0;
	va_start(ap, field_fmt);
	vsnprintf(field, sizeof(field), field_fmt, ap);
	va_end(ap);
	snprintf(got, sizeof(got), "%" PRId64, v);
	return st_field_int_error(err, field, min, max, got);
}

int
st_field_count_error(struct st_error *err, const char *field, uint64_t max, uint64_t n)
{
	return st_error_fieldf(err, "ST_ERR_PLAN_INVALID", EINVAL,
			       "%s|expected at most %" PRIu64 " entries, got %" PRIu64, field, max, n);
}

int
st_field_bytes_error(struct st_error *err, const char *field, uint64_t min, uint64_t max,
		     uint64_t n)
{
	return st_error_fieldf(err, "ST_ERR_PLAN_INVALID", EINVAL,
			       "%s|expected %" PRIu64 "..%" PRIu64 " bytes, got %" PRIu64, field, min,
			       max, n);
}

int
st_field_error(struct st_error *err, const char *field, const char *what)
{
	return st_error_fieldf(err, "ST_ERR_PLAN_INVALID", EINVAL, "%s|%s", field, what);
}
