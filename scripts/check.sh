#!/bin/sh
# make check: the runner's own self-tests (the harness must catch a failing
# guest test, a guest panic and a guest hang), host tests, then the VM test
# suites, make compare's smoke run (the weights workload under every
# configuration in the Debian 12 image: scripts/compare.sh), then a short
# soak (scenario "soak": tests/guest/zdedup_soak.c, about 2 minutes,
# fault injection on).  Everything runs on one kernel, the
# VM kernel (lockdep, DEBUG_VM, KFENCE, failslab: kernel-config/vm.config),
# so that a fresh make check builds one kernel.  CHECK_SANITIZE=1 runs the
# short soak on the sanitizer kernel instead (KASAN, kmemleak:
# kernel-config/sanitize.config; a second full kernel build, about 22
# minutes the first time); make soak runs the long one there.  Ends with
# "N passed, N failed" over everything; exit status 0 only when nothing
# failed.
#
# KERNEL=7.3 (scripts/base.sh) runs the same VM suites, BPF selftest,
# upstream test_zswap (7.3's) and short soak on the 7.3 series' kernel;
# the host tests and the compare smoke run test userspace and the
# Debian 12 image, not the kernel base, and run with KERNEL=6.12 only.
#
# Environment: VM_TIMEOUT bounds the suites' VM (default 1800 s);
# CHECK_SOAK_SECONDS the short soak's randomized phase (default 75),
# CHECK_SOAK_PAGES its round trips (default 300000; the time bound ends it
# first), CHECK_SOAK_SEED its seed (default: random; printed with the
# command that replays it); FUZZ_CASES the loader fuzzer's cases (default
# 4000 here, 10000 when tests/host/fuzz_loader.py runs by hand).
set -u

top=$(cd "$(dirname "$0")/.." && pwd)
. "$top/scripts/base.sh"
out="$B/check"
mkdir -p "$out"
rm -f "$out"/*.tap "$out/soak.log" "$out/soak.json"

# The soak's kernel: the VM kernel the suites boot, or with CHECK_SANITIZE=1
# the sanitizer kernel (built first: a full kernel build the first time;
# if it does not build, the suites still run and the build counts as a
# failure).
soak_kernel="$B/kbuild/arch/x86/boot/bzImage"
soak_mem=3G
soak_desc="the VM kernel (KFENCE, lockdep, fault injection)"
sanitize=1
if [ "${CHECK_SANITIZE:-0}" = 1 ]; then
	echo "==> sanitizer kernel for the short soak"
	soak_kernel="$B/kbuild-sanitize/arch/x86/boot/bzImage"
	soak_mem=3G
	soak_desc="the sanitizer kernel (KASAN, kmemleak)"
	if ! KVARIANT=sanitize "$top/scripts/build-kernel.sh"; then
		sanitize=0
		printf 'TAP version 13\n1..1\nnot ok 1 sanitizer kernel build (KVARIANT=sanitize scripts/build-kernel.sh)\n' \
			> "$out/sanitize.tap"
	fi
fi

if [ "$KERNEL" = 6.12 ]; then
	"$top/tests/host/test_vm_runner.sh" | tee "$out/host.tap"
	# zdedup-tools as make install and make deb lay it out (lintian,
	# systemd-analyze; a few seconds).
	"$top/tests/host/test_packaging.sh" | tee "$out/packaging.tap"
	# make bench's statistics (medians, paired ratios, intervals) on synthetic
	# logs (a fraction of a second).
	"$top/tests/host/test_bench_report.py" | tee "$out/bench-report.tap"
	# make compare's report (paired ratios, the smoke run's TAP) on synthetic
	# records (a second).
	"$top/tests/host/test_compare_report.py" | tee "$out/compare-report.tap"
	# zdedup-loader estimate against processes of known content, in cgroups
	# it creates on this host (as root; a few seconds).
	"$top/tests/host/test_estimate.py" | tee "$out/estimate.tap"
	# zdedup-loader under ASan/UBSan, fed 10,000 generated command lines,
	# configurations and object files (4,000 cases: about 100 s).
	FUZZ_CASES=${FUZZ_CASES:-4000} "$top/tests/host/fuzz_loader.py" | tee "$out/fuzz.tap"
else
	echo "==> KERNEL=$KERNEL: the host tests run with KERNEL=6.12 only (userspace, the same on both bases)"
fi
echo
# slab_nomerge: failslab's cache filter (reclaim.alloc_failure_falls_back)
# needs zswap's caches unmerged.
VM_REPORT=0 VM_TIMEOUT=${VM_TIMEOUT:-1800} VM_APPEND="slab_nomerge ${VM_APPEND:-}" \
	"$top/scripts/vm-run.sh" check
logs="$B/vm/check.log"

if [ "$KERNEL" = 6.12 ]; then
	# make compare's smoke run: its harness end to end (the Debian 12 image
	# with the workloads' packages, every configuration, stock to KSM +
	# zdedup, data verified after the read-back) with one small workload and
	# one repetition, on this kernel (no TCP/IP: the weights workload only).
	echo
	echo "==> make compare's smoke run: weights, every configuration, one repetition"
	smoke="$out/compare-smoke"
	rm -rf "$smoke" "$out/compare-smoke.tap"
	COMPARE_KERNEL=default COMPARE_OUT="$smoke" COMPARE_REPS=1 COMPARE_ONLY=weights \
		COMPARE_KSM_WAIT=20 COMPARE_TIMEOUT=900 \
		COMPARE_ARGS=--weights-replicas,2,--weights-mib,8,--weights-private-mib,1 \
		COMPARE_REPORT_ARGS="--tap $out/compare-smoke.tap" \
		"$top/scripts/compare.sh" > "$out/compare-smoke.log" 2>&1
	[ -s "$out/compare-smoke.tap" ] ||
		printf 'TAP version 13\nnot ok 1 compare smoke: scripts/compare.sh wrote no result (build/check/compare-smoke.log)\n1..1\n' \
			> "$out/compare-smoke.tap"
	grep -E '^(not )?ok ' "$out/compare-smoke.tap"
fi

if [ "$sanitize" = 1 ]; then
	seconds=${CHECK_SOAK_SECONDS:-75}
	pages=${CHECK_SOAK_PAGES:-300000}
	seed=${CHECK_SOAK_SEED:-$(od -An -N4 -tu4 /dev/urandom | tr -d ' ')}
	replay="make soak SOAK_SEED=$seed SOAK_PAGES=$pages SOAK_SECONDS=$seconds"
	[ "${CHECK_SANITIZE:-0}" = 1 ] || replay="$replay SOAK_KERNEL=debug"
	[ "$KERNEL" = 6.12 ] || replay="$replay KERNEL=$KERNEL"
	echo
	echo "==> short soak on $soak_desc: seed $seed, ${seconds} s"
	echo "    replay with: $replay"
	rm -f "$B/vm/soak.log"
	VM_REPORT=0 VM_KERNEL="$soak_kernel" \
		VM_MEM=$soak_mem VM_TIMEOUT=$((seconds + 900)) \
		VM_APPEND="slab_nomerge zdedup.soak_pages=$pages zdedup.soak_seconds=$seconds zdedup.soak_seed=$seed" \
		"$top/scripts/vm-run.sh" soak
	# A copy: make soak writes build/vm/soak.log too.
	cp "$B/vm/soak.log" "$out/soak.log" 2>/dev/null || : > "$out/soak.log"
	python3 "$top/scripts/soak-report.py" "$out/soak.log" "$out/soak.json" \
		--replay "$replay" | grep '^soak:'
	logs="$logs $out/soak.log"
fi

# Every TAP file of this run (the old ones were removed at the start).
taps=""
for t in "$out"/*.tap; do
	[ -f "$t" ] && taps="$taps --tap $t"
done
# shellcheck disable=SC2086
exec python3 "$top/scripts/vm-report.py" $taps $logs
