#!/usr/bin/env bash
# archive.sh - export --archive (ZIP and directory) with history and attachments, import of
# ZIPs and folders, and hostile archives refused with nothing written.
. "$(dirname "$0")/lib.bash"
export GIT_AUTHOR_NAME=t GIT_AUTHOR_EMAIL=t@example.com GIT_COMMITTER_NAME=t \
    GIT_COMMITTER_EMAIL=t@example.com GIT_CONFIG_NOSYSTEM=1

# the files of a tree (no .git, no .diaryx) with their hashes
tree_hashes() { (cd "$1" && find . -path ./.git -prune -o -path ./.diaryx -prune -o -type f -print |
    LC_ALL=C sort | xargs sha256sum); }

"$DIARYX" init ws >/dev/null
cd ws
"$DIARYX" create notes/a.md >/dev/null
"$DIARYX" content append notes/a.md "first line" >/dev/null
"$DIARYX" commit -m "one" >/dev/null
head -c 200000 /dev/urandom >notes/photo.png
printf 'col1,col2\n1,2\n' >notes/data.csv
"$DIARYX" workspace attach notes/a.md notes/photo.png >/dev/null
"$DIARYX" workspace attach notes/a.md notes/data.csv >/dev/null
git add notes/data.csv && git commit -qm "an attachment committed by hand"
# notes/photo.png is in no commit: the export commits it
"$DIARYX" create "notes/café.md" >/dev/null
"$DIARYX" content append notes/a.md "second line" >/dev/null
# a hook and a remote in the source repository: neither may travel
printf '#!/bin/sh\necho hooked >"%s/hooked"\n' "$T" >.git/hooks/post-checkout
chmod +x .git/hooks/post-checkout
git config remote.origin.url https://example.com/x.git

"$DIARYX" export --archive "$T/out.zip" >"$T/exp.out" 2>"$T/.err" && pass || fail "export --archive ($(cat "$T/.err"))"
contains "export says it committed the attachment" "$T/exp.out" "Committed 1 attachment"
same "nothing left uncommitted" "$(git status --porcelain)" ""
same "the attachment is in HEAD" "$(git ls-tree --name-only HEAD notes/photo.png)" "notes/photo.png"
contains "report names the archive" <("$DIARYX" export --archive "$T/out2.zip") "out2.zip"
cmp -s "$T/out.zip" "$T/out2.zip" && pass || fail "the same repository gives the same archive bytes"
check_rc "an existing archive is not replaced" 1 "$DIARYX" export --archive "$T/out.zip"
contains "refusal says --force" "$T/.err" "--force"
check "--force replaces it" "$DIARYX" export --archive "$T/out.zip" --force
check_rc "--archive with --audience is a usage error" 2 "$DIARYX" export --archive x.zip --audience a

# the ZIP as other tools read it
python3 - "$T/out.zip" >"$T/zipcheck" 2>&1 <<'EOF'
import sys, zipfile
z = zipfile.ZipFile(sys.argv[1])
assert z.testzip() is None, "bad CRC"
names = z.namelist()
assert len(names) == len(set(names)), "duplicates"
for i in z.infolist():
    assert i.flag_bits & 0x800, i.filename + " not flagged UTF-8"
    assert (i.external_attr >> 16) & 0o777 == 0o644, i.filename + " mode"
    if i.filename.endswith(".png") or i.filename.startswith(".git/objects/"):
        assert i.compress_type == zipfile.ZIP_STORED, i.filename + " should be stored"
    if i.filename.endswith(".md"):
        assert i.compress_type == zipfile.ZIP_DEFLATED, i.filename + " should be deflated"
assert "notes/café.md" in names, names
assert not any(n.startswith(".git/hooks") for n in names), "hooks exported"
assert not any(n.startswith(".diaryx") for n in names), "CRDT store exported"
assert ".git/HEAD" in names and ".git/config" in names and ".git/index" in names
print("zip ok")
EOF
contains "python's zipfile reads the archive" "$T/zipcheck" "zip ok"

mkdir "$T/un" && (cd "$T/un" && unzip -q "$T/out.zip") && pass || fail "unzip extracts it"
cd "$T/un"
same "git status is clean after unzip" "$(git status --porcelain 2>&1)" ""
git fsck --strict >/dev/null 2>"$T/fsck" && pass || fail "git fsck --strict ($(head -c 300 "$T/fsck"))"
same "git log identical" "$(git log --format='%H %s')" "$(git -C "$T/ws" log --format='%H %s')"
same "files and attachments identical" "$(tree_hashes "$T/un")" "$(tree_hashes "$T/ws")"
lacks "no remote in the exported config" .git/config "example.com"
[ ! -e .git/hooks/post-checkout ] && pass || fail "hook exported"
same "HEAD on main" "$(git symbolic-ref HEAD)" "refs/heads/main"
cd "$T/ws"

# --no-commit leaves the change out and names it
"$DIARYX" content append notes/a.md "uncommitted line" >/dev/null
check "export --no-commit" "$DIARYX" export --archive "$T/nc.zip" --no-commit
"$DIARYX" export --archive "$T/nc2.zip" --no-commit >"$T/nc.out" 2>&1
contains "uncommitted change named" "$T/nc.out" "M notes/a.md"
printf 'GIF89a' >notes/new.gif
"$DIARYX" workspace attach notes/a.md notes/new.gif >/dev/null
"$DIARYX" export --archive "$T/nc3.zip" --no-commit >"$T/nc3.out" 2>&1
contains "uncommitted attachment named" "$T/nc3.out" "A notes/new.gif"
python3 -c "import zipfile; assert 'notes/new.gif' not in zipfile.ZipFile('$T/nc3.zip').namelist()" &&
    pass || fail "uncommitted attachment left out"
python3 -c "import zipfile,sys; sys.stdout.write(zipfile.ZipFile('$T/nc.zip').read('notes/a.md').decode())" >"$T/nc.a"
lacks "uncommitted line left out" "$T/nc.a" "uncommitted line"
contains "committed text kept" "$T/nc.a" "second line"
same "--no-commit made no commit" "$(git log --format=%s -1)" "$(git -C "$T/un" log --format=%s -1)"

# a directory archive
check "export --archive DIR/" "$DIARYX" export --archive "$T/outdir/"
same "directory archive: git status clean" "$(git -C "$T/outdir" status --porcelain)" ""
same "directory archive: files identical" "$(tree_hashes "$T/outdir")" "$(tree_hashes "$T/ws")"
check_rc "a non-empty directory is refused" 1 "$DIARYX" export --archive "$T/outdir/"
check_rc "a directory inside the workspace is refused" 1 "$DIARYX" export --archive sub/

# a tracked file that is no entry and no attachment, changed on disk: HEAD's version, named
printf 'v1\n' >code.txt && git add code.txt && git commit -qm "code by hand"
printf 'v2\n' >code.txt
"$DIARYX" export --archive "$T/code.zip" >"$T/code.out" 2>&1
contains "a changed tracked file is named" "$T/code.out" "M code.txt"
same "and HEAD's version is in the archive" \
    "$(python3 -c "import zipfile; print(zipfile.ZipFile('$T/code.zip').read('code.txt').decode().strip())")" "v1"
git show HEAD:code.txt >code.txt # (no checkout: the test repository has a hook)

# import the ZIP elsewhere: same files, same history, a working workspace
cd "$T"
check "import the ZIP" "$DIARYX" import "$T/out.zip" "$T/imp"
"$DIARYX" import "$T/out.zip" "$T/imp2" >"$T/imp.out" 2>&1
contains "import report counts attachments" "$T/imp.out" "2 attachments"
contains "import report says history kept" "$T/imp.out" "with their git history"
cd "$T/imp"
same "imported: git log identical" "$(git log --format='%H %s')" "$(git -C "$T/un" log --format='%H %s')"
same "imported: files identical" "$(tree_hashes "$T/imp")" "$(tree_hashes "$T/un")"
same "imported: git status clean" "$(git status --porcelain)" ""
git fsck --strict >/dev/null 2>&1 && pass || fail "imported: git fsck --strict"
check "imported: validate" "$DIARYX" validate
same "imported: entries in the CRDT" "$("$DIARYX" content get notes/a.md | tail -1)" "second line"
[ ! -e .git/hooks/post-checkout ] && [ ! -e "$T/hooked" ] && pass || fail "no hook kept or run"
check "imported: edit and commit" "$DIARYX" content append notes/a.md "after import"
check "imported: commit" "$DIARYX" commit -m "after import"
cd "$T"
check_rc "import over existing files refused" 1 "$DIARYX" import "$T/out.zip" "$T/imp"
contains "refusal names --force" "$T/.err" "--force"
same "refused import wrote nothing" "$(git -C "$T/imp" log --format=%s -1)" "after import"
check "import --force replaces" "$DIARYX" import "$T/out.zip" "$T/imp" --force

# import a plain folder (no diaryx, no git): a root index is made, everything is linked
mkdir -p "$T/plain/trips" && printf '# Paris\n\nnice\n' >"$T/plain/trips/paris.md"
printf -- '---\ntitle: Ideas\ntags: [a]\n---\nbody\n' >"$T/plain/ideas.md"
printf 'PNG' >"$T/plain/trips/map.png"
ln -s /etc/passwd "$T/plain/link.md"
check "import a folder" "$DIARYX" import "$T/plain" "$T/fromplain"
"$DIARYX" import "$T/plain" "$T/fromplain2" >"$T/plain.out" 2>&1
contains "link left out and named" "$T/plain.out" "link.md"
[ ! -e "$T/fromplain/link.md" ] && pass || fail "link copied"
cd "$T/fromplain"
check "folder import validates" "$DIARYX" validate
contains "notes linked into the root" README.md "ideas.md"
same "folder import committed" "$(git status --porcelain)" ""
contains "properties kept" ideas.md "tags:"
cd "$T"

# a folder whose README.md is no index: it becomes the root, its text kept
mkdir -p "$T/plain2/sub" && printf '# Hello\n\nmy text\n' >"$T/plain2/README.md" && printf 'x\n' >"$T/plain2/sub/n.md"
check "import a folder with a plain README.md" "$DIARYX" import "$T/plain2" "$T/fromplain2b"
contains "README.md is the root index" "$T/fromplain2b/README.md" "contents:"
contains "README.md keeps its text" "$T/fromplain2b/README.md" "my text"
check "that import validates" "$DIARYX" -w "$T/fromplain2b" validate

# hostile archives: each refused, nothing written anywhere
python3 - "$T/evil" <<'EOF'
import sys, os, zipfile, struct, zlib
d = sys.argv[1]
os.makedirs(d, exist_ok=True)
def mk(name, entries, post=None):
    p = os.path.join(d, name + ".zip")
    with zipfile.ZipFile(p, "w", zipfile.ZIP_DEFLATED) as z:
        for e in entries:
            if isinstance(e, tuple):
                z.writestr(*e)
            else:
                z.writestr(e, b"x")
    if post:
        b = bytearray(open(p, "rb").read())
        post(b)
        open(p, "wb").write(bytes(b))
mk("dotdot", ["ok.md", "../escaped.md"])
mk("abs", ["/tmp/escaped-abs.md"])
mk("drive", ["C:/escaped.md"])
mk("backslash", ["a\\..\\escaped.md"])
link = zipfile.ZipInfo("link.md"); link.create_system = 3; link.external_attr = 0o120777 << 16
mk("symlink", [(link, "/etc/passwd")])
import warnings; warnings.simplefilter("ignore")
mk("duplicate", ["a.md", "a.md"])
mk("case", ["Notes/a.md", "notes/b.md"])
def encrypt(b):
    i = b.find(b"PK\x01\x02"); b[i + 8] |= 1
    j = b.find(b"PK\x03\x04"); b[j + 6] |= 1
mk("encrypted", ["a.md"], encrypt)
def lie(b):  # the central directory says 1 byte unpacked; it inflates to more
    i = b.find(b"PK\x01\x02"); b[i + 24:i + 28] = struct.pack("<I", 1)
    j = b.find(b"PK\x03\x04"); b[j + 22:j + 26] = struct.pack("<I", 1)
mk("lying", [("a.md", "hello world " * 1000)], lie)
mk("bomb", [("zeros.md", b"\0" * (20 << 20))])
exe = zipfile.ZipInfo("tools/run.sh"); exe.create_system = 3; exe.external_attr = 0o100755 << 16
mk("exec", [exe and (exe, "#!/bin/sh\necho hi\n"), ("a.md", "x")])
mk("hooks", [(".git/hooks/pre-commit", "#!/bin/sh\necho pwned"), ("a.md", "x"),
             (".git/config", "[core]\n\thooksPath = /tmp/evil\n[remote \"o\"]\n\turl = evil.example\n"),
             (".git/objects/info/alternates", "/etc\n"), (".git/HEAD", "ref: ../../evil\n"),
             ("sub/.git/config", "[core]\n")])
mk("casegit", [(".GIT/hooks/post-checkout", "#!/bin/sh\n"), (".DIARYX/crdt.db", "not a store"),
               ("a.md", "x")])
EOF
for name in dotdot abs drive backslash symlink duplicate case encrypted lying bomb; do
    check_rc "hostile archive '$name' refused" 1 "$DIARYX" import "$T/evil/$name.zip" "$T/dest-$name"
    [ -s "$T/.err" ] && pass || fail "'$name': no error message"
    n=$(find "$T/dest-$name" -type f 2>/dev/null | wc -l)
    same "'$name': nothing written into DEST" "$n" "0"
done
contains "dotdot error names the entry" <("$DIARYX" import "$T/evil/dotdot.zip" "$T/d1" 2>&1) "'..'"
contains "bomb error says zip bomb" <("$DIARYX" import "$T/evil/bomb.zip" "$T/d2" 2>&1) "zip bomb"
contains "lying error says the sizes lie" <("$DIARYX" import "$T/evil/lying.zip" "$T/d3" 2>&1) "lie"
contains "symlink error says link" <("$DIARYX" import "$T/evil/symlink.zip" "$T/d4" 2>&1) "link"
contains "encrypted error says encrypted" <("$DIARYX" import "$T/evil/encrypted.zip" "$T/d5" 2>&1) "encrypted"
[ ! -e "$T/escaped.md" ] && [ ! -e /tmp/escaped-abs.md ] && [ ! -e "$T/escaped-abs.md" ] && pass ||
    fail "a file was written outside DEST"
check "an archive with an executable imports" "$DIARYX" import "$T/evil/exec.zip" "$T/dest-exec"
[ -x "$T/dest-exec/tools/run.sh" ] && pass || fail "the executable mode was lost"
check "a .git with hooks imports without them" "$DIARYX" import "$T/evil/hooks.zip" "$T/dest-hooks"
[ ! -e "$T/dest-hooks/.git/hooks/pre-commit" ] && pass || fail "hook kept"
lacks "the archive's config is not kept" "$T/dest-hooks/.git/config" "evil"
[ ! -e "$T/dest-hooks/.git/objects/info/alternates" ] && pass || fail "alternates kept"
[ ! -e "$T/dest-hooks/sub/.git" ] && pass || fail "nested .git kept"
check "an archive with .GIT and .DIARYX imports" "$DIARYX" import "$T/evil/casegit.zip" "$T/dest-case"
[ ! -e "$T/dest-case/.GIT" ] && [ ! -e "$T/dest-case/.DIARYX" ] && pass || fail ".GIT or .DIARYX kept"
same "a HEAD pointing elsewhere is replaced" "$(cat "$T/dest-hooks/.git/HEAD")" "ref: refs/heads/main"
check "the import with a hostile .git is a working repository" git -C "$T/dest-hooks" fsck --strict
contains "hook named as left out" <("$DIARYX" import "$T/evil/hooks.zip" "$T/dest-hooks2" 2>&1) "hook"
finish
