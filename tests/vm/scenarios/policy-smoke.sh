# Smoke test of the BPF dedup policies and zdedup-loader: load tenant, set
# cgroups, status --json, replace tenant (from its .bpf.o, keeping the
# settings) and then adaptive atomically, unload, the loader's error cases,
# and the `bpftool struct_ops register` path.  One TAP suite; each step
# shows the command's output as TAP comments.
#
#   scripts/vm-run.sh policy-smoke
. /scenarios/lib.sh

L=/opt/zdedup/bin/zdedup-loader
BPF=/opt/zdedup/bpf
CG=/sys/fs/cgroup/smoke
DBG=/sys/kernel/debug/zswap
PIN=/sys/fs/bpf/zdedup
n=0

ok() { n=$((n + 1)); echo "ok $n - $*"; }
nok() { n=$((n + 1)); echo "not ok $n - $*"; }
check() {
	desc=$1
	shift
	if "$@"; then ok "$desc"; else nok "$desc"; fi
}

# expect RC REGEX DESC CMD...: CMD exits with RC and its output (stdout and
# stderr) matches the extended regex REGEX ('' matches anything).
expect() {
	want=$1 pat=$2 desc=$3
	shift 3
	echo "# \$ $(echo "$*" | sed 's|/opt/zdedup/bin/||')"
	out=$("$@" 2>&1)
	got=$?
	echo "$out" | sed 's/^/#   /'
	if [ "$got" != "$want" ]; then
		nok "$desc (exit $got, expected $want)"
	elif [ -n "$pat" ] && ! echo "$out" | grep -Eq "$pat"; then
		nok "$desc (output does not match /$pat/)"
	else
		ok "$desc"
	fi
}

policy() { cat $DBG/dedup_policy 2>/dev/null; }
is_policy() { [ "$(policy)" = "$1" ]; }
pinned() { for f in "$@"; do [ -e "$PIN/$f" ] || return 1; done; }
absent() { for f in "$@"; do [ ! -e "$PIN/$f" ] || return 1; done; }

# fill CGROUP FILE: copy FILE to tmpfs from inside CGROUP, then reclaim
# the cgroup: its pages go through zswap and the policy sees them.
fill() {
	sh -c "echo \$\$ > $CG/$1/cgroup.procs && cat $2 > /tmp/smoke-$(echo "$1" | tr / -)"
	echo 64M > "$CG/$1/memory.reclaim" 2>/dev/null
	echo 64M > "$CG/$1/memory.reclaim" 2>/dev/null
}

# pages N TAG: N distinct 4 KiB pages of text: compressible (random bytes
# would be rejected by zswap's compressor, and a rejected page is never
# reported to stored()), and not made of one repeated word.
pages() {
	awk -v n="$1" -v tag="$2" 'BEGIN {
		for (i = 0; i < n; i++) {
			s = ""
			while (length(s) < 4096)
				s = s sprintf("%s: page %d of %d; ", tag, i, n)
			printf "%s", substr(s, 1, 4096)
		}
	}'
}

# has TEXT REGEX: TEXT matches the extended regex.
has() { echo "$1" | grep -Eq "$2"; }

# wait_policy NAME: dedup_policy becomes NAME within 5 s (a link whose last
# reference went away is released from a workqueue).
wait_policy() {
	for i in 1 2 3 4 5 6 7 8 9 10; do
		is_policy "$1" && return 0
		sleep 0.5
	done
	return 1
}

# json_field JSON-TEXT CGROUP FIELD: the number FIELD of CGROUP's row.
json_field() {
	echo "$1" | tr -d '\n ' | sed 's/},{/}\n{/g' | grep "\"path\":\"$2\"" |
		sed -n "s/.*\"$3\":\([0-9]*\).*/\1/p"
}

smoke() {
	echo "# kernel $(uname -r)"
	check "the loader and policy objects are in the VM" \
		[ -x $L -a -f $BPF/memcg.bpf.o -a -f $BPF/tenant.bpf.o -a -f $BPF/adaptive.bpf.o ]
	check "no policy at boot (dedup_policy builtin)" is_policy builtin
	echo Y > /sys/module/zswap/parameters/dedup_enabled

	mkdir -p $CG && echo +memory > $CG/cgroup.subtree_control &&
		mkdir -p $CG/a $CG/b $CG/c $CG/d &&
		echo +memory > $CG/b/cgroup.subtree_control && mkdir -p $CG/b/e
	check "cgroups smoke/{a,b,b/e,c,d} created" [ -d $CG/b/e ]

	# --- errors before anything is loaded ---
	expect 0 'builtin' "status with no policy" $L status
	expect 1 'no policy is loaded' "set with no policy loaded fails" $L set smoke/a private
	expect 1 'nothing to unload' "unload with nothing loaded fails" $L unload
	expect 2 'unknown policy' "load of an unknown policy name is a usage error" $L load nosuch
	expect 1 'cannot read policy object' "load of a missing .bpf.o fails" $L load /nonexistent.bpf.o
	expect 2 'adaptive' "tenant rejects adaptive's options" $L load tenant --window 64
	if grep -q ' /sys/fs/bpf bpf' /proc/mounts && umount /sys/fs/bpf; then
		expect 1 'no BPF filesystem' "load without /sys/fs/bpf explains it" $L load memcg
		mount -t bpf bpf /sys/fs/bpf
	fi
	check "no policy attached after the failures" is_policy builtin
	check "nothing pinned after the failures" [ ! -e $PIN ]

	# --- tenant ---
	expect 0 "attached" "load tenant" $L load tenant
	check "dedup_policy is tenant" is_policy tenant
	check "link, info, cgroup_policy, cgroup_stats pinned" \
		pinned link info cgroup_policy cgroup_stats
	expect 1 "'tenant' is already attached.*--replace" \
		"load memcg over tenant without --replace fails, naming tenant" $L load memcg
	check "tenant still attached" is_policy tenant

	expect 0 'private' "set a private" $L set $CG/a private
	expect 0 'group 7' "set b group 7" $L set smoke/b group 7
	expect 0 'group 7' "set c group 7" $L set smoke/c group 7
	expect 0 'off' "set d off" $L set smoke/d off
	expect 0 '/smoke/c .*group 7' "set takes a path as list prints it" $L set /smoke/c group 7
	expect 1 'No such file' "set of a missing cgroup fails" $L set smoke/nosuch private
	expect 1 'not a cgroup v2' "set of a non-cgroup2 path fails" $L set /tmp private
	expect 2 'unknown mode' "set with an unknown mode fails" $L set smoke/a shared
	expect 2 '1\.\.65535' "set group 0 fails" $L set smoke/a group 0
	expect 2 '1\.\.65535' "set group 65536 fails" $L set smoke/a group 65536
	expect 2 'group number' "set group without N fails" $L set smoke/a group
	expect 0 '/smoke/a +private' "list shows the entries, a still private" $L list
	expect 0 '"group": 7' "list --json" $L list --json
	expect 0 'entry removed' "unset d" $L unset smoke/d
	expect 1 'no entry of its own' "unset d again fails" $L unset smoke/d
	expect 0 'off' "set d off again" $L set smoke/d off

	# Pages through zswap.  Every cgroup copies the same "image" of 128
	# distinct pages, so a page can only merge across cgroups: e (no entry,
	# inherits b's group 7) then c (group 7) merge; a (private) and d (off)
	# must not.  b has children with a memory controller, so no processes.
	pages 128 image > /tmp/image
	fill b/e /tmp/image
	fill c /tmp/image
	fill a /tmp/image
	fill d /tmp/image
	expect 0 'tenant' "status (text)" $L status
	st=$($L status --json)
	echo "$st" | sed 's/^/#   /'
	check "status --json names tenant and its source" has "$st" '"source": "builtin:tenant"'
	he=$(json_field "$st" /smoke/b/e hashed)
	hc=$(json_field "$st" /smoke/c hashed)
	sc=$(json_field "$st" /smoke/c shared)
	ha=$(json_field "$st" /smoke/a hashed)
	sa=$(json_field "$st" /smoke/a shared)
	hd=$(json_field "$st" /smoke/d hashed)
	kd=$(json_field "$st" /smoke/d skipped)
	echo "# b/e hashed=$he; c hashed=$hc shared=$sc; a hashed=$ha shared=$sa; d hashed=$hd skipped=$kd"
	check "b/e (no entry) was hashed" [ "${he:-0}" -gt 0 ]
	check "c merged with b/e: group 7 inherited by b/e" [ "${sc:-0}" -gt 0 ]
	check "a (private) was hashed but merged with nobody" [ "${ha:-0}" -gt 0 -a "${sa:-0}" = 0 ]
	check "d (off) was skipped, never hashed" [ "${kd:-0}" -gt 0 -a "${hd:-0}" = 0 ]
	check "status shows b/e's mode as inherited" has "$($L status)" '/smoke/b/e +group 7\*'
	check "dedup_policy_invalid is 0" [ "$(cat $DBG/dedup_policy_invalid)" = 0 ]

	# --- replace tenant by tenant from its .bpf.o: settings survive ---
	link1=$($L status --json | sed -n 's/.*"link_id": \([0-9]*\).*/\1/p')
	expect 0 "replaced 'tenant' atomically" "load --replace $BPF/tenant.bpf.o" \
		$L load $BPF/tenant.bpf.o --replace
	check "per-cgroup settings survive the replacement" has "$($L list)" '/smoke/b +group 7'

	link2=$($L status --json | sed -n 's/.*"link_id": \([0-9]*\).*/\1/p')
	check "same link after replacement ($link1 = $link2)" [ -n "$link1" -a "$link1" = "$link2" ]

	# --- replace with adaptive ---
	expect 0 "replaced 'tenant' atomically" "load adaptive --replace" \
		$L load adaptive --replace --window 64 --backoff 256
	check "dedup_policy is adaptive" is_policy adaptive
	check "cgroup_state pinned, tenant's maps unpinned" \
		sh -c "[ -e $PIN/cgroup_state ] && [ ! -e $PIN/cgroup_policy ] && [ ! -e $PIN/cgroup_stats ]"
	expect 1 'no per-cgroup policy map' "set with adaptive loaded fails" $L set smoke/a off
	pages 512 unique > /tmp/unique
	fill a /tmp/unique
	st=$($L status --json)
	echo "$st" | sed 's/^/#   /'
	ka=$(json_field "$st" /smoke/a skipped)
	ba=$(json_field "$st" /smoke/a backoffs)
	echo "# a: skipped=$ka backoffs=$ba"
	check "adaptive backs off on unique pages" [ "${ba:-0}" -gt 0 -a "${ka:-0}" -gt 0 ]
	check "status --json records the options" has "$st" '"options": "--window 64 --backoff 256"'

	# --- unload ---
	expect 0 "detached and unpinned" "unload" $L unload
	check "dedup_policy is builtin again" is_policy builtin
	check "pin directory removed" [ ! -e $PIN ]

	# --- verifier rejection (only when a deliberately bad object is present) ---
	if [ -f $BPF/zz_bad_write.bpf.o ]; then
		expect 1 'verifier says' "a policy writing kernel memory is rejected, with the verifier log" \
			$L load $BPF/zz_bad_write.bpf.o
		check "nothing attached or pinned after the rejection" \
			sh -c "[ \"\$(cat $DBG/dedup_policy)\" = builtin ] && [ ! -e $PIN ]"
	else
		ok "verifier rejection # SKIP no deliberately bad policy object in $BPF"
	fi

	# --- bpftool ---
	expect 0 '' "bpftool struct_ops register memcg.bpf.o $PIN" \
		bpftool struct_ops register $BPF/memcg.bpf.o $PIN
	check "dedup_policy is memcg" is_policy memcg
	check "bpftool pinned the link at $PIN/memcg_ops" [ -e $PIN/memcg_ops ]
	expect 1 "'memcg' is already attached, by another tool.*$PIN/memcg_ops" \
		"load over bpftool's policy fails, naming it and its pin" $L load tenant
	expect 1 "another tool.*$PIN/memcg_ops" \
		"load --replace over bpftool's policy fails, explaining it" $L load tenant --replace
	expect 0 'another tool' "status shows a policy attached by another tool" $L status
	expect 1 "rm $PIN/memcg_ops" "unload explains how to detach bpftool's policy" $L unload
	rm $PIN/memcg_ops
	check "rm of the pinned link detaches it" wait_policy builtin
	rmdir $PIN 2>/dev/null

	# --- and back to a clean load ---
	expect 0 "attached" "load memcg after all that" $L load memcg
	check "dedup_policy is memcg" is_policy memcg
	expect 0 "detached" "unload memcg" $L unload

	rm -f /tmp/smoke-* /tmp/image /tmp/unique
	rmdir $CG/b/e $CG/a $CG/b $CG/c $CG/d $CG 2>/dev/null
	echo "1..$n"
}

run_suite policy_smoke smoke
