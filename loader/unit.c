/* SPDX-License-Identifier: GPL-2.0 */
/*
 * systemd unit and slice names -> cgroup paths, as systemd lays them out
 * under the cgroup2 mount (systemd's unit_name.c and cgroup-util.c):
 *
 *   -.slice               the root cgroup
 *   tenant.slice          tenant.slice
 *   tenant-a.slice        tenant.slice/tenant-a.slice   (each dash a level)
 *   foo.service           system.slice/foo.service      (the default slice)
 *   getty@tty1.service    system.slice/system-getty.slice/getty@tty1.service
 *
 * A unit with Slice= elsewhere is found by its name anywhere below the
 * mount, as long as its parent is a slice (units of user managers live
 * below user@UID.service, not a slice, and are not the system's).  Names
 * that could be mistaken for the kernel's own files (cpu.slice,
 * _foo.service) get systemd's "_" prefix.  A unit has a cgroup only while
 * it is active; slices stay while anything in them runs, so settings on a
 * slice outlive restarts of its services, settings on a service do not.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "zdedup-loader.h"

/* Unit types that have a cgroup. */
static const char *const cgroup_types[] = {
	"service", "scope", "slice", "socket", "mount", "swap", NULL,
};

/* systemd's controllers, whose names cgroup file names start with. */
static const char *const controllers[] = {
	"cpu", "cpuacct", "cpuset", "io", "blkio", "memory", "devices", "pids",
	"bpf-firewall", "bpf-devices", "bpf-foreign", "bpf-socket-bind",
	"bpf-restrict-network-interfaces", NULL,
};

bool unit_name_valid(const char *unit, char *why, size_t size)
{
	const char *dot = strrchr(unit, '.'), *at = strchr(unit, '@');
	size_t len = strlen(unit);
	bool type_ok = false;

	if (!len || len > 255) {
		snprintf(why, size, "'%.64s%s' is not a unit name (1 to 255 characters)",
			 unit, len > 64 ? "..." : "");
		return false;
	}
	for (const char *c = unit; *c; c++) {
		if ((*c >= 'a' && *c <= 'z') || (*c >= 'A' && *c <= 'Z') ||
		    (*c >= '0' && *c <= '9') || strchr(":-_.\\@", *c))
			continue;
		snprintf(why, size, "'%.255s' is not a unit name (character '%c' is not "
			 "allowed; systemd-escape escapes it)", unit,
			 (*c >= 32 && *c < 127) ? *c : '?');
		return false;
	}
	if (!dot || dot == unit) {
		snprintf(why, size, "'%.255s' has no unit type: name the unit in full, "
			 "e.g. %.200s.service or %.200s.slice", unit, unit, unit);
		return false;
	}
	for (int i = 0; cgroup_types[i]; i++)
		type_ok |= !strcmp(dot + 1, cgroup_types[i]);
	if (!type_ok) {
		snprintf(why, size, "unit '%.255s' is of a type without a cgroup (services, "
			 "scopes, slices, sockets, mounts and swaps have one)", unit);
		return false;
	}
	if (at && (strchr(at + 1, '@') || at == unit || !strcmp(dot + 1, "slice"))) {
		snprintf(why, size, "'%.255s' is not a valid unit name ('@' separates a "
			 "template from its instance, once, and not in slices)", unit);
		return false;
	}
	if (!strcmp(dot + 1, "slice") && strcmp(unit, "-.slice") &&
	    (unit[0] == '-' || dot[-1] == '-' || strstr(unit, "--"))) {
		snprintf(why, size, "'%.255s' is not a valid slice name (dashes separate "
			 "the levels: no leading, trailing or double dash)", unit);
		return false;
	}
	return true;
}

/* systemd's cg_escape(): names the kernel could mistake for its own files. */
static void escape(const char *name, char *out, size_t size)
{
	const char *dot = strrchr(name, '.');
	bool prefix = name[0] == '_' || name[0] == '.' || !strncmp(name, "cgroup.", 7);

	for (int i = 0; !prefix && dot && controllers[i]; i++)
		prefix = strlen(controllers[i]) == (size_t)(dot - name) &&
			 !strncmp(name, controllers[i], dot - name);
	snprintf(out, size, "%s%s", prefix ? "_" : "", name);
}

/* Append "/<escaped @name>" to @path. */
static bool append(char *path, size_t size, const char *name)
{
	char esc[300];
	size_t len = strlen(path);

	escape(name, esc, sizeof(esc));
	return snprintf(path + len, size - len, "%s%s", len > 1 ? "/" : "", esc) <
	       (int)(size - len);
}

/* The cgroup path of slice @unit: every dash-prefix is a parent slice. */
static void slice_path(const char *unit, char *path, size_t size)
{
	size_t stem = strlen(unit) - strlen(".slice");
	char part[300];

	copy_str(path, size, "/");
	if (!strcmp(unit, "-.slice"))
		return;
	for (size_t i = 0; i <= stem; i++) {
		if (i < stem && unit[i] != '-')
			continue;
		snprintf(part, sizeof(part), "%.*s.slice", (int)i, unit);
		append(path, size, part);
	}
}

struct search {
	char name[300];			/* the escaped unit name */
	char found[3][PATH_MAX];
	int n;
};

static void search_visit(const char *path, __u64 id, void *ctx)
{
	struct search *s = ctx;
	const char *base = strrchr(path, '/');
	char parent[PATH_MAX];
	size_t len;

	(void)id;
	if (!base || strcmp(base + 1, s->name))
		return;
	copy_str(parent, sizeof(parent), path);
	cgroup_parent(parent);
	len = strlen(parent);
	if (strcmp(parent, "/") && (len < 6 || strcmp(parent + len - 6, ".slice")))
		return;		/* not placed by the system manager */
	if (s->n < 3)
		copy_str(s->found[s->n], sizeof(s->found[0]), path);
	s->n++;
}

int cgroup_from_unit(const char *unit, struct cgroup_ref *ref)
{
	const char *dot, *at;
	char path[PATH_MAX], why[512];
	struct search *s;
	int ret;

	snprintf(ref->spec, sizeof(ref->spec), "unit %.255s", unit);
	ref->why[0] = '\0';
	if (!unit_name_valid(unit, why, sizeof(why))) {
		copy_str(ref->why, sizeof(ref->why), why);
		return -EINVAL;
	}
	dot = strrchr(unit, '.');
	if (!strcmp(dot, ".slice")) {
		slice_path(unit, path, sizeof(path));
		ret = cgroup_from_path(path, ref);
		if (ret == -ENOENT)
			fmt_msg(ref->why, sizeof(ref->why), "slice %s has no cgroup (%s%s "
				"does not exist): systemd makes it when a unit in it starts",
				unit, cgroup_root(), path);
		return ret;
	}

	/* The default place first: system.slice, or its slice per template. */
	copy_str(path, sizeof(path), "/system.slice");
	at = strchr(unit, '@');
	if (at && !strcmp(dot, ".service")) {
		char sub[300], *o = sub;

		o += snprintf(sub, sizeof(sub), "system-");
		for (const char *c = unit; c < at && o < sub + sizeof(sub) - 12; c++)
			o += *c == '-' ? snprintf(o, 5, "\\x2d") : (*o = *c, 1);
		snprintf(o, sub + sizeof(sub) - o, ".slice");
		append(path, sizeof(path), sub);
	}
	append(path, sizeof(path), unit);
	if (!cgroup_from_path(path, ref))
		return 0;

	/* Elsewhere: Slice= puts it in another slice. */
	s = calloc(1, sizeof(*s));
	if (!s) {
		fmt_msg(ref->why, sizeof(ref->why), "out of memory");
		return -ENOMEM;
	}
	escape(unit, s->name, sizeof(s->name));
	cgroup_walk(search_visit, s);
	if (s->n == 1) {
		ret = cgroup_from_path(s->found[0], ref);
	} else if (s->n > 1) {
		fmt_msg(ref->why, sizeof(ref->why), "unit %s has %d cgroups (%s, %s%s): "
			"give the cgroup's path instead", unit, s->n, s->found[0],
			s->found[1], s->n > 2 ? ", ..." : "");
		ret = -EEXIST;
	} else {
		fmt_msg(ref->why, sizeof(ref->why), "unit %s has no cgroup: it is not "
			"running (a unit has one only while it is active); a setting on its "
			"slice lasts across its restarts", unit);
		ret = -ENOENT;
	}
	free(s);
	return ret;
}
