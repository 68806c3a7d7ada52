#!/bin/sh
# Configure and build the VM kernel out of tree (build/kbuild) from
# build/linux, with ccache.  Reconfigures only when a fragment changed.
# With KERNEL=7.3 every directory below is under build/7.3/ instead of
# build/ (scripts/base.sh), and the base's fragment
# (kernel-config/base-7.3.config, or base-6.12.config) follows vm.config.
#
# The default variant (make check's kernel: vm.config + system.config, the
# debug options on) also boots a Debian 12 system, so that CI's system test
# packages it (DEB_KVARIANT=default make deb) instead of building a third
# kernel.  KVARIANT=system builds the kernel of the Debian package and of the
# benchmarks and of make compare instead (build/kbuild-system: vm.config +
# bench.config + system.config + services.config: without the debug
# options, with what systemd and an ext4 root on a virtio disk need, and
# KSM, TCP/IP and transparent huge pages as a distribution kernel has them); KVARIANT=bench is the same kernel;
# KVARIANT=sanitize the sanitizer kernel (build/kbuild-sanitize: vm.config
# + sanitize.config, KASAN, kmemleak, fault injection); KVARIANT=stock
# make bench's baseline: stock Linux from the pristine tree (build/linux-stock,
# a git worktree of build/linux at tag zdedup-base) with the system
# variant's configuration (build/kbuild-stock: + stock.config);
# KVARIANT=nodedup the default variant with deduplication compiled out
# (build/kbuild-nodedup: + nodedup.config), for make series-check;
# KVARIANT=kcsan the data-race kernel (build/kbuild-kcsan: vm.config +
# kcsan.config), for make soak SOAK_KERNEL=kcsan.  KTARGETS
# (default bzImage) names the make targets.
set -eu

top=$(cd "$(dirname "$0")/.." && pwd)
. "$top/scripts/base.sh"
tree="$B/linux"
out="$B/kbuild"
# Each variant: its build directory and its fragments after vm.config.
case "${KVARIANT:-}" in
""|default) variant="" extra="system" ;;
system|bench) variant=system extra="bench system services" ;;
sanitize) variant=sanitize extra="sanitize" ;;
stock) variant=stock extra="bench system services stock" ;;
nodedup) variant=nodedup extra="system nodedup" ;;
kcsan) variant=kcsan extra="kcsan" ;;
*) echo "error: unknown KVARIANT '$KVARIANT' (default, system, bench, sanitize, stock, nodedup, kcsan)" >&2; exit 2 ;;
esac
if [ "$variant" = stock ]; then
	tree="$B/linux-stock"
	if [ ! -d "$tree/.git" ] && [ ! -f "$tree/.git" ]; then
		echo "==> checking out the pristine tree (tag zdedup-base) in $B_REL/linux-stock"
		git -C "$B/linux" worktree prune
		git -C "$B/linux" worktree add -q --detach "$tree" zdedup-base
	fi
fi
frags="$top/kernel-config/vm.config $base_config"
for f in $extra; do frags="$frags $top/kernel-config/$f.config"; done
[ -n "$variant" ] && out="$B/kbuild-$variant"
jobs=${JOBS:-$(nproc)}
export CCACHE_DIR=${CCACHE_DIR:-$HOME/.cache/zdedup-ccache}
# Objects from another build directory of the same sources hit the cache
# (series-check's and the variants' trees): paths under build/ hashed
# relative to the working directory, and -g's compilation directory left
# out of the hash (it only names the directory in DW_AT_comp_dir).
export CCACHE_BASEDIR=${CCACHE_BASEDIR:-$top/build}
export CCACHE_NOHASHDIR=${CCACHE_NOHASHDIR:-1}
kmake() { make -s -C "$tree" O="$out" CC="ccache gcc" HOSTCC="ccache gcc" "$@"; }

mkdir -p "$out"
# One build per output directory: make's targets (guest, tools, ...)
# depend on the kernel, so parallel makes would otherwise build it twice
# in the same directory and break each other's objects.
exec 9>"$out/.zdedup-build.lock"
flock 9
# The stamp marks a configuration that was made and checked in full: a
# .config alone may be what an interrupted run left (allnoconfig's, for
# i386), newer than every fragment.
stamp="$out/.zdedup-config-ok"
stale=0
[ -f "$out/.config" ] && [ -f "$stamp" ] || stale=1
for f in $frags; do [ "$f" -nt "$stamp" ] && stale=1; done
if [ "$stale" = 1 ]; then
	rm -f "$stamp"
	echo "==> configuring the VM kernel (allnoconfig + $(echo "$frags" | sed "s|$top/||g"))"
	kmake allnoconfig >/dev/null
	# shellcheck disable=SC2086
	"$tree/scripts/kconfig/merge_config.sh" -m -O "$out" "$out/.config" $frags >/dev/null
	kmake olddefconfig >/dev/null
	# merge_config drops options whose dependencies are unmet, silently
	# enough to miss: check every requested value (the last fragment to
	# name an option wins) made it.
	# shellcheck disable=SC2086
	bad=$(cat $frags | awk -v cfg="$out/.config" '
		/^CONFIG_[A-Za-z0-9_]+=/ { split($0, kv, "="); want[kv[1]] = $0; next }
		/^# CONFIG_[A-Za-z0-9_]+ is not set/ { want[$2] = "unset"; next }
		END {
			while ((getline l < cfg) > 0) {
				if (l ~ /^CONFIG_/) { split(l, kv, "="); have[kv[1]] = l }
			}
			for (k in want) {
				if (want[k] == "unset") {
					if (k in have && have[k] !~ /=n$/) print k " requested unset but is " have[k]
				} else if (have[k] != want[k]) {
					print want[k] " requested but not set"
				}
			}
		}')
	if [ -n "$bad" ]; then
		echo "$bad" | sed 's/^/error: /' >&2
		rm -f "$out/.config"
		exit 1
	fi
	: >"$stamp"
fi

if [ ! -f "$out/vmlinux" ]; then
	echo "==> building the kernel (first build about 10 minutes on 2 cores)"
else
	echo "==> building the kernel (incremental)"
fi
# shellcheck disable=SC2086
kmake -j"$jobs" ${KTARGETS:-bzImage}
echo "==> kernel: ${out#"$top"/}/arch/x86/boot/bzImage ($(kmake kernelrelease))"
