#!/bin/sh
# Configure and build the VM kernel out of tree (build/kbuild) from
# build/linux, with ccache.  Reconfigures only when the fragment changed.
set -eu

top=$(cd "$(dirname "$0")/.." && pwd)
tree="$top/build/linux"
out="$top/build/kbuild"
frag="$top/kernel-config/vm.config"
jobs=${JOBS:-$(nproc)}
export CCACHE_DIR=${CCACHE_DIR:-$HOME/.cache/zdedup-ccache}
kmake() { make -s -C "$tree" O="$out" CC="ccache gcc" HOSTCC="ccache gcc" "$@"; }

mkdir -p "$out"
if [ ! -f "$out/.config" ] || [ "$frag" -nt "$out/.config" ]; then
	echo "==> configuring the VM kernel (allnoconfig + kernel-config/vm.config)"
	kmake allnoconfig >/dev/null
	"$tree/scripts/kconfig/merge_config.sh" -m -O "$out" "$out/.config" "$frag" >/dev/null
	kmake olddefconfig >/dev/null
	# merge_config drops options whose dependencies are unmet, silently
	# enough to miss: check every requested value made it.
	bad=0
	while IFS= read -r line; do
		case "$line" in CONFIG_*=*) ;; *) continue ;; esac
		grep -qx "$line" "$out/.config" || { echo "error: $line requested but not set" >&2; bad=1; }
	done < "$frag"
	if [ "$bad" -ne 0 ]; then
		rm -f "$out/.config"
		exit 1
	fi
fi

if [ ! -f "$out/vmlinux" ]; then
	echo "==> building the kernel (first build about 10 minutes on 2 cores)"
else
	echo "==> building the kernel (incremental)"
fi
kmake -j"$jobs" bzImage
echo "==> kernel: build/kbuild/arch/x86/boot/bzImage ($(kmake kernelrelease))"
