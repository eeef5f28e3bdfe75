#!/bin/sh
# search: the (path, line) sets equal `rg -uu --no-heading -n` on the same tree, for
# literals, regexes, caseless and Unicode queries, whole words, binary files and filters.
. tests/cli/lib.sh

"$SR" init -C "$T/fac" --name t.example >/dev/null
"$SR" key new vendor --out "$T/v.key" >/dev/null
export SEALROOM_HOME="$T/fac"
S="$T/src"
mkdir -p "$S/drivers/net" "$S/include/linux" "$S/.hidden" "$S/uni"
cat >"$S/drivers/net/eth.c" <<'C'
#include <linux/netdevice.h>
static const struct file_operations eth_fops = {
	.owner = THIS_MODULE,
};
static int eth_suspend(struct device *dev)
{
	return ERR_PTR(-EINVAL) ? PM_RESUME : 0;
}
EXPORT_SYMBOL(eth_suspend);
EXPORT_SYMBOL_GPL(eth_resume);
struct net_device_ops eth_ops;	/* foo_ops and bar_ops */
int foo; int foobar; int foo_bar; int barfoo;
#define SHA256_LEN 32
C
cat >"$S/include/linux/dev.h" <<'C'
struct device {
	int sha256;
	const struct dev_pm_ops *pm_ops;
};
#define PM_RESUME 1
#define AB_CD_RESUME 2
void eth_suspend(void);
C
printf 'Straße and STRASSE\nKelvin: \342\204\252 k K\nlong s: \305\277 s S\ncaf\303\251 CAF\303\211\n\316\261\316\262\316\263 greek\ninvalid \377\376 bytes foo\n' >"$S/uni/text.txt"
printf 'no newline at end foo' >"$S/uni/nonl.txt"
printf '\357\273\277foo after a BOM\n#include <bom.h>\n' >"$S/uni/bom.txt"
printf 'spin_lock_irqsave(&l, f);\nspin_locksave\nspin_unlock(&l);\n  \n\t\n a foo b \n' >"$S/uni/spin.c"
printf 'crlf foo\r\nline two\r\n\r\n' >"$S/uni/crlf.txt"
printf '\n\n\nfoo\n\n' >"$S/uni/blank.txt"
: >"$S/empty.txt"
printf 'hidden foo\n' >"$S/.hidden/h.c"
ln -s ../drivers/net/eth.c "$S/uni/link.c"
# binary files: NUL early (skipped whole), after a match past 64 KiB (kept up to there)
printf 'foo early\n\000foo after\n' >"$S/bin1.bin"
{ printf 'foo first\n'; i=0; while [ $i -lt 9000 ]; do printf 'filler line %d\n' $i; i=$((i+1)); done; printf 'foo late\n\000\nfoo after nul\n'; } >"$S/bin2.bin"
awk 'BEGIN { for (i = 0; i < 20000; i++) if (i % 10) print "row " i; else print "row " i " foo"; printf "%c", 0; }' >"$S/bin3.bin"
head -c 200000 /dev/urandom >"$S/random.bin"
awk 'BEGIN { for (i = 0; i < 3000; i++) printf "x"; print " foo tail"; }' >"$S/uni/longline.txt"
# UTF-16 with a byte order mark, as rg transcodes it: little- and big-endian, a pair, a lone
# surrogate, a trailing odd byte; one holding a NUL (the binary rule, after transcoding)
python3 - "$S/uni" <<'PY'
import os, sys
d = sys.argv[1]
le = "\ufeffutf16 foo first\nsecond foo KEY line\n\u00e9t\u00e9 caf\u00e9 foo\nemoji \U0001f600 foo\n#include <u16.h>\n"
open(os.path.join(d, "u16le.txt"), "wb").write(le.encode("utf-16-le"))
open(os.path.join(d, "u16be.txt"), "wb").write("\ufeffbig endian foo\nKEY two\n".encode("utf-16-be"))
open(os.path.join(d, "u16bad.txt"), "wb").write(b"\xff\xfe" + "ok foo KEY\n".encode("utf-16-le") + b"\x00\xd8" +
    "foo after a lone surrogate\n".encode("utf-16-le") + b"K")
open(os.path.join(d, "u16nul.txt"), "wb").write(b"\xff\xfe" + "a\x00b foo KEY\n".encode("utf-16-le"))
PY

expect_ok "seal" "$SR" seal "$S" --product p --version 1 --vendor-key "$T/v.key" --json

# compare DESC RGFLAGS SRFLAGS QUERY [PATHFILTER]: equal (path, line) sets
compare() {
	d=$1; rgf=$2; srf=$3; q=$4; pf=${5:-}
	(cd "$S" && rg -uu --no-heading -n $rgf -e "$q" 2>/dev/null) | grep -aE '^[^:]+:[0-9]+:' | cut -d: -f1,2 | \
		{ if [ -n "$pf" ]; then awk -F: -v re="$pf" '$1 ~ re'; else cat; fi; } | LC_ALL=C sort >"$T/want"
	query=$q; [ -n "$pf" ] && query="file:$pf $q"
	: >"$T/got.raw"; off=0
	while :; do # page through: 10,000 lines at a time
		"$SR" search p@1 "$query" --vendor-key "$T/v.key" --limit 10000 --offset $off $srf >"$T/page" 2>"$T/err"
		src=$?; cat "$T/page" >>"$T/got.raw"
		[ $src -eq 0 ] && [ "$(wc -l <"$T/page")" -ge 10000 ] || break
		off=$((off + 10000))
	done
	grep -aE '^[^:]+:[0-9]+:' "$T/got.raw" | cut -d: -f1,2 | LC_ALL=C sort >"$T/got"
	if [ $src -eq 0 ] && cmp -s "$T/want" "$T/got"; then pass; else
		fail "$d: /$q/ differs from rg (exit $src: $(cat "$T/err")): $(diff "$T/want" "$T/got" | head -5 | tr '\n' ' ')"; fi
	"$SR" search p@1 "$query" --vendor-key "$T/v.key" --count $srf >"$T/cnt" 2>/dev/null
	check "$d: --count equals rg's $(wc -l <"$T/want")" [ "$(cat "$T/cnt")" = "$(wc -l <"$T/want" | tr -d ' ')" ]
}

compare "literal" "" "" 'foo'
compare "literal with spaces" "" "" 'static const struct file_operations'
compare "EXPORT_SYMBOL" "" "" 'EXPORT_SYMBOL'
compare "word regex" "" "" '\w+_ops\b'
compare "class repeat" "" "" '[A-Z]{2}_[A-Z]+_RESUME'
compare "escaped parens" "" "" 'ERR_PTR\(-E[A-Z]+\)'
compare "anchor" "" "" '^#define'
compare "end anchor" "" "" ';$'
compare "alternation" "" "" 'suspend|resume'
compare "group alternation" "" "" '(foo|bar)_?(ops|bar)'
compare "empty lines" "" "" '^$'
compare "everything" "" "" 'x*'
compare "optional literal" "" "" 'fo?o'
compare "dot" "" "" 'f.o'
compare "no literal" "" "" '\d+'
compare "newline class" "" "" 'foo[^x]*bar'
compare "spaces across lines" "" "" 'foo\s+bar'
compare "caseless flag" "-i" "--ignore-case" 'sha256'
compare "caseless inline" "" "" '(?i)SHA256'
compare "caseless kelvin" "-i" "--ignore-case" 'kelvin: . k'
compare "caseless k" "-i" "--ignore-case" 'k'
compare "caseless long s" "-i" "--ignore-case" 'long s'
compare "caseless unicode" "-i" "--ignore-case" 'café'
compare "unicode literal" "" "" 'é'
compare "unicode class" "" "" '\p{Greek}+'
compare "whole word" "-w" "--word-regexp" 'foo'
compare "whole word regex" "-w" "--word-regexp" 'foo\w*'
compare "fixed string" "-F" "--fixed-strings" 'ERR_PTR(-'
compare "lookbehind" "-P" "" '(?<=foo)bar'
compare "crlf" "" "" 'foo\r$'
compare "binary prefix" "" "" 'foo'
compare "long line" "" "" 'foo tail'
# one regression case for each class the planner or the matcher once got wrong
compare "dot-star between literals" "" "" 'EXPORT.*GPL'
compare "optional group" "" "" 'spin_lock(_irq)?save'
compare "quantifier after a comment" "-P" "" 'spin_unlockz(?#)?'
compare "quantifier after empty quote" "-P" "" 'spin_unlockz\Q\E?'
compare "quantifier after quote" "-P" "" 'spin_unlo\Qck\E*z?'
compare "long brace" "-P" "" 'spin_unlockz{0000000}'
compare "lookbehind across lines" "-P" "" '(?<=\n)#include'
compare "whole-line anchors" "-P" "" '\A\s*\z'
compare "blank lines" "" "" '^\s*$'
compare "BOM" "" "" '^foo'
compare "BOM then line two" "" "" '^#include'
compare "trailing spaces kept" "-F" "--fixed-strings" ' foo '
compare "leading spaces kept" "" "" '  '
compare "UTF-16: a caseless word" "-i" "--ignore-case" 'key'
compare "UTF-16: an accented word" "" "" 'café foo'
compare "UTF-16: a character outside the BMP" "" "" 'emoji . foo'
compare "UTF-16: the replacement character" "" "" '\x{FFFD}'
compare "UTF-16: the first line after the mark" "" "" '^(utf16|big|ok)'
compare "file filter" "" "" 'foo' '\.c$'
compare "file filter dir" "" "" 'EXPORT' 'drivers/'

# filters, ranking, JSON, context, paging
expect_ok "sym:" "$SR" search p@1 'sym:eth_suspend' --vendor-key "$T/v.key"
check "sym: finds the definition, not the prototype" sh -c "grep -q '^drivers/net/eth.c:5:' '$T/out' && [ \$(wc -l <'$T/out') -eq 1 ]"
expect_ok "definitions first" "$SR" search p@1 'eth_suspend' --vendor-key "$T/v.key" --json
check "json parses, definition first" python3 -c '
import json,sys; j=json.load(open(sys.argv[1]))
assert j["total"]==3 and j["partial"] is False, j
f=j["files"][0]; m=f["matches"][0]
assert f["path"]=="drivers/net/eth.c" and m["line"]==5 and m["definition"] is True and m["ranges"]==[[11,22]], j' "$T/out"
expect_ok "lang:" "$SR" search p@1 'lang:c PM_RESUME' --vendor-key "$T/v.key"
check "lang:c covers .c and .h" [ "$(wc -l <"$T/out")" -eq 2 ]
expect_ok "-file:" "$SR" search p@1 'PM_RESUME -file:\.h$' --vendor-key "$T/v.key"
check "-file: drops the header" [ "$(cat "$T/out")" = "drivers/net/eth.c:7:	return ERR_PTR(-EINVAL) ? PM_RESUME : 0;" ]
expect_ok "context" "$SR" search p@1 'ERR_PTR' --vendor-key "$T/v.key" --context 1
check "context lines rg-style" [ "$(cat "$T/out" | cut -c1-20 | tr '\n' '|')" = "drivers/net/eth.c-6-|drivers/net/eth.c:7:|drivers/net/eth.c-8-|" ]
expect_ok "page" "$SR" search p@1 'foo' --vendor-key "$T/v.key" --limit 2 --offset 1 --json
check "page of two with the full total" python3 -c '
import json,sys; j=json.load(open(sys.argv[1]))
assert sum(len(f["matches"]) for f in j["files"])==2 and j["total"]>10 and j["lines_shown"]==2, j' "$T/out"

# errors: one line naming the problem
expect_fail "bad regex" 1 "query: bad regex at offset 4: missing closing parenthesis" "$SR" search p@1 'foo(' --vendor-key "$T/v.key"
expect_fail "unknown language" 1 "unknown language 'cobol'" "$SR" search p@1 'lang:cobol x' --vendor-key "$T/v.key"
expect_fail "empty query" 1 "nothing to search for" "$SR" search p@1 'file:x' --vendor-key "$T/v.key"
expect_fail "no key" 2 "vendor-key" "$SR" search p@1 'foo'
expect_fail "wrong vendor" 1 "sealed by vendor key" sh -c "'$SR' key new other --out '$T/o.key' >/dev/null && '$SR' search p@1 foo --vendor-key '$T/o.key'"
expect_fail "no release" 1 "no release 'p@9'" "$SR" search p@9 'foo' --vendor-key "$T/v.key"
expect_fail "limit" 2 "limit" "$SR" search p@1 'foo' --vendor-key "$T/v.key" --limit 10001

# budget and backtracking: a catastrophic regex returns partial results, in time
awk 'BEGIN { for (i = 0; i < 200; i++) { for (j = 0; j < 40; j++) printf "a"; print "!"; } }' >"$T/evil.txt"
mkdir "$T/evil" && cp "$T/evil.txt" "$T/evil/e.txt"
expect_ok "seal evil" "$SR" seal "$T/evil" --product p --version evil --vendor-key "$T/v.key"
expect_ok "catastrophic regex" "$SR" search p@evil '(a+)+$' --vendor-key "$T/v.key" --budget 300 --json
check "is partial" grep -q '"partial":true' "$T/out"

# every search is logged
check "searches are logged" sh -c "sqlite3 '$T/fac/sealroom.db' \"SELECT count(*) FROM log_entries WHERE CAST(data AS TEXT) LIKE '%\\\"type\\\":\\\"search\\\"%'\" | grep -qv '^0$'"
done_testing
