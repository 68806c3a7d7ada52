// SPDX-License-Identifier: GPL-2.0
/* Helpers shared by the guest suites that drive BPF policies. */
#define _GNU_SOURCE
#include <dirent.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <unistd.h>

#include "cgroup_util.h"
#include "policy_util.h"
#include "zswap_util.h"

void rm_dir_files(const char *dir)
{
	DIR *d = opendir(dir);
	struct dirent *de;

	if (!d)
		return;
	while ((de = readdir(d))) {
		char path[PATH_MAX];

		if (de->d_name[0] == '.')
			continue;
		snprintf(path, sizeof(path), "%s/%s", dir, de->d_name);
		unlink(path);
	}
	closedir(d);
	rmdir(dir);
}

void cg_destroy_tree(const char *path)
{
	DIR *d = opendir(path);
	struct dirent *de;

	if (!d)
		return;
	while ((de = readdir(d))) {
		char sub[PATH_MAX];

		if (de->d_type != DT_DIR || de->d_name[0] == '.')
			continue;
		snprintf(sub, sizeof(sub), "%s/%s", path, de->d_name);
		cg_destroy_tree(sub);
	}
	closedir(d);
	cg_destroy(path);
}

bool is_policy(const char *name)
{
	char cur[64];

	if (zu_debugfs_read_str("dedup_policy", cur, sizeof(cur)))
		return false;
	return !strcmp(cur, name);
}

bool wait_policy(const char *name, double timeout_s)
{
	double deadline = zu_now() + timeout_s;

	while (!is_policy(name)) {
		if (zu_now() > deadline)
			return false;
		usleep(50 * 1000);
	}
	return true;
}

void ensure_debugfs(void)
{
	if (access(ZSWAP_DEBUGFS, F_OK))
		mount("debugfs", "/sys/kernel/debug", "debugfs", 0, NULL);
}

bool policy_cleanup(void)
{
	ensure_debugfs();
	if (is_policy("builtin") && access(PIN_DIR, F_OK) &&
	    access(BPFTOOL_PIN, F_OK))
		return true;
	if (!access(LOADER, X_OK))
		system(LOADER " unload >/dev/null 2>&1");
	rm_dir_files(PIN_DIR);
	rm_dir_files(BPFTOOL_PIN);
	return wait_policy("builtin", DETACH_WAIT);
}
