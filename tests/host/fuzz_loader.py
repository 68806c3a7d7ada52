#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0
"""Fuzz zdedup-loader on the host, built with AddressSanitizer and
UndefinedBehaviorSanitizer (build/loader-asan/zdedup-loader, libbpf
included), with generated cases:

  args      every command with arguments drawn from its grammar and from a
            pool of hostile values (numbers at and beyond every bound, huge,
            empty and non-UTF-8 strings, format directives, unit names and
            pids valid and not, paths of every kind)
  objects   'load PATH' with policy objects: the real ones truncated at
            every length, with bytes flipped, with ELF and BTF header
            fields set to hostile values, spliced; and foreign files (host
            executables and libraries, text, empty files, directories)
  configs   'apply [--check] FILE' with configuration files: the grammar,
            mutated, with long lines, NUL bytes, binary noise, huge files
  btf       commands run with ZDEDUP_LOADER_BTF naming a mutated BTF file
            (the kernel's BTF as the loader reads it)
  json      cases of the other kinds with --json: the output must be one
            JSON document, {"error": ...} when the command failed

The host is no zdedup kernel, and the loader runs without privileges (a
user namespace, with a tmpfs on /run for its lock file; else as nobody):
it cannot talk to BPF, and every case that needs the kernel fails.  That
is the point: each case must end with a message and exit 0 (help, version,
a valid --check), 1 or 2; none may crash, hang or trip a sanitizer.

Usage: tests/host/fuzz_loader.py [--cases N] [--seed S] [--jobs J]
                                 [--case I] [--loader PATH]
Environment: FUZZ_CASES, FUZZ_SEED.  --case I replays case I of a seed
verbosely.  Prints TAP, one line per kind of case; failures are written
to build/fuzz/failures.txt with the command that replays each.
"""

import argparse
import concurrent.futures
import json
import os
import random
import shutil
import stat
import struct
import subprocess
import sys
import tempfile
import time

TOP = os.path.abspath(os.path.join(os.path.dirname(__file__), '..', '..'))
LOADER = os.path.join(TOP, 'build', 'loader-asan', 'zdedup-loader')
OUT_DIR = os.path.join(TOP, 'build', 'fuzz')
TIMEOUT = 30
SANITIZER_MARKS = ('AddressSanitizer', 'LeakSanitizer', 'runtime error:',
                   'UndefinedBehaviorSanitizer', 'SUMMARY: ')
KINDS = ('args', 'objects', 'configs', 'btf', 'json')
WEIGHTS = (30, 30, 25, 5, 10)

# ----------------------------------------------------------------------
# The pool of values
# ----------------------------------------------------------------------
NUMBERS = ['0', '1', '-1', '2', '7', '64', '100', '255', '256', '4096',
           '65535', '65536', '2147483647', '2147483648', '4294967295',
           '4294967296', '9223372036854775807', '18446744073709551615',
           '18446744073709551616', '99999999999999999999999', '0x10', '010',
           '1e3', '1.5', '0.1', '0.0001', '100.0', '100.01', 'nan', 'inf',
           '-0', '+5', ' 5', '5 ', '', '3.125', '1073741824', '1073741825']
WORDS = ['load', 'unload', 'apply', 'status', 'set', 'unset', 'get', 'list',
         'prune', 'estimate', 'memcg', 'tenant', 'adaptive', 'builtin', 'none', 'off',
         'private', 'group', 'policy', 'cgroup', 'unit', 'help', 'version']
OPTIONS = ['--replace', '--window', '--min-hit-rate', '--backoff', '--json',
           '-j', '-v', '--verbose', '-h', '--help', '-V', '--version',
           '--unit', '--pid', '--id', '--watch', '-w', '--count',
           '--prometheus', '--check', '--dry-run', '-n', '--', '-',
           '--window=', '--unit=', '--pid=', '--min-hit-rate=', '--bogus',
           '---', '-jv', '--JSON']
UNITS = ['foo.service', 'tenant-a.slice', 'tenant.slice', '-.slice',
         'system.slice', 'a-b-c-d.slice', 'getty@tty1.service',
         'foo@.service', '@foo.service', 'a@b@c.service', 'x--y.slice',
         '-x.slice', 'x-.slice', 'cpu.slice', 'memory.service',
         '_x.service', '.service', 'foo', 'foo.timer', 'foo.SERVICE',
         'a b.service', 'a/b.service', '..service', 'a' * 300 + '.service',
         'x' * 250 + '.slice', 'f\\x2do.service', 'init.scope',
         'user@1000.service', 'dev-sda.swap', 'foo.socket', 'foo.mount']
PATHS = ['/', '.', '..', '/sys/fs/cgroup', '/sys/fs/cgroup/', 'system.slice',
         '/system.slice', 'nosuch', '/nosuch/at/all', '/proc', '/proc/self',
         '/tmp', '/dev/null', '/etc/passwd', '../../../../etc',
         '/sys/fs/cgroup/cgroup.procs', '//', '/sys/fs/cgroup/../cgroup',
         'a' * 5000, '/' + 'a/' * 2000, '']
STRINGS = ['%s%s%s%n', '%x%x%x', '\\', '"', "'", '{}', '{"error":1}',
           '\t', ' ', 'é', '日本', '\U0001f600', 'A' * 100000, '-' * 50,
           '\x01\x02', '\x7f']
RAW_BYTES = [b'\xff\xfe', b'\x80', b'a\xc3', b'\xed\xa0\x80', b'\xf4\x90\x80\x80',
             b'\xc0\xaf']


def pick(rng, seq):
    return seq[rng.randrange(len(seq))]


def value(rng, files):
    """One hostile value, a str or bytes."""
    r = rng.random()
    if r < 0.2:
        return pick(rng, NUMBERS)
    if r < 0.3:
        return pick(rng, WORDS)
    if r < 0.45:
        return pick(rng, OPTIONS)
    if r < 0.55:
        return pick(rng, UNITS)
    if r < 0.7:
        return pick(rng, PATHS)
    if r < 0.78:
        return pick(rng, STRINGS)
    if r < 0.82:
        return pick(rng, RAW_BYTES) + pick(rng, WORDS).encode()
    if r < 0.9 and files:
        return pick(rng, files)
    if r < 0.95:
        return str(os.getpid()) if rng.random() < 0.5 else str(rng.randrange(1 << 22))
    return ''.join(chr(rng.randrange(32, 127)) for _ in range(rng.randrange(1, 12)))


def text_value(rng, files):
    """value() as text (bytes that are not UTF-8 kept as surrogates)."""
    v = value(rng, files)
    return v.decode(errors='surrogateescape') if isinstance(v, bytes) else v


# Each command's grammar: a few likely shapes, then noise.
def command_args(rng, files):
    cmd = pick(rng, ['load', 'unload', 'apply', 'status', 'set', 'unset',
                     'get', 'list', 'prune', 'estimate', pick(rng, WORDS),
                     value(rng, files)])
    shapes = {
        'load': lambda: [pick(rng, ['memcg', 'tenant', 'adaptive', value(rng, files)])]
        + sum(([pick(rng, ['--window', '--min-hit-rate', '--backoff', '--replace']),
                pick(rng, NUMBERS)] for _ in range(rng.randrange(3))), []),
        'set': lambda: [pick(rng, ['--unit', '--pid', value(rng, files)]),
                        value(rng, files), pick(rng, ['off', 'private', 'group']),
                        pick(rng, NUMBERS)],
        'unset': lambda: [pick(rng, ['--id', '--unit', '--pid', value(rng, files)]),
                          value(rng, files)],
        'get': lambda: [pick(rng, ['--unit', '--pid', value(rng, files)]),
                        value(rng, files)],
        'status': lambda: [pick(rng, ['--watch', '--count', '--prometheus']),
                           pick(rng, NUMBERS), pick(rng, ['--count', '--json']),
                           pick(rng, NUMBERS)],
        'apply': lambda: [pick(rng, ['--check', value(rng, files)]), value(rng, files)],
        'prune': lambda: [pick(rng, ['--dry-run', '-n', value(rng, files)])],
        'estimate': lambda: [pick(rng, ['--group', '--max-pages', '--timeout', '--unit',
                                        '--pid', '--include-swapped', '--no-progress',
                                        value(rng, files)]),
                             pick(rng, NUMBERS + ['/', 'a,b', ',', '/,/', value(rng, files)]),
                             pick(rng, ['--group', '--max-pages', '--timeout']),
                             pick(rng, NUMBERS)],
    }
    args = [cmd]
    if cmd in shapes and rng.random() < 0.7:
        args += shapes[cmd]()[:rng.randrange(0, 5)]
    for _ in range(rng.randrange(0, 4)):
        args.insert(rng.randrange(len(args) + 1), value(rng, files))
    if cmd == 'status' and '--watch' in args:
        args += ['--count', '1']	# a watch that did start ends
    if rng.random() < 0.15:
        args.insert(0, pick(rng, ['-v', '-j', '--json', '-h', '-V', '--bogus', '--']))
    return args


# ----------------------------------------------------------------------
# Objects
# ----------------------------------------------------------------------
def elf_sections(data):
    """[(name, offset of its header, sh_offset, sh_size)] of an ELF64 LE file."""
    try:
        shoff, = struct.unpack_from('<Q', data, 0x28)
        shentsize, shnum, shstrndx = struct.unpack_from('<HHH', data, 0x3a)
        if shentsize != 64 or shoff + shnum * 64 > len(data):
            return []
        hdrs = [struct.unpack_from('<IIQQQQIIQQ', data, shoff + i * 64) for i in range(shnum)]
        stroff = hdrs[shstrndx][4]
        out = []
        for i, h in enumerate(hdrs):
            end = data.find(b'\0', stroff + h[0])
            name = data[stroff + h[0]:end].decode(errors='replace')
            out.append((name, shoff + i * 64, h[4], h[5]))
        return out
    except (struct.error, IndexError):
        return []


HOSTILE64 = [0, 1, 7, 8, 63, 64, 0x7fffffff, 0x80000000, 0xffffffff, 1 << 32,
             (1 << 63) - 1, 1 << 63, (1 << 64) - 1, (1 << 64) - 64]
HOSTILE32 = [0, 1, 2, 3, 24, 0xff, 0xffff, 0x7fffffff, 0x80000000, 0xffffffff,
             0xfffffff0]
HOSTILE16 = [0, 1, 2, 0x7fff, 0xfffe, 0xffff]


def mutate_object(rng, seeds):
    data = bytearray(pick(rng, seeds))
    secs = elf_sections(bytes(data))
    how = rng.randrange(10)
    if how == 0:                    # truncated anywhere
        return bytes(data[:rng.randrange(len(data) + 1)]), 'truncated'
    if how == 1 and secs:           # truncated at a section boundary
        s = pick(rng, secs)
        cut = min(len(data), s[2] + rng.choice([0, 1, s[3] // 2, max(s[3] - 1, 0)]))
        return bytes(data[:cut]), 'cut in ' + s[0]
    if how == 2:                    # bytes flipped
        for _ in range(rng.randrange(1, 32)):
            i = rng.randrange(len(data))
            data[i] ^= 1 << rng.randrange(8)
        return bytes(data), 'bits flipped'
    if how == 3:                    # ELF header fields
        off, fmt, vals = pick(rng, [(0x28, '<Q', HOSTILE64), (0x20, '<Q', HOSTILE64),
                                    (0x3a, '<H', HOSTILE16), (0x3c, '<H', HOSTILE16),
                                    (0x3e, '<H', HOSTILE16), (0x10, '<H', HOSTILE16),
                                    (0x12, '<H', HOSTILE16), (0x04, '<B', [0, 1, 2, 3]),
                                    (0x05, '<B', [0, 1, 2, 3])])
        struct.pack_into(fmt, data, off, pick(rng, vals))
        return bytes(data), 'ELF header'
    if how in (4, 5) and secs:      # a section header field
        s = pick(rng, secs)
        field, fmt, vals = pick(rng, [(0x18, '<Q', HOSTILE64), (0x20, '<Q', HOSTILE64),
                                      (0x28, '<I', HOSTILE32), (0x2c, '<I', HOSTILE32),
                                      (0x38, '<Q', HOSTILE64), (0x30, '<Q', HOSTILE64),
                                      (0x04, '<I', HOSTILE32), (0x00, '<I', HOSTILE32)])
        struct.pack_into(fmt, data, s[1] + field, pick(rng, vals))
        return bytes(data), 'section header of ' + s[0]
    btf = [s for s in secs if s[0] in ('.BTF', '.BTF.ext') and s[2] + 24 <= len(data)]
    if how in (6, 7) and btf:       # BTF header and type data
        s = pick(rng, btf)
        if rng.random() < 0.5:
            off = s[2] + pick(rng, [4, 8, 12, 16, 20])
            struct.pack_into('<I', data, off, pick(rng, HOSTILE32))
        else:
            for _ in range(rng.randrange(1, 16)):
                i = s[2] + rng.randrange(max(s[3], 1))
                if i < len(data):
                    data[i] = rng.randrange(256)
        return bytes(data), 'BTF of ' + s[0]
    if how == 8 and secs:           # one section's bytes replaced by noise
        s = pick(rng, secs)
        for i in range(s[2], min(s[2] + s[3], len(data))):
            if rng.random() < 0.3:
                data[i] = rng.randrange(256)
        return bytes(data), 'noise in ' + s[0]
    other = pick(rng, seeds)        # spliced
    cut = rng.randrange(len(data) + 1)
    return bytes(data[:cut]) + other[rng.randrange(len(other) + 1):], 'spliced'


def foreign_files(work):
    """Paths that are no policy object at all."""
    out = []
    for p in ('/bin/true', '/bin/sh', '/usr/lib/x86_64-linux-gnu/libz.so.1',
              '/etc/passwd', '/etc/hostname', '/dev/null', '/proc/self/status',
              '/sys/kernel/btf/vmlinux', '/', '/tmp'):
        if os.path.exists(p):
            out.append(p)
    for name, content in (('empty.bpf.o', b''), ('text.bpf.o', b'policy tenant\n'),
                          ('elfmagic.bpf.o', b'\x7fELF'),
                          ('elf32.bpf.o', b'\x7fELF\x01\x01\x01' + b'\0' * 60),
                          ('zeros.bpf.o', b'\0' * 4096)):
        path = os.path.join(work, name)
        with open(path, 'wb') as f:
            f.write(content)
        out.append(path)
    os.mkdir(os.path.join(work, 'dir.bpf.o'))
    out.append(os.path.join(work, 'dir.bpf.o'))
    os.symlink('loop.bpf.o', os.path.join(work, 'loop.bpf.o'))
    out.append(os.path.join(work, 'loop.bpf.o'))
    os.mkfifo(os.path.join(work, 'fifo.bpf.o'))
    out.append(os.path.join(work, 'fifo.bpf.o'))
    return out


# ----------------------------------------------------------------------
# Configuration files
# ----------------------------------------------------------------------
CONF_LINES = ['policy tenant', 'policy memcg', 'policy adaptive --window 64',
              'policy adaptive --min-hit-rate 5 --backoff 1024', 'policy builtin',
              'policy none', 'policy ./x.bpf.o', 'policy /nonexistent.bpf.o',
              'cgroup / group 7', 'cgroup / off', 'cgroup system.slice private',
              'cgroup /nosuch group 3', 'unit tenant-a.slice group 1',
              'unit tenant-b.slice off', 'unit batch.service private',
              'unit -.slice group 65535', '# comment', '', '   ', '\t# x',
              'cgroup /tmp off', 'unit foo.timer off', 'cgroup', 'unit',
              'policy', 'cgroup / group', 'cgroup / group 0', 'frobnicate']


VALID_POLICIES = ['policy tenant', 'policy builtin', 'policy memcg',
                  'policy adaptive --window 64', 'policy tenant # the default']
VALID_SETTINGS = ['cgroup / group 7', 'unit tenant-a.slice off', 'cgroup /nosuch private',
                  'unit foo.service group 3', 'unit -.slice private', '# comment', '']


def make_config(rng, files):
    how = rng.randrange(9)
    if how == 8:                    # valid (settings only where they fit)
        policy = pick(rng, VALID_POLICIES)
        body = [pick(rng, VALID_SETTINGS) for _ in range(rng.randrange(4))]
        if 'tenant' not in policy:
            body = [l for l in body if not l.startswith(('cgroup', 'unit'))]
        seen, uniq = set(), []
        for l in body:
            if l not in seen or not l.strip() or l.startswith('#'):
                uniq.append(l)
            seen.add(l)
        return ('\n'.join([policy] + uniq) + '\n').encode()
    lines = [pick(rng, CONF_LINES) for _ in range(rng.randrange(0, 12))]
    if how == 0:
        text = '\n'.join(lines).encode()
    elif how == 1:                  # token soup
        text = '\n'.join(' '.join(text_value(rng, files) for _ in range(rng.randrange(1, 8)))
                         for _ in range(rng.randrange(1, 10))).encode(errors='surrogateescape')
    elif how == 2:                  # long lines, many words
        text = ('policy tenant\ncgroup ' + 'a' * rng.choice([4095, 4096, 4097, 70000]) +
                ' off\n' + ' '.join(['x'] * rng.choice([31, 32, 33, 500]))).encode()
    elif how == 3:                  # NUL bytes, CRLF, binary noise
        text = '\r\n'.join(lines).encode()
        for _ in range(rng.randrange(1, 8)):
            i = rng.randrange(len(text) + 1)
            text = text[:i] + bytes([rng.choice([0, 0xff, 0x80, 13, 10, 35, 9])]) + text[i:]
    elif how == 4:                  # huge
        text = b'# x\n' * rng.choice([100000, 300000])
    elif how == 5:                  # random bytes
        text = bytes(rng.randrange(256) for _ in range(rng.randrange(0, 2000)))
    elif how == 6:                  # many settings
        text = ('policy tenant\n' + ''.join('unit t%d.slice group %d\n' % (i, i % 70000)
                                            for i in range(rng.randrange(1, 3000)))).encode()
    else:                           # valid shapes, mutated words
        words = '\n'.join(lines).split(' ')
        for _ in range(rng.randrange(1, 4)):
            words.insert(rng.randrange(len(words) + 1), text_value(rng, files))
        text = ' '.join(words).encode(errors='surrogateescape')
    return text


# ----------------------------------------------------------------------
# BTF files
# ----------------------------------------------------------------------
def btf_blobs(seeds):
    out = []
    for data in seeds:
        for name, _, off, size in elf_sections(data):
            if name == '.BTF' and off + size <= len(data):
                out.append(data[off:off + size])
    tiny = struct.pack('<HBBIIIII', 0xeB9F, 1, 0, 24, 0, 16, 16, 5) + \
        struct.pack('<IIII', 1, 1 << 24, 4, 32) + b'\0int\0'
    out.append(tiny)
    return out


def mutate_btf(rng, blobs):
    data = bytearray(pick(rng, blobs))
    how = rng.randrange(4)
    if how == 0 and len(data) >= 24:
        struct.pack_into('<I', data, pick(rng, [4, 8, 12, 16, 20]), pick(rng, HOSTILE32))
    elif how == 1:
        data = data[:rng.randrange(len(data) + 1)]
    elif how == 2:
        for _ in range(rng.randrange(1, 32)):
            if data:
                data[rng.randrange(len(data))] = rng.randrange(256)
    return bytes(data)


# ----------------------------------------------------------------------
# One case
# ----------------------------------------------------------------------
class Case:
    def __init__(self, index, kind, argv, env, note):
        self.index, self.kind, self.argv, self.env, self.note = index, kind, argv, env, note


def make_case(index, seed, ctx):
    rng = random.Random(seed * 1000003 + index)
    kind = rng.choices(KINDS, WEIGHTS)[0]
    work = ctx['work']
    env = {'ZDEDUP_LOADER_BTF': ctx['tiny_btf']} if rng.random() < 0.85 else {}
    note = ''
    if kind == 'args' or (kind == 'json' and rng.random() < 0.4):
        argv = command_args(rng, ctx['files'])
    elif kind == 'objects' or (kind == 'json' and rng.random() < 0.5):
        if rng.random() < 0.15 or not ctx['seeds']:
            path = pick(rng, ctx['foreign'])
            note = 'foreign ' + path
        else:
            data, note = mutate_object(rng, ctx['seeds'])
            path = os.path.join(work, 'case%d.bpf.o' % index)
            with open(path, 'wb') as f:
                f.write(data)
        argv = ['load', path]
        if rng.random() < 0.4:
            argv += pick(rng, [['--replace'], ['--window', '64'], ['--min-hit-rate', '5'],
                               ['--backoff', pick(rng, NUMBERS)]])
    elif kind == 'configs' or kind == 'json':
        path = os.path.join(work, 'case%d.conf' % index)
        with open(path, 'wb') as f:
            f.write(make_config(rng, ctx['files']))
        argv = ['apply', path] + (['--check'] if rng.random() < 0.6 else [])
    else:
        path = os.path.join(work, 'case%d.btf' % index)
        with open(path, 'wb') as f:
            f.write(mutate_btf(rng, ctx['btf']))
        env = {'ZDEDUP_LOADER_BTF': path}
        argv = pick(rng, [['status'], ['list'], ['get', '/'], ['load', 'tenant'],
                          ['status', '--prometheus'], ['apply', '--check', ctx['good_conf']]])
    if kind == 'json':
        argv.insert(rng.randrange(len(argv) + 1), pick(rng, ['--json', '-j']))
    return Case(index, kind, argv, env, note)


def to_bytes(a):
    return a if isinstance(a, bytes) else a.encode(errors='surrogateescape')


def run_case(case, loader):
    """Run @case; None if it behaved, else why not."""
    env = dict(os.environ)
    env.update(case.env)
    env['ASAN_OPTIONS'] = 'detect_leaks=1:abort_on_error=0:exitcode=86:' \
                          'allocator_may_return_null=1'
    env['UBSAN_OPTIONS'] = 'print_stacktrace=1:halt_on_error=1:exitcode=87'
    argv = [loader] + [to_bytes(a) for a in case.argv]
    try:
        p = subprocess.run(argv, env=env, stdin=subprocess.DEVNULL,
                           stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                           timeout=TIMEOUT)
    except subprocess.TimeoutExpired:
        return 'hung (no exit within %d s)' % TIMEOUT, None
    err = p.stderr.decode(errors='replace')
    out = p.stdout.decode(errors='replace')
    if p.returncode < 0:
        return 'killed by signal %d' % -p.returncode, p
    for mark in SANITIZER_MARKS:
        if mark in err:
            return 'sanitizer: ' + next(l for l in err.splitlines() if mark in l), p
    if p.returncode not in (0, 1, 2):
        return 'exit status %d' % p.returncode, p
    if not out.strip() and not err.strip():
        return 'no message at all', p
    json_mode = False
    for a in case.argv:             # as main() strips them: up to a "--"
        if to_bytes(a) == b'--':
            break
        json_mode |= to_bytes(a) in (b'--json', b'-j')
    if p.returncode:
        if json_mode and not any(to_bytes(a) in (b'-h', b'--help') for a in case.argv):
            try:
                doc = json.loads(out)
            except ValueError:
                return 'exit %d with --json, but stdout is not JSON: %r' % (p.returncode, out[:200]), p
            if not (isinstance(doc, dict) and 'error' in doc):
                return 'exit %d with --json, but no "error" in %r' % (p.returncode, out[:200]), p
        elif not json_mode and 'error:' not in err:
            return 'exit %d without an error message' % p.returncode, p
    return None, p


# ----------------------------------------------------------------------
# Privileges: never run the cases as real root
# ----------------------------------------------------------------------
def drop_privileges(argv):
    """As root: re-exec in a user namespace (a tmpfs on /run), or as nobody.
    The cases never run with the power to load a policy."""
    if os.geteuid() != 0:
        return
    env = dict(os.environ, ZDEDUP_FUZZ_UNPRIVILEGED='1')
    argv = [os.path.abspath(__file__)] + argv
    script = 'mount -t tmpfs tmpfs /run && exec "$@"'
    if shutil.which('unshare') and subprocess.run(
            ['unshare', '-r', '-m', 'sh', '-c', 'mount -t tmpfs tmpfs /run'],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL).returncode == 0:
        os.execvpe('unshare', ['unshare', '-r', '-m', 'sh', '-c', script, 'sh',
                               sys.executable] + argv, env)
    if shutil.which('setpriv'):
        # nobody may not reach root's own Python (pyenv): the system's then
        python = '/usr/bin/python3' if os.path.exists('/usr/bin/python3') else sys.executable
        os.execvpe('setpriv', ['setpriv', '--reuid=65534', '--regid=65534',
                               '--clear-groups', '--inh-caps=-all', python]
                   + argv, env)
    print('Bail out! cannot drop root privileges (no unshare -r, no setpriv): '
          'the fuzz cases would run as root')
    sys.exit(1)


def build_loader():
    r = subprocess.run(['make', '--no-print-directory', '-C', TOP,
                        'build/loader-asan/zdedup-loader'],
                       stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    if r.returncode:
        print('Bail out! cannot build %s:' % LOADER)
        print('\n'.join('# ' + l for l in r.stdout.decode(errors='replace').splitlines()[-20:]))
        return False
    return True


def main():
    ap = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    ap.add_argument('--cases', type=int, default=int(os.environ.get('FUZZ_CASES', 10000)))
    ap.add_argument('--seed', type=int, default=int(os.environ.get('FUZZ_SEED', 1)))
    ap.add_argument('--jobs', type=int, default=os.cpu_count() or 2)
    ap.add_argument('--case', type=int, default=None)
    ap.add_argument('--loader', default=None)
    args = ap.parse_args()

    global LOADER
    if args.loader:
        LOADER = os.path.abspath(args.loader)
    else:
        if not build_loader():
            return 1
        os.makedirs(OUT_DIR, exist_ok=True)
        drop_privileges(sys.argv[1:] + ['--loader', LOADER])

    work = tempfile.mkdtemp(prefix='zdedup-fuzz-')
    try:
        return fuzz(args, work)
    finally:
        shutil.rmtree(work, ignore_errors=True)


def fuzz(args, work):
    seeds = []
    bpf_dir = os.path.join(TOP, 'build', 'bpf')
    for name in sorted(os.listdir(bpf_dir)) if os.path.isdir(bpf_dir) else []:
        if name.endswith('.bpf.o'):
            with open(os.path.join(bpf_dir, name), 'rb') as f:
                seeds.append(f.read())
    good_conf = os.path.join(work, 'good.conf')
    with open(good_conf, 'w') as f:
        f.write('policy tenant\nunit tenant-a.slice group 7\ncgroup / off\n')
    tiny_btf = os.path.join(work, 'tiny.btf')
    with open(tiny_btf, 'wb') as f:
        f.write(btf_blobs([])[0])
    files = [good_conf, tiny_btf] + [os.path.join(bpf_dir, n) for n in
                                     sorted(os.listdir(bpf_dir))[:4]] if seeds else [good_conf]
    ctx = {'work': work, 'seeds': seeds, 'foreign': foreign_files(work),
           'btf': btf_blobs(seeds), 'files': files, 'good_conf': good_conf,
           'tiny_btf': tiny_btf}

    if args.case is not None:
        case = make_case(args.case, args.seed, ctx)
        print('# case %d (%s%s): %s %r' % (case.index, case.kind,
                                           ', ' + case.note if case.note else '',
                                           ' '.join('%s=%s' % kv for kv in case.env.items()),
                                           case.argv))
        why, p = run_case(case, LOADER)
        if p:
            print('# exit %d\n# stdout: %s\n# stderr: %s' % (
                p.returncode, p.stdout.decode(errors='replace')[:4000],
                p.stderr.decode(errors='replace')[:4000]))
        print('ok 1 - case %d' % case.index if not why else 'not ok 1 - case %d: %s' % (case.index, why))
        print('1..1')
        return 1 if why else 0

    # The example configuration is valid.
    example = os.path.join(TOP, 'etc', 'zdedup.conf.example')
    ex = subprocess.run([LOADER, 'apply', '--check', example], stdin=subprocess.DEVNULL,
                        stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    ex_out = ex.stdout.decode(errors='replace')

    print('TAP version 13')
    print('# zdedup-loader fuzz: %d cases, seed %d, %d jobs, %s' % (
        args.cases, args.seed, args.jobs, os.path.relpath(LOADER, TOP)))
    print('# runs as uid %d%s; %d seed objects' % (
        os.getuid(), ' in a user namespace' if os.environ.get('ZDEDUP_FUZZ_UNPRIVILEGED')
        and os.getuid() == 0 else '', len(seeds)))
    sys.stdout.flush()
    t0 = time.time()
    stats = {k: {'cases': 0, 'fail': [], 'rc': {}} for k in KINDS}
    with concurrent.futures.ThreadPoolExecutor(max_workers=args.jobs) as pool:
        futures = {}
        for i in range(args.cases):
            case = make_case(i, args.seed, ctx)
            futures[pool.submit(run_case, case, LOADER)] = case
            if len(futures) >= 4 * args.jobs:
                done, _ = concurrent.futures.wait(futures, return_when='FIRST_COMPLETED')
                for fut in done:
                    collect(stats, futures.pop(fut), fut.result())
        for fut in concurrent.futures.as_completed(futures):
            collect(stats, futures[fut], fut.result())
    elapsed = time.time() - t0

    failures = []
    n = 1
    if ex.returncode == 0 and 'is valid' in ex_out:
        print('ok 1 - etc/zdedup.conf.example is valid (apply --check)')
    else:
        print('not ok 1 - etc/zdedup.conf.example: apply --check exits %d' % ex.returncode)
        print('\n'.join('#   ' + l for l in ex_out.splitlines()[:10]))
        failures.append((Case(-1, 'example', ['apply', '--check', example], {}, ''),
                         'exit %d' % ex.returncode))
    for kind in KINDS:
        s = stats[kind]
        n += 1
        rcs = ', '.join('exit %d: %d' % kv for kv in sorted(s['rc'].items()))
        if s['fail']:
            print('not ok %d - %s: %d of %d cases misbehaved (%s)' % (
                n, kind, len(s['fail']), s['cases'], rcs))
            for case, why in s['fail'][:5]:
                print('#   case %d: %s' % (case.index, why))
            failures += s['fail']
        else:
            print('ok %d - %s: %d cases, each ended with a message (%s)' % (
                n, kind, s['cases'], rcs))
    write_failures(failures, args.seed)
    print('1..%d' % n)
    print('# %d cases in %.0f s (%.1f ms each on %d jobs); %d misbehaved%s' % (
        args.cases, elapsed, 1000 * elapsed / max(args.cases, 1), args.jobs,
        len(failures), '; see build/fuzz/failures.txt' if failures else ''))
    return 1 if failures else 0


def write_failures(failures, seed):
    """build/fuzz/failures.txt: each failure and how to replay it."""
    path = os.path.join(OUT_DIR, 'failures.txt')
    try:
        if not failures:
            if os.path.exists(path):
                os.unlink(path)
            return
        with open(path, 'w') as f:
            for case, why in failures:
                f.write('case %d (%s): %s\n  replay: tests/host/fuzz_loader.py --seed %d '
                        '--case %d\n' % (case.index, case.kind, why, seed, case.index))
    except OSError as e:            # as nobody, build/ may not be ours
        print('# cannot write %s: %s' % (path, e))


def collect(stats, case, result):
    why, p = result
    s = stats[case.kind]
    s['cases'] += 1
    if p is not None:
        s['rc'][p.returncode] = s['rc'].get(p.returncode, 0) + 1
    if why:
        s['fail'].append((case, why))


if __name__ == '__main__':
    sys.exit(main())
