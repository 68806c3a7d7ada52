#!/bin/sh
# Bring the kernel tree to "pristine linux-source + the base's series":
# build/linux with kernel-patches/6.12/*.patch, or with KERNEL=7.3
# build/7.3/linux with kernel-patches/7.3/*.patch (scripts/base.sh).
#
#   kernel-tree.sh sync     extract the tree on first use; re-apply the series
#                           when the series changed (refuses to discard
#                           edits or commits that were not exported)
#   kernel-tree.sh export   write the tree's commits back to the series directory
#
# The pristine tree is tagged zdedup-base.  A stamp in .git records which
# series (by content hash) the tree holds and at which commit, so an
# unchanged series costs nothing and only files the series touches get new
# mtimes (ccache absorbs the rest).
set -eu

top=$(cd "$(dirname "$0")/.." && pwd)
. "$top/scripts/base.sh"
tree="$B/linux"
stamp="$tree/.git/zdedup-series"
base=zdedup-base

g() { git -C "$tree" -c user.name=zdedup -c user.email=zdedup@localhost "$@"; }

series_hash() {
	# Hash the series content, not mtimes: a fresh clone must match.
	(cd "$series" && ls -1 ./*.patch 2>/dev/null | sort |
		xargs -r cat) | sha256sum | cut -d' ' -f1
}

extract() {
	[ -f "$tarball" ] || { echo "error: $tarball missing (scripts/deps.sh installs or fetches it)" >&2; exit 1; }
	echo "==> extracting $(basename "$tarball") into $B_REL/linux (about 1 minute)"
	rm -rf "$tree.tmp"
	mkdir -p "$tree.tmp"
	tar -C "$tree.tmp" -xf "$tarball" --strip-components=1
	echo "==> recording the pristine tree in git (tag $base)"
	# Debian's tarball appends "ignore everything at the top level" to
	# .gitignore for its packaging repository; drop that stanza so the
	# tree behaves like an upstream checkout (new files show up).
	sed -i '/^# Debian packaging/,$d' "$tree.tmp/.gitignore"
	git -C "$tree.tmp" init -q -b zdedup
	git -C "$tree.tmp" add -A
	ver=$(make -s -C "$tree.tmp" kernelversion)
	git -C "$tree.tmp" -c user.name=zdedup -c user.email=zdedup@localhost \
		commit -q -m "Linux $ver (pristine $(basename "$tarball"))"
	git -C "$tree.tmp" tag "$base"
	mv "$tree.tmp" "$tree"
}

sync_tree() {
	[ -d "$tree/.git" ] || extract
	want=$(series_hash)
	if [ -f "$stamp" ] && [ "$(cut -d' ' -f1 "$stamp")" = "$want" ]; then
		return 0
	fi
	if [ -n "$(g status --porcelain --untracked-files=no)" ]; then
		echo "error: $series_rel/ changed but $B_REL/linux has uncommitted edits." >&2
		echo "       commit them and run 'make patches', or discard them, then retry." >&2
		exit 1
	fi
	head=$(g rev-parse HEAD)
	if [ -f "$stamp" ] && [ "$(cut -d' ' -f2 "$stamp")" != "$head" ]; then
		echo "error: $B_REL/linux has commits that are not in $series_rel/." >&2
		echo "       run 'make patches' to export them, or 'git -C $B_REL/linux reset --hard $base'." >&2
		exit 1
	fi
	patches=$(ls "$series"/*.patch 2>/dev/null || true)
	n=$(echo "$patches" | grep -c . || true)
	echo "==> applying $series_rel/ ($n patches) to $B_REL/linux"
	g reset -q --hard "$base"
	# shellcheck disable=SC2086
	if [ "$n" -gt 0 ] && ! g am -q --keep-cr $patches; then
		g am --abort || true
		g reset -q --hard "$base"
		echo "error: the series does not apply to $(g log -1 --format=%s $base)" >&2
		exit 1
	fi
	echo "$want $(g rev-parse HEAD)" > "$stamp"
}

export_series() {
	[ -d "$tree/.git" ] || { echo "error: no kernel tree; run 'make kernel' first" >&2; exit 1; }
	if [ -n "$(g status --porcelain --untracked-files=no)" ]; then
		echo "warning: uncommitted edits in $B_REL/linux are not exported:" >&2
		g status --short --untracked-files=no >&2
	fi
	# One file per commit; the cover letter (cover-letter.txt, written by
	# hand) is not a patch and stays.
	find "$series" -maxdepth 1 -name '*.patch' -delete
	g format-patch -q --no-signature --zero-commit -o "$series" "$base..HEAD"
	echo "$(series_hash) $(g rev-parse HEAD)" > "$stamp"
	ls -1 "$series"/*.patch 2>/dev/null | sed "s|$top/||" || echo "(series is empty)"
}

case "${1:-sync}" in
sync) sync_tree ;;
export) export_series ;;
*) echo "usage: $0 sync|export" >&2; exit 2 ;;
esac
