#!/bin/sh
# A room that hangs (here: stopped with SIGSTOP, so that it neither answers nor dies): the
# request it does not answer within serve's --answer-timeout fails with 503 and one line
# saying so, the supervisor kills that room and starts another, the front lives on, and the
# new room answers once the release is unlocked again (keys die with the room); requests
# answered in time are not touched; the option's bad values are usage errors.
. tests/cli/lib.sh

if [ "$(id -u)" -ne 0 ]; then
	fail "this test needs root: serve locks the room's memory and drops the front's uid"
	done_testing
	exit 1
fi
expect_fail "--answer-timeout 0" 2 "is 1 to 600 seconds" "$SR" serve --answer-timeout 0
expect_fail "--answer-timeout 601" 2 "is 1 to 600 seconds" "$SR" serve --answer-timeout 601
expect_fail "--answer-timeout not a number" 2 "wants a number" "$SR" serve --answer-timeout soon

PORT=$((20000 + ($$ + 3571) % 20000))
U="https://127.0.0.1:$PORT"
mkdir "$T/src"
i=1; while [ $i -le 50 ]; do echo "int hung_marker_$i(void) { return $i; }"; i=$((i + 1)); done >"$T/src/a.c"
# the facility, its accounts and grants, made by the demo (stopped again)
"$SR" demo "$T/src" -C "$T/fac" --listen "127.0.0.1:$PORT" --json >"$T/demo.json" 2>"$T/demo.err" &
DEMO=$!
for i in $(seq 1 600); do [ -s "$T/demo.json" ] && break; kill -0 $DEMO 2>/dev/null || break; sleep 0.2; done
kill $DEMO; wait $DEMO
check "the demo made the facility" grep -q '"url":"https://' "$T/demo.json"
export SEALROOM_HOME="$T/fac"
VKEY="$T/fac/demo-keys/vendor.key"

"$SR" serve --listen "127.0.0.1:$PORT" --answer-timeout 2 >"$T/serve.out" 2>"$T/serve.err" &
SERVE=$!
for i in $(seq 1 300); do grep -q '^serving ' "$T/serve.out" && break; kill -0 $SERVE 2>/dev/null || break; sleep 0.2; done
check "serve is up" grep -q '^serving https://' "$T/serve.out"
FRONT=$(sed -n 's/.*front pid \([0-9]*\) .*/\1/p' "$T/serve.err" | head -n 1)
ROOM=$(sed -n 's/.*room pid \([0-9]*\).*/\1/p' "$T/serve.err" | head -n 1)
unlock() {
	rm -f "$T/req" "$T/resp"
	"$SR" unlock request demo@current --for 1h --out "$T/req" >/dev/null &&
		"$SR" unlock respond "$T/req" --vendor-key "$VKEY" --out "$T/resp" >/dev/null &&
		"$SR" unlock apply "$T/resp" >/dev/null
}
# view: the HTTP status of a view as rita (body in $T/body)
view() { curl -sk --max-time 30 -b "$(cat "$T/rita.cookie")" -o "$T/body" -w '%{http_code}' "$U/r/demo@current/blob/a.c"; }
check "unlock" unlock
check "rita logs in" python3 tests/cli/login.py "$T/demo.json" "$U" rita "$T/rita.cookie"
code=000
for i in $(seq 1 50); do code=$(view); [ "$code" = 200 ] && break; sleep 0.2; done
check "a view is answered ($code)" [ "$code" = 200 ]

# the room hangs: the request fails after the timeout, not before, not much after
kill -STOP "$ROOM"
s0=$(date +%s%N)
code=$(view)
s1=$(date +%s%N)
ms=$(((s1 - s0) / 1000000))
check "the request the room does not answer fails with 503 ($code)" [ "$code" = 503 ]
check "one line saying why" sh -c "[ \"\$(wc -l <'$T/body')\" = 1 ] && grep -q '^the room did not answer within 2 s: it is restarted; try again in a moment\$' '$T/body'"
check "after the timeout: 2 s to 10 s ($ms ms)" [ "$ms" -ge 1900 ] && [ "$ms" -le 10000 ]
for i in $(seq 1 100); do grep -q 'room restarted' "$T/serve.err" && break; sleep 0.2; done
check "the supervisor says why it stopped the room" grep -q 'the room did not answer a request within 2 s; stopping it' "$T/serve.err"
check "the hung room is gone" sh -c "! kill -0 $ROOM 2>/dev/null"
NEWROOM=$(sed -n 's/.*room restarted, pid \([0-9]*\).*/\1/p' "$T/serve.err" | tail -n 1)
check "a new room process ($NEWROOM)" [ -n "$NEWROOM" ] && [ "$NEWROOM" != "$ROOM" ]
check "the front lives on" kill -0 "$FRONT"
# its keys died with it: locked until the vendor unlocks again, then answered
code=$(view)
check "the new room answers at once: the release is locked ($code)" [ "$code" = 503 ] && grep -q 'locked' "$T/body"
check "unlock again" unlock
code=000
for i in $(seq 1 50); do code=$(view); [ "$code" = 200 ] && break; sleep 0.2; done
check "the next view is answered by the new room ($code)" [ "$code" = 200 ]
check "and only one room was stopped" [ "$(grep -c 'stopping it' "$T/serve.err")" = 1 ]

kill $SERVE; wait $SERVE
check "SIGTERM stops every process" sh -c "! kill -0 $FRONT 2>/dev/null && ! kill -0 $NEWROOM 2>/dev/null"
done_testing
