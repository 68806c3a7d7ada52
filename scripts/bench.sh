#!/bin/sh
# make bench: run the dedup benchmarks in the VM (scenario "bench"), then
# turn the guest's "BENCH {json}" lines (build/vm/bench.log) into
# build/bench/results.json and print a table.  Exit status non-zero if the
# guest did not finish cleanly (crash, kernel splat, failed run).
#
# Environment: BENCH_MIB (MiB per workload, default 64), BENCH_REPS
# (repetitions, default 5), BENCH_COMP (zswap compressor), and everything
# scripts/vm-run.sh takes (VM_TIMEOUT defaults to 3600 here).  The
# kernel is build/kbuild-system (vm.config + bench.config + system.config:
# no debug options; the kernel of make deb).
set -u

top=$(cd "$(dirname "$0")/.." && pwd)
out="$top/build/bench"
log="$top/build/vm/bench.log"
mkdir -p "$out"

# Benchmarks run on the same kernel without its debug options (lockdep
# alone would dominate the ratios): kernel-config/bench.config; the
# drivers of kernel-config/system.config do not run in the VM.
KVARIANT=system "$top/scripts/build-kernel.sh" || exit 1
export VM_KERNEL="$top/build/kbuild-system/arch/x86/boot/bzImage"

append="zdedup.bench_mib=${BENCH_MIB:-64} zdedup.bench_reps=${BENCH_REPS:-5}"
[ -n "${BENCH_COMP:-}" ] && append="$append zdedup.bench_comp=$BENCH_COMP"
VM_REPORT=0 VM_TIMEOUT=${VM_TIMEOUT:-3600} VM_APPEND="${VM_APPEND:-} $append" \
	"$top/scripts/vm-run.sh" bench | grep -v "^BENCH {"
python3 "$top/scripts/bench-report.py" "$log" "$out/results.json"
rc=$?
echo
python3 "$top/scripts/vm-report.py" "$log" >/dev/null || {
	python3 "$top/scripts/vm-report.py" "$log" | grep FAILED
	rc=1
}
exit $rc
