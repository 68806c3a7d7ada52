/* SPDX-License-Identifier: GPL-2.0 */
/*
 * cgroup path <-> cgroup id.
 *
 * A cgroup v2 id is the inode number of the cgroup's directory in the
 * cgroup2 filesystem (kernfs node id; on 64-bit, st_ino is all of it), the
 * same id the kernel hands a policy.  Paths are taken absolute, or
 * relative to the cgroup2 mount point; ids are turned back into paths by
 * walking the mounted hierarchy.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <ftw.h>
#include <mntent.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/vfs.h>
#include <linux/magic.h>
#include "zdedup-loader.h"

#ifndef CGROUP2_SUPER_MAGIC
#define CGROUP2_SUPER_MAGIC 0x63677270
#endif

const char *cgroup_root(void)
{
	static char root[PATH_MAX];
	struct mntent *me;
	FILE *f;

	if (root[0])
		return root;
	copy_str(root, sizeof(root), "/sys/fs/cgroup");
	f = setmntent("/proc/self/mounts", "r");
	if (!f)
		return root;
	while ((me = getmntent(f))) {
		if (!strcmp(me->mnt_type, "cgroup2")) {
			copy_str(root, sizeof(root), me->mnt_dir);
			break;
		}
	}
	endmntent(f);
	return root;
}

static bool is_cgroup2_dir(const char *path)
{
	struct statfs sfs;
	struct stat st;

	return !stat(path, &st) && S_ISDIR(st.st_mode) && !statfs(path, &sfs) &&
	       sfs.f_type == CGROUP2_SUPER_MAGIC;
}

int cgroup_resolve(const char *arg, __u64 *id, char *shown, size_t size)
{
	char path[PATH_MAX];
	struct statfs sfs;
	struct stat st;

	if (!arg[0]) {
		err("empty cgroup path");
		return -EINVAL;
	}
	/*
	 * Relative paths are under the cgroup2 mount.  So is an absolute one
	 * that names no cgroup by itself but does under the mount: "/a/b" as
	 * status and list print it ("/" is the root cgroup).
	 */
	if (snprintf(path, sizeof(path), "%s%s%s", cgroup_root(),
		     arg[0] == '/' ? "" : "/", arg) >= (int)sizeof(path)) {
		err("cgroup path too long: %s", arg);
		return -ENAMETOOLONG;
	}
	if (arg[0] == '/' && (is_cgroup2_dir(arg) || !is_cgroup2_dir(path)))
		copy_str(path, sizeof(path), arg);	/* errors name it as given */

	if (stat(path, &st)) {
		int e = errno;

		err("cgroup %s: %s", path, strerror(e));
		return -e;
	}
	if (!S_ISDIR(st.st_mode)) {
		err("%s is not a cgroup (not a directory)", path);
		return -ENOTDIR;
	}
	if (statfs(path, &sfs) || sfs.f_type != CGROUP2_SUPER_MAGIC) {
		err("%s is not a cgroup v2 directory (not on a cgroup2 filesystem; "
		    "mount one with 'mount -t cgroup2 none /sys/fs/cgroup')", path);
		return -EXDEV;
	}
	*id = st.st_ino;
	if (shown) {
		const char *root = cgroup_root();
		size_t n = strlen(root);
		char real[PATH_MAX];

		if (!realpath(path, real))
			copy_str(real, sizeof(real), path);
		if (!strncmp(real, root, n) && (real[n] == '/' || !real[n]))
			copy_str(shown, size, real[n] ? real + n : "/");
		else
			copy_str(shown, size, real);
	}
	return 0;
}

/*
 * id -> path: one walk of the hierarchy, on first use, records every
 * cgroup directory; nftw() has no user pointer, hence the file-scope table.
 */
struct cg_entry {
	__u64 id;
	char *path;
};
static struct cg_entry *table;
static size_t table_len, table_cap;
static bool walked;

static int visit(const char *fpath, const struct stat *st, int type,
		 struct FTW *ftw)
{
	(void)ftw;
	if (type != FTW_D)
		return 0;
	if (table_len == table_cap) {
		size_t cap = table_cap ? table_cap * 2 : 64;
		struct cg_entry *t = realloc(table, cap * sizeof(*t));

		if (!t)
			return 1;	/* out of memory: stop, keep what we have */
		table = t;
		table_cap = cap;
	}
	table[table_len].id = st->st_ino;
	table[table_len].path = strdup(fpath);
	if (table[table_len].path)
		table_len++;
	return 0;
}

bool cgroup_path_of(__u64 id, char *path, size_t size)
{
	const char *root = cgroup_root();
	size_t n = strlen(root);

	if (!walked) {
		walked = true;
		nftw(root, visit, 16, FTW_PHYS | FTW_MOUNT);
	}
	for (size_t i = 0; i < table_len; i++) {
		if (table[i].id != id)
			continue;
		copy_str(path, size, table[i].path[n] ? table[i].path + n : "/");
		return true;
	}
	return false;
}
