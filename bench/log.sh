#!/bin/sh
# bench/log.sh: the log's budgets (DESIGN.md): >= 5,000 durable appends/s with group commit
# and many concurrent writers; any proof in <= 1 ms at 1,000,000 entries.
# Usage: sh bench/log.sh [THREADS PER_THREAD PROOF_SIZE]   (defaults 64 500 1000000)
set -e
top=$(cd "$(dirname "$0")/.." && pwd)
cd "$top"
BUILD=${BUILD:-build}
make --no-print-directory "$BUILD/libsealroom.a" >/dev/null
PKGS=$(sed -n "s/^PKGS = //p" Makefile) # link exactly what the library needs
tmp=$(mktemp -d "${TMPDIR:-/tmp}/sealroom-bench-log.XXXXXX")
trap 'rm -rf "$tmp"' EXIT
cc -std=c11 -D_GNU_SOURCE -O2 -Isrc $(pkg-config --cflags $PKGS) -o "$tmp/log_bench" bench/log_bench.c \
	"$BUILD/libsealroom.a" $(pkg-config --libs $PKGS) -lpthread -lm
echo "log benchmark ($(nproc) cores, facility in $tmp)"
"$tmp/log_bench" "$tmp/fac" "${1:-64}" "${2:-500}" "${3:-1000000}"
