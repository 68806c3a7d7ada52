# shellcheck shell=sh disable=SC2034,SC2154
# Sourced by the scripts (after setting $top): which kernel base the
# build is for, and where that base's build lives.
#
#   KERNEL=6.12 (default)  Debian's linux-source-6.12, the series in
#                          kernel-patches/6.12/, built under build/
#   KERNEL=7.3             Debian's linux-source-7.3 from trixie-backports
#                          (scripts/deps.sh fetches it into build/7.3/src/),
#                          the series in kernel-patches/7.3/, built under
#                          build/7.3/
#
# Sets: KERNEL, B (the base's build directory: the kernel tree, kernel
# builds, tools, guest programs, policies, VM logs), B_REL (B relative to
# $top, for messages), series and series_rel (the base's patch directory,
# absolute and relative to $top), tarball (the pristine source) and
# base_config (the base's kernel-config fragment, applied right after
# vm.config); and base_build_rel BASE, which prints any base's B_REL.
base_build_rel() {
	case "$1" in
	6.12) echo build ;;
	7.3) echo build/7.3 ;;
	*)
		echo "error: unknown KERNEL '$1' (6.12 or 7.3)" >&2
		return 2
		;;
	esac
}
KERNEL=${KERNEL:-6.12}
B_REL=$(base_build_rel "$KERNEL") || exit 2
B="$top/$B_REL"
case "$KERNEL" in
6.12) tarball=${LINUX_TARBALL:-/usr/src/linux-source-6.12.tar.xz} ;;
7.3) tarball=${LINUX_TARBALL:-$B/src/linux-source-7.3.tar.xz} ;;
esac
series_rel="kernel-patches/$KERNEL"
series="$top/$series_rel"
base_config="$top/kernel-config/base-$KERNEL.config"
export KERNEL
