# make check: every guest test suite, the kernel's BPF selftest of the
# policy hook, then upstream's test_zswap and mm cow selftest.  With dedup
# in the kernel, both run twice, dedup on and dedup off: dedup must not
# change what stock zswap promises (invariant 5).
. /scenarios/lib.sh
for t in /opt/zdedup/bin/zdedup_test_*; do
	run_suite "$(basename "$t")" "$t"
done
# The kernel's BPF selftest of the policy hook
# (tools/testing/selftests/bpf/prog_tests/zswap_dedup.c), in its own runner.
run_suite test_zswap_dedup_bpf /opt/zdedup/bin/test_zswap_dedup_bpf
# The other base's policy objects, when the host has them (CO-RE).
[ -d /opt/zdedup/bpf-other ] && run_suite co_re sh /scenarios/co-re.sh

dedup_param=/sys/module/zswap/parameters/dedup_enabled
if [ -f "$dedup_param" ]; then
	dedup_orig=$(cat "$dedup_param")
	echo Y > "$dedup_param"
	run_suite test_zswap_dedup_on /opt/zdedup/bin/test_zswap
	echo N > "$dedup_param"
	run_suite test_zswap_dedup_off /opt/zdedup/bin/test_zswap
	echo Y > "$dedup_param"
	run_suite cow_dedup_on /opt/zdedup/bin/cow
	echo N > "$dedup_param"
	run_suite cow_dedup_off /opt/zdedup/bin/cow
	echo "$dedup_orig" > "$dedup_param"
else
	run_suite test_zswap /opt/zdedup/bin/test_zswap
	run_suite cow /opt/zdedup/bin/cow
fi
