# zdedup: content deduplication for zswap, steered by BPF policies.
#
#   make            build everything (kernel, tools, guest programs,
#                   BPF policies, zdedup-loader)
#   make check      all tests: host tests, runner self-tests, VM suites
#   make demo       the demo scenario in the VM
#   make bench      the benchmarks in the VM (not part of check; about
#                   50 minutes: BENCH_* variables in scripts/bench.sh)
#   make bench-scale  per-call times as the index grows (64 MiB to 1 GiB)
#   make compare    zdedup against KSM and stock zswap on real software
#                   (numpy, redis, python, tmpfs, PostgreSQL replicas) in
#                   a Debian 12 guest; about 30 minutes (scripts/compare.sh)
#   make soak       randomized concurrent soak on the sanitizer kernel
#                   (KASAN, kmemleak, fault injection; about 15 minutes;
#                   SOAK_SEED=N replays a run, SOAK_PAGES=N sizes it)
#   make vm         interactive shell in the VM
#   make kernel     patched kernel only
#   make patches    export commits in build/linux to kernel-patches/6.12/
#   make deb        Debian packages: the kernel and zdedup-tools (build/deb/)
#   make install    zdedup-loader, policies, unit, man page (PREFIX, DESTDIR)
#   make system-test  both packages on a Debian 12 system booted in the VM
#
# Everything is built under build/.  The first build installs Debian
# packages (scripts/deps.sh), extracts the kernel source and builds it:
# about 15 minutes on 2 cores; later runs rebuild only what changed.

SHELL := /bin/sh
# KERNEL picks the kernel base: 6.12 (the default: the series in
# kernel-patches/6.12/, built under build/) or 7.3 (kernel-patches/7.3/,
# built under build/7.3/, Linux 7.3 fetched by scripts/deps.sh).  Every
# target takes it: make check KERNEL=7.3, make deb KERNEL=7.3, ...
KERNEL ?= 6.12
export KERNEL
ifeq ($(KERNEL),6.12)
B := build
else ifeq ($(KERNEL),7.3)
B := build/7.3
else
$(error KERNEL must be 6.12 or 7.3, not '$(KERNEL)')
endif
KTREE := $(B)/linux
SELFTESTS := $(KTREE)/tools/testing/selftests

# The selftests headers are upstream's: -isystem keeps their own warnings
# out of our -Werror build.
# The cgroup selftests' helpers: cgroup_util.c next to the tests on 6.12,
# in cgroup/lib/ (header in lib/include/) on 7.3.
CGROUP_UTIL_SRC := $(firstword $(wildcard $(SELFTESTS)/cgroup/lib/cgroup_util.c) \
	$(SELFTESTS)/cgroup/cgroup_util.c)
CGROUP_UTIL_INC := $(firstword $(wildcard $(SELFTESTS)/cgroup/lib/include) $(SELFTESTS)/cgroup)
GUEST_CFLAGS := -std=gnu11 -O2 -g -Wall -Wextra -Werror -static \
	-isystem $(SELFTESTS) -isystem $(CGROUP_UTIL_INC) -Itests/guest -Iinclude
GUEST_UTIL := tests/guest/zswap_util.c tests/guest/policy_util.c tests/guest/pageout.c \
	tests/guest/run_cmd.c
CGROUP_UTIL := $(B)/guest/obj/cgroup_util.o
GUEST_SRCS := $(wildcard tests/guest/zdedup_*.c)
GUEST_BINS := $(patsubst tests/guest/%.c,$(B)/guest/%,$(GUEST_SRCS))

.PHONY: all deps tree kernel tools guest policies check demo bench bench-scale compare soak vm patches series-check clean \
	deb install system-test

all: guest policies

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
	@$(MAKE) --no-print-directory $(GUEST_BINS) $(B)/guest/test_zswap \
		$(B)/guest/test_zswap_dedup_bpf $(B)/guest/estimate_workload $(B)/guest/cow

$(B)/guest/%: tests/guest/%.c $(GUEST_UTIL) $(CGROUP_UTIL) tests/guest/zswap_util.h tests/guest/pageout.h \
		tests/guest/policy_util.h tests/guest/run_cmd.h $(wildcard include/*.h)
	@mkdir -p $(@D)
	gcc $(GUEST_CFLAGS) -o $@ $< $(GUEST_UTIL) $(CGROUP_UTIL)

# The processes of known content that zdedup-loader estimate's tests scan:
# the host test (tests/host/test_estimate.py) builds its own; the guest
# suite zdedup_test_estimate runs this one.
$(B)/guest/estimate_workload: tests/host/estimate_workload.c tests/guest/pageout.c tests/guest/pageout.h
	@mkdir -p $(@D)
	gcc -std=gnu11 -O2 -g -Wall -Wextra -Werror -static -o $@ $< tests/guest/pageout.c

# Upstream's zswap selftest and its cgroup helpers, built from the same
# tree as the kernel, with upstream's own flags: no -O, which matters: at
# -O2 gcc deletes test_zswap's malloc/touch/free workloads as dead code.
SELFTEST_CFLAGS := -Wall -pthread -static -I$(SELFTESTS) -I$(CGROUP_UTIL_INC)

$(CGROUP_UTIL): $(CGROUP_UTIL_SRC)
	@mkdir -p $(@D)
	gcc $(SELFTEST_CFLAGS) -c -o $@ $<

$(B)/guest/test_zswap: $(SELFTESTS)/cgroup/test_zswap.c $(CGROUP_UTIL)
	@mkdir -p $(@D)
	gcc $(SELFTEST_CFLAGS) -o $@ $^

# Upstream's mm cow selftest (copy-on-write of anonymous memory, swapped
# out with MADV_PAGEOUT among its cases: through zswap, with dedup on and
# off), with its helpers (thp_settings.c on 6.12, hugepage_settings.c on
# 7.3), without liburing (its io_uring cases skip): local_config.h (6.12)
# and local_config.h_gen (7.3), which selftests' check_config.sh would
# write, say so by being empty.
COW_SRCS := $(SELFTESTS)/mm/cow.c $(SELFTESTS)/mm/vm_util.c \
	$(wildcard $(SELFTESTS)/mm/thp_settings.c $(SELFTESTS)/mm/hugepage_settings.c)

$(B)/guest/cow: $(COW_SRCS)
	@mkdir -p $(B)/guest/obj/cow
	: > $(B)/guest/obj/cow/local_config.h
	: > $(B)/guest/obj/cow/local_config.h_gen
	gcc -Wall -O2 -static -I$(B)/guest/obj/cow -I$(SELFTESTS)/mm -I$(SELFTESTS) \
		-isystem $(KTREE)/tools/include/uapi -o $@ $(COW_SRCS)

# BPF policies (bpf/*.bpf.c), compiled against the patched kernel's
# vmlinux.h with the in-tree libbpf headers, and zdedup-loader, which
# embeds them as skeletons: static, with the in-tree libbpf.a, so that it
# runs in the busybox VM.
BPFTOOL := $(B)/tools/bpftool/bpftool
LIBBPF_DIR := $(B)/tools/libbpf-install/usr
# 7.3's vmlinux.h embeds tagged structs without a member name (the
# kernel builds with -fms-extensions since 6.19): clang needs the same
# extension to read it, as 7.3's BPF selftests do.
BPF_CFLAGS := -g -O2 -target bpf -mcpu=v3 -D__TARGET_ARCH_x86 -Wall -Werror \
	-fms-extensions -Wno-microsoft-anon-tag \
	-I$(B)/tools -I$(LIBBPF_DIR)/include -Iinclude
BPF_SRCS := $(wildcard bpf/*.bpf.c)
BPF_OBJS := $(patsubst bpf/%.bpf.c,$(B)/bpf/%.bpf.o,$(BPF_SRCS))
BPF_SKELS := $(patsubst bpf/%.bpf.c,$(B)/bpf/%.skel.h,$(BPF_SRCS))
LOADER_SRCS := $(wildcard loader/*.c)
# The project's version, in one place: the file VERSION.
VERSION := $(shell cat VERSION)
LOADER_CFLAGS := -std=gnu11 -O2 -g -Wall -Wextra -Werror -static -Iinclude \
	-DZDEDUP_VERSION='"$(VERSION)"' \
	-I$(B)/bpf -isystem $(LIBBPF_DIR)/include -isystem $(KTREE)/tools/include/uapi
LOADER_LIBS := -L$(LIBBPF_DIR)/lib64 -L$(LIBBPF_DIR)/lib -lbpf -lelf -lz

# zdedup_bench also times zswap_store() and zswap_load() from inside the
# kernel (tests/bench/: a BPF skeleton, see zdedup_ktime.bpf.c), so it
# links the in-tree libbpf statically like zdedup-loader.  Its BPF object
# stays out of build/bpf/: that folder is the policies the VM gets.
KTIME_OBJ := $(B)/guest/obj/zdedup_ktime
KTIME_SRCS := tests/bench/ktime.c
KTIME_DEPS := $(KTIME_SRCS) tests/bench/ktime.h tests/bench/zdedup_ktime.h \
	$(KTIME_OBJ).skel.h

$(KTIME_OBJ).bpf.o: tests/bench/zdedup_ktime.bpf.c tests/bench/zdedup_ktime.h $(B)/tools/vmlinux.h
	@mkdir -p $(@D)
	clang-16 $(BPF_CFLAGS) -Itests/bench -c $< -o $@

$(KTIME_OBJ).skel.h: $(KTIME_OBJ).bpf.o
	$(BPFTOOL) gen skeleton $< name zdedup_ktime > $@.tmp
	@mv $@.tmp $@

$(B)/guest/zdedup_bench: tests/guest/zdedup_bench.c $(KTIME_DEPS) $(GUEST_UTIL) $(CGROUP_UTIL) \
		tests/guest/zswap_util.h tests/guest/policy_util.h $(wildcard include/*.h)
	@mkdir -p $(@D)
	gcc $(GUEST_CFLAGS) -Itests/bench -I$(B)/guest/obj -isystem $(LIBBPF_DIR)/include \
		-o $@ $< $(KTIME_SRCS) $(GUEST_UTIL) $(CGROUP_UTIL) $(LOADER_LIBS)

# The kernel's own BPF selftest of the policy hook, in the tree's
# tools/testing/selftests/bpf: prog_tests/zswap_dedup.c with its
# progs/zswap_dedup*.c, built as test_progs would (clang against vmlinux.h,
# skeletons named after the progs' files) but compiled into
# tests/selftests-bpf/zswap_dedup_runner.c, a stand-in for test_progs
# that runs only this test, instead of all of test_progs (far too long to
# build here; the runner is the project's, not part of the series).
# Static, with the in-tree libbpf, for the busybox VM; its objects stay out
# of build/bpf/ like zdedup_bench's.
BPF_SELFTESTS := $(SELFTESTS)/bpf
ST_OBJ := $(B)/guest/obj/selftests-bpf
ST_PROGS := $(wildcard $(BPF_SELFTESTS)/progs/zswap_dedup*.c)
ST_SKELS := $(patsubst $(BPF_SELFTESTS)/progs/%.c,$(ST_OBJ)/%.skel.h,$(ST_PROGS))
# test_progs.h with -I, not -isystem: its ASSERT_*() macros expand in the
# test, whose warnings count.  -D_GNU_SOURCE= as selftests' lib.mk.
# -Wno-sign-compare: 7.3's test_progs.h compares a __u32 with 0 in its own
# inline helpers (id_from_prog_fd()); the BPF selftests build with -Wall,
# not -Wextra, upstream.
ST_CFLAGS := -std=gnu11 -O2 -g -Wall -Wextra -Wno-sign-compare -Werror -static -D_GNU_SOURCE= \
	-I$(ST_OBJ) -I$(BPF_SELFTESTS) -isystem $(LIBBPF_DIR)/include \
	-isystem $(KTREE)/tools/include -isystem $(KTREE)/tools/include/uapi

$(ST_OBJ)/%.bpf.o: $(BPF_SELFTESTS)/progs/%.c $(B)/tools/vmlinux.h
	@mkdir -p $(@D)
	clang-16 $(BPF_CFLAGS) -c $< -o $@

$(ST_OBJ)/%.skel.h: $(ST_OBJ)/%.bpf.o
	$(BPFTOOL) gen skeleton $< name $* > $@.tmp
	@mv $@.tmp $@

$(B)/guest/test_zswap_dedup_bpf: tests/selftests-bpf/zswap_dedup_runner.c \
		$(BPF_SELFTESTS)/prog_tests/zswap_dedup.c $(BPF_SELFTESTS)/test_progs.h \
		$(ST_SKELS) $(wildcard $(LIBBPF_DIR)/lib*/libbpf.a)
	@mkdir -p $(@D)
	gcc $(ST_CFLAGS) -o $@ $< $(LOADER_LIBS)

# Test policies (tests/bpf/*.bpf.c): deliberately wrong policies for
# zdedup_test_policy (an invalid domain, writes the verifier must refuse),
# built next to the real ones so that the VM gets them in /opt/zdedup/bpf;
# never embedded in the loader.
TEST_BPF_SRCS := $(wildcard tests/bpf/*.bpf.c)
TEST_BPF_OBJS := $(patsubst tests/bpf/%.bpf.c,$(B)/bpf/%.bpf.o,$(TEST_BPF_SRCS))

policies: tools
	@echo "==> building BPF policies and zdedup-loader"
	@$(MAKE) --no-print-directory $(BPF_OBJS) $(TEST_BPF_OBJS) $(B)/loader/zdedup-loader

$(B)/bpf/%.bpf.o: bpf/%.bpf.c bpf/zdedup.bpf.h include/zdedup.h $(B)/tools/vmlinux.h
	@mkdir -p $(@D)
	clang-16 $(BPF_CFLAGS) -c $< -o $@

$(B)/bpf/%.bpf.o: tests/bpf/%.bpf.c bpf/zdedup.bpf.h include/zdedup.h $(B)/tools/vmlinux.h
	@mkdir -p $(@D)
	clang-16 $(BPF_CFLAGS) -Ibpf -c $< -o $@

$(B)/bpf/%.skel.h: $(B)/bpf/%.bpf.o
	$(BPFTOOL) gen skeleton $< name zdedup_$* > $@.tmp
	@mv $@.tmp $@

$(B)/loader/zdedup-loader: $(LOADER_SRCS) $(wildcard loader/*.h) include/zdedup.h \
		$(BPF_SKELS) VERSION $(wildcard $(LIBBPF_DIR)/lib*/libbpf.a)
	@mkdir -p $(@D)
	gcc $(LOADER_CFLAGS) -o $@ $(LOADER_SRCS) $(LOADER_LIBS)

# zdedup-loader with AddressSanitizer and UndefinedBehaviorSanitizer, for
# the host fuzz test (tests/host/fuzz_loader.py): dynamic (the sanitizers
# do not link statically), with libbpf compiled from the tree's sources
# with the same sanitizers, so that hostile objects are parsed under them
# too; but for alignment: libbpf 1.5 reads .BTF.ext records at an offset
# taken from the file (hdr_len) without checking it is aligned, harmless
# on x86.  Needs the skeletons and the kernel tree's tools/, no kernel build.
ASAN_DIR := $(B)/loader-asan
ASAN_FLAGS := -O1 -g -fno-omit-frame-pointer -fsanitize=address,undefined \
	-fno-sanitize-recover=undefined
LIBBPF_SRC := $(KTREE)/tools/lib/bpf
ASAN_LIBBPF_OBJS := $(patsubst $(LIBBPF_SRC)/%.c,$(ASAN_DIR)/libbpf/%.o,\
	$(wildcard $(LIBBPF_SRC)/*.c))

.PHONY: loader-asan
loader-asan: $(ASAN_DIR)/zdedup-loader

$(ASAN_DIR)/libbpf/%.o: $(LIBBPF_SRC)/%.c Makefile
	@mkdir -p $(@D)
	gcc -std=gnu89 $(ASAN_FLAGS) -fno-sanitize=alignment \
		-D_LARGEFILE64_SOURCE -D_FILE_OFFSET_BITS=64 \
		-I$(LIBBPF_SRC) -I$(KTREE)/tools/include -I$(KTREE)/tools/include/uapi \
		-I$(KTREE)/tools/arch/x86/include -c $< -o $@

$(ASAN_DIR)/zdedup-loader: $(LOADER_SRCS) $(wildcard loader/*.h) include/zdedup.h \
		$(BPF_SKELS) VERSION $(ASAN_LIBBPF_OBJS)
	@mkdir -p $(@D)
	gcc $(filter-out -static -O2,$(LOADER_CFLAGS)) $(ASAN_FLAGS) -o $@ \
		$(LOADER_SRCS) $(ASAN_LIBBPF_OBJS) -lelf -lz

check: all
	@scripts/check.sh

demo: all
	@scripts/demo.sh

bench: all
	@scripts/bench.sh

bench-scale: all
	@BENCH_SUITES=scale scripts/bench.sh

soak: all
	@scripts/soak.sh

# Real software side by side with KSM: a Debian 12 image (cached in
# build/compare/), one boot, every configuration; tests/compare/.
compare: policies
	@scripts/compare.sh

vm: all
	@scripts/vm-run.sh shell

patches:
	@scripts/kernel-tree.sh export

# Bisectability: every patch of kernel-patches/$(KERNEL)/ applied, checked and built
# in turn, the last booted (scripts/series-check.sh).
series-check: all
	@scripts/series-check.sh

# Packages and installation (scripts/build-deb.sh, scripts/install.sh):
# the kernel package is built in build/kbuild-system, the kernel make bench
# uses too.
PREFIX ?= /usr/local

deb: policies
	@scripts/build-deb.sh

install: policies
	@DESTDIR="$(DESTDIR)" PREFIX="$(PREFIX)" scripts/install.sh

# The system test: both packages in a Debian 12 root file system (cached
# in build/system/), booted in QEMU; tests/system/.
system-test: deb build/system/zdedup-systest
	@scripts/system-test.sh

build/system/zdedup-systest: tests/system/zdedup_systest.c
	@mkdir -p $(@D)
	gcc -std=gnu11 -O2 -g -Wall -Wextra -Werror -static -o $@ $<

clean:
	rm -rf $(B)/guest $(B)/bpf $(B)/loader $(B)/initramfs $(B)/initramfs.cpio \
		$(B)/vm $(B)/check $(B)/demo $(B)/soak $(B)/deb $(B)/system/run $(B)/loader-asan $(B)/fuzz \
		$(B)/compare/run
