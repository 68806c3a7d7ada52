#!/bin/sh
# Build libbpf and bpftool from the kernel tree (Debian's are too old for
# struct_ops links) and dump vmlinux.h from the built kernel's BTF; under
# build/7.3/ from the 7.3 tree with KERNEL=7.3 (scripts/base.sh).
set -eu

top=$(cd "$(dirname "$0")/.." && pwd)
. "$top/scripts/base.sh"
tree="$B/linux"
out="$B/tools"
export CCACHE_DIR=${CCACHE_DIR:-$HOME/.cache/zdedup-ccache}
mkdir -p "$out/libbpf" "$out/bpftool"

echo "==> building libbpf and bpftool from $B_REL/linux/tools (about 1 minute the first time)"
make -s -C "$tree/tools/lib/bpf" OUTPUT="$out/libbpf/" BUILD_STATIC_ONLY=1 \
	CC="ccache gcc" -j"$(nproc)" \
	DESTDIR="$out/libbpf-install" prefix=/usr install >/dev/null
make -s -C "$tree/tools/bpf/bpftool" OUTPUT="$out/bpftool/" \
	CLANG=clang-16 LLVM_STRIP=llvm-strip-16 feature-llvm=0 feature-libbfd=0 \
	EXTRA_LDFLAGS=-static CC="ccache gcc" -j"$(nproc)" >/dev/null

vmlinux="$B/kbuild/vmlinux"
if [ ! -f "$out/vmlinux.h" ] || [ "$vmlinux" -nt "$out/vmlinux.h" ]; then
	echo "==> dumping $B_REL/tools/vmlinux.h from the kernel's BTF"
	"$out/bpftool/bpftool" btf dump file "$vmlinux" format c > "$out/vmlinux.h.tmp"
	mv "$out/vmlinux.h.tmp" "$out/vmlinux.h"
fi
