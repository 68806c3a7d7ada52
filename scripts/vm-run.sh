#!/bin/sh
# Boot the VM kernel with an initramfs of busybox + the project's guest
# programs and run one guest scenario (tests/vm/scenarios/NAME.sh).
#
#   vm-run.sh NAME          run scenario NAME; exit status follows the guest
#   vm-run.sh shell         interactive busybox shell in the VM
#
# Environment: ZDEDUP_KVM=1 uses KVM instead of TCG (nested KVM hangs on
# the build machines, so TCG is the default); VM_TIMEOUT (seconds, default
# 900) bounds the run; VM_MEM (default 2G); VM_CPUS (default 2);
# VM_APPEND adds kernel parameters; VM_KERNEL another bzImage; VM_REPORT=0 leaves the log unchecked
# (the caller checks it).
#
# Guest output streams to the terminal and to build/vm/NAME.log; the log is
# then checked by scripts/vm-report.py (suite results, kernel splats, a
# guest that never reported back).
set -eu

top=$(cd "$(dirname "$0")/.." && pwd)
. "$top/scripts/base.sh"
scenario=${1:?usage: vm-run.sh SCENARIO|shell}
kernel=${VM_KERNEL:-$B/kbuild/arch/x86/boot/bzImage}
root="$B/initramfs/$scenario"
cpio="$B/initramfs/$scenario.cpio"
log="$B/vm/$scenario.log"
timeout_s=${VM_TIMEOUT:-900}

[ -f "$kernel" ] || { echo "error: $kernel missing; run 'make kernel'" >&2; exit 1; }
[ "$scenario" = shell ] || [ -f "$top/tests/vm/scenarios/$scenario.sh" ] ||
	{ echo "error: no scenario tests/vm/scenarios/$scenario.sh" >&2; exit 2; }

# --- initramfs ---
rm -rf "$root"
mkdir -p "$root/bin" "$root/opt/zdedup/bin" "$root/opt/zdedup/bpf" \
	"$root/scenarios" "$root/proc" "$root/sys" "$root/dev" "$root/tmp" "$root/root"
cp /bin/busybox "$root/bin/busybox"
cp "$top/tests/vm/init" "$root/init"
chmod 755 "$root/init"
cp "$top"/tests/vm/scenarios/*.sh "$root/scenarios/"
for f in "$B"/guest/* "$B"/tools/bpftool/bpftool "$B"/loader/zdedup-loader; do
	[ -f "$f" ] && [ -x "$f" ] && cp "$f" "$root/opt/zdedup/bin/"
done
for f in "$B"/bpf/*.bpf.o; do
	[ -f "$f" ] && cp "$f" "$root/opt/zdedup/bpf/"
done
# The policies as the other kernel base built them, if it did (the check
# scenario registers them here: CO-RE).
if [ "$KERNEL" = 7.3 ]; then other_base=6.12; else other_base=7.3; fi
other="$top/$(base_build_rel "$other_base")"
for p in memcg tenant adaptive; do
	[ -f "$other/bpf/$p.bpf.o" ] || continue
	mkdir -p "$root/opt/zdedup/bpf-other"
	cp "$other/bpf/$p.bpf.o" "$root/opt/zdedup/bpf-other/"
	echo "$other_base" > "$root/opt/zdedup/bpf-other/BASE"
done
(cd "$root" && find . | cpio -o -H newc --quiet) > "$cpio"

# --- qemu ---
accel="-accel tcg"
[ "${ZDEDUP_KVM:-0}" = 1 ] && accel="-accel kvm -cpu host"
append="console=ttyS0 panic=-1 oops=panic softlockup_panic=1 hung_task_panic=1"
append="$append brd.rd_nr=1 brd.rd_size=1048576 zswap.enabled=1"
append="$append zdedup.scenario=$scenario ${VM_APPEND:-}"
# shellcheck disable=SC2086
set -- qemu-system-x86_64 $accel -m "${VM_MEM:-2G}" -smp "${VM_CPUS:-2}" \
	-nographic -no-reboot -kernel "$kernel" -initrd "$cpio" -append "$append"

if [ "$scenario" = shell ]; then
	exec "$@"
fi

mkdir -p "$(dirname "$log")"
echo "==> VM: scenario '$scenario' ($(echo "$accel" | cut -d' ' -f2), timeout ${timeout_s}s, log $B_REL/vm/$scenario.log)"
# stdin from /dev/null: the guest must not wait for input; the timeout
# makes a hung guest fail the run instead of hanging CI.
set +e
timeout -k 10 "$timeout_s" "$@" </dev/null 2>&1 | tee "$log"
set -e
[ "${VM_REPORT:-1}" = 1 ] || exit 0
exec python3 "$top/scripts/vm-report.py" "$log"
