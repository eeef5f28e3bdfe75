#!/bin/sh
# Reading without taking, in the running room: code views carry no code as text, the
# session's font, tile and watermark are served to that session only, a print is a
# Bates-numbered PDF that is listed and disputable, and trace names the session from its
# forensic tile and from text copied out of a view.
. tests/cli/lib.sh

mkdir "$T/src"
i=1; while [ $i -le 150 ]; do echo "int leak_marker_$i(void) { return $i * 7; }"; i=$((i + 1)); done >"$T/src/main.c"
demo_up "$T/src" 7919
VKEY="$T/fac/demo-keys/vendor.key"

login_demo rita

check "blob view" [ "$(c -b "$T/rita" -o "$T/blob.html" -w '%{http_code}' "$U/r/demo@current/blob/main.c")" = 200 ]
check "no line of code as text" sh -c "! grep -q 'leak_marker' '$T/blob.html'"
check "the session stylesheet is linked" grep -q '/s/room.css' "$T/blob.html"
check "the watermark is over the code" grep -q 'class="sr-watermark"' "$T/blob.html"
check "the print form" grep -q 'action="/r/demo@current/print/main.c"' "$T/blob.html"
check "session font" [ "$(c -b "$T/rita" -o "$T/code.ttf" -w '%{http_code}' "$U/s/code.ttf")" = 200 ]
check "font is a TrueType font" sh -c "head -c 4 '$T/code.ttf' | od -An -tx1 | grep -q '00 01 00 00'"
check "forensic tile" [ "$(c -b "$T/rita" -o "$T/mark.png" -w '%{http_code}' "$U/s/mark.png")" = 200 ]
check "watermark image names rita" sh -c "c() { curl -sk --max-time 20 \"\$@\"; }; c -b '$T/rita' '$U/s/watermark.svg' | grep -q 'rita'"
check "no session: no font" [ "$(c -o /dev/null -w '%{http_code}' "$U/s/code.ttf")" = 303 ]

# text copied out of the view names the session
python3 - "$T/blob.html" "$T/copied.txt" <<'PY'
import html, re, sys
t = html.unescape(re.sub(r"<[^>]*>", "", open(sys.argv[1], encoding="utf-8").read()))
pua = "".join(ch for ch in t if 0xE000 <= ord(ch) <= 0xF8FF or ord(ch) >= 0xF0000)
open(sys.argv[2], "w", encoding="utf-8").write("copied: " + pua[:400] + "\n")
PY
expect_ok "trace copied text" "$SR" trace "$T/copied.txt" --json
check "copied text names rita" python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); assert d["found"] and d["login"]=="rita" and d["kind"]=="text" and any(e["type"]=="view" for e in d["shown"])' "$T/out"
expect_ok "trace the forensic tile" "$SR" trace "$T/mark.png"
check "the tile names rita's session" grep -q '^session [0-9a-f]*: rita' "$T/out"
check "and what it was shown" grep -q 'view demo@current main.c' "$T/out"

# print: POST with the form's csrf, a PDF back, listed, disputed by the vendor
csrf=$(sed -n 's/.*name="csrf" value="\([0-9a-f]*\)".*/\1/p' "$T/blob.html" | head -n 1)
st=$(c -b "$T/rita" -o "$T/p.pdf" -w '%{http_code}' -X POST "$U/r/demo@current/print/main.c" \
	--data-urlencode "csrf=$csrf" --data-urlencode "from=1" --data-urlencode "to=100")
check "print is a PDF" sh -c "[ '$st' = 200 ] && head -c 5 '$T/p.pdf' | grep -q '%PDF-'"
check "print without csrf refused" [ "$(c -b "$T/rita" -o /dev/null -w '%{http_code}' -X POST "$U/r/demo@current/print/main.c" -d from=1 -d to=2)" = 403 ]
check "print by GET refused" [ "$(c -b "$T/rita" -o /dev/null -w '%{http_code}' "$U/r/demo@current/print/main.c")" = 405 ]
expect_ok "print list" "$SR" print list demo@current
check "the print is listed with its Bates numbers" grep -q 'main.c lines 1-100, 2 pages, Bates 1-2' "$T/out"
check "the print is logged" sh -c "sqlite3 '$T/fac/sealroom.db' \"SELECT CAST(data AS TEXT) FROM log_entries\" | grep '\"type\":\"print\"' | grep -q 'DEMO-000001'"
# the vendor's dispute is a decision file signed at the vendor's, applied by the operator
seal_of "$T/fac/sealroom.db" demo current "$T/demo.seal"
vs() { SEALROOM_HOME=/nonexistent "$SR" vendor sign dispute demo@current --seal "$T/demo.seal" --vendor-key "$VKEY" "$@"; }
vs --print 1 --reason "more than agreed" --out "$T/dispute1" >/dev/null
vs --print 1 --reason "again" --out "$T/dispute1b" >/dev/null
vs --print 9 --out "$T/dispute9" >/dev/null
expect_fail "the facility takes no vendor key" 2 "usage" "$SR" print dispute 1 --as vera --vendor-key "$VKEY"
expect_fail "a reviewer cannot apply it" 1 'the operator applies' "$SR" print dispute 1 --decision "$T/dispute1" --as rita
expect_fail "the file must dispute that print" 2 "not the vendor's dispute of print 2" "$SR" print dispute 2 --decision "$T/dispute1" --as otto
expect_ok "the vendor disputes" "$SR" print dispute 1 --decision "$T/dispute1" --as otto
expect_fail "a decision applies once" 1 'was applied already' "$SR" print dispute 1 --decision "$T/dispute1" --as otto
expect_fail "once" 1 'already disputed' "$SR" apply "$T/dispute1b" --as otto
expect_fail "no such print" 1 'no print 9' "$SR" apply "$T/dispute9" --as otto
check "the dispute is logged with the vendor's signed decision" sh -c "sqlite3 '$T/fac/sealroom.db' \"SELECT CAST(data AS TEXT) FROM log_entries\" | grep '\"type\":\"print_dispute\"' | grep -q 'decision dispute'"
expect_fail "print usage" 2 'usage: sealroom print' "$SR" print dispute
expect_ok "session holds (none)" "$SR" session holds
check "no session is held" [ ! -s "$T/out" ]
expect_fail "resume a session that is not held" 1 'is not held' "$SR" session resume 0123456789abcdef --as otto

# notes: 12 consecutive tokens of the code are refused, 11 are kept, the lab sees them
check "notes page" [ "$(c -b "$T/rita" -o "$T/notes.html" -w '%{http_code}' "$U/r/demo@current/notes/")" = 200 ]
csrf=$(sed -n 's/.*name="csrf" value="\([0-9a-f]*\)".*/\1/p' "$T/notes.html" | head -n 1)
st=$(c -b "$T/rita" -o "$T/n12" -w '%{http_code}' -X POST "$U/r/demo@current/notes/" --data-urlencode "csrf=$csrf" \
	--data-urlencode "path=main.c" --data-urlencode "line=1" --data-urlencode "text=see int leak_marker_1(void) { return 1 * 7; } here")
check "a 12-token note is refused" [ "$st" = 403 ]
check "the refusal explains" grep -q 'note refused: it repeats the sealed code' "$T/n12"
check "the refusal says not where" sh -c "! grep -q 'characters [0-9]' '$T/n12'"
st=$(c -b "$T/rita" -o "$T/nzw" -w '%{http_code}' -X POST "$U/r/demo@current/notes/" --data-urlencode "csrf=$csrf" \
	--data-urlencode "path=main.c" --data-urlencode "line=1" --data-urlencode "text=$(printf 'see int\342\200\213 leak_marker_1(void)\342\200\213 {\342\200\213 return 1 *\342\200\213 7; } here')")
check "a U+200B after each word is refused too" [ "$st" = 403 ]
# the same run in compatibility forms (italic i, fullwidth n and parentheses, circled t, a
# ligature-free superscript 1, an ideographic space) with invisible operators and a
# direction isolate between them: NFKC and the removal of format characters undo it all
st=$(c -b "$T/rita" -o /dev/null -w '%{http_code}' -X POST "$U/r/demo@current/notes/" --data-urlencode "csrf=$csrf" \
	--data-urlencode "path=main.c" --data-urlencode "line=1" --data-urlencode "text=$(printf 'see \360\235\221\226\357\275\216\342\223\243\343\200\200leak_marker_\302\271\342\201\242\357\274\210void\357\274\211 {\342\201\246 return 1 *\342\201\243 7; } here')")
check "the run in compatibility forms with format characters is refused too" [ "$st" = 403 ]
check "the refusal is logged with the session and a keyed hash" sh -c "sqlite3 '$T/fac/sealroom.db' \"SELECT CAST(data AS TEXT) FROM log_entries\" | grep '\"type\":\"note_refused\"' | grep '\"session\"' | grep -q '\"text_hash\":\"[0-9a-f]\{32\}\"'"
st=$(c -b "$T/rita" -o /dev/null -w '%{http_code}' -X POST "$U/r/demo@current/notes/" --data-urlencode "csrf=$csrf" \
	--data-urlencode "path=main.c" --data-urlencode "line=1" --data-urlencode "text=see int leak_marker_1(void) { return 1 * 7; here")
check "an 11-token note is kept" [ "$st" = 303 ]
c -b "$T/rita" -o "$T/notes.html" "$U/r/demo@current/notes/"
check "the kept note is listed" grep -q 'id="note-1"' "$T/notes.html"
check "through the session's cipher, not as text" sh -c "! grep -q 'return 1 \* 7; here' '$T/notes.html' && grep -q 'class=\"code note\"' '$T/notes.html'"
check "the refused note is not" sh -c "! grep -q '7; } here' '$T/notes.html'"
check "notes without csrf refused" [ "$(c -b "$T/rita" -o /dev/null -w '%{http_code}' -X POST "$U/r/demo@current/notes/" -d text=x)" = 403 ]
check "notes are logged, never their text" sh -c "sqlite3 '$T/fac/sealroom.db' \"SELECT CAST(data AS TEXT) FROM log_entries\" | grep '\"type\":\"note\"' | grep -vq leak_marker"

demo_down
done_testing
