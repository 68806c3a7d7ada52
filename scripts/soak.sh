#!/bin/sh
# make soak: the randomized concurrent soak (tests/guest/zdedup_soak.c,
# scenario "soak") on the sanitizer kernel (KASAN, KFENCE, kmemleak,
# lockdep, fault injection: kernel-config/sanitize.config).  Writes
# build/soak/results.json (round_trips, corrupted, splats, faults_injected,
# kmemleak, counters_balanced, seconds, seed, ...) and exits non-zero on
# any problem: a corrupted page, a kernel splat (scripts/vm-report.py's
# patterns, kmemleak reports included), zswap counters or memcg charges
# not back to zero, a kmemleak report that mentions zswap, a failed guest
# check, or a guest that never reported back.
#
# Environment:
#   SOAK_PAGES    page round trips to run (default 750000: about 15
#                 minutes in all on the 2-core build machine, where the
#                 sanitizer kernel under TCG does ~900 round trips/s)
#   SOAK_SECONDS  time bound of the randomized phase (default 840: the
#                 run ends at whichever comes first)
#   SOAK_SEED     the seed (default: random; printed, and how to replay)
#   SOAK_WORKERS  worker processes (default 4), SOAK_WPAGES pages each
#                 (default 4096)
#   SOAK_FAULTS=0 no fault injection
#   SOAK_KERNEL   sanitize (default); debug: the VM kernel of make check
#                 (lockdep, DEBUG_VM, KFENCE, fault injection; no KASAN or
#                 kmemleak), about 4 times faster; kcsan: the data-race
#                 kernel (kernel-config/kcsan.config; reports are splats)
# and everything scripts/vm-run.sh takes (VM_MEM defaults to 3G here:
# KASAN's shadow and the swap ramdisk; VM_TIMEOUT to SOAK_SECONDS + 900).
set -u

top=$(cd "$(dirname "$0")/.." && pwd)
. "$top/scripts/base.sh"
out="$B/soak"
log="$B/vm/soak.log"
mkdir -p "$out"
rm -f "$out/results.json" "$log"

# SOAK_KERNEL=debug runs on the VM kernel of make check (lockdep, DEBUG_VM,
# DEBUG_LIST, KFENCE, fault injection; no KASAN or kmemleak), about 4 times faster under TCG;
# SOAK_KERNEL=kcsan on the data-race kernel (kernel-config/kcsan.config),
# where every KCSAN report counts as a splat.
case "${SOAK_KERNEL:-sanitize}" in
sanitize)
	KVARIANT=sanitize "$top/scripts/build-kernel.sh" || exit 1
	export VM_KERNEL="$B/kbuild-sanitize/arch/x86/boot/bzImage"
	;;
debug)
	"$top/scripts/build-kernel.sh" || exit 1
	export VM_KERNEL="$B/kbuild/arch/x86/boot/bzImage"
	;;
kcsan)
	KVARIANT=kcsan "$top/scripts/build-kernel.sh" || exit 1
	export VM_KERNEL="$B/kbuild-kcsan/arch/x86/boot/bzImage"
	;;
*) echo "error: SOAK_KERNEL is sanitize, debug or kcsan, not '$SOAK_KERNEL'" >&2; exit 2 ;;
esac

pages=${SOAK_PAGES:-750000}
seconds=${SOAK_SECONDS:-840}
seed=${SOAK_SEED:-$(od -An -N4 -tu4 /dev/urandom | tr -d ' ')}
replay="make soak SOAK_SEED=$seed"
[ -n "${SOAK_PAGES:-}" ] && replay="$replay SOAK_PAGES=$pages"
[ -n "${SOAK_SECONDS:-}" ] && replay="$replay SOAK_SECONDS=$seconds"
[ -n "${SOAK_WORKERS:-}" ] && replay="$replay SOAK_WORKERS=$SOAK_WORKERS"
[ -n "${SOAK_WPAGES:-}" ] && replay="$replay SOAK_WPAGES=$SOAK_WPAGES"
[ "${SOAK_FAULTS:-1}" = 0 ] && replay="$replay SOAK_FAULTS=0"
[ -n "${SOAK_KERNEL:-}" ] && replay="$replay SOAK_KERNEL=$SOAK_KERNEL"

# slab_nomerge: failslab's cache filter needs zswap's caches unmerged.
append="slab_nomerge zdedup.soak_pages=$pages zdedup.soak_seconds=$seconds"
append="$append zdedup.soak_seed=$seed"
[ -n "${SOAK_WORKERS:-}" ] && append="$append zdedup.soak_workers=$SOAK_WORKERS"
[ -n "${SOAK_WPAGES:-}" ] && append="$append zdedup.soak_wpages=$SOAK_WPAGES"
[ "${SOAK_FAULTS:-1}" = 0 ] && append="$append zdedup.soak_faults=0"

echo "==> soak: seed $seed, $pages round trips or ${seconds} s, ${SOAK_KERNEL:-sanitize} kernel"
echo "    replay with: $replay"
VM_REPORT=0 VM_MEM=${VM_MEM:-3G} VM_TIMEOUT=${VM_TIMEOUT:-$((seconds + 900))} \
	VM_APPEND="${VM_APPEND:-} $append" "$top/scripts/vm-run.sh" soak
[ -s "$log" ] || { echo "soak: the VM did not run (no $log)" >&2; exit 1; }
python3 "$top/scripts/soak-report.py" "$log" "$out/results.json" --replay "$replay"
