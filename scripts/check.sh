#!/bin/sh
# make check: the runner's own self-tests (the harness must catch a failing
# guest test, a guest panic and a guest hang), then the VM test suites,
# then a short soak (scenario "soak": tests/guest/zdedup_soak.c, about 2
# minutes, fault injection on) on the sanitizer kernel (KASAN, KFENCE,
# kmemleak: kernel-config/sanitize.config).  Ends with "N passed, N
# failed" over everything; exit status 0 only when nothing failed.
#
# Environment: VM_TIMEOUT bounds the suites' VM (default 1800 s);
# CHECK_SOAK_SECONDS the short soak's randomized phase (default 75: about
# 2 minutes of VM time with boot, final verification and kmemleak scan),
# CHECK_SOAK_PAGES its round trips (default 300000; at the sanitizer
# kernel's ~900 round trips/s under TCG the time bound ends it first), CHECK_SOAK_SEED its seed (default: random;
# printed with the command that replays it).
set -u

top=$(cd "$(dirname "$0")/.." && pwd)
out="$top/build/check"
mkdir -p "$out"
rm -f "$out/sanitize.tap" "$out/soak.log" "$out/soak.json"

# The sanitizer kernel first: a full kernel build the first time (about
# 18 minutes on 2 cores), incremental afterwards.  If it does not build,
# the suites still run and the build counts as a failure.
echo "==> sanitizer kernel for the short soak"
sanitize=1
if ! KVARIANT=sanitize "$top/scripts/build-kernel.sh"; then
	sanitize=0
	printf 'TAP version 13\n1..1\nnot ok 1 sanitizer kernel build (KVARIANT=sanitize scripts/build-kernel.sh)\n' \
		> "$out/sanitize.tap"
fi

"$top/tests/host/test_vm_runner.sh" | tee "$out/host.tap"
# zdedup-tools as make install and make deb lay it out (lintian,
# systemd-analyze; a few seconds).
"$top/tests/host/test_packaging.sh" | tee "$out/packaging.tap"
# make bench's statistics (medians, paired ratios, intervals) on synthetic
# logs (a fraction of a second).
"$top/tests/host/test_bench_report.py" | tee "$out/bench-report.tap"
# zdedup-loader estimate against processes of known content, in cgroups
# it creates on this host (as root; a few seconds).
"$top/tests/host/test_estimate.py" | tee "$out/estimate.tap"
# zdedup-loader under ASan/UBSan, fed 10,000 generated command lines,
# configurations and object files (about 4 minutes).
"$top/tests/host/fuzz_loader.py" | tee "$out/fuzz.tap"
echo
VM_REPORT=0 VM_TIMEOUT=${VM_TIMEOUT:-1800} "$top/scripts/vm-run.sh" check
logs="$top/build/vm/check.log"

if [ "$sanitize" = 1 ]; then
	seconds=${CHECK_SOAK_SECONDS:-75}
	pages=${CHECK_SOAK_PAGES:-300000}
	seed=${CHECK_SOAK_SEED:-$(od -An -N4 -tu4 /dev/urandom | tr -d ' ')}
	replay="make soak SOAK_SEED=$seed SOAK_PAGES=$pages SOAK_SECONDS=$seconds"
	echo
	echo "==> short soak on the sanitizer kernel: seed $seed, ${seconds} s"
	echo "    replay with: $replay"
	rm -f "$top/build/vm/soak.log"
	VM_REPORT=0 VM_KERNEL="$top/build/kbuild-sanitize/arch/x86/boot/bzImage" \
		VM_MEM=3G VM_TIMEOUT=$((seconds + 900)) \
		VM_APPEND="slab_nomerge zdedup.soak_pages=$pages zdedup.soak_seconds=$seconds zdedup.soak_seed=$seed" \
		"$top/scripts/vm-run.sh" soak
	# A copy: make soak writes build/vm/soak.log too.
	cp "$top/build/vm/soak.log" "$out/soak.log" 2>/dev/null || : > "$out/soak.log"
	python3 "$top/scripts/soak-report.py" "$out/soak.log" "$out/soak.json" \
		--replay "$replay" | grep '^soak:'
	logs="$logs $out/soak.log"
fi

# shellcheck disable=SC2086
exec python3 "$top/scripts/vm-report.py" --tap "$out/host.tap" --tap "$out/packaging.tap" --tap "$out/bench-report.tap" --tap "$out/estimate.tap" --tap "$out/fuzz.tap" \
	$([ -f "$out/sanitize.tap" ] && echo "--tap $out/sanitize.tap") $logs
