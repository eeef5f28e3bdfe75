# fixtures.sh: sourced by CLI tests. make_awkward DIR builds a tree with every awkward case
# git has an opinion about; git_ids DIR prints "<sha1 tree> <sha256 tree>" as stock git
# computes them for that folder.
make_awkward() {
	d=$1
	mkdir -p "$d/foo" "$d/empty-dir/nested-empty" "$d/deep"
	printf 'a\n' >"$d/foo-bar"
	printf 'b\n' >"$d/foo.c"
	printf 'c\n' >"$d/foo/inner"
	printf 'd\n' >"$d/foo-"
	printf 'e\n' >"$d/foo0"
	: >"$d/empty"
	printf '#!/bin/sh\necho hi\n' >"$d/run.sh"; chmod 755 "$d/run.sh"
	printf 'caf\303\251\n' >"$d/caf$(printf '\303\251').txt"
	printf 'raw\n' >"$d/bad-$(printf '\377\376')-name"
	printf 'sp\n' >"$d/with space"
	ln -s foo.c "$d/link-rel"
	ln -s /etc/passwd "$d/link-abs"
	ln -s does/not/exist "$d/link-dangling"
	ln -s foo "$d/link-dir"
	p="$d/deep"; i=0
	while [ $i -lt 40 ]; do p="$p/d$i"; i=$((i + 1)); done
	mkdir -p "$p" && printf 'deep\n' >"$p/leaf"
	head -c 300000 /dev/urandom >"$d/binary.bin"
}

# git_ids DIR: both tree ids of DIR as `git add -f -A && git write-tree` gives them.
git_ids() {
	d=$1; g=$(mktemp -d "${TMPDIR:-/tmp}/sr-gitids.XXXXXX")
	s1=$(cd "$d" && git --git-dir="$g/sha1" init -q && git --git-dir="$g/sha1" --work-tree=. add -f -A && git --git-dir="$g/sha1" --work-tree=. write-tree)
	s256=$(cd "$d" && git --git-dir="$g/sha256" init -q --object-format=sha256 && git --git-dir="$g/sha256" --work-tree=. add -f -A && git --git-dir="$g/sha256" --work-tree=. write-tree)
	rm -rf "$g"
	echo "$s1 $s256"
}

# json_field NAME < json: the string or number value of NAME.
json_field() {
	python3 -c 'import json,sys; v=json.load(sys.stdin); print(v[sys.argv[1]])' "$1"
}
