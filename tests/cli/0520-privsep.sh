#!/bin/sh
# serve as separate processes (split.h): the network front runs as its own unprivileged
# uid with no_new_privs, a seccomp filter, Landlock and an empty root; after many views its
# memory (read through /proc/PID/maps and /proc/PID/mem, as root) holds no sealed line and
# neither the vendor's nor the log's nor the TLS secret key, while the room's does hold the
# lines and the TLS key's signer the TLS key (so the scan can find them); TLS 1.3 works
# through the signer; a room killed in the middle of a request makes that request
# fail with 503, is restarted, and the next request is answered; a room whose memory
# cannot be locked refuses to start and names LimitMEMLOCK=.
. tests/cli/lib.sh

if [ "$(id -u)" -ne 0 ]; then
	fail "this test needs root: it reads other processes' memory and checks the front's uid drop"
	done_testing
	exit 1
fi
PORT=$((20000 + ($$ + 6151) % 20000))
U="https://127.0.0.1:$PORT"
mkdir "$T/src"
i=1; while [ $i -le 300 ]; do echo "static int sealed_line_marker_$i(void) { return $i * 31; }"; i=$((i + 1)); done >"$T/src/secret.c"
"$SR" demo "$T/src" -C "$T/fac" --listen "127.0.0.1:$PORT" --json >"$T/demo.json" 2>"$T/demo.err" &
DEMO=$!
for i in $(seq 1 600); do [ -s "$T/demo.json" ] && break; kill -0 $DEMO 2>/dev/null || break; sleep 0.2; done
if ! grep -q '"url":"https://' "$T/demo.json"; then
	fail "demo did not come up: $(head -c 600 "$T/demo.err")"
	kill $DEMO 2>/dev/null
	done_testing
	exit 1
fi
FRONT=$(sed -n 's/.*front pid \([0-9]*\) .*/\1/p' "$T/demo.err" | head -n 1)
ROOM=$(sed -n 's/.*room pid \([0-9]*\).*/\1/p' "$T/demo.err" | head -n 1)
check "the supervisor names both processes" [ -n "$FRONT" ] && [ -n "$ROOM" ]
check "they are the demo's children" sh -c "[ \"\$(awk '{print \$4}' /proc/$FRONT/stat)\" = $DEMO ] && [ \"\$(awk '{print \$4}' /proc/$ROOM/stat)\" = $DEMO ]"
st() { sed -n "s/^$2:[[:space:]]*//p" "/proc/$1/status" | head -n 1; }
check "front: seccomp filter (Seccomp: 2)" [ "$(st "$FRONT" Seccomp)" = 2 ]
check "front: no_new_privs" [ "$(st "$FRONT" NoNewPrivs)" = 1 ]
check "front: uid 65534" sh -c "[ \"\$(sed -n 's/^Uid:[[:space:]]*\([0-9]*\).*/\1/p' /proc/$FRONT/status)\" = 65534 ]"
check "front: no groups" [ -z "$(st "$FRONT" Groups)" ]
check "front: an empty, deleted root" sh -c "readlink /proc/$FRONT/root | grep -q 'sealroom-front-.*(deleted)'"
check "front: no capability left" [ "$(st "$FRONT" CapEff)" = 0000000000000000 ]
check "front: a fresh image, not a fork of the demo" sh -c "[ \"\$(tr '\0' ' ' </proc/$FRONT/cmdline)\" != \"\$(tr '\0' ' ' </proc/$DEMO/cmdline)\" ]"
# the listening socket (by its inode in /proc/net/tcp) is among the front's fds, not the room's
LISTEN=$(awk -v p="$(printf ':%04X' "$PORT")" 'substr($2, length($2) - 4) == p && $4 == "0A" {print $10}' /proc/net/tcp /proc/net/tcp6 | head -n 1)
check "the front holds the listening socket" sh -c "ls -l /proc/$FRONT/fd | grep -q 'socket:\\[$LISTEN\\]'"
check "room: no network socket of its own" sh -c "! ls -l /proc/$ROOM/fd | grep -q 'socket:\\[$LISTEN\\]'"
check "room: its memory is locked" sh -c "[ \"\$(sed -n 's/^VmLck:[[:space:]]*\([0-9]*\).*/\1/p' /proc/$ROOM/status)\" -gt 0 ]"
check "room: runs as root, with no network front" [ "$(sed -n 's/^Uid:[[:space:]]*\([0-9]*\).*/\1/p' /proc/$ROOM/status)" = 0 ]

# log in and view the file many times, from different lines
python3 - "$T" "$U" <<'PY' >"$T/views"
import json, sys, ssl, hmac, hashlib, base64, struct, time, re
import urllib.request, urllib.parse, http.cookiejar
t, u = sys.argv[1], sys.argv[2]
ctx = ssl.create_default_context(); ctx.check_hostname = False; ctx.verify_mode = ssl.CERT_NONE
jar = http.cookiejar.CookieJar()
op = urllib.request.build_opener(urllib.request.HTTPSHandler(context=ctx), urllib.request.HTTPCookieProcessor(jar))
def req(path, data=None):
    try:
        r = op.open(urllib.request.Request(u + path, data=data), timeout=30); return r.status, r.read()
    except urllib.error.HTTPError as e:
        return e.code, e.read()
a = [x for x in json.load(open(t + "/demo.json"))["accounts"] if x["login"] == "rita"][0]
s = a["totp_secret"]; key = base64.b32decode(s + "=" * ((8 - len(s) % 8) % 8))
h = hmac.new(key, struct.pack(">Q", int(time.time()) // 30), hashlib.sha1).digest(); o = h[-1] & 15
st, form = req("/login")
csrf = re.search(rb'name="csrf" value="([0-9a-f]+)"', form).group(1).decode()
req("/login", urllib.parse.urlencode({"login": "rita", "password": a["password"], "csrf": csrf,
    "totp": "%06d" % ((struct.unpack(">I", h[o:o + 4])[0] & 0x7fffffff) % 1000000)}).encode())
ok = 0
for i in range(60):
    st, page = req("/r/demo@current/blob/secret.c?from=%d" % (1 + i % 5))
    ok += st == 200 and b'id="code"' in page and b"sealed_line_marker" not in page
st, page = req("/r/demo@current/search?q=sealed_line_marker_1")
ok += st == 200
print(ok)
for c in jar:
    if c.name == "sr_session":
        open(t + "/cookie", "w").write("sr_session=" + c.value)
PY
check "61 pages answered through the front" [ "$(cat "$T/views")" = 61 ]

# scan: sealed lines and secret keys in a process's memory (tests/cli/memscan.py)
keyhex() { # the 32-byte secret of a signed-note key file (PRIVATE+KEY+name+hash+base64)
	python3 -c 'import base64,sys; s=open(sys.argv[1]).read().strip().split("+", 4)[4]; print(base64.b64decode(s)[1:33].hex())' "$1"
}
L1=$(printf 'sealed_line_marker_3(void) { return 3 * 31; }' | od -An -tx1 | tr -d ' \n')
L2=$(printf 'sealed_line_marker_250(void)' | od -An -tx1 | tr -d ' \n')
VK=$(keyhex "$T/fac/demo-keys/vendor.key")
LK=$(keyhex "$T/fac/keys/log.key")
# the TLS key: its private scalar (openssl's reading of it) and a line of its PEM text
TK=$(openssl pkey -in "$T/fac/keys/tls.key" -noout -text | sed -n '/^priv:/,/^pub:/p' | sed '1d;$d' | tr -d ' :
')
TP=$(sed -n 2p "$T/fac/keys/tls.key" | tr -d '
' | od -An -tx1 | tr -d ' 
')
check "openssl reads the TLS key's scalar (${#TK} hex digits)" [ "${#TK}" -ge 64 ]
set -- $(python3 tests/cli/memscan.py "$FRONT" "$L1" "$L2" "$VK" "$LK" "$TK" "$TP")
check "front memory: no sealed line ($1, $2 copies), no vendor key ($3), no log key ($4), no TLS key ($5, $6)" [ "$1 $2 $3 $4 $5 $6" = "0 0 0 0 0 0" ]
check "the front was not even told the TLS key's file name" sh -c "! tr '\0' '\n' </proc/$FRONT/cmdline | grep -q 'tls.key'"
SIGNER=$(ps -o pid= --ppid "$DEMO" | while read -r p; do tr '\0' ' ' <"/proc/$p/cmdline" | grep -q __serve-signer && echo "$p"; done | head -n 1)
check "the TLS key's signer is a process of its own ($SIGNER)" [ -n "$SIGNER" ]
if [ -n "$SIGNER" ]; then
	set -- $(python3 tests/cli/memscan.py "$SIGNER" "$TK" "$L1" "$VK")
	check "the signer holds the TLS key, so the scan finds it ($1 copies), and no sealed line or vendor key ($2, $3)" [ "$1" -gt 0 ] && [ "$2 $3" = "0 0" ]
	check "signer: seccomp filter, no_new_privs, uid 65534, an empty root" sh -c "[ \"\$(sed -n 's/^Seccomp:[[:space:]]*//p' /proc/$SIGNER/status)\" = 2 ] && [ \"\$(sed -n 's/^NoNewPrivs:[[:space:]]*//p' /proc/$SIGNER/status)\" = 1 ] && [ \"\$(sed -n 's/^Uid:[[:space:]]*\([0-9]*\).*/\1/p' /proc/$SIGNER/status)\" = 65534 ] && readlink /proc/$SIGNER/root | grep -q 'sealroom-front-.*(deleted)'"
fi
check "TLS 1.3 with openssl s_client: the handshake is signed by the signer" sh -c "echo | openssl s_client -connect 127.0.0.1:$PORT -tls1_3 2>&1 | grep -q 'Peer signature type: ECDSA'"
check "TLS 1.2 is refused" sh -c "! echo | openssl s_client -connect 127.0.0.1:$PORT -tls1_2 2>&1 | grep -q 'Peer signature type'"
set -- $(python3 tests/cli/memscan.py "$DEMO" "$VK")
check "the demo's own process holds the vendor key, so the scan finds keys ($1 copies)" [ "$1" -gt 0 ]
set -- $(python3 tests/cli/memscan.py "$ROOM" "$L1" "$L2")
check "room memory: the sealed lines are there, so the scan finds them ($1, $2 copies)" [ "$1" -gt 0 ] && [ "$2" -gt 0 ]

# the room dies in the middle of a request: that request gets 503, the next is answered
kill -STOP "$ROOM"
curl -sk --max-time 30 -b "$(cat "$T/cookie")" -o "$T/mid" -w '%{http_code}' "$U/r/demo@current/blob/secret.c" >"$T/mid.code" &
CURL=$!
sleep 1
kill -KILL "$ROOM" # as abrupt as a crash, and no sanitizer turns it into a report
kill -CONT "$ROOM" 2>/dev/null
wait $CURL
check "the request in flight fails cleanly with 503" [ "$(cat "$T/mid.code")" = 503 ]
check "and says why" grep -q 'the room stopped while answering' "$T/mid"
for i in $(seq 1 100); do grep -q 'room restarted' "$T/demo.err" && break; sleep 0.2; done
check "the supervisor restarts the room" grep -q 'room process died (signal 9)' "$T/demo.err"
NEWROOM=$(sed -n 's/.*room restarted, pid \([0-9]*\).*/\1/p' "$T/demo.err" | tail -n 1)
check "a new room process" [ -n "$NEWROOM" ] && [ "$NEWROOM" != "$ROOM" ]
check "the front lives on" kill -0 "$FRONT"
code=000
for i in $(seq 1 50); do
	code=$(curl -sk --max-time 30 -b "$(cat "$T/cookie")" -o "$T/after" -w '%{http_code}' "$U/r/demo@current/blob/secret.c")
	[ "$code" = 200 ] && break; sleep 0.2
done
check "the next request is answered by the new room ($code)" [ "$code" = 200 ]
check "the new room's memory is locked too" sh -c "[ \"\$(sed -n 's/^VmLck:[[:space:]]*\([0-9]*\).*/\1/p' /proc/$NEWROOM/status)\" -gt 0 ]"

kill $DEMO; wait $DEMO
check "SIGTERM stops every process" sh -c "! kill -0 $FRONT 2>/dev/null && ! kill -0 $NEWROOM 2>/dev/null && ! kill -0 ${SIGNER:-0} 2>/dev/null"

# a key that is not the certificate's: the signer refuses to start, serve says why in a line
openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$T/other.key" 2>/dev/null
expect_fail "serve with a key that is not the certificate's" 1 "are not a PEM certificate and its key" \
	"$SR" serve -C "$T/fac" --listen "127.0.0.1:$((PORT + 2))" --cert "$T/fac/keys/tls.crt" --key "$T/other.key"
expect_fail "serve with a key file that is missing" 1 "cannot open" \
	"$SR" serve -C "$T/fac" --listen "127.0.0.1:$((PORT + 2))" --cert "$T/fac/keys/tls.crt" --key "$T/nothing.key"

# memory that cannot be locked: the room refuses to start, naming LimitMEMLOCK=
if command -v setpriv >/dev/null; then
	F2=$(mktemp -d "${TMPDIR:-/tmp}/sealroom-nolock.XXXXXX") && chmod 755 "$F2"
	cp -r "$T/fac" "$F2/fac" && chown -R 65534:65534 "$F2/fac"
	expect_fail "serve without lockable memory" 1 'LimitMEMLOCK=infinity' \
		setpriv --reuid=65534 --regid=65534 --clear-groups prlimit --memlock=65536 \
		"$SR" serve -C "$F2/fac" --listen "127.0.0.1:$((PORT + 1))"
	check "it names the limit it found" grep -q 'memory lock limit is 64 KiB' "$T/err"
	rm -rf "$F2"
else
	fail "setpriv is missing (util-linux): cannot run serve as an unprivileged user"
fi
done_testing
