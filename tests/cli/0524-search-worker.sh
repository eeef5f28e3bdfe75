#!/bin/sh
# A release's searches run in a search worker of its own (src/searchd.c), not in the room:
# the worker is a fresh process under seccomp (checked in /proc/PID/status), with
# no_new_privs, the front's unprivileged account and an empty root, no file of the facility
# open (no database, no vault, no key file) and no log or vendor key in its memory; it
# maps the release's text read-only. Its searches answer what the room's did. A worker
# killed in the middle of a search makes that search fail with one line (503), and the
# next search is answered by a new worker, and the failure is in the log (a pattern that
# stops the regex engine may be an attack on it); a worker that hangs is stopped after the
# search's budget and a grace period; a halt ends it within seconds.
. tests/cli/lib.sh

if [ "$(id -u)" -ne 0 ]; then
	fail "this test needs root: serve locks the room's memory and the worker drops to the front's uid"
	done_testing
	exit 1
fi

PORT=$((20000 + ($$ + 4513) % 20000))
U="https://127.0.0.1:$PORT"
mkdir "$T/src"
i=1; while [ $i -le 300 ]; do echo "int worker_marker_$i(void) { return $i * 7; }"; i=$((i + 1)); done >"$T/src/a.c"
i=1; while [ $i -le 40 ]; do printf 'aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\n'; i=$((i + 1)); done >"$T/src/slow.txt"
"$SR" demo "$T/src" -C "$T/fac" --listen "127.0.0.1:$PORT" --json >"$T/demo.json" 2>"$T/demo.err" &
DEMO=$!
for i in $(seq 1 600); do [ -s "$T/demo.json" ] && break; kill -0 $DEMO 2>/dev/null || break; sleep 0.2; done
check "the demo is up" grep -q '"url":"https://' "$T/demo.json"
check "rita logs in" python3 tests/cli/login.py "$T/demo.json" "$U" rita "$T/rita.cookie"
# api: the HTTP status of a search as rita (body in $T/body)
api() { curl -skg --max-time 60 -b "$(cat "$T/rita.cookie")" -o "$T/body" -w '%{http_code}' "$U/api/search?r=demo@current&limit=10&$1"; }
code=000
for i in $(seq 1 100); do code=$(api 'q=worker_marker_7\b'); [ "$code" = 200 ] && break; sleep 0.2; done
check "a search is answered ($code)" [ "$code" = 200 ]
# the API's total counts the matches shown (search totals are charged as code: quota.h)
json() { python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); print(d["total"], " ".join(str(m["line"]) + ("c" if m.get("context") else "") for f in d["files"] for m in f["matches"]))' "$T/body"; }
check "with its one match, on line 7 ($(json))" [ "$(json)" = "1 7" ]

ROOM=$(sed -n 's/.*room pid \([0-9]*\).*/\1/p' "$T/demo.err" | head -n 1)
worker() { # the search worker among the room's children
	ps -o pid= --ppid "$ROOM" | while read -r p; do tr '\0' ' ' <"/proc/$p/cmdline" 2>/dev/null | grep -q -- --search-worker && echo "$p"; done | head -n 1
}
W=$(worker)
check "the room has a search worker ($W)" [ -n "$W" ]
check "and says its pid" grep -q "search worker of 'demo@current' started in .* s (pid $W)" "$T/demo.err"
check "under seccomp (filter mode)" grep -q '^Seccomp:[[:space:]]*2$' "/proc/$W/status"
check "with no_new_privs" grep -q '^NoNewPrivs:[[:space:]]*1$' "/proc/$W/status"
check "not root" sh -c "! grep -q '^Uid:[[:space:]]*0[[:space:]]' /proc/$W/status"
check "not dumpable (its memory is not another user's to read)" sh -c "[ \"\$(stat -c %U /proc/$W/mem)\" = root ]"
check "its root is an empty folder" sh -c "[ -z \"\$(ls -A /proc/$W/root/ 2>/dev/null)\" ]"
# its open files: its channels and the text it was handed, nothing of the facility
ls -l "/proc/$W/fd" >"$T/fds" 2>&1
check "no file of the facility open" sh -c "! grep -q '$T/fac' '$T/fds'"
check "no database, no vault, no key file open" sh -c "! grep -Eq '\\.(db|key|sqlite)|vault' '$T/fds'"
keyhex() { python3 -c 'import base64,sys; s=open(sys.argv[1]).read().strip().split("+", 4)[4]; print(base64.b64decode(s)[1:33].hex())' "$1"; }
L1=$(printf 'worker_marker_250(void) { return 250 * 7; }' | od -An -tx1 | tr -d ' \n')
VK=$(keyhex "$T/fac/demo-keys/vendor.key")
LK=$(keyhex "$T/fac/keys/log.key")
set -- $(python3 tests/cli/memscan.py "$W" "$L1" "$VK" "$LK")
check "its memory: the text it searches ($1 copies), no vendor key ($2), no log key ($3)" sh -c "[ $1 -gt 0 ] && [ '$2 $3' = '0 0' ]"
set -- $(python3 tests/cli/memscan.py "$ROOM" "$LK")
check "the room holds the log key, so the scan finds keys ($1 copies)" [ "$1" -gt 0 ]

# answers as before: errors of the query itself stay 400 with the parser's line
code=$(api 'q=(')
check "a bad regex is still a 400 ($code)" eval '[ "$code" = 400 ] && grep -q "missing closing parenthesis" "$T/body"'
code=$(api 'q=worker_marker_1[0-9]%5Cb&context=1')
check "with context lines ($code: $(json))" eval '[ "$code" = 200 ] && [ "$(json)" = "10 9c 10 11 12 13 14 15 16 17 18 19 20c" ]'

# killed mid-search (stopped first, so that the search is surely in flight): that search
# fails with one line, the next is answered by a new worker
kill -STOP "$W"
api 'q=worker_marker_2\b' >"$T/code" &
BG=$!
sleep 0.5
kill -KILL "$W"
wait $BG
code=$(cat "$T/code")
check "the search in flight fails with 503 ($code)" [ "$code" = 503 ]
check "saying the worker failed, in one line" sh -c "[ \"\$(wc -l <'$T/body')\" -le 1 ] && grep -q 'search worker failed' '$T/body'"
entries() { sqlite3 "$T/fac/sealroom.db" "SELECT CAST(data AS TEXT) FROM log_entries" | grep "\"type\":\"$1\""; }
failed_logged() { entries search_failed | grep -F 'worker_marker_2\\b' | grep '"session":"' | grep -q 'search worker failed'; }
shown_logged() { entries search | grep -qF 'worker_marker_2\\b'; }
check "the failed search is in the log: its query, session and why" failed_logged
if shown_logged; then fail "a search entry says the failed search showed lines"; else pass; fi
code=$(api 'q=worker_marker_25\b')
W2=$(worker)
check "the next search is answered ($code: $(json))" eval '[ "$code" = 200 ] && [ "$(json)" = "1 25" ]'
check "by a new worker ($W2, was $W)" eval '[ -n "$W2" ] && [ "$W2" != "$W" ]'
# killed between searches: the next search is not failed for it
kill -KILL "$W2"
sleep 0.2
code=$(api 'q=worker_marker_26\b')
W2=$(worker)
check "a worker that died between searches is replaced before the next ($code: $(json))" eval '[ "$code" = 200 ] && [ "$(json)" = "1 26" ]'
check "the room lives on" kill -0 "$ROOM"

# hung: stopped, it is killed after the search's budget and the grace period
kill -STOP "$W2"
s0=$(date +%s%N)
code=$(api 'q=worker_marker_3\b')
ms=$((($(date +%s%N) - s0) / 1000000))
check "a hung worker's search fails with 503 ($code)" eval '[ "$code" = 503 ] && grep -q "no answer within" "$T/body"'
check "after budget and grace: 5 s to 15 s ($ms ms)" eval '[ "$ms" -ge 5000 ] && [ "$ms" -le 15000 ]'
check "the hung worker is gone" sh -c "! kill -0 $W2 2>/dev/null"
code=$(api 'q=worker_marker_3\b')
check "and the next search is answered ($code: $(json))" eval '[ "$code" = 200 ] && [ "$(json)" = "1 3" ]'

# a halt ends the worker within seconds
W3=$(worker)
export SEALROOM_HOME="$T/fac"
seal_of "$T/fac/sealroom.db" demo current "$T/seal"
gone=no
if [ -n "$W3" ] && vendor_decide "$T/fac/demo-keys/vendor.key" "$T/seal" otto halt demo@current >"$T/halt.err" 2>&1; then
	for i in $(seq 1 50); do kill -0 "$W3" 2>/dev/null || { gone=yes; break; }; sleep 0.2; done
fi
check "a halt stops the search worker within 10 s ($gone; $(cat "$T/halt.err" 2>/dev/null | head -n 1))" [ "$gone" = yes ]

kill $DEMO; wait $DEMO
check "stopping the room stops its workers" sh -c "! kill -0 ${W3:-0} 2>/dev/null"
done_testing
