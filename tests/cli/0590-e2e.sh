#!/bin/sh
# e2e: the review room in Debian's chromium (tests/e2e/room.test.js, playwright-core);
# screenshots of the main pages into build/e2e/. Ends with the runner's "N passed, N failed".
set -u
top=$(pwd)
SR=${SEALROOM:-$top/build/sealroom}
out="$top/${BUILD:-build}/e2e"
if [ ! -x /usr/bin/chromium ] || [ ! -d tests/e2e/node_modules/playwright-core ]; then
	echo "FAIL: chromium or playwright-core missing: run scripts/deps"
	echo "0 passed, 1 failed"
	exit 1
fi
mkdir -p "$out"
cd tests/e2e && exec node room.test.js "$SR" "$out"
