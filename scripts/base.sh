# shellcheck shell=sh disable=SC2034
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
# $top, for messages), series (the base's patch directory), tarball (the
# pristine source) and base_config (the base's kernel-config fragment,
# applied right after vm.config).
KERNEL=${KERNEL:-6.12}
case "$KERNEL" in
6.12)
	B_REL=build
	tarball=${LINUX_TARBALL:-/usr/src/linux-source-6.12.tar.xz}
	;;
7.3)
	B_REL=build/7.3
	tarball=${LINUX_TARBALL:-$top/build/7.3/src/linux-source-7.3.tar.xz}
	;;
*)
	echo "error: unknown KERNEL '$KERNEL' (6.12 or 7.3)" >&2
	exit 2
	;;
esac
B="$top/$B_REL"
series="$top/kernel-patches/$KERNEL"
base_config="$top/kernel-config/base-$KERNEL.config"
export KERNEL
