#!/bin/sh
# One budget of code shown, tried as a hostile reviewer would: sam (the demo's small-budget
# reviewer: 200 lines in total, 100 a day on each release) scripts every route that
# carries code, each on a release of its own so that each starts with a full budget, and
# gets at most the budget. Also: the count oracle, the re-login escape of a hold, valid
# JSON for every search result (an empty line included) and the demo's listing of sam.
. tests/cli/lib.sh

PORT=$((20000 + ($$ + 4099) % 20000))
U="https://127.0.0.1:$PORT"
mkdir "$T/src"
# three files of 300 distinct lines, one empty line each 10 (empty results must be JSON
# too), and 70 small files for the scraping watch
mkdir "$T/src/many"
for i in $(seq 1 70); do echo "int many_marker_$i;" >"$T/src/many/m$i.c"; done
for f in a b c; do
	i=1
	while [ $i -le 300 ]; do
		if [ $((i % 10)) -eq 0 ]; then echo; else echo "int v_${f}_$i = $i; /* budget_marker */"; fi
		i=$((i + 1))
	done >"$T/src/$f.c"
done
start_demo() {
	"$SR" demo "$T/src" -C "$T/fac" --listen "127.0.0.1:$PORT" --json >"$T/demo.json" 2>"$T/demo.err" &
	DEMO=$!
	for i in $(seq 1 150); do [ -s "$T/demo.json" ] && break; sleep 0.2; done
}
start_demo
check "demo is up" grep -q '"url":"https://' "$T/demo.json"
check "demo --json lists sam with his budget" python3 -c '
import json, sys
d = json.load(open(sys.argv[1]))
s = [a for a in d["accounts"] if a["login"] == "sam"][0]
assert s["role"] == "reviewer" and s["lines_total"] == 200 and s["lines_per_day"] == 100, s' "$T/demo.json"
kill -TERM "$DEMO"; wait "$DEMO" 2>/dev/null
export SEALROOM_HOME="$T/fac"
VKEY="$T/fac/demo-keys/vendor.key"
# a release for each route, so that each starts with sam's whole budget
for v in view search api ctx old new print; do
	run "$SR" seal "$T/src" --product demo --version "$v" --vendor-key "$VKEY"
done
sed -i '1,30s/budget_marker/budget_changed/' "$T/src/b.c"
run "$SR" seal "$T/src" --product demo --version new2 --vendor-key "$VKEY"
rm -f "$T/demo.json"
start_demo
check "demo is up again" grep -q '"url":"https://' "$T/demo.json"

totp() {
	python3 - "$T/demo.json" "$1" "${2:-0}" <<'PY'
import json, sys, hmac, hashlib, base64, struct, time
d = json.load(open(sys.argv[1]))
a = [x for x in d["accounts"] if x["login"] == sys.argv[2]][0]
s = a["totp_secret"]; key = base64.b32decode(s + "=" * ((8 - len(s) % 8) % 8))
h = hmac.new(key, struct.pack(">Q", int(time.time()) // 30 + int(sys.argv[3])), hashlib.sha1).digest()
o = h[-1] & 15
print(a["password"], "%06d" % ((struct.unpack(">I", h[o:o + 4])[0] & 0x7fffffff) % 1000000))
PY
}
c() { curl -gsk --max-time 20 "$@"; }
# login JAR: sam logs in (a new session each time)
login() {
	set -- "$1" $(totp sam)
	rm -f "$1"
	c -c "$1" -b "$1" "$U/login" -o "$T/form"
	csrf=$(sed -n 's/.*name="csrf" value="\([0-9a-f]*\)".*/\1/p' "$T/form")
	c -c "$1" -b "$1" -o /dev/null -w '%{http_code}' -X POST "$U/login" --data-urlencode "login=sam" \
		--data-urlencode "password=$2" --data-urlencode "totp=$3" --data-urlencode "csrf=$csrf"
}
check "sam logs in" [ "$(login "$T/j")" = 303 ]
# lines FILE...: distinct (file, line) pairs of code the HTML pages hold
lines() {
	python3 - "$@" <<'PY'
import re, sys
seen = set()
for f in sys.argv[1:]:
    t = open(f, encoding="utf-8", errors="replace").read()
    # file views: <div class=l id="L12">, per page's path in its <title>
    title = re.search(r"<title>([^<]*)", t)
    for n in re.findall(r'<div class=l id="L(\d+)"', t):
        seen.add((title.group(1) if title else f, n))
    # search results: the file's link, then its lines
    for grp in re.findall(r'<div class="sf">(.*?)</div>\n(?=<div class="sf">|</div>)', t, re.S):
        p = re.search(r'class="sp" href="([^"]*)"', grp).group(1)
        for n in re.findall(r'data-n="(\d+)"', grp):
            seen.add((p, n))
    # diffs: one row a line, old side and new side, of the file the crumbs name
    crumb = re.search(r'<nav class="crumbs">.*?<b>([^<]*)</b>', t)
    for k, n in re.findall(r'<div class="l ([ura])" id="([OL]\d+)"', t):
        seen.add((crumb.group(1) if crumb else f, k, n))
print(len(seen))
PY
}

# 1. view: every file from every line, again and again
i=0
for f in a b c; do
	for from in 1 101 201 1 51 151 251; do
		i=$((i + 1))
		c -b "$T/j" -o "$T/v$i.html" "$U/r/demo@view/blob/$f.c?from=$from"
	done
done
n=$(lines "$T"/v*.html)
R_view=$n
check "view: at most 100 lines a day ($n)" [ "$n" -le 100 ]
check "view: the budget is used ($n)" [ "$n" -ge 90 ]
check "view: the refusal names the quota" grep -ql "lines_per_day" "$T"/v*.html

# 2. search pages: everything, page after page
i=0
for q in budget_marker v_a v_b v_c '^' int; do
	for page in 0 1 2 3; do
		i=$((i + 1))
		c -b "$T/j" -o "$T/s$i.html" "$U/r/demo@search/search?q=$q&page=$page"
	done
done
n=$(lines "$T"/s*.html)
R_search=$n
check "search: at most 100 lines a day ($n)" [ "$n" -le 100 ]

# 3. the API: a large limit first (refused whole: it is over the budget, and it costs a
# query's minimum as any refused query does), then an offset far ahead while the budget
# lasts, then pages of ten, paging on and on, and offsets far ahead
i=0
for q in '^' budget int v_; do
	for off in 0 0 400 10 20 30 40 50 60 70 80 90 100 110 800; do
		i=$((i + 1))
		lim=10; [ $i = 1 ] && lim=500
		c -b "$T/j" -o "$T/a$i.json" "$U/api/search?r=demo@api&q=$q&limit=$lim&offset=$off"
	done
done
n=$(python3 - "$T"/a*.json <<'PY'
import json, sys
seen = set()
for f in sys.argv[1:]:
    d = json.load(open(f))
    for x in d.get("files", []):
        for m in x["matches"]:
            seen.add((x["path"], m["line"]))
print(len(seen))
PY
)
check "api: a page over the budget is refused whole" grep -q "quota 'lines_per_day' reached: 0 of 100 lines used; resets at" "$T/a1.json"
check "api: totals say 'at least'" grep -q '"total":10,"total_at_least":true' "$T/a2.json"
check "api: an offset past what was shown is refused" grep -q 'offset 400 skips past the results shown (at most 10)' "$T/a3.json"
check "api: every answer is valid JSON" sh -c "for f in '$T'/a*.json; do python3 -m json.tool \"\$f\" >/dev/null || exit 1; done"
R_api=$n
check "api: at most 100 lines a day ($n)" [ "$n" -le 100 ]
check "api: the budget is used ($n)" [ "$n" -ge 80 ]

# 4. context lines: a query for every tenth line with context around it
rm -f "$T"/x*.json
i=0
for q in '_11 ' '_21 ' '_31 ' '_41 ' '_51 ' '_61 ' '_71 ' '_81 ' '_91 ' '_1[0-9] ' '= 5'; do
	i=$((i + 1))
	c -G -b "$T/j" -o "$T/x$i.json" "$U/api/search" --data-urlencode "r=demo@ctx" --data-urlencode "q=$q" \
		-d limit=5 -d context=5
done
n=$(python3 - "$T"/x*.json <<'PY'
import json, sys
seen = set()
for f in sys.argv[1:]:
    d = json.load(open(f))
    for x in d.get("files", []):
        for m in x["matches"]:
            seen.add((x["path"], m["line"]))
print(len(seen))
PY
)
R_ctx=$n
check "context: at most 100 lines a day ($n)" [ "$n" -le 100 ]
check "context: context lines were shown and charged ($n)" [ "$n" -ge 50 ]
check "context: every answer is valid JSON" sh -c "for f in '$T'/x*.json; do python3 -m json.tool \"\$f\" >/dev/null || exit 1; done"

# 5. diff: the changed file, the old side charged to the old release's grant
i=0
for k in 1 2 3 4; do
	for f in a b c; do
		i=$((i + 1))
		c -b "$T/j" -o "$T/d$i.html" "$U/r/demo@new2/diff/old/$f.c"
	done
done
n=$(lines "$T"/d*.html)
R_diff=$n
check "diff: at most 200 lines over both grants ($n)" [ "$n" -le 200 ]
check "diff: something was shown ($n)" [ "$n" -ge 1 ]

# 6. print: line after line, until refused
# the form's csrf from a page without code (the session's, the same on every page)
c -b "$T/j" -o "$T/pv.html" "$U/r/demo@print/tree/"
csrf=$(sed -n 's/.*name="csrf" value="\([0-9a-f]*\)".*/\1/p' "$T/pv.html" | head -n 1)
for from in 1 41 81 121 161 201 241 1; do
	c -b "$T/j" -o "$T/p.pdf" -X POST "$U/r/demo@print/print/a.c" --data-urlencode "csrf=$csrf" \
		--data-urlencode "from=$from" --data-urlencode "to=$((from + 39))"
done
expect_ok "print list" "$SR" print list demo@print --json
n=$(python3 -c '
import json, sys
print(sum(json.loads(l)["to"] - json.loads(l)["from"] + 1 for l in open(sys.argv[1]) if l.strip()))' "$T/out")
R_print=$n
check "print: at most 100 lines a day, the view's lines counted too ($n)" [ "$n" -le 100 ]
check "a print is an attachment" sh -c "c() { curl -sk --max-time 20 \"\$@\"; }; c -D - -o /dev/null -b '$T/j' -X POST '$U/r/demo@print/print/b.c' --data-urlencode 'csrf=$csrf' -d from=1 -d to=1 | grep -qi 'Content-Disposition: attachment'"

# 7. the count oracle: with the budget spent (the API release above), totals and empty
# queries are refused too; a query costs at least query_min_lines
i=0
refused=0
for q in 'v_a_1' 'v_a_2' 'v_a_3' 'v_[ab]_1' 'v_[a]_[12]' 'v_c_99' 'zzzz_none'; do
	i=$((i + 1))
	st=$(c -b "$T/j" -o "$T/o$i.json" -w '%{http_code}' "$U/api/search?r=demo@api&q=$q&limit=1")
	[ "$st" = 403 ] && refused=$((refused + 1))
done
check "oracle: every query refused once the budget is spent ($refused of $i)" [ "$refused" -eq "$i" ]
check "oracle: a refusal carries no total" sh -c "! grep -l '\"total\"' '$T'/o*.json"

# 8. the re-login escape: rita (default quotas) is shown 70 files by one search, the
# scraping watch holds her at 60, and a new login is held the same
rita_login() {
	set -- "$1" $(totp rita "${2:-0}")
	rm -f "$1"
	c -c "$1" -b "$1" "$U/login" -o "$T/form"
	csrf=$(sed -n 's/.*name="csrf" value="\([0-9a-f]*\)".*/\1/p' "$T/form")
	c -c "$1" -b "$1" -o /dev/null -w '%{http_code}' -X POST "$U/login" --data-urlencode "login=rita" \
		--data-urlencode "password=$2" --data-urlencode "totp=$3" --data-urlencode "csrf=$csrf"
}
check "rita logs in" [ "$(rita_login "$T/r1")" = 303 ]
check "rita reads a file" [ "$(c -b "$T/r1" -o /dev/null -w '%{http_code}' "$U/r/demo@view/blob/a.c")" = 200 ]
st=$(c -b "$T/r1" -o "$T/walk.json" -w '%{http_code}' "$U/api/search?r=demo@view&q=many_marker&limit=100")
check "a search showing 70 files is refused and holds her" sh -c "[ '$st' = 403 ] && grep -q 'held for review' '$T/walk.json'"
expect_ok "session holds" "$SR" session holds --json
check "the hold is listed" grep -q '"login":"rita"' "$T/out"
hold=$(python3 -c 'import json,sys; print(json.loads(open(sys.argv[1]).readline())["session"])' "$T/out")
check "rita logs in again" [ "$(rita_login "$T/r2" 1)" = 303 ]
check "the new session is held too" [ "$(c -b "$T/r2" -o "$T/r2.html" -w '%{http_code}' "$U/r/demo@view/blob/a.c")" = 403 ]
check "it says why" grep -q 'held for review' "$T/r2.html"
expect_fail "a reviewer cannot resume" 1 "only an operator or the vendor" "$SR" session resume "$hold" --as rita
expect_ok "the operator resumes" "$SR" session resume "$hold" --as otto
check "rita reads again, in the new session" [ "$(c -b "$T/r2" -o /dev/null -w '%{http_code}' "$U/r/demo@view/blob/a.c")" = 200 ]

echo "lines recovered with a budget of 100 a day (200 in all) per release: view $R_view, search $R_search," \
	"api $R_api, context $R_ctx, diff $R_diff (old and new side), print $R_print; oracle queries refused $refused of $i"
kill -TERM "$DEMO" 2>/dev/null; wait "$DEMO" 2>/dev/null
done_testing
