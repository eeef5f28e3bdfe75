#!/bin/sh
# init and key new: success, twice, bad names, existing files, usage errors.
. tests/cli/lib.sh

expect_ok "init" "$SR" init -C "$T/fac" --name room.example
check "init made the database" test -f "$T/fac/sealroom.db"
check "init made the vault" test -d "$T/fac/vault"
check "log key is 0600" sh -c "[ \$(stat -c %a '$T/fac/keys/log.key') = 600 ]"
check "init prints the verifier key" grep -q 'room.example+' "$T/out"
check "database is WAL" sh -c "[ \"\$(sqlite3 '$T/fac/sealroom.db' 'PRAGMA journal_mode')\" = wal ]"
cp "$T/fac/keys/log.key" "$T/key.before"
expect_fail "init twice" 1 "already holds a facility" "$SR" init -C "$T/fac"
check "second init changed nothing" cmp -s "$T/fac/keys/log.key" "$T/key.before"
expect_ok "init via SEALROOM_HOME" "$SR" init --json
check "SEALROOM_HOME used" test -f "$SEALROOM_HOME/sealroom.db"
check "init --json" grep -q '"facility":"sealroom.local"' "$T/out"
expect_ok "global -C before the command" "$SR" -C "$T/fac2" init --name x.example
check "global -C used" test -f "$T/fac2/sealroom.db"
mkdir "$T/busy" && touch "$T/busy/file"
expect_fail "init in a non-empty folder" 1 "not empty" "$SR" init -C "$T/busy"
expect_fail "init with a bad name" 2 "not valid" "$SR" init -C "$T/f3" --name "a b"
check "bad name left no folder" test ! -e "$T/f3"
expect_fail "init with an extra argument" 2 "unexpected argument" "$SR" init -C "$T/f4" extra

expect_ok "key new" "$SR" key new vendor.example --out "$T/v.key"
check "key is 0600" sh -c "[ \$(stat -c %a '$T/v.key') = 600 ]"
check "key format" grep -q '^PRIVATE+KEY+vendor.example+[0-9a-f]\{8\}+' "$T/v.key"
check "pub format" grep -q '^vendor.example+[0-9a-f]\{8\}+A' "$T/v.key.pub"
check "wrapping key is 0600" sh -c "[ \$(stat -c %a '$T/v.key.wrap') = 600 ]"
check "wrapping key format" grep -q '^PRIVATE+WRAP+vendor.example+[0-9a-f]\{8\}+Q' "$T/v.key.wrap"
check "wrapping pub format (0x40, X25519)" grep -q '^vendor.example+[0-9a-f]\{8\}+Q' "$T/v.key.wrap.pub"
check "the wrapping key is not the signing key" sh -c "[ \"\$(cut -d+ -f3- '$T/v.key.pub')\" != \"\$(cut -d+ -f3- '$T/v.key.wrap.pub')\" ]"
# the wrapping public key is X25519 of the secret: derived again by openssl from the secret
check "wrapping pub is the X25519 public key of the secret (openssl)" python3 -c '
import base64, subprocess, sys
sk = base64.b64decode(open(sys.argv[1]).read().strip().split("+", 4)[4])
pk = base64.b64decode(open(sys.argv[2]).read().strip().split("+", 2)[2])
assert sk[0] == 0x40 and pk[0] == 0x40 and len(sk) == 33 and len(pk) == 33
der = bytes.fromhex("302e020100300506032b656e04220420") + sk[1:]
out = subprocess.run(["openssl", "pkey", "-inform", "DER", "-pubout", "-outform", "DER"], input=der,
                     capture_output=True, check=True).stdout
assert out[-32:] == pk[1:], "openssl derives another public key"
' "$T/v.key.wrap" "$T/v.key.wrap.pub"
expect_fail "key new over an existing key" 1 "refusing to overwrite" "$SR" key new vendor.example --out "$T/v.key"
check "existing key unchanged" grep -q 'vendor.example' "$T/v.key"
expect_fail "key without --out" 2 "--out" "$SR" key new n
expect_fail "key with a bad name" 2 "not valid" "$SR" key new "a+b" --out "$T/bad.key"
check "bad key name wrote nothing" test ! -e "$T/bad.key"
expect_fail "key with an unknown verb" 2 "unknown subcommand" "$SR" key old n --out "$T/x"
expect_ok "key --json" "$SR" key new w --out "$T/w.key" --json
check "key --json fields" grep -q '"vkey":"w+' "$T/out"
check "key --json names the wrapping key" grep -q '"wrap_pkey":"w+' "$T/out"
touch "$T/z.key.wrap"
expect_fail "key new when FILE.wrap exists" 1 "z.key.wrap.*refusing to overwrite" "$SR" key new z --out "$T/z.key"
check "nothing written beside it" test ! -e "$T/z.key"
expect_fail "unknown command" 2 "not a command" "$SR" frobnicate
expect_ok "help" "$SR" --help
expect_ok "init --help" "$SR" init --help
done_testing
