#!/usr/bin/env bash
# export.sh - export by audience: private never, inheritance, filtered contents.
. "$(dirname "$0")/lib.bash"

"$DIARYX" init ws >/dev/null
cd ws
"$DIARYX" property set README.md audience "[family, public, colleagues]" >/dev/null
"$DIARYX" create trips/paris.md >/dev/null
"$DIARYX" create trips/secret.md >/dev/null
"$DIARYX" create work/notes.md >/dev/null
"$DIARYX" property set trips/secret.md audience "[private]" >/dev/null
"$DIARYX" property set work/work.md audience "[colleagues]" >/dev/null

check "export family" "$DIARYX" export "$T/out" --audience family
[ -f "$T/out/README.md" ] && pass || fail "root exported"
[ -f "$T/out/trips/paris.md" ] && pass || fail "inherited audience exported"
[ ! -f "$T/out/trips/secret.md" ] && pass || fail "private not exported"
[ ! -f "$T/out/work/notes.md" ] && pass || fail "other audience's subtree not exported"
lacks "excluded child removed from contents" "$T/out/trips/trips.md" "secret.md"
contains "included child kept" "$T/out/trips/trips.md" "paris.md"
lacks "audience key stripped" "$T/out/README.md" "audience"
lacks "work removed from root contents" "$T/out/README.md" "work.md"
contains "source untouched" README.md "audience"

check_rc "existing destination refused" 1 "$DIARYX" export "$T/out" --audience family
contains "refusal explains --force" "$T/.err" "--force"
check "force writes" "$DIARYX" export "$T/out" --audience colleagues --force --keep-audience
[ -f "$T/out/work/notes.md" ] && pass || fail "colleagues get work"
contains "kept audience" "$T/out/work/work.md" "colleagues"
check "star exports all but private" "$DIARYX" export "$T/all" --audience "*"
[ -f "$T/all/work/notes.md" ] && [ -f "$T/all/trips/paris.md" ] && [ ! -f "$T/all/trips/secret.md" ] &&
    pass || fail "star audience"
check_rc "audience required" 2 "$DIARYX" export "$T/x"
check_rc "no export into the workspace" 1 "$DIARYX" export "$T/ws/sub" --audience family
finish
