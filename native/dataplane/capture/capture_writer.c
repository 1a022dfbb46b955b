/* SPDX-License-Identifier: BSD-3-Clause
 * The capture port's writer (capture.h): one EAL control thread per capture
 * port, never a worker lcore. It drains the tx queues' rings, turns each
 * copy into a pcapng Enhanced Packet Block with librte_pcapng
 * (rte_pcapng_copy: into its own small pool, so the shadow copy goes back
 * to its pool at once) and writes them in batches (rte_pcapng_write_packets,
 * one writev).
 *
 * Files are rotated the way tcpdump's -C, -G and -W rotate them, with three
 * differences that keep every byte once written:
 * - a file is never opened over an existing one (O_EXCL): a name already
 *   taken gets the next ".N" suffix, so a restart, a clock step or a name
 *   without a time in it never truncates (tcpdump -W reuses its names);
 * - -C: a record that would take the file past `size` goes to a new file
 *   (tcpdump checks after writing, so its files pass -C by one packet);
 * - -W: the oldest files of this capture are removed (never overwritten)
 *   so that at most `count` remain, counting the files of earlier runs.
 * Time (-G) is the packets' own: a record stamped `seconds` or more after
 * the current file began goes to a new file, named by its time in UTC (so a
 * daylight-saving change never repeats a name), and that file's period
 * begins with it. Rotation closes the old file with fsync and syncs the
 * directory, so what a rotation reports is on disk.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <rte_cycles.h>
#include <rte_errno.h>
#include <rte_lcore.h>
#include <rte_log.h>
#include <rte_mbuf.h>
#include <rte_mempool.h>
#include <rte_pcapng.h>
#include <rte_ring.h>
#include <rte_ring_elem.h>

#include "capture_int.h"

#define CAP_LOG(level, d, fmt, ...) \
	RTE_LOG(level, USER1, ST_CAP_DRIVER ": %s: " fmt "\n", (d)->name, ##__VA_ARGS__)

#undef NS_PER_S
#define NS_PER_S UINT64_C(1000000000)
/* After a file cannot be opened or written, copies are counted as lost for
 * this long before the next try (a full disk must not cost a syscall each). */
#define RETRY_NS (1 * NS_PER_S)
/* The writer naps this long when every ring was empty. */
#define IDLE_NAP_US 200

static uint64_t
now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (uint64_t)ts.tv_sec * NS_PER_S + (uint64_t)ts.tv_nsec;
}

/* Wall-clock time of a TSC reading, from an anchor (a TSC reading and the
 * wall clock at that moment) taken again every ANCHOR_NS so that an error
 * in the TSC rate or a clock adjustment never accumulates. */
#define ANCHOR_NS (10 * NS_PER_S)

static void
anchor(struct st_cap_dev *d)
{
	d->anchor_tsc = rte_rdtsc();
	d->anchor_ns = now_ns();
}

static uint64_t
tsc_to_ns(const struct st_cap_dev *d, uint64_t tsc)
{
	const uint64_t hz = d->tsc_hz;

	if (tsc >= d->anchor_tsc) {
		uint64_t delta = tsc - d->anchor_tsc;

		return d->anchor_ns + delta / hz * NS_PER_S + delta % hz * NS_PER_S / hz;
	} else {
		/* sent just before the anchor was taken */
		uint64_t delta = d->anchor_tsc - tsc;
		uint64_t back = delta / hz * NS_PER_S + delta % hz * NS_PER_S / hz;

		return back < d->anchor_ns ? d->anchor_ns - back : 0;
	}
}

static int
mkdir_p(const char *dir)
{
	char buf[PATH_MAX];
	size_t len = strlen(dir);

	if (len == 0 || len >= sizeof(buf))
		return len == 0 ? 0 : -ENAMETOOLONG;
	memcpy(buf, dir, len + 1);
	for (char *p = buf + 1; *p != '\0'; p++) {
		if (*p != '/')
			continue;
		*p = '\0';
		if (mkdir(buf, 0755) != 0 && errno != EEXIST)
			return -errno;
		*p = '/';
	}
	if (mkdir(buf, 0755) != 0 && errno != EEXIST)
		return -errno;
	return 0;
}

static void
split(const char *path, char *dir, char *base)
{
	char a[PATH_MAX], b[PATH_MAX];

	snprintf(a, sizeof(a), "%s", path);
	snprintf(b, sizeof(b), "%s", path);
	snprintf(dir, PATH_MAX, "%s", dirname(a));
	snprintf(base, PATH_MAX, "%s", basename(b));
}

static void
sync_dir(const char *dir)
{
	int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);

	if (fd >= 0) {
		(void)fsync(fd);
		close(fd);
	}
}

/* The sequence a new file of name `base` in `dir` takes: 0 (the name itself)
 * when neither it nor any base.N exists, else one past the highest, so a
 * removed older file's number is never given out again. */
static uint64_t
next_seq(const char *dir, const char *base)
{
	size_t blen = strlen(base);
	uint64_t top = 0;
	bool any = false;
	DIR *dh = opendir(dir);
	struct dirent *e;

	if (dh == NULL)
		return 0;
	while ((e = readdir(dh)) != NULL) {
		const char *s = e->d_name;
		uint64_t n = 0;

		if (strncmp(s, base, blen) != 0)
			continue;
		s += blen;
		if (*s == '\0') {
			any = true;
			continue;
		}
		if (*s++ != '.' || *s == '\0' || *s == '0')
			continue;
		for (; *s >= '0' && *s <= '9' && n < UINT64_MAX / 10 - 9; s++)
			n = n * 10 + (uint64_t)(*s - '0');
		if (*s != '\0')
			continue;
		any = true;
		if (n > top)
			top = n;
	}
	closedir(dh);
	return any ? top + 1 : 0;
}

struct old_file {
	char name[256];
	uint64_t mtime_ns;
	uint64_t seq;
};

static int
older(const void *a, const void *b)
{
	const struct old_file *x = a, *y = b;

	if (x->mtime_ns != y->mtime_ns)
		return x->mtime_ns < y->mtime_ns ? -1 : 1;
	if (x->seq != y->seq)
		return x->seq < y->seq ? -1 : 1;
	return strcmp(x->name, y->name);
}

/* -W: remove this capture's oldest files (by modification time, then
 * sequence) until `count` remain; the open file is never one of them. */
static void
enforce_count(struct st_cap_dev *d)
{
	char dir[PATH_MAX], pattern[PATH_MAX], cur_dir[PATH_MAX], cur[PATH_MAX];
	struct old_file *files = NULL;
	size_t n = 0, cap = 0, removed = 0;
	DIR *dh;
	struct dirent *e;

	if (d->conf.count == 0)
		return;
	split(d->conf.path, dir, pattern);
	split(d->file.path, cur_dir, cur);
	dh = opendir(dir);
	if (dh == NULL)
		return;
	while ((e = readdir(dh)) != NULL) {
		struct stat st;
		uint64_t seq;
		char full[PATH_MAX];

		if (!st_capture_name_matches(pattern, e->d_name, &seq) || strcmp(e->d_name, cur) == 0 ||
		    strlen(e->d_name) >= sizeof(files[0].name))
			continue;
		if ((size_t)snprintf(full, sizeof(full), "%s/%s", dir, e->d_name) >= sizeof(full) ||
		    lstat(full, &st) != 0 || !S_ISREG(st.st_mode))
			continue;
		if (n == cap) {
			struct old_file *f = realloc(files, (cap = cap ? cap * 2 : 64) * sizeof(*f));

			if (f == NULL)
				break;
			files = f;
		}
		snprintf(files[n].name, sizeof(files[n].name), "%s", e->d_name);
		files[n].mtime_ns = (uint64_t)st.st_mtim.tv_sec * NS_PER_S + (uint64_t)st.st_mtim.tv_nsec;
		files[n].seq = seq;
		n++;
	}
	closedir(dh);
	/* the open file is one of the `count` */
	if (n + 1 > d->conf.count) {
		qsort(files, n, sizeof(*files), older);
		for (size_t i = 0; i < n + 1 - d->conf.count; i++) {
			char full[PATH_MAX];

			if ((size_t)snprintf(full, sizeof(full), "%s/%s", dir, files[i].name) >= sizeof(full))
				continue;
			if (unlink(full) == 0) {
				removed++;
				CAP_LOG(INFO, d, "removed %s (keeping %u files)", full, d->conf.count);
			} else {
				CAP_LOG(WARNING, d, "cannot remove %s: %s", full, strerror(errno));
			}
		}
	}
	free(files);
	if (removed != 0) {
		d->ctr.files_removed += removed;
		sync_dir(dir);
	}
}

/* Open the file whose period begins at t (ns): its name from the path's
 * strftime conversions in UTC, then ".N" if taken. Never over an existing file. */
static int
open_file(struct st_cap_dev *d, uint64_t t)
{
	char expanded[PATH_MAX], dir[PATH_MAX], base[PATH_MAX], path[PATH_MAX];
	time_t secs = (time_t)(t / NS_PER_S);
	struct tm tm;
	struct stat st;
	rte_pcapng_t *pc;
	uint64_t seq;
	int fd = -1, rc;

	if (gmtime_r(&secs, &tm) == NULL || strftime(expanded, sizeof(expanded), d->conf.path, &tm) == 0) {
		CAP_LOG(ERR, d, "cannot expand the file name %s", d->conf.path);
		return -EINVAL;
	}
	split(expanded, dir, base);
	rc = mkdir_p(dir);
	if (rc != 0) {
		CAP_LOG(ERR, d, "cannot create the directory %s: %s", dir, strerror(-rc));
		return rc;
	}
	seq = next_seq(dir, base);
	for (int tries = 0; tries < 1000 && fd < 0; tries++, seq++) {
		if (seq == 0)
			snprintf(path, sizeof(path), "%s", expanded);
		else if ((size_t)snprintf(path, sizeof(path), "%s.%" PRIu64, expanded, seq) >= sizeof(path))
			return -ENAMETOOLONG;
		fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
		if (fd < 0 && errno != EEXIST) {
			rc = -errno;
			CAP_LOG(ERR, d, "cannot create %s: %s", path, strerror(errno));
			return rc;
		}
	}
	if (fd < 0)
		return -EEXIST;
	pc = rte_pcapng_fdopen(fd, NULL, NULL, "shadowtap", d->name);
	if (pc == NULL) {
		rc = rte_errno != 0 ? -rte_errno : -EIO;
		CAP_LOG(ERR, d, "cannot start the pcapng file %s: %s", path, rte_strerror(-rc));
		close(fd);
		return rc;
	}
	d->file.fd = fd;
	d->file.pc = pc;
	snprintf(d->file.path, sizeof(d->file.path), "%s", path);
	d->file.size = fstat(fd, &st) == 0 ? (uint64_t)st.st_size : 0;
	d->file.packets = 0;
	d->file.start_ns = t;
	sync_dir(dir);
	CAP_LOG(INFO, d, "writing %s", path);
	enforce_count(d);
	return 0;
}

/* Close with fsync: a file the writer has left is on disk. */
static void
close_file(struct st_cap_dev *d)
{
	if (d->file.fd < 0)
		return;
	if (fsync(d->file.fd) != 0)
		CAP_LOG(WARNING, d, "fsync %s: %s", d->file.path, strerror(errno));
	rte_pcapng_close(d->file.pc); /* closes the fd */
	d->file.pc = NULL;
	d->file.fd = -1;
}

static void
flush(struct st_cap_dev *d, struct rte_mbuf **batch, unsigned int *nb)
{
	uint64_t want = 0;
	ssize_t got;

	if (*nb == 0)
		return;
	for (unsigned int i = 0; i < *nb; i++)
		want += rte_pktmbuf_pkt_len(batch[i]);
	got = d->file.fd >= 0 ? rte_pcapng_write_packets(d->file.pc, batch, (uint16_t)*nb) : -1;
	if (got >= 0 && (uint64_t)got == want) {
		d->ctr.packets += *nb;
		d->ctr.bytes += want;
	} else {
		CAP_LOG(ERR, d, "writing %u records to %s failed (%zd of %" PRIu64 " bytes): %s; "
			"a new file is tried in a second", *nb, d->file.path, got, want,
			got < 0 ? rte_strerror(rte_errno) : "short write");
		d->ctr.write_errors += *nb;
		close_file(d);
		d->retry_ns = now_ns() + RETRY_NS;
	}
	rte_pktmbuf_free_bulk(batch, *nb);
	*nb = 0;
}

static bool
rotation_due(const struct st_cap_dev *d, uint64_t ts, uint32_t blk)
{
	if (d->conf.seconds != 0 && ts >= d->file.start_ns + (uint64_t)d->conf.seconds * NS_PER_S)
		return true;
	/* a record larger than the bound alone still gets a file of its own */
	return d->conf.size != 0 && d->file.packets != 0 && d->file.size + blk > d->conf.size;
}

static void
handle(struct st_cap_dev *d, uint16_t q, const struct st_cap_elem *e, struct rte_mbuf **batch,
       unsigned int *nb)
{
	struct rte_mbuf *c = rte_pcapng_copy(d->port_id, q, e->m, d->pool, d->conf.snaplen, e->tsc,
					     RTE_PCAPNG_DIRECTION_OUT);
	uint32_t *epb;
	uint64_t ts;
	uint32_t blk;

	rte_pktmbuf_free(e->m);
	if (c == NULL) {
		d->ctr.nomem++;
		return;
	}
	/* The record's timestamp is ours (pcapng EPB: block length at word 1,
	 * timestamp high and low at words 3 and 4): DPDK 22.11.11's own TSC
	 * conversion gives times centuries off here (its clock is set up
	 * before EAL knows the TSC rate). Rotation follows exactly what the
	 * file says. */
	epb = rte_pktmbuf_mtod(c, uint32_t *);
	blk = epb[1];
	ts = tsc_to_ns(d, e->tsc);
	epb[3] = (uint32_t)(ts >> 32);
	epb[4] = (uint32_t)ts;
	if (d->file.fd >= 0 && rotation_due(d, ts, blk)) {
		flush(d, batch, nb);
		close_file(d);
		d->ctr.rotations++;
	}
	if (d->file.fd < 0) {
		uint64_t now = now_ns();

		if (now < d->retry_ns || open_file(d, ts) != 0) {
			if (now >= d->retry_ns)
				d->retry_ns = now + RETRY_NS;
			d->ctr.write_errors++;
			rte_pktmbuf_free(c);
			return;
		}
	}
	batch[(*nb)++] = c;
	d->file.size += blk;
	d->file.packets++;
	if (*nb == CAP_BATCH)
		flush(d, batch, nb);
}

/* One pass over every queue's ring; returns the copies taken. */
static unsigned int
drain(struct st_cap_dev *d)
{
	struct st_cap_elem e[CAP_BATCH];
	struct rte_mbuf *batch[CAP_BATCH];
	unsigned int nb = 0, total = 0;

	for (uint16_t q = 0; q < d->nb_txq; q++) {
		unsigned int n;

		if (d->txq[q].ring == NULL)
			continue;
		n = rte_ring_dequeue_burst_elem(d->txq[q].ring, e, sizeof(e[0]), CAP_BATCH, NULL);
		for (unsigned int i = 0; i < n; i++)
			handle(d, q, &e[i], batch, &nb);
		total += n;
	}
	flush(d, batch, &nb);
	return total;
}

static void *
writer_main(void *arg)
{
	struct st_cap_dev *d = arg;

	while (!__atomic_load_n(&d->stop, __ATOMIC_ACQUIRE)) {
		if (now_ns() - d->anchor_ns >= ANCHOR_NS)
			anchor(d);
		if (drain(d) == 0) {
			struct timespec nap = { 0, IDLE_NAP_US * 1000 };

			nanosleep(&nap, NULL);
		}
	}
	/* The workers have stopped sending: write what is left, then close. */
	while (drain(d) != 0)
		;
	close_file(d);
	return NULL;
}

int
st_cap_writer_start(struct st_cap_dev *d)
{
	char name[RTE_MEMPOOL_NAMESIZE];
	static uint32_t seq;
	uint32_t room = RTE_PKTMBUF_HEADROOM + rte_pcapng_mbuf_size(d->conf.snaplen);
	int rc;

	if (room > UINT16_MAX)
		return -EINVAL;
	snprintf(name, sizeof(name), "stcap%u_%u", d->port_id, __atomic_fetch_add(&seq, 1, __ATOMIC_RELAXED));
	/* A batch waiting for its write plus the record being made. */
	d->pool = rte_pktmbuf_pool_create(name, 2 * CAP_BATCH - 1, 0, 0, (uint16_t)room, (int)rte_socket_id());
	if (d->pool == NULL) {
		CAP_LOG(ERR, d, "cannot create the pool of pcapng records: %s", rte_strerror(rte_errno));
		return -ENOMEM;
	}
	d->file.fd = -1;
	d->retry_ns = 0;
	d->tsc_hz = rte_get_tsc_hz();
	if (d->tsc_hz == 0)
		d->tsc_hz = 1;
	anchor(d);
	/* The first file now, so a path that cannot be written fails the start. */
	rc = open_file(d, now_ns());
	if (rc != 0)
		goto fail;
	__atomic_store_n(&d->stop, 0, __ATOMIC_RELEASE);
	snprintf(name, sizeof(name), "stcap-%u", d->port_id);
	rc = rte_ctrl_thread_create(&d->writer, name, NULL, writer_main, d);
	if (rc != 0) {
		CAP_LOG(ERR, d, "cannot start the writer thread: %s", strerror(rc));
		close_file(d);
		rc = -rc;
		goto fail;
	}
	d->writer_running = true;
	return 0;
fail:
	rte_mempool_free(d->pool);
	d->pool = NULL;
	return rc;
}

void
st_cap_writer_stop(struct st_cap_dev *d)
{
	if (d->writer_running) {
		__atomic_store_n(&d->stop, 1, __ATOMIC_RELEASE);
		pthread_join(d->writer, NULL);
		d->writer_running = false;
	}
	close_file(d);
	rte_mempool_free(d->pool);
	d->pool = NULL;
}
