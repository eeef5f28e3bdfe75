#!/bin/sh
# The search worker (src/searchd.c) as a hostile reviewer and a root operator see it
# (docs/security.md §8). A reader's odd queries (NUL, control bytes, invalid UTF-8, a query
# past QUERY_MAX, limits, offsets and context past their caps) are answered or refused with
# one line, never a failed worker: a reader cannot use up its restarts (5 a minute) and so
# stop search for everyone. Many searches at once end within the front's answer timeout
# and leave the room with the descriptors and children it had. Nothing of the worker is on
# disk or in /dev/shm; it holds no file; the room keeps no descriptor per restart; a room
# killed with SIGKILL takes its worker with it; the last revocation ends it.
. tests/cli/lib.sh

if [ "$(id -u)" -ne 0 ]; then
	fail "this test needs root: serve locks the room's memory and the worker drops to the front's uid"
	done_testing
	exit 1
fi

mkdir "$T/src"
i=1; while [ $i -le 300 ]; do echo "int attack_marker_$i(void) { return $i * 7; }"; i=$((i + 1)); done >"$T/src/a.c"
i=1; while [ $i -le 200 ]; do printf 'aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaab\n'; i=$((i + 1)); done >"$T/src/slow.txt"
demo_up "$T/src" 5525
check "rita logs in" python3 tests/cli/login.py "$T/demo.json" "$U" rita "$T/rita.cookie"
api() { curl -skg --max-time 60 -b "$(cat "$T/rita.cookie")" -o "${2:-$T/body}" -w '%{http_code}' "$U/api/search?r=demo@current&$1"; }
page() { curl -skg --max-time 60 -b "$(cat "$T/rita.cookie")" -o "$T/page" -w '%{http_code}' "$U/r/demo@current/search?$1"; }
code=000
for i in $(seq 1 100); do code=$(api 'q=attack_marker_7\b'); [ "$code" = 200 ] && break; sleep 0.2; done
check "a search is answered ($code)" [ "$code" = 200 ]

ROOM=$(sed -n 's/.*room pid \([0-9]*\).*/\1/p' "$T/demo.err" | head -n 1)
workers() { # the search workers among the room's children
	ps -o pid= --ppid "$ROOM" | while read -r p; do tr '\0' ' ' <"/proc/$p/cmdline" 2>/dev/null | grep -q -- --search-worker && echo "$p"; done
}
W=$(workers | head -n 1)
check "the room has a search worker ($W)" [ -n "$W" ]

# ---- a hostile reviewer's queries: answered or refused in one line, the worker kept ----
onejson() { python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); assert isinstance(d, dict)' "$T/body" 2>/dev/null && [ "$(wc -l <"$T/body")" -le 1 ]; }
answered() { [ "$1" = 200 ] || [ "$1" = 400 ] || [ "$1" = 403 ]; }
noline() { ! grep -q 'return [0-9]* \* 7' "$1"; }
long=$(python3 -c 'print("a" * 5000)')
at_max=$(python3 -c 'print("b" * 4096)')
lang=$(python3 -c 'print("lang:" + "c" * 3000 + "%20x")')
for q in 'attack%00marker' 'attack_marker_1%01%1b%7f' '%ff%fe%80' 'lang:%01%1b%20x' 'lang:%ff%20x' "$lang" "$long" "$at_max" \
	'(' '%28%3F%3Cn%3Ea%29%28%3F%3Cn%3Eb%29' 'a%7B2%2C1%7D' 'file:%20x' 'sym:a%20sym:b' 'sym:%28' 'file:%28%20x' \
	'%20%20%20' '%5C' '(a%2B)%2B%24' '(%3F%3D(%3F%3D(%3F%3Da)))' 'a&limit=99999999999999999999' \
	'a&limit=18446744073709551615' 'a&offset=18446744073709551615' 'a&context=4294967296' 'a&limit=0' \
	'a&context=51&limit=500'; do
	code=$(api "q=$q")
	short=$(printf '%s' "$q" | cut -c 1-40)
	check "query '$short': answered or refused, not a failed worker ($code)" answered "$code"
	check "query '$short': one line of JSON" onejson
	[ "$code" = 200 ] || check "query '$short': its refusal holds no line of the release" noline "$T/body"
	[ "$code" = 503 ] && cat "$T/body"
done
# the HTML page too: the message escaped, the page no further than shown
code=$(page 'q=lang:%3Cscript%3Ealert(1)%3C/script%3E%20x')
check "an HTML search's refusal is a 400 ($code)" [ "$code" = 400 ]
check "with the reader's words escaped" sh -c "grep -q '&lt;script&gt;' '$T/page' && ! grep -q '<script>alert' '$T/page'"
code=$(page 'q=attack&page=1000')
check "a page past what was shown is refused, not searched ($code)" [ "$code" = 403 ]
check "the worker that answered all of that is the first one" [ "$(workers | head -n 1)" = "$W" ]
check "and the only one" [ "$(workers | wc -l)" -eq 1 ]

# ---- many searches at once: bounded, and the room as it was ----
# the room's sockets, pipes and memory files: the worker's channels and images among them (its
# database connections, regular files, grow with its pool of threads and are not counted)
fds() { ls -l "/proc/$ROOM/fd" | grep -c -e 'socket:' -e 'pipe:' -e 'memfd:'; }
kids() { ps -o pid= --ppid "$ROOM" | wc -l; }
burst() { # 24 searches at once, each of a pattern that backtracks
	pids=
	i=1; while [ $i -le 24 ]; do api 'q=(a|aa)%2B%24&limit=500&context=50' "$T/c$i" >"$T/code$i" & pids="$pids $!"; i=$((i + 1)); done
	for p in $pids; do wait "$p"; done
}
burst # the room's own pools (database connections, threads) grow to their size first
sleep 1
F0=$(fds); K0=$(kids); W0=$(workers | head -n 1)
s0=$(date +%s)
burst
s=$(($(date +%s) - s0))
bad=0; i=1; while [ $i -le 24 ]; do c=$(cat "$T/code$i"); [ "$c" = 200 ] || [ "$c" = 503 ] || [ "$c" = 429 ] || bad=$((bad + 1)); i=$((i + 1)); done
check "24 searches at once: each answered 200, 503 or 429 ($bad others)" [ "$bad" -eq 0 ]
check "within the front's answer timeout ($s s)" [ "$s" -lt 30 ]
check "the room lives on" kill -0 "$ROOM"
check "and its worker, not taken for hung by searches slow on every line ($W0, now $(workers | head -n 1))" \
	[ "$(workers | head -n 1)" = "$W0" ]
sleep 1
check "with the sockets and pipes it had ($F0, now $(fds))" [ "$(fds)" -le "$F0" ]
check "and the children it had ($K0, now $(kids))" [ "$(kids)" -eq "$K0" ]
check "no zombie among them" sh -c "! ps -o stat= --ppid $ROOM | grep -q Z"

# ---- the operator: nothing on disk, nothing held, nothing left per restart ----
check "nothing of sealroom in /dev/shm" sh -c "! ls -A /dev/shm | grep -qi sealroom"
W=$(workers | head -n 1)
ls -l "/proc/$W/fd" >"$T/wfds" 2>&1
check "the worker holds no file of the room's, not even its standard streams: only its channels and /dev/null" \
	sh -c "! grep -- '->' '$T/wfds' | grep -v -e 'socket:' -e '/dev/null' | grep -q ."
check "nor the memory files it was handed (its text is mapped, not held open)" sh -c "! grep -q memfd '$T/wfds'"
M0=$(ls -l "/proc/$ROOM/fd" | grep -c memfd)
for k in 1 2 3; do
	kill -KILL "$(workers | head -n 1)"; sleep 0.3
	api 'q=attack_marker_9\b' >/dev/null
done
check "a search after three killed workers is answered" [ "$(api 'q=attack_marker_9\b')" = 200 ]
check "the room keeps no memory file per restart ($M0, now $(ls -l "/proc/$ROOM/fd" | grep -c memfd))" \
	[ "$(ls -l "/proc/$ROOM/fd" | grep -c memfd)" -le "$M0" ]
check "nor a socket or pipe ($F0, now $(fds))" [ "$(fds)" -le "$F0" ]

# ---- the room killed with SIGKILL: its worker goes with it ----
W=$(workers | head -n 1)
check "a worker runs ($W)" [ -n "$W" ]
kill -KILL "$ROOM"
gone=no
for i in $(seq 1 50); do kill -0 "$W" 2>/dev/null || { gone=yes; break; }; sleep 0.1; done
check "a room killed with SIGKILL takes its worker within 5 s ($gone)" [ "$gone" = yes ]

# ---- the last revocation ends the worker of the new room ----
newroom() { ps -o pid=,user= --ppid "$DEMO" | awk '$2 == "root" { print $1 }' | tail -n 1; }
for i in $(seq 1 100); do
	R=$(newroom)
	[ -n "$R" ] && [ "$R" != "$ROOM" ] && break
	sleep 0.2
done
code=000
for i in $(seq 1 100); do code=$(api 'q=attack_marker_11\b'); [ "$code" = 200 ] && break; sleep 0.2; done
check "the supervisor's new room ($R) answers a search ($code)" [ "$code" = 200 ] && [ "$R" != "$ROOM" ]
ROOM=$R
W=$(workers | head -n 1)
check "with a worker of its own ($W)" [ -n "$W" ]
seal_of "$T/fac/sealroom.db" demo current "$T/seal"
check "rita's grant is revoked" vendor_decide "$T/fac/demo-keys/vendor.key" "$T/seal" otto revoke demo@current --reviewer rita --reason test
check "and sam's, the last" vendor_decide "$T/fac/demo-keys/vendor.key" "$T/seal" otto revoke demo@current --reviewer sam --reason test
gone=no
for i in $(seq 1 50); do kill -0 "$W" 2>/dev/null || { gone=yes; break; }; sleep 0.2; done
check "the last revocation stops the search worker within 10 s ($gone)" [ "$gone" = yes ]

demo_down
check "nothing of sealroom in /dev/shm after" sh -c "! ls -A /dev/shm | grep -qi sealroom"
done_testing
