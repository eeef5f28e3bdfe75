# lib.sh: sourced by every tests/cli/NNNN-*.sh. Gives a scratch folder, $SR (the binary),
# and checks that count into the closing "N passed, N failed" line.
set -u
SR=${SEALROOM:-$(pwd)/build/sealroom}
TOP=$(pwd)
T=$(mktemp -d "${TMPDIR:-/tmp}/sealroom-cli.XXXXXX")
trap 'rm -rf "$T"' EXIT
export SEALROOM_HOME="$T/facility"
export GIT_CONFIG_NOSYSTEM=1 GIT_AUTHOR_NAME=t GIT_AUTHOR_EMAIL=t@t GIT_COMMITTER_NAME=t GIT_COMMITTER_EMAIL=t@t
export HOME="$T"
cli_passed=0; cli_failed=0

pass() { cli_passed=$((cli_passed + 1)); }
fail() { cli_failed=$((cli_failed + 1)); echo "FAIL: $*"; }

# run CMD...: runs it, keeping stdout in $T/out, stderr in $T/err and the status in $rc.
run() { "$@" >"$T/out" 2>"$T/err"; rc=$?; }

# expect_ok DESC CMD...: the command must exit 0.
expect_ok() {
	d=$1; shift; run "$@"
	if [ $rc -eq 0 ]; then pass; else fail "$d: exit $rc: $(head -c 400 "$T/err")"; fi
}

# expect_fail DESC CODE PATTERN CMD...: exit CODE, stderr one line matching PATTERN (grep -E).
expect_fail() {
	d=$1; code=$2; pat=$3; shift 3; run "$@"
	if [ $rc -ne "$code" ]; then fail "$d: exit $rc, wanted $code: $(head -c 400 "$T/err")"; return; fi
	if [ "$(wc -l <"$T/err")" -ne 1 ]; then fail "$d: stderr is not one line: $(head -c 400 "$T/err")"; return; fi
	if ! grep -Eq -- "$pat" "$T/err"; then fail "$d: stderr '$(cat "$T/err")' lacks /$pat/"; return; fi
	pass
}

# check DESC COND...: COND is a shell command that must succeed. With SEALROOM_TEST_VERBOSE=1
# each passing check is named too (the numbers some checks carry in DESC, e.g. lines shown).
check() {
	d=$1; shift
	if "$@"; then pass; [ "${SEALROOM_TEST_VERBOSE:-0}" = 1 ] && echo "ok: $d"; return 0; else fail "$d"; fi
}

done_testing() {
	echo "$cli_passed passed, $cli_failed failed"
	[ "$cli_failed" -eq 0 ]
}

# seal_of DB P V OUT: the seal note of a release sealed into a facility, byte for byte (what
# the vendor keeps from `seal --out BUNDLE` as BUNDLE/seal)
seal_of() {
	python3 -c 'import sqlite3, sys
r = sqlite3.connect(sys.argv[1]).execute("SELECT seal_note FROM releases WHERE product = ? AND version = ?", (sys.argv[2], sys.argv[3])).fetchone()
open(sys.argv[4], "w").write(r[0])' "$@"
}

# vendor_decide KEY SEAL OPERATOR KIND P@V ARGS...: the vendor signs a decision (vendor sign,
# no facility folder) and the operator applies it; prints what apply printed
vendor_decide() {
	k=$1; s=$2; o=$3; kind=$4; rel=$5; shift 5
	d=$(mktemp "${TMPDIR:-/tmp}/sr-decision.XXXXXX") && rm -f "$d" &&
	SEALROOM_HOME=/nonexistent "$SR" vendor sign "$kind" "$rel" --seal "$s" --vendor-key "$k" --out "$d" "$@" >/dev/null &&
	"$SR" apply "$d" --as "$o"; rc_vd=$?
	rm -f "$d"
	return $rc_vd
}

# ---- a demo room, for the tests of the running room ----

# demo_up SRC SALT: serve `sealroom demo SRC` in $T/fac on a port made of $$ and SALT (so
# that tests running at once do not meet), in the background as $DEMO (ended on exit);
# sets $U and SEALROOM_HOME, and waits for its accounts in $T/demo.json.
demo_up() {
	PORT=$((20000 + ($$ + $2) % 20000))
	U="https://127.0.0.1:$PORT"
	"$SR" demo "$1" -C "$T/fac" --listen "127.0.0.1:$PORT" --json >"$T/demo.json" 2>"$T/demo.err" &
	DEMO=$!
	trap 'kill $DEMO 2>/dev/null; wait $DEMO 2>/dev/null; rm -rf "$T"' EXIT
	for i in $(seq 1 100); do [ -s "$T/demo.json" ] && break; sleep 0.2; done
	check "demo is up" grep -q '"url":"https://' "$T/demo.json"
	export SEALROOM_HOME="$T/fac"
}

# demo_down: end the demo room (its facility stays for the offline commands).
demo_down() { kill $DEMO 2>/dev/null; wait $DEMO 2>/dev/null; }

c() { curl -sk --max-time 30 "$@"; }

# code_of SECRET [STEP]: the TOTP code of a base32 secret now (or STEP periods of 30 s on:
# a code is taken once, so a second login within 30 s uses the next one).
code_of() {
	python3 - "$1" "${2:-0}" <<'PY'
import sys, hmac, hashlib, base64, struct, time
s = sys.argv[1]; key = base64.b32decode(s + "=" * ((8 - len(s) % 8) % 8))
h = hmac.new(key, struct.pack(">Q", int(time.time()) // 30 + int(sys.argv[2])), hashlib.sha1).digest()
o = h[-1] & 15
print("%06d" % ((struct.unpack(">I", h[o:o + 4])[0] & 0x7fffffff) % 1000000))
PY
}

# acct LOGIN: "password totp_secret" of a demo account.
acct() { python3 -c 'import json,sys; a=[x for x in json.load(open(sys.argv[1]))["accounts"] if x["login"]==sys.argv[2]][0]; print(a["password"], a["totp_secret"])' "$T/demo.json" "$1"; }

# login LOGIN PASSWORD SECRET [STEP]: log in through the form, cookies in the jar $T/LOGIN;
# $st gets the status of the POST and $home where it sends the person.
login() {
	c -c "$T/$1" -b "$T/$1" "$U/login" -o "$T/form"
	csrf=$(sed -n 's/.*name="csrf" value="\([0-9a-f]*\)".*/\1/p' "$T/form")
	st=$(c -c "$T/$1" -b "$T/$1" -o /dev/null -w '%{http_code} %{redirect_url}' -X POST "$U/login" \
		--data-urlencode "login=$1" --data-urlencode "password=$2" --data-urlencode "totp=$(code_of "$3" "${4:-0}")" \
		--data-urlencode "csrf=$csrf")
	home=${st#* }; st=${st%% *}
	check "$1 logs in" [ "$st" = 303 ]
}

# login_demo LOGIN [STEP]: log a demo account in (login with its password and secret).
login_demo() { set -- "$1" "${2:-0}" $(acct "$1"); login "$1" "$3" "$4" "$2"; }

# post JAR PATH FIELD...: POST the form fields to PATH with the jar's session and its CSRF
# token; prints the status, the page in $T/post.html.
post() {
	jar=$1; p=$2; shift 2
	tok=$(c -b "$T/$jar" "$U/releases" | sed -n 's/.*name="csrf" value="\([0-9a-f]*\)".*/\1/p' | head -n 1)
	c -b "$T/$jar" -o "$T/post.html" -w '%{http_code}' -X POST "$U$p" --data-urlencode "csrf=$tok" "$@"
}
