#!/usr/bin/env bash
# crdt.sh - the CRDT is the workspace's source of truth: init imports existing markdown,
# every edit is a stored update, files edited or deleted outside diaryx are taken in on the
# next command, and files are written (and removed) from the CRDT.
. "$(dirname "$0")/lib.bash"

# An existing folder of notes, linked, with one file diaryx cannot read.
mkdir -p notes/sub
printf -- '---\ntitle: Notes\npart_of: "[Journal](/README.md)"\ncontents:\n- "[Idea](/notes/idea.md)"\n---\n\n# Notes\n' >notes/notes.md
printf -- '---\ntitle: Idea\npart_of: "[Notes](/notes/notes.md)"\ntags: [a, b]\n---\nfirst line\nsecond line\n' >notes/idea.md
printf -- '---\ntitle: Journal\ncontents:\n- "[Notes](/notes/notes.md)"\n---\n\n# Journal\n' >README.md
printf -- 'no frontmatter at all, just words\n' >loose.md
printf -- '---\ntitle: [broken\n---\n' >bad.md
cp bad.md "$T/bad.orig"
cp notes/idea.md "$T/idea.orig"

check "init imports an existing folder" "$DIARYX" init .
"$DIARYX" init . >"$T/.out" 2>&1
[ -f .diaryx/crdt.db ] && pass || fail "the CRDT store exists"
contains "existing root kept" README.md "title: Journal"
cmp -s notes/idea.md "$T/idea.orig" && pass || fail "a canonical file is written back byte for byte"
cmp -s bad.md "$T/bad.orig" && pass || fail "an unreadable file is left alone"
contains "loose file kept" loose.md "no frontmatter at all"
"$DIARYX" crdt info --json >"$T/info.json" 2>"$T/.err" && pass || fail "crdt info ($(cat "$T/.err"))"
contains "four entries: workspace + 4 bodies" "$T/info.json" '"documents_count":5'

# An edit through the CLI is an update of the file's entry.
check "property set" "$DIARYX" property set notes/idea.md mood calm
contains "file written from the CRDT" notes/idea.md "mood: calm"
"$DIARYX" crdt history notes/idea.md >"$T/hist" 2>"$T/.err" && pass || fail "history"
contains "history lists a frontmatter change" "$T/hist" "frontmatter"
check "content append" "$DIARYX" content append notes/idea.md "third line"
"$DIARYX" crdt history notes/idea.md --json >"$T/hist.json"
contains "history lists a body change" "$T/hist.json" '"changed":"body"'
append_id=$(grep -o '"id":[0-9]*' "$T/hist.json" | head -1 | cut -d: -f2)
"$DIARYX" crdt history notes/idea.md --at $((append_id - 1)) >"$T/at" 2>"$T/.err" && pass ||
    fail "history --at ($(cat "$T/.err"))"
contains "the file just before the append" "$T/at" "second line"
lacks "has no appended line" "$T/at" "third line"
"$DIARYX" crdt history notes/idea.md --at "$append_id" >"$T/at2"
contains "the file after it has it" "$T/at2" "third line"

# Edited outside diaryx (an editor, sed): taken in by the next command that opens the
# CRDT session (an edit, crdt, validate, commit; read commands answer from the files).
sed -i 's/second line/second line, edited in vim/' notes/idea.md
"$DIARYX" crdt info >/dev/null 2>"$T/.err"
contains "external edit reported" "$T/.err" "took in 1 file edited outside diaryx"
"$DIARYX" crdt history notes/idea.md --json >"$T/hist2.json"
newest=$(grep -o '"id":[0-9]*' "$T/hist2.json" | head -1 | cut -d: -f2)
"$DIARYX" crdt history notes/idea.md --at "$newest" >"$T/at3"
contains "the CRDT holds the external edit" "$T/at3" "edited in vim"
check "another CLI edit" "$DIARYX" content append notes/idea.md "fourth line"
contains "external edit survives the next CLI edit" notes/idea.md "edited in vim"
contains "and the CLI edit is there" notes/idea.md "fourth line"

# A file made unreadable outside diaryx is not overwritten; the CRDT keeps the last state.
cp notes/idea.md "$T/idea.good"
printf -- '---\ntitle: [oops\n---\n' >notes/idea.md
"$DIARYX" crdt info >/dev/null 2>"$T/.err"
contains "warned about the unreadable edit" "$T/.err" "notes/idea.md"
contains "its bytes are kept" notes/idea.md "[oops"
cp "$T/idea.good" notes/idea.md
check "back to normal" "$DIARYX" crdt info

# Bytes that are not UTF-8 never block the workspace: a new such file stays out of the CRDT,
# an edit that makes a tracked file so is left on disk with a warning.
printf -- '---\ntitle: Latin1\n---\ncaf\xe9\n' >latin1.md
check "a non-UTF-8 file does not block commands" "$DIARYX" crdt info
cp notes/idea.md "$T/idea.good2"
printf -- '---\ntitle: Idea\n---\ncaf\xe9\n' >notes/idea.md
"$DIARYX" crdt info >/dev/null 2>"$T/.err" && pass || fail "still usable"
contains "warned about the non-UTF-8 edit" "$T/.err" "is not UTF-8 text"
cp "$T/idea.good2" notes/idea.md
rm latin1.md

# Removing and moving through the CLI removes and writes files from the CRDT.
check "create" "$DIARYX" create notes/sub/gone.md --title Gone
[ -f notes/sub/gone.md ] && pass || fail "created file on disk"
check "workspace rm" "$DIARYX" workspace delete notes/sub/gone.md
[ ! -e notes/sub/gone.md ] && pass || fail "deleted entry's file removed"
check "move" "$DIARYX" workspace mv notes/idea.md notes/thought.md
[ ! -e notes/idea.md ] && [ -f notes/thought.md ] && pass || fail "moved file written, old one removed"
contains "parent relinked" notes/notes.md "/notes/thought.md"
contains "moved file keeps its external edit" notes/thought.md "edited in vim"

# Deleted outside diaryx: the entry is deleted and its parent stops listing it.
rm notes/thought.md
"$DIARYX" crdt info >/dev/null 2>"$T/.err"
contains "external delete reported" "$T/.err" "deleted outside diaryx"
lacks "parent no longer lists it" notes/notes.md "thought.md"

# A new file dropped in is taken in and can be linked.
printf -- '---\ntitle: Dropped\n---\nhello\n' >notes/dropped.md
check "workspace add" "$DIARYX" workspace add notes/notes.md notes/dropped.md
contains "linked from its parent" notes/notes.md "/notes/dropped.md"
contains "its part_of written" notes/dropped.md 'part_of: "[Notes](/notes/notes.md)"'

# Compaction keeps the state.
before=$(cat notes/notes.md notes/dropped.md README.md | sha256sum)
check "crdt compact" "$DIARYX" crdt compact --keep 1
"$DIARYX" crdt info --json >"$T/info2.json"
check_rc "validate after compaction: only the unreadable file fails" 1 "$DIARYX" validate
contains "the unreadable file is the error" "$T/.out" "error InvalidFrontmatter: cannot parse frontmatter of 'bad.md'"
contains "nothing else fails" "$T/.out" ": 1 errors,"
after=$(cat notes/notes.md notes/dropped.md README.md | sha256sum)
same "files unchanged by compaction" "$after" "$before"
head -c 4096 /dev/urandom >.diaryx/crdt.db
"$DIARYX" workspace info >/dev/null 2>"$T/.err" && pass || fail "a damaged store does not block ($(cat "$T/.err"))"
contains "the damaged store is named" "$T/.err" "crdt.db.broken-"
ls .diaryx | grep -q '^crdt.db.broken-' && pass || fail "the damaged store is kept aside"
same "files unchanged by the rebuild" "$(cat notes/notes.md notes/dropped.md README.md | sha256sum)" "$before"
rm -rf .diaryx
check "a lost store is rebuilt from the files" "$DIARYX" workspace info
after=$(cat notes/notes.md notes/dropped.md README.md | sha256sum)
same "files unchanged by the rebuild" "$after" "$before"
check_rc "crdt needs a subcommand" 2 "$DIARYX" crdt
check_rc "history needs a file" 2 "$DIARYX" crdt history
finish
