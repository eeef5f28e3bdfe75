#!/bin/sh
# seal: tree ids equal stock git's, for a folder, archives of it, and a git repository.
. tests/cli/lib.sh
. tests/cli/fixtures.sh

"$SR" init -C "$T/fac" --name t.example >/dev/null
"$SR" key new vendor --out "$T/v.key" >/dev/null
export SEALROOM_HOME="$T/fac"
make_awkward "$T/src"
set -- $(git_ids "$T/src"); want1=$1; want256=$2
check "git produced ids" test -n "$want1" -a -n "$want256"

seal_and_compare() { # DESC VERSION SOURCE [extra args]
	d=$1; v=$2; s=$3; shift 3
	expect_ok "seal $d" "$SR" seal "$s" --product p --version "$v" --vendor-key "$T/v.key" --json "$@"
	got1=$(json_field tree_sha1 <"$T/out" 2>/dev/null); got256=$(json_field tree_sha256 <"$T/out" 2>/dev/null)
	check "$d: sha1 tree equals git's ($got1 vs $want1)" [ "$got1" = "$want1" ]
	check "$d: sha256 tree equals git's ($got256 vs $want256)" [ "$got256" = "$want256" ]
}

seal_and_compare "folder" 1 "$T/src"
(cd "$T/src" && tar -czf "$T/src.tar.gz" .) && seal_and_compare "tar.gz" 2 "$T/src.tar.gz"
(cd "$T/src" && tar -cJf "$T/src.tar.xz" .) && seal_and_compare "tar.xz" 3 "$T/src.tar.xz"
(cd "$T/src" && tar --zstd -cf "$T/src.tar.zst" .) && seal_and_compare "tar.zst" 4 "$T/src.tar.zst"
(cd "$T/src" && tar -cf "$T/src.tar" *) && seal_and_compare "plain tar without ./" 5 "$T/src.tar"
(cd "$T/src" && bsdtar --format zip -cf "$T/src.zip.bad" .)
# zip names are UTF-8 (or CP437) by the format: the zip fixture leaves out the raw-byte name
cp -a "$T/src" "$T/src-utf8" && rm "$T/src-utf8"/bad-*
set -- $(git_ids "$T/src-utf8"); want1=$1; want256=$2
(cd "$T/src-utf8" && bsdtar --format zip -cf "$T/src.zip" .) && seal_and_compare "zip" 6 "$T/src.zip"
check "json has the fields" grep -q '"release":"p@6".*"files":[0-9]*,"bytes":[0-9]*}' "$T/out"
expect_fail "zip with a name that is not UTF-8" 1 "not valid" "$SR" seal "$T/src.zip.bad" --product p --version zipbad --vendor-key "$T/v.key"
set -- $(git_ids "$T/src"); want1=$1; want256=$2

# a git repository at a revision: ids equal rev-parse REV^{tree}
cp -a "$T/src" "$T/repo" && (cd "$T/repo" && git init -q && git add -f -A && git commit -qm one && printf 'more\n' >>foo.c && git commit -qam two)
want1=$(git -C "$T/repo" rev-parse 'HEAD~1^{tree}')
cp -a "$T/src" "$T/repo256" && (cd "$T/repo256" && git init -q --object-format=sha256 && git add -f -A && git commit -qm one)
want256=$(git -C "$T/repo256" rev-parse 'HEAD^{tree}')
seal_and_compare "git repository at HEAD~1" 7 "$T/repo" --rev HEAD~1
expect_ok "seal git HEAD" "$SR" seal "$T/repo" --product p --version 8 --vendor-key "$T/v.key" --rev HEAD --json
check "git HEAD sha1 tree" [ "$(json_field tree_sha1 <"$T/out")" = "$(git -C "$T/repo" rev-parse 'HEAD^{tree}')" ]
expect_fail "unknown revision" 1 "nope" "$SR" seal "$T/repo" --product p --version 9 --vendor-key "$T/v.key" --rev nope

# empty tree
mkdir "$T/empty"
expect_ok "seal an empty folder" "$SR" seal "$T/empty" --product p --version empty --vendor-key "$T/v.key" --json
check "empty tree sha1" [ "$(json_field tree_sha1 <"$T/out")" = 4b825dc642cb6eb9a060e54bf8d69288fbee4904 ]
check "empty tree sha256" [ "$(json_field tree_sha256 <"$T/out")" = 6ef19b41225c5369f1c104d45d8d85efa9b057b53b14b4b9b939dd74decc5321 ]

expect_ok "releases" "$SR" releases
check "releases lists p@1" grep -q '^p@1 ' "$T/out"
expect_ok "releases --json" "$SR" releases --json
check "releases --json parses" python3 -c 'import json,sys; l=json.load(open(sys.argv[1])); assert len(l)==9 and l[0]["release"]=="p@1"' "$T/out"
expect_ok "verify p@1" "$SR" verify p@1 --vendor-key "$T/v.key"
expect_ok "verify p@7 --json" "$SR" verify p@7 --vendor-key "$T/v.key" --json
check "verify --json ok" grep -q '"ok":true' "$T/out"
expect_ok "log entry 0" "$SR" log entry 0
check "the first seal is log entry 0" grep -q '"release":"p@1".*"type":"seal"' "$T/out"
done_testing
