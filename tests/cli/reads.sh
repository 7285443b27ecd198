#!/usr/bin/env bash
# reads.sh - read commands answer from the files without a session when the files hold every
# stored update (cli_open_read): an external edit shows at once and is taken in by the next
# editing command; when the store is ahead of the files, the read opens the session first.
. "$(dirname "$0")/lib.bash"

check "init" "$DIARYX" init journal --title "J"
cd journal
check "create" "$DIARYX" create a.md --title "First"
check "a body" "$DIARYX" content set a.md "first body"
sed -i 's/^title: First$/title: Edited outside/' a.md
"$DIARYX" property get a.md title >"$T/out" 2>"$T/err"
same "property get shows the external edit" "$(cat "$T/out")" "Edited outside"
lacks "and takes nothing in yet" "$T/err" "took in"
echo "typed in an editor" >>a.md
"$DIARYX" content get a.md >"$T/out"
contains "content get shows the external edit" "$T/out" "typed in an editor"
"$DIARYX" workspace info >"$T/out"
contains "the tree shows the external title" "$T/out" "Edited outside"
"$DIARYX" search "editor" >"$T/out"
contains "search finds the external text" "$T/out" "a.md"
check_rc "an editing command takes the edit in" 0 "$DIARYX" property set a.md description d
contains "and says so" "$T/.err" "took in 1 file"
check "commit" "$DIARYX" commit -m "edits"
git show HEAD:a.md >"$T/head"
contains "the external title reached git" "$T/head" "title: Edited outside"
contains "the external line reached git" "$T/head" "typed in an editor"

# The store ahead of the files (a crash between storing and writing): a read first brings
# the session up, which here notices the file deleted outside diaryx.
rm a.md
sqlite3 .diaryx/crdt.db "UPDATE meta SET value = '0' WHERE key = 'materialized_through'"
check_rc "a read with the store ahead opens the session" 1 "$DIARYX" property get a.md title
contains "which takes the deletion in" "$T/.err" "deleted outside diaryx"
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
