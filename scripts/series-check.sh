#!/bin/sh
# make series-check: prove the series in kernel-patches/6.12/ (or with
# KERNEL=7.3 kernel-patches/7.3/, every build/ path below under build/7.3/)
# bisectable.
#
# On a git worktree of build/linux at the pristine tag (build/linux-series),
# apply the patches one at a time and, after each: checkpatch --strict on
# the patch (nothing reported), and an incremental build (ccache) of the
# kernel in build/kbuild-series with make check's configuration (that of
# build/kbuild; options a step does not know yet are dropped by
# olddefconfig, options it adds take their value from that configuration).
# Every step's kernel boots in the VM with the series-smoke scenario:
# upstream's test_zswap with the series' dedup cases (built from the last
# step, so they skip until a step has deduplication) and the BPF selftest
# of the policy hook (skips until a step has it).  Then the last step must
# be build/linux's tree, whose kernel is also built and booted with
# deduplication compiled out (KVARIANT=nodedup).  Ends with "N passed,
# N failed".
set -eu

top=$(cd "$(dirname "$0")/.." && pwd)
. "$top/scripts/base.sh"
tree="$B/linux-series"
out="$B/kbuild-series"
base=zdedup-base
export CCACHE_DIR=${CCACHE_DIR:-$HOME/.cache/zdedup-ccache}
# As scripts/build-kernel.sh: objects of another build directory of the
# same sources (make check's kernel) hit the cache.
export CCACHE_BASEDIR=${CCACHE_BASEDIR:-$top/build}
export CCACHE_NOHASHDIR=${CCACHE_NOHASHDIR:-1}
jobs=${JOBS:-$(nproc)}
passed=0 failed=0
start=$(date +%s)

pass() { passed=$((passed + 1)); echo "ok: $*"; }
fail() { failed=$((failed + 1)); echo "FAILED: $*"; }
g() { git -C "$tree" -c user.name=zdedup -c user.email=zdedup@localhost "$@"; }
kmake() { make -s -C "$tree" O="$out" CC="ccache gcc" HOSTCC="ccache gcc" "$@"; }

# Boot kernel build directory $1 with the series-smoke scenario; $2 names it.
smoke() {
	log="$B/vm/series-smoke-$(echo "$2" | cut -c1-4).out"
	t1=$(date +%s)
	if VM_KERNEL="$1/arch/x86/boot/bzImage" \
		"$top/scripts/vm-run.sh" series-smoke >"$log" 2>&1; then
		pass "$2: boots, series-smoke $(tail -1 "$log") ($(( $(date +%s) - t1 )) s)"
	else
		tail -5 "$log" | sed 's/^/    /'
		fail "$2: series-smoke (see $log)"
	fi
}

template="$B/kbuild/.config"
[ -f "$template" ] || { echo "error: no $B_REL/kbuild/.config: run 'make kernel' first" >&2; exit 1; }
if [ ! -e "$tree/.git" ]; then
	git -C "$B/linux" worktree prune
	git -C "$B/linux" worktree add -q --detach "$tree" "$base"
fi
g am --abort >/dev/null 2>&1 || true
g reset -q --hard "$base"
mkdir -p "$out"

patches=$(ls "$series"/[0-9]*.patch)
n=$(echo "$patches" | wc -l)
i=0
for p in $patches; do
	i=$((i + 1))
	name=$(basename "$p")
	echo "==> [$i/$n] $name"
	if ! g am -q --keep-cr "$p"; then
		fail "$name does not apply"
		g am --abort || true
		break
	fi
	# Debian's python3 (with python3-ply) for checkpatch's SPDX check
	report=$(cd "$tree" && PATH=/usr/bin:$PATH scripts/checkpatch.pl --strict -q "$p" 2>&1) || true
	if [ -z "$report" ]; then
		pass "$name: checkpatch --strict clean"
	else
		echo "$report" | sed 's/^/    /'
		fail "$name: checkpatch --strict"
	fi
	t0=$(date +%s)
	cp "$template" "$out/.config"
	if kmake olddefconfig >/dev/null && kmake -j"$jobs" bzImage >"$out/build.log" 2>&1; then
		pass "$name: builds ($(( $(date +%s) - t0 )) s)"
		smoke "$out" "$name"
	else
		tail -20 "$out/build.log" | sed 's/^/    /'
		fail "$name: does not build"
	fi
	grep -E ': (warning|error):' "$out/build.log" | grep -v 'frame size' | sed 's/^/    /' || true
done

# The last step is the tree every other target builds and tests.
if [ "$(g rev-parse 'HEAD^{tree}')" = "$(git -C "$B/linux" rev-parse 'HEAD^{tree}')" ]; then
	pass "the series ends at $B_REL/linux's tree"
else
	fail "the series does not end at $B_REL/linux's tree (run 'make patches'?)"
fi

if KVARIANT=nodedup "$top/scripts/build-kernel.sh"; then
	pass "builds with CONFIG_ZSWAP_DEDUP off"
else
	fail "does not build with CONFIG_ZSWAP_DEDUP off"
fi

smoke "$B/kbuild-nodedup" "nodedup"

echo "series-check: $n patches in $(( $(date +%s) - start )) s"
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
