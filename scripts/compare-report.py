#!/usr/bin/env python3
"""make compare's report: reads the records the guest driver
(tests/compare/compare.py) wrote, one "COMPARE {json}" line each, and
writes OUTDIR/results.json (every record, plus the summary below),
OUTDIR/report.md (the tables) and OUTDIR/memory.png (per workload, the
memory it holds after the pressure under each configuration, RAM and
zswap stacked; needs gnuplot).

Per workload and configuration, over the repetitions: the medians of what
the workload's cgroups hold before and after the pressure
(memory.current, which includes the zswap objects charged to them), and
the ratio to stock zswap measured in the same repetition (paired, median
with min and max), the zswap charge, what went to the swap disk, the
share of its stores that dedup merged (zswpout_dedup / zswpout), the
reclaiming task's system CPU time, the read-back time.  For a workload
with a request benchmark (redis: the driver's bench phase, under
memory.high): requests/s and the p50 and p99 latency, medians over the
replicas and then over the repetitions, each with its ratio to stock
zswap's in the same repetition (median, min, max), the zswap loads during
the benchmark, and whether the data verified after it.  Per
configuration: ksmd's CPU seconds and wait, KSM's pages_sharing, the zswap
pool after the pressure.  With --tap FILE (make check's smoke run) it also
writes TAP to FILE: each configuration ran, every replica verified, no
kernel splat on the console, and the driver finished.

Usage: compare-report.py [--console LOG] [--tap FILE] RECORDS OUTDIR
Exit status: 0 when the driver finished and every replica's data
verified, 1 otherwise.
"""
import argparse
import json
import os
import re
import shutil
import statistics
import subprocess
import sys

from gnuplot_term import gnuplot_terminal

MiB = 1 << 20
# Kernel splats that invalidate a run (as scripts/vm-report.py counts them).
SPLAT = re.compile(r'(WARNING:|BUG:|Oops|Kernel panic|soft lockup|blocked for more than'
                   r'|KASAN:|KFENCE:|possible circular locking|suspicious RCU usage'
                   r'|general protection fault)')


def read_records(path):
    """The records of a driver log: (records, lines that did not parse)."""
    records, bad = [], []
    end = None
    if not os.path.exists(path):
        return records, end, bad
    with open(path, errors='replace') as f:
        for line in f:
            line = line.rstrip('\n')
            if line.startswith('COMPARE-END '):
                try:
                    end = json.loads(line[len('COMPARE-END '):])
                except ValueError:
                    bad.append(line[:200])
            elif line.startswith('COMPARE '):
                try:
                    records.append(json.loads(line[len('COMPARE '):]))
                except ValueError:
                    bad.append(line[:200])
    return records, end, bad


def console_splats(path):
    if not path or not os.path.exists(path):
        return []
    with open(path, errors='replace') as f:
        return [line.strip()[:200] for line in f if SPLAT.search(line)]


def get(d, *keys):
    for k in keys:
        if not isinstance(d, dict) or d.get(k) is None:
            return None
        d = d[k]
    return d


def med(values):
    values = [v for v in values if v is not None]
    return statistics.median(values) if values else None


def total(values):
    """The sum of @values, None if any is None (or there are none)."""
    values = list(values)
    return None if not values or any(v is None for v in values) else sum(values)


def paired(rs, stock, *keys):
    """Ratios of each run's value at @keys to stock's in the same repetition
    (@stock: {(service, rep): stock run}), as (median, min, max), None if none."""
    ratios = []
    for r in rs:
        base = get(stock.get((r['service'], r['rep'])), *keys)
        value = get(r, *keys)
        if base and value is not None:
            ratios.append(value / base)
    if not ratios:
        return None, None, None
    return med(ratios), min(ratios), max(ratios)


def verified(checks):
    """False if any check failed, True if some passed, None if none ran."""
    if any(c is False for c in checks):
        return False
    return True if any(c is True for c in checks) else None


def bench_summary(rs, stock):
    """The bench phase's figures of @rs (one service x config), or {} without any."""
    bs = [r for r in rs if get(r, 'bench', 'p50_ms') is not None]
    if not any(r.get('bench') for r in rs):
        return {}
    out = {'bench_reps': len(bs),
           'bench_verified': verified([get(r, 'bench', 'verified') for r in rs if r.get('bench')]),
           'bench_errors': sum(1 for r in rs if get(r, 'bench', 'error')),
           'bench_requests': med(get(r, 'bench', 'requests') for r in bs),
           'bench_clients': med(get(r, 'bench', 'clients') for r in bs),
           'bench_high_fraction': med(get(r, 'bench', 'high_fraction') for r in bs),
           'bench_memory_high': med(med(x.get('memory_high') for x in get(r, 'bench', 'replicas') or [])
                                    for r in bs),
           'bench_zswpin': med(total(x.get('zswpin') for x in get(r, 'bench', 'replicas') or [])
                               for r in bs),
           'bench_s': med(get(r, 'bench', 'wall_s') for r in bs)}
    for key in ('rps', 'p50_ms', 'p99_ms'):
        out[f'bench_{key}'] = med(get(r, 'bench', key) for r in bs)
        ratio, low, high = paired(bs, stock, 'bench', key)
        out[f'bench_{key}_ratio'] = ratio
        out[f'bench_{key}_ratio_min'] = low
        out[f'bench_{key}_ratio_max'] = high
    return out


def summarize(runs, configs, order):
    """Per service x config: medians over repetitions, ratios to stock paired by rep."""
    by_key = {}
    for r in runs:
        by_key.setdefault((r['service'], r['config']), []).append(r)
    stock = {(r['service'], r['rep']): r for r in runs if r['config'] == 'stock' and r.get('ok')}
    services = []
    for r in runs:
        if r['service'] not in services:
            services.append(r['service'])
    summary = {}
    for s in services:
        summary[s] = {}
        for c in order:
            rs = [r for r in by_key.get((s, c), []) if r.get('ok')]
            if not rs:
                summary[s][c] = {'reps': 0}
                continue
            ratio_after, ratio_after_min, ratio_after_max = paired(rs, stock, 'after', 'memory_current')
            merged = []
            for r in rs:
                out = (get(r, 'after', 'zswpout') or 0) - (get(r, 'before', 'zswpout') or 0)
                dedup = (get(r, 'after', 'zswpout_dedup') or 0) - (get(r, 'before', 'zswpout_dedup') or 0)
                if out > 0:
                    merged.append(dedup / out)
            est = [get(r, 'estimate', 'domains', 'tenant', 'duplicate_percent') for r in rs]
            summary[s][c] = {
                'reps': len(rs),
                'correct': all(r.get('correct') is True for r in rs),
                'before_held': med(get(r, 'before', 'memory_current') for r in rs),
                'after_held': med(get(r, 'after', 'memory_current') for r in rs),
                'after_ram': med(get(r, 'after', 'ram_held') for r in rs),
                'after_zswap': med(get(r, 'after', 'zswap') for r in rs),
                'on_disk': med(get(r, 'after', 'on_disk') for r in rs),
                'ratio_after': ratio_after,
                'ratio_after_min': ratio_after_min,
                'ratio_after_max': ratio_after_max,
                'ratio_before': paired(rs, stock, 'before', 'memory_current')[0],
                'merged_share': med(merged),
                'estimate_percent': med(est),
                'ksm_merging_pages': med(get(r, 'before_ksm', 'ksm_merging_pages') for r in rs),
                'pressure_sys_s': med(get(r, 'pressure', 'sys_cpu_s') for r in rs),
                'pressure_wall_s': med(get(r, 'pressure', 'wall_s') for r in rs),
                'readback_s': med(get(r, 'readback', 'wall_s') for r in rs),
            }
            summary[s][c].update(bench_summary(rs, stock))
    per_config = {}
    for c in order:
        cs = [x for x in configs if x['config'] == c]
        per_config[c] = {
            'label': cs[0].get('label', c) if cs else c,
            'reps': len(cs),
            'ksmd_cpu_s': med(get(x, 'ksm_wait', 'ksmd_cpu_s') for x in cs),
            'ksm_wait_s': med(get(x, 'ksm_wait', 'wall_s') for x in cs),
            'ksm_converged': sum(1 for x in cs if get(x, 'ksm_wait', 'converged')),
            'ksm_pages_sharing': med(get(x, 'ksm_wait', 'pages_sharing') for x in cs),
            'pool_after_pressure': med(get(x, 'snapshots', 'after_pressure', 'zswap', 'pool_total_size')
                                       for x in cs),
            'stored_pages_after_pressure': med(get(x, 'snapshots', 'after_pressure', 'zswap', 'stored_pages')
                                               for x in cs),
            'total_s': med(get(x, 'times', 'total_s') for x in cs),
        }
    return services, summary, per_config


def mib(v):
    return '-' if v is None else f'{v / MiB:.1f}'


def pct(v):
    return '-' if v is None else f'{100 * v:.0f}%'


def secs(v):
    return '-' if v is None else f'{v:.1f}'


def ratio(s, key='ratio_after'):
    if s.get(key) is None:
        return '-'
    return f'{s[key]:.2f} [{s[key + "_min"]:.2f}, {s[key + "_max"]:.2f}]'


def yes_no(v):
    return '-' if v is None else 'yes' if v else 'NO'


def ms(v):
    if v is None:
        return '-'
    return f'{v:.3f}' if v < 10 else f'{v:.1f}'


def bench_md(s, summary, per_config, order):
    """The section of a workload's request benchmark (redis), or []."""
    rows = [(c, summary[s].get(c, {})) for c in order]
    if not any('bench_reps' in x for _, x in rows):
        return []
    some = next((x for _, x in rows if x.get('bench_reps')), {})
    out = [f'\n## {s}: request latency under memory.high\n']
    out.append('After the read-back, every replica\'s `memory.high` '
               f'{pct(some.get("bench_high_fraction"))} of the way from its `memory.current` after '
               'the pressure (everything pushed out) up to before it (loaded), as the boot\'s first '
               'configuration without KSM measured them: one limit in every configuration, and '
               'what dedup saves in zswap is left to RAM. Then, one replica at a time while all '
               'sit at their limit, '
               f'`redis-benchmark` ({some.get("bench_requests") or 0:,.0f} requests a replica, '
               f'{some.get("bench_clients") or 0:.0f} connections) reads random keys of the loaded '
               'dataset, so that requests fault pages in from zswap and push others out. '
               'p50, p99, requests/s: median over the replicas, then over repetitions; "vs stock": '
               'divided by stock zswap\'s in the same repetition (median [min, max]). '
               '"zswap loads": `zswpin` of the replicas during their runs. "verified": every '
               'replica\'s `DEBUG DIGEST` after the benchmark (`--redis-bench-verify`; "-": not '
               'checked).\n')
    out.append('| configuration | memory.high a replica | requests/s | p50 ms | p99 ms | p50 vs stock '
               '| p99 vs stock | requests/s vs stock | zswap loads | verified |')
    out.append('| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | --- |')
    for c, x in rows:
        label = per_config[c]['label']
        if not x.get('bench_reps'):
            why = 'failed' if 'bench_reps' in x or not x.get('reps') else 'not run'
            out.append(f'| {label} | {why} | | | | | | | | |')
            continue
        rps = '-' if x['bench_rps'] is None else f'{x["bench_rps"]:,.0f}'
        loads = '-' if x['bench_zswpin'] is None else f'{x["bench_zswpin"]:,.0f}'
        high = '-' if x['bench_memory_high'] is None else f'{mib(x["bench_memory_high"])} MiB'
        out.append(f'| {label} | {high} | {rps} | {ms(x["bench_p50_ms"])} '
                   f'| {ms(x["bench_p99_ms"])} | {ratio(x, "bench_p50_ms_ratio")} '
                   f'| {ratio(x, "bench_p99_ms_ratio")} | {ratio(x, "bench_rps_ratio")} | {loads} '
                   f'| {yes_no(x["bench_verified"])} |')
    return out


def report_md(meta, services, summary, per_config, order, errors, splats, end, scans, png):
    out = []
    out.append('# make compare: zdedup against KSM and stock zswap\n')
    if meta:
        out.append(f'Linux {meta.get("kernel", "?")}, {meta.get("cpus", "?")} CPUs, '
                   f'{mib(meta.get("mem_total_bytes"))} MiB RAM, zswap '
                   f'{get(meta, "zswap_params", "compressor") or "?"}, '
                   f'{meta.get("reps", "?")} repetitions of {len(order)} configurations in one boot, '
                   f'each repetition in an order rotated by one. Versions: '
                   + ', '.join(f'{k} {v}' for k, v in (meta.get('versions') or {}).items()) + '.\n')
    out.append('"held" is the workload\'s `memory.current` summed over its replica cgroups: '
               'its RAM plus the zswap objects charged to it. "after" is after `memory.reclaim` '
               'pushed everything out. "vs stock": held after the pressure divided by stock '
               'zswap\'s in the same repetition (median [min, max] over repetitions). '
               '"merged": the share of the workload\'s zswap stores that dedup merged '
               '(`zswpout_dedup` / `zswpout`); "predicted": what `zdedup-loader estimate` '
               'predicted before the pressure for the tenant policy. "reclaim CPU": system '
               'time of the task writing `memory.reclaim` (the store side). Medians over '
               'repetitions.\n')
    for s in services:
        out.append(f'\n## {s}\n')
        out.append('| configuration | held before | held after | vs stock | zswap charge | on disk '
                   '| merged | predicted | KSM merged pages | reclaim CPU s | read-back s | verified |')
        out.append('| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | --- |')
        for c in order:
            x = summary[s].get(c, {'reps': 0})
            label = per_config[c]['label']
            if not x['reps']:
                out.append(f'| {label} | failed | | | | | | | | | | |')
                continue
            est = '-' if x['estimate_percent'] is None else f'{x["estimate_percent"]:.0f}%'
            ksm = '-' if not x['ksm_merging_pages'] else f'{x["ksm_merging_pages"]:,.0f}'
            out.append(f'| {label} | {mib(x["before_held"])} MiB | {mib(x["after_held"])} MiB '
                       f'| {ratio(x)} | {mib(x["after_zswap"])} MiB | {mib(x["on_disk"])} MiB '
                       f'| {pct(x["merged_share"])} | {est} | {ksm} | {secs(x["pressure_sys_s"])} '
                       f'| {secs(x["readback_s"])} | {"yes" if x["correct"] else "NO"} |')
    for s in services:
        out += bench_md(s, summary, per_config, order)
    out.append('\n## Per configuration\n')
    out.append('| configuration | ksmd CPU s | KSM wait s | converged | KSM pages_sharing '
               '| zswap pool after pressure | stored pages | seconds per run |')
    out.append('| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |')
    for c in order:
        p = per_config[c]
        conv = f'{p["ksm_converged"]}/{p["reps"]}' if p['ksmd_cpu_s'] is not None else '-'
        sharing = '-' if p['ksm_pages_sharing'] is None else f'{p["ksm_pages_sharing"]:,.0f}'
        stored = '-' if p['stored_pages_after_pressure'] is None else f'{p["stored_pages_after_pressure"]:,.0f}'
        out.append(f'| {p["label"]} | {secs(p["ksmd_cpu_s"])} | {secs(p["ksm_wait_s"])} | {conv} '
                   f'| {sharing} | {mib(p["pool_after_pressure"])} MiB | {stored} | {secs(p["total_s"])} |')
    if scans:
        out.append('\n## Beyond exact duplicates\n')
        out.append('Each workload\'s anonymous pages (and the shmem workload\'s files), one domain '
                   'per workload, scanned before the pressure (tests/compare/pagescan.py): '
                   'zero pages, exact duplicates (what exact dedup can take) and near-duplicates '
                   '(within 64 bytes of another distinct page, one base page per group not '
                   'counted: what a delta encoding could add).\n')
        out.append('| workload | pages | zero | exact duplicates | near-duplicates |')
        out.append('| --- | ---: | ---: | ---: | ---: |')
        for sc in scans:
            r = sc.get('result') or {}
            n = r.get('pages') or 0
            if not n:
                out.append(f'| {sc.get("service")} | failed: {sc.get("error", "?")} | | | |')
                continue
            out.append(f'| {sc.get("service")} | {n:,} | {pct(r.get("zero", 0) / n)} '
                       f'| {pct(r.get("exact_dup", 0) / n)} '
                       f'| {pct(r.get("near_dup_delta", r.get("near_dup", 0)) / n)} |')
    out.append('\n## Integrity and errors\n')
    out.append(f'- driver finished: {"yes" if end else "NO"}'
               + (f' (ok {end.get("ok")}, {end.get("errors")} errors, '
                  f'{end.get("correctness_failures")} correctness failures)' if end else ''))
    out.append(f'- kernel splats on the console: {len(splats)}')
    for sp in splats[:10]:
        out.append(f'  - `{sp}`')
    for e in errors[:30]:
        out.append(f'- error: rep {e.get("rep")} {e.get("config")} {e.get("service")} '
                   f'{e.get("phase")}: {str(e.get("message"))[:200]}')
    if png:
        out.append(f'\n![memory held after the pressure]({os.path.basename(png)})\n')
    return '\n'.join(out) + '\n'


def chart(services, summary, per_config, order, outdir, kernel):
    """memory.png: per workload, RAM and zswap held after the pressure per configuration."""
    if not shutil.which('gnuplot'):
        return None, 'gnuplot is not installed (scripts/deps.sh installs gnuplot-nox)'
    term = gnuplot_terminal('1100,600')
    if not term:
        return None, 'gnuplot has no png terminal'
    data = os.path.join(outdir, 'memory.dat')
    short = {'stock': 'stock', 'builtin': 'built-in', 'tenant': 'tenant', 'ksm': 'KSM',
             'ksm-aggressive': 'KSM aggr.', 'ksm+tenant': 'KSM+tenant'}
    with open(data, 'w') as f:
        for s in services:
            f.write(f'# {s}\n')
            for c in order:
                x = summary[s].get(c, {})
                f.write(f'"{short.get(c, c)}" {(x.get("after_ram") or 0) / MiB:.2f} '
                        f'{(x.get("after_zswap") or 0) / MiB:.2f}\n')
            f.write('\n\n')
    png = os.path.join(outdir, 'memory.png')
    cols = min(len(services), 3)
    rows = (len(services) + cols - 1) // cols
    plots = []
    for i, s in enumerate(services):
        plots.append(f'''set title "{s}"
plot "{data}" index {i} using 2:xtic(1) title "RAM" lc rgb "#3465a4", \\
     "" index {i} using 3 title "zswap" lc rgb "#f57900"''')
    script = f'''set terminal {term}
set output "{png}"
set multiplot layout {rows},{cols} title "Memory held after memory.reclaim, per workload and configuration (Linux {kernel}; MiB, median of repetitions)"
set style data histograms
set style histogram rowstacked
set style fill solid 0.85 border -1
set boxwidth 0.75
set yrange [0:*]
set offsets 0, 0, graph 0.18, 0
set grid ytics
set xtics rotate by -35 font ",8"
set key top right
''' + '\n'.join(plots) + '\nunset multiplot\n'
    gp = os.path.join(outdir, 'memory.gp')
    with open(gp, 'w') as f:
        f.write(script)
    r = subprocess.run(['gnuplot', gp], capture_output=True, text=True)
    if r.returncode != 0 or not os.path.exists(png):
        return None, 'gnuplot failed: ' + r.stderr.strip()[:300]
    return png, None


def tap(path, order, runs, end, splats, bad):
    lines, n, failed = [], 0, 0

    def check(ok, what):
        nonlocal n, failed
        n += 1
        failed += 0 if ok else 1
        lines.append(f'{"ok" if ok else "not ok"} {n} compare smoke: {what}')
    for c in order:
        rs = [r for r in runs if r['config'] == c]
        done = [r for r in rs if r.get('ok')]
        check(rs and len(done) == len(rs), f'{c}: every service ran ({len(done)}/{len(rs)})')
        verified = [r for r in rs if r.get('correct') is True]
        check(rs and len(verified) == len(rs), f'{c}: every replica\'s data verified after the read-back')
    check(end is not None and end.get('ok') is True and end.get('complete') is not False,
          'the driver finished: ' + (json.dumps(end) if end else 'no COMPARE-END'))
    check(not splats, f'no kernel splat on the console ({len(splats)})' +
          (f': {splats[0]}' if splats else ''))
    check(not bad, f'every record parsed ({len(bad)} did not)')
    if not order:
        check(False, 'no configuration ran')
    with open(path, 'w') as f:
        f.write('TAP version 13\n' + ''.join(x + '\n' for x in lines) + f'1..{n}\n')
    print(''.join(x + '\n' for x in lines), end='')
    return failed


def main():
    ap = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    ap.add_argument('--console', help='the guest console log (kernel splats)')
    ap.add_argument('--tap', metavar='FILE', help='write TAP to FILE (make check\'s smoke run)')
    ap.add_argument('records')
    ap.add_argument('outdir')
    a = ap.parse_args()
    records, end, bad = read_records(a.records)
    meta = next((r for r in records if r.get('type') == 'meta'), None)
    runs = [r for r in records if r.get('type') == 'run']
    configs = [r for r in records if r.get('type') == 'config']
    errors = [r for r in records if r.get('type') == 'error']
    scans = [r for r in records if r.get('type') == 'pagescan']
    order = (meta or {}).get('configs') or []
    for r in runs + configs:
        if r['config'] not in order:
            order.append(r['config'])
    splats = console_splats(a.console)
    services, summary, per_config = summarize(runs, configs, order)
    os.makedirs(a.outdir, exist_ok=True)
    png, why = (None, 'no run') if not runs else chart(
        services, summary, per_config, order, a.outdir, (meta or {}).get('kernel', '?'))
    with open(os.path.join(a.outdir, 'results.json'), 'w') as f:
        json.dump({'meta': meta, 'summary': summary, 'per_config': per_config, 'runs': runs,
                   'configs': configs, 'errors': errors, 'pagescans': scans, 'end': end,
                   'kernel_splats': splats, 'unparsed_lines': bad}, f, indent=1)
    md = report_md(meta, services, summary, per_config, order, errors, splats, end, scans, png)
    with open(os.path.join(a.outdir, 'report.md'), 'w') as f:
        f.write(md)
    if a.tap:
        failed = tap(a.tap, order, runs, end, splats, bad)
        return 1 if failed else 0
    print(md)
    if why:
        print(f'compare: no chart: {why}')
    print(f'compare: {a.outdir}/results.json, report.md' + (', memory.png' if png else ''))
    ok = end is not None and end.get('ok') is True and not splats
    return 0 if ok else 1


if __name__ == '__main__':
    sys.exit(main())
