#!/bin/sh
# report exposure: the JSON equals a recount from the raw log entries, online and offline
# (from a `log export`, verified), byte for byte; a tampered export is refused; the HTML
# page has its treemap and heat strips and loads nothing from outside.
. tests/cli/lib.sh

mkdir -p "$T/src/lib"
i=1; while [ $i -le 120 ]; do echo "int exposure_fn_$i(void) { return $i * 3; }"; i=$((i + 1)); done >"$T/src/main.c"
i=1; while [ $i -le 30 ]; do echo "static int helper_$i = $i;"; i=$((i + 1)); done >"$T/src/lib/util.c"
echo "never opened" >"$T/src/README"
demo_up "$T/src" 4409

login_demo rita
check "view main.c" [ "$(c -b "$T/rita" -o /dev/null -w '%{http_code}' "$U/r/demo@current/blob/main.c")" = 200 ]
check "view main.c again" [ "$(c -b "$T/rita" -o /dev/null -w '%{http_code}' "$U/r/demo@current/blob/main.c")" = 200 ]
check "view util.c" [ "$(c -b "$T/rita" -o /dev/null -w '%{http_code}' "$U/r/demo@current/blob/lib/util.c")" = 200 ]
check "search" [ "$(c -b "$T/rita" -o /dev/null -w '%{http_code}' "$U/r/demo@current/search?q=helper_1")" = 200 ]
# sam's budget (100 lines a day) is spent by one view of main.c; every further file and
# query is refused, and each refusal is a quota event of the log and the report
login_demo sam
check "sam views main.c" [ "$(c -b "$T/sam" -o /dev/null -w '%{http_code}' "$U/r/demo@current/blob/main.c")" = 200 ]
for i in 1 2 3 4; do
	check "sam refused util.c ($i)" [ "$(c -b "$T/sam" -o "$T/refused.html" -w '%{http_code}' "$U/r/demo@current/blob/lib/util.c")" != 200 ]
done
check "the refusal names the quota" grep -q "quota &#39;lines_per_day&#39; reached" "$T/refused.html"
check "sam refused a search" [ "$(c -b "$T/sam" -o /dev/null -w '%{http_code}' "$U/r/demo@current/search?q=helper_2")" != 200 ]
check "the first refusal is in the log at once" sh -c "sqlite3 '$T/fac/sealroom.db' \"SELECT count(*) FROM log_entries WHERE CAST(data AS TEXT) LIKE '%\\\"type\\\":\\\"quota_refusals\\\"%'\" | grep -qv '^0$'"
demo_down

expect_ok "report online" "$SR" report exposure demo@current --json
cp "$T/out" "$T/online.json"
"$SR" log vkey >"$T/log.vkey"
expect_ok "log export" "$SR" log export "$T/tiles"
expect_ok "report offline" "$SR" report exposure demo@current --from-log "$T/tiles" --vkey "$T/log.vkey" --json
check "offline = online, byte for byte" cmp -s "$T/online.json" "$T/out"
check "offline needs no facility" sh -c "SEALROOM_HOME=/nonexistent '$SR' report exposure demo@current --from-log '$T/tiles' --vkey '$T/log.vkey' --json | cmp -s - '$T/online.json'"

# the recount: every number from the raw entries of the export's entry bundles
check "JSON equals a recount from raw entries" python3 - "$T/online.json" "$T/tiles" <<'PY'
import json, os, sys
rep = json.load(open(sys.argv[1]))
d = sys.argv[2]
raw = b""
for root, _, files in sorted(os.walk(os.path.join(d, "tile", "entries"))):
    for f in sorted(files):
        raw += open(os.path.join(root, f), "rb").read()
ents = []
cp = open(os.path.join(d, "checkpoint")).read().split("\n")
n = int(cp[1])
# bundles are read in path order: rebuild the order from the tile index paths
def bundles():
    out = []
    for root, _, files in os.walk(os.path.join(d, "tile", "entries")):
        for f in files:
            p = os.path.relpath(os.path.join(root, f), os.path.join(d, "tile", "entries"))
            parts = p.split(os.sep)
            for i, x in enumerate(parts):
                if x.endswith(".p"):
                    parts = parts[:i] + [x[:-2]]; break
            num = int("".join(x.lstrip("x") for x in parts))
            out.append((num, os.path.join(root, f)))
    return [p for _, p in sorted(out)]
for b in bundles():
    data = open(b, "rb").read(); pos = 0
    while pos < len(data):
        l = data[pos] << 8 | data[pos + 1]; ents.append(json.loads(data[pos + 2:pos + 2 + l])); pos += 2 + l
assert len(ents) == n == rep["checkpoint"]["size"] == rep["entries"], (len(ents), n)
users = {e["login"]: e["org"] for e in ents if e["type"] == "user_add"}
views = [e for e in ents if e["type"] == "view" and e.get("release") == "demo@current"]
searches = [e for e in ents if e["type"] == "search" and e.get("release") == "demo@current"]
assert views and searches
rv = rep["labs"][users["rita"]]["reviewers"]["rita"]
assert rv["views"] == len([v for v in views if v["actor"] == "rita"])
assert rv["view_lines"] == sum(v["lines"][1] - v["lines"][0] + 1 for v in views if v["actor"] == "rita")
assert [s["query"] for s in rv["searches"]] == [s["query"] for s in searches if s["actor"] == "rita"]
assert rv["search_lines"] == sum(s["lines"] for s in searches if s["actor"] == "rita")
lines = {}
for v in views:
    if v["actor"] != "rita": continue
    for i in range(v["lines"][0], v["lines"][1] + 1):
        lines[(v["path"], i)] = lines.get((v["path"], i), 0) + 1
assert rv["lines_shown"] == len(lines), (rv["lines_shown"], len(lines))
assert rv["files"]["main.c"]["views"] == 2 and rv["files"]["main.c"]["shown"] == [[1, 120, 2]], rv["files"]["main.c"]
assert rv["files"]["lib/util.c"]["shown"] == [[1, 30, 1]]
assert "README" not in rv["files"]
lab = rep["labs"][users["rita"]]
assert lab["files_shown"] == 2 and lab["share_of_files"] == "66.7%", lab["share_of_files"]
# quota events: the counts of the quota_refusals entries under the release's grants
grants = {e["grant"] for e in ents if e["type"] == "grant_active" and e.get("release") == "demo@current"}
qr = [e for e in ents if e["type"] == "quota_refusals" and e["grant"] in grants]
sam = rep["labs"][users["sam"]]["reviewers"]["sam"]
by = {}
for e in qr:
    if e["actor"] == "sam": by[e["quota"]] = by.get(e["quota"], 0) + e["count"]
assert sam["quota_events"] == sum(by.values()) >= 5, (sam["quota_events"], by)
assert sam["quota_refused"] == by and by.get("lines_per_day", 0) >= 4, by
assert rv["quota_events"] == 0 and rv["quota_refused"] == {}
assert lab["quota_events"] == sum(r["quota_events"] for r in lab["reviewers"].values())
for e in qr:
    assert set(e) == {"type", "actor", "time", "session", "grant", "quota", "limit", "used", "count", "minute"}, e
    assert e["limit"] >= 0 and e["minute"] % 60 == 0
# bounded: at most two entries per session, grant, quota and minute
keys = {}
for e in qr:
    k = (e["session"], e["grant"], e["quota"], e["minute"]); keys[k] = keys.get(k, 0) + 1
assert max(keys.values()) <= 2, keys
seal = [e for e in ents if e["type"] == "seal" and e["release"] == "demo@current"][-1]
assert rep["tree"] == {"sha256": seal["tree_sha256"], "sha1": seal["tree_sha1"], "files": 3}
PY
check "report names the checkpoint" python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); assert d["checkpoint"]["origin"] and len(d["checkpoint"]["root"])==44' "$T/online.json"

expect_ok "report --lab" "$SR" report exposure demo@current --lab nobody --json
check "another lab: nothing" python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); assert d["labs"]=={}' "$T/out"
expect_ok "report --html" "$SR" report exposure demo@current --html "$T/r.html"
check "html: treemap and strips" sh -c "grep -q '<svg id=\"treemap\"' '$T/r.html' && grep -q 'class=\"strip\"' '$T/r.html' && grep -q 'main.c' '$T/r.html'"
check "html: nothing external" sh -c "! grep -Eo '(src|href)=\"[^\"]*\"' '$T/r.html' | grep -q . && ! grep -q '<script' '$T/r.html'"

check "html: quota events" grep -q '<th>quota events</th>' "$T/r.html"
check "no code in a quota event" sh -c "! sqlite3 '$T/fac/sealroom.db' \"SELECT CAST(data AS TEXT) FROM log_entries WHERE CAST(data AS TEXT) LIKE '%quota_refusals%'\" | grep -q -e exposure_fn -e helper_ -e util.c"

# log verify's audit accepts the refusals; one forged under a grant the log never gave
# that reviewer is named
"$SR" log vkey >"$T/log.pub"
expect_ok "audit: the refusals pass" "$SR" log verify --vkey "$T/log.pub"
cp -r "$T/fac" "$T/fac-forged"
N=$(sqlite3 "$T/fac-forged/sealroom.db" 'SELECT count(*) FROM log_entries')
G=$(sqlite3 "$T/fac-forged/sealroom.db" "SELECT g.id FROM grants g JOIN people p ON p.id = g.reviewer_id WHERE p.login = 'sam'")
"$SR" -C "$T/fac-forged" log append '{"type":"quota_refusals","actor":"rita","session":"00","grant":'"$G"',"quota":"lines_total","limit":1,"used":1,"count":1,"minute":0}' >/dev/null
expect_fail "audit: refusals under another's grant" 1 "log entry $N: refusals of 'rita' under grant $G, which the log never gave them" "$SR" -C "$T/fac-forged" log verify --vkey "$T/log.pub"

# a tampered export is refused, not recounted
cp -r "$T/tiles" "$T/bad"
b=$(find "$T/bad/tile/entries" -type f | head -n 1)
python3 - "$b" <<'PY'
import sys
p = sys.argv[1]; d = bytearray(open(p, "rb").read())
i = d.find(b'"view"')
if i < 0: i = d.find(b'"type"')
d[i + 2] ^= 1
open(p, "wb").write(bytes(d))
PY
expect_fail "tampered export refused" 1 "entry|hash|root|match" "$SR" report exposure demo@current --from-log "$T/bad" --vkey "$T/log.vkey" --json
"$SR" key new other --out "$T/o.key" >/dev/null
expect_fail "another log key refused" 1 "." "$SR" report exposure demo@current --from-log "$T/tiles" --vkey "$T/o.key.pub" --json
expect_fail "from-log without vkey" 2 "go together" "$SR" report exposure demo@current --from-log "$T/tiles"
expect_fail "not exposure" 2 "wants 'exposure'" "$SR" report coverage demo@current
done_testing
