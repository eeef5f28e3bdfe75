#!/bin/sh
# search: a differential run against `rg -uu`. 1,500 patterns generated from a fixed seed
# (bench/search-diff.py: concatenations with quantifiers, classes, alternations with empty
# branches, groups, anchors, \b, escapes, (?i) and inline flags; with rg -P lookarounds,
# \Q..\E, comments, atomic groups, possessive quantifiers; options -i, -w, -F; file:
# filters) over a generated tree: one sealroom process answers them all, rg runs once per
# pattern, and every (path, line) set must be equal. Results cut by a match limit or the
# time budget are counted apart (at most 5 %). bench/search-diff.sh runs the same on any
# tree and seed.
. tests/cli/lib.sh

"$SR" init -C "$T/fac" --name t.example >/dev/null
"$SR" key new vendor --out "$T/v.key" >/dev/null
expect_ok "fixture" python3 bench/search-diff.py fixture "$T/tree" 1
expect_ok "seal" "$SR" -C "$T/fac" seal "$T/tree" --product p --version 1 --vendor-key "$T/v.key"
run python3 bench/search-diff.py run "$T/tree" 20261201 1500 "$SR" "$T/fac" "$T/v.key" p@1
if [ $rc -eq 0 ]; then pass; else fail "differs from rg: $(tail -n 12 "$T/out")"; fi
tail -n 1 "$T/out"
check "every pattern logged" sh -c "[ \$(sqlite3 '$T/fac/sealroom.db' \"SELECT count(*) FROM log_entries WHERE CAST(data AS TEXT) LIKE '%\\\"type\\\":\\\"search\\\"%'\") -ge 1400 ]"

# the harness can fail: a sealroom that drops a line is caught
mkdir "$T/tree2" && printf 'foo bar\nfoo\n' >"$T/tree2/a.c"
expect_ok "seal two" "$SR" -C "$T/fac" seal "$T/tree2" --product p --version 2 --vendor-key "$T/v.key"
printf 'spin_lock\n' >>"$T/tree2/a.c" # the tree rg sees now has a line the release lacks
run python3 bench/search-diff.py run "$T/tree2" 7 40 "$SR" "$T/fac" "$T/v.key" p@2
check "a difference fails the run" [ $rc -eq 1 ]
done_testing
