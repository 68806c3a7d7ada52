/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Opening pinned maps by layout and reading them by map type.
 *
 * Every pinned map the loader reads or writes goes through
 * map_open_pinned(), which checks it against the layout of
 * include/zdedup.h (type, key and value size) before a byte is read: a map
 * of another layout, e.g. pinned by a policy built against other headers,
 * is reported, never misread.
 *
 * A lookup in a per-CPU map returns one value per possible CPU, each
 * rounded up to 8 bytes, not one value: buffers are sized by map type
 * (map_value_buf_size()), and the per-CPU values of the statistics maps
 * are summed word by word, so that a policy may count per CPU.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <bpf/bpf.h>
#include "zdedup-loader.h"

const struct map_layout layout_policy = {
	.name = ZDEDUP_MAP_CGROUP_POLICY,
	.what = "a hash of cgroup id -> struct zdedup_cgroup_policy",
	.key_size = sizeof(__u64),
	.value_size = sizeof(struct zdedup_cgroup_policy),
	.hash_only = true,
};

const struct map_layout layout_stats = {
	.name = ZDEDUP_MAP_CGROUP_STATS,
	.what = "a (per-CPU) hash of cgroup id -> struct zdedup_cgroup_stats",
	.key_size = sizeof(__u64),
	.value_size = sizeof(struct zdedup_cgroup_stats),
};

const struct map_layout layout_state = {
	.name = ZDEDUP_MAP_CGROUP_STATE,
	.what = "a (per-CPU) hash of cgroup id -> struct zdedup_adaptive_state",
	.key_size = sizeof(__u64),
	.value_size = sizeof(struct zdedup_adaptive_state),
};

bool map_type_percpu(__u32 type)
{
	return type == BPF_MAP_TYPE_PERCPU_HASH || type == BPF_MAP_TYPE_PERCPU_ARRAY ||
	       type == BPF_MAP_TYPE_LRU_PERCPU_HASH ||
	       type == BPF_MAP_TYPE_PERCPU_CGROUP_STORAGE;
}

static bool type_is_hash(__u32 type)
{
	return type == BPF_MAP_TYPE_HASH || type == BPF_MAP_TYPE_LRU_HASH ||
	       type == BPF_MAP_TYPE_PERCPU_HASH || type == BPF_MAP_TYPE_LRU_PERCPU_HASH;
}

size_t map_value_buf_size(const struct bpf_map_info *mi)
{
	int cpus;

	if (!map_type_percpu(mi->type))
		return mi->value_size;
	cpus = libbpf_num_possible_cpus();
	if (cpus < 1)
		cpus = 1;
	return (size_t)((mi->value_size + 7) & ~7U) * cpus;
}

int map_open_pinned(const struct map_layout *l, struct bpf_map_info *mi)
{
	__u32 len = sizeof(*mi);
	int fd = pin_open(l->name);
	bool type_ok;

	if (fd < 0)
		return fd;
	memset(mi, 0, sizeof(*mi));
	if (bpf_map_get_info_by_fd(fd, mi, &len)) {
		int e = -errno;

		p_err("%s/%s: cannot read its map info: %s", ZDEDUP_PIN_DIR, l->name,
		      errstr(e));
		close(fd);
		return e;
	}
	type_ok = l->hash_only ? mi->type == BPF_MAP_TYPE_HASH : type_is_hash(mi->type);
	/* Per-CPU values are summed as __u64 words: whole words only. */
	if (map_type_percpu(mi->type) && mi->value_size % 8)
		type_ok = false;
	if (!type_ok || mi->key_size != l->key_size || mi->value_size != l->value_size) {
		p_err("%s/%s is not %s (include/zdedup.h, ABI %d): map type %u, key %u "
		      "bytes, value %u bytes; was the policy built against other headers?",
		      ZDEDUP_PIN_DIR, l->name, l->what, ZDEDUP_ABI_VERSION, mi->type,
		      mi->key_size, mi->value_size);
		close(fd);
		return -EPROTO;
	}
	return fd;
}

/* Sum the per-CPU copies in @buf into @value (value_size bytes). */
static void sum_percpu(const struct bpf_map_info *mi, const char *buf, void *value)
{
	size_t stride = (mi->value_size + 7) & ~7U, words = mi->value_size / 8;
	size_t n = map_value_buf_size(mi) / stride;
	__u64 *out = value;

	memset(value, 0, mi->value_size);
	for (size_t cpu = 0; cpu < n; cpu++)
		for (size_t w = 0; w < words; w++) {
			__u64 v;

			memcpy(&v, buf + cpu * stride + w * 8, sizeof(v));
			out[w] += v;
		}
}

/* Look up into @buf (map_value_buf_size()), then into @value. */
static int lookup_into(int fd, const struct bpf_map_info *mi, const void *key,
		       char *buf, void *value)
{
	if (bpf_map_lookup_elem(fd, key, buf))
		return -errno;
	if (map_type_percpu(mi->type))
		sum_percpu(mi, buf, value);
	else
		memcpy(value, buf, mi->value_size);
	return 0;
}

int map_lookup(int fd, const struct bpf_map_info *mi, const void *key, void *value)
{
	char *buf = malloc(map_value_buf_size(mi) ? map_value_buf_size(mi) : 1);
	int ret;

	if (!buf)
		return -ENOMEM;
	ret = lookup_into(fd, mi, key, buf, value);
	free(buf);
	return ret;
}

int map_each(int fd, const struct bpf_map_info *mi,
	     int (*fn)(const void *key, const void *value, void *ctx), void *ctx)
{
	size_t ksize = mi->key_size ? mi->key_size : 1;
	char *key = malloc(ksize), *next = malloc(ksize);
	char *buf = malloc(map_value_buf_size(mi) ? map_value_buf_size(mi) : 1);
	char *value = malloc(mi->value_size ? mi->value_size : 1);
	/* A hash being changed meanwhile may restart the walk: bound it. */
	unsigned long limit = 2UL * mi->max_entries + 16, seen = 0;
	bool first = true;
	int n = 0, ret = 0;

	if (!key || !next || !buf || !value) {
		ret = -ENOMEM;
		goto out;
	}
	while (seen++ < limit) {
		if (bpf_map_get_next_key(fd, first ? NULL : key, next)) {
			if (errno != ENOENT)
				ret = -errno;
			break;
		}
		first = false;
		memcpy(key, next, ksize);
		if (lookup_into(fd, mi, key, buf, value))
			continue;	/* deleted meanwhile */
		n++;
		if (fn(key, value, ctx))
			break;
	}
out:
	free(key);
	free(next);
	free(buf);
	free(value);
	return ret ? ret : n;
}
