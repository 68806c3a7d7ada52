# Runner self-test: a suite with a failing test must fail the run.
. /scenarios/lib.sh
run_suite runner_fail sh -c 'echo "1..1"; echo "not ok 1 deliberately failing"; exit 1'
