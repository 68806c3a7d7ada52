// SPDX-License-Identifier: GPL-2.0
/*
 * zdedup-loader as an operator uses it (issue 10): one test per behaviour.
 * The loader runs as a command, exactly as an administrator would run it;
 * what it did is checked from the kernel's side (debugfs, the pins, the
 * maps read with bpf() directly) and from its output.
 *
 *   loader.version                   --version names the loader, libbpf and
 *                                    the ABI of include/zdedup.h, as text
 *                                    and JSON
 *   loader.json_everywhere           --json: every command prints one valid
 *                                    JSON document; failures print
 *                                    {"error": ...} with exit 1 or 2
 *   loader.cgroup_ids_are_handles    the id of a cgroup is its file handle
 *                                    (name_to_handle_at), as systemd reads it
 *   loader.cgroup_by_unit_and_pid    --unit (service, slice, template, Slice=
 *                                    elsewhere) and --pid resolve to the
 *                                    cgroups systemd's layout puts them in;
 *                                    bad names are usage errors
 *   loader.get_effective             get: own entry, an ancestor's (and
 *                                    which), the default; builtin and
 *                                    policies without settings
 *   loader.set_needs_memory          set refuses a cgroup without the memory
 *                                    controller, changing nothing; get says
 *                                    where its pages are charged
 *   loader.prune_gone                prune (and --dry-run) removes exactly
 *                                    the entries of removed cgroups
 *   loader.status_memory_stat        with the built-in policy, and without
 *                                    debugfs, status shows each cgroup's
 *                                    memory.stat zswapped/zswap/zswpout_dedup
 *   loader.status_watch              --watch --count: one line (or JSON
 *                                    object) per interval, rates that see
 *                                    pages being stored; bad arguments
 *   loader.status_prometheus         node_exporter textfile format: HELP and
 *                                    TYPE once per family, valid sample
 *                                    lines, per-cgroup labels
 *   loader.apply_config              apply loads, sets, is idempotent (no
 *                                    changes the second time), removes what
 *                                    the file lacks, replaces and unloads;
 *                                    --check changes nothing; pending units
 *   loader.apply_errors              bad files: FILE:LINE in every error,
 *                                    exit 1, nothing touched
 *   loader.no_permission             as an unprivileged user every command
 *                                    fails, says root is needed, and never
 *                                    claims that no policy is attached
 *   loader.no_feature                on a kernel without the hook (its BTF
 *                                    lacks struct zswap_dedup_ops, no
 *                                    debugfs) every command says so, exit 1
 *   loader.stale_pin_reported        a pinned link detached behind the
 *                                    loader's back, or replaced by another
 *                                    tool's policy: status reports it, set,
 *                                    list, get and prune refuse, load and
 *                                    unload clean up
 *   loader.load_race                 two loads race 100 times: exactly one
 *                                    policy attached, no orphan pins, the
 *                                    loser names the winner
 *   loader.percpu_maps_summed        per-CPU statistics maps are read with
 *                                    buffers sized by map type and summed
 *   loader.map_named_like_pin        a policy with a map called "info" is
 *                                    refused; the attached policy stays
 *   loader.abi_version_checked       an info record of another ABI (or
 *                                    layout) is reported, never used; unload
 *                                    still detaches
 *   loader.replace_keeps_every_map   --replace carries settings and
 *                                    statistics over (same maps, same
 *                                    values), adaptive's state too
 *   loader.tenant_inherits_deep      tenant's ancestor walk (bpf_cgroup_
 *                                    ancestor): a cgroup three levels below
 *                                    an entry merges in its group
 *
 * Every test works in /sys/fs/cgroup/zdedup_loader_<test> (the test process
 * in its leaf "self"); the systemd-like cgroups of the unit tests are
 * zdtest* names under /sys/fs/cgroup.  Setup and teardown detach whatever
 * policy is attached and remove every pin, so a failed test leaves nothing
 * behind.
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>
#include <linux/bpf.h>

/* The harness's SIGALRM handler has an unused parameter. */
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wunused-parameter"
#include "kselftest_harness.h"
#pragma GCC diagnostic pop
#pragma GCC diagnostic ignored "-Wclobbered"
#include "cgroup_util.h"
#include "zswap_util.h"
#include "policy_util.h"
#include "run_cmd.h"
#include "zdedup.h"

#define CG_ROOT "/sys/fs/cgroup"
#define SWAP_DEV "/dev/ram0"
#define BPFTOOL "/opt/zdedup/bin/bpftool"
#define BPF_DIR "/opt/zdedup/bpf"
#define DEBUGFS "/sys/kernel/debug"
#define CONF "/tmp/zdedup_loader_test.conf"
#define TEST_TIMEOUT 180
#define BAR_TIMEOUT 120.0
#define PAGE ZU_PAGE_SIZE
#define OUT_MAX (64 << 10)
#define NOBODY 65534
#define RACE_ROUNDS 100

/* ------------------------------------------------------------------------
 * Cleaning up: no policy, no pins, no cgroups of ours, debugfs mounted
 */
static pid_t suite_pid;

/* The systemd-like cgroups of the unit tests, under the root. */
static const char *const unit_cgroups[] = {
	CG_ROOT "/system.slice/system-zdtpl.slice/zdtpl@one.service",
	CG_ROOT "/system.slice/system-zdtpl.slice",
	CG_ROOT "/system.slice/zdtest.service",
	CG_ROOT "/zdtest.slice/zdtest-a.slice",
	CG_ROOT "/zdtest.slice/zdtest-b.service",
	CG_ROOT "/zdtest.slice",
};
static bool made_system_slice;

static void unit_cgroups_remove(void)
{
	for (size_t i = 0; i < ARRAY_SIZE(unit_cgroups); i++)
		cg_destroy_tree(unit_cgroups[i]);
	if (made_system_slice)
		cg_destroy(CG_ROOT "/system.slice");
	made_system_slice = false;
}

static void __attribute__((constructor)) suite_start(void)
{
	suite_pid = getpid();
}

static void __attribute__((destructor)) suite_end(void)
{
	DIR *d;
	struct dirent *de;

	if (getpid() != suite_pid)
		return;
	cg_enter_current(CG_ROOT);
	policy_cleanup();
	unit_cgroups_remove();
	d = opendir(CG_ROOT);
	while (d && (de = readdir(d))) {
		char path[PATH_MAX];

		if (de->d_type == DT_DIR && !strncmp(de->d_name, "zdedup_loader_", 14)) {
			snprintf(path, sizeof(path), CG_ROOT "/%s", de->d_name);
			cg_destroy_tree(path);
		}
	}
	if (d)
		closedir(d);
	unlink(CONF);
}

/* ------------------------------------------------------------------------
 * Running the loader
 */
static char cmd_out[OUT_MAX];

static const struct run_how how_log = {}, how_quiet = { .quiet = true },
	how_stdout = { .stdout_only = true }, how_nobody = { .uid = NOBODY };

#define run(...) run_cmd(&how_log, cmd_out, sizeof(cmd_out), __VA_ARGS__)
#define run_quiet(...) run_cmd(&how_quiet, cmd_out, sizeof(cmd_out), __VA_ARGS__)
#define run_stdout(...) run_cmd(&how_stdout, cmd_out, sizeof(cmd_out), __VA_ARGS__)
#define run_nobody(...) run_cmd(&how_nobody, cmd_out, sizeof(cmd_out), __VA_ARGS__)

static bool has(const char *out, const char *pat)
{
	return !pat || strstr(out, pat);
}

#define EXPECT_RUN(rc, pat, ...) do {					\
	int __rc = run(__VA_ARGS__);					\
	EXPECT_EQ(rc, __rc);						\
	EXPECT_TRUE(has(cmd_out, pat))					\
		TH_LOG("expected '%s' in the output", (const char *)(pat)); \
} while (0)

#define ASSERT_RUN(rc, pat, ...) do {					\
	int __rc = run(__VA_ARGS__);					\
	ASSERT_EQ(rc, __rc);						\
	ASSERT_TRUE(has(cmd_out, pat))					\
		TH_LOG("expected '%s' in the output", (const char *)(pat)); \
} while (0)

/* ------------------------------------------------------------------------
 * JSON: a validator, and numbers out of documents
 */
static const char *json_value(const char *p, int depth);

static const char *json_ws(const char *p)
{
	while (*p == ' ' || *p == '\n' || *p == '\t' || *p == '\r')
		p++;
	return p;
}

static const char *json_string(const char *p)
{
	if (*p++ != '"')
		return NULL;
	while (*p && *p != '"') {
		if ((unsigned char)*p < 0x20)
			return NULL;
		if (*p == '\\') {
			p++;
			if (*p == 'u') {
				for (int i = 1; i <= 4; i++)
					if (!strchr("0123456789abcdefABCDEF", p[i]) || !p[i])
						return NULL;
				p += 4;
			} else if (!*p || !strchr("\"\\/bfnrt", *p)) {
				return NULL;
			}
		}
		p++;
	}
	return *p == '"' ? p + 1 : NULL;
}

static const char *json_value(const char *p, int depth)
{
	p = json_ws(p);
	if (depth > 32)
		return NULL;
	if (*p == '{' || *p == '[') {
		char close = *p == '{' ? '}' : ']';
		bool obj = *p == '{';

		p = json_ws(p + 1);
		if (*p == close)
			return p + 1;
		for (;;) {
			if (obj) {
				p = json_string(json_ws(p));
				if (!p)
					return NULL;
				p = json_ws(p);
				if (*p++ != ':')
					return NULL;
			}
			p = json_value(p, depth + 1);
			if (!p)
				return NULL;
			p = json_ws(p);
			if (*p == close)
				return p + 1;
			if (*p++ != ',')
				return NULL;
		}
	}
	if (*p == '"')
		return json_string(p);
	if (!strncmp(p, "true", 4))
		return p + 4;
	if (!strncmp(p, "false", 5))
		return p + 5;
	if (!strncmp(p, "null", 4))
		return p + 4;
	if (*p == '-' || (*p >= '0' && *p <= '9')) {
		char *end;

		strtod(p, &end);
		return end > p ? end : NULL;
	}
	return NULL;
}

/* @s is exactly one JSON document (and whitespace). */
static bool json_valid(const char *s)
{
	const char *end = json_value(s, 0);

	return end && !*json_ws(end);
}

/* Every line of @s is one JSON document; returns the number of lines. */
static int json_lines(const char *s)
{
	char line[8192];
	int n = 0;

	while (*s) {
		const char *nl = strchr(s, '\n');
		size_t len = nl ? (size_t)(nl - s) : strlen(s);

		if (len >= sizeof(line))
			return -1;
		memcpy(line, s, len);
		line[len] = '\0';
		if (!json_valid(line))
			return -1;
		n++;
		s += len + (nl ? 1 : 0);
	}
	return n;
}

/* The number after "@key": in JSON text; -1 if absent. */
static long long json_num(const char *json, const char *key)
{
	char pat[80];
	const char *p;

	snprintf(pat, sizeof(pat), "\"%s\": ", key);
	p = strstr(json, pat);
	return p ? strtoll(p + strlen(pat), NULL, 10) : -1;
}

/* The number @key of the row with "path": @path in status --json; -1. */
static long long json_row_num(const char *json, const char *path, const char *key)
{
	char pat[PATH_MAX + 16], row[2048];
	const char *p, *end;

	snprintf(pat, sizeof(pat), "\"path\": \"%s\"", path);
	p = strstr(json, pat);
	if (!p)
		return -1;
	end = strchr(p, '}');
	if (!end || end - p >= (long)sizeof(row))
		return -1;
	memcpy(row, p, end - p);
	row[end - p] = '\0';
	return json_num(row, key);
}

/* ------------------------------------------------------------------------
 * bpf(), directly: what the loader did, seen from the kernel
 */
static long sys_bpf(int cmd, union bpf_attr *attr)
{
	return syscall(__NR_bpf, cmd, attr, sizeof(*attr));
}

static int obj_get(const char *path)
{
	union bpf_attr a = { .pathname = (__u64)(uintptr_t)path };

	return sys_bpf(BPF_OBJ_GET, &a);
}

static int obj_pin(int fd, const char *path)
{
	union bpf_attr a = { .pathname = (__u64)(uintptr_t)path, .bpf_fd = fd };

	return sys_bpf(BPF_OBJ_PIN, &a);
}

static int map_lookup(int fd, const void *key, void *value)
{
	union bpf_attr a = { .map_fd = fd, .key = (__u64)(uintptr_t)key,
			     .value = (__u64)(uintptr_t)value };

	return sys_bpf(BPF_MAP_LOOKUP_ELEM, &a);
}

static int map_update(int fd, const void *key, const void *value)
{
	union bpf_attr a = { .map_fd = fd, .key = (__u64)(uintptr_t)key,
			     .value = (__u64)(uintptr_t)value };

	return sys_bpf(BPF_MAP_UPDATE_ELEM, &a);
}

static int map_create_array(const char *name, __u32 value_size)
{
	union bpf_attr a = { .map_type = BPF_MAP_TYPE_ARRAY, .key_size = 4,
			     .value_size = value_size, .max_entries = 1 };

	strncpy(a.map_name, name, sizeof(a.map_name) - 1);
	return sys_bpf(BPF_MAP_CREATE, &a);
}

static int obj_info(int fd, void *info, __u32 len)
{
	union bpf_attr a = { .info = { .bpf_fd = fd, .info_len = len,
				       .info = (__u64)(uintptr_t)info } };

	memset(info, 0, len);
	return sys_bpf(BPF_OBJ_GET_INFO_BY_FD, &a);
}

/* Id of the map pinned at PIN_DIR/@name; 0 if none. */
static __u32 pinned_map_id(const char *name)
{
	char path[PATH_MAX];
	struct bpf_map_info mi;
	int fd;

	snprintf(path, sizeof(path), PIN_DIR "/%s", name);
	fd = obj_get(path);
	if (fd < 0)
		return 0;
	if (obj_info(fd, &mi, sizeof(mi)))
		mi.id = 0;
	close(fd);
	return mi.id;
}

/*
 * struct bpf_link_info as far as struct_ops links go (this system's
 * <linux/bpf.h> may predate its struct_ops member): the union starts at
 * byte 16.
 */
struct link_info {
	__u32 type, id, prog_id, pad;
	__u32 map_id;			/* struct_ops.map_id */
	__u32 rest[31];
};

/* The pinned link's id and its struct_ops map id (0: detached). */
static __u32 pinned_link(__u32 *map_id)
{
	struct link_info li;
	int fd = obj_get(PIN_DIR "/link");

	*map_id = 0;
	if (fd < 0)
		return 0;
	if (obj_info(fd, &li, sizeof(li))) {
		close(fd);
		return 0;
	}
	close(fd);
	*map_id = li.map_id;
	return li.id;
}

/* Write @value for cgroup @id into pinned map @name; 0 or -1. */
static int pinned_update(const char *name, __u64 id, const void *value)
{
	char path[PATH_MAX];
	int fd, ret;

	snprintf(path, sizeof(path), PIN_DIR "/%s", name);
	fd = obj_get(path);
	if (fd < 0)
		return -1;
	ret = map_update(fd, &id, value);
	close(fd);
	return ret ? -1 : 0;
}

/* Number of possible CPUs: what per-CPU map values are made of. */
static int possible_cpus(void)
{
	char buf[128], *p = buf;
	int n = 0;

	if (zu_read_file("/sys/devices/system/cpu/possible", buf, sizeof(buf)))
		return -1;
	while (*p) {
		long a = strtol(p, &p, 10), b = a;

		if (*p == '-')
			b = strtol(p + 1, &p, 10);
		n += b - a + 1;
		if (*p == ',')
			p++;
		else
			break;
	}
	return n;
}

/* A cgroup's id as systemd reads it: its file handle. */
static __u64 handle_id(const char *path)
{
	union {
		struct file_handle fh;
		char room[sizeof(struct file_handle) + 8];
	} h = { .fh.handle_bytes = 8 };
	int mnt;
	__u64 id = 0;

	if (!name_to_handle_at(AT_FDCWD, path, &h.fh, &mnt, 0))
		memcpy(&id, h.fh.f_handle, 8);
	return id;
}

/* The pin directory holds exactly the names in @want (NULL-terminated). */
static bool pins_are(const char *const *want, char *got, size_t size)
{
	DIR *d = opendir(PIN_DIR);
	struct dirent *de;
	int n = 0, nwant = 0;
	bool ok = true;

	got[0] = '\0';
	while (want[nwant])
		nwant++;
	if (!d)
		return nwant == 0;
	while ((de = readdir(d))) {
		bool listed = false;

		if (de->d_name[0] == '.')
			continue;
		for (int i = 0; i < nwant; i++)
			listed |= !strcmp(want[i], de->d_name);
		ok &= listed;
		n++;
		snprintf(got + strlen(got), size - strlen(got), "%s ", de->d_name);
	}
	closedir(d);
	return ok && n == nwant;
}

/* ------------------------------------------------------------------------
 * Holders: processes that keep reference pages in zswap until released
 */
struct holder {
	struct zu_barrier bar;
	const char *ref;
	size_t k, copies;
	size_t corrupt;
	pid_t pid;
};

static int holder_fn(void *arg)
{
	struct holder *h = arg;
	const size_t n = h->k * h->copies;
	uint32_t *idx = zu_idx_copies(h->k, h->copies, 0);
	char *buf = zu_map(n);

	if (!idx || !buf)
		return CHILD_NOMEM;
	zu_fill_ref(buf, h->ref, idx, n);
	if (zu_pageout(buf, n * PAGE))
		return CHILD_PAGEOUT;
	if (zu_barrier_wait(&h->bar, BAR_TIMEOUT) || zu_barrier_wait(&h->bar, BAR_TIMEOUT))
		return CHILD_SYNC;
	h->corrupt = zu_count_corrupt_ref(buf, h->ref, idx, n);
	return h->corrupt ? CHILD_CORRUPT : CHILD_OK;
}

static void holder_store(struct __test_metadata *_metadata, struct holder *h,
			 const char *cg)
{
	zu_barrier_init(&h->bar, 2);
	h->pid = zu_spawn(cg, holder_fn, h);
	ASSERT_LT(0, h->pid);
	ASSERT_EQ(0, zu_barrier_wait(&h->bar, BAR_TIMEOUT));
}

static int holder_finish(struct holder *h)
{
	int rc;

	if (h->pid <= 0)
		return -1;
	zu_barrier_wait(&h->bar, BAR_TIMEOUT);
	rc = zu_wait_child(h->pid);
	h->pid = 0;
	return rc;
}

/* memcg statistics are flushed lazily; the periodic flush runs every 2 s. */
static void memcg_stats_settle(void)
{
	usleep(2500 * 1000);
}

static int write_conf(const char *text)
{
	return zu_write_file(CONF, text);
}

/* ========================================================================
 * fixture
 */
FIXTURE(loader) {
	char top[256];		/* /sys/fs/cgroup/zdedup_loader_<test> */
	char rel[256];		/* the same, as the loader prints it */
	char self[300];
};

static const char *skip_reason(void)
{
	ensure_debugfs();
	if (!zu_have_dedup())
		return "no zswap dedup in this kernel (no debugfs zswap/dedup_hits)";
	if (access(ZSWAP_DEBUGFS "/dedup_policy", R_OK))
		return "no BPF dedup policy hook (no debugfs zswap/dedup_policy)";
	if (access(LOADER, X_OK))
		return "no " LOADER;
	return NULL;
}

/* Child cgroup @name of the test's tree (created), its path in @path. */
static void mkcg(struct __test_metadata *_metadata, FIXTURE_DATA(loader) *self,
		 const char *name, char *path, size_t size)
{
	snprintf(path, size, "%s/%s", self->top, name);
	ASSERT_EQ(0, cg_create(path));
}

FIXTURE_SETUP(loader)
{
	const char *why = skip_reason();

	if (why)
		SKIP(return, "%s", why);
	if (!zu_swap_active(SWAP_DEV))
		system("swapon " SWAP_DEV);
	ASSERT_EQ(0, zu_param_write("enabled", "Y"));
	ASSERT_EQ(0, zu_param_write("dedup_enabled", "Y"));
	ASSERT_TRUE(policy_cleanup());
	unit_cgroups_remove();

	snprintf(self->top, sizeof(self->top), CG_ROOT "/zdedup_loader_%s",
		 _metadata->name);
	snprintf(self->rel, sizeof(self->rel), "/zdedup_loader_%s", _metadata->name);
	cg_destroy_tree(self->top);
	ASSERT_EQ(0, cg_create(self->top));
	ASSERT_EQ(0, cg_write(self->top, "cgroup.subtree_control", "+memory"));
	snprintf(self->self, sizeof(self->self), "%s/self", self->top);
	ASSERT_EQ(0, cg_create(self->self));
	ASSERT_EQ(0, cg_enter_current(self->self));
}

FIXTURE_TEARDOWN(loader)
{
	cg_enter_current(CG_ROOT);
	ensure_debugfs();
	if (!policy_cleanup())
		TH_LOG("teardown: a policy stays attached");
	unit_cgroups_remove();
	if (self->top[0])
		cg_destroy_tree(self->top);
	unlink(CONF);
}

/* ========================================================================
 * versions and JSON
 */
TEST_F_TIMEOUT(loader, version, TEST_TIMEOUT)
{
	char abi[32];

	snprintf(abi, sizeof(abi), "ABI %d", ZDEDUP_ABI_VERSION);
	EXPECT_RUN(0, "zdedup-loader ", LOADER " --version");
	EXPECT_TRUE(has(cmd_out, "libbpf 1."));
	EXPECT_TRUE(has(cmd_out, abi));
	EXPECT_RUN(0, "libbpf", LOADER " -V");
	ASSERT_EQ(0, run_stdout(LOADER " --json --version"));
	EXPECT_TRUE(json_valid(cmd_out));
	EXPECT_EQ(ZDEDUP_ABI_VERSION, json_num(cmd_out, "abi_version"));
	EXPECT_TRUE(has(cmd_out, "\"libbpf\": \"1."));
	EXPECT_TRUE(has(cmd_out, "\"version\": \""));
}

/*
 * Every command, with --json before or after it, prints one valid JSON
 * document on stdout, whether it succeeds or fails; failures carry
 * "error" and exit 1 (could not be done) or 2 (bad command line).
 */
TEST_F_TIMEOUT(loader, json_everywhere, TEST_TIMEOUT)
{
	/* once: it changes the state, so it runs with --json after it only */
	static const struct { int rc; const char *args, *key; bool once; } cmds[] = {
		/* nothing loaded */
		{ 0, "status", "\"policy\"" , false },
		{ 1, "list", "\"error\"" , false },
		{ 1, "unload", "\"error\"" , false },
		{ 0, "get %s/A", "\"mode\": \"private\"" , false },
		{ 1, "prune", "\"error\"" , false },
		{ 2, "frobnicate", "\"error\"" , false },
		{ 2, "load", "\"error\"" , false },
		{ 2, "load nosuch", "\"error\"" , false },
		{ 1, "load /nonexistent.bpf.o", "\"error\"" , false },
		{ 2, "set %s/A shared", "\"error\"" , false },
		{ 1, "set %s/nosuch off", "\"error\"" , false },
		{ 2, "status --count 3", "\"error\"" , false },
		{ 2, "--bogus status", "\"error\"" , false },
		/* loaded */
		{ 0, "load tenant", "\"action\": \"attached\"", true },
		{ 1, "load memcg", "\"error\"" , false },
		{ 0, "set %s/A group 7", "\"group\": 7" , false },
		{ 0, "get %s/A", "\"group\": 7" , false },
		{ 0, "list", "\"group\": 7" , false },
		{ 0, "status", "\"cgroups\"" , false },
		{ 0, "unset %s/A", "\"action\": \"unset\"", true },
		{ 1, "unset %s/A", "\"error\"" , false },
		{ 0, "prune --dry-run", "\"dry_run\": true" , false },
		{ 0, "load tenant --replace", "\"action\": \"replaced\"" , false },
		{ 0, "apply --check " CONF, "\"check\": true" , false },
		{ 0, "apply " CONF, "\"changed\"" , false },
		{ 1, "apply /nonexistent.conf", "\"error\"" , false },
		{ 0, "status --watch 0.2 --count 1", "\"stored_per_s\"" , false },
		{ 0, "unload", "\"action\": \"detached\"", true },
	};
	char a[320], args[512];

	mkcg(_metadata, self, "A", a, sizeof(a));
	ASSERT_EQ(0, write_conf("policy tenant\n"));
	for (size_t i = 0; i < ARRAY_SIZE(cmds); i++) {
		bool watch = strstr(cmds[i].args, "--watch");

		snprintf(args, sizeof(args), cmds[i].args, self->top);
		/* --json after the command, then before it */
		for (int before = 0; before < 2 && !(before && cmds[i].once); before++) {
			int rc = before ? run_stdout(LOADER " --json %s", args) :
					  run_stdout(LOADER " %s --json", args);

			EXPECT_EQ(cmds[i].rc, rc) TH_LOG("%s", args);
			if (watch) {
				EXPECT_EQ(1, json_lines(cmd_out)) TH_LOG("%s: %s", args, cmd_out);
			} else {
				EXPECT_TRUE(json_valid(cmd_out)) TH_LOG("%s: %s", args, cmd_out);
			}
			EXPECT_TRUE(has(cmd_out, cmds[i].key))
				TH_LOG("%s: expected %s in: %s", args, cmds[i].key, cmd_out);
			if (cmds[i].rc) {
				EXPECT_TRUE(has(cmd_out, "\"error\": \""));
			}
		}
	}
	/* Without --json: errors on stderr, nothing on stdout. */
	EXPECT_EQ(2, run_stdout(LOADER " frobnicate"));
	EXPECT_STREQ("", cmd_out);
	EXPECT_RUN(2, "zdedup-loader: error: unknown command", LOADER " frobnicate");
}

/* ========================================================================
 * addressing cgroups
 */
TEST_F_TIMEOUT(loader, cgroup_ids_are_handles, TEST_TIMEOUT)
{
	char a[320], pat[64];
	struct stat st;
	__u64 id = 0;

	mkcg(_metadata, self, "A", a, sizeof(a));
	id = handle_id(a);
	ASSERT_NE(0, id);
	ASSERT_EQ(0, stat(a, &st));
	TH_LOG("%s: file handle id %llu, inode %llu", a, (unsigned long long)id,
	       (unsigned long long)st.st_ino);
	ASSERT_RUN(0, "attached", LOADER " load tenant");
	snprintf(pat, sizeof(pat), "(cgroup id %llu): group 3", (unsigned long long)id);
	EXPECT_RUN(0, pat, LOADER " set %s group 3", a);
	ASSERT_EQ(0, run_stdout(LOADER " --json list"));
	EXPECT_EQ((long long)id, json_num(cmd_out, "id"));
	/* unset --id takes the same id */
	snprintf(pat, sizeof(pat), "%llu", (unsigned long long)id);
	EXPECT_RUN(0, "entry removed", LOADER " unset --id %s", pat);
}

/* Make the systemd-like cgroups, parents first, memory delegated. */
static bool unit_cgroups_make(void)
{
	if (access(CG_ROOT "/system.slice", F_OK)) {
		if (cg_create(CG_ROOT "/system.slice"))
			return false;
		made_system_slice = true;
	}
	if (cg_write(CG_ROOT "/system.slice", "cgroup.subtree_control", "+memory"))
		return false;
	/* unit_cgroups[] lists children first: make them in reverse. */
	for (size_t i = ARRAY_SIZE(unit_cgroups); i-- > 0;) {
		const char *path = unit_cgroups[i];
		size_t len = strlen(path);

		if (access(path, F_OK) && cg_create(path))
			return false;
		if (len > 6 && !strcmp(path + len - 6, ".slice") &&
		    cg_write(path, "cgroup.subtree_control", "+memory"))
			return false;
	}
	return true;
}

static int sleeper_fn(void *arg)
{
	(void)arg;
	sleep(60);
	return 0;
}

/*
 * --unit maps systemd names to systemd's layout (the busybox VM has no
 * systemd: the cgroups are made the way it makes them); --pid reads
 * /proc/PID/cgroup.  Malformed names and pids are usage errors (2); units
 * and processes that do not exist fail (1).
 */
TEST_F_TIMEOUT(loader, cgroup_by_unit_and_pid, TEST_TIMEOUT)
{
	char a[320], pat[PATH_MAX];
	pid_t pid;

	ASSERT_TRUE(unit_cgroups_make());
	mkcg(_metadata, self, "A", a, sizeof(a));
	ASSERT_RUN(0, "attached", LOADER " load tenant");

	EXPECT_RUN(0, "/zdtest.slice/zdtest-a.slice (cgroup id", LOADER
		   " set --unit zdtest-a.slice group 5");
	EXPECT_RUN(0, "/zdtest.slice (cgroup id", LOADER " set --unit=zdtest.slice off");
	EXPECT_RUN(0, "/system.slice/zdtest.service (cgroup id", LOADER
		   " set --unit zdtest.service private");
	EXPECT_RUN(0, "/system.slice/system-zdtpl.slice/zdtpl@one.service (cgroup id",
		   LOADER " set --unit zdtpl@one.service group 9");
	/* Slice=zdtest.slice: found outside system.slice */
	EXPECT_RUN(0, "/zdtest.slice/zdtest-b.service (cgroup id", LOADER
		   " set --unit zdtest-b.service group 6");
	EXPECT_RUN(0, "group 5, its own entry", LOADER " get --unit zdtest-a.slice");
	EXPECT_RUN(0, "group 6, its own entry", LOADER " get --unit zdtest-b.service");
	EXPECT_RUN(0, "entry removed", LOADER " unset --unit zdtest-b.service");
	EXPECT_RUN(0, "off, inherited from /zdtest.slice", LOADER
		   " get --unit zdtest-b.service");

	/* --pid */
	pid = zu_spawn(a, sleeper_fn, NULL);
	ASSERT_LT(0, pid);
	usleep(200 * 1000);
	snprintf(pat, sizeof(pat), "%s/A (cgroup id", self->rel);
	EXPECT_RUN(0, pat, LOADER " set --pid %d group 4", pid);
	EXPECT_RUN(0, "group 4, its own entry", LOADER " get --pid=%d", pid);
	kill(pid, SIGKILL);
	zu_wait_child(pid);
	EXPECT_RUN(1, "no such process", LOADER " get --pid %d", pid);

	/* errors */
	EXPECT_RUN(1, "not running", LOADER " set --unit zdnosuch.service off");
	EXPECT_RUN(1, "systemd makes it when a unit in it starts", LOADER
		   " set --unit zdnosuch-x.slice off");
	EXPECT_RUN(2, "no unit type", LOADER " set --unit zdtest off");
	EXPECT_RUN(2, "not a unit name", LOADER " set --unit 'a b.service' off");
	EXPECT_RUN(2, "type without a cgroup", LOADER " set --unit zdtest.timer off");
	EXPECT_RUN(2, "not a valid slice name", LOADER " set --unit zd--x.slice off");
	EXPECT_RUN(2, "needs a value", LOADER " set --unit");
	EXPECT_RUN(2, "--pid wants a process id", LOADER " get --pid abc");
	EXPECT_RUN(2, "--pid wants a process id", LOADER " get --pid 0");
	EXPECT_RUN(2, "unknown option '--uni'", LOADER " get --uni x.slice");
	ASSERT_EQ(0, run(LOADER " list"));
	EXPECT_TRUE(has(cmd_out, "/zdtest.slice/zdtest-a.slice"));
	EXPECT_FALSE(has(cmd_out, "zdnosuch"));
}

/* ========================================================================
 * get, set, prune
 */
TEST_F_TIMEOUT(loader, get_effective, TEST_TIMEOUT)
{
	char a[320], b[340], c[360], pat[PATH_MAX];

	mkcg(_metadata, self, "A", a, sizeof(a));
	ASSERT_EQ(0, cg_write(a, "cgroup.subtree_control", "+memory"));
	snprintf(b, sizeof(b), "%s/B", a);
	ASSERT_EQ(0, cg_create(b));
	ASSERT_EQ(0, cg_write(b, "cgroup.subtree_control", "+memory"));
	snprintf(c, sizeof(c), "%s/C", b);
	ASSERT_EQ(0, cg_create(c));

	EXPECT_RUN(0, "private (no policy is attached", LOADER " get %s", c);
	ASSERT_RUN(0, "attached", LOADER " load memcg");
	EXPECT_RUN(0, "policy 'memcg' has no per-cgroup settings", LOADER " get %s", c);
	ASSERT_RUN(0, "replaced", LOADER " load tenant --replace");
	EXPECT_RUN(0, "private (the default", LOADER " get %s", c);
	ASSERT_RUN(0, NULL, LOADER " set %s group 7", a);
	snprintf(pat, sizeof(pat), "group 7, inherited from %s/A (cgroup id", self->rel);
	EXPECT_RUN(0, pat, LOADER " get %s", c);
	ASSERT_RUN(0, NULL, LOADER " set %s off", b);
	snprintf(pat, sizeof(pat), "off, inherited from %s/A/B", self->rel);
	EXPECT_RUN(0, pat, LOADER " get %s", c);
	ASSERT_RUN(0, NULL, LOADER " set %s private", c);
	EXPECT_RUN(0, "private, its own entry", LOADER " get %s", c);
	ASSERT_EQ(0, run_stdout(LOADER " --json get %s", c));
	EXPECT_TRUE(json_valid(cmd_out));
	EXPECT_TRUE(has(cmd_out, "\"inherited\": false"));
	ASSERT_RUN(0, NULL, LOADER " unset %s", b);
	ASSERT_RUN(0, NULL, LOADER " unset %s", c);
	ASSERT_EQ(0, run_stdout(LOADER " --json get %s", c));
	snprintf(pat, sizeof(pat), "\"from\": {\n    \"cgroup\": \"%s/A\"", self->rel);
	EXPECT_TRUE(has(cmd_out, pat)) TH_LOG("%s", cmd_out);
	EXPECT_TRUE(has(cmd_out, "\"group\": 7"));
	EXPECT_TRUE(has(cmd_out, "\"inherited\": true"));
	EXPECT_RUN(1, "No such file", LOADER " get %s/nosuch", a);
	EXPECT_RUN(2, "one cgroup at a time", LOADER " get %s %s", a, b);
}

TEST_F_TIMEOUT(loader, set_needs_memory, TEST_TIMEOUT)
{
	static char list0[OUT_MAX];
	char x[320], y[340], pat[PATH_MAX];

	mkcg(_metadata, self, "X", x, sizeof(x));
	snprintf(y, sizeof(y), "%s/Y", x);		/* X does not delegate memory */
	ASSERT_EQ(0, cg_create(y));
	snprintf(pat, sizeof(pat), "%s/memory.stat", y);
	ASSERT_NE(0, access(pat, F_OK));
	ASSERT_RUN(0, "attached", LOADER " load tenant");
	ASSERT_RUN(0, "group 2", LOADER " set %s group 2", x);
	ASSERT_EQ(0, run_quiet(LOADER " list --json"));
	strcpy(list0, cmd_out);
	EXPECT_RUN(1, "has no memory controller", LOADER " set %s off", y);
	EXPECT_TRUE(has(cmd_out, "+memory"));
	ASSERT_EQ(0, run_quiet(LOADER " list --json"));
	EXPECT_STREQ(list0, cmd_out);
	snprintf(pat, sizeof(pat), "its pages are charged to %s/X", self->rel);
	EXPECT_RUN(0, pat, LOADER " get %s", y);
	EXPECT_TRUE(has(cmd_out, "group 2"));
	/* The root cgroup always counts. */
	EXPECT_RUN(0, "/ (cgroup id 1): off", LOADER " set / off");
	EXPECT_RUN(0, "entry removed", LOADER " unset /");
}

TEST_F_TIMEOUT(loader, prune_gone, TEST_TIMEOUT)
{
	const struct zdedup_cgroup_stats st = { 10, 5, 1 };
	char a[320], b[320], c[320], pat[64];
	__u64 idb, idc;

	mkcg(_metadata, self, "A", a, sizeof(a));
	mkcg(_metadata, self, "B", b, sizeof(b));
	mkcg(_metadata, self, "C", c, sizeof(c));
	idb = handle_id(b);
	idc = handle_id(c);
	ASSERT_RUN(0, "attached", LOADER " load tenant");
	ASSERT_RUN(0, NULL, LOADER " set %s group 1", a);
	ASSERT_RUN(0, NULL, LOADER " set %s group 2", b);
	ASSERT_RUN(0, NULL, LOADER " set %s off", c);
	ASSERT_EQ(0, pinned_update(ZDEDUP_MAP_CGROUP_STATS, idc, &st));
	ASSERT_EQ(0, cg_destroy(b));
	ASSERT_EQ(0, cg_destroy(c));
	EXPECT_RUN(0, "(gone)", LOADER " list");

	snprintf(pat, sizeof(pat), "would remove cgroup id %llu (gone): group 2",
		 (unsigned long long)idb);
	EXPECT_RUN(0, pat, LOADER " prune --dry-run");
	EXPECT_TRUE(has(cmd_out, "would remove 2 settings"));
	ASSERT_EQ(0, run_quiet(LOADER " list"));
	EXPECT_TRUE(has(cmd_out, "(gone)"));

	snprintf(pat, sizeof(pat), "removed cgroup id %llu (gone): off",
		 (unsigned long long)idc);
	EXPECT_RUN(0, pat, LOADER " prune");
	EXPECT_TRUE(has(cmd_out, "removed 2 settings of cgroups that are gone, 1 statistics"));
	EXPECT_RUN(0, "group 1", LOADER " list");
	EXPECT_FALSE(has(cmd_out, "(gone)"));
	EXPECT_RUN(0, "removed 0 settings", LOADER " prune");
	ASSERT_EQ(0, run_stdout(LOADER " prune --json"));
	EXPECT_TRUE(json_valid(cmd_out));
	EXPECT_TRUE(has(cmd_out, "\"removed\": []"));
}

/* ========================================================================
 * status
 */
#define ST_K 128

TEST_F_TIMEOUT(loader, status_memory_stat, TEST_TIMEOUT)
{
	struct holder *h = zu_map_shared(sizeof(*h));
	char x[320], rel[300];
	long long zswapped, dedup_out;
	char *ref;

	ASSERT_NE(NULL, h);
	mkcg(_metadata, self, "X", x, sizeof(x));
	snprintf(rel, sizeof(rel), "%s/X", self->rel);
	ref = zu_ref_alloc(ST_K, 0x7100000);
	ASSERT_NE(NULL, ref);
	*h = (struct holder){ .ref = ref, .k = ST_K, .copies = 2 };
	holder_store(_metadata, h, x);	/* built-in policy: merges within X */
	memcg_stats_settle();

	ASSERT_EQ(0, run(LOADER " status"));
	EXPECT_TRUE(has(cmd_out, "builtin"));
	EXPECT_TRUE(has(cmd_out, rel));
	EXPECT_TRUE(has(cmd_out, "ZSWAPPED"));
	ASSERT_EQ(0, run_stdout(LOADER " status --json"));
	EXPECT_TRUE(json_valid(cmd_out));
	zswapped = json_row_num(cmd_out, rel, "zswapped_bytes");
	dedup_out = json_row_num(cmd_out, rel, "zswpout_dedup");
	TH_LOG("X: zswapped %lld bytes, zswpout_dedup %lld", zswapped, dedup_out);
	EXPECT_GE(zswapped, (long long)(2 * ST_K * PAGE * 95 / 100));
	EXPECT_GE(dedup_out, ST_K * 95 / 100);
	EXPECT_GT(json_row_num(cmd_out, rel, "zswap_bytes"), 0);

	/* Without debugfs: the same figures, counters unavailable. */
	ASSERT_EQ(0, umount(DEBUGFS));
	ASSERT_EQ(0, run(LOADER " status"));
	EXPECT_TRUE(has(cmd_out, "counters:       unavailable"));
	EXPECT_TRUE(has(cmd_out, rel));
	ASSERT_EQ(0, run_stdout(LOADER " status --json"));
	EXPECT_TRUE(json_valid(cmd_out));
	EXPECT_TRUE(has(cmd_out, "\"counters\": null"));
	EXPECT_EQ(dedup_out, json_row_num(cmd_out, rel, "zswpout_dedup"));
	/* ... and with a policy, named without debugfs too */
	ASSERT_RUN(0, "attached", LOADER " load tenant");
	ASSERT_EQ(0, run(LOADER " status"));
	EXPECT_TRUE(has(cmd_out, "policy:         tenant"));
	EXPECT_TRUE(has(cmd_out, rel));
	ensure_debugfs();
	EXPECT_EQ(CHILD_OK, holder_finish(h));
}

static int store_later_fn(void *arg)
{
	struct holder *h = arg;

	usleep(400 * 1000);
	return holder_fn(h);
}

TEST_F_TIMEOUT(loader, status_watch, TEST_TIMEOUT)
{
	struct holder *h = zu_map_shared(sizeof(*h));
	char x[320], *p;
	double stored = 0;
	int lines;

	ASSERT_NE(NULL, h);
	mkcg(_metadata, self, "X", x, sizeof(x));
	*h = (struct holder){ .k = 256, .copies = 2 };
	h->ref = zu_ref_alloc(h->k, 0x7200000);
	ASSERT_NE(NULL, h->ref);

	ASSERT_RUN(0, "STORED/s", LOADER " status --watch 0.2 --count 3");
	lines = 0;
	for (p = cmd_out; (p = strchr(p, '\n')); p++)
		lines++;
	EXPECT_EQ(4, lines);		/* the header and 3 samples */

	/* Pages stored while it watches show in its rates. */
	zu_barrier_init(&h->bar, 2);
	h->pid = zu_spawn(x, store_later_fn, h);
	ASSERT_LT(0, h->pid);
	ASSERT_EQ(0, run_stdout(LOADER " status --watch 0.5 --count 6 --json"));
	EXPECT_EQ(6, json_lines(cmd_out)) TH_LOG("%s", cmd_out);
	for (p = cmd_out; (p = strstr(p, "\"stored_per_s\": ")); p++)
		stored += strtod(p + 16, NULL);
	TH_LOG("stored per second, summed over the samples: %.1f", stored);
	EXPECT_GT(stored, 0);
	EXPECT_TRUE(has(cmd_out, "\"hashed_per_s\": "));
	EXPECT_EQ(0, zu_barrier_wait(&h->bar, BAR_TIMEOUT));
	EXPECT_EQ(CHILD_OK, holder_finish(h));

	EXPECT_RUN(2, "--count goes with --watch", LOADER " status --count 2");
	EXPECT_RUN(2, "--watch wants seconds", LOADER " status --watch 0 --count 1");
	EXPECT_RUN(2, "--count wants a number", LOADER " status --watch --count x");
	EXPECT_RUN(2, "not with --watch", LOADER " status --watch --prometheus");
}

/* A Prometheus sample line: name, optional {labels}, value. */
static bool prom_sample_ok(const char *line)
{
	const char *p = line;

	if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || *p == '_'))
		return false;
	while ((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') ||
	       (*p >= '0' && *p <= '9') || *p == '_' || *p == ':')
		p++;
	if (*p == '{') {
		p = strchr(p, '}');
		if (!p)
			return false;
		p++;
	}
	if (*p++ != ' ')
		return false;
	strtod(p, (char **)&p);
	return !*p;
}

TEST_F_TIMEOUT(loader, status_prometheus, TEST_TIMEOUT)
{
	struct holder *h = zu_map_shared(sizeof(*h));
	char a[320], label[PATH_MAX], line[1024];
	char families[64][96];
	int nfam = 0, samples = 0, bad = 0;
	const char *p;

	ASSERT_NE(NULL, h);
	mkcg(_metadata, self, "A", a, sizeof(a));
	*h = (struct holder){ .k = 128, .copies = 2 };
	h->ref = zu_ref_alloc(h->k, 0x7300000);
	ASSERT_NE(NULL, h->ref);
	ASSERT_RUN(0, "attached", LOADER " load tenant");
	ASSERT_RUN(0, NULL, LOADER " set %s group 3", a);
	holder_store(_metadata, h, a);
	memcg_stats_settle();

	ASSERT_EQ(0, run_stdout(LOADER " status --prometheus"));
	log_output(cmd_out, 12);
	for (p = cmd_out; *p;) {
		const char *nl = strchr(p, '\n');
		size_t len = nl ? (size_t)(nl - p) : strlen(p);

		snprintf(line, sizeof(line), "%.*s", (int)len, p);
		p += len + (nl ? 1 : 0);
		if (!strncmp(line, "# TYPE ", 7)) {
			char name[96];

			sscanf(line + 7, "%95s", name);
			for (int i = 0; i < nfam; i++)
				if (!strcmp(families[i], name)) {
					TH_LOG("family %s declared twice", name);
					bad++;
				}
			if (nfam < 64)
				strcpy(families[nfam++], name);
		} else if (!strncmp(line, "# HELP ", 7)) {
			continue;
		} else if (!prom_sample_ok(line)) {
			TH_LOG("not a sample line: '%s'", line);
			bad++;
		} else {
			samples++;
		}
	}
	TH_LOG("%d families, %d samples", nfam, samples);
	EXPECT_EQ(0, bad);
	EXPECT_GT(nfam, 8);
	EXPECT_TRUE(has(cmd_out, "zdedup_policy_info{policy=\"tenant\",loader=\"zdedup-loader\""));
	snprintf(label, sizeof(label), "zdedup_cgroup_zswapped_bytes{cgroup=\"%s/A\"} ",
		 self->rel);
	EXPECT_TRUE(has(cmd_out, label));
	snprintf(label, sizeof(label), "zdedup_cgroup_group{cgroup=\"%s/A\"} 3", self->rel);
	EXPECT_TRUE(has(cmd_out, label));
	snprintf(label, sizeof(label), "zdedup_cgroup_zswpout_dedup_pages_total{cgroup=\"%s/A\"} ",
		 self->rel);
	EXPECT_TRUE(has(cmd_out, label));
	EXPECT_TRUE(has(cmd_out, "zdedup_zswap_dedup_hits "));
	EXPECT_EQ(CHILD_OK, holder_finish(h));
	EXPECT_RUN(2, "not with --json", LOADER " --json status --prometheus");
}

/* ========================================================================
 * apply
 */
TEST_F_TIMEOUT(loader, apply_config, TEST_TIMEOUT)
{
	static char list0[OUT_MAX], text[4096];
	__u32 link0, link1, map_id;
	char a[320], b[320], c[320];

	ASSERT_TRUE(unit_cgroups_make());
	mkcg(_metadata, self, "A", a, sizeof(a));
	mkcg(_metadata, self, "B", b, sizeof(b));
	mkcg(_metadata, self, "C", c, sizeof(c));
	snprintf(text, sizeof(text),
		 "# tenants\n"
		 "policy tenant   # the per-cgroup policy\n"
		 "\n"
		 "cgroup %s group 7\n"
		 "unit zdtest-a.slice off\n"
		 "\tcgroup %s/C private\n"
		 "unit zdnosuch.service group 3\n", a, self->rel);
	ASSERT_EQ(0, write_conf(text));

	/* --check first: says what it would do, does nothing */
	EXPECT_RUN(0, "would be attached", LOADER " apply --check " CONF);
	EXPECT_TRUE(has(cmd_out, "would change: 3 set, 0 removed, 0 unchanged, 1 pending"));
	EXPECT_TRUE(is_policy("builtin"));
	EXPECT_NE(0, access(PIN_DIR, F_OK));

	EXPECT_RUN(0, "policy tenant: attached", LOADER " apply " CONF);
	EXPECT_TRUE(has(cmd_out, "3 set, 0 removed, 0 unchanged, 1 pending"));
	EXPECT_TRUE(has(cmd_out, "zdnosuch.service: pending, line 7"));
	EXPECT_TRUE(is_policy("tenant"));
	ASSERT_EQ(0, run(LOADER " list"));
	EXPECT_TRUE(has(cmd_out, "/zdtest.slice/zdtest-a.slice"));
	strcpy(list0, cmd_out);
	link0 = pinned_link(&map_id);

	/* again: nothing changes */
	EXPECT_RUN(0, "no changes (3 settings in place, some pending)", LOADER " apply " CONF);
	EXPECT_TRUE(has(cmd_out, "policy tenant: unchanged"));
	link1 = pinned_link(&map_id);
	EXPECT_EQ(link0, link1);
	ASSERT_EQ(0, run_quiet(LOADER " list"));
	EXPECT_STREQ(list0, cmd_out);
	EXPECT_RUN(0, "no changes", LOADER " apply --check " CONF);

	/* a setting made by hand, a changed one, a dropped one */
	ASSERT_RUN(0, NULL, LOADER " set %s off", b);
	snprintf(text, sizeof(text),
		 "policy tenant\n"
		 "cgroup %s group 8\n"
		 "unit zdtest-a.slice off\n", a);
	ASSERT_EQ(0, write_conf(text));
	EXPECT_RUN(0, "group 8 (was group 7)", LOADER " apply " CONF);
	EXPECT_TRUE(has(cmd_out, "1 set, 2 removed, 1 unchanged, 0 pending"));
	ASSERT_EQ(0, run(LOADER " list"));
	EXPECT_FALSE(has(cmd_out, "/B "));
	EXPECT_FALSE(has(cmd_out, "/C "));
	EXPECT_TRUE(has(cmd_out, "group 8"));
	EXPECT_EQ(link0, pinned_link(&map_id));

	/* the same policy from its object: replaced, settings carried over */
	snprintf(text, sizeof(text),
		 "policy " BPF_DIR "/tenant.bpf.o\n"
		 "cgroup %s group 8\n"
		 "unit zdtest-a.slice off\n", a);
	ASSERT_EQ(0, write_conf(text));
	EXPECT_RUN(0, "policy tenant: replaced", LOADER " apply " CONF);
	EXPECT_TRUE(has(cmd_out, "0 set, 0 removed, 2 unchanged"));
	EXPECT_EQ(link0, pinned_link(&map_id));
	EXPECT_RUN(0, "no changes", LOADER " apply " CONF);

	/* adaptive with options, then the built-in policy */
	ASSERT_EQ(0, write_conf("policy adaptive --window 64\n"));
	EXPECT_RUN(0, "policy adaptive: replaced", LOADER " apply " CONF);
	EXPECT_TRUE(is_policy("adaptive"));
	EXPECT_RUN(0, "no changes", LOADER " apply " CONF);
	ASSERT_EQ(0, write_conf("policy adaptive --window 128\n"));
	EXPECT_RUN(0, "policy adaptive: replaced", LOADER " apply " CONF);
	ASSERT_EQ(0, write_conf("policy builtin\n"));
	EXPECT_RUN(0, "would be unloaded", LOADER " apply --check " CONF);
	EXPECT_TRUE(is_policy("adaptive"));
	EXPECT_RUN(0, "policy builtin: unloaded", LOADER " apply " CONF);
	EXPECT_TRUE(wait_policy("builtin", DETACH_WAIT));
	EXPECT_NE(0, access(PIN_DIR, F_OK));
	EXPECT_RUN(0, "no changes", LOADER " apply " CONF);
	ASSERT_EQ(0, run_stdout(LOADER " --json apply " CONF));
	EXPECT_TRUE(json_valid(cmd_out));
	EXPECT_TRUE(has(cmd_out, "\"changed\": false"));
}

/*
 * Every bad file fails with exit 1, names FILE:LINE, and touches nothing:
 * the policy and its settings stay as they were.
 */
TEST_F_TIMEOUT(loader, apply_errors, TEST_TIMEOUT)
{
	static const struct { const char *text, *msg; } bad[] = {
		{ "policy tenant\ncgroup %s/A group 7\nfrobnicate\n",
		  CONF ":3: unknown statement 'frobnicate'" },
		{ "policy tenant\ncgroup %s/A shared\n", CONF ":2: unknown mode 'shared'" },
		{ "policy tenant\ncgroup %s/A group 0\n", CONF ":2: group number must be" },
		{ "policy tenant\ncgroup %s/A off\ncgroup %s/A private\n",
		  CONF ":3: %s/A is set on line 2 already" },
		{ "policy tenant\npolicy memcg\n", CONF ":2: a second policy line (the first is line 1)" },
		{ "cgroup %s/A off\n", CONF ": no policy line" },
		{ "policy nosuch\n", CONF ":1: unknown policy 'nosuch'" },
		{ "policy adaptive\ncgroup %s/A off\n",
		  CONF ":2: per-cgroup settings need a policy that takes them" },
		{ "policy builtin\ncgroup %s/A off\n",
		  CONF ":2: per-cgroup settings need a policy that takes them" },
		{ "policy /nonexistent.bpf.o\n", CONF ":1: policy object /nonexistent.bpf.o" },
		{ "policy adaptive --frob 1\n", CONF ":1: unknown policy option '--frob'" },
		{ "policy adaptive --window 0\n", CONF ":1: --window wants a number of pages" },
		{ "policy memcg --window 64\n", "policy 'memcg' has no tunable window_pages" },
		{ "policy tenant\ncgroup /tmp off\n", CONF ":2: /tmp is not a cgroup v2 directory" },
		{ "policy tenant\nunit a/b.slice off\n", CONF ":2: 'a/b.slice' is not a unit name" },
		{ "policy tenant\nunit x.timer off\n", CONF ":2: unit 'x.timer' is of a type" },
		{ "policy tenant\ncgroup\n", CONF ":2: cgroup what?" },
		{ "policy builtin extra\n", CONF ":1: policy builtin takes no options" },
	};
	static char list0[OUT_MAX];
	char a[320], text[2048], msg[1024];
	__u32 link0, map_id;

	mkcg(_metadata, self, "A", a, sizeof(a));
	ASSERT_RUN(0, "attached", LOADER " load tenant");
	ASSERT_RUN(0, NULL, LOADER " set %s group 9", a);
	ASSERT_EQ(0, run_quiet(LOADER " list --json"));
	strcpy(list0, cmd_out);
	link0 = pinned_link(&map_id);

	for (size_t i = 0; i < ARRAY_SIZE(bad); i++) {
		snprintf(text, sizeof(text), bad[i].text, self->rel, self->rel);
		snprintf(msg, sizeof(msg), bad[i].msg, self->rel);
		ASSERT_EQ(0, write_conf(text));
		for (int check = 0; check < 2; check++) {
			EXPECT_RUN(1, msg, LOADER " apply %s" CONF, check ? "--check " : "");
			EXPECT_TRUE(is_policy("tenant"));
			EXPECT_EQ(link0, pinned_link(&map_id));
			EXPECT_EQ(0, run_quiet(LOADER " list --json"));
			EXPECT_STREQ(list0, cmd_out);
		}
	}
	/* A NUL byte, a missing file, no file at all */
	ASSERT_EQ(0, run_quiet("printf 'policy tenant\\0\\n' > " CONF));
	EXPECT_RUN(1, "holds a NUL byte", LOADER " apply " CONF);
	EXPECT_RUN(1, "cannot read /nonexistent.conf", LOADER " apply /nonexistent.conf");
	EXPECT_RUN(2, "which file?", LOADER " apply");
	EXPECT_RUN(2, "one FILE at a time", LOADER " apply a b");
	EXPECT_STREQ(list0, (run_quiet(LOADER " list --json"), cmd_out));
}

/* ========================================================================
 * robustness
 */

/* Output of a refused command that must not claim there is no policy. */
static bool claims_none(const char *out)
{
	return has(out, "builtin") || has(out, "no policy is loaded") ||
	       has(out, "nothing to unload") || has(out, "no policy is attached");
}

/*
 * As nobody, every command fails (1), says root is needed, and never
 * reports "no policy" or "builtin": with a policy attached, and without.
 */
TEST_F_TIMEOUT(loader, no_permission, TEST_TIMEOUT)
{
	static const char *const cmds[] = {
		"status", "status --json", "status --prometheus",
		"status --watch 0.1 --count 1", "list", "get /", "set / off",
		"unset /", "prune", "load memcg", "load tenant --replace", "unload",
		"apply " CONF,
	};

	ASSERT_EQ(0, write_conf("policy tenant\n"));
	ASSERT_EQ(0, chmod(CONF, 0644));
	for (int attached = 1; attached >= 0; attached--) {
		if (attached)
			ASSERT_RUN(0, "attached", LOADER " load tenant");
		else
			ASSERT_RUN(0, "detached", LOADER " unload");
		for (size_t i = 0; i < ARRAY_SIZE(cmds); i++) {
			EXPECT_EQ(1, run_nobody(LOADER " %s", cmds[i]));
			EXPECT_TRUE(has(cmd_out, "root")) TH_LOG("%s", cmds[i]);
			EXPECT_FALSE(claims_none(cmd_out)) TH_LOG("%s", cmds[i]);
		}
		EXPECT_EQ(1, run_nobody(LOADER " --json status"));
		EXPECT_TRUE(has(cmd_out, "{\n  \"error\": \""));
		EXPECT_TRUE(is_policy(attached ? "tenant" : "builtin"));
	}
}

/* A raw BTF blob with one type (int): a kernel without the hook. */
static int write_btf_without_hook(const char *path)
{
	struct {
		__u16 magic;
		__u8 version, flags;
		__u32 hdr_len, type_off, type_len, str_off, str_len;
		__u32 name_off, info, size, int_data;
		char strings[5];
	} __attribute__((packed)) blob = {
		.magic = 0xeB9F, .version = 1, .hdr_len = 24,
		.type_off = 0, .type_len = 16, .str_off = 16, .str_len = 5,
		.name_off = 1, .info = 1 << 24, .size = 4, .int_data = 32,
		.strings = "\0int",
	};
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
	bool ok;

	if (fd < 0)
		return -1;
	ok = write(fd, &blob, sizeof(blob)) == sizeof(blob);
	close(fd);
	return ok ? 0 : -1;
}

TEST_F_TIMEOUT(loader, no_feature, TEST_TIMEOUT)
{
	static const char *const cmds[] = {
		"status", "status --json", "status --prometheus",
		"status --watch 0.1 --count 1", "list", "get /", "set / off",
		"unset /", "prune", "load memcg", "unload", "apply " CONF,
	};
	const char *btf = "/tmp/zdedup_nohook.btf";

	ASSERT_EQ(0, write_btf_without_hook(btf));
	ASSERT_EQ(0, write_conf("policy memcg\n"));
	ASSERT_RUN(0, "attached", LOADER " load memcg");
	ASSERT_EQ(0, umount(DEBUGFS));
	for (size_t i = 0; i < ARRAY_SIZE(cmds); i++) {
		EXPECT_EQ(1, run("ZDEDUP_LOADER_BTF=%s " LOADER " %s", btf, cmds[i]));
		EXPECT_TRUE(has(cmd_out, "no zswap dedup policy hook")) TH_LOG("%s", cmds[i]);
		EXPECT_FALSE(claims_none(cmd_out)) TH_LOG("%s", cmds[i]);
	}
	ensure_debugfs();
	EXPECT_TRUE(is_policy("memcg"));
	unlink(btf);
}

/* Detach our pinned link the way another tool would, keeping the pin. */
static int detach_pinned_link(void)
{
	union bpf_attr a = {};
	int fd = obj_get(PIN_DIR "/link"), ret;

	if (fd < 0)
		return -1;
	a.link_detach.link_fd = fd;
	ret = sys_bpf(BPF_LINK_DETACH, &a);
	close(fd);
	return ret;
}

TEST_F_TIMEOUT(loader, stale_pin_reported, TEST_TIMEOUT)
{
	char a[320];
	__u32 map_id;

	mkcg(_metadata, self, "A", a, sizeof(a));

	/* 1. detached behind the loader's back; nothing attached */
	ASSERT_RUN(0, "attached", LOADER " load tenant");
	ASSERT_RUN(0, NULL, LOADER " set %s group 7", a);
	ASSERT_EQ(0, detach_pinned_link());
	ASSERT_TRUE(wait_policy("builtin", DETACH_WAIT));
	ASSERT_NE(0, pinned_link(&map_id));
	ASSERT_EQ(0, map_id);
	EXPECT_RUN(0, "stale pins:", LOADER " status");
	EXPECT_TRUE(has(cmd_out, "detached by other means"));
	EXPECT_TRUE(has(cmd_out, "policy:         builtin"));
	EXPECT_FALSE(has(cmd_out, "loaded from:"));
	EXPECT_FALSE(has(cmd_out, "group 7"));
	ASSERT_EQ(0, run_stdout(LOADER " status --json"));
	EXPECT_TRUE(json_valid(cmd_out));
	EXPECT_TRUE(has(cmd_out, "\"stale_pins\": true"));
	EXPECT_RUN(1, "settings would have no effect", LOADER " set %s off", a);
	EXPECT_RUN(1, "detached by other means", LOADER " list");
	EXPECT_RUN(1, "detached by other means", LOADER " get %s", a);
	EXPECT_RUN(1, "detached by other means", LOADER " prune");
	EXPECT_RUN(0, "removing its pins", LOADER " load memcg");
	EXPECT_TRUE(is_policy("memcg"));
	EXPECT_RUN(0, "policy:         memcg", LOADER " status");
	EXPECT_FALSE(has(cmd_out, "stale"));
	ASSERT_RUN(0, "detached", LOADER " unload");

	/* 2. detached, and another tool's policy attached since */
	ASSERT_RUN(0, "attached", LOADER " load tenant");
	ASSERT_EQ(0, detach_pinned_link());
	ASSERT_TRUE(wait_policy("builtin", DETACH_WAIT));
	mkdir(BPFTOOL_PIN, 0700);
	ASSERT_RUN(0, NULL, BPFTOOL " struct_ops register " BPF_DIR "/memcg.bpf.o "
		   BPFTOOL_PIN);
	ASSERT_TRUE(is_policy("memcg"));
	EXPECT_RUN(0, "loaded by:      another tool", LOADER " status");
	EXPECT_TRUE(has(cmd_out, "stale pins:"));
	EXPECT_RUN(1, "attached instead, by another tool", LOADER " set %s off", a);
	EXPECT_RUN(1, "already attached, by another tool", LOADER " load tenant --replace");
	EXPECT_RUN(0, "stale pins of 'tenant' removed", LOADER " unload");
	EXPECT_TRUE(is_policy("memcg"));
	EXPECT_NE(0, access(PIN_DIR "/link", F_OK));
}

/* ---- two loads racing ---- */
struct racer {
	struct zu_barrier *go;
	const char *policy;
	int rc;
	char out[2048];
};

struct race {
	struct zu_barrier go;
	struct racer r[2];
};

static int racer_fn(void *arg)
{
	struct racer *r = arg;
	static char out[OUT_MAX];
	size_t n;

	if (zu_barrier_wait(r->go, BAR_TIMEOUT))
		return CHILD_SYNC;
	r->rc = run_cmd(&how_quiet, out, sizeof(out), LOADER " load %s", r->policy);
	n = strnlen(out, sizeof(r->out) - 1);
	memcpy(r->out, out, n);
	r->out[n] = '\0';
	return CHILD_OK;
}

TEST_F_TIMEOUT(loader, load_race, 420)
{
	static const char *const pins_memcg[] = { "link", "info", NULL };
	static const char *const pins_tenant[] = { "link", "info", "cgroup_policy",
						   "cgroup_stats", NULL };
	struct race *race = zu_map_shared(sizeof(*race));
	int ok = 0, wins[2] = { 0, 0 }, waits = 0;
	double t0 = zu_now();
	char got[512];

	ASSERT_NE(NULL, race);
	race->r[0].policy = "memcg";
	race->r[1].policy = "tenant";
	for (int round = 0; round < RACE_ROUNDS; round++) {
		pid_t pid[2];
		int winner, loser, rc[2];
		__u32 link, map_id;
		char want[128];
		bool good;

		zu_barrier_init(&race->go, 3);
		for (int i = 0; i < 2; i++) {
			race->r[i].go = &race->go;
			race->r[i].rc = -1;
			race->r[i].out[0] = '\0';
			pid[i] = zu_spawn(NULL, racer_fn, &race->r[i]);
			ASSERT_LT(0, pid[i]);
		}
		ASSERT_EQ(0, zu_barrier_wait(&race->go, BAR_TIMEOUT));
		for (int i = 0; i < 2; i++)
			rc[i] = zu_wait_child(pid[i]);
		ASSERT_EQ(CHILD_OK, rc[0]);
		ASSERT_EQ(CHILD_OK, rc[1]);

		winner = race->r[0].rc == 0 ? 0 : 1;
		loser = 1 - winner;
		snprintf(want, sizeof(want), "policy '%s' is already attached (loaded by "
			 "zdedup-loader", race->r[winner].policy);
		link = pinned_link(&map_id);
		good = race->r[winner].rc == 0 && race->r[loser].rc == 1 &&
		       has(race->r[winner].out, "attached (link id") &&
		       has(race->r[loser].out, want) &&
		       is_policy(race->r[winner].policy) && link && map_id &&
		       pins_are(winner ? pins_tenant : pins_memcg, got, sizeof(got));
		waits += has(race->r[loser].out, "waiting for another");
		if (!good) {
			TH_LOG("round %d: %s exit %d: %s", round, race->r[0].policy,
			       race->r[0].rc, race->r[0].out);
			TH_LOG("round %d: %s exit %d: %s", round, race->r[1].policy,
			       race->r[1].rc, race->r[1].out);
			TH_LOG("round %d: pins: %s; link %u map %u", round, got, link, map_id);
		} else {
			ok++;
			wins[winner]++;
		}
		ASSERT_EQ(0, run_quiet(LOADER " unload")) TH_LOG("%s", cmd_out);
		ASSERT_TRUE(wait_policy("builtin", DETACH_WAIT));
		ASSERT_NE(0, access(PIN_DIR, F_OK));
	}
	TH_LOG("%d rounds in %.1f s: %d right (memcg won %d, tenant %d), %d waits "
	       "announced", RACE_ROUNDS, zu_now() - t0, ok, wins[0], wins[1], waits);
	ASSERT_EQ(RACE_ROUNDS, ok);
}

/* ---- maps ---- */
TEST_F_TIMEOUT(loader, percpu_maps_summed, TEST_TIMEOUT)
{
	int cpus = possible_cpus();
	size_t stride_st = (sizeof(struct zdedup_cgroup_stats) + 7) & ~7UL;
	size_t stride_as = (sizeof(struct zdedup_adaptive_state) + 7) & ~7UL;
	long long hashed = 0, shared = 0, skipped = 0, backoffs = 0;
	char a[320], rel[300], *st_buf, *as_buf;
	__u64 id;

	ASSERT_LT(0, cpus);
	mkcg(_metadata, self, "A", a, sizeof(a));
	snprintf(rel, sizeof(rel), "%s/A", self->rel);
	id = handle_id(a);
	st_buf = calloc(cpus, stride_st);
	as_buf = calloc(cpus, stride_as);
	ASSERT_NE(NULL, st_buf);
	ASSERT_NE(NULL, as_buf);
	for (int cpu = 0; cpu < cpus; cpu++) {
		struct zdedup_cgroup_stats st = { 1000 * (cpu + 1), 10 * (cpu + 1), cpu + 1 };
		struct zdedup_adaptive_state as = { .hashed = 7 * (cpu + 1),
						    .backoffs = cpu + 3 };

		memcpy(st_buf + cpu * stride_st, &st, sizeof(st));
		memcpy(as_buf + cpu * stride_as, &as, sizeof(as));
		hashed += st.hashed;
		shared += st.shared;
		skipped += st.skipped;
		backoffs += as.backoffs;
	}
	ASSERT_RUN(0, "attached", LOADER " load " BPF_DIR "/test_percpu_stats.bpf.o");
	ASSERT_EQ(0, pinned_update(ZDEDUP_MAP_CGROUP_STATS, id, st_buf));
	ASSERT_EQ(0, pinned_update(ZDEDUP_MAP_CGROUP_STATE, id, as_buf));
	ASSERT_EQ(0, run_stdout(LOADER " status --json"));
	EXPECT_TRUE(json_valid(cmd_out));
	TH_LOG("%d possible CPUs: hashed %lld shared %lld skipped %lld backoffs %lld "
	       "expected", cpus, hashed, shared, skipped, backoffs);
	EXPECT_EQ(hashed, json_row_num(cmd_out, rel, "hashed"));
	EXPECT_EQ(shared, json_row_num(cmd_out, rel, "shared"));
	EXPECT_EQ(skipped, json_row_num(cmd_out, rel, "skipped"));
	EXPECT_EQ(backoffs, json_row_num(cmd_out, rel, "backoffs"));
	EXPECT_RUN(0, rel, LOADER " status");
	EXPECT_RUN(0, "zdedup_cgroup_policy_hashed_pages_total", LOADER
		   " status --prometheus");
	free(st_buf);
	free(as_buf);
}

TEST_F_TIMEOUT(loader, map_named_like_pin, TEST_TIMEOUT)
{
	__u32 link0, map_id;

	EXPECT_RUN(1, "has the name of zdedup-loader's own pin " PIN_DIR "/info",
		   LOADER " load " BPF_DIR "/test_map_named_info.bpf.o");
	EXPECT_TRUE(is_policy("builtin"));
	EXPECT_NE(0, access(PIN_DIR, F_OK));
	ASSERT_RUN(0, "attached", LOADER " load tenant");
	link0 = pinned_link(&map_id);
	EXPECT_RUN(1, "rename the map", LOADER " load " BPF_DIR
		   "/test_map_named_info.bpf.o --replace");
	EXPECT_TRUE(is_policy("tenant"));
	EXPECT_EQ(link0, pinned_link(&map_id));
	EXPECT_NE(0, map_id);
	EXPECT_EQ(0, access(PIN_DIR "/info", F_OK));
	EXPECT_RUN(0, "builtin:tenant", LOADER " status");
}

TEST_F_TIMEOUT(loader, abi_version_checked, TEST_TIMEOUT)
{
	struct zdedup_info info;
	char a[320];
	__u32 zero = 0;
	int fd;

	mkcg(_metadata, self, "A", a, sizeof(a));
	ASSERT_RUN(0, "attached", LOADER " load tenant");
	ASSERT_RUN(0, NULL, LOADER " set %s group 7", a);
	fd = obj_get(PIN_DIR "/info");
	ASSERT_LE(0, fd);
	ASSERT_EQ(0, map_lookup(fd, &zero, &info));
	ASSERT_EQ(ZDEDUP_ABI_VERSION, info.abi_version);
	info.abi_version = 99;
	ASSERT_EQ(0, map_update(fd, &zero, &info));
	close(fd);

	EXPECT_RUN(1, "of ABI 99", LOADER " status");
	EXPECT_FALSE(has(cmd_out, "builtin"));
	EXPECT_RUN(1, "of ABI 99", LOADER " set %s off", a);
	EXPECT_RUN(1, "of ABI 99", LOADER " list");
	EXPECT_RUN(1, "of ABI 99", LOADER " get %s", a);
	EXPECT_RUN(1, "of ABI 99", LOADER " load memcg --replace");
	ASSERT_EQ(0, write_conf("policy tenant\n"));
	EXPECT_RUN(1, "of ABI 99", LOADER " apply " CONF);
	EXPECT_TRUE(is_policy("tenant"));
	EXPECT_RUN(0, "detached and unpinned", LOADER " unload");
	EXPECT_TRUE(wait_policy("builtin", DETACH_WAIT));

	/* An info record of another layout altogether. */
	ASSERT_RUN(0, "attached", LOADER " load memcg");
	ASSERT_EQ(0, unlink(PIN_DIR "/info"));
	fd = map_create_array("zdedup_info", 16);
	ASSERT_LE(0, fd);
	ASSERT_EQ(0, obj_pin(fd, PIN_DIR "/info"));
	close(fd);
	EXPECT_RUN(1, "is not an info record of this zdedup-loader", LOADER " status");
	EXPECT_RUN(1, "is not an info record", LOADER " load tenant --replace");
	EXPECT_RUN(0, "detached", LOADER " unload");
	EXPECT_TRUE(wait_policy("builtin", DETACH_WAIT));
}

TEST_F_TIMEOUT(loader, replace_keeps_every_map, TEST_TIMEOUT)
{
	const struct zdedup_cgroup_stats st = { 1234, 56, 7 };
	struct zdedup_adaptive_state as = { .hashed = 4321, .backoffs = 3 };
	__u32 pol_id, stats_id, state_id;
	char a[320], rel[300];
	__u64 id;

	mkcg(_metadata, self, "A", a, sizeof(a));
	snprintf(rel, sizeof(rel), "%s/A", self->rel);
	id = handle_id(a);
	ASSERT_RUN(0, "attached", LOADER " load tenant");
	ASSERT_RUN(0, NULL, LOADER " set %s group 7", a);
	ASSERT_EQ(0, pinned_update(ZDEDUP_MAP_CGROUP_STATS, id, &st));
	pol_id = pinned_map_id(ZDEDUP_MAP_CGROUP_POLICY);
	stats_id = pinned_map_id(ZDEDUP_MAP_CGROUP_STATS);

	EXPECT_RUN(0, "kept map cgroup_policy", LOADER " load " BPF_DIR
		   "/tenant.bpf.o --replace");
	EXPECT_TRUE(has(cmd_out, "kept map cgroup_stats"));
	EXPECT_EQ(pol_id, pinned_map_id(ZDEDUP_MAP_CGROUP_POLICY));
	EXPECT_EQ(stats_id, pinned_map_id(ZDEDUP_MAP_CGROUP_STATS));
	ASSERT_EQ(0, run_stdout(LOADER " status --json"));
	EXPECT_EQ(1234, json_row_num(cmd_out, rel, "hashed"));
	EXPECT_EQ(56, json_row_num(cmd_out, rel, "shared"));
	EXPECT_EQ(7, json_row_num(cmd_out, rel, "skipped"));
	EXPECT_EQ(7, json_row_num(cmd_out, rel, "group"));

	/* adaptive has none of tenant's maps; then adaptive over adaptive */
	EXPECT_RUN(0, "replaced 'tenant'", LOADER " load adaptive --replace");
	EXPECT_EQ(0, pinned_map_id(ZDEDUP_MAP_CGROUP_POLICY));
	EXPECT_EQ(0, pinned_map_id(ZDEDUP_MAP_CGROUP_STATS));
	ASSERT_EQ(0, pinned_update(ZDEDUP_MAP_CGROUP_STATE, id, &as));
	state_id = pinned_map_id(ZDEDUP_MAP_CGROUP_STATE);
	ASSERT_EQ(0, run_stdout(LOADER " --json load adaptive --replace --window 64"));
	EXPECT_TRUE(json_valid(cmd_out));
	EXPECT_TRUE(has(cmd_out, "\"maps_kept\": [\n    \"cgroup_state\""));
	EXPECT_EQ(state_id, pinned_map_id(ZDEDUP_MAP_CGROUP_STATE));
	ASSERT_EQ(0, run_stdout(LOADER " status --json"));
	EXPECT_EQ(4321, json_row_num(cmd_out, rel, "hashed"));
	EXPECT_EQ(3, json_row_num(cmd_out, rel, "backoffs"));
	EXPECT_TRUE(has(cmd_out, "\"options\": \"--window 64\""));
}

/* ========================================================================
 * tenant's ancestor walk
 */
#define DEEP_K 256

/*
 * A/B/C/D: an entry on A only (group 5), and on E, a sibling of A (group
 * 5).  Pages stored from D, three levels below A, and then from E merge:
 * the policy found A's entry through D's ancestors.
 */
TEST_F_TIMEOUT(loader, tenant_inherits_deep, TEST_TIMEOUT)
{
	struct holder *h = zu_map_shared(2 * sizeof(*h));
	char a[320], d[400], e[320], path[400], pat[PATH_MAX];
	long long hits0, hits1;
	char *ref;

	ASSERT_NE(NULL, h);
	mkcg(_metadata, self, "A", a, sizeof(a));
	mkcg(_metadata, self, "E", e, sizeof(e));
	snprintf(path, sizeof(path), "%s", a);
	for (const char *n = "BCD"; *n; n++) {
		ASSERT_EQ(0, cg_write(path, "cgroup.subtree_control", "+memory"));
		snprintf(path + strlen(path), sizeof(path) - strlen(path), "/%c", *n);
		ASSERT_EQ(0, cg_create(path));
	}
	snprintf(d, sizeof(d), "%s", path);
	ref = zu_ref_alloc(DEEP_K, 0x7400000);
	ASSERT_NE(NULL, ref);
	ASSERT_RUN(0, "attached", LOADER " load tenant");
	ASSERT_RUN(0, NULL, LOADER " set %s group 5", a);
	ASSERT_RUN(0, NULL, LOADER " set %s group 5", e);
	snprintf(pat, sizeof(pat), "group 5, inherited from %s/A (cgroup id", self->rel);
	EXPECT_RUN(0, pat, LOADER " get %s", d);

	h[0] = (struct holder){ .ref = ref, .k = DEEP_K, .copies = 1 };
	h[1] = h[0];
	holder_store(_metadata, &h[0], d);
	hits0 = zu_debugfs("dedup_hits");
	holder_store(_metadata, &h[1], e);
	hits1 = zu_debugfs("dedup_hits");
	TH_LOG("E's store merged %lld of %d pages with D's", hits1 - hits0, DEEP_K);
	EXPECT_EQ(CHILD_OK, holder_finish(&h[0]));
	EXPECT_EQ(CHILD_OK, holder_finish(&h[1]));
	EXPECT_GE(hits1 - hits0, DEEP_K * 95 / 100);
	EXPECT_LE(hits1 - hits0, DEEP_K);
}

TEST_HARNESS_MAIN
