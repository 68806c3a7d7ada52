#!/bin/sh
# make compare: zdedup against KSM and stock zswap on real software
# (issue 18).  Builds the kernel of the Debian package and the benchmarks
# (KVARIANT=system: no debug options; KSM, TCP/IP, transparent huge pages
# as Debian ships them), a Debian 12 root file system with the workloads'
# packages (mmdebstrap, cached in build/compare/), an ext4 image with
# zdedup-loader and the driver (tests/compare/), and boots it once in QEMU
# from a virtio disk with a swap disk.  In that one boot the driver runs
# every configuration (stock zswap, zdedup's built-in and tenant policies,
# KSM at its defaults and aggressive, KSM + zdedup), alternating, each
# repeated; scripts/compare-report.py turns its records into
# build/compare/results.json, report.md and memory.png.
#
# Environment: COMPARE_REPS (repetitions, default 3), COMPARE_CONFIGS
# (comma-separated subset, default all), COMPARE_ONLY (workloads subset:
# weights,redis,python,shmem,postgres), COMPARE_KSM_WAIT (seconds ksmd
# gets to converge before the pressure, default 90), COMPARE_MEM (guest
# RAM, default 2G), COMPARE_TIMEOUT (seconds, default 3600),
# COMPARE_REBUILD=1 rebuilds the cached root file system, ZDEDUP_KVM=1
# uses KVM instead of TCG, COMPARE_KERNEL=default boots make check's kernel
# (build/kbuild: KSM, no TCP/IP; make check's smoke run) instead of
# building the system kernel, COMPARE_ARGS passes more driver options
# (comma-separated: --weights-mib,8), COMPARE_OUT names the output
# directory (default build/compare).  Runs as root (mmdebstrap,
# mkfs.ext4 -d).
# Exits non-zero when the guest did not finish or any workload's data did
# not verify.
set -u
umask 022

top=$(cd "$(dirname "$0")/.." && pwd)
. "$top/scripts/base.sh"
out=${COMPARE_OUT:-$top/build/compare}
cache="$top/build/compare"
run="$out/run"
mkdir -p "$out" "$cache"
rm -rf "$run"
mkdir -p "$run"
die() { echo "compare: $*" >&2; exit 1; }
[ "$(id -u)" = 0 ] || die "make compare runs as root (mmdebstrap, mkfs.ext4 -d)"

if [ "${COMPARE_KERNEL:-system}" = default ]; then
	kdesc=$B_REL/kbuild
	"$top/scripts/build-kernel.sh" || die "kernel build failed"
else
	kdesc=$B_REL/kbuild-system
	echo "==> kernel: KVARIANT=system (kernel-config/vm, bench, system, services)"
	KVARIANT=system "$top/scripts/build-kernel.sh" || die "kernel build failed"
fi
kernel="$top/$kdesc/arch/x86/boot/bzImage"
loader="$B/loader/zdedup-loader"
[ -x "$loader" ] || die "no $loader (make tools)"

# --- the Debian 12 root file system with the workloads, cached ---
python3 "$top/scripts/apt-sources.py" "$cache/apt.list"
pkgs="python3,python3-numpy,redis-server,redis-tools,postgresql,iproute2,procps"
base="$cache/rootfs.tar"
key=$( (echo "bookworm minbase $pkgs"; cat "$cache/apt.list") | sha256sum | cut -c1-16)
if [ "${COMPARE_REBUILD:-0}" = 1 ] || [ ! -f "$base" ] || [ "$(cat "$base.key" 2>/dev/null)" != "$key" ]; then
	echo "==> Debian 12 root file system (mmdebstrap bookworm, minbase + $pkgs)"
	rm -f "$base" "$base.key"
	mirror=""
	[ -s "$cache/apt.list" ] && mirror="$cache/apt.list"
	# shellcheck disable=SC2086
	mmdebstrap --quiet --variant=minbase --include="$pkgs" --format=tar \
		bookworm "$base.tmp" $mirror || { rm -f "$base.tmp"; die "mmdebstrap failed"; }
	mv "$base.tmp" "$base" && echo "$key" > "$base.key"
else
	echo "==> Debian 12 root file system: cached $(echo "$base" | sed "s|$top/||")"
fi

# --- the image: the loader, the driver, ext4; a swap disk ---
root="$run/root"
mkdir -p "$root"
tar -xpf "$base" -C "$root" --numeric-owner || die "cannot unpack $base"
install -D -m 755 "$loader" "$root/opt/zdedup/bin/zdedup-loader"
install -D -m 755 "$top/tests/compare/init" "$root/usr/local/lib/zdedup-compare/init"
install -D -m 644 "$top/tests/compare/compare.py" "$root/usr/local/lib/zdedup-compare/compare.py"
install -D -m 644 "$top/tests/compare/pagescan.py" "$root/usr/local/lib/zdedup-compare/pagescan.py"
printf '/dev/vda\t/\text4\trw\t0\t0\n' > "$root/etc/fstab"
echo zdedup-compare > "$root/etc/hostname"
img="$run/root.img"
swap="$run/swap.img"
mkfs.ext4 -q -F -L zdedup-compare -d "$root" "$img" 3G || die "mkfs.ext4 -d failed"
truncate -s 2G "$swap" && mkswap -q "$swap" || die "cannot make the swap disk"
rm -rf "$root"

# --- one boot, every configuration ---
accel="-accel tcg"
[ "${ZDEDUP_KVM:-0}" = 1 ] && accel="-accel kvm -cpu host"
append="root=/dev/vda rw rootfstype=ext4 init=/usr/local/lib/zdedup-compare/init"
append="$append console=ttyS0 panic=-1 oops=panic softlockup_panic=1 hung_task_panic=1"
append="$append zswap.enabled=1 zdedup.compare_reps=${COMPARE_REPS:-3}"
[ -n "${COMPARE_CONFIGS:-}" ] && append="$append zdedup.compare_configs=$COMPARE_CONFIGS"
[ -n "${COMPARE_ONLY:-}" ] && append="$append zdedup.compare_only=$COMPARE_ONLY"
append="$append zdedup.compare_ksm_wait=${COMPARE_KSM_WAIT:-90}"
[ -n "${COMPARE_ARGS:-}" ] && append="$append zdedup.compare_args=$COMPARE_ARGS"
log="$out/console.log"
start=$(date +%s)
echo "==> boot: Debian 12, kernel $kdesc, $(echo "$accel" | cut -d' ' -f2), ${COMPARE_MEM:-2G}, log $(echo "$log" | sed "s|$top/||")"
# shellcheck disable=SC2086
timeout -k 10 "${COMPARE_TIMEOUT:-3600}" qemu-system-x86_64 $accel -m "${COMPARE_MEM:-2G}" -smp 2 \
	-nographic -no-reboot -nic none \
	-drive "file=$img,format=raw,if=virtio,cache=unsafe" \
	-drive "file=$swap,format=raw,if=virtio,cache=unsafe" \
	-kernel "$kernel" -append "$append" </dev/null 2>&1 | tee "$log" |
	grep --line-buffered -a -E '^compare:|^COMPARE-END'
echo "==> guest ran for $(($(date +%s) - start)) s"
records="$out/records.log"
rm -f "$records"
debugfs -R "dump /var/log/zdedup-compare/records.log $records" "$img" 2>/dev/null
[ -s "$records" ] || echo "compare: the guest wrote no records (see $log)" >&2
rm -f "$img" "$swap"

python3 "$top/scripts/compare-report.py" --console "$log" ${COMPARE_REPORT_ARGS:-} "$records" "$out"
