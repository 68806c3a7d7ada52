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

GUEST_CFLAGS := -std=gnu11 -O2 -g -Wall -Wextra -Werror -static \
	-I$(SELFTESTS) -Itests/guest -Iinclude
GUEST_UTIL := tests/guest/zswap_util.c
CGROUP_UTIL := $(SELFTESTS)/cgroup/cgroup_util.c
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

$(B)/guest/%: tests/guest/%.c $(GUEST_UTIL) tests/guest/zswap_util.h $(wildcard include/*.h)
	@mkdir -p $(@D)
	gcc $(GUEST_CFLAGS) -o $@ $< $(GUEST_UTIL) $(CGROUP_UTIL)

# Upstream's zswap selftest, built from the same tree as the kernel.
$(B)/guest/test_zswap: $(SELFTESTS)/cgroup/test_zswap.c $(CGROUP_UTIL)
	@mkdir -p $(@D)
	gcc -O2 -static -I$(SELFTESTS) -o $@ $^

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
