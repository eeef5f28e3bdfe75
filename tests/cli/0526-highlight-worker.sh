#!/bin/sh
# A release's syntax highlighting runs in a highlight worker of its own
# (src/highlightd.c), its images are decoded in an image worker (src/imaged.c) and its
# prints drawn in a print worker (src/printd.c), not in the room: tree-sitter's parsers,
# the image decoders, cairo and FreeType never run next to the keys.
# The worker is a fresh process under seccomp, with no_new_privs, the front's unprivileged
# account and an empty root, no file of the facility open and no key in its memory, and it
# keeps no copy of what it coloured. Pages are coloured as before. A worker killed between
# pages is replaced; one that hangs leaves the page plain within its budget and a grace
# period (and the page is coloured again on the next view); a halt ends it within seconds.
. tests/cli/lib.sh

if [ "$(id -u)" -ne 0 ]; then
	fail "this test needs root: serve locks the room's memory and the worker drops to the front's uid"
	done_testing
	exit 1
fi

PORT=$((20000 + ($$ + 7129) % 20000))
U="https://127.0.0.1:$PORT"
mkdir "$T/src"
for f in a b c d e; do
	i=1; while [ $i -le 200 ]; do echo "static int colour_marker_${f}_$i(void) { return $i * 7; /* note $i */ }"; i=$((i + 1)); done >"$T/src/$f.c"
done
# two PNG images (the image worker decodes them) and a damaged one
python3 - "$T/src" <<'PY'
import struct, sys, zlib
def png(w, h, seed):
    raw = b"".join(b"\0" + bytes((x * seed + y) % 256 for x in range(w * 3)) for y in range(h))
    def chunk(t, d): return struct.pack(">I", len(d)) + t + d + struct.pack(">I", zlib.crc32(t + d) & 0xffffffff)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", w, h, 8, 2, 0, 0, 0)) + chunk(b"IDAT", zlib.compress(raw)) + chunk(b"IEND", b"")
open(sys.argv[1] + "/one.png", "wb").write(png(64, 40, 3))
open(sys.argv[1] + "/two.png", "wb").write(png(3000, 20, 5))
open(sys.argv[1] + "/bad.png", "wb").write(png(64, 40, 7)[:60])
PY
"$SR" demo "$T/src" -C "$T/fac" --listen "127.0.0.1:$PORT" --json >"$T/demo.json" 2>"$T/demo.err" &
DEMO=$!
for i in $(seq 1 600); do [ -s "$T/demo.json" ] && break; kill -0 $DEMO 2>/dev/null || break; sleep 0.2; done
check "the demo is up" grep -q '"url":"https://' "$T/demo.json"
check "rita logs in" python3 tests/cli/login.py "$T/demo.json" "$U" rita "$T/rita.cookie"
# view F: the HTTP status of a file view as rita (page in $T/page)
view() { curl -sk --max-time 60 -b "$(cat "$T/rita.cookie")" -o "$T/page" -w '%{http_code}' "$U/r/demo@current/blob/$1"; }
coloured() { grep -Eq '<span class=h[a-z]>' "$T/page"; }
code=$(view a.c)
check "a view is answered ($code)" [ "$code" = 200 ]
check "coloured: keywords, types, comments have their classes" sh -c "grep -q '<span class=ht>' '$T/page' && grep -q '<span class=hc>' '$T/page'"

ROOM=$(sed -n 's/.*room pid \([0-9]*\).*/\1/p' "$T/demo.err" | head -n 1)
worker() { # the highlight worker among the room's children
	ps -o pid= --ppid "$ROOM" | while read -r p; do tr '\0' ' ' <"/proc/$p/cmdline" 2>/dev/null | grep -q -- --highlight-worker && echo "$p"; done | head -n 1
}
W=$(worker)
check "the room has a highlight worker ($W)" [ -n "$W" ]
check "under seccomp (filter mode)" grep -q '^Seccomp:[[:space:]]*2$' "/proc/$W/status"
check "with no_new_privs" grep -q '^NoNewPrivs:[[:space:]]*1$' "/proc/$W/status"
check "not root" sh -c "! grep -q '^Uid:[[:space:]]*0[[:space:]]' /proc/$W/status"
check "not dumpable" sh -c "[ \"\$(stat -c %U /proc/$W/mem)\" = root ]"
check "its root is an empty folder" sh -c "[ -z \"\$(ls -A /proc/$W/root/ 2>/dev/null)\" ]"
ls -l "/proc/$W/fd" >"$T/fds" 2>&1
check "no file of the facility open" sh -c "! grep -q '$T/fac' '$T/fds'"
check "no file at all: /dev/null, its channels and its ready pipe" sh -c "! grep -- '->' '$T/fds' | grep -v -e '/dev/null' -e 'socket:' -e 'pipe:' -e 'anon_inode:' | grep -q ."
keyhex() { python3 -c 'import base64,sys; s=open(sys.argv[1]).read().strip().split("+", 4)[4]; print(base64.b64decode(s)[1:33].hex())' "$1"; }
L1=$(printf 'colour_marker_a_150(void) { return 150 * 7;' | od -An -tx1 | tr -d ' \n')
VK=$(keyhex "$T/fac/demo-keys/vendor.key")
LK=$(keyhex "$T/fac/keys/log.key")
set -- $(python3 tests/cli/memscan.py "$W" "$L1" "$VK" "$LK")
check "its memory: no copy of the file it coloured ($1), no vendor key ($2), no log key ($3)" [ "$1 $2 $3" = "0 0 0" ]
set -- $(python3 tests/cli/memscan.py "$ROOM" "$L1")
check "the room holds the file, so the scan finds text ($1 copies)" [ "$1" -gt 0 ]

# killed between pages: the next page is coloured by a new worker
kill -KILL "$W"
sleep 0.2
code=$(view b.c)
W2=$(worker)
check "a worker that died between pages is replaced ($code)" eval '[ "$code" = 200 ] && coloured'
check "by a new worker ($W2, was $W)" eval '[ -n "$W2" ] && [ "$W2" != "$W" ]'

# hung: the page is shown plain after the budget and the grace, then coloured again
kill -STOP "$W2"
s0=$(date +%s%N)
code=$(view c.c)
ms=$((($(date +%s%N) - s0) / 1000000))
check "a hung worker's page is still shown ($code)" eval '[ "$code" = 200 ] && grep -q "id=\"L200\"" "$T/page"'
if coloured; then fail "the page of a hung worker has colours"; else pass "plain"; fi
check "within budget and grace: 2.5 s to 8 s ($ms ms)" eval '[ "$ms" -ge 2500 ] && [ "$ms" -le 8000 ]'
check "the hung worker is gone" sh -c "! kill -0 $W2 2>/dev/null"
code=$(view c.c)
check "the same page is coloured on the next view ($code)" eval '[ "$code" = 200 ] && coloured'
check "the room lives on" kill -0 "$ROOM"

# images: decoded by the release's image worker, not by the room
iworker() {
	ps -o pid= --ppid "$ROOM" | while read -r p; do tr '\0' ' ' <"/proc/$p/cmdline" 2>/dev/null | grep -q -- --image-worker && echo "$p"; done | head -n 1
}
check "no image worker before the first image" [ -z "$(iworker)" ]
code=$(view one.png)
check "an image is shown ($code)" eval '[ "$code" = 200 ] && grep -q "<img id=\"image\"" "$T/page" && grep -q "PNG image, 64×40 pixels" "$T/page"'
I=$(iworker)
check "by the room's image worker ($I)" [ -n "$I" ]
check "the image worker: seccomp, no_new_privs, not root" sh -c "grep -q '^Seccomp:[[:space:]]*2$' /proc/$I/status && grep -q '^NoNewPrivs:[[:space:]]*1$' /proc/$I/status && ! grep -q '^Uid:[[:space:]]*0[[:space:]]' /proc/$I/status"
check "its root is an empty folder" sh -c "[ -z \"\$(ls -A /proc/$I/root/ 2>/dev/null)\" ]"
check "it holds no file" sh -c "! ls -l /proc/$I/fd | grep -- '->' | grep -v -e '/dev/null' -e 'socket:' -e 'pipe:' | grep -q ."
code=$(view bad.png)
check "a damaged image is named with the decoder's reason ($code)" eval '[ "$code" = 200 ] && grep -q "a PNG image: damaged PNG file" "$T/page"'
check "by the same worker" [ "$(iworker)" = "$I" ]
kill -KILL "$I"
sleep 0.2
code=$(view two.png)
I2=$(iworker)
check "a killed image worker is replaced for the next image ($code)" eval '[ "$code" = 200 ] && grep -q "PNG image, 3000×20 pixels (shown smaller)" "$T/page" && [ -n "$I2" ] && [ "$I2" != "$I" ]'

# prints: drawn by the release's print worker, not by the room
pworker() {
	ps -o pid= --ppid "$ROOM" | while read -r p; do tr '\0' ' ' <"/proc/$p/cmdline" 2>/dev/null | grep -q -- --print-worker && echo "$p"; done | head -n 1
}
code=$(view d.c)
csrf=$(sed -n 's/.*name="csrf" value="\([0-9a-f]*\)".*/\1/p' "$T/page" | head -n 1)
prt() { curl -sk --max-time 90 -b "$(cat "$T/rita.cookie")" -o "$T/p.pdf" -w '%{http_code}' -X POST "$U/r/demo@current/print/d.c" \
	--data-urlencode "csrf=$csrf" --data-urlencode "from=$1" --data-urlencode "to=$2"; }
check "no print worker before the first print" [ -z "$(pworker)" ]
code=$(prt 1 20)
check "a print is a PDF ($code)" eval '[ "$code" = 200 ] && head -c 5 "$T/p.pdf" | grep -q "%PDF-"'
P=$(pworker)
check "drawn by the room's print worker ($P)" [ -n "$P" ]
check "the print worker: seccomp, no_new_privs, not root" sh -c "grep -q '^Seccomp:[[:space:]]*2$' /proc/$P/status && grep -q '^NoNewPrivs:[[:space:]]*1$' /proc/$P/status && ! grep -q '^Uid:[[:space:]]*0[[:space:]]' /proc/$P/status"
check "it holds no file (its fonts are mapped, not open)" sh -c "! ls -l /proc/$P/fd | grep -- '->' | grep -v -e '/dev/null' -e 'socket:' -e 'pipe:' | grep -q ."
kill -KILL "$P"
sleep 0.2
code=$(prt 21 40)
P2=$(pworker)
check "a killed print worker is replaced for the next print ($code)" eval '[ "$code" = 200 ] && head -c 5 "$T/p.pdf" | grep -q "%PDF-" && [ -n "$P2" ] && [ "$P2" != "$P" ]'

# a halt ends the workers within seconds
W3=$(worker)
export SEALROOM_HOME="$T/fac"
seal_of "$T/fac/sealroom.db" demo current "$T/seal"
gone=no
if [ -n "$W3" ] && vendor_decide "$T/fac/demo-keys/vendor.key" "$T/seal" otto halt demo@current >"$T/halt.err" 2>&1; then
	for i in $(seq 1 50); do kill -0 "$W3" 2>/dev/null || { gone=yes; break; }; sleep 0.2; done
fi
check "a halt stops the highlight worker within 10 s ($gone; $(cat "$T/halt.err" 2>/dev/null | head -n 1))" [ "$gone" = yes ]
check "and the image worker" sh -c "! kill -0 ${I2:-0} 2>/dev/null"
check "and the print worker" sh -c "! kill -0 ${P2:-0} 2>/dev/null"

kill $DEMO; wait $DEMO
check "stopping the room stops its workers" sh -c "! kill -0 ${W3:-0} 2>/dev/null"
done_testing
