#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0
"""`zdedup-loader estimate` on this host's own kernel, against processes
whose pages are known (tests/host/estimate_workload.c).

Creates cgroups under the cgroup2 mount (a, b, c in a fresh parent),
starts workload processes in them with known unique, zero and shared
pages, and checks `estimate --json` to the page: pages, zero pages and
duplicates per cgroup, per tenant group (--group a,b) and per domain
(built-in per-cgroup, tenant, host).  The processes' other anonymous pages
(stack, libc's data) are the same in two scans, so the test takes the
difference between a scan with the workload's region mapped and one after
every process unmapped it.  Then: --pid, sampling (--max-pages), pages
shared after fork counted once, --timeout, a process killed mid-scan
(partial), and bad input (no such pid, malformed pid, no such cgroup, an
empty cgroup, a bad --group, not root).  Needs root and a C compiler;
without a writable cgroup2 mount the cgroup cases are skipped and --pid
cases still run.  Prints TAP.

Usage: tests/host/test_estimate.py   (ZDEDUP_LOADER: the loader to test,
default build/loader/zdedup-loader)
"""
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time

TOP = os.path.abspath(os.path.join(os.path.dirname(__file__), '..', '..'))
LOADER = os.environ.get('ZDEDUP_LOADER',
                        os.path.join(TOP, 'build', 'loader', 'zdedup-loader'))
WORKLOAD_SRC = os.path.join(TOP, 'tests', 'host', 'estimate_workload.c')
PAGEOUT_SRC = os.path.join(TOP, 'tests', 'guest', 'pageout.c')

n = 0
fails = 0


def ok(cond, desc, detail=''):
    global n, fails
    n += 1
    print(('ok' if cond else 'not ok') + ' %d estimate: %s' % (n, desc))
    if not cond:
        fails += 1
        for line in str(detail).splitlines()[-20:]:
            print('# ' + line)
    return cond


def skip(desc, why):
    global n
    n += 1
    print('ok %d estimate: %s # SKIP %s' % (n, desc, why))


def cgroup2_root():
    with open('/proc/self/mounts') as f:
        for line in f:
            parts = line.split()
            if parts[2] == 'cgroup2':
                return parts[1]
    return None


def estimate(*args, timeout=120):
    """Run estimate --json: (exit status, parsed document or None, stderr)."""
    p = subprocess.run([LOADER, 'estimate', '--json', '--no-progress'] + list(args),
                       capture_output=True, text=True, timeout=timeout)
    try:
        doc = json.loads(p.stdout)
    except ValueError:
        doc = None
    return p.returncode, doc, p.stderr


class Workload:
    """One estimate_workload process, optionally in cgroup @cg (absolute)."""

    def __init__(self, binary, unique, zero, named=(), cg=None, fork=False):
        self.unique, self.zero, self.named = unique, zero, list(named)
        argv = [binary] + (['--fork'] if fork else []) + [str(unique), str(zero)]
        # ('x', N): N pages of one content; ('x*', N): a data set of N contents
        argv += ['%s%d' % (nm if nm.endswith('*') else nm + ':', c) for nm, c in self.named]

        def enter():
            if cg:
                with open(os.path.join(cg, 'cgroup.procs'), 'w') as f:
                    f.write(str(os.getpid()))
        self.p = subprocess.Popen(argv, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                  preexec_fn=enter)
        line = self.p.stdout.readline()
        if line != b'ready\n':
            raise RuntimeError('workload did not start: %r' % line)

    @property
    def pid(self):
        return self.p.pid

    def unmap(self):
        self.p.stdin.write(b'u')
        self.p.stdin.flush()
        if self.p.stdout.readline() != b'unmapped\n':
            raise RuntimeError('workload did not unmap')

    def stop(self):
        if self.p.poll() is None:
            self.p.kill()
        self.p.wait()


def expected(workloads_by_cg, groups):
    """The region's figures: per cgroup, per group, per domain."""
    def count(wls):
        pages = sum(w.unique + w.zero + sum(c for _, c in w.named) for w in wls)
        zero = sum(w.zero for w in wls)
        one = {nm for w in wls for nm, _ in w.named if not nm.endswith('*')}
        sets = {}
        for w in wls:
            for nm, c in w.named:
                if nm.endswith('*'):
                    sets[nm] = max(sets.get(nm, 0), c)	# contents 0..c-1 of data set nm
        distinct = sum(w.unique for w in wls) + len(one) + sum(sets.values())
        return {'pages': pages, 'zero_pages': zero,
                'duplicate_pages': pages - zero - distinct}
    per_cg = {cg: count(wls) for cg, wls in workloads_by_cg.items()}
    grouped = set(cg for g in groups for cg in g)
    per_group = [count([w for cg in g for w in workloads_by_cg[cg]]) for g in groups]
    everything = [w for wls in workloads_by_cg.values() for w in wls]
    host = count(everything)
    memcg = dict(host, duplicate_pages=sum(c['duplicate_pages'] for c in per_cg.values()))
    tenant = dict(host, duplicate_pages=sum(c['duplicate_pages'] for c in per_group) +
                  sum(per_cg[cg]['duplicate_pages'] for cg in per_cg if cg not in grouped))
    return per_cg, per_group, {'memcg': memcg, 'tenant': tenant, 'host': host}


KEYS = ('pages', 'zero_pages', 'duplicate_pages')


def diff(a, b):
    return {k: a[k] - b[k] for k in KEYS}


def by_cgroup(doc):
    return {c['cgroup']: c for c in doc['cgroups']}


def main():
    print('TAP version 13')
    if os.geteuid() != 0:
        print('1..0 # SKIP estimate reads other processes\' memory: needs root')
        return 0
    if not os.access(LOADER, os.X_OK):
        print('1..1')
        ok(False, 'the loader is built', '%s missing: run make' % LOADER)
        return 1
    tmp = tempfile.mkdtemp(prefix='zdedup-est.')
    binary = os.path.join(tmp, 'estimate_workload')
    cc = subprocess.run(['gcc', '-O2', '-Wall', '-o', binary, WORKLOAD_SRC, PAGEOUT_SRC],
                        capture_output=True, text=True)
    if cc.returncode:
        print('1..1')
        ok(False, 'the workload program builds', cc.stderr)
        return 1
    root = cgroup2_root()
    parent = None
    if root:
        parent = os.path.join(root, 'zdedup-estimate-test.%d' % os.getpid())
        try:
            os.mkdir(parent)
            for c in ('a', 'b', 'c', 'empty'):
                os.mkdir(os.path.join(parent, c))
        except OSError as e:
            print('# cannot create cgroups under %s (%s): --pid cases only' % (root, e))
            parent = None
    rel = '/' + os.path.relpath(parent, root) if parent else None
    started = []

    def start(*a, **kw):
        w = Workload(binary, *a, **kw)
        started.append(w)
        return w

    print('1..25')
    try:
        # --- cgroups, exact to the page ---
        if parent:
            cg = {c: os.path.join(parent, c) for c in 'abc'}
            wl = {
                rel + '/a': [start(64, 16, [('img', 128), ('x', 32)], cg=cg['a']),
                             start(32, 0, [('img', 128), ('y', 16)], cg=cg['a'])],
                rel + '/b': [start(16, 8, [('img', 64), ('y', 8)], cg=cg['b'])],
                rel + '/c': [start(8, 4, [('img', 32), ('z', 16)], cg=cg['c'])],
            }
            groups = [[rel + '/a', rel + '/b']]
            args = [rel, '--group', '%s/a,%s/b' % (rel, rel)]
            rc1, d1, err1 = estimate(*args)
            for w in (w for ws in wl.values() for w in ws):
                w.unmap()
            rc0, d0, err0 = estimate(*args)
            if ok(rc1 == 0 and rc0 == 0 and d1 and d0,
                  'estimate --json of a cgroup tree with --group exits 0',
                  '%s %s %s' % (rc1, err1, err0)):
                per_cg, per_group, dom = expected(wl, groups)
                c1, c0 = by_cgroup(d1), by_cgroup(d0)
                got = {p: diff(c1[p], c0[p]) for p in per_cg if p in c1 and p in c0}
                ok(got == per_cg, 'per cgroup: pages, zero pages and duplicates to the page',
                   'got %s\nwant %s' % (got, per_cg))
                ok(all(c1[p]['processes'] == len(wl[p]) for p in per_cg),
                   'per cgroup: the processes of each cgroup',
                   [(p, c1[p]['processes']) for p in c1])
                gg = [diff(a, b) for a, b in zip(d1['groups'], d0['groups'])]
                ok(gg == per_group and d1['groups'][0]['members'] == groups[0],
                   'tenant group a+b: pages, zero pages and duplicates to the page',
                   'got %s %s\nwant %s' % (gg, d1['groups'], per_group))
                gd = {k: diff(d1['domains'][k], d0['domains'][k]) for k in dom}
                ok(gd == dom, 'domains built-in, tenant and host: duplicates to the page',
                   'got %s\nwant %s' % (gd, dom))
                b = d1['domains']['host']
                nz = b['pages'] - b['zero_pages']
                ok(b['duplicate_bytes'] == b['duplicate_pages'] * d1['page_size'] and
                   abs(b['duplicate_percent'] - 100.0 * b['duplicate_pages'] / nz) < 1e-3,
                   'bytes and percent (of the non-zero pages) follow the pages', b)
                ok(not d1['partial'] and d1['partial_reason'] is None and
                   not d1['sampled'] and d1['pfn_matched'],
                   'a complete scan is neither partial nor sampled', d1)
            else:
                for _ in range(6):
                    ok(False, 'the figures of that scan', 'no scan')
            p = subprocess.run([LOADER, 'estimate', '--no-progress', rel, '--group',
                                '%s/a,%s/b' % (rel, rel)], capture_output=True, text=True)
            ok(p.returncode == 0 and 'host (what KSM could merge)' in p.stdout and
               'group 1:' in p.stdout, 'text output: the table, groups and domains',
               p.stdout + p.stderr)
            rc, d, err = estimate(rel + '/empty')
            ok(rc == 1 and d and 'has no processes' in d.get('error', ''),
               'an empty cgroup: exit 1, "has no processes"', '%s %s' % (rc, d))
            rc, d, err = estimate(rel, '--group', rel + '/nonexistent')
            ok(rc == 1 and d and 'nonexistent' in d.get('error', ''),
               'a --group naming no cgroup: exit 1, names it', '%s %s' % (rc, d))
            for ws in wl.values():
                for w in ws:
                    w.stop()

            # make demo's workload (tests/guest/zdedup_demo.c): tenants A, B,
            # C, 3 replicas each, 3072 pages of their image's reference data
            # (A and B run one image, C another) and 1024 of their own.
            wl = {rel + '/' + t: [start(1024, 0, [(img + '*', 3072)], cg=cg[t])
                                  for _ in range(3)]
                  for t, img in (('a', 'image-ab'), ('b', 'image-ab'), ('c', 'image-c'))}
            args = [rel, '--group', '%s/a,%s/b' % (rel, rel)]
            rc1, d1, _ = estimate(*args)
            for w in (w for ws in wl.values() for w in ws):
                w.unmap()
            rc0, d0, _ = estimate(*args)
            if rc1 == 0 and rc0 == 0 and d1 and d0:
                got = {k: diff(d1['domains'][k], d0['domains'][k]) for k in ('memcg', 'tenant')}
                pct = {k: 100.0 * v['duplicate_pages'] / (v['pages'] - v['zero_pages'])
                       for k, v in got.items()}
                print('# make demo\'s workload: built-in %.1f%%, tenant (A+B) %.1f%% of '
                      'the pages are duplicates' % (pct['memcg'], pct['tenant']))
            else:
                got = None
            ok(got == {'memcg': {'pages': 36864, 'zero_pages': 0, 'duplicate_pages': 18432},
                       'tenant': {'pages': 36864, 'zero_pages': 0, 'duplicate_pages': 21504}},
               'make demo\'s workload: 50.0% duplicates per cgroup, 58.3% with A+B grouped',
               got)
            for ws in wl.values():
                for w in ws:
                    w.stop()
        else:
            for d in ('cgroup tree with --group', 'per cgroup', 'processes per cgroup',
                      'tenant group', 'domains', 'bytes and percent', 'complete scan',
                      'text output', 'empty cgroup', 'bad --group', 'demo workload'):
                skip(d, 'no writable cgroup2 mount on this host')

        # --- one process ---
        w = start(100, 10, [('p', 50)])
        rc1, d1, _ = estimate('--pid', str(w.pid))
        w.unmap()
        rc0, d0, _ = estimate('--pid', str(w.pid))
        want = {'pages': 160, 'zero_pages': 10, 'duplicate_pages': 49}
        got = diff(d1['domains']['host'], d0['domains']['host']) if d1 and d0 else None
        ok(rc1 == 0 and rc0 == 0 and got == want and d1['processes'] == 1,
           '--pid: that process only, to the page', 'got %s want %s' % (got, want))
        rc, d, _ = estimate('--pid', str(w.pid), '--include-swapped')
        ok(rc == 0 and d and d['swapped_read'] and d['swapped_pages'] >= 0,
           '--include-swapped is accepted and reported (this host may have no swap)',
           '%s %s' % (rc, d))
        w.stop()

        # --- the root cgroup: the built-in policy does not merge there ---
        if parent:
            w = start(10, 0, [('r', 20)], cg=root)
            rc1, d1, _ = estimate('--pid', str(w.pid))
            w.unmap()
            rc0, d0, _ = estimate('--pid', str(w.pid))
            got = None
            if d1 and d0:
                got = (diff(d1['domains']['memcg'], d0['domains']['memcg'])['duplicate_pages'],
                       diff(d1['domains']['host'], d0['domains']['host'])['duplicate_pages'])
            ok(rc1 == 0 and rc0 == 0 and got == (0, 19),
               'root cgroup: no duplicates for the built-in policy, 19 across the host',
               'got (memcg, host) %s, want (0, 19)' % (got,))
            w.stop()
        else:
            skip('root cgroup', 'no writable cgroup2 mount on this host')

        # --- no CGROUP: every process of the host ---
        rc, d, _ = estimate()
        ok(rc == 0 and d and d['processes'] >= 1 and d['pages'] > 0 and
           d['domains']['host']['duplicate_pages'] >= d['domains']['memcg']['duplicate_pages'],
           'no CGROUP: every process of the host; host duplicates >= per-cgroup ones',
           '%s %s' % (rc, d and {k: d[k] for k in ('processes', 'pages', 'partial_reason')}))

        # --- pages shared after fork count once ---
        w = start(256, 0, [('f', 256)], fork=True)
        time.sleep(0.2)
        rc1, d1, _ = estimate('--pid', str(w.pid))
        kids = subprocess.run(['pgrep', '-P', str(w.pid)], capture_output=True,
                              text=True).stdout.split()
        rc2, d2, _ = estimate('--pid', str(w.pid), '--pid', kids[0] if kids else '1')
        ok(rc1 == 0 and rc2 == 0 and d1 and d2 and len(kids) == 1 and
           d2['pages'] - d1['pages'] < 64 and d2['shared_mappings'] >= 512,
           'a page parent and child share after fork counts once',
           '%s %s' % (d1 and d1['pages'], d2 and (d2['pages'], d2['shared_mappings'])))
        for k in kids:
            try:
                os.kill(int(k), signal.SIGKILL)
            except OSError:
                pass

        # --- sampling ---
        rc, d, _ = estimate('--pid', str(w.pid), '--max-pages', '64')
        ok(rc == 0 and d and d['sampled'] and d['sample_rate'] < 1 and
           d['pages'] == d1['pages'] and
           d['domains']['host']['duplicate_pages'] % round(1 / d['sample_rate']) == 0,
           '--max-pages 64: sampled, said so; page counts stay exact',
           d and (d['sampled'], d['sample_rate'], d['pages'], d1['pages']))
        p = subprocess.run([LOADER, 'estimate', '--no-progress', '--pid', str(w.pid),
                            '--max-pages', '64'], capture_output=True, text=True)
        ok(p.returncode == 0 and 'sampled:' in p.stdout, 'text output says it sampled',
           p.stdout)
        w.stop()

        # --- time bound and a process that exits mid-scan ---
        big = start(60000, 0, [])		# 234 MiB of unique pages
        rc, d, _ = estimate('--pid', str(big.pid), '--timeout', '0.001')
        ok(rc == 0 and d and d['partial'] and '--timeout' in d['partial_reason'],
           '--timeout: stops, result marked partial', d)
        est = subprocess.Popen([LOADER, 'estimate', '--json', '--no-progress', '--pid',
                                str(big.pid)], stdout=subprocess.PIPE, text=True)
        deadline = time.time() + 30
        killed = False
        while time.time() < deadline and est.poll() is None:
            try:
                with open('/proc/%d/io' % est.pid) as f:
                    rchar = int(f.read().split('rchar:')[1].split()[0])
            except (OSError, IndexError, ValueError):
                rchar = 0
            if rchar > (16 << 20):
                big.p.kill()
                killed = True
                break
            time.sleep(0.0005)
        out, _ = est.communicate(timeout=60)
        try:
            d = json.loads(out)
        except ValueError:
            d = None
        ok(killed and est.returncode == 0 and d and d['partial'] and
           d['processes_vanished'] == 1 and 'exited' in d['partial_reason'] and
           (4096 <= d['pages'] < 60000),
           'a process killed mid-scan: partial result, "exited", what was read',
           '%s %s %s' % (killed, est.returncode, d and {k: d.get(k) for k in (
               'partial', 'partial_reason', 'pages', 'error')}))
        big.stop()

        # --- bad input ---
        rc, d, _ = estimate('--pid', '2147483647')
        ok(rc == 1 and d and 'no such process' in d.get('error', ''),
           'a pid with no process: exit 1, "no such process"', '%s %s' % (rc, d))
        rc, d, _ = estimate('--pid', 'abc')
        ok(rc == 2 and d and 'error' in d, 'a malformed pid: exit 2', '%s %s' % (rc, d))
        rc, d, _ = estimate('/no/such/cgroup')
        ok(rc == 1 and d and 'No such file' in d.get('error', ''),
           'a cgroup that does not exist: exit 1, names it', '%s %s' % (rc, d))
        rc, d, _ = estimate('--pid', str(os.getpid()), '--max-pages', '3')
        ok(rc == 2 and d and '--max-pages' in d.get('error', ''),
           'a bad --max-pages: exit 2', '%s %s' % (rc, d))
        p = subprocess.run(['setpriv', '--reuid=65534', '--regid=65534', '--clear-groups',
                            LOADER, 'estimate', '--pid', '1'],
                           capture_output=True, text=True)
        ok(p.returncode == 1 and 'needs root' in p.stderr, 'not root: exit 1, "needs root"',
           p.stderr)
    finally:
        for w in started:
            w.stop()
        if parent:
            for c in ('a', 'b', 'c', 'empty', ''):
                for _ in range(50):
                    try:
                        os.rmdir(os.path.join(parent, c) if c else parent)
                        break
                    except FileNotFoundError:
                        break
                    except OSError:
                        time.sleep(0.1)
        shutil.rmtree(tmp, ignore_errors=True)
    print('# %d passed, %d failed' % (n - fails, fails))
    return 1 if fails else 0


if __name__ == '__main__':
    sys.exit(main())
