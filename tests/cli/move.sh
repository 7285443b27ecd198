#!/usr/bin/env bash
# move.sh - moving and renaming rewrite every part_of/contents link.
. "$(dirname "$0")/lib.bash"

"$DIARYX" init ws >/dev/null
cd ws
"$DIARYX" create notes/a.md --title "Alpha" >/dev/null
"$DIARYX" create notes/b.md --title "Beta" >/dev/null
"$DIARYX" create archive/old.md --title "Old" >/dev/null
# b links to a from its attachments-like list too: a second reference to rewrite.
"$DIARYX" property set notes/b.md contents '["[Alpha](/notes/a.md)"]' >/dev/null
"$DIARYX" property set notes/a.md part_of '"[Beta](/notes/b.md)"' >/dev/null

check "rename in place" "$DIARYX" workspace mv notes/a.md notes/alpha.md
[ -f notes/alpha.md ] && [ ! -f notes/a.md ] && pass || fail "file renamed"
contains "parent index rewritten" notes/notes.md "(/notes/alpha.md)"
lacks "old link gone from index" notes/notes.md "(/notes/a.md)"
contains "other reference rewritten" notes/b.md "(/notes/alpha.md)"

check "move to another directory" "$DIARYX" workspace mv notes/alpha.md archive/
[ -f archive/alpha.md ] && pass || fail "moved into directory"
contains "new directory's index lists it" archive/archive.md "(/archive/alpha.md)"
lacks "old index no longer lists it" notes/notes.md "alpha.md"
contains "b's contents follow the move" notes/b.md "(/archive/alpha.md)"
contains "part_of is the new index" archive/alpha.md 'part_of: "[Archive](/archive/archive.md)"'
check "still valid" "$DIARYX" validate

check_rc "target exists" 1 "$DIARYX" workspace mv notes/b.md archive/old.md
contains "exists message" "$T/.err" "already exists"
check_rc "missing source" 1 "$DIARYX" workspace mv notes/none.md notes/x.md
contains "missing names the file" "$T/.err" "notes/none.md"
check_rc "escape refused" 1 "$DIARYX" workspace mv notes/b.md ../../outside.md
contains "escape message" "$T/.err" "leaves the workspace"
[ -f notes/b.md ] && pass || fail "nothing moved after refusals"

# Relative link format: a moved file's own links are re-expressed from its new place.
"$DIARYX" init rel >/dev/null
cd rel
"$DIARYX" property set README.md link_format plain_relative >/dev/null
"$DIARYX" create x/y.md >/dev/null
contains "relative part_of" x/y.md "part_of: x.md"
check "move with relative links" "$DIARYX" workspace mv x/y.md z/y.md
contains "relative link from new place" z/y.md "part_of: z.md"
contains "new index lists it relatively" z/z.md "- y.md"
check "relative workspace valid" "$DIARYX" validate

check "add links an entry" "$DIARYX" workspace add README.md z/y.md
contains "root lists it" README.md "- z/y.md"
check "rm unlinks" "$DIARYX" workspace rm README.md z/y.md
lacks "root no longer lists it" README.md "- z/y.md"
check_rc "delete an index with children refused" 1 "$DIARYX" workspace delete z/z.md
check "delete a leaf" "$DIARYX" workspace delete z/y.md
[ ! -f z/y.md ] && pass || fail "leaf deleted"
lacks "deleted leaf unlinked" z/z.md "y.md"
finish
