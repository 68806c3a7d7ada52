/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The live state: which policy the kernel has attached, what the loader
 * pinned, and whether the two are one.
 *
 * The pins are only a record; the kernel's links are the truth.  Pins go
 * stale when the link is detached behind the loader's back (bpftool link
 * detach, a crashed replace) or when another policy was attached after
 * that: the pinned link then is detached (its struct_ops map id reads 0)
 * or is not the attached one.  Commands never act on a stale pin's maps
 * (settings in them would have no effect) and say so instead.
 */
#include <errno.h>
#include <string.h>
#include <unistd.h>
#include <bpf/bpf.h>
#include "zdedup-loader.h"

int live_read(struct live *l)
{
	int ret;

	memset(l, 0, sizeof(*l));
	ret = kernel_check(false);
	if (ret)
		return ret;
	ret = find_attached(&l->a);
	if (ret)
		return ret;
	l->pins = have_bpffs() && pin_have_ours();
	l->info_err = l->pins ? pin_read_info(&l->info, l->info_problem,
					      sizeof(l->info_problem)) : -ENOENT;
	if (l->info_err && l->info_err != -ENOENT && is_perm_error(l->info_err)) {
		p_err("cannot read %s: %s: run as root", ZDEDUP_PIN_INFO,
		      strerror(-l->info_err));
		return l->info_err;
	}
	if (l->info_err == -ENOENT)
		l->info_problem[0] = '\0';
	l->pin_link_id = l->pins ? pin_link_info(NULL, &l->pin_map_id) : 0;
	l->ours = l->a.attached && l->a.link_id && l->pin_link_id == l->a.link_id &&
		  l->pin_map_id && l->pin_map_id == l->a.map_id;
	l->stale = l->pins && !l->ours;
	return 0;
}

const char *live_pinned_name(const struct live *l)
{
	return !l->info_err && l->info.policy[0] ? l->info.policy : "?";
}

void live_describe_stale(const struct live *l, char *buf, size_t size)
{
	const char *name = live_pinned_name(l);

	if (!l->pin_link_id)
		snprintf(buf, size, "the pins of '%s' in %s have no link (a load was "
			 "interrupted?)", name, ZDEDUP_PIN_DIR);
	else if (!l->pin_map_id)
		snprintf(buf, size, "the link of '%s' pinned at %s (link id %u) was "
			 "detached by other means", name, ZDEDUP_PIN_LINK, l->pin_link_id);
	else
		snprintf(buf, size, "the link of '%s' pinned at %s (link id %u) is not "
			 "the attached policy's", name, ZDEDUP_PIN_LINK, l->pin_link_id);
}

int live_require_ours(const struct live *l, const char *cmd)
{
	char stale[512];

	if (l->info_err == -EPROTO) {
		p_err("%s: %s", cmd, l->info_problem);
		return -1;
	}
	if (l->stale) {
		live_describe_stale(l, stale, sizeof(stale));
		if (l->a.attached)
			p_err("%s: %s; policy '%s' is attached instead, by another tool; "
			      "'zdedup-loader unload' removes the stale pins", cmd, stale,
			      l->a.name);
		else
			p_err("%s: %s: no policy is attached, settings would have no "
			      "effect; 'zdedup-loader unload' removes the stale pins, then "
			      "load again", cmd, stale);
		return -1;
	}
	if (!l->ours) {
		if (l->a.attached)
			p_err("%s: no policy loaded by zdedup-loader (policy '%s' is "
			      "attached by another tool; its maps are not pinned in %s)",
			      cmd, l->a.name, ZDEDUP_PIN_DIR);
		else
			p_err("%s: no policy is loaded; load one that takes per-cgroup "
			      "settings first: 'zdedup-loader load tenant'", cmd);
		return -1;
	}
	if (l->info_err) {
		p_err("%s: the policy's record %s is missing (%s): 'zdedup-loader load "
		      "POLICY --replace' writes it again", cmd, ZDEDUP_PIN_INFO,
		      l->info_problem[0] ? l->info_problem : strerror(-l->info_err));
		return -1;
	}
	return 0;
}

int live_policy_map(const struct live *l, const char *cmd)
{
	struct bpf_map_info mi;
	int fd;

	if (live_require_ours(l, cmd))
		return -1;
	fd = map_open_pinned(&layout_policy, &mi);
	if (fd == -ENOENT) {
		p_err("%s: the loaded policy '%s' has no per-cgroup policy map (%s); "
		      "per-cgroup modes need a policy such as tenant ('load tenant "
		      "--replace')", cmd, l->info.policy, ZDEDUP_MAP_CGROUP_POLICY);
		return -1;
	}
	if (fd < 0) {
		if (fd != -EPROTO)
			p_err("%s: cannot open %s/%s: %s", cmd, ZDEDUP_PIN_DIR,
			      ZDEDUP_MAP_CGROUP_POLICY, errstr(fd));
		return -1;
	}
	return fd;
}
