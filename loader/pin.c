/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The pin directory, ZDEDUP_PIN_DIR (/sys/fs/bpf/zdedup):
 *
 *   link             the policy's struct_ops link: keeps it attached after
 *                    the loader exits; removing it detaches the policy
 *   info             an array map with one struct zdedup_info: which policy
 *                    zdedup-loader loaded, from where, with which options,
 *                    and which maps it pinned
 *   <map name>       each of the policy's own maps (cgroup_policy, ...), so
 *                    `set`, `list` and `status` reach the live policy
 *
 * Everything here is written by the loader only; the info record is what
 * tells a later invocation that the directory's contents are its own
 * (bpftool may pin a link in the same directory, under the map's name).
 */
#include <dirent.h>
#include <errno.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/stat.h>
#include <bpf/bpf.h>
#include "zdedup-loader.h"

bool pin_have_ours(void)
{
	return !access(ZDEDUP_PIN_LINK, F_OK) || !access(ZDEDUP_PIN_INFO, F_OK);
}

static void pin_path(char *buf, size_t size, const char *name)
{
	snprintf(buf, size, "%s/%s", ZDEDUP_PIN_DIR, name);
}

bool pin_name_reserved(const char *name)
{
	return !strcmp(name, "link") || !strcmp(name, "info");
}

int pin_open(const char *name)
{
	char path[PATH_MAX];
	int fd;

	pin_path(path, sizeof(path), name);
	fd = bpf_obj_get(path);
	return fd < 0 ? -errno : fd;
}

int pin_read_info(struct zdedup_info *info, char *why, size_t why_size)
{
	struct bpf_map_info mi = {};
	__u32 len = sizeof(mi), zero = 0;
	int fd, ret = 0;

	why[0] = '\0';
	fd = bpf_obj_get(ZDEDUP_PIN_INFO);
	if (fd < 0)
		return -errno;
	if (bpf_map_get_info_by_fd(fd, &mi, &len)) {
		ret = -errno;
		snprintf(why, why_size, "cannot read %s: %s", ZDEDUP_PIN_INFO, errstr(ret));
	} else if (mi.type != BPF_MAP_TYPE_ARRAY || mi.key_size != sizeof(__u32) ||
		   mi.value_size != sizeof(*info)) {
		snprintf(why, why_size, "%s is not an info record of this zdedup-loader "
			 "(ABI %d; a map of %u-byte values): it was written by another "
			 "version; unload with that version, or remove %s (which detaches "
			 "the policy) to start over", ZDEDUP_PIN_INFO, ZDEDUP_ABI_VERSION,
			 mi.value_size, ZDEDUP_PIN_DIR);
		ret = -EPROTO;
	} else if (bpf_map_lookup_elem(fd, &zero, info)) {
		ret = -errno;
		snprintf(why, why_size, "cannot read %s: %s", ZDEDUP_PIN_INFO, errstr(ret));
	} else if (info->abi_version != ZDEDUP_ABI_VERSION) {
		snprintf(why, why_size, "the policy pinned in %s was loaded by a "
			 "zdedup-loader of ABI %u; this one speaks ABI %d (include/zdedup.h): "
			 "its maps may have other layouts; unload it with that version "
			 "('unload' here detaches it too), then load again",
			 ZDEDUP_PIN_DIR, info->abi_version, ZDEDUP_ABI_VERSION);
		ret = -EPROTO;
	}
	if (!ret) {
		/* Strings from the kernel: terminate them whatever they hold. */
		info->policy[sizeof(info->policy) - 1] = '\0';
		info->source[sizeof(info->source) - 1] = '\0';
		info->options[sizeof(info->options) - 1] = '\0';
		for (int i = 0; i < ZDEDUP_INFO_MAX_MAPS; i++)
			info->maps[i][ZDEDUP_INFO_NAME_LEN - 1] = '\0';
		if (info->nr_maps > ZDEDUP_INFO_MAX_MAPS)
			info->nr_maps = ZDEDUP_INFO_MAX_MAPS;
	}
	close(fd);
	return ret;
}

int pin_write_info(const struct zdedup_info *info)
{
	__u32 zero = 0;
	int fd, ret = 0;

	fd = bpf_obj_get(ZDEDUP_PIN_INFO);
	if (fd < 0) {
		fd = bpf_map_create(BPF_MAP_TYPE_ARRAY, "zdedup_info", sizeof(__u32),
				    sizeof(*info), 1, NULL);
		if (fd < 0)
			return -errno;
		if (bpf_map_update_elem(fd, &zero, info, 0) ||
		    (mkdir(ZDEDUP_PIN_DIR, 0700) && errno != EEXIST) ||
		    bpf_obj_pin(fd, ZDEDUP_PIN_INFO))
			ret = -errno;
	} else if (bpf_map_update_elem(fd, &zero, info, 0)) {
		ret = -errno;
	}
	close(fd);
	return ret;
}

/* Maps that get pinned: the policy's own, not .rodata/.bss, not the ops. */
static bool pinnable(const struct bpf_map *m)
{
	return !bpf_map__is_internal(m) && bpf_map__type(m) != BPF_MAP_TYPE_STRUCT_OPS;
}

void pin_fill_info(struct zdedup_info *info, const struct policy *p,
		   const char *options)
{
	struct bpf_map *m;

	memset(info, 0, sizeof(*info));
	info->abi_version = ZDEDUP_ABI_VERSION;
	info->loaded_at = time(NULL);
	copy_str(info->policy, sizeof(info->policy), p->name);
	copy_str(info->source, sizeof(info->source), p->source);
	copy_str(info->options, sizeof(info->options), options);
	bpf_object__for_each_map(m, p->obj) {
		if (!pinnable(m) || info->nr_maps >= ZDEDUP_INFO_MAX_MAPS)
			continue;
		copy_str(info->maps[info->nr_maps++], ZDEDUP_INFO_NAME_LEN,
			 bpf_map__name(m));
	}
}

static __u32 map_id_of_fd(int fd)
{
	struct bpf_map_info mi = {};
	__u32 len = sizeof(mi);

	return bpf_map_get_info_by_fd(fd, &mi, &len) ? 0 : mi.id;
}

/* Id of the map pinned at @path; 0 if none. */
static __u32 pinned_map_id(const char *path)
{
	int fd = bpf_obj_get(path);
	__u32 id;

	if (fd < 0)
		return 0;
	id = map_id_of_fd(fd);
	close(fd);
	return id;
}

int pin_maps(const struct policy *p)
{
	char pinned[ZDEDUP_INFO_MAX_MAPS][PATH_MAX];
	int n = 0, ret = 0;
	struct bpf_map *m;

	if (mkdir(ZDEDUP_PIN_DIR, 0700) && errno != EEXIST) {
		ret = -errno;
		p_err("cannot create %s: %s", ZDEDUP_PIN_DIR, errstr(ret));
		return ret;
	}
	bpf_object__for_each_map(m, p->obj) {
		char path[PATH_MAX];
		__u32 id;

		if (!pinnable(m))
			continue;
		if (n >= ZDEDUP_INFO_MAX_MAPS ||
		    strlen(bpf_map__name(m)) >= ZDEDUP_INFO_NAME_LEN) {
			p_err("policy '%s': cannot pin map '%s' (at most %d maps, names "
			      "under %d characters)", p->name, bpf_map__name(m),
			      ZDEDUP_INFO_MAX_MAPS, ZDEDUP_INFO_NAME_LEN);
			ret = -E2BIG;
			break;
		}
		pin_path(path, sizeof(path), bpf_map__name(m));
		id = pinned_map_id(path);
		if (id && id == map_id_of_fd(bpf_map__fd(m)))
			continue;	/* a reused map, pinned already */
		if (bpf_obj_pin(bpf_map__fd(m), path)) {
			ret = -errno;
			p_err("cannot pin map '%s' at %s: %s", bpf_map__name(m), path,
			      errstr(ret));
			break;
		}
		copy_str(pinned[n++], PATH_MAX, path);
	}
	if (ret)
		while (n > 0)
			unlink(pinned[--n]);
	return ret;
}

void unpin_maps(const struct zdedup_info *info, const struct policy *keep)
{
	for (__u32 i = 0; i < info->nr_maps && i < ZDEDUP_INFO_MAX_MAPS; i++) {
		char name[ZDEDUP_INFO_NAME_LEN], path[PATH_MAX];
		struct bpf_map *m;

		copy_str(name, sizeof(name), info->maps[i]);
		if (!name[0] || strchr(name, '/') || !strcmp(name, ".") ||
		    !strcmp(name, "..") || pin_name_reserved(name))
			continue;
		pin_path(path, sizeof(path), name);
		m = keep ? bpf_object__find_map_by_name(keep->obj, name) : NULL;
		if (m && pinned_map_id(path) == map_id_of_fd(bpf_map__fd(m)))
			continue;
		if (unlink(path) && errno != ENOENT)
			warn("cannot remove %s: %s", path, strerror(errno));
	}
}

void unpin_all(const struct zdedup_info *info)
{
	if (info)
		unpin_maps(info, NULL);
	if (unlink(ZDEDUP_PIN_LINK) && errno != ENOENT)
		warn("cannot remove %s: %s", ZDEDUP_PIN_LINK, strerror(errno));
	if (unlink(ZDEDUP_PIN_INFO) && errno != ENOENT)
		warn("cannot remove %s: %s", ZDEDUP_PIN_INFO, strerror(errno));
	rmdir(ZDEDUP_PIN_DIR);	/* only if empty: others may pin here too */
}

/* The link id of bpf object @fd, from its fdinfo; 0 if it is no link. */
static __u32 link_id_of_fd(int fd)
{
	char path[64], buf[512], *p;
	unsigned int id;

	snprintf(path, sizeof(path), "/proc/self/fdinfo/%d", fd);
	if (read_text(path, buf, sizeof(buf)))
		return 0;
	p = strstr(buf, "link_id:");
	return p && sscanf(p, "link_id: %u", &id) == 1 ? id : 0;
}

bool pin_find_link(__u32 link_id, char *out, size_t size)
{
	static const char *const dirs[] = { ZDEDUP_PIN_DIR, "/sys/fs/bpf" };

	for (size_t d = 0; d < 2; d++) {
		struct dirent *de;
		DIR *dir = opendir(dirs[d]);

		if (!dir)
			continue;
		while ((de = readdir(dir))) {
			char path[PATH_MAX];
			bool hit;
			int fd;

			if (de->d_name[0] == '.' || de->d_type == DT_DIR)
				continue;
			snprintf(path, sizeof(path), "%s/%s", dirs[d], de->d_name);
			fd = bpf_obj_get(path);
			if (fd < 0)
				continue;
			hit = link_id_of_fd(fd) == link_id;
			close(fd);
			if (hit) {
				copy_str(out, size, path);
				closedir(dir);
				return true;
			}
		}
		closedir(dir);
	}
	return false;
}

__u32 pin_link_info(int *fdp, __u32 *map_id)
{
	struct bpf_link_info li = {};
	__u32 len = sizeof(li);
	int fd = bpf_obj_get(ZDEDUP_PIN_LINK);

	if (map_id)
		*map_id = 0;
	if (fd < 0)
		return 0;
	if (bpf_link_get_info_by_fd(fd, &li, &len) || li.type != BPF_LINK_TYPE_STRUCT_OPS) {
		close(fd);
		return 0;
	}
	if (map_id)
		*map_id = li.struct_ops.map_id;
	if (fdp)
		*fdp = fd;
	else
		close(fd);
	return li.id;
}
