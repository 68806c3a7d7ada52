#!/usr/bin/env python3
"""Turn the demo's guest log into the table, the report and the chart.

Usage: demo-report.py LOG OUTDIR [HOST_BUSY]

HOST_BUSY: what else scripts/demo.sh saw running on the host during the
run (one command line per line); if any, the report warns that the
timings are skewed.

Reads the "DEMO {json}" lines the demo scenario printed (one per
configuration, see tests/guest/zdedup_demo.c and tests/vm/scenarios/demo.sh)
and writes OUTDIR/results.json, OUTDIR/report.md and OUTDIR/pool.png (with
gnuplot, when it is installed), then prints the table, one sentence of
conclusion and where the files are.

Every figure comes from the run: pool sizes are zswap's pool_total_size
growth over the swap-out; the ideal of a configuration is the number of
distinct pages when each is stored once per dedup domain (known from how
the guest built the workload) times the stock run's pool bytes per stored
page; times are the guest's wall-clock measurements.  "merged" is the
fraction of zswap's stores over the swap-out that shared a stored copy
(zswpout_dedup / zswpout), "estimate" what `zdedup-loader estimate`, run
in the guest after the fill and before the pressure, predicted for that
configuration's domains (per cgroup, or A and B grouped).

Exit status 1 if a configuration is missing or failed, a page failed
verification or was not verified, or the guest did not finish cleanly.
"""
import datetime
import json
import os
import re
import shutil
import subprocess
import sys

from gnuplot_term import gnuplot_terminal

MiB = 1024 * 1024
RESULT = re.compile(r'ZDEDUP-RESULT rc=(\d+)')


def parse(path):
    configs, order, guest_rc = {}, [], None
    with open(path, errors='replace') as f:
        for raw in f:
            line = raw.replace('\r', '').strip()
            m = RESULT.search(line)
            if m:
                guest_rc = int(m.group(1))
            at = line.find('DEMO {')
            if at < 0:
                continue
            try:
                rec = json.loads(line[at + len('DEMO '):])
            except json.JSONDecodeError:
                print(f'demo-report: unreadable DEMO line: {line[:120]}...',
                      file=sys.stderr)
                continue
            if rec.pop('type', None) != 'config' or 'name' not in rec:
                continue
            name = rec['name']
            if name not in configs:
                order.append(name)
                configs[name] = rec
            elif 'error' in rec:
                # a measurement line followed by a failure: keep both facts
                configs[name]['error'] = rec['error']
            else:
                configs[name].update(rec)
    return [configs[n] for n in order], guest_rc


def expected_count(configs):
    """The scenario numbers its steps "k/N": N configurations expected."""
    for c in configs:
        m = re.match(r'\d+/(\d+)$', c.get('step', ''))
        if m:
            return int(m.group(1))
    return None


def derive(configs):
    """Add the figures relative to stock to every measured configuration."""
    stock = next((c for c in configs if c['name'] == 'stock' and 'error' not in c
                  and c.get('stored_pages')), None)
    per_page = stock['pool_bytes'] / stock['stored_pages'] if stock else None
    for c in configs:
        if 'error' in c and 'pool_bytes' not in c:
            continue
        d = {}
        d['compression_ratio'] = (c['stored_pages'] * 4096 / c['pool_bytes']
                                  if c['pool_bytes'] > 0 else None)
        d['net_pool_bytes'] = c['pool_bytes'] + c['meta_bytes']
        d['pages_per_object'] = (c['stored_pages'] / c['stored_objects']
                                 if c['stored_objects'] > 0 else None)
        if stock:
            d['stock_pool_bytes'] = stock['pool_bytes']
            d['saved_bytes'] = stock['pool_bytes'] - c['pool_bytes']
            d['saved_pct'] = 100.0 * d['saved_bytes'] / stock['pool_bytes']
            d['stock_pool_bytes_per_page'] = per_page
            d['ideal_pool_bytes'] = c['ideal_pages'] * per_page
            d['ideal_saved_pct'] = 100.0 * (1 - d['ideal_pool_bytes'] / stock['pool_bytes'])
            d['pool_over_ideal_pct'] = 100.0 * (c['pool_bytes'] / d['ideal_pool_bytes'] - 1)
            # net of all the metadata dedup adds (a zswap_dup per shared
            # slot, the dedup fields of every entry, which exist with dedup
            # off too): against a stock pool without them
            d['net_saved_bytes'] = stock['pool_bytes'] - d['net_pool_bytes']
            d['net_saved_pct'] = 100.0 * d['net_saved_bytes'] / stock['pool_bytes']
            d['swapout_vs_stock'] = c['swapout_s'] / stock['swapout_s']
            d['swapin_vs_stock'] = c['swapin_s'] / stock['swapin_s']
        predict(c, d)
        c['derived'] = d
    return stock


# The estimate's domain that each configuration's dedup domains are.
PREDICTED_DOMAIN = {'A,B,C': 'memcg', 'A+B,C': 'tenant'}
# How close the estimate must come (issue 20), in percentage points.
TARGET_PP = 2.0


def predict(c, d):
    """The estimate's prediction for @c next to what zswap merged, into @d."""
    d['merged_pct'] = (100.0 * c['zswpout_dedup'] / c['zswpout']
                       if c.get('zswpout') else None)
    est = c.get('estimate')
    dom = PREDICTED_DOMAIN.get(c.get('domains'))
    if not est or not dom or c.get('dedup_enabled') != 'Y':
        return
    got = (est.get('domains') or {}).get(dom)
    if not got:
        return
    d['predicted_domain'] = dom
    d['predicted_pct'] = got['duplicate_percent']
    # the adaptive policy hashes only where pages repeat: at most this
    d['predicted_upper_bound'] = c.get('dedup_policy') == 'adaptive'
    if d['merged_pct'] is not None:
        d['prediction_gap_pp'] = d['merged_pct'] - d['predicted_pct']


def predictions(configs):
    """Every configuration with a prediction: what results.json lists."""
    out = []
    for c in configs:
        d = c.get('derived', {})
        if 'predicted_pct' not in d:
            continue
        gap = d.get('prediction_gap_pp')
        est = c['estimate']
        out.append({'configuration': c['name'], 'domain': d['predicted_domain'],
                    'predicted_pct': d['predicted_pct'], 'merged_pct': d['merged_pct'],
                    'gap_pp': gap, 'upper_bound': d['predicted_upper_bound'],
                    'within_target': (None if gap is None or d['predicted_upper_bound']
                                      else abs(gap) <= TARGET_PP),
                    'estimate_pages': est.get('pages'),
                    'estimate_zero_pages': est.get('zero_pages'),
                    'estimate_seconds': est.get('seconds'),
                    'zswpout': c['zswpout'], 'zswpout_dedup': c['zswpout_dedup']})
    return out


def failures_of(configs, guest_rc, expected):
    fails = []
    if expected is not None and len(configs) < expected:
        fails.append(f'{expected - len(configs)} of {expected} configurations '
                     'never reported (guest crashed or hung?)')
    for c in configs:
        if 'error' in c:
            fails.append(f'{c["name"]}: {c["error"]}')
            continue
        if c['corrupt']:
            fails.append(f'{c["name"]}: {c["corrupt"]} pages corrupted')
        if c.get('estimate_error'):
            fails.append(f'{c["name"]}: the estimate failed: {c["estimate_error"]}')
        if c['verified'] != c['pages'] * c.get('rounds', 1):
            fails.append(f'{c["name"]}: {c["verified"]} of '
                         f'{c["pages"] * c.get("rounds", 1)} pages verified')
    if not configs:
        fails.append('no configuration reported (see the log)')
    if guest_rc is None:
        fails.append('the guest never reported back (panic, hang or timeout)')
    elif guest_rc != 0 and not fails:
        fails.append(f'the guest scenario exited with status {guest_rc}')
    return fails


def mib(b):
    return f'{b / MiB:.1f} MiB'


def times(x):
    return f'{x:.2f}x'


def same_work(c):
    """Every round of @c hashed and stored about the same."""
    for key in ('dedup_hashed_rounds', 'pool_bytes_rounds'):
        v = c.get(key, [])
        if v and max(v) > 1.02 * min(v):
            return False
    return True


def spread(configs, key):
    """The largest round-to-round spread of a time in this run (0.05 =
    5%), or None with a single round: closer to stock than that is no
    measurable difference."""
    worst = None
    for c in configs:
        # only configurations whose rounds did the same work (adaptive's
        # later rounds carry its back-off state and hash less)
        if not same_work(c):
            continue
        rounds = [x for x in c.get(key + '_rounds', []) if x > 0]
        if len(rounds) > 1:
            s = max(rounds) / min(rounds) - 1
            worst = s if worst is None else max(worst, s)
    return worst


def faster(ratio, noise):
    """A time ratio against stock, in words."""
    if ratio is None:
        return '?'
    if noise is not None and abs(ratio - 1) <= noise:
        return f'as fast as stock (within this run\'s round-to-round noise of {noise:.0%})'
    if ratio < 1:
        return (f'{100 * (1 / ratio - 1):.0f}% faster' if ratio > 2 / 3
                else f'{1 / ratio:.1f}x faster')
    return f'{100 * (ratio - 1):.0f}% slower' if ratio < 1.5 else f'{ratio:.1f}x slower'


def times_words(d, noise_out, noise_in):
    out, inn = d['swapout_vs_stock'], d['swapin_vs_stock']
    if (noise_out is not None and noise_in is not None and
            abs(out - 1) <= noise_out and abs(inn - 1) <= noise_in):
        return ('swap-out and swap-in as fast as stock (within this run\'s '
                f'round-to-round noise of {noise_out:.0%} and {noise_in:.0%})')
    return f'swap-out {faster(out, noise_out)}, swap-in {faster(inn, noise_in)}'


SHORT = {'stock': 'stock zswap', 'builtin': 'built-in policy',
         'tenant': 'tenant policy', 'adaptive': 'adaptive policy'}


def sentence(configs, stock, fails):
    ok = [c for c in configs if 'error' not in c and 'derived' in c]
    verified = sum(c['verified'] for c in ok)
    corrupt = sum(c['corrupt'] for c in ok)
    tail = f'{corrupt:,} of {verified:,} pages corrupted'
    cands = [c for c in ok if c['name'] != 'stock' and stock]
    if not cands:
        s = f'No dedup configuration could be measured; {tail}.'
    else:
        best = max(cands, key=lambda c: c['derived']['saved_bytes'])
        d = best['derived']
        gap = d['pool_over_ideal_pct']
        within = (f'within {abs(gap):.1f}% of its ideal' if abs(gap) >= 0.05
                  else 'at its ideal')
        s = (f'The {SHORT.get(best["name"], best["name"])} saved {d["saved_pct"]:.0f}% of the '
             f'compressed pool ({mib(d["saved_bytes"])} of {mib(stock["pool_bytes"])}, '
             f'{d["net_saved_pct"]:.0f}% net of dedup metadata), {within}; '
             f'{times_words(d, spread(configs, "swapout_s"), spread(configs, "swapin_s"))}; '
             f'{tail}.')
    if fails:
        s = 'FAILED: ' + '; '.join(fails) + '. ' + s
    return s


def table_rows(configs):
    """One row of strings per configuration, for the terminal and markdown."""
    rows = []
    for i, c in enumerate(configs, 1):
        label = f'{c.get("step", str(i)).split("/")[0]} {c.get("label", c["name"])}'
        if 'derived' not in c:
            rows.append((label, None, c.get('error', 'no result')))
            continue
        d = c['derived']
        stock_row = c['name'] == 'stock'
        cells = [
            mib(c['pool_bytes']),
            '-' if stock_row or 'saved_bytes' not in d else
            f'{mib(d["saved_bytes"])} ({d["saved_pct"]:.1f}%)',
            mib(d['ideal_pool_bytes']) if 'ideal_pool_bytes' in d else '?',
            f'{d["pool_over_ideal_pct"]:+.1f}%' if 'pool_over_ideal_pct' in d else '?',
            f'{c["stored_objects"]:,}/{c["ideal_pages"]:,}',
            f'{c["dedup_hashed"]:,}',
            '?' if d.get('merged_pct') is None else f'{d["merged_pct"]:.1f}%',
            estimate_cell(d),
            f'{c["swapout_s"]:.1f} s' + ('' if stock_row or 'swapout_vs_stock' not in d
                                         else f' {times(d["swapout_vs_stock"])}'),
            f'{c["swapin_s"]:.1f} s' + ('' if stock_row or 'swapin_vs_stock' not in d
                                        else f' {times(d["swapin_vs_stock"])}'),
            f'{c["verified"]:,}',
            f'{c["corrupt"]:,}',
        ]
        rows.append((label, cells, c.get('error')))
    return rows


HEAD = ['pool', 'saved vs stock', 'ideal', 'vs ideal', 'objects/distinct',
        'hashed', 'merged', 'estimate', 'swap-out', 'swap-in', 'verified', 'corrupted']


def estimate_cell(d):
    """The estimate's prediction for a row: "<=" where it is an upper bound."""
    if 'predicted_pct' not in d:
        return '-'
    return ('<=' if d['predicted_upper_bound'] else '') + f'{d["predicted_pct"]:.1f}%'


def estimate_pages_words(configs):
    """Where the estimate's pages and zswap's stores differ, measured: the
    pages the estimate read in the tenants' processes, the anonymous pages
    their cgroups were charged before the pressure, what zswap stored."""
    c = next((c for c in configs if c.get('name') == 'builtin' and c.get('estimate')
              and 'derived' in c), None)
    if not c:
        return None
    est = c['estimate']
    dups = est['domains']['memcg']['duplicate_pages']
    charged = [t.get('anon_bytes') for t in c.get('per_tenant', [])]
    anon = (sum(charged) // est['page_size']
            if charged and all(x is not None and x >= 0 for x in charged) else None)
    words = (f'The estimate read {est["pages"]:,} pages in the tenants\' processes '
             f'({est["zero_pages"]:,} zero), '
             + (f'their cgroups were charged {anon:,} anonymous pages before the '
                'pressure, ' if anon is not None else '')
             + f'and zswap stored {c["zswpout"]:,} pages over the swap-out; the estimate '
             f'counted {dups:,} duplicates per cgroup, the built-in policy merged '
             f'{c["zswpout_dedup"]:,}.')
    if anon is not None and anon < est['pages'] - est['zero_pages']:
        words += (f' {est["pages"] - est["zero_pages"] - anon:,} of the pages read were '
                  'charged to another cgroup (pages a replica wrote between fork() and '
                  'entering its cgroup, or shares with its parent): memory.reclaim on '
                  'the tenants never pushes them out, while the estimate counts them '
                  'in the cgroup the process is in (docs/operations.md).')
    return words


def estimate_words(configs):
    """One sentence: the estimate against what zswap merged, or None."""
    rows = [p for p in predictions(configs) if not p['upper_bound']
            and p['gap_pp'] is not None]
    if not rows:
        return None
    each = '; '.join(f'{SHORT.get(p["configuration"], p["configuration"])}: predicted '
                     f'{p["predicted_pct"]:.1f}%, merged {p["merged_pct"]:.1f}% '
                     f'({p["gap_pp"]:+.1f} pp)' for p in rows)
    worst = max(abs(p['gap_pp']) for p in rows)
    verdict = (f'within {TARGET_PP:.0f} percentage points' if worst <= TARGET_PP else
               f'MORE than {TARGET_PP:.0f} percentage points apart')
    return (f'zdedup-loader estimate, run in the guest after the fill and before the '
            f'pressure, against the fraction of stores zswap merged '
            f'(zswpout_dedup/zswpout): {each}: {verdict}.')


def terminal_table(configs):
    rows = table_rows(configs)
    lw = max([len('configuration')] + [len(r[0]) for r in rows])
    widths = [len(h) for h in HEAD]
    for _, cells, _ in rows:
        if cells:
            widths = [max(w, len(x)) for w, x in zip(widths, cells)]
    out = ['  ' + 'configuration'.ljust(lw) + '  ' +
           '  '.join(h.rjust(w) for h, w in zip(HEAD, widths))]
    out.append('  ' + '-' * (len(out[0]) - 2))
    for label, cells, err in rows:
        if cells is None:
            out.append('  ' + label.ljust(lw) + '  FAILED: ' + err)
        else:
            out.append('  ' + label.ljust(lw) + '  ' +
                       '  '.join(x.rjust(w) for x, w in zip(cells, widths)))
            if err:
                out.append('  ' + ' ' * lw + '  FAILED: ' + err)
    return '\n'.join(out)


def markdown_table(configs):
    rows = table_rows(configs)
    out = ['| configuration | ' + ' | '.join(HEAD) + ' |',
           '| --- |' + ' ---: |' * len(HEAD)]
    for label, cells, err in rows:
        if cells is None:
            out.append(f'| {label} | FAILED: {err} |' + ' |' * (len(HEAD) - 1))
        else:
            out.append(f'| {label} | ' + ' | '.join(cells) + ' |')
    return '\n'.join(out)


def details_md(configs):
    ok = [c for c in configs if 'derived' in c]
    out = ['| configuration | policy | domains | pages hashed | merged | '
           'collisions | dedup metadata | net saving | effective compression |',
           '| --- | --- | --- |' + ' ---: |' * 6]
    for c in ok:
        d = c['derived']
        policy = c['dedup_policy'] if c['dedup_enabled'] == 'Y' else 'dedup off'
        out.append(f'| {c["name"]} | {policy} | {c["domains"]} | '
                   f'{c["dedup_hashed"]:,} | {c["dedup_hits"]:,} | '
                   f'{c["dedup_collisions"]:,} | {mib(c["meta_bytes"])} | '
                   + (f'{mib(d["net_saved_bytes"])} ({d["net_saved_pct"]:.1f}%)'
                      if 'net_saved_bytes' in d else '?') + ' | '
                   + (f'{d["compression_ratio"]:.2f}x' if d['compression_ratio'] else '?')
                   + ' |')
    out += ['', '| configuration | tenant | image | pages out | merged | '
            'charged to the tenant (memory.zswap.current) |',
            '| --- | --- | --- | ---: | ---: | ---: |']
    for c in ok:
        for t in c.get('per_tenant', []):
            out.append(f'| {c["name"]} | {t["name"]} | {t["refset"] + 1} | '
                       f'{t["zswpout"]:,} | {t["zswpout_dedup"]:,} | '
                       f'{mib(t["zswap_current_bytes"])} |')
    return '\n'.join(out)


def observations(configs):
    """What the figures show beyond the table, computed from them."""
    by = {c['name']: c for c in configs if 'derived' in c}
    out = []
    words = estimate_words(configs)
    if words:
        out.append(words.replace('zdedup-loader estimate', '`zdedup-loader estimate`', 1))
        pages = estimate_pages_words(configs)
        if pages:
            out.append(pages)
    b, t, a = by.get('builtin'), by.get('tenant'), by.get('adaptive')
    if b and t and 'saved_pct' in t['derived']:
        out.append(f'Letting A and B (the same image) share one domain saves '
                   f'{mib(b["pool_bytes"] - t["pool_bytes"])} more than keeping '
                   f'every cgroup apart: {t["derived"]["saved_pct"]:.1f}% '
                   f'instead of {b["derived"]["saved_pct"]:.1f}% of the stock pool.')
    if b and a and b['dedup_hashed'] > 0 and 'saved_pct' in a['derived']:
        fewer = 100.0 * (1 - a['dedup_hashed'] / b['dedup_hashed'])
        out.append(f'The adaptive policy hashed {a["dedup_hashed"]:,} pages '
                   f'instead of {b["dedup_hashed"]:,} ({fewer:.0f}% fewer: it '
                   f'backs off where pages stop repeating) and saved '
                   f'{a["derived"]["saved_pct"]:.1f}% against the built-in '
                   f'policy\'s {b["derived"]["saved_pct"]:.1f}%.')
    if t and t.get('per_tenant'):
        ch = {x['name']: x['zswap_current_bytes'] for x in t['per_tenant']}
        if 'A' in ch and 'B' in ch:
            out.append(f'Under the tenant policy A is charged {mib(ch["A"])} of '
                       f'zswap and B {mib(ch["B"])}: a shared object stays '
                       'charged to the cgroup that stored it first, the '
                       'others pay only for their references; this is the '
                       'accounting side channel that keeps sharing across '
                       'cgroups an explicit choice.')
    st = by.get('stock')
    if st and st['meta_bytes'] > 0:
        out.append(f'Dedup metadata is counted against dedup even where it is '
                   f'off: with dedup_enabled=N the entries\' dedup fields took '
                   f'{mib(st["meta_bytes"])} ({100.0 * st["meta_bytes"] / st["pool_bytes"]:.1f}% '
                   'of the stock pool).')
    for c in by.values():
        pools = c.get('pool_bytes_rounds', [])
        if len(pools) > 1 and max(pools) > 1.02 * min(pools):
            out.append(f'{c["name"]}: the pool differed between rounds ('
                       + ', '.join(mib(p) for p in pools) + ', pages hashed '
                       + ', '.join(f'{h:,}' for h in c.get('dedup_hashed_rounds', []))
                       + '): the policy keeps its state from one round to the '
                       'next (`zdedup-loader status` in the log); the table '
                       'shows the first round.')
    leaks = [c['name'] for c in by.values()
             if c.get('stored_pages_left') or c.get('pool_bytes_left')
             or c.get('index_entries_left')]
    if leaks:
        out.append('After the replicas exited, zswap did not return to where it '
                   'started for: ' + ', '.join(leaks) + ' (see results.json, *_left).')
    else:
        out.append('After every configuration, once the replicas exited, '
                   'stored pages, pool and dedup index were back where they started.')
    return out


def host_busy(path):
    """Short names for what else ran on the host during the run."""
    seen = []
    try:
        with open(path) as f:
            lines = [x.strip() for x in f if x.strip()]
    except OSError:
        return []
    for x in lines:
        m = re.search(r'zdedup\.scenario=(\S+)', x)
        if m:
            name = f'a VM running scenario {m.group(1)}'
        elif 'qemu-system' in x:
            name = 'another VM'
        else:
            name = 'a build'   # cc1, ld, make, clang
        if name not in seen:
            seen.append(name)
    return seen


def chart(configs, outdir):
    """pool.png: pool per configuration against its ideal; None if no gnuplot."""
    if not shutil.which('gnuplot'):
        return None, 'gnuplot is not installed (scripts/deps.sh installs gnuplot-nox)'
    term = gnuplot_terminal('900,520')
    if not term:
        return None, 'gnuplot has no png terminal'
    ok = [c for c in configs if 'derived' in c]
    if not ok:
        return None, 'nothing measured'
    data = os.path.join(outdir, 'pool.dat')
    with open(data, 'w') as f:
        f.write('# configuration pool_MiB ideal_MiB label\n')
        for c in configs:
            name = SHORT.get(c['name'], c['name']).replace('stock zswap', 'stock')
            if 'derived' not in c:
                f.write(f'"{name}" 0 0 "failed"\n')
                continue
            d = c['derived']
            label = f'{c["pool_bytes"] / MiB:.1f}'
            if c['name'] != 'stock' and 'saved_pct' in d:
                label += f' (-{d["saved_pct"]:.0f}%)'
            ideal = d.get('ideal_pool_bytes', 0) / MiB
            f.write(f'"{name}" {c["pool_bytes"] / MiB:.3f} {ideal:.3f} "{label}"\n')
    png = os.path.join(outdir, 'pool.png')
    kernel = ok[0].get('kernel', '?')
    pages = ok[0]['pages']
    script = f'''
set terminal {term}
set output "{png}"
set title "zswap pool for {pages:,} pages of 3 tenants x {ok[0]["replicas"]} replicas (Linux {kernel}, {ok[0]["compressor"]})"
set ylabel "compressed pool (MiB)"
set yrange [0:*]
set style data histograms
set style histogram clustered gap 1
set style fill solid 0.85 border -1
set boxwidth 0.9
set grid ytics
set key top right
plot "{data}" using 2:xtic(1) title "pool (measured)" lc rgb "#3465a4", \\
     "" using 3 title "ideal (each distinct page once per domain)" lc rgb "#babdb6", \\
     "" using ($0 - 0.17):2:4 with labels offset 0,0.7 notitle
'''
    gp = os.path.join(outdir, 'pool.gp')
    with open(gp, 'w') as f:
        f.write(script)
    r = subprocess.run(['gnuplot', gp], capture_output=True, text=True)
    if r.returncode != 0 or not os.path.exists(png):
        return None, 'gnuplot failed: ' + r.stderr.strip()[:300]
    return png, None


def main():
    if len(sys.argv) not in (3, 4):
        print(__doc__, file=sys.stderr)
        return 2
    log, outdir = sys.argv[1], sys.argv[2]
    busy = host_busy(sys.argv[3]) if len(sys.argv) == 4 else []
    warning = ('other work ran on this host during the demo (' + ', '.join(busy) +
               '): the times are skewed; rerun on a quiet host to compare them'
               if busy else None)
    os.makedirs(outdir, exist_ok=True)
    configs, guest_rc = parse(log)
    stock = derive(configs)
    fails = failures_of(configs, guest_rc, expected_count(configs))
    summary = sentence(configs, stock, fails)
    when = datetime.datetime.now().astimezone().strftime('%Y-%m-%d %H:%M %Z')
    first = next((c for c in configs if 'kernel' in c), {})

    results = {
        'date': when,
        'kernel': first.get('kernel'),
        'lockdep': first.get('lockdep'),
        'compressor': first.get('compressor'),
        'workload': {k: first.get(k) for k in
                     ('tenants', 'replicas', 'ref_pages', 'own_pages', 'pages')},
        'ok': not fails,
        'failures': fails,
        'summary': summary,
        'host_busy': busy,
        'round_spread': {'swapout': spread(configs, 'swapout_s'),
                         'swapin': spread(configs, 'swapin_s')},
        'estimate_vs_merged': predictions(configs),
        'estimate_target_pp': TARGET_PP,
        'configurations': configs,
    }
    with open(os.path.join(outdir, 'results.json'), 'w') as f:
        json.dump(results, f, indent=2)
        f.write('\n')

    png, why = chart(configs, outdir)
    wl = results['workload']
    if first:
        intro = (f'three tenants (memory cgroups A, B, C), {wl["replicas"]} replicas '
                 f'each; every replica holds {wl["ref_pages"]:,} pages of its image\'s '
                 f'reference data (A and B run the same image, C another) and '
                 f'{wl["own_pages"]:,} pages of its own: {wl["pages"]:,} pages '
                 f'({wl["pages"] * 4096 // MiB} MiB) per configuration, pushed into '
                 f'zswap with memory.reclaim, read back and verified.')
    else:
        intro = 'No configuration was measured.'
    per_page = (f'{stock["pool_bytes"] / stock["stored_pages"]:.0f} bytes'
                if stock else '(no stock run)')
    rounds = first.get('rounds', 1)
    kdebug = (' (debug kernel: lockdep and DEBUG_VM add to every time)'
              if first.get('lockdep') else '')
    rounds_words = {1: 'once', 2: 'twice'}.get(rounds, f'{rounds} times')
    md = f'''# zdedup demo

{when}, Linux {results["kernel"]}{kdebug}, zswap compressor {results["compressor"]},
QEMU TCG guest (2 vCPUs, 2 GiB).

{intro[0].upper() + intro[1:]}

{markdown_table(configs)}

{summary}
{chr(10) + "**Warning**: " + warning + "." + chr(10) if warning else ""}
{"![zswap pool per configuration](pool.png)" if png else f"(no chart: {why})"}

## How to read it

- **pool**: growth of zswap's `pool_total_size` (debugfs) over the swap-out:
  the memory the compressed pages occupy, zsmalloc overhead included.
- **ideal**: each distinct page stored once per dedup domain of the
  configuration (stock: every page; built-in and adaptive: per cgroup;
  tenant: A and B together, C alone), counted from how the guest built
  the workload, times the stock run's pool bytes per stored page
  ({per_page}).
- **objects/distinct**: compressed objects zswap stored (`stored_objects`)
  against the distinct pages of the ideal; the few extra objects are the
  replicas' stacks and data pages that reclaim pushed out with them.
- **swap-out**: wall time of `memory.reclaim` on the tenants' parent
  cgroup until their memory was in zswap; **swap-in**: wall time for every
  replica to fault all of its memory back, all replicas at once; the
  factor is the time against stock (below 1 is faster).  Each
  configuration swaps its memory out and in {rounds_words}; the times are
  the best round's (wall clock in an emulator: other work on the host
  slows it down), the zswap figures the first round's.  A factor closer
  to 1 than the largest difference between two rounds of one
  configuration in this run is no measurable difference.
- **merged**: the fraction of zswap's stores over the first swap-out that
  shared a stored copy instead of storing one (`zswpout_dedup` /
  `zswpout`, /proc/vmstat). **estimate**: what `zdedup-loader estimate
  --json` (run in the guest on A, B and C with `--group A,B`, after the
  fill and before the pressure) predicted for the configuration's
  domains: duplicates per cgroup for the built-in and adaptive policies,
  with A and B in one domain for the tenant policy, as a percentage of
  the non-zero pages it read; for the adaptive policy an upper bound (it
  hashes only where pages repeat).
- **verified/corrupted**: every page compared byte for byte with what the
  replica wrote, after every round.
- Dedup metadata (a `zswap_dup` per shared slot, dedup fields in every
  entry, `dedup_meta_bytes`) is not in the pool; the net saving below
  subtracts it.

## What the figures show

{chr(10).join("- " + o for o in observations(configs))}

## Dedup counters and tenants

{details_md(configs)}

Raw figures: `results.json`; the guest's log: `build/vm/demo.log`.
'''
    with open(os.path.join(outdir, 'report.md'), 'w') as f:
        f.write(md)

    print()
    if first:
        print(f'  zdedup demo: {intro}')
        print(f'  Linux {results["kernel"]}{kdebug}, {results["compressor"]}, {when}')
        print()
    print(terminal_table(configs))
    print()
    print(f'  pool: zswap pool_total_size growth; ideal: distinct pages per dedup '
          f'domain x stock\'s {per_page} per page;')
    sp_out, sp_in = spread(configs, 'swapout_s'), spread(configs, 'swapin_s')
    print(f'  times: wall clock, best of {rounds} round{"s" if rounds != 1 else ""}, '
          'factor against stock (below 1 is faster)' +
          (f'; round-to-round spread in this run: swap-out {sp_out:.0%}, '
           f'swap-in {sp_in:.0%}.' if sp_out is not None else '.'))
    words = estimate_words(configs)
    if words:
        print('  ' + words)
    print()
    print('  ' + summary)
    if warning:
        print()
        print('  warning: ' + warning + '.')
    print()
    rel = os.path.relpath(outdir)
    if rel.startswith('..'):
        rel = os.path.abspath(outdir)
    print(f'  results: {rel}/results.json  report: {rel}/report.md  chart: ' +
          (f'{rel}/pool.png' if png else f'none ({why})'))
    return 1 if fails else 0


if __name__ == '__main__':
    sys.exit(main())
