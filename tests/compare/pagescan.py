#!/usr/bin/env python3
"""pagescan: how much of a workload's memory is zero, an exact duplicate, or
a near-duplicate of another page of the same domain ("Beyond exact
duplicates", issue 18).  Runs in the compare guest as root (python 3.11,
numpy 1.24, stdlib); the driver imports it or runs it as a command:

    import pagescan
    result = pagescan.scan_domain(pids=[12, 13], files=["/mnt/a/x"])
    python3 pagescan.py --pids 12,13 --files /mnt/a/x,/mnt/b/y --json

WHAT IS SCANNED.  The domain is every page of every pid and file given,
taken together.
  - Processes: the regions of /proc/PID/smaps that are private and
    writable and anonymous: no path, or [heap], [stack], [anon:NAME].
    Private writable file mappings (a library's .data) are left out whole,
    even their copied-on-write pages; a library's .bss shows as a pathless
    region and is in.  shared_anon=True also takes shared anonymous
    mappings (MAP_SHARED|MAP_ANONYMOUS shows as "/dev/zero (deleted)";
    System V segments, memfds, [anon_shmem:NAME]): PostgreSQL's shared
    buffers are such a mapping.  Regions whose Rss and Swap are both 0 are
    skipped without reading.
  - Of a region, the pages /proc/PID/pagemap shows present (bit 63) or
    swapped (bit 62).  Their content is read from /proc/PID/mem.  Reading
    a swapped page faults it back in: the scan changes what is in zswap,
    so run it before the pressure, not between the pressure and the
    measurement.  A swapped-out page of a shared mapping has no PTE (its
    swap entry is in the shmem file), so pagemap does not show it and it
    is not scanned.
  - Frames count once: a page whose frame (PFN, bits 0-54; root sees
    them) or, when swapped, whose swap entry was already scanned in this
    domain is skipped (fork-shared pages, a shared mapping seen from two
    processes, and also pages KSM has merged: scan with KSM unmerged to
    measure content).  Pages mapping the shared zero page or the huge zero
    page hold no memory and are skipped too.  Both are reported apart
    (shared_frames, zero_page_mappings).
  - Files: regular files (tmpfs, /dev/shm) read in 4 KiB pages, the last
    partial page zero-padded; holes (SEEK_HOLE) are skipped, since tmpfs
    holds no memory for them.  Reading a tmpfs page that was swapped out
    swaps it in.  Each file's pages count, even when a scanned process
    also maps them.

WHAT IS COUNTED.  Every scanned page falls in exactly one of
  zero        all 4096 bytes zero;
  exact_dup   non-zero, and equal to a page scanned earlier (same MD5 of
              the content): what exact dedup saves;
  unique_exact  the first page of each distinct non-zero content.
unique_exact is split further, one page per distinct content:
  near_dup    a distinct content that differs in at most T bytes from
              another distinct content of the domain, the zero page
              included when the domain has a zero page, with
              T = min(64 bytes, 5% of the page) = 64;
  unmatched   the rest.
near_dup counts both sides of a near pair.  What a delta encoding could
add is smaller: near_dup_delta = near_dup minus one base page per group of
near-duplicates (connected through verified pairs) that does not contain
the zero page; each other member of a group is within T bytes of some
member, so it could be stored as a delta.  near_zero is the part of
near_dup within T bytes of the zero page (at most T non-zero bytes), which
any compressor already stores in a few bytes.

METHOD.  Pass 1 reads the pages in chunks of 256 into a buffer
allocated once and keeps, per distinct non-zero content: its MD5, where
it was read (process or file, and offset), its count of non-zero words
(and of non-zero bytes when those may be at most T), the parity bit of
each of its 4096 bytes (512 bytes), and T+1 = 65 group keys (below).  No
content is kept: about 1 KiB per distinct page with Python's overheads
(70,000 distinct pages: about 70 MiB, the peak of the scan).
Pass 2 finds near-duplicates without comparing all pairs:
  - Candidates.  Each 32-byte block of a page has a 32-bit hash (its
    words, high half folded down, times odd constants by position,
    summed; the top half).  The 128 blocks are cut into T+1 = 65 groups
    (63 aligned pairs of blocks, then blocks 126 and 127), and a group's
    key combines its block hashes.  Two pages that differ in at most T
    bytes touch at most T blocks, hence at most T groups: at least one of
    the 65 groups is identical in both (pigeonhole).  For each group, the
    pages with the same key form a bucket.  In a bucket of at most
    WINDOW+1 = 9 pages every pair is a candidate.  In a larger bucket (a
    block pattern common in the domain) the pages are sorted by (key,
    next group's key) and, separately, by (key, key of the group after
    next), and each page is paired with the next WINDOW pages that share
    that second key too.  All-zero groups (key 0) make no candidates
    (zero padding is shared by unrelated pages).  Each pair is judged once.
  - Filters, each an exact lower bound on the byte difference: the
    difference of the non-zero word counts, and the number of bytes whose
    parity bits differ (a differing parity is a differing byte; about half
    of the bytes that differ show); a pair above T on either is dropped.
    Pairs whose pages are already in one near-duplicate group are not
    looked at again, and the closest pairs are verified first.
  - Verification: both pages are read again (from /proc/PID/mem or the
    file, in runs, into a buffer of 2048 pages that keeps the latest) and
    their MD5 checked against pass 1; a page that changed since counts in
    `changed` and matches nothing.  The bytes that differ are counted
    exactly (words compared, then the non-zero bytes of each differing
    word's XOR), so there are no false positives.
GUARANTEE: a near pair is found when the two pages have an identical
non-zero group whose bucket holds at most WINDOW+1 pages, or whose larger
bucket they share together with the next group or the one after, with
fewer than WINDOW pages of the same two keys sorted between them; a page
with at most T non-zero bytes is always found (against the zero page).
BLIND SPOT: near pairs whose identical groups are all all-zero (a sparse
page whose every non-zero group holds a difference: the test suite has
one), or all common patterns shared only with groups 1 and 2 away
differing.  On real memory the search found what a search pairing every
bucket member with its next 64 found (python heaps of 3 replicas, 4
numpy workers, 3 redis replicas: the same near_dup), from 1/2 to 1/30 of
its candidates.  near_dup_delta joins groups only through the pairs
found, so it may count more bases than needed (a lower bound on what
delta could save).
COST under QEMU TCG (the compare guest): page faults on fresh memory and
byte-wise numpy reductions are dear there, word-wise numpy arithmetic on
warm arrays and hashlib are not; so reads go into buffers allocated once,
numpy works on 64-bit words, and byte counts use bit tricks.

RESULT of scan_domain (a dict; the command line prints it with --json):
  pages, bytes            pages scanned (after frames counted once), *4096
  zero, exact_dup, unique_exact       the partition above (sum = pages)
  near_dup, near_dup_delta, near_zero, unmatched    parts of unique_exact
  <each of those seven>_fraction      of pages
  seconds, seconds_near   wall time of the whole scan, and of pass 2
  sampled, sample_rate, analysed      sampling (below); analysed = non-zero
                          pages whose content went into the analysis
  shared_frames, zero_page_mappings   pages skipped, as above
  swapped                 pages read from swap (faulted back in)
  unreadable, changed     pages /proc/PID/mem refused; distinct contents
                          that changed between the passes
  frames_known            False when PFNs were hidden (not root): then
                          nothing is counted once by frame
  candidate_pairs, verified_pairs, near_pairs   work of pass 2
  params                  page_bytes, max_diff_bytes 64, max_diff_fraction
                          0.05, threshold_bytes, block_bytes, key_groups,
                          window, content_key
  sources                 per pid: pid, pages, regions; per file: file, pages

SAMPLING.  max_pages bounds the pages whose content enters the analysis
(memory and pass 2).  When the regions' Rss+Swap and the files' sizes add
up to more, non-zero pages are sampled by content: a page is analysed when
a hash of its smallest non-zero block hash (a MinHash) falls below the
rate, so every copy of a content is in or out together and a
near-duplicate usually goes with its partner.  Every page is still read
once (zero pages are counted exactly).  exact_dup, unique_exact and the
near counts are then estimates scaled to the non-zero pages read, and
sampled is True.

Deterministic for a given memory content: no randomness, sources in the
order given, regions and offsets in ascending order.
"""

import argparse
import ctypes
import errno
import hashlib
import json
import mmap
import os
import sys
import time
from array import array

import numpy as np

PAGE = 4096
WORDS = PAGE // 8                      # 512 words of 8 bytes per page
BLOCK = 32
BLOCKS = PAGE // BLOCK                 # 128 blocks of 32 bytes per page
CHUNK_PAGES = 256                      # pages read and hashed at a time
MAX_DIFF_BYTES = 64
MAX_DIFF_FRACTION = 0.05
WINDOW = 8                             # neighbours paired per bucket member
CACHE_PAGES = 2048                     # pass 2 page buffer (8 MiB)
VERIFY_BATCH = 512                     # pairs compared at once (<= CACHE_PAGES / 2)
FILTER_BATCH = 4096                    # pairs hash-compared at once

PM_PRESENT = 1 << 63
PM_SWAPPED = 1 << 62
PM_EXCLUSIVE = 1 << 56
PM_FRAME_MASK = (1 << 55) - 1
SWAP_KEY_TAG = 1 << 60                 # frame keys of swap entries

U64 = np.uint64
BLOCK_MULTIPLIERS = np.array([0x9E3779B97F4A7C15, 0xC2B2AE3D27D4EB4F,
                              0x165667B19E3779F9, 0x27D4EB2F165667C5] * BLOCKS, dtype=U64)
GATHER_BYTE_BITS = U64(0x0102040810204080)   # bit 0 of byte j -> bit 56+j
GROUP_MULTIPLIER = np.uint32(0x9E3779B1)
SAMPLE_MULTIPLIER = np.uint32(0x85EBCA6B)
BYTES_LOW_BITS = U64(0x0101010101010101)


# --- hashing page content ---------------------------------------------------

def content_key(page):
    """Exact-duplicate key of a page: its 128-bit MD5 (collisions are not
    a concern for memory contents; MD5 is 3x cheaper than BLAKE2b under
    TCG)."""
    return hashlib.md5(page, usedforsecurity=False).digest()


def block_hashes(words, work):
    """(pages, 128) uint32 hashes of the 32-byte blocks of (pages, 512)
    uint64 `words`: the top half of the sum of the block's words, their
    high bits folded down, times odd constants that differ by position.
    An all-zero block hashes to 0."""
    mixed = np.right_shift(words, U64(29), out=work[:len(words)])
    mixed ^= words
    mixed *= BLOCK_MULTIPLIERS
    sums = mixed.reshape(len(words), BLOCKS, WORDS // BLOCKS).sum(axis=2, dtype=U64)
    return (sums >> U64(32)).astype(np.uint32)


def parity_signatures(words, work, scratch):
    """(pages, 512) uint8: for each 8-byte word, the parity bits of its 8
    bytes.  A parity bit that differs between two pages is a byte that
    differs, so the differing bits of two signatures are a lower bound on
    the differing bytes of the pages (about half of them, for bytes that
    differ at random)."""
    count = len(words)
    bits, tmp = work[:count], scratch[:count]
    np.right_shift(words, U64(4), out=bits)
    bits ^= words
    np.right_shift(bits, U64(2), out=tmp)
    bits ^= tmp
    np.right_shift(bits, U64(1), out=tmp)
    bits ^= tmp
    bits &= BYTES_LOW_BITS                  # each byte's parity in its bit 0
    bits *= GATHER_BYTE_BITS                # ... all eight in the top byte
    bits >>= U64(56)
    return bits.astype(np.uint8)


def bit_counts(words):
    """Number of set bits of each uint64 of `words` (SWAR popcount)."""
    x = words - ((words >> U64(1)) & U64(0x5555555555555555))
    x = (x & U64(0x3333333333333333)) + ((x >> U64(2)) & U64(0x3333333333333333))
    x = (x + (x >> U64(4))) & U64(0x0F0F0F0F0F0F0F0F)
    return (x * BYTES_LOW_BITS) >> U64(56)


def group_bounds(threshold):
    """Cut the 128 blocks into threshold+1 groups of adjacent blocks, so
    that a difference of at most `threshold` bytes leaves one group whole.
    For threshold 64: blocks (0,1), (2,3) ... (124,125), then 126 and 127."""
    groups = min(threshold + 1, BLOCKS)
    if 2 * groups >= BLOCKS:
        pairs = BLOCKS - groups
        return ([(2 * g, 2 * g + 2) for g in range(pairs)]
                + [(b, b + 1) for b in range(2 * pairs, BLOCKS)])
    return [(g * BLOCKS // groups, (g + 1) * BLOCKS // groups) for g in range(groups)]


def group_keys(hashes, bounds):
    """(groups, pages) uint32 key of each group of blocks of each page; an
    all-zero group has key 0."""
    keys = np.empty((len(bounds), len(hashes)), dtype=np.uint32)
    pairs = sum(1 for lo, hi in bounds if hi - lo == 2 and lo % 2 == 0)
    if bounds[:pairs] == [(2 * g, 2 * g + 2) for g in range(pairs)] and \
            all(hi - lo == 1 for lo, hi in bounds[pairs:]):
        keys[:pairs] = ((hashes[:, 0:2 * pairs:2] * GROUP_MULTIPLIER)
                        ^ hashes[:, 1:2 * pairs:2]).T
        keys[pairs:] = hashes[:, 2 * pairs:].T
        return keys
    for g, (lo, hi) in enumerate(bounds):
        key = hashes[:, lo].copy()
        for b in range(lo + 1, hi):
            key *= GROUP_MULTIPLIER
            key ^= hashes[:, b]
        keys[g] = key
    return keys


def sample_keys(hashes):
    """MinHash of each page for content sampling, uint32: the same for
    equal pages and usually for near-equal ones."""
    nonzero_min = np.where(hashes == 0, np.uint32(0xFFFFFFFF), hashes).min(axis=1)
    return nonzero_min * SAMPLE_MULTIPLIER


def nonzero_bytes_of_words(words):
    """Number of non-zero bytes in each uint64 of `words` (any shape)."""
    bits = words | (words >> U64(4))
    bits |= bits >> U64(2)
    bits |= bits >> U64(1)
    bits &= BYTES_LOW_BITS
    return ((bits * BYTES_LOW_BITS) >> U64(56)).astype(np.int64)


# --- what to read -------------------------------------------------------------

def is_scanned_region(perms, path, shared_anon):
    """Is a /proc/PID/maps region anonymous memory to scan?"""
    if perms[0] != "r" or perms[1] != "w":
        return False
    if perms[3] == "p":
        return path in ("", "[heap]", "[stack]") or path.startswith("[anon:")
    if not shared_anon:
        return False
    return (path.startswith("/dev/zero") or path.startswith("/SYSV")
            or path.startswith("/memfd:") or path.startswith("[anon_shmem:"))


def anon_regions(pid, shared_anon=False):
    """[(start, end, resident_and_swapped_pages)] of a process's scanned
    regions, from /proc/PID/smaps; regions with nothing resident or
    swapped are left out."""
    regions = []
    current = None
    with open(f"/proc/{pid}/smaps") as smaps:
        for line in smaps:
            first = line.split(None, 1)[0]
            if "-" in first and not first.endswith(":"):
                fields = line.split(None, 5)
                path = fields[5].strip() if len(fields) > 5 else ""
                current = None
                if is_scanned_region(fields[1], path, shared_anon):
                    start, end = (int(x, 16) for x in fields[0].split("-"))
                    current = [start, end, 0]
                    regions.append(current)
            elif current is not None and first in ("Rss:", "Swap:"):
                current[2] += int(line.split()[1]) * 1024 // PAGE
    return [tuple(r) for r in regions if r[2] > 0]


def file_data_ranges(fd, size):
    """[(start, end)] byte ranges of a file holding data (holes skipped),
    page-aligned; the whole file when SEEK_DATA is not supported."""
    ranges = []
    offset = 0
    try:
        while offset < size:
            start = os.lseek(fd, offset, os.SEEK_DATA)
            end = os.lseek(fd, start, os.SEEK_HOLE)
            start -= start % PAGE
            end = min(-(-end // PAGE) * PAGE, -(-size // PAGE) * PAGE)
            if ranges and start <= ranges[-1][1]:
                ranges[-1] = (ranges[-1][0], max(end, ranges[-1][1]))
            else:
                ranges.append((start, end))
            offset = end
    except OSError as err:
        if err.errno != errno.ENXIO:    # ENXIO: no data after offset
            return [(0, -(-size // PAGE) * PAGE)]
    return ranges


def mapped_frames(area, offset, count):
    """Frames of pages offset..offset+count of our own mmap `area`."""
    pointer = ctypes.c_char.from_buffer(area)
    base = ctypes.addressof(pointer)
    del pointer                         # or area.close() refuses
    with open("/proc/self/pagemap", "rb") as pagemap:
        raw = os.pread(pagemap.fileno(), 8 * count, (base + offset) // PAGE * 8)
    return {e & PM_FRAME_MASK for e in np.frombuffer(raw, dtype=U64).tolist()
            if e & PM_PRESENT and e & PM_FRAME_MASK}


def zero_page_frames():
    """Frames of the shared zero page and of the huge zero page, found by
    read-faulting private anonymous memory of our own: a one-page map (no
    THP there) and a madvised 2 MiB-aligned range of a 4 MiB map (where THP
    maps the huge zero page, if it does)."""
    flags = mmap.MAP_PRIVATE | mmap.MAP_ANONYMOUS
    small = mmap.mmap(-1, PAGE, flags=flags)
    large = mmap.mmap(-1, 4 << 20, flags=flags)
    try:
        small[0]                        # read fault: the zero page
        frames = mapped_frames(small, 0, 1)
        pointer = ctypes.c_char.from_buffer(large)
        huge = -ctypes.addressof(pointer) % (2 << 20)
        del pointer
        try:
            large.madvise(mmap.MADV_HUGEPAGE, huge, 2 << 20)
        except (AttributeError, OSError):
            pass
        large[huge]
        frames |= mapped_frames(large, huge, 512)
    finally:
        small.close()
        large.close()
    return frames


def frame_ranges(frames):
    """[(first, end)] ranges of consecutive frames of a set."""
    ranges = []
    for frame in sorted(frames):
        if ranges and ranges[-1][1] == frame:
            ranges[-1] = (ranges[-1][0], frame + 1)
        else:
            ranges.append((frame, frame + 1))
    return ranges


class Source:
    """A process or file being scanned; its descriptors stay open for pass
    2's re-reads."""

    def __init__(self, kind, name, fd, pagemap_fd=None):
        self.kind, self.name, self.fd, self.pagemap_fd = kind, name, fd, pagemap_fd
        self.pages = 0
        self.regions = 0

    def close(self):
        for fd in (self.fd, self.pagemap_fd):
            if fd is not None:
                os.close(fd)

    def describe(self):
        info = {self.kind: self.name, "pages": self.pages}
        if self.kind == "pid":
            info["regions"] = self.regions
        return info


class PageBuffer:
    """CHUNK_PAGES pages of memory allocated once (under TCG, fresh memory
    costs a page fault per page), as bytes, uint8 rows and uint64 rows."""

    def __init__(self, pages=CHUNK_PAGES):
        self.raw = bytearray(pages * PAGE)
        self.view = memoryview(self.raw)
        self.rows = np.frombuffer(self.raw, dtype=np.uint8).reshape(pages, PAGE)
        self.words = self.rows.view(U64)
        self.pages = pages
        self.page_views = [self.view[row * PAGE:(row + 1) * PAGE] for row in range(pages)]

    def page(self, row):
        return self.page_views[row]

    def read(self, fd, row, count, offset):
        """pread `count` pages at `offset` into rows row..; bytes read."""
        try:
            return os.preadv(fd, [self.view[row * PAGE:(row + count) * PAGE]], offset)
        except OSError:
            return 0


def read_runs(fd, base, page_indices, buffer):
    """Read the pages base + i * PAGE for i in page_indices (sorted) into
    the rows of `buffer`, one pread per run of adjacent pages.  Returns the
    offsets of the pages read, row by row; a page that cannot be read (EIO,
    unmapped since) is left out."""
    offsets = []
    for first, last in runs(page_indices):
        start = base + first * PAGE
        count = last - first + 1
        if buffer.read(fd, len(offsets), count, start) == count * PAGE:
            offsets.extend(range(start, start + count * PAGE, PAGE))
            continue
        for i in range(first, last + 1):    # fall back page by page
            if buffer.read(fd, len(offsets), 1, base + i * PAGE) == PAGE:
                offsets.append(base + i * PAGE)
    return offsets


def runs(values, breaks_after=None):
    """[(first, last)] of the runs of consecutive integers in the sorted
    array `values`; breaks_after (a boolean array) also ends a run after
    each element where it is True."""
    ends = np.diff(values) != 1
    if breaks_after is not None:
        ends |= breaks_after[:-1]
    last = np.flatnonzero(ends)
    firsts = [int(values[0])] + values[last + 1].tolist()
    lasts = values[last].tolist() + [int(values[-1])]
    return list(zip(firsts, lasts))


# --- pass 1: reading, zero and exact duplicates -----------------------------

class Domain:
    """Counters and per-distinct-content records of one domain."""

    def __init__(self, sample_rate, threshold):
        self.sample_limit = None
        if sample_rate < 1.0:
            self.sample_limit = np.uint32(min(int(sample_rate * 2**32), 2**32 - 1))
        self.threshold = threshold
        self.bounds = group_bounds(threshold)
        self.buffer = PageBuffer()
        self.gathered = np.empty((CHUNK_PAGES, WORDS), dtype=U64)   # work arrays,
        self.work = np.empty((CHUNK_PAGES, WORDS), dtype=U64)       # allocated once
        self.scratch = np.empty((CHUNK_PAGES, WORDS), dtype=U64)
        self.pages = 0
        self.zero = 0
        self.exact_dup = 0
        self.analysed = 0               # non-zero pages that went into the analysis
        self.shared_frames = 0
        self.zero_page_mappings = 0
        self.swapped = 0
        self.unreadable = 0
        self.frames_known = True
        self.seen_frames = set()
        self.zero_frames = []           # [(first, end)] frame ranges of the zero pages
        self.index = {}                 # content key -> distinct index
        self.keys = []
        self.where_source = array("i")
        self.where_offset = array("q")
        self.signature_chunks = []
        self.group_key_chunks = []
        self.nonzero_word_chunks = []
        self.sparse_chunks = []

    def add_pages(self, source_id, offsets):
        """Count the pages in the first len(offsets) rows of the buffer,
        read from source source_id at offsets."""
        count = len(offsets)
        if not count:
            return
        words = self.buffer.words[:count]
        nonzero = np.flatnonzero(words.any(axis=1))
        self.pages += count
        self.zero += count - len(nonzero)
        if self.sample_limit is not None and nonzero.size:
            hashes = block_hashes(words[nonzero], self.work)
            nonzero = nonzero[sample_keys(hashes) < self.sample_limit]
        self.analysed += len(nonzero)
        new_rows = []
        index, keys, views, md5 = self.index, self.keys, self.buffer.page_views, hashlib.md5
        for row in nonzero.tolist():
            key = md5(views[row], usedforsecurity=False).digest()     # content_key()
            if key in index:
                continue
            index[key] = len(keys)
            keys.append(key)
            new_rows.append(row)
        self.exact_dup += len(nonzero) - len(new_rows)
        if new_rows:
            self.where_source.extend([source_id] * len(new_rows))
            self.where_offset.extend([offsets[row] for row in new_rows])
            self.record_distinct(new_rows)

    def record_distinct(self, rows):
        """Keep what pass 2 needs of the new distinct pages in `rows`."""
        words = np.take(self.buffer.words, rows, axis=0, out=self.gathered[:len(rows)])
        self.group_key_chunks.append(group_keys(block_hashes(words, self.work), self.bounds))
        self.signature_chunks.append(parity_signatures(words, self.work, self.scratch))
        nonzero_words = np.count_nonzero(words, axis=1)
        self.nonzero_word_chunks.append(nonzero_words.astype(np.int32))
        # exact non-zero bytes only where they may be few: at least one per
        # non-zero word
        sparse = np.full(len(rows), PAGE, dtype=np.int32)
        for k in np.flatnonzero(nonzero_words <= self.threshold).tolist():
            sparse[k] = PAGE - bytes(self.buffer.page(rows[k])).count(0)
        self.sparse_chunks.append(sparse)

    def new_frames(self, entries, mapped):
        """Of the pages `mapped` (indices into pagemap `entries`, present or
        swapped), those to read: not the zero page, and whose frame or swap
        entry was not scanned yet in this domain.  A present page mapped
        only here (PM_MMAP_EXCLUSIVE) needs no look-up."""
        entry = entries[mapped]
        present = (entry & U64(PM_PRESENT)) != 0
        frame = entry & U64(PM_FRAME_MASK)
        if np.any(present & (frame == 0)):
            self.frames_known = False   # not root: no frame numbers
        zero_page = np.zeros(len(frame), dtype=bool)
        for first, end in self.zero_frames:
            zero_page |= (frame >= U64(first)) & (frame < U64(end))
        zero_page &= present
        self.zero_page_mappings += int(np.count_nonzero(zero_page))
        exclusive = (entry & U64(PM_EXCLUSIVE)) != 0
        keep = present & (exclusive | (frame == 0)) & ~zero_page
        for k in np.flatnonzero(~keep & ~zero_page).tolist():
            key = int(frame[k])
            if not present[k]:
                key |= SWAP_KEY_TAG
            if key in self.seen_frames:
                self.shared_frames += 1
                continue
            self.seen_frames.add(key)
            keep[k] = True
        self.swapped += int(np.count_nonzero(keep & ~present))
        return mapped[keep]

    def scan_region(self, source_id, source, start, end):
        pagemap = bytearray(8 * CHUNK_PAGES)
        for base in range(start, end, CHUNK_PAGES * PAGE):
            count = min(CHUNK_PAGES, (end - base) // PAGE)
            got = os.preadv(source.pagemap_fd, [memoryview(pagemap)[:8 * count]],
                            base // PAGE * 8)
            entries = np.frombuffer(pagemap, dtype=U64, count=got // 8)
            mapped = np.flatnonzero(entries & U64(PM_PRESENT | PM_SWAPPED))
            if not mapped.size:
                continue
            wanted = self.new_frames(entries, mapped)
            if not wanted.size:
                continue
            offsets = read_runs(source.fd, base, wanted, self.buffer)
            self.unreadable += len(wanted) - len(offsets)
            source.pages += len(offsets)
            self.add_pages(source_id, offsets)

    def scan_file(self, source_id, source, size):
        for start, end in file_data_ranges(source.fd, size):
            for base in range(start, end, CHUNK_PAGES * PAGE):
                count = min(CHUNK_PAGES, (end - base) // PAGE)
                got = self.buffer.read(source.fd, 0, count, base)
                count = -(-got // PAGE)
                self.buffer.raw[got:count * PAGE] = bytes(count * PAGE - got)
                offsets = list(range(base, base + count * PAGE, PAGE))
                source.pages += count
                self.add_pages(source_id, offsets)

    def distinct_arrays(self):
        """(parity signatures (n, 512) uint8, group keys (groups, n) uint32,
        non-zero words (n,), non-zero bytes where at most threshold else
        PAGE (n,)) of the distinct contents."""
        if not self.signature_chunks:
            return (np.zeros((0, WORDS), dtype=np.uint8),
                    np.zeros((len(self.bounds), 0), dtype=np.uint32),
                    np.zeros(0, dtype=np.int32), np.zeros(0, dtype=np.int32))
        arrays = (np.concatenate(self.signature_chunks),
                  np.concatenate(self.group_key_chunks, axis=1),
                  np.concatenate(self.nonzero_word_chunks),
                  np.concatenate(self.sparse_chunks))
        self.signature_chunks, self.group_key_chunks = [], []
        self.nonzero_word_chunks, self.sparse_chunks = [], []
        return arrays


# --- pass 2: near duplicates -------------------------------------------------

class PageReader:
    """Reads distinct contents again where pass 1 found them, in runs of
    adjacent pages, into a buffer of CACHE_PAGES pages that keeps the most
    recently read; a page whose content key no longer matches pass 1 is
    marked changed."""

    def __init__(self, domain, sources):
        count = len(domain.keys)
        self.keys = domain.keys
        self.sources = sources
        self.staging = domain.buffer
        self.where_source = np.frombuffer(domain.where_source, dtype=np.int32).astype(np.int64)
        self.where_offset = np.frombuffer(domain.where_offset, dtype=np.int64)
        self.buffer = None              # allocated on first use
        self.holder = np.full(CACHE_PAGES, -1, dtype=np.int64)   # index held by each slot
        self.slot = np.full(count, -1, dtype=np.int64)            # slot of each index
        self.next_slot = 0
        self.changed = np.zeros(count, dtype=bool)

    def free_slots(self, count, keep):
        """`count` slots to overwrite, oldest first, none holding an index
        of `keep`."""
        protected = np.zeros(CACHE_PAGES, dtype=bool)
        held = self.slot[keep]
        protected[held[held >= 0]] = True
        ring = (self.next_slot + np.arange(CACHE_PAGES)) % CACHE_PAGES
        usable = ring[~protected[ring]][:count]
        self.next_slot = (int(usable[-1]) + 1) % CACHE_PAGES
        evicted = self.holder[usable]
        self.slot[evicted[evicted >= 0]] = -1
        return usable

    def read(self, missing, slots):
        """Read the sorted distinct indices `missing` into `slots`, one pread
        per run of pages adjacent in the same source."""
        if self.buffer is None:
            self.buffer = np.zeros((CACHE_PAGES, PAGE), dtype=np.uint8)
        src = self.where_source[missing]
        off = self.where_offset[missing]
        ends = np.flatnonzero((np.diff(src) != 0) | (np.diff(off) != PAGE)) + 1
        bounds = [0] + ends.tolist() + [len(missing)]
        views, keys, md5 = self.staging.page_views, self.keys, hashlib.md5
        for run_start, run_stop in zip(bounds[:-1], bounds[1:]):
            for first in range(run_start, run_stop, self.staging.pages):
                count = min(self.staging.pages, run_stop - first)
                source = self.sources[int(src[first])]
                got = self.staging.read(source.fd, 0, count, int(off[first]))
                self.staging.raw[got:count * PAGE] = bytes(count * PAGE - got)
                for k, index in enumerate(missing[first:first + count].tolist()):
                    if md5(views[k], usedforsecurity=False).digest() != keys[index]:
                        self.changed[index] = True          # content_key() differs
                self.buffer[slots[first:first + count]] = self.staging.rows[:count]
        self.holder[slots] = missing
        self.slot[missing] = slots

    def slots_of(self, indices):
        """Buffer slots holding the sorted distinct `indices` (at most
        CACHE_PAGES / 2), reading those not held."""
        missing = indices[self.slot[indices] < 0]
        if missing.size:
            self.read(missing, self.free_slots(len(missing), indices))
        return self.slot[indices]

    def words(self, slots):
        return self.buffer.view(U64)[slots]


class Groups:
    """Union-find over distinct contents, plus one node for the zero page;
    the parents in an int64 array, so that labels() needs no conversion."""

    def __init__(self, count):
        self.parent = array("q", range(count + 1))
        self.zero_node = count
        self._labels = None             # cached labels(), until the next union

    def find(self, x):
        parent = self.parent
        while parent[x] != x:
            parent[x] = parent[parent[x]]
            x = parent[x]
        return x

    def union(self, a, b):
        ra, rb = self.find(a), self.find(b)
        if ra != rb:
            if ra == self.zero_node:        # keep the zero node a root
                ra, rb = rb, ra
            self.parent[ra] = rb
            self._labels = None

    def labels(self):
        """The root of every node, as an array."""
        if self._labels is None:
            labels = np.frombuffer(self.parent, dtype=np.int64).copy()
            while True:
                jumped = labels[labels]
                if np.array_equal(jumped, labels):
                    break
                labels = jumped
            self._labels = labels
        return self._labels


def run_lengths(continues):
    """For a boolean array telling whether each element continues the run
    of the one before it (the first is False), the length of the run each
    element belongs to."""
    starts = np.flatnonzero(~continues[1:]) + 1
    bounds = np.concatenate([[0], starts, [len(continues)]])
    lengths = np.diff(bounds)
    return np.repeat(lengths, lengths)


class NearSearch:
    """Pass 2: candidate pairs by group keys, filtered, verified."""

    def __init__(self, arrays, reader, threshold, zero_present):
        signatures, self.keys, self.nonzero_words, sparse = arrays
        self.parity = signatures.view(U64)      # (n, 64): 4096 parity bits per page
        self.reader = reader
        self.threshold = threshold
        self.count = len(signatures)
        self.groups = Groups(self.count)
        self.judged = []                # arrays of codes of pairs found apart
        self.judged_codes = np.zeros(0, dtype=np.int64)     # sorted
        self.candidate_pairs = 0
        self.verified_pairs = 0
        self.near_pairs = 0
        self.near_zero = 0
        if zero_present:
            for i in np.flatnonzero(sparse <= threshold).tolist():
                self.groups.union(i, self.groups.zero_node)
                self.near_zero += 1

    def run(self):
        groups = len(self.keys)
        for g in range(groups):
            self.search_group(self.keys[g], self.keys[(g + 1) % groups],
                              self.keys[(g + 2) % groups])

    @staticmethod
    def sorted_by(keys, second_keys, members=None):
        """`members` (all pages by default) in order of (key, second key)."""
        if members is None:
            members = np.arange(len(keys))
        both = np.empty((len(members), 2), dtype=np.uint32)
        both[:, 0], both[:, 1] = second_keys[members], keys[members]   # little-endian: key high
        return members[np.argsort(both.view(U64)[:, 0], kind="stable")]

    @staticmethod
    def window_pairs(order, sorted_keys, pairs_with):
        """Pairs (order[i], order[i+d]) for d <= WINDOW with equal non-zero
        sorted_keys where pairs_with(i, d) (a boolean array over i)."""
        firsts, seconds = [], []
        for d in range(1, WINDOW + 1):
            same = sorted_keys[:-d] == sorted_keys[d:]
            if not same.any():
                break
            same &= pairs_with(d)
            firsts.append(order[:-d][same])
            seconds.append(order[d:][same])
        return firsts, seconds

    def bucket_pairs(self, keys, next_keys, after_next_keys):
        """Pairs of pages with the same non-zero key (uint32 arrays).  In a
        bucket of at most WINDOW+1 pages, every pair.  In a larger one, the
        pages that also share the next group's key, and those that also
        share the key of the group after, each with the next WINDOW of them
        in (key, other key) order."""
        order = self.sorted_by(keys, next_keys)
        sorted_keys, sorted_next = keys[order], next_keys[order]
        same_key = np.empty(len(keys), dtype=bool)
        same_key[0] = False
        np.equal(sorted_keys[1:], sorted_keys[:-1], out=same_key[1:])
        same_both = same_key.copy()
        same_both[1:] &= sorted_next[1:] == sorted_next[:-1]
        bucket, sub_bucket = run_lengths(same_key), run_lengths(same_both)
        small = bucket <= WINDOW + 1
        nonzero = sorted_keys != 0
        pairing = nonzero & np.where(small, bucket >= 2, sub_bucket >= 2)
        big_members = order[nonzero & ~small]
        order, sorted_keys = order[pairing], sorted_keys[pairing]
        sorted_next, small = sorted_next[pairing], small[pairing]
        firsts, seconds = self.window_pairs(
            order, sorted_keys, lambda d: small[d:] | (sorted_next[:-d] == sorted_next[d:]))
        if big_members.size:
            order = self.sorted_by(keys, after_next_keys, big_members)
            sorted_keys, sorted_after = keys[order], after_next_keys[order]
            more = self.window_pairs(
                order, sorted_keys, lambda d: sorted_after[:-d] == sorted_after[d:])
            firsts += more[0]
            seconds += more[1]
        if not firsts:
            return None
        a, b = np.concatenate(firsts), np.concatenate(seconds)
        return np.minimum(a, b), np.maximum(a, b)

    def search_group(self, keys, next_keys, after_next_keys):
        pairs = self.bucket_pairs(keys, next_keys, after_next_keys)
        if pairs is None:
            return
        a, b = pairs
        labels = self.groups.labels()
        apart = labels[a] != labels[b]
        codes = np.unique(a[apart] * (self.count + 1) + b[apart])
        if self.judged_codes.size:
            at = np.minimum(np.searchsorted(self.judged_codes, codes), self.judged_codes.size - 1)
            codes = codes[self.judged_codes[at] != codes]
        self.candidate_pairs += len(codes)
        a, b = np.divmod(codes, self.count + 1)
        a, b = self.lower_bound_filter(a, b)
        for start in range(0, len(a), VERIFY_BATCH):
            self.verify(a[start:start + VERIFY_BATCH], b[start:start + VERIFY_BATCH])
        if self.judged:
            # two sorted runs: the stable sort (timsort) merges them
            self.judged.append(self.judged_codes)
            self.judged_codes = np.sort(np.concatenate(self.judged), kind="stable")
            self.judged = []

    def lower_bound_filter(self, a, b):
        """The pairs whose byte difference may be within threshold, by two
        lower bounds on it: the difference of their non-zero word counts,
        and the number of bytes whose parities differ.  The pairs dropped
        are remembered; the rest are returned closest first (fewest parity
        differences)."""
        close = np.abs(self.nonzero_words[a] - self.nonzero_words[b]) <= self.threshold
        self.judged.append(a[~close] * (self.count + 1) + b[~close])
        a, b = a[close], b[close]
        differing = np.empty(len(a), dtype=np.int64)
        for start in range(0, len(a), FILTER_BATCH):
            end = start + FILTER_BATCH
            xor = self.parity[a[start:end]] ^ self.parity[b[start:end]]
            differing[start:end] = bit_counts(xor).sum(axis=1)
        keep = differing <= self.threshold
        self.judged.append(a[~keep] * (self.count + 1) + b[~keep])
        a, b, differing = a[keep], b[keep], differing[keep]
        order = np.argsort(differing, kind="stable")
        return a[order], b[order]

    def differing_bytes(self, slot_a, slot_b):
        """Bytes that differ between the buffered pages of each pair, or
        more than threshold: words first, bytes within differing words."""
        xor = self.reader.words(slot_a) ^ self.reader.words(slot_b)
        differing = xor != 0
        count = np.count_nonzero(differing, axis=1)
        close = np.flatnonzero(count <= self.threshold)
        rows, columns = np.nonzero(differing[close])
        count[close] = np.bincount(rows, weights=nonzero_bytes_of_words(xor[close[rows], columns]),
                                   minlength=len(close)).astype(np.int64)
        return count

    def verify(self, a, b):
        """Compare the pairs (a, b) byte by byte; join the near ones."""
        find = self.groups.find
        apart = [find(x) != find(y) for x, y in zip(a.tolist(), b.tolist())]
        a, b = a[apart], b[apart]
        if not a.size:
            return
        indices = np.unique(np.concatenate([a, b]))
        slots = self.reader.slots_of(indices)
        differing = self.differing_bytes(slots[np.searchsorted(indices, a)],
                                         slots[np.searchsorted(indices, b)])
        changed = self.reader.changed
        near = (differing <= self.threshold) & ~changed[a] & ~changed[b]
        self.verified_pairs += len(a)
        for x, y in zip(a[near].tolist(), b[near].tolist()):
            self.near_pairs += 1
            self.groups.union(x, y)
        self.judged.append(a[~near] * (self.count + 1) + b[~near])

    def counts(self):
        """(near_dup, near_dup_delta) over the distinct contents."""
        if not self.count:
            return 0, 0
        labels = self.groups.labels()
        sizes = np.bincount(labels, minlength=self.count + 1)
        in_group = sizes[labels[:self.count]] >= 2
        near_dup = int(np.count_nonzero(in_group))
        roots = np.unique(labels[:self.count][in_group])
        bases = int(np.count_nonzero(roots != self.groups.zero_node))
        return near_dup, near_dup - bases


# --- the API -----------------------------------------------------------------

def open_sources(pids, files, regions, shared_anon):
    """Open every source; returns (sources, [(source id, what to scan)])."""
    sources, plan = [], []
    try:
        for pid in pids:
            pid = int(pid)
            spans = regions.get(pid) if regions else None
            if spans is None:
                spans = [(s, e) for s, e, _ in anon_regions(pid, shared_anon)]
            mem = os.open(f"/proc/{pid}/mem", os.O_RDONLY)
            sources.append(Source("pid", pid, mem))
            sources[-1].pagemap_fd = os.open(f"/proc/{pid}/pagemap", os.O_RDONLY)
            sources[-1].regions = len(spans)
            plan.append((len(sources) - 1, sorted(spans)))
        for path in files:
            fd = os.open(path, os.O_RDONLY)
            sources.append(Source("file", str(path), fd))
            plan.append((len(sources) - 1, os.fstat(fd).st_size))
    except BaseException:
        for source in sources:
            source.close()
        raise
    return sources, plan


def estimated_pages(pids, files, regions, shared_anon):
    """Pages the scan would read, from smaps Rss+Swap and file sizes."""
    total = 0
    for pid in pids:
        spans = regions.get(int(pid)) if regions else None
        if spans is None:
            total += sum(n for _, _, n in anon_regions(int(pid), shared_anon))
        else:
            total += sum((e - s) // PAGE for s, e in spans)
    for path in files:
        total += -(-os.stat(path).st_size // PAGE)
    return total


def scale(count, factor):
    return int(round(count * factor))


def scan_domain(pids=(), files=(), max_pages=None, shared_anon=False,
                regions=None, max_diff_bytes=MAX_DIFF_BYTES,
                max_diff_fraction=MAX_DIFF_FRACTION):
    """Scan one domain (processes `pids` and `files` together) and return
    its zero / exact-duplicate / near-duplicate counts (module docstring).
    regions: {pid: [(start, end), ...]} scans exactly those address ranges
    of a pid instead of its anonymous regions (tests, known mappings)."""
    started = time.monotonic()
    threshold = min(int(max_diff_bytes), int(max_diff_fraction * PAGE))
    sample_rate = 1.0
    if max_pages is not None:
        total = estimated_pages(pids, files, regions, shared_anon)
        if total > max_pages:
            sample_rate = max_pages / total
    domain = Domain(sample_rate, threshold)
    domain.zero_frames = frame_ranges(zero_page_frames())
    sources, plan = open_sources(pids, files, regions, shared_anon)
    try:
        for source_id, what in plan:
            source = sources[source_id]
            if source.kind == "pid":
                for start, end in what:
                    domain.scan_region(source_id, source, start, end)
            else:
                domain.scan_file(source_id, source, what)
        read_done = time.monotonic()
        reader = PageReader(domain, sources)
        search = NearSearch(domain.distinct_arrays(), reader, threshold, domain.zero > 0)
        search.run()
        near_dup, near_dup_delta = search.counts()
    finally:
        for source in sources:
            source.close()
    return result_dict(domain, search, reader, sources, near_dup, near_dup_delta,
                       sample_rate, threshold, max_diff_bytes, max_diff_fraction,
                       started, read_done)


def result_dict(domain, search, reader, sources, near_dup, near_dup_delta,
                sample_rate, threshold, max_diff_bytes, max_diff_fraction,
                started, read_done):
    nonzero_pages = domain.pages - domain.zero
    factor = nonzero_pages / domain.analysed if domain.analysed else 0.0
    exact_dup = scale(domain.exact_dup, factor)
    unique_exact = nonzero_pages - exact_dup
    near_dup = min(scale(near_dup, factor), unique_exact)
    near_dup_delta = min(scale(near_dup_delta, factor), near_dup)
    near_zero = min(scale(search.near_zero, factor), near_dup)
    counts = {
        "zero": domain.zero,
        "exact_dup": exact_dup,
        "unique_exact": unique_exact,
        "near_dup": near_dup,
        "near_dup_delta": near_dup_delta,
        "near_zero": near_zero,
        "unmatched": unique_exact - near_dup,
    }
    result = {"pages": domain.pages}
    result.update(counts)
    for name, value in counts.items():
        result[name + "_fraction"] = value / domain.pages if domain.pages else 0.0
    finished = time.monotonic()
    result.update({
        "bytes": domain.pages * PAGE,
        "seconds": round(finished - started, 3),
        "seconds_near": round(finished - read_done, 3),
        "sampled": sample_rate < 1.0,
        "sample_rate": sample_rate,
        "analysed": domain.analysed,
        "shared_frames": domain.shared_frames,
        "zero_page_mappings": domain.zero_page_mappings,
        "swapped": domain.swapped,
        "unreadable": domain.unreadable,
        "changed": int(np.count_nonzero(reader.changed)),
        "frames_known": domain.frames_known,
        "candidate_pairs": search.candidate_pairs,
        "verified_pairs": search.verified_pairs,
        "near_pairs": search.near_pairs,
        "params": {
            "page_bytes": PAGE,
            "max_diff_bytes": max_diff_bytes,
            "max_diff_fraction": max_diff_fraction,
            "threshold_bytes": threshold,
            "block_bytes": BLOCK,
            "key_groups": len(group_bounds(threshold)),
            "window": WINDOW,
            "content_key": "md5",
        },
        "sources": [source.describe() for source in sources],
    })
    return result


def parse_list(text):
    return [x for x in (text or "").split(",") if x]


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--pids", default="", help="comma-separated pids")
    parser.add_argument("--files", default="", help="comma-separated file paths")
    parser.add_argument("--max-pages", type=int, default=None)
    parser.add_argument("--shared-anon", action="store_true",
                        help="also scan shared anonymous mappings")
    parser.add_argument("--json", action="store_true", help="print the result as JSON")
    args = parser.parse_args(argv)
    pids = [int(p) for p in parse_list(args.pids)]
    files = parse_list(args.files)
    if not pids and not files:
        parser.error("nothing to scan: give --pids and/or --files")
    result = scan_domain(pids=pids, files=files, max_pages=args.max_pages,
                         shared_anon=args.shared_anon)
    if args.json:
        json.dump(result, sys.stdout, indent=1)
        print()
        return 0
    print(f"pagescan: {result['pages']} pages ({result['bytes'] >> 20} MiB) in "
          f"{result['seconds']} s{' (sampled)' if result['sampled'] else ''}")
    for name in ("zero", "exact_dup", "unique_exact", "near_dup", "near_dup_delta",
                 "near_zero", "unmatched"):
        print(f"  {name:15} {result[name]:9d}  {100 * result[name + '_fraction']:6.2f}%")
    return 0


if __name__ == "__main__":
    sys.exit(main())
