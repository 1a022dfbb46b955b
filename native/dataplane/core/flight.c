/* SPDX-License-Identifier: BSD-3-Clause
 * The flight recorder (flight.h): the mapping and the fatal-signal handler.
 */
#include "flight.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

#include <rte_lcore.h>

#include "error.h"
#include "quarantine.h"

struct st_flight_file *st_flight_g;
struct st_test_crash st_test_crash_g;

void
st_test_crash_setup(void)
{
	const char *t = getenv("SHADOWTAP_TEST_CRASH");
	const char *stage = getenv("SHADOWTAP_TEST_CRASH_STAGE");
	size_t n = t != NULL ? strlen(t) : 0;

	if (n > sizeof(st_test_crash_g.bytes))
		n = sizeof(st_test_crash_g.bytes);

	memcpy(st_test_crash_g.bytes, t != NULL ? t : "", n);
	st_test_crash_g.stage = ST_FLIGHT_REWRITE;
	if (stage != NULL && strcmp(stage, "measure") == 0)
		st_test_crash_g.stage = ST_FLIGHT_MEASURE;
	else if (stage != NULL && strcmp(stage, "impair") == 0)
		st_test_crash_g.stage = ST_FLIGHT_IMPAIR;
	else if (stage != NULL && strcmp(stage, "fault_key") == 0)
		st_test_crash_g.stage = ST_FLIGHT_FAULT_KEY;
	st_test_crash_g.len = (uint8_t)n;
}

void
st_test_crash_hit(void)
{
	raise(SIGSEGV);
	abort();
}

static const int fatal_signals[] = { SIGSEGV, SIGBUS, SIGFPE, SIGILL, SIGABRT };
#define NB_FATAL (sizeof(fatal_signals) / sizeof(fatal_signals[0]))

static struct sigaction saved[NB_FATAL];
static uint8_t handlers_on;
static uint16_t worker_of_lcore[RTE_MAX_LCORE];
/* The handler runs on its own stack: a stack overflow is a fatal signal too. */
static uint8_t alt_stack[64 * 1024];

static int
fail(struct st_error *err, const char *code, int e, const char *what, const char *path)
{
	st_error_set(err, code, "flightPath", e, "cannot %s the flight recorder %s: %s", what, path,
		     strerror(e));
	return -e;
}

static uint64_t
now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);   /* async-signal-safe */
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static void
on_fatal(int sig, siginfo_t *si, void *uctx)
{
	struct st_flight_file *f = st_flight_g;
	const unsigned int lcore = rte_lcore_id();
	int w = -1;

	(void)uctx;
	/* SA_RESETHAND: a second fault in here takes the default action. */
	if (f != NULL && f->crash_signal == 0) {
		if (lcore < RTE_MAX_LCORE && worker_of_lcore[lcore] != 0)
			w = worker_of_lcore[lcore] - 1;
		f->crash_worker = w;
		f->crash_time_ns = now_ns();
		f->crash_fault_addr = (uint64_t)(uintptr_t)si->si_addr;
		f->crash_stage = w >= 0 ? f->slots[w].stage : ST_FLIGHT_IDLE;
		__atomic_store_n(&f->crash_signal, sig, __ATOMIC_RELEASE);
		if (w >= 0) {
			struct st_flight_slot *s = &f->slots[w];
			const struct rte_mbuf *m = s->pkt;

			s->signal = sig;
			s->fault_addr = f->crash_fault_addr;
			s->time_ns = f->crash_time_ns;
			s->crashed = 1;
			if (m != NULL) {
				/* Bounded by the mbuf's own lengths and its buffer:
				 * the rx check has held them to the chain. */
				uint32_t n = m->data_len;

				if (n > m->pkt_len)
					n = m->pkt_len;
				if ((uint32_t)m->data_off + n > m->buf_len)
					n = m->buf_len > m->data_off ? (uint32_t)(m->buf_len - m->data_off) : 0;
				s->pkt_len = m->pkt_len;
				if (n > ST_FLIGHT_SNAP)
					n = ST_FLIGHT_SNAP;
				memcpy(s->data, rte_pktmbuf_mtod(m, const uint8_t *), n);
				s->cap_len = n;
				s->signature = st_mbuf_signature(m);
			}
		}
	}
	raise(sig);
}

int
st_flight_open(const char *path, uint16_t nb_workers, const uint16_t *lcores,
	       struct st_error *err)
{
	struct st_flight_file *f;
	struct sigaction sa;
	stack_t ss;
	size_t i;
	int fd;

	if (nb_workers > ST_MAX_WORKERS) {
		st_error_set(err, "ST_ERR_PLAN_INVALID", "nbWorkers", EINVAL,
			     "%u workers, the flight recorder holds %u", nb_workers, ST_MAX_WORKERS);
		return -EINVAL;
	}
	st_flight_close();
	fd = open(path, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (fd < 0)
		return fail(err, "ST_ERR_RUN_DIR", errno, "create", path);
	if (ftruncate(fd, sizeof(*f)) != 0) {
		int e = errno;

		close(fd);
		return fail(err, "ST_ERR_RUN_DIR", e, "size", path);
	}
	f = mmap(NULL, sizeof(*f), PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	close(fd);
	if (f == MAP_FAILED)
		return fail(err, "ST_ERR_RUN_DIR", errno, "map", path);
	memset(f, 0, sizeof(*f));
	f->version = ST_FLIGHT_VERSION;
	f->slot_size = sizeof(struct st_flight_slot);
	f->nb_workers = nb_workers;
	f->pid = (uint32_t)getpid();
	f->crash_worker = -1;
	memset(worker_of_lcore, 0, sizeof(worker_of_lcore));
	for (i = 0; i < nb_workers; i++) {
		f->slots[i].lcore = lcores[i];
		if (lcores[i] < RTE_MAX_LCORE)
			worker_of_lcore[lcores[i]] = (uint16_t)(i + 1);
	}
	__atomic_store_n(&f->magic, ST_FLIGHT_MAGIC, __ATOMIC_RELEASE);
	st_flight_g = f;

	ss.ss_sp = alt_stack;
	ss.ss_size = sizeof(alt_stack);
	ss.ss_flags = 0;
	sigaltstack(&ss, NULL);
	memset(&sa, 0, sizeof(sa));
	sa.sa_sigaction = on_fatal;
	sa.sa_flags = SA_SIGINFO | SA_ONSTACK | SA_RESETHAND | SA_NODEFER;
	sigemptyset(&sa.sa_mask);
	for (i = 0; i < NB_FATAL; i++)
		sigaction(fatal_signals[i], &sa, &saved[i]);
	handlers_on = 1;
	return 0;
}

void
st_flight_close(void)
{
	size_t i;

	if (handlers_on) {
		for (i = 0; i < NB_FATAL; i++)
			sigaction(fatal_signals[i], &saved[i], NULL);
		handlers_on = 0;
	}
	if (st_flight_g != NULL) {
		munmap(st_flight_g, sizeof(*st_flight_g));
		st_flight_g = NULL;
	}
}
