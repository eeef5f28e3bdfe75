#!/bin/sh
# verify: one flipped byte anywhere in the vault, or a changed catalogue row, is found and named.
. tests/cli/lib.sh
. tests/cli/fixtures.sh

"$SR" init -C "$T/fac" --name t.example >/dev/null
"$SR" key new vendor --out "$T/v.key" >/dev/null
"$SR" key new other --out "$T/o.key" >/dev/null
export SEALROOM_HOME="$T/fac"
make_awkward "$T/src"
expect_ok "seal" "$SR" seal "$T/src" --product t --version 1 --vendor-key "$T/v.key"
expect_ok "verify clean" "$SR" verify t@1 --vendor-key "$T/v.key"
expect_fail "verify with another key" 1 "not by the key given" "$SR" verify t@1 --vendor-key "$T/o.key"
expect_fail "verify an unknown release" 1 "no release 't@2'" "$SR" verify t@2 --vendor-key "$T/v.key"
expect_fail "verify a malformed name" 2 "PRODUCT@VERSION" "$SR" verify t --vendor-key "$T/v.key"

rel=$(find "$T/fac/vault" -mindepth 1 -maxdepth 1 -name 'r-*')
cp -a "$rel" "$T/pristine"
flips=0; caught=0
for f in $(cd "$rel" && find . -type f | sort); do
	size=$(stat -c %s "$rel/$f")
	for off in 0 $((size / 3)) $((size / 2)) $((size - 1)); do
		[ "$off" -ge 0 ] && [ "$size" -gt 0 ] || continue
		python3 - "$rel/$f" "$off" <<'PY'
import sys
p, off = sys.argv[1], int(sys.argv[2])
b = bytearray(open(p, "rb").read()); b[off] ^= 0x01; open(p, "wb").write(b)
PY
		flips=$((flips + 1))
		run "$SR" verify t@1 --vendor-key "$T/v.key"
		if [ $rc -eq 1 ] && [ "$(wc -l <"$T/err")" -eq 1 ] && grep -Eq "[0-9a-f]{16}|'[^']+'" "$T/err"; then
			caught=$((caught + 1))
		else
			fail "flip in $f at $off not caught or not named: rc=$rc $(cat "$T/err")"
		fi
		rm -rf "$rel" && cp -a "$T/pristine" "$rel"
	done
done
check "every flip caught ($caught of $flips)" [ "$caught" -eq "$flips" -a "$flips" -gt 4 ]
expect_ok "verify clean after restore" "$SR" verify t@1 --vendor-key "$T/v.key"

# a missing pack file
pack=$(cd "$rel" && find . -type f | sort | tail -n 1)
mv "$rel/$pack" "$T/moved"
expect_fail "a vault file is missing" 1 "." "$SR" verify t@1 --vendor-key "$T/v.key"
mv "$T/moved" "$rel/$pack"

db="$T/fac/sealroom.db"
# the first digit changed (to 'f', or to '0' when it is 'f' already: always a change)
sqlite3 "$db" "UPDATE releases SET tree_sha256 = (CASE WHEN substr(tree_sha256,1,1) = 'f' THEN '0' ELSE 'f' END) || substr(tree_sha256,2) WHERE version='1'"
expect_fail "catalogue tree id changed" 1 "does not match|tree" "$SR" verify t@1 --vendor-key "$T/v.key"
sqlite3 "$db" "UPDATE releases SET tree_sha256 = (SELECT substr(seal_note, instr(seal_note, 'tree-sha256 ') + 12, 64)) WHERE version='1'"
expect_ok "catalogue restored" "$SR" verify t@1 --vendor-key "$T/v.key"
sqlite3 "$db" "UPDATE releases SET seal_note = replace(seal_note, 'files ', 'files 1') WHERE version='1'"
expect_fail "seal note altered" 1 "signature|seal" "$SR" verify t@1 --vendor-key "$T/v.key"
ovk=$(cat "$T/o.key.pub")
sqlite3 "$db" "UPDATE releases SET vendor_vkey = '$ovk' WHERE version='1'"
expect_fail "vendor key swapped in the catalogue" 1 "not by the key given" "$SR" verify t@1 --vendor-key "$T/v.key"
done_testing
