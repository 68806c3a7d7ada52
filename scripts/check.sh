#!/bin/sh
# make check: the runner's own self-tests (the harness must catch a failing
# guest test, a guest panic and a guest hang), then the VM test suites.
# Ends with "N passed, N failed" over everything; exit status 0 only when
# nothing failed.
set -u

top=$(cd "$(dirname "$0")/.." && pwd)
out="$top/build/check"
mkdir -p "$out"

"$top/tests/host/test_vm_runner.sh" | tee "$out/host.tap"
echo
VM_REPORT=0 VM_TIMEOUT=${VM_TIMEOUT:-1800} "$top/scripts/vm-run.sh" check
exec python3 "$top/scripts/vm-report.py" --tap "$out/host.tap" "$top/build/vm/check.log"
