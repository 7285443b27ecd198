#!/usr/bin/env bash
# fidelity.sh - what a file says survives diaryx: frontmatter values the schema cannot hold
# are kept as written, a CRLF file stays CRLF, and `DIR/` always means a directory.
. "$(dirname "$0")/lib.bash"

"$DIARYX" init ws >/dev/null
cd ws

# ---- DEST/ and DIR/ name directories ---------------------------------------------------
"$DIARYX" create b.md >/dev/null
check "mv into a directory that does not exist" "$DIARYX" workspace mv b.md newdir/
[ -f newdir/b.md ] && [ ! -e newdir.md ] && pass || fail "b.md moved to newdir/b.md"
contains "the new directory got its index" newdir/newdir.md "(/newdir/b.md)"
contains "its index is linked into the root" README.md "(/newdir/newdir.md)"
contains "b's parent is the new index" newdir/b.md 'part_of: "[Newdir](/newdir/newdir.md)"'
lacks "the root no longer lists b" README.md "(/b.md)"

"$DIARYX" create journal/j1.md >/dev/null
"$DIARYX" create journal/sub/s1.md >/dev/null
# An attachment in the folder, bytes with CR LF and lone LF.
printf '\x89PNG\r\n\x1a\n\0bin\nary\r\n' >"$T/pic.png"
cp "$T/pic.png" journal/sub/pic.png
"$DIARYX" property set journal/sub/s1.md attachments '["[Pic](/journal/sub/pic.png)"]' >/dev/null
check_rc "a folder index moved into a new directory takes its folder" 0 \
    "$DIARYX" workspace mv journal/journal.md newdir2/
contains "the message names the new place" "$T/.out" "newdir2/journal/journal.md"
for f in newdir2/newdir2.md newdir2/journal/journal.md newdir2/journal/j1.md \
    newdir2/journal/sub/sub.md newdir2/journal/sub/s1.md; do
    [ -f "$f" ] && pass || fail "$f exists after the folder move"
done
# Attachments are no entries: they stay (untouched), and so do the links to them.
cmp -s "$T/pic.png" journal/sub/pic.png && pass || fail "the attachment stayed byte for byte"
contains "the attachment link still points at it" newdir2/journal/sub/s1.md \
    "(/journal/sub/pic.png)"
[ ! -e journal.md ] && [ ! -e newdir2.md ] && [ ! -e journal/journal.md ] && pass ||
    fail "no index left behind or created beside the root"
contains "the new directory's index lists the folder" newdir2/newdir2.md \
    "(/newdir2/journal/journal.md)"
contains "the moved index points at the new directory's index" newdir2/journal/journal.md \
    'part_of: "[Newdir2](/newdir2/newdir2.md)"'
contains "children follow their index" newdir2/journal/j1.md \
    'part_of: "[Journal](/newdir2/journal/journal.md)"'
contains "grandchildren follow their index" newdir2/journal/sub/s1.md \
    'part_of: "[Sub](/newdir2/journal/sub/sub.md)"'
check_rc "no MultipleIndexes or broken links" 0 "$DIARYX" validate
contains "validate is clean" "$T/.out" "0 errors, 0 warnings"

"$DIARYX" create archive/x.md >/dev/null
check "mv onto an existing directory without /" "$DIARYX" workspace mv newdir/b.md archive
[ -f archive/b.md ] && pass || fail "b.md moved into archive/"
contains "archive's index lists b" archive/archive.md "(/archive/b.md)"
check "a folder index onto an existing directory with /" "$DIARYX" workspace mv \
    newdir2/journal/journal.md archive/
[ -f archive/journal/sub/s1.md ] && [ -f archive/journal/journal.md ] && pass ||
    fail "the folder moved into archive/"
contains "archive lists the folder index" archive/archive.md "(/archive/journal/journal.md)"
check_rc "still valid" 0 "$DIARYX" validate
contains "no warnings after the moves" "$T/.out" "0 errors, 0 warnings"
check_rc "a folder into itself is refused" 1 "$DIARYX" workspace mv archive/journal/journal.md \
    archive/journal/sub/
contains "into itself says so" "$T/.err" "into itself"
"$DIARYX" create p/k.md >/dev/null
check_rc "an index leaving its entries behind is refused" 1 "$DIARYX" workspace mv p/p.md q/p2.md
contains "the refusal names the entry" "$T/.err" "'p/k.md' would be outside its directory"
[ -f p/p.md ] && [ ! -e q ] && pass || fail "nothing moved after the refusal"

check_rc "create DIR/ creates the directory's index" 0 "$DIARYX" create fresh/
same "create DIR/ prints the index" "$(cat "$T/.out")" "fresh/fresh.md"
contains "the index is an index" fresh/fresh.md "contents: []"
contains "the index is linked into the root" README.md "(/fresh/fresh.md)"
[ ! -e fresh.md ] && pass || fail "no fresh.md beside the root"
check_rc "create DIR/ twice is refused" 1 "$DIARYX" create fresh/
contains "the refusal names the index" "$T/.err" "fresh/fresh.md"
check "create nested DIR/ with a title" "$DIARYX" create deep/er/ --title Deeper
contains "nested index titled" deep/er/er.md "title: Deeper"
contains "nested index under its parent directory's index" deep/er/er.md \
    'part_of: "[Deep](/deep/deep.md)"'
check_rc "valid after create DIR/" 0 "$DIARYX" validate
contains "no warnings after create DIR/" "$T/.out" "0 errors, 0 warnings"

# ---- frontmatter values the schema cannot hold are kept as written ---------------------
cat >odd.md <<'EOF'
---
title: 12
part_of: "[ws](/README.md)"
contents: {a: b}
audience: public
attachments: []
x: !custom foo
y: !!binary aGVsbG8=
z: !t [a, !u b]
date: 2024-01-15
rating: 1.50
flag: yes
empty:
---
body
EOF
# Rendered from the CRDT: the known keys first (part_of before the kept title), the rest as written.
awk 'NR == 2 { title = $0; next } NR == 3 { print; print title; next } 1' odd.md >"$T/odd.expected"
check "an odd file is taken in" "$DIARYX" workspace add README.md odd.md
same "every value is kept as written" "$(cat odd.md)" "$(cat "$T/odd.expected")"
check "property get reads a kept tag" "$DIARYX" property get odd.md x
check "a property edit elsewhere in the file" "$DIARYX" property set odd.md mood '"ok"'
same "the kept values survive the edit" "$(grep -v '^mood:' odd.md)" "$(cat "$T/odd.expected")"
check "commit (renders and checks every entry)" "$DIARYX" commit -m odd --check-all
same "the committed file is the same" "$(git show HEAD:odd.md | grep -v '^mood:')" \
    "$(cat "$T/odd.expected")"
printf -- '---\n!t key: v\n---\n' >tagged-key.md
check_rc "a tagged key is refused, not dropped" 1 "$DIARYX" property get tagged-key.md key
contains "the refusal says why" "$T/.err" "'key' has a tag"
same "the file is left alone" "$(cat tagged-key.md)" "$(printf -- '---\n!t key: v\n---')"
rm tagged-key.md

# ---- a CRLF file stays CRLF ------------------------------------------------------------
printf -- '---\r\ntitle: Crlf\r\npart_of: "[ws](/README.md)"\r\n---\r\nline one\r\nline two\r\n' \
    >crlf.md
check "a CRLF file is linked" "$DIARYX" workspace add README.md crlf.md
check "append to a CRLF file" "$DIARYX" content append crlf.md "appended"
check "set a property of a CRLF file" "$DIARYX" property set crlf.md tags "[a, b]"
check "prepend to a CRLF file" "$DIARYX" content prepend crlf.md "first"
printf 'from\r\nwindows\r\n' >"$T/win.txt"
check "append CRLF text to a CRLF file" "$DIARYX" content append crlf.md --file "$T/win.txt"
same "no line ends in CR CR LF" "$(grep -c $'\r\r' crlf.md)" "0"
same "every line ends in CRLF" "$(grep -c -v $'\r$' crlf.md)" "0"
same "the CRLF file has every line" "$(tr -d '\r' <crlf.md)" \
    "$(printf -- '---\ntitle: Crlf\npart_of: "[ws](/README.md)"\ntags: [a, b]\n---\nfirst\nline one\nline two\nappended\nfrom\nwindows')"
same "the body reads with LF" "$("$DIARYX" content get crlf.md | grep -c $'\r')" "0"
check "commit a CRLF file" "$DIARYX" commit -m crlf --check-all
same "the committed CRLF file" "$(git show HEAD:crlf.md | grep -c -v $'\r$')" "0"

finish
