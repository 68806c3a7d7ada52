# Runner self-test: a kernel panic must fail the run.
echo c > /proc/sysrq-trigger
