# make soak (and the short soak of make check): zdedup_soak, a randomized
# concurrent mix of workers and a controller changing zswap's settings
# under them, every page verified, zswap back to zero at the end, then a
# kmemleak scan.  It prints "soak: seed=N" first and one
# "ZDEDUP-SOAK {json}" line at the end, which scripts/soak.sh parses.
#
# Kernel command line options (scripts/soak.sh and scripts/check.sh set
# them):
#   zdedup.soak_pages=N     stop after N page round trips (default 200000)
#   zdedup.soak_seconds=T   or after T seconds (default 120)
#   zdedup.soak_seed=S      the seed (default: zdedup_soak picks one)
#   zdedup.soak_workers=N   worker processes (default 4)
#   zdedup.soak_wpages=N    pages per worker (default 4096)
#   zdedup.soak_faults=0    no fault injection (default: where available)
#   zdedup.soak_verbose=1   show every swapoff and policy change
#   zdedup.soak_selftest=1  corrupt a page on purpose: the run must fail
. /scenarios/lib.sh
opt() { sed -n "s/.*zdedup\.$1=\([^ ]*\).*/\1/p" /proc/cmdline; }
pages=$(opt soak_pages)
seconds=$(opt soak_seconds)
seed=$(opt soak_seed)
workers=$(opt soak_workers)
wpages=$(opt soak_wpages)
faults=$(opt soak_faults)
verbose=$(opt soak_verbose)
selftest=$(opt soak_selftest)

# Fault injection needs zswap's slab caches unmerged (failslab refuses a
# merged cache).
case " $(cat /proc/cmdline) " in
*" slab_nomerge "*) ;;
*) [ -d /sys/kernel/debug/failslab ] &&
	echo "soak: no slab_nomerge on the kernel command line: failslab cannot target zswap's caches" ;;
esac

# The memory-pressure shrinker on, so that memory.reclaim and the guest's
# own pressure write objects back too, not only memory.zswap.max.
echo Y > /sys/module/zswap/parameters/shrinker_enabled

# Allocation failures must not fail a store: on a kernel with failslab,
# check that first, deterministically (the soak injects them at random).
if [ -d /sys/kernel/debug/failslab ]; then
	run_suite zdedup_test_reclaim_faults /opt/zdedup/bin/zdedup_test_reclaim \
		-t alloc_failure_falls_back
fi

run_suite zdedup_soak /opt/zdedup/bin/zdedup_soak -n "${pages:-200000}" \
	-t "${seconds:-120}" ${seed:+-s "$seed"} -w "${workers:-4}" \
	-p "${wpages:-4096}" $([ "$faults" = 0 ] && echo -F) \
	$([ "$verbose" = 1 ] && echo -v) $([ "$selftest" = 1 ] && echo -X)
