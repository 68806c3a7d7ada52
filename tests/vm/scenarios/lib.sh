# Helpers sourced by the guest scenarios.

# run_suite NAME CMD...: run one test program and frame its TAP output so
# the host can attribute a crash or an abnormal exit to the suite.
run_suite() {
	name=$1
	shift
	echo "ZDEDUP-SUITE-BEGIN $name"
	t0=$(cut -d' ' -f1 /proc/uptime)
	"$@"
	rc=$?
	# How long it took (guest clock), so that make check's time can be
	# attributed.
	echo "ZDEDUP-SUITE-END $name rc=$rc seconds=$(awk -v t0="$t0" '{printf "%.0f", $1 - t0}' /proc/uptime)"
	return 0
}
