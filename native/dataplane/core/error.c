/* SPDX-License-Identifier: BSD-3-Clause
 * The error helper (error.h).
 */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "error.h"

void
st_error_clear(struct st_error *err)
{
	if (err == NULL)
		return;
	memset(err, 0, sizeof(*err));
}

void
st_error_set(struct st_error *err, const char *code, const char *field,
	     int errnum, const char *fmt, ...)
{
	va_list ap;

	if (err == NULL)
		return;
	snprintf(err->code, sizeof(err->code), "%s", code);
	snprintf(err->field, sizeof(err->field), "%s", field ? field : "");
	err->errnum = errnum;
	va_start(ap, fmt);
	vsnprintf(err->message, sizeof(err->message), fmt, ap);
	va_end(ap);
}

int
st_error_fieldf(struct st_error *err, const char *code, int errnum, const char *fmt, ...)
{
	char buf[ST_ERR_MSG_LEN + 96];
	char field[96];
	const char *bar;
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	bar = strchr(buf, '|');
	if (bar == NULL) {
		st_error_set(err, code, "", errnum, "%s", buf);
		return -errnum;
	}
	snprintf(field, sizeof(field), "%.*s", (int)(bar - buf), buf);
	st_error_set(err, code, field, errnum, "%s: %s", field, bar + 1);
	return -errnum;
}
