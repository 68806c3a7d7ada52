#!/usr/bin/env python3
"""Turn the console log of a soak run (scenario "soak") into results.

Reads the guest's "ZDEDUP-SOAK {json}" line and checks the log the way
scripts/vm-report.py does (same splat patterns: WARNING/BUG/lockdep,
KASAN, KFENCE, kmemleak; suite results; the guest reported back).
Writes a JSON file with round_trips, corrupted, splats, faults_injected,
kmemleak, counters_balanced, seconds, seed and the guest's other figures,
prints a summary and exits non-zero on any problem: a corrupted page, a
kernel splat, unbalanced counters, a kmemleak report that mentions zswap,
a failed guest check, or a guest that never reported.

Usage: soak-report.py LOG OUT.json [--replay 'make soak ...']
"""
import importlib.util
import json
import os
import re
import sys

here = os.path.dirname(os.path.abspath(__file__))
spec = importlib.util.spec_from_file_location('vm_report', os.path.join(here, 'vm-report.py'))
vm_report = importlib.util.module_from_spec(spec)
spec.loader.exec_module(vm_report)

SOAK = re.compile(r'^ZDEDUP-SOAK (\{.*\})\s*$')
SEED = re.compile(r'^soak: seed=(\d+)')


def main():
    args = sys.argv[1:]
    replay = None
    if '--replay' in args:
        i = args.index('--replay')
        replay = args[i + 1]
        del args[i:i + 2]
    if len(args) != 2:
        print(__doc__, file=sys.stderr)
        return 2
    log, out = args

    guest, seed, splats = None, None, []
    with open(log, errors='replace') as f:
        for raw in f:
            line = raw.rstrip('\r\n').replace('\r', '')
            m = SOAK.match(line)
            if m:
                try:
                    guest = json.loads(m.group(1))
                except ValueError:
                    pass
                continue
            m = SEED.match(line)
            if m:
                seed = int(m.group(1))
            if vm_report.SPLAT.search(line):
                splats.append(line.strip())
    passed, failed, skipped, failures = vm_report.report(log)

    problems = []
    if guest is None:
        problems.append('the guest never reported (no ZDEDUP-SOAK line: crash, hang or timeout)')
        guest = {}
    g = guest.get
    if g('corrupted', 0):
        problems.append(f"{g('corrupted')} corrupted pages")
    if guest and not g('counters_balanced', False):
        problems.append('zswap counters or memcg charges not back to zero')
    if g('kmemleak_zswap', 0) > 0:
        problems.append(f"{g('kmemleak_zswap')} kmemleak reports mention zswap")
    if splats:
        problems.append(f'{len(splats)} kernel splat lines, first: {splats[0]}')
    for f in failures:
        if 'splat' not in f:
            problems.append(f)

    res = {
        'round_trips': g('round_trips'),
        'corrupted': g('corrupted'),
        'splats': len(splats),
        'faults_injected': g('faults_injected'),
        'kmemleak': g('kmemleak'),
        'kmemleak_zswap': g('kmemleak_zswap'),
        'counters_balanced': g('counters_balanced'),
        'seconds': g('seconds'),
        'seed': g('seed', seed),
        'round_trips_per_s': (round(g('round_trips') / g('run_seconds'), 1)
                              if g('round_trips') and g('run_seconds') else None),
        'zswpout': g('zswpout'),
        'zswpin': g('zswpin'),
        'passed': not problems,
        'problems': problems,
        'splat_lines': splats[:20],
        'checks': {'passed': passed, 'failed': failed, 'skipped': skipped},
        'guest': guest,
        'log': log,
    }
    if replay:
        res['replay'] = replay
    os.makedirs(os.path.dirname(os.path.abspath(out)), exist_ok=True)
    with open(out, 'w') as f:
        json.dump(res, f, indent=2)
        f.write('\n')

    print()
    if guest:
        fi = ('no fault injection in this kernel' if not g('fault_injection')
              else f"{g('faults_injected')} faults injected")
        km = ('kmemleak not available' if g('kmemleak', -1) < 0
              else f"kmemleak {g('kmemleak')} reports ({g('kmemleak_zswap')} zswap)")
        print(f"soak: {g('round_trips'):,} round trips in {g('run_seconds')} s "
              f"({res['round_trips_per_s']}/s), {g('pages_compared'):,} pages compared, "
              f"{g('corrupted')} corrupted; zswap {g('zswpout'):,} out / {g('zswpin'):,} in, "
              f"{g('dedup_hits'):,} dedup hits; {fi}; {km}; counters "
              f"{'balanced' if g('counters_balanced') else 'NOT balanced'}; "
              f"{len(splats)} splats")
    for p in problems:
        print(f'FAILED: {p}')
    seed = res['seed']
    if seed is not None:
        print(f'soak: seed {seed}' + (f'; replay with: {replay}' if replay else ''))
    print(f'soak: results in {out}')
    return 1 if problems else 0


if __name__ == '__main__':
    sys.exit(main())
