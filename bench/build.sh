#!/bin/sh
# bench/build.sh: binary equivalence on real code, too heavy for make check.
# 1. this project: its committed tree (git archive HEAD) with the pinned grammars of
#    grammars/node_modules, sealed with a recipe declaring this machine's toolchain and
#    -dev packages, rebuilt twice in the sandbox (`make build/sealroom`), then built again
#    outside the sandbox at another path and matched;
# 2. the same without -ffile-prefix-map: not reproducible, and the cause is named;
# 3. every tree-sitter grammar of grammars/node_modules (npm registry) built into a .so.
# Prints each build's wall time and verdict. WORK= sets the scratch folder.
set -eu
top=$(cd "$(dirname "$0")/.." && pwd)
SR=${SEALROOM:-$top/sealroom}
WORK=${WORK:-/tmp/sealroom-bench-build}
rm -rf "$WORK" && mkdir -p "$WORK"
"$SR" init -C "$WORK/fac" --name bench.example >/dev/null
"$SR" key new bench --out "$WORK/v.key" >/dev/null
export SEALROOM_HOME="$WORK/fac"

toolchain() { # the installed ones of the packages named, as recipe lines
	for p in "$@"; do
		v=$(dpkg-query -W -f='${Version}' "$p" 2>/dev/null) || continue
		[ -n "$v" ] && printf 'toolchain %s %s\n' "$p" "$v"
	done
}
CC_PKGS="gcc-12 cpp-12 binutils-x86-64-linux-gnu libc6-dev libgcc-12-dev"
DEV_PKGS="make pkg-config libsodium-dev libssl-dev libsqlite3-dev libarchive-dev libgit2-dev libzstd-dev
libmicrohttpd-dev libgnutls28-dev libpcre2-dev libjansson-dev libtree-sitter-dev libcairo2-dev libpng-dev
libjpeg62-turbo-dev libfreetype-dev"

timed() { # NAME CMD...: run, print the wall time and the first line of the verdict
	name=$1; shift
	t0=$(date +%s.%N)
	if "$@" >"$WORK/out" 2>"$WORK/err"; then st=ok; else st="exit $?"; fi
	t1=$(date +%s.%N)
	printf '%-34s %6.1f s  %s: %s\n' "$name" "$(echo "$t1 - $t0" | bc)" "$st" \
		"$(head -n 1 "$WORK/out") $(cat "$WORK/err" | tail -n 1)"
}

# 1. sealroom itself
src="$WORK/sealroom-src"
mkdir -p "$src"
git -C "$top" archive HEAD | tar -x -C "$src"
mkdir -p "$src/grammars" && cp -a "$top/grammars/node_modules" "$src/grammars/"
mkdir -p "$src/.sealroom"
{
	echo 'sealroom/build/v1'
	# shellcheck disable=SC2086
	toolchain $CC_PKGS $DEV_PKGS
	echo 'run make -j2 OPT="-O2 -g -ffile-prefix-map=$PWD=." build/sealroom'
	echo 'output build/sealroom'
	echo 'time-limit 1800'
	echo 'disk-limit 2G'
} >"$src/.sealroom/build"
"$SR" seal "$src" --product sealroom --version bench --vendor-key "$WORK/v.key" >/dev/null
timed "sealroom in the sandbox (2 runs)" "$SR" build sealroom@bench --vendor-key "$WORK/v.key" --progress
other="$WORK/a/much/longer/path/elsewhere"
mkdir -p "$other" && cp -a "$src/." "$other/"
(cd "$other" && make -j2 OPT="-O2 -g -ffile-prefix-map=$PWD=." build/sealroom >/dev/null 2>&1)
timed "sealroom built outside, matched" "$SR" match sealroom@bench "$other/build/sealroom"

# 2. the same, with the build path in the debug info
sed -i 's/ -ffile-prefix-map=\$PWD=\.//' "$src/.sealroom/build"
"$SR" seal "$src" --product sealroom --version bench-nomap --vendor-key "$WORK/v.key" >/dev/null
timed "sealroom without -ffile-prefix-map" "$SR" build sealroom@bench-nomap --vendor-key "$WORK/v.key"

# 3. the tree-sitter grammars
for d in "$top"/grammars/node_modules/tree-sitter-*; do
	g=${d##*/tree-sitter-}
	gs="$WORK/ts-$g"
	mkdir -p "$gs/.sealroom"
	cp -a "$d/src" "$d/package.json" "$gs/"
	scanner=""; [ -f "$gs/src/scanner.c" ] && scanner=" src/scanner.c"
	{
		echo 'sealroom/build/v1'
		# shellcheck disable=SC2086
		toolchain $CC_PKGS
		echo 'run mkdir -p out'
		echo "run gcc-12 -O2 -fPIC -shared -Isrc -o out/libtree-sitter-$g.so src/parser.c$scanner"
		echo "output out/libtree-sitter-$g.so"
		echo 'disk-limit 512M'
	} >"$gs/.sealroom/build"
	"$SR" seal "$gs" --product "tree-sitter-$g" --version "$(sed -n 's/.*"version": *"\([^"]*\)".*/\1/p' "$d/package.json" | head -n 1)" \
		--vendor-key "$WORK/v.key" --json >"$WORK/seal.json"
	rel=$(sed -n 's/.*"release":"\([^"]*\)".*/\1/p' "$WORK/seal.json")
	timed "$rel" "$SR" build "$rel" --vendor-key "$WORK/v.key"
done
