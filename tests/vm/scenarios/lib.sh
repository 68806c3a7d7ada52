# Helpers sourced by the guest scenarios.

# run_suite NAME CMD...: run one test program and frame its TAP output so
# the host can attribute a crash or an abnormal exit to the suite.
run_suite() {
	name=$1
	shift
	echo "ZDEDUP-SUITE-BEGIN $name"
	"$@"
	rc=$?
	echo "ZDEDUP-SUITE-END $name rc=$rc"
	return 0
}
