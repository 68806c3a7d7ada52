#!/bin/sh
# make demo: the multi-tenant dedup story.  Boots the VM once with the
# "demo" scenario (tests/vm/scenarios/demo.sh: three tenants' replicas
# paged out through zswap and read back under stock zswap, the built-in
# policy, the tenant policy and the adaptive policy), then turns the
# guest's "DEMO {json}" lines (build/vm/demo.log) into a table and one
# sentence on the terminal, and build/demo/results.json, report.md and
# pool.png.  The table sets what `zdedup-loader estimate` predicted in the
# guest before the pressure beside the fraction of stores zswap merged.  Exit status non-zero if a configuration failed to load or
# run, a page failed verification, or the guest did not finish cleanly
# (crash, hang, kernel splat).
#
# Environment: DEMO_REPLICAS (replicas per tenant, default 3),
# DEMO_REF_PAGES (reference-data pages per replica, default 3072),
# DEMO_OWN_PAGES (pages of its own per replica, default 1024),
# DEMO_ROUNDS (swap-out/swap-in rounds per configuration, the times are
# the best round's, default 2), and
# everything scripts/vm-run.sh takes (VM_TIMEOUT defaults to 900 here).
set -u

top=$(cd "$(dirname "$0")/.." && pwd)
. "$top/scripts/base.sh"
out="$B/demo"
log="$B/vm/demo.log"
mkdir -p "$out"
rm -f "$out/results.json" "$out/report.md" "$out/pool.png" "$log"

append="zdedup.demo_replicas=${DEMO_REPLICAS:-3}"
append="$append zdedup.demo_ref=${DEMO_REF_PAGES:-3072}"
append="$append zdedup.demo_own=${DEMO_OWN_PAGES:-1024}"
append="$append zdedup.demo_rounds=${DEMO_ROUNDS:-2}"
echo "==> demo: 4 configurations x 3 tenants x ${DEMO_REPLICAS:-3} replicas in the VM" \
	"(about 1.5 minutes under TCG)"

# The timings are wall clock in a TCG guest: another VM or a build on this
# host skews them.  Note what else ran, every 2 s, for the report.
busy="$out/host-busy.txt"
: > "$busy"
(
	while sleep 2; do
		for p in $(pgrep -x "qemu-system-x86|cc1|cc1plus|ld|ld.bfd|make|clang|clang-16" 2>/dev/null); do
			cmd=$(tr '\0' ' ' < /proc/$p/cmdline 2>/dev/null) || continue
			case $cmd in *zdedup.scenario=demo*|"") continue ;; esac
			echo "$cmd" | cut -c1-100
		done | sort -u >> "$busy"
	done
) &
sampler=$!
trap 'kill $sampler 2>/dev/null' EXIT INT TERM

VM_REPORT=0 VM_TIMEOUT=${VM_TIMEOUT:-900} VM_APPEND="${VM_APPEND:-} $append" \
	"$top/scripts/vm-run.sh" demo | grep --line-buffered -v "DEMO {"
kill $sampler 2>/dev/null
[ -s "$log" ] || { echo "demo: the VM did not run (no $log)" >&2; exit 1; }
python3 "$top/scripts/demo-report.py" "$log" "$out" "$busy"
rc=$?
# The harness's checks: the guest reported back, no kernel splat.
if ! python3 "$top/scripts/vm-report.py" "$log" >"$out/vm-report.txt"; then
	grep "^FAILED" "$out/vm-report.txt" | grep -v "scenario exited with status"
	rc=1
fi
exit $rc
