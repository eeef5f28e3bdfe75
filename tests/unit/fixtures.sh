#!/bin/sh
# fixtures.sh KIND DIR: build awkward fixture trees for the unit tests of ingest.
#   awkward DIR  a tree with hard names in DIR/src, its ids by stock git in DIR/sha1 and
#                DIR/sha256, archives DIR/src.{tar,tar.gz,tar.xz,tar.zst,zip} and a git
#                repository DIR/repo (HEAD = the tree; DIR/repo.tree = its tree id)
#   hostile DIR  hostile archives DIR/<case>.tar / .zip made with Python
set -eu
kind=$1; d=$2
mkdir -p "$d"
export GIT_CONFIG_NOSYSTEM=1 GIT_AUTHOR_NAME=t GIT_AUTHOR_EMAIL=t@t GIT_COMMITTER_NAME=t \
	GIT_COMMITTER_EMAIL=t@t HOME="$d"

awkward() {
	s="$d/src"; mkdir -p "$s"; cd "$s"
	printf 'a\n' >foo-bar; printf 'c\n' >foo.c; printf 'x\n' >foo-
	mkdir foo; printf 'in dir\n' >foo/x; printf 'y' >foo/foo.c
	mkdir foo0; : >foo0/empty
	printf 'u\n' >"$(printf 'caf\303\251.txt')"
	printf 'n\n' >"$(printf 'raw\377\376')"
	printf '#!/bin/sh\n' >run.sh; chmod 755 run.sh
	printf 'rw\n' >notexec; chmod 644 notexec
	ln -s foo.c rel-link; ln -s /etc/passwd abs-link; ln -s does/not/exist dangling
	: >empty
	mkdir -p emptydir/inner
	p=deep; i=0; while [ $i -lt 40 ]; do p="$p/d$i"; i=$((i + 1)); done
	mkdir -p "$p"; printf 'deep\n' >"$p/leaf"
	mkdir -p 'sp ace'; printf 's\n' >'sp ace/f i l e'
	cd "$d"
	for fmt in sha1 sha256; do
		rm -rf "$d/g$fmt"; mkdir "$d/g$fmt"
		git init -q --object-format=$fmt "$d/g$fmt"
		GIT_DIR="$d/g$fmt/.git" GIT_WORK_TREE="$s" git add -f -A
		GIT_DIR="$d/g$fmt/.git" GIT_WORK_TREE="$s" git write-tree >"$d/$fmt"
	done
	(cd "$s" && { bsdtar -cf "$d/src.tar" . && bsdtar -czf "$d/src.tar.gz" . &&
		bsdtar -cJf "$d/src.tar.xz" . && bsdtar --zstd -cf "$d/src.tar.zst" .; } 2>/dev/null &&
		zip -qry "$d/src.zip" .)
	(cd "$s" && tar --format=gnu -cf "$d/src-gnu.tar" .)
	rm -rf "$d/repo"; cp -a "$d/gsha1" "$d/repo"
	GIT_DIR="$d/repo/.git" GIT_WORK_TREE="$s" git commit -q -m fixture
	GIT_DIR="$d/repo/.git" git rev-parse 'HEAD^{tree}' >"$d/repo.tree"
	git clone -q --bare "$d/repo" "$d/bare.git"
}

hostile() {
	python3 - "$d" <<'PY'
import io, sys, tarfile, zipfile
d = sys.argv[1]
def tar(name, entries):
    with tarfile.open(f"{d}/{name}.tar", "w", format=tarfile.GNU_FORMAT) as t:
        for e in entries:
            ti = tarfile.TarInfo(e[0]); kind = e[1]; data = b""
            if kind == "file": data = e[2]; ti.size = len(data)
            elif kind == "sym": ti.type = tarfile.SYMTYPE; ti.linkname = e[2]
            elif kind == "hard": ti.type = tarfile.LNKTYPE; ti.linkname = e[2]
            elif kind == "dir": ti.type = tarfile.DIRTYPE
            elif kind == "fifo": ti.type = tarfile.FIFOTYPE
            elif kind == "chr": ti.type = tarfile.CHRTYPE
            elif kind == "blk": ti.type = tarfile.BLKTYPE
            t.addfile(ti, io.BytesIO(data) if data else None)
tar("dotdot", [("ok", "file", b"x"), ("a/../../etc/passwd", "file", b"x")])
tar("absolute", [("/etc/passwd", "file", b"x")])
tar("symdir", [("link", "sym", "/etc"), ("link/passwd", "file", b"x")])
tar("symdir2", [("d/link", "sym", ".."), ("d/link/x", "file", b"x")])
tar("chr", [("dev/null", "chr")])
tar("blk", [("dev/sda", "blk")])
tar("fifo", [("pipe", "fifo")])
tar("dup", [("a/b", "file", b"1"), ("./a/b", "file", b"2")])
tar("conflict", [("a/b", "file", b"1"), ("a", "file", b"2")])
tar("hardout", [("h", "hard", "../../etc/shadow")])
tar("hardunknown", [("h", "hard", "nothere")])
tar("hardok", [("orig", "file", b"same\n"), ("copy", "hard", "orig")])
tar("dotgit", [(".git/config", "file", b"x")])
tar("dotgitcase", [("sub/.GIT/hooks/x", "file", b"x")])
tar("dotslash", [("./a", "file", b"x"), ("./d/", "dir"), ("./d/b", "file", b"y")])
with zipfile.ZipFile(f"{d}/zipdotdot.zip", "w") as z:
    z.writestr("../evil", b"x")
zi = zipfile.ZipInfo("zlink"); zi.external_attr = (0o120777 << 16)
with zipfile.ZipFile(f"{d}/zipsym.zip", "w") as z:
    z.writestr(zi, b"/etc"); z.writestr("zlink/passwd", b"x")
PY
}

case $kind in
awkward) awkward ;;
hostile) hostile ;;
*) echo "usage: fixtures.sh awkward|hostile DIR" >&2; exit 2 ;;
esac
