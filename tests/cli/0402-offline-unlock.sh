#!/bin/sh
# The offline unlock, as the issue's operator would attack it: the vendor's keys exist only
# in a folder the facility's user cannot read (the facility runs as uid 65534, with at most
# CAP_IPC_LOCK; the test fails where it cannot be run apart); sealing happens without a facility, the
# bundle is imported, the window opens from a request and a response that cross as files.
# Then the operator's tries: a response applied twice, a changed response, another key's
# response, a catalogue row pointing at another vault and wrapped key, a vault swapped alone.
. tests/cli/lib.sh

PORT=$((20000 + $$ % 20000))
FUID=65534
mkdir -p "$T/vendor" "$T/xfer" "$T/src"
chmod 0700 "$T/vendor"
chmod 0777 "$T/xfer"
chmod 0755 "$T"
printf 'int genuine(void) { return 1; }\n' >"$T/src/main.c"

# the facility runs as another user (uid 65534), so that the vendor folder is out of its
# reach; the room keeps its keys in locked memory, so that user gets either a memory lock
# limit it may raise (ulimit -l unlimited) or, where the limit cannot be raised (a
# container without CAP_SYS_RESOURCE), the one capability CAP_IPC_LOCK and nothing else:
# no file-permission override, no uid change. Where neither is possible (not root), the
# test cannot keep the promise apart from the vendor's own user: it says so and fails.
APART=0
if [ "$(id -u)" = 0 ] && (ulimit -l unlimited) 2>/dev/null; then
	APART=1
	AS_F="setpriv --reuid=$FUID --regid=$FUID --clear-groups"
elif [ "$(id -u)" = 0 ] && setpriv --reuid=$FUID --regid=$FUID --clear-groups --inh-caps=-all,+ipc_lock \
	--ambient-caps=+ipc_lock true 2>/dev/null; then
	APART=2
	AS_F="setpriv --reuid=$FUID --regid=$FUID --clear-groups --inh-caps=-all,+ipc_lock --ambient-caps=+ipc_lock"
fi
if [ $APART = 0 ]; then
	fail "the facility cannot run as a user apart from the vendor's here (run this test as root, or where setpriv may give uid $FUID CAP_IPC_LOCK): the vendor's keys would be readable by the facility"
	done_testing
	exit 1
fi
F() { $AS_F env SEALROOM_HOME="$T/fac" HOME="$T/xfer" "$SR" "$@"; }
Fsh() { $AS_F sh -c "$1"; }
# the vendor's machine: no facility at all
V() { env -u SEALROOM_HOME "$SR" "$@"; }

expect_ok "vendor: key new" V key new acme.example --out "$T/vendor/v.key"
expect_ok "vendor: seal to a bundle, no facility" V seal "$T/src" --product fw --version 1 --vendor-key "$T/vendor/v.key" --out "$T/xfer/fw-1"
check "no facility folder was needed or made" test ! -e "$T/facility"
check "bundle holds the seal, the wrapped key, the vendor key and the vault" sh -c "test -f '$T/xfer/fw-1/seal' && test -f '$T/xfer/fw-1/wrapped' && test -f '$T/xfer/fw-1/vendor.pub' && test -f '$T/xfer/fw-1/vault/index'"
check "bundle holds no secret key" sh -c "! grep -rq PRIVATE '$T/xfer/fw-1'"
expect_fail "seal over an existing bundle" 1 "exists; refusing to overwrite" V seal "$T/src" --product fw --version 1 --vendor-key "$T/vendor/v.key" --out "$T/xfer/fw-1"
expect_ok "vendor: a second release" V seal "$T/src" --product fw --version 2 --vendor-key "$T/vendor/v.key" --out "$T/xfer/fw-2"
chmod -R a+rX "$T/xfer"

mkdir "$T/fac"
chown $FUID:$FUID "$T/fac"
Fsh "'$SR' init -C '$T/fac' --name room.example >/dev/null"
check "the facility's user cannot read the vendor's keys" Fsh "! cat '$T/vendor/v.key' >/dev/null 2>&1 && ! cat '$T/vendor/v.key.wrap' >/dev/null 2>&1 && ! ls '$T/vendor' >/dev/null 2>&1"
check "the facility's user cannot become another" Fsh "! setpriv --reuid=0 true 2>/dev/null"
check "the vendor's keys exist, for the vendor" sh -c "test -s '$T/vendor/v.key' && test -s '$T/vendor/v.key.wrap'"
expect_ok "import the bundle" F import "$T/xfer/fw-1"
check "import names the tree" grep -q '^tree-sha256 [0-9a-f]\{64\}$' "$T/out"
expect_ok "import the second" F import "$T/xfer/fw-2" --json
expect_fail "import twice" 1 "already sealed" F import "$T/xfer/fw-1"
check "the import is logged as the seal" sh -c "sqlite3 '$T/fac/sealroom.db' \"SELECT CAST(data AS TEXT) FROM log_entries\" | grep '\"type\":\"seal\"' | grep -q '\"release\":\"fw@1\"'"

# hostile bundles
cp -r "$T/xfer/fw-1" "$T/xfer/bad" && chmod -R u+w "$T/xfer/bad"
sed -i 's/^version 1$/version 9/' "$T/xfer/bad/seal"
expect_fail "a bundle whose seal was edited" 1 "does not verify" F import "$T/xfer/bad"
rm -rf "$T/xfer/bad" && cp -r "$T/xfer/fw-1" "$T/xfer/bad"
printf 'x' >>"$T/xfer/bad/wrapped"
expect_fail "a bundle whose wrapped key was swapped" 1 "wrapped key is not the one its seal names" F import "$T/xfer/bad"
rm -rf "$T/xfer/bad"
V seal "$T/src" --product fw --version 5 --vendor-key "$T/vendor/v.key" --out "$T/xfer/bad" >/dev/null
chmod -R a+rX "$T/xfer"
ln -s /etc/passwd "$T/xfer/bad/vault/pack-000001"
expect_fail "a bundle with a link in its vault" 1 "not a regular file|unexpected" F import "$T/xfer/bad"
check "the refused bundle left no vault folder" sh -c "[ \$(ls '$T/fac/vault' | wc -l) = 2 ]"
rm -rf "$T/xfer/bad"
V key new other --out "$T/vendor/o.key" >/dev/null
V seal "$T/src" --product fw --version 3 --vendor-key "$T/vendor/o.key" --out "$T/xfer/fw-3" >/dev/null
chmod -R a+rX "$T/xfer"
expect_fail "a bundle of another vendor key for the product" 1 "sealed by vendor key" F import "$T/xfer/fw-3"

# the room, run by the facility's user
# not through F: $! must be the server itself (the subshell execs into it); the room keeps
# its keys in locked memory, so the facility's user gets the memory lock limit a service has
([ $APART = 1 ] && ulimit -l unlimited; exec $AS_F env SEALROOM_HOME="$T/fac" HOME="$T/xfer" "$SR" serve --insecure-http \
	--listen "127.0.0.1:$PORT" >"$T/serve.out" 2>"$T/serve.err") &
SERVE=$!
for i in $(seq 1 100); do [ -S "$T/fac/keyring.sock" ] && break; sleep 0.1; done
check "the server is up" [ -S "$T/fac/keyring.sock" ]
check "the server runs as the facility's user ($FUID), without any file-permission override" sh -c "
	grep -q '^Uid:[[:space:]]*$FUID[[:space:]]' /proc/$SERVE/status &&
	[ \$(( 0x\$(sed -n 's/^CapEff:[[:space:]]*//p' /proc/$SERVE/status) & 0x6 )) = 0 ]"
expect_fail "serve takes no vendor key" 2 "unknown option" "$SR" serve -C "$T/fac" --vendor-key "$T/vendor/v.key"
expect_fail "request: no --out" 2 "--out REQ is required" F unlock request fw@1
expect_fail "request: the facility refuses a vendor key" 2 "never holds the vendor's key" F unlock request fw@1 --vendor-key x --out "$T/xfer/r"
expect_fail "request: a window past 31 days" 2 "at most 31 days" F unlock request fw@1 --for 32d --out "$T/xfer/r"
expect_fail "request: no such release" 1 "no release 'fw@7'" F unlock request fw@7 --out "$T/xfer/r"
expect_ok "request" F unlock request fw@1 --for 1h --out "$T/xfer/req1"
check "request is a text of the documented form" grep -q '^sealroom/unlock-request/v1$' "$T/xfer/req1"
expect_fail "request over an existing file" 1 "refusing to overwrite" F unlock request fw@1 --out "$T/xfer/req1"
expect_fail "respond: another vendor's key" 1 "does not verify" V unlock respond "$T/xfer/req1" --vendor-key "$T/vendor/o.key" --out "$T/vendor/bad"
expect_fail "respond: not a request" 1 "not an unlock request" V unlock respond "$T/src/main.c" --vendor-key "$T/vendor/v.key" --out "$T/vendor/bad"
expect_ok "respond, on the vendor's machine" V unlock respond "$T/xfer/req1" --vendor-key "$T/vendor/v.key" --out "$T/xfer/resp1"
check "the response is signed by the vendor" grep -q '^— acme.example ' "$T/xfer/resp1"
check "the response holds no wrapped or raw data key, only one sealed to the one-time key" sh -c "! grep -q '^wrapped-key' '$T/xfer/resp1' && grep -Eq '^key [A-Za-z0-9+/]{100,}=*\$' '$T/xfer/resp1'"
# a changed response: the window moved by a second
sed 's/^until \([0-9]*\)9$/until \18/; t; s/^until \([0-9]*\)\([0-8]\)$/until \19/' "$T/xfer/resp1" >"$T/xfer/resp1.changed"
check "the change took" sh -c "! cmp -s '$T/xfer/resp1' '$T/xfer/resp1.changed'"
expect_fail "apply a changed response" 1 "does not answer its request|not signed" F unlock apply "$T/xfer/resp1.changed"
# that try used the request up: a new one
expect_ok "request again" F unlock request fw@1 --for 1h --out "$T/xfer/req2"
expect_ok "respond again" V unlock respond "$T/xfer/req2" --vendor-key "$T/vendor/v.key" --out "$T/xfer/resp2"
expect_ok "apply" F unlock apply "$T/xfer/resp2"
check "apply says until when" grep -q '^fw@1 unlocked until ' "$T/out"
expect_fail "apply the same response twice" 1 "no pending request" F unlock apply "$T/xfer/resp2"
expect_fail "apply an old response (of a used request)" 1 "no pending request" F unlock apply "$T/xfer/resp1"
# the facility verifies its vault with the key the room holds: no vendor key on the facility
expect_ok "verify fw@1 in the room (no vendor key)" F verify fw@1
check "verify names the room" grep -q '^ok fw@1: seal signed by the vendor (checked at the unlock; verified by the room); 1 files' "$T/out"
check "the room's verify is logged" sh -c "sqlite3 '$T/fac/sealroom.db' \"SELECT CAST(data AS TEXT) FROM log_entries\" | grep '\"type\":\"verify\"' | grep -q '\"result\":\"ok\"'"
expect_fail "verify a locked release in the room" 1 "is locked" F verify fw@2
expect_fail "the room builds with the key it holds (fw@1 has no recipe)" 1 "has no build recipe '.sealroom/build'" F build fw@1
expect_fail "a build of a locked release in the room" 1 "'fw@2' is locked" F build fw@2
expect_fail "verify from another user is refused" 1 "only from the server's own user" "$SR" -C "$T/fac" verify fw@1
# a byte flipped in the unlocked release's vault: the room's verify names it and logs it
FW1=$(sqlite3 "$T/fac/sealroom.db" "SELECT vault_dir FROM releases WHERE product = 'fw' AND version = '1'")
PACK=$(cd "$T/fac/vault/$FW1" && find . -type f -size +200c | sort | head -n 1)
Fsh "cp '$T/fac/vault/$FW1/$PACK' '$T/xfer/pack.orig' && python3 -c 'import sys; p=sys.argv[1]; b=bytearray(open(p,\"rb\").read()); b[len(b)//2]^=1; open(p,\"wb\").write(b)' '$T/fac/vault/$FW1/$PACK'"
expect_fail "the room's verify finds a flipped byte" 1 "the server refused: " F verify fw@1
check "the failed verify is logged" sh -c "sqlite3 '$T/fac/sealroom.db' \"SELECT CAST(data AS TEXT) FROM log_entries\" | grep '\"type\":\"verify\"' | grep -q '\"result\":\"failed\"'"
Fsh "cp '$T/xfer/pack.orig' '$T/fac/vault/$FW1/$PACK'"
expect_ok "and passes once the byte is back" F verify fw@1
check "no vendor secret key is anywhere in the facility's folder" sh -c "
	! grep -rqaF \"\$(cat '$T/vendor/v.key')\" '$T/fac' && ! grep -rqaF \"\$(cat '$T/vendor/v.key.wrap')\" '$T/fac'"
check "the unlock is logged with the vendor's signed response" sh -c "sqlite3 '$T/fac/sealroom.db' \"SELECT CAST(data AS TEXT) FROM log_entries\" | grep '\"type\":\"unlock\"' | grep -q 'sealroom/unlock/v1'"

# the operator's swap: fw@2's row pointed at a tree he sealed with his own key, its data key
# wrapped to the vendor's public wrapping key, vault folder and wrapped key both swapped
mkdir -m 0700 "$T/op"
V key new operator --out "$T/op/op.key" >/dev/null
rm "$T/op/op.key.wrap.pub" && cp "$T/vendor/v.key.wrap.pub" "$T/op/op.key.wrap.pub"
mkdir "$T/evil" && printf 'int genuine(void) { return 0; /* altered */ }\n' >"$T/evil/main.c"
expect_ok "the operator seals his tree for the vendor's wrapping key" V seal "$T/evil" --product evil --version 1 --vendor-key "$T/op/op.key" --out "$T/xfer/evil-1"
chmod -R a+rX "$T/xfer"
expect_ok "and imports it" F import "$T/xfer/evil-1"
EVIL=$(sqlite3 "$T/fac/sealroom.db" "SELECT vault_dir FROM releases WHERE product = 'evil'")
Fsh "cp -r '$T/fac/vault/$EVIL' '$T/fac/vault/r-swapped'"
Fsh "sqlite3 '$T/fac/sealroom.db' \"UPDATE releases SET vault_dir = 'r-swapped', wrapped_key = (SELECT wrapped_key FROM releases WHERE product = 'evil') WHERE product = 'fw' AND version = '2'\""
expect_ok "request fw@2 (swapped)" F unlock request fw@2 --out "$T/xfer/req3"
expect_fail "the vendor refuses to answer the swapped release" 1 "wrapped key is not the one its seal names" V unlock respond "$T/xfer/req3" --vendor-key "$T/vendor/v.key" --out "$T/xfer/resp3"
# the genuine wrapped key back, the vault still the operator's
Fsh "sqlite3 '$T/fac/sealroom.db' \"UPDATE releases SET wrapped_key = X'$(od -An -tx1 "$T/xfer/fw-2/wrapped" | tr -d ' \n')' WHERE product = 'fw' AND version = '2'\""
expect_ok "request fw@2 (vault swapped)" F unlock request fw@2 --out "$T/xfer/req4"
expect_ok "the vendor answers (its seal and wrapped key are genuine)" V unlock respond "$T/xfer/req4" --vendor-key "$T/vendor/v.key" --out "$T/xfer/resp4"
expect_fail "the server refuses the swapped vault" 1 "unlock refused" F unlock apply "$T/xfer/resp4"
check "the refusal is logged" sh -c "sqlite3 '$T/fac/sealroom.db' \"SELECT CAST(data AS TEXT) FROM log_entries\" | grep -q '\"type\":\"unlock_refused\".*fw@2\\|fw@2.*\"type\":\"unlock_refused\"'"
expect_ok "verify (at the vendor's keys) names the swap too" true
run V verify fw@2 -C "$T/fac" --vendor-key "$T/vendor/v.key"
check "verify fails on the swapped vault" [ "$rc" = 1 ]

# the whole swap: a tree sealed under fw@2's own name with the operator's key (at a
# facility of his), its seal, vendor key, wrapped key and vault copied into fw@2's row,
# and the unlock answered with his own key: every signature checks, but the log holds
# fw@2's first seal, and every open asks the log
V key new operator2 --out "$T/op/op2.key" >/dev/null
expect_ok "the operator seals his tree as fw@2 with his own key" V seal "$T/evil" --product fw --version 2 --vendor-key "$T/op/op2.key" --out "$T/xfer/op-fw-2"
chmod -R a+rX "$T/xfer"
mkdir -m 0777 "$T/opfac"
Fsh "'$SR' init -C '$T/opfac/fac2' --name op.example >/dev/null && SEALROOM_HOME='$T/opfac/fac2' '$SR' import '$T/xfer/op-fw-2' >/dev/null"
OPV=$(sqlite3 "$T/opfac/fac2/sealroom.db" "SELECT vault_dir FROM releases WHERE product = 'fw' AND version = '2'")
Fsh "cp -r '$T/opfac/fac2/vault/$OPV' '$T/fac/vault/r-op-fw-2'"
sqlite3 "$T/opfac/fac2/sealroom.db" "SELECT 'UPDATE releases SET vault_dir = ''r-op-fw-2'', tree_sha256 = ' || quote(tree_sha256) || ', tree_sha1 = ' || quote(tree_sha1) || ', files = ' || files || ', bytes = ' || bytes || ', vendor_vkey = ' || quote(vendor_vkey) || ', wrapped_key = ' || quote(wrapped_key) || ', seal_note = ' || quote(seal_note) || ' WHERE product = ''fw'' AND version = ''2'';' FROM releases WHERE product = 'fw' AND version = '2'" >"$T/xfer/swap.sql"
Fsh "sqlite3 '$T/fac/sealroom.db' <'$T/xfer/swap.sql'"
check "fw@2's row now holds the operator's seal" [ "$(sqlite3 "$T/fac/sealroom.db" "SELECT vault_dir FROM releases WHERE product = 'fw' AND version = '2'")" = r-op-fw-2 ]
expect_ok "request fw@2 (its whole row swapped)" F unlock request fw@2 --out "$T/xfer/req5"
expect_ok "the operator answers with his own key" V unlock respond "$T/xfer/req5" --vendor-key "$T/op/op2.key" --out "$T/xfer/resp5"
expect_fail "the server refuses: the log holds fw@2's first seal" 1 "is not the one the log holds" F unlock apply "$T/xfer/resp5"

kill $SERVE 2>/dev/null
wait $SERVE 2>/dev/null
check "the server stopped" sh -c "! kill -0 $SERVE 2>/dev/null"
check "no server is left on the facility" sh -c "! pgrep -f '[s]erve --insecure-http --listen 127.0.0.1:$PORT' >/dev/null"
done_testing
