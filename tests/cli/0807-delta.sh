#!/bin/sh
# Delta review: the open findings of demo@1 carried over to demo@2 by place, through an
# exact rename, lines shifted by an insertion, a block moved to the end of its file, a
# changed line and deleted lines; every new place checked against grep -n on the new
# tree (the oracle); fixed and accepted findings are not carried; another lab sees none.
. tests/cli/lib.sh

mkdir -p "$T/v1" "$T/v2"
i=1; while [ $i -le 40 ]; do echo "int delta_main_$i = $i;"; i=$((i + 1)); done >"$T/v1/main.c"
i=1; while [ $i -le 10 ]; do echo "int delta_old_$i = $i;"; i=$((i + 1)); done >"$T/v1/old.c"
i=1; while [ $i -le 10 ]; do echo "int delta_util_$i = $i;"; i=$((i + 1)); done >"$T/v1/util.c"
i=1; while [ $i -le 30 ]; do echo "int delta_engine_$i = $i;"; i=$((i + 1)); done >"$T/v1/engine.c"
i=1; while [ $i -le 12 ]; do echo "int delta_rewrite_$i = $i;"; i=$((i + 1)); done >"$T/v1/rewrite.c"
# v2: three lines on top of main.c, its lines 20-21 deleted, 30-31 moved to the end, 35
# changed; old.c renamed to new.c as it is; util.c unchanged
{
	printf 'int delta_top_1;\nint delta_top_2;\nint delta_top_3;\n'
	sed -e '20,21d' -e '30,31d' -e 's/^int delta_main_35 = 35;$/int delta_main_35 = 3500;/' "$T/v1/main.c"
	sed -n '30,31p' "$T/v1/main.c"
} >"$T/v2/main.c"
cp "$T/v1/old.c" "$T/v2/new.c"
cp "$T/v1/util.c" "$T/v2/util.c"
# engine.c renamed to core/engine2.c with edits: two lines on top, line 25 changed (git -M
# pairs them); rewrite.c renamed and mostly rewritten (git -M does not: a deletion)
mkdir -p "$T/v2/core"
{ printf 'int delta_engine_top_1;\nint delta_engine_top_2;\n'; sed 's/^int delta_engine_25 = 25;$/int delta_engine_25 = 2500;/' "$T/v1/engine.c"; } >"$T/v2/core/engine2.c"
{ sed -n 1p "$T/v1/rewrite.c"; i=2; while [ $i -le 12 ]; do echo "long rewritten_$i = $i * 7;"; i=$((i + 1)); done; } >"$T/v2/rewritten.c"

PORT=$((20000 + ($$ + 9181) % 20000))
"$SR" demo "$T/v1" -C "$T/fac" --version 1 --listen "127.0.0.1:$PORT" --json >"$T/demo1.json" 2>"$T/demo1.err" &
DEMO=$!
trap 'kill $DEMO 2>/dev/null; wait $DEMO 2>/dev/null; rm -rf "$T"' EXIT
for i in $(seq 1 300); do [ -s "$T/demo1.json" ] && break; sleep 0.2; done
U="https://127.0.0.1:$PORT"
export SEALROOM_HOME="$T/fac"
cp "$T/demo1.json" "$T/demo.json"
login_demo rita
file() { # path from to title -> the status of the POST
	post rita /r/demo@1/findings --data-urlencode "path=$1" --data-urlencode "from=$2" --data-urlencode "to=$3" \
		--data-urlencode "title=$4" --data-urlencode severity=medium
}
check "F1 main.c:10-12 (shifted)" [ "$(file main.c 10 12 'shifted finding')" = 303 ]
check "F2 main.c:20-21 (deleted)" [ "$(file main.c 20 21 'deleted finding')" = 303 ]
check "F3 old.c:2-3 (renamed)" [ "$(file old.c 2 3 'renamed finding')" = 303 ]
check "F4 util.c:5-5 (same)" [ "$(file util.c 5 5 'same finding')" = 303 ]
check "F5 main.c:30-31 (moved)" [ "$(file main.c 30 31 'moved finding')" = 303 ]
check "F6 main.c:34-36 (changed)" [ "$(file main.c 34 36 'changed finding')" = 303 ]
check "F7 main.c:5-5 (to be accepted)" [ "$(file main.c 5 5 'accepted finding')" = 303 ]
check "F8 engine.c:10-12 (renamed with edits)" [ "$(file engine.c 10 12 'renamed edited finding')" = 303 ]
check "F9 rewrite.c:3-4 (rewritten)" [ "$(file rewrite.c 3 4 'rewritten finding')" = 303 ]
demo_down

rm -f "$T/demo.json"
"$SR" demo "$T/v2" -C "$T/fac" --version 2 --listen "127.0.0.1:$PORT" --json >"$T/demo.json" 2>"$T/demo2.err" &
DEMO=$!
for i in $(seq 1 300); do [ -s "$T/demo.json" ] && break; sleep 0.2; done
check "demo@2 is up ($(head -c 300 "$T/demo2.err"))" grep -q '"release":"demo@2"' "$T/demo.json"
login_demo vera
login_demo rita 1
"$SR" org add lab2 --kind lab >/dev/null
echo 'a long enough password' | "$SR" user add rob --org lab2 --role reviewer --password-stdin --json >"$T/rob.json"
login rob 'a long enough password' "$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["totp_secret"])' "$T/rob.json")"
check "the vendor accepts F7" [ "$(post vera /r/demo@1/findings/7 --data-urlencode state=accepted)" = 303 ]

check "the findings page of demo@2" [ "$(c -b "$T/vera" -o "$T/f2.html" -w '%{http_code}' "$U/r/demo@2/findings")" = 200 ]
check "the carried section links what changed" grep -q 'open findings of demo@1, carried over (<a href="/r/demo@2/diff/1/">' "$T/f2.html"
# the oracle: where each finding's first line is in the new tree
at() { grep -n -x -F "$2" "$T/v2/$1" | head -n 1 | cut -d: -f1; }
place() { # id -> "status path:from-to" as the page says it
	python3 - "$T/f2.html" "$1" <<'PY'
import re, sys
h = open(sys.argv[1]).read()
m = re.search(r'<li class="carried (\w+)" id="carried-%s">(.*?)</li>' % sys.argv[2], h)
if not m: print("absent"); sys.exit()
st, body = m.group(1), m.group(2)
p = re.search(r'</b>: <a href="[^"]*">([^<]*)</a>', body)
print(st, p.group(1) if p else ("deleted" if "deleted" in body else "?"))
PY
}
l=$(at main.c 'int delta_main_10 = 10;'); check "F1 shifted to $l" [ "$(place 1)" = "moved main.c:$l-$((l + 2))" ]
check "F2 deleted" [ "$(place 2)" = "deleted deleted" ]
l=$(at new.c 'int delta_old_2 = 2;'); check "F3 follows the rename" [ "$(place 3)" = "moved new.c:$l-$((l + 1))" ]
check "F4 same" [ "$(place 4)" = "same util.c:5-5" ]
l=$(at main.c 'int delta_main_30 = 30;'); check "F5 moved to the end ($l)" [ "$(place 5)" = "moved main.c:$l-$((l + 1))" ]
l=$(at main.c 'int delta_main_34 = 34;'); check "F6 changed, at $l" [ "$(place 6)" = "changed main.c:$l-$((l + 2))" ]
check "F7 (accepted) not carried" [ "$(place 7)" = "absent" ]
l=$(at core/engine2.c 'int delta_engine_10 = 10;'); check "F8 follows the rename with edits to $l" [ "$(place 8)" = "moved core/engine2.c:$l-$((l + 2))" ]
check "F9: mostly rewritten is no rename" [ "$(place 9)" = "deleted deleted" ]
check "no title as plain text" sh -c "! grep -q 'shifted finding' '$T/f2.html'"
check "the lab sees them too" sh -c "curl -sk -b '$T/rita' '$U/r/demo@2/findings' | grep -q 'id=\"carried-1\"'"
check "another lab sees none" sh -c "curl -sk -b '$T/rob' '$U/r/demo@2/findings' >'$T/rob.html'; grep -q 'id=\"carried-list\"' '$T/rob.html' && ! grep -q 'id=\"carried-' '$T/rob.html' || ! grep -q 'carried-1' '$T/rob.html'"

# the exposure restricted to the lines changed since demo@1: the room's own diff (?since=1)
# and `git diff -U0 -M` of the two trees (the oracle) give the same report, online and
# offline
git init -q "$T/g" && cp -r "$T/v1/"* "$T/g/" && git -C "$T/g" add -A && git -C "$T/g" commit -qm v1
rm -r "$T/g/"*.c && cp -r "$T/v2/"* "$T/g/" && git -C "$T/g" add -A && git -C "$T/g" commit -qm v2
git -C "$T/g" -c core.quotePath=false diff -U0 -M HEAD~1 HEAD >"$T/changes.diff"
check "git pairs engine.c with core/engine2.c" grep -q '^rename to core/engine2.c' "$T/changes.diff"
c -b "$T/rita" -o "$T/tree.html" "$U/r/demo@2/diff/1/"
check "the room's tree diff too" grep -q 'core/engine2.c</a> <span class="from">from engine.c</span>' "$T/tree.html"
check "rewrite.c: deleted, not renamed" sh -c "grep -q 'rewritten.c</a></li>' '$T/tree.html' && ! grep -q 'from rewrite.c' '$T/tree.html'"
check "rita reads main.c of demo@2" [ "$(c -b "$T/rita" -o /dev/null -w '%{http_code}' "$U/r/demo@2/blob/main.c")" = 200 ]
for i in $(seq 1 50); do
	n=$(sqlite3 "$T/fac/sealroom.db" 'SELECT count(*) FROM log_entries')
	[ "$(c "$U/log/checkpoint" | sed -n 2p)" = "$n" ] && break; sleep 0.2
done
check "the room's restricted exposure" [ "$(c -b "$T/vera" -o "$T/since.json" -w '%{http_code}' "$U/vendor/exposure/demo@2?format=json&since=1")" = 200 ]
expect_ok "report exposure --changed" "$SR" report exposure demo@2 --changed "$T/changes.diff" --json
check "the room's diff and git's: the same bytes" cmp -s "$T/out" "$T/since.json"
want=$(awk '/^\+\+\+ b\/main.c/ {f=1; next} /^\+\+\+ / {f=0} f && /^\+/ {n++} END {print n}' "$T/changes.diff")
check "lines shown = main.c's lines git adds ($want)" python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); l=d["labs"]["evallab"]; assert l["lines_shown"]==int(sys.argv[2]) and l["files_shown"]==1 and d["changed"]["lines"]>=int(sys.argv[2]) and l["share_of_changed_lines"].endswith("%"), d' "$T/since.json" "$want"
c -b "$T/vera" -o "$T/all.json" "$U/vendor/exposure/demo@2?format=json"
check "unrestricted, every line shown counts" python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); assert d["labs"]["evallab"]["lines_shown"]==int(sys.argv[2]) and "changed" not in d, d["labs"]' "$T/all.json" "$(wc -l <"$T/v2/main.c")"
check "the vendor's page links it" sh -c "curl -sk -b '$T/vera' '$U/vendor' | grep -q 'href=\"/vendor/exposure/demo@2?since=1\">the lines changed since 1</a>'"
check "since a release that does not exist" [ "$(c -b "$T/vera" -o /dev/null -w '%{http_code}' "$U/vendor/exposure/demo@2?format=json&since=nope")" = 503 ]
check "since a bad name" [ "$(c -b "$T/vera" -o /dev/null -w '%{http_code}' "$U/vendor/exposure/demo@2?format=json&since=a/b")" = 400 ]
check "a reviewer: not even with since" [ "$(c -b "$T/rita" -o /dev/null -w '%{http_code}' "$U/vendor/exposure/demo@2?format=json&since=1")" = 404 ]
demo_down
"$SR" log vkey >"$T/log.vkey"
expect_ok "log export" "$SR" log export "$T/tiles"
expect_ok "offline, restricted" "$SR" report exposure demo@2 --from-log "$T/tiles" --vkey "$T/log.vkey" --changed "$T/changes.diff" --json
check "offline = the room, byte for byte" cmp -s "$T/out" "$T/since.json"
printf '+++ b/main.c\n@@ -1 +1,3 @@\n+x\n' >"$T/short.diff"
expect_fail "a hunk cut short" 1 "short.diff': changes: the last hunk ends before its counts say" "$SR" report exposure demo@2 --changed "$T/short.diff"
printf '+++ "b/m\\303\\251.c"\n' >"$T/quoted.diff"
expect_fail "a quoted name" 1 "quoted names are refused" "$SR" report exposure demo@2 --changed "$T/quoted.diff"
printf '+++ b/main.c\n@@ -1 +0,1 @@\n-a\n+b\n' >"$T/zero.diff"
expect_fail "a hunk at line 0" 1 "a hunk starts at line 0" "$SR" report exposure demo@2 --changed "$T/zero.diff"
expect_fail "no such file" 1 "nope.diff" "$SR" report exposure demo@2 --changed "$T/nope.diff"
done_testing
