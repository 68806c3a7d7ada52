# make series-check: the last patch's kernels (dedup built in, and compiled
# out) run upstream's test_zswap, whose dedup cases skip without dedup, and
# the BPF selftest of the policy hook, which skips without it.
. /scenarios/lib.sh
run_suite test_zswap /opt/zdedup/bin/test_zswap
run_suite test_zswap_dedup_bpf /opt/zdedup/bin/test_zswap_dedup_bpf
