#!/usr/bin/env bash
# validate.sh - validation finds every problem and --fix repairs the files.
. "$(dirname "$0")/lib.bash"

"$DIARYX" init ws >/dev/null
cd ws
"$DIARYX" create notes/a.md >/dev/null
cat >notes/orphan.md <<'MD'
---
title: Orphan
---
Nobody links me.
MD
cat >notes/broken.md <<'MD'
---
title: Broken
part_of: "[Gone](/notes/gone.md)"
contents:
- "[Missing](/notes/missing.md)"
---
MD
printf 'binary' >notes/picture.png
"$DIARYX" workspace add notes/notes.md notes/broken.md >/dev/null
# add re-set part_of; break it again
sed -i 's|part_of: .*|part_of: "[Gone](/notes/gone.md)"|' notes/broken.md

check_rc "validate reports errors" 1 "$DIARYX" validate
contains "broken part_of" "$T/.out" "BrokenPartOf"
contains "broken contents" "$T/.out" "BrokenContentsRef"
contains "orphan file" "$T/.out" "OrphanFile"
contains "orphan binary" "$T/.out" "OrphanBinaryFile"
"$DIARYX" validate --json >"$T/v.json"
check "json parses" python3 -m json.tool "$T/v.json"
contains "json names the type" "$T/v.json" '"type": "BrokenPartOf"'

check_rc "validate --fix repairs" 0 "$DIARYX" validate --fix
contains "fix report" "$T/.out" "✓ Fixed:"
lacks "broken contents removed" notes/broken.md "missing.md"
lacks "broken part_of removed" notes/broken.md "gone.md"
contains "orphan linked" notes/notes.md "(/notes/orphan.md)"
contains "orphan got part_of" notes/orphan.md 'part_of: "[Notes](/notes/notes.md)"'
contains "binary attached" notes/notes.md "(/notes/picture.png)"
contains "orphan body kept" notes/orphan.md "Nobody links me."
check "valid afterwards" "$DIARYX" validate

# A part_of leaving the workspace is a clear error naming the file.
"$DIARYX" property set notes/a.md part_of '"[X](../../../etc/passwd)"' >/dev/null
check_rc "outside link is an error" 1 "$DIARYX" validate
contains "outside link named" "$T/.out" "notes/a.md: part_of '[X](../../../etc/passwd)' points outside the workspace"
finish
