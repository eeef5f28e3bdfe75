#!/bin/sh
# session timeouts: how long a session may be idle and last in all, set by an operator
# (logged as session_timeouts before it takes effect), refused to anyone else and out of
# bounds; the log still verifies. The limits' effect on sessions: tests/unit/test_auth.c.
. tests/cli/lib.sh

"$SR" init -C "$T/fac" --name room.example >/dev/null
export SEALROOM_HOME="$T/fac"
"$SR" org add lab1 --kind lab >/dev/null
"$SR" org add ops --kind operator >/dev/null
echo 'a long enough password' | "$SR" user add otto --org ops --role operator --password-stdin >/dev/null
echo 'a long enough password' | "$SR" user add rita --org lab1 --role reviewer --password-stdin >/dev/null

expect_ok "the defaults" "$SR" session timeouts
check "30 minutes idle, 10 hours in all" grep -qx "sessions end after 1800 seconds idle or 36000 seconds in all" "$T/out"
expect_ok "an operator sets them" "$SR" session timeouts --idle 600 --absolute 14400 --as otto
check "and they are set" grep -qx "sessions end after 600 seconds idle or 14400 seconds in all" "$T/out"
expect_ok "--json" "$SR" session timeouts --json
check "json" grep -qx '{"absolute":14400,"idle":600}' "$T/out"
check "logged as session_timeouts" sh -c "sqlite3 '$T/fac/sealroom.db' \"SELECT CAST(data AS TEXT) FROM log_entries\" | grep '\"type\":\"session_timeouts\"' | grep '\"actor\":\"otto\"' | grep -q '\"idle\":600'"
expect_fail "a reviewer cannot lengthen her sessions" 1 "only an operator sets the session timeouts" \
	"$SR" session timeouts --idle 86400 --absolute 604800 --as rita
expect_fail "nor can a stranger" 1 "no active account" "$SR" session timeouts --idle 600 --absolute 900 --as nobody
expect_fail "idle under a minute" 2 "--idle is 60 to 86400 seconds" "$SR" session timeouts --idle 59 --absolute 900 --as otto
expect_fail "absolute under idle" 2 "--absolute is --idle" "$SR" session timeouts --idle 900 --absolute 600 --as otto
expect_fail "absolute over a week" 2 "--absolute is --idle" "$SR" session timeouts --idle 900 --absolute 604801 --as otto
expect_fail "idle without absolute" 2 "timeouts" "$SR" session timeouts --idle 900 --as otto
expect_fail "values without --as" 2 "timeouts" "$SR" session timeouts --idle 900 --absolute 1800
expect_fail "not a number" 2 "idle" "$SR" session timeouts --idle ten --absolute 1800 --as otto
expect_ok "refusals changed nothing" "$SR" session timeouts --json
check "still 600 and 14400" grep -qx '{"absolute":14400,"idle":600}' "$T/out"
"$SR" log vkey >"$T/vkey"
"$SR" log checkpoint >/dev/null
expect_ok "the log verifies" "$SR" log verify --vkey "$T/vkey"
done_testing
