# make bench: zswap dedup benchmarks (not part of check).  Options come
# from the kernel command line (scripts/bench.sh sets them):
#   zdedup.bench_mib=N   MiB per workload (default 64)
#   zdedup.bench_reps=N  repetitions of each measurement (default 5)
#   zdedup.bench_comp=C  zswap compressor (default: the kernel's)
. /scenarios/lib.sh
opt() { sed -n "s/.*zdedup\.$1=\([^ ]*\).*/\1/p" /proc/cmdline; }
mib=$(opt bench_mib)
reps=$(opt bench_reps)
comp=$(opt bench_comp)
# -p: also measure each BPF policy against the built-in one
run_suite zdedup_bench /opt/zdedup/bin/zdedup_bench -m "${mib:-64}" \
	-r "${reps:-5}" ${comp:+-c "$comp"} -p memcg -p tenant -p adaptive
