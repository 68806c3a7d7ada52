#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0
"""The statistics of scripts/bench-report.py, on synthetic BENCH lines.

Builds the logs of a main boot (dedup kernel, three compressors, three
workloads, nine repetitions, every mode and pass), three pairs of offonly
boots (dedup kernel / kernel without dedup) and a scale boot, with known
per-call times, and checks what the report makes of them: medians of the
per-run medians, paired ratios and their 95% intervals, the floors net of
the probe overhead, the implied store ratio, the compiled-out pairing, the
keys results.json promises, the verdicts, and that an old single-compressor
log still gives the end-to-end keys.  Prints TAP.

Usage: tests/host/test_bench_report.py
"""
import importlib.util
import json
import math
import os
import statistics
import subprocess
import sys
import tempfile

TOP = os.path.abspath(os.path.join(os.path.dirname(__file__), '..', '..'))
SCRIPT = os.path.join(TOP, 'scripts', 'bench-report.py')

spec = importlib.util.spec_from_file_location('bench_report', SCRIPT)
br = importlib.util.module_from_spec(spec)
spec.loader.exec_module(br)

COMPS = ('lzo', 'lz4', 'zstd')
WLS = {'unique': 100, 'dup50': 50, 'dup90': 10}
REPS = 9
PAGES = 16384
# store off per compressor; load off; the floors; the probe pair
STORE_OFF = {'lzo': 20000.0, 'lz4': 16000.0, 'zstd': 60000.0}
LOAD_OFF = 8000.0
HASH, DECOMP, MEMCMP, COMPRESS, PROBE = 1100.0, 1100.0, 300.0, 12000.0, 100.0
HIT, MISS = 3000.0, 23000.0
# the policy pass: domain() and stored() per policy, probe included
POLICY_CALLS = {'memcg': (300.0, None), 'tenant': (600.0, 500.0), 'adaptive': (500.0, 450.0)}
POLICY_REPS = 3
# dedup off, floor pass: what a store spends besides compressing
STORE_EXTRA = 5000.0
# load on / off per repetition: a known spread for the interval
LOAD_RATIOS = (0.99, 1.01, 1.00, 1.02, 0.98, 1.00, 1.01, 0.99, 1.03)


def line(kind, **fields):
    return 'BENCH ' + json.dumps(dict(type=kind, **fields))


def stats(**kinds):
    return {k: {'n': n, 'median': v, 'mean': v * 1.1, 'p10': v * 0.9, 'p90': v * 1.2}
            for k, (n, v) in kinds.items()}


def run_line(comp, wl, mode, rep, pool, hashed=0):
    return line('run', compressor=comp, mib=64, workload=wl, mode=mode, rep=rep,
                pages=PAGES, distinct=PAGES * WLS[wl] // 100, stored=PAGES,
                pool_bytes=pool, store_s=1.0, load_s=0.5, store_pps=PAGES / 1.0,
                load_pps=PAGES / 0.5, hits=0, hashed=hashed, index_entries=10,
                shared_slots=0, saved_bytes=0, meta_bytes=100, corrupt=0)


def kline(comp, wl, mode, rep, st, pass_='outer', mib=64):
    return line('kernel', compressor=comp, workload=wl, mib=mib, mode=mode, rep=rep,
                **{'pass': pass_}, samples=1, dropped=0, stats=st)


def main_log():
    out = []
    for comp in COMPS:
        out.append(line('info', kernel='6.12-test', compressor=comp, dedup=True, mib=64,
                        reps=REPS, suite='main', label='main'))
        out.append(line('kernel_info', available=True, max_samples=1,
                        probes={'store': 'fentry:zswap_store', 'load': 'fentry:zswap_load',
                                'outcome': 'tp_btf:zswap_dedup_store',
                                'hash': 'fentry:zswap_dedup_index_key',
                                'compress': 'fentry:scomp_acomp_compress',
                                'decompress': 'fentry:scomp_acomp_decompress',
                                'memcmp': 'unavailable: not traceable',
                                'verify': 'fentry:zswap_dedup_same',
                                'calib_fentry': 'fentry:__task_pid_nr_ns',
                                'calib_kprobe': 'unavailable: no kprobes'}))
        out.append(line('kernel', compressor=comp, mode='calib', **{'pass': 'calib_fentry'},
                        samples=1, dropped=0, stats=stats(calib_fentry=(20000, PROBE))))
        off = STORE_OFF[comp]
        for wl, pct in WLS.items():
            pool_off = 3 << 20
            pool_on = pool_off * pct // 100
            for rep in range(REPS):
                drift = 1 + 0.01 * rep      # the machine drifts; ratios must not
                lo = LOAD_OFF * drift
                out.append(run_line(comp, wl, 'off', rep, pool_off))
                out.append(kline(comp, wl, 'off', rep,
                                 stats(store=(PAGES, off * drift), load=(PAGES, lo))))
                out.append(run_line(comp, wl, 'on', rep, pool_on))
                out.append(kline(comp, wl, 'on', rep,
                                 stats(store=(PAGES, 1.05 * off * drift),
                                       load=(PAGES, lo * LOAD_RATIOS[rep]))))
                for pol, f in (('memcg', 1.01), ('tenant', 1.03), ('adaptive', 1.0)):
                    # adaptive keeps 96% of the built-in savings
                    pool = pool_off - 0.96 * (pool_off - pool_on) if pol == 'adaptive' else pool_on
                    out.append(run_line(comp, wl, f'bpf_{pol}', rep, int(pool),
                                        hashed=PAGES // 16))
                    out.append(kline(comp, wl, f'bpf_{pol}', rep,
                                     stats(store=(PAGES, f * 1.05 * off * drift),
                                           load=(PAGES, lo))))
                if rep < POLICY_REPS:
                    for pol, (dom, sto) in POLICY_CALLS.items():
                        calls = dict(policy_domain=(PAGES, dom))
                        if sto is not None:
                            calls['policy_stored'] = (PAGES, sto)
                        out.append(run_line(comp, wl, f'bpf_{pol}_policy', rep, pool_on))
                        out.append(kline(comp, wl, f'bpf_{pol}_policy', rep,
                                         stats(store=(PAGES, off), load=(PAGES, lo), **calls),
                                         'policy'))
                out.append(run_line(comp, wl, 'ideal', rep, pool_on))
                if rep < POLICY_REPS:
                    # the compressor's probe pair rides inside the store
                    out.append(run_line(comp, wl, 'off_floor', rep, pool_off))
                    out.append(kline(comp, wl, 'off_floor', rep,
                                     stats(store=(PAGES, COMPRESS + 2 * PROBE + STORE_EXTRA),
                                           load=(PAGES, lo), compress=(PAGES, COMPRESS),
                                           decompress_load=(PAGES, 900.0),
                                           store_own=(PAGES, STORE_EXTRA + 2 * PROBE)),
                                     'floor'))
                if wl == 'unique':
                    oc = stats(unhashed=(0, 0), miss=(PAGES, MISS))
                    oc = {'miss': oc['miss']}
                else:
                    nh = PAGES * (100 - pct) // 100
                    oc = stats(hit=(nh, HIT), miss=(PAGES - nh, MISS))
                out.append(run_line(comp, wl, 'on_outcome', rep, pool_on))
                out.append(kline(comp, wl, 'on_outcome', rep,
                                 dict(oc, load=stats(x=(PAGES, lo))['x']), 'outcome'))
                fl = stats(store=(PAGES, 1.1 * off), load=(PAGES, lo), hash=(PAGES, HASH),
                           compress=(PAGES, COMPRESS), decompress_load=(PAGES, 900.0))
                if wl != 'unique':
                    fl.update(stats(decompress=(100, DECOMP)))
                out.append(run_line(comp, wl, 'on_floor', rep, pool_on))
                out.append(kline(comp, wl, 'on_floor', rep, fl, 'floor'))
                if wl != 'unique':
                    # the compare alone: decompress + memcmp, one probe pair
                    out.append(run_line(comp, wl, 'on_verify', rep, pool_on))
                    out.append(kline(comp, wl, 'on_verify', rep,
                                     stats(store=(PAGES, off), verify=(100, DECOMP + MEMCMP)),
                                     'verify'))
            out.append(line('meta', workload=wl, unique_objects=100, meta_unique_bytes=3200,
                            dup_slots=100, meta_dup_bytes=5600, corrupt=0))
    return out


# compiled out: the dedup kernel's off is 1.005x the stock kernel's, each pair
PAIR_RATIO = (1.004, 1.006, 1.005)


# ... almost all of it in the compressor: the calls less their compressor
# (per call, store_own and load_own) differ by this much
OWN_RATIO = (1.002, 1.004, 1.003)
OWN_STORE, OWN_LOAD = 5000.0, 2000.0


def pair_log(pair, side):
    out = []
    f = PAIR_RATIO[pair - 1] if side == 'dedup' else 1.0
    g = OWN_RATIO[pair - 1] if side == 'dedup' else 1.0
    for comp in COMPS:
        out.append(line('info', kernel='6.12-test', compressor=comp, dedup=side == 'dedup',
                        mib=64, reps=3, suite='offonly', label=f'pair{pair}-{side}'))
        if comp == COMPS[0]:
            out.append(line('kernel', compressor=comp, mode='calib', **{'pass': 'calib_fentry'},
                            samples=1, dropped=0, stats=stats(calib_fentry=(20000, PROBE))))
        for wl in WLS:
            for rep in range(3):
                out.append(run_line(comp, wl, 'off', rep, 3 << 20))
                out.append(kline(comp, wl, 'off', rep,
                                 stats(store=(PAGES, STORE_OFF[comp] * f),
                                       load=(PAGES, LOAD_OFF * f))))
                out.append(run_line(comp, wl, 'off_floor', rep, 3 << 20))
                out.append(kline(comp, wl, 'off_floor', rep,
                                 stats(store=(PAGES, 1.1 * STORE_OFF[comp]),
                                       load=(PAGES, LOAD_OFF),
                                       compress=(PAGES, COMPRESS + STORE_OFF[comp] * (f - 1)),
                                       decompress_load=(PAGES, 900.0 + LOAD_OFF * (f - 1)),
                                       store_own=(PAGES, PROBE + OWN_STORE * g),
                                       load_own=(PAGES, PROBE + OWN_LOAD * g)),
                                 'floor'))
    return out


def scale_log():
    out = [line('info', kernel='6.12-test', compressor='lzo', dedup=True, mib=64, reps=3,
                suite='scale', label='scale')]
    for mib in (64, 256, 1024):
        for wl in ('unique', 'dup50'):
            for rep in range(3):
                for mode, f in (('off', 1.0), ('on', 1.04)):
                    out.append(run_line('lzo', wl, mode, rep, 1 << 20).replace(
                        '"mib": 64', f'"mib": {mib}'))
                    out.append(kline('lzo', wl, mode, rep,
                                     stats(store=(PAGES, 20000 * f), load=(PAGES, 8000 * f)),
                                     mib=mib))
    return out


def write(dirname, name, lines):
    path = os.path.join(dirname, name)
    with open(path, 'w') as f:
        f.write('[    1.0] noise before\r\n')
        for ln in lines:
            f.write(ln + '\r\n')
    return path

# --- TAP -------------------------------------------------------------------------


results = []


def check(name, cond, detail=''):
    results.append((bool(cond), name, detail))


def close(a, b, tol=1e-3):
    return a is not None and b is not None and abs(a - b) <= tol


def tests(tmp):
    logs = [write(tmp, 'main.log', main_log())]
    for pair in (1, 2, 3):
        for side in ('dedup', 'stock'):
            logs.append(write(tmp, f'pair{pair}-{side}.log', pair_log(pair, side)))
    logs.append(write(tmp, 'scale.log', scale_log()))
    res = br.summarise(br.parse(logs))
    k = res['kernel']

    # statistics primitives
    check('t975 table and large-df approximation',
          br.t975(8) == 2.306 and abs(br.t975(40) - 2.0211) < 2e-3 and abs(br.t975(1000) - 1.9623) < 2e-3)
    check('median of an even count', br.median([1, 2, 3, 10]) == 2.5)
    p, ci = br.ratio_ci([1.05] * 9)
    check('constant paired ratios: point and zero-width interval', p == 1.05 and ci == [1.05, 1.05])
    logs_ = [math.log(x) for x in LOAD_RATIOS]
    m, s = statistics.fmean(logs_), statistics.stdev(logs_)
    half = 2.306 * s / 3
    p, ci = br.ratio_ci(list(LOAD_RATIOS))
    check('log-t interval matches a hand computation',
          close(p, math.exp(m), 1e-4) and close(ci[0], math.exp(m - half), 1e-4)
          and close(ci[1], math.exp(m + half), 1e-4), f'{p} {ci}')
    check('one pair: no interval', br.ratio_ci([1.1]) == (1.1, None))
    check('no pairs / non-positive: nothing', br.ratio_ci([]) == (None, None)
          and br.ratio_ci([1.0, -1.0]) == (None, None))
    check('verdicts', br.verdict(1.0, [0.99, 1.005], 1.01) == 'met'
          and br.verdict(1.02, [1.015, 1.03], 1.01) == 'MISSED'
          and br.verdict(1.01, [1.0, 1.02], 1.01) == 'straddles'
          and br.verdict(0.97, [0.96, 0.98], 0.95, '>=') == 'met'
          and br.verdict(None, None, 1.0) == 'n/a')

    # keys results.json promises
    want = ['store_ns_off', 'store_ns_on', 'load_ns_off', 'load_ns_on', 'hit_ns', 'miss_ns',
            'hash_ns', 'compress_ns', 'decompress_ns', 'memcmp_ns']
    ratios = ['store_kernel_on_over_off', 'load_kernel_on_over_off',
              'store_off_over_compiled_out', 'load_off_over_compiled_out',
              'store_bpf_memcg_over_builtin', 'store_bpf_tenant_over_builtin']
    missing = [f'{c}/{w}/{key}' for c in COMPS for w in WLS
               for key in want + ratios + [r + '_ci95' for r in ratios]
               if key not in k.get(c, {}).get(w, {})]
    check('kernel[compressor][workload] has every key', not missing, ' '.join(missing[:5]))
    check('existing keys kept', all(x in res for x in ('info', 'workloads'))
          and 'store_on_over_off' in res['workloads']['unique']
          and 'pool_on_over_ideal' in res['workloads']['dup50'])
    check('workloads from the first compressor, all compressors kept',
          res['workloads_compressor'] == 'lzo'
          and sorted(res['workloads_by_compressor']) == sorted(COMPS))

    # medians and ratios
    drift = [1 + 0.01 * r for r in range(REPS)]
    lzo = k['lzo']['unique']
    check('store_ns_off is the median of the per-run medians',
          close(lzo['store_ns_off'], statistics.median(20000 * d for d in drift)))
    check('store on/off paired under drift: exactly 1.05',
          lzo['store_kernel_on_over_off'] == 1.05
          and lzo['store_kernel_on_over_off_ci95'] == [1.05, 1.05])
    check('load on/off interval from the per-repetition ratios',
          lzo['load_kernel_on_over_off_ci95'] == br.ratio_ci(list(LOAD_RATIOS))[1])
    check('bpf memcg / built-in', close(k['zstd']['dup90']['store_bpf_memcg_over_builtin'], 1.01))
    check('bpf tenant / built-in', close(k['lz4']['dup50']['store_bpf_tenant_over_builtin'], 1.03))
    check('adaptive store / off', close(lzo['store_bpf_adaptive_over_off'], 1.05))
    check('the policy pass is no end-to-end configuration',
          not any('_policy' in key for key in res['workloads']['dup50']))

    # floors, hits, implied ratio
    d50 = k['lzo']['dup50']
    check('floors are the floor pass medians',
          d50['hash_ns'] == HASH and d50['compress_ns'] == COMPRESS
          and d50['decompress_ns'] == DECOMP and d50['probe_ns'] == PROBE)
    check('memcmp falls back to verify less decompress',
          d50['memcmp_ns'] == MEMCMP and d50['memcmp_source'] == 'verify-decompress')
    # the compare less decompress has no probe overhead left to subtract
    want_hf = (HIT - PROBE) / ((HASH - PROBE) + (DECOMP - PROBE) + MEMCMP)
    check('hit / floor net of the probe overhead', close(d50['hit_over_floor'], want_hf, 1e-4),
          f"{d50['hit_over_floor']} vs {want_hf}")
    check('hit fraction from the outcome counts', close(d50['hit_fraction'], 0.5, 1e-3))
    implied = (0.5 * HIT + 0.5 * MISS) / statistics.median(20000 * d for d in drift)
    check('implied store ratio from hit and miss', close(d50['store_implied_on_over_off'], implied, 1e-3))
    tgt = 1.03 + (HASH - PROBE) / lzo['store_ns_off']
    check('unique store target: 1.03 + hash/off', close(lzo['store_target_on_over_off'], tgt, 1e-4))
    check('unique workload: no hit, no hit/floor', lzo['hit_ns'] is None and lzo['hit_over_floor'] is None)

    # adaptive
    check('adaptive keeps 96% of the savings', close(d50['adaptive_savings_over_builtin'], 0.96, 1e-3))
    check('adaptive hashed fraction', close(lzo['adaptive_hashed_fraction'], 1 / 16, 1e-4))

    # compiled out: boot pairs are the units
    co = k['lzo']['dup90']
    gm = math.exp(statistics.fmean(math.log(x) for x in PAIR_RATIO))
    check('off / compiled out: geometric mean over boot pairs',
          close(co['store_off_over_compiled_out'], gm, 1e-4)
          and co['compiled_out_ci_units'] == '3 boot pairs'
          and co['store_off_over_compiled_out_ci95'][0] < gm < co['store_off_over_compiled_out_ci95'][1])
    check('compiled-out flag', res['compiled_out'] is True)
    gm_own = math.exp(statistics.fmean(math.log(x) for x in OWN_RATIO))
    check('off / compiled out less the compressor: per call, over boot pairs',
          close(co['store_own_off_over_compiled_out'], gm_own, 1e-4)
          and close(co['load_own_off_over_compiled_out'], gm_own, 1e-4)
          and co['store_own_ns_compiled_out'] == OWN_STORE
          and co['load_own_ns_compiled_out'] == OWN_LOAD,
          f"{co['store_own_off_over_compiled_out']} {co['load_own_off_over_compiled_out']}")
    want_c = math.exp(statistics.fmean(
        math.log((COMPRESS + STORE_OFF['lzo'] * (x - 1) - PROBE) / (COMPRESS - PROBE))
        for x in PAIR_RATIO))
    check('compressor alone, dedup kernel / compiled out',
          close(co['compress_off_over_compiled_out'], want_c, 1e-4)
          and co['decompress_off_over_compiled_out'] > 1.0, co['compress_off_over_compiled_out'])

    # the policies' own calls, net of the probe, and what they imply
    t = k['lz4']['dup50']
    check('policy calls net of the probe',
          t['policy_tenant_domain_ns'] == 500.0 and t['policy_tenant_stored_ns'] == 400.0
          and t['policy_memcg_domain_ns'] == 200.0 and t['policy_memcg_stored_ns'] is None)
    check('tenant: store ratio implied by its calls',
          close(t['store_bpf_tenant_implied_over_builtin'],
                (t['store_ns_on'] + 900.0) / t['store_ns_on'], 1e-4))

    # a hit against its floor plus a plain store's work besides compressing
    floor = (HASH - PROBE) + (DECOMP - PROBE) + MEMCMP
    check('store extra from the off_floor pass, per call, both probe pairs off',
          d50['store_extra_ns_off'] == STORE_EXTRA, d50['store_extra_ns_off'])
    check('hit / (floor + store extra)',
          close(d50['hit_over_floor_and_store_extra'], (HIT - PROBE) / (floor + STORE_EXTRA), 1e-4)
          and d50['hit_extra_ns'] == HIT - PROBE - floor)

    # scale
    sc = res['scale']
    check('scale[size][workload]', sorted(sc, key=int) == ['64', '256', '1024']
          and close(sc['1024']['dup50']['store_on_over_off'], 1.04)
          and sc['256']['unique']['load_ns_off'] == 8000)

    # targets and verdicts
    rows = res['targets']
    by = {(r['compressor'], r['workload'], r['what']): r for r in rows}
    check('tenant 1.03 > 1.02: MISSED', by[('lzo', 'dup50', 'bpf tenant / built-in')]['verdict'] == 'MISSED')
    check('memcg 1.01 <= 1.02: met', by[('lzo', 'dup50', 'bpf memcg / built-in')]['verdict'] == 'met')
    check('off / compiled out 1.005 with its interval: met or straddles',
          by[('lzo', 'unique', 'store off / compiled out')]['verdict'] in ('met', 'straddles'))

    # the script as bench.sh runs it, and an old single-compressor log
    out = os.path.join(tmp, 'results.json')
    p = subprocess.run([sys.executable, SCRIPT] + logs + [out], capture_output=True, text=True)
    check('bench-report.py runs and writes results.json',
          p.returncode == 0 and os.path.exists(out) and 'Targets' in p.stdout
          and 'Scale' in p.stdout, p.stderr[-300:])
    old = [line('info', kernel='6.12-old', compressor='lzo', dedup=True, mib=64, reps=2)]
    for rep in range(2):
        for mode, pps in (('off', 100.0), ('on', 90.0), ('ideal', 100.0)):
            rec = json.loads(run_line('lzo', 'unique', mode, rep, 1 << 20)[len('BENCH '):])
            for key in ('compressor', 'mib', 'hashed'):
                del rec[key]
            rec['store_pps'] = pps
            old.append('BENCH ' + json.dumps(rec))
    oldlog = write(tmp, 'old.log', old)
    p = subprocess.run([sys.executable, SCRIPT, oldlog, out], capture_output=True, text=True)
    with open(out) as f:
        r = json.load(f)
    check('an old log still gives the end-to-end keys',
          p.returncode == 0 and close(r['workloads']['unique']['store_on_over_off'], 0.9)
          and r['kernel']['lzo']['unique']['store_ns_off'] is None, p.stderr[-300:])


def main():
    with tempfile.TemporaryDirectory() as tmp:
        try:
            tests(tmp)
        except Exception as e:  # a crash is one failure, not a traceback
            import traceback
            results.append((False, 'no exception', traceback.format_exc().replace('\n', ' | ')))
            del e
    print('TAP version 13')
    print(f'1..{len(results)}')
    failed = 0
    for i, (ok, name, detail) in enumerate(results, 1):
        print(f"{'ok' if ok else 'not ok'} {i} bench-report: {name}")
        if not ok:
            failed += 1
            if detail:
                print(f'# {detail}')
    print(f'# {len(results) - failed} passed, {failed} failed')
    return 1 if failed else 0


if __name__ == '__main__':
    sys.exit(main())
