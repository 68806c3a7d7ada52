#!/bin/sh
# Build libbpf and bpftool from the kernel tree (Debian's are too old for
# struct_ops links) and dump vmlinux.h from the built kernel's BTF.
set -eu

top=$(cd "$(dirname "$0")/.." && pwd)
tree="$top/build/linux"
out="$top/build/tools"
export CCACHE_DIR=${CCACHE_DIR:-$HOME/.cache/zdedup-ccache}
mkdir -p "$out/libbpf" "$out/bpftool"

echo "==> building libbpf and bpftool from build/linux/tools (about 1 minute the first time)"
make -s -C "$tree/tools/lib/bpf" OUTPUT="$out/libbpf/" BUILD_STATIC_ONLY=1 \
	CC="ccache gcc" -j"$(nproc)" \
	DESTDIR="$out/libbpf-install" prefix=/usr install >/dev/null
make -s -C "$tree/tools/bpf/bpftool" OUTPUT="$out/bpftool/" \
	CLANG=clang-16 LLVM_STRIP=llvm-strip-16 feature-llvm=0 feature-libbfd=0 \
	EXTRA_LDFLAGS=-static CC="ccache gcc" -j"$(nproc)" >/dev/null

vmlinux="$top/build/kbuild/vmlinux"
if [ ! -f "$out/vmlinux.h" ] || [ "$vmlinux" -nt "$out/vmlinux.h" ]; then
	echo "==> dumping build/tools/vmlinux.h from the kernel's BTF"
	"$out/bpftool/bpftool" btf dump file "$vmlinux" format c > "$out/vmlinux.h.tmp"
	mv "$out/vmlinux.h.tmp" "$out/vmlinux.h"
fi
