#!/bin/sh
# seal: hostile sources are refused whole with one line and exit 1; nothing is created.
. tests/cli/lib.sh
. tests/cli/fixtures.sh

"$SR" init -C "$T/fac" --name t.example >/dev/null
"$SR" key new vendor --out "$T/v.key" >/dev/null
"$SR" key new other --out "$T/o.key" >/dev/null
export SEALROOM_HOME="$T/fac"
mkdir -p "$T/ok" && printf 'x\n' >"$T/ok/a"

nothing_created() { # DESC: no release row and no vault folder beyond the ones expected
	n=$(sqlite3 "$T/fac/sealroom.db" 'SELECT count(*) FROM releases')
	v=$(find "$T/fac/vault" -mindepth 1 -maxdepth 1 ! -name '.tmp-*' | wc -l)
	check "$1: no release created" [ "$n" = "$expected" -a "$v" = "$expected" ]
}
expected=0

hostile() { # DESC PATTERN SOURCE [extra args]
	d=$1; pat=$2; s=$3; shift 3
	expect_fail "$d" 1 "$pat" "$SR" seal "$s" --product h --version 1 --vendor-key "$T/v.key" "$@"
	nothing_created "$d"
}

mk() { python3 - "$T" <<'PY'
import io, sys, tarfile, zipfile
T = sys.argv[1]
def tar(name, entries):
    with tarfile.open(f"{T}/{name}", "w") as t:
        for kind, path, arg in entries:
            ti = tarfile.TarInfo(path)
            if kind == "file":
                ti.size = len(arg); t.addfile(ti, io.BytesIO(arg))
            elif kind == "sym":
                ti.type = tarfile.SYMTYPE; ti.linkname = arg; t.addfile(ti)
            elif kind == "hard":
                ti.type = tarfile.LNKTYPE; ti.linkname = arg; t.addfile(ti)
            elif kind == "chr":
                ti.type = tarfile.CHRTYPE; ti.devmajor = 1; ti.devminor = 3; t.addfile(ti)
            elif kind == "fifo":
                ti.type = tarfile.FIFOTYPE; t.addfile(ti)
            elif kind == "dir":
                ti.type = tarfile.DIRTYPE; t.addfile(ti)
tar("dotdot.tar", [("file", "a", b"x"), ("file", "sub/../../evil", b"x")])
tar("abs.tar", [("file", "/etc/evil", b"x")])
tar("through-link.tar", [("sym", "link", "/etc"), ("file", "link/passwd", b"x")])
tar("through-rel-link.tar", [("dir", "d", None), ("sym", "d/up", ".."), ("file", "d/up/x", b"x")])
tar("device.tar", [("chr", "dev/null", None)])
tar("fifo.tar", [("fifo", "pipe", None)])
tar("dup.tar", [("file", "a", b"x"), ("file", "a", b"y")])
tar("dup-dot.tar", [("file", "a", b"x"), ("file", "./a", b"y")])
tar("hardlink-out.tar", [("hard", "h", "/etc/passwd")])
tar("filedir.tar", [("file", "a", b"x"), ("file", "a/b", b"y")])
tar("dotgit.tar", [("file", ".git/config", b"x")])
with zipfile.ZipFile(f"{T}/dotdot.zip", "w") as z:
    z.writestr("../../evil", "x")
PY
}
mk
hostile "tar with ../" "escapes|\\.\\." "$T/dotdot.tar"
hostile "tar with an absolute path" "absolute|escapes" "$T/abs.tar"
hostile "tar entry through a symlink" "symlink|link" "$T/through-link.tar"
hostile "tar entry through a relative symlink" "symlink|link|escapes" "$T/through-rel-link.tar"
hostile "tar with a device" "device" "$T/device.tar"
hostile "tar with a fifo" "fifo|FIFO" "$T/fifo.tar"
hostile "tar with duplicate paths" "twice|duplicate" "$T/dup.tar"
hostile "tar with ./a and a" "twice|duplicate" "$T/dup-dot.tar"
hostile "tar with a hard link outside" "link" "$T/hardlink-out.tar"
hostile "tar with a file and a folder of one name" "'a" "$T/filedir.tar"
hostile "tar with a .git entry" "\\.git" "$T/dotgit.tar"
hostile "zip with ../" "escapes|\\.\\." "$T/dotdot.zip"

# bombs and limits
head -c 100000000 /dev/zero | gzip -1 >"$T/zeros.gz"
(cd "$T" && mkdir bomb && head -c 100000000 /dev/zero >bomb/zeros && tar -czf bomb.tar.gz bomb && rm -rf bomb)
hostile "archive bomb (expansion ratio)" "ratio|expan" "$T/bomb.tar.gz"
head -c 1001 /dev/urandom >"$T/ok/big"
hostile "file over --max-file" "big.*(limit|larger|max)" "$T/ok" --max-file 1000
rm "$T/ok/big"; head -c 1000 /dev/urandom >"$T/ok/big"
expect_ok "file at --max-file" "$SR" seal "$T/ok" --product h --version limit --vendor-key "$T/v.key" --max-file 1000
expected=1
hostile "more files than --max-files" "files" "$T/ok" --max-files 1
hostile "more bytes than --max-total" "total|bytes|larger" "$T/ok" --max-total 100
mkfifo "$T/ok/pipe"
hostile "folder with a fifo" "pipe" "$T/ok"
rm "$T/ok/pipe"
mkdir -p "$T/ok/sub/.git" && printf x >"$T/ok/sub/.git/HEAD"
hostile "folder with an embedded repository" "sub/\\.git|embedded" "$T/ok"
rm -rf "$T/ok/sub"
hostile "source that does not exist" "nowhere" "$T/nowhere"
printf 'not an archive' >"$T/junk.bin"
hostile "a file that is no archive" "junk|archive" "$T/junk.bin"

# keys
hostile "missing vendor key" "no-such.key" "$T/ok" --vendor-key "$T/no-such.key"
cp "$T/v.key.pub" "$T/pub-as.key" && chmod 600 "$T/pub-as.key"
hostile "verifier key instead of signer key" "signer key" "$T/ok" --vendor-key "$T/pub-as.key"
cp "$T/v.key" "$T/loose.key" && chmod 644 "$T/loose.key"
hostile "vendor key readable by others" "readable by others" "$T/ok" --vendor-key "$T/loose.key"
expect_fail "another vendor's key for the same product" 1 "sealed by vendor key" "$SR" seal "$T/ok" --product h --version 2 --vendor-key "$T/o.key"
nothing_created "another vendor's key"
expect_fail "existing P@V" 1 "already sealed" "$SR" seal "$T/ok" --product h --version limit --vendor-key "$T/v.key"
nothing_created "existing P@V"
expect_fail "bad product name" 2 "product" "$SR" seal "$T/ok" --product "a@b" --version 1 --vendor-key "$T/v.key"
expect_fail "seal without a key" 2 "required" "$SR" seal "$T/ok" --product a --version 1
expect_fail "seal without a facility" 1 "sealroom init" "$SR" seal "$T/ok" -C "$T/none" --product a --version 1 --vendor-key "$T/v.key"
done_testing
