# lib.sh: sourced by every tests/cli/NNNN-*.sh. Gives a scratch folder, $SR (the binary),
# and checks that count into the closing "N passed, N failed" line.
set -u
SR=${SEALROOM:-$(pwd)/build/sealroom}
TOP=$(pwd)
T=$(mktemp -d "${TMPDIR:-/tmp}/sealroom-cli.XXXXXX")
trap 'rm -rf "$T"' EXIT
export SEALROOM_HOME="$T/facility"
export GIT_CONFIG_NOSYSTEM=1 GIT_AUTHOR_NAME=t GIT_AUTHOR_EMAIL=t@t GIT_COMMITTER_NAME=t GIT_COMMITTER_EMAIL=t@t
export HOME="$T"
cli_passed=0; cli_failed=0

pass() { cli_passed=$((cli_passed + 1)); }
fail() { cli_failed=$((cli_failed + 1)); echo "FAIL: $*"; }

# run CMD...: runs it, keeping stdout in $T/out, stderr in $T/err and the status in $rc.
run() { "$@" >"$T/out" 2>"$T/err"; rc=$?; }

# expect_ok DESC CMD...: the command must exit 0.
expect_ok() {
	d=$1; shift; run "$@"
	if [ $rc -eq 0 ]; then pass; else fail "$d: exit $rc: $(head -c 400 "$T/err")"; fi
}

# expect_fail DESC CODE PATTERN CMD...: exit CODE, stderr one line matching PATTERN (grep -E).
expect_fail() {
	d=$1; code=$2; pat=$3; shift 3; run "$@"
	if [ $rc -ne "$code" ]; then fail "$d: exit $rc, wanted $code: $(head -c 400 "$T/err")"; return; fi
	if [ "$(wc -l <"$T/err")" -ne 1 ]; then fail "$d: stderr is not one line: $(head -c 400 "$T/err")"; return; fi
	if ! grep -Eq -- "$pat" "$T/err"; then fail "$d: stderr '$(cat "$T/err")' lacks /$pat/"; return; fi
	pass
}

# check DESC COND...: COND is a shell command that must succeed. With SEALROOM_TEST_VERBOSE=1
# each passing check is named too (the numbers some checks carry in DESC, e.g. lines shown).
check() {
	d=$1; shift
	if "$@"; then pass; [ "${SEALROOM_TEST_VERBOSE:-0}" = 1 ] && echo "ok: $d"; return 0; else fail "$d"; fi
}

done_testing() {
	echo "$cli_passed passed, $cli_failed failed"
	[ "$cli_failed" -eq 0 ]
}

# seal_of DB P V OUT: the seal note of a release sealed into a facility, byte for byte (what
# the vendor keeps from `seal --out BUNDLE` as BUNDLE/seal)
seal_of() {
	python3 -c 'import sqlite3, sys
r = sqlite3.connect(sys.argv[1]).execute("SELECT seal_note FROM releases WHERE product = ? AND version = ?", (sys.argv[2], sys.argv[3])).fetchone()
open(sys.argv[4], "w").write(r[0])' "$@"
}

# vendor_decide KEY SEAL OPERATOR KIND P@V ARGS...: the vendor signs a decision (vendor sign,
# no facility folder) and the operator applies it; prints what apply printed
vendor_decide() {
	k=$1; s=$2; o=$3; kind=$4; rel=$5; shift 5
	d=$(mktemp "${TMPDIR:-/tmp}/sr-decision.XXXXXX") && rm -f "$d" &&
	SEALROOM_HOME=/nonexistent "$SR" vendor sign "$kind" "$rel" --seal "$s" --vendor-key "$k" --out "$d" "$@" >/dev/null &&
	"$SR" apply "$d" --as "$o"; rc_vd=$?
	rm -f "$d"
	return $rc_vd
}
