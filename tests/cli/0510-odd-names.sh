#!/bin/sh
# Every sealed file is readable in the room, whatever its name: names that are not UTF-8,
# hold a newline, a quote, a backslash, control bytes, a space or a '%' are listed in the
# tree with links that lead back to them, viewed, diffed between two releases, printed, and
# each is logged with its exact bytes (as "path", or "path_b64" when the bytes are not
# UTF-8). Python's urllib is the oracle of %-encoding, sqlite3 reads the log.
. tests/cli/lib.sh

PORT=$((20000 + ($$ + 4099) % 20000))
U="https://127.0.0.1:$PORT"
NAMES="$T/names"
python3 - "$T" "$NAMES" <<'PY'
import os, sys
t, out = sys.argv[1], sys.argv[2]
names = [b"bad-\xff\xfe-name", b"new\nline.c", b"q\"uo'te.c", b"back\\slash.c", b"ctl-\x01\x1f\x7f.c",
         b"dir\\x/sp ace%41.c", b"caf\xc3\xa9.c"]
for v in (1, 2):
    for i, n in enumerate(names):
        p = os.path.join(t.encode(), b"src%d" % v, n)
        os.makedirs(os.path.dirname(p), exist_ok=True)
        with open(p, "wb") as f:
            f.write(b"".join(b"int odd_marker_%d_%d(void);\n" % (i, k) for k in range(5)))
            if v == 2:
                f.write(b"int odd_added_%d(void);\n" % i)
with open(out, "w") as f:
    f.write("\n".join(n.hex() for n in names) + "\n")
PY

# release 1, then release 2 in the same facility: the demo grants and unlocks both
serve() {
	"$SR" demo "$T/src$1" -C "$T/fac" --version "$1" --listen "127.0.0.1:$PORT" --json >"$T/demo.json" 2>"$T/demo.err" &
	DEMO=$!
	for i in $(seq 1 150); do [ -s "$T/demo.json" ] && break; sleep 0.2; done
}
serve 1
check "demo 1 is up" grep -q '"url":"https://' "$T/demo.json"
kill $DEMO; wait $DEMO 2>/dev/null
rm -f "$T/demo.json"
serve 2
check "demo 2 is up" grep -q '"url":"https://' "$T/demo.json"

python3 - "$T" "$U" "$NAMES" <<'PY' >"$T/results"
import json, sys, ssl, hmac, hashlib, base64, struct, time, sqlite3, re
import urllib.request, urllib.parse, http.cookiejar
t, u, names = sys.argv[1], sys.argv[2], [bytes.fromhex(x) for x in open(sys.argv[3]).read().split()]
ok = lambda c, d: print(("ok " if c else "FAIL ") + d)
ctx = ssl.create_default_context(); ctx.check_hostname = False; ctx.verify_mode = ssl.CERT_NONE
jar = http.cookiejar.CookieJar()
op = urllib.request.build_opener(urllib.request.HTTPSHandler(context=ctx), urllib.request.HTTPCookieProcessor(jar))
class NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *a): return None
op.add_handler(NoRedirect())
def req(path, data=None):
    try:
        r = op.open(urllib.request.Request(u + path, data=data), timeout=30)
        return r.status, r.read()
    except urllib.error.HTTPError as e:
        return e.code, e.read()
a = [x for x in json.load(open(t + "/demo.json"))["accounts"] if x["login"] == "rita"][0]
s = a["totp_secret"]; key = base64.b32decode(s + "=" * ((8 - len(s) % 8) % 8))
h = hmac.new(key, struct.pack(">Q", int(time.time()) // 30), hashlib.sha1).digest(); o = h[-1] & 15
code = "%06d" % ((struct.unpack(">I", h[o:o + 4])[0] & 0x7fffffff) % 1000000)
st, form = req("/login")
csrf = re.search(rb'name="csrf" value="([0-9a-f]+)"', form).group(1).decode()
st, _ = req("/login", urllib.parse.urlencode({"login": "rita", "password": a["password"], "totp": code, "csrf": csrf}).encode())
ok(any(c.name == "sr_session" for c in jar), "rita logs in (%d)" % st)
hrefs = set()
for d in ("", "dir%5Cx/"):
    st, tree = req("/r/demo@2/tree/" + d)
    ok(st == 200, "tree %s (%d)" % (d or "/", st))
    hrefs |= {urllib.parse.unquote_to_bytes(m) for m in re.findall(rb'href="/r/demo@2/blob/([^"]*)"', tree)}
for n in names:
    q = urllib.parse.quote(n, safe="/")
    ok(n in hrefs, "the tree links to %r" % n)
    st, page = req("/r/demo@2/blob/" + q)
    ok(st == 200 and b'id="code"' in page and b"<span>6 lines</span>" in page, "view %r (%d)" % (n, st))
    st, diff = req("/r/demo@2/diff/1/" + q)
    ok(st == 200 and diff.count(b'class="l a"') == 1, "diff %r (%d)" % (n, st))
    pc = re.search(rb'name="csrf" value="([0-9a-f]+)"', page)
    act = re.search(rb'<form class="print" id="print" method="post" action="([^"]*)"', page)
    ok(act is not None and urllib.parse.unquote_to_bytes(act.group(1)) == b"/r/demo@2/print/" + n,
       "the print form names %r" % n)
    st, pdf = req("/r/demo@2/print/" + q, urllib.parse.urlencode({"csrf": pc.group(1).decode(), "from": 2, "to": 4}).encode())
    ok(st == 200 and pdf[:5] == b"%PDF-", "print %r (%d)" % (n, st))
db = sqlite3.connect(t + "/fac/sealroom.db")
db.text_factory = bytes
logged = {}
for (data,) in db.execute("SELECT data FROM log_entries"):
    e = json.loads(data)
    p = e["path"].encode() if "path" in e else base64.b64decode(e["path_b64"]) if "path_b64" in e else None
    logged.setdefault(e["type"], []).append((p, e))
for n in names:
    for kind in ("view", "diff", "print"):
        es = [e for p, e in logged.get(kind, []) if p == n]
        ok(len(es) == 1, "%s of %r logged once with its exact name (%d)" % (kind, n, len(es)))
        if kind == "view" and es:
            ok(es[0].get("lines") == [1, 6], "the view of %r names its lines" % n)
        if kind == "print" and es:
            ok(es[0].get("from") == 2 and es[0].get("to") == 4, "the print of %r names its lines" % n)
    valid = True
    try: n.decode("utf-8")
    except UnicodeDecodeError: valid = False
    es = [e for p, e in logged.get("view", []) if p == n]
    ok(bool(es) and (("path" in es[0]) == valid), "%r is logged as %s" % (n, "path" if valid else "path_b64"))
np = db.execute("SELECT count(*) FROM log_entries WHERE CAST(data AS TEXT) LIKE '%\"type\":\"view\"%' AND "
                "CAST(data AS TEXT) NOT LIKE '%\"path%'").fetchone()[0]
ok(np == 0, "no view is logged without its path (%d)" % np)
rows = {r[0] for r in db.execute("SELECT path FROM prints")}
ok(all(n in rows for n in names), "every print is recorded with its exact name")
PY
while read -r word rest; do
	if [ "$word" = ok ]; then pass; else fail "$rest"; fi
done <"$T/results"
check "every case ran" [ "$(grep -c . "$T/results")" -ge 82 ]
kill $DEMO; wait $DEMO 2>/dev/null
done_testing
