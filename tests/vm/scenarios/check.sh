# make check: every guest test suite, then upstream's test_zswap.
. /scenarios/lib.sh
for t in /opt/zdedup/bin/zdedup_test_*; do
	run_suite "$(basename "$t")" "$t"
done
run_suite test_zswap /opt/zdedup/bin/test_zswap
