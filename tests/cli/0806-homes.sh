#!/bin/sh
# A home for every role: after login the vendor, the operator and the lab lead land on a
# page of their own; each shows what that role decides or watches (exposure with the same
# bytes as `report exposure`, findings vendor first, decisions waiting with the exact
# command, held sessions resumed through the same function as `session resume`, the
# facility's health, the lab's notes and coverage); every other account, a reviewer above
# all, gets the answer of a page that does not exist.
. tests/cli/lib.sh

mkdir -p "$T/src/many"
i=1; while [ $i -le 40 ]; do echo "static int home_fn_$i(int alpha) { return alpha * $i; }"; i=$((i + 1)); done >"$T/src/main.c"
i=1; while [ $i -le 70 ]; do echo "int many_marker_$i;" >"$T/src/many/f$i.c"; i=$((i + 1)); done
demo_up "$T/src" 3571
VKEY="$T/fac/demo-keys/vendor.key"

# another lab with a reviewer and a lead, nominated on nothing; a second reviewer of the
# demo's lab, nominated and waiting for the vendor
"$SR" org add lab2 --kind lab >/dev/null
echo 'a long enough password' | "$SR" user add rob --org lab2 --role reviewer --password-stdin --json >"$T/rob.json"
echo 'a long enough password' | "$SR" user add lee --org lab2 --role auditor --password-stdin --json >"$T/lee.json"
echo 'a long enough password' | "$SR" user add pat --org evallab --role reviewer --password-stdin --json >"$T/pat.json"
expect_ok "the lab nominates pat" "$SR" nominate demo@current --reviewer pat --as lena
secret() { python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["totp_secret"])' "$1"; }

login_demo rita; check "rita lands on the releases" sh -c "case '$home' in */releases) ;; *) false;; esac"
login_demo vera; check "vera lands on her page" sh -c "case '$home' in */vendor) ;; *) false;; esac"
login_demo otto; check "otto lands on his page" sh -c "case '$home' in */operator) ;; *) false;; esac"
login_demo lena; check "lena lands on her lab's page" sh -c "case '$home' in */lab) ;; *) false;; esac"
login rob 'a long enough password' "$(secret "$T/rob.json")"
login lee 'a long enough password' "$(secret "$T/lee.json")"
check "lee (a lab lead) lands on her lab's page" sh -c "case '$home' in */lab) ;; *) false;; esac"
check "/ sends the vendor home" [ "$(c -b "$T/vera" -o /dev/null -w '%{redirect_url}' "$U/")" = "$U/vendor" ]

# what the reviewer does: a finding, a note, then a walk over 70 files that holds her
check "rita reads main.c" [ "$(c -b "$T/rita" -o /dev/null -w '%{http_code}' "$U/r/demo@current/blob/main.c")" = 200 ]
check "rita files a finding" [ "$(post rita /r/demo@current/findings --data-urlencode path=main.c --data-urlencode from=3 --data-urlencode to=4 --data-urlencode 'title=Multiplier wraps' --data-urlencode severity=high --data-urlencode cwe=190)" = 303 ]
check "rita keeps a note" [ "$(post rita /r/demo@current/notes --data-urlencode path=main.c --data-urlencode line=3 --data-urlencode 'text=check the multiplier bound')" = 303 ]
st=$(c -b "$T/rita" -o "$T/walk.json" -w '%{http_code}' "$U/api/search?r=demo@current&q=many_marker&limit=100")
check "a search over 70 files holds rita" sh -c "[ '$st' = 403 ] && grep -q 'held for review' '$T/walk.json'"
hold=$("$SR" session holds --json | python3 -c 'import json,sys; print(json.loads(sys.stdin.readline())["session"])')
check "the hold is listed" [ -n "$hold" ]

# the vendor's page names the checkpoint it was computed at: wait for the room's timer to
# sign one over everything so far
wait_checkpoint() {
	for i in $(seq 1 50); do
		n=$(sqlite3 "$T/fac/sealroom.db" 'SELECT count(*) FROM log_entries')
		[ "$(c "$U/log/checkpoint" | sed -n 2p)" = "$n" ] && break; sleep 0.2
	done
}
wait_checkpoint

# the vendor
check "vendor page" [ "$(c -b "$T/vera" -o "$T/v.html" -w '%{http_code}' "$U/vendor")" = 200 ]
check "vendor: the nomination waits, with its command" grep -q 'sealroom vendor sign approve demo@current --reviewer pat --from DATE --until DATE --seal demo-current.seal --vendor-key VENDOR.key --out approve-pat.decision</pre>' "$T/v.html"
check "vendor: and the objection" grep -q 'sealroom vendor sign object demo@current --reviewer pat --reason TEXT --seal demo-current.seal --vendor-key VENDOR.key --out object-pat.decision' "$T/v.html"
check "vendor: and who applies the file" grep -q 'sealroom apply approve-pat.decision --as OPERATOR' "$T/v.html"
check "vendor: the hold, with its command" grep -q "sealroom session resume $hold --as vera" "$T/v.html"
check "vendor: no resume form (offline only)" sh -c "! grep -q 'action=\"/operator/resume\"' '$T/v.html'"
check "vendor: the finding" grep -q 'id="finding-1"' "$T/v.html"
check "vendor: its title through the cipher" sh -c "! grep -q 'Multiplier wraps' '$T/v.html'"
check "vendor: the exposure table names rita" grep -q '<td>rita</td>' "$T/v.html"
check "vendor: the hold counted" grep -q 'class="alert">1</td></tr>' "$T/v.html"
check "vendor: no code on the page" sh -c "! grep -q 'home_fn_\|many_marker' '$T/v.html'"

# the exposure: the same bytes as `report exposure` at the same checkpoint
wait_checkpoint
check "exposure JSON" [ "$(c -b "$T/vera" -o "$T/web.json" -w '%{http_code}' "$U/vendor/exposure/demo@current?format=json")" = 200 ]
expect_ok "report exposure" "$SR" report exposure demo@current --json
check "web and CLI: the same bytes" cmp -s "$T/out" "$T/web.json"
check "at the log's checkpoint" python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); assert d["checkpoint"]["size"]==int(sys.argv[2]) and d["labs"]["evallab"]["reviewers"]["rita"]["holds"]==1' "$T/web.json" "$n"
check "exposure page" [ "$(c -b "$T/vera" -o "$T/x.html" -w '%{http_code}' "$U/vendor/exposure/demo@current")" = 200 ]
check "exposure page: the treemap" grep -q '<svg' "$T/x.html"

# the vendor decides offline with the command shown (no facility: only the seal and the
# key), and the operator applies the file on the operator's page: the room then waits for no one
cmd=$(grep -o 'sealroom vendor sign approve demo@current --reviewer pat [^<]*' "$T/v.html" | head -n 1)
seal_of "$T/fac/sealroom.db" demo current "$T/demo-current.seal"
run sh -c "cd '$T' && SEALROOM_HOME=/nonexistent $(printf '"%s" %s' "$SR" "${cmd#sealroom }" | sed -e "s|VENDOR.key|$VKEY|" -e 's|--from DATE --until DATE|--from 2020-01-01 --until 2099-01-01|')"
check "the vendor signs (rc $rc: $(head -c 200 "$T/err"))" [ "$rc" = 0 ] && [ -s "$T/approve-pat.decision" ]
c -b "$T/otto" -o "$T/o0.html" "$U/operator"
check "the operator's page has the form" grep -q 'action="/operator/apply"' "$T/o0.html"
check "a reviewer may not apply it" [ "$(post rita /operator/apply --data-urlencode "decision@$T/approve-pat.decision")" = 404 ]
cp "$T/approve-pat.decision" "$T/forged.decision"; sed -i 's/^reviewer pat$/reviewer rita/' "$T/forged.decision"
check "an edited decision is refused" [ "$(post otto /operator/apply --data-urlencode "decision@$T/forged.decision")" = 403 ]
check "it says why" grep -q 'not signed by the vendor' "$T/post.html"
check "the operator applies it" [ "$(post otto /operator/apply --data-urlencode "decision@$T/approve-pat.decision")" = 303 ]
check "once only" [ "$(post otto /operator/apply --data-urlencode "decision@$T/approve-pat.decision")" = 403 ]
check "it says why" grep -q 'applies once' "$T/post.html"
check "logged with the vendor's signed decision, applied by otto" sh -c "sqlite3 '$T/fac/sealroom.db' \"SELECT CAST(data AS TEXT) FROM log_entries\" | grep '\"statement\":\"sealroom/decision/v1' | grep '\"reviewer\":\"pat\"' | grep -q '\"actor\":\"otto\"'"
c -b "$T/vera" -o "$T/v2.html" "$U/vendor"
check "vendor: the nomination no longer waits" sh -c "! grep -q 'object demo@current --reviewer pat' '$T/v2.html'"

# the operator
check "operator page" [ "$(c -b "$T/otto" -o "$T/o.html" -w '%{http_code}' "$U/operator")" = 200 ]
check "operator: grants with their state" grep -q '<td>rita</td><td class="state active">active</td>' "$T/o.html"
check "operator: nominations with their state" grep -q '<td>pat</td><td class="state approved">approved</td>' "$T/o.html"
check "operator: pat's grant, active" grep -q '<td>pat</td><td class="state active">active</td>' "$T/o.html"
check "operator: the held session and its form" grep -q "name=\"session\" value=\"$hold\"" "$T/o.html"
check "operator: the unlock window" grep -q 'unlock demo@current</td><td class="open">unlocked until' "$T/o.html"
check "operator: the log's size" grep -q "id=\"log-size\">[0-9]* entries; database [0-9]* bytes" "$T/o.html"
check "operator: the last checkpoint" grep -q 'id="checkpoint">size [0-9]*, signed ' "$T/o.html"
check "operator: no finding" sh -c "! grep -q 'finding-1' '$T/o.html'"
check "operator: no note" sh -c "! grep -q 'note-1' '$T/o.html'"
check "resume without the form's token refused" [ "$(c -b "$T/otto" -o /dev/null -w '%{http_code}' -X POST "$U/operator/resume" --data-urlencode "session=$hold")" = 403 ]
check "resume by GET refused" [ "$(c -b "$T/otto" -o /dev/null -w '%{http_code}' "$U/operator/resume?session=$hold")" = 405 ]
check "resume of a session that is not held" [ "$(post otto /operator/resume --data-urlencode session=0123456789abcdef)" = 404 ]
check "it says why" grep -q 'is not held' "$T/post.html"
check "rita may not resume herself" [ "$(post rita /operator/resume --data-urlencode "session=$hold")" = 404 ]
check "still held" [ "$(c -b "$T/rita" -o /dev/null -w '%{http_code}' "$U/r/demo@current/blob/main.c")" = 403 ]
check "the operator resumes" [ "$(post otto /operator/resume --data-urlencode "session=$hold")" = 303 ]
check "rita reads again" [ "$(c -b "$T/rita" -o /dev/null -w '%{http_code}' "$U/r/demo@current/blob/main.c")" = 200 ]
check "logged as session_resume by otto" sh -c "sqlite3 '$T/fac/sealroom.db' \"SELECT CAST(data AS TEXT) FROM log_entries\" | grep '\"type\":\"session_resume\"' | grep -q '\"actor\":\"otto\"'"
expect_ok "session holds" "$SR" session holds
check "no hold left" [ ! -s "$T/out" ]
c -b "$T/otto" -o "$T/o2.html" "$U/operator"
check "operator: no hold left on the page" grep -q 'id="no-holds"' "$T/o2.html"

# the lab lead
check "lab page" [ "$(c -b "$T/lena" -o "$T/l.html" -w '%{http_code}' "$U/lab")" = 200 ]
check "lab: the finding" grep -q 'id="finding-1"' "$T/l.html"
check "lab: the note" grep -q 'id="note-1"' "$T/l.html"
check "lab: the note through the cipher" sh -c "! grep -q 'multiplier bound' '$T/l.html'"
check "lab: the coverage names rita" grep -q '<td>rita</td>' "$T/l.html"
check "lab: the notes route sends her home" [ "$(c -b "$T/lena" -o /dev/null -w '%{redirect_url}' "$U/r/demo@current/notes")" = "$U/lab" ]
check "lab: her lab's exposure" [ "$(c -b "$T/lena" -o "$T/lx.json" -w '%{http_code}' "$U/lab/exposure/demo@current?format=json")" = 200 ]
check "lab: only her lab" python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); assert d["lab"]=="evallab" and list(d["labs"])==["evallab"]' "$T/lx.json"
check "another lab's lead: nominated on nothing" [ "$(c -b "$T/lee" -o "$T/lee.html" -w '%{http_code}' "$U/lab")" = 200 ]
check "another lab's lead: no finding, note or release" sh -c "! grep -q 'finding-1\|note-1\|demo@current' '$T/lee.html'"
check "another lab's lead: no exposure" [ "$(c -b "$T/lee" -o /dev/null -w '%{http_code}' "$U/lab/exposure/demo@current")" = 404 ]

# everyone else: the answer of a page that does not exist, byte for byte
c -b "$T/rita" -o "$T/none.html" "$U/no/such/page"
for pair in rita:/vendor rita:/operator rita:/lab rita:/vendor/exposure/demo@current rita:/lab/exposure/demo@current \
	otto:/vendor otto:/lab otto:/vendor/exposure/demo@current vera:/operator vera:/lab lena:/vendor lena:/operator \
	lena:/vendor/exposure/demo@current rob:/vendor rob:/operator rob:/lab lee:/vendor lee:/operator vera:/vendor/nope \
	vera:/vendor/exposure/nope; do
	who=${pair%%:*}; p=${pair#*:}
	check "$who at $p: not found" [ "$(c -b "$T/$who" -o "$T/got.html" -w '%{http_code}' "$U$p")" = 404 ]
done
c -b "$T/rita" -o "$T/v-rita.html" "$U/vendor"
check "a reviewer at /vendor sees what a missing page shows" cmp -s "$T/none.html" "$T/v-rita.html"
c -b "$T/rita" -o "$T/o-rita.html" "$U/operator"
check "a reviewer at /operator sees what a missing page shows" cmp -s "$T/none.html" "$T/o-rita.html"
check "no session: to the login" [ "$(c -o /dev/null -w '%{http_code}' "$U/vendor")" = 303 ]
check "a POST elsewhere below /operator refused" [ "$(post otto /operator/grants --data-urlencode x=1)" = 405 ]

demo_down
done_testing
