#!/bin/sh
# bench/view.sh: latency of the file view of fs/ext4/inode.c (Linux 6.1, about 6,000
# lines, highlighted, logged durably before it is sent) from a served room, with wrk.
# Seals the corpus into a scratch facility once (kept in $VIEW_DIR for the next run),
# logs in as the demo reviewer and times the first view (served while the release's search
# index still loads in the background), waits for the index, then drives the view for
# $DURATION with $CONNS connections and prints p50/p95/p99 as wrk sees them (TLS, keep-alive)
# and as the server measures them (its Server-Timing header: handler to response), and the
# page's size (target: p95 <= 20 ms server side). With SEARCH=QUERY (URL-encoded) it drives
# the search API with that query instead (`/api/search?r=demo@6.1&limit=50&q=QUERY`: the
# room's side of a search, the search worker's run and the room's check of its answer).
set -eu
top=$(cd "$(dirname "$0")/.." && pwd)
SR=${SEALROOM:-$top/sealroom}
CORPUS=${CORPUS:-/work/bench-corpus/linux-source-6.1}
VIEW_DIR=${VIEW_DIR:-${TMPDIR:-/tmp}/sealroom-bench-view}
PORT=${PORT:-18999}
DURATION=${DURATION:-20s}
CONNS=${CONNS:-4}
FILE=${FILE:-fs/ext4/inode.c}
SEARCH=${SEARCH:-}
command -v wrk >/dev/null || { echo "view.sh: wrk is missing (SEALROOM_BENCH_DEPS=1 scripts/deps)" >&2; exit 1; }
[ -d "$CORPUS" ] || { echo "view.sh: no corpus at $CORPUS" >&2; exit 1; }
tmp=$(mktemp -d); trap 'kill $DEMO 2>/dev/null; rm -rf "$tmp"' EXIT

echo "sealing/opening $CORPUS in $VIEW_DIR (first run seals the tree)" >&2
"$SR" demo "$CORPUS" -C "$VIEW_DIR" --version 6.1 --listen "127.0.0.1:$PORT" --json >"$tmp/demo.json" 2>"$tmp/err" &
DEMO=$!
while [ ! -s "$tmp/demo.json" ]; do
	kill -0 $DEMO 2>/dev/null || { cat "$tmp/err" >&2; exit 1; }
	sleep 1
done
U="https://127.0.0.1:$PORT"
set -- $(python3 - "$tmp/demo.json" <<'PY'
import json, sys, hmac, hashlib, base64, struct, time
a = [x for x in json.load(open(sys.argv[1]))["accounts"] if x["login"] == "rita"][0]
s = a["totp_secret"]; key = base64.b32decode(s + "=" * ((8 - len(s) % 8) % 8))
h = hmac.new(key, struct.pack(">Q", int(time.time()) // 30), hashlib.sha1).digest(); o = h[-1] & 15
print(a["password"], "%06d" % ((struct.unpack(">I", h[o:o + 4])[0] & 0x7fffffff) % 1000000))
PY
)
curl -sk -c "$tmp/j" -b "$tmp/j" "$U/login" -o "$tmp/form"
csrf=$(sed -n 's/.*name="csrf" value="\([0-9a-f]*\)".*/\1/p' "$tmp/form")
curl -sk -c "$tmp/j" -b "$tmp/j" -o /dev/null -X POST "$U/login" --data-urlencode login=rita \
	--data-urlencode "password=$1" --data-urlencode "totp=$2" --data-urlencode "csrf=$csrf"
cookie=$(awk '$6 == "sr_session" { print "sr_session=" $7 }' "$tmp/j")
[ -n "$cookie" ] || { echo "view.sh: login failed" >&2; exit 1; }
url="$U/r/demo@6.1/blob/$FILE"
t0=$(date +%s.%N)
code=$(curl -sk -b "$cookie" -o "$tmp/page" -w '%{http_code}' "$url")
t1=$(date +%s.%N)
[ "$code" = 200 ] || { echo "view.sh: first view answered $code" >&2; exit 1; }
echo "first view (index still loading, highlights): $(echo "$t1 - $t0" | bc) s, $(wc -c <"$tmp/page") bytes, $(grep -c 'class=l ' "$tmp/page") lines" >&2
n=0
until grep -q "index of 'demo@6.1' loaded" "$tmp/err"; do
	n=$((n + 1)); [ $n -lt 600 ] || { echo "view.sh: the index did not load" >&2; exit 1; }
	sleep 1
done
sed -n "s/.*\(index of 'demo@6.1' loaded in .*\)/\1 (in the background)/p" "$tmp/err" >&2
n=0
until grep -q "search worker of 'demo@6.1'" "$tmp/err"; do
	n=$((n + 1)); [ $n -lt 60 ] || break
	sleep 1
done
sed -n "s/.*\(search worker of 'demo@6.1' .*\)/\1/p" "$tmp/err" >&2
curl -sk -b "$cookie" -o "$tmp/page" "$url"
echo "page with definition links: $(wc -c <"$tmp/page") bytes" >&2
cat >"$tmp/pct.lua" <<LUA
-- wrk's latencies; each thread writes the server's own time per request (its
-- Server-Timing header, handler to response) to a file of its own
local n = 0
setup = function(thread)
	n = n + 1
	thread:set("id", n)
end
local out
response = function(status, headers, body)
	out = out or io.open("$tmp/server." .. id, "w")
	local t = headers["Server-Timing"]
	-- views only: a refusal (403 once the grant's requests_per_minute is used up) is no view
	if t and status == 200 then out:write(string.match(t, "dur=([0-9.]+)"), "\\n") out:flush() end
	if status ~= 200 then out:write("status ", status, "\\n") out:flush() end
end
done = function(summary, latency, requests)
	io.write(string.format("requests %d  errors %d\\n", summary.requests,
		summary.errors.status + summary.errors.connect + summary.errors.read + summary.errors.write + summary.errors.timeout))
	for _, p in ipairs({50, 95, 99}) do
		io.write(string.format("client p%d %.2f ms\\n", p, latency:percentile(p) / 1000))
	end
end
LUA
if [ -n "$SEARCH" ]; then
	url="$U/api/search?r=demo@6.1&limit=50&q=$SEARCH"
	code=$(curl -sk -b "$cookie" -o "$tmp/page" -w '%{http_code}' "$url")
	[ "$code" = 200 ] || { echo "view.sh: the search answered $code: $(head -c 300 "$tmp/page")" >&2; exit 1; }
	echo "search $SEARCH: $(head -c 120 "$tmp/page")..." >&2
fi
echo "wrk: $CONNS connections, $DURATION, GET ${SEARCH:+search }${SEARCH:-$FILE}" >&2
wrk -t 2 -c "$CONNS" -d "$DURATION" --latency -H "Cookie: $cookie" -s "$tmp/pct.lua" "$url" | tail -n 4
cat "$tmp"/server.* | awk '$1 == "status" { print $2 }' | sort | uniq -c | awk '{ printf "answered %s: %d\n", $2, $1 }'
cat "$tmp"/server.* | grep -v '^status' | sort -n | awk '{ v[NR] = $1 } END {
	if (!NR) { print "server: no Server-Timing values"; exit }
	printf "server: %d views answered 200\n", NR
	split("50 95 99", p, " ")
	for (i = 1; i <= 3; i++) { k = int((NR * p[i] + 99) / 100); if (k < 1) k = 1; printf "server p%d %.2f ms\n", p[i], v[k] }
}'
