/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The lock file, ZDEDUP_LOCK_FILE: one zdedup-loader at a time changes the
 * live state.
 *
 * A load reads the state (what is attached, what is pinned), then changes
 * it in several steps (attach, pin maps, pin the info record, pin the
 * link); two loads interleaving those steps would each see the other's
 * half-made pins as stale, remove them, and leave orphans or nothing.  So
 * every command that changes the state holds an exclusive flock() on the
 * lock file from before it reads the state until it exits, and commands
 * that only read it hold a shared one, so that they never see a state
 * half made.  The lock dies with the process: a killed loader never leaves
 * it held.
 */
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/file.h>
#include <sys/stat.h>
#include "zdedup-loader.h"

static int lock_fd = -1;

static int open_lock_file(enum lock_kind kind)
{
	int fd;

	fd = open(ZDEDUP_LOCK_FILE, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0644);
	if (fd < 0 && errno == ENOENT) {
		/* No /run (a minimal system): make it, as systemd would. */
		if (!mkdir("/run", 0755) || errno == EEXIST)
			fd = open(ZDEDUP_LOCK_FILE, O_RDWR | O_CREAT | O_CLOEXEC |
				  O_NOFOLLOW, 0644);
	}
	if (fd < 0 && kind == LOCK_SHARED && (errno == EACCES || errno == EROFS))
		fd = open(ZDEDUP_LOCK_FILE, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	return fd < 0 ? -errno : fd;
}

int lock_take(enum lock_kind kind)
{
	const int op = kind == LOCK_EXCLUSIVE ? LOCK_EX : LOCK_SH;
	struct timespec start, now, nap = { 0, 20 * 1000 * 1000 };
	bool told = false;
	int fd;

	if (lock_fd >= 0)
		return 0;
	fd = open_lock_file(kind);
	if (fd < 0) {
		/* Readers may go on without it: they change nothing. */
		if (kind == LOCK_SHARED)
			return 0;
		if (is_perm_error(fd))
			p_err("cannot open the lock file %s: %s: changing the dedup policy "
			      "needs root", ZDEDUP_LOCK_FILE, strerror(-fd));
		else
			p_err("cannot open the lock file %s: %s", ZDEDUP_LOCK_FILE,
			      strerror(-fd));
		return fd;
	}
	clock_gettime(CLOCK_MONOTONIC, &start);
	while (flock(fd, op | LOCK_NB)) {
		int e = errno;

		if (e != EWOULDBLOCK && e != EINTR) {
			p_err("cannot lock %s: %s", ZDEDUP_LOCK_FILE, strerror(e));
			close(fd);
			return -e;
		}
		clock_gettime(CLOCK_MONOTONIC, &now);
		if (now.tv_sec - start.tv_sec >= ZDEDUP_LOCK_WAIT_S) {
			p_err("another zdedup-loader has held %s for %d s; try again once "
			      "it is done (fuser %s shows who)", ZDEDUP_LOCK_FILE,
			      ZDEDUP_LOCK_WAIT_S, ZDEDUP_LOCK_FILE);
			close(fd);
			return -ETIMEDOUT;
		}
		if (!told && now.tv_sec - start.tv_sec >= 2) {
			note("waiting for another zdedup-loader (%s)", ZDEDUP_LOCK_FILE);
			told = true;
		}
		nanosleep(&nap, NULL);
	}
	lock_fd = fd;
	return 0;
}

void lock_release(void)
{
	if (lock_fd >= 0)
		close(lock_fd);	/* drops the flock */
	lock_fd = -1;
}
