#!/bin/sh
# make install: install zdedup-loader, the policies, the man page, the
# systemd unit, the bash completion and the configuration file from build/
# (built by make), without a package.  make deb stages zdedup-tools with
# the same script.
#
# Environment (as make's variables): DESTDIR (staging root, default
# none), PREFIX (default /usr/local), SBINDIR ($PREFIX/sbin), LIBDIR
# ($PREFIX/lib/zdedup), MANDIR ($PREFIX/share/man), UNITDIR
# ($PREFIX/lib/systemd/system), BASHCOMPDIR
# ($PREFIX/share/bash-completion/completions), DOCDIR
# ($PREFIX/share/doc/zdedup), SYSCONFDIR (/etc).  An existing
# $SYSCONFDIR/zdedup/zdedup.conf is left as it is.
set -eu

top=$(cd "$(dirname "$0")/.." && pwd)
. "$top/scripts/base.sh"
DESTDIR=${DESTDIR:-}
PREFIX=${PREFIX:-/usr/local}
SBINDIR=${SBINDIR:-$PREFIX/sbin}
LIBDIR=${LIBDIR:-$PREFIX/lib/zdedup}
MANDIR=${MANDIR:-$PREFIX/share/man}
UNITDIR=${UNITDIR:-$PREFIX/lib/systemd/system}
BASHCOMPDIR=${BASHCOMPDIR:-$PREFIX/share/bash-completion/completions}
DOCDIR=${DOCDIR:-$PREFIX/share/doc/zdedup}
SYSCONFDIR=${SYSCONFDIR:-/etc}

loader="$B/loader/zdedup-loader"
policies="memcg tenant adaptive"
for f in "$loader" $(for p in $policies; do echo "$B/bpf/$p.bpf.o"; done); do
	[ -f "$f" ] || { echo "error: ${f#"$top"/} missing: run 'make' first" >&2; exit 1; }
done

d=$DESTDIR
install -d "$d$SBINDIR" "$d$LIBDIR" "$d$MANDIR/man8" "$d$UNITDIR" \
	"$d$BASHCOMPDIR" "$d$SYSCONFDIR/zdedup"
install -m 755 "$loader" "$d$SBINDIR/zdedup-loader"
for p in $policies; do
	install -m 644 "$B/bpf/$p.bpf.o" "$d$LIBDIR/$p.bpf.o"
done
install -m 644 "$top/packaging/builtin.conf" "$d$LIBDIR/builtin.conf"
gzip -9n < "$top/loader/zdedup-loader.8" > "$d$MANDIR/man8/zdedup-loader.8.gz"
chmod 644 "$d$MANDIR/man8/zdedup-loader.8.gz"
sed -e "s|@SBINDIR@|$SBINDIR|g" -e "s|@SYSCONFDIR@|$SYSCONFDIR|g" \
	-e "s|@LIBDIR@|$LIBDIR|g" "$top/packaging/zdedup.service.in" > "$d$UNITDIR/zdedup.service"
chmod 644 "$d$UNITDIR/zdedup.service"
install -m 644 "$top/packaging/zdedup-loader.bash" "$d$BASHCOMPDIR/zdedup-loader"
if [ -f "$top/etc/zdedup.conf.example" ]; then
	install -d "$d$DOCDIR/examples"
	install -m 644 "$top/etc/zdedup.conf.example" "$d$DOCDIR/examples/zdedup.conf.example"
fi
conf="$d$SYSCONFDIR/zdedup/zdedup.conf"
if [ -e "$conf" ]; then
	echo "==> kept $conf (yours); the default is packaging/zdedup.conf"
else
	install -m 644 "$top/packaging/zdedup.conf" "$conf"
fi

echo "==> installed zdedup-loader $(cat "$top/VERSION") under ${DESTDIR:-/}: $SBINDIR/zdedup-loader," \
	"$LIBDIR, $UNITDIR/zdedup.service, $SYSCONFDIR/zdedup/zdedup.conf"
if [ -z "$DESTDIR" ]; then
	echo "    start it at boot with: systemctl daemon-reload && systemctl enable --now zdedup"
fi
