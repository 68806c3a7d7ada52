# A few guest suites by name, instead of the whole check scenario: for
# working on one suite.
#
#   VM_APPEND=zdedup.suites=zdedup_test_estimate scripts/vm-run.sh suite
#
# zdedup.suites=NAME[,NAME...]: programs in /opt/zdedup/bin, run as the
# check scenario runs them (framed for scripts/vm-report.py).
. /scenarios/lib.sh

suites=$(sed -n 's/.*zdedup\.suites=\([^ ]*\).*/\1/p' /proc/cmdline)
if [ -z "$suites" ]; then
	echo "suite: name the suites with zdedup.suites=NAME[,NAME...] (VM_APPEND)"
	exit 2
fi
for s in $(echo "$suites" | tr ',' ' '); do
	if [ ! -x "/opt/zdedup/bin/$s" ]; then
		echo "suite: no /opt/zdedup/bin/$s"
		exit 2
	fi
	run_suite "$s" "/opt/zdedup/bin/$s"
done
