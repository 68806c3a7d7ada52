# make demo: three tenants, each a memory cgroup with replicas of one
# service, paged out through zswap and read back under four
# configurations, in one boot:
#
#   1 stock     zswap as in 6.12: dedup_enabled=N
#   2 builtin   dedup, no policy: pages merge within their own cgroup
#   3 tenant    the tenant policy: A and B (same image) share group 7, C private
#   4 adaptive  the adaptive policy: per cgroup, hashing only where it pays
#
# zdedup_demo measures each configuration and prints one "DEMO {json}"
# line, which also carries what `zdedup-loader estimate` predicted for the
# tenants after their fill and before the pressure (the report sets it
# beside what zswap merged); a configuration that cannot be set up gets a
# "DEMO" line with an "error" instead.  scripts/demo.sh turns the lines into the table, the
# report and the chart.  Exit status 1 if any configuration failed or any
# page failed verification.
#
# Kernel command line options (scripts/demo.sh sets them from DEMO_*):
#   zdedup.demo_replicas=N  replicas per tenant (default 3)
#   zdedup.demo_ref=N       reference-data pages per replica (default 3072)
#   zdedup.demo_own=N       pages of its own per replica (default 1024)
#   zdedup.demo_rounds=N    swap-out/swap-in rounds; times are the best
#                           round's, zswap figures the first's (default 2)

cg=/sys/fs/cgroup/demo
param=/sys/module/zswap/parameters/dedup_enabled
dbg=/sys/kernel/debug/zswap
loader=/opt/zdedup/bin/zdedup-loader
rc=0
loaded=

opt() { sed -n "s/.*zdedup\.$1=\([^ ]*\).*/\1/p" /proc/cmdline; }
say() { echo "demo: $*"; }

# cmd STEP NAME COMMAND...: show an administrator's command, then run it.
cmd() {
	step=$1 name=$2
	shift 2
	echo "demo: [$step $name] \$ $(echo "$*" | sed 's|/opt/zdedup/bin/||')"
	"$@"
}

# set_dedup STEP NAME Y|N: switch dedup on or off, as an administrator would.
set_dedup() {
	echo "demo: [$1 $2] \$ echo $3 > $param"
	echo "$3" > $param && [ "$(cat $param)" = "$3" ]
}

# fail_config STEP NAME LABEL REASON: a configuration that could not run.
fail_config() {
	say "[$1 $2] FAILED: $4"
	echo "DEMO {\"type\":\"config\",\"name\":\"$2\",\"label\":\"$3\",\"step\":\"$1\",\"error\":\"$4\"}"
	rc=1
}

# expect_policy NAME: the kernel reports policy NAME attached.
expect_policy() {
	[ "$(cat $dbg/dedup_policy 2>/dev/null)" = "$1" ]
}

# measure STEP NAME LABEL DOMAINS: one configuration, already set up.
measure() {
	zdedup_demo -s "$1" -c "$2" -l "$3" -d "$4" \
		-n "${replicas:-3}" -r "${ref:-3072}" -u "${own:-1024}" -R "${rounds:-2}"
	st=$?
	case $st in
	0) ;;
	1) say "[$1 $2] FAILED: pages corrupted"; rc=1 ;;
	*) fail_config "$1" "$2" "$3" "zdedup_demo exited with status $st" ;;
	esac
}

have_loader() {
	[ -x "$loader" ] && return 0
	fail_config "$1" "$2" "$3" "zdedup-loader missing from the VM (build/loader/zdedup-loader not built)"
	return 1
}

replicas=$(opt demo_replicas)
ref=$(opt demo_ref)
own=$(opt demo_own)
rounds=$(opt demo_rounds)

if [ ! -f "$param" ] || [ ! -f "$dbg/dedup_hits" ]; then
	say "FAILED: this kernel has no zswap dedup ($param, $dbg/dedup_hits)"
	exit 1
fi
dedup_orig=$(cat $param)
say "kernel $(uname -r), zswap compressor $(cat /sys/module/zswap/parameters/compressor)," \
	"zpool $(cat /sys/module/zswap/parameters/zpool 2>/dev/null || echo 'none (zsmalloc)'), max_pool_percent" \
	"$(cat /sys/module/zswap/parameters/max_pool_percent)," \
	"shrinker_enabled $(cat /sys/module/zswap/parameters/shrinker_enabled)"
say "tenants: $cg/A, $cg/B (same image as A), $cg/C (another image)," \
	"${replicas:-3} replicas each"
mkdir -p $cg &&
	echo +memory > $cg/cgroup.subtree_control &&
	mkdir -p $cg/A $cg/B $cg/C || { say "FAILED: cannot create $cg/{A,B,C}"; exit 1; }
if ! expect_policy builtin; then
	say "a policy is attached at boot ($(cat $dbg/dedup_policy)); unloading it"
	[ -x "$loader" ] && $loader unload
fi

# 1. stock zswap
step=1/4 name=stock label="stock zswap (dedup off)"
if set_dedup $step $name N; then
	measure $step $name "$label" none
else
	fail_config $step $name "$label" "cannot set dedup_enabled=N"
fi

# 2. dedup, built-in policy: one domain per memory cgroup
step=2/4 name=builtin label="built-in policy (per cgroup)"
if set_dedup $step $name Y && expect_policy builtin; then
	measure $step $name "$label" A,B,C
else
	fail_config $step $name "$label" "cannot set dedup_enabled=Y with the built-in policy"
fi

# 3. tenant policy: A and B merge with each other, C only with itself
step=3/4 name=tenant label="tenant policy (A+B group 7, C private)"
if have_loader $step $name "$label"; then
	if cmd $step $name $loader load tenant &&
			loaded=1 &&
			cmd $step $name $loader set $cg/A group 7 &&
			cmd $step $name $loader set $cg/B group 7 &&
			cmd $step $name $loader set $cg/C private &&
			expect_policy tenant; then
		measure $step $name "$label" A+B,C
		cmd $step $name $loader status
	else
		fail_config $step $name "$label" "zdedup-loader could not load and set up the tenant policy (dedup_policy: $(cat $dbg/dedup_policy))"
	fi
fi

# 4. adaptive policy: per-cgroup domains, hashing backs off where pages do not repeat
step=4/4 name=adaptive label="adaptive policy (per cgroup)"
if have_loader $step $name "$label"; then
	if [ -n "$loaded" ]; then
		# atomic replace; unload + load where the loader cannot
		cmd $step $name $loader load adaptive --replace ||
			{ cmd $step $name $loader unload && cmd $step $name $loader load adaptive; }
	else
		cmd $step $name $loader load adaptive
	fi
	if [ $? = 0 ] && loaded=1 && expect_policy adaptive; then
		measure $step $name "$label" A,B,C
		cmd $step $name $loader status
	else
		fail_config $step $name "$label" "zdedup-loader could not load the adaptive policy (dedup_policy: $(cat $dbg/dedup_policy))"
	fi
fi

# Leave the VM as it was.
[ -n "$loaded" ] && $loader unload
echo "$dedup_orig" > $param
rmdir $cg/A $cg/B $cg/C $cg 2>/dev/null
say "done: $(cat $dbg/stored_pages) pages left in zswap, dedup_policy $(cat $dbg/dedup_policy)"
exit $rc
