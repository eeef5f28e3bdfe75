#!/bin/sh
# findings: import from SARIF (places checked against the release, code quotes refused),
# list, export (SARIF 2.1.0, Microsoft's validator when tests/interop is installed), round
# trip, states with their authors (fixed checked against the fixing release), vendor first.
. tests/cli/lib.sh

"$SR" init -C "$T/fac" --name room.example >/dev/null
export SEALROOM_HOME="$T/fac"
"$SR" key new acme --out "$T/v.key" >/dev/null
"$SR" key new other --out "$T/o.key" >/dev/null
mkdir -p "$T/src/lib" "$T/src2/lib"
python3 - "$T/src" "$T/src2" <<'PY'
import os, sys, random
random.seed(7)
words = ["alpha", "beta", "gamma", "delta", "kappa", "sigma", "omega", "theta"]
def fn(i):
    body = " + ".join(random.choice(words) + str(random.randint(0, 999)) for _ in range(6))
    return "static int f%d(int alpha, int beta) {\n\treturn %s;\n}\n" % (i, body)
main = "".join(fn(i) for i in range(40))
for d in sys.argv[1:]:
    open(os.path.join(d, "main.c"), "w").write(main)
    open(os.path.join(d, "lib", "util.c"), "w").write("int util(void)\n{\n\treturn 1;\n}\n")
    open(os.path.join(d, "with space.c"), "w").write("int s;\n")
# the fix: line 5 of main.c changes in src2
lines = main.split("\n"); lines[4] = "\treturn 0; /* fixed */"
open(os.path.join(sys.argv[2], "main.c"), "w").write("\n".join(lines))
PY
"$SR" seal "$T/src" --product fw --version 1.0 --vendor-key "$T/v.key" >/dev/null
"$SR" seal "$T/src2" --product fw --version 2.0 --vendor-key "$T/v.key" >/dev/null
"$SR" org add acme --kind vendor >/dev/null
"$SR" org add lab1 --kind lab >/dev/null
"$SR" org add lab2 --kind lab >/dev/null
"$SR" org add ops --kind operator >/dev/null
for u in "vera acme vendor" "otto ops operator" "rita lab1 reviewer" "lena lab1 auditor" "rob lab2 reviewer"; do
	set -- $u; "$SR" user add "$1" --org "$2" --role "$3" >/dev/null
done
grant() { # reviewer version: the vendor's signed approval, applied by the operator
	"$SR" nominate "fw@$2" --reviewer "$1" --as otto >/dev/null &&
	seal_of "$SEALROOM_HOME/sealroom.db" fw "$2" "$T/seal-$2" &&
	vendor_decide "$T/v.key" "$T/seal-$2" otto approve "fw@$2" --reviewer "$1" --from 2020-01-01 --until 2099-12-31 >/dev/null
}
grant rita 1.0 && grant rob 1.0 || fail "setting up grants"

sarif() { # FILE then result objects as JSON on stdin
	python3 -c '
import json, sys
res = [json.loads(l) for l in sys.stdin if l.strip()]
json.dump({"version": "2.1.0", "runs": [{"tool": {"driver": {"name": "scan", "rules": [
  {"id": "R1", "properties": {"tags": ["external/cwe/cwe-787"]}}]}}, "results": res}]}, open(sys.argv[1], "w"))' "$1"
}
loc() { printf '"locations":[{"physicalLocation":{"artifactLocation":{"uri":"%s","uriBaseId":"SRCROOT"},"region":{"startLine":%s,"endLine":%s}}}]' "$1" "$2" "$3"; }

sarif "$T/a.sarif" <<EOF2
{"ruleId":"R1","level":"error","message":{"text":"Out-of-bounds write in f1\nThe index is not checked."},$(loc main.c 5 6)}
{"ruleId":"CWE-79","level":"warning","message":{"text":"Reflected output"},$(loc with%20space.c 1 1),"properties":{"security-severity":"9.5"}}
{"ruleId":"R2","level":"note","message":{"text":"Scored"},$(loc lib/util.c 2 4),"properties":{"sealroom":{"cvss":"CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:N/A:N"}}}
EOF2
expect_fail "import needs --as" 2 "import wants" "$SR" findings import fw@1.0 "$T/a.sarif" --vendor-key "$T/v.key"
expect_fail "import: vendor may not file" 1 "'vera' is a vendor, not a lab's reviewer" "$SR" findings import fw@1.0 "$T/a.sarif" --as vera --vendor-key "$T/v.key"
expect_fail "import: no grant" 1 "no grant for 'fw@2.0'" "$SR" findings import fw@2.0 "$T/a.sarif" --as rita --vendor-key "$T/v.key"
expect_fail "import: another vendor key" 1 "was sealed by vendor key 'acme.*not by the key given" "$SR" findings import fw@1.0 "$T/a.sarif" --as rita --vendor-key "$T/o.key"
printf '{"version":"2.0.0","runs":[]}' >"$T/old.sarif"
expect_fail "import: not 2.1.0" 1 "sarif: version is not 2.1.0" "$SR" findings import fw@1.0 "$T/old.sarif" --as rita --vendor-key "$T/v.key"
printf 'not json' >"$T/junk.sarif"
expect_fail "import: not JSON" 1 "sarif: not a JSON object" "$SR" findings import fw@1.0 "$T/junk.sarif" --as rita --vendor-key "$T/v.key"

# results outside the release: each refused with its reason, nothing stored
sarif "$T/bad.sarif" <<EOF2
{"ruleId":"R1","message":{"text":"fine"},$(loc main.c 1 2)}
{"ruleId":"R1","message":{"text":"escape"},$(loc ../etc/passwd 1 1)}
{"ruleId":"R1","message":{"text":"absolute"},$(loc file:///etc/passwd 1 1)}
{"ruleId":"R1","message":{"text":"no such file"},$(loc nope.c 1 1)}
{"ruleId":"R1","message":{"text":"past the end"},$(loc lib/util.c 4 5)}
{"ruleId":"R1","message":{"text":"no region"},"locations":[{"physicalLocation":{"artifactLocation":{"uri":"main.c"}}}]}
{"ruleId":"R1","message":{"text":"backwards"},$(loc main.c 9 3)}
EOF2
run "$SR" findings import fw@1.0 "$T/bad.sarif" --as rita --vendor-key "$T/v.key"
check "outside: exit 1" [ $rc -eq 1 ]
check "outside: ../ refused" grep -q "result 1 refused: a path with an empty, '.' or '..' segment" "$T/err"
check "outside: absolute refused" grep -q "result 2 refused: an absolute URI" "$T/err"
check "outside: unknown file" grep -q "result 3 refused: finding: 'nope.c' is not a file of the release (outside fw@1.0)" "$T/err"
check "outside: past the end" grep -q "result 4 refused: finding: 'lib/util.c' has 4 lines, not 5" "$T/err"
check "outside: no region" grep -q "result 5 refused: its region has no startLine" "$T/err"
check "outside: backwards" grep -q "result 6 refused: its region ends before it starts" "$T/err"
check "outside: summary" grep -q "6 results refused: nothing imported" "$T/err"
check "outside: nothing stored" [ "$(sqlite3 "$T/fac/sealroom.db" 'SELECT count(*) FROM findings')" = 0 ]

# a finding that quotes 12 tokens of the code is refused (and logged), 11 are kept
q12=$(sed -n 2p "$T/src/main.c" | python3 -c 'import sys,re; t=re.findall(r"[A-Za-z_][A-Za-z0-9_]*|[0-9]+|[^\sA-Za-z0-9_]+", sys.stdin.read()); print(" ".join(t[:12]))')
q11=$(sed -n 2p "$T/src/main.c" | python3 -c 'import sys,re; t=re.findall(r"[A-Za-z_][A-Za-z0-9_]*|[0-9]+|[^\sA-Za-z0-9_]+", sys.stdin.read()); print(" ".join(t[:11]))')
printf '{"ruleId":"R1","message":{"text":"quote\\n%s"},%s}\n' "$q12" "$(loc main.c 2 2)" | sarif "$T/q12.sarif"
run "$SR" findings import fw@1.0 "$T/q12.sarif" --as rita --vendor-key "$T/v.key"
check "12 tokens refused" sh -c "[ $rc = 1 ] && grep -Eq 'result 0 refused: finding refused: it repeats the sealed code' '$T/err'"
check "refusal logged" [ "$(sqlite3 "$T/fac/sealroom.db" "SELECT count(*) FROM log_entries WHERE CAST(data AS TEXT) LIKE '%\"type\":\"finding_refused\"%'")" = 1 ]
printf '{"ruleId":"R1","message":{"text":"quote\\n%s"},%s}\n' "$q11" "$(loc main.c 2 2)" | sarif "$T/q11.sarif"

expect_ok "import" "$SR" findings import fw@1.0 "$T/a.sarif" --as rita --vendor-key "$T/v.key"
check "import says so" grep -q "imported 3 findings into fw@1.0 as rita" "$T/out"
expect_ok "import 11 tokens" "$SR" findings import fw@1.0 "$T/q11.sarif" --as rita --vendor-key "$T/v.key"
expect_ok "list --json" "$SR" findings list fw@1.0 --json
check "list: fields" python3 - "$T/out" <<'PY'
import json, sys
l = json.load(open(sys.argv[1]))
assert [f["id"] for f in l] == [1, 2, 3, 4], l
a, b, c, d = l
assert a["title"] == "Out-of-bounds write in f1" and a["severity"] == "high" and a["cwe"] == 787, a
assert (a["path"], a["line_from"], a["line_to"], a["state"], a["lab"]) == ("main.c", 5, 6, "open", "lab1"), a
assert b["path"] == "with space.c" and b["severity"] == "critical" and b["cwe"] == 79, b
assert c["cvss"] == "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:N/A:N" and c["score"] == 7.5 and c["severity"] == "high", c
assert len(a["blob"]) == 64
PY
blob=$(git hash-object --object-format=sha256 "$T/src/main.c" 2>/dev/null || true)
[ -n "$blob" ] && check "blob is git's sha256 id" python3 -c 'import json,sys; assert json.load(open(sys.argv[1]))[0]["blob"]==sys.argv[2]' "$T/out" "$blob"
check "finding logged without its text" sh -c "sqlite3 '$T/fac/sealroom.db' \"SELECT CAST(data AS TEXT) FROM log_entries WHERE CAST(data AS TEXT) LIKE '%\\\"type\\\":\\\"finding\\\"%'\" >'$T/fl' && [ \$(wc -l <'$T/fl') = 4 ] && ! grep -q 'Out-of-bounds' '$T/fl'"

# export: SARIF 2.1.0
expect_ok "export" "$SR" findings export fw@1.0
cp "$T/out" "$T/e1.sarif"
check "export is SARIF 2.1.0" python3 - "$T/e1.sarif" <<'PY'
import json, sys
d = json.load(open(sys.argv[1]))
assert d["version"] == "2.1.0" and d["$schema"].endswith("sarif-2.1.0.json")
r = d["runs"][0]["results"]
assert len(r) == 4
assert r[1]["locations"][0]["physicalLocation"]["artifactLocation"]["uri"] == "with%20space.c"
assert r[0]["level"] == "error" and r[0]["properties"]["sealroom"]["text"] == "The index is not checked."
PY
mt=$(ls tests/interop/node_modules/@microsoft/sarif-multitool-linux/Sarif.Multitool 2>/dev/null)
if [ -n "$mt" ]; then
	[ -x "$mt" ] || chmod u+x "$mt" 2>/dev/null
	HOME="$T" DOTNET_CLI_TELEMETRY_OPTOUT=1 "$mt" validate "$T/e1.sarif" -o "$T/v.sarif" >"$T/mt.out" 2>&1; mrc=$?
	check "Sarif.Multitool validate runs" [ $mrc -eq 0 ]
	check "Sarif.Multitool: no error" python3 - "$T/v.sarif" <<'PY'
import json, sys
d = json.load(open(sys.argv[1]))
errs = [r for run in d["runs"] for r in run.get("results", []) if r.get("level") == "error"]
for e in errs: print(e["ruleId"], e["message"])
assert not errs
PY
	# the validator is a real oracle: a broken log is reported
	python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); d["runs"][0]["results"][0]["locations"][0]["physicalLocation"]["region"]["startLine"]=0; json.dump(d,open(sys.argv[2],"w"))' "$T/e1.sarif" "$T/broken.sarif"
	HOME="$T" DOTNET_CLI_TELEMETRY_OPTOUT=1 "$mt" validate "$T/broken.sarif" -o "$T/vb.sarif" >/dev/null 2>&1
	check "Sarif.Multitool catches a broken log" python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); assert any(r.get("level")=="error" for run in d["runs"] for r in run.get("results",[]))' "$T/vb.sarif"
else
	echo "note: tests/interop not installed; SARIF checked by shape only"
fi

# round trip: what lab1 exported, lab2 imports; its export has the same results
expect_ok "round trip import" "$SR" findings import fw@1.0 "$T/e1.sarif" --as rob --vendor-key "$T/v.key"
expect_ok "export --lab" "$SR" findings export fw@1.0 --lab lab2
check "round trip" python3 - "$T/e1.sarif" "$T/out" <<'PY'
import json, sys
def norm(p):
    out = []
    for r in json.load(open(p))["runs"][0]["results"]:
        s = dict(r["properties"]["sealroom"])
        for k in ("id", "lab", "author", "created", "updated"): s.pop(k)
        r = dict(r); r["properties"] = dict(r["properties"], sealroom=s)
        out.append(r)
    return out
a, b = norm(sys.argv[1]), norm(sys.argv[2])
assert a == b, (a, b)
PY

# states: vendor acknowledges; fixed in 2.0 is checked against its diff
expect_fail "reviewer cannot acknowledge" 1 "the lab may not move it from open to acknowledged" "$SR" findings state 1 acknowledged --as rita
expect_fail "operator sees nothing" 1 "finding 1: no such finding" "$SR" findings state 1 acknowledged --as otto
expect_fail "other lab sees nothing" 1 "finding 1: no such finding" "$SR" findings state 1 fixed --as rob
expect_fail "bad state" 2 "state 'done' is not one of" "$SR" findings state 1 done --as vera
expect_ok "vendor acknowledges" "$SR" findings state 1 acknowledged --as vera
expect_fail "fixed without the key and no room" 1 "no room is running to compare the releases or check the comment \\(or give --vendor-key\\)" "$SR" findings state 1 fixed --fixed-in 2.0 --as vera
expect_ok "fixed in 2.0 (line 5 changed)" "$SR" findings state 1 fixed --fixed-in 2.0 --as vera --vendor-key "$T/v.key"
expect_fail "fixed: unchanged lines" 1 "fixed: lines 2-4 of 'lib/util.c' are unchanged|fixed: 'lib/util.c' is the same file" "$SR" findings state 3 fixed --fixed-in 2.0 --as rita --vendor-key "$T/v.key"
expect_fail "fixed: same release" 2 "another release than 1.0" "$SR" findings state 3 fixed --fixed-in 1.0 --as rita --vendor-key "$T/v.key"
expect_fail "fixed: no such release" 1 "no release 'fw@9'|fw@9" "$SR" findings state 3 fixed --fixed-in 9 --as rita --vendor-key "$T/v.key"
expect_ok "lab reopens" "$SR" findings state 1 open --as rita
expect_ok "vendor disputes" "$SR" findings state 2 disputed --as vera
expect_ok "list" "$SR" findings list fw@1.0 --lab lab1
check "list shows states" sh -c "grep -q '^1 .*open' '$T/out' && grep -q '^2 .*disputed' '$T/out' && ! grep -q lab2 '$T/out'"
check "timeline has authors" [ "$(sqlite3 "$T/fac/sealroom.db" "SELECT group_concat(actor || ':' || state, ',') FROM finding_events WHERE finding_id = 1")" = "rita:open,vera:acknowledged,vera:fixed,rita:open" ]
check "states logged" [ "$(sqlite3 "$T/fac/sealroom.db" "SELECT count(*) FROM log_entries WHERE CAST(data AS TEXT) LIKE '%\"type\":\"finding_state\"%'")" = 4 ]
expect_fail "bad id" 2 "finding id 'x' is not a number" "$SR" findings state x open --as rita
expect_fail "unknown subcommand" 2 "'drop' is not list, export, import or state" "$SR" findings drop fw@1.0
done_testing
