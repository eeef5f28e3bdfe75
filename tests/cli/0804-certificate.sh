#!/bin/sh
# certify and certificate: the lab signs an in-toto Statement in a DSSE envelope, the
# vendor countersigns offline, anyone verifies offline (and Node's crypto with
# @sigstore/core's PAE agrees); a tampered certificate, one for another tree, one without
# the countersignature, one by another key all fail.
. tests/cli/lib.sh

mkdir -p "$T/src"
i=1; while [ $i -le 60 ]; do echo "int cert_fn_$i(void) { return $i; }"; i=$((i + 1)); done >"$T/src/main.c"
echo "other" >"$T/src/other.c"
demo_up "$T/src" 6151
login_demo rita
check "view" [ "$(c -b "$T/rita" -o /dev/null -w '%{http_code}' "$U/r/demo@current/blob/main.c")" = 200 ]
demo_down

lab=$("$SR" user list | awk '$1 == "rita" { print $3 }')
VK=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["vendor_key"])' "$T/demo.json")
"$SR" key new "$lab" --out "$T/lab.key" >/dev/null
"$SR" key new intruder --out "$T/x.key" >/dev/null
"$SR" log vkey >"$T/log.vkey"
"$SR" releases --json | python3 -c 'import json,sys; print([r for r in json.load(sys.stdin) if r["release"]=="demo@current"][0]["vendor"])' >"$T/vendor.pub"
tree=$("$SR" releases --json | python3 -c 'import json,sys; print([r for r in json.load(sys.stdin) if r["release"]=="demo@current"][0]["tree_sha256"])')

expect_fail "certify: no lab" 2 "wants one release" "$SR" certify demo@current --lab-key "$T/lab.key"
expect_fail "certify: a lab that saw nothing" 1 "no access by lab 'nolab'" "$SR" certify demo@current --lab nolab --lab-key "$T/lab.key"
expect_ok "certify" "$SR" certify demo@current --lab "$lab" --lab-key "$T/lab.key" --out "$T/c1.json"
check "certify logged" [ "$(sqlite3 "$T/fac/sealroom.db" "SELECT count(*) FROM log_entries WHERE CAST(data AS TEXT) LIKE '%\"type\":\"certify\"%'")" = 1 ]
check "the statement" python3 - "$T/c1.json" "$tree" "$lab" <<'PY'
import base64, json, sys
e = json.load(open(sys.argv[1]))
assert e["payloadType"] == "application/vnd.in-toto+json" and len(e["signatures"]) == 1
s = json.loads(base64.b64decode(e["payload"]))
assert s["_type"] == "https://in-toto.io/Statement/v1"
assert s["subject"] == [{"name": "demo@current", "digest": {"gitTree": sys.argv[2]}}]
p = s["predicate"]
assert s["predicateType"] == "https://sealroom.dev/attestation/review/v1"
assert p["lab"] == sys.argv[3] and "rita" in p["reviewers"]
assert p["tree"]["sha256"] == sys.argv[2] and p["tree"]["swhid"] == "swh:1:dir:" + p["tree"]["sha1"]
assert p["scope"]["files_shown"] == 1 and p["scope"]["tree_files"] == 2 and p["scope"]["lines_shown"] == 60
assert p["findings"]["total"] == 0 and p["log"]["size"] > 0 and p["log"]["checkpoint"].startswith(p["log"]["origin"])
assert p["dates"]["first_access"] and p["dates"]["issued"]
PY
expect_fail "no countersignature" 1 "no countersignature by the vendor key" "$SR" certificate verify "$T/c1.json" --lab-vkey "$T/lab.key.pub" --vendor-vkey "$T/vendor.pub"
expect_ok "vendor countersigns offline" env SEALROOM_HOME=/nonexistent "$SR" certificate countersign "$T/c1.json" --vendor-key "$VK" --out "$T/c2.json"
expect_ok "verify" env SEALROOM_HOME=/nonexistent "$SR" certificate verify "$T/c2.json" --lab-vkey "$T/lab.key.pub" --vendor-vkey "$T/vendor.pub" --log-vkey "$T/log.vkey" --tree "$tree"
check "verify says so" grep -q "certificate ok: lab $lab certifies demo@current .*log checkpoint checked" "$T/out"
expect_fail "another tree" 1 "it is for tree" "$SR" certificate verify "$T/c2.json" --lab-vkey "$T/lab.key.pub" --vendor-vkey "$T/vendor.pub" --tree 0000000000000000000000000000000000000000000000000000000000000000
expect_fail "another lab key" 1 "not signed by the lab key" "$SR" certificate verify "$T/c2.json" --lab-vkey "$T/x.key.pub" --vendor-vkey "$T/vendor.pub"
expect_fail "the lab key as vendor" 1 "the lab key and the vendor key are one key" "$SR" certificate verify "$T/c1.json" --lab-vkey "$T/lab.key.pub" --vendor-vkey "$T/lab.key.pub" --tree "$tree"
expect_fail "another log key" 1 "not signed by the log key" "$SR" certificate verify "$T/c2.json" --lab-vkey "$T/lab.key.pub" --vendor-vkey "$T/vendor.pub" --log-vkey "$T/x.key.pub"
# tampered: the coverage raised in the payload, signatures kept
python3 - "$T/c2.json" "$T/bad.json" <<'PY'
import base64, json, sys
e = json.load(open(sys.argv[1]))
s = json.loads(base64.b64decode(e["payload"]))
s["predicate"]["scope"]["files_shown"] = 2
e["payload"] = base64.b64encode(json.dumps(s, sort_keys=True, separators=(",", ":")).encode()).decode()
json.dump(e, open(sys.argv[2], "w"))
PY
expect_fail "tampered certificate" 1 "not signed by the lab key" "$SR" certificate verify "$T/bad.json" --lab-vkey "$T/lab.key.pub" --vendor-vkey "$T/vendor.pub"
printf '{"payload":"","payloadType":"x/y","signatures":[]}' >"$T/junk.json"
expect_fail "not in-toto" 1 "not in-toto" "$SR" certificate verify "$T/junk.json" --lab-vkey "$T/lab.key.pub" --vendor-vkey "$T/vendor.pub"
expect_fail "verify: keys missing" 2 "wants countersign" "$SR" certificate verify "$T/c2.json"
expect_fail "countersign junk" 1 "not a sealroom review certificate" "$SR" certificate countersign "$T/junk.json" --vendor-key "$VK"

# an independent implementation: Node's Ed25519 and @sigstore/core's PAE
if command -v node >/dev/null 2>&1; then
	NODE_PATH="$TOP/tests/interop/node_modules" node tests/interop/dsse-verify.js "$T/c2.json" "$tree" "$T/lab.key.pub" "$T/vendor.pub" >"$T/node.out" 2>&1
	check "node verifies the envelope" sh -c "grep -qx ok '$T/node.out' || { cat '$T/node.out'; false; }"
	NODE_PATH="$TOP/tests/interop/node_modules" node tests/interop/dsse-verify.js "$T/bad.json" "$tree" "$T/lab.key.pub" >"$T/node.out" 2>&1
	check "node rejects the tampered one" grep -q "no valid signature" "$T/node.out"
	NODE_PATH="$TOP/tests/interop/node_modules" node tests/interop/dsse-verify.js "$T/c1.json" "$tree" "$T/lab.key.pub" "$T/vendor.pub" >"$T/node.out" 2>&1
	check "node: no countersignature" grep -q "no valid signature" "$T/node.out"
	NODE_PATH="$TOP/tests/interop/node_modules" node tests/interop/dsse-verify.js "$T/c2.json" "00$tree" "$T/lab.key.pub" >"$T/node.out" 2>&1
	check "node: another tree" grep -q "no subject with gitTree" "$T/node.out"
fi
done_testing
