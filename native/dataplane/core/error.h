/* SPDX-License-Identifier: BSD-3-Clause
 * Filling struct st_error (st_dataplane.h): the one place every data-plane
 * file sets an error from, so no file needs another's internals for it.
 */
#ifndef ST_ERROR_H
#define ST_ERROR_H

#include <errno.h>

#include <rte_common.h>

#include "st_dataplane.h"

void st_error_set(struct st_error *err, const char *code, const char *field,
		  int errnum, const char *fmt, ...) __rte_format_printf(5, 6);
void st_error_clear(struct st_error *err);

/* Like st_error_set with the field formatted along with the message: fmt is
 * "field|message", and the message becomes "field: message", so a check
 * names its field in one call. Returns -errnum. */
int st_error_fieldf(struct st_error *err, const char *code, int errnum,
		    const char *fmt, ...) __rte_format_printf(4, 5);

/* The start plan or policy a caller gave is invalid ("field|message"). */
#define ST_INVALID(err, ...) st_error_fieldf(err, "ST_ERR_PLAN_INVALID", EINVAL, __VA_ARGS__)

#endif /* ST_ERROR_H */
