# make bench: zswap dedup benchmarks (not part of check).  Options come
# from the kernel command line (scripts/bench.sh sets them):
#   zdedup.bench_suite=S   main (default): every configuration, with the
#                          in-kernel outcome and floor passes; offonly:
#                          dedup off only (to compare with a kernel built
#                          without dedup); scale: off and on, unique and
#                          dup50, at each size of bench_mib
#   zdedup.bench_mib=N[,N] MiB per workload (default 64; scale: 64,256,1024)
#   zdedup.bench_reps=N    repetitions of each measurement (default 9)
#   zdedup.bench_comp=C[,C] zswap compressors, one after the other in this
#                          boot (default lzo,lz4,zstd)
#   zdedup.bench_label=L   a name for this boot in the results
#   zdedup.bench_ktime=0   no in-kernel timing (end to end only)
. /scenarios/lib.sh
opt() { sed -n "s/.*zdedup\.$1=\([^ ]*\).*/\1/p" /proc/cmdline; }
suite=$(opt bench_suite)
mibs=$(opt bench_mib | tr , ' ')
reps=$(opt bench_reps)
comps=$(opt bench_comp | tr , ' ')
label=$(opt bench_label)
ktime=
[ "$(opt bench_ktime)" = 0 ] && ktime=-K
set -- -r "${reps:-9}" -l "${label:-}" $ktime

for comp in ${comps:-lzo lz4 zstd}; do
	case ${suite:-main} in
	main)
		# -p: also measure each BPF policy against the built-in one
		run_suite "zdedup_bench.$comp" /opt/zdedup/bin/zdedup_bench "$@" \
			-c "$comp" -m "${mibs:-64}" -p memcg -p tenant -p adaptive
		;;
	offonly)
		run_suite "zdedup_bench.$comp" /opt/zdedup/bin/zdedup_bench "$@" \
			-c "$comp" -m "${mibs:-64}" -O
		;;
	scale)
		for mib in ${mibs:-64 256 1024}; do
			run_suite "zdedup_bench.$comp.$mib" /opt/zdedup/bin/zdedup_bench \
				"$@" -c "$comp" -m "$mib" -S unique dup50
		done
		;;
	*)
		echo "bench: unknown suite '$suite'"
		exit 2
		;;
	esac
done
