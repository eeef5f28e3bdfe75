#!/bin/sh
# halt, shred and revoke reach the running room within seconds, from another process: the
# room watches the decision tables (web_watch), so however a decision is taken it wipes
# the release's key and frees its text. Revoking one of two reviewers ends that reviewer's
# session and keeps the release open for the other; revoking the last one wipes it, and the
# room's memory (read as root through /proc/PID/mem) then holds no sealed line of it; a
# release unlocked again and then halted is wiped the same way, and a shredded one too.
. tests/cli/lib.sh

if [ "$(id -u)" -ne 0 ]; then
	fail "this test needs root: it reads the room's memory"
	done_testing
	exit 1
fi
PORT=$((20000 + ($$ + 7919) % 20000))
U="https://127.0.0.1:$PORT"
WAIT=5 # seconds a decision may take to reach the room (it looks every second)
mkdir "$T/src"
i=1; while [ $i -le 300 ]; do echo "static int withdrawn_line_marker_$i(void) { return $i * 17; }"; i=$((i + 1)); done >"$T/src/secret.c"
# start_demo NAME PORT: a demo room over $T/src in $T/NAME; sets DEMO, ROOM, U, VKEY and
# SEAL (the release's seal, as the vendor keeps it: its decisions name it)
start_demo() {
	U="https://127.0.0.1:$2"
	rm -f "$T/demo.json" # the last demo's line is not this one's
	"$SR" demo "$T/src" -C "$T/$1" --listen "127.0.0.1:$2" --json >"$T/demo.json" 2>"$T/demo.err" &
	DEMO=$!
	for i in $(seq 1 600); do grep -q '"url":"https://' "$T/demo.json" && break; kill -0 $DEMO 2>/dev/null || break; sleep 0.2; done
	if ! grep -q '"url":"https://' "$T/demo.json"; then
		fail "demo did not come up: $(head -c 600 "$T/demo.err")"
		kill $DEMO 2>/dev/null
		done_testing
		exit 1
	fi
	export SEALROOM_HOME="$T/$1"
	VKEY="$T/$1/demo-keys/vendor.key"
	seal_of "$T/$1/sealroom.db" demo current "$T/$1.seal"
	SEAL="$T/$1.seal"
	ROOM=$(sed -n 's/.*room pid \([0-9]*\).*/\1/p' "$T/demo.err" | head -n 1)
}

# login LOGIN: a session cookie for the demo account in $T/LOGIN.cookie
login() { python3 tests/cli/login.py "$T/demo.json" "$U" "$1" "$T/$1.cookie"; }
# view LOGIN [FROM]: the HTTP status of a view of secret.c (body in $T/body)
view() {
	curl -sk --max-time 30 -b "$(cat "$T/$1.cookie")" -o "$T/body" -w '%{http_code}' "$U/r/demo@current/blob/secret.c?from=${2:-1}"
}
# refused_within LOGIN: the seconds until a view by LOGIN is refused (or "never")
refused_within() {
	s0=$(date +%s)
	while :; do
		c=$(view "$1")
		[ "$c" != 200 ] && { echo $(($(date +%s) - s0)); return; }
		[ $(($(date +%s) - s0)) -gt $WAIT ] && { echo never; return; }
		sleep 0.2
	done
}
# wiped_within WHY: the seconds until the room says it let go of demo@current for WHY
wiped_within() {
	s0=$(date +%s)
	while ! grep -q "'demo@current' is $1: its key is wiped" "$T/demo.err"; do
		[ $(($(date +%s) - s0)) -gt $WAIT ] && { echo never; return; }
		sleep 0.2
	done
	echo $(($(date +%s) - s0))
}
hex() { printf '%s' "$1" | od -An -tx1 | tr -d ' \n'; }
L1=$(hex 'withdrawn_line_marker_3(void) { return 3 * 17; }')
L2=$(hex 'withdrawn_line_marker_250(void)')
L3=$(hex 'withdrawn_line_marker_77(void) { return 77 * 17; }')
lines_in_room() { python3 tests/cli/memscan.py "$ROOM" "$L1" "$L2" "$L3"; }

# A: revoking one of two reviewers ends his session and keeps the release open for the
# other; a halt ends hers within seconds and wipes the release
start_demo fac1 "$PORT"
login rita
login sam
for i in 1 2 3 4 5 6; do view rita "$i" >/dev/null; done
check "both reviewers read the release" [ "$(view rita)" = 200 ] && [ "$(view sam)" = 200 ]
set -- $(lines_in_room)
check "room memory holds the sealed lines before (so the scan finds them: $1 $2 $3)" [ "$1" -gt 0 ] && [ "$2" -gt 0 ] && [ "$3" -gt 0 ]
expect_ok "revoke sam from another process (the vendor's signed decision)" vendor_decide "$VKEY" "$SEAL" otto revoke demo@current --reviewer sam --reason test
w=$(refused_within sam)
check "sam's next request is refused within $WAIT s ($w)" [ "$w" != never ]
sleep 2
check "rita still reads: the release stays open while a grant is active" [ "$(view rita 7)" = 200 ]
check "its key is not wiped for that" sh -c "! grep -q \"'demo@current' is revoked\" '$T/demo.err'"
expect_ok "halt from another process" vendor_decide "$VKEY" "$SEAL" otto halt demo@current
w=$(refused_within rita)
check "rita's next request is refused within $WAIT s ($w)" [ "$w" != never ]
check "and shows no code" sh -c "! grep -q withdrawn_line_marker '$T/body'"
w=$(wiped_within halted)
check "the room lets go of the halted release within $WAIT s ($w)" [ "$w" != never ]
set -- $(lines_in_room)
check "room memory: no sealed line left after the halt ($1 $2 $3 copies)" [ "$1 $2 $3" = "0 0 0" ]
check "the same room process (not a restart)" sh -c "kill -0 $ROOM && ! grep -q 'room restarted' '$T/demo.err'"
kill $DEMO; wait $DEMO

# B: revoking the last reviewer wipes the release; unlocked again (the offline unlock
# against the running room) and then shredded, it is wiped again
start_demo fac2 "$((PORT + 1))"
login rita
login sam
for i in 1 2 3; do view rita "$i" >/dev/null; done
view sam >/dev/null
set -- $(lines_in_room)
check "room memory holds the sealed lines ($1 $2 $3)" [ "$1" -gt 0 ] && [ "$2" -gt 0 ] && [ "$3" -gt 0 ]
expect_ok "revoke rita (the vendor's decision)" vendor_decide "$VKEY" "$SEAL" otto revoke demo@current --reviewer rita --reason test
expect_ok "revoke sam, the last reviewer" "$SR" revoke demo@current --reviewer sam --reason test --as otto
w=$(refused_within sam)
check "sam's next request is refused within $WAIT s ($w)" [ "$w" != never ]
w=$(wiped_within revoked)
check "the room lets go of the release within $WAIT s ($w)" [ "$w" != never ]
set -- $(lines_in_room)
check "room memory: no sealed line left after the last revocation ($1 $2 $3 copies)" [ "$1 $2 $3" = "0 0 0" ]
expect_ok "unlock request" "$SR" unlock request demo@current --for 1h --out "$T/req"
expect_ok "unlock respond (the vendor)" "$SR" unlock respond "$T/req" --vendor-key "$VKEY" --out "$T/resp"
expect_ok "unlock apply" "$SR" unlock apply "$T/resp"
for i in $(seq 1 100); do
	set -- $(lines_in_room)
	[ "$1" -gt 0 ] && break
	sleep 0.2
done
check "unlocked again, the room holds the lines again ($1 $2 $3)" [ "$1" -gt 0 ]
sleep 2
check "an unlock without a live grant is not taken for a revocation" sh -c "[ \"\$(grep -c \"'demo@current' is\" '$T/demo.err')\" = 1 ]"
expect_ok "shred from another process" vendor_decide "$VKEY" "$SEAL" otto shred demo@current
w=$(wiped_within shredded)
check "the room lets go of the shredded release within $WAIT s ($w)" [ "$w" != never ]
set -- $(lines_in_room)
check "room memory: no sealed line left after the shred ($1 $2 $3 copies)" [ "$1 $2 $3" = "0 0 0" ]
kill $DEMO; wait $DEMO
done_testing
