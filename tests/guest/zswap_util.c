// SPDX-License-Identifier: GPL-2.0
#define _GNU_SOURCE
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <time.h>

#include "zswap_util.h"
/* after <stdio.h>: 7.3's cgroup_util.h uses stderr without including it */
#include "cgroup_util.h"
#include <unistd.h>

static const char *const words[] = {
	"alpha", "bravo", "charlie", "delta", "echo", "foxtrot", "golf",
	"hotel", "india", "juliet", "kilo", "lima", "mike", "november",
	"oscar", "papa", "quebec", "romeo", "sierra", "tango", "uniform",
	"victor", "whiskey", "xray", "yankee", "zulu", "request", "status",
	"latency", "bytes", "user", "session",
};

/* splitmix64: a small, well-mixed PRNG step. */
static uint64_t mix(uint64_t *state)
{
	uint64_t z = (*state += 0x9e3779b97f4a7c15ULL);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
	return z ^ (z >> 31);
}

uint64_t zu_rand(uint64_t *state)
{
	return mix(state);
}

void zu_fill_page(void *page, uint64_t seed)
{
	char *p = page, *end = p + ZU_PAGE_SIZE;
	uint64_t state = seed;
	unsigned int record = 0;

	while (p < end) {
		char line[96];
		uint64_t r = mix(&state);
		int n;

		n = snprintf(line, sizeof(line),
			     "%016llx %05u %s=%s %s:%u %s\n",
			     (unsigned long long)seed, record++,
			     words[r & 31], words[(r >> 5) & 31],
			     words[(r >> 10) & 31], (unsigned int)(r >> 40) % 10000,
			     words[(r >> 15) & 31]);
		if (n > end - p)
			n = end - p;
		memcpy(p, line, n);
		p += n;
	}
}

void zu_fill(void *buf, size_t npages, uint64_t (*seed_of)(size_t i, void *arg),
	     void *arg)
{
	for (size_t i = 0; i < npages; i++)
		zu_fill_page((char *)buf + i * ZU_PAGE_SIZE, seed_of(i, arg));
}

size_t zu_count_corrupt(const void *buf, size_t npages,
			uint64_t (*seed_of)(size_t i, void *arg), void *arg)
{
	static char expect[ZU_PAGE_SIZE];
	size_t bad = 0;

	for (size_t i = 0; i < npages; i++) {
		zu_fill_page(expect, seed_of(i, arg));
		if (memcmp((const char *)buf + i * ZU_PAGE_SIZE, expect,
			   ZU_PAGE_SIZE))
			bad++;
	}
	return bad;
}

long long zu_read_ll(const char *path)
{
	FILE *f = fopen(path, "r");
	long long v;

	if (!f)
		return -1;
	if (fscanf(f, "%lld", &v) != 1)
		v = -1;
	fclose(f);
	return v;
}

long long zu_debugfs(const char *name)
{
	char path[256];

	snprintf(path, sizeof(path), ZSWAP_DEBUGFS "/%s", name);
	return zu_read_ll(path);
}

int zu_read_file(const char *path, char *buf, size_t len)
{
	FILE *f = fopen(path, "r");

	if (!f)
		return -errno;
	if (!fgets(buf, (int)len, f)) {
		fclose(f);
		return -EIO;
	}
	fclose(f);
	buf[strcspn(buf, "\n")] = '\0';
	return 0;
}

int zu_write_file(const char *path, const char *value)
{
	FILE *f = fopen(path, "w");
	int ret = 0;

	if (!f)
		return -errno;
	if (fputs(value, f) < 0)
		ret = -EIO;
	if (fclose(f))
		ret = -errno;
	return ret;
}

/* First line of @dir/@name into @buf, without its newline. */
static int read_line(const char *dir, const char *name, char *buf, size_t len)
{
	char path[256];

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	return zu_read_file(path, buf, len);
}

static int write_str(const char *dir, const char *name, const char *value)
{
	char path[256];

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	return zu_write_file(path, value);
}

int zu_param_read(const char *name, char *buf, size_t len)
{
	return read_line(ZSWAP_PARAMS, name, buf, len);
}

int zu_param_write(const char *name, const char *value)
{
	return write_str(ZSWAP_PARAMS, name, value);
}

long long zu_read_key(const char *path, const char *key)
{
	FILE *f = fopen(path, "r");
	char name[128];
	long long v, found = -1;

	if (!f)
		return -1;
	while (fscanf(f, "%127s %lld", name, &v) == 2) {
		if (!strcmp(name, key)) {
			found = v;
			break;
		}
	}
	fclose(f);
	return found;
}

long long zu_vmstat(const char *key)
{
	return zu_read_key("/proc/vmstat", key);
}

double zu_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

void *zu_map(size_t npages)
{
	void *buf = mmap(NULL, npages * ZU_PAGE_SIZE, PROT_READ | PROT_WRITE,
			 MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

	if (buf == MAP_FAILED)
		return NULL;
	/* Base pages only: zswap stores 4 KiB pages (no-op without THP). */
	madvise(buf, npages * ZU_PAGE_SIZE, MADV_NOHUGEPAGE);
	return buf;
}

void zu_unmap(void *buf, size_t npages)
{
	if (buf)
		munmap(buf, npages * ZU_PAGE_SIZE);
}

void *zu_map_shared(size_t len)
{
	void *p = mmap(NULL, len, PROT_READ | PROT_WRITE,
		       MAP_SHARED | MAP_ANONYMOUS, -1, 0);

	return p == MAP_FAILED ? NULL : p;
}

void *zu_ref_alloc(size_t n, uint64_t seed_base)
{
	char *ref = zu_map(n);

	if (!ref)
		return NULL;
	for (size_t i = 0; i < n; i++)
		zu_fill_page(ref + i * ZU_PAGE_SIZE, seed_base + i);
	return ref;
}

void zu_fill_ref(void *buf, const void *ref, const uint32_t *idx, size_t npages)
{
	for (size_t i = 0; i < npages; i++)
		memcpy((char *)buf + i * ZU_PAGE_SIZE,
		       (const char *)ref + (idx ? idx[i] : i) * ZU_PAGE_SIZE,
		       ZU_PAGE_SIZE);
}

size_t zu_count_corrupt_ref(const void *buf, const void *ref,
			    const uint32_t *idx, size_t npages)
{
	size_t bad = 0;

	for (size_t i = 0; i < npages; i++)
		if (memcmp((const char *)buf + i * ZU_PAGE_SIZE,
			   (const char *)ref + (idx ? idx[i] : i) * ZU_PAGE_SIZE,
			   ZU_PAGE_SIZE))
			bad++;
	return bad;
}

unsigned long zu_touch(const void *buf, size_t npages)
{
	const volatile unsigned char *p = buf;
	unsigned long sum = 0;

	for (size_t i = 0; i < npages; i++)
		sum += p[i * ZU_PAGE_SIZE];
	return sum;
}

bool zu_have_dedup(void)
{
	return access(ZSWAP_DEBUGFS "/dedup_hits", R_OK) == 0;
}

int zu_debugfs_read_str(const char *name, char *buf, size_t len)
{
	return read_line(ZSWAP_DEBUGFS, name, buf, len);
}

int zu_debugfs_write_str(const char *name, const char *value)
{
	return write_str(ZSWAP_DEBUGFS, name, value);
}

bool zu_swap_active(const char *dev)
{
	FILE *f = fopen("/proc/swaps", "r");
	char line[512];
	size_t n = strlen(dev);
	bool found = false;

	if (!f)
		return false;
	while (fgets(line, sizeof(line), f))
		if (!strncmp(line, dev, n) && (line[n] == ' ' || line[n] == '\t'))
			found = true;
	fclose(f);
	return found;
}

int zu_swap_count(void)
{
	FILE *f = fopen("/proc/swaps", "r");
	char line[512];
	int n = -1; /* the header line */

	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f))
		n++;
	fclose(f);
	return n;
}

void zu_barrier_init(struct zu_barrier *b, int n)
{
	b->n = n;
	__atomic_store_n(&b->count, 0, __ATOMIC_RELAXED);
	__atomic_store_n(&b->generation, 0, __ATOMIC_RELEASE);
}

int zu_barrier_wait(struct zu_barrier *b, double timeout_s)
{
	int gen = __atomic_load_n(&b->generation, __ATOMIC_ACQUIRE);
	double deadline = zu_now() + timeout_s;

	if (__atomic_add_fetch(&b->count, 1, __ATOMIC_ACQ_REL) == b->n) {
		__atomic_store_n(&b->count, 0, __ATOMIC_RELAXED);
		__atomic_add_fetch(&b->generation, 1, __ATOMIC_RELEASE);
		return 0;
	}
	while (__atomic_load_n(&b->generation, __ATOMIC_ACQUIRE) == gen) {
		if (zu_now() > deadline)
			return -1;
		usleep(500);
	}
	return 0;
}

int zu_wait_child(int pid)
{
	int status;

	if (waitpid(pid, &status, 0) != pid)
		return -1;
	return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

uint32_t *zu_idx_copies(size_t k, size_t n, uint32_t base)
{
	uint32_t *idx = malloc(k * n * sizeof(*idx));

	if (idx)
		for (size_t i = 0; i < k * n; i++)
			idx[i] = base + i % k;
	return idx;
}

uint32_t *zu_idx_shuffled(size_t n, size_t distinct, uint64_t seed)
{
	uint32_t *idx = malloc(n * sizeof(*idx));
	uint64_t rng = seed;

	if (!idx || !distinct)
		return idx;
	for (size_t i = 0; i < n; i++)
		idx[i] = i < distinct ? i : zu_rand(&rng) % distinct;
	for (size_t i = n - 1; i > 0; i--) {
		size_t j = zu_rand(&rng) % (i + 1);
		uint32_t t = idx[i];

		idx[i] = idx[j];
		idx[j] = t;
	}
	return idx;
}

pid_t zu_spawn(const char *cg, int (*fn)(void *arg), void *arg)
{
	pid_t pid;

	fflush(stdout);
	fflush(stderr);
	pid = fork();
	if (pid == 0) {
		if (cg && cg_enter_current(cg))
			_exit(CHILD_CG);
		_exit(fn(arg));
	}
	return pid;
}
