#!/bin/sh
# Install the Debian packages zdedup needs to build the kernel, the BPF
# toolchain and the VM.  Idempotent: when everything is present it only runs
# dpkg-query once.
set -eu

pkgs="linux-source-6.12 qemu-system-x86 clang-16 llvm-16 libelf-dev zlib1g-dev
dwarves busybox-static bc flex bison libssl-dev cpio ccache xz-utils make gcc
python3 python3-ply python3-git gnuplot-nox libcap-dev pkg-config rsync kmod git
debhelper dpkg-dev lintian mmdebstrap e2fsprogs libxxhash-dev"

missing=""
for p in $pkgs; do
	status=$(dpkg-query -W -f='${db:Status-Status}' "$p" 2>/dev/null || true)
	[ "$status" = installed ] || missing="$missing $p"
done
[ -z "$missing" ] && exit 0

echo "==> installing Debian packages:$missing"
if [ "$(id -u)" -eq 0 ]; then
	sudo=""
elif command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; then
	sudo="sudo -n"
else
	echo "error: missing packages:$missing" >&2
	echo "error: not root and no password-less sudo; install them with:" >&2
	echo "    sudo apt-get install$missing" >&2
	exit 1
fi
export DEBIAN_FRONTEND=noninteractive
$sudo apt-get update -qq
# shellcheck disable=SC2086
$sudo apt-get install -y -qq --no-install-recommends $missing
