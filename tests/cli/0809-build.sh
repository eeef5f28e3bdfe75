#!/bin/sh
# build and match: rebuilds from the vault in the sandbox, bit for bit, attested; the
# attestation checked by an independent DSSE verifier; shipped artifacts matched, tampered
# ones caught; a recipe reaching the network, writing outside its work dir, or passing its
# time or disk limit fails with a clear error; non-reproducible builds name their cause.
. tests/cli/lib.sh

"$SR" init -C "$T/fac" --name t.example >/dev/null
"$SR" key new vendor --out "$T/v.key" >/dev/null
"$SR" key new other --out "$T/o.key" >/dev/null
export SEALROOM_HOME="$T/fac"

# The sandbox must work here: if bubblewrap cannot run, that is a failure with its reason.
if ! command -v bwrap >/dev/null 2>&1; then
	fail "bwrap is not installed (scripts/deps installs bubblewrap)"; done_testing; exit 1
fi
if ! bwrap --unshare-all --ro-bind /usr /usr --symlink usr/bin /bin --symlink usr/lib /lib \
	--symlink usr/lib64 /lib64 --proc /proc --dev /dev /bin/true 2>"$T/bwrap.err"; then
	fail "bwrap cannot make a sandbox on this machine: $(head -n 1 "$T/bwrap.err")"; done_testing; exit 1
fi

ver() { dpkg-query -W -f='${Version}' "$1"; }
TOOLCHAIN="toolchain gcc-12 $(ver gcc-12)
toolchain cpp-12 $(ver cpp-12)
toolchain binutils-x86-64-linux-gnu $(ver binutils-x86-64-linux-gnu)
toolchain libc6-dev $(ver libc6-dev)"

# tree NAME RECIPE-BODY: a source tree with hello.c and .sealroom/build
tree() {
	mkdir -p "$T/$1/.sealroom"
	cat >"$T/$1/hello.c" <<'EOF'
#include <stdio.h>
int main(void) { puts("hello from the sealed tree"); return 0; }
EOF
	printf 'sealroom/build/v1\n%s\n%s\n' "$TOOLCHAIN" "$2" >"$T/$1/.sealroom/build"
}
seal() { "$SR" seal "$T/$1" --product "$1" --version 1 --vendor-key "$T/v.key" >/dev/null || fail "seal $1"; }

# ---- a reproducible build, its attestation and matches ----
tree hello 'env CFLAGS -O2
run mkdir -p out
run gcc-12 $CFLAGS -o out/hello hello.c
output out/hello
time-limit 120
disk-limit 64M'
seal hello
expect_ok "build hello" "$SR" build hello@1 --vendor-key "$T/v.key" --progress --out "$T/hello.dsse"
check "build says reproducible" grep -q "^reproducible hello@1: 2 runs" "$T/out"
check "progress is shown for both runs" sh -c "grep -q 'build: run 1 of 2: done' '$T/err' && grep -q 'build: run 2 of 2: done' '$T/err'"
sha=$(sed -n 's/^  \([0-9a-f]\{64\}\)  out\/hello .*/\1/p' "$T/out")
envd=$(sed -n 's/^environment sha256 //p' "$T/out")
tree_id=$("$SR" releases --json | python3 -c 'import json,sys; print([r["tree_sha256"] for r in json.load(sys.stdin) if r["release"]=="hello@1"][0])' 2>/dev/null ||
	"$SR" releases --json | grep -o '"tree_sha256":"[0-9a-f]*"' | head -n 1 | cut -d'"' -f4)
check "an output digest is printed" [ ${#sha} -eq 64 ]
vk=$("$SR" log vkey)
expect_ok "the attestation verifies with node's crypto and the facility key" \
	node tests/cli/dsse-verify.js "$T/hello.dsse" "$vk" --subject "out/hello=$sha" --tree "$tree_id" --env "$envd"
"$SR" key new impostor --out "$T/i.key" >/dev/null
expect_fail "the attestation does not verify with another key" 1 "no signature verifies" \
	node tests/cli/dsse-verify.js "$T/hello.dsse" "$(cat "$T/i.key.pub")"
python3 - "$T/hello.dsse" "$T/forged.dsse" <<'PY'
import base64, json, sys
e = json.load(open(sys.argv[1]))
st = json.loads(base64.b64decode(e["payload"]))
st["subject"][0]["digest"]["sha256"] = "0" * 64
e["payload"] = base64.b64encode(json.dumps(st).encode()).decode()
json.dump(e, open(sys.argv[2], "w"))
PY
expect_fail "a forged subject digest does not verify" 1 "no signature verifies" \
	node tests/cli/dsse-verify.js "$T/forged.dsse" "$vk"
n=$("$SR" log checkpoint | sed -n 2p)
"$SR" log entry $((n - 1)) >"$T/entry"
check "the build is logged with its outputs" sh -c "grep -q '\"type\":\"build\"' '$T/entry' && grep -q '\"result\":\"reproducible\"' '$T/entry' && grep -q '$sha' '$T/entry'"

# the vendor ships a binary built on its own machine, at another path
mkdir -p "$T/vendor/some/where" && cp "$T/hello/hello.c" "$T/vendor/some/where/"
(cd "$T/vendor/some/where" && gcc-12 -O2 -o hello hello.c)
expect_ok "the vendor's own build matches" "$SR" match hello@1 "$T/vendor/some/where/hello"
check "match says identical" grep -q "^identical .*is attested output 'out/hello'" "$T/out"
sed 's/hello from the sealed tree/hello from elsewhere!!!!!!/' "$T/vendor/some/where/hello" >"$T/hello.tampered"
expect_fail "a tampered artifact is caught" 1 "1 of 1 artifacts differ" "$SR" match hello@1 "$T/hello.tampered"
check "the difference is named by section" grep -q "DIFFERS .*ELF sections differ: .rodata" "$T/out"
report=$(sed -n 's/^  diffoscope report: //p' "$T/out")
check "diffoscope's report is kept and shows the changed string" sh -c "[ -s '$report' ] && grep -q 'elsewhere' '$report'"
cp "$T/vendor/some/where/hello" "$T/hello2" && printf 'x' >>"$T/hello2"
expect_fail "an appended byte is caught" 1 "artifacts differ" "$SR" match hello@1 "$T/hello2"
"$SR" log entry $(($("$SR" log checkpoint | sed -n 2p) - 1)) >"$T/entry"
check "the verdict is logged" sh -c "grep -q '\"type\":\"match\"' '$T/entry' && grep -q '\"verdict\":\"differs\"' '$T/entry'"
expect_ok "match --json" "$SR" match hello@1 "$T/vendor/some/where/hello" --json
check "match --json is JSON" python3 -c "import json; d = json.load(open('$T/out')); assert d[0]['verdict'] == 'identical'"
expect_fail "match a missing file" 1 "cannot|no such|nothere" "$SR" match hello@1 "$T/nothere"
expect_fail "match without an artifact" 2 "artifact" "$SR" match hello@1

# a kept output altered on disk is found before it is compared with
kept=$(find "$T/fac/builds" -name out-0 | head -n 1)
chmod u+w "$kept" && printf 'X' >>"$kept"
expect_fail "an altered kept output is found" 1 "does not match its recorded digest" "$SR" match hello@1 "$T/hello.tampered"

# ---- failures, each logged and with a clear one-line reason ----
expect_fail "build without the vendor key and no room" 1 "no room is running to build .hello@1. with its unlocked key \\(or give --vendor-key\\)" "$SR" build hello@1
expect_fail "--verbose needs the vendor key" 2 "--verbose needs --vendor-key FILE: in the room the build.s output stays there" "$SR" build hello@1 --verbose
expect_fail "build with another vendor's key" 1 "key" "$SR" build hello@1 --vendor-key "$T/o.key"
expect_fail "build an unknown release" 1 "nope@1" "$SR" build nope@1 --vendor-key "$T/v.key"
expect_fail "a recipe path outside the tree" 2 "not a relative path" "$SR" build hello@1 --vendor-key "$T/v.key" --recipe ../x

mkdir -p "$T/norecipe" && echo x >"$T/norecipe/a"
"$SR" seal "$T/norecipe" --product norecipe --version 1 --vendor-key "$T/v.key" >/dev/null
expect_fail "no recipe in the tree" 1 "has no build recipe '.sealroom/build'" "$SR" build norecipe@1 --vendor-key "$T/v.key"

tree badrecipe 'run true
output a
frobnicate yes'
seal badrecipe
expect_fail "a malformed recipe" 1 "recipe '.sealroom/build': line [0-9]+: unknown key 'frobnicate'" \
	"$SR" build badrecipe@1 --vendor-key "$T/v.key"

mkdir -p "$T/oldgcc/.sealroom" && printf 'sealroom/build/v1\ntoolchain gcc-12 1.0-1\nrun true\noutput a\n' >"$T/oldgcc/.sealroom/build"
seal oldgcc
expect_fail "a toolchain other than the declared one" 1 "'gcc-12' is .* here, the recipe declares 1.0-1" \
	"$SR" build oldgcc@1 --vendor-key "$T/v.key"

# the network: a server on the host answers outside the sandbox, and is unreachable inside
port=$((20000 + $$ % 20000))
python3 -m http.server "$port" --bind 127.0.0.1 --directory "$T" >/dev/null 2>&1 &
srv=$!
i=0; while [ $i -lt 200 ] && ! curl -s -o /dev/null "http://127.0.0.1:$port/"; do sleep 0.1; i=$((i + 1)); done
check "the host's server answers outside the sandbox" curl -s -o /dev/null "http://127.0.0.1:$port/"
tree net "run curl -sS --max-time 5 -o fetched http://127.0.0.1:$port/
output fetched"
seal net
expect_fail "a recipe reaching the network fails in the sandbox" 1 \
	"run 1: the recipe failed with status 7: curl: \(7\) Failed to connect to 127.0.0.1" \
	"$SR" build net@1 --vendor-key "$T/v.key"
kill "$srv" 2>/dev/null; wait "$srv" 2>/dev/null
"$SR" log entry $(($("$SR" log checkpoint | sed -n 2p) - 1)) >"$T/entry"
check "the failed build is logged" sh -c "grep -q '\"result\":\"failed\"' '$T/entry' && grep -q 'status 7' '$T/entry'"

rm -f /usr/local/sealroom-escape-$$ /etc/sealroom-escape-$$
tree escape1 "run echo pwned > /usr/local/sealroom-escape-$$
output a"
tree escape2 "run echo pwned > /etc/sealroom-escape-$$
output a"
tree escape3 "run echo pwned > /sealroom-escape-$$
output a"
for e in escape1 escape2 escape3; do
	seal $e
	expect_fail "a recipe writing outside its work dir fails ($e)" 1 "Read-only file system" \
		"$SR" build $e@1 --vendor-key "$T/v.key"
done
check "nothing was written on the host" [ ! -e /usr/local/sealroom-escape-$$ ] && [ ! -e /etc/sealroom-escape-$$ ]

tree slow 'run sleep 60
output a
time-limit 2'
seal slow
start=$(date +%s)
expect_fail "a build past its time limit is stopped" 1 "run 1 stopped: the time limit of 2 s was reached" \
	"$SR" build slow@1 --vendor-key "$T/v.key"
check "it was stopped in time" [ $(($(date +%s) - start)) -lt 20 ]

tree big 'run head -c 8000000 /dev/zero > big
output big
disk-limit 2M'
seal big
expect_fail "a build past its disk limit is stopped" 1 "run 1 stopped: the disk limit of 2097152 bytes was reached" \
	"$SR" build big@1 --vendor-key "$T/v.key"

tree missing 'run true
output not/made'
seal missing
expect_fail "an output that is not made" 1 "output 'not/made' was not made" "$SR" build missing@1 --vendor-key "$T/v.key"

# ---- builds that are not reproducible name the cause ----
mkdir -p "$T/bpath/.sealroom"
cat >"$T/bpath/where.c" <<'EOF'
#include <stdio.h>
int main(void) { puts(__FILE__); return 0; }
EOF
printf 'sealroom/build/v1\n%s\nrun mkdir -p out && gcc-12 -O2 -o out/where "$PWD/where.c"\noutput out/where\n' "$TOOLCHAIN" >"$T/bpath/.sealroom/build"
"$SR" seal "$T/bpath" --product bpath --version 1 --vendor-key "$T/v.key" >/dev/null
expect_fail "an embedded build path is named" 1 "'bpath@1' is not reproducible: 'out/where' differs when the build path changes$" \
	"$SR" build bpath@1 --vendor-key "$T/v.key"
check "six runs: two, then one per variation" grep -q "^NOT reproducible bpath@1: 6 runs" "$T/out"

tree stamp 'run mkdir -p out && date +%Y > out/stamp
output out/stamp'
seal stamp
expect_fail "an embedded clock time is named" 1 "'out/stamp' differs when the time changes$" \
	"$SR" build stamp@1 --vendor-key "$T/v.key"

mkdir -p "$T/order/.sealroom" "$T/order/d"
for f in a b c d e f g h; do echo "$f" >"$T/order/d/$f.txt"; done
printf 'sealroom/build/v1\n%s\nrun find d -type f > list\noutput list\n' "$TOOLCHAIN" >"$T/order/.sealroom/build"
"$SR" seal "$T/order" --product order --version 1 --vendor-key "$T/v.key" >/dev/null
expect_fail "a file order dependency is named" 1 "'list' differs when the file order changes$" \
	"$SR" build order@1 --vendor-key "$T/v.key"
expect_fail "no attested build to match against" 1 "'order@1' has no reproducible build yet" \
	"$SR" match order@1 "$T/hello.tampered"

# ---- real code: tree-sitter grammars from the npm registry, built into shared objects ----
for g in go c; do
	src="grammars/node_modules/tree-sitter-$g"
	mkdir -p "$T/ts-$g/.sealroom"
	cp -r "$src/src" "$src/package.json" "$T/ts-$g/"
	printf 'sealroom/build/v1\n%s\nrun mkdir -p out\nrun gcc-12 -O0 -fPIC -shared -Isrc -o out/libtree-sitter-%s.so src/parser.c\noutput out/libtree-sitter-%s.so\ndisk-limit 256M\n' \
		"$TOOLCHAIN" "$g" "$g" >"$T/ts-$g/.sealroom/build"
	"$SR" seal "$T/ts-$g" --product "ts-$g" --version 1 --vendor-key "$T/v.key" >/dev/null
	expect_ok "tree-sitter-$g builds reproducibly" "$SR" build "ts-$g@1" --vendor-key "$T/v.key"
	(cd "$T/ts-$g" && gcc-12 -O0 -fPIC -shared -Isrc -o "$T/libtree-sitter-$g.so" src/parser.c)
	expect_ok "the tree-sitter-$g object built outside matches" "$SR" match "ts-$g@1" "$T/libtree-sitter-$g.so"
done
# the same grammar with debug info records the build path: not reproducible, and said so
mkdir -p "$T/ts-g/.sealroom" && cp -r grammars/node_modules/tree-sitter-go/src "$T/ts-g/"
printf 'sealroom/build/v1\n%s\nrun mkdir -p out && gcc-12 -g -O0 -fPIC -shared -Isrc -o out/go.so src/parser.c\noutput out/go.so\ndisk-limit 256M\n' \
	"$TOOLCHAIN" >"$T/ts-g/.sealroom/build"
"$SR" seal "$T/ts-g" --product ts-g --version 1 --vendor-key "$T/v.key" >/dev/null
expect_fail "debug info with the build path is named" 1 "'out/go.so' differs when the build path changes$" \
	"$SR" build ts-g@1 --vendor-key "$T/v.key"
done_testing
