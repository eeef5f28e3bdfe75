#!/bin/sh
# seal: kill -9 at several moments of a seal; afterwards releases and verify are clean and
# a new seal of the same name succeeds.
. tests/cli/lib.sh

"$SR" init -C "$T/fac" --name t.example >/dev/null
"$SR" key new vendor --out "$T/v.key" >/dev/null
export SEALROOM_HOME="$T/fac"
mkdir -p "$T/src"
i=0
while [ $i -lt 300 ]; do head -c 40000 /dev/urandom >"$T/src/f$i"; i=$((i + 1)); done
expect_ok "seal a first release" "$SR" seal "$T/src" --product c --version 0 --vendor-key "$T/v.key"

for delay in 0.01 0.05 0.1 0.2 0.4; do
	"$SR" seal "$T/src" --product c --version 1 --vendor-key "$T/v.key" >/dev/null 2>&1 &
	pid=$!
	sleep "$delay"
	kill -9 $pid 2>/dev/null
	wait $pid 2>/dev/null
	expect_ok "releases after kill at ${delay}s" "$SR" releases
	n=$(grep -c '^c@1 ' "$T/out")
	if [ "$n" -eq 1 ]; then
		expect_ok "the release that made it is whole (kill at ${delay}s)" "$SR" verify c@1 --vendor-key "$T/v.key"
		sqlite3 "$T/fac/sealroom.db" "DELETE FROM releases WHERE version='1'"
	fi
	expect_ok "earlier release intact (kill at ${delay}s)" "$SR" verify c@0 --vendor-key "$T/v.key"
done
expect_ok "a new seal after the crashes" "$SR" seal "$T/src" --product c --version 2 --vendor-key "$T/v.key"
check "leftover temporary folders are swept" sh -c "[ \$(find '$T/fac/vault' -maxdepth 1 -name '.tmp-*' | wc -l) -le 1 ]"
expect_ok "verify the new seal" "$SR" verify c@2 --vendor-key "$T/v.key"
done_testing
