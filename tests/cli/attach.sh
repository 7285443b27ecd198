#!/usr/bin/env bash
# attach.sh - `diaryx attach add|ls|rm`: the bytes are copied beside the entry, the CRDT records
# their SHA-256, size and media type, and validate reports missing or changed bytes.
. "$(dirname "$0")/lib.bash"

"$DIARYX" init ws >/dev/null
cd ws
"$DIARYX" create notes/a.md >/dev/null
"$DIARYX" create notes/b.md >/dev/null
# A 5 MB "image" from outside the workspace.
head -c 5242880 /dev/urandom >"$T/photo.png"
sum=$(sha256sum "$T/photo.png" | cut -d' ' -f1)

check_rc "attach add copies and records" 0 "$DIARYX" attach add notes/a.md "$T/photo.png"
contains "add names the path" "$T/.out" "Attached 'notes/_attachments/photo.png' to 'notes/a.md'"
contains "add prints the hash" "$T/.out" "$sum"
same "bytes copied whole" "$(sha256sum notes/_attachments/photo.png | cut -d' ' -f1)" "$sum"
contains "frontmatter links the attachment" notes/a.md '/notes/_attachments/photo.png)'
check_rc "ls of the entry" 0 "$DIARYX" attach ls notes/a.md
same "ls line" "$(cat "$T/.out")" "$(printf 'notes/_attachments/photo.png\t5242880\timage/png\t%s' "$sum")"
check_rc "ls --json" 0 "$DIARYX" attach ls --json
check "ls json parses" python3 -c "import json,sys; a=json.load(open('$T/.out')); assert a==[{'entry':'notes/a.md','path':'notes/_attachments/photo.png','sha256':'$sum','size':5242880,'type':'image/png'}], a"

check_rc "validate is clean" 0 "$DIARYX" validate
# A yjs peer reads the record: the workspace document's stored snapshot and updates, applied
# by the real yjs, hold {sha256, size, type} under the path in the root map `blobs`.
mkdir -p "$T/u"
sqlite3 .diaryx/crdt.db "SELECT writefile('$T/u/s', state) FROM documents WHERE name='workspace';
  SELECT writefile('$T/u/u' || printf('%08d', id), data) FROM updates WHERE doc_name='workspace';" >/dev/null
node "$DX_SOURCE_DIR/tests/interop/read_map.mjs" blobs "$T"/u/* >"$T/yjs.json" 2>"$T/.err"
same "yjs reads the record" "$(cat "$T/yjs.json")" "{\"notes/_attachments/photo.png\":{\"sha256\":\"$sum\",\"size\":5242880,\"type\":\"image/png\"}}"
# The same file again: no conflict; other bytes under the same name: refused, nothing changed.
check_rc "same bytes again" 0 "$DIARYX" attach add notes/a.md "$T/photo.png"
mkdir -p "$T/other" && printf 'other' >"$T/other/photo.png"
check_rc "other bytes, same name refused" 1 "$DIARYX" attach add notes/a.md "$T/other/photo.png"
contains "refusal says why" "$T/.err" "already exists with other bytes"
same "file untouched" "$(sha256sum notes/_attachments/photo.png | cut -d' ' -f1)" "$sum"

# A file already in the workspace is recorded where it is; a second entry lists it too.
printf 'col1,col2\n' >notes/data.csv
check_rc "attach a workspace file in place" 0 "$DIARYX" attach add notes/b.md notes/data.csv
contains "in place" "$T/.out" "Attached 'notes/data.csv'"
check_rc "second entry lists the photo" 0 "$DIARYX" attach add notes/b.md notes/_attachments/photo.png
check_rc "ls all" 0 "$DIARYX" attach ls
same "three attachment rows" "$(wc -l <"$T/.out" | tr -d ' ')" "3"
contains "csv type" "$T/.out" "text/csv"

# validate: changed bytes and missing bytes are errors naming the path.
printf 'tampered' >>notes/data.csv
check_rc "validate finds changed bytes" 1 "$DIARYX" validate
contains "AttachmentChanged" "$T/.out" "AttachmentChanged"
contains "changed names the path" "$T/.out" "notes/data.csv"
mv notes/_attachments/photo.png "$T/away.png"
check_rc "validate finds missing bytes" 1 "$DIARYX" validate --json
contains "AttachmentMissing" "$T/.out" '"AttachmentMissing"'
mv "$T/away.png" notes/_attachments/photo.png
check_rc "re-record the new bytes" 0 "$DIARYX" attach add notes/b.md notes/data.csv
check_rc "validate clean again" 0 "$DIARYX" validate

# rm: the photo stays while b lists it; the last rm removes file and record.
check_rc "rm from a" 0 "$DIARYX" attach rm notes/a.md notes/_attachments/photo.png
contains "rm says the file stays" "$T/.out" "the file stays"
check "file kept" test -f notes/_attachments/photo.png
lacks "a no longer links it" notes/a.md "photo.png"
check_rc "rm from b" 0 "$DIARYX" attach rm notes/b.md notes/_attachments/photo.png
check "file removed" test ! -e notes/_attachments/photo.png
check_rc "rm again: not listed" 1 "$DIARYX" attach rm notes/b.md notes/_attachments/photo.png
contains "rm error names both" "$T/.err" "'notes/b.md' has no attachment 'notes/_attachments/photo.png'"
check_rc "ls after rm" 0 "$DIARYX" attach ls
same "one row left" "$(cat "$T/.out")" "$(printf 'notes/data.csv\t%s\ttext/csv\t%s' "$(stat -c %s notes/data.csv)" "$(sha256sum notes/data.csv | cut -d' ' -f1)")"
check_rc "validate clean at the end" 0 "$DIARYX" validate

# Usage and bad input.
check_rc "no subcommand" 2 "$DIARYX" attach
check_rc "unknown subcommand" 2 "$DIARYX" attach frob
check_rc "add needs two" 2 "$DIARYX" attach add notes/a.md
check_rc "json only for ls" 2 "$DIARYX" attach rm --json notes/a.md x
check_rc "missing source file" 1 "$DIARYX" attach add notes/a.md "$T/nope.png"
contains "missing source named" "$T/.err" "nope.png"
check_rc "unknown entry" 1 "$DIARYX" attach add notes/zzz.md "$T/photo.png"
finish
