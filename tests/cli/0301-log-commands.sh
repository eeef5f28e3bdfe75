#!/bin/sh
# log: checkpoint, vkey, entry, prove, consistency, export, verify, cosign, attach; usage errors.
. tests/cli/lib.sh
F="$T/fac"
expect_ok "init" "$SR" init -C "$F" --name test.example

expect_ok "empty checkpoint" "$SR" log -C "$F" checkpoint
check "empty checkpoint body" sh -c "head -3 '$T/out' | tr '\n' ' ' | grep -q '^test.example 0 47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU= '"
for i in 1 2 3 4 5 6 7; do
	"$SR" log -C "$F" append "{\"type\":\"record\",\"actor\":\"alice\",\"path\":\"src/$i.c\",\"lines\":[1,40]}" >/dev/null
done
expect_ok "checkpoint" "$SR" log -C "$F" checkpoint
cp "$T/out" "$T/cp7"
check "checkpoint origin and size" sh -c "head -2 '$T/cp7' | tr '\n' ' ' | grep -q '^test.example 7 $'"
check "checkpoint signature line" grep -q '^— test.example ' "$T/cp7"
expect_ok "vkey" "$SR" log -C "$F" vkey
cp "$T/out" "$T/vkey"
check "vkey names the facility" grep -q '^test.example+[0-9a-f]\{8\}+A' "$T/vkey"
expect_ok "vkey --json" "$SR" log -C "$F" vkey --json
check "vkey json" grep -q '"vkey":"test.example+' "$T/out"

expect_ok "entry 2" "$SR" log -C "$F" entry 2
check "entry is canonical JSON" grep -qx '{"actor":"alice","lines":\[1,40\],"path":"src/3.c","time":[0-9]*,"type":"record"}' "$T/out"
expect_ok "entry --json" "$SR" log -C "$F" entry 0 --json
check "entry json has the leaf hash" grep -q '"leaf_hash":"' "$T/out"
expect_fail "entry past the end" 1 "no entry 7" "$SR" log -C "$F" entry 7
expect_fail "entry not a number" 2 "wants a number" "$SR" log -C "$F" entry x
expect_fail "entry -1" 2 "wants a number" "$SR" log -C "$F" entry -- -1

expect_ok "prove" "$SR" log -C "$F" prove 3
check "tlog-proof header" sh -c "head -2 '$T/out' | tr '\n' ' ' | grep -q '^c2sp.org/tlog-proof@v1 index 3 $'"
check "tlog-proof has 3 hashes then the checkpoint" sh -c "sed -n '3,5p' '$T/out' | grep -c '=\$' | grep -qx 3 && sed -n 6p '$T/out' | grep -qx '' && sed -n 7p '$T/out' | grep -qx test.example"
expect_ok "prove --size" "$SR" log -C "$F" prove 0 --size 7
expect_fail "prove past the checkpoint" 1 "not in the checkpoint of size 7" "$SR" log -C "$F" prove 7 --size 7
expect_fail "prove at an unsigned size" 1 "no checkpoint of size 5" "$SR" log -C "$F" prove 1 --size 5
expect_fail "prove without N" 2 "usage" "$SR" log -C "$F" prove

# the vendor's check of one entry, offline: the proof, the entry's bytes, the log's key
"$SR" log -C "$F" prove 3 >"$T/p3"
"$SR" log -C "$F" entry 3 >"$T/e3"
"$SR" log -C "$F" entry 2 >"$T/e2"
expect_ok "check-proof" "$SR" log check-proof "$T/p3" --entry "$T/e3" --vkey "$T/vkey"
check "check-proof says which entry of which log" grep -q "^ok: the entry is entry 3 of the log 'test.example' of size 7" "$T/out"
expect_ok "check-proof --json" "$SR" log check-proof "$T/p3" --entry "$T/e3" --vkey "$T/vkey" --json
check "check-proof json" grep -q '"ok":true' "$T/out"
expect_fail "check-proof of another entry" 1 "is not entry 3 of the log of size 7" "$SR" log check-proof "$T/p3" --entry "$T/e2" --vkey "$T/vkey"
sed 's/"actor":"[a-z]*"/"actor":"mallory"/' "$T/e3" >"$T/e3x"
expect_fail "check-proof of a changed entry" 1 "is not entry 3" "$SR" log check-proof "$T/p3" --entry "$T/e3x" --vkey "$T/vkey"
sed '2s/index 3/index 2/' "$T/p3" >"$T/p3i"
expect_fail "check-proof with the index changed" 1 "is not entry 2" "$SR" log check-proof "$T/p3i" --entry "$T/e3" --vkey "$T/vkey"
python3 - "$T/p3" "$T/p3h" <<'PY'
import sys, base64
l = open(sys.argv[1]).read().split("\n")
h = bytearray(base64.b64decode(l[2])); h[0] ^= 1; l[2] = base64.b64encode(bytes(h)).decode()
open(sys.argv[2], "w").write("\n".join(l))
PY
expect_fail "check-proof with a proof hash changed" 1 "is not entry 3" "$SR" log check-proof "$T/p3h" --entry "$T/e3" --vkey "$T/vkey"
"$SR" key new other2.example --out "$T/other2.key" >/dev/null
expect_fail "check-proof with another log's key" 1 "not signed by 'other2.example'" "$SR" log check-proof "$T/p3" --entry "$T/e3" --vkey "$T/other2.key.pub"
printf 'not a proof\n' >"$T/garbage"
expect_fail "check-proof of garbage" 1 "proof '.*garbage'" "$SR" log check-proof "$T/garbage" --entry "$T/e3" --vkey "$T/vkey"
expect_fail "check-proof without --entry" 2 "--entry" "$SR" log check-proof "$T/p3" --vkey "$T/vkey"
expect_fail "check-proof of a missing file" 1 "nope" "$SR" log check-proof "$T/nope" --entry "$T/e3" --vkey "$T/vkey"

"$SR" log -C "$F" append '{"type":"record","actor":"bob","query":"memcpy","results":12}' >/dev/null
expect_ok "consistency 7" "$SR" log -C "$F" consistency 7
check "consistency lines are base64 hashes" sh -c "[ \$(grep -c '^[A-Za-z0-9+/]\{43\}=\$' '$T/out') -eq \$(wc -l <'$T/out') ] && [ \$(wc -l <'$T/out') -ge 1 ]"
expect_ok "consistency 8 8 is empty" "$SR" log -C "$F" consistency 8 8
check "empty proof" test ! -s "$T/out"
expect_fail "consistency 0" 2 "0 < M <= N" "$SR" log -C "$F" consistency 0 8
expect_fail "consistency M > N" 2 "0 < M <= N" "$SR" log -C "$F" consistency 8 7
expect_fail "consistency past the log" 1 "larger than the log" "$SR" log -C "$F" consistency 1 99

expect_ok "verify" "$SR" log -C "$F" verify --vkey "$T/vkey" --from "$T/cp7"
check "verify says ok" grep -q '^ok: log .test.example. verified' "$T/out"
check "verify saw --from" grep -q 'consistent with the checkpoint you saw (size 7)' "$T/out"
expect_ok "verify --json" "$SR" log -C "$F" verify --vkey "$T/vkey" --json
check "verify json" grep -q '"ok":true' "$T/out"
expect_fail "verify without --vkey" 2 "--vkey" "$SR" log -C "$F" verify
"$SR" key new other.example --out "$T/other.key" >/dev/null
expect_fail "verify with another key" 1 "not signed by 'other.example'" "$SR" log -C "$F" verify --vkey "$T/other.key.pub"

expect_ok "export" "$SR" log -C "$F" export "$T/tiles"
check "export wrote the checkpoint" test -f "$T/tiles/checkpoint"
check "export wrote a partial tile" test -f "$T/tiles/tile/0/000.p/8"
check "export wrote an entry bundle" test -f "$T/tiles/tile/entries/000.p/8"
check "partial tile is 8 hashes" sh -c "[ \$(stat -c %s '$T/tiles/tile/0/000.p/8') -eq 256 ]"
expect_ok "verify --tiles" "$SR" log verify --vkey "$T/vkey" --tiles "$T/tiles" --from "$T/cp7"
printf 'x' | dd of="$T/tiles/tile/entries/000.p/8" bs=1 seek=20 conv=notrunc 2>/dev/null
expect_fail "verify --tiles with a changed entry" 1 "entry 0 " "$SR" log verify --vkey "$T/vkey" --tiles "$T/tiles"

# witnesses
"$SR" key new auditor.example --out "$T/w.key" >/dev/null
expect_ok "witness-vkey" "$SR" log witness-vkey --key "$T/w.key"
cp "$T/out" "$T/w.vkey"
check "cosigner key type 4" grep -q '^auditor.example+[0-9a-f]\{8\}+B' "$T/w.vkey"
expect_ok "cosign" "$SR" log -C "$F" cosign --key "$T/w.key" "$T/cp7"
cp "$T/out" "$T/cp7.cosigned"
check "cosigned note has two signatures" sh -c "[ \$(grep -c '^— ' '$T/cp7.cosigned') -eq 2 ]"
check "witness state written" grep -q '^test.example 7 ' "$T/w.key.state"
expect_ok "attach" "$SR" log -C "$F" attach --witness "$T/w.vkey" "$T/cp7.cosigned"
expect_ok "checkpoint of size 7 carries the cosignature" "$SR" log -C "$F" prove 1 --size 7
check "proof's checkpoint is cosigned" grep -q '^— auditor.example ' "$T/out"
expect_ok "new checkpoint" "$SR" log -C "$F" checkpoint
cp "$T/out" "$T/cp8"
"$SR" log -C "$F" consistency 7 8 >"$T/proof7-8"
expect_ok "cosign a grown log with --proof" "$SR" log cosign --key "$T/w.key" --log-vkey "$T/vkey" --proof "$T/proof7-8" "$T/cp8"
expect_fail "cosign an older checkpoint" 1 "rolled back" "$SR" log cosign --key "$T/w.key" --log-vkey "$T/vkey" "$T/cp7"
expect_fail "cosign needs --key" 2 "--key" "$SR" log cosign "$T/cp8"
expect_fail "attach by an unknown witness" 1 "not cosigned by" "$SR" log -C "$F" attach --witness "$T/w.vkey" "$T/cp8"

expect_ok "log --help" "$SR" log --help
for s in checkpoint vkey entry prove consistency export verify cosign attach witness-vkey append; do
	expect_ok "log $s --help" "$SR" log $s --help
done
expect_fail "unknown log command" 2 "not a log command" "$SR" log frobnicate
expect_fail "no facility" 1 "no facility" "$SR" log -C "$T/none" checkpoint
expect_fail "append without actor" 2 "actor" "$SR" log -C "$F" append '{"type":"x"}'
done_testing
