/* SPDX-License-Identifier: GPL-2.0 */
/*
 * zdedup-loader: internal interfaces between its source files.
 *
 *   main.c        command line: global options, dispatch, exit status
 *   util.c        messages, small file reads, number parsing
 *   kernel.c      what the running kernel offers and has attached
 *   policy.c      opening, configuring and loading a policy object
 *   pin.c         the pin directory: link, maps, the info record
 *   cgroup.c      cgroup path <-> cgroup id
 *   json.c        a minimal JSON writer for --json
 *   cmd_load.c    load, unload
 *   cmd_status.c  status
 *   cmd_cgroup.c  set, unset, list
 */
#ifndef ZDEDUP_LOADER_H
#define ZDEDUP_LOADER_H

#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <limits.h>
#include <bpf/libbpf.h>
#include "zdedup.h"

/* Exit status: 0 done; 1 could not be done; 2 bad command line. */
enum {
	EXIT_OK		= 0,
	EXIT_FAIL	= 1,
	EXIT_USAGE	= 2,
};

extern const char *prog_name;
extern bool verbose;

/* ---- util.c ---- */
void err(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void warn(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void note(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* Read a small text file, trailing newline stripped; -errno on failure. */
int read_text(const char *path, char *buf, size_t size);
/* Parse a decimal integer in [min, max]; false if not one. */
bool parse_u64(const char *s, unsigned long long min, unsigned long long max,
	       unsigned long long *out);
/* Copy with truncation, always terminated. */
void copy_str(char *dst, size_t size, const char *src);
/* strerror() that also knows libbpf's own error codes; takes +-errno. */
const char *errstr(int e);
/* Is @arg "-h" or "--help"? */
bool is_help(const char *arg);

/* ---- kernel.c ---- */
#define DEBUGFS_ZSWAP		"/sys/kernel/debug/zswap"
#define SYSFS_DEDUP_ENABLED	"/sys/module/zswap/parameters/dedup_enabled"

/* Checks the kernel can take a policy; prints why not. 0 or -errno. */
int check_bpf_support(void);
/* Byte offset of member @name of struct @type_id in @btf; -1 if none. */
struct btf;
long btf_member_offset(const struct btf *btf, __u32 type_id, const char *name);
/* vmlinux BTF id of struct bpf_struct_ops_zswap_dedup_ops; 0 if none. */
__u32 ops_value_type_id(void);

struct attached {
	bool attached;			/* a zswap_dedup_ops policy is registered */
	bool have_debugfs;		/* DEBUGFS_ZSWAP/dedup_policy was readable */
	char name[64];			/* its name (debugfs), else its map's name */
	__u32 link_id;			/* its struct_ops link; 0: none found */
	__u32 map_id;			/* its struct_ops map; 0: unknown */
	bool legacy;			/* attached by map update, without a link */
};
/* Fill @a from debugfs and the kernel's links and maps. */
void find_attached(struct attached *a);

/* ---- policy.c ---- */
struct policy_opts {
	bool has_window, has_min_hit, has_backoff;
	__u32 window;			/* adaptive: --window */
	__u32 min_hit_ppm;		/* adaptive: --min-hit-rate (ppm) */
	__u32 backoff;			/* adaptive: --backoff */
	char text[128];			/* the options as given, for the record */
};

struct policy {
	char name[16];			/* the ops' .name */
	char source[256];		/* "builtin:NAME" or the .bpf.o path */
	struct bpf_object *obj;
	struct bpf_map *ops;		/* its zswap_dedup_ops struct_ops map */
	void *skel;			/* built-ins: the skeleton */
	void (*skel_destroy)(void *skel);
};

extern const char *const builtin_policies[];
/* Open a built-in policy by name or a .bpf.o by path; prints errors.
 * -EINVAL: @what is neither (a usage error); other -errno: it failed. */
int policy_open(const char *what, struct policy *p);
/* Set the policy's tunables from @o; -EINVAL (printed) when it lacks one. */
int policy_configure(struct policy *p, const struct policy_opts *o);
/* Load into the kernel; on failure prints the verifier's log. */
int policy_load(struct policy *p);
void policy_close(struct policy *p);

/* ---- pin.c ---- */
/* Is there a zdedup-loader pin (link or info) in ZDEDUP_PIN_DIR? */
bool pin_have_ours(void);
/* Read the info record; -ENOENT when nothing is loaded by the loader. */
int pin_read_info(struct zdedup_info *info);
/* Write the info record, creating and pinning its map if needed. */
int pin_write_info(const struct zdedup_info *info);
/* Fill @info for @p (policy, source, options, map names). */
void pin_fill_info(struct zdedup_info *info, const struct policy *p,
		   const char *options);
/* Pin every map of @p that is not internal; unpins what it did on error. */
int pin_maps(const struct policy *p);
/* Unpin the maps named in @info except those @keep (may be NULL) also pins
 * with the same map; missing pins are fine. */
void unpin_maps(const struct zdedup_info *info, const struct policy *keep);
/* Remove the link and info pins, and the directory if empty. */
void unpin_all(const struct zdedup_info *info);
/* Open the pinned map @name (ZDEDUP_PIN_DIR/@name); -errno. */
int pin_open_map(const char *name);
/* Path of a pin of link @link_id under ZDEDUP_PIN_DIR, if any. */
bool pin_find_link(__u32 link_id, char *path, size_t size);

/* ---- cgroup.c ---- */
/* The cgroup2 mount point (from /proc/self/mounts, else /sys/fs/cgroup). */
const char *cgroup_root(void);
/* Resolve a cgroup path (absolute, or relative to the cgroup2 mount) to its
 * id; prints why not and returns -errno. @shown gets the path as shown. */
int cgroup_resolve(const char *arg, __u64 *id, char *shown, size_t size);
/* Path (relative to the cgroup2 mount, "/" for the root) of cgroup @id;
 * false when no such cgroup exists (any more). */
bool cgroup_path_of(__u64 id, char *path, size_t size);

/* ---- json.c ---- */
struct json {
	FILE *f;
	int depth;
	bool need_comma[16];
};
void json_begin(struct json *j, FILE *f);
void json_end(struct json *j);
void json_obj_open(struct json *j, const char *key);
void json_obj_close(struct json *j);
void json_arr_open(struct json *j, const char *key);
void json_arr_close(struct json *j);
void json_str(struct json *j, const char *key, const char *val);
void json_u64(struct json *j, const char *key, unsigned long long val);
void json_bool(struct json *j, const char *key, bool val);
void json_null(struct json *j, const char *key);
void json_raw(struct json *j, const char *key, const char *val);

/* ---- commands ---- */
int cmd_load(int argc, char **argv);
int cmd_unload(int argc, char **argv);
int cmd_status(int argc, char **argv);
int cmd_set(int argc, char **argv);
int cmd_unset(int argc, char **argv);
int cmd_list(int argc, char **argv);

/* Mode names, shared by set, list and status. */
const char *mode_name(__u32 mode);

#endif /* ZDEDUP_LOADER_H */
