/* SPDX-License-Identifier: BSD-3-Clause
 * The field-check messages of start plans, policies and MARK tables, each worded
 * once, here (field_check.c). The C checks (st_start_plan_check, st_policy_check,
 * st_dp_marks_install) use them for ranges; the binding (native/binding)
 * uses them for what only it can see: a JS value of the wrong type, or an
 * array longer than the C struct holds. So a value out of range reads the
 * same whichever side finds it. All are ST_ERR_PLAN_INVALID (errnum EINVAL),
 * name the field, and return -EINVAL.
 */
#ifndef ST_FIELD_CHECK_H
#define ST_FIELD_CHECK_H

#include <stdint.h>

#include "st_dataplane.h"

#ifdef __cplusplus
extern "C" {
#endif

/* "<field>: expected an integer <min>..<max>, got <got>" */
int st_field_int_error(struct st_error *err, const char *field, int64_t min, int64_t max,
		       const char *got);
/* The same for v when it is outside min..max (0 when it is inside); the
 * field is formatted only then. */
int st_field_int(struct st_error *err, int64_t v, int64_t min, int64_t max,
		 const char *field_fmt, ...)
#ifndef __cplusplus
	__attribute__((format(printf, 5, 6)))
#endif
	;
/* "<field>: expected at most <max> entries, got <n>" */
int st_field_count_error(struct st_error *err, const char *field, uint64_t max, uint64_t n);
/* "<field>: expected <min>..<max> bytes, got <n>" */
int st_field_bytes_error(struct st_error *err, const char *field, uint64_t min, uint64_t max,
			 uint64_t n);
/* "<field>: <what>", e.g. "expected at least one port" */
int st_field_error(struct st_error *err, const char *field, const char *what);

#ifdef __cplusplus
}
#endif

#endif /* ST_FIELD_CHECK_H */
