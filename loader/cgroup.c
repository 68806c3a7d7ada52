/* SPDX-License-Identifier: GPL-2.0 */
/*
 * cgroup path <-> cgroup id.
 *
 * A cgroup v2 id is the kernfs node id of the cgroup's directory, the id
 * the kernel hands a policy.  It is read the way systemd reads it
 * (src/basic/cgroup-util.c: cg_path_get_cgroupid()): name_to_handle_at()
 * on the directory gives a file handle of type FILEID_KERNFS whose 8 bytes
 * are the id.  Only where file handles are not supported does the inode
 * number stand in (the same value on 64-bit kernels).
 *
 * Back from an id to a path, open_by_handle_at() opens the cgroup directly
 * (with CAP_DAC_READ_SEARCH) and /proc/self/fd names it; otherwise one
 * walk of the hierarchy, on first use, records every cgroup.  Ids are
 * never reused (64-bit, increasing), so an id that resolves to no
 * directory belongs to a cgroup that is gone for good.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <mntent.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/stat.h>
#include <sys/vfs.h>
#include <linux/magic.h>
#include "zdedup-loader.h"

#ifndef CGROUP2_SUPER_MAGIC
#define CGROUP2_SUPER_MAGIC 0x63677270
#endif
#ifndef FILEID_KERNFS
#define FILEID_KERNFS 0xfe
#endif

/* A struct file_handle with room for the 8-byte kernfs id. */
union cg_handle {
	struct file_handle fh;
	char room[sizeof(struct file_handle) + sizeof(__u64)];
};

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

int cgroup_id_of(const char *abs, __u64 *id)
{
	union cg_handle h = { .fh.handle_bytes = sizeof(__u64) };
	struct stat st;
	int mnt_id;

	if (!name_to_handle_at(AT_FDCWD, abs, &h.fh, &mnt_id, 0) &&
	    h.fh.handle_bytes == sizeof(__u64)) {
		memcpy(id, h.fh.f_handle, sizeof(*id));
		return 0;
	}
	if (errno != EOPNOTSUPP && errno != EOVERFLOW && errno != ENOSYS)
		return -errno;
	if (stat(abs, &st))
		return -errno;
	*id = st.st_ino;
	return 0;
}

static bool is_cgroup2_dir(const char *path)
{
	struct statfs sfs;
	struct stat st;

	return !stat(path, &st) && S_ISDIR(st.st_mode) && !statfs(path, &sfs) &&
	       sfs.f_type == CGROUP2_SUPER_MAGIC;
}

/* @abs as shown: relative to the cgroup2 mount, "/" for its root. */
static void shown_path(const char *abs, char *out, size_t size)
{
	const char *root = cgroup_root();
	size_t n = strlen(root);
	char real[PATH_MAX];

	if (!realpath(abs, real))
		copy_str(real, sizeof(real), abs);
	if (!strcmp(root, "/"))
		n = 0;
	if (!strncmp(real, root, n) && (real[n] == '/' || !real[n]))
		copy_str(out, size, real[n] ? real + n : "/");
	else
		copy_str(out, size, real);
}

int cgroup_from_path(const char *arg, struct cgroup_ref *ref)
{
	char path[PATH_MAX];
	struct statfs sfs;
	struct stat st;
	int ret;

	ref->why[0] = '\0';
	if (!ref->spec[0])
		copy_str(ref->spec, sizeof(ref->spec), arg);
	if (!arg[0]) {
		fmt_msg(ref->why, sizeof(ref->why), "empty cgroup path");
		return -EINVAL;
	}
	/*
	 * Relative paths are under the cgroup2 mount.  So is an absolute one
	 * that names no cgroup by itself but does under the mount: "/a/b" as
	 * status and list print it ("/" is the root cgroup).
	 */
	if (snprintf(path, sizeof(path), "%s%s%s", cgroup_root(),
		     arg[0] == '/' ? "" : "/", arg) >= (int)sizeof(path)) {
		fmt_msg(ref->why, sizeof(ref->why), "cgroup path too long: %.256s...", arg);
		return -ENAMETOOLONG;
	}
	if (arg[0] == '/' && (is_cgroup2_dir(arg) || !is_cgroup2_dir(path)))
		copy_str(path, sizeof(path), arg);	/* errors name it as given */

	if (stat(path, &st)) {
		ret = -errno;
		fmt_msg(ref->why, sizeof(ref->why), "cgroup %s: %s", path, strerror(-ret));
		return ret;
	}
	if (!S_ISDIR(st.st_mode)) {
		fmt_msg(ref->why, sizeof(ref->why), "%s is not a cgroup (not a directory)",
			path);
		return -ENOTDIR;
	}
	if (statfs(path, &sfs) || sfs.f_type != CGROUP2_SUPER_MAGIC) {
		fmt_msg(ref->why, sizeof(ref->why), "%s is not a cgroup v2 directory (not "
			"on a cgroup2 filesystem; mount one with 'mount -t cgroup2 none "
			"/sys/fs/cgroup')", path);
		return -EXDEV;
	}
	ret = cgroup_id_of(path, &ref->id);
	if (ret) {
		fmt_msg(ref->why, sizeof(ref->why), "cannot read the cgroup id of %s: %s",
			path, strerror(-ret));
		return ret;
	}
	shown_path(path, ref->path, sizeof(ref->path));
	return 0;
}

int cgroup_from_pid(const char *pid, struct cgroup_ref *ref)
{
	char file[64], *text = NULL, *line, *save = NULL;
	unsigned long long n;
	int ret;

	snprintf(ref->spec, sizeof(ref->spec), "pid %.32s", pid);
	ref->why[0] = '\0';
	if (!parse_u64(pid, 1, 0x7fffffff, &n)) {
		fmt_msg(ref->why, sizeof(ref->why), "--pid wants a process id, not '%.64s'",
			pid);
		return -EINVAL;
	}
	snprintf(file, sizeof(file), "/proc/%llu/cgroup", n);
	ret = read_file(file, 1 << 16, &text, NULL);
	if (ret) {
		fmt_msg(ref->why, sizeof(ref->why), "process %llu: %s%s", n,
			strerror(-ret), ret == -ENOENT ? " (no such process)" : "");
		return ret;
	}
	/* cgroup v2 is the line "0::/path". */
	for (line = strtok_r(text, "\n", &save); line; line = strtok_r(NULL, "\n", &save))
		if (!strncmp(line, "0::", 3))
			break;
	if (!line) {
		fmt_msg(ref->why, sizeof(ref->why), "process %llu is in no cgroup v2 "
			"hierarchy (%s has no 0:: line)", n, file);
		free(text);
		return -ENOENT;
	}
	ret = cgroup_from_path(line[3] ? line + 3 : "/", ref);
	if (ret == -ENOENT)
		fmt_msg(ref->why, sizeof(ref->why), "process %llu is in cgroup %.1024s, "
			"which is not visible under %s (another cgroup namespace?)", n,
			line + 3, cgroup_root());
	free(text);
	return ret;
}

bool cgroup_has_memory(struct cgroup_ref *ref)
{
	char file[PATH_MAX * 2], parent[PATH_MAX];

	if (!strcmp(ref->path, "/"))
		return true;	/* the root is always charged */
	if (snprintf(file, sizeof(file), "%s%s/memory.stat", cgroup_root(),
		     ref->path) < (int)sizeof(file) && !access(file, F_OK))
		return true;
	copy_str(parent, sizeof(parent), ref->path);
	cgroup_parent(parent);
	fmt_msg(ref->why, sizeof(ref->why), "cgroup %s has no memory controller "
		"(no memory.stat): its pages are charged to an ancestor, so a setting "
		"on it would never apply; enable it with 'echo +memory > %s%s%s"
		"cgroup.subtree_control', or set the ancestor", ref->path,
		cgroup_root(), parent, strcmp(parent, "/") ? "/" : "");
	return false;
}

bool cgroup_parent(char *path)
{
	char *slash = strrchr(path, '/');

	if (!slash || !strcmp(path, "/"))
		return false;
	if (slash == path)
		path[1] = '\0';
	else
		*slash = '\0';
	return true;
}

/* id -> path with open_by_handle_at(); -errno when that cannot tell. */
static int path_by_handle(__u64 id, char *path, size_t size)
{
	static int root_fd = -2;
	union cg_handle h = { .fh.handle_bytes = sizeof(__u64),
			      .fh.handle_type = FILEID_KERNFS };
	char link[64], abs[PATH_MAX];
	ssize_t n;
	int fd;

	if (root_fd == -2)
		root_fd = open(cgroup_root(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (root_fd < 0)
		return -EBADF;
	memcpy(h.fh.f_handle, &id, sizeof(id));
	fd = open_by_handle_at(root_fd, &h.fh, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0)
		return errno == ESTALE || errno == ENOENT ? -ENOENT : -errno;
	snprintf(link, sizeof(link), "/proc/self/fd/%d", fd);
	n = readlink(link, abs, sizeof(abs) - 1);
	close(fd);
	if (n <= 0)
		return -EIO;
	abs[n] = '\0';
	shown_path(abs, path, size);
	return 0;
}

/*
 * The fallback: one walk of the hierarchy, on first use, records every
 * cgroup; nftw() has no user pointer, hence the file-scope table.
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
	__u64 id;

	(void)ftw;
	if (type != FTW_D)
		return 0;
	if (cgroup_id_of(fpath, &id))
		id = st->st_ino;
	if (table_len == table_cap) {
		size_t cap = table_cap ? table_cap * 2 : 64;
		struct cg_entry *t = realloc(table, cap * sizeof(*t));

		if (!t)
			return 1;	/* out of memory: stop, keep what we have */
		table = t;
		table_cap = cap;
	}
	table[table_len].id = id;
	table[table_len].path = strdup(fpath);
	if (table[table_len].path)
		table_len++;
	return 0;
}

static void walk_once(void)
{
	if (!walked) {
		walked = true;
		nftw(cgroup_root(), visit, 16, FTW_PHYS | FTW_MOUNT);
	}
}

bool cgroup_path_of(__u64 id, char *path, size_t size)
{
	int ret = path_by_handle(id, path, size);

	if (!ret)
		return true;
	if (ret == -ENOENT)
		return false;
	walk_once();
	for (size_t i = 0; i < table_len; i++) {
		if (table[i].id != id)
			continue;
		shown_path(table[i].path, path, size);
		return true;
	}
	return false;
}

void cgroup_walk(void (*fn)(const char *path, __u64 id, void *ctx), void *ctx)
{
	walk_once();
	for (size_t i = 0; i < table_len; i++) {
		char path[PATH_MAX];

		shown_path(table[i].path, path, sizeof(path));
		fn(path, table[i].id, ctx);
	}
}
