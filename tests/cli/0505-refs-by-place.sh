#!/bin/sh
# References of any name, one with no definition too: asked by its place in the file view
# (/r/P@V/refs/PATH?line=L&k=K: the K-th name of line L, the page carrying no code a link
# could name). Answered only for a line shown to the reader today, with one refusal for
# every other line whatever it holds; the results equal grep -rwF's (the oracle), logged
# and charged as a search; prose makes no names; hostile places refused.
. tests/cli/lib.sh

mkdir -p "$T/src/lib"
cat >"$T/src/main.c" <<'C'
#include <stdio.h>
int helper_defined(int x)
{
	return x + extern_only_name;
}
int main(void)
{
	extern_only_name = helper_defined(2);
	printf("%d\n", extern_only_name);
	return 0;
}
C
i=1; while [ $i -le 30 ]; do echo "int lib_value_$i = extern_only_name + $i;"; i=$((i + 1)); done >"$T/src/lib/more.c"
i=1; while [ $i -le 10 ]; do echo "int quiet_$i;"; i=$((i + 1)); done >"$T/src/lib/quiet.c"
printf 'A note on extern_only_name in prose.\nSecond line of prose.\n' >"$T/src/README.md"
demo_up "$T/src" 5505
login_demo rita
R="$U/r/demo@current"
get() { c -b "$T/rita" -o "$T/body" -w '%{http_code}' "$1"; }

# before any view, no line was shown: every place is the same refusal
check "a place in a line not shown is refused" [ "$(get "$R/refs/main.c?line=4&k=1")" = 403 ]
check "the refusal says why" grep -q "was not shown today" "$T/body"
sed 's/line [0-9]*/line N/' "$T/body" >"$T/refused.names"
check "a line past the end: the same refusal" [ "$(get "$R/refs/main.c?line=9999&k=1")" = 403 ]
sed 's/line [0-9]*/line N/' "$T/body" >"$T/refused.none"
check "the two refusals are the same page" cmp -s "$T/refused.names" "$T/refused.none"
check "a refusal names no code" sh -c "! grep -q extern_only_name '$T/body'"

# the view marks every name: definition links (a.d) and names with none (a.u), no code
check "view main.c" [ "$(get "$R/blob/main.c")" = 200 ]
check "the view marks names with no definition" grep -q '<a class=u>' "$T/body"
check "the view carries no name as text" sh -c "! grep -q 'extern_only_name' '$T/body'"
check "the view names the file's language" grep -q '<span id="lang" title="highlighted as">c</span>' "$T/body"
python3 - "$T/body" >"$T/k" <<'PY'
import re, sys
t = open(sys.argv[1], encoding="utf-8").read()
line = re.search(r'<div class=l id="L4">(.*?)</div>', t).group(1)
names = re.findall(r'<a class=(?:d href="[^"]*"|u)>', line)
print(len(names))
PY
check "line 4 has two names (x, extern_only_name)" [ "$(cat "$T/k")" = 2 ]

want=$(grep -rwF extern_only_name "$T/src" | wc -l)
check "the references of a name with no definition" [ "$(get "$R/refs/main.c?line=4&k=1")" = 200 ]
check "their count is grep -rwF's ($want)" grep -q "references: $want matching lines" "$T/body"
check "the references page carries no name as text" sh -c "! grep -q 'extern_only_name' '$T/body'"
check "they are logged as a search of the name" sh -c "sqlite3 '$T/fac/sealroom.db' \"SELECT CAST(data AS TEXT) FROM log_entries\" | grep '\"type\":\"search\"' | grep -q 'extern_only_name'"
# the same name from another place, and its page 2 link keeps the place
check "the same name from line 9" [ "$(get "$R/refs/main.c?line=9&k=1")" = 200 ]
check "line 9, name 1 is the same name" grep -q "references: $want matching lines" "$T/body"
check "a name with a definition asked by its place" [ "$(get "$R/refs/main.c?line=8&k=1")" = 200 ]
check "its references" grep -q "references: 2 matching lines" "$T/body"

# hostile places
check "no such name on the line" [ "$(get "$R/refs/main.c?line=4&k=2")" = 404 ]
check "no name there, said plainly" grep -q "references: no name there" "$T/body"
check "k out of range" [ "$(get "$R/refs/main.c?line=4&k=99999999999999999999")" = 404 ]
check "no line" [ "$(get "$R/refs/main.c?k=0")" = 404 ]
check "no k" [ "$(get "$R/refs/main.c?line=4")" = 404 ]
check "line 0" [ "$(get "$R/refs/main.c?line=0&k=0")" = 404 ]
check "a missing file" [ "$(get "$R/refs/nope.c?line=1&k=0")" = 404 ]
check "a path out of the tree" [ "$(get "$R/refs/../main.c?line=4&k=1")" = 404 ]
check "a line not shown of another file" [ "$(get "$R/refs/lib/quiet.c?line=3&k=0")" = 403 ]
check "a line shown as a search result is shown" [ "$(get "$R/refs/lib/more.c?line=3&k=2")" = 200 ]
check "and names the same name" grep -q "references: $want matching lines" "$T/body"

# prose makes no names: its view marks none, and a place in it is none
check "view README.md" [ "$(get "$R/blob/README.md")" = 200 ]
check "prose has no names" sh -c "! grep -q '<a class=[du]' '$T/body'"
check "prose names no language" sh -c "! grep -q 'id=\"lang\"' '$T/body'"
check "a place in prose names nothing" [ "$(get "$R/refs/README.md?line=1&k=0")" = 404 ]

# without a session, nothing
check "no session: refused" [ "$(c -o /dev/null -w '%{http_code}' "$R/refs/main.c?line=4&k=1")" = 303 ]
done_testing
