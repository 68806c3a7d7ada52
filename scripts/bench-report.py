#!/usr/bin/env python3
"""Summarise the dedup benchmark: guest "BENCH {json}" lines -> results.json.

Usage: bench-report.py LOG RESULTS_JSON

For each workload, medians over the repetitions of every measurement of
each mode (off, on, ideal), and the ratios that answer the questions:

  pool_on_over_ideal     pool with dedup / pool storing each distinct page
                         once (1.0 = perfect dedup; metadata not included)
  pool_on_over_off       pool with dedup / pool without
  store_on_over_off      store throughput with dedup / without
  load_on_over_off       load throughput with dedup / without
  meta_bytes_per_unique_page  dedup_meta_bytes per index object
  meta_bytes_per_dup_page     dedup_meta_bytes per slot sharing an object
  net_saved_bytes        pool bytes saved minus the metadata they cost

Exit status 1 if no result was found or a run found corrupt pages.
"""
import json
import statistics
import sys

RUN_KEYS = ('stored', 'pool_bytes', 'store_s', 'load_s', 'store_pps',
            'load_pps', 'hits', 'index_entries', 'shared_slots',
            'saved_bytes', 'meta_bytes', 'corrupt')


def parse(path):
    info, runs, meta = {}, [], {}
    with open(path, errors='replace') as f:
        for raw in f:
            line = raw.replace('\r', '').strip()
            at = line.find('BENCH {')
            if at < 0:
                continue
            try:
                rec = json.loads(line[at + len('BENCH '):])
            except json.JSONDecodeError:
                continue
            kind = rec.pop('type', None)
            if kind == 'info':
                info = rec
            elif kind == 'run':
                runs.append(rec)
            elif kind == 'meta':
                meta[rec['workload']] = rec
    return info, runs, meta


def ratio(a, b):
    return round(a / b, 4) if a is not None and b else None


def summarise(info, runs, meta):
    workloads = {}
    order = []
    for r in runs:
        if r['workload'] not in order:
            order.append(r['workload'])
    for name in order:
        mine = [r for r in runs if r['workload'] == name]
        med = {}
        modes = ['off', 'on', 'ideal'] + sorted(
            {r['mode'] for r in mine if r['mode'].startswith('bpf_')})
        for mode in modes:
            rs = [r for r in mine if r['mode'] == mode]
            if rs:
                med[mode] = {k: statistics.median(r[k] for r in rs)
                             for k in RUN_KEYS}
                med[mode]['reps'] = len(rs)

        def m(mode, key):
            return med.get(mode, {}).get(key)

        mt = meta.get(name, {})
        w = {
            'pages': mine[0]['pages'],
            'distinct': mine[0]['distinct'],
            'pool_on_over_ideal': ratio(m('on', 'pool_bytes'), m('ideal', 'pool_bytes')),
            'pool_on_over_off': ratio(m('on', 'pool_bytes'), m('off', 'pool_bytes')),
            'pool_off_over_ideal': ratio(m('off', 'pool_bytes'), m('ideal', 'pool_bytes')),
            'store_on_over_off': ratio(m('on', 'store_pps'), m('off', 'store_pps')),
            'load_on_over_off': ratio(m('on', 'load_pps'), m('off', 'load_pps')),
            'meta_bytes_per_unique_page': ratio(mt.get('meta_unique_bytes'),
                                                mt.get('unique_objects')),
            'meta_bytes_per_dup_page': ratio(mt.get('meta_dup_bytes'),
                                             mt.get('dup_slots')),
            'net_saved_bytes': int(m('off', 'pool_bytes') - m('on', 'pool_bytes')
                                   - m('on', 'meta_bytes'))
            if 'on' in med and 'off' in med else None,
            'median': med,
            'meta': mt,
            'raw': mine,
        }
        # The cost of the BPF hook: each policy against the built-in one
        # (and, for adaptive, against dedup off: what it is for).
        for mode in modes[3:]:
            pol = mode[len('bpf_'):]
            w[f'store_bpf_{pol}_over_builtin'] = ratio(m(mode, 'store_pps'), m('on', 'store_pps'))
            w[f'load_bpf_{pol}_over_builtin'] = ratio(m(mode, 'load_pps'), m('on', 'load_pps'))
            w[f'store_bpf_{pol}_over_off'] = ratio(m(mode, 'store_pps'), m('off', 'store_pps'))
            w[f'pool_bpf_{pol}_over_ideal'] = ratio(m(mode, 'pool_bytes'), m('ideal', 'pool_bytes'))
        workloads[name] = w
    return {'info': info, 'workloads': workloads}


def fmt(v, spec):
    return format(v, spec) if v is not None else '-'


def table(res):
    info = res['info']
    print(f"zswap dedup benchmark: kernel {info.get('kernel', '?')}, "
          f"compressor {info.get('compressor', '?')}, "
          f"{info.get('mib', '?')} MiB per workload, "
          f"medians of {info.get('reps', '?')} runs")
    print()
    head = ('workload', 'pool off', 'pool on', 'ideal', 'on/ideal',
            'store/s off', 'on', 'on/off', 'load/s off', 'on', 'on/off',
            'meta/uniq', 'meta/dup')
    print('%-8s %9s %9s %9s %8s %11s %9s %6s %11s %9s %6s %9s %8s' % head)
    mib = 1 << 20
    for name, w in res['workloads'].items():
        med = w['median']

        def m(mode, key):
            return med.get(mode, {}).get(key)

        def pool(mode):
            v = m(mode, 'pool_bytes')
            return fmt(v / mib if v is not None else None, '.1f') + 'M'
        print('%-8s %9s %9s %9s %8s %11s %9s %6s %11s %9s %6s %9s %8s' % (
            name, pool('off'), pool('on'), pool('ideal'),
            fmt(w['pool_on_over_ideal'], '.3f'),
            fmt(m('off', 'store_pps'), '.0f'), fmt(m('on', 'store_pps'), '.0f'),
            fmt(w['store_on_over_off'], '.2f'),
            fmt(m('off', 'load_pps'), '.0f'), fmt(m('on', 'load_pps'), '.0f'),
            fmt(w['load_on_over_off'], '.2f'),
            fmt(w['meta_bytes_per_unique_page'], '.1f'),
            fmt(w['meta_bytes_per_dup_page'], '.1f')))
    print()
    print('pool: pool_total_size growth while the workload is stored; ideal: '
          'each distinct page stored once, dedup off; meta: dedup_meta_bytes '
          'per index object / per shared slot')
    bpf = [(n, k, v) for n, w in res['workloads'].items()
           for k, v in w.items() if k.startswith('store_bpf_')]
    if bpf:
        print()
        print('BPF policies (store throughput, dedup on):')
        for n, k, v in bpf:
            print(f'  {n:8s} {k:34s} {fmt(v, ".3f")}')


def main():
    if len(sys.argv) != 3:
        print(__doc__, file=sys.stderr)
        return 2
    info, runs, meta = parse(sys.argv[1])
    if not runs:
        print(f'bench-report: no BENCH results in {sys.argv[1]}', file=sys.stderr)
        return 1
    res = summarise(info, runs, meta)
    with open(sys.argv[2], 'w') as f:
        json.dump(res, f, indent=1)
        f.write('\n')
    table(res)
    print(f'results: {sys.argv[2]}')
    corrupt = sum(r['corrupt'] for r in runs) + sum(m.get('corrupt', 0) for m in meta.values())
    if corrupt:
        print(f'bench-report: {corrupt} corrupt pages', file=sys.stderr)
        return 1
    return 0


if __name__ == '__main__':
    sys.exit(main())
