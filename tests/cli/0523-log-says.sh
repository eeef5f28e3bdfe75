#!/bin/sh
# The log, not a row, says whether a grant is live, in the running room: the operator
# sets a revoked reviewer's grant back to active with sqlite3 (its statement signed by the
# vendor and countersigned, its terms the signed ones: every row check passes), and the
# reviewer, logged in again, is refused because the log holds the revocation; the refusal
# is logged; the other reviewer reads on. The revoked grant's own log entry appended again
# (`log append`) grants nothing either, and log verify names it.
. tests/cli/lib.sh

mkdir "$T/src"
i=1; while [ $i -le 20 ]; do echo "int log_says_line_$i = $i;"; i=$((i + 1)); done >"$T/src/main.c"
demo_up "$T/src" 5523
seal_of "$T/fac/sealroom.db" demo current "$T/seal"
VKEY="$T/fac/demo-keys/vendor.key"
R="$U/r/demo@current"
view() { c -b "$T/$1" -o "$T/body" -w '%{http_code}' "$R/blob/main.c"; }
login_demo rita
login_demo sam
check "rita reads" [ "$(view rita)" = 200 ]
check "sam reads" [ "$(view sam)" = 200 ]
expect_ok "the vendor revokes rita" vendor_decide "$VKEY" "$T/seal" otto revoke demo@current --reviewer rita --reason test
for i in $(seq 1 25); do [ "$(view rita)" = 200 ] || break; sleep 0.2; done
check "rita is refused" [ "$(view rita)" != 200 ]
# the operator's edit: the revoked grant's row set back to active
sqlite3 "$T/fac/sealroom.db" "UPDATE grants SET state = 'active' WHERE reviewer_id = (SELECT id FROM people WHERE login = 'rita')"
check "the row says active" [ "$(sqlite3 "$T/fac/sealroom.db" "SELECT g.state FROM grants g JOIN people p ON p.id = g.reviewer_id WHERE p.login = 'rita'")" = active ]
n0=$(sqlite3 "$T/fac/sealroom.db" "SELECT count(*) FROM log_entries WHERE CAST(data AS TEXT) LIKE '%\"type\":\"grant_refused\"%'")
login_demo rita 1
check "rita, logged in again, is refused" [ "$(view rita)" = 403 ]
check "because the log holds no live grant" grep -q "the log holds no live grant of &#39;rita&#39; for &#39;demo@current&#39;" "$T/body"
check "and shows no code" sh -c "! grep -q log_says_line '$T/body'"
c -b "$T/rita" "$U/releases" >"$T/rel.html"
check "the release is not listed for her" grep -q 'no release is granted to you now' "$T/rel.html"
n1=$(sqlite3 "$T/fac/sealroom.db" "SELECT count(*) FROM log_entries WHERE CAST(data AS TEXT) LIKE '%\"type\":\"grant_refused\"%'")
check "the refusal is logged ($n0 -> $n1)" [ "$n1" -gt "$n0" ]
check "sam reads on" [ "$(view sam)" = 200 ]
# and the log itself: the operator appends rita's own grant_active entry again (its
# statement signed by the vendor and countersigned by the facility) with `log append`
sqlite3 "$T/fac/sealroom.db" "SELECT CAST(data AS TEXT) FROM log_entries WHERE CAST(data AS TEXT) LIKE '%\"type\":\"grant_active\"%' AND CAST(data AS TEXT) LIKE '%\"reviewer\":\"rita\"%' ORDER BY idx LIMIT 1" |
	python3 -c 'import json,sys; e=json.loads(sys.stdin.read()); e.pop("time",None); print(json.dumps(e))' >"$T/replay.json"
check "rita's grant entry is found to replay" grep -q '"statement"' "$T/replay.json"
expect_ok "the operator appends it again" "$SR" log append "$(cat "$T/replay.json")"
check "rita is still refused: an approval grants once" [ "$(view rita)" = 403 ]
check "and shows no code" sh -c "! grep -q log_says_line '$T/body'"
"$SR" log vkey >"$T/vkey"
"$SR" log checkpoint >/dev/null
expect_fail "log verify names the replayed approval" 1 "replays an approval granted before" "$SR" log verify --vkey "$T/vkey"
done_testing
