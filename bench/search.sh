#!/bin/sh
# bench/search.sh: search the Debian linux-source-6.1 tree with sealroom (warm: the release
# is loaded once, then every query runs --repeat times), `rg -uu` and csearch (its index
# built first, untimed), side by side on bench/search-queries.txt; prints per-query times,
# p50/p95 and ratios, and the index's build time, size and memory.
# CORPUS=/path/to/tree overrides the corpus; WORK= sets the scratch folder; REPEAT= (5);
# KEEP=1 reuses an already sealed facility in $WORK/fac.
set -eu
top=$(cd "$(dirname "$0")/.." && pwd)
SR=${SEALROOM:-$top/sealroom}
WORK=${WORK:-/tmp/sealroom-bench}
REPEAT=${REPEAT:-5}
QUERIES=${QUERIES:-$top/bench/search-queries.txt}
CORPUS=${CORPUS:-/work/corpus/linux-source-6.1}
[ -d "$CORPUS" ] || { tarball=/usr/src/linux-source-6.1.tar.xz
	[ -f "$tarball" ] || { echo "bench/search.sh: no corpus; run SEALROOM_BENCH_DEPS=1 scripts/deps" >&2; exit 1; }
	mkdir -p "$WORK" && tar -xJf "$tarball" -C "$WORK" && CORPUS="$WORK/linux-source-6.1"; }
command -v rg >/dev/null || { echo "bench/search.sh: rg is missing" >&2; exit 1; }
command -v csearch >/dev/null || { echo "bench/search.sh: csearch is missing (apt-get install codesearch)" >&2; exit 1; }
mkdir -p "$WORK"
bytes=$(du -sb "$CORPUS" | cut -f1)
echo "corpus: $CORPUS ($bytes bytes)"
find "$CORPUS" -type f -print0 | xargs -0 cat >/dev/null # warm the page cache

if [ "${KEEP:-0}" != 1 ] || [ ! -d "$WORK/fac" ]; then
	rm -rf "$WORK/fac" "$WORK/v.key" "$WORK/v.key.pub"
	"$SR" init -C "$WORK/fac" --name bench.example >/dev/null
	"$SR" key new bench --out "$WORK/v.key" >/dev/null
	/usr/bin/time -f '%e %M' -o "$WORK/seal.time" "$SR" -C "$WORK/fac" seal "$CORPUS" --product linux --version 6.1 --vendor-key "$WORK/v.key" --json >/dev/null
fi
vault=$(du -sb "$WORK/fac/vault" | cut -f1)

# csearch's index, untimed
export CSEARCHINDEX="$WORK/csearchindex"
[ -f "$CSEARCHINDEX" ] || cindex "$CORPUS" >/dev/null 2>&1

/usr/bin/time -f '%e %U %S' -o "$WORK/sr.time" "$SR" -C "$WORK/fac" search linux@6.1 --vendor-key "$WORK/v.key" --bench "$QUERIES" --repeat "$REPEAT" >"$WORK/sr.out" </dev/null

# time one command: median of 3 runs, in ms
tm() {
	for i in 1 2 3; do
		# through a pipe: rg stops at the first match when its output is /dev/null
		s=$(date +%s%N); "$@" </dev/null 2>/dev/null | cat >/dev/null || true; e=$(date +%s%N)
		echo $(((e - s) / 1000000))
	done | sort -n | sed -n 2p
}

printf '%-42s %9s %9s %9s %9s %7s %7s %s\n' query sr-first sr-count rg csearch rg/sr cs/sr matches
grep '^query' "$WORK/sr.out" | while IFS="$(printf '\t')" read -r _ first count total kind q; do
	flags=""; pat=$q; cflags=""
	while :; do
		case $pat in
		"-i "*) flags="$flags -i"; cflags="$cflags -i"; pat=${pat#-i }; continue ;;
		"-w "*) flags="$flags -w"; pat=${pat#-w }; continue ;;
		esac
		break
	done
	# the filters, in rg's and csearch's terms
	glob=""; cfile=""
	case $pat in
	"file:"*) f=${pat%% *}; f=${f#file:}; pat=${pat#* }; cfile="$f" ;;
	"lang:rust "*) pat=${pat#lang:rust }; glob="*.rs"; cfile='\.rs$' ;;
	"sym:"*) pat="^[a-z].*\\b${pat#sym:}\\("; ;;
	esac
	if [ -n "$glob" ]; then rgt=$(cd "$CORPUS" && tm rg -uu -n --no-heading $flags -g "$glob" -e "$pat")
	elif [ -n "$cfile" ]; then rgt=$(cd "$CORPUS" && tm sh -c "rg -uu -n --no-heading $flags -e '$pat' | grep -aE '$(echo "$cfile" | sed 's/\$$//; s/^[^^]/^[^:]*&/')'")
	else rgt=$(cd "$CORPUS" && tm rg -uu -n --no-heading $flags -e "$pat"); fi
	# csearch matches -f against the whole path it indexed (absolute): an anchored filter
	# starts at the corpus, not at /
	case $cfile in "^"*) cfile="^$(echo "$CORPUS" | sed 's/[.[\*^$+?(){}|]/\\&/g')/${cfile#^}" ;; esac
	if [ -n "$cfile" ]; then cst=$(tm csearch -n $cflags -f "$cfile" "$pat"); else cst=$(tm csearch -n $cflags "$pat"); fi
	best=$(echo "$first $count" | awk '{ print ($1 > $2 ? $2 : $1) }')
	printf '%-42.42s %9.2f %9.2f %9d %9d %7.0f %7.0f %s\n' "$q" "$first" "$count" "$rgt" "$cst" \
		"$(echo "$rgt / ($count + 0.01)" | bc -l)" "$(echo "$cst / ($count + 0.01)" | bc -l)" "$total"
done

# p50 / p95 of the first page and of the exact count
for col in 2 3; do
	name=$([ $col = 2 ] && echo "first 50" || echo "full count")
	grep '^query' "$WORK/sr.out" | cut -f$col | sort -g | awk -v n="$name" '{ v[NR] = $1 } END {
		p50 = v[int((NR + 1) * 0.50)]; p95 = v[int(NR * 0.95 + 0.999)];
		printf "sealroom %-10s p50 %7.2f ms   p95 %7.2f ms   (targets 10, 50)\n", n, p50, p95 }'
done
if [ -f "$WORK/seal.time" ]; then read -r seal_s seal_rss <"$WORK/seal.time"
	printf 'seal with index   %8.2f s, peak RSS %.0f MB (run bench/seal.sh for the seal alone)\n' "$seal_s" "$(echo "$seal_rss / 1024" | bc -l)"; fi
printf 'vault + index     %8.3f x corpus (target <= 1.5)\n' "$(echo "$vault / $bytes" | bc -l)"
read -r sr_s sr_user sr_sys <"$WORK/sr.time"
printf 'sealroom process  %8.2f s wall, %.2f s user, %.2f s sys (load + all queries; the machine may be shared)\n' "$sr_s" "$sr_user" "$sr_sys"
awk -v b="$bytes" '/^load_ms/ { printf "index load        %8.1f s\n", $2 / 1000 } /^rss_kb/ { printf "serving RSS       %8.3f x corpus (target <= 1.5)\n", $2 * 1024 / b }' "$WORK/sr.out"
