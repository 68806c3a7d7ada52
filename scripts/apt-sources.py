#!/usr/bin/env python3
"""Write the Debian 12 (bookworm) entries of this machine's apt sources as
one-line "deb" sources to FILE: the mirror that mmdebstrap builds the
system test's and make compare's root file systems from, the same one apt
uses here.  Reads /etc/apt/sources.list, sources.list.d/*.list and
deb822 *.sources; an empty FILE means none (mmdebstrap's default mirror).

Usage: apt-sources.py FILE
"""
import glob, os, re, sys
SUITE = re.compile(r'^bookworm(-updates|-security|-backports)?$')
out = []
def add(opts, uri, suite, comps):
    if SUITE.match(suite):
        o = ' [%s]' % ' '.join(opts) if opts else ''
        out.append('deb%s %s %s %s' % (o, uri, suite, ' '.join(comps)))
files = ['/etc/apt/sources.list'] + sorted(glob.glob('/etc/apt/sources.list.d/*.list'))
for f in files:
    if not os.path.exists(f):
        continue
    for line in open(f):
        line = line.split('#', 1)[0].strip()
        m = re.match(r'^deb\s+(\[[^\]]*\]\s+)?(\S+)\s+(\S+)\s+(.*)$', line)
        if m:
            opts = m.group(1).strip()[1:-1].split() if m.group(1) else []
            add(opts, m.group(2), m.group(3), m.group(4).split())
for f in sorted(glob.glob('/etc/apt/sources.list.d/*.sources')):
    for stanza in re.split(r'\n\s*\n', open(f).read()):
        fields, key = {}, None
        for line in stanza.splitlines():
            if line.startswith('#'):
                continue
            if line[:1] in (' ', '\t') and key:
                fields[key] += ' ' + line.strip()
            elif ':' in line:
                key, val = line.split(':', 1)
                key = key.strip().lower()
                fields[key] = val.strip()
        if 'deb' not in fields.get('types', '').split() or fields.get('enabled', 'yes') == 'no':
            continue
        opts = ['signed-by=' + fields['signed-by']] if fields.get('signed-by', '').startswith('/') else []
        for uri in fields.get('uris', '').split():
            for suite in fields.get('suites', '').split():
                add(opts, uri, suite, fields.get('components', 'main').split())
open(sys.argv[1], 'w').write(''.join(l + '\n' for l in out))
