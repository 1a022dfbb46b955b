/* SPDX-License-Identifier: BSD-3-Clause
 * Installing the NIC MARKs the software path honours (marks.h): checked,
 * built, published and swapped with the same RCU as the policy, but on its
 * own (a MARK table change never recompiles the policy).
 */
#include <errno.h>
#include <pthread.h>
#include <string.h>

#include <rte_malloc.h>
#include <rte_rcu_qsbr.h>

#include "error.h"
#include "field_check.h"
#include "dp.h"
#include "marks.h"

int
st_dp_marks_install(const struct st_mark_conf *marks, uint32_t nb, struct st_error *err)
{
	struct st_dp *g = &st_dp_g;
	struct st_marks *mk = NULL, *old;
	uint32_t i;
	int s;

	st_error_clear(err);
	if (nb != 0 && marks == NULL)
		return ST_INVALID(err, "marks|no marks given");
	if (nb > ST_MAX_MARKS)
		return st_field_count_error(err, "marks", ST_MAX_MARKS, nb);
	for (i = 0; i < nb; i++) {
		const struct st_mark_conf *m = &marks[i];
		int rc;

		if ((rc = st_field_int(err, m->port, 0, ST_MAX_PORTS - 1, "marks[%u].port", i)) != 0 ||
		    (rc = st_field_int(err, m->slot, 0, ST_MAX_SESSIONS - 1, "marks[%u].slot", i)) != 0 ||
		    (rc = st_field_int(err, m->kind, ST_MARK_KIND_NIC_DECIDED, ST_MARK_KIND_NIC_COPY,
				       "marks[%u].kind", i)) != 0)
			return rc;
	}
	pthread_mutex_lock(&g->policy_lock);
	s = st_dp_state_get();
	if (s == ST_DP_NO_EAL || s == ST_DP_CLEANED) {
		pthread_mutex_unlock(&g->policy_lock);
		st_error_set(err, "ST_ERR_EAL_NOT_READY", "", ENODEV,
			     "MARKs need EAL: initialise it first");
		return -ENODEV;
	}
	if (nb != 0) {
		mk = rte_zmalloc("st_marks", sizeof(*mk), RTE_CACHE_LINE_SIZE);
		if (mk == NULL) {
			pthread_mutex_unlock(&g->policy_lock);
			return st_error_fieldf(err, "ST_ERR_NOMEM", ENOMEM, "marks|out of memory for the MARK table");
		}
		for (i = 0; i < nb; i++) {
			mk->on[marks[i].port] = 1;
			mk->kind[marks[i].port][marks[i].slot] |= marks[i].kind;
		}
	}
	old = g->marks;
	__atomic_store_n(&g->marks, mk, __ATOMIC_RELEASE);
	if (old != NULL && g->rcu != NULL)
		rte_rcu_qsbr_synchronize(g->rcu, RTE_QSBR_THRID_INVALID);
	rte_free(old);
	pthread_mutex_unlock(&g->policy_lock);
	return 0;
}
