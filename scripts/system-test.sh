#!/bin/sh
# make system-test: zdedup on a real Debian 12 system.  Builds (once, then
# cached in build/system/) a Debian 12 root file system with mmdebstrap
# from the Debian sources apt uses on this machine, installs both packages
# of make deb into it (dpkg -i), adds the test (tests/system/: its
# configuration, the tenants' slices, the workload program and the checks,
# run at boot by zdedup-systest.service), makes an ext4 image and boots it
# twice in QEMU from a virtio disk with the kernel from the package: the
# guest prints TAP on the serial console and powers off.  Ends with
# "N passed, N failed"; exit status 0 only when nothing failed.
#
# Environment: ZDEDUP_KVM=1 uses KVM instead of TCG; SYSTEST_TIMEOUT
# bounds each boot (seconds, default 1200); SYSTEST_MEM (default 2G);
# SYSTEST_KERNEL=bzImage boots the bzImage of the build make deb packaged
# (build/kbuild-system, or build/kbuild with DEB_KVARIANT=default) instead
# of the package's /boot/vmlinuz; SYSTEST_REBUILD=1 rebuilds the cached root
# file system.  Logs: build/system/run/boot1.log, boot2.log.  Runs as root.
set -u
umask 022

top=$(cd "$(dirname "$0")/.." && pwd)
. "$top/scripts/base.sh"
sys="$top/build/system"
run="$sys/run"
version=$(cat "$top/VERSION")
arch=$(dpkg --print-architecture)
timeout_s=${SYSTEST_TIMEOUT:-1200}
mkdir -p "$sys"
rm -rf "$run"
mkdir -p "$run"
hosttap="$run/host.tap"
echo "TAP version 13" > "$hosttap"
ntap=0
summary=""
now() { date +%s; }
# result OK|FAIL DESCRIPTION: a host-side check, in host.tap.
result() {
	ntap=$((ntap + 1))
	if [ "$1" = OK ]; then
		echo "ok $ntap - $2" | tee -a "$hosttap"
	else
		echo "not ok $ntap - $2" | tee -a "$hosttap"
	fi
}
took() {
	s=$(($(now) - $2))
	echo "==> $1: $s s"
	summary="$summary$(printf '  %-44s %5d s' "$1" "$s")
"
}
finish() {
	echo
	echo "==> durations"
	printf '%s' "$summary"
	if [ "$ntap" -gt 0 ]; then
		echo "1..$ntap" >> "$hosttap"
	fi
	# shellcheck disable=SC2046
	exec python3 "$top/scripts/vm-report.py" --tap "$hosttap" \
		$(for l in "$run"/boot*.log; do [ -f "$l" ] && echo "$l"; done)
}
fail() {
	result FAIL "$1"
	finish
}
t_all=$(now)
# mmdebstrap's root mode, the chroot of dpkg -i and mkfs.ext4 -d with the
# files' owners need root.
[ "$(id -u)" = 0 ] || fail "make system-test runs as root (mmdebstrap, chroot, mkfs.ext4 -d)"

# --- the Debian 12 root file system, cached ---
# The Debian entries (bookworm suites) of apt's configuration, as one-line
# sources; mmdebstrap's own default (deb.debian.org) if there are none.
python3 "$top/scripts/apt-sources.py" "$sys/apt.list"
pkgs="systemd,systemd-sysv,udev,kmod,dbus,bash-completion,jq"
base="$sys/rootfs-base.tar"
key=$( (echo "bookworm minbase $pkgs"; cat "$sys/apt.list") | sha256sum | cut -c1-16)
t=$(now)
if [ "${SYSTEST_REBUILD:-0}" = 1 ] || [ ! -f "$base" ] || [ "$(cat "$base.key" 2>/dev/null)" != "$key" ]; then
	echo "==> Debian 12 root file system (mmdebstrap bookworm, minbase + $pkgs)"
	sed 's/^/    /' "$sys/apt.list"
	rm -f "$base" "$base.key"
	if [ -s "$sys/apt.list" ]; then
		mirror="$sys/apt.list"
	else
		mirror=""
	fi
	# shellcheck disable=SC2086
	if mmdebstrap --quiet --variant=minbase --include="$pkgs" --format=tar \
		bookworm "$base.tmp" $mirror; then
		mv "$base.tmp" "$base" && echo "$key" > "$base.key"
		result OK "root file system built by mmdebstrap (cached in build/system/)"
		took "root file system (mmdebstrap)" "$t"
	else
		rm -f "$base.tmp"
		fail "root file system (mmdebstrap bookworm)"
	fi
else
	result OK "root file system: cached build/system/rootfs-base.tar"
	took "root file system (cached)" "$t"
fi

# --- the packages and the workload program (make deb, make) ---
kdeb=""
for f in "$B"/deb/linux-image-*.deb; do
	case $f in *-dbg_*) ;; *) [ -f "$f" ] && kdeb=$f ;; esac
done
tdeb="$B/deb/zdedup-tools_${version}_$arch.deb"
prog="$sys/zdedup-systest"
[ -n "$kdeb" ] && [ -f "$kdeb" ] || fail "kernel package in $B_REL/deb (make deb)"
[ -f "$tdeb" ] || fail "$B_REL/deb/$(basename "$tdeb") (make deb)"
[ -x "$prog" ] || fail "build/system/zdedup-systest (make system-test builds it)"
result OK "packages: $(basename "$kdeb"), $(basename "$tdeb")"

# --- the image: packages, the test, ext4 ---
t=$(now)
root="$run/root"
mkdir -p "$root"
tar -xpf "$base" -C "$root" --numeric-owner || fail "unpack the root file system"
mkdir -p "$root/var/cache/zdedup-systest"
cp "$kdeb" "$tdeb" "$root/var/cache/zdedup-systest/"
# dpkg -i in the image: a private mount namespace for /dev and /proc,
# which vanish with it.  Maintainer scripts run as on a system that is
# not running systemd (the unit is enabled, not started).
if unshare --mount --propagation private sh -c '
	mount --rbind /dev "$1/dev" && mount -t proc proc "$1/proc" &&
	chroot "$1" dpkg -i /var/cache/zdedup-systest/'"$(basename "$kdeb")"' \
		/var/cache/zdedup-systest/'"$(basename "$tdeb")" sh "$root" > "$run/dpkg.log" 2>&1; then
	result OK "dpkg -i of both packages into the image"
else
	sed 's/^/    /' "$run/dpkg.log"
	fail "dpkg -i of both packages into the image (build/system/run/dpkg.log)"
fi
[ -L "$root/etc/systemd/system/multi-user.target.wants/zdedup.service" ] &&
	result OK "zdedup-tools' postinst enabled zdedup.service" ||
	result FAIL "zdedup-tools' postinst enabled zdedup.service"

etc="$root/etc"
cat > "$etc/fstab" <<'EOF'
/dev/vda	/	ext4	rw,errors=remount-ro	0	0
/dev/vdb	none	swap	sw	0	0
EOF
echo zdedup-systest > "$etc/hostname"
od -An -N16 -tx1 /dev/urandom | tr -d ' \n' > "$etc/machine-id"
echo >> "$etc/machine-id"
mkdir -p "$root/var/log/journal"	# persistent: boot 2 reads boot 1's
# the console is the test's: no login prompts, no first-boot questions
for u in serial-getty@ttyS0.service getty@tty1.service systemd-firstboot.service; do
	ln -sf /dev/null "$etc/systemd/system/$u"
done
install -m 644 "$top/tests/system/zdedup.conf" "$etc/zdedup/zdedup.conf"
for x in a b c d e; do
	printf '[Unit]\nDescription=Tenant %s (zdedup system test)\n\n[Slice]\nMemoryAccounting=yes\n\n[Install]\nWantedBy=slices.target\n' \
		"$(echo $x | tr a-z A-Z)" > "$etc/systemd/system/tenant-$x.slice"
	mkdir -p "$etc/systemd/system/slices.target.wants"
	ln -sf "/etc/systemd/system/tenant-$x.slice" "$etc/systemd/system/slices.target.wants/"
done
install -D -m 755 "$prog" "$root/usr/local/bin/zdedup-systest"
install -D -m 755 "$top/tests/system/run-checks.sh" "$root/usr/local/lib/zdedup-systest/run-checks.sh"
install -m 644 "$top/tests/system/zdedup-systest.service" "$etc/systemd/system/"
ln -sf /etc/systemd/system/zdedup-systest.service "$etc/systemd/system/multi-user.target.wants/"

if [ "${SYSTEST_KERNEL:-package}" = bzImage ]; then
	kdesc=$B_REL/kbuild-system/arch/x86/boot/bzImage
	[ "${DEB_KVARIANT:-system}" = default ] && kdesc=$B_REL/kbuild/arch/x86/boot/bzImage
	kernel="$top/$kdesc"
else
	kernel=$(ls "$root"/boot/vmlinuz-* 2>/dev/null | head -1)
	kdesc="${kernel#"$root"} from $(basename "$kdeb")"
fi
[ -n "$kernel" ] && [ -f "$kernel" ] || fail "kernel to boot ($kdesc)"
cp "$kernel" "$run/vmlinuz"

img="$run/root.img"
swap="$run/swap.img"
if mkfs.ext4 -q -F -L zdedup-root -d "$root" "$img" 2G && truncate -s 1G "$swap" &&
	mkswap -q "$swap"; then
	result OK "ext4 image of the system, swap disk"
else
	fail "ext4 image (mkfs.ext4 -d)"
fi
rm -rf "$root"
took "image (packages installed, ext4)" "$t"

# --- two boots: the checks, then the same after a reboot ---
accel="-accel tcg"
[ "${ZDEDUP_KVM:-0}" = 1 ] && accel="-accel kvm -cpu host"
boot() {
	phase=$1
	log="$run/boot$phase.log"
	t=$(now)
	echo "==> boot $phase: Debian 12 with systemd, kernel $kdesc ($(echo "$accel" | cut -d' ' -f2), timeout ${timeout_s}s, log build/system/run/boot$phase.log)"
	# shellcheck disable=SC2086
	timeout -k 10 "$timeout_s" qemu-system-x86_64 $accel -m "${SYSTEST_MEM:-2G}" -smp 2 \
		-nographic -no-reboot -nic none \
		-drive "file=$img,format=raw,if=virtio,cache=unsafe" \
		-drive "file=$swap,format=raw,if=virtio,cache=unsafe" \
		-kernel "$run/vmlinuz" \
		-append "root=/dev/vda rw rootfstype=ext4 console=ttyS0 panic=-1 oops=panic softlockup_panic=1 hung_task_panic=1 zdedup.systest=$phase" \
		</dev/null 2>&1 | tee "$log"
	took "boot $phase" "$t"
}
boot 1
boot 2
took "system test in all" "$t_all"
finish
