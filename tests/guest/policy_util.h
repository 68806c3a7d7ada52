/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Helpers shared by the guest suites that drive BPF policies: removing
 * pins and cgroup trees, and waiting for zswap's dedup_policy.
 */
#ifndef POLICY_UTIL_H
#define POLICY_UTIL_H

#include <stdbool.h>

#include "zdedup.h"

#define LOADER "/opt/zdedup/bin/zdedup-loader"
#define PIN_DIR ZDEDUP_PIN_DIR			/* the loader's pins */
#define BPFTOOL_PIN "/sys/fs/bpf/zdedup-bpftool"	/* bpftool's, in the tests */
/* A released link detaches from a workqueue: usually within a second, but
 * a TCG guest on a loaded CI host can take longer, and waiting costs only
 * when something is wrong. */
#define DETACH_WAIT 30.0

/* Remove every file in @dir (pins: unlinking a link's pin releases it). */
void rm_dir_files(const char *dir);

/* Remove cgroup @path and everything below it, killing what runs there. */
void cg_destroy_tree(const char *path);

/* zswap's dedup_policy is @name (false if unreadable). */
bool is_policy(const char *name);

/* dedup_policy becomes @name within @timeout_s seconds. */
bool wait_policy(const char *name, double timeout_s);

/* Mount debugfs again if a test unmounted it. */
void ensure_debugfs(void);

/*
 * Detach whatever policy is attached: the loader's unload, then every pin
 * the loader or bpftool left (a struct_ops link goes when its last pin
 * does).  Mounts debugfs first if a test unmounted it.  Returns true when
 * zswap is back to its built-in policy.
 */
bool policy_cleanup(void);

#endif
