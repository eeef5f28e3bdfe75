#!/bin/sh
# bench/search-diff.sh TREE [SEED] [COUNT]: the differential test of tests/cli/0602 on any
# tree (e.g. /work/corpus/linux-source-6.1): seal TREE into a scratch facility, generate
# COUNT (1000) patterns from SEED (the time), and compare every (path, line) set of
# `sealroom search` with `rg -uu`'s. Prints each difference and a summary line.
# WORK= sets the scratch folder; KEEP=1 reuses a facility already sealed there.
set -eu
top=$(cd "$(dirname "$0")/.." && pwd)
SR=${SEALROOM:-$top/sealroom}
TREE=${1:-${CORPUS:-/work/corpus/linux-source-6.1}}
[ -d "$TREE" ] || { echo "bench/search-diff.sh: no tree '$TREE' (give one, or unpack linux-source-6.1 there)" >&2; exit 1; }
SEED=${2:-$(date +%s)}
COUNT=${3:-1000}
WORK=${WORK:-/tmp/sealroom-search-diff}
if [ "${KEEP:-0}" != 1 ] || [ ! -d "$WORK/fac" ]; then
	rm -rf "$WORK" && mkdir -p "$WORK"
	"$SR" init -C "$WORK/fac" --name diff.example >/dev/null
	"$SR" key new diff --out "$WORK/v.key" >/dev/null
	"$SR" -C "$WORK/fac" seal "$TREE" --product tree --version 1 --vendor-key "$WORK/v.key" >/dev/null
fi
echo "tree $TREE, seed $SEED, $COUNT patterns, load $(cut -d' ' -f1-3 /proc/loadavg)"
exec python3 "$top/bench/search-diff.py" run "$TREE" "$SEED" "$COUNT" "$SR" "$WORK/fac" "$WORK/v.key" tree@1
