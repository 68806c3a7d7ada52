#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0
"""scripts/compare-report.py on synthetic driver records.

Builds the records of two repetitions of three configurations (stock,
tenant, ksm) for two services with known memory figures, and checks what
the report makes of them: the ratio to stock paired within a repetition
(not across), medians over repetitions, the merged share from the
cgroups' zswpout counters, ksmd's CPU time, the redis request benchmark
(p50, p99 and requests/s, their ratios to stock paired within a
repetition, a benchmark that failed), results.json's keys, and the smoke
run's TAP: a replica whose data did not verify, a configuration that did
not run, a kernel splat on the console and a missing COMPARE-END each
fail it; a clean run passes.  Also the driver's parser of redis-benchmark
7.0's --csv output, which the benchmark's records come from.  Prints TAP.

Usage: tests/host/test_compare_report.py
"""
import json
import os
import subprocess
import sys
import tempfile

TOP = os.path.abspath(os.path.join(os.path.dirname(__file__), '..', '..'))
SCRIPT = os.path.join(TOP, 'scripts', 'compare-report.py')
MiB = 1 << 20
CONFIGS = ['stock', 'tenant', 'ksm']
# held after the pressure (MiB) per service, config, rep: stock differs by
# rep so that an unpaired ratio would come out differently.
AFTER = {
    'weights': {'stock': [100, 200], 'tenant': [50, 120], 'ksm': [30, 60]},
    'redis': {'stock': [40, 40], 'tenant': [30, 34], 'ksm': [38, 39]},
}
# the redis bench phase: per config, per rep, the replicas' p99 (ms); p50
# and requests/s derived from it.  The record's figures are the replicas'
# medians: tenant/stock p99 6/12 and 16/20, paired 0.5 and 0.8, median
# 0.65 (unpaired medians would give 11/16).
BENCH_P99 = {'stock': [[12, 10, 14], [20, 25, 18]], 'tenant': [[6, 5, 7], [16, 30, 12]],
             'ksm': [[9, 9, 9], [9, 9, 9]]}
# redis-benchmark 7.0.15's --csv output, as the guest's prints it
BENCH_CSV = ('"test","rps","avg_latency_ms","min_latency_ms","p50_latency_ms",'
             '"p95_latency_ms","p99_latency_ms","max_latency_ms"\n'
             '"evalsha f7452c49c1a7f744b8b1aa1dc8f2c62c1de9decd 0 __rand_int__",'
             '"20060.18","0.392","0.056","0.247","1.631","3.063","8.367"\n')
results = []


def check(ok, what):
    results.append((bool(ok), what))


def bench_record(rep, config, failed=False, checked=True):
    if failed:
        return {'requests': 3000, 'clients': 4, 'high_fraction': 0.5, 'verified': None,
                'error': 'WorkloadError: redis-benchmark exited with status 1',
                'p50_ms': None, 'p99_ms': None, 'rps': None, 'replicas': []}
    replicas = [{'replica': i, 'memory_high': 12 * MiB, 'p99_ms': p99, 'p50_ms': p99 / 4,
                 'rps': 4000 / p99, 'zswpin': 100 * (i + 1)}
                for i, p99 in enumerate(BENCH_P99[config][rep - 1])]
    middle = sorted(replicas, key=lambda x: x['p99_ms'])[1]
    return {'requests': 3000, 'clients': 4, 'high_fraction': 0.5,
            'verified': True if checked else None, 'error': None, 'wall_s': 8.0, 'replicas': replicas,
            'p99_ms': middle['p99_ms'], 'p50_ms': middle['p50_ms'], 'rps': middle['rps']}


def run_record(rep, config, service, correct=True, bench_failed=False):
    after = AFTER[service][config][rep - 1] * MiB
    return {'type': 'run', 'rep': rep, 'config': config, 'position': CONFIGS.index(config),
            'service': service, 'replicas': 2, 'ok': True, 'correct': correct,
            'before': {'memory_current': 2 * after, 'zswpout': 0, 'zswpout_dedup': 0},
            'after': {'memory_current': after, 'ram_held': after // 4, 'zswap': after - after // 4,
                      'on_disk': 0, 'zswpout': 1000,
                      'zswpout_dedup': 600 if config == 'tenant' else 0},
            'before_ksm': {'ksm_merging_pages': 500 if config == 'ksm' else 0},
            'pressure': {'wall_s': 2.0, 'sys_cpu_s': 1.5}, 'readback': {'wall_s': 3.0},
            'estimate': ({'domains': {'tenant': {'duplicate_percent': 61.0}}}
                         if config == 'tenant' else None),
            'bench': (bench_record(rep, config, failed=bench_failed and config == 'ksm',
                                   checked=not bench_failed)
                      if service == 'redis' else None)}


def config_record(rep, config):
    return {'type': 'config', 'rep': rep, 'config': config, 'label': config, 'ok': True,
            'ksm_wait': ({'converged': True, 'wall_s': 40.0, 'ksmd_cpu_s': 12.0 + rep,
                          'pages_sharing': 1000} if config == 'ksm' else None),
            'snapshots': {'after_pressure': {'zswap': {'pool_total_size': 10 * MiB,
                                                       'stored_pages': 5000}}},
            'times': {'total_s': 60.0}}


def write_log(path, records, end=True):
    with open(path, 'w') as f:
        f.write('compare: progress line\n')
        for r in records:
            f.write('COMPARE ' + json.dumps(r) + '\n')
        if end:
            f.write('COMPARE-END ' + json.dumps({'ok': True, 'errors': 0,
                                                 'correctness_failures': 0,
                                                 'complete': True}) + '\n')


def records(bad_replica=False, drop_config=None, bench_failed=False):
    out = [{'type': 'meta', 'kernel': '6.12.118-zdedup', 'configs': CONFIGS, 'reps': 2,
            'cpus': 2, 'mem_total_bytes': 2048 * MiB, 'versions': {'redis': '7.0'}}]
    for rep in (1, 2):
        for c in CONFIGS:
            if c == drop_config:
                continue
            for s in AFTER:
                out.append(run_record(rep, c, s, correct=not (bad_replica and rep == 2 and
                                                              c == 'tenant' and s == 'redis'),
                                      bench_failed=bench_failed))
            out.append(config_record(rep, c))
    return out


def report(tmp, name, recs, console='', end=True):
    log = os.path.join(tmp, name + '.log')
    con = os.path.join(tmp, name + '.console')
    outdir = os.path.join(tmp, name)
    tapf = os.path.join(tmp, name + '.tap')
    write_log(log, recs, end)
    with open(con, 'w') as f:
        f.write(console)
    r = subprocess.run([sys.executable, SCRIPT, '--console', con, '--tap', tapf, log, outdir],
                       capture_output=True, text=True)
    tap = open(tapf).read() if os.path.exists(tapf) else ''
    res = json.load(open(os.path.join(outdir, 'results.json'))) \
        if os.path.exists(os.path.join(outdir, 'results.json')) else {}
    return r, tap, res, outdir


def main():
    with tempfile.TemporaryDirectory() as tmp:
        r, tap, res, outdir = report(tmp, 'clean', records())
        check(r.returncode == 0 and 'not ok' not in tap,
              'a clean run: TAP all ok, exit 0 (%d; %s)' % (r.returncode, r.stderr.strip()[:200]))
        s = res.get('summary', {})
        w = s.get('weights', {})
        # paired: rep 1 50/100, rep 2 120/200 -> ratios 0.5 and 0.6, median 0.55
        check(abs((w.get('tenant', {}).get('ratio_after') or 0) - 0.55) < 1e-9,
              'ratio to stock paired within each repetition (weights tenant 0.55)')
        check(abs((w.get('tenant', {}).get('ratio_after_min') or 0) - 0.5) < 1e-9 and
              abs((w.get('tenant', {}).get('ratio_after_max') or 0) - 0.6) < 1e-9,
              'ratio min and max over repetitions (0.50, 0.60)')
        check(w.get('ksm', {}).get('after_held') == 45 * MiB,
              'held after the pressure: median over repetitions (weights ksm 45 MiB)')
        check(abs((w.get('tenant', {}).get('merged_share') or 0) - 0.6) < 1e-9,
              'merged share from zswpout_dedup / zswpout (60%)')
        check(w.get('tenant', {}).get('estimate_percent') == 61.0,
              'the estimate\'s tenant duplicate_percent carried (61%)')
        check(res.get('per_config', {}).get('ksm', {}).get('ksmd_cpu_s') == 13.5,
              'ksmd CPU seconds: median over repetitions (13.5)')
        check(all(k in res for k in ('meta', 'summary', 'per_config', 'runs', 'configs',
                                      'errors', 'end', 'kernel_splats')),
              'results.json has every key the report promises')
        md = open(os.path.join(outdir, 'report.md')).read()
        check('## weights' in md and '## redis' in md and '0.55 [0.50, 0.60]' in md,
              'report.md: a table per workload with the paired ratio')

        rt = s.get('redis', {}).get('tenant', {})
        check(rt.get('bench_p99_ms') == 11 and rt.get('bench_p50_ms') == 11 / 4,
              'bench p99 and p50: medians over repetitions of the records\' (tenant 11, 2.75 ms)')
        check(abs((rt.get('bench_p99_ms_ratio') or 0) - 0.65) < 1e-9 and
              abs((rt.get('bench_p99_ms_ratio_min') or 0) - 0.5) < 1e-9 and
              abs((rt.get('bench_p99_ms_ratio_max') or 0) - 0.8) < 1e-9,
              'bench p99 vs stock paired within each repetition (0.65 [0.50, 0.80])')
        check(abs((rt.get('bench_rps_ratio') or 0) - (1 / 0.5 + 1 / 0.8) / 2) < 1e-9,
              'bench requests/s vs stock paired (the inverse of the p99 ratios here)')
        check(rt.get('bench_zswpin') == 600 and rt.get('bench_memory_high') == 12 * MiB and
              rt.get('bench_verified') is True and rt.get('bench_reps') == 2,
              'bench zswap loads summed over the replicas, memory.high, verified, repetitions')
        check(not any(k.startswith('bench') for k in w.get('tenant', {})),
              'no bench figures for a workload without a benchmark (weights)')
        check('## redis: request latency under memory.high' in md and
              '## weights: request latency' not in md and
              '| 2.750 | 11.0 | 0.65 [0.50, 0.80] | 0.65 [0.50, 0.80] | 1.62 [1.25, 2.00] |' in md and
              '| 12.0 MiB |' in md,
              'report.md: the redis benchmark\'s table (memory.high, p50, p99, paired ratios)')

        r, tap, res, outdir = report(tmp, 'benchfail', records(bench_failed=True))
        rk = res.get('summary', {}).get('redis', {}).get('ksm', {})
        md = open(os.path.join(outdir, 'report.md')).read()
        check(rk.get('bench_reps') == 0 and rk.get('bench_errors') == 2 and
              rk.get('bench_p99_ms') is None and '| ksm | failed |' in md and
              res['summary']['redis']['tenant'].get('bench_reps') == 2,
              'a benchmark that failed: "failed" in its row, the others unchanged')
        check(res['summary']['redis']['tenant'].get('bench_verified') is None and
              '| 1.62 [1.25, 2.00] | 600 | - |' in md,
              'data not checked after the benchmark (no --redis-bench-verify): "-", not "NO"')

        sys.path.insert(0, os.path.join(TOP, 'tests', 'compare'))
        import compare
        parsed = compare.parse_benchmark_csv(BENCH_CSV)
        check(parsed == {'rps': 20060.18, 'avg_ms': 0.392, 'min_ms': 0.056, 'p50_ms': 0.247,
                         'p95_ms': 1.631, 'p99_ms': 3.063, 'max_ms': 8.367},
              'the driver parses redis-benchmark 7.0\'s --csv row (rps, p50, p95, p99, ...)')
        try:
            compare.parse_benchmark_csv('"test","rps"\n"GET","1000.00"\n')
            refused = False
        except compare.WorkloadError:
            refused = True
        check(refused, 'the driver refuses --csv output without latency percentiles (6.x)')

        r, tap, res, _ = report(tmp, 'bad', records(bad_replica=True))
        check(r.returncode != 0 and 'not ok' in tap and 'tenant: every replica' in tap,
              'a replica whose data did not verify fails the smoke TAP')
        r, tap, res, _ = report(tmp, 'missing', records(drop_config='ksm'))
        check(r.returncode != 0 and 'not ok' in tap and 'ksm: every service ran (0/0)' in tap,
              'a configuration that did not run fails the smoke TAP')
        r, tap, res, _ = report(tmp, 'splat', records(),
                                console='[ 12.3] WARNING: CPU: 0 PID: 1 at mm/zswap.c:100\n')
        check(r.returncode != 0 and 'not ok' in tap and res.get('kernel_splats'),
              'a kernel splat on the console fails the smoke TAP')
        r, tap, res, _ = report(tmp, 'noend', records(), end=False)
        check(r.returncode != 0 and 'not ok' in tap and 'no COMPARE-END' in tap,
              'a driver that never finished fails the smoke TAP')

    print('TAP version 13')
    for i, (ok, what) in enumerate(results, 1):
        print(f'{"ok" if ok else "not ok"} {i} compare-report: {what}')
    print(f'1..{len(results)}')
    return 0 if all(ok for ok, _ in results) else 1


if __name__ == '__main__':
    sys.exit(main())
