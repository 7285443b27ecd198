#!/usr/bin/env bash
# basic.sh - init, nested create, properties, content, tree and JSON output.
. "$(dirname "$0")/lib.bash"

check "init" "$DIARYX" init journal --title "My Journal"
cd journal
contains "root index has contents" README.md "contents: []"
contains "root title" README.md "title: My Journal"
check_rc "init again keeps the root" 0 "$DIARYX" init .
contains "init again reports" "$T/.out" "already exists"

check "create nested" "$DIARYX" create notes/ideas.md --title "Ideas"
check "create second" "$DIARYX" create notes/deep/thought --title "A Thought"
[ -f notes/notes.md ] && pass || fail "folder index notes/notes.md created"
[ -f notes/deep/deep.md ] && pass || fail "nested folder index created"
[ -f notes/deep/thought.md ] && pass || fail ".md added to the new file"
contains "root lists notes" README.md "[Notes](/notes/notes.md)"
contains "notes lists ideas" notes/notes.md "[Ideas](/notes/ideas.md)"
contains "ideas part_of" notes/ideas.md 'part_of: "[Notes](/notes/notes.md)"'
contains "deep part_of notes" notes/deep/deep.md 'part_of: "[Notes](/notes/notes.md)"'
check_rc "create existing fails" 1 "$DIARYX" create notes/ideas.md
contains "create existing says so" "$T/.err" "already exists"

# From inside a subdirectory, paths are relative to it.
(cd notes && check "create from a subdirectory" "$DIARYX" create local.md)
[ -f notes/local.md ] && pass || fail "cwd-relative create"

check "property set" "$DIARYX" property set notes/ideas.md tags "[a, b]"
check "property set scalar" "$DIARYX" property set notes/ideas.md mood "yes"
same "property get list" "$("$DIARYX" property get notes/ideas.md tags)" "$(printf 'a\nb')"
same "property get json" "$("$DIARYX" property get notes/ideas.md tags --json)" '["a","b"]'
check "property append" "$DIARYX" property append notes/ideas.md tags c
same "append result" "$("$DIARYX" property get notes/ideas.md tags --json)" '["a","b","c"]'
check "property rename" "$DIARYX" property rename notes/ideas.md mood feeling
same "renamed key kept its position" "$(grep -n -E '^(feeling|mood):' notes/ideas.md | cut -d: -f2)" "feeling"
# Keys outside the schema pass through the CRDT and come back as written: `yes` (a bool to
# YAML 1.1 readers) stays plain rather than being turned into the string "yes".
same "renamed key is last" "$(sed -n '/^---$/,/^---$/p' notes/ideas.md | grep -v '^---' | tail -1)" 'feeling: yes'
check "property remove" "$DIARYX" property remove notes/ideas.md feeling
check_rc "removed is gone" 1 "$DIARYX" property get notes/ideas.md feeling
"$DIARYX" property list notes/ideas.md --json >"$T/props.json"
check "property list json parses" python3 -m json.tool "$T/props.json"
contains "property list has title" "$T/props.json" '"title":"Ideas"'

check "content set" "$DIARYX" content set notes/ideas.md "first line"
check "content append" "$DIARYX" content append notes/ideas.md "second line"
printf 'from stdin\n' | "$DIARYX" content prepend notes/ideas.md --stdin && pass || fail "prepend stdin"
same "content body" "$("$DIARYX" content get notes/ideas.md)" "$(printf 'from stdin\nfirst line\nsecond line')"
contains "frontmatter kept" notes/ideas.md "title: Ideas"
check "content clear" "$DIARYX" content clear notes/ideas.md
same "cleared" "$("$DIARYX" content get notes/ideas.md)" ""

"$DIARYX" workspace info >"$T/tree.txt"
contains "tree root line" "$T/tree.txt" "My Journal - A diaryx workspace"
contains "tree child" "$T/tree.txt" "└── Notes"
contains "tree grandchild" "$T/tree.txt" "    ├── Ideas"
contains "tree great-grandchild" "$T/tree.txt" "    │   └── A Thought"
"$DIARYX" workspace info --json >"$T/tree.json"
check "tree json parses" python3 -m json.tool "$T/tree.json"
same "workspace path" "$("$DIARYX" workspace path)" "$T/journal"
same "-w from elsewhere" "$(cd / && "$DIARYX" -w "$T/journal" workspace path)" "$T/journal"

check "validate clean" "$DIARYX" validate
"$DIARYX" validate --json >"$T/v.json"
check "validate json parses" python3 -m json.tool "$T/v.json"

"$DIARYX" search "second" >/dev/null
check_rc "search without match exits 1" 1 "$DIARYX" search "no-such-words-anywhere"
check "search property" "$DIARYX" search ideas --property title
check "help everywhere" "$DIARYX" property --help
check "help top" "$DIARYX" --help
check "version" "$DIARYX" --version
finish
