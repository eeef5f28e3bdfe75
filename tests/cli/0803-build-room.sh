#!/bin/sh
# build and match in the room: the builds page shows each build and each match verdict to
# the vendor and the operator, and to a reviewer only for a release it may read.
. tests/cli/lib.sh

PORT=$((20000 + ($$ + 7) % 20000))
U="https://127.0.0.1:$PORT"
mkdir -p "$T/src/.sealroom"
printf '#include <stdio.h>\nint main(void) { puts("room"); return 0; }\n' >"$T/src/room.c"
printf 'sealroom/build/v1\ntoolchain gcc-12 %s\nrun mkdir -p out && gcc-12 -O2 -o out/room room.c\noutput out/room\n' \
	"$(dpkg-query -W -f='${Version}' gcc-12)" >"$T/src/.sealroom/build"
"$SR" demo "$T/src" -C "$T/fac" --listen "127.0.0.1:$PORT" --json >"$T/demo.json" 2>"$T/demo.err" &
DEMO=$!
for i in $(seq 1 100); do [ -s "$T/demo.json" ] && break; sleep 0.2; done
check "demo is up" grep -q '"url":"https://127.0.0.1:' "$T/demo.json"
export SEALROOM_HOME="$T/fac"
VKEY="$T/fac/demo-keys/vendor.key"

expect_ok "build the demo release while the room serves" "$SR" build demo@current --vendor-key "$VKEY"
(cd "$T/src" && gcc-12 -O2 -o "$T/room" room.c)
expect_ok "match the vendor's binary" "$SR" match demo@current "$T/room"
printf 'x' >>"$T/room"
expect_fail "match a tampered one" 1 "1 of 1 artifacts differ" "$SR" match demo@current "$T/room"

totp() {
	python3 - "$T/demo.json" "$1" <<'PY'
import json, sys, hmac, hashlib, base64, struct, time
d = json.load(open(sys.argv[1]))
a = [x for x in d["accounts"] if x["login"] == sys.argv[2]][0]
s = a["totp_secret"]; key = base64.b32decode(s + "=" * ((8 - len(s) % 8) % 8))
h = hmac.new(key, struct.pack(">Q", int(time.time()) // 30), hashlib.sha1).digest()
o = h[-1] & 15
print(a.get("password", ""), "%06d" % ((struct.unpack(">I", h[o:o + 4])[0] & 0x7fffffff) % 1000000))
PY
}
c() { curl -sk --max-time 10 "$@"; }
login() {
	rm -f "$1"
	c -c "$1" -b "$1" "$U/login" -o "$T/form"
	csrf=$(sed -n 's/.*name="csrf" value="\([0-9a-f]*\)".*/\1/p' "$T/form")
	c -c "$1" -b "$1" -o /dev/null -X POST "$U/login" --data-urlencode "login=$2" \
		--data-urlencode "password=$3" --data-urlencode "totp=$4" --data-urlencode "csrf=$csrf"
}
"$SR" seal "$T/src" --product hidden --version 1 --vendor-key "$VKEY" >/dev/null
expect_ok "build a release no reviewer is granted" "$SR" build hidden@1 --vendor-key "$VKEY"
check "without a session /builds redirects" [ "$(c -o /dev/null -w '%{http_code}' "$U/builds")" = 303 ]
for role in vendor operator reviewer; do
	acct=$(python3 -c "import json,sys; print([a['login'] for a in json.load(open(sys.argv[1]))['accounts'] if a['role']==sys.argv[2]][0])" "$T/demo.json" "$role")
	set -- $(totp "$acct")
	login "$T/jar-$role" "$acct" "$1" "$2"
	c -b "$T/jar-$role" -o "$T/page" "$U/builds"
	check "$role sees the attested build" sh -c "grep -q 'reproducible (attested)' '$T/page'"
	check "$role sees the identical verdict" grep -q '<td class="identical">identical</td>' "$T/page"
	check "$role sees where the tampered one differs" grep -q 'the files differ outside them (' "$T/page"
	if [ "$role" = reviewer ]; then
		check "the reviewer does not see an ungranted release's build" sh -c "! grep -q 'hidden@1' '$T/page'"
	else
		check "the $role sees every release's build" grep -q 'hidden@1' "$T/page"
	fi
	check "$role's header links the builds page" grep -q 'id="nav-builds" href="/builds"' "$T/page"
done
kill "$DEMO" 2>/dev/null; wait "$DEMO" 2>/dev/null
done_testing
