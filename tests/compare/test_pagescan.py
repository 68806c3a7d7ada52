#!/usr/bin/env python3
"""Tests of pagescan.py: processes and files of known content, scanned, and
the counts checked exactly, both against numbers worked out by hand and
against a brute-force reference (all pairs of distinct contents).

Runs as root where pagescan runs (python 3.11, numpy), e.g. in a chroot of
the compare root file system (build/compare/rootfs.tar):

    mkdir -p /tmp/pscan && tar -xpf build/compare/rootfs.tar -C /tmp/pscan
    cp tests/compare/pagescan.py tests/compare/test_pagescan.py /tmp/pscan/root/
    unshare --mount --propagation private sh -c 'mount --rbind /dev /tmp/pscan/dev;
        mount -t proc proc /tmp/pscan/proc; chroot /tmp/pscan python3 /root/test_pagescan.py'

The swapped-pages test needs swap and cgroup2 with memory.reclaim (a VM);
elsewhere it says "skipped".  `--bench KIND[,KIND]` (weights, python,
redis, near) instead times scan_domain on workloads of about 70,000 pages
and prints the results.
"""

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import pagescan  # noqa: E402

PAGE = pagescan.PAGE
THRESHOLD = 64

# A child process: maps the regions of its spec, fills them from data
# files, optionally forks, reports addresses and pids, then waits for EOF.
CHILD = r'''
import ctypes, json, mmap, os, sys
spec = json.loads(sys.stdin.readline())
PAGE = 4096
keep, report = [], {"regions": {}}
def address(area):
    pointer = ctypes.c_char.from_buffer(area)
    base = ctypes.addressof(pointer)
    del pointer
    return base
for name, region in spec["regions"].items():
    size = region["pages"] * PAGE
    if region.get("file"):
        fd = os.open(region["file"], os.O_RDWR)
        area = mmap.mmap(fd, size, flags=mmap.MAP_PRIVATE)
        os.close(fd)
    elif region.get("shared"):
        area = mmap.mmap(-1, size, flags=mmap.MAP_SHARED | mmap.MAP_ANONYMOUS)
    else:
        area = mmap.mmap(-1, size, flags=mmap.MAP_PRIVATE | mmap.MAP_ANONYMOUS)
    data = os.open(region["data"], os.O_RDONLY) if region.get("data") else None
    for k, action in enumerate(region["actions"]):
        if action == "write":
            area[k * PAGE:(k + 1) * PAGE] = os.pread(data, PAGE, k * PAGE)
        elif action == "read":
            area[k * PAGE]
    if data is not None:
        os.close(data)
    keep.append(area)
    report["regions"][name] = [address(area), size]
report["pids"] = [os.getpid()]
if spec.get("fork"):
    r, w = os.pipe()
    child = os.fork()
    if child == 0:
        os.close(w)
        os.read(r, 1)
        os._exit(0)
    os.close(r)
    report["pids"].append(child)
print(json.dumps(report), flush=True)
sys.stdin.read()
'''


class Child:
    """A process holding regions of given content until closed."""

    def __init__(self, regions, fork=False, cgroup=None):
        def enter_cgroup():             # charge its memory there from the start
            with open(os.path.join(cgroup, "cgroup.procs"), "w") as procs:
                procs.write("0")
        self.proc = subprocess.Popen([sys.executable, "-c", CHILD], stdin=subprocess.PIPE,
                                     stdout=subprocess.PIPE, text=True,
                                     preexec_fn=enter_cgroup if cgroup else None)
        self.proc.stdin.write(json.dumps({"regions": regions, "fork": fork}) + "\n")
        self.proc.stdin.flush()
        line = self.proc.stdout.readline()
        if not line:
            raise RuntimeError("test child failed")
        report = json.loads(line)
        self.pids = report["pids"]
        self.regions = {name: tuple(span) for name, span in report["regions"].items()}

    def span(self, name):
        start, size = self.regions[name]
        return (start, start + size)

    def close(self):
        self.proc.stdin.close()
        self.proc.wait()


# --- content -------------------------------------------------------------------

class Pages:
    """Deterministic page contents."""

    def __init__(self, seed):
        self.rng = np.random.default_rng(seed)

    def random(self, count=1):
        return [self.rng.integers(0, 256, PAGE, dtype=np.uint8) for _ in range(count)]

    def mutate(self, page, positions):
        """A copy of page with the bytes at positions changed."""
        out = page.copy()
        positions = np.asarray(positions)
        out[positions] ^= self.rng.integers(1, 256, len(positions), dtype=np.uint8)
        return out

    def mutate_random(self, page, count):
        return self.mutate(page, self.rng.choice(PAGE, count, replace=False))

    def sparse(self, count):
        out = np.zeros(PAGE, dtype=np.uint8)
        out[self.rng.choice(PAGE, count, replace=False)] = self.rng.integers(1, 256, count)
        return out


def zero_page():
    return np.zeros(PAGE, dtype=np.uint8)


def write_data(path, pages):
    with open(path, "wb") as out:
        for page in pages:
            out.write(page.tobytes())


# --- brute-force reference ---------------------------------------------------------

def reference_counts(pages, threshold=THRESHOLD):
    """zero, exact_dup, unique_exact, near_dup, near_dup_delta, near_zero
    of a list of page contents, by comparing every pair of distinct
    contents."""
    zero = sum(1 for p in pages if not p.any())
    distinct = {}
    for p in pages:
        if p.any():
            distinct.setdefault(p.tobytes(), p)
    contents = list(distinct.values())
    exact_dup = len(pages) - zero - len(contents)
    n = len(contents)
    parent = list(range(n + 1))             # node n: the zero page

    def find(x):
        while parent[x] != x:
            x = parent[x]
        return x

    def union(a, b):
        ra, rb = find(a), find(b)
        if ra != rb:
            parent[ra] = rb

    near_zero = 0
    for i in range(n):
        if zero and np.count_nonzero(contents[i]) <= threshold:
            near_zero += 1
            union(i, n)
        for j in range(i + 1, n):
            if np.count_nonzero(contents[i] != contents[j]) <= threshold:
                union(i, j)
    roots = [find(i) for i in range(n + 1)]
    size = {}
    for r in roots:
        size[r] = size.get(r, 0) + 1
    near = [i for i in range(n) if size[roots[i]] >= 2]
    bases = {roots[i] for i in near} - {roots[n]}
    return {"zero": zero, "exact_dup": exact_dup, "unique_exact": n,
            "near_dup": len(near), "near_dup_delta": len(near) - len(bases),
            "near_zero": near_zero}


# --- the known domain -----------------------------------------------------------------

class KnownDomain:
    """Two processes (one forked), two files; the page contents of each,
    and what scan_domain must find, worked out by hand."""

    EXPECTED = {
        "pages": 126, "zero": 13, "exact_dup": 18, "unique_exact": 95,
        "near_dup": 32, "near_dup_delta": 28, "near_zero": 1, "unmatched": 63,
        "shared_frames": 103, "zero_page_mappings": 4,
    }

    def __init__(self, workdir, cgroup=None):
        g = Pages(2026)
        self.workdir = workdir
        unique = g.random(20)
        x = g.random()[0]
        base = g.random()[0]
        family = [base] + [g.mutate_random(base, 10) for _ in range(4)]
        spread = g.random()[0]
        spread64 = g.mutate(spread, np.arange(64) * 64 + 7)   # one byte in each 64-byte block
        over = g.random()[0]
        over65 = g.mutate_random(over, 65)
        sparse5, sparse100 = g.sparse(5), g.sparse(100)
        header = g.random()[0][:512]
        popular = []
        for page in g.random(29):
            page[:512] = header                              # 30 pages share 512 bytes
            popular.append(page)
        popular.append(g.mutate_random(popular[0], 3))        # near popular[0] only
        cluster_base = g.random()[0]
        cluster = [cluster_base] + [g.mutate_random(cluster_base, 2) for _ in range(20)]
        # process A, region "a": 95 written pages, 2 read (zero page), 3 untouched
        a_pages = (unique + [x] * 6 + family + [spread, spread64, over, over65]
                   + [zero_page()] * 7 + [sparse5, sparse100] + popular + cluster)
        a_actions = ["write"] * len(a_pages) + ["read", "read", "none", "none", "none"]
        f_pages = g.random(8)                                 # region "f": shared with the fork
        b_pages = unique[:10] + [g.mutate_random(base, 10)] + [zero_page()] * 5 + [x]
        file1 = [x, zero_page(), g.random()[0]]
        partial = g.random()[0][:2048]
        file2 = [unique[10], g.random()[0]]
        self.contents = (a_pages + f_pages + b_pages + file1
                         + [np.concatenate([partial, np.zeros(2048, np.uint8)])] + file2)

        def data_file(name, pages):
            path = os.path.join(workdir, name)
            write_data(path, pages)
            return path

        self.file1 = os.path.join(workdir, "file1")
        with open(self.file1, "wb") as out:
            out.write(b"".join(p.tobytes() for p in file1) + partial.tobytes())
        self.file2 = os.path.join(workdir, "file2")       # pages 1-7 a hole
        with open(self.file2, "wb") as out:
            out.write(file2[0].tobytes())
            out.seek(8 * PAGE)
            out.write(file2[1].tobytes())
        self.mapped_file = data_file("mapped", g.random(4))
        self.a = Child({
            "a": {"pages": len(a_actions), "actions": a_actions, "data": data_file("a", a_pages + [zero_page()] * 5)},
            "f": {"pages": 8, "actions": ["write"] * 8, "data": data_file("f", f_pages)},
            "shared": {"pages": 4, "actions": ["write"] * 4, "shared": True,
                       "data": data_file("s", g.random(4))},
            "private_file": {"pages": 4, "actions": ["write"] * 4, "file": self.mapped_file,
                             "data": data_file("pf", g.random(4))},
        }, fork=True, cgroup=cgroup)
        self.b = Child({"b": {"pages": len(b_pages), "actions": ["write"] * len(b_pages),
                              "data": data_file("b", b_pages)}}, cgroup=cgroup)
        self.pids = self.a.pids + self.b.pids
        parent, forked = self.a.pids
        self.regions = {
            parent: [self.a.span("a"), self.a.span("f")],
            forked: [self.a.span("a"), self.a.span("f")],
            self.b.pids[0]: [self.b.span("b")],
        }
        self.files = [self.file1, self.file2]

    def scan(self, **options):
        return pagescan.scan_domain(pids=self.pids, files=self.files, regions=self.regions,
                                    **options)

    def close(self):
        self.a.close()
        self.b.close()


# --- the tests ----------------------------------------------------------------------

FAILURES = []


def check(name, got, want):
    status = "ok" if got == want else "FAIL"
    if got != want:
        FAILURES.append(name)
    print(f"  {status:4} {name}: {got!r}" + ("" if got == want else f" (want {want!r})"))


def test_known_counts(domain):
    print("known domain: exact counts, by hand and by brute force")
    result = domain.scan()
    reference = reference_counts(domain.contents)
    for key, want in KnownDomain.EXPECTED.items():
        check(key, result[key], want)
    for key, want in reference.items():
        check(f"reference {key}", result[key], want)
    check("pages = zero + exact_dup + unique_exact",
          result["zero"] + result["exact_dup"] + result["unique_exact"], result["pages"])
    for key in ("sampled", "unreadable", "changed", "swapped"):
        check(key, result[key], {"sampled": False}.get(key, 0))
    check("frames_known", result["frames_known"], True)
    check("bytes", result["bytes"], 126 * PAGE)
    check("zero_fraction", round(result["zero_fraction"], 6), round(13 / 126, 6))
    check("sources", [s["pages"] for s in result["sources"]], [103, 0, 17, 4, 2])
    again = domain.scan()
    timing = ("seconds", "seconds_near")
    check("deterministic", {k: v for k, v in again.items() if k not in timing},
          {k: v for k, v in result.items() if k not in timing})
    return result


def test_regions_from_smaps(domain):
    print("region selection from /proc/PID/smaps")
    pid = domain.a.pids[0]

    def covered(span, regions):
        return any(s <= span[0] and span[1] <= e for s, e, _ in regions)

    private = pagescan.anon_regions(pid)
    with_shared = pagescan.anon_regions(pid, shared_anon=True)
    check("private anonymous region a selected", covered(domain.a.span("a"), private), True)
    check("private anonymous region f selected", covered(domain.a.span("f"), private), True)
    check("shared anonymous region left out", covered(domain.a.span("shared"), private), False)
    check("shared anonymous region with shared_anon", covered(domain.a.span("shared"), with_shared), True)
    check("private file mapping left out", covered(domain.a.span("private_file"), with_shared), False)


def test_whole_processes(domain):
    print("whole processes, through the API and the command line")
    result = pagescan.scan_domain(pids=domain.pids, files=domain.files)
    check("pages = zero + exact_dup + unique_exact",
          result["zero"] + result["exact_dup"] + result["unique_exact"], result["pages"])
    check("near_dup <= unique_exact", result["near_dup"] <= result["unique_exact"], True)
    check("known pages included", result["pages"] >= 126, True)
    check("fork-shared frames >= 103", result["shared_frames"] >= 103, True)
    check("zero page mappings >= 4", result["zero_page_mappings"] >= 4, True)
    command = [sys.executable, pagescan.__file__, "--pids", ",".join(map(str, domain.pids)),
               "--files", ",".join(domain.files), "--json"]
    cli = json.loads(subprocess.run(command, check=True, capture_output=True, text=True).stdout)
    for key in ("pages", "zero", "exact_dup", "unique_exact", "shared_frames"):
        check(f"command line {key}", cli[key], result[key])
    shared = pagescan.scan_domain(pids=domain.pids, files=domain.files, shared_anon=True)
    check("shared_anon adds the 4 shared pages, once", shared["pages"] - result["pages"], 4)


def test_sampling(domain):
    print("sampling (max_pages=40)")
    result = domain.scan(max_pages=40)
    check("sampled", result["sampled"], True)
    check("every page still read", result["pages"], 126)
    check("zero pages exact", result["zero"], 13)
    check("analysed fewer", 0 < result["analysed"] < 113, True)
    check("pages = zero + exact_dup + unique_exact",
          result["zero"] + result["exact_dup"] + result["unique_exact"], result["pages"])
    print(f"       (estimates: exact_dup {result['exact_dup']}, near_dup {result['near_dup']}, "
          f"rate {result['sample_rate']:.3f}, analysed {result['analysed']})")


def test_changed_between_passes(workdir):
    print("a page changed between the passes matches nothing")
    g = Pages(7)
    page = g.random()[0]
    path = os.path.join(workdir, "changing")
    write_data(path, [page, g.mutate_random(page, 20), g.random()[0]])
    run = pagescan.NearSearch.run

    def run_after_change(self):
        with open(path, "r+b") as f:      # the near copy moves away
            f.seek(PAGE)
            f.write(g.random()[0].tobytes())
        run(self)

    pagescan.NearSearch.run = run_after_change
    try:
        result = pagescan.scan_domain(files=[path])
    finally:
        pagescan.NearSearch.run = run
    check("changed", result["changed"], 1)
    check("near_dup", result["near_dup"], 0)
    clean = pagescan.scan_domain(files=[path])
    check("near_dup once stable", (clean["near_dup"], clean["changed"]), (0, 0))


def test_threshold_edges(workdir):
    print("threshold edges: 64 bytes near, 65 not; sparse pages; spread differences")
    g = Pages(11)
    cases = []
    base = g.random()[0]
    cases.append(("64 bytes apart, one per 64-byte block", [base, g.mutate(base, np.arange(64) * 64)], 2))
    cases.append(("64 bytes apart, random", [base, g.mutate_random(base, 64)], 2))
    cases.append(("65 bytes apart", [base, g.mutate_random(base, 65)], 0))
    cases.append(("64 bytes apart, 2 per 32-byte block at the start", [base, g.mutate(base, np.arange(64))], 2))
    cases.append(("64 nonzero bytes beside a zero page", [g.sparse(64), zero_page()], 1))
    cases.append(("65 nonzero bytes beside a zero page", [g.sparse(65), zero_page()], 0))
    cases.append(("64 nonzero bytes, no zero page", [g.sparse(64)], 0))
    half = np.zeros(PAGE, np.uint8)
    half[:1024] = g.random()[0][:1024]
    cases.append(("sparse pair sharing non-zero blocks", [half, g.mutate_random(half, 30), zero_page()], 2))
    for name, pages, want in cases:
        path = os.path.join(workdir, "edge")
        write_data(path, pages)
        result = pagescan.scan_domain(files=[path])
        check(name, result["near_dup"], want)
        check(f"{name} (reference)", reference_counts(pages)["near_dup"], want)
    # the documented blind spot: 128 non-zero bytes, one difference in
    # each group they touch: every identical group is all-zero
    dense = np.zeros(PAGE, np.uint8)
    dense[:128] = g.rng.integers(1, 256, 128, dtype=np.uint8)
    touched = [lo * pagescan.BLOCK for lo, _ in pagescan.group_bounds(THRESHOLD)
               if lo * pagescan.BLOCK < 128]
    pages = [dense, g.mutate(dense, touched)]
    path = os.path.join(workdir, "edge")
    write_data(path, pages)
    check("blind spot: pair sharing only zero groups is missed",
          (pagescan.scan_domain(files=[path])["near_dup"], reference_counts(pages)["near_dup"]), (0, 2))


def test_word_arithmetic():
    print("word arithmetic: parity signatures, bit counts, non-zero bytes, block hashes")
    g = Pages(3)
    pages = np.array(g.random(64))
    pages[g.rng.random(pages.shape) < 0.4] = 0          # some zero bytes
    words = pages.view(np.uint64)
    work, scratch = np.empty_like(words), np.empty_like(words)
    parity = np.unpackbits(pages[..., None], axis=-1).sum(axis=-1) & 1     # (64, 4096)
    got = np.unpackbits(pagescan.parity_signatures(words, work, scratch), axis=1)
    # byte j of a word -> bit 56+j of the product -> bit 7-j of the signature byte
    want = parity.reshape(64, 512, 8)[:, :, ::-1].reshape(64, 4096)
    check("parity_signatures", bool((got == want).all()), True)
    x = g.rng.integers(0, 2**63, 4096, dtype=np.uint64) | np.uint64(1 << 63)
    check("bit_counts", bool((pagescan.bit_counts(x) ==
                              np.unpackbits(x.view(np.uint8)).reshape(-1, 64).sum(1)).all()), True)
    want = np.count_nonzero(words.view(np.uint8).reshape(-1, 8), axis=1)
    check("nonzero_bytes_of_words", bool((pagescan.nonzero_bytes_of_words(words.ravel()) == want).all()), True)
    blocks = pagescan.block_hashes(np.zeros((2, 512), np.uint64), work)
    check("an all-zero block hashes to 0", int(blocks.max()), 0)
    one = np.zeros((129, 512), np.uint64)
    for i in range(1, 129):                             # one bit set, in each word of block 0..
        one[i, (i - 1) % 4] = np.uint64(1 << ((i - 1) // 4 * 2))
    hashes = pagescan.block_hashes(one, np.empty_like(one))[:, 0]
    check("single-bit blocks hash apart", len(set(hashes.tolist())), 129)


def swap_active():
    with open("/proc/swaps") as swaps:
        return len(swaps.read().splitlines()) > 1


def test_swapped(workdir):
    """Only where there is swap and cgroup2 with memory.reclaim (the VM):
    the known domain again, its processes started in a cgroup whose memory
    is then pushed out; every page is read back from swap (fork-shared
    ones counted once through their swap entry)."""
    print("swapped pages: the known domain pushed out with memory.reclaim")
    cgroup = "/sys/fs/cgroup/pagescan-test"
    if not swap_active() or not os.path.exists("/sys/fs/cgroup/cgroup.subtree_control"):
        print("  skipped: no swap or no cgroup2 here")
        return
    os.makedirs(cgroup, exist_ok=True)
    domain = None
    try:
        os.makedirs(os.path.join(workdir, "swapped"))
        domain = KnownDomain(os.path.join(workdir, "swapped"), cgroup=cgroup)
        try:
            with open(os.path.join(cgroup, "memory.reclaim"), "w") as reclaim:
                reclaim.write("1G")
        except OSError:
            pass                        # EAGAIN: not all of it; some is enough
        result = domain.scan()
        check("pages were swapped", result["swapped"] > 0, True)
        print(f"       ({result['swapped']} swapped pages read back)")
        for key, want in KnownDomain.EXPECTED.items():
            check(key, result[key], want)
    finally:
        if domain:
            domain.close()
        os.rmdir(cgroup)


def run_tests():
    workdir = tempfile.mkdtemp(prefix="pagescan-test.", dir="/var/tmp")
    domain = None
    try:
        domain = KnownDomain(workdir)
        result = test_known_counts(domain)
        test_regions_from_smaps(domain)
        test_whole_processes(domain)
        test_sampling(domain)
        test_changed_between_passes(workdir)
        test_threshold_edges(workdir)
        test_word_arithmetic()
        test_swapped(workdir)
        print(f"known domain scanned in {result['seconds']} s; "
              f"{result['candidate_pairs']} candidate pairs, {result['verified_pairs']} verified")
    finally:
        if domain:
            domain.close()
        shutil.rmtree(workdir, ignore_errors=True)
    if FAILURES:
        print(f"test_pagescan: {len(FAILURES)} FAILED: {', '.join(FAILURES)}")
        return 1
    print("test_pagescan: all passed")
    return 0


# --- benchmark ------------------------------------------------------------------------

BENCH_WEIGHTS = r'''
import numpy as np, sys, time
weights = np.fromfile(sys.argv[1], dtype=np.float32)       # the same weights in every worker
state = np.random.default_rng(int(sys.argv[2])).random(1 << 17)   # 1 MiB private state
print("ready", flush=True)
sys.stdin.read()
'''

BENCH_PYTHON = r'''
import sys
graph = {}
for i in range(int(sys.argv[1])):                      # the same object graph in every process
    graph[f"key-{i}"] = {"id": i, "name": f"object {i}", "tags": [i % 7, i % 11, str(i)],
                         "score": i * 0.5}
print("ready", flush=True)
sys.stdin.read()
'''


def start_ready(command):
    proc = subprocess.Popen(command, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    if proc.stdout.readline().strip() != "ready":
        raise RuntimeError(f"{command[0]} did not start")
    return proc


def bench_near(workdir):
    """4 processes; each 17,500 pages: 2,000 families of near copies
    (2-8 bytes changed per process), the rest unique or exact."""
    g = Pages(5)
    bases = g.random(2000)
    procs = []
    for p in range(4):
        pages = []
        for k, base in enumerate(bases):
            pages.append(g.mutate_random(base, 2 + (k + p) % 7))
        pages += g.random(9000)
        pages += [bases[k % 2000] for k in range(6500)]
        path = os.path.join(workdir, f"near{p}")
        write_data(path, pages)
        procs.append(Child({"n": {"pages": len(pages), "actions": ["write"] * len(pages), "data": path}}))
        os.unlink(path)
    return procs, [c.pids[0] for c in procs]


def bench_redis(workdir):
    """3 redis-server replicas with the same 200,000 keys, loaded over TCP."""
    procs, pids = [], []
    commands = "".join(f"SET key:{i:07d} value-{i}-{'x' * (i % 50)}\r\n" for i in range(200000))
    for r in range(3):
        port = 16379 + r
        proc = subprocess.Popen(["redis-server", "--port", str(port), "--save", "",
                                 "--appendonly", "no", "--dir", workdir],
                                stdout=subprocess.DEVNULL)
        for _ in range(100):
            if subprocess.run(["redis-cli", "-p", str(port), "ping"], capture_output=True).returncode == 0:
                break
            time.sleep(0.1)
        subprocess.run(["redis-cli", "-p", str(port), "--pipe"], input=commands.encode(),
                       check=True, capture_output=True)
        procs.append(proc)
        pids.append(proc.pid)
    return procs, pids


def bench(kinds):
    workdir = tempfile.mkdtemp(prefix="pagescan-bench.", dir="/var/tmp")
    try:
        for kind in kinds:
            procs = []
            try:
                if kind == "weights":
                    path = os.path.join(workdir, "weights")
                    np.random.default_rng(1).random(1 << 24, dtype=np.float32).tofile(path)
                    procs = [start_ready([sys.executable, "-c", BENCH_WEIGHTS, path, str(i)])
                             for i in range(4)]
                    pids = [p.pid for p in procs]
                elif kind == "python":
                    procs = [start_ready([sys.executable, "-c", BENCH_PYTHON, "150000"])
                             for _ in range(3)]
                    pids = [p.pid for p in procs]
                elif kind == "redis":
                    procs, pids = bench_redis(workdir)
                elif kind == "near":
                    procs, pids = bench_near(workdir)
                else:
                    raise SystemExit(f"unknown bench kind {kind}")
                result = pagescan.scan_domain(pids=pids)
                summary = {k: result[k] for k in (
                    "pages", "zero", "exact_dup", "unique_exact", "near_dup", "near_dup_delta",
                    "near_zero", "seconds", "seconds_near", "candidate_pairs", "verified_pairs",
                    "shared_frames", "zero_page_mappings")}
                print(f"bench {kind}: {json.dumps(summary)}", flush=True)
            finally:
                for proc in procs:
                    if isinstance(proc, Child):
                        proc.close()
                    else:
                        if proc.stdin:
                            proc.stdin.close()
                        proc.terminate()
                        proc.wait()
    finally:
        shutil.rmtree(workdir, ignore_errors=True)


def main():
    parser = argparse.ArgumentParser(description="tests of pagescan.py")
    parser.add_argument("--bench", help="time workloads instead: weights,python,redis,near")
    args = parser.parse_args()
    if args.bench:
        bench(args.bench.split(","))
        return 0
    return run_tests()


if __name__ == "__main__":
    sys.exit(main())
