#!/bin/sh
# login as a stranger would attack it, over HTTPS from other source addresses (127.0.0.x):
# a real and an unknown login get the same answer in about the same time (no enumeration);
# failures from one address do not lock the reviewer out at her own; simultaneous wrong
# attempts are claimed before the hash (one counted, the others backed off); unknown
# logins write no entry each; no entry says which factor failed; one address cannot take
# every connection.
. tests/cli/lib.sh

PORT=$((20000 + ($$ + 7) % 20000))
U="https://127.0.0.1:$PORT"
mkdir "$T/src"
printf 'int f(void) { return 1; }\n' >"$T/src/main.c"
"$SR" demo "$T/src" -C "$T/fac" --listen "127.0.0.1:$PORT" --json >"$T/demo.json" 2>"$T/demo.err" &
DEMO=$!
for i in $(seq 1 100); do [ -s "$T/demo.json" ] && break; sleep 0.2; done
check "demo is up" grep -q '"url":"https://127.0.0.1:' "$T/demo.json"
DB="$T/fac/sealroom.db"

# totp LOGIN: prints "password code" for an account of the demo JSON
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
# attempt FROM JAR LOGIN PASSWORD CODE: the login form and its POST from source address
# FROM; prints "HTTP-CODE SECONDS", the page in $T/body.JAR
attempt() {
	rm -f "$T/$2"
	curl -sk --max-time 20 --interface "$1" -c "$T/$2" -b "$T/$2" "$U/login" -o "$T/form.$2"
	csrf=$(sed -n 's/.*name="csrf" value="\([0-9a-f]*\)".*/\1/p' "$T/form.$2")
	curl -sk --max-time 20 --interface "$1" -c "$T/$2" -b "$T/$2" -o "$T/body.$2" -w '%{http_code} %{time_total}' \
		-X POST "$U/login" --data-urlencode "login=$3" --data-urlencode "password=$4" \
		--data-urlencode "totp=$5" --data-urlencode "csrf=$csrf"
}
entries() { sqlite3 "$DB" "SELECT count(*) FROM log_entries WHERE CAST(data AS TEXT) LIKE '%\"type\":\"$1\"%'"; }
# the error line of a login page, without the per-page token
said() { grep -o 'id="error"[^<]*' "$T/body.$1"; }

set -- $(totp rita)
PW=$1
check "source addresses other than 127.0.0.1 reach the room" \
	sh -c "curl -sk --max-time 5 --interface 127.0.0.9 -o /dev/null '$U/login'"

# enumeration: rita (real) and nobody-at-all (unknown), each from an address of its own,
# alternating; the same code and words every time, and medians within 25% + 40 ms
F0=$(entries login_failed)
: >"$T/real"; : >"$T/unknown"
for i in 1 2 3 4 5; do
	set -- $(attempt 127.0.0.2 jr rita "wrong password $i" 000000)
	echo "$2" >>"$T/real"; echo "$1 $(said jr)" >>"$T/answers"
	set -- $(attempt 127.0.0.3 ju "nobody-at-all" "wrong password $i" 000000)
	echo "$2" >>"$T/unknown"; echo "$1 $(said ju)" >>"$T/answers"
done
check "every refusal is the same answer" [ "$(sort -u "$T/answers" | wc -l)" = 1 ]
check "the answer is 403 and names no factor" grep -q '^403 .*wrong login, password or code' "$T/answers"
check "similar timing for a real and an unknown login ($(tr '\n' ' ' <"$T/real")| $(tr '\n' ' ' <"$T/unknown"))" \
	python3 - "$T/real" "$T/unknown" <<'EOF'
import sys, statistics
a = statistics.median(float(x) for x in open(sys.argv[1]))
b = statistics.median(float(x) for x in open(sys.argv[2]))
sys.exit(0 if abs(a - b) <= 0.25 * max(a, b) + 0.04 else 1)
EOF
check "a real login's failures are logged (one counted, the others backed off)" [ "$(entries login_failed)" -gt "$F0" ]
check "no entry says which factor failed" \
	[ "$(sqlite3 "$DB" "SELECT count(*) FROM log_entries WHERE CAST(data AS TEXT) LIKE '%\"type\":\"login%' AND (CAST(data AS TEXT) LIKE '%reason%' OR CAST(data AS TEXT) LIKE '%password%' OR CAST(data AS TEXT) LIKE '%factor%')")" = 0 ]
check "unknown logins write no entry of their own" \
	[ "$(sqlite3 "$DB" "SELECT count(*) FROM log_entries WHERE CAST(data AS TEXT) LIKE '%nobody-at-all%'")" = 0 ]
# the serve loop's timer logs them together
for i in $(seq 1 30); do [ "$(entries login_refusals)" -gt 0 ] && break; sleep 0.5; done
check "unknown logins are counted in one entry" [ "$(entries login_refusals)" -gt 0 ]

# a stranger at 127.0.0.4 makes five counted failures for rita (waiting out each back-off)
for w in 0 1 2 4 8; do
	sleep $w
	attempt 127.0.0.4 js rita "a stranger's guess" 000000 >/dev/null
done
check "the stranger's address is locked" \
	[ "$(sqlite3 "$DB" "SELECT a.failures FROM login_attempts a JOIN people p ON p.id = a.person_id WHERE p.login = 'rita' AND a.source = '127.0.0.4'")" = 5 ]
set -- $(attempt 127.0.0.4 js rita "$PW" "$(totp rita | cut -d' ' -f2)")
check "even the right password is refused from the locked address" [ "$1" = 403 ]
set -- $(attempt 127.0.0.1 jo rita "$PW" "$(totp rita | cut -d' ' -f2)")
check "rita at her own address is not locked out" [ "$1" = 303 ]

# eight simultaneous wrong attempts for vera from one address (forms fetched first, the
# POSTs at once): the attempt is claimed before the hash, so one is tried and counted, or
# two when the burst straddles a second (the first back-off is 1 s); unclaimed, all eight
F0=$(entries login_failed)
for i in 1 2 3 4 5 6 7 8; do
	curl -sk --max-time 20 --interface 127.0.0.5 -c "$T/jc$i" -b "$T/jc$i" "$U/login" -o "$T/form.jc$i"
done
for i in 1 2 3 4 5 6 7 8; do
	csrf=$(sed -n 's/.*name="csrf" value="\([0-9a-f]*\)".*/\1/p' "$T/form.jc$i")
	curl -sk --max-time 20 --interface 127.0.0.5 -c "$T/jc$i" -b "$T/jc$i" -o /dev/null -w '%{http_code}\n' \
		-X POST "$U/login" --data-urlencode "login=vera" --data-urlencode "password=wrong $i" \
		--data-urlencode "totp=000000" --data-urlencode "csrf=$csrf" >"$T/rc$i" &
done
wait_all() { for i in 1 2 3 4 5 6 7 8; do while [ ! -s "$T/rc$i" ]; do sleep 0.1; done; done; }
wait_all
check "every simultaneous attempt is refused" [ "$(cat "$T"/rc? | sort -u)" = 403 ]
n=$(($(entries login_failed) - F0))
check "one or two of eight were tried ($n counted)" sh -c "[ $n -ge 1 ] && [ $n -le 2 ]"

# one address opens more connections than its share; another address is still served
python3 - "$PORT" >"$T/conns" <<'EOF'
import socket, sys, time
socks = []
for i in range(40):
    s = socket.socket(); s.bind(("127.0.0.6", 0))
    s.connect(("127.0.0.1", int(sys.argv[1]))); socks.append(s)
time.sleep(1)
closed = 0
for s in socks:
    s.setblocking(False)
    try:
        closed += s.recv(1) == b""
    except BlockingIOError:
        pass
    except ConnectionResetError:
        closed += 1
print(closed)
EOF
check "connections past the per-address limit are closed ($(cat "$T/conns"))" [ "$(cat "$T/conns")" -ge 8 ]
check "another address is served meanwhile" sh -c "curl -sk --max-time 5 --interface 127.0.0.7 -o /dev/null -w '%{http_code}' '$U/login' | grep -q 200"

kill -TERM $DEMO
wait $DEMO
done_testing
