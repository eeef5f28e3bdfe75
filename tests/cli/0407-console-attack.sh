#!/bin/sh
# The console as the operator's oracle: the facility's user who may use the keyring socket
# names any reviewer (or the vendor) and has the room check texts against the sealed code.
# Every such check is a query of the code, charged to the reviewer's grant as the room's
# pages charge it (searches_per_day, query_min_lines, requests_per_minute), and a text the
# room checks for nobody's grant (the vendor's name, said at the facility) is refused; a
# client that trickles its request, or stops reading, does not keep the room from stopping.
. tests/cli/lib.sh

PORT=$((20000 + ($$ + 407) % 20000))
mkdir -p "$T/vendor" "$T/xfer" "$T/src/.sealroom"
GCC=$(dpkg-query -W -f='${Version}' gcc-12)
python3 - "$T/src" <<'PY'
import os, sys
lines = ["static int secret_%d(int alpha, int beta) { return alpha * %d + beta ^ %d; }" % (i, 1000 + i, 77 * i) for i in range(40)]
open(os.path.join(sys.argv[1], "main.c"), "w").write("\n".join(lines) + "\nint main(void) { return secret_0(1, 2); }\n")
PY
printf 'sealroom/build/v1\ntoolchain gcc-12 %s\nrun mkdir -p out && gcc-12 -O2 -w -o out/fw main.c && sleep 407\noutput out/fw\n' "$GCC" \
	>"$T/src/.sealroom/build"

"$SR" init -C "$T/fac" --name room.example >/dev/null
export SEALROOM_HOME="$T/fac"
"$SR" key new acme --out "$T/vendor/v.key" >/dev/null
"$SR" seal "$T/src" --product fw --version 1.0 --vendor-key "$T/vendor/v.key" >/dev/null
"$SR" org add acme --kind vendor >/dev/null
"$SR" org add lab1 --kind lab >/dev/null
"$SR" org add ops --kind operator >/dev/null
for u in "vera acme vendor" "otto ops operator" "rita lab1 reviewer"; do
	set -- $u; "$SR" user add "$1" --org "$2" --role "$3" >/dev/null
done
"$SR" nominate fw@1.0 --reviewer rita --as otto >/dev/null &&
	seal_of "$SEALROOM_HOME/sealroom.db" fw 1.0 "$T/seal-1.0" &&
	vendor_decide "$T/vendor/v.key" "$T/seal-1.0" otto approve fw@1.0 --reviewer rita --from 2020-01-01 \
		--until 2099-12-31 --quota searches_per_day=4 >/dev/null ||
	fail "setting up the grant"

start_room() {
	(ulimit -l unlimited 2>/dev/null; exec "$SR" serve --insecure-http --listen "127.0.0.1:$PORT" >"$T/serve.out" 2>"$T/serve.err") &
	SERVE=$!
	for i in $(seq 1 100); do [ -S "$T/fac/keyring.sock" ] && break; sleep 0.1; done
}
start_room
trap 'kill $SERVE 2>/dev/null; wait $SERVE 2>/dev/null; rm -rf "$T"' EXIT
check "the room is up" [ -S "$T/fac/keyring.sock" ]
"$SR" unlock request fw@1.0 --for 2h --out "$T/xfer/req" >/dev/null &&
	env -u SEALROOM_HOME "$SR" unlock respond "$T/xfer/req" --vendor-key "$T/vendor/v.key" --out "$T/xfer/resp" >/dev/null &&
	"$SR" unlock apply "$T/xfer/resp" >/dev/null || fail "unlock fw@1.0"
mv "$T/vendor" "$T/vendor.away"

sarif() { # FILE then result objects as JSON on stdin
	python3 -c '
import json, sys
res = [json.loads(l) for l in sys.stdin if l.strip()]
json.dump({"version": "2.1.0", "runs": [{"tool": {"driver": {"name": "scan"}}, "results": res}]}, open(sys.argv[1], "w"))' "$1"
}
# guesses at line 8 of main.c, one right: the operator tries them as rita's findings
python3 - "$T/guess.sarif" "$T/src/main.c" <<'PY'
import json, sys
real = open(sys.argv[2]).read().split("\n")[7]
guesses = [real.replace("1007", str(n)) for n in (1001, 1002, 1003, 1004, 1005, 1006)] + [real]
loc = [{"physicalLocation": {"artifactLocation": {"uri": "main.c"}, "region": {"startLine": 8, "endLine": 8}}}]
res = [{"ruleId": "R", "message": {"text": "guess " + g}, "locations": loc} for g in guesses]
json.dump({"version": "2.1.0", "runs": [{"tool": {"driver": {"name": "scan"}}, "results": res}]}, open(sys.argv[1], "w"))
PY


# 1. one import of many guesses: each result is a query of rita's budget
run "$SR" findings import fw@1.0 "$T/guess.sarif" --as rita
check "an import of guesses is refused" [ $rc = 1 ]
check "no more texts are checked than rita's grant allows (searches_per_day 4)" \
	sh -c "[ \$(grep -c 'refused: .*searches_per_day' '$T/err') -ge 3 ]"
check "so the right guess (result 6) is not told apart" sh -c "! grep -q 'result 6 refused: finding refused: it repeats' '$T/err'"
check "the budget's refusal is logged" sh -c "sqlite3 '$T/fac/sealroom.db' \"SELECT CAST(data AS TEXT) FROM log_entries\" | grep -q '\"type\":\"quota_refusals\"'"
run "$SR" findings import fw@1.0 "$T/guess.sarif" --as rita
check "a second import checks nothing (the day's searches are spent)" sh -c "[ $rc = 1 ] && ! grep -q 'repeats the sealed code' '$T/err' && grep -q 'result 0 refused: .*searches_per_day' '$T/err'"
check "where a file is and how long (a location's refusal) is charged too" sh -c "! grep -q 'has [0-9]* lines' '$T/err'"

# 2. a comment checked against the code in the room: charged to the reviewer, refused for
# the vendor's name (nobody's grant pays, and the vendor is not at the facility)
sarif "$T/one.sarif" <<EOF2
{"ruleId":"R1","message":{"text":"an overflow"},"locations":[{"physicalLocation":{"artifactLocation":{"uri":"main.c"},"region":{"startLine":3,"endLine":3}}}]}
EOF2
sqlite3 "$T/fac/sealroom.db" "DELETE FROM quota_usage" 2>/dev/null
expect_ok "a finding of rita's, one query" "$SR" findings import fw@1.0 "$T/one.sarif" --as rita
real=$(sed -n 8p "$T/src/main.c")
expect_fail "a comment as the vendor, checked in the room: refused" 1 "the vendor comments on the room's pages or with --vendor-key" \
	"$SR" findings state 1 acknowledged --as vera --comment "$real"
expect_fail "nor does a harmless one reach the code" 1 "the vendor comments on the room's pages or with --vendor-key" \
	"$SR" findings state 1 acknowledged --as vera --comment "not reachable"
check "the vendor's comment was not checked (no refusal logged)" sh -c "! sqlite3 '$T/fac/sealroom.db' \"SELECT CAST(data AS TEXT) FROM log_entries\" | grep '\"type\":\"finding_refused\"' | grep -q '\"actor\":\"vera\"'"
for i in 1 2 3; do
	"$SR" findings state 1 disputed --as vera >/dev/null || fail "the vendor's move alone, $i"
	"$SR" findings state 1 open --as rita --comment "still open, try $i" >/dev/null || fail "rita's comment $i"
done
"$SR" findings state 1 disputed --as vera >/dev/null
expect_fail "rita's comments are queries: the fifth check of the day is refused" 1 "searches_per_day" \
	"$SR" findings state 1 open --as rita --comment "$real"
check "and its text never reached the check" sh -c "! grep -q 'repeats the sealed code' '$T/err'"

# 3. a client that trickles its request, and one that never reads its build's frames: the
# room still stops at once (keys wiped) instead of waiting for them
python3 - "$T/fac/keyring.sock" >/dev/null 2>&1 <<'PY' &
import socket, struct, sys, time
s = socket.socket(socket.AF_UNIX); s.connect(sys.argv[1])
s.sendall(b"SRK2C" + struct.pack(">I", 1000))
for i in range(200):
    s.sendall(b" "); time.sleep(5)
PY
SLOW=$!
sleep 1
kill $SERVE; t0=$(date +%s); wait $SERVE; t1=$(date +%s)
check "a trickling console client does not hold the room open ($((t1 - t0)) s)" [ $((t1 - t0)) -lt 8 ]
check "and the keys were wiped on the way out" grep -q "keys wiped" "$T/serve.err"
kill $SLOW 2>/dev/null; wait $SLOW 2>/dev/null

start_room
check "the room is up again" [ -S "$T/fac/keyring.sock" ]
"$SR" unlock request fw@1.0 --for 2h --out "$T/xfer/req2" >/dev/null &&
	env -u SEALROOM_HOME "$SR" unlock respond "$T/xfer/req2" --vendor-key "$T/vendor.away/v.key" --out "$T/xfer/resp2" >/dev/null &&
	"$SR" unlock apply "$T/xfer/resp2" >/dev/null || fail "unlock fw@1.0 again"
# a build (it sleeps 30 s in the sandbox) whose client is gone at once
python3 - "$T/fac/keyring.sock" <<'PY'
import socket, struct, sys
s = socket.socket(socket.AF_UNIX); s.connect(sys.argv[1])
p = b'{"op":"build","release":"fw@1.0"}\n'
s.sendall(b"SRK2C" + struct.pack(">I", len(p)) + p); s.close()
PY
for i in $(seq 1 50); do pgrep -f 'sleep 407' >/dev/null && break; sleep 0.2; done
kill $SERVE; t0=$(date +%s); wait $SERVE; t1=$(date +%s)
check "a build whose client left is killed when the room stops ($((t1 - t0)) s)" [ $((t1 - t0)) -lt 8 ]
check "the failed build is logged" sh -c "sqlite3 '$T/fac/sealroom.db' \"SELECT CAST(data AS TEXT) FROM log_entries\" | grep '\"type\":\"build\"' | grep -q 'the room is stopping'"
done_testing
