#!/bin/sh
# findings in the room: a reviewer files one on selected lines of a file view; the vendor
# and the lab (its lead too) see it, the operator and another lab do not; 12 tokens of code
# refused; the title comes back through the session's cipher, never as plain text; the
# vendor acknowledges it and the timeline names who did what.
. tests/cli/lib.sh

mkdir -p "$T/src"
i=1; while [ $i -le 80 ]; do echo "static int room_finding_fn_$i(int alpha, int beta) { return alpha * $i + beta; }"; i=$((i + 1)); done >"$T/src/main.c"
demo_up "$T/src" 2713
"$SR" org add lab2 --kind lab >/dev/null
echo 'a long enough password' | "$SR" user add rob --org lab2 --role reviewer --password-stdin --json >"$T/rob.json"

login_demo rita
login_demo vera
login_demo otto
login_demo lena
login rob 'a long enough password' "$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["totp_secret"])' "$T/rob.json")"

check "file view" [ "$(c -b "$T/rita" -o "$T/blob.html" -w '%{http_code}' "$U/r/demo@current/blob/main.c")" = 200 ]
check "the finding form" grep -q 'id="finding-form"' "$T/blob.html"
csrf=$(sed -n 's/.*name="csrf" value="\([0-9a-f]*\)".*/\1/p' "$T/blob.html" | head -n 1)
q12=$(sed -n 3p "$T/src/main.c" | python3 -c 'import sys,re; t=re.findall(r"[A-Za-z_][A-Za-z0-9_]*|[0-9]+|[^\sA-Za-z0-9_]+", sys.stdin.read()); print(" ".join(t[:12]))')
check "12 tokens refused" [ "$(post rita /r/demo@current/findings --data-urlencode path=main.c --data-urlencode from=3 --data-urlencode to=3 --data-urlencode 'title=Quoted' --data-urlencode severity=high --data-urlencode "text=$q12")" = 403 ]
check "the refusal says why" grep -q 'finding refused: it repeats the sealed code' "$T/post.html"
check "past the end refused" [ "$(post rita /r/demo@current/findings --data-urlencode path=main.c --data-urlencode from=79 --data-urlencode to=81 --data-urlencode 'title=x' --data-urlencode severity=low)" = 403 ]
check "bad cvss refused" [ "$(post rita /r/demo@current/findings --data-urlencode path=main.c --data-urlencode from=1 --data-urlencode to=2 --data-urlencode 'title=x' --data-urlencode severity=cvss --data-urlencode cvss=CVSS:3.1/AV:N)" = 403 ]
check "reviewer files" [ "$(post rita /r/demo@current/findings --data-urlencode path=main.c --data-urlencode from=10 --data-urlencode to=12 --data-urlencode 'title=Unchecked multiplier overflow' --data-urlencode severity=cvss --data-urlencode cvss=CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H --data-urlencode cwe=190 --data-urlencode 'text=alpha times i can wrap')" = 303 ]
check "the vendor sees it" [ "$(c -b "$T/vera" -o "$T/v.html" -w '%{http_code}' "$U/r/demo@current/findings")" = 200 ]
check "vendor list has it" grep -q 'id="finding-1"' "$T/v.html"
check "the score" grep -q 'critical 9.8' "$T/v.html"
check "title not as plain text" sh -c "! grep -q 'Unchecked multiplier' '$T/v.html'"
check "the lab's lead sees it" sh -c "curl -sk -b '$T/lena' '$U/r/demo@current/findings' | grep -q 'id=\"finding-1\"'"
check "the operator does not" [ "$(c -b "$T/otto" -o /dev/null -w '%{http_code}' "$U/r/demo@current/findings")" = 404 ]
check "the operator: not one either" [ "$(c -b "$T/otto" -o /dev/null -w '%{http_code}' "$U/r/demo@current/findings/1")" = 404 ]
check "another lab sees none" sh -c "curl -sk -b '$T/rob' '$U/r/demo@current/findings' | grep -q 'id=\"none\"'"
check "another lab: not the finding" [ "$(c -b "$T/rob" -o /dev/null -w '%{http_code}' "$U/r/demo@current/findings/1")" = 404 ]
check "another lab cannot change it" [ "$(post rob /r/demo@current/findings/1 --data-urlencode state=fixed)" != 303 ]
check "reviewer may not acknowledge" [ "$(post rita /r/demo@current/findings/1 --data-urlencode state=acknowledged)" = 403 ]
check "vendor acknowledges" [ "$(post vera /r/demo@current/findings/1 --data-urlencode state=acknowledged)" = 303 ]
check "timeline" sh -c "curl -sk -b '$T/vera' '$U/r/demo@current/findings/1' >'$T/one.html' && grep -q 'id=\"timeline\"' '$T/one.html' && grep -q 'vera</span> <b>acknowledged' '$T/one.html' && grep -q 'rita</span> <b>open' '$T/one.html'"
check "the vendor disputes it" [ "$(post vera /r/demo@current/findings/1 --data-urlencode state=disputed)" = 303 ]
check "the lab's lead (no grant) comments: refused before any check of the code" [ "$(post lena /r/demo@current/findings/1 --data-urlencode state=open --data-urlencode "comment=$q12")" = 403 ]
check "the refusal is the grant's, not the code's" sh -c "grep -q 'a comment is checked against the code, a query of your grant: no grant' '$T/post.html' && ! grep -q 'repeats the sealed code' '$T/post.html'"
check "a reviewer with the grant may comment" [ "$(post rita /r/demo@current/findings/1 --data-urlencode state=open --data-urlencode 'comment=reachable from the parser')" = 303 ]
check "no csrf, no change" [ "$(c -b "$T/vera" -o /dev/null -w '%{http_code}' -X POST "$U/r/demo@current/findings/1" --data-urlencode state=disputed)" = 403 ]
check "logged" [ "$("$SR" log entry 0 >/dev/null; sqlite3 "$T/fac/sealroom.db" "SELECT count(*) FROM log_entries WHERE CAST(data AS TEXT) LIKE '%\"type\":\"finding%'")" -ge 3 ]
# the engagement's state on the console
expect_ok "grant list" "$SR" grant list demo@current --json
check "grant list: rita active" python3 -c 'import json,sys; l=json.load(open(sys.argv[1])); assert any(g["reviewer"]=="rita" and g["state"]=="active" for g in l)' "$T/out"
expect_ok "nomination list" "$SR" nomination list demo@current
check "nomination list: rita approved" grep -q '^rita .*approved' "$T/out"
expect_fail "grant list: no release" 1 "demo@nope" "$SR" grant list demo@nope
expect_fail "nomination: not list" 2 "wants 'list'" "$SR" nomination show demo@current
done_testing
