#!/bin/sh
# The budget tried further, as a hostile reviewer would with sam's account (200 lines in
# total, 100 a day on each release): the refusal that counts what it refuses, find in file
# past the cut of a long line, ten requests racing for the last lines, the limit at its
# value and one past it, the outline and definitions by number, and notes and findings as
# answers to guesses. Each attack on a release of
# its own, so that each starts with the whole budget.
. tests/cli/lib.sh

PORT=$((20000 + ($$ + 7919) % 20000))
U="https://127.0.0.1:$PORT"
mkdir "$T/src"
for f in a b c; do
	i=1
	while [ $i -le 300 ]; do
		echo "int w_${f}_$i = $i; /* attack_marker */"
		i=$((i + 1))
	done >"$T/src/$f.c"
done
# one line of 200 KB: the page cuts it at 16 KiB (RENDER_LINE_MAX), charged as one line
# 400 definitions, one a line: the outline beside a window names them all
python3 -c '
for i in range(1, 401):
    print("int fn_%d(void) { return %d; }" % (i, 7 * i))' >"$T/src/defs.c"
python3 -c '
import random
r = random.Random(7)
print("int huge[] = {" + ",".join(str(r.randrange(10**6)) for _ in range(30000)) + "};")' >"$T/src/huge.c"
start_demo() {
	rm -f "$T/demo.json"
	"$SR" demo "$T/src" -C "$T/fac" --listen "127.0.0.1:$PORT" --json >"$T/demo.json" 2>"$T/demo.err" &
	DEMO=$!
	for i in $(seq 1 150); do [ -s "$T/demo.json" ] && break; sleep 0.2; done
}
start_demo
check "demo is up" grep -q '"url":"https://' "$T/demo.json"
kill -TERM "$DEMO"; wait "$DEMO" 2>/dev/null
export SEALROOM_HOME="$T/fac"
VKEY="$T/fac/demo-keys/vendor.key"
for v in count find race edge outline def notes findings; do
	run "$SR" seal "$T/src" --product demo --version "$v" --vendor-key "$VKEY"
done
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
login() {
	set -- "$1" $(totp sam)
	rm -f "$1"
	c -c "$1" -b "$1" "$U/login" -o "$T/form"
	csrf=$(sed -n 's/.*name="csrf" value="\([0-9a-f]*\)".*/\1/p' "$T/form")
	c -c "$1" -b "$1" -o /dev/null -w '%{http_code}' -X POST "$U/login" --data-urlencode "login=sam" \
		--data-urlencode "password=$2" --data-urlencode "totp=$3" --data-urlencode "csrf=$csrf"
}
check "sam logs in" [ "$(login "$T/j")" = 303 ]
# lines FILE...: distinct (path, line) pairs of code the view pages hold
lines() {
	python3 - "$@" <<'PY'
import re, sys
seen = set()
for f in sys.argv[1:]:
    t = open(f, encoding="utf-8", errors="replace").read()
    title = re.search(r"<title>([^<]*)", t)
    for n in re.findall(r'<div class=l id="L(\d+)"', t):
        seen.add((title.group(1) if title else f, n))
    # the outline: each definition's name, a part of its line
    for n in re.findall(r'<a class=o href="[^"]*" data-line=(\d+)>', t):
        seen.add((title.group(1) if title else f, n))
print(len(seen))
PY
}
left() { sed -n 's/.*lines left \([0-9]*\).*/\1/p' "$1" | head -n 1; }

# 1. the refusal as a count: with the day's budget spent, queries matching 1, 10, 55, 111
# and 300 lines (limit 500) are refused alike; the refusal does not say how many lines it
# would have shown (nor bytes, nor pages), which would count the code for free
c -b "$T/j" -o "$T/c0.html" "$U/r/demo@count/blob/a.c"
check "count: the day's budget is spent by one view" [ "$(left "$T/c0.html")" = 0 ]
i=0
for q in 'w_b_1 ' 'w_b_2[0-9] ' 'w_b_1[0-4]' 'w_b_1' 'w_c_' 'none_such_text'; do
	i=$((i + 1))
	c -G -b "$T/j" -o "$T/c$i.json" "$U/api/search" --data-urlencode "r=demo@count" --data-urlencode "q=$q" -d limit=500
done
check "count: every query is refused" sh -c "for f in '$T'/c[1-9].json; do grep -q 'quota' \"\$f\" || exit 1; done"
n=$(cat "$T"/c[1-9].json | sort -u | wc -l)
check "count: the refusals are all the same ($n kinds)" [ "$n" -eq 1 ]
check "count: a refusal says nothing of what was asked" sh -c "! grep -l 'asked' '$T'/c[1-9].json"
R_count=$(python3 - "$T"/c[1-9].json <<'PY'
import re, sys
# the counts an attacker reads off the refusals ("N more asked")
print(sum(int(m) for f in sys.argv[1:] for m in re.findall(r"(\d+) more asked", open(f).read())))
PY
)
# the same on the search page, with context lines
c -G -b "$T/j" -o "$T/cs.html" "$U/r/demo@count/search" --data-urlencode "q=w_c_2" -d context=3
check "count: the search page's refusal says nothing of what was asked" sh -c "grep -q 'quota' '$T/cs.html' && ! grep -q 'asked' '$T/cs.html'"

# 2. find in file past the cut: huge.c is one line, shown (and charged) up to 16 KiB; find
# in file looks at what is shown only, so the rest of the line cannot be read by counts
c -b "$T/j" -o "$T/f0.html" "$U/r/demo@find/blob/huge.c"
check "find: the long line is shown, cut" grep -q 'class=cut' "$T/f0.html"
python3 - "$T/src/huge.c" >"$T/probe" <<'PY'
import re, sys
t = open(sys.argv[1]).read()
head = t[:16384]
before = [m.group(0) for m in re.finditer(r",\d{6},", head[:16000]) if t.count(m.group(0)) == 1][0]
after = [m.group(0) for m in re.finditer(r",\d{6},", t[16400:]) if m.group(0) not in head and t.count(m.group(0)) == 1][0]
print(before, after, head[-24:])
PY
read before after seed <"$T/probe"
found() {
	c -G -b "$T/j" -o "$T/f1.html" "$U/r/demo@find/blob/huge.c" --data-urlencode "find=$1"
	sed -n 's/.*<span id="find-count">\(at least \)*\([0-9]*\) match.*/\2/p' "$T/f1.html" | head -n 1
}
check "find: a number before the cut is found" [ "$(found "$before")" = 1 ]
check "find: a number past the cut is not" [ "$(found "$after")" = 0 ]
# the attack: extend the last shown bytes one guess at a time, reading the count
known=$seed
for k in 1 2 3 4 5 6; do
	for ch in 0 1 2 3 4 5 6 7 8 9 , '}'; do
		if [ "$(found "$known$ch")" != 0 ]; then known=$known$ch; break; fi
	done
done
R_find=$((${#known} - ${#seed}))
check "find: no byte past the cut is read by counts ($R_find)" [ "$R_find" -eq 0 ]
check "find: the views of the shown line cost one line ($(left "$T/f1.html"))" [ "$(left "$T/f1.html")" = 99 ]

# 3. the race: 95 lines shown, then ten views at once, each of a window of the 5 left
c -b "$T/j" -o "$T/r0.html" "$U/r/demo@race/blob/a.c?from=206"
check "race: 5 lines left" [ "$(left "$T/r0.html")" = 5 ]
for k in 1 2 3 4 5 6 7 8 9 10; do
	f=b; [ $k -gt 3 ] && f=c; [ $k -gt 6 ] && f=a
	c -b "$T/j" -o "$T/r$k.html" "$U/r/demo@race/blob/$f.c?from=$((k * 20))" &
	racers="${racers:-} $!"
done
for p in $racers; do wait "$p"; done
n=$(lines "$T"/r*.html)
R_race=$n
check "race: at most 100 lines a day ($n)" [ "$n" -le 100 ]
check "race: the five lines left were shown ($n)" [ "$n" -ge 96 ]

# 4. the limit at its value and one past it: 99 lines, then 1 (the 100th), then 1 more
c -b "$T/j" -o "$T/e1.html" "$U/r/demo@edge/blob/a.c?from=202"
check "edge: 99 lines shown" [ "$(lines "$T/e1.html")" = 99 ]
c -b "$T/j" -o "$T/e2.html" "$U/r/demo@edge/blob/b.c?from=300"
check "edge: the 100th line is shown" [ "$(lines "$T/e2.html")" = 1 ]
check "edge: nothing is left" [ "$(left "$T/e2.html")" = 0 ]
st=$(c -b "$T/j" -o "$T/e3.html" -w '%{http_code}' "$U/r/demo@edge/blob/b.c?from=299")
check "edge: the 101st is refused ($st)" sh -c "[ '$st' = 403 ] && grep -q lines_per_day '$T/e3.html'"
st=$(c -b "$T/j" -o "$T/e4.html" -w '%{http_code}' "$U/r/demo@edge/blob/b.c?window=1&from=299")
check "edge: the 101st as a window of the scroll loader is refused ($st)" [ "$st" = 403 ]
st=$(c -b "$T/j" -o "$T/e5.html" -w '%{http_code}' "$U/r/demo@edge/blob/b.c?from=300")
check "edge: a line already shown today is shown again ($st)" sh -c "[ '$st' = 200 ] && [ \"\$(grep -c '<div class=l id=\"L300\"' '$T/e5.html')\" = 1 ]"
n=$(lines "$T"/e*.html)
R_edge=$n
check "edge: 100 lines in all ($n)" [ "$n" -eq 100 ]

# 5. the outline: beside a window of 100 lines (all that is left), the names of the 300
# definitions beyond it would be 300 lines more (the view was refused whole for them): the
# view is shown, its outline only as far as the budget goes
st=$(c -b "$T/j" -o "$T/o1.html" -w '%{http_code}' "$U/r/demo@outline/blob/defs.c")
check "outline: a file of 400 definitions is read under a budget of 100 ($st)" [ "$st" = 200 ]
check "outline: the outline is shown" grep -q 'id="outline"' "$T/o1.html"
n=$(lines "$T"/o*.html)
R_outline=$n
check "outline: at most 100 lines, names included ($n)" [ "$n" -le 100 ]
check "outline: the window was shown ($n)" [ "$n" -ge 100 ]

# 6. definitions by number: /def?n=N of a name defined once redirects to its line; each
# redirect places the N-th name (in name order) at a line, so it is charged as that line
i=0
placed=0
while [ $i -lt 130 ]; do
	st=$(c -b "$T/j" -o /dev/null -w '%{http_code}' "$U/r/demo@def/def?n=$i")
	[ "$st" = 303 ] && placed=$((placed + 1))
	i=$((i + 1))
done
R_def=$placed
check "def: at most 100 names placed by redirects ($placed)" [ "$placed" -le 100 ]
check "def: the redirects were charged ($placed)" [ "$placed" -ge 90 ]

# 7. notes and findings: the text is checked against the code and a refusal says that it
# repeats it, so a note is an answer to "is this run of 12 tokens in the code?" (11 tokens
# shown, the 12th guessed, slid on token by token). Each check costs a query
# (query_min_lines, 2): at most 50 answers a day of 100 lines, then every text is refused alike
c -b "$T/j" -o "$T/t.html" "$U/r/demo@notes/tree/"
csrf=$(sed -n 's/.*name="csrf" value="\([0-9a-f]*\)".*/\1/p' "$T/t.html" | head -n 1)
known="/* attack_marker */ int w_c_150 = 150; /* attack_marker */"
answers=0
got=0
i=0
for step in 1 2 3 4 5 6 7 8 9 10 11 12; do
	for g in attack_marker '*/' int w_c_151 '=' 151 ';' '/*'; do
		i=$((i + 1))
		st=$(c -b "$T/j" -o "$T/n.html" -w '%{http_code}' -X POST "$U/r/demo@notes/notes" --data-urlencode "csrf=$csrf" \
			--data-urlencode "text=$known $g" -d path=c.c -d line=1)
		if [ "$st" = 303 ]; then
			answers=$((answers + 1))
		elif grep -q 'repeats the sealed code' "$T/n.html"; then
			answers=$((answers + 1))
			got=$((got + 1))
			known=$(echo "$known $g" | cut -d' ' -f2-)
			break
		fi
	done
	[ $i -ge 120 ] && break
done
check "notes: at most 50 answers a day of 100 lines ($answers)" [ "$answers" -le 50 ]
check "notes: the answers were charged ($answers)" [ "$answers" -ge 20 ]
check "notes: with the budget spent a note is refused as a quota" grep -q 'lines_per_day' "$T/n.html"
st=$(c -b "$T/j" -o "$T/n2.html" -w '%{http_code}' -X POST "$U/r/demo@notes/notes" --data-urlencode "csrf=$csrf" \
	--data-urlencode "text=/* attack_marker */ int w_c_160 = 160; /* attack_marker */ int w_c_161" -d path=c.c -d line=1)
st2=$(c -b "$T/j" -o "$T/n3.html" -w '%{http_code}' -X POST "$U/r/demo@notes/notes" --data-urlencode "csrf=$csrf" \
	--data-urlencode "text=a note in words of its own, about nothing in the code at all, long enough" -d path=c.c -d line=1)
check "notes: code and prose are refused alike then ($st $st2)" sh -c "[ '$st' = '$st2' ] && [ \"\$(grep -o 'quota[^<]*' '$T/n2.html')\" = \"\$(grep -o 'quota[^<]*' '$T/n3.html')\" ]"
R_notes=$got
n=0
i=0
while [ $i -lt 60 ]; do
	i=$((i + 1))
	c -b "$T/j" -o "$T/fd.html" -X POST "$U/r/demo@findings/findings" --data-urlencode "csrf=$csrf" -d path=a.c -d from=1 -d to=1
	grep -q 'quota' "$T/fd.html" || n=$((n + 1))
done
check "findings: at most 50 checks a day of 100 lines ($n)" [ "$n" -le 50 ]
check "findings: the checks were answered ($n)" [ "$n" -ge 40 ]

echo "recovered against a budget of 100 lines a day: refusal counts $R_count lines counted," \
	"find past the cut $R_find bytes, race $R_race lines, edge $R_edge lines, outline $R_outline lines, def $R_def names placed, notes $R_notes tokens guessed"
kill -TERM "$DEMO" 2>/dev/null; wait "$DEMO" 2>/dev/null
done_testing
