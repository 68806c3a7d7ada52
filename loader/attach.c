/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Attach, replace and detach: the changes to the live state behind load,
 * unload and apply.  Callers hold the lock file exclusively (lock.c) from
 * before they read the live state, so nothing changes it in between.
 *
 * A fresh attach pins the link, the policy's maps and an info record under
 * ZDEDUP_PIN_DIR, in that order of commitment: everything is pinned only
 * once the kernel accepted the policy, and a failure at any step removes
 * what this run created, so a failed attach leaves the system as it found
 * it.
 *
 * A replacement swaps the policy behind the pinned link with
 * BPF_LINK_UPDATE: the kernel switches from the old ops to the new ones in
 * one step, with no moment without a policy.  Every map of the new policy
 * that the old one pinned under the same name with the same layout (type,
 * key and value size, entries, flags) is carried over, so per-cgroup
 * settings and statistics survive a replacement.
 */
#include <errno.h>
#include <string.h>
#include <unistd.h>
#include <bpf/bpf.h>
#include "zdedup-loader.h"

void explain_attached(const struct live *l, const char *cmd)
{
	const struct attached *a = &l->a;
	char pin[PATH_MAX];

	if (l->ours) {
		p_err("%s: policy '%s' is already attached (loaded by zdedup-loader from "
		      "%s); use 'load --replace' to replace it atomically, or 'unload' "
		      "first", cmd, a->name, l->info_err ? "?" : l->info.source);
	} else if (a->link_id && pin_find_link(a->link_id, pin, sizeof(pin))) {
		p_err("%s: policy '%s' is already attached, by another tool (link id %u, "
		      "pinned at %s); zdedup-loader only replaces policies it loaded: "
		      "detach it with 'rm %s', then try again", cmd, a->name,
		      a->link_id, pin, pin);
	} else if (a->link_id) {
		p_err("%s: policy '%s' is already attached, by another tool (link id %u); "
		      "zdedup-loader only replaces policies it loaded: detach it with "
		      "'bpftool link detach id %u' (or remove its pin), then try again",
		      cmd, a->name, a->link_id, a->link_id);
	} else if (a->legacy) {
		p_err("%s: policy '%s' is already attached, by another tool, without a "
		      "link (map id %u, e.g. 'bpftool struct_ops register' of a "
		      ".struct_ops object): it cannot be replaced; detach it with "
		      "'bpftool struct_ops unregister id %u', then try again", cmd,
		      a->name, a->map_id, a->map_id);
	} else {
		p_err("%s: policy '%s' is already attached, by another tool; detach it, "
		      "then try again", cmd, a->name);
	}
}

/* Is @name among the maps the old policy pinned? */
static bool listed(const struct zdedup_info *old, const char *name)
{
	for (__u32 i = 0; i < old->nr_maps && i < ZDEDUP_INFO_MAX_MAPS; i++)
		if (!strcmp(old->maps[i], name))
			return true;
	return false;
}

/*
 * Reuse, in @p, every map the old policy pinned under the same name with
 * the same layout.  Records in @r which maps were kept and which start
 * empty; warns about the latter.
 */
static void adopt_maps(struct policy *p, const struct zdedup_info *old,
		       struct attach_result *r)
{
	struct bpf_map *m;

	bpf_object__for_each_map(m, p->obj) {
		char name[ZDEDUP_INFO_NAME_LEN];
		struct bpf_map_info mi = {};
		__u32 len = sizeof(mi);
		bool same;
		int fd;

		if (bpf_map__is_internal(m) || bpf_map__type(m) == BPF_MAP_TYPE_STRUCT_OPS)
			continue;
		/* A copy: bpf_map__reuse_fd() renames the map (to the kernel's
		 * name of the reused one, at most BPF_OBJ_NAME_LEN - 1 bytes). */
		copy_str(name, sizeof(name), bpf_map__name(m));
		if (strlen(bpf_map__name(m)) >= BPF_OBJ_NAME_LEN || !listed(old, name) ||
		    (fd = pin_open(name)) < 0) {
			if (r->nr_fresh < ZDEDUP_INFO_MAX_MAPS)
				copy_str(r->fresh[r->nr_fresh++], ZDEDUP_INFO_NAME_LEN, name);
			continue;
		}
		same = !bpf_map_get_info_by_fd(fd, &mi, &len) &&
		       mi.type == bpf_map__type(m) && mi.key_size == bpf_map__key_size(m) &&
		       mi.value_size == bpf_map__value_size(m) &&
		       mi.max_entries == bpf_map__max_entries(m) &&
		       mi.map_flags == bpf_map__map_flags(m);
		if (same && !bpf_map__reuse_fd(m, fd)) {
			if (r->nr_kept < ZDEDUP_INFO_MAX_MAPS)
				copy_str(r->kept[r->nr_kept++], ZDEDUP_INFO_NAME_LEN, name);
			if (verbose)
				note("keeping map %s of '%s'", name, old->policy);
		} else {
			warn("map %s of '%s' and '%s' differ (type, sizes, entries or "
			     "flags): it starts empty", name, old->policy, p->name);
			if (r->nr_fresh < ZDEDUP_INFO_MAX_MAPS)
				copy_str(r->fresh[r->nr_fresh++], ZDEDUP_INFO_NAME_LEN, name);
		}
		close(fd);
	}
}

/* Pin the maps, the info record and then @link; all or nothing. */
static int pin_new(struct policy *p, const struct policy_opts *o,
		   struct bpf_link *link, struct attach_result *r)
{
	struct zdedup_info info;
	int ret;

	ret = pin_maps(p);
	if (ret)
		goto out_link;
	pin_fill_info(&info, p, o->text);
	ret = pin_write_info(&info);
	if (ret) {
		p_err("cannot pin %s: %s", ZDEDUP_PIN_INFO, errstr(ret));
		unpin_maps(&info, NULL);
		goto out_link;
	}
	ret = bpf_link__pin(link, ZDEDUP_PIN_LINK);
	if (ret) {
		p_err("cannot pin the policy's link at %s: %s", ZDEDUP_PIN_LINK,
		      errstr(ret));
		unpin_all(&info);
		goto out_link;
	}
	r->link_id = pin_link_info(NULL, NULL);
	bpf_link__disconnect(link);	/* the pin keeps it attached */
out_link:
	bpf_link__destroy(link);	/* without the pin: detaches */
	return ret;
}

/* Fresh attach: a new link, then the pins. */
static int attach_new(struct policy *p, const struct policy_opts *o,
		      struct attach_result *r)
{
	struct bpf_link *link;
	struct attached a;
	int ret;

	link = bpf_map__attach_struct_ops(p->ops);
	if (!link) {
		ret = -errno;
		if (ret == -EBUSY) {
			find_attached(&a);
			p_err("cannot attach policy '%s': policy '%s' was attached meanwhile, "
			      "by another tool (the kernel takes one policy at a time)",
			      p->name, a.name[0] ? a.name : "?");
		} else {
			p_err("the kernel refused to attach policy '%s': %s", p->name,
			      errstr(ret));
		}
		return ret;
	}
	return pin_new(p, o, link, r);
}

/* Replace the policy behind our pinned link (BPF_LINK_UPDATE). */
static int replace(struct policy *p, const struct policy_opts *o,
		   const struct live *l, struct attach_result *r)
{
	LIBBPF_OPTS(bpf_link_update_opts, uo, .flags = BPF_F_REPLACE);
	struct zdedup_info info;
	struct bpf_link *link;
	int link_fd = -1, old_map_fd = -1, ret;
	__u32 link_id, old_map_id = 0;

	link_id = pin_link_info(&link_fd, &old_map_id);
	if (!link_id || !old_map_id || old_map_id != l->a.map_id) {
		p_err("the pinned link %s changed while '%s' was loading; try again",
		      ZDEDUP_PIN_LINK, p->name);
		ret = -ENOLINK;
		goto out;
	}
	old_map_fd = bpf_map_get_fd_by_id(old_map_id);
	if (old_map_fd < 0) {
		ret = -errno;
		p_err("cannot open the attached policy's map (id %u): %s", old_map_id,
		      errstr(ret));
		goto out;
	}

	/*
	 * libbpf writes a struct_ops map's value (its programs) only when
	 * attaching it; bpf_link__update_map() needs a link object of this
	 * process.  So: attach, which writes the value and then fails with
	 * -EBUSY because our policy holds the hook, and update the pinned link
	 * with the now complete map.  Should the attach succeed, the hook was
	 * free after all (the old policy was detached meanwhile), and the new
	 * link is the policy.
	 */
	link = bpf_map__attach_struct_ops(p->ops);
	if (link) {
		warn("the previous policy '%s' was no longer attached: '%s' is attached "
		     "on a new link", r->old_policy, p->name);
		r->replaced = false;
		unpin_all(l->info_err ? NULL : &l->info);
		ret = pin_new(p, o, link, r);
		goto out;
	}
	if (errno != EBUSY) {
		ret = -errno;
		p_err("the kernel refused policy '%s': %s", p->name, errstr(ret));
		goto out;
	}

	uo.old_map_fd = old_map_fd;
	ret = bpf_link_update(link_fd, bpf_map__fd(p->ops), &uo);
	if (ret) {
		ret = -errno;
		if (ret == -EPERM || ret == -EINVAL)
			p_err("the attached policy changed while '%s' was loading; try again",
			      p->name);
		else
			p_err("cannot replace '%s' with '%s' (BPF_LINK_UPDATE): %s",
			      r->old_policy, p->name, errstr(ret));
		goto out;
	}

	/* Attached.  Now the pins follow the new policy. */
	r->link_id = link_id;
	if (!l->info_err)
		unpin_maps(&l->info, p);
	ret = pin_maps(p);
	pin_fill_info(&info, p, o->text);
	if (pin_write_info(&info) && !ret)
		ret = -EIO;
	if (ret)
		p_err("policy '%s' replaced '%s', but not all of its maps could be "
		      "pinned: 'set' and 'status' may not see it; 'load %s --replace' "
		      "tries again", p->name, r->old_policy, p->source);
out:
	if (old_map_fd >= 0)
		close(old_map_fd);
	if (link_fd >= 0)
		close(link_fd);
	return ret;
}

int policy_attach(struct policy *p, const struct policy_opts *o,
		  const struct live *l, bool do_replace, struct attach_result *r)
{
	memset(r, 0, sizeof(*r));
	if (l->info_err == -EPROTO) {
		p_err("load: %s", l->info_problem);
		return -EPROTO;
	}
	if (l->a.attached && (!do_replace || !l->ours)) {
		explain_attached(l, "load");
		return -EBUSY;
	}
	if (l->stale) {
		char why[512];

		live_describe_stale(l, why, sizeof(why));
		note("%s: removing its pins", why);
		unpin_all(l->info_err ? NULL : &l->info);
	}
	if (!l->a.attached && do_replace) {
		note("no policy is attached: loading '%s' without replacing", p->name);
		do_replace = false;
	}
	if (do_replace) {
		r->replaced = true;
		copy_str(r->old_policy, sizeof(r->old_policy),
			 l->info_err ? l->a.name : l->info.policy);
		if (!l->info_err)
			adopt_maps(p, &l->info, r);
	}
	if (policy_load(p))
		return -EINVAL;
	return do_replace ? replace(p, o, l, r) : attach_new(p, o, r);
}

int policy_detach(const struct live *l)
{
	struct attached a;
	int fd;

	/* Detach now, even if someone else holds the link open; then unpin. */
	fd = bpf_obj_get(ZDEDUP_PIN_LINK);
	if (fd >= 0) {
		if (bpf_link_detach(fd) && errno != EOPNOTSUPP && errno != ENOLINK)
			warn("detaching the policy's link: %s (removing its pin anyway)",
			     strerror(errno));
		close(fd);
	}
	unpin_all(l->info_err ? NULL : &l->info);
	if (find_attached(&a))
		return -EIO;
	if (a.attached && l->ours) {
		p_err("pins removed, but policy '%s' is still attached (another process "
		      "holds its link open?)", a.name);
		return -EBUSY;
	}
	return 0;
}
