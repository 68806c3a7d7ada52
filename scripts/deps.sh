#!/bin/sh
# Install the Debian packages zdedup needs to build the kernel, the BPF
# toolchain and the VM; with KERNEL=7.3, also fetch Linux 7.3's source
# (fetch_linux_7_3 below).  Idempotent: when everything is present it only
# runs dpkg-query once.
set -eu

top=$(cd "$(dirname "$0")/.." && pwd)
. "$top/scripts/base.sh"

# Linux 7.3 is Debian's linux-source-7.3 from trixie-backports, which
# bookworm's apt sources do not list.  Fetch it without touching the
# system's sources: apt-get with a one-line sources list and its own lists
# and archive directories under build/7.3/src/apt (apt checks the
# archive's signatures with bookworm's debian-archive-keyring, which has
# trixie's keys, and the package's hash), then keep only the tarball.
fetch_linux_7_3() {
	[ -f "$tarball" ] && return 0
	src=$(dirname "$tarball")
	apt="$src/apt"
	echo "==> fetching linux-source-7.3 from trixie-backports into ${src#"$top"/}/ (167 MB)"
	rm -rf "$apt"
	mkdir -p "$apt/lists/partial" "$apt/archives/partial"
	echo 'deb http://deb.debian.org/debian trixie-backports main' > "$apt/sources.list"
	set -- -o Dir::Etc::sourcelist="$apt/sources.list" -o Dir::Etc::sourceparts=- \
		-o Dir::State::Lists="$apt/lists" -o Dir::Cache::Archives="$apt/archives" \
		-o APT::Sandbox::User=root
	apt-get "$@" -qq update
	(cd "$apt" && apt-get "$@" -qq download linux-source-7.3)
	set -- "$apt"/linux-source-7.3_*.deb
	[ -f "$1" ] || { echo "error: apt-get download linux-source-7.3 left no package" >&2; exit 1; }
	echo "==> $(basename "$1")"
	dpkg-deb --fsys-tarfile "$1" | tar -xO ./usr/src/linux-source-7.3.tar.xz > "$tarball.tmp"
	mv "$tarball.tmp" "$tarball"
	rm -rf "$apt"
}

pkgs="qemu-system-x86 clang-16 llvm-16 libelf-dev libdw-dev zlib1g-dev
dwarves busybox-static bc flex bison libssl-dev cpio ccache xz-utils make gcc
python3 python3-ply python3-git gnuplot-nox libcap-dev pkg-config rsync kmod git
debhelper dpkg-dev lintian mmdebstrap e2fsprogs libxxhash-dev"

[ "$KERNEL" = 6.12 ] && pkgs="linux-source-6.12 $pkgs"
missing=""
for p in $pkgs; do
	status=$(dpkg-query -W -f='${db:Status-Status}' "$p" 2>/dev/null || true)
	[ "$status" = installed ] || missing="$missing $p"
done
if [ -z "$missing" ]; then
	[ "$KERNEL" = 7.3 ] && fetch_linux_7_3
	exit 0
fi

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
[ "$KERNEL" = 7.3 ] && fetch_linux_7_3
exit 0
