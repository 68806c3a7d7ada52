#!/bin/bash
# The system test's checks, inside the Debian 12 guest (make system-test,
# scripts/system-test.sh).  zdedup-systest.service runs this after boot;
# it prints TAP to the console (the host parses it with vm-report.py) and
# powers the machine off.  zdedup.systest=1 on the kernel command line is
# the first boot, zdedup.systest=2 the second (after a reboot).
#
# The configuration under test (/etc/zdedup/zdedup.conf, from
# tests/system/zdedup.conf): policy tenant; tenant-a.slice and
# tenant-b.slice in group 7, tenant-c.slice private, tenant-d.slice off;
# tenant-e.slice has no entry (private, the default); tenant-f.slice is
# configured but not started at boot.  Tenants' workloads are services
# (systemd-run --slice=... -p MemoryMax=...) running zdedup-systest with
# the same content (replicas of one image): sharing must happen exactly
# where the configuration allows it.
export PATH=/usr/sbin:/usr/bin:/sbin:/bin
phase=$(sed -n 's/.*zdedup\.systest=\([0-9]*\).*/\1/p' /proc/cmdline)
work=/run/zdedup-systest
conf=/etc/zdedup/zdedup.conf
loader=zdedup-loader
debs=/var/cache/zdedup-systest
# Pages per worker: PAGES reference pages, COPIES copies of each.
PAGES=${PAGES:-1024}
COPIES=${COPIES:-2}

n=0
nfailed=0
ok() { n=$((n + 1)); echo "ok $n - $*"; }
not_ok() { n=$((n + 1)); nfailed=$((nfailed + 1)); echo "not ok $n - $*"; }
diag() { sed 's/^/# /'; }
skip() { n=$((n + 1)); echo "ok $n - $1 # SKIP $2"; }
# check DESCRIPTION COMMAND...: the command's output is shown on failure.
check() {
	local desc=$1 out rc
	shift
	out=$("$@" 2>&1)
	rc=$?
	if [ $rc = 0 ]; then
		ok "$desc"
	else
		not_ok "$desc"
		{ echo "\$ $*  (exit $rc)"; echo "$out"; } | diag
	fi
	return $rc
}
t0=$(date +%s)
step() { echo "# [$(( $(date +%s) - t0 )) s] $*"; }

policy_is() { [ "$(cat /sys/kernel/debug/zswap/dedup_policy 2>&1)" = "$1" ]; }
effective() {	# effective UNIT: the loader's 'get --unit' line
	$loader get --unit "$1" 2>&1
}
get_is() {	# get_is UNIT WORDS...: get --unit UNIT says WORDS
	local unit=$1 out
	shift
	out=$(effective "$unit")
	echo "$out"
	echo "$out" | grep -q -- "$*"
}

# --- workers: zdedup-systest in a tenant's slice ---
# start_worker NAME SLICE SEED: start it and wait until its pages are out.
start_worker() {
	local name=$1 slice=$2 seed=$3 i
	systemd-run --quiet --unit="zst-$name" --slice="$slice" -p MemoryMax=96M \
		--remain-after-exit /usr/local/bin/zdedup-systest \
		"$name" "$work" "$seed" "$PAGES" "$COPIES" || return 1
	for ((i = 0; i < 3000; i++)); do
		[ -f "$work/$name.out" ] && return 0
		systemctl -q is-failed "zst-$name" && break
		sleep 0.1
	done
	journalctl -b -u "zst-$name" --no-pager | tail -5 | diag
	return 1
}
field() { sed -n "s/.*\b$2=\([^ ]*\).*/\1/p" "$work/$1.out" "$work/$1.done" 2>/dev/null | head -1; }
# expect_worker NAME SLICE DEDUP WHY: its pages went out from SLICE and
# DEDUP of its stores were shared.
expect_worker() {
	local name=$1 slice=$2 want=$3 why=$4 cg out pages dedup
	cg=$(field "$name" cgroup)
	pages=$(field "$name" pages)
	out=$(field "$name" out)
	dedup=$(field "$name" dedup)
	if [[ $cg != */$slice/zst-$name.service ]]; then
		not_ok "$name runs in $slice (cgroup '$cg')"
		return
	fi
	if [ -z "$out" ] || [ "$out" != "$pages" ]; then
		not_ok "$name: all $pages pages pushed out to zswap (out=$out)"
		return
	fi
	if [ "$dedup" = "$want" ]; then
		ok "$name ($slice): $dedup of $pages stores shared: $why"
	else
		not_ok "$name ($slice): $dedup of $pages stores shared, expected $want: $why"
		cat "$work/$name.out" | diag
	fi
}
# finish_workers NAME...: release them; every page must read back intact.
finish_workers() {
	local name i st
	touch "$work/release"
	for name in "$@"; do
		for ((i = 0; i < 3000; i++)); do
			st=$(systemctl show -P SubState "zst-$name")
			[ "$st" = exited ] || [ "$st" = failed ] && break
			sleep 0.1
		done
		st=$(systemctl show -P ExecMainStatus "zst-$name")
		if [ "$st" = 0 ] && [ "$(field "$name" corrupted)" = 0 ]; then
			ok "$name: $(field "$name" verified) pages read back intact"
		else
			not_ok "$name: pages read back (exit status $st, $(cat "$work/$name.done" 2>&1))"
			journalctl -b -u "zst-$name" --no-pager | tail -5 | diag
		fi
		systemctl stop "zst-$name" 2>/dev/null
	done
	rm -f "$work/release"
}

common_boot_checks() {
	check "zdedup.service is active after boot" systemctl -q is-active zdedup.service
	check "swap is on (zswap needs a swap device)" sh -c 'swapon --noheadings | grep -q .'
	check "the configured policy (tenant) is attached: debugfs zswap/dedup_policy" \
		policy_is tenant
	check "zdedup-loader status names the policy" sh -c "$loader status | grep -q tenant"
	check "tenant-a.slice: group 7 applied at boot" get_is tenant-a.slice "group 7, its own entry"
	check "tenant-b.slice: group 7 applied at boot" get_is tenant-b.slice "group 7, its own entry"
	check "tenant-c.slice: private applied at boot" get_is tenant-c.slice "private, its own entry"
	check "tenant-d.slice: off applied at boot" get_is tenant-d.slice "off, its own entry"
	check "journalctl -u zdedup: the policy was attached, in words" \
		sh -c "journalctl -b -u zdedup --no-pager | grep -E 'policy tenant: (attached|replaced|unchanged)'"
	check "journalctl -u zdedup: the settings made, in words" \
		sh -c "journalctl -b -u zdedup --no-pager | grep 'tenant-a.slice: group 7'"
	check "systemd: no failed units" sh -c '! systemctl --failed --no-legend | grep .'
}

stop_checks() {
	check "systemctl stop zdedup succeeds" systemctl stop zdedup.service
	check "after stop: the built-in policy is back (dedup_policy: builtin)" policy_is builtin
	check "after stop: zdedup.service inactive, not failed" \
		sh -c '[ "$(systemctl is-active zdedup.service)" = inactive ]'
	check "after stop: zdedup-loader get reports the built-in policy" \
		get_is tenant-a.slice "no policy is attached"
	check "journalctl -u zdedup: the unload, in words" \
		sh -c "journalctl -b -u zdedup --no-pager | grep -E 'policy builtin: unloaded'"
	check "systemctl stop succeeds when the policy was unloaded by hand" sh -c \
		"systemctl start zdedup && $loader unload && systemctl stop zdedup &&
		 [ \"\$(systemctl is-active zdedup.service)\" = inactive ]"
}

boot1() {
	step "boot 1: the configuration at boot"
	common_boot_checks
	check "zdedup-loader --version names the package's version" \
		sh -c "$loader --version | grep -qF \"\$(dpkg-query -W -f='\${Version}' zdedup-tools)\""
	check "the kernel is the package's" sh -c \
		'dpkg -S /boot/vmlinuz-$(uname -r) && uname -r | grep -q zdedup'
	check "tenant-f.slice (not started yet): pending" \
		sh -c "$loader apply $conf --check | grep -q 'tenant-f.slice: pending'"

	step "workloads: the same content in every tenant"
	mkdir -p "$work"
	rm -f "$work"/*
	local s=42 p=$PAGES c=$COPIES
	start_worker a1 tenant-a.slice $s
	start_worker b1 tenant-b.slice $s
	start_worker c1 tenant-c.slice $s
	start_worker c2 tenant-c.slice $s
	start_worker d1 tenant-d.slice $s
	start_worker e1 tenant-e.slice $s
	expect_worker a1 tenant-a.slice $((p * (c - 1))) "its own copies (group 7)"
	expect_worker b1 tenant-b.slice $((p * c)) "every page, with a1 (A and B in group 7)"
	expect_worker c1 tenant-c.slice $((p * (c - 1))) "its own copies only (private)"
	expect_worker c2 tenant-c.slice $((p * (c - 1))) "its own copies only, not c1's (private)"
	expect_worker d1 tenant-d.slice 0 "none (off)"
	expect_worker e1 tenant-e.slice $((p * (c - 1))) "its own copies only (no entry: private)"
	check "get --unit: b1's service inherits group 7 from tenant-b.slice" \
		get_is zst-b1.service "group 7, inherited from /tenant.slice/tenant-b.slice"
	check "get --pid: the same for b1's process" sh -c \
		"$loader get --pid \$(systemctl show -P MainPID zst-b1) |
		 grep 'group 7, inherited from /tenant.slice/tenant-b.slice'"
	check "get --unit: d1's service is off, from tenant-d.slice" \
		get_is zst-d1.service "off, inherited from /tenant.slice/tenant-d.slice"
	check "status --json: policy tenant; b1's memory.stat figure" sh -c \
		"$loader --json status | jq -e '.policy.name == \"tenant\" and
		 ([.cgroups[] | select(.path == \"/tenant.slice/tenant-b.slice/zst-b1.service\")
		   | .zswpout_dedup] == [$((p * c))])'"
	check "status --prometheus: b1's shared pages" sh -c \
		"$loader status --prometheus | grep -x 'zdedup_cgroup_zswpout_dedup_pages_total{cgroup=\"/tenant.slice/tenant-b.slice/zst-b1.service\"} $((p * c))'"
	check "zdedup-loader status --watch 1 --count 2: rates" \
		sh -c "$loader status --watch 1 --count 2 | grep -qi 'stored'"
	finish_workers a1 b1 c1 c2 d1 e1

	step "reload: a slice that appears after boot"
	check "start tenant-f.slice" systemctl start tenant-f.slice
	check "systemctl reload zdedup" systemctl reload zdedup.service
	check "tenant-f.slice: group 7 after reload" get_is tenant-f.slice "group 7, its own entry"
	check "reload again changes nothing" \
		sh -c "$loader apply $conf | grep -q 'no changes'"
	check "prune --dry-run: the workers' gone cgroups are not settings" \
		$loader prune --dry-run
	printf 'policy tenant\nunit tenant-a.slice group seven\n' > /tmp/bad.conf
	check "apply --check of a broken file names the file and line" sh -c \
		"! $loader apply /tmp/bad.conf --check 2>/tmp/bad.err && grep -q '/tmp/bad.conf:2' /tmp/bad.err"
	cp "$conf" /tmp/good.conf
	printf 'policy tenant\nunit tenant-a.slice group seven\n' > "$conf"
	check "systemctl reload with a broken file fails and changes nothing" sh -c \
		"! systemctl reload zdedup.service && systemctl -q is-active zdedup.service &&
		 [ \"\$(cat /sys/kernel/debug/zswap/dedup_policy)\" = tenant ]"
	cp /tmp/good.conf "$conf"
	check "tenant-a.slice still group 7" get_is tenant-a.slice "group 7, its own entry"

	step "stop: back to the built-in policy"
	stop_checks
	check "systemctl start zdedup: applied again" sh -c \
		'systemctl start zdedup && [ "$(cat /sys/kernel/debug/zswap/dedup_policy)" = tenant ]'

	step "bash completion"
	check "bash completion completes commands" bash -c \
		'. /usr/share/bash-completion/bash_completion; . /usr/share/bash-completion/completions/zdedup-loader;
		 COMP_WORDS=(zdedup-loader ap); COMP_CWORD=1; COMP_LINE="zdedup-loader ap"; COMP_POINT=${#COMP_LINE};
		 _zdedup_loader; [ "${COMPREPLY[*]}" = apply ]'
}

boot2() {
	step "boot 2: after a reboot the configuration is applied again"
	common_boot_checks
	check "the journal of boot 1 shows the stop at shutdown" \
		sh -c "journalctl -b -1 -u zdedup --no-pager | grep -E 'policy builtin: unloaded'"
	mkdir -p "$work"
	rm -f "$work"/*
	local p=$PAGES c=$COPIES
	start_worker a2 tenant-a.slice 7
	start_worker b2 tenant-b.slice 7
	start_worker c3 tenant-c.slice 7
	expect_worker a2 tenant-a.slice $((p * (c - 1))) "its own copies (group 7)"
	expect_worker b2 tenant-b.slice $((p * c)) "every page, with a2 (group 7)"
	expect_worker c3 tenant-c.slice $((p * (c - 1))) "its own copies only (private)"
	finish_workers a2 b2 c3

	step "stop, then the package's removal and reinstallation"
	stop_checks
	check "systemctl start zdedup again" systemctl start zdedup.service
	check "dpkg --purge zdedup-tools" dpkg --purge zdedup-tools
	check "after purge: the built-in policy (prerm stopped the service)" policy_is builtin
	check "after purge: no unit, no /etc/zdedup" sh -c \
		'! systemctl cat zdedup.service >/dev/null 2>&1 && [ ! -e /etc/zdedup ]'
	check "dpkg -i zdedup-tools: installed and started" sh -c \
		"dpkg -i $debs/zdedup-tools_*.deb && systemctl -q is-active zdedup.service && systemctl -q is-enabled zdedup.service"
	check "the default configuration changes nothing (builtin)" policy_is builtin
	check "systemctl stop with the default configuration succeeds" systemctl stop zdedup.service
}

echo "ZDEDUP-SUITE-BEGIN system-boot$phase"
echo "TAP version 13"
case $phase in
1) boot1 ;;
2) boot2 ;;
*) not_ok "zdedup.systest=$phase on the kernel command line: 1 or 2" ;;
esac
echo "1..$n"
step "done: $n checks, $nfailed failed"
echo "ZDEDUP-SUITE-END system-boot$phase rc=$((nfailed ? 1 : 0))"
echo "ZDEDUP-RESULT rc=0"
sync
systemctl --no-block poweroff
