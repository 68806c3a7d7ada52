#!/bin/sh
# Self-tests of the VM runner: a failing guest test, a guest panic and a
# guest hang must each make the run fail (non-zero exit and a FAILED line),
# and a passing scenario must pass.  TAP output.
set -u

top=$(cd "$(dirname "$0")/../.." && pwd)
n=0
fails=0

# expect NAME SCENARIO WANT_RC(0|nonzero) PATTERN [TIMEOUT]
expect() {
	n=$((n + 1))
	out=$(VM_TIMEOUT=${5:-120} "$top/scripts/vm-run.sh" "$2" 2>&1)
	rc=$?
	ok=1
	if [ "$3" = 0 ]; then [ "$rc" -eq 0 ] || ok=0; else [ "$rc" -ne 0 ] || ok=0; fi
	echo "$out" | tail -n 5 | grep -q -- "$4" || ok=0
	if [ "$ok" = 1 ]; then
		echo "ok $n runner: $1"
	else
		fails=$((fails + 1))
		echo "not ok $n runner: $1 (exit $rc)"
		echo "$out" | tail -n 8 | sed 's/^/# /'
	fi
}

echo "TAP version 13"
echo "1..4"
expect "a passing scenario passes" runner-pass 0 "0 failed"
expect "a failing guest test fails the run" runner-fail nonzero "FAILED: runner_fail: not ok 1"
expect "a guest panic fails the run" runner-panic nonzero "never reported back"
expect "a hung guest is stopped and fails the run" runner-hang nonzero "never reported back" 40
[ "$fails" -eq 0 ]
