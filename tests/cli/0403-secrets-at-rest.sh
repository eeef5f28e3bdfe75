#!/bin/sh
# secrets at rest, as the operator who copies the database: the TOTP secrets, the
# forensic key and the labs' notes are sealed under DIR/keys/secrets.key (0600, outside
# sealroom.db), so a copy of sealroom.db holds none of them in any spelling, and a facility folder without the key file
# opens neither; the log is exported alone, with no secret and no lab's note in it, and the
# export verifies (hashes, signatures and the audit) on its own.
. tests/cli/lib.sh

PORT=$((20000 + ($$ + 3011) % 20000))
U="https://127.0.0.1:$PORT"
mkdir "$T/src"
printf 'int at_rest(void) { return 7; }\n' >"$T/src/main.c"
"$SR" demo "$T/src" -C "$T/fac" --listen "127.0.0.1:$PORT" --json >"$T/demo.json" 2>"$T/demo.err" &
DEMO=$!
for i in $(seq 1 100); do [ -s "$T/demo.json" ] && break; sleep 0.2; done
check "demo is up" grep -q '"url":"https://' "$T/demo.json"
export SEALROOM_HOME="$T/fac"
check "the at-rest key is its own file, mode 0600" [ "$(stat -c %a "$T/fac/keys/secrets.key")" = 600 ]

# rita logs in and keeps a note of the lab's own
set -- $(python3 - "$T/demo.json" <<'PY'
import json, sys, hmac, hashlib, base64, struct, time
a = [x for x in json.load(open(sys.argv[1]))["accounts"] if x["login"] == "rita"][0]
s = a["totp_secret"]; key = base64.b32decode(s + "=" * ((8 - len(s) % 8) % 8))
h = hmac.new(key, struct.pack(">Q", int(time.time()) // 30), hashlib.sha1).digest()
o = h[-1] & 15
print(a["password"], "%06d" % ((struct.unpack(">I", h[o:o + 4])[0] & 0x7fffffff) % 1000000))
PY
)
c() { curl -sk --max-time 20 "$@"; }
c -c "$T/j" -b "$T/j" "$U/login" -o "$T/form"
csrf=$(sed -n 's/.*name="csrf" value="\([0-9a-f]*\)".*/\1/p' "$T/form")
check "rita logs in" [ "$(c -c "$T/j" -b "$T/j" -o /dev/null -w '%{http_code}' -X POST "$U/login" --data-urlencode "login=rita" \
	--data-urlencode "password=$1" --data-urlencode "totp=$2" --data-urlencode "csrf=$csrf")" = 303 ]
check "rita views" [ "$(c -b "$T/j" -o /dev/null -w '%{http_code}' "$U/r/demo@current/blob/main.c")" = 200 ]
NOTE="labnote-$(head -c 8 /dev/urandom | od -An -tx1 | tr -d ' \n')"
c -b "$T/j" -o "$T/notes.html" "$U/r/demo@current/notes/"
csrf=$(sed -n 's/.*name="csrf" value="\([0-9a-f]*\)".*/\1/p' "$T/notes.html" | head -n 1)
st=$(c -b "$T/j" -o /dev/null -w '%{http_code}' -X POST "$U/r/demo@current/notes/" --data-urlencode "csrf=$csrf" \
	--data-urlencode "path=main.c" --data-urlencode "line=1" --data-urlencode "text=$NOTE")
check "rita keeps a note ($st)" sh -c "[ $st = 303 ] || [ $st = 200 ]"
kill -TERM $DEMO; wait $DEMO

# the operator copies the database (and its WAL, if any)
mkdir "$T/copy"
cp "$T/fac/sealroom.db"* "$T/copy/"
check "the note is kept in the facility's database, sealed" \
	[ "$(sqlite3 "$T/copy/sealroom.db" "SELECT sealed || typeof(text) FROM notes")" = 1blob ]
check "no note's text in the copied database" sh -c "! cat '$T/copy/sealroom.db'* | grep -aq '$NOTE'"
# every account's TOTP secret, in every spelling, and the at-rest key itself
check "no TOTP secret in the copied database, in any spelling" python3 - "$T/demo.json" "$T/copy" "$T/fac/keys/secrets.key" <<'PY'
import base64, binascii, json, os, sys
blob = b"".join(open(os.path.join(sys.argv[2], f), "rb").read() for f in os.listdir(sys.argv[2]))
bad = []
for a in json.load(open(sys.argv[1]))["accounts"]:
    s = a["totp_secret"]; raw = base64.b32decode(s + "=" * ((8 - len(s) % 8) % 8))
    for form in (raw, s.encode(), s.lower().encode(), binascii.hexlify(raw), base64.b64encode(raw)):
        if form in blob:
            bad.append((a["login"], form[:8]))
key = open(sys.argv[3], "rb").read().strip()
for form in (key, binascii.unhexlify(key)):
    if form in blob:
        bad.append(("secrets.key", form[:8]))
bad and print(bad)
sys.exit(1 if bad else 0)
PY
check "the forensic key is stored sealed, not as its 64 hex digits" \
	sh -c "[ \"\$(sqlite3 '$T/copy/sealroom.db' \"SELECT length(value) FROM facility WHERE key = 'forensic_key'\")\" -gt 64 ]"
check "the TOTP secrets are stored sealed" \
	sh -c "[ \"\$(sqlite3 '$T/copy/sealroom.db' 'SELECT count(*) FROM people WHERE length(totp_secret) = 20')\" = 0 ]"
# the folder without the key file: nothing opens
cp -r "$T/fac" "$T/nokey" && rm "$T/nokey/keys/secrets.key"
expect_fail "without the key file the forensic key does not open" 1 "at-rest key" "$SR" -C "$T/nokey" trace "$T/form"
check "a user can still be listed (no secret needed)" sh -c "'$SR' -C '$T/nokey' user list >/dev/null"
# a sealed secret moved to another account does not open there
sqlite3 "$T/nokey/sealroom.db" "SELECT 1" >/dev/null
cp "$T/fac/keys/secrets.key" "$T/nokey/keys/secrets.key"
sqlite3 "$T/nokey/sealroom.db" "UPDATE people SET totp_secret = (SELECT totp_secret FROM people WHERE login = 'rita') WHERE login = 'vera'"
expect_fail "rita's sealed secret under vera's login does not open" 1 "totp:vera at rest does not open" "$SR" -C "$T/nokey" demo "$T/src" --listen "127.0.0.1:$((PORT + 1))" --json

# the log alone: an export carries no secret and no note, and verifies by itself
expect_ok "log export" "$SR" log export "$T/export"
check "the export holds no note's text" sh -c "! grep -rq '$NOTE' '$T/export'"
check "the export holds no TOTP secret, password hash or key" python3 - "$T/demo.json" "$T/export" "$T/fac/keys/secrets.key" <<'PY'
import base64, binascii, json, os, sys
blob = b""
for d, _, fs in os.walk(sys.argv[2]):
    for f in fs:
        blob += open(os.path.join(d, f), "rb").read()
bad = [b"$argon2id"] if b"$argon2id" in blob else []
for a in json.load(open(sys.argv[1]))["accounts"]:
    s = a["totp_secret"]; raw = base64.b32decode(s + "=" * ((8 - len(s) % 8) % 8))
    bad += [f[:8] for f in (raw, s.encode(), binascii.hexlify(raw), a["password"].encode()) if f in blob]
key = open(sys.argv[3], "rb").read().strip()
bad += [f[:8] for f in (key, binascii.unhexlify(key)) if f in blob]
bad and print(bad)
sys.exit(1 if bad else 0)
PY
"$SR" log vkey >"$T/log.pub"
expect_ok "the export verifies alone, audit included" "$SR" log verify --vkey "$T/log.pub" --vendor-vkey "$T/fac/demo-keys/vendor.key.pub" --tiles "$T/export"
check "the audit saw rita's view and login" grep -q '^audit: [1-9][0-9]* views' "$T/out"
done_testing
