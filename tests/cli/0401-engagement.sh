#!/bin/sh
# engagement: orgs, people, nomination, objection, dual-control grants, revoke, halt, shred;
# the vendor's decisions as files signed at the vendor's (vendor sign) and applied here, and
# the operator's forgeries of them (altered, replayed, for another seal, another release).
. tests/cli/lib.sh
. tests/cli/fixtures.sh

"$SR" init -C "$T/fac" --name room.example >/dev/null
export SEALROOM_HOME="$T/fac"
"$SR" key new acme --out "$T/v.key" >/dev/null
"$SR" key new other --out "$T/o.key" >/dev/null
mkdir "$T/src" && printf 'int main(void) { return 0; }\n' >"$T/src/main.c"
# sealed at the vendor's (bundles), imported here; the vendor keeps each bundle's seal
"$SR" seal "$T/src" --product fw --version 1.0 --vendor-key "$T/v.key" --out "$T/b1" >/dev/null
"$SR" seal "$T/src" --product fw --version 2.0 --vendor-key "$T/v.key" --out "$T/b2" >/dev/null
"$SR" import "$T/b1" >/dev/null && "$SR" import "$T/b2" >/dev/null
# the same release name sealed again elsewhere (another tree): a seal this facility lacks
printf 'int main(void) { return 1; }\n' >"$T/src/main.c"
"$SR" seal "$T/src" --product fw --version 1.0 --vendor-key "$T/v.key" --out "$T/b1x" >/dev/null
# vsign KIND P@V BUNDLE OUT ARGS...: the vendor signs a decision on its own machine (no
# facility folder in reach)
vsign() {
	k=$1; rel=$2; b=$3; o=$4; shift 4
	SEALROOM_HOME="$T/nowhere" "$SR" vendor sign "$k" "$rel" --seal "$T/$b/seal" --vendor-key "$T/v.key" --out "$T/$o" "$@"
}

expect_ok "org add vendor" "$SR" org add acme --kind vendor
expect_ok "org add lab" "$SR" org add lab1 --kind lab
expect_ok "org add operator" "$SR" org add ops --kind operator --json
check "org add --json" grep -q '"kind":"operator"' "$T/out"
expect_fail "org add twice" 1 "org 'acme' exists already" "$SR" org add acme --kind vendor
expect_fail "org bad kind" 2 "org kind 'bank' is not one of" "$SR" org add bank --kind bank
expect_fail "org no kind" 2 "usage" "$SR" org add x
expect_ok "org list" "$SR" org list --json
check "org list json" python3 -c 'import json,sys; l=json.load(open(sys.argv[1])); assert [o["name"] for o in l]==["acme","lab1","ops"]' "$T/out"

expect_ok "user add vendor" "$SR" user add vera --org acme --role vendor --name "Vera V"
check "prints a password" grep -Eq '^password: +[a-z2-9]{5}-' "$T/out"
check "prints an otpauth uri" grep -q '^otpauth uri: otpauth://totp/room.example:vera?secret=[A-Z2-7]*&issuer=room.example&algorithm=SHA1&digits=6&period=30' "$T/out"
echo 'a long enough password' | "$SR" user add otto --org ops --role operator --password-stdin --json >"$T/out" 2>"$T/err"
check "password-stdin: no password printed" sh -c "! grep -q password '$T/out' && grep -q totp_secret '$T/out'"
expect_ok "user add reviewer" "$SR" user add rita --org lab1 --role reviewer --json
check "json has a secret" python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); assert len(d["totp_secret"])==32 and d["password"]' "$T/out"
expect_ok "user add reviewer 2" "$SR" user add rob --org lab1 --role reviewer
expect_ok "user add lab lead" "$SR" user add lena --org lab1 --role auditor
expect_fail "role does not fit org" 2 "role 'reviewer' does not fit org 'acme'" "$SR" user add x --org acme --role reviewer
expect_fail "unknown org" 1 "no org 'nope'" "$SR" user add x --org nope --role auditor
expect_fail "login taken" 1 "login 'rita' is taken" "$SR" user add rita --org lab1 --role reviewer
echo short | "$SR" user add y --org lab1 --role reviewer --password-stdin >/dev/null 2>"$T/err"; rc=$?
check "short password refused" [ $rc -eq 2 ] && check "short password message" grep -q "at least 12" "$T/err"
expect_ok "user list" "$SR" user list
check "user list shows rita" grep -q '^rita  *reviewer  *lab1  *active' "$T/out"

# nomination and objection
expect_fail "nominate: unknown release" 1 "no release 'fw@9'" "$SR" nominate fw@9 --reviewer rita --as lena
expect_fail "nominate: not a reviewer" 2 "'lena' is a auditor, not a reviewer" "$SR" nominate fw@1.0 --reviewer lena --as lena
expect_fail "nominate: vendor may not" 1 "may not nominate" "$SR" nominate fw@1.0 --reviewer rita --as vera
expect_fail "nominate: no --as" 2 "--as LOGIN" "$SR" nominate fw@1.0 --reviewer rita
expect_ok "nominate rita" "$SR" nominate fw@1.0 --reviewer rita --note "CC evaluator since 2015" --as lena
expect_ok "nominate rob" "$SR" nominate fw@1.0 --reviewer rob --as otto --json
expect_fail "nominate twice" 1 "already nominated" "$SR" nominate fw@1.0 --reviewer rita --as lena
expect_fail "object without a decision file" 2 "--decision FILE" "$SR" object fw@1.0 --reviewer rob --reason "conflict" --as otto
expect_fail "the facility reads no vendor key" 2 "the vendor's key is not read here" "$SR" object fw@1.0 --reviewer rob --reason "conflict" --as vera --vendor-key "$T/v.key"
expect_fail "vendor sign: another key's seal" 1 "the seal of 'fw@1.0' does not verify" \
	env SEALROOM_HOME="$T/nowhere" "$SR" vendor sign object fw@1.0 --seal "$T/b1/seal" --vendor-key "$T/o.key" --reviewer rob --reason x --out "$T/x.dec"
expect_fail "vendor sign: the seal of another release" 1 "carries the seal of 'fw@2.0'" \
	env SEALROOM_HOME="$T/nowhere" "$SR" vendor sign halt fw@1.0 --seal "$T/b2/seal" --vendor-key "$T/v.key" --out "$T/x.dec"
expect_fail "vendor sign: an objection needs a reason" 2 "--reason TEXT is required" vsign object fw@1.0 b1 x.dec --reviewer rob
expect_fail "vendor sign: not a decision" 2 "'grant' is not a decision" vsign grant fw@1.0 b1 x.dec
check "vendor sign: nothing written on refusal" test ! -e "$T/x.dec"
expect_ok "the vendor signs an objection" vsign object fw@1.0 b1 rob-object.dec --reviewer rob --reason "worked for a competitor"
check "vendor sign needed no facility" test ! -e "$T/nowhere"
expect_fail "vendor sign never overwrites" 1 "exists; refusing to overwrite it" vsign object fw@1.0 b1 rob-object.dec --reviewer rob --reason "again"
# the operator as forger: the file altered (rita for rob) no longer verifies
sed 's/^reviewer rob$/reviewer rita/' "$T/rob-object.dec" >"$T/forged.dec"
expect_fail "an altered decision is refused" 1 "not signed by the vendor of 'fw@1.0'" "$SR" apply "$T/forged.dec" --as otto
expect_fail "a decision for another seal is refused" 1 "names another seal of 'fw@1.0'" sh -c "SEALROOM_HOME='$T/nowhere' '$SR' vendor sign halt fw@1.0 --seal '$T/b1x/seal' --vendor-key '$T/v.key' --out '$T/other-seal.dec' >/dev/null && '$SR' apply '$T/other-seal.dec' --as otto"
expect_fail "a decision for one release applies to no other" 2 "decides on 'fw@1.0', not on 'fw@2.0'" "$SR" object fw@2.0 --decision "$T/rob-object.dec" --as otto
expect_fail "a decision of another kind" 2 "is a decision to object, not to halt" "$SR" halt fw@1.0 --decision "$T/rob-object.dec" --as otto
expect_fail "only the operator applies" 1 "the operator applies the vendor's decisions" "$SR" apply "$T/rob-object.dec" --as lena
check "nothing applied by a refusal" sh -c "[ \"\$(sqlite3 '$T/fac/sealroom.db' \"SELECT state FROM nominations n JOIN people p ON p.id = n.reviewer_id WHERE p.login = 'rob'\")\" = pending ]"
expect_ok "the operator applies the vendor's objection" "$SR" object fw@1.0 --decision "$T/rob-object.dec" --as otto
check "objection logged with the vendor's signature" sh -c "sqlite3 '$T/fac/sealroom.db' \"SELECT count(*) FROM log_entries WHERE CAST(data AS TEXT) LIKE '%\\\"type\\\":\\\"object\\\"%' AND CAST(data AS TEXT) LIKE '%sealroom/decision/v1%'\" | grep -qx 1"
expect_fail "a decision applies once" 1 "was applied already" "$SR" apply "$T/rob-object.dec" --as otto
expect_fail "approve after objection" 1 "the vendor objected to 'rob' for 'fw@1.0': worked for a competitor" "$SR" approve fw@1.0 --reviewer rob --as otto
expect_fail "operator approves inside the window" 1 "objection window for 'rita' on 'fw@1.0' runs until" "$SR" approve fw@1.0 --reviewer rita --as otto
expect_fail "grant before approval" 1 "'rita' is not approved for 'fw@1.0'" "$SR" grant fw@1.0 --reviewer rita --from 2020-01-01 --until 2099-12-31 --as otto

# dual control
expect_fail "grant: bad date" 2 "date '2020-13-01'" "$SR" grant fw@1.0 --reviewer rita --from 2020-13-01 --until 2099-12-31 --as otto
expect_fail "grant: bad days" 2 "days 'funday'" "$SR" grant fw@1.0 --reviewer rita --from 2020-01-01 --until 2099-12-31 --days funday --as otto
expect_fail "grant: bad hours" 2 "hours '18-08'" "$SR" grant fw@1.0 --reviewer rita --from 2020-01-01 --until 2099-12-31 --hours 18-08 --as otto
expect_fail "grant: ended already" 2 "must end in the future" "$SR" grant fw@1.0 --reviewer rita --from 2020-01-01 --until 2020-12-31 --as otto
expect_fail "grant: reviewer cannot" 1 "only the vendor or the operator decides" "$SR" grant fw@1.0 --reviewer rita --from 2020-01-01 --until 2099-12-31 --as rita
G="grant fw@1.0 --reviewer rita --from 2020-01-01 --until 2099-12-31"
expect_fail "grant: quota not NAME=VALUE" 2 "'lines_per_day' is not NAME=VALUE" "$SR" $G --quota lines_per_day --as otto
expect_fail "grant: unknown quota" 2 "'pages' is not a quota" "$SR" $G --quota pages=3 --as otto
expect_fail "grant: quota not a count" 2 "quota 'lines_total': '-5' is not a count or 'unlimited'" "$SR" $G --quota lines_total=-5 --as otto
expect_fail "grant: quota too large" 2 "is not a count" "$SR" $G --quota lines_total=99999999999999999999 --as otto
expect_fail "grant: print_text is 0 or 1" 2 "'print_text' is 0 or 1" "$SR" $G --quota print_text=2 --as otto
check "nothing stored by a refused grant" sh -c "[ \"\$(sqlite3 '$T/fac/sealroom.db' 'SELECT count(*) FROM grants')\" = 0 ]"
# the vendor approves rita with the grant's exact terms, in a file signed at the vendor's
T_ARGS="--reviewer rita --from 2020-01-01 --until 2099-12-31 --lines-per-day 2000 --quota lines_total=20000 --prints 10 --quota searches_per_day=unlimited"
expect_fail "vendor sign: terms are checked" 2 "quota 'lines_total': '-5'" vsign approve fw@1.0 b1 x.dec --reviewer rita --from 2020-01-01 --until 2099-12-31 --quota lines_total=-5
expect_ok "the vendor signs its approval" vsign approve fw@1.0 b1 rita.dec $T_ARGS
check "vendor sign names the file" grep -q "rita.dec: a decision to approve for 'fw@1.0'" "$T/out"
check "the file is a signed note" sh -c "head -1 '$T/rita.dec' | grep -qx 'sealroom/decision/v1' && grep -q '^— acme ' '$T/rita.dec'"
expect_ok "the operator applies it" "$SR" approve fw@1.0 --decision "$T/rita.dec" --as otto
check "grant active" grep -q 'grant active' "$T/out"
check "the operator sees the terms in force" grep -q "quotas: lines_per_day 2000, lines_total 20000, prints 10, bytes_per_day 500000, .*searches_per_day unlimited" "$T/out"
check "defaults are finite" sh -c "grep -q 'requests_per_minute 240' '$T/out' && grep -q 'max_view_lines 400' '$T/out'"
check "the stored terms are explicit" sh -c "sqlite3 '$T/fac/sealroom.db' 'SELECT quotas FROM grants' | grep -q '\"searches_per_day\":-1'"
check "the nomination is approved" sh -c "[ \"\$(sqlite3 '$T/fac/sealroom.db' \"SELECT state FROM nominations n JOIN people p ON p.id = n.reviewer_id WHERE p.login = 'rita'\")\" = approved ]"
check "the statement carries both signatures" sh -c "[ \"\$(sqlite3 '$T/fac/sealroom.db' 'SELECT statement FROM grants' | grep -c -e '^— acme ' -e '^— room.example ')\" = 2 ]"
expect_fail "applied twice" 1 "was applied already" "$SR" apply "$T/rita.dec" --as otto
expect_fail "operator proposes over it" 1 "holds an active grant for 'fw@1.0' already" "$SR" $G --as otto
expect_fail "active already" 1 "active already" "$SR" approve fw@1.0 --reviewer rita --as otto
check "grant logged" sh -c "sqlite3 '$T/fac/sealroom.db' \"SELECT count(*) FROM log_entries WHERE CAST(data AS TEXT) LIKE '%\\\"type\\\":\\\"grant_active\\\"%'\" | grep -qx 1"
check "grant row active" sh -c "sqlite3 '$T/fac/sealroom.db' \"SELECT state, lines_per_day, prints FROM grants\" | grep -qx 'active|2000|10'"

# log verify's audit: what the entries say. rita's views inside her countersigned grant
# pass; the operator's own grant row (rob, objected to) and an account made as a row do
# not, and the audit names the first entry that does not fit
"$SR" log vkey >"$T/log.pub"
"$SR" log checkpoint >/dev/null
"$SR" log append '{"type":"view","actor":"rita","release":"fw@1.0","path":"main.c","lines":[1,1]}' >/dev/null
"$SR" log append '{"type":"search","actor":"rita","release":"fw@1.0","query":"main","results":1}' >/dev/null
expect_ok "audit: views inside the grant" "$SR" log verify --vkey "$T/log.pub" --vendor-vkey "$T/v.key.pub"
check "audit: says what it checked" grep -q '^audit: 2 views, searches, prints, notes and logins inside 1 countersigned grant and accounts, the vendor.s signatures checked' "$T/out"
expect_fail "audit: the grant was not signed by that vendor key" 1 "is not signed by the vendor's key" "$SR" log verify --vkey "$T/log.pub" --vendor-vkey "$T/o.key.pub"
cp -r "$T/fac" "$T/fac-op"
sqlite3 "$T/fac-op/sealroom.db" "INSERT INTO grants (release_id, reviewer_id, state, valid_from, valid_until, days, hour_from, hour_until, lines_per_day, lines_total, prints, quotas, created_at) SELECT r.id, p.id, 'active', 0, 4000000000, 127, 0, 24, -1, -1, -1, '{}', 0 FROM releases r, people p WHERE r.version = '1.0' AND p.login = 'rob'"
N=$(sqlite3 "$T/fac-op/sealroom.db" "SELECT count(*) FROM log_entries")
"$SR" -C "$T/fac-op" log append '{"type":"view","actor":"rob","release":"fw@1.0","path":"main.c","lines":[1,1]}' >/dev/null
expect_fail "audit: a view under an inserted grant row" 1 "log entry $N: a view by 'rob' of 'fw@1.0' outside any live, countersigned grant" "$SR" -C "$T/fac-op" log verify --vkey "$T/log.pub"
rm -rf "$T/fac-op"; cp -r "$T/fac" "$T/fac-op"
N=$(sqlite3 "$T/fac-op/sealroom.db" "SELECT count(*) FROM log_entries")
"$SR" -C "$T/fac-op" log append '{"type":"seal","actor":"acme","release":"fw@1.0","tree_sha256":"00","tree_sha1":"00","seal_hash":"0000000000000000000000000000000000000000000000000000000000000000","files":1,"bytes":1}' >/dev/null
expect_fail "audit: a second seal of a release" 1 "log entry $N: a second seal of 'fw@1.0', another than the one in use" "$SR" -C "$T/fac-op" log verify --vkey "$T/log.pub"
rm -rf "$T/fac-op"; cp -r "$T/fac" "$T/fac-op"
sqlite3 "$T/fac-op/sealroom.db" "INSERT INTO people (login, full_name, role, org_id, pw_hash, totp_secret, created_at) SELECT 'ghost', '', 'reviewer', org_id, pw_hash, totp_secret, created_at FROM people WHERE login = 'rita'"
N=$(sqlite3 "$T/fac-op/sealroom.db" "SELECT count(*) FROM log_entries")
"$SR" -C "$T/fac-op" log append '{"type":"login","actor":"ghost","ip":"10.0.0.1"}' >/dev/null
expect_fail "audit: a login no user_add made" 1 "log entry $N: a login of 'ghost', who no user_add made" "$SR" -C "$T/fac-op" log verify --vkey "$T/log.pub"
rm -rf "$T/fac-op"

# revoke, halt
expect_fail "revoke: both" 2 "either --reviewer" "$SR" revoke fw@1.0 --reviewer rita --lab lab1 --as otto
expect_fail "vendor sign revoke: both" 2 "either --reviewer" vsign revoke fw@1.0 b1 x.dec --reviewer rita --lab lab1
expect_ok "the vendor signs the lab's revocation" vsign revoke fw@1.0 b1 lab.dec --lab lab1 --reason "contract ended"
expect_ok "revoke the lab" "$SR" revoke fw@1.0 --decision "$T/lab.dec" --as otto --json
check "one reviewer revoked" grep -q '"count":1' "$T/out"
expect_fail "revoke again" 1 "lab 'lab1' holds no nomination or grant" "$SR" revoke fw@1.0 --lab lab1 --as otto
cp -r "$T/fac" "$T/fac-op"
N=$(sqlite3 "$T/fac-op/sealroom.db" "SELECT count(*) FROM log_entries")
sqlite3 "$T/fac-op/sealroom.db" "UPDATE grants SET state = 'active'"
"$SR" -C "$T/fac-op" log append '{"type":"view","actor":"rita","release":"fw@1.0","path":"main.c","lines":[1,1]}' >/dev/null
expect_fail "audit: a view after the revocation (its row set active again)" 1 "log entry $N: a view by 'rita' of 'fw@1.0' outside" "$SR" -C "$T/fac-op" log verify --vkey "$T/log.pub"
rm -rf "$T/fac-op"
expect_fail "halt without a decision" 2 "--decision FILE" "$SR" halt fw@1.0 --as otto
expect_ok "the vendor signs a halt" vsign halt fw@1.0 b1 halt.dec
expect_ok "the vendor signs another halt" vsign halt fw@1.0 b1 halt2.dec
expect_ok "halt" "$SR" halt fw@1.0 --decision "$T/halt.dec" --as otto
check "halt says so" grep -q 'release halted' "$T/out"
expect_fail "halt replayed" 1 "was applied already" "$SR" halt fw@1.0 --decision "$T/halt.dec" --as otto
expect_fail "halt twice" 1 "'fw@1.0' is halted" "$SR" apply "$T/halt2.dec" --as otto
expect_fail "nominate on halted" 1 "'fw@1.0' is halted by the vendor" "$SR" nominate fw@1.0 --reviewer rita --as lena
expect_ok "releases shows halted" "$SR" releases
check "state halted" grep -q '^fw@1.0  halted' "$T/out"

# unlock without a server
expect_fail "unlock: no server" 1 "no server listens at" "$SR" unlock request fw@2.0 --out "$T/req"
check "unlock: no request file without a server" test ! -e "$T/req"
# another key's response is refused by the server (tests/cli/0402-offline-unlock.sh); the
# facility's side never takes a vendor key at all
expect_fail "unlock: the facility takes no vendor key" 2 "never holds the vendor's key" "$SR" unlock request fw@2.0 --vendor-key "$T/o.key" --out "$T/req"
expect_fail "unlock: bad duration" 2 "duration '3y'" "$SR" unlock request fw@2.0 --for 3y --out "$T/req"
expect_fail "unlock: no subcommand" 2 "wants 'request P@V'" "$SR" unlock fw@2.0

# shred
expect_fail "shred without a decision" 2 "--decision FILE" "$SR" shred fw@2.0 --as otto
expect_ok "the vendor signs the shred" vsign shred fw@2.0 b2 shred.dec
expect_ok "the vendor signs it again" vsign shred fw@2.0 b2 shred2.dec
expect_ok "shred" "$SR" shred fw@2.0 --decision "$T/shred.dec" --as otto
check "certificate text" grep -q '^sealroom/destruction/v1$' "$T/out"
check "certificate names the release" grep -q '^release fw@2.0$' "$T/out"
check "certificate signed by the facility" grep -q '^— room.example ' "$T/out"
cp "$T/out" "$T/cert"
check "wrapped key gone" sh -c "sqlite3 '$T/fac/sealroom.db' \"SELECT wrapped_key IS NULL, state FROM releases WHERE version = '2.0'\" | grep -qx '1|shredded'"
check "certificate logged" sh -c "sqlite3 '$T/fac/sealroom.db' \"SELECT count(*) FROM log_entries WHERE CAST(data AS TEXT) LIKE '%destruction/v1%'\" | grep -qx 1"
expect_fail "shred twice" 1 "'fw@2.0' was shredded" "$SR" apply "$T/shred2.dec" --as otto
PORT=$((20000 + $$ % 20000))
"$SR" serve --insecure-http --listen "127.0.0.1:$PORT" >/dev/null 2>"$T/serve.err" &
SERVE=$!
for i in $(seq 1 50); do [ -S "$T/fac/keyring.sock" ] && break; sleep 0.1; done
expect_fail "unlock shredded" 1 "shredded" "$SR" unlock request fw@2.0 --out "$T/req"
expect_fail "unlock halted" 1 "halted" "$SR" unlock request fw@1.0 --out "$T/req"
kill $SERVE; wait $SERVE 2>/dev/null

# accounts
expect_ok "user unlock" "$SR" user unlock rita
expect_ok "user disable" "$SR" user disable rob --json
check "disabled" grep -q '"state":"disabled"' "$T/out"
expect_fail "disable nobody" 1 "no account 'nobody'" "$SR" user disable nobody
echo 'another fine password' | "$SR" user passwd rita --password-stdin >"$T/out" 2>&1
check "passwd" grep -q "password of 'rita' changed" "$T/out"
for c in org user nominate object approve grant revoke halt shred unlock apply vendor; do
	expect_ok "$c --help" "$SR" $c --help
done
done_testing
