// SPDX-License-Identifier: GPL-2.0
#define _GNU_SOURCE
#include <errno.h>
#include <sched.h>
#include <sys/mman.h>

#include "pageout.h"

/*
 * MADV_PAGEOUT only drains this CPU's LRU batches (lru_add_drain()): pages
 * the process faulted in on another CPU may still sit in that CPU's batch,
 * off the LRU, and are silently skipped (up to a batch, 31 pages).  So page
 * out once on every CPU the process may run on; the passes after the first
 * find only those pages left.
 */
int zu_pageout(void *buf, size_t len)
{
	cpu_set_t allowed, one;
	int ret = 0;

	if (sched_getaffinity(0, sizeof(allowed), &allowed))
		return madvise(buf, len, MADV_PAGEOUT) ? -errno : 0;
	for (int cpu = 0; cpu < CPU_SETSIZE && !ret; cpu++) {
		if (!CPU_ISSET(cpu, &allowed))
			continue;
		CPU_ZERO(&one);
		CPU_SET(cpu, &one);
		if (sched_setaffinity(0, sizeof(one), &one))
			continue;
		if (madvise(buf, len, MADV_PAGEOUT))
			ret = -errno;
	}
	sched_setaffinity(0, sizeof(allowed), &allowed);
	return ret;
}
