#!/bin/sh
# the room's diffs: generated pairs of files with random edits, compared through the room
# with `git diff --no-index` (hunk headers, the function named after them, each line's
# kind and numbers, removed before added); the folder diff against git's --name-status
# (renames paired by blob id); binary files named as binary; more context on request; the
# links to "changes since" the previous release; each diff logged with the lines shown.
. tests/cli/lib.sh

PORT=$((20000 + ($$ + 7) % 20000))
U="https://127.0.0.1:$PORT"
mkdir -p "$T/v1" "$T/v2"
# generated C-like files, then random line edits (delete, insert, replace) to each
python3 - "$T" <<'EOF'
import os, random, sys
t = sys.argv[1]
rnd = random.Random(14)
def text(n):
    out = []
    for i in range(n):
        k = rnd.randrange(8)
        out.append(["}", "", "static int f%d(void)" % i, "{", "\treturn 0;", "_tail%d:" % i, "\tx = y + %d;" % rnd.randrange(40), "\tz++;"][k])
    return out
def mutate(lines, n):
    out = []
    for l in lines:
        op = rnd.randrange(len(lines)) < n and rnd.randrange(3)
        if op == 1: out.append("\tinserted(%d);" % rnd.randrange(1000))
        if op == 2: out.append("}")
        if op is False or op == 1: out.append(l)
    return out
for i in range(12):
    a = text(60 + 37 * i)
    b = mutate(a, 1 + i % 6)
    for d, l in (("v1", a), ("v2", b)):
        os.makedirs(os.path.join(t, d, "src"), exist_ok=True)
        open(os.path.join(t, d, "src", "f%02d.c" % i), "w").write("\n".join(l) + ("\n" if i % 5 else ""))
open(os.path.join(t, "v1", "same.c"), "w").write("int same;\n")
open(os.path.join(t, "v2", "same.c"), "w").write("int same;\n")
open(os.path.join(t, "v1", "gone.txt"), "w").write("only in one\n")
open(os.path.join(t, "v2", "new.txt"), "w").write("only in two\n")
open(os.path.join(t, "v1", "old-name.h"), "w").write("#define MOVED 1\n")
open(os.path.join(t, "v2", "new-name.h"), "w").write("#define MOVED 1\n")
open(os.path.join(t, "v1", "logo.bin"), "wb").write(bytes(range(256)) * 4)
open(os.path.join(t, "v2", "logo.bin"), "wb").write(bytes(range(256)) * 5)
EOF

start() {
	"$SR" demo "$T/$1" -C "$T/fac" --version "$2" --listen "127.0.0.1:$PORT" --json >"$T/demo.json" 2>"$T/demo.err" &
	DEMO=$!
	for i in $(seq 1 150); do [ -s "$T/demo.json" ] && break; sleep 0.2; done
}
start v1 1
kill -TERM $DEMO; wait $DEMO
rm -f "$T/demo.json"
start v2 2
check "demo serves both releases" grep -q '"release":"demo@2"' "$T/demo.json"

totp() {
	python3 - "$T/demo.json" "$1" <<'EOF'
import json, sys, hmac, hashlib, base64, struct, time
d = json.load(open(sys.argv[1]))
a = [x for x in d["accounts"] if x["login"] == sys.argv[2]][0]
s = a["totp_secret"]; key = base64.b32decode(s + "=" * ((8 - len(s) % 8) % 8))
h = hmac.new(key, struct.pack(">Q", int(time.time()) // 30), hashlib.sha1).digest()
o = h[-1] & 15
print(a.get("password", ""), "%06d" % ((struct.unpack(">I", h[o:o + 4])[0] & 0x7fffffff) % 1000000))
EOF
}
c() { curl -sk --max-time 20 "$@"; }
code() { c -b "$T/j" -o "$T/body" -w '%{http_code}' "$@"; }
set -- $(totp rita)
c -c "$T/j" -b "$T/j" "$U/login" -o "$T/form"
csrf=$(sed -n 's/.*name="csrf" value="\([0-9a-f]*\)".*/\1/p' "$T/form")
check "login" [ "$(c -c "$T/j" -b "$T/j" -o /dev/null -w '%{http_code}' -X POST "$U/login" --data-urlencode "login=rita" \
	--data-urlencode "password=$1" --data-urlencode "totp=$2" --data-urlencode "csrf=$csrf")" = 303 ]

# the room's structure of a file diff and git's, printed the same way
cat >"$T/shape.py" <<'EOF'
import re, subprocess, sys
def room(path):
    t = open(path, encoding="utf-8").read()
    out = []
    for m in re.finditer(r'<div class="l (hh|r|a|u)" id="[HOL]\d+">(.*?)</div>\n', t):
        kind, body = m.groups()
        if kind == "hh":
            h = re.search(r"<span class=hr>(@@ [^<]* @@)</span>( <span class=c>)?", body)
            out.append(h.group(1) + (" F" if h.group(2) else ""))
            continue
        nums = re.findall(r'<a class=n data-n=(\d+) href="#([OL])\d+"></a>|<span class=n></span>', body)
        o = next((n for n, s in nums if s == "O"), "")
        n = next((n for n, s in nums if s == "L"), "")
        out.append({"r": "-", "a": "+", "u": " "}[kind] + o + "," + n)
    return out
def git(a, b, ctx):
    p = subprocess.run(["git", "diff", "--no-index", "--no-indent-heuristic", "-U%s" % ctx, a, b], capture_output=True, text=True)
    out, o, n = [], 0, 0
    for l in p.stdout.splitlines():
        m = re.match(r"@@ -(\d+)(?:,(\d+))? \+(\d+)(?:,(\d+))? @@(.*)", l)
        if m:
            o, n = int(m.group(1)), int(m.group(3))
            oc, nc = m.group(2) or "1", m.group(4) or "1"
            if oc != "0": o -= 1
            if nc != "0": n -= 1
            out.append("@@ -%s,%s +%s,%s @@%s" % (m.group(1), oc, m.group(3), nc, " F" if m.group(5) else ""))
        elif out and l[:1] == "-" and not l.startswith("--- "):
            o += 1; out.append("-%d," % o)
        elif out and l[:1] == "+" and not l.startswith("+++ "):
            n += 1; out.append("+,%d" % n)
        elif out and l[:1] == " ":
            o += 1; n += 1; out.append(" %d,%d" % (o, n))
    return out
r, g = room(sys.argv[1]), git(sys.argv[2], sys.argv[3], sys.argv[4])
if r != g:
    print("room:", r[:40], "\ngit: ", g[:40])
    sys.exit(1)
EOF
for i in 00 01 02 03 04 05 06 07 08 09 10 11; do
	check "diff of src/f$i.c answers" [ "$(code "$U/r/demo@2/diff/1/src/f$i.c")" = 200 ]
	check "diff of src/f$i.c is git's" python3 "$T/shape.py" "$T/body" "$T/v1/src/f$i.c" "$T/v2/src/f$i.c" 3
done
check "diff with more context" [ "$(code "$U/r/demo@2/diff/1/src/f11.c?ctx=8")" = 200 ]
check "diff with 8 lines of context is git's -U8" python3 "$T/shape.py" "$T/body" "$T/v1/src/f11.c" "$T/v2/src/f11.c" 8
check "diff with no context" [ "$(code "$U/r/demo@2/diff/1/src/f11.c?ctx=0")" = 200 ]
check "diff with no context is git's -U0" python3 "$T/shape.py" "$T/body" "$T/v1/src/f11.c" "$T/v2/src/f11.c" 0
code "$U/r/demo@2/diff/1/src/f11.c" >/dev/null
check "hidden lines link to more context" grep -q 'class=more href="?ctx=[0-9]*#[LO][0-9]*">[0-9]* unchanged line' "$T/body"
check "a whole-file link" grep -q 'id="ctx-all" href="?ctx=1000000"' "$T/body"
check "diff sends no code as text" sh -c "! grep -q 'static int f' '$T/body'"
check "an absurd context is capped" [ "$(code "$U/r/demo@2/diff/1/src/f11.c?ctx=99999999999")" = 200 ]
check "the whole file has no gap left" sh -c "! grep -q 'class=more' '$T/body'"
code "$U/r/demo@2/diff/1/src/f05.c?ctx=1000000" >/dev/null
check "a file without a newline at its end says so" grep -q 'No newline at end of file' "$T/body"

# the folder diff against git's name-status (exact renames)
check "tree diff" [ "$(code "$U/r/demo@2/diff/1/")" = 200 ]
python3 - "$T/body" >"$T/room-ns" <<'EOF'
import re, sys
t = open(sys.argv[1], encoding="utf-8").read()
for m in re.finditer(r'<li class="ch(.)"><span class="kind">.</span> <a href="[^"]*">([^<]*)</a>(?: <span class="from">from ([^<]*)</span>)?', t):
    print("\t".join([m.group(1)] + ([m.group(3)] if m.group(3) else []) + [m.group(2)]))
EOF
(cd "$T" && git diff --no-index --name-status --find-renames=100% v1 v2 | sed 's/^R100/R/; s#v[12]/##g' | LC_ALL=C sort -t "$(printf '\t')" -k2) >"$T/git-ns"
check "tree diff lists git's changes" sh -c "LC_ALL=C sort -t '$(printf '\t')' -k2 '$T/room-ns' | cmp -s - '$T/git-ns' || { diff '$T/room-ns' '$T/git-ns'; false; }"
code "$U/r/demo@2/diff/1/src" >/dev/null
check "subfolder diff lists only its files" [ "$(grep -o '<li class="ch' "$T/body" | wc -l)" = "$(grep -c 'src/' "$T/git-ns")" ]
check "renamed file diff" [ "$(code "$U/r/demo@2/diff/1/new-name.h")" = 200 ]
check "renamed file: no line changed" grep -q 'renamed from old-name.h' "$T/body"
check "renamed file: no changes in it" grep -q 'no changes in this file' "$T/body"
check "deleted file" [ "$(code "$U/r/demo@2/diff/1/gone.txt")" = 200 ]
check "deleted file: one removed line" [ "$(grep -c '<div class="l r"' "$T/body")" = 1 ]
check "binary file" [ "$(code "$U/r/demo@2/diff/1/logo.bin")" = 200 ]
check "binary file named as binary" grep -q 'id="binary">binary file: 1024 bytes before, 1280 bytes after' "$T/body"
check "binary file shows no line" sh -c "! grep -q '<div class=\"l ' '$T/body'"
check "unchanged file" [ "$(code "$U/r/demo@2/diff/1/same.c")" = 200 ]
check "unchanged file says so" grep -q 'no changes in this file' "$T/body"
check "diff against a missing release" [ "$(code "$U/r/demo@2/diff/9/src/f01.c")" = 404 ]

# links to the changes since the previous release
check "releases page" [ "$(code "$U/releases")" = 200 ]
check "releases page links demo@2 to its changes since 1" grep -q 'class="since" href="/r/demo@2/diff/1/">changes since 1' "$T/body"
check "file view" [ "$(code "$U/r/demo@2/blob/src/f03.c")" = 200 ]
check "file view links to its changes since 1" grep -q 'id="since" href="/r/demo@2/diff/1/src/f03.c">changes since 1' "$T/body"
check "first release has no previous" [ "$(code "$U/r/demo@1/blob/src/f03.c")" = 200 ]
check "first release: no changes-since link" sh -c "! grep -q 'id=\"since\"' '$T/body'"

# every diff is logged with the lines it showed
sqlite3 "$T/fac/sealroom.db" "SELECT CAST(data AS TEXT) FROM log_entries" >"$T/log"
check "diffs are logged with the blobs and lines shown" python3 - "$T/log" <<'EOF'
import json, sys
d = [json.loads(l) for l in open(sys.argv[1]) if '"type":"diff"' in l]
assert len(d) >= 15, len(d)
assert all(e["base"] == "1" and e["release"] == "demo@2" and len(e["blob"]) in (0, 64) for e in d)
b = [e for e in d if e["path"] == "logo.bin"]
assert b and b[0].get("binary") is True and b[0]["lines_shown"] == 0
assert any(e["path"] == "src/f11.c" and e["lines_shown"] > 0 for e in d)
EOF

# each diff line is charged to the budget of the release it comes from: removed lines (and
# the hunk headers' function lines) to the older release's grant, the rest to this one's
check "diff lines are charged to the grant of their release" python3 - "$T/fac/sealroom.db" "$T/v1/src/f11.c" "$T/v2/src/f11.c" <<'EOF'
import hashlib, re, sqlite3, subprocess, sys
db = sqlite3.connect(sys.argv[1])
gid = dict(db.execute("SELECT r.version, g.id FROM grants g JOIN releases r ON g.release_id = r.id "
                      "JOIN people p ON g.reviewer_id = p.id WHERE p.login = 'rita' AND g.state = 'active'"))
def blob(path):
    d = open(path, "rb").read()
    return hashlib.sha256(b"blob %d\0" % len(d) + d).hexdigest()
def charged(g, b):
    return {l for (l,) in db.execute("SELECT line FROM quota_shown WHERE grant_id = ? AND blob = ?", (g, b))}
old, new = blob(sys.argv[2]), blob(sys.argv[3])
p = subprocess.run(["git", "diff", "--no-index", "--no-indent-heuristic", "-U0", sys.argv[2], sys.argv[3]], capture_output=True, text=True)
removed, o = set(), 0
for l in p.stdout.splitlines():
    m = re.match(r"@@ -(\d+)", l)
    if m: o = int(m.group(1)) - (0 if re.match(r"@@ -\d+,0 ", l) else 1)
    elif l[:1] == "-" and not l.startswith("---"): o += 1; removed.add(o)
text = open(sys.argv[2]).read().split("\n")
funcs = {i + 1 for i, l in enumerate(text) if l[:1].isalpha() or l[:1] in "_$"}
c_old = charged(gid["1"], old)
n_new = len(open(sys.argv[3]).read().rstrip("\n").split("\n"))
assert removed and removed <= c_old <= removed | funcs, (sorted(removed), sorted(c_old))
assert not charged(gid["2"], old), "old lines charged to the new grant"
assert charged(gid["2"], new) == set(range(1, n_new + 1)), "the whole-file diff shows every new line"
assert not charged(gid["1"], new), "new lines charged to the old grant"
EOF

kill -TERM $DEMO; wait $DEMO
done_testing
