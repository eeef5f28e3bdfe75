#!/bin/sh
# e2e: findings and the role pages in Debian's chromium (tests/e2e/findings.test.js,
# playwright-core); screenshots at 1280x800 and 2560x1440 into build/e2e/. Ends with the
# runner's "N passed, N failed".
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
cd tests/e2e && exec node findings.test.js "$SR" "$out"
