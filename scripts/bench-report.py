#!/usr/bin/env python3
"""Summarise the dedup benchmark: guest "BENCH {json}" lines -> results.json.

Usage: bench-report.py LOG... RESULTS_JSON

Each LOG is one boot's console (scripts/bench.sh keeps them in
build/bench/logs/); its "info" lines say which suite ran (main, offonly,
scale), on which kernel (dedup compiled in or not) and with which
compressor, so the logs may come in any order.

End to end (key "workloads", from the main suite's first compressor; every
compressor's in "workloads_by_compressor"): for each workload, medians over
the repetitions of every measurement of each mode (off, on, ideal, bpf_*),
and the ratios that answer the questions:

  pool_on_over_ideal     pool with dedup / pool storing each distinct page
                         once (1.0 = perfect dedup; metadata not included)
  pool_on_over_off       pool with dedup / pool without
  store_on_over_off      store throughput with dedup / without
  load_on_over_off       load throughput with dedup / without
  meta_bytes_per_unique_page  dedup_meta_bytes per index object
  meta_bytes_per_dup_page     dedup_meta_bytes per slot sharing an object
  net_saved_bytes        pool bytes saved minus the metadata they cost

In the kernel (key "kernel", kernel[compressor][workload]): per-call times
of zswap_store() and zswap_load() from the BPF probes of
tests/bench/zdedup_ktime.bpf.c, in ns.  Each run reports the median of its
calls; a time here is the median of those over the repetitions:

  store_ns_off/_on, load_ns_off/_on   dedup off / on (built-in policy)
  hit_ns, miss_ns                     stores split by dedup outcome (needs
                                      the zswap_dedup_store tracepoint)
  hash_ns, compress_ns, decompress_ns, memcmp_ns
                                      the floors: the kernel's own xxh64,
                                      compress, decompress (the dedup
                                      compare's) and 4 KiB memcmp, called
                                      inside zswap_store() on the same pages
                                      (memcmp_source "verify-decompress":
                                      the compare, zswap_dedup_same(), less
                                      decompress, where memcmp cannot be
                                      probed)
  probe_ns                            what an fentry/fexit pair adds to a
                                      call (calibration on getpid(2))

and ratios of paired runs (same repetition, same boot, the configurations
alternating ABAB): store_kernel_on_over_off, load_kernel_on_over_off,
store_bpf_{memcg,tenant}_over_builtin, store_bpf_adaptive_over_off,
hit_over_floor and, from the boots alternating a kernel with dedup compiled
out and the dedup kernel, store_off_over_compiled_out and
load_off_over_compiled_out (paired by boot pair).

Statistics: a ratio is the geometric mean of its paired per-repetition
ratios, and <name>_ci95 = [low, high] its 95% confidence interval: a
Student t interval on the logarithms of the paired ratios, exponentiated
(units: repetitions; for the compiled-out comparison, boot pairs when
there are two or more).  The table marks a target whose interval contains
it as "straddles".  Floors in the targets are net of the probe overhead.

Scale (key "scale", scale[size_mib][workload]): store and load ns per call,
dedup on and off, at each size of the scale suite.

Exit status 1 if no result was found or a run found corrupt pages.
"""
import json
import math
import statistics
import sys

RUN_KEYS = ('stored', 'pool_bytes', 'store_s', 'load_s', 'store_pps',
            'load_pps', 'hits', 'hashed', 'index_entries', 'shared_slots',
            'saved_bytes', 'meta_bytes', 'corrupt')
COMPRESSORS = ('lzo', 'lz4', 'zstd')
WORKLOADS = ('unique', 'dup50', 'dup90')
DUP_FRACTION = {'unique': 0.0, 'dup50': 0.5, 'dup90': 0.9}
POLICIES = ('memcg', 'tenant', 'adaptive')
OUTCOMES = ('unhashed', 'miss', 'hit', 'collision', 'fallback', 'reject')

# --- statistics --------------------------------------------------------------

# Student t, two-sided 95% (0.975 quantile), by degrees of freedom.
T975 = (12.706, 4.303, 3.182, 2.776, 2.571, 2.447, 2.365, 2.306, 2.262,
        2.228, 2.201, 2.179, 2.160, 2.145, 2.131, 2.120, 2.110, 2.101,
        2.093, 2.086, 2.080, 2.074, 2.069, 2.064, 2.060, 2.056, 2.052,
        2.048, 2.045, 2.042)


def t975(df):
    """The 0.975 quantile of Student's t with df degrees of freedom."""
    if df < 1:
        raise ValueError('t975: df < 1')
    if df <= len(T975):
        return T975[df - 1]
    z = 1.959964
    return z + (z ** 3 + z) / (4 * df) + (5 * z ** 5 + 16 * z ** 3 + 3 * z) / (96 * df ** 2)


def median(xs):
    xs = [x for x in xs if x is not None]
    return statistics.median(xs) if xs else None


def ratio_ci(ratios):
    """Geometric mean of paired ratios and the 95% t interval of their
    logarithms, exponentiated: (point, [low, high]) or (point, None) for a
    single pair, (None, None) for none or a non-positive ratio."""
    rs = [r for r in ratios if r is not None]
    if not rs or min(rs) <= 0:
        return None, None
    logs = [math.log(r) for r in rs]
    m = statistics.fmean(logs)
    if len(logs) < 2:
        return round(math.exp(m), 4), None
    half = t975(len(logs) - 1) * statistics.stdev(logs) / math.sqrt(len(logs))
    return round(math.exp(m), 4), [round(math.exp(m - half), 4),
                                   round(math.exp(m + half), 4)]


def mean_ci(xs):
    """Arithmetic mean and its 95% t interval (for fractions that may be 0
    or negative, where a log interval does not apply)."""
    xs = [x for x in xs if x is not None]
    if not xs:
        return None, None
    m = statistics.fmean(xs)
    if len(xs) < 2:
        return round(m, 4), None
    half = t975(len(xs) - 1) * statistics.stdev(xs) / math.sqrt(len(xs))
    return round(m, 4), [round(m - half, 4), round(m + half, 4)]


def paired(a, b):
    """Per-repetition ratios a[rep] / b[rep] over the repetitions both have."""
    return [a[r] / b[r] for r in sorted(a) if r in b and a[r] is not None
            and b[r]]


def verdict(value, ci, target, sense='<='):
    """met / MISSED / straddles (the interval contains the target)."""
    if value is None or target is None:
        return 'n/a'
    ok = (lambda x: x <= target) if sense == '<=' else (lambda x: x >= target)
    if ci is None:
        return 'met (no CI)' if ok(value) else 'MISSED (no CI)'
    lo, hi = ci
    if lo <= target <= hi:
        return 'straddles'
    return 'met' if ok(value) else 'MISSED'

# --- parsing -----------------------------------------------------------------


def parse_log(path, recs):
    """Append the BENCH records of @path to recs[type], each with the
    fields of the info line before it (suite, kernel, dedup, label) and
    the log it came from."""
    info = {}
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
                info = dict(rec)
                info.setdefault('suite', 'main')
                info['log'] = path
                recs['info'].append(info)
                continue
            rec.setdefault('compressor', info.get('compressor'))
            rec['_info'] = info
            recs.setdefault(kind, []).append(rec)


def parse(paths):
    recs = {'info': [], 'run': [], 'kernel': [], 'kernel_info': [], 'meta': []}
    for p in paths:
        parse_log(p, recs)
    return recs


def suite_of(rec):
    return rec['_info'].get('suite', 'main')


def with_dedup(rec):
    return rec['_info'].get('dedup', True)

# --- end to end (the original keys) -------------------------------------------


def ratio(a, b):
    return round(a / b, 4) if a is not None and b else None


def summarise_e2e(runs, meta):
    workloads = {}
    order = []
    for r in runs:
        if r['workload'] not in order:
            order.append(r['workload'])
    for name in order:
        mine = [r for r in runs if r['workload'] == name]
        med = {}
        # the policy pass's runs carry probes: not end-to-end figures
        modes = ['off', 'on', 'ideal'] + sorted(
            {r['mode'] for r in mine if r['mode'].startswith('bpf_')
             and not r['mode'].endswith('_policy')})
        for mode in modes:
            rs = [r for r in mine if r['mode'] == mode]
            if rs:
                med[mode] = {k: statistics.median(r.get(k, 0) for r in rs)
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
            'raw': [{k: v for k, v in r.items() if k != '_info'} for r in mine],
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
    return workloads

# --- in the kernel -------------------------------------------------------------


def per_rep(recs, mode, kind, field='median'):
    """{rep: stats[kind][field]} of the kernel lines of @mode."""
    out = {}
    for r in recs:
        if r['mode'] == mode and kind in r['stats']:
            out[r['rep']] = r['stats'][kind][field]
    return out


def calib(krecs, kind):
    return median(r['stats'][kind]['median'] for r in krecs
                  if r['mode'] == 'calib' and kind in r['stats'])


def probe_mechanism(kinfo, what):
    """'fentry' / 'kprobe' / None: how kernel_info says @what was timed."""
    v = (kinfo or {}).get('probes', {}).get(what, '')
    return v.split(':', 1)[0] if v and not v.startswith('unavailable') else None


def kernel_cell(krecs, runs, kinfo, workload):
    """kernel[compressor][workload] from one compressor's main-suite lines."""
    k = {}
    off, on = per_rep(krecs, 'off', 'store'), per_rep(krecs, 'on', 'store')
    loff, lon = per_rep(krecs, 'off', 'load'), per_rep(krecs, 'on', 'load')
    hit, miss = per_rep(krecs, 'on_outcome', 'hit'), per_rep(krecs, 'on_outcome', 'miss')
    floors = {f: per_rep(krecs, 'on_floor', f) for f in
              ('hash', 'compress', 'decompress', 'decompress_load', 'memcmp')}
    # Where memcmp cannot be probed: the dedup compare timed alone (no
    # probe nested in it) less the floor pass's decompress, same repetition;
    # their probe overheads cancel.
    floors['verify'] = per_rep(krecs, 'on_verify', 'verify')
    memcmp_src = 'memcmp'
    if not floors['memcmp'] and floors['verify']:
        floors['memcmp'] = {r: v - floors['decompress'][r] for r, v in floors['verify'].items()
                            if r in floors['decompress']}
        memcmp_src = 'verify-decompress'
    k['store_ns_off'] = median(off.values())
    k['store_ns_on'] = median(on.values())
    k['load_ns_off'] = median(loff.values())
    k['load_ns_on'] = median(lon.values())
    k['hit_ns'] = median(hit.values())
    k['miss_ns'] = median(miss.values())
    for f in ('collision', 'unhashed'):
        k[f'{f}_ns'] = median(per_rep(krecs, 'on_outcome', f).values())
    for f in ('hash', 'compress', 'decompress', 'decompress_load', 'memcmp', 'verify'):
        k[f'{f}_ns'] = median(floors[f].values())
    k['memcmp_source'] = memcmp_src if floors['memcmp'] else None
    k['probe_ns'] = calib(krecs, 'calib_fentry')
    k['probe_kprobe_ns'] = calib(krecs, 'calib_kprobe')
    k['reps'] = len(off)

    def put(name, ratios, fn=ratio_ci):
        k[name], k[name + '_ci95'] = fn(ratios)

    put('store_kernel_on_over_off', paired(on, off))
    # The mean per call too: with duplicates, stores are a mixture of hits
    # and misses (two clusters far apart), whose median lands in either
    # cluster; the store time a workload pays, and what the hit and miss
    # times imply, is the mean.
    off_mean = per_rep(krecs, 'off', 'store', 'mean')
    on_mean = per_rep(krecs, 'on', 'store', 'mean')
    k['store_mean_ns_off'] = median(off_mean.values())
    k['store_mean_ns_on'] = median(on_mean.values())
    put('store_mean_kernel_on_over_off', paired(on_mean, off_mean))
    put('load_kernel_on_over_off', paired(lon, loff))
    for pol in POLICIES:
        bpf = per_rep(krecs, f'bpf_{pol}', 'store')
        if pol == 'adaptive':
            put('store_bpf_adaptive_over_off', paired(bpf, off))
            put('load_bpf_adaptive_over_off',
                paired(per_rep(krecs, 'bpf_adaptive', 'load'), loff))
        put(f'store_bpf_{pol}_over_builtin', paired(bpf, on))

    # Floors net of the probe pair around each (targets compare to these).
    def overhead(what):
        mech = probe_mechanism(kinfo, what)
        p = k['probe_kprobe_ns'] if mech == 'kprobe' else k['probe_ns']
        return p or 0

    net = {f: {r: v - overhead(f) for r, v in floors[f].items()}
           for f in ('hash', 'decompress', 'memcmp')}
    if memcmp_src != 'memcmp':
        net['memcmp'] = floors['memcmp']
    hit_floor = {r: net['hash'][r] + net['decompress'][r] + net['memcmp'][r]
                 for r in net['hash'] if r in net['decompress'] and r in net['memcmp']}
    hit_net = {r: v - (k['probe_ns'] or 0) for r, v in hit.items()}
    put('hit_over_floor', paired(hit_net, hit_floor))
    k['hash_net_ns'] = median(net['hash'].values())
    k['hit_floor_ns'] = median(hit_floor.values())
    # What a hit does beyond its floor (lookup, reference, the slot's
    # metadata, tree, charge, counters), next to what a plain store does
    # beyond compressing (the same bookkeeping plus the zpool's copy):
    # dedup off, per call, the store less the compressor timed inside it,
    # net of the store's and the compressor's probes (off_floor pass).
    k['hit_extra_ns'] = median(v - hit_floor[r] for r, v in hit_net.items() if r in hit_floor)
    extra = {r: v - 2 * (k['probe_ns'] or 0)
             for r, v in per_rep(krecs, 'off_floor', 'store_own').items()}
    k['store_extra_ns_off'] = median(extra.values())
    put('hit_over_floor_and_store_extra',
        [hit_net[r] / (hit_floor[r] + extra[r]) for r in hit_net
         if r in hit_floor and r in extra])

    # Each policy's own calls from zswap_store(), net of the probe: the
    # domain() call whole (RCU section, indirect call, trampoline,
    # program), the stored() call, and the store ratio they imply.
    for pol in POLICIES:
        calls = {}
        for op in ('domain', 'stored'):
            v = median(per_rep(krecs, f'bpf_{pol}_policy', f'policy_{op}').values())
            calls[op] = None if v is None else v - (k['probe_ns'] or 0)
            k[f'policy_{pol}_{op}_ns'] = calls[op]
        k[f'store_bpf_{pol}_implied_over_builtin'] = ratio(
            k['store_ns_on'] + (calls['domain'] or 0) + (calls['stored'] or 0),
            k['store_ns_on']) if k['store_ns_on'] and calls['domain'] is not None else None

    # Stores that were hits (from the outcome pass), and the store ratio
    # the hit and miss lines imply.
    fr = {}
    for r in krecs:
        if r['mode'] == 'on_outcome':
            n = {o: r['stats'].get(o, {}).get('n', 0) for o in OUTCOMES + ('store',)}
            total = sum(n.values())
            if total:
                fr[r['rep']] = n['hit'] / total
    k['hit_fraction'] = round(median(fr.values()), 4) if fr else None
    f_dup = k['hit_fraction'] if k['hit_fraction'] is not None else DUP_FRACTION[workload]
    if k['hit_ns'] is not None and k['miss_ns'] is not None and k['store_ns_off']:
        k['store_implied_on_over_off'] = round(
            (f_dup * k['hit_ns'] + (1 - f_dup) * k['miss_ns']) / k['store_ns_off'], 4)
    else:
        k['store_implied_on_over_off'] = None
    # ... and the ratio the targets allow: hits at 1.2x their floor, the
    # other stores at off + hash + 3% of off.
    if k['store_ns_off'] and k['hash_net_ns'] is not None:
        miss_target = 1.03 + k['hash_net_ns'] / k['store_ns_off']
        k['store_target_on_over_off'] = round(miss_target, 4)
        if workload != 'unique' and k['hit_floor_ns']:
            k['store_target_on_over_off'] = round(
                f_dup * 1.2 * k['hit_floor_ns'] / k['store_ns_off']
                + (1 - f_dup) * miss_target, 4)
    else:
        k['store_target_on_over_off'] = None

    # The adaptive policy: savings kept against the built-in policy (end
    # to end pool sizes, same repetition), pages hashed.
    pool = {m: {r['rep']: r['pool_bytes'] for r in runs if r['mode'] == m}
            for m in ('off', 'on', 'bpf_adaptive')}
    keep = [(pool['off'][r] - pool['bpf_adaptive'][r]) / (pool['off'][r] - pool['on'][r])
            for r in pool['off'] if r in pool['on'] and r in pool['bpf_adaptive']
            and pool['off'][r] > pool['on'][r]]
    put('adaptive_savings_over_builtin', keep, mean_ci)
    hashed = [r.get('hashed', 0) / r['pages'] for r in runs
              if r['mode'] == 'bpf_adaptive' and 'hashed' in r and r['pages']]
    put('adaptive_hashed_fraction', hashed, mean_ci)
    return k


# What zswap itself spends of a call: the call less the compressor's part,
# (kind, the compressor's floor in the same kernel).
OWN = {'store': 'compress', 'load': 'decompress_load'}


def compiled_out(krecs_off):
    """store/load_off_over_compiled_out per compressor and workload, from
    the offonly boots: label "pairN-dedup" / "pairN-stock".

    Both kernels run the same compressor code, yet where the linker put it
    differs, and under TCG that alone moves its time (translated blocks
    chain only within a 4 KiB page; the soft TLB).  Each boot's off_floor
    runs time the compressor apart, so the ratios also come without it:
    compress/decompress_off_over_compiled_out (the compressor alone) and
    store/load_own_off_over_compiled_out (each call less the compressor
    timed inside it, net of the probe: zswap's own code)."""
    cells = {}
    probe = {r['_info'].get('label', ''): r['stats']['calib_fentry']['median']
             for r in krecs_off if r['mode'] == 'calib' and 'calib_fentry' in r['stats']}
    for r in krecs_off:
        if r['mode'] not in ('off', 'off_floor'):
            continue
        label = r['_info'].get('label', '')
        pair = label.split('-')[0]
        side = 'dedup' if with_dedup(r) else 'stock'
        cell = cells.setdefault((r['compressor'], r['workload']), {})
        kinds = ('store', 'load') if r['mode'] == 'off' else \
            tuple(OWN.values()) + tuple(f'{kind}_own' for kind in OWN)
        for kind in kinds:
            if kind in r['stats']:
                # each less the probe pair of its floor
                v = r['stats'][kind]['median']
                if r['mode'] == 'off_floor':
                    v -= probe.get(label, 0)
                cell.setdefault((kind, side, pair), {})[r['rep']] = v
    out = {}
    for (comp, wl), cell in cells.items():
        res = {}
        pairs = sorted({p for (_, _, p) in cell})
        for kind, floor in OWN.items():
            both = [p for p in pairs if all((x, s, p) in cell for x in (f'{kind}_own', floor)
                                            for s in ('dedup', 'stock'))]

            def own(side, p):
                return median(cell[(f'{kind}_own', side, p)].values())
            name = f'{kind}_own_off_over_compiled_out'
            res[name], res[name + '_ci95'] = ratio_ci([own('dedup', p) / own('stock', p)
                                                       for p in both])
            name = f"{floor.split('_')[0]}_off_over_compiled_out"
            res[name], res[name + '_ci95'] = ratio_ci(
                [median(cell[(floor, 'dedup', p)].values())
                 / median(cell[(floor, 'stock', p)].values()) for p in both])
            res[f'{kind}_own_ns_compiled_out'] = median(own('stock', p) for p in both)
            res[f'{kind}_own_ns_off'] = median(own('dedup', p) for p in both)
        for kind in ('store', 'load'):
            both = [p for p in pairs if (kind, 'dedup', p) in cell and (kind, 'stock', p) in cell]
            name = f'{kind}_off_over_compiled_out'
            if len(both) >= 2:
                ratios = [median(cell[(kind, 'dedup', p)].values())
                          / median(cell[(kind, 'stock', p)].values()) for p in both]
                res['ci_units'] = f'{len(both)} boot pairs'
            elif both:
                ratios = paired(cell[(kind, 'dedup', both[0])], cell[(kind, 'stock', both[0])])
                res['ci_units'] = 'repetitions of one boot pair'
            else:
                ratios = []
            res[name], res[name + '_ci95'] = ratio_ci(ratios)
            res[f'{kind}_ns_compiled_out'] = median(
                v for p in both for v in cell[(kind, 'stock', p)].values())
        out.setdefault(comp, {})[wl] = res
    return out


def scale(krecs, runs):
    out = {}
    for r in krecs:
        if r['mode'] not in ('off', 'on'):
            continue
        cell = out.setdefault(str(r['mib']), {}).setdefault(r['workload'], {})
        for kind in ('store', 'load'):
            if kind in r['stats']:
                cell.setdefault(f"{kind}_ns_{r['mode']}", []).append(
                    r['stats'][kind]['median'])
    for size, wls in out.items():
        for wl, cell in wls.items():
            for key in list(cell):
                cell[key] = median(cell[key])
            cell['store_on_over_off'] = ratio(cell.get('store_ns_on'), cell.get('store_ns_off'))
            cell['load_on_over_off'] = ratio(cell.get('load_ns_on'), cell.get('load_ns_off'))
            ents = [x['index_entries'] for x in runs if str(x.get('mib')) == size
                    and x['workload'] == wl and x['mode'] == 'on']
            cell['index_entries'] = median(ents)
    return dict(sorted(out.items(), key=lambda kv: int(kv[0])))


def summarise(recs):
    main_info = next((i for i in recs['info'] if i.get('suite') == 'main'), None)
    res = {'info': {k: v for k, v in (main_info or {}).items() if k != 'log'}}
    # Which boots the figures come from (logs of earlier runs included).
    seen = {}
    for i in recs['info']:
        seen.setdefault(i['log'], {'log': i['log'], 'suite': i.get('suite'),
                                   'kernel': i.get('kernel'), 'dedup': i.get('dedup'),
                                   'label': i.get('label')})
    res['logs'] = list(seen.values())
    main_runs = [r for r in recs['run'] if suite_of(r) == 'main']
    comps = []
    for r in main_runs:
        if r['compressor'] not in comps:
            comps.append(r['compressor'])
    meta = {}
    for m in recs['meta']:
        if suite_of(m) == 'main':
            meta.setdefault(m['compressor'], {})[m['workload']] = m
    by_comp = {c: summarise_e2e([r for r in main_runs if r['compressor'] == c],
                                meta.get(c, {})) for c in comps}
    res['workloads'] = by_comp[comps[0]] if comps else {}
    res['workloads_compressor'] = comps[0] if comps else None
    res['workloads_by_compressor'] = {
        c: {wl: {k: v for k, v in w.items() if k != 'raw'} for wl, w in ws.items()}
        for c, ws in by_comp.items()}

    kinfo = next((k for k in recs['kernel_info'] if suite_of(k) == 'main'), None)
    res['kernel_info'] = {k: v for k, v in (kinfo or {}).items() if k != '_info'}
    main_k = [r for r in recs['kernel'] if suite_of(r) == 'main' and with_dedup(r)]
    off_k = [r for r in recs['kernel'] if suite_of(r) == 'offonly']
    co = compiled_out(off_k)
    res['compiled_out'] = bool(co) and any(not with_dedup(r) for r in off_k)
    kernel = {}
    for c in COMPRESSORS + tuple(x for x in comps if x not in COMPRESSORS):
        kc = [r for r in main_k if r['compressor'] == c]
        calib_c = [r for r in kc if r['mode'] == 'calib']
        for wl in WORKLOADS:
            kw = [r for r in kc if r.get('workload') == wl] + calib_c
            rw = [r for r in main_runs if r['compressor'] == c and r['workload'] == wl]
            if not rw and not any(r['mode'] != 'calib' for r in kw) and wl not in co.get(c, {}):
                continue
            cell = kernel_cell(kw, rw, kinfo, wl)
            for name in ('store_off_over_compiled_out', 'load_off_over_compiled_out',
                         'store_own_off_over_compiled_out', 'load_own_off_over_compiled_out',
                         'compress_off_over_compiled_out', 'decompress_off_over_compiled_out'):
                cell[name] = co.get(c, {}).get(wl, {}).get(name)
                cell[name + '_ci95'] = co.get(c, {}).get(wl, {}).get(name + '_ci95')
            for name in ('store_own_ns_off', 'store_own_ns_compiled_out',
                         'load_own_ns_off', 'load_own_ns_compiled_out'):
                cell[name] = co.get(c, {}).get(wl, {}).get(name)
            cell['compiled_out_ci_units'] = co.get(c, {}).get(wl, {}).get('ci_units')
            kernel.setdefault(c, {})[wl] = cell
    res['kernel'] = kernel
    res['scale'] = scale([r for r in recs['kernel'] if suite_of(r) == 'scale'],
                         [r for r in recs['run'] if suite_of(r) == 'scale'])
    res['targets'] = targets(kernel)
    return res

# --- targets -------------------------------------------------------------------


def targets(kernel):
    """The issue's targets, one row each: what, value, interval, target,
    verdict."""
    rows = []

    def row(comp, wl, what, value, ci, target, sense='<=', note=''):
        rows.append({'compressor': comp, 'workload': wl, 'what': what,
                     'value': value, 'ci95': ci, 'target': target,
                     'sense': sense, 'verdict': verdict(value, ci, target, sense),
                     'note': note})

    for comp, wls in kernel.items():
        for wl, k in wls.items():
            for kind in ('store', 'load'):
                n = f'{kind}_off_over_compiled_out'
                if k.get(n) is not None:
                    row(comp, wl, f'{kind} off / compiled out', k[n], k[n + '_ci95'], 1.01)
                n = f'{kind}_own_off_over_compiled_out'
                if k.get(n) is not None:
                    row(comp, wl, f'  less {OWN[kind].split("_")[0]}', k[n], k[n + '_ci95'],
                        1.01, note='the call less its compressor')
            if wl == 'unique':
                row(comp, wl, 'store on / off', k['store_kernel_on_over_off'],
                    k['store_kernel_on_over_off_ci95'], k['store_target_on_over_off'],
                    note='target 1.03 + hash/off')
                row(comp, wl, 'load on / off', k['load_kernel_on_over_off'],
                    k['load_kernel_on_over_off_ci95'], 1.01)
                row(comp, wl, 'adaptive store / off', k.get('store_bpf_adaptive_over_off'),
                    k.get('store_bpf_adaptive_over_off_ci95'), 1.01)
                row(comp, wl, 'adaptive pages hashed', k['adaptive_hashed_fraction'],
                    k['adaptive_hashed_fraction_ci95'], 0.10)
            else:
                row(comp, wl, 'hit / floor', k['hit_over_floor'], k['hit_over_floor_ci95'],
                    1.2, note='floor hash + decompress + memcmp')
                row(comp, wl, '  / (floor + store extra)', k['hit_over_floor_and_store_extra'],
                    k['hit_over_floor_and_store_extra_ci95'], 1.0,
                    note='store extra: a dedup-off store less its compress')
                implied = k['store_implied_on_over_off']
                row(comp, wl, 'store on / off (means)', k.get('store_mean_kernel_on_over_off'),
                    k.get('store_mean_kernel_on_over_off_ci95'), k['store_target_on_over_off'],
                    note='implied by hit/miss: ' + ('-' if implied is None else f'{implied:.3f}'))
                row(comp, wl, 'adaptive savings / built-in',
                    k['adaptive_savings_over_builtin'],
                    k['adaptive_savings_over_builtin_ci95'], 0.95, '>=')
            for pol in ('memcg', 'tenant'):
                n = f'store_bpf_{pol}_over_builtin'
                implied = k.get(f'store_bpf_{pol}_implied_over_builtin')
                row(comp, wl, f'bpf {pol} / built-in', k.get(n), k.get(n + '_ci95'), 1.02,
                    note='implied by its calls: ' + ('-' if implied is None else f'{implied:.3f}'))
    return rows

# --- tables --------------------------------------------------------------------


def fmt(v, spec):
    return format(v, spec) if v is not None else '-'


def e2e_table(info, comp, workloads):
    print(f"zswap dedup benchmark, end to end: kernel {info.get('kernel', '?')}, "
          f"compressor {comp}, {info.get('mib', '?')} MiB per workload, "
          f"medians of {info.get('reps', '?')} runs")
    print()
    head = ('workload', 'pool off', 'pool on', 'ideal', 'on/ideal',
            'store/s off', 'on', 'on/off', 'load/s off', 'on', 'on/off',
            'meta/uniq', 'meta/dup')
    print('%-8s %9s %9s %9s %8s %11s %9s %6s %11s %9s %6s %9s %8s' % head)
    mib = 1 << 20
    for name, w in workloads.items():
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
    bpf = [(n, k, v) for n, w in workloads.items()
           for k, v in w.items() if k.startswith('store_bpf_') and k.endswith('_over_builtin')]
    if bpf:
        print('  BPF policies, store throughput / built-in: ' + ', '.join(
            f"{n} {k[len('store_bpf_'):-len('_over_builtin')]} {fmt(v, '.3f')}"
            for n, k, v in bpf))
    print()


def ci_str(ci):
    return f'[{ci[0]:.3f}, {ci[1]:.3f}]' if ci else '[-]'


def kernel_table(res):
    kernel, kinfo = res['kernel'], res.get('kernel_info') or {}
    print('In the kernel: ns per call, medians over the repetitions of each '
          "run's median (BPF fentry/fexit, same boot)")
    if not kinfo.get('available', False):
        print(f"  unavailable: {kinfo.get('reason', 'no kernel_info line (timing off?)')}")
        print()
        rows = [r for r in res['targets'] if r['value'] is not None]
        if rows:
            target_table(rows)
        return
    probes = kinfo.get('probes', {})
    for what, how in probes.items():
        print(f'  {what:16s} {how}')
    print()
    head = ('comp', 'workload', 'store off', 'on', 'on/off', 'load off', 'on', 'on/off',
            'hit', 'miss', 'hash', 'compress', 'decomp', 'memcmp', 'probe')
    print('%-5s %-8s %9s %9s %6s %9s %9s %6s %9s %9s %7s %9s %8s %7s %6s' % head)
    for comp, wls in kernel.items():
        for wl, k in wls.items():
            mc = fmt(k['memcmp_ns'], '.0f') + ('*' if k['memcmp_source'] == 'verify-decompress' else '')
            print('%-5s %-8s %9s %9s %6s %9s %9s %6s %9s %9s %7s %9s %8s %7s %6s' % (
                comp, wl, fmt(k['store_ns_off'], '.0f'), fmt(k['store_ns_on'], '.0f'),
                fmt(k['store_kernel_on_over_off'], '.3f'),
                fmt(k['load_ns_off'], '.0f'), fmt(k['load_ns_on'], '.0f'),
                fmt(k['load_kernel_on_over_off'], '.3f'),
                fmt(k['hit_ns'], '.0f'), fmt(k['miss_ns'], '.0f'),
                fmt(k['hash_ns'], '.0f'), fmt(k['compress_ns'], '.0f'),
                fmt(k['decompress_ns'], '.0f'), mc, fmt(k['probe_ns'], '.0f')))
    if any(k['memcmp_source'] == 'verify-decompress' for w in kernel.values() for k in w.values()):
        print('  memcmp*: the dedup compare (%s) less decompress, each timed alone '
              '(memcmp itself cannot be probed)' % probes.get('verify', '?'))
    if not probes.get('outcome', '').startswith('tp_btf'):
        print('  hit/miss split unavailable: ' + probes.get('outcome', 'no outcome probe'))
    print()
    cost_table(kernel)
    rows = res['targets']
    if rows:
        target_table(rows)
    if not res.get('compiled_out'):
        print('  no compiled-out comparison: no boots of a kernel without '
              'CONFIG_ZSWAP_DEDUP in these logs')
        print()


def cost_table(kernel):
    """Where the time beyond the floors goes: a hit's time beyond hash,
    decompress and memcmp next to a plain store's beyond its compressor;
    each policy's calls; dedup off against compiled out, less the
    compressor.  ns per call, net of the probes."""
    print('Beyond the floors (ns per call, net of the probes): a hit less its floor; a dedup-off')
    print('store less its compressor; each policy\'s domain() + stored() calls; dedup off and')
    print('compiled out, the store and load less their compressor')
    head = ('comp', 'workload', 'hit-floor', 'store-comp', 'memcg', 'tenant', 'adaptive',
            'store own off', 'c.out', 'load own off', 'c.out')
    print('%-5s %-8s %9s %10s %6s %10s %10s %13s %6s %12s %6s' % head)
    for comp, wls in kernel.items():
        for wl, k in wls.items():
            def pol(p):
                d, st = k.get(f'policy_{p}_domain_ns'), k.get(f'policy_{p}_stored_ns')
                if d is None:
                    return '-'
                return f'{d:.0f}' + ('' if st is None else f'+{st:.0f}')
            print('%-5s %-8s %9s %10s %6s %10s %10s %13s %6s %12s %6s' % (
                comp, wl, fmt(k.get('hit_extra_ns'), '.0f'), fmt(k.get('store_extra_ns_off'), '.0f'),
                pol('memcg'), pol('tenant'), pol('adaptive'),
                fmt(k.get('store_own_ns_off'), '.0f'), fmt(k.get('store_own_ns_compiled_out'), '.0f'),
                fmt(k.get('load_own_ns_off'), '.0f'), fmt(k.get('load_own_ns_compiled_out'), '.0f')))
    print()


def target_table(rows):
    """One line per target, one column per compressor: value [95% CI],
    the target and the verdict."""
    comps = []
    for r in rows:
        if r['compressor'] not in comps:
            comps.append(r['compressor'])
    print('Targets: ratios are geometric means of paired runs with their 95% CI; '
          'floors net of the probe overhead')
    print('%-7s %-28s' % ('', '') + ''.join(' %-37s' % c for c in comps).rstrip())
    keys = []
    for r in rows:
        if (r['workload'], r['what']) not in keys:
            keys.append((r['workload'], r['what']))
    by = {(r['compressor'], r['workload'], r['what']): r for r in rows}
    for wl, what in keys:
        cells = []
        for c in comps:
            r = by.get((c, wl, what))
            if r is None or r['value'] is None:
                cells.append(' %-37s' % '-')
                continue
            cells.append(' %-37s' % (f"{r['value']:.3f} {ci_str(r['ci95'])} {r['sense']}"
                                     f"{fmt(r['target'], '.3f')} {r['verdict']}"))
        print('%-7s %-28s' % (wl, what) + ''.join(cells))
        notes = [by[(c, wl, what)]['note'] if (c, wl, what) in by else '-: -'
                 for c in comps]
        if any(n.startswith('implied') and not n.endswith(': -') for n in notes):
            label = '  implied by its calls' if what.startswith('bpf') else '  implied by hit, miss'
            print('%-7s %-28s' % ('', label)
                  + ''.join(' %-37s' % n.split(': ', 1)[-1] for n in notes))
    print('  target of "store on / off": 1.03 + hash/off for unique; for dup50/dup90 what')
    print('  the hit and unique targets imply at the measured hit fraction; its second line,')
    print('  the ratio the measured hit and miss times imply.  "less compress/decompress":')
    print('  the call less the compressor\'s own time in each kernel (the same code, placed')
    print('  elsewhere).  "/ (floor + store extra)": a hit against its floor plus what a')
    print('  dedup-off store spends outside its compressor.  A policy\'s "implied by its')
    print('  calls": the built-in store plus its domain() and stored() calls, timed alone.')
    print('  "straddles": the 95% interval contains the target.')
    print()


def scale_table(sc):
    if not sc:
        return
    print('Scale: ns per call as the index grows (medians; dedup on / off)')
    print('%8s %-8s %9s %9s %7s %9s %9s %7s %9s' % (
        'MiB', 'workload', 'store on', 'off', 'on/off', 'load on', 'off', 'on/off', 'entries'))
    for size, wls in sc.items():
        for wl, c in wls.items():
            print('%8s %-8s %9s %9s %7s %9s %9s %7s %9s' % (
                size, wl, fmt(c.get('store_ns_on'), '.0f'), fmt(c.get('store_ns_off'), '.0f'),
                fmt(c.get('store_on_over_off'), '.3f'), fmt(c.get('load_ns_on'), '.0f'),
                fmt(c.get('load_ns_off'), '.0f'), fmt(c.get('load_on_over_off'), '.3f'),
                fmt(c.get('index_entries'), '.0f')))
    print()


def main():
    if len(sys.argv) < 3:
        print(__doc__, file=sys.stderr)
        return 2
    logs, out = sys.argv[1:-1], sys.argv[-1]
    recs = parse(logs)
    if not recs['run']:
        print(f"bench-report: no BENCH results in {' '.join(logs)}", file=sys.stderr)
        return 1
    res = summarise(recs)
    with open(out, 'w') as f:
        json.dump(res, f, indent=1)
        f.write('\n')
    print('boots: ' + '; '.join(
        f"{l['label'] or l['suite']} ({l['kernel']}{'' if l['dedup'] else ', no dedup'})"
        for l in res['logs']))
    print()
    for comp, ws in res['workloads_by_compressor'].items():
        e2e_table(res['info'], comp, ws)
    kernel_table(res)
    scale_table(res['scale'])
    print(f'results: {out}')
    corrupt = sum(r.get('corrupt', 0) for r in recs['run']) + \
        sum(m.get('corrupt', 0) for m in recs['meta'])
    if corrupt:
        print(f'bench-report: {corrupt} corrupt pages', file=sys.stderr)
        return 1
    return 0


if __name__ == '__main__':
    sys.exit(main())
