/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Pushing a range of anonymous memory out, for the guest programs and for
 * tests/host/estimate_workload.c: no dependency beyond libc.
 */
#ifndef ZDEDUP_PAGEOUT_H
#define ZDEDUP_PAGEOUT_H

#include <stddef.h>

/*
 * madvise(MADV_PAGEOUT) over the range, once on every CPU the process may
 * run on; returns 0 or -errno.
 */
int zu_pageout(void *buf, size_t len);

#endif
