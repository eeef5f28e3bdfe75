#!/bin/sh
# The log, not a row, says whether a grant is live, in the running room: the operator
# sets a revoked reviewer's grant back to active with sqlite3 (its statement signed by the
# vendor and countersigned, its terms the signed ones: every row check passes), and the
# reviewer, logged in again, is refused because the log holds the revocation; the refusal
# is logged; the other reviewer reads on.
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
done_testing
