#!/bin/sh
# serve: the review room over HTTPS with curl: headers, login with TOTP and CSRF, every
# route refused without a session, a revoked session, an expired grant and after a halt;
# no raw or download route; the same answer for a missing and an ungranted release; hostile
# HTTP (bad paths, huge headers, overlong bodies, wrong methods); clean SIGTERM.
. tests/cli/lib.sh

PORT=$((20000 + $$ % 20000))
U="https://127.0.0.1:$PORT"
mkdir "$T/src" "$T/src/lib"
printf 'int secret_marker_function(void)\n{\n\treturn 42;\n}\n' >"$T/src/main.c"
for i in $(seq 1 40); do echo "line $i of the library: zzmarker"; done >"$T/src/lib/util.c"
"$SR" demo "$T/src" -C "$T/fac" --listen "127.0.0.1:$PORT" --json >"$T/demo.json" 2>"$T/demo.err" &
DEMO=$!
for i in $(seq 1 100); do [ -s "$T/demo.json" ] && break; sleep 0.2; done
check "demo prints its JSON line" grep -q '"url":"https://127.0.0.1:' "$T/demo.json"
check "demo JSON names the accounts" python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); assert {a["role"] for a in d["accounts"]} >= {"vendor","operator","reviewer"} and d["release"]=="demo@current" and all(len(a["totp_secret"])==32 for a in d["accounts"])' "$T/demo.json"
export SEALROOM_HOME="$T/fac"
VKEY="$T/fac/demo-keys/vendor.key"

# totp LOGIN [STEP_OFFSET]: prints "password code" for an account of the demo JSON
totp() {
	python3 - "$T/demo.json" "$1" "${2:-0}" <<'EOF'
import json, sys, hmac, hashlib, base64, struct, time
d = json.load(open(sys.argv[1]))
a = [x for x in d["accounts"] if x["login"] == sys.argv[2]][0]
s = a["totp_secret"]; key = base64.b32decode(s + "=" * ((8 - len(s) % 8) % 8))
h = hmac.new(key, struct.pack(">Q", int(time.time()) // 30 + int(sys.argv[3])), hashlib.sha1).digest()
o = h[-1] & 15
print(a.get("password", ""), "%06d" % ((struct.unpack(">I", h[o:o + 4])[0] & 0x7fffffff) % 1000000))
EOF
}
c() { curl -sk --max-time 10 "$@"; }
code() { c -o "$T/body" -w '%{http_code}' "$@"; }
# login JAR LOGIN PASSWORD CODE: the login form, then its POST
login() {
	rm -f "$1"
	c -c "$1" -b "$1" "$U/login" -o "$T/form"
	csrf=$(sed -n 's/.*name="csrf" value="\([0-9a-f]*\)".*/\1/p' "$T/form")
	c -c "$1" -b "$1" -o "$T/body" -w '%{http_code}' -X POST "$U/login" --data-urlencode "login=$2" \
		--data-urlencode "password=$3" --data-urlencode "totp=$4" --data-urlencode "csrf=$csrf"
}

# headers
c -D "$T/h" -o /dev/null "$U/login"
for h in "Content-Security-Policy: default-src 'none'; script-src 'self'; style-src 'self'" "frame-ancestors 'none'" \
	"Cache-Control: no-store" "Referrer-Policy: no-referrer" "X-Content-Type-Options: nosniff" \
	"Strict-Transport-Security"; do
	check "header $h" grep -qi "$h" "$T/h"
done
check "csrf cookie flags" grep -qi '^Set-Cookie: sr_csrf=[0-9a-f]*; Path=/; Secure; HttpOnly; SameSite=Strict' "$T/h"
check "no unsafe-inline" sh -c "! grep -qi unsafe-inline '$T/h'"
check "TLS 1.2 is refused" sh -c "! curl -sk --max-time 5 --tls-max 1.2 -o /dev/null '$U/login'"
check "TLS 1.3 works" sh -c "curl -sk --max-time 5 --tlsv1.3 -o /dev/null '$U/login'"

# without a session every route refuses and shows nothing
for p in / /releases /r/demo@current/tree/ /r/demo@current/blob/main.c /r/demo@current/search?q=secret \
	/r/demo@current/def?n=0 /r/demo@current/refs?n=0 /r/demo@current/diff/current/main.c /s/font.woff2 /logout; do
	check "no session: $p redirects to login" [ "$(code "$U$p")" = 303 ]
	check "no session: $p shows no code" sh -c "! grep -q secret_marker '$T/body'"
done
check "no session: api is 401" [ "$(code "$U/api/search?r=demo@current&q=secret")" = 401 ]
check "api 401 is JSON" grep -q '"error"' "$T/body"
check "log checkpoint is public" [ "$(code "$U/log/checkpoint")" = 200 ]
check "checkpoint names the facility" grep -q 'demo.sealroom.local' "$T/body"
check "log tile beyond the tree is 404" [ "$(code "$U/log/tile/0/999")" = 404 ]
# the log's shape is public, its entries are not: an anonymous reader gets hash tiles only
N=$(sqlite3 "$T/fac/sealroom.db" "SELECT count(*) FROM log_entries")
check "a hash tile is public" [ "$(code "$U/log/tile/0/000.p/$N")" = 200 ]
check "the entry bundle is not public" [ "$(code "$U/log/tile/entries/000.p/$N")" = 404 ]
check "the refusal names nothing of the log" sh -c "! grep -q seal '$T/body' && ! grep -q login '$T/body'"
# checkpoints are signed by the server's timer, not per request: 20 log appends (failed
# logins), each followed by an anonymous GET, sign far fewer than 20
C0=$(sqlite3 "$T/fac/sealroom.db" "SELECT count(*) FROM log_checkpoints")
S0=$(date +%s)
for i in $(seq 1 20); do
	c -o /dev/null -X POST "$U/login" -d "login=nobody$i&password=x&totp=1" >/dev/null
	c -o /dev/null "$U/log/checkpoint"
done
S1=$(date +%s)
C1=$(sqlite3 "$T/fac/sealroom.db" "SELECT count(*) FROM log_checkpoints")
check "no checkpoint per request ($((C1 - C0)) signed in $((S1 - S0)) s)" [ $((C1 - C0)) -le $(((S1 - S0) / 2 + 2)) ]
check "static css" [ "$(code "$U/static/app.css")" = 200 ]
check "static unknown" [ "$(code "$U/static/nope.js")" = 404 ]

# the vendor reads the log's entries from a session of its own
set -- $(totp vera)
check "vera logs in" [ "$(login "$T/jv" vera "$1" "$2")" = 303 ]
N=$(sqlite3 "$T/fac/sealroom.db" "SELECT count(*) FROM log_entries")
[ "$N" -gt 255 ] && N=255
check "the vendor gets the entry bundle" [ "$(code -b "$T/jv" "$U/log/tile/entries/000.p/$N")" = 200 ]
check "the bundle holds entries" grep -aq '"type":"seal"' "$T/body"
sleep 1

# login: CSRF, wrong code, right code
set -- $(totp rita)
PW=$1 CODE=$2
rm -f "$T/j"
c -c "$T/j" -b "$T/j" "$U/login" -o /dev/null
check "login without the csrf field is refused" [ "$(c -b "$T/j" -o /dev/null -w '%{http_code}' -X POST "$U/login" -d "login=rita&password=$PW&totp=$CODE")" = 403 ]
check "wrong code refused" [ "$(login "$T/j" rita "$PW" 000000)" = 403 ]
check "refusal names no factor" grep -q 'wrong login, password or code' "$T/body"
sleep 1
check "login" [ "$(login "$T/j" rita "$PW" "$CODE")" = 303 ]
check "session cookie flags" grep -q 'sr_session' "$T/j"
check "releases" [ "$(code -b "$T/j" "$U/releases")" = 200 ]
check "releases show the seal" grep -q "$(python3 -c 'import json,sys;print(json.load(open(sys.argv[1]))["release"])' "$T/demo.json")" "$T/body"
check "tree" [ "$(code -b "$T/j" "$U/r/demo@current/tree/")" = 200 ]
check "tree lists lib/" grep -q 'href="/r/demo@current/tree/lib"' "$T/body"
check "subtree" [ "$(code -b "$T/j" "$U/r/demo@current/tree/lib")" = 200 ]
check "blob" [ "$(code -b "$T/j" "$U/r/demo@current/blob/main.c")" = 200 ]
check "blob has line ids" grep -q 'id="L3"' "$T/body"
check "blob sends no code as text" sh -c "! grep -q 'secret_marker_function' '$T/body'"
check "blob sends private-use text (the session font draws it)" python3 -c 'import sys; t=open(sys.argv[1],encoding="utf-8").read(); assert sum(1 for ch in t if 0xE000<=ord(ch)<=0xF8FF or ord(ch)>=0xF0000) > 20' "$T/body"
check "blob carries the watermark" grep -q 'class="sr-watermark"' "$T/body"
check "view is logged with path, blob and lines" sh -c "sqlite3 '$T/fac/sealroom.db' \"SELECT CAST(data AS TEXT) FROM log_entries\" | grep '\"type\":\"view\"' | grep '\"path\":\"main.c\"' | grep -q '\"lines\":\\[1,4\\]'"
check "missing file" [ "$(code -b "$T/j" "$U/r/demo@current/blob/nope.c")" = 404 ]
cp "$T/body" "$T/missing_file"
check "search page" [ "$(code -b "$T/j" "$U/r/demo@current/search?q=zzmarker")" = 200 ]
check "search shows 40 lines, the exact total: all are shown" grep -q '>40 matching lines (' "$T/body"
check "api search" [ "$(code -b "$T/j" "$U/api/search?r=demo@current&q=zzmarker&limit=5")" = 200 ]
check "api search JSON" python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); assert d["total"]==5 and d["total_at_least"] is True and d["files"][0]["path"]=="lib/util.c" and len(d["files"][0]["matches"])==5 and d["partial"] is False' "$T/body"
check "search is logged" sh -c "sqlite3 '$T/fac/sealroom.db' \"SELECT CAST(data AS TEXT) FROM log_entries\" | grep '\"type\":\"search\"' | grep -q zzmarker"
check "bad regex is a 400" [ "$(code -b "$T/j" "$U/api/search?r=demo@current&q=(")" = 400 ]
check "definition link" [ "$(code -b "$T/j" "$U/r/demo@current/def?n=0")" != 500 ]
check "references of a symbol" [ "$(code -b "$T/j" "$U/r/demo@current/refs?n=0")" = 200 ]

# no raw, download or archive route
for p in /r/demo@current/raw/main.c /r/demo@current/download /r/demo@current/archive.tar.gz /raw/main.c \
	/download/demo@current /r/demo@current/blob/main.c/raw; do
	check "no such route: $p" sh -c "[ \"\$(curl -sk -b '$T/j' -o '$T/body' -w '%{http_code}' '$U$p')\" = 404 ] && ! grep -q 'return 42' '$T/body'"
done
# an ungranted release and a missing one answer the same
"$SR" seal "$T/src" --product other --version 1 --vendor-key "$VKEY" >/dev/null
c -b "$T/j" "$U/r/other@1/blob/main.c" -o "$T/a"
c -b "$T/j" "$U/r/nothere@1/blob/main.c" -o "$T/b"
check "ungranted = missing release" cmp -s "$T/a" "$T/b"
check "missing file = missing release" cmp -s "$T/a" "$T/missing_file"
check "says not found or not granted" grep -q 'not found or not granted' "$T/a"
check "api: ungranted" [ "$(code -b "$T/j" "$U/api/search?r=other@1&q=secret")" = 404 ]

# hostile HTTP
for p in '/r/demo@current/blob/../../etc/passwd' '/r/demo@current/blob/%2e%2e/%2e%2e/etc/passwd' \
	'/r/demo@current/blob/main.c%00.txt' '/r/demo@current/blob/%2E%2E/x' '/r/demo@current/blob//main.c' \
	'/r/demo@current/blob/%zz'; do
	check "bad path $p" [ "$(curl -sk --path-as-is -b "$T/j" -o /dev/null -w '%{http_code}' "$U$p")" = 400 ]
done
# a backslash is a byte of a file name like any other (0510-odd-names.sh), not a separator
check "a%5c..%5cb names a file, which is not there" \
	[ "$(curl -sk --path-as-is -b "$T/j" -o /dev/null -w '%{http_code}' "$U/r/demo@current/blob/a%5c..%5cb")" = 404 ]
big=$(head -c 40000 /dev/zero | tr '\0' a)
hc=$(curl -sk -b "$T/j" -o /dev/null -w '%{http_code}' -H "X-Big: $big" "$U/releases")
check "huge header refused ($hc)" sh -c "case $hc in 431|413|400|000) exit 0;; esac; exit 1"
head -c 100000 /dev/zero | tr '\0' a >"$T/bigbody"
check "overlong body refused" [ "$(c -b "$T/j" -o /dev/null -w '%{http_code}' -X POST --data-binary @"$T/bigbody" "$U/login")" = 413 ]
for m in PUT DELETE PATCH OPTIONS TRACE; do
	check "method $m" [ "$(c -b "$T/j" -o /dev/null -w '%{http_code}' -X $m "$U/releases")" = 405 ]
done
check "POST to a blob" [ "$(c -b "$T/j" -o /dev/null -w '%{http_code}' -X POST -d x=1 "$U/r/demo@current/blob/main.c")" = 405 ]
check "logout without csrf is refused" [ "$(c -b "$T/j" -o /dev/null -w '%{http_code}' -X POST -d x=1 "$U/logout")" = 403 ]
long=$(head -c 9000 /dev/zero | tr '\0' a)
check "overlong path" [ "$(c -b "$T/j" -o /dev/null -w '%{http_code}' "$U/r/$long")" != 200 ]

# an expired grant: rob gets a grant ending in a few seconds
"$SR" user add rob --org evallab --role reviewer --json >"$T/rob.json"
python3 - "$T/demo.json" "$T/rob.json" <<'EOF'
import json, sys
d = json.load(open(sys.argv[1])); r = json.load(open(sys.argv[2]))
d["accounts"].append({"login": "rob", "role": "reviewer", "password": r["password"], "totp_secret": r["totp_secret"]})
json.dump(d, open(sys.argv[1], "w"))
EOF
"$SR" nominate demo@current --reviewer rob --as otto >/dev/null
seal_of "$T/fac/sealroom.db" demo current "$T/demo.seal"
END=$(($(date +%s) + 20))
check "the vendor's approval of rob, as a signed file" vendor_decide "$VKEY" "$T/demo.seal" otto approve demo@current \
	--reviewer rob --from 2020-01-01 --until "@$END" >/dev/null
set -- $(totp rob)
rc_rob=$(login "$T/r" rob "$1" "$2"); [ "$rc_rob" = 303 ] || grep -o "id=\"error\">[^<]*" "$T/body"
check "rob logs in" [ "$rc_rob" = 303 ]
check "rob reads within the grant" [ "$(code -b "$T/r" "$U/r/demo@current/blob/main.c")" = 200 ]
while [ "$(date +%s)" -le "$END" ]; do sleep 0.5; done
check "expired grant: blob refused" [ "$(code -b "$T/r" "$U/r/demo@current/blob/main.c")" = 403 ]
check "expired grant says so" grep -q 'expired' "$T/body"
check "expired grant shows no code" sh -c "! grep -q secret_marker '$T/body'"
check "expired grant: api refused" [ "$(code -b "$T/r" "$U/api/search?r=demo@current&q=secret")" = 403 ]

# a revoked session: revoking rita ends her sessions
vendor_decide "$VKEY" "$T/demo.seal" otto revoke demo@current --reviewer rita --reason "test" >/dev/null
check "revoked: blob redirects to login" [ "$(code -b "$T/j" "$U/r/demo@current/blob/main.c")" = 303 ]
check "revoked: no code" sh -c "! grep -q secret_marker '$T/body'"
check "revoked: api 401" [ "$(code -b "$T/j" "$U/api/search?r=demo@current&q=secret")" = 401 ]

# after a halt nothing is shown (rita re-granted first, with a new login)
"$SR" nominate demo@current --reviewer rita --as otto >/dev/null
vendor_decide "$VKEY" "$T/demo.seal" otto approve demo@current --reviewer rita --from 2020-01-01 --until 2099-01-01 >/dev/null
set -- $(totp rita 1)
check "rita again" [ "$(login "$T/j" rita "$PW" "$2")" = 303 ]
check "rita reads again" [ "$(code -b "$T/j" "$U/r/demo@current/blob/main.c")" = 200 ]
check "halt" vendor_decide "$VKEY" "$T/demo.seal" otto halt demo@current
# a halt refuses every next request (and ends the reviewers' sessions: back to the login)
hb=$(code -b "$T/j" "$U/r/demo@current/blob/main.c")
check "halted: blob refused ($hb)" sh -c "case $hb in 303|403) exit 0;; esac; exit 1"
check "halted: no code" sh -c "! grep -q secret_marker '$T/body'"
check "halted: tree refused" [ "$(code -b "$T/j" "$U/r/demo@current/tree/")" != 200 ]
check "halted: search refused" [ "$(code -b "$T/j" "$U/api/search?r=demo@current&q=secret")" != 200 ]
set -- $(totp rob 1)
check "halted: login still works" [ "$(login "$T/r" rob "$1" "$2")" = 303 ]
check "halted: blob refused after login" [ "$(code -b "$T/r" "$U/r/demo@current/blob/main.c")" = 403 ]
check "halted: says halted" grep -q 'halted by the vendor' "$T/body"
check "halted: releases list is empty" sh -c "[ \"\$(curl -sk -b '$T/r' '$U/releases' | grep -c 'class=\"release\"')\" = 0 ]"

# clean shutdown
kill -TERM $DEMO
for i in $(seq 1 50); do kill -0 $DEMO 2>/dev/null || break; sleep 0.1; done
check "SIGTERM stops the room" sh -c "! kill -0 $DEMO 2>/dev/null"
wait $DEMO; rc=$?
check "exit 0 on SIGTERM" [ $rc -eq 0 ]
check "socket removed" [ ! -e "$T/fac/keyring.sock" ]
check "plain HTTP off loopback is refused" sh -c "'$SR' serve -C '$T/fac' --insecure-http --listen 0.0.0.0:$PORT 2>&1 | grep -q 'only allowed on a loopback'"
check "serve --help" "$SR" serve --help
done_testing
