#!/bin/sh
# The seal and the log checkpoint are C2SP signed notes that an independent verifier accepts:
# here the note is taken apart with python's base64 and the Ed25519 signature and key hash
# are checked by the openssl command line, which shares no code with sealroom's note.c.
. tests/cli/lib.sh

"$SR" init -C "$T/fac" --name room.example >/dev/null
"$SR" key new acme.example --out "$T/v.key" >/dev/null
export SEALROOM_HOME="$T/fac"
mkdir -p "$T/src" && printf 'int main(void) { return 0; }\n' >"$T/src/main.c"
expect_ok "seal" "$SR" seal "$T/src" --product fw --version 1 --vendor-key "$T/v.key"
sqlite3 "$T/fac/sealroom.db" "SELECT seal_note FROM releases WHERE version='1'" >"$T/note.raw"
# sqlite3 prints the value and a newline; the note itself ends in one newline
head -c -1 "$T/note.raw" >"$T/note"

# split_note NOTE VKEY OUTPREFIX: writes OUT.text, OUT.sig, OUT.pem, OUT.hashmsg and
# OUT.keyhash (the 4 bytes the signature line claims), and fails on a malformed note.
split_note() {
	python3 - "$1" "$2" "$3" <<'PY'
import base64, sys
note = open(sys.argv[1], "rb").read()
vkey = open(sys.argv[2]).read().strip()
out = sys.argv[3]
text, sigs = note.rsplit(b"\n\n", 1)
text += b"\n"
name, keyhash, key = vkey.split("+", 2)
key = base64.b64decode(key)
assert key[0] == 1 and len(key) == 33, "not an Ed25519 verifier key"
found = None
for line in sigs.decode().splitlines():
    assert line.startswith("\u2014 "), "signature line without an em dash"
    n, b64 = line[2:].split(" ")
    raw = base64.b64decode(b64)
    if n == name and raw[:4].hex() == keyhash:
        found = raw[4:]
assert found is not None and len(found) == 64, "no signature by the key"
open(out + ".text", "wb").write(text)
open(out + ".sig", "wb").write(found)
open(out + ".hashmsg", "wb").write(name.encode() + b"\n" + key)
open(out + ".keyhash", "w").write(keyhash + "\n")
der = bytes.fromhex("302a300506032b6570032100") + key[1:]
pem = "-----BEGIN PUBLIC KEY-----\n" + base64.b64encode(der).decode() + "\n-----END PUBLIC KEY-----\n"
open(out + ".pem", "w").write(pem)
PY
}

check "seal note splits" split_note "$T/note" "$T/v.key.pub" "$T/seal"
check "seal signature verifies with openssl" openssl pkeyutl -verify -pubin -inkey "$T/seal.pem" -rawin -in "$T/seal.text" -sigfile "$T/seal.sig"
check "seal key hash is SHA-256(name\\n0x01 key)[:4]" sh -c "[ \"\$(openssl dgst -sha256 -binary '$T/seal.hashmsg' | head -c 4 | od -An -tx1 | tr -d ' \\n')\" = \"\$(cat '$T/seal.keyhash')\" ]"
check "seal text is the documented form" grep -q "^sealroom/seal/v1$" "$T/seal.text"
check "seal text names the tree" grep -Eq "^tree-sha256 [0-9a-f]{64}$" "$T/seal.text"
printf 'x' >>"$T/seal.text"
check "openssl rejects a changed text" sh -c "! openssl pkeyutl -verify -pubin -inkey '$T/seal.pem' -rawin -in '$T/seal.text' -sigfile '$T/seal.sig' >/dev/null 2>&1"

"$SR" log checkpoint >"$T/cp"
"$SR" log vkey >"$T/log.pub"
check "checkpoint splits" split_note "$T/cp" "$T/log.pub" "$T/cp"
check "checkpoint signature verifies with openssl" openssl pkeyutl -verify -pubin -inkey "$T/cp.pem" -rawin -in "$T/cp.text" -sigfile "$T/cp.sig"
check "checkpoint origin is the facility" sh -c "[ \"\$(head -n 1 '$T/cp.text')\" = room.example ]"
done_testing
