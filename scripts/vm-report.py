#!/usr/bin/env python3
"""Turn a VM console log into test results.

Counts the TAP results the guest suites printed, adds the harness's own
checks (the guest reported back; every suite exited normally; the kernel
log holds no WARNING/BUG/lockdep/KASAN/KFENCE splat and no kmemleak
report), prints a summary ending in
"N passed, N failed" and exits non-zero on any failure.

Usage: vm-report.py [--tap TAPFILE]... LOG...

--tap adds a plain TAP file (host-side tests) to the totals.
"""
import re
import sys

TAP = re.compile(r'^(not ok|ok)\b(.*)$')
TAP_FAIL_GLUED = re.compile(r'(not ok) \d+ (.*)$')
SUITE_BEGIN = re.compile(r'^ZDEDUP-SUITE-BEGIN (\S+)')
SUITE_END = re.compile(r'^ZDEDUP-SUITE-END (\S+) rc=(\d+)')
RESULT = re.compile(r'^ZDEDUP-RESULT rc=(\d+)')
# What the kernel prints when something went wrong that a test might not
# notice by itself.  KASAN and KFENCE reports open with "BUG: KASAN: ..."
# and "BUG: KFENCE: ..." (matched by "BUG: "); their other forms (a
# general protection fault annotated by KASAN, a report without the BUG
# line) and kmemleak's summary after a scan that found new unreferenced
# objects are matched explicitly.
SPLAT = re.compile(r'(WARNING: |BUG: |Kernel panic|Oops: |'
                   r'general protection fault|possible circular locking|'
                   r'possible recursive locking|inconsistent lock state|'
                   r'suspicious RCU usage|UBSAN: |KASAN: |KFENCE: |'
                   r'kmemleak: .*new suspected memory leak|'
                   r'INFO: task .* blocked|soft lockup|hard LOCKUP)')
KSFT_SKIP = 4


def report(path):
    passed, failed, skipped = 0, 0, 0
    failures = []
    splats = []
    suite, suite_failed = None, False
    result = None
    with open(path, errors='replace') as f:
        for raw in f:
            line = raw.rstrip('\r\n').replace('\r', '')
            if SPLAT.search(line):
                splats.append(line)
            m = SUITE_BEGIN.match(line)
            if m:
                suite, suite_failed = m.group(1), False
                continue
            m = SUITE_END.match(line)
            if m:
                rc = int(m.group(2))
                if rc not in (0, KSFT_SKIP) and not suite_failed:
                    failed += 1
                    failures.append(f'suite {m.group(1)} exited with status {rc}')
                suite = None
                continue
            m = RESULT.match(line)
            if m:
                result = int(m.group(1))
                continue
            m = TAP.match(line)
            if not m:
                # A test that prints a message without a newline glues its
                # "not ok" to that message: still a failure.
                m = TAP_FAIL_GLUED.search(line)
                if not m:
                    continue
            if m.group(1) == 'not ok':
                failed += 1
                suite_failed = True
                failures.append(f'{suite or "?"}: {line}')
            elif re.search(r'#\s*SKIP', line, re.I):
                skipped += 1
            else:
                passed += 1

    name = path.rsplit('/', 1)[-1]
    if suite is not None:
        failed += 1
        failures.append(f'suite {suite} did not finish (guest crashed or hung)')
    if result is None:
        failed += 1
        failures.append(f'{name}: the guest never reported back (panic, hang or timeout)')
    elif result != 0:
        failed += 1
        failures.append(f'{name}: the guest scenario exited with status {result}')
    else:
        passed += 1
    if splats:
        failed += 1
        failures.append(f'{name}: the kernel log shows a splat: {splats[0].strip()}')
    else:
        passed += 1
    return passed, failed, skipped, failures


def report_tap(path):
    passed, failed, skipped, failures = 0, 0, 0, []
    with open(path, errors='replace') as f:
        for line in f:
            m = TAP.match(line.rstrip('\n'))
            if not m:
                continue
            if m.group(1) == 'not ok':
                failed += 1
                failures.append(f'host: {line.strip()}')
            elif re.search(r'#\s*SKIP', line, re.I):
                skipped += 1
            else:
                passed += 1
    return passed, failed, skipped, failures


def main():
    total = [0, 0, 0]
    all_failures = []
    args = sys.argv[1:]
    jobs = []
    while args:
        if args[0] == '--tap' and len(args) > 1:
            jobs.append((report_tap, args[1]))
            args = args[2:]
        else:
            jobs.append((report, args[0]))
            args = args[1:]
    for fn, path in jobs:
        p, f, s, fl = fn(path)
        total[0] += p
        total[1] += f
        total[2] += s
        all_failures += fl
    print()
    for f in all_failures:
        print(f'FAILED: {f}')
    if total[2]:
        print(f'{total[2]} skipped (reasons in the log)')
    print(f'{total[0]} passed, {total[1]} failed')
    return 1 if total[1] else 0


if __name__ == '__main__':
    sys.exit(main())
