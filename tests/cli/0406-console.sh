#!/bin/sh
# The facility's commands that read code run in the room, with the key its unlock gave it:
# once the windows are open the vendor's keys leave the facility (their folder moved away),
# and `build`, `findings import` and `findings state --fixed-in/--comment` still work,
# getting back only verdicts, digests and refusals. A failing build's output (which may
# quote the code) stays in the room; the console's socket refuses malformed and foreign
# messages and goes on serving.
. tests/cli/lib.sh

PORT=$((20000 + ($$ + 406) % 20000))
mkdir -p "$T/vendor" "$T/xfer" "$T/src/.sealroom" "$T/src/lib" "$T/leak/.sealroom"
GCC=$(dpkg-query -W -f='${Version}' gcc-12)
python3 - "$T/src" <<'PY'
import os, sys, random
random.seed(406)
def fn(i):
    body = " + ".join(random.choice(["alpha", "beta"]) + " * " + str(random.randint(0, 999)) for _ in range(6))
    return "static int f%d(int alpha, int beta) {\n\treturn %s;\n}\n" % (i, body)
main = "".join(fn(i) for i in range(40))
main += "int main(void) { return f0(1, 2) == 7; }\n"
open(os.path.join(sys.argv[1], "main.c"), "w").write(main)
open(os.path.join(sys.argv[1], "lib", "util.c"), "w").write("int util(void)\n{\n\treturn 1;\n}\n")
PY
printf 'sealroom/build/v1\ntoolchain gcc-12 %s\nrun mkdir -p out && gcc-12 -O2 -w -o out/fw main.c\noutput out/fw\n' "$GCC" \
	>"$T/src/.sealroom/build"
cp -r "$T/src" "$T/src2"
sed -i '5s/.*/\treturn 0; \/* fixed *\//' "$T/src2/main.c"
# a build that fails after printing a line of the sealed code
printf 'int leaked_secret_value_4096 = 1;\n' >"$T/leak/secret.c"
printf 'sealroom/build/v1\ntoolchain gcc-12 %s\nrun cat secret.c && exit 7\noutput out/x\n' "$GCC" >"$T/leak/.sealroom/build"

"$SR" init -C "$T/fac" --name room.example >/dev/null
export SEALROOM_HOME="$T/fac"
"$SR" key new acme --out "$T/vendor/v.key" >/dev/null
"$SR" seal "$T/src" --product fw --version 1.0 --vendor-key "$T/vendor/v.key" >/dev/null
"$SR" seal "$T/src2" --product fw --version 2.0 --vendor-key "$T/vendor/v.key" >/dev/null
"$SR" seal "$T/src" --product fw --version 3.0 --vendor-key "$T/vendor/v.key" >/dev/null
"$SR" seal "$T/leak" --product leak --version 1 --vendor-key "$T/vendor/v.key" >/dev/null
"$SR" org add acme --kind vendor >/dev/null
"$SR" org add lab1 --kind lab >/dev/null
"$SR" org add ops --kind operator >/dev/null
for u in "vera acme vendor" "otto ops operator" "rita lab1 reviewer"; do
	set -- $u; "$SR" user add "$1" --org "$2" --role "$3" >/dev/null
done
"$SR" nominate fw@1.0 --reviewer rita --as otto >/dev/null &&
	seal_of "$SEALROOM_HOME/sealroom.db" fw 1.0 "$T/seal-1.0" &&
	vendor_decide "$T/vendor/v.key" "$T/seal-1.0" otto approve fw@1.0 --reviewer rita --from 2020-01-01 --until 2099-12-31 >/dev/null ||
	fail "setting up the grant"

(ulimit -l unlimited 2>/dev/null; exec "$SR" serve --insecure-http --listen "127.0.0.1:$PORT" >"$T/serve.out" 2>"$T/serve.err") &
SERVE=$!
trap 'kill $SERVE 2>/dev/null; wait $SERVE 2>/dev/null; rm -rf "$T"' EXIT
for i in $(seq 1 100); do [ -S "$T/fac/keyring.sock" ] && break; sleep 0.1; done
check "the room is up" [ -S "$T/fac/keyring.sock" ]
unlock() {
	rm -f "$T/xfer/req" "$T/xfer/resp"
	"$SR" unlock request "$1" --for 2h --out "$T/xfer/req" >/dev/null &&
		env -u SEALROOM_HOME "$SR" unlock respond "$T/xfer/req" --vendor-key "$T/vendor/v.key" --out "$T/xfer/resp" >/dev/null &&
		"$SR" unlock apply "$T/xfer/resp" >/dev/null
}
for r in fw@1.0 fw@2.0 leak@1; do unlock $r || fail "unlock $r"; done

# the vendor's keys leave the facility
mv "$T/vendor" "$T/vendor.away"
check "no vendor key is at hand" sh -c "! ls '$T'/vendor 2>/dev/null && ! grep -rqaF \"\$(cat '$T/vendor.away/v.key')\" '$T/fac'"

# build
expect_ok "build fw@1.0 in the room, no vendor key" "$SR" build fw@1.0 --progress --out "$T/fw.dsse"
check "the verdict comes back" grep -q '^reproducible fw@1.0: 2 runs in the sandbox from tree-sha256 [0-9a-f]\{64\}$' "$T/out"
check "the output's digest comes back" grep -Eq '^  [0-9a-f]{64}  out/fw \([0-9]+ bytes\)$' "$T/out"
check "progress comes back as the build runs" grep -q '^build: run 2 of 2: done' "$T/err"
check "the attestation is written" python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); assert d["payloadType"] == "application/vnd.in-toto+json" and d["signatures"]' "$T/fw.dsse"
(cd "$T/src" && gcc-12 -O2 -w -o "$T/fw" main.c)
expect_ok "the vendor's own binary matches the room's build" "$SR" match fw@1.0 "$T/fw"
expect_ok "build --json in the room" "$SR" build fw@1.0 --json
check "--json: the result" python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); assert d["reproducible"] and d["release"] == "fw@1.0" and len(d["outputs"]) == 1 and len(d["outputs"][0]["sha256"]) == 64' "$T/out"
check "the room's build is logged with the command's actor" sh -c "sqlite3 '$T/fac/sealroom.db' \"SELECT CAST(data AS TEXT) FROM log_entries\" | grep '\"type\":\"build\"' | grep -q '\"actor\":\"local:'"
expect_fail "build a locked release" 1 "'fw@3.0' is locked" "$SR" build fw@3.0
expect_fail "build --verbose without the vendor key" 2 "--verbose needs --vendor-key FILE" "$SR" build fw@1.0 --verbose
expect_fail "a recipe path outside the tree, refused by the room as a usage error" 2 "not a relative path" "$SR" build fw@1.0 --recipe ../x
expect_fail "an unknown release" 1 "nope@1" "$SR" build nope@1
expect_fail "a failing build in the room" 1 "the recipe failed with status 7: its output stays in the room" "$SR" build leak@1
check "its output is not in the message" sh -c "! grep -q leaked_secret_value_4096 '$T/err' '$T/out'"
check "nor in the log or the database" sh -c "! sqlite3 '$T/fac/sealroom.db' .dump | grep -q leaked_secret_value_4096"
check "nor in the builds folder" sh -c "! grep -rqa leaked_secret_value_4096 '$T/fac/builds' 2>/dev/null"

# findings
sarif() { # FILE then result objects as JSON on stdin
	python3 -c '
import json, sys
res = [json.loads(l) for l in sys.stdin if l.strip()]
json.dump({"version": "2.1.0", "runs": [{"tool": {"driver": {"name": "scan"}}, "results": res}]}, open(sys.argv[1], "w"))' "$1"
}
loc() { printf '"locations":[{"physicalLocation":{"artifactLocation":{"uri":"%s"},"region":{"startLine":%s,"endLine":%s}}}]' "$1" "$2" "$3"; }
sarif "$T/a.sarif" <<EOF2
{"ruleId":"R1","level":"error","message":{"text":"Out-of-bounds write in f1"},$(loc main.c 5 6)}
{"ruleId":"R2","level":"note","message":{"text":"Unchecked"},$(loc lib/util.c 2 4)}
EOF2
sarif "$T/bad.sarif" <<EOF2
{"ruleId":"R1","message":{"text":"fine"},$(loc main.c 1 2)}
{"ruleId":"R1","message":{"text":"past the end"},$(loc lib/util.c 4 5)}
{"ruleId":"R1","message":{"text":"no such file"},$(loc nope.c 1 1)}
EOF2
q=$(sed -n 2p "$T/src/main.c" | python3 -c 'import sys,re; t=re.findall(r"[A-Za-z_][A-Za-z0-9_]*|[0-9]+|[^\sA-Za-z0-9_]+", sys.stdin.read()); print(" ".join(t[:14]))')
printf '{"ruleId":"R1","message":{"text":"quote\\n%s"},%s}\n' "$q" "$(loc main.c 2 2)" | sarif "$T/quote.sarif"
printf 'not json' >"$T/junk.sarif"

run "$SR" findings import fw@1.0 "$T/bad.sarif" --as rita
check "outside the release: refused by the room" [ $rc = 1 ]
check "each refusal comes back with its reason" sh -c "grep -q \"^sealroom findings: result 1 refused: finding: 'lib/util.c' has 4 lines, not 5\" '$T/err' && grep -q \"result 2 refused: finding: 'nope.c' is not a file of the release (outside fw@1.0)\" '$T/err'"
check "and why nothing was stored" grep -q "^sealroom findings: 2 results refused: nothing imported$" "$T/err"
check "nothing stored" [ "$(sqlite3 "$T/fac/sealroom.db" 'SELECT count(*) FROM findings')" = 0 ]
run "$SR" findings import fw@1.0 "$T/quote.sarif" --as rita
check "a result that quotes the code is refused by the room" sh -c "[ $rc = 1 ] && grep -q 'result 0 refused: finding refused: it repeats the sealed code' '$T/err'"
check "the refusal names no code" sh -c "! grep -qF \"\$(sed -n 2p '$T/src/main.c' | cut -c3-40)\" '$T/err'"
expect_fail "not SARIF" 1 "sarif: not a JSON object" "$SR" findings import fw@1.0 "$T/junk.sarif" --as rita
expect_fail "a vendor may not file" 1 "'vera' is a vendor, not a lab's reviewer" "$SR" findings import fw@1.0 "$T/a.sarif" --as vera
expect_fail "no grant" 1 "no grant for 'fw@2.0'" "$SR" findings import fw@2.0 "$T/a.sarif" --as rita
expect_fail "no such person" 1 "nobody" "$SR" findings import fw@1.0 "$T/a.sarif" --as nobody
expect_ok "import in the room, no vendor key" "$SR" findings import fw@1.0 "$T/a.sarif" --as rita
check "import says so" grep -q "^imported 2 findings into fw@1.0 as rita$" "$T/out"
check "both are stored" [ "$(sqlite3 "$T/fac/sealroom.db" 'SELECT count(*) FROM findings')" = 2 ]
expect_ok "the vendor acknowledges (nothing to read)" "$SR" findings state 1 acknowledged --as vera
expect_ok "fixed in 2.0, compared in the room" "$SR" findings state 1 fixed --fixed-in 2.0 --as vera
check "state says where" grep -q "^finding 1 is fixed in 2.0$" "$T/out"
expect_fail "fixed: unchanged lines, named by the room" 1 "fixed: lines 2-4 of 'lib/util.c' are unchanged|'lib/util.c' is the same file" "$SR" findings state 2 fixed --fixed-in 2.0 --as rita
expect_fail "fixed in a locked release" 1 "'fw@3.0' is locked" "$SR" findings state 2 fixed --fixed-in 3.0 --as rita
expect_fail "a comment as the vendor is not checked in the room (nobody's grant pays for it)" 1 \
	"finding 2: a comment as 'vera' \\(the vendor\\) is not checked against the code in the room" \
	"$SR" findings state 2 disputed --as vera --comment "$q"
expect_ok "the vendor disputes it (nothing to read)" "$SR" findings state 2 disputed --as vera
expect_fail "a comment quoting the code, checked in the room" 1 "repeats the sealed code" "$SR" findings state 2 open --as rita --comment "$q"
expect_ok "a comment of one's own, charged to the reviewer's grant" "$SR" findings state 2 open --as rita --comment "not reachable from any caller"

# the socket: another user, malformed messages; the room serves on
if [ "$(id -u)" = 0 ]; then
	chmod 0755 "$T" "$T/fac" 2>/dev/null
	expect_fail "a console request from another user is refused" 1 "only from the server's own user|Permission denied" \
		setpriv --reuid=65534 --regid=65534 --clear-groups "$SR" -C "$T/fac" build fw@1.0
fi
sock() { # OP PAYLOAD-PYTHON-EXPR [LENGTH]: one raw message, the answer's kind and text
	python3 - "$T/fac/keyring.sock" "$1" "$2" "${3:-}" <<'PY'
import socket, struct, sys
s = socket.socket(socket.AF_UNIX); s.connect(sys.argv[1]); s.settimeout(20)
p = eval(sys.argv[3]); n = int(sys.argv[4]) if sys.argv[4] else len(p)
s.sendall(b"SRK2" + sys.argv[2].encode() + struct.pack(">I", n) + p)
h = b""
while len(h) < 5:
    c = s.recv(5 - len(h))
    if not c: break
    h += c
k, l = h[0], struct.unpack(">I", h[1:5])[0]
b = b""
while len(b) < l:
    c = s.recv(l - len(b))
    if not c: break
    b += c
print(k, b.decode(errors="replace"))
PY
}
run sock C 'b"not json\nbody"'
check "malformed JSON: refused" grep -q '^1 -2	console: malformed request' "$T/out"
run sock C 'b"{\"op\":\"build\",\"release\":\"fw@1.0\",\"extra\":1}\n"'
check "an unknown field: refused" grep -q '^1 -2	console: malformed request' "$T/out"
run sock C 'b"{\"op\":\"shell\",\"release\":\"fw@1.0\"}\n"'
check "an unknown op: refused" grep -q '^1 -2	console: malformed request' "$T/out"
run sock C 'b"{\"op\":\"build\"}"'
check "no line end: refused" grep -q '^1 -2	console: malformed request' "$T/out"
run sock C 'b"{\"op\":\"build\",\"release\":\"../../x@1\"}\n"'
check "a hostile release name: no such release" grep -q "^1 -6	no release '../../x@1'" "$T/out"
run sock C 'b""' 999999999
check "a length past the limit: refused before reading" grep -q '^1 -2	not an unlock message' "$T/out"
run sock C 'b"{\"op\":\"state\",\"id\":-1,\"state\":\"open\",\"as\":\"rita\"}\n"'
check "a bad finding id: refused" grep -q '^1 -2	console: malformed request' "$T/out"
expect_ok "the room goes on serving" "$SR" verify fw@1.0
check "no code came back on any answer" sh -c "! grep -rqF \"\$(sed -n 2p '$T/src/main.c' | cut -c3-40)\" '$T/out' '$T/err'"

kill $SERVE 2>/dev/null; wait $SERVE 2>/dev/null
expect_fail "no room: build says how" 1 "no room is running to build 'fw@1.0' with its unlocked key \\(or give --vendor-key\\)" "$SR" build fw@1.0
expect_fail "no room: import says how" 1 "no room is running to check the findings against 'fw@1.0' \\(or give --vendor-key\\)" "$SR" findings import fw@1.0 "$T/a.sarif" --as rita
check "the findings are as they were" [ "$(sqlite3 "$T/fac/sealroom.db" 'SELECT count(*) FROM findings')" = 2 ]
done_testing
