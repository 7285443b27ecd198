#!/usr/bin/env bash
# edits.sh - the editing commands as CRDT edits give the files `diaryx` always wrote: a folder
# moved with its index (a note it does not list goes along), an index moved away from the
# children it keeps in place, `workspace create` under an entry that is not its directory's
# index, a delete that leaves every list, properties of every kind, and a file in the way.
. "$(dirname "$0")/lib.bash"

"$DIARYX" init ws >/dev/null
cd ws
check "create a note in a new folder" "$DIARYX" create trip/day1.md --title "Day 1"
check "create another" "$DIARYX" create trip/day2.md
contains "the folder's index lists both" trip/trip.md '(/trip/day2.md)'
printf -- '---\ntitle: Loose\n---\n\nnobody lists me\n' >trip/loose.md
check "a note nobody lists is taken in" "$DIARYX" validate --fix

# A folder moves with its index: every note in it, listed or not.
check "move the folder" "$DIARYX" workspace mv trip/trip.md archive/
[ -f archive/trip/trip.md ] && [ -f archive/trip/day1.md ] && [ -f archive/trip/loose.md ] && pass ||
    fail "the folder moved ($(find . -name '*.md' | sort | tr '\n' ' '))"
[ ! -e trip/day1.md ] && [ ! -e trip/trip.md ] && pass || fail "the old files are gone"
contains "the moved index lists its notes at their new paths" archive/trip/trip.md "(/archive/trip/day1.md)"
contains "a moved note links its index" archive/trip/day2.md 'part_of: "[Trip](/archive/trip/trip.md)"'
contains "the new directory's index lists the folder" archive/archive.md "(/archive/trip/trip.md)"
lacks "the root no longer lists the old folder" README.md "(/trip/trip.md)"
check_rc "a folder into itself is refused" 1 "$DIARYX" workspace mv archive/trip/trip.md archive/trip/inner/
contains "the refusal says why" "$T/.err" "into itself"

# An index moved up keeps its children where they are.
check "move the index up" "$DIARYX" workspace mv archive/trip/trip.md trips.md
[ -f archive/trip/day1.md ] && pass || fail "the children stayed"
contains "the children link the moved index" archive/trip/day1.md 'part_of: "[Trip](/trips.md)"'
contains "the moved index lists them" trips.md "(/archive/trip/day1.md)"
check_rc "moving it below its children's directory is refused" 1 "$DIARYX" workspace mv trips.md other/trips.md
contains "the refusal names the child" "$T/.err" "would be outside its directory"

# workspace create under an entry that is not its directory's index.
check "create under a leaf" "$DIARYX" workspace create archive/trip/day1.md "Morning Walk"
contains "the leaf lists the new entry" archive/trip/day1.md "(/archive/trip/morning-walk.md)"
contains "the new entry links the leaf" archive/trip/morning-walk.md 'part_of: "[Day 1](/archive/trip/day1.md)"'
contains "with its heading" archive/trip/morning-walk.md "# Morning Walk"
lacks "the directory's own index does not list it" trips.md "morning-walk"

# A delete leaves every list that had it.
check "list day2 in the root too" "$DIARYX" workspace add README.md archive/trip/day2.md
check "delete day2" "$DIARYX" workspace delete archive/trip/day2.md
lacks "the root lost it" README.md "day2"
lacks "its index lost it" trips.md "day2"
[ ! -e archive/trip/day2.md ] && pass || fail "the file is gone"

# Properties: YAML values, renames and appends.
check "set a list" "$DIARYX" property set archive/trip/day1.md tags '[sun, sea]'
check "append to it" "$DIARYX" property append archive/trip/day1.md tags wind
check "set a number" "$DIARYX" property set archive/trip/day1.md km 12
check "rename it" "$DIARYX" property rename archive/trip/day1.md km distance
same "the list" "$("$DIARYX" property get archive/trip/day1.md tags)" "$(printf 'sun\nsea\nwind')"
contains "the renamed key" archive/trip/day1.md "distance: 12"
check "a new title" "$DIARYX" property set archive/trip/day1.md title "First Day"
contains "its index shows the new title" trips.md "[First Day](/archive/trip/day1.md)"
contains "its child shows the new title" archive/trip/morning-walk.md "[First Day](/archive/trip/day1.md)"
check_rc "renaming onto a key refused" 1 "$DIARYX" property rename archive/trip/day1.md tags title
contains "the refusal names the key" "$T/.err" "already has a property 'title'"
check "set a mapping" "$DIARYX" property set archive/trip/day1.md m '{a: 1}'
check_rc "appending to a mapping refused" 1 "$DIARYX" property append archive/trip/day1.md m x
contains "the refusal says mapping" "$T/.err" "is a mapping, not a list"

# A file diaryx does not know in the way of a new entry is never overwritten.
mkdir -p notes
printf -- '---\ntitle: [unclosed\n---\nmine\n' >notes/x.md
check_rc "create onto an unreadable file refused" 1 "$DIARYX" create notes/x.md
contains "the file is kept" notes/x.md "mine"
check "still valid apart from it" "$DIARYX" workspace info
# reorder, attach, detach (CRDT edits of contents and attachments)
cd "$T" && rm -rf ro && "$DIARYX" init ro >/dev/null 2>&1 && cd ro
"$DIARYX" create a.md --title A >/dev/null
"$DIARYX" create b.md --title B >/dev/null
"$DIARYX" create c.md --title C >/dev/null
check "reorder" "$DIARYX" workspace reorder README.md c.md 1
same "c is first" "$(grep -m1 '^- ' README.md)" '- "[C](/c.md)"'
check "reorder to the end (clamped)" "$DIARYX" workspace reorder README.md c.md 99
same "c is last" "$(grep '^- ' README.md | tail -1)" '- "[C](/c.md)"'
check_rc "position 0 is a usage error" 2 "$DIARYX" workspace reorder README.md a.md 0
check_rc "a child the parent does not list" 1 "$DIARYX" workspace reorder a.md b.md 1
echo img >pic.png
check "attach" "$DIARYX" workspace attach a.md pic.png
contains "listed in attachments" a.md '- "[Pic](/pic.png)"'
"$DIARYX" validate >"$T/v" 2>&1
lacks "no longer an orphan" "$T/v" "OrphanBinaryFile"
check_rc "attach a missing file" 1 "$DIARYX" workspace attach a.md nope.png
contains "names it" "$T/.err" "nope.png"
check "detach" "$DIARYX" workspace detach a.md pic.png
lacks "gone from attachments" a.md "pic.png"
[ -f pic.png ] && pass || fail "the file stays after detach"
check_rc "detach again" 1 "$DIARYX" workspace detach a.md pic.png
contains "says which entry" "$T/.err" "'a.md' has no attachment 'pic.png'"
check "committed" "$DIARYX" commit -m "reorder, attach"
finish
