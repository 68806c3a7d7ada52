# zdedup: content deduplication for zswap, steered by BPF policies.
#
#   make            build everything (kernel, tools, guest programs)
#   make check      all tests: host tests, runner self-tests, VM suites
#   make demo       the demo scenario in the VM
#   make bench      the benchmarks in the VM (not part of check)
#   make vm         interactive shell in the VM
#   make kernel     patched kernel only
#   make patches    export commits in build/linux to kernel-patches/
#
# Everything is built under build/.  The first build installs Debian
# packages (scripts/deps.sh), extracts the kernel source and builds it:
# about 15 minutes on 2 cores; later runs rebuild only what changed.

SHELL := /bin/sh
B := build
KTREE := $(B)/linux
SELFTESTS := $(KTREE)/tools/testing/selftests

# The selftests headers are upstream's: -isystem keeps their own warnings
# out of our -Werror build.
GUEST_CFLAGS := -std=gnu11 -O2 -g -Wall -Wextra -Werror -static \
	-isystem $(SELFTESTS) -isystem $(SELFTESTS)/cgroup -Itests/guest -Iinclude
GUEST_UTIL := tests/guest/zswap_util.c
CGROUP_UTIL := $(B)/guest/obj/cgroup_util.o
GUEST_SRCS := $(wildcard tests/guest/zdedup_*.c)
GUEST_BINS := $(patsubst tests/guest/%.c,$(B)/guest/%,$(GUEST_SRCS))

.PHONY: all deps tree kernel tools guest check demo bench vm patches clean

all: guest

deps:
	@scripts/deps.sh

tree: deps
	@scripts/kernel-tree.sh sync

kernel: tree
	@scripts/build-kernel.sh

tools: kernel
	@scripts/build-tools.sh

guest: tools
	@echo "==> building guest programs"
	@$(MAKE) --no-print-directory $(GUEST_BINS) $(B)/guest/test_zswap

$(B)/guest/%: tests/guest/%.c $(GUEST_UTIL) $(CGROUP_UTIL) tests/guest/zswap_util.h $(wildcard include/*.h)
	@mkdir -p $(@D)
	gcc $(GUEST_CFLAGS) -o $@ $< $(GUEST_UTIL) $(CGROUP_UTIL)

# Upstream's zswap selftest and its cgroup helpers, built from the same
# tree as the kernel, with upstream's own flags: no -O, which matters: at
# -O2 gcc deletes test_zswap's malloc/touch/free workloads as dead code.
SELFTEST_CFLAGS := -Wall -pthread -static -I$(SELFTESTS)

$(CGROUP_UTIL): $(SELFTESTS)/cgroup/cgroup_util.c
	@mkdir -p $(@D)
	gcc $(SELFTEST_CFLAGS) -c -o $@ $<

$(B)/guest/test_zswap: $(SELFTESTS)/cgroup/test_zswap.c $(CGROUP_UTIL)
	@mkdir -p $(@D)
	gcc $(SELFTEST_CFLAGS) -o $@ $^

check: all
	@scripts/check.sh

demo: all
	@scripts/vm-run.sh demo

bench: all
	@scripts/bench.sh

vm: all
	@scripts/vm-run.sh shell

patches:
	@scripts/kernel-tree.sh export

clean:
	rm -rf $(B)/guest $(B)/initramfs $(B)/initramfs.cpio $(B)/vm $(B)/check
