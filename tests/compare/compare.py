#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0
"""
compare.py: the guest side of `make compare` (issue 18): zdedup against KSM
and stock zswap on real software from Debian packages.

Runs inside the Debian 12 guest as root, started by the guest's PID 1
(tests/compare/init); scripts/compare.sh boots the guest and
scripts/compare-report.py reads the records this program prints.

    compare.py [--reps N] [--configs LIST] [--ksm-wait SECONDS]
               [--only WORKLOADS] [size options, see --help]

WHAT IT DOES

Five services, each with replicas, every replica in its own memory cgroup
/sys/fs/cgroup/compare/SERVICE/rI, as a container host places them:

  weights   model-serving workers: python3 processes that np.load() the
            same float32 weights file (random, fixed seed) into anonymous
            memory, plus private state of their own (random, per replica)
  redis     key-value replicas: redis-server on 127.0.0.1, the same
            dataset (strings, hashes, counters; deterministic) loaded over
            TCP with redis-cli --pipe
  python    a managed-runtime heap, where exact dedup should find little:
            python3 processes building the same object graph (json.load
            of the same records file: dicts, lists, strings, ints, floats;
            then indexes by name and tag); hash randomization is left on,
            as it is in production
  shmem     containers' tmpfs: each replica mounts its own tmpfs and a
            process in its cgroup fills it with the same files (the python
            standard library's .py files, a random blob, a log), so the
            shmem is charged to it
  postgres  database replicas after the same load (the dev clones or read
            replicas a container host runs, whose shared_buffers are
            shmem): PostgreSQL clusters copied from one template
            (initdb, pgbench -i, a fixed-seed pgbench run, VACUUM),
            started with their own shared_buffers and prewarmed with
            pg_prewarm

under each configuration, alternating, each repetition in an order rotated
by one from the last:

  stock           dedup_enabled=N, KSM off
  builtin         dedup_enabled=Y, no policy: merges within one memory cgroup
  tenant          dedup_enabled=Y, the tenant policy: every replica cgroup of
                  a service in one group (one group number per service)
  ksm             dedup_enabled=N, KSM at its defaults (pages_to_scan 100,
                  sleep_millisecs 20) on every workload process
                  (prctl(PR_SET_MEMORY_MERGE) before exec), given time to
                  converge before the pressure
  ksm-aggressive  the same with pages_to_scan 5000, sleep_millisecs 10
  ksm+tenant      KSM aggressive and the tenant policy (dedup_enabled=Y)

One configuration, all services at once:

  setup      zswap's dedup switch, KSM's settings, the policy; the cgroups
  load       every service starts its replicas and loads its data,
             services concurrently
  ksm wait   (KSM configurations) until full_scans advanced by 2 since the
             load and pages_sharing changed < 1% over the last full scan,
             or --ksm-wait seconds
  before     per service: memory.current, memory.stat, KSM per process;
             in `tenant` (--estimate-in), `zdedup-loader estimate --json`
             per service: every replica cgroup, all in one --group;
             once a boot, in the first configuration without KSM of the
             first repetition, tests/compare/pagescan.py per service (if
             it is installed next to this file; --no-pagescan skips it):
             zero pages, exact and near-duplicates
  pressure   per service: the accessed bits of its processes' pages
             cleared (/proc/PID/clear_refs), then per replica
             memory.reclaim, 1/8 of what the replica holds a write, until
             three writes in a row free less than 256 KiB (--reclaim 1G:
             that size a write), pushes its memory to zswap
  after      per service: memory.current, memory.stat, memory.swap.current
  read-back  per service, replicas at once: every replica reads all of its
             data back and verifies it
  bench      redis, in the configurations of --redis-bench-in (default
             stock, builtin, tenant: dedup off against on;
             --redis-bench-requests 0 skips it): request latency
             under memory pressure.  Every replica's memory.high set
             --redis-bench-high (0.5) of the way from its memory.current
             after the pressure (everything pushed out: the zswap objects
             and what reclaim cannot take) up to before it (loaded), both
             as measured in the first configuration without KSM of the
             boot, so that the limit is the same in every configuration
             (KSM lowers memory.current; dedup lowers the zswap charge,
             which leaves more of the limit for RAM: that is its effect);
             refused if that leaves less than 1 MiB above what the
             replica holds after this configuration's pressure (it would
             only thrash, every request throttled); then, one replica after
             the other while all sit at their limit, redis-benchmark
             (--redis-bench-requests requests from --redis-bench-clients
             connections) reads random keys of the loaded dataset through
             a script (REDIS_BENCH_SCRIPT), so that requests fault in pages
             from zswap and push others out; then memory.high back to max
             (and with --redis-bench-verify every replica's DEBUG DIGEST
             checked again: it costs as much as the read-back).  After
             the read-back, so that nothing measured before changes
  teardown   stop everything; KSM unmerge (run=2) and off; unload the
             policy; remove the cgroups and tmpfs mounts; drop caches;
             wait until swap and zswap are back to where they started
             (within 4 MiB), else swapoff/swapon

Data built once per boot (before the first configuration) lives under
--workdir (default /var/tmp/zdedup-compare, on the root file system): the
weights file, the redis dataset, the python records, the shmem source
tree and its manifest, the PostgreSQL template cluster.  The tenant
configurations mount bpffs on /sys/fs/bpf if nothing is mounted there
(zdedup-loader pins its policies in it).

RECORDS

Progress goes to stderr as "compare: ..." lines.  Results go to stdout,
one record a line, "COMPARE " followed by a JSON object; sizes are bytes,
times seconds, counts pages unless named otherwise; a value the kernel
does not provide is null.  Every record has "type":

  meta    once, before the first configuration:
    kernel, kernel_version, machine, cpus, mem_total_bytes,
    swap_total_bytes, page_size, zswap_params {name: value},
    zswap_debugfs_files [names], thp {enabled, defrag, shmem_enabled},
    ksm_available, ksm_files {name: value} (at start),
    ksm_settings {config: {pages_to_scan, sleep_millisecs}},
    configs [names], order [[names] per repetition], reps, ksm_wait_s,
    workloads [names], sizes {option: value}, reclaim_request,
    tenant_groups {service: group}, versions {python, numpy, redis,
    postgres, loader}, prepared {service: what was built for it},
    pagescan {rep, config, module} (where the page-content scan runs) or
    null, no_cgroups
  run     per repetition x configuration x service:
    rep, config, position (0-based place in this repetition's order),
    service, replicas, ok (every phase ran), failed_phase (null or
    setup|start|load|pressure|readback), correct (null if not verified,
    else every check passed), problems [strings],
    start_s, load_s, load {service-specific},
    before {memory}, before_ksm {ksm}, estimate (the JSON document of
    `zdedup-loader estimate`, in the configurations of --estimate-in,
    default tenant only, else null),
    estimate_error, pressure {wall_s, sys_cpu_s, user_cpu_s, writes,
    eagain, clear_refs_processes}, after {memory}, after_ksm {ksm},
    readback {wall_s,
    replicas [{replica, verified, seconds, ...service-specific}]},
    bench (null where the service has none or it was skipped) {tool,
    command, requests, clients, keyspace, high_fraction, high_basis {rep,
    config}, limit_s (the memory.high writes, which reclaim down to the
    limit), wall_s (limits and benchmark), verified, verify_s (with
    --redis-bench-verify, every replica's DEBUG DIGEST after it,
    memory.high back at max; else null), error (null or why it failed), p50_ms, p95_ms, p99_ms, rps (medians over the
    replicas), replicas [{replica, memory_high (bytes, null without
    cgroups), memory_current (after the limit took), rps, avg_ms, min_ms,
    p50_ms, p95_ms, p99_ms, max_ms (redis-benchmark --csv), seconds,
    calls, failed_calls (the script's, INFO commandstats), misses
    (keyspace_misses during the run: 0, every key read exists),
    zswpin, zswpout, zswpout_dedup, high_events (the replica cgroup's
    memory.stat and memory.events "high" during its run)}]},
    per_replica [{replica, cgroup, before {memory}, after {memory},
    pressure {wall_s, writes, eagain, request, freed [bytes per write]}}]
    where {memory} = {memory_current, anon, file, shmem, zswap, zswapped,
    swap_current, zswap_current, zswpout, zswpin, zswpout_dedup,
    ram_held, on_disk}, summed over the replicas' cgroups, from
    memory.current, memory.stat, memory.swap.current and
    memory.zswap.current (file includes shmem, as memory.stat counts it;
    zswpout, zswpin, zswpout_dedup: the cgroups' event counts since they
    were made for this configuration); ram_held = memory_current - zswap (memory
    in RAM apart from the zswap pool charge; memory_current includes the
    compressed objects charged to the cgroup); on_disk = swap_current -
    zswapped (swap slots whose page is not in zswap, approximately: a
    page in the swap cache holds a slot and RAM both)
    and {ksm} = {processes, ksm_merging_pages, ksm_rmap_items,
    ksm_zero_pages, ksm_process_profit, merge_any} summed over the
    processes of the replicas' cgroups (/proc/PID/ksm_stat; merge_any:
    how many have PR_SET_MEMORY_MERGE: ksm_stat's ksm_merge_any where the
    kernel has it, else a mapping with "mg" in /proc/PID/smaps' VmFlags)
  config  per repetition x configuration, after its runs:
    rep, config, position, label, ok, dedup_enabled ("Y"/"N"),
    dedup_policy (debugfs dedup_policy; both read before the pressure),
    ksm_settings {pages_to_scan, sleep_millisecs} or null, services
    [names], times {setup_s, load_s, ksm_wait_s, estimate_s, pagescan_s,
    pressure_s, readback_s, bench_s, teardown_s, total_s: the phases
    that ran},
    ksm_wait {converged,
    wall_s, ksmd_cpu_s, full_scans, pages_sharing, pages_shared,
    pages_unshared, pages_volatile, general_profit} or null,
    snapshots {start, loaded, before_pressure, after_pressure,
    after_readback, before_bench, after_bench (when a bench ran),
    after_teardown: {t, zswap {every numeric file of
    /sys/kernel/debug/zswap}, vmstat {zswp*, pswp*, ksm*, thp_swpout*,
    thp_split*, swap_ra*}, ksm {every numeric file of
    /sys/kernel/mm/ksm}, ksmd_cpu_s, meminfo {MemTotal, MemFree,
    MemAvailable, SwapTotal, SwapFree, Shmem, AnonPages, Zswap, Zswapped},
    swap_used}} ("loaded": right after the load, before any KSM wait),
    pressure_delta {zswap, vmstat: after_pressure - before_pressure},
    readback_delta {zswap, vmstat: after_readback - after_pressure},
    bench_delta {zswap, vmstat: after_bench - before_bench (the check
    after the benchmark included)} or null,
    settle {seconds, settled, swap_used, stored_pages, reset_swap, and
    swap_used_after_reset, stored_pages_after_reset when swap had to be
    reset with swapoff/swapon (not settled within 20 s; an error record
    only if still not near zero after it)}
  pagescan  per service, once a boot (see above): rep, config, service,
    processes, seconds, result (pagescan.scan_domain()'s dict: pages,
    zero, exact_dup, near_dup, ... see pagescan.py) or null, error (null
    or why)
  error   anything that failed: rep, config, service, phase (null where
    not applicable), message, correctness (true: data did not verify),
    and context fields

and last a line "COMPARE-END {"ok": ..., "errors": N,
"correctness_failures": N, "complete": ...}": ok is false when any data
failed to verify (a correctness failure); complete is false when any
configuration or service failed to run; errors counts every error record.
The exit status is 0 when ok and complete, else 1.

A failed service or configuration records an error and the driver goes on
with the next.  --no-cgroups is a test mode for a chroot on a shared host:
no cgroups, no memory pressure, no zswap, KSM, policy or cache settings;
only the workloads' start, load, read-back and verification run (and
the redis benchmark, without a memory limit).

Internal modes: `compare.py --agent KIND ...` is one replica of the
weights, python or shmem service (commands on stdin, JSON replies on
stdout); `compare.py --exec-as [--ksm] [--user NAME] -- ARGV` is the
wrapper that sets PR_SET_MEMORY_MERGE and/or drops to a user before
exec'ing a workload program.

Python 3 standard library and numpy only.
"""

import csv
import ctypes
import errno
import glob
import hashlib
import json
import os
import platform
import pwd
import random
import resource
import select
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import sysconfig
import threading
import time
import traceback

SELF = os.path.abspath(__file__)
# How children run this file: as the module, so that they use its cached
# bytecode (compiling 1,700 lines costs seconds per process under TCG).
SELF_MAIN = [sys.executable, "-c",
             f"import sys; sys.path.insert(0, {os.path.dirname(SELF)!r}); "
             "import compare; sys.exit(compare.main())"]
CGROUP_FS = "/sys/fs/cgroup"
CGROOT = CGROUP_FS + "/compare"
ZSWAP_PARAMS = "/sys/module/zswap/parameters"
ZSWAP_DEBUGFS = "/sys/kernel/debug/zswap"
DEDUP_SWITCH = ZSWAP_PARAMS + "/dedup_enabled"
KSM_DIR = "/sys/kernel/mm/ksm"
THP_DIR = "/sys/kernel/mm/transparent_hugepage"
RUN_DIR = "/run/zdedup-compare"
PR_SET_MEMORY_MERGE = 67
MiB = 1 << 20
PAGE_SIZE = os.sysconf("SC_PAGE_SIZE")

ALL_WORKLOADS = ["weights", "redis", "python", "shmem", "postgres"]
ALL_CONFIGS = ["stock", "builtin", "tenant", "ksm", "ksm-aggressive", "ksm+tenant"]
KSM_DEFAULTS = {"pages_to_scan": 100, "sleep_millisecs": 20}
KSM_AGGRESSIVE = {"pages_to_scan": 5000, "sleep_millisecs": 10}

# name -> what the configuration sets
CONFIGS = {
    "stock": {"label": "stock zswap (dedup off)", "dedup": False,
              "policy": None, "ksm": None},
    "builtin": {"label": "zdedup built-in policy (per cgroup)", "dedup": True,
                "policy": None, "ksm": None},
    "tenant": {"label": "zdedup tenant policy (a group per service)",
               "dedup": True, "policy": "tenant", "ksm": None},
    "ksm": {"label": "KSM, defaults (100 pages / 20 ms)", "dedup": False,
            "policy": None, "ksm": KSM_DEFAULTS},
    "ksm-aggressive": {"label": "KSM, aggressive (5000 pages / 10 ms)",
                       "dedup": False, "policy": None, "ksm": KSM_AGGRESSIVE},
    "ksm+tenant": {"label": "KSM aggressive + zdedup tenant policy",
                   "dedup": True, "policy": "tenant", "ksm": KSM_AGGRESSIVE},
}

# The tenant policy's group number of each service's replicas.
TENANT_GROUPS = {"weights": 11, "redis": 12, "python": 13, "shmem": 14,
                 "postgres": 15}

RECLAIM_STEPS = 8               # --reclaim steps: what a replica holds / 8 a write
RECLAIM_MAX_WRITES = 40         # memory.reclaim writes per replica at most
RECLAIM_MIN_PROGRESS = 256 << 10    # three writes in a row that free less end it
SETTLE_TIMEOUT_S = 20           # teardown: wait for swap to empty, then reset it
SETTLE_SWAP_SLACK = 4 * MiB     # "near zero": this much above the start
STEP_TIMEOUT_S = 900            # one phase of one service

T0 = time.monotonic()


def log(msg):
    print(f"compare: [{time.monotonic() - T0:7.1f}s] {msg}", file=sys.stderr,
          flush=True)


class WorkloadError(Exception):
    """A workload step that failed (not a data mismatch)."""


# --- files -------------------------------------------------------------------

def read_text(path):
    with open(path) as f:
        return f.read()


def read_int(path):
    """The first number in @path (0x... too); None if absent or not a number."""
    try:
        return int(read_text(path).split()[0], 0)
    except (OSError, ValueError, IndexError):
        return None


def write_file(path, text):
    """One write(2) of @text to @path; raises OSError (EAGAIN etc.)."""
    fd = os.open(path, os.O_WRONLY)
    try:
        os.write(fd, text.encode())
    finally:
        os.close(fd)


def read_keyed(path):
    """A 'key value' file (memory.stat, vmstat, ksm_stat) as {key: int|str}."""
    values = {}
    try:
        text = read_text(path)
    except OSError:
        return values
    for line in text.splitlines():
        parts = line.split()
        if len(parts) < 2:
            continue
        key = parts[0].rstrip(":")          # ksm_stat: "ksm_merge_any: yes"
        try:
            values[key] = int(parts[1])
        except ValueError:
            values[key] = parts[1]
    return values


def numeric_files(directory):
    """Every file of @directory that holds a number (as read_int), as {name: int}."""
    values = {}
    for name, text in text_files(directory).items():
        try:
            values[name] = int(text.split()[0], 0)
        except (ValueError, IndexError):
            pass
    return values


def text_files(directory):
    """Every readable file of @directory, stripped, as {name: str}."""
    values = {}
    try:
        names = sorted(os.listdir(directory))
    except OSError:
        return values
    for name in names:
        try:
            values[name] = read_text(os.path.join(directory, name)).strip()
        except OSError:
            pass
    return values


def bracketed(path):
    """The selected value of a sysfs choice file ("always [madvise] never")."""
    try:
        text = read_text(path)
    except OSError:
        return None
    start, end = text.find("["), text.find("]")
    return text[start + 1:end] if 0 <= start < end else text.strip()


def sha256_file(path):
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        while True:
            chunk = f.read(MiB)
            if not chunk:
                return digest.hexdigest()
            digest.update(chunk)


def rmtree(path):
    shutil.rmtree(path, ignore_errors=True)


# --- records -----------------------------------------------------------------

class Recorder:
    """Prints the COMPARE records and counts errors."""

    def __init__(self):
        self.errors = 0
        self.correctness_failures = 0
        self.incomplete = 0
        self.lock = threading.Lock()

    def emit(self, rec_type, **fields):
        line = "COMPARE " + json.dumps({"type": rec_type, **fields},
                                       separators=(",", ":"), default=str)
        with self.lock:
            sys.stdout.write(line + "\n")
            sys.stdout.flush()

    def error(self, message, *, rep=None, config=None, service=None,
              phase=None, correctness=False, incomplete=True, **context):
        with self.lock:
            self.errors += 1
            self.correctness_failures += bool(correctness)
            self.incomplete += bool(incomplete and not correctness)
        log(f"ERROR [rep {rep} {config} {service} {phase}]"
            f"{' CORRUPTION' if correctness else ''}: {message}")
        self.emit("error", rep=rep, config=config, service=service,
                  phase=phase, message=message, correctness=correctness,
                  **context)

    def end(self):
        summary = {"ok": self.correctness_failures == 0, "errors": self.errors,
                   "correctness_failures": self.correctness_failures,
                   "complete": self.incomplete == 0}
        sys.stdout.write("COMPARE-END " + json.dumps(summary) + "\n")
        sys.stdout.flush()
        return summary


REC = Recorder()


def exception_text(exc):
    return f"{type(exc).__name__}: {exc}"


# --- processes ---------------------------------------------------------------

class Options:
    """The driver's options, visible to the helpers (set once in main)."""
    no_cgroups = False


OPT = Options()


def spawn(argv, cgroup=None, ksm=False, user=None, agent=False,
          stdin=subprocess.DEVNULL, stdout=None, log_path=None):
    """
    Start @argv with its memory charged to @cgroup from its first page: a
    shell writes its own pid into cgroup.procs and execs the program.
    @ksm: PR_SET_MEMORY_MERGE before exec (agents set it themselves);
    @user: drop to that user before exec.  @log_path: its stdout and
    stderr (a server's log), else stderr goes to ours (the console) and
    stdout to @stdout; never to our stdout, which carries the records.
    """
    if stdout is None and log_path is None:
        stdout = subprocess.DEVNULL
    stderr = None
    if log_path:
        os.makedirs(os.path.dirname(log_path), exist_ok=True)
        stdout = stderr = open(log_path, "ab")
    cmd = []
    if cgroup and not OPT.no_cgroups:
        cmd += ["/bin/sh", "-c", 'echo $$ > "$0" && exec "$@"',
                os.path.join(cgroup, "cgroup.procs")]
    if (ksm and not agent) or user:
        cmd += SELF_MAIN + ["--exec-as"]
        cmd += ["--ksm"] if ksm and not agent else []
        cmd += ["--user", user] if user else []
        cmd += ["--"]
    try:
        return subprocess.Popen(cmd + list(argv), stdin=stdin, stdout=stdout,
                                stderr=stderr, start_new_session=True)
    finally:
        if log_path:
            stdout.close()


def log_tail(path, lines=8):
    """The last @lines of a server's log, for an error message."""
    try:
        return " | ".join(read_text(path).strip().splitlines()[-lines:])
    except OSError:
        return "(no log)"


def run(argv, timeout=600, user=None, input_file=None, check=True):
    """Run @argv (as @user) to completion; its stdout as text."""
    if user:
        argv = SELF_MAIN + ["--exec-as", "--user", user, "--"] + list(argv)
    stdin = open(input_file, "rb") if input_file else subprocess.DEVNULL
    try:
        done = subprocess.run(argv, stdin=stdin, capture_output=True,
                              timeout=timeout)
    finally:
        if input_file:
            stdin.close()
    out = done.stdout.decode(errors="replace")
    if check and done.returncode != 0:
        err = done.stderr.decode(errors="replace").strip()[-800:]
        raise WorkloadError(f"{' '.join(argv[:6])}... exited with status "
                            f"{done.returncode}: {err or out.strip()[-400:]}")
    return out


def stop_process(proc, sig=signal.SIGTERM, timeout=60):
    """Signal our child @proc and reap it; SIGKILL after @timeout."""
    if proc is None or proc.poll() is not None:
        return
    try:
        proc.send_signal(sig)
        proc.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait(timeout=30)


def set_memory_merge():
    """prctl(PR_SET_MEMORY_MERGE, 1): KSM for every mapping of this process."""
    libc = ctypes.CDLL(None, use_errno=True)
    zero = ctypes.c_ulong(0)
    if libc.prctl(PR_SET_MEMORY_MERGE, ctypes.c_ulong(1), zero, zero, zero):
        err = ctypes.get_errno()
        raise OSError(err, f"prctl(PR_SET_MEMORY_MERGE): {os.strerror(err)}")


def exec_as_main(argv):
    """The --exec-as wrapper: [--ksm] [--user NAME] -- PROGRAM ARGS..."""
    if "--" not in argv:
        sys.exit("compare.py --exec-as: no -- PROGRAM")
    split = argv.index("--")
    flags, program = argv[:split], argv[split + 1:]
    if "--ksm" in flags:
        set_memory_merge()      # kept across exec (6.7+) and fork
    if "--user" in flags:
        entry = pwd.getpwnam(flags[flags.index("--user") + 1])
        os.setgroups([])
        os.initgroups(entry.pw_name, entry.pw_gid)
        os.setgid(entry.pw_gid)
        os.setuid(entry.pw_uid)
        os.environ.update(HOME=entry.pw_dir, USER=entry.pw_name,
                          LOGNAME=entry.pw_name)
        os.chdir("/")
    os.execvp(program[0], program)


def in_parallel(calls):
    """Run {name: fn} each in a thread; {name: (result, exception)}."""
    results = {}

    def runner(name, fn):
        try:
            results[name] = (fn(), None)
        except Exception as exc:  # reported by the caller
            results[name] = (None, exc)

    threads = [threading.Thread(target=runner, args=(name, fn), daemon=True)
               for name, fn in calls.items()]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return results


def all_or_raise(results):
    """The results of in_parallel() as {name: result}; the first failure raised."""
    for name, (_, exc) in results.items():
        if exc is not None:
            raise WorkloadError(f"{name}: {exception_text(exc)}") from exc
    return {name: result for name, (result, _) in results.items()}


# --- cgroups -----------------------------------------------------------------

def service_cgroup(service):
    return f"{CGROOT}/{service}"


def replica_cgroup(service, replica):
    return f"{CGROOT}/{service}/r{replica}"


def create_cgroups(replicas_of):
    """compare/SERVICE/rI for {service: replicas}, memory enabled down to rI."""
    if OPT.no_cgroups:
        return
    os.makedirs(CGROOT, exist_ok=True)
    write_file(CGROOT + "/cgroup.subtree_control", "+memory")
    for service, replicas in replicas_of.items():
        os.makedirs(service_cgroup(service), exist_ok=True)
        write_file(service_cgroup(service) + "/cgroup.subtree_control", "+memory")
        for replica in range(replicas):
            os.makedirs(replica_cgroup(service, replica), exist_ok=True)


def cgroup_pids(path):
    if OPT.no_cgroups:
        return []
    try:
        return [int(pid) for pid in read_text(path + "/cgroup.procs").split()]
    except OSError:
        return []


def descendants(pids):
    """@pids and every process below them (from /proc/PID/stat's ppid)."""
    children = {}
    for stat_path in glob.glob("/proc/[0-9]*/stat"):
        try:
            fields = read_text(stat_path).rsplit(")", 1)[1].split()
        except (OSError, IndexError):
            continue
        children.setdefault(int(fields[1]), []).append(int(stat_path.split("/")[2]))
    found, todo = [], list(pids)
    while todo:
        pid = todo.pop()
        found.append(pid)
        todo += children.get(pid, [])
    return sorted(found)


def service_pids(service):
    """The processes of @service: its replica cgroups' (--no-cgroups: the
    processes it started and their descendants)."""
    if OPT.no_cgroups:
        return descendants(service.started_pids())
    return [pid for replica in range(service.replicas)
            for pid in cgroup_pids(service.cgroup(replica))]


def kill_leftovers():
    """SIGKILL what is still in our cgroups (all of it started by us)."""
    pids = []
    for cgroup, _, _ in os.walk(CGROOT):
        pids += cgroup_pids(cgroup)
    for pid in pids:
        try:
            os.kill(pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
    return pids


def remove_cgroups():
    """rmdir the compare/ tree, deepest first; retried while they empty."""
    if OPT.no_cgroups or not os.path.isdir(CGROOT):
        return True
    for _ in range(50):
        for cgroup, _, _ in sorted(os.walk(CGROOT), key=lambda w: -len(w[0])):
            try:
                os.rmdir(cgroup)
            except OSError:
                pass
        if not os.path.isdir(CGROOT):
            return True
        time.sleep(0.2)
    return False


MEMORY_STAT_KEYS = ["anon", "file", "shmem", "zswap", "zswapped", "zswpout",
                    "zswpin", "zswpout_dedup"]


def cgroup_memory(path):
    """One cgroup's {memory} (see RECORDS); None values where not available."""
    if OPT.no_cgroups:
        return None
    stat = read_keyed(path + "/memory.stat")
    memory = {"memory_current": read_int(path + "/memory.current"),
              "swap_current": read_int(path + "/memory.swap.current"),
              "zswap_current": read_int(path + "/memory.zswap.current")}
    for key in MEMORY_STAT_KEYS:
        memory[key] = stat.get(key)
    memory.update(derived_memory(memory))
    return memory


def get_field(d, *keys):
    """d[k1][k2]...; None where any level is missing or None."""
    for key in keys:
        if not isinstance(d, dict) or d.get(key) is None:
            return None
        d = d[key]
    return d


def counter_delta(first, second, key):
    """second[key] - first[key]; None unless both are numbers."""
    a, b = get_field(first, key), get_field(second, key)
    return b - a if isinstance(a, int) and isinstance(b, int) else None


def derived_memory(memory):
    """ram_held and on_disk from one {memory}."""
    def minus(a, b):
        return None if a is None or b is None else a - b
    return {"ram_held": minus(memory["memory_current"], memory["zswap"]),
            "on_disk": minus(memory["swap_current"], memory["zswapped"])}


def sum_dicts(dicts):
    """Key by key sums of @dicts; a key None anywhere stays None."""
    dicts = [d for d in dicts if d is not None]
    if not dicts:
        return None
    total = {}
    for key in dicts[0]:
        values = [d.get(key) for d in dicts]
        total[key] = None if any(v is None for v in values) else sum(values)
    return total


def ksm_process_stats(pids):
    """{ksm} (see RECORDS) over @pids from /proc/PID/ksm_stat."""
    totals = {"processes": 0, "ksm_merging_pages": 0, "ksm_rmap_items": 0,
              "ksm_zero_pages": 0, "ksm_process_profit": 0, "merge_any": 0}
    for pid in pids:
        stat = read_keyed(f"/proc/{pid}/ksm_stat")
        if not stat:
            continue
        totals["processes"] += 1
        for key in ("ksm_merging_pages", "ksm_rmap_items", "ksm_zero_pages",
                    "ksm_process_profit"):
            value = stat.get(key)
            totals[key] += value if isinstance(value, int) else 0
        if "ksm_merge_any" in stat:
            totals["merge_any"] += stat.get("ksm_merge_any") == "yes"
        else:
            # 6.12's ksm_stat has no ksm_merge_any line (later kernels add
            # it): look at the mappings themselves, which is right before
            # ksmd has reached the process too
            totals["merge_any"] += has_mergeable_mapping(pid)
    return totals


def has_mergeable_mapping(pid):
    """Whether a mapping of @pid has VM_MERGEABLE ("mg" in smaps' VmFlags),
    as every mapping of a process with PR_SET_MEMORY_MERGE has (the
    workloads never madvise(MADV_MERGEABLE))."""
    try:
        with open(f"/proc/{pid}/smaps") as f:
            return any(line.startswith("VmFlags:") and " mg" in line for line in f)
    except OSError:
        return False


# --- kernel state --------------------------------------------------------------

VMSTAT_PREFIXES = ("zswp", "pswp", "ksm", "cow_ksm", "thp_swpout", "thp_split",
                   "swap_ra")
MEMINFO_KEYS = ("MemTotal", "MemFree", "MemAvailable", "SwapTotal", "SwapFree",
                "Shmem", "AnonPages", "KSM", "Zswap", "Zswapped")


def meminfo():
    """/proc/meminfo in bytes."""
    values = {}
    for line in read_text("/proc/meminfo").splitlines():
        name, _, rest = line.partition(":")
        parts = rest.split()
        if parts:
            values[name] = int(parts[0]) * (1024 if len(parts) > 1 else 1)
    return values


def swap_used():
    info = meminfo()
    return info.get("SwapTotal", 0) - info.get("SwapFree", 0)


def ksmd_pid():
    for comm_path in glob.glob("/proc/[0-9]*/comm"):
        try:
            if read_text(comm_path).strip() == "ksmd":
                return int(comm_path.split("/")[2])
        except OSError:
            pass
    return None


def process_cpu_s(pid):
    """utime + stime of @pid in seconds; None if gone."""
    try:
        fields = read_text(f"/proc/{pid}/stat").rsplit(")", 1)[1].split()
    except (OSError, IndexError):
        return None
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


class Kernel:
    """What the driver reads and sets in the kernel (nothing in --no-cgroups)."""

    def __init__(self, loader):
        self.loader = loader
        self.ksm_pid = None if OPT.no_cgroups else ksmd_pid()
        self.policy_loaded = False

    @property
    def has_ksm(self):
        return not OPT.no_cgroups and os.path.isfile(KSM_DIR + "/run")

    @property
    def has_dedup(self):
        return not OPT.no_cgroups and os.path.isfile(DEDUP_SWITCH)

    def ksmd_cpu_s(self):
        return process_cpu_s(self.ksm_pid) if self.ksm_pid else None

    def snapshot(self):
        """The global counters at one moment (see RECORDS: snapshots)."""
        if OPT.no_cgroups:
            return {"t": round(time.monotonic() - T0, 3)}
        vmstat = read_keyed("/proc/vmstat")
        info = meminfo()
        return {
            "t": round(time.monotonic() - T0, 3),
            "zswap": numeric_files(ZSWAP_DEBUGFS),
            "vmstat": {k: v for k, v in vmstat.items()
                       if k.startswith(VMSTAT_PREFIXES)},
            "ksm": numeric_files(KSM_DIR),
            "ksmd_cpu_s": self.ksmd_cpu_s(),
            "meminfo": {k: info[k] for k in MEMINFO_KEYS if k in info},
            "swap_used": info.get("SwapTotal", 0) - info.get("SwapFree", 0),
        }

    def dedup_state(self):
        """dedup_enabled (Y/N) and the policy attached, as the kernel says."""
        if OPT.no_cgroups:
            return {"dedup_enabled": None, "dedup_policy": None}
        try:
            enabled = read_text(DEDUP_SWITCH).strip()
        except OSError:
            enabled = None
        return {"dedup_enabled": enabled, "dedup_policy": self.dedup_policy()}

    def dedup_policy(self):
        try:
            return read_text(ZSWAP_DEBUGFS + "/dedup_policy").strip()
        except OSError:
            return None

    def set_dedup(self, enabled):
        if OPT.no_cgroups:
            return
        if not self.has_dedup:
            raise WorkloadError(f"this kernel has no zswap dedup ({DEDUP_SWITCH})")
        want = "Y" if enabled else "N"
        write_file(DEDUP_SWITCH, want)
        if read_text(DEDUP_SWITCH).strip() != want:
            raise WorkloadError(f"{DEDUP_SWITCH} did not take {want}")

    def set_ksm(self, settings):
        """KSM on with @settings, or off (and unmerged) with None."""
        if OPT.no_cgroups:
            return
        if settings is None:
            if self.has_ksm:
                self.ksm_off()
            return
        if not self.has_ksm:
            raise WorkloadError(f"this kernel has no KSM ({KSM_DIR}: CONFIG_KSM)")
        for name, value in settings.items():
            write_file(f"{KSM_DIR}/{name}", str(value))
        write_file(KSM_DIR + "/run", "1")
        self.ksm_pid = self.ksm_pid or ksmd_pid()

    def ksm_off(self):
        """Unmerge everything (run=2), then stop ksmd, defaults back."""
        write_file(KSM_DIR + "/run", "2")
        deadline = time.monotonic() + 30
        while read_int(KSM_DIR + "/pages_shared") and time.monotonic() < deadline:
            time.sleep(0.2)
        write_file(KSM_DIR + "/run", "0")
        for name, value in KSM_DEFAULTS.items():
            write_file(f"{KSM_DIR}/{name}", str(value))

    def loader_cmd(self, *args, timeout=120):
        if not self.loader or not os.access(self.loader, os.X_OK):
            raise WorkloadError(f"no zdedup-loader at {self.loader}")
        return run([self.loader] + list(args), timeout=timeout)

    def load_tenant_policy(self, services):
        """The tenant policy, every replica cgroup of a service in its group."""
        if OPT.no_cgroups:
            return
        if self.dedup_policy() not in (None, "builtin"):
            self.loader_cmd("unload")
        self.loader_cmd("load", "tenant")
        self.policy_loaded = True
        for service in services:
            for replica in range(service.replicas):
                self.loader_cmd("set", replica_cgroup(service.name, replica),
                                "group", str(TENANT_GROUPS[service.name]))
        if self.dedup_policy() != "tenant":
            raise WorkloadError(f"dedup_policy is {self.dedup_policy()} after "
                                "zdedup-loader load tenant")

    def ensure_builtin_policy(self):
        if OPT.no_cgroups:
            return
        if self.dedup_policy() not in (None, "builtin"):
            self.loader_cmd("unload")
        self.policy_loaded = False

    def unload_policy(self):
        if self.policy_loaded:
            self.policy_loaded = False
            self.loader_cmd("unload")

    def drop_caches(self):
        if OPT.no_cgroups:
            return
        os.sync()
        write_file("/proc/sys/vm/drop_caches", "3")

    def estimate(self, service):
        """`zdedup-loader estimate --json` on the replicas, grouped as tenant has them."""
        cgroups = [replica_cgroup(service.name, r) for r in range(service.replicas)]
        out = self.loader_cmd("estimate", "--json", "--no-progress",
                              "--timeout", "240", *cgroups,
                              "--group", ",".join(cgroups), timeout=300)
        return json.loads(out)


# --- memory pressure -------------------------------------------------------------

def push_out(cgroup, request):
    """
    memory.reclaim on @cgroup until three writes in a row free less than
    RECLAIM_MIN_PROGRESS, as make demo pushes its tenants out.  @request
    "steps": each write asks for 1/RECLAIM_STEPS of what the cgroup held
    at the start (memory.current); else the size written each time (e.g.
    "1G").  Returns {writes, eagain, freed [bytes per write, from
    memory.current]}.  EAGAIN (reclaim got less than asked) is normal.

    Steps are how make demo pushes its tenants out; "1G" works as well
    once the pages' accessed bits are clear (see clear_referenced()).
    """
    start = read_int(cgroup + "/memory.current") or 0
    if request == "steps":
        request = str(max(start // RECLAIM_STEPS // PAGE_SIZE, 1) * PAGE_SIZE)
    writes = eagain = idle = 0
    freed = []
    while writes < RECLAIM_MAX_WRITES and idle < 3:
        before = read_int(cgroup + "/memory.current")
        try:
            write_file(cgroup + "/memory.reclaim", request)
        except OSError as exc:
            if exc.errno != errno.EAGAIN:
                raise
            eagain += 1
        writes += 1
        after = read_int(cgroup + "/memory.current")
        if before is None or after is None:
            break
        freed.append(before - after)
        idle = idle + 1 if before - after < RECLAIM_MIN_PROGRESS else 0
    return {"writes": writes, "eagain": eagain, "request": request, "freed": freed}


def clear_referenced(pids):
    """
    /proc/PID/clear_refs "1": the accessed bits of every page @pids map
    cleared, so that reclaim does not see them as recently used.  Done in
    every configuration before the pressure: without it, the pages that
    `zdedup-loader estimate` had just read (through /proc/PID/mem, which
    marks them accessed) were all activated by the first memory.reclaim
    write and, in the second and later configurations of a boot, never
    deactivated again: they stayed in RAM (debug 6.12 kernel, 2026-12-02).
    Returns how many processes were cleared.
    """
    cleared = 0
    for pid in pids:
        try:
            write_file(f"/proc/{pid}/clear_refs", "1")
            cleared += 1
        except OSError:
            pass        # exited
    return cleared


def cpu_times():
    usage = resource.getrusage(getattr(resource, "RUSAGE_THREAD",
                                       resource.RUSAGE_SELF))
    return usage.ru_stime, usage.ru_utime


# --- workload content (deterministic, shared by driver and agents) ----------------

def vocabulary(rng, words=2000):
    """Pseudo-words of 3 to 10 letters."""
    letters = "etaoinshrdlcumwfgypbvkjxqz"
    weights = [26 - i for i in range(26)]
    return ["".join(rng.choices(letters, weights, k=rng.randint(3, 10)))
            for _ in range(words)]


def sentence(rng, vocab, words):
    return " ".join(rng.choice(vocab) for _ in range(words))


# --- agents: one replica of weights, python or shmem ------------------------------

class WeightsReplica:
    """The same weights (np.load into anonymous memory) + private state."""

    def __init__(self, replica, params):
        self.replica, self.params = replica, params

    def load(self):
        import numpy as np
        self.weights = np.load(self.params["path"])
        rng = np.random.default_rng(1000 + self.replica)
        self.private = rng.standard_normal(self.params["private_bytes"] // 4,
                                           dtype=np.float32)
        self.private_sha256 = hashlib.sha256(self.private).hexdigest()
        weights_sha256 = hashlib.sha256(self.weights).hexdigest()
        return {"verified": weights_sha256 == self.params["sha256"],
                "weights_sha256": weights_sha256,
                "weights_bytes": self.weights.nbytes,
                "private_bytes": self.private.nbytes}

    def readback(self):
        weights_sha256 = hashlib.sha256(self.weights).hexdigest()
        private_ok = hashlib.sha256(self.private).hexdigest() == self.private_sha256
        weights_ok = weights_sha256 == self.params["sha256"]
        return {"verified": weights_ok and private_ok, "weights_ok": weights_ok,
                "private_ok": private_ok, "weights_sha256": weights_sha256}


PYTHON_GRAPH_SEED = 424242
PYTHON_RECORDS_PER_MIB = 420    # measured: 1 MiB of anon heap per ~420 records (3.11)


def python_records(count, seed=PYTHON_GRAPH_SEED):
    """
    An application's data, as JSON can hold it: user records (dicts of
    strings, ints, floats, lists), deterministic.
    """
    rng = random.Random(seed)
    vocab = vocabulary(rng)
    tags = vocab[:200]
    records = []
    for i in range(count):
        name = f"{rng.choice(vocab)}.{rng.choice(vocab)}-{i:07d}"
        records.append({
            "id": 1_000_000 + i,
            "name": name,
            "email": f"{name}@{rng.choice(vocab)}.example",
            "bio": sentence(rng, vocab, rng.randint(10, 40)),
            "tags": rng.sample(tags, rng.randint(2, 8)),
            "scores": [rng.random() for _ in range(rng.randint(3, 8))],
            "counters": {"views": rng.randint(1000, 10**9),
                         "clicks": rng.randint(1000, 10**7),
                         "orders": rng.randint(300, 10**5)},
            "history": [[1_700_000_000 + rng.randint(0, 10**7),
                         round(rng.uniform(1, 500), 2)]
                        for _ in range(rng.randint(2, 12))],
        })
    return records


def build_python_graph(path):
    """
    The object graph a service builds at start from its data file: the
    records (json.load: dicts, lists, strings, ints, floats), an index by
    name and one by tag.  The same in every replica; its memory layout is
    not (hash randomization, addresses in every object).
    """
    with open(path) as f:
        records = json.load(f)
    graph = {"records": records, "by_name": {}, "by_tag": {}}
    for record in records:
        graph["by_name"][record["name"]] = record
        for tag in record["tags"]:
            graph["by_tag"].setdefault(tag, []).append(record["id"])
    return graph


def python_graph_digest(graph):
    """sha256 over the graph in a deterministic order (insertion order)."""
    digest = hashlib.sha256()
    dumps = json.JSONEncoder(separators=(",", ":")).encode
    for record in graph["records"]:
        digest.update(dumps(record).encode())
    for name, record in graph["by_name"].items():
        digest.update(f"{name}={record['id']};".encode())
    for tag, ids in graph["by_tag"].items():
        digest.update(f"{tag}={dumps(ids)};".encode())
    return digest.hexdigest()


class PythonReplica:
    """Builds the object graph; read-back hashes all of it again."""

    def __init__(self, replica, params):
        self.replica, self.params = replica, params

    def load(self):
        self.graph = build_python_graph(self.params["path"])
        digest = python_graph_digest(self.graph)
        return {"verified": digest == self.params["digest"], "digest": digest,
                "records": len(self.graph["records"])}

    def readback(self):
        digest = python_graph_digest(self.graph)
        return {"verified": digest == self.params["digest"], "digest": digest}


class ShmemReplica:
    """Fills its container's tmpfs with the files; read-back hashes them."""

    def __init__(self, replica, params):
        self.replica, self.params = replica, params
        with open(params["manifest"]) as f:
            self.manifest = json.load(f)

    def load(self):
        copied = 0
        for entry in self.manifest:
            destination = os.path.join(self.params["mount"], entry["path"])
            os.makedirs(os.path.dirname(destination), exist_ok=True)
            shutil.copyfile(os.path.join(self.params["source"], entry["path"]),
                            destination)
            copied += entry["size"]
        return {"verified": True, "files": len(self.manifest), "bytes": copied}

    def readback(self):
        bad = []
        for entry in self.manifest:
            path = os.path.join(self.params["mount"], entry["path"])
            try:
                good = sha256_file(path) == entry["sha256"]
            except OSError as exc:
                good = False
                entry = dict(entry, error=exception_text(exc))
            if not good:
                bad.append(entry["path"])
        return {"verified": not bad, "files": len(self.manifest),
                "bad_files": len(bad), "bad_examples": bad[:10]}


AGENT_KINDS = {"weights": WeightsReplica, "python": PythonReplica,
               "shmem": ShmemReplica}


def agent_main(argv):
    """--agent KIND --replica I --params JSON [--ksm]: serve load/readback/quit."""
    kind = argv[argv.index("--agent") + 1]
    replica_index = int(argv[argv.index("--replica") + 1])
    params = json.loads(argv[argv.index("--params") + 1])
    ksm = None
    if "--ksm" in argv:
        try:
            set_memory_merge()
            ksm = "on"
        except OSError as exc:
            ksm = f"failed: {exc}"

    def reply(message):
        sys.stdout.write(json.dumps(message) + "\n")
        sys.stdout.flush()

    replica = AGENT_KINDS[kind](replica_index, params)
    reply({"ready": True, "pid": os.getpid(), "ksm": ksm})
    for line in sys.stdin:
        command = line.strip()
        if command == "quit":
            break
        start = time.monotonic()
        try:
            if command not in ("load", "readback"):
                raise ValueError(f"unknown command {command!r}")
            result = getattr(replica, command)()
            result["ok"] = True
        except Exception as exc:
            result = {"ok": False, "verified": False,
                      "error": exception_text(exc),
                      "traceback": traceback.format_exc()[-1500:]}
        result["seconds"] = round(time.monotonic() - start, 3)
        reply(result)
    return 0


class Agent:
    """The driver's end of one agent process."""

    def __init__(self, kind, replica, params, cgroup, ksm):
        argv = SELF_MAIN + ["--agent", kind, "--replica", str(replica),
                "--params", json.dumps(params)] + (["--ksm"] if ksm else [])
        self.name = f"{kind} r{replica}"
        self.proc = spawn(argv, cgroup=cgroup, agent=True,
                          stdin=subprocess.PIPE, stdout=subprocess.PIPE)
        self.buffer = b""
        self.hello = None

    def wait_ready(self, timeout=STEP_TIMEOUT_S):
        self.hello = self.receive(timeout)
        if self.hello.get("ksm") not in (None, "on"):
            raise WorkloadError(f"{self.name}: KSM: {self.hello['ksm']}")
        return self.hello

    def send(self, command):
        try:
            self.proc.stdin.write(command.encode() + b"\n")
            self.proc.stdin.flush()
        except OSError as exc:
            raise WorkloadError(f"{self.name}: gone ({exc})") from exc

    def receive(self, timeout=STEP_TIMEOUT_S):
        """The next JSON line from the agent, or WorkloadError."""
        deadline = time.monotonic() + timeout
        fd = self.proc.stdout.fileno()
        while b"\n" not in self.buffer:
            left = deadline - time.monotonic()
            if left <= 0:
                raise WorkloadError(f"{self.name}: no reply within {timeout} s")
            ready, _, _ = select.select([fd], [], [], min(left, 5))
            if not ready:
                continue
            chunk = os.read(fd, 65536)
            if not chunk:
                raise WorkloadError(f"{self.name}: exited (status "
                                    f"{self.proc.wait()})")
            self.buffer += chunk
        line, self.buffer = self.buffer.split(b"\n", 1)
        return json.loads(line)

    def stop(self):
        if self.proc.poll() is None:
            try:
                self.send("quit")
                self.proc.stdin.close()
            except (OSError, WorkloadError):
                pass
        stop_process(self.proc, timeout=30)


# --- services ------------------------------------------------------------------------

class Service:
    """
    One service: its replicas, each in replica_cgroup(name, i).
    prepare() builds its data once per boot (a dict for meta), start(ksm)
    starts the replicas, load() loads the data (a dict for the run record),
    readback() reads everything back and verifies it: {"replicas": [...],
    "problems": [...]} with per replica {"replica", "verified", "seconds",
    ...}; stop() stops the replicas and removes what start() made.  A
    service with a request benchmark (has_bench) has bench_replica(i)
    and bench_command() (see ConfigRun.bench()).
    """

    name = None
    has_bench = False
    # the memory.current of each replica before the pressure on which the
    # bench phase's limits are based, and where it was measured
    bench_basis = None

    def __init__(self, opts, workdir):
        self.opts, self.workdir = opts, workdir
        self.replicas = getattr(opts, f"{self.name}_replicas")

    def cgroup(self, replica):
        return replica_cgroup(self.name, replica)

    def started_pids(self):
        """The pids of the processes start() started (not their children)."""
        return [proc.pid for proc in getattr(self, "procs", [])
                if proc.poll() is None]

    def prepare(self):
        return {}

    def start(self, ksm):
        raise NotImplementedError

    def load(self):
        raise NotImplementedError

    def readback(self):
        raise NotImplementedError

    def stop(self):
        raise NotImplementedError


class AgentService(Service):
    """A service whose replicas are agents of compare.py itself."""

    kind = None

    def params(self, replica):
        raise NotImplementedError

    def start(self, ksm):
        self.agents = []
        for replica in range(self.replicas):
            self.agents.append(Agent(self.kind, replica, self.params(replica),
                                     self.cgroup(replica), ksm))
        for agent in self.agents:
            agent.wait_ready()

    def started_pids(self):
        return [agent.proc.pid for agent in getattr(self, "agents", [])
                if agent.proc.poll() is None]

    def command_all(self, command):
        """@command to every agent at once; their replies in replica order."""
        for agent in self.agents:
            agent.send(command)
        replies = []
        for replica, agent in enumerate(self.agents):
            result = agent.receive()
            if not result.get("ok"):
                raise WorkloadError(f"{agent.name} {command}: {result.get('error')}"
                                    f"\n{result.get('traceback', '')}")
            result.pop("ok")
            replies.append(dict(replica=replica, **result))
        return replies

    def load(self):
        replicas = self.command_all("load")
        problems = [f"r{r['replica']}: loaded data did not verify"
                    for r in replicas if not r["verified"]]
        if problems:
            raise DataMismatch(problems)
        return {"replicas": replicas}

    def readback(self):
        replicas = self.command_all("readback")
        problems = [f"r{r['replica']}: data did not verify after read-back"
                    for r in replicas if not r["verified"]]
        return {"replicas": replicas, "problems": problems}

    def stop(self):
        for agent in getattr(self, "agents", []):
            agent.stop()
        self.agents = []


class DataMismatch(Exception):
    """Data that did not verify: a correctness failure."""

    def __init__(self, problems):
        super().__init__("; ".join(problems))
        self.problems = problems


class WeightsService(AgentService):
    """Model-serving workers: the same weights file, np.load()ed by each."""

    name = kind = "weights"

    def prepare(self):
        import numpy as np
        self.path = os.path.join(self.workdir, "weights.npy")
        count = self.opts.weights_mib * MiB // 4
        weights = np.random.default_rng(20261202).standard_normal(
            count, dtype=np.float32)
        weights *= np.float32(0.02)
        self.sha256 = hashlib.sha256(weights).hexdigest()
        np.save(self.path, weights)
        del weights
        if hashlib.sha256(np.load(self.path)).hexdigest() != self.sha256:
            raise WorkloadError(f"{self.path} does not read back as written")
        return {"file": self.path, "file_bytes": os.path.getsize(self.path),
                "sha256": self.sha256, "dtype": "float32"}

    def params(self, replica):
        return {"path": self.path, "sha256": self.sha256,
                "private_bytes": self.opts.weights_private_mib * MiB}


class PythonService(AgentService):
    """A managed-runtime heap: the same object graph built in each process."""

    name = kind = "python"

    def prepare(self):
        records = max(1, self.opts.python_mib * PYTHON_RECORDS_PER_MIB)
        self.path = os.path.join(self.workdir, "python-records.json")
        with open(self.path, "w") as f:
            json.dump(python_records(records), f, separators=(",", ":"))
        self.digest = python_graph_digest(build_python_graph(self.path))
        return {"records": records, "seed": PYTHON_GRAPH_SEED,
                "file_bytes": os.path.getsize(self.path), "digest": self.digest}

    def params(self, replica):
        return {"path": self.path, "digest": self.digest}


class ShmemService(AgentService):
    """Containers' tmpfs holding the same files, filled from inside their cgroup."""

    name = kind = "shmem"

    def prepare(self):
        self.source = os.path.join(self.workdir, "shmem-src")
        self.manifest_path = os.path.join(self.workdir, "shmem-manifest.json")
        rmtree(self.source)
        budget = self.opts.shmem_mib * MiB
        generated = generate_shmem_extras(self.source, budget // 8)
        copied = copy_stdlib_sources(self.source, budget - sum(generated.values()))
        manifest = []
        for path in sorted(list(copied) + list(generated)):
            full = os.path.join(self.source, path)
            manifest.append({"path": path, "size": os.path.getsize(full),
                             "sha256": sha256_file(full)})
        with open(self.manifest_path, "w") as f:
            json.dump(manifest, f)
        return {"files": len(manifest),
                "bytes": sum(entry["size"] for entry in manifest),
                "python_sources": len(copied), "generated": sorted(generated)}

    def mount_point(self, replica):
        return os.path.join(RUN_DIR, "shmem", f"r{replica}")

    def params(self, replica):
        return {"source": self.source, "manifest": self.manifest_path,
                "mount": self.mount_point(replica)}

    def start(self, ksm):
        size_mib = 2 * self.opts.shmem_mib + 16
        for replica in range(self.replicas):
            mount = self.mount_point(replica)
            os.makedirs(mount, exist_ok=True)
            run(["mount", "-t", "tmpfs", "-o", f"size={size_mib}m,mode=0755",
                 f"compare-shmem-r{replica}", mount], timeout=60)
        super().start(ksm)

    def stop(self):
        super().stop()
        for replica in range(self.replicas):
            mount = self.mount_point(replica)
            if os.path.ismount(mount):
                run(["umount", mount], timeout=60, check=False)
            try:
                os.rmdir(mount)
            except OSError:
                pass


def generate_shmem_extras(directory, budget):
    """A random blob (like compressed or encrypted data) and a log, @budget each."""
    rng = random.Random(1414)
    os.makedirs(os.path.join(directory, "data"), exist_ok=True)
    blob = os.path.join(directory, "data", "blob.bin")
    with open(blob, "wb") as f:
        f.write(rng.randbytes(budget))
    vocab = vocabulary(rng)
    lines, size = [], 0
    while size < budget:
        line = (f"2026-12-02T{rng.randint(0, 23):02d}:{rng.randint(0, 59):02d}:"
                f"{rng.randint(0, 59):02d}.{rng.randint(0, 999999):06d} "
                f"{rng.choice(['INFO', 'INFO', 'INFO', 'WARN', 'DEBUG'])} "
                f"{rng.choice(vocab)}[{rng.randint(100, 40000)}]: "
                f"{sentence(rng, vocab, rng.randint(4, 18))}\n")
        lines.append(line)
        size += len(line)
    with open(os.path.join(directory, "data", "app.log"), "w") as f:
        f.write("".join(lines))
    return {"data/blob.bin": budget, "data/app.log": size}


def copy_stdlib_sources(directory, budget):
    """The standard library's .py files, in sorted order, up to @budget bytes."""
    stdlib = sysconfig.get_paths()["stdlib"]
    copied, total = {}, 0
    for root, dirs, files in os.walk(stdlib):
        dirs.sort()
        for name in sorted(files):
            if not name.endswith(".py"):
                continue
            source = os.path.join(root, name)
            size = os.path.getsize(source)
            if total + size > budget:
                continue
            relative = os.path.join("py", os.path.relpath(source, stdlib))
            os.makedirs(os.path.dirname(os.path.join(directory, relative)),
                        exist_ok=True)
            shutil.copyfile(source, os.path.join(directory, relative))
            copied[relative] = size
            total += size
    return copied


# --- redis -----------------------------------------------------------------------------

class RedisClient:
    """The little of RESP the driver needs."""

    def __init__(self, port, timeout=STEP_TIMEOUT_S):
        self.sock = socket.create_connection(("127.0.0.1", port), timeout=timeout)
        self.reader = self.sock.makefile("rb")

    def call(self, *args):
        self.sock.sendall(resp_command(args))
        return self.reply()

    def reply(self):
        line = self.reader.readline()
        if not line:
            raise WorkloadError("redis closed the connection")
        kind, rest = line[:1], line[1:-2]
        if kind == b"+":
            return rest.decode()
        if kind == b"-":
            raise WorkloadError(f"redis: {rest.decode()}")
        if kind == b":":
            return int(rest)
        if kind == b"$":
            length = int(rest)
            if length < 0:
                return None
            data = self.reader.read(length + 2)
            return data[:-2].decode(errors="replace")
        if kind == b"*":
            return [self.reply() for _ in range(int(rest))]
        raise WorkloadError(f"redis: unexpected reply {line[:40]!r}")

    def close(self):
        self.reader.close()
        self.sock.close()


def resp_command(args):
    parts = [b"*%d\r\n" % len(args)]
    for arg in args:
        data = arg if isinstance(arg, bytes) else str(arg).encode()
        parts.append(b"$%d\r\n%s\r\n" % (len(data), data))
    return b"".join(parts)


def redis_dataset(keys, seed=6381):
    """
    The replicas' dataset as RESP commands, deterministic: per 5 keys,
    3 cached JSON profiles (strings), 1 session hash, 1 counter.
    """
    rng = random.Random(seed)
    vocab = vocabulary(rng)
    cities = vocab[:300]
    for key in range(keys):
        kind = key % 5
        if kind < 3:
            profile = {"id": key, "name": f"{rng.choice(vocab)} {rng.choice(vocab)}",
                       "city": rng.choice(cities), "age": rng.randint(18, 90),
                       "about": sentence(rng, vocab, rng.randint(5, 60)),
                       "score": round(rng.random() * 100, 3)}
            yield resp_command(("SET", f"profile:{key:07d}",
                                json.dumps(profile, separators=(",", ":"))))
        elif kind == 3:
            fields = []
            for field in rng.sample(["user", "agent", "ip", "cart", "locale",
                                     "theme", "last_seen", "csrf", "referrer",
                                     "flags"], rng.randint(3, 8)):
                fields += [field, f"{rng.choice(vocab)}-{rng.getrandbits(48):x}"]
            yield resp_command(["HSET", f"session:{key:07d}"] + fields)
        else:
            yield resp_command(("SET", f"counter:{key:07d}", rng.randint(0, 10**9)))


# The bench phase's request (see the header): a read of one key of the
# loaded dataset.  redis-benchmark's __rand_int__ becomes a 12-digit
# number below -r and the dataset's keys have 7 (profile:0001234), so a
# script turns the number into the key and reads it as a client would:
# GET a profile or a counter, HGETALL a session (redis_dataset's mix).
REDIS_BENCH_SCRIPT = """\
local n = tonumber(ARGV[1])
local id = string.format('%07d', n)
local kind = n % 5
if kind < 3 then return redis.call('GET', 'profile:' .. id) end
if kind == 3 then return redis.call('HGETALL', 'session:' .. id) end
return redis.call('GET', 'counter:' .. id)
"""
# per replica (--redis-bench-requests): 3 x 800 took 9.0 s in stock and
# 4.3 s in tenant under TCG, 3 x 3000 27 and 50 s (2026-12-02); the
# phase's budget is 15 s a configuration
REDIS_BENCH_REQUESTS = 800
BENCH_TIMEOUT_S = 120           # one redis-benchmark run
BENCH_QUERY_TIMEOUT_S = 60      # the queries around it (SCRIPT LOAD, INFO)
BENCH_MIN_HEADROOM = MiB        # memory.high at least this above everything pushed out
# redis-benchmark --csv's columns (7.0) -> the record's names
BENCH_CSV_COLUMNS = {"rps": "rps", "avg_latency_ms": "avg_ms",
                     "min_latency_ms": "min_ms", "p50_latency_ms": "p50_ms",
                     "p95_latency_ms": "p95_ms", "p99_latency_ms": "p99_ms",
                     "max_latency_ms": "max_ms"}


def parse_benchmark_csv(text):
    """
    The last test row of `redis-benchmark --csv` as {rps, avg_ms, min_ms,
    p50_ms, p95_ms, p99_ms, max_ms}.  Redis 7.0 prints a header line
    "test","rps","avg_latency_ms","min_latency_ms","p50_latency_ms",
    "p95_latency_ms","p99_latency_ms","max_latency_ms" and a row per
    test; 6.x printed "test","rps" only, which is an error here.
    """
    rows = list(csv.DictReader(line for line in text.splitlines()
                               if line.startswith('"')))
    if not rows:
        raise WorkloadError(f"redis-benchmark --csv printed no result: {text.strip()[-300:]!r}")
    result = {}
    for column, key in BENCH_CSV_COLUMNS.items():
        try:
            result[key] = float(rows[-1][column])
        except (KeyError, TypeError, ValueError):
            raise WorkloadError(f"redis-benchmark --csv: no {column}: "
                                f"{text.strip()[-300:]!r}") from None
    return result


def commandstats(info, command):
    """INFO commandstats' line of @command as {calls, failed_calls, ...}."""
    for line in (info or "").splitlines():
        if line.startswith(f"cmdstat_{command}:"):
            fields = dict(part.split("=", 1) for part in line.split(":", 1)[1].split(","))
            return {key: int(value) for key, value in fields.items() if value.isdigit()}
    return {}


class RedisService(Service):
    """Key-value replicas: redis-server holding the same dataset, loaded over TCP."""

    name = "redis"

    def port(self, replica):
        return self.opts.redis_port_base + replica

    def log_path(self, replica):
        return os.path.join(RUN_DIR, f"redis-r{replica}.log")

    def prepare(self):
        self.dataset = os.path.join(self.workdir, "redis-dataset.resp")
        with open(self.dataset, "wb") as f:
            for command in redis_dataset(self.opts.redis_keys):
                f.write(command)
        self.version = run(["redis-server", "--version"], timeout=60).strip()
        return {"keys": self.opts.redis_keys,
                "dataset_bytes": os.path.getsize(self.dataset),
                "ports": [self.port(r) for r in range(self.replicas)]}

    def start(self, ksm):
        self.procs = []
        for replica in range(self.replicas):
            directory = os.path.join(self.workdir, "redis", f"r{replica}")
            os.makedirs(directory, exist_ok=True)
            argv = ["redis-server", "--port", str(self.port(replica)),
                    "--bind", "127.0.0.1", "--save", "", "--appendonly", "no",
                    "--enable-debug-command", "local", "--daemonize", "no",
                    "--dir", directory, "--logfile", "", "--loglevel", "warning"]
            self.procs.append(spawn(argv, cgroup=self.cgroup(replica), ksm=ksm,
                                    log_path=self.log_path(replica)))
        for replica in range(self.replicas):
            self.wait_ready(replica)

    def wait_ready(self, replica, timeout=120):
        deadline = time.monotonic() + timeout
        while True:
            if self.procs[replica].poll() is not None:
                raise WorkloadError(f"redis r{replica} exited with status "
                                    f"{self.procs[replica].returncode}: "
                                    f"{log_tail(self.log_path(replica))}")
            try:
                client = RedisClient(self.port(replica), timeout=10)
                try:
                    if client.call("PING") == "PONG":
                        return
                finally:
                    client.close()
            except (OSError, WorkloadError):
                pass
            if time.monotonic() > deadline:
                raise WorkloadError(f"redis r{replica} not answering within {timeout} s: "
                                    f"{log_tail(self.log_path(replica))}")
            time.sleep(0.3)

    def query(self, replica, *args, timeout=STEP_TIMEOUT_S):
        client = RedisClient(self.port(replica), timeout=timeout)
        try:
            return client.call(*args)
        finally:
            client.close()

    def load_replica(self, replica):
        start = time.monotonic()
        out = run(["redis-cli", "-h", "127.0.0.1", "-p", str(self.port(replica)),
                   "--pipe"], input_file=self.dataset, timeout=STEP_TIMEOUT_S)
        summary = [line for line in out.splitlines() if line.startswith("errors:")]
        if not summary or not summary[-1].startswith("errors: 0,"):
            raise WorkloadError(f"redis r{replica}: redis-cli --pipe: {out.strip()[-300:]}")
        return {"replica": replica, "seconds": round(time.monotonic() - start, 3),
                "pipe": summary[-1], "keys": self.query(replica, "DBSIZE"),
                "digest": self.query(replica, "DEBUG", "DIGEST"),
                "used_memory": read_info_field(self.query(replica, "INFO", "memory"),
                                               "used_memory")}

    def load(self):
        loaded = all_or_raise(in_parallel(
            {r: (lambda r=r: self.load_replica(r)) for r in range(self.replicas)}))
        replicas = [loaded[r] for r in range(self.replicas)]
        problems = [f"r{r['replica']}: {r['keys']} keys, not {self.opts.redis_keys}"
                    for r in replicas if r["keys"] != self.opts.redis_keys]
        digests = {r["digest"] for r in replicas}
        if len(digests) != 1:
            problems.append(f"replicas' DEBUG DIGEST differ after the load: {sorted(digests)}")
        if problems:
            raise DataMismatch(problems)
        self.digest = digests.pop()
        return {"replicas": replicas, "digest": self.digest}

    def readback_replica(self, replica):
        start = time.monotonic()
        digest = self.query(replica, "DEBUG", "DIGEST")
        keys = self.query(replica, "DBSIZE")
        return {"replica": replica, "seconds": round(time.monotonic() - start, 3),
                "digest": digest, "keys": keys,
                "verified": digest == self.digest and keys == self.opts.redis_keys}

    def readback(self):
        done = all_or_raise(in_parallel(
            {r: (lambda r=r: self.readback_replica(r)) for r in range(self.replicas)}))
        replicas = [done[r] for r in range(self.replicas)]
        problems = [f"r{r['replica']}: DEBUG DIGEST {r['digest']} ({r['keys']} keys) "
                    f"!= {self.digest} after read-back"
                    for r in replicas if not r["verified"]]
        return {"replicas": replicas, "problems": problems}

    @property
    def has_bench(self):
        return self.opts.redis_bench_requests > 0

    def bench_command(self):
        """redis-benchmark's arguments but the server's (-h, -p)."""
        sha = hashlib.sha1(REDIS_BENCH_SCRIPT.encode()).hexdigest()
        return ["redis-benchmark", "-n", str(self.opts.redis_bench_requests),
                "-c", str(self.opts.redis_bench_clients), "-r", str(self.opts.redis_keys),
                "--csv", "EVALSHA", sha, "0", "__rand_int__"]

    def bench_replica(self, replica):
        """
        redis-benchmark against @replica: --redis-bench-requests reads of
        random keys of the dataset (REDIS_BENCH_SCRIPT) from
        --redis-bench-clients connections; its figures, and the script's
        calls, failures and the key misses from INFO.
        """
        argv = self.bench_command()
        argv[1:1] = ["-h", "127.0.0.1", "-p", str(self.port(replica))]

        def query(*args):
            return self.query(replica, *args, timeout=BENCH_QUERY_TIMEOUT_S)
        sha = query("SCRIPT", "LOAD", REDIS_BENCH_SCRIPT)
        if sha not in argv:
            raise WorkloadError(f"redis r{replica}: SCRIPT LOAD gave {sha}, not the "
                                f"SHA1 of REDIS_BENCH_SCRIPT")
        misses0 = read_info_field(query("INFO", "stats"), "keyspace_misses")
        calls0 = commandstats(query("INFO", "commandstats"), "evalsha")
        start = time.monotonic()
        out = run(argv, timeout=BENCH_TIMEOUT_S)
        seconds = round(time.monotonic() - start, 3)
        result = parse_benchmark_csv(out)
        misses1 = read_info_field(query("INFO", "stats"), "keyspace_misses")
        calls1 = commandstats(query("INFO", "commandstats"), "evalsha")
        result.update(
            seconds=seconds,
            calls=calls1.get("calls", 0) - calls0.get("calls", 0),
            failed_calls=calls1.get("failed_calls", 0) - calls0.get("failed_calls", 0),
            misses=None if misses0 is None or misses1 is None else misses1 - misses0)
        if result["failed_calls"] or result["calls"] < self.opts.redis_bench_requests:
            raise WorkloadError(f"redis r{replica}: the benchmark's script ran "
                                f"{result['calls']} times, {result['failed_calls']} "
                                f"failed, for {self.opts.redis_bench_requests} requests")
        return result

    def stop(self):
        for replica, proc in enumerate(getattr(self, "procs", [])):
            if proc.poll() is None:
                try:
                    client = RedisClient(self.port(replica), timeout=30)
                    client.sock.sendall(resp_command(("SHUTDOWN", "NOSAVE")))
                    client.close()
                except OSError:
                    pass
            stop_process(proc, timeout=30)
        self.procs = []
        rmtree(os.path.join(self.workdir, "redis"))


def read_info_field(info, field):
    for line in (info or "").splitlines():
        if line.startswith(field + ":"):
            return int(line.split(":", 1)[1])
    return None


# --- postgres --------------------------------------------------------------------------

# Database replicas or dev clones after the same load are what a container
# host runs many of; their shared_buffers (32 MB each here) are shmem, so
# they reach zswap through the same path as tmpfs, and identical buffer
# pages are what zswap dedup and KSM could merge.

PG_TABLES = ["pgbench_accounts", "pgbench_accounts_pkey", "pgbench_branches",
             "pgbench_branches_pkey", "pgbench_tellers", "pgbench_tellers_pkey",
             "pgbench_history"]
PG_VERIFY_SQL = (
    "SELECT count(*), sum(abalance), "
    "md5(string_agg(aid::text || ':' || bid::text || ':' || abalance::text "
    "|| ':' || filler, ',' ORDER BY aid)), "
    "(SELECT count(*)::text || ':' || sum(bbalance)::text FROM pgbench_branches), "
    "(SELECT count(*)::text || ':' || sum(tbalance)::text FROM pgbench_tellers), "
    "(SELECT count(*)::text || ':' || coalesce(sum(delta), 0)::text "
    "FROM pgbench_history) "
    "FROM pgbench_accounts")
# Read-back of the index as well: the verification query scans the tables.
PG_INDEX_SQL = ("SET enable_seqscan = off; SET enable_bitmapscan = off; "
                "SELECT count(aid) FROM pgbench_accounts WHERE aid > 0")


def postgres_bindir():
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/postgres"),
                   key=lambda p: int(p.split("/")[4]) if p.split("/")[4].isdigit() else 0)
    if not found:
        raise WorkloadError("PostgreSQL is not installed (/usr/lib/postgresql/*/bin/postgres)")
    return os.path.dirname(found[-1])


class PostgresService(Service):
    """Database replicas: clusters copied from one template, prewarmed."""

    name = "postgres"
    SOCKET_DIR = "/tmp"

    def port(self, replica):
        return self.opts.postgres_port_base + replica

    def datadir(self, replica):
        return os.path.join(self.workdir, "pg", f"r{replica}")

    def psql(self, port, sql, db="bench", timeout=STEP_TIMEOUT_S):
        return run([os.path.join(self.bindir, "psql"), "-X", "-q", "-At", "-F", "|",
                    "-v", "ON_ERROR_STOP=1", "-h", self.SOCKET_DIR, "-p", str(port),
                    "-U", "postgres", "-d", db, "-c", sql], timeout=timeout).strip()

    def server_argv(self, datadir, port):
        dsm = "posix" if os.path.isdir("/dev/shm") else "sysv"
        return [os.path.join(self.bindir, "postgres"), "-D", datadir,
                "-p", str(port), "-c", f"listen_addresses={self.opts.postgres_listen}",
                "-c", f"unix_socket_directories={self.SOCKET_DIR}",
                "-c", f"shared_buffers={self.opts.postgres_shared_buffers}",
                "-c", "huge_pages=off", "-c", f"dynamic_shared_memory_type={dsm}",
                "-c", "max_connections=20", "-c", "autovacuum=off",
                "-c", "fsync=off", "-c", "logging_collector=off"]

    def log_path(self, port):
        return os.path.join(RUN_DIR, f"postgres-{port}.log")

    def wait_ready(self, proc, port, timeout=180):
        deadline = time.monotonic() + timeout
        while True:
            if proc.poll() is not None:
                raise WorkloadError(f"postgres on port {port} exited with status "
                                    f"{proc.returncode}: {log_tail(self.log_path(port))}")
            try:
                self.psql(port, "SELECT 1", db="postgres", timeout=30)
                return
            except (WorkloadError, subprocess.TimeoutExpired):
                pass
            if time.monotonic() > deadline:
                raise WorkloadError(f"postgres on port {port} not ready within {timeout} s: "
                                    f"{log_tail(self.log_path(port))}")
            time.sleep(0.5)

    def prepare(self):
        """The template cluster: initdb, pgbench -i, pg_prewarm; its verification."""
        self.bindir = postgres_bindir()
        self.template = os.path.join(self.workdir, "pg-template")
        rmtree(self.template)
        rmtree(os.path.join(self.workdir, "pg"))
        entry = pwd.getpwnam("postgres")
        os.makedirs(self.template)
        os.chown(self.template, entry.pw_uid, entry.pw_gid)
        os.chmod(self.template, 0o700)
        run([os.path.join(self.bindir, "initdb"), "-D", self.template, "-U", "postgres",
             "--auth=trust", "-E", "UTF8", "--locale=C", "--no-sync"],
            user="postgres", timeout=STEP_TIMEOUT_S)
        port = self.opts.postgres_port_base + 90
        proc = spawn(self.server_argv(self.template, port), user="postgres",
                     log_path=self.log_path(port))
        try:
            self.wait_ready(proc, port)
            self.psql(port, "CREATE DATABASE bench", db="postgres")
            connect = ["-h", self.SOCKET_DIR, "-p", str(port), "-U", "postgres"]
            run([os.path.join(self.bindir, "pgbench"), "-i", "-q", "-s",
                 str(self.opts.postgres_scale)] + connect + ["bench"],
                timeout=STEP_TIMEOUT_S)
            # the same load on every replica: a deterministic run of the
            # TPC-B-like script (one client, fixed seed), then vacuum
            if self.opts.postgres_transactions:
                run([os.path.join(self.bindir, "pgbench"), "-n", "-c", "1", "-t",
                     str(self.opts.postgres_transactions), "--random-seed=20261202"]
                    + connect + ["bench"], timeout=STEP_TIMEOUT_S)
            self.psql(port, "VACUUM ANALYZE")
            self.psql(port, "CREATE EXTENSION pg_prewarm")
            self.psql(port, "CHECKPOINT")
            self.expected = self.psql(port, PG_VERIFY_SQL)
            self.version = self.psql(port, "SELECT version()")
        finally:
            stop_process(proc, sig=signal.SIGINT, timeout=120)
        return {"template": self.template, "scale": self.opts.postgres_scale,
                "transactions": self.opts.postgres_transactions,
                "shared_buffers": self.opts.postgres_shared_buffers,
                "expected": self.expected,
                "ports": [self.port(r) for r in range(self.replicas)]}

    def start(self, ksm):
        self.procs = []
        for replica in range(self.replicas):
            datadir = self.datadir(replica)
            rmtree(datadir)
            os.makedirs(os.path.dirname(datadir), exist_ok=True)
            run(["cp", "-a", self.template, datadir], timeout=STEP_TIMEOUT_S)
            self.procs.append(spawn(self.server_argv(datadir, self.port(replica)),
                                    cgroup=self.cgroup(replica), ksm=ksm,
                                    user="postgres",
                                    log_path=self.log_path(self.port(replica))))
        for replica, proc in enumerate(self.procs):
            self.wait_ready(proc, self.port(replica))

    def load_replica(self, replica):
        start = time.monotonic()
        tables = ",".join(f"'{t}'" for t in PG_TABLES)
        blocks = self.psql(self.port(replica), "SELECT sum(pg_prewarm(t::regclass)) "
                           f"FROM unnest(ARRAY[{tables}]) t")
        return {"replica": replica, "seconds": round(time.monotonic() - start, 3),
                "prewarmed_blocks": int(blocks)}

    def load(self):
        loaded = all_or_raise(in_parallel(
            {r: (lambda r=r: self.load_replica(r)) for r in range(self.replicas)}))
        return {"replicas": [loaded[r] for r in range(self.replicas)]}

    def readback_replica(self, replica):
        start = time.monotonic()
        index_rows = self.psql(self.port(replica), PG_INDEX_SQL)
        result = self.psql(self.port(replica), PG_VERIFY_SQL)
        return {"replica": replica, "seconds": round(time.monotonic() - start, 3),
                "result": result, "index_rows": int(index_rows),
                "verified": result == self.expected}

    def readback(self):
        done = all_or_raise(in_parallel(
            {r: (lambda r=r: self.readback_replica(r)) for r in range(self.replicas)}))
        replicas = [done[r] for r in range(self.replicas)]
        problems = [f"r{r['replica']}: {r['result']!r} != template's {self.expected!r}"
                    for r in replicas if not r["verified"]]
        return {"replicas": replicas, "problems": problems}

    def stop(self):
        for proc in getattr(self, "procs", []):
            stop_process(proc, sig=signal.SIGINT, timeout=120)   # fast shutdown
        self.procs = []
        rmtree(os.path.join(self.workdir, "pg"))


SERVICES = {"weights": WeightsService, "redis": RedisService,
            "python": PythonService, "shmem": ShmemService,
            "postgres": PostgresService}


# --- one configuration ---------------------------------------------------------------

class ServiceRun:
    """What one service did in one configuration: becomes its run record."""

    def __init__(self, service):
        self.service = service
        self.failed_phase = None
        self.problems = []
        self.correct = None
        self.fields = {"start_s": None, "load_s": None, "load": None,
                       "before": None, "before_ksm": None, "estimate": None,
                       "estimate_error": None, "pressure": None, "after": None,
                       "after_ksm": None, "readback": None, "bench": None}
        self.per_replica = [{"replica": r, "cgroup": service.cgroup(r),
                             "before": None, "after": None, "pressure": None}
                            for r in range(service.replicas)]

    @property
    def alive(self):
        return self.failed_phase is None


class ConfigRun:
    """One repetition of one configuration."""

    def __init__(self, rep, position, name, services, kernel, opts):
        self.rep, self.position, self.name = rep, position, name
        self.settings = CONFIGS[name]
        self.kernel, self.opts = kernel, opts
        self.runs = [ServiceRun(s) for s in services]
        self.times = {}
        self.snapshots = {}
        self.ksm_wait = None
        self.pagescan = False
        self.state = {"dedup_enabled": None, "dedup_policy": None}
        self.settle = None
        self.ok = True

    def fail(self, run, phase, exc):
        """@run's service failed in @phase: record it, it sits out the rest."""
        run.failed_phase = phase
        correctness = isinstance(exc, DataMismatch)
        if correctness:
            run.problems += exc.problems
            run.correct = False
        REC.error(exception_text(exc), rep=self.rep, config=self.name,
                  service=run.service.name, phase=phase, correctness=correctness)
        # stopped now, so that its memory does not weigh on the others'
        # measurements; teardown() stops it again (stop() is idempotent)
        try:
            run.service.stop()
        except Exception as stop_exc:
            log(f"{run.service.name}: stop after failure: {exception_text(stop_exc)}")

    def running(self):
        """The services that have not failed yet."""
        return [run for run in self.runs if run.alive]

    def timed(self, phase, fn):
        start = time.monotonic()
        try:
            return fn()
        finally:
            self.times[f"{phase}_s"] = round(time.monotonic() - start, 3)

    # -- phases --

    def setup(self):
        kernel, settings = self.kernel, self.settings
        kernel.set_ksm(None)
        kernel.set_dedup(settings["dedup"])
        if settings["policy"] is None and settings["dedup"]:
            kernel.ensure_builtin_policy()
        create_cgroups({run.service.name: run.service.replicas for run in self.runs})
        if settings["policy"] == "tenant":
            kernel.load_tenant_policy([run.service for run in self.runs])
        kernel.set_ksm(settings["ksm"])

    def start_and_load(self):
        ksm = self.settings["ksm"] is not None

        def start_and_load_one(run):
            start = time.monotonic()
            try:
                run.service.start(ksm)
            except Exception as exc:
                self.fail(run, "start", exc)
                return
            run.fields["start_s"] = round(time.monotonic() - start, 3)
            log(f"{run.service.name}: {run.service.replicas} replicas started in "
                f"{run.fields['start_s']:.1f} s; loading")
            start = time.monotonic()
            try:
                run.fields["load"] = run.service.load()
            except Exception as exc:
                self.fail(run, "load", exc)
                return
            run.fields["load_s"] = round(time.monotonic() - start, 3)
            log(f"{run.service.name}: loaded in {run.fields['load_s']:.1f} s")

        in_parallel({run.service.name: (lambda run=run: start_and_load_one(run))
                     for run in self.runs})

    def wait_for_ksm(self):
        """Until ksmd converged (see the header) or --ksm-wait seconds."""
        kernel = self.kernel
        start, cpu0 = time.monotonic(), kernel.ksmd_cpu_s()
        scans0 = read_int(KSM_DIR + "/full_scans")
        last_scans, at_scan_end = scans0, []
        converged, shown = False, start
        while True:
            scans = read_int(KSM_DIR + "/full_scans")
            sharing = read_int(KSM_DIR + "/pages_sharing")
            if scans != last_scans:
                at_scan_end.append(sharing)
                last_scans = scans
            if (scans - scans0 >= 2 and len(at_scan_end) >= 2 and
                    abs(at_scan_end[-1] - at_scan_end[-2]) <= 0.01 * max(at_scan_end[-1], 1)):
                converged = True
                break
            elapsed = time.monotonic() - start
            if elapsed >= self.opts.ksm_wait:
                break
            if time.monotonic() - shown >= 10:
                shown = time.monotonic()
                log(f"ksm: {elapsed:.0f} s, {scans - scans0} full scans, "
                    f"pages_sharing {sharing}")
            time.sleep(0.5)
        cpu1 = kernel.ksmd_cpu_s()
        counters = numeric_files(KSM_DIR)
        self.ksm_wait = {
            "converged": converged, "wall_s": round(time.monotonic() - start, 3),
            "ksmd_cpu_s": None if cpu0 is None or cpu1 is None else round(cpu1 - cpu0, 3),
            "full_scans": counters.get("full_scans", 0) - scans0}
        for key in ("pages_sharing", "pages_shared", "pages_unshared",
                    "pages_volatile", "general_profit"):
            self.ksm_wait[key] = counters.get(key)
        log(f"ksm: {'converged' if converged else 'NOT converged'} in "
            f"{self.ksm_wait['wall_s']:.0f} s, {self.ksm_wait['full_scans']} full scans, "
            f"pages_sharing {self.ksm_wait['pages_sharing']}, ksmd "
            f"{self.ksm_wait['ksmd_cpu_s']} CPU s")

    def measure(self, when):
        """{memory} per replica and summed, {ksm} per service, into @when."""
        for run in self.running():
            service = run.service
            memories = []
            for replica, entry in enumerate(run.per_replica):
                entry[when] = cgroup_memory(service.cgroup(replica))
                memories.append(entry[when])
            total = sum_dicts(memories)
            if total is not None:
                total.update(derived_memory(total))
            run.fields[when] = total
            pids = service_pids(service)
            run.fields[f"{when}_ksm"] = ksm_process_stats(pids) if pids else None

    def check_ksm_opt_in(self):
        """Every workload process of a KSM configuration has merge_any."""
        for run in self.running():
            stats = run.fields["before_ksm"]
            if stats and stats["merge_any"] < stats["processes"]:
                REC.error(f"{stats['processes'] - stats['merge_any']} of "
                          f"{stats['processes']} processes without PR_SET_MEMORY_MERGE",
                          rep=self.rep, config=self.name, service=run.service.name,
                          phase="measure", incomplete=False)

    def estimate(self):
        for run in self.running():
            try:
                run.fields["estimate"] = self.kernel.estimate(run.service)
            except Exception as exc:
                run.fields["estimate_error"] = exception_text(exc)
                REC.error(exception_text(exc), rep=self.rep, config=self.name,
                          service=run.service.name, phase="estimate", incomplete=False)

    def scan_pages(self):
        """The page-content scan of every service: one "pagescan" record each."""
        for run in self.running():
            service = run.service
            pids = service_pids(service)
            log(f"{service.name}: pagescan of {len(pids)} processes")
            start = time.monotonic()
            try:
                result, error = pagescan_service(service, pids, self.opts.pagescan_max_pages), None
            except Exception as exc:
                result, error = None, exception_text(exc)
                REC.error(f"pagescan: {error}", rep=self.rep, config=self.name,
                          service=service.name, phase="pagescan", incomplete=False)
            REC.emit("pagescan", rep=self.rep, config=self.name, service=service.name,
                     processes=len(pids), seconds=round(time.monotonic() - start, 3),
                     result=result, error=error)

    def pressure(self):
        for run in self.running():
            service = run.service
            if OPT.no_cgroups:
                run.fields["pressure"] = {"skipped": "no cgroups"}
                continue
            pids = service_pids(service)
            cleared = clear_referenced(pids)
            wall0, (sys0, user0) = time.monotonic(), cpu_times()
            writes = eagain = 0
            try:
                for replica, entry in enumerate(run.per_replica):
                    start = time.monotonic()
                    result = push_out(service.cgroup(replica), self.opts.reclaim)
                    entry["pressure"] = dict(result, wall_s=round(time.monotonic() - start, 3))
                    writes += result["writes"]
                    eagain += result["eagain"]
            except Exception as exc:
                self.fail(run, "pressure", exc)
                continue
            sys1, user1 = cpu_times()
            run.fields["pressure"] = {
                "wall_s": round(time.monotonic() - wall0, 3),
                "sys_cpu_s": round(sys1 - sys0, 3), "user_cpu_s": round(user1 - user0, 3),
                "writes": writes, "eagain": eagain, "clear_refs_processes": cleared}
            log(f"{service.name}: pushed out in {run.fields['pressure']['wall_s']:.1f} s "
                f"({run.fields['pressure']['sys_cpu_s']:.1f} s system)")

    def readback(self):
        for run in self.running():
            start = time.monotonic()
            try:
                result = run.service.readback()
            except Exception as exc:
                # a replica that cannot read its data back did not verify
                self.fail(run, "readback",
                          DataMismatch([f"read-back failed: {exception_text(exc)}"]))
                continue
            wall = round(time.monotonic() - start, 3)
            run.fields["readback"] = {"wall_s": wall, "replicas": result["replicas"]}
            run.problems += result["problems"]
            run.correct = not result["problems"]
            if result["problems"]:
                REC.error("; ".join(result["problems"]), rep=self.rep, config=self.name,
                          service=run.service.name, phase="readback", correctness=True)
            log(f"{run.service.name}: read back in {wall:.1f} s, "
                f"{'verified' if run.correct else 'CORRUPTED'}")

    def bench_limits(self, run):
        """
        memory.high per replica of @run's service for the bench phase (see
        the header), from the replica's memory.current before and after
        the pressure in the first configuration without KSM that measured
        them (else this one's); and where they were measured.  None per
        replica without cgroups.
        """
        service = run.service
        if OPT.no_cgroups:
            return [None] * service.replicas, None
        held = {when: [get_field(entry, when, "memory_current") for entry in run.per_replica]
                for when in ("before", "after")}
        measured = all(held["before"]) and all(held["after"])
        if service.bench_basis is None and self.settings["ksm"] is None and measured:
            service.bench_basis = dict(held, rep=self.rep, config=self.name)
        basis = service.bench_basis or dict(held, rep=self.rep, config=self.name)
        if not (all(basis["before"]) and all(basis["after"])):
            raise WorkloadError("no memory.current before and after the pressure "
                                "to base memory.high on")
        fraction = self.opts.redis_bench_high
        limits = []
        for replica, (loaded, floor) in enumerate(zip(basis["before"], basis["after"])):
            limit = floor + int(fraction * max(loaded - floor, 0))
            limit = limit // PAGE_SIZE * PAGE_SIZE
            # under what the replica holds with everything pushed out it
            # could only thrash: every request throttled (seconds each)
            own_floor = held["after"][replica]
            if own_floor is not None and limit < own_floor + BENCH_MIN_HEADROOM:
                raise WorkloadError(
                    f"r{replica}: memory.high {limit} would leave less than "
                    f"{BENCH_MIN_HEADROOM >> 20} MiB above its memory.current after the "
                    f"pressure ({own_floor}): it would only thrash")
            limits.append(limit)
        return limits, {"rep": basis["rep"], "config": basis["config"]}

    def bench(self):
        """The request benchmark of the services that have one (see the header)."""
        for run in self.running():
            service = run.service
            if not service.has_bench or run.correct is False:
                continue
            record = {"tool": "redis-benchmark", "command": " ".join(service.bench_command()),
                      "requests": self.opts.redis_bench_requests,
                      "clients": self.opts.redis_bench_clients,
                      "keyspace": self.opts.redis_keys,
                      "high_fraction": self.opts.redis_bench_high, "high_basis": None,
                      "limit_s": None, "wall_s": None, "verified": None, "verify_s": None,
                      "error": None,
                      "p50_ms": None, "p95_ms": None, "p99_ms": None, "rps": None,
                      "replicas": []}
            run.fields["bench"] = record
            start = time.monotonic()
            try:
                self.bench_service(run, record)
            except Exception as exc:
                record["error"] = exception_text(exc)
                REC.error(f"bench: {exception_text(exc)}", rep=self.rep, config=self.name,
                          service=service.name, phase="bench")
            finally:
                for replica in range(0 if OPT.no_cgroups else service.replicas):
                    try:
                        write_file(service.cgroup(replica) + "/memory.high", "max")
                    except OSError as exc:
                        REC.error(f"bench: memory.high max: {exception_text(exc)}",
                                  rep=self.rep, config=self.name,
                                  service=service.name, phase="bench")
            record["wall_s"] = round(time.monotonic() - start, 3)
            checked = ""
            if self.opts.redis_bench_verify:
                start = time.monotonic()
                self.bench_verify(run, record)
                record["verify_s"] = round(time.monotonic() - start, 3)
                checked = (f", then {'verified' if record['verified'] else 'CORRUPTED'} "
                           f"in {record['verify_s']:.1f} s")
            log(f"{service.name}: benchmark p50 {record['p50_ms']} ms, p99 "
                f"{record['p99_ms']} ms, {record['rps']} requests/s in "
                f"{record['wall_s']:.1f} s{checked}"
                f"{'' if record['error'] is None else '; FAILED: ' + record['error']}")

    def bench_service(self, run, record):
        """Every replica at its limit, then the benchmark one replica at a time."""
        service = run.service
        limits, record["high_basis"] = self.bench_limits(run)
        start = time.monotonic()
        for replica, limit in enumerate(limits):
            if limit is not None:
                write_file(service.cgroup(replica) + "/memory.high", str(limit))
        record["limit_s"] = round(time.monotonic() - start, 3)
        for replica, limit in enumerate(limits):
            cgroup = service.cgroup(replica)
            memory0 = cgroup_memory(cgroup)
            events0 = read_keyed(cgroup + "/memory.events")
            result = service.bench_replica(replica)
            memory1 = cgroup_memory(cgroup)
            events1 = read_keyed(cgroup + "/memory.events")
            entry = {"replica": replica, "memory_high": limit,
                     "memory_current": get_field(memory0, "memory_current"), **result}
            for key in ("zswpin", "zswpout", "zswpout_dedup"):
                entry[key] = counter_delta(memory0, memory1, key)
            entry["high_events"] = counter_delta(events0, events1, "high")
            record["replicas"].append(entry)
        for key in ("p50_ms", "p95_ms", "p99_ms", "rps"):
            record[key] = statistics.median(entry[key] for entry in record["replicas"])

    def bench_verify(self, run, record):
        """Every replica's data again after the benchmark (memory.high back at max)."""
        try:
            result = run.service.readback()
        except Exception as exc:
            result = {"problems": [f"check after the benchmark failed: {exception_text(exc)}"]}
        record["verified"] = not result["problems"]
        if result["problems"]:
            problems = [f"after the benchmark: {problem}" for problem in result["problems"]]
            run.problems += problems
            run.correct = False
            REC.error("; ".join(problems), rep=self.rep, config=self.name,
                      service=run.service.name, phase="bench", correctness=True)

    def teardown(self):
        """Stop everything and put the kernel back (see the header)."""
        for run in self.runs:
            try:
                run.service.stop()
            except Exception as exc:
                REC.error(f"stop: {exception_text(exc)}", rep=self.rep, config=self.name,
                          service=run.service.name, phase="teardown")
        if not OPT.no_cgroups:
            leftovers = kill_leftovers()
            if leftovers:
                REC.error(f"processes left in {CGROOT} after stop, killed: {leftovers}",
                          rep=self.rep, config=self.name, phase="teardown",
                          incomplete=False)
        steps = [("ksm off", lambda: self.kernel.set_ksm(None)),
                 ("unload policy", self.kernel.unload_policy)]
        for what, step in steps:
            try:
                step()
            except Exception as exc:
                REC.error(f"{what}: {exception_text(exc)}", rep=self.rep,
                          config=self.name, phase="teardown")
        if not remove_cgroups():
            REC.error(f"cannot remove {CGROOT}", rep=self.rep, config=self.name,
                      phase="teardown")
        self.kernel.drop_caches()
        self.settle = settle(self.kernel, self.rep, self.name)

    def execute(self):
        log(f"=== rep {self.rep}, configuration {self.name}: {self.settings['label']}")
        total0 = time.monotonic()
        self.snapshots["start"] = self.kernel.snapshot()
        try:
            self.timed("setup", self.setup)
        except Exception as exc:
            self.ok = False
            REC.error(f"setup: {exception_text(exc)}", rep=self.rep, config=self.name,
                      phase="setup")
            for run in self.runs:
                run.failed_phase = "setup"
        else:
            self.measure_and_verify()
        self.timed("teardown", self.teardown)
        self.snapshots["after_teardown"] = self.kernel.snapshot()
        self.times["total_s"] = round(time.monotonic() - total0, 3)
        self.emit()

    def measure_and_verify(self):
        self.timed("load", self.start_and_load)
        self.snapshots["loaded"] = self.kernel.snapshot()
        if self.settings["ksm"] is not None:
            self.timed("ksm_wait", self.wait_for_ksm)
        self.measure("before")
        if self.settings["ksm"] is not None:
            self.check_ksm_opt_in()
        if self.name in self.opts.estimate_in and not OPT.no_cgroups:
            self.timed("estimate", self.estimate)
        if self.pagescan:
            self.timed("pagescan", self.scan_pages)
        self.state = self.kernel.dedup_state()
        self.snapshots["before_pressure"] = self.kernel.snapshot()
        self.timed("pressure", self.pressure)
        self.snapshots["after_pressure"] = self.kernel.snapshot()
        self.measure("after")
        self.timed("readback", self.readback)
        self.snapshots["after_readback"] = self.kernel.snapshot()
        if self.name in self.opts.redis_bench_in and \
                any(run.service.has_bench for run in self.running()):
            self.snapshots["before_bench"] = self.kernel.snapshot()
            self.timed("bench", self.bench)
            self.snapshots["after_bench"] = self.kernel.snapshot()

    def emit(self):
        for run in self.runs:
            REC.emit("run", rep=self.rep, config=self.name, position=self.position,
                     service=run.service.name, replicas=run.service.replicas,
                     ok=run.alive, failed_phase=run.failed_phase, correct=run.correct,
                     problems=run.problems, **run.fields, per_replica=run.per_replica)
        REC.emit("config", rep=self.rep, config=self.name, position=self.position,
                 label=self.settings["label"],
                 ok=self.ok and all(run.alive for run in self.runs),
                 dedup_enabled=self.state["dedup_enabled"],
                 dedup_policy=self.state["dedup_policy"],
                 ksm_settings=self.settings["ksm"],
                 services=[run.service.name for run in self.runs],
                 times=self.times, ksm_wait=self.ksm_wait, snapshots=self.snapshots,
                 pressure_delta=snapshot_delta(self.snapshots, "before_pressure",
                                               "after_pressure"),
                 readback_delta=snapshot_delta(self.snapshots, "after_pressure",
                                               "after_readback"),
                 bench_delta=snapshot_delta(self.snapshots, "before_bench", "after_bench"),
                 settle=self.settle)


PAGESCAN = os.path.join(os.path.dirname(SELF), "pagescan.py")
PAGESCAN_RUN = """import json, resource, sys
sys.path.insert(0, {dir!r})
import pagescan
with open({args!r}) as f:
    args = json.load(f)
# pagescan opens every file of the domain at once (the shmem service's
# 1,600 files are more than the default 1,024); root may raise the limit
_, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
want = max(hard, len(args["files"]) + 256)
resource.setrlimit(resource.RLIMIT_NOFILE, (want, want))
print(json.dumps(pagescan.scan_domain(**args)))
"""


def pagescan_service(service, pids, max_pages):
    """
    tests/compare/pagescan.py on one service (its processes, the shmem
    service's files too, PostgreSQL's shared buffers too), in a child
    process so that its tables are freed after: its result dict.
    """
    files = []
    if isinstance(service, ShmemService):
        for replica in range(service.replicas):
            for root, _, names in os.walk(service.mount_point(replica)):
                files += sorted(os.path.join(root, name) for name in names)
    args = {"pids": pids, "files": files, "max_pages": max_pages,
            "shared_anon": isinstance(service, PostgresService)}
    args_path = os.path.join(RUN_DIR, f"pagescan-{service.name}.json")
    os.makedirs(RUN_DIR, exist_ok=True)
    with open(args_path, "w") as f:
        json.dump(args, f)
    code = PAGESCAN_RUN.format(dir=os.path.dirname(PAGESCAN), args=args_path)
    out = run([sys.executable, "-c", code], timeout=STEP_TIMEOUT_S)
    return json.loads(out.strip().splitlines()[-1])


def snapshot_delta(snapshots, first, second):
    """{zswap, vmstat}: @second - @first, key by key."""
    a, b = snapshots.get(first), snapshots.get(second)
    if not a or not b or "zswap" not in a or "zswap" not in b:
        return None
    return {part: {k: b[part][k] - a[part].get(k, 0) for k in b[part]}
            for part in ("zswap", "vmstat")}


SETTLE_BASELINE = {}


def settled():
    """(near zero?, swap used, pages in zswap): back near where the driver began."""
    used = swap_used()
    stored = read_int(ZSWAP_DEBUGFS + "/stored_pages") or 0
    near = (used <= SETTLE_BASELINE["swap_used"] + SETTLE_SWAP_SLACK and
            stored <= SETTLE_BASELINE["stored_pages"] + SETTLE_SWAP_SLACK // PAGE_SIZE)
    return near, used, stored


def settle(kernel, rep, config):
    """
    Wait until swap and zswap are back near where the driver found them.
    Slots can stay behind after every process exited (swap cache pages
    are freed lazily: 4.7 MiB on the swap disk after ksm-aggressive,
    2026-12-02): after SETTLE_TIMEOUT_S, swapoff/swapon every swap
    device.  An error only if that does not bring them back either.
    """
    if OPT.no_cgroups:
        return None
    start = time.monotonic()
    near, used, stored = settled()
    while not near and time.monotonic() - start < SETTLE_TIMEOUT_S:
        time.sleep(0.5)
        near, used, stored = settled()
    result = {"seconds": None, "settled": near, "swap_used": used,
              "stored_pages": stored, "reset_swap": not near}
    if not near:
        log(f"swap not back near zero after the teardown ({used} bytes used, "
            f"{stored} pages in zswap): swapoff/swapon")
        reset_swap()
        near_after, used_after, stored_after = settled()
        result.update(swap_used_after_reset=used_after,
                      stored_pages_after_reset=stored_after)
        if not near_after:
            REC.error(f"swap not back near zero after the teardown and a swapoff/swapon: "
                      f"{used_after} bytes of swap used, {stored_after} pages in zswap "
                      f"(at start: {SETTLE_BASELINE})", rep=rep, config=config,
                      phase="teardown", swap_used=used_after, stored_pages=stored_after,
                      incomplete=False)
    result["seconds"] = round(time.monotonic() - start, 3)
    return result


def reset_swap():
    """swapoff and swapon every swap device: brings anything left back to RAM."""
    devices = [line.split()[0] for line in read_text("/proc/swaps").splitlines()[1:]]
    for device in devices:
        run(["swapoff", device], timeout=STEP_TIMEOUT_S, check=False)
        run(["swapon", device], timeout=120, check=False)


# --- the driver ----------------------------------------------------------------------

def parse_args(argv):
    import argparse     # here: the agents, which import this file too, need not
    parser = argparse.ArgumentParser(
        prog="compare.py",
        description="make compare's guest driver: zdedup vs KSM vs stock zswap "
                    "on real software (see the header of this file)")
    parser.add_argument("--reps", type=int, default=3)
    parser.add_argument("--configs", default=",".join(ALL_CONFIGS),
                        help="comma-separated, in run order: " + ",".join(ALL_CONFIGS))
    parser.add_argument("--ksm-wait", type=float, default=90,
                        help="seconds ksmd gets to converge before the pressure")
    parser.add_argument("--only", default=",".join(ALL_WORKLOADS),
                        help="comma-separated workloads: " + ",".join(ALL_WORKLOADS))
    parser.add_argument("--weights-replicas", type=int, default=4)
    parser.add_argument("--weights-mib", type=int, default=16)
    parser.add_argument("--weights-private-mib", type=int, default=2)
    parser.add_argument("--redis-replicas", type=int, default=3)
    parser.add_argument("--redis-keys", type=int, default=40000)
    parser.add_argument("--redis-port-base", type=int, default=6381)
    parser.add_argument("--redis-bench-requests", type=int, default=REDIS_BENCH_REQUESTS,
                        help="bench phase: redis-benchmark requests per replica "
                             "under memory.high (0: no bench phase)")
    parser.add_argument("--redis-bench-clients", type=int, default=4,
                        help="bench phase: redis-benchmark's connections (-c)")
    parser.add_argument("--redis-bench-in", default="stock,builtin,tenant",
                        help="bench phase: the configurations in which it runs "
                             "(comma-separated; '' : none)")
    parser.add_argument("--redis-bench-verify", action="store_true",
                        help="bench phase: every replica's DEBUG DIGEST again after it "
                             "(10-15 s under TCG)")
    parser.add_argument("--redis-bench-high", type=float, default=0.5,
                        help="bench phase: memory.high this fraction of the way from a "
                             "replica's memory.current after the pressure (everything "
                             "pushed out) to before it (loaded)")
    parser.add_argument("--python-replicas", type=int, default=3)
    parser.add_argument("--python-mib", type=int, default=12)
    parser.add_argument("--shmem-replicas", type=int, default=3)
    parser.add_argument("--shmem-mib", type=int, default=12)
    parser.add_argument("--postgres-replicas", type=int, default=2)
    parser.add_argument("--postgres-scale", type=int, default=1)
    parser.add_argument("--postgres-shared-buffers", default="32MB")
    parser.add_argument("--postgres-transactions", type=int, default=1000,
                        help="pgbench transactions run on the template after -i")
    parser.add_argument("--postgres-port-base", type=int, default=5433)
    parser.add_argument("--postgres-listen", default="127.0.0.1",
                        help="listen_addresses ('' : unix sockets only)")
    parser.add_argument("--reclaim", default="steps",
                        help="what each memory.reclaim write asks for: 'steps' "
                             "(1/8 of what the replica holds) or a size (1G)")
    parser.add_argument("--workdir", default="/var/tmp/zdedup-compare")
    parser.add_argument("--loader", default="/opt/zdedup/bin/zdedup-loader")
    parser.add_argument("--estimate-in", default="tenant",
                        help="configurations in which `zdedup-loader estimate` runs "
                             "before the pressure (comma-separated; '' : none)")
    parser.add_argument("--no-pagescan", dest="pagescan", action="store_false",
                        help="skip pagescan.py (the near-duplicate scan, once a boot)")
    parser.add_argument("--pagescan-max-pages", type=int, default=None,
                        help="pagescan's max_pages (sampling beyond it)")
    parser.add_argument("--no-cgroups", action="store_true",
                        help="test mode (chroot): workloads only, no cgroups, "
                             "pressure or kernel settings")
    opts = parser.parse_args(argv)
    opts.configs = [c for c in opts.configs.split(",") if c]
    opts.only = [w for w in opts.only.split(",") if w]
    opts.estimate_in = [c for c in opts.estimate_in.split(",") if c]
    opts.redis_bench_in = [c for c in opts.redis_bench_in.split(",") if c]
    for config in opts.configs:
        if config not in CONFIGS:
            parser.error(f"unknown configuration {config!r} (known: {', '.join(ALL_CONFIGS)})")
    for workload in opts.only:
        if workload not in SERVICES:
            parser.error(f"unknown workload {workload!r} (known: {', '.join(ALL_WORKLOADS)})")
    if opts.redis_bench_requests < 0 or opts.redis_bench_clients < 1 or \
            not 0 < opts.redis_bench_high <= 1:
        parser.error("--redis-bench-requests >= 0, --redis-bench-clients >= 1, "
                     "0 < --redis-bench-high <= 1")
    if opts.reps < 1 or not opts.configs or not opts.only:
        parser.error("nothing to run")
    return opts


def run_order(configs, reps):
    """Repetition r runs @configs rotated left by r."""
    return [configs[r % len(configs):] + configs[:r % len(configs)] for r in range(reps)]


def version_of(argv):
    try:
        return run(argv, timeout=60).strip().splitlines()[0]
    except Exception as exc:
        return f"unavailable: {exception_text(exc)}"


def versions(opts, services):
    found = {"python": platform.python_version()}
    try:
        import numpy
        found["numpy"] = numpy.__version__
    except ImportError as exc:
        found["numpy"] = f"unavailable: {exc}"
    found["redis"] = version_of(["redis-server", "--version"])
    try:
        found["postgres"] = version_of([os.path.join(postgres_bindir(), "postgres"),
                                        "--version"])
    except WorkloadError as exc:
        found["postgres"] = f"unavailable: {exc}"
    found["loader"] = version_of([opts.loader, "--version"])
    return found


def prepare_services(opts):
    """Build every selected service's data; those that fail sit out the run."""
    services, prepared = [], {}
    os.makedirs(opts.workdir, mode=0o755, exist_ok=True)
    os.chmod(opts.workdir, 0o755)
    for name in opts.only:
        service = SERVICES[name](opts, opts.workdir)
        start = time.monotonic()
        log(f"preparing {name}")
        try:
            prepared[name] = service.prepare()
        except Exception as exc:
            REC.error(f"prepare: {exception_text(exc)}", service=name, phase="prepare",
                      traceback=traceback.format_exc()[-1500:])
            continue
        prepared[name]["seconds"] = round(time.monotonic() - start, 3)
        log(f"prepared {name} in {prepared[name]['seconds']:.1f} s")
        services.append(service)
    return services, prepared


def emit_meta(opts, kernel, services, prepared, order, scan_in):
    uname = os.uname()
    info = meminfo()
    sizes = {key: value for key, value in vars(opts).items()
             if key.split("_")[0] in SERVICES}
    REC.emit("meta", kernel=uname.release, kernel_version=uname.version,
             machine=uname.machine, cpus=os.cpu_count(),
             mem_total_bytes=info.get("MemTotal"), swap_total_bytes=info.get("SwapTotal"),
             page_size=PAGE_SIZE, zswap_params=text_files(ZSWAP_PARAMS),
             zswap_debugfs_files=sorted(os.listdir(ZSWAP_DEBUGFS))
             if os.path.isdir(ZSWAP_DEBUGFS) else [],
             thp={name: bracketed(f"{THP_DIR}/{name}")
                  for name in ("enabled", "defrag", "shmem_enabled")},
             ksm_available=kernel.has_ksm,
             ksm_files=text_files(KSM_DIR) if kernel.has_ksm else {},
             ksm_settings={name: CONFIGS[name]["ksm"] for name in opts.configs
                           if CONFIGS[name]["ksm"]},
             configs=opts.configs, order=order, reps=opts.reps, ksm_wait_s=opts.ksm_wait,
             workloads=[s.name for s in services], sizes=sizes,
             reclaim_request=opts.reclaim,
             tenant_groups={s.name: TENANT_GROUPS[s.name] for s in services},
             versions=versions(opts, services), prepared=prepared,
             pagescan=({"rep": scan_in[0], "config": scan_in[1], "module": PAGESCAN}
                       if scan_in else None),
             no_cgroups=opts.no_cgroups)


def check_kernel(opts, kernel):
    """Missing pieces fail clearly, before the long part."""
    if opts.no_cgroups:
        return
    if not os.path.isfile(f"{CGROUP_FS}/cgroup.subtree_control") or \
            "memory" not in read_text(f"{CGROUP_FS}/cgroup.subtree_control"):
        REC.error(f"no cgroup2 memory controller at {CGROUP_FS}", phase="check")
    needs_dedup = any(CONFIGS[c]["dedup"] for c in opts.configs)
    if needs_dedup and not kernel.has_dedup:
        REC.error(f"this kernel has no zswap dedup ({DEDUP_SWITCH})", phase="check")
    if any(CONFIGS[c]["ksm"] for c in opts.configs) and not kernel.has_ksm:
        REC.error(f"this kernel has no KSM ({KSM_DIR}); KSM configurations will fail",
                  phase="check")
    if read_text("/proc/swaps").count("\n") < 2:
        REC.error("no swap device is on", phase="check")
    if bracketed(ZSWAP_PARAMS + "/enabled") not in ("Y", "1"):
        REC.error(f"zswap is not enabled ({ZSWAP_PARAMS}/enabled)", phase="check")


def mount_bpffs(opts):
    """zdedup-loader pins policies in /sys/fs/bpf: mount it if a policy is used."""
    if opts.no_cgroups or not any(CONFIGS[c]["policy"] for c in opts.configs):
        return
    if os.path.ismount("/sys/fs/bpf"):
        return
    log("mounting bpffs on /sys/fs/bpf for zdedup-loader")
    try:
        run(["mount", "-t", "bpf", "bpf", "/sys/fs/bpf"], timeout=60)
    except Exception as exc:
        REC.error(f"cannot mount bpffs on /sys/fs/bpf: {exception_text(exc)}",
                  phase="check")


def restore_kernel(kernel, dedup_at_start):
    if OPT.no_cgroups:
        return
    try:
        kernel.set_ksm(None)
        kernel.unload_policy()
        if dedup_at_start is not None:
            write_file(DEDUP_SWITCH, dedup_at_start)
    except Exception as exc:
        REC.error(f"restoring the kernel's settings: {exception_text(exc)}",
                  phase="end", incomplete=False)


def cache_bytecode():
    """Compile this file once, for the children (see SELF_MAIN)."""
    import py_compile
    try:
        py_compile.compile(SELF, doraise=True)
    except (OSError, py_compile.PyCompileError) as exc:
        log(f"cannot cache {SELF}'s bytecode ({exc}): every agent compiles it")


def pagescan_config(opts, order):
    """(rep, config) of the page-content scan: the first without KSM (whose
    merged pages would count once), or None."""
    if not opts.pagescan or not os.path.isfile(PAGESCAN):
        return None
    for name in order[0]:
        if CONFIGS[name]["ksm"] is None:
            return (1, name)
    return None


def driver_main(argv):
    opts = parse_args(argv)
    cache_bytecode()
    OPT.no_cgroups = opts.no_cgroups
    signal.signal(signal.SIGPIPE, signal.SIG_DFL)
    kernel = Kernel(opts.loader)
    dedup_at_start = None
    try:
        log(f"kernel {os.uname().release}; configurations {','.join(opts.configs)}, "
            f"{opts.reps} repetitions; workloads {','.join(opts.only)}"
            f"{'; NO CGROUPS (test mode)' if opts.no_cgroups else ''}")
        if not opts.no_cgroups:
            dedup_at_start = read_text(DEDUP_SWITCH).strip() if kernel.has_dedup else None
            kill_leftovers()
            remove_cgroups()
            kernel.set_ksm(None)
            SETTLE_BASELINE.update(swap_used=swap_used(),
                                   stored_pages=read_int(ZSWAP_DEBUGFS + "/stored_pages") or 0)
        check_kernel(opts, kernel)
        mount_bpffs(opts)
        services, prepared = prepare_services(opts)
        order = run_order(opts.configs, opts.reps)
        scan_in = pagescan_config(opts, order)
        if opts.pagescan and not scan_in:
            log(f"no page-content scan: {PAGESCAN} absent or every configuration uses KSM")
        emit_meta(opts, kernel, services, prepared, order, scan_in)
        if not services:
            REC.error("no workload could be prepared", phase="prepare")
        else:
            for rep, configs in enumerate(order, start=1):
                for position, name in enumerate(configs):
                    config_run = ConfigRun(rep, position, name, services, kernel, opts)
                    config_run.pagescan = (rep, name) == scan_in
                    config_run.execute()
    except Exception as exc:
        REC.error(f"driver: {exception_text(exc)}", phase="driver",
                  traceback=traceback.format_exc()[-2000:])
    finally:
        restore_kernel(kernel, dedup_at_start)
        summary = REC.end()
        log(f"done: {summary}")
    return 0 if summary["ok"] and summary["complete"] else 1


def main():
    argv = sys.argv[1:]
    if argv[:1] == ["--exec-as"]:
        return exec_as_main(argv[1:])
    if argv[:1] == ["--agent"]:
        return agent_main(argv)
    return driver_main(argv)


if __name__ == "__main__":
    sys.exit(main())
