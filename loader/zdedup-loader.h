/* SPDX-License-Identifier: GPL-2.0 */
/*
 * zdedup-loader: internal interfaces between its source files.
 *
 *   main.c          command line: global options, dispatch, exit status
 *   util.c          messages (p_err), file reads, number parsing
 *   json.c          a minimal JSON writer for --json
 *   lock.c          the lock file that serializes invocations
 *   kernel.c        what the running kernel offers and has attached
 *   live.c          the live state: attached policy, our pins, are they one
 *   maps.c          opening pinned maps by layout, reading them by map type
 *   pin.c           the pin directory: link, maps, the info record
 *   policy.c        opening, configuring and loading a policy object
 *   attach.c        attach, replace and detach (for load, unload, apply)
 *   cgroup.c        cgroup path <-> cgroup id (name_to_handle_at)
 *   unit.c          systemd unit and slice names -> cgroup paths
 *   cgroup_arg.c    CGROUP on the command line: path, --unit, --pid
 *   memstat.c       memory.stat and /proc/vmstat figures
 *   config.c        the configuration file of apply
 *   cmd_load.c      load, unload
 *   cmd_cgroup.c    set, unset, list
 *   cmd_get.c       get
 *   cmd_prune.c     prune
 *   cmd_apply.c     apply
 *   cmd_status.c    status (command line, --watch)
 *   status_rows.c   status: per-cgroup figures, from the maps and memory.stat
 *   status_print.c  status: text, JSON and Prometheus output
 *   status.h        what those three share
 *   cmd_estimate.c  estimate (command line, scope, driving the scan)
 *   estimate_*.c    estimate: page scanning, the hash table, output
 *   estimate.h      what those share
 */
#ifndef ZDEDUP_LOADER_H
#define ZDEDUP_LOADER_H

#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <limits.h>
#include <bpf/libbpf.h>
#include "zdedup.h"

#ifndef ZDEDUP_VERSION
#define ZDEDUP_VERSION "unknown"
#endif

/* Exit status: 0 done; 1 could not be done; 2 bad command line. */
enum {
	EXIT_OK		= 0,
	EXIT_FAIL	= 1,
	EXIT_USAGE	= 2,
};

extern const char *prog_name;
extern bool verbose;
extern bool json_output;		/* -j/--json: JSON on stdout, errors too */

/* ---- util.c ---- */
struct json;
/* An error: stderr, or with --json recorded for the {"error": ...} document. */
void p_err(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void warn(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void note(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
bool errors_recorded(void);
/* While @buf is set, p_err() writes its messages there ("; "-separated)
 * instead of reporting them: for attempts whose failure is not an error.
 * errors_capture(NULL, 0) ends it. */
void errors_capture(char *buf, size_t size);
/* The recorded errors as member "error" of the document being written. */
void json_errors(struct json *j);
/* {"error": ...}: main()'s answer when a command failed before its output. */
void json_error_doc(void);
/* Read a small text file, trailing newline stripped; -errno on failure. */
int read_text(const char *path, char *buf, size_t size);
/* Read a whole file of at most @max bytes into a NUL-terminated malloc()ed
 * buffer; -EFBIG when larger, -errno on failure. */
int read_file(const char *path, size_t max, char **out, size_t *len);
/* Parse a decimal integer in [min, max]; false if not one. */
bool parse_u64(const char *s, unsigned long long min, unsigned long long max,
	       unsigned long long *out);
/* snprintf() for messages, where truncating a long path is fine. */
void fmt_msg(char *buf, size_t size, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
/* Copy with truncation, always terminated. */
void copy_str(char *dst, size_t size, const char *src);
/* strerror() that also knows libbpf's own error codes; takes +-errno. */
const char *errstr(int e);
/* Is @arg "-h" or "--help"? */
bool is_help(const char *arg);
/* EPERM or EACCES (either sign)? */
bool is_perm_error(int e);

/* ---- json.c ---- */
struct json {
	FILE *f;
	int depth;
	bool one_line;			/* no newlines: JSON Lines */
	bool need_comma[16];
};
extern bool json_doc_started;		/* a command printed its document */
void json_begin(struct json *j, FILE *f);
void json_begin_line(struct json *j, FILE *f);
void json_end(struct json *j);
void json_obj_open(struct json *j, const char *key);
void json_obj_close(struct json *j);
void json_arr_open(struct json *j, const char *key);
void json_arr_close(struct json *j);
void json_str(struct json *j, const char *key, const char *val);
void json_u64(struct json *j, const char *key, unsigned long long val);
void json_double(struct json *j, const char *key, double val);
void json_bool(struct json *j, const char *key, bool val);
void json_null(struct json *j, const char *key);
void json_raw(struct json *j, const char *key, const char *val);

/* ---- lock.c ---- */
#define ZDEDUP_LOCK_FILE	"/run/zdedup-loader.lock"
#define ZDEDUP_LOCK_WAIT_S	60
enum lock_kind { LOCK_SHARED, LOCK_EXCLUSIVE };
/* Take the lock file, waiting up to ZDEDUP_LOCK_WAIT_S seconds; prints why
 * not.  Commands that change the live state take it exclusively, those that
 * read it shared.  Released at exit (or lock_release()). */
int lock_take(enum lock_kind kind);
void lock_release(void);

/* ---- kernel.c ---- */
#define DEBUGFS_ZSWAP		"/sys/kernel/debug/zswap"
#define SYSFS_DEDUP_ENABLED	"/sys/module/zswap/parameters/dedup_enabled"
#define BPFFS_ROOT		"/sys/fs/bpf"

/*
 * Can this process see and change policies?  Checks, in this order, that
 * the kernel has the hook (its BTF has struct zswap_dedup_ops), that bpf()
 * works and lets it list links and maps (privileges), and, if @need_bpffs,
 * that the BPF filesystem is mounted.  Prints what is missing; 0 or -errno.
 */
int kernel_check(bool need_bpffs);
/* Is the BPF filesystem mounted at BPFFS_ROOT? */
bool have_bpffs(void);
/* Byte offset of member @name of struct @type_id in @btf; -1 if none. */
struct btf;
/* The running kernel's BTF (or ZDEDUP_LOADER_BTF's), loaded once and
 * kept; NULL (errno set) if none. */
struct btf *kernel_btf(void);
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
/* Fill @a from debugfs and the kernel's links and maps; -errno (printed)
 * when the kernel's objects cannot be listed. */
int find_attached(struct attached *a);

/* ---- live.c ---- */
struct live {
	struct attached a;		/* what the kernel has attached */
	bool pins;			/* ZDEDUP_PIN_LINK or ZDEDUP_PIN_INFO exists */
	int info_err;			/* 0: info read; -ENOENT: none; -EPROTO: not ours */
	char info_problem[512];		/* why the info record is not usable */
	struct zdedup_info info;	/* valid when !info_err */
	__u32 pin_link_id;		/* the link pinned at ZDEDUP_PIN_LINK; 0: none */
	__u32 pin_map_id;		/* its struct_ops map; 0: detached */
	bool ours;			/* the pinned link is the attached policy */
	bool stale;			/* our pins exist, but are not the attached policy */
};
/*
 * Read the live state: kernel_check(false), the attached policy, our pins
 * and whether they are one.  Prints and returns -errno when the kernel
 * cannot be asked (no hook, no permission); problems of the pins are
 * recorded in @l for the command to judge.
 */
int live_read(struct live *l);
/* The name to show for what is pinned: the info record's or "?". */
const char *live_pinned_name(const struct live *l);
/*
 * For commands that work on the policy zdedup-loader loaded (set, unset,
 * list, get, prune): is there one, attached, with a usable info record?
 * Prints why not, prefixed with @cmd.  0 or -1.
 */
int live_require_ours(const struct live *l, const char *cmd);
/* The cgroup_policy map of our policy, layout checked; prints why not. */
int live_policy_map(const struct live *l, const char *cmd);
/* A multi-line explanation of a stale pin, for status and the refusals. */
void live_describe_stale(const struct live *l, char *buf, size_t size);

/* ---- maps.c ---- */
struct map_layout {
	const char *name;		/* pinned as ZDEDUP_PIN_DIR/<name> */
	const char *what;		/* e.g. "cgroup id -> struct zdedup_cgroup_policy" */
	__u32 key_size, value_size;
	bool hash_only;			/* BPF_MAP_TYPE_HASH only (the loader writes it) */
};
extern const struct map_layout layout_policy, layout_stats, layout_state;
/* Per-CPU map types, whose values are one per possible CPU. */
bool map_type_percpu(__u32 type);
/* Bytes a lookup of one value of @mi writes (per-CPU: every CPU's). */
size_t map_value_buf_size(const struct bpf_map_info *mi);
/*
 * Open the pinned map @l->name and check its type, key and value size.
 * -ENOENT (quietly) when nothing is pinned under that name; otherwise,
 * when it is not of the layout, prints it and returns -EPROTO.
 */
int map_open_pinned(const struct map_layout *l, struct bpf_map_info *mi);
/* Look up @key: @value gets value_size bytes, per-CPU maps summed as
 * __u64 words over every CPU.  0, -ENOENT or -errno. */
int map_lookup(int fd, const struct bpf_map_info *mi, const void *key, void *value);
/* Call @fn for every entry (values as map_lookup() gives them); stops at
 * @fn's non-zero return.  Returns the number of entries or -errno. */
int map_each(int fd, const struct bpf_map_info *mi,
	     int (*fn)(const void *key, const void *value, void *ctx), void *ctx);

/* ---- policy.c ---- */
struct policy_opts {
	bool has_window, has_min_hit, has_backoff;
	__u32 window;			/* adaptive: --window */
	__u32 min_hit_ppm;		/* adaptive: --min-hit-rate (ppm) */
	__u32 backoff;			/* adaptive: --backoff */
	char text[128];			/* the options as given, for the record */
};

struct policy;
/* Drop the ops the running kernel's struct zswap_dedup_ops lacks, with a
 * warning (compat.c); -ENOTSUP for a data member it lacks (printed). */
int compat_fit_ops(struct policy *p);

struct policy {
	char name[16];			/* the ops' .name */
	char source[256];		/* "builtin:NAME" or the .bpf.o path */
	struct bpf_object *obj;
	struct bpf_map *ops;		/* its zswap_dedup_ops struct_ops map */
	void *skel;			/* built-ins: the skeleton */
	void (*skel_destroy)(void *skel);
};

/* The built-in policies: name, what it does. */
struct builtin_policy {
	const char *name;
	const char *about;
};
extern const struct builtin_policy builtin_policies[];
bool is_builtin_policy(const char *name);
/* Open a built-in policy by name or a .bpf.o by path; prints errors.
 * -EINVAL: @what is neither (a usage error); other -errno: it failed. */
int policy_open(const char *what, struct policy *p);
/* The source string policy_open() would record for @what ("builtin:NAME"
 * or the real path), for comparing with what is loaded. */
void policy_source_of(const char *what, char *buf, size_t size);
/* Set the policy's tunables from @o; -EINVAL (printed) when it lacks one. */
int policy_configure(struct policy *p, const struct policy_opts *o);
/* Parse load's policy options from argv[*i...] (e.g. --window 64); used by
 * load and by apply's policy line.  Returns 1 if argv[*i] was one (and
 * advances *i), 0 if not, -1 (printed, prefixed by @where) if invalid. */
int policy_opt_parse(const char *where, int argc, char **argv, int *i,
		     struct policy_opts *o);
/* Load into the kernel; on failure prints the verifier's log. */
int policy_load(struct policy *p);
void policy_close(struct policy *p);

/* ---- pin.c ---- */
/* Is there a zdedup-loader pin (link or info) in ZDEDUP_PIN_DIR? */
bool pin_have_ours(void);
/* Read the info record: 0, -ENOENT when there is none, -EPROTO when it is
 * not one of this loader's (@why says how), other -errno. */
int pin_read_info(struct zdedup_info *info, char *why, size_t why_size);
/* Write the info record, creating and pinning its map if needed. */
int pin_write_info(const struct zdedup_info *info);
/* Fill @info for @p (policy, source, options, map names). */
void pin_fill_info(struct zdedup_info *info, const struct policy *p,
		   const char *options);
/* Is @name the name of one of the loader's own pins (link, info)? */
bool pin_name_reserved(const char *name);
/* Pin every map of @p that is not internal; unpins what it did on error. */
int pin_maps(const struct policy *p);
/* Unpin the maps named in @info except those @keep (may be NULL) also pins
 * with the same map; missing pins are fine. */
void unpin_maps(const struct zdedup_info *info, const struct policy *keep);
/* Remove the link and info pins, and the directory if empty. */
void unpin_all(const struct zdedup_info *info);
/* Open the pinned object ZDEDUP_PIN_DIR/@name; -errno. */
int pin_open(const char *name);
/* Path of a pin of link @link_id under ZDEDUP_PIN_DIR or BPFFS_ROOT. */
bool pin_find_link(__u32 link_id, char *path, size_t size);
/* The link pinned at ZDEDUP_PIN_LINK: its id (0: none) and map id. */
__u32 pin_link_info(int *fdp, __u32 *map_id);

/* ---- attach.c ---- */
struct attach_result {
	bool replaced;			/* BPF_LINK_UPDATE of our link */
	char old_policy[ZDEDUP_INFO_NAME_LEN];	/* what it replaced */
	__u32 link_id;
	char kept[ZDEDUP_INFO_MAX_MAPS][ZDEDUP_INFO_NAME_LEN];	/* maps carried over */
	int nr_kept;
	char fresh[ZDEDUP_INFO_MAX_MAPS][ZDEDUP_INFO_NAME_LEN];	/* maps that start empty */
	int nr_fresh;
};
/*
 * Attach the opened, configured policy @p: on a new link, or with
 * @replace behind our pinned link (BPF_LINK_UPDATE), carrying over every
 * map of the old policy that the new one has with the same layout.
 * Refuses (printed) when a policy is attached and not ours or @replace is
 * not given.  Removes stale pins first.  0 or -errno (printed).
 */
int policy_attach(struct policy *p, const struct policy_opts *o,
		  const struct live *l, bool replace, struct attach_result *r);
/* Detach our policy and remove its pins; 0 or -errno (printed). */
int policy_detach(const struct live *l);
/* Explain (printed) who holds the hook, for a request that cannot go on. */
void explain_attached(const struct live *l, const char *cmd);

/* ---- cgroup.c ---- */
/*
 * A cgroup as the user named it and as the kernel knows it.  Filled by
 * cgroup_from_path(), cgroup_from_unit() and cgroup_from_pid(); when one
 * fails, @why says what went wrong and what to do.
 */
struct cgroup_ref {
	char spec[PATH_MAX];		/* as given: "a/b", "unit x.service", "pid 7" */
	char path[PATH_MAX];		/* under the cgroup2 mount: "/a/b" ("/": root) */
	__u64 id;			/* its cgroup id */
	char why[PATH_MAX + 256];	/* why it could not be resolved */
};
/* The cgroup2 mount point (from /proc/self/mounts, else /sys/fs/cgroup). */
const char *cgroup_root(void);
/* The cgroup id of the cgroup2 directory @abs (name_to_handle_at(), as
 * systemd does; the inode number where that is not supported); -errno. */
int cgroup_id_of(const char *abs, __u64 *id);
/* Resolve a cgroup path (absolute, or relative to the cgroup2 mount);
 * -ENOENT when it does not exist, other -errno when it is no cgroup. */
int cgroup_from_path(const char *arg, struct cgroup_ref *ref);
/* The cgroup of process @pid (/proc/PID/cgroup). */
int cgroup_from_pid(const char *pid, struct cgroup_ref *ref);
/* Does the cgroup have the memory controller (memory.stat)?  Fills @why. */
bool cgroup_has_memory(struct cgroup_ref *ref);
/* Path (relative to the cgroup2 mount, "/" for the root) of cgroup @id;
 * false when no such cgroup exists (any more). */
bool cgroup_path_of(__u64 id, char *path, size_t size);
/* Path of the parent of @path ("/a/b" -> "/a", "/a" -> "/"); false at "/". */
bool cgroup_parent(char *path);
/* Every cgroup under the mount, in no order: @fn(path, id, ctx). */
void cgroup_walk(void (*fn)(const char *path, __u64 id, void *ctx), void *ctx);

/* ---- unit.c ---- */
/* The cgroup of systemd unit @unit (a slice, service, scope, ...). */
int cgroup_from_unit(const char *unit, struct cgroup_ref *ref);
/* Is @unit a valid systemd unit name of a type that has a cgroup? */
bool unit_name_valid(const char *unit, char *why, size_t size);

/* ---- cgroup_arg.c ---- */
struct cgroup_arg {
	enum { CGROUP_ARG_PATH, CGROUP_ARG_UNIT, CGROUP_ARG_PID } kind;
	const char *val;
};
/*
 * CGROUP on a command line, at argv[*i]: a path, --unit NAME or --pid N.
 * Advances *i past it.  0, or EXIT_USAGE (printed, with @cmd).
 */
int cgroup_arg(const char *cmd, int argc, char **argv, int *i, struct cgroup_arg *a);
/* Resolve it: 0, EXIT_USAGE (a malformed unit name or pid) or EXIT_FAIL
 * (no such cgroup), printed with @cmd. */
int cgroup_arg_resolve(const char *cmd, const struct cgroup_arg *a,
		       struct cgroup_ref *ref);
/* The usage text of CGROUP, for the commands' --help. */
extern const char cgroup_arg_help[];

/* ---- memstat.c ---- */
struct memstat {
	bool ok;			/* memory.stat was read */
	bool has_dedup;			/* it has zswpout_dedup (a zdedup kernel) */
	unsigned long long zswap;	/* bytes zswap holds for it, compressed */
	unsigned long long zswapped;	/* bytes of its pages in zswap */
	unsigned long long zswpout;	/* pages stored, all time */
	unsigned long long zswpin;	/* pages loaded back, all time */
	unsigned long long zswpout_dedup;	/* pages stored by sharing a copy */
};
/* memory.stat of the cgroup at @path (relative to the cgroup2 mount). */
int memstat_read(const char *path, struct memstat *m);
/* The kernel-wide figures of /proc/vmstat (zswpout, zswpin, zswpout_dedup). */
int vmstat_read(struct memstat *m);

/* ---- config.c ---- */
struct config_entry {
	int line;
	struct cgroup_ref ref;
	bool is_unit;			/* named as a unit rather than a path */
	bool missing;			/* the cgroup does not exist (now) */
	struct zdedup_cgroup_policy pol;
};
struct config {
	char file[PATH_MAX];
	int policy_line;		/* 0: no policy line */
	bool builtin;			/* policy builtin: no BPF policy */
	char policy[PATH_MAX];		/* as written, or resolved against the file */
	struct policy_opts opts;
	struct config_entry *v;
	int n, cap;
};
/* Parse @file; every error is printed as FILE:LINE: ...; 0 or -errno. */
int config_parse(const char *file, struct config *c);
void config_free(struct config *c);

/* ---- mode.c (in cmd_cgroup.c) ---- */
const char *mode_name(__u32 mode);
/* "off", "private", "group N" */
void mode_describe(char *buf, size_t size, const struct zdedup_cgroup_policy *pol);
/* Parse MODE [N] from @argv; prints why not (prefixed by @where).
 * Returns the number of words used, or 0. */
int mode_parse(const char *where, int argc, char **argv,
	       struct zdedup_cgroup_policy *pol);
/* A valid setting as the loader writes it? */
bool mode_valid(const struct zdedup_cgroup_policy *pol);

/* ---- status ---- */
struct status_opts {
	bool prometheus;
	bool watch;
	double interval;		/* --watch: seconds between samples */
	unsigned long count;		/* --count: samples, 0: until interrupted */
};
int status_once(const struct status_opts *o);
int status_watch(const struct status_opts *o);

/* ---- commands ---- */
int cmd_load(int argc, char **argv);
int cmd_unload(int argc, char **argv);
int cmd_status(int argc, char **argv);
int cmd_set(int argc, char **argv);
int cmd_unset(int argc, char **argv);
int cmd_list(int argc, char **argv);
int cmd_get(int argc, char **argv);
int cmd_prune(int argc, char **argv);
int cmd_apply(int argc, char **argv);
int cmd_estimate(int argc, char **argv);

#endif /* ZDEDUP_LOADER_H */
