#!/usr/bin/env bash
# concurrency.sh - diaryx commands run in parallel on one workspace lose nothing: several
# processes each run a mix of `content append`, `property set`, `property set title` and
# `create`, while another commits again and again. Every edit whose command exited 0 must be
# in the files, in the CRDT (read back through diaryx) and in git after a last commit, and
# the workspace must validate clean with `git status` clean.
. "$(dirname "$0")/lib.bash"

WRITERS=${DX_CONC_WRITERS:-5}
ROUNDS=${DX_CONC_ROUNDS:-8}

"$DIARYX" init ws >/dev/null 2>&1 && pass || fail "init"
cd ws
for w in $(seq 1 "$WRITERS"); do check "create w$w" "$DIARYX" create "w$w.md" --title "W$w"; done
check "first commit" "$DIARYX" commit -m base

acks=$T/acks
: >"$acks"
writer() { # each line of $acks is an edit a command acknowledged (exit 0)
    local w=$1 i
    for i in $(seq 1 "$ROUNDS"); do
        case $((i % 4)) in
        0) "$DIARYX" content append "w$w.md" "line-$w-$i" >/dev/null 2>&1 &&
            echo "append w$w.md line-$w-$i" >>"$acks" ;;
        1) "$DIARYX" property set "w$w.md" "k$i" "v$w-$i" >/dev/null 2>&1 &&
            echo "prop w$w.md k$i v$w-$i" >>"$acks" ;;
        2) "$DIARYX" create "c$w-$i.md" >/dev/null 2>&1 && echo "create c$w-$i.md" >>"$acks" ;;
        3) "$DIARYX" property set "w$w.md" description "d$w-$i" >/dev/null 2>&1 &&
            echo "prop w$w.md description d$w-$i" >>"$acks" ;;
        esac
    done
}
for w in $(seq 1 "$WRITERS"); do writer "$w" & done
(for i in $(seq 1 $((ROUNDS / 2))); do "$DIARYX" commit -m "c$i" >/dev/null 2>&1; done) &
wait
check "last commit" "$DIARYX" commit -m last

n=$(wc -l <"$acks")
[ "$n" -ge $((WRITERS * ROUNDS / 2)) ] && pass || fail "most commands succeeded ($n acknowledged)"
while read -r kind f a b; do
    case $kind in
    append)
        contains "append in the file" "$f" "$a"
        git show "HEAD:$f" | grep -qxF -- "$a" && pass || fail "append $a of $f not in git"
        "$DIARYX" content get "$f" 2>/dev/null | grep -qxF -- "$a" && pass ||
            fail "append $a of $f not in the CRDT"
        ;;
    prop)
        # A writer sets its own description again and again, in order: its last one stands.
        if [ "$a" = description ] &&
            [ "$b" != "$(grep "^prop $f description " "$acks" | tail -1 | cut -d' ' -f4)" ]; then
            continue
        fi
        contains "property in the file" "$f" "$a: $b"
        git show "HEAD:$f" | grep -qxF -- "$a: $b" && pass || fail "property $a of $f not in git"
        same "property $a of $f in the CRDT" "$("$DIARYX" property get "$f" "$a" 2>/dev/null)" "$b"
        ;;
    create)
        [ -f "$f" ] && pass || fail "$f was created"
        contains "$f is linked from the root" README.md "(/$f)"
        git show HEAD:README.md | grep -qF "(/$f)" && pass || fail "the link to $f is not in git"
        ;;
    esac
done <"$acks"

"$DIARYX" validate >"$T/v" 2>&1 && pass || fail "validate ($(tail -3 "$T/v"))"
contains "validate is clean" "$T/v" "0 errors, 0 warnings"
same "git status is clean" "$(git status --porcelain)" ""
git fsck --strict >/dev/null 2>&1 && pass || fail "git fsck"

# The two processes of issue 11: `create` in parallel, 20 rounds. Each create is a CRDT edit
# (an insert into the root's contents), so no entry loses its link.
for i in $(seq 1 20); do
    "$DIARYX" create "pa$i.md" >/dev/null 2>&1 && echo "pa$i" >>"$T/made" &
    "$DIARYX" create "pb$i.md" >/dev/null 2>&1 && echo "pb$i" >>"$T/made" &
    wait
done
same "every parallel create succeeded" "$(wc -l <"$T/made")" 40
while read -r f; do contains "$f is linked from the root" README.md "(/$f.md)"; done <"$T/made"
"$DIARYX" validate >"$T/v" 2>&1 && pass || fail "validate after parallel creates ($(tail -3 "$T/v"))"
contains "validate is clean after parallel creates" "$T/v" "0 errors, 0 warnings"

# A move and a property set of one entry in parallel: both edits survive.
for i in 1 2 3; do
    check "create m$i" "$DIARYX" create "m$i.md"
    "$DIARYX" workspace mv "m$i.md" "moved$i/" >/dev/null 2>"$T/mv.err" &
    "$DIARYX" property set "m$i.md" mood "calm$i" >/dev/null 2>"$T/ps.err" &
    wait
    [ -f "moved$i/m$i.md" ] && pass || fail "m$i moved ($(cat "$T/mv.err"))"
    # The set ran on the old path or, after the move, found no file: when it succeeded the
    # property is in the moved file.
    if [ ! -s "$T/ps.err" ]; then
        contains "property set beside a move survives" "moved$i/m$i.md" "mood: calm$i"
    fi
done
"$DIARYX" validate >"$T/v" 2>&1 && pass || fail "validate after parallel moves ($(tail -3 "$T/v"))"
finish
