/* SPDX-License-Identifier: GPL-2.0 */
/*
 * What the running kernel offers and what it has attached.
 *
 * kernel_check() turns each missing piece (BTF, the zswap_dedup_ops hook,
 * the bpf() syscall, privileges, the BPF filesystem) into a message that
 * says what is missing, before anything is read or loaded: a command that
 * cannot see the kernel's policies must never answer "none attached".
 *
 * find_attached() answers "is a policy attached, which, and how" from two
 * sources: debugfs zswap/dedup_policy (the name the kernel reports) and
 * the kernel's struct_ops links and maps of type zswap_dedup_ops (which
 * also find a policy attached by another tool, e.g. bpftool, and work
 * without debugfs).
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/vfs.h>
#include <linux/magic.h>
#include <bpf/bpf.h>
#include <bpf/btf.h>
#include "zdedup-loader.h"

#ifndef BPF_FS_MAGIC
#define BPF_FS_MAGIC 0xcafe4a11
#endif

/*
 * The kernel's enum bpf_struct_ops_state (not UAPI): the state word that
 * follows the refcount at the start of every struct_ops map value.
 */
#define STRUCT_OPS_STATE_INUSE	1

static struct btf *vmlinux_btf;

/*
 * The running kernel's BTF, loaded once; NULL (errno set) if none.  The
 * environment variable ZDEDUP_LOADER_BTF names another BTF file instead:
 * for tests that need a kernel without the hook.
 */
struct btf *kernel_btf(void)
{
	const char *path = getenv("ZDEDUP_LOADER_BTF");

	if (!vmlinux_btf) {
		errno = 0;
		vmlinux_btf = path ? btf__parse(path, NULL) : btf__load_vmlinux_btf();
		if (!vmlinux_btf && !errno)
			errno = EINVAL;
	}
	return vmlinux_btf;
}

__u32 ops_value_type_id(void)
{
	struct btf *btf = kernel_btf();
	int id;

	if (!btf)
		return 0;
	id = btf__find_by_name_kind(btf, ZDEDUP_OPS_VALUE_TYPE, BTF_KIND_STRUCT);
	return id > 0 ? id : 0;
}

bool have_bpffs(void)
{
	struct statfs sfs;

	return !statfs(BPFFS_ROOT, &sfs) && sfs.f_type == BPF_FS_MAGIC;
}

int kernel_check(bool need_bpffs)
{
	const char *btf_path = getenv("ZDEDUP_LOADER_BTF");
	__u32 id = 0;
	int fd;

	/* The hook first: it is the most useful thing to hear, as anyone. */
	if (!btf_path && access("/sys/kernel/btf/vmlinux", R_OK)) {
		p_err("this kernel exposes no BTF (/sys/kernel/btf/vmlinux is missing): "
		      "zswap dedup policies need a kernel with the zdedup patches and "
		      "CONFIG_DEBUG_INFO_BTF=y");
		return -ENOENT;
	}
	if (!kernel_btf()) {
		int e = errno ? errno : EINVAL;

		p_err("cannot read the kernel's BTF (%s): %s",
		      btf_path ? btf_path : "/sys/kernel/btf/vmlinux", strerror(e));
		return -e;
	}
	if (btf__find_by_name_kind(kernel_btf(), ZDEDUP_OPS_TYPE, BTF_KIND_STRUCT) <= 0 ||
	    !ops_value_type_id()) {
		p_err("this kernel has no zswap dedup policy hook (struct %s is not in "
		      "its BTF): boot a kernel with the zdedup patches", ZDEDUP_OPS_TYPE);
		return -EOPNOTSUPP;
	}

	fd = bpf_map_create(BPF_MAP_TYPE_ARRAY, "zdedup_probe", 4, 4, 1, NULL);
	if (fd < 0) {
		int e = errno;

		if (e == ENOSYS)
			p_err("this kernel has no bpf() system call (CONFIG_BPF_SYSCALL is off)");
		else if (is_perm_error(e))
			p_err("not allowed to use bpf() (%s): run as root (CAP_BPF and "
			      "CAP_SYS_ADMIN are needed to see and change dedup policies)",
			      strerror(e));
		else
			p_err("bpf() does not work here: %s", strerror(e));
		return -e;
	}
	close(fd);
	/* Which policy is attached is only known by listing links and maps. */
	if (bpf_link_get_next_id(0, &id) && errno != ENOENT) {
		int e = errno;

		p_err("not allowed to list the kernel's BPF links (%s): run as root "
		      "(CAP_SYS_ADMIN is needed to tell which policy is attached)",
		      strerror(e));
		return -e;
	}

	if (need_bpffs && !have_bpffs()) {
		p_err("no BPF filesystem at %s, where policies are pinned: mount it "
		      "with 'mount -t bpf bpf %s'", BPFFS_ROOT, BPFFS_ROOT);
		return -ENOENT;
	}
	return 0;
}

/* Is struct_ops map @map_id a zswap_dedup_ops one?  Fills @mi. */
static bool is_ops_map(__u32 map_id, __u32 value_type, struct bpf_map_info *mi,
		       int *fdp)
{
	__u32 len = sizeof(*mi);
	int fd;

	fd = bpf_map_get_fd_by_id(map_id);
	if (fd < 0)
		return false;
	memset(mi, 0, sizeof(*mi));
	if (bpf_map_get_info_by_fd(fd, mi, &len) ||
	    mi->type != BPF_MAP_TYPE_STRUCT_OPS ||
	    mi->btf_vmlinux_value_type_id != value_type) {
		close(fd);
		return false;
	}
	if (fdp)
		*fdp = fd;
	else
		close(fd);
	return true;
}

long btf_member_offset(const struct btf *btf, __u32 type_id, const char *name)
{
	const struct btf_type *t = btf__type_by_id(btf, type_id);
	const struct btf_member *m;

	if (!t || !btf_is_struct(t))
		return -1;
	m = btf_members(t);
	for (int i = 0, n = btf_vlen(t); i < n; i++, m++)
		if (!strcmp(btf__name_by_offset(btf, m->name_off), name))
			return btf_member_bit_offset(t, i) / 8;
	return -1;
}

/*
 * The ops' .name from the kernel's copy of struct_ops map @fd (value: the
 * common header, then struct zswap_dedup_ops as "data"), for when debugfs
 * is not there to say it.
 */
static void name_from_map(int fd, __u32 value_size, char *name, size_t size)
{
	struct btf *btf = kernel_btf();
	char value[4096], tmp[17] = "";
	long data, off;
	__u32 zero = 0;
	int ops;

	if (!btf || value_size > sizeof(value) || bpf_map_lookup_elem(fd, &zero, value))
		return;
	ops = btf__find_by_name_kind(btf, ZDEDUP_OPS_TYPE, BTF_KIND_STRUCT);
	data = btf_member_offset(btf, ops_value_type_id(), "data");
	off = ops > 0 ? btf_member_offset(btf, ops, "name") : -1;
	if (data < 0 || off < 0 || data + off + 16 > value_size)
		return;
	memcpy(tmp, value + data + off, 16);
	if (tmp[0])
		copy_str(name, size, tmp);
}

static void scan_links(struct attached *a, __u32 value_type)
{
	__u32 id = 0;

	while (!bpf_link_get_next_id(id, &id)) {
		struct bpf_link_info li;
		struct bpf_map_info mi;
		__u32 len = sizeof(li);
		int fd, map_fd;

		fd = bpf_link_get_fd_by_id(id);
		if (fd < 0)
			continue;
		memset(&li, 0, sizeof(li));
		if (!bpf_link_get_info_by_fd(fd, &li, &len) &&
		    li.type == BPF_LINK_TYPE_STRUCT_OPS && li.struct_ops.map_id &&
		    is_ops_map(li.struct_ops.map_id, value_type, &mi, &map_fd)) {
			a->attached = true;
			a->link_id = id;
			a->map_id = li.struct_ops.map_id;
			if (!a->name[0]) {
				copy_str(a->name, sizeof(a->name), mi.name);
				name_from_map(map_fd, mi.value_size, a->name, sizeof(a->name));
			}
			close(map_fd);
		}
		close(fd);
		if (a->link_id)
			return;
	}
}

/* A legacy (map update) attach has no link: its map's state says INUSE. */
static void scan_maps(struct attached *a, __u32 value_type)
{
	__u32 id = 0, zero = 0;

	while (!bpf_map_get_next_id(id, &id)) {
		struct bpf_map_info mi;
		char value[4096];
		int fd;

		if (!is_ops_map(id, value_type, &mi, &fd))
			continue;
		if (!(mi.map_flags & BPF_F_LINK) && mi.value_size <= sizeof(value) &&
		    !bpf_map_lookup_elem(fd, &zero, value)) {
			__u32 state;

			memcpy(&state, value + 4, sizeof(state));
			if (state == STRUCT_OPS_STATE_INUSE) {
				a->attached = true;
				a->legacy = true;
				a->map_id = id;
				if (!a->name[0]) {
					copy_str(a->name, sizeof(a->name), mi.name);
					name_from_map(fd, mi.value_size, a->name,
						      sizeof(a->name));
				}
			}
		}
		close(fd);
		if (a->legacy)
			return;
	}
}

int find_attached(struct attached *a)
{
	char buf[64];
	__u32 vt, id = 0;

	memset(a, 0, sizeof(*a));
	if (!read_text(DEBUGFS_ZSWAP "/dedup_policy", buf, sizeof(buf))) {
		a->have_debugfs = true;
		if (strcmp(buf, "builtin") && buf[0]) {
			a->attached = true;
			copy_str(a->name, sizeof(a->name), buf);
		}
	}
	vt = ops_value_type_id();
	if (!vt) {
		p_err("this kernel has no zswap dedup policy hook (struct %s is not in "
		      "its BTF): boot a kernel with the zdedup patches", ZDEDUP_OPS_TYPE);
		return -EOPNOTSUPP;
	}
	if (bpf_link_get_next_id(0, &id) && errno != ENOENT) {
		int e = errno;

		p_err("cannot list the kernel's BPF links: %s%s", strerror(e),
		      is_perm_error(e) ? " (run as root)" : "");
		return -e;
	}
	scan_links(a, vt);
	if (!a->link_id)
		scan_maps(a, vt);
	return 0;
}
