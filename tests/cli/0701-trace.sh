#!/bin/sh
# trace: usage, unreadable and damaged leaks, no session to compare with, plain code, and
# an image that matches nobody.
. tests/cli/lib.sh

expect_ok "init" "$SR" init --name trace.test
expect_ok "help" "$SR" trace --help
check "help says what it takes" grep -q 'PNG or JPEG' "$T/out"
expect_fail "no file" 2 'usage: sealroom trace FILE' "$SR" trace
expect_fail "two files" 2 'usage' "$SR" trace a b
expect_fail "missing file" 1 "^sealroom trace: .*nope.png" "$SR" trace "$T/nope.png"

# a plain grey gradient PNG, written with python's zlib
python3 - "$T/grad.png" <<'PY'
import struct, sys, zlib
w, h = 320, 200
raw = b"".join(b"\0" + bytes((x + y) % 256 for x in range(w)) for y in range(h))
def chunk(t, d): return struct.pack(">I", len(d)) + t + d + struct.pack(">I", zlib.crc32(t + d) & 0xffffffff)
png = b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", w, h, 8, 0, 0, 0, 0)) + chunk(b"IDAT", zlib.compress(raw)) + chunk(b"IEND", b"")
open(sys.argv[1], "wb").write(png)
PY
expect_fail "no session in the log yet" 1 'no session to compare with' "$SR" trace "$T/grad.png"
printf '\377\330\377\340garbage' >"$T/bad.jpg"
expect_fail "damaged JPEG" 1 'damaged JPEG' "$SR" trace "$T/bad.jpg"
head -c 100 "$T/grad.png" >"$T/cut.png"
expect_fail "truncated PNG" 1 'damaged PNG' "$SR" trace "$T/cut.png"
done_testing
