#!/bin/sh
# make deb: the two Debian packages of zdedup, under build/deb/:
#
#   linux-image-<release>_<version>_amd64.deb   the patched kernel, built by
#       the kernel's own 'make bindeb-pkg' in build/kbuild-system
#       (vm.config + bench.config + system.config: the VM kernel without
#       debug options, with what systemd and an ext4 root on a virtio disk
#       need; every option checked by build-kernel.sh);
#       DEB_KVARIANT=default packages make check's kernel instead
#       (build/kbuild: the same with the debug options on), so that CI's
#       system test costs no third kernel build;
#   zdedup-tools_<VERSION>_amd64.deb            zdedup-loader, the policies,
#       the man page, zdedup.service, bash completion and
#       /etc/zdedup/zdedup.conf (a conffile), staged by scripts/install.sh
#       and built with dpkg-deb; checked with lintian.
#
# The loader and the policies come from build/ (make builds them); the
# version from the file VERSION.  DEB_KERNEL=0 builds only zdedup-tools;
# DEB_OUT puts it elsewhere (the host tests).
# Byproducts of bindeb-pkg (linux-libc-dev, .buildinfo, .changes) go to
# build/deb/extra/.
set -eu
umask 022

top=$(cd "$(dirname "$0")/.." && pwd)
. "$top/scripts/base.sh"
out=${DEB_OUT:-$B/deb}
version=$(cat "$top/VERSION")
arch=$(dpkg --print-architecture)
mkdir -p "$out"
now() { date +%s; }
took() { echo "==> $1: $(($(now) - $2)) s"; }

# Both packages' maintainer is whoever builds them (DEBFULLNAME/DEBEMAIL,
# else git's user): mkdebian reads the same variables.
DEBFULLNAME=${DEBFULLNAME:-$(git -C "$top" config user.name 2>/dev/null || echo "zdedup maintainers")}
DEBEMAIL=${DEBEMAIL:-$(git -C "$top" config user.email 2>/dev/null || echo "root@localhost")}
export DEBFULLNAME DEBEMAIL
maint="$DEBFULLNAME <$DEBEMAIL>"

# --- the kernel package ---
if [ "${DEB_KERNEL:-1}" = 1 ]; then
	t=$(now)
	kvariant=${DEB_KVARIANT:-system}
	case $kvariant in
	system) kbuild="$B/kbuild-system" ;;
	default) kbuild="$B/kbuild" ;;
	*) echo "error: DEB_KVARIANT is 'system' (the package's kernel) or 'default' (make check's)" >&2; exit 2 ;;
	esac
	# bindeb-pkg runs dpkg-buildpackage in $kbuild, which writes the
	# packages next to it, in build/.
	rm -f "$B"/linux-image-*.deb "$B"/linux-libc-dev_*.deb \
		"$B"/linux-upstream_*.buildinfo "$B"/linux-upstream_*.changes
	# No linux-image-*-dbg: the debug package copies the 300 MB vmlinux.
	KVARIANT=$kvariant KTARGETS=bindeb-pkg DPKG_FLAGS="-Ppkg.linux-upstream.nokerneldbg" \
		DEB_BUILD_OPTIONS=terse "$top/scripts/build-kernel.sh"
	krel=$(cat "$kbuild/include/config/kernel.release")
	set -- "$B"/linux-image-"$krel"_*.deb
	[ -f "$1" ] || { echo "error: bindeb-pkg left no linux-image-${krel}_*.deb in build/" >&2; exit 1; }
	rm -f "$out"/linux-image-*.deb
	rm -rf "$out/extra"
	mkdir -p "$out/extra"
	mv "$@" "$out/"
	mv "$B"/linux-libc-dev_*.deb "$B"/linux-upstream_*.buildinfo \
		"$B"/linux-upstream_*.changes "$out/extra/" 2>/dev/null || true
	for f in "$out"/linux-image-*.deb; do echo "==> ${f#"$top"/}"; done
	took "kernel package (build and bindeb-pkg)" "$t"
fi

# --- zdedup-tools ---
t=$(now)
pkg=zdedup-tools
stage="$out/$pkg"
rm -rf "$stage"
mkdir -p "$stage/DEBIAN"
DESTDIR="$stage" PREFIX=/usr UNITDIR=/lib/systemd/system SYSCONFDIR=/etc \
	DOCDIR="/usr/share/doc/$pkg" "$top/scripts/install.sh" >/dev/null
strip --strip-unneeded --remove-section=.comment --remove-section=.note \
	"$stage/usr/sbin/zdedup-loader"

# Debian policy: copyright, and the changelog of a native package as
# changelog.gz.
doc="$stage/usr/share/doc/$pkg"
install -d "$doc"
install -m 644 "$top/packaging/debian/copyright" "$doc/copyright"
epoch=$(git -C "$top" log -1 --format=%ct 2>/dev/null || now)
commit=$(git -C "$top" describe --always --dirty 2>/dev/null || echo unknown)
subject=$(git -C "$top" log -1 --format=%s 2>/dev/null || echo "")
{
	echo "zdedup ($version) bookworm; urgency=medium"
	echo
	echo "  * Built from the zdedup sources at commit $commit:"
	echo "$subject" | fold -s -w 68 | sed 's/^/    /; s/ *$//'
	echo
	echo " -- $maint  $(LC_ALL=C date -R -u -d "@$epoch")"
} | gzip -9n > "$doc/changelog.gz"
chmod 644 "$doc/changelog.gz"
install -d "$stage/usr/share/lintian/overrides"
install -m 644 "$top/packaging/debian/lintian-overrides" "$stage/usr/share/lintian/overrides/$pkg"

# Built-Using (Debian policy 7.8, as busybox-static has it): the sources
# linked into the static zdedup-loader.
sbu=$(dpkg-query -W -f='${source:Package} (= ${source:Version})\n' \
	libc6-dev libelf-dev zlib1g-dev libxxhash-dev linux-source-6.12 | sort -u | paste -sd, | sed 's/,/, /g')
size=$(du -sk --exclude=DEBIAN "$stage" | cut -f1)
cat > "$stage/DEBIAN/control" <<EOF
Package: $pkg
Source: zdedup
Version: $version
Architecture: $arch
Maintainer: $maint
Installed-Size: $size
Built-Using: $sbu
Suggests: bash-completion
Section: admin
Priority: optional
Description: zswap deduplication policies (BPF) and their loader
 zdedup makes zswap store pages with identical content once.  Which pages
 may share a stored copy is policy: without one, pages merge only within
 their own memory cgroup; a BPF struct_ops policy chooses, page by page,
 whether to deduplicate and with whom.
 .
 This package contains zdedup-loader, which loads the policies (memcg,
 tenant, adaptive or an object file of one's own), pins them under
 /sys/fs/bpf/zdedup and edits their per-cgroup settings; the policies'
 object files; and zdedup.service, which applies /etc/zdedup/zdedup.conf
 at boot.
 .
 It needs a kernel with the zdedup patch series (the linux-image package
 built by zdedup's "make deb").
EOF
echo /etc/zdedup/zdedup.conf > "$stage/DEBIAN/conffiles"
for s in postinst prerm postrm; do
	install -m 755 "$top/packaging/debian/$s" "$stage/DEBIAN/$s"
done
(cd "$stage" && find . -path ./DEBIAN -prune -o -path ./etc -prune -o -type f -print |
	sed 's|^\./||' | LC_ALL=C sort | xargs md5sum) > "$stage/DEBIAN/md5sums"
chmod 644 "$stage/DEBIAN/control" "$stage/DEBIAN/conffiles" "$stage/DEBIAN/md5sums"

deb="$out/${pkg}_${version}_$arch.deb"
rm -f "$out/${pkg}"_*.deb
SOURCE_DATE_EPOCH=$epoch dpkg-deb --root-owner-group -Zxz --build "$stage" "$deb" >/dev/null
echo "==> ${deb#"$top"/}"
dpkg-deb --contents "$deb" | awk '{ print "    " $1, $NF }'
took "zdedup-tools package" "$t"

# --- lintian (where it runs): errors fail make deb ---
if command -v lintian >/dev/null 2>&1; then
	t=$(now)
	echo "==> lintian $(basename "$deb")"
	set +e
	lintian --display-info --allow-root --fail-on error "$deb" > "$out/lintian.txt" 2>&1
	rc=$?
	set -e
	if [ -s "$out/lintian.txt" ]; then
		sed 's/^/    /' "$out/lintian.txt"
	else
		echo "    no tags"
	fi
	took lintian "$t"
	[ "$rc" = 0 ] || { echo "error: lintian reports errors (${out#"$top"/}/lintian.txt)" >&2; exit 1; }
else
	echo "==> lintian not installed (scripts/deps.sh installs it): not checked"
fi
