#!/bin/sh
# make bench: run the dedup benchmarks in the VM (scenario "bench"), then
# turn the guests' "BENCH {json}" lines into build/bench/results.json and
# print the tables (scripts/bench-report.py).  Exit status non-zero if a
# guest did not finish cleanly (crash, kernel splat, failed run).
#
# Suites (BENCH_SUITES, default "main compiled-out"; BENCH_SCALE=1 adds
# "scale"; make bench-scale runs "scale" alone), one or more boots each,
# every boot's console kept in build/bench/logs/ (a suite replaces only
# its own logs, and the report reads them all):
#
#   main          one boot of the dedup kernel: per compressor, per
#                 workload, BENCH_REPS repetitions of dedup off, on and
#                 each BPF policy, run by run, with zswap_store() and
#                 zswap_load() timed in the kernel, then the outcome and
#                 floor passes
#   compiled-out  BENCH_BOOTS pairs of boots, alternating (ABBA) the
#                 dedup kernel and a kernel built without dedup
#                 (BENCH_STOCK_KERNEL, default build/kbuild-stock), dedup
#                 off, BENCH_BOOT_REPS repetitions each; skipped with a
#                 message when that kernel does not exist
#   scale         unique and dup50 at BENCH_SCALE_MIB sizes, dedup off and
#                 on, in a guest of BENCH_SCALE_MEM
#
# Environment: BENCH_MIB (MiB per workload, default 64), BENCH_REPS
# (default 9), BENCH_COMP (compressors, default "lzo lz4 zstd"),
# BENCH_BOOTS (default 3), BENCH_BOOT_REPS (default 3), BENCH_SCALE_MIB
# (default "64 256 1024"), BENCH_SCALE_REPS (default 3), BENCH_SCALE_COMP
# (default lzo), BENCH_SCALE_MEM (default 4G), BENCH_KTIME=0 (end to end
# only), BENCH_BUILD=0 (use the kernels as built, do not run the kernel
# build), BENCH_KERNEL (another dedup kernel's bzImage), and what
# scripts/vm-run.sh takes (VM_TIMEOUT per boot defaults
# to an estimate from the sizes here, VM_MEM to 2G).  The dedup kernel is
# build/kbuild-system (vm.config + bench.config + system.config: no debug
# options; the kernel of make deb).
set -u

top=$(cd "$(dirname "$0")/.." && pwd)
. "$top/scripts/base.sh"
out="$B/bench"
logs="$out/logs"
mkdir -p "$logs"

dedup_kernel=${BENCH_KERNEL:-$B/kbuild-system/arch/x86/boot/bzImage}
stock_kernel=${BENCH_STOCK_KERNEL:-$B/kbuild-stock/arch/x86/boot/bzImage}
suites=${BENCH_SUITES:-main compiled-out}
[ "${BENCH_SCALE:-0}" = 1 ] && suites="$suites scale"
comps=$(echo "${BENCH_COMP:-lzo lz4 zstd}" | tr ' ' ',')
ncomp=$(echo "$comps" | tr ',' '\n' | grep -c .)
mib=${BENCH_MIB:-64}
reps=${BENCH_REPS:-9}
ktime=
[ "${BENCH_KTIME:-1}" = 0 ] && ktime=zdedup.bench_ktime=0

# Benchmarks run on the same kernel without its debug options (lockdep
# alone would dominate the ratios): kernel-config/bench.config; the
# drivers of kernel-config/system.config do not run in the VM.
if [ "${BENCH_BUILD:-1}" = 1 ]; then
	KVARIANT=system "$top/scripts/build-kernel.sh" || exit 1
fi
[ -f "$dedup_kernel" ] || { echo "bench: $dedup_kernel missing" >&2; exit 1; }

rc=0
# boot NAME KERNEL MEM TIMEOUT PARAM...: one boot of scenario "bench",
# its log kept as build/bench/logs/NAME.log and checked.
boot() {
	name=$1 kernel=$2 mem=$3 tmo=$4
	shift 4
	echo "==> bench: $name ($(echo "$kernel" | sed "s|^$top/||"), $mem)"
	VM_KERNEL="$kernel" VM_MEM="$mem" VM_REPORT=0 VM_TIMEOUT=${VM_TIMEOUT:-$tmo} \
		VM_APPEND="${VM_APPEND:-} $ktime $*" \
		"$top/scripts/vm-run.sh" bench | grep -v "^BENCH {"
	cp "$B/vm/bench.log" "$logs/$name.log"
	python3 "$top/scripts/vm-report.py" "$logs/$name.log" >/dev/null || {
		python3 "$top/scripts/vm-report.py" "$logs/$name.log" | grep FAILED
		rc=1
	}
}

# Timeouts per boot: 3x an estimate, plus boot.  Under TCG a 64 MiB run
# (store, load, check) takes about 2 s with lzo and lz4, 4 s with zstd;
# the main suite does 8 runs and some policy loads per repetition and
# workload (9 run-equivalents here).
per_run=$((mib / 32 + 1))
for suite in $suites; do
	case $suite in
	main)
		rm -f "$logs/main.log"
		boot main "$dedup_kernel" "${VM_MEM:-2G}" \
			$((300 + 3 * per_run * 9 * 3 * ncomp * reps)) \
			zdedup.bench_suite=main zdedup.bench_mib="$mib" \
			zdedup.bench_reps="$reps" zdedup.bench_comp="$comps" \
			zdedup.bench_label=main
		;;
	compiled-out)
		if [ ! -f "$stock_kernel" ]; then
			echo "==> bench: no kernel with dedup compiled out ($stock_kernel):"
			echo "    skipping store/load_off_over_compiled_out"
			continue
		fi
		rm -f "$logs"/pair*.log
		boot_reps=${BENCH_BOOT_REPS:-3}
		i=1
		while [ "$i" -le "${BENCH_BOOTS:-3}" ]; do
			# ABBA: the dedup kernel first in odd pairs, second in even
			if [ $((i % 2)) = 1 ]; then order="dedup stock"; else order="stock dedup"; fi
			for side in $order; do
				k=$dedup_kernel
				[ "$side" = stock ] && k=$stock_kernel
				boot "pair$i-$side" "$k" "${VM_MEM:-2G}" \
					$((300 + 3 * per_run * 3 * ncomp * boot_reps)) \
					zdedup.bench_suite=offonly zdedup.bench_mib="$mib" \
					zdedup.bench_reps="$boot_reps" zdedup.bench_comp="$comps" \
					zdedup.bench_label="pair$i-$side"
			done
			i=$((i + 1))
		done
		;;
	scale)
		rm -f "$logs/scale.log"
		sizes=${BENCH_SCALE_MIB:-64 256 1024}
		total=0
		for s in $sizes; do total=$((total + s)); done
		# brd's swap device must hold the largest workload
		boot scale "$dedup_kernel" "${BENCH_SCALE_MEM:-4G}" \
			$((300 + 3 * (total / 32 + 3) * 2 * 2 * ${BENCH_SCALE_REPS:-3})) \
			brd.rd_size=$((2 * 1048576)) \
			zdedup.bench_suite=scale zdedup.bench_mib="$(echo "$sizes" | tr ' ' ',')" \
			zdedup.bench_reps="${BENCH_SCALE_REPS:-3}" \
			zdedup.bench_comp="${BENCH_SCALE_COMP:-lzo}" zdedup.bench_label=scale
		;;
	*)
		echo "bench: unknown suite '$suite' (main, compiled-out, scale)" >&2
		exit 2
		;;
	esac
done

set -- "$logs"/*.log
if [ ! -f "$1" ]; then
	echo "bench: no logs in $logs" >&2
	exit 1
fi
echo
python3 "$top/scripts/bench-report.py" "$@" "$out/results.json" || rc=1
exit $rc
