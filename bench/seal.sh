#!/bin/sh
# bench/seal.sh: seal the unpacked Debian linux-source-6.1 tree and time `git add -f -A` of the
# same tree in the same run; print both times, the ratio (target <= 0.5) and sealroom's peak RSS
# (target <= 1.5 GB). Needs: SEALROOM_BENCH_DEPS=1 scripts/deps (linux-source-6.1, time).
# CORPUS=/path/to/tree overrides the corpus; WORK= sets the scratch folder.
set -eu
top=$(cd "$(dirname "$0")/.." && pwd)
SR=${SEALROOM:-$top/sealroom}
WORK=${WORK:-/tmp/sealroom-bench}
mkdir -p "$WORK"
if [ -z "${CORPUS:-}" ]; then
	CORPUS="$WORK/linux-source-6.1"
	if [ ! -d "$CORPUS" ]; then
		tarball=/usr/src/linux-source-6.1.tar.xz
		[ -f "$tarball" ] || { echo "bench/seal.sh: '$tarball' is missing; run SEALROOM_BENCH_DEPS=1 scripts/deps" >&2; exit 1; }
		tar -xJf "$tarball" -C "$WORK"
	fi
fi
files=$(find "$CORPUS" -type f | wc -l)
bytes=$(du -sb "$CORPUS" | cut -f1)
echo "corpus: $CORPUS ($files files, $bytes bytes)"

# warm the page cache for both contenders alike
find "$CORPUS" -type f -print0 | xargs -0 cat >/dev/null

rm -rf "$WORK/git" && mkdir -p "$WORK/git"
git --git-dir="$WORK/git/repo" init -q
/usr/bin/time -f '%e %U %S' -o "$WORK/gtime" git --git-dir="$WORK/git/repo" --work-tree="$CORPUS" add -f -A
read -r git_s git_u git_sys <"$WORK/gtime"
git_tree=$(git --git-dir="$WORK/git/repo" --work-tree="$CORPUS" write-tree)
rm -rf "$WORK/git"

rm -rf "$WORK/fac" "$WORK/v.key" "$WORK/v.key.pub"
"$SR" init -C "$WORK/fac" --name bench.example >/dev/null
"$SR" key new bench --out "$WORK/v.key" >/dev/null
/usr/bin/time -f '%e %M %U %S' -o "$WORK/time" "$SR" -C "$WORK/fac" seal "$CORPUS" --product linux --version 6.1 --vendor-key "$WORK/v.key" --json >"$WORK/seal.json"
read -r seal_s rss_kb seal_u seal_sys <"$WORK/time"
tree=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["tree_sha1"])' "$WORK/seal.json")
vault=$(du -sb "$WORK/fac/vault" | cut -f1)

printf 'git add -f -A     %8.2f s   (cpu %.2f s)\n' "$git_s" "$(echo "$git_u + $git_sys" | bc -l)"
printf 'sealroom seal     %8.2f s   (cpu %.2f s: both ids + zstd + AEAD + search index + xref)\n' "$seal_s" "$(echo "$seal_u + $seal_sys" | bc -l)"
echo "load average at the end: $(cut -d' ' -f1-3 /proc/loadavg) on $(nproc) cores (wall ratios need a quiet machine)"
printf 'ratio seal/git    %8.3f     (target <= 0.5)\n' "$(echo "$seal_s / $git_s" | bc -l)"
printf 'peak RSS          %8.0f MB  (target <= 1500)\n' "$(echo "$rss_kb / 1024" | bc -l)"
printf 'vault on disk     %8.3f x corpus\n' "$(echo "$vault / $bytes" | bc -l)"
if [ "$tree" = "$git_tree" ]; then echo "tree-sha1 equals git's: $tree"; else echo "MISMATCH: sealroom $tree, git $git_tree"; exit 1; fi
rm -rf "$WORK/fac"
