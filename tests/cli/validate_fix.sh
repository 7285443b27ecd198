#!/usr/bin/env bash
# validate_fix.sh - `validate --fix` keeps what it fixed when errors remain, converges (a
# second --fix fixes nothing), and unparsable or unclosed files are reported, not imported.
. "$(dirname "$0")/lib.bash"

"$DIARYX" init ws >/dev/null
cd ws
"$DIARYX" create a.md --title Alpha >/dev/null
cat >b.md <<'MD'
---
title: Beta
part_of: "[ws](/README.md)"
contents: x.md
---
MD
"$DIARYX" property set README.md contents '["[Alpha](/a.md)", "[Beta](/b.md)", "[Gone](/gone.md)"]' >/dev/null
# An error --fix cannot repair: a file whose frontmatter does not parse.
printf -- '---\ntitle: X\ntitle: Y\n---\nbody\n' >dup.md

check_rc "errors before fixing" 1 "$DIARYX" validate
contains "plain-string contents checked" "$T/.out" "b.md: contents entry 'x.md' does not exist"

# 1. The fixes are kept although an error remains, and the output says what was fixed and
#    what remains.
check_rc "--fix with an unfixable error exits 1" 1 "$DIARYX" validate --fix
contains "fixed broken list entry" "$T/.out" "✓ Fixed: BrokenContentsRef: README.md: contents entry '[Gone](/gone.md)'"
contains "fixed plain-string entry" "$T/.out" "✓ Fixed: BrokenContentsRef: b.md: contents entry 'x.md'"
contains "remaining error listed" "$T/.out" "error InvalidFrontmatter"
contains "summary counts" "$T/.out" "2 fixed, 0 not fixed; "
contains "summary says errors remain" "$T/.out" "1 errors, "
lacks "broken link gone from the file" README.md "gone.md"
lacks "plain-string link gone from the file" b.md "x.md"
contains "index stays an index" b.md "contents: []"
check_rc "the fixes are in the CRDT too" 1 "$DIARYX" validate
lacks "no broken link after a new command" "$T/.out" "BrokenContentsRef"

# 2. Convergence: a second --fix fixes nothing and reports the same remaining error.
check_rc "second --fix" 1 "$DIARYX" validate --fix
lacks "second --fix fixes nothing" "$T/.out" "✓ Fixed"
contains "second --fix summary" "$T/.out" "0 fixed, 0 not fixed; "
contains "error still listed" "$T/.out" "error InvalidFrontmatter"

# 3. With the unfixable file repaired, --fix links it (an orphan) and exits 0; then nothing
#    is left to fix.
printf -- '---\ntitle: Dup\n---\nbody\n' >dup.md
cat >orphan.md <<'MD'
---
title: Orphan
---
Nobody links me.
MD
check_rc "--fix links the orphans" 0 "$DIARYX" validate --fix
contains "orphan fixed" "$T/.out" "✓ Fixed: OrphanFile: orphan.md"
contains "orphan listed by the root" README.md "(/orphan.md)"
contains "orphan got part_of" orphan.md 'part_of: "[ws](/README.md)"'
check_rc "converged" 0 "$DIARYX" validate --fix
lacks "nothing more to fix" "$T/.out" "✓ Fixed"

# 4. Many broken links in one file: every one is fixed by one --fix.
{
    printf -- '---\ntitle: Many\npart_of: "[ws](/README.md)"\ncontents:\n'
    for i in $(seq 1 200); do printf -- '- "[G%d](/many/g%d.md)"\n' "$i" "$i"; done
    printf -- '- "[Kid](/kid.md)"\n---\n'
} >many.md
printf -- '---\ntitle: Kid\npart_of: "[Many](/many.md)"\n---\n' >kid.md
"$DIARYX" workspace add README.md many.md >/dev/null
check_rc "200 broken links fixed" 0 "$DIARYX" validate --fix
same "each link reported once" "$(grep -c '✓ Fixed: BrokenContentsRef: many.md' "$T/.out")" 200
lacks "no broken link left" many.md "/many/g"
contains "the good link stays" many.md "(/kid.md)"

# 5. Unparsable files that nothing links are errors, not just orphans.
cd "$T"
"$DIARYX" init ws2 >/dev/null
cd ws2
printf -- '---\ntitle: "bad \xff"\n---\n' >badutf.md
printf -- '---\ntitle: a\0b\n---\n' >nul.md
printf -- '---\na: &a [x, x, x, x, x, x, x, x, x]\nb: &b [*a, *a, *a, *a, *a, *a, *a, *a, *a]\nc: &c [*b, *b, *b, *b, *b, *b, *b, *b, *b]\nd: &d [*c, *c, *c, *c, *c, *c, *c, *c, *c]\ne: &e [*d, *d, *d, *d, *d, *d, *d, *d, *d]\nf: &f [*e, *e, *e, *e, *e, *e, *e, *e, *e]\ng: &g [*f, *f, *f, *f, *f, *f, *f, *f, *f]\n---\n' >bomb.md
printf -- '---\ntitle: X\ntitle: Y\n---\n' >dupkeys.md
check_rc "unparsable files fail validation" 1 "$DIARYX" validate
for f in badutf.md nul.md bomb.md dupkeys.md; do
    contains "$f is an InvalidFrontmatter error" "$T/.out" "error InvalidFrontmatter: cannot parse frontmatter of '$f'"
    lacks "$f is not only an orphan" "$T/.out" "OrphanFile: $f"
done
contains "error count" "$T/.out" "4 errors"
"$DIARYX" validate --json >"$T/v.json"
check "json parses" python3 -m json.tool "$T/v.json"
contains "json lists it as an error" "$T/v.json" '"type": "InvalidFrontmatter"'

# 6. An unclosed frontmatter block is left as it is (a warning), never imported with an
#    empty block put in front of it; validate reports it.
cd "$T/ws"
printf -- '---\ntitle: Unclosed\npart_of: "[ws](/README.md)"\nno end\n' >unclosed.md
cp unclosed.md "$T/unclosed.orig"
check "a command next to it still works" "$DIARYX" crdt info
contains "a warning names it" "$T/.err" "'unclosed.md' starts with '---' but its frontmatter is never closed"
check "file untouched" cmp unclosed.md "$T/unclosed.orig"
"$DIARYX" workspace add README.md unclosed.md >/dev/null 2>&1
check "still untouched after add" cmp unclosed.md "$T/unclosed.orig"
check_rc "validate reports it" 0 "$DIARYX" validate
contains "UnclosedFrontmatter fires" "$T/.out" "warning UnclosedFrontmatter: unclosed.md"
check_rc "--fix leaves it alone" 0 "$DIARYX" validate --fix
check "file untouched by --fix" cmp unclosed.md "$T/unclosed.orig"
# Edited into an unclosed block after it was imported: left alone too.
"$DIARYX" create later.md >/dev/null
printf -- '---\ntitle: Later\nnever closed\n' >later.md
cp later.md "$T/later.orig"
check "command after the edit" "$DIARYX" crdt info
contains "edit warned about" "$T/.err" "later.md"
check "edited file untouched" cmp later.md "$T/later.orig"
finish
