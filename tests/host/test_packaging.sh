#!/bin/sh
# Host tests of the packaging (no kernel build, no VM; a few seconds):
# make install's file set and paths, zdedup-tools' contents, control
# fields, conffile and maintainer scripts, lintian, systemd's view of the
# unit.  Needs build/loader/zdedup-loader and build/bpf/*.bpf.o (make).
# TAP output.
set -u

top=$(cd "$(dirname "$0")/../.." && pwd)
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
n=0
fails=0
version=$(cat "$top/VERSION")

# check DESCRIPTION COMMAND...: output shown on failure.
check() {
	desc=$1
	shift
	n=$((n + 1))
	if output=$("$@" 2>&1); then
		echo "ok $n packaging: $desc"
	else
		fails=$((fails + 1))
		echo "not ok $n packaging: $desc"
		printf "%s\n" "$output" | tail -n 15 | sed 's/^/# /'
	fi
}

echo "TAP version 13"
echo "1..12"

# --- make install ---
d="$tmp/inst"
check "make install (DESTDIR, PREFIX=/usr/local) installs the tools" \
	env DESTDIR="$d" PREFIX=/usr/local "$top/scripts/install.sh"
check "make install: every file in place" sh -c "cd '$d' && for f in \
	usr/local/sbin/zdedup-loader usr/local/lib/zdedup/memcg.bpf.o \
	usr/local/lib/zdedup/tenant.bpf.o usr/local/lib/zdedup/adaptive.bpf.o \
	usr/local/lib/zdedup/builtin.conf usr/local/share/man/man8/zdedup-loader.8.gz \
	usr/local/lib/systemd/system/zdedup.service \
	usr/local/share/bash-completion/completions/zdedup-loader etc/zdedup/zdedup.conf; do
	[ -f \"\$f\" ] || { echo \"missing \$f\"; exit 1; }; done"
check "make install: the unit runs the installed loader" sh -c \
	"grep -qx 'ExecStart=/usr/local/sbin/zdedup-loader apply /etc/zdedup/zdedup.conf' '$d/usr/local/lib/systemd/system/zdedup.service' &&
	 grep -qx 'ExecStop=/usr/local/sbin/zdedup-loader apply /usr/local/lib/zdedup/builtin.conf' '$d/usr/local/lib/systemd/system/zdedup.service' &&
	 ! grep -q @ '$d/usr/local/lib/systemd/system/zdedup.service'"
echo "# edited" >> "$d/etc/zdedup/zdedup.conf"
check "make install again keeps an edited /etc/zdedup/zdedup.conf" sh -c \
	"DESTDIR='$d' PREFIX=/usr/local '$top/scripts/install.sh' >/dev/null && tail -1 '$d/etc/zdedup/zdedup.conf' | grep -qx '# edited'"
check "systemd-analyze verify zdedup.service" sh -c \
	"mkdir -p '$tmp/unit' && sed 's|/usr/local/sbin/zdedup-loader|/bin/true|' \
	 '$d/usr/local/lib/systemd/system/zdedup.service' > '$tmp/unit/zdedup.service' &&
	 systemd-analyze verify --man=no '$tmp/unit/zdedup.service'"

# --- zdedup-tools ---
debdir="$tmp/deb"
check "zdedup-tools builds (dpkg-deb) and lintian reports no error" \
	env DEB_KERNEL=0 DEB_OUT="$debdir" "$top/scripts/build-deb.sh"
deb="$debdir/zdedup-tools_${version}_$(dpkg --print-architecture).deb"
check "zdedup-tools: version from VERSION ($version), section admin" sh -c \
	"[ \"\$(dpkg-deb -f '$deb' Version)\" = '$version' ] && [ \"\$(dpkg-deb -f '$deb' Section)\" = admin ]"
check "zdedup-tools: the files Debian policy and the issue ask for" sh -c \
	"dpkg-deb --contents '$deb' | awk '{ print \$NF }' > '$tmp/list' && for f in \
	./usr/sbin/zdedup-loader ./usr/lib/zdedup/memcg.bpf.o ./usr/lib/zdedup/tenant.bpf.o \
	./usr/lib/zdedup/adaptive.bpf.o ./usr/share/man/man8/zdedup-loader.8.gz \
	./lib/systemd/system/zdedup.service ./usr/share/bash-completion/completions/zdedup-loader \
	./etc/zdedup/zdedup.conf ./usr/share/doc/zdedup-tools/copyright \
	./usr/share/doc/zdedup-tools/changelog.gz; do
	grep -qx -- \"\$f\" '$tmp/list' || { echo \"missing \$f\"; exit 1; }; done &&
	! grep -q 'test_' '$tmp/list'"
check "zdedup-tools: /etc/zdedup/zdedup.conf is a conffile" sh -c \
	"dpkg-deb --ctrl-tarfile '$deb' | tar -xOf - ./conffiles | grep -qx /etc/zdedup/zdedup.conf"
check "zdedup-tools: the loader is stripped and static" sh -c \
	"dpkg-deb -x '$deb' '$tmp/x' && file '$tmp/x/usr/sbin/zdedup-loader' | grep 'statically linked' | grep -q ', stripped'"
check "zdedup-tools: the default configuration and the stop's are valid (apply --check)" sh -c \
	"for f in etc/zdedup/zdedup.conf usr/lib/zdedup/builtin.conf; do
	 '$tmp/x/usr/sbin/zdedup-loader' apply \"$tmp/x/\$f\" --check 2>&1 | grep 'is valid\\|policy builtin:' || exit 1; done"
check "maintainer scripts and bash completion parse" sh -c \
	"for s in postinst prerm postrm; do sh -n '$top/packaging/debian/'\$s || exit 1; done &&
	 bash -n '$top/packaging/zdedup-loader.bash'"

exit $((fails != 0))
