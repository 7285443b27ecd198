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

# ---- A: a workspace, linked with --create: uploaded ----
check "init A" A init --title Journal
check_rc "now before link" 1 A sync now
contains "says to link" "$T/.err" "sync link"
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

# ---- a delete on one side, an edit on the other: the edit wins, the entry comes back ----
# (docs/cli.md: nothing typed is lost; a delete of an entry nobody edited meanwhile stays)
check "create an entry to fight over" A create notes/gone.md --title Gone
check "A syncs it" A sync now
check "B gets it" B sync now
[ -f "$T/b/notes/gone.md" ] && pass || fail "B did not get notes/gone.md"
check "A deletes it" A workspace delete notes/gone.md
echo "an edit made on B while A deleted the entry" >>"$T/b/notes/gone.md"
check "A syncs the delete" A sync now
check "B syncs its edit" B sync now
check "A syncs again" A sync now
check "B syncs again" B sync now
contains "the edit survives on B" "$T/b/notes/gone.md" "an edit made on B"
contains "and brings the entry back on A" "$T/a/notes/gone.md" "an edit made on B"
contains "listed in its index again" "$T/a/notes/notes.md" "gone.md"
same "both sides agree after the delete/edit" "$(tree_sum "$T/b")" "$(tree_sum "$T/a")"
check "A deletes it again" A workspace delete notes/gone.md
check "A syncs the delete" A sync now
check "B syncs" B sync now
[ ! -e "$T/b/notes/gone.md" ] && pass || fail "a delete nobody contested did not reach B"

# ---- a stock @hocuspocus/provider (the web client) and the CLI converge ----
DAY=$(sqlite3 "$T/a/.diaryx/crdt.db" "select doc_id from files where path = 'notes/day.md'")
check "a provider appends to the body" node "$PROVIDERS" hold "$URL" "body:$W/$DAY" "$TOKEN" 0
check "A syncs" A sync now
contains "the provider's line is in A's file" "$T/a/notes/day.md" "held line"
echo "a line from the CLI" >>"$T/a/notes/day.md"
check "A sends its edit" A sync now
node "$PROVIDERS" dump "$URL" "body:$W/$DAY" "$TOKEN" >"$T/dump" 2>"$T/.err" && pass || fail "dump ($(cat "$T/.err"))"
contains "the provider sees the CLI's line" "$T/dump" "a line from the CLI"
body=$(awk 'f{print} /^---$/{n++; if(n==2) f=1}' "$T/a/notes/day.md" | sed '1{/^$/d}')
same "the provider's text is the file's body" "$(cat "$T/dump")" "$body"

# ---- sync start: an editor's save reaches the other side within 2 s ----
check "B catches up" B sync now
(cd "$T/a" && exec "$DIARYX" sync start) >"$T/starta.log" 2>&1 &
SA=$!
(cd "$T/b" && exec "$DIARYX" sync start) >"$T/startb.log" 2>&1 &
SB=$!
sleep 1.5
python3 - "$T/a/notes/day.md" <<'PY'
import os, sys
p = sys.argv[1]
data = open(p).read() + "saved by an editor on A\n"
tmp = p + ".swp"
open(tmp, "w").write(data)
os.rename(tmp, p)  # the way editors save
PY
t0=$(date +%s%N)
got=0
for _ in $(seq 1 40); do
    grep -q "saved by an editor on A" "$T/b/notes/day.md" 2>/dev/null && { got=1; break; }
    sleep 0.05
done
ms=$((($(date +%s%N) - t0) / 1000000))
[ $got -eq 1 ] && [ $ms -le 2000 ] && pass || fail "the editor's save did not reach B within 2 s ($ms ms; $(tail -3 "$T/startb.log"))"
echo "a reply from B" >>"$T/b/notes/day.md"
got=0
for _ in $(seq 1 40); do
    grep -q "a reply from B" "$T/a/notes/day.md" 2>/dev/null && { got=1; break; }
    sleep 0.05
done
[ $got -eq 1 ] && pass || fail "B's edit did not reach A while both stay connected"
kill -TERM $SB
wait $SB
# The server goes away under a running `sync start` and comes back on the same port: A
# reconnects (with backoff) and sends what was saved meanwhile.
kill -KILL "$SPID"
wait "$SPID" 2>/dev/null
echo "written while the server was down" >>"$T/a/notes/day.md"
sleep 1
start_server
got=0
for _ in $(seq 1 60); do
    sleep 0.25
    B sync now >/dev/null 2>&1 && grep -q "written while the server was down" "$T/b/notes/day.md" && { got=1; break; }
done
[ $got -eq 1 ] && pass || fail "sync start did not reconnect and send ($(tail -3 "$T/starta.log"))"
contains "it said it reconnects" "$T/starta.log" "connecting again"
kill -TERM $SA
wait $SA && pass || fail "sync start did not exit cleanly on SIGTERM ($(tail -3 "$T/starta.log"))"
lacks "the token is in no log" "$T/starta.log" "$TOKEN"
same "both sides agree after sync start" "$(tree_sum "$T/b")" "$(tree_sum "$T/a")"

# ---- killed mid-sync: nothing acknowledged is lost ----
for i in $(seq 1 60); do A create "notes/k$i.md" --title "K $i" >/dev/null 2>&1; done
(cd "$T/a" && exec "$DIARYX" sync now) >/dev/null 2>&1 &
KP=$!
sleep 0.4
kill -KILL $KP 2>/dev/null
wait $KP 2>/dev/null
check "A syncs after being killed" A sync now
kill -KILL "$SPID"
wait "$SPID" 2>/dev/null
start_server
check "B syncs after the server was killed" B sync now
same "B has every entry A made" "$(ls "$T/b/notes" | grep -c '^k')" 60
same "both sides agree after the kills" "$(tree_sum "$T/b")" "$(tree_sum "$T/a")"

# ---- an expired or revoked token: a clear message, no local change ----
before=$(tree_sum "$T/a"; sqlite3 "$T/a/.diaryx/crdt.db" "select max(id) from updates")
XDG_CONFIG_HOME=$T/other A sync login "$H" --token "$TOKEN" >/dev/null 2>&1
sed -i "s/^token = .*/token = \"$(printf 'x%.0s' $(seq 1 43))\"/" "$T/other/diaryx/credentials.toml"
XDG_CONFIG_HOME=$T/other check_rc "sync now with a bad token fails" 1 A sync now
contains "and says to sign in" "$T/.err" "sync login"
after=$(tree_sum "$T/a"; sqlite3 "$T/a/.diaryx/crdt.db" "select max(id) from updates")
same "nothing changed locally" "$after" "$before"

# ---- a server that answers garbage: a clear message, nothing applied ----
mkdir -p "$T/c"
C() { (cd "$T/c" && XDG_CONFIG_HOME=$T/cconf "$DIARYX" "$@"); }
check "init C" C init --title Other
C create c.md --title C >/dev/null 2>&1
for mode in junk badupdate deny; do
    FP=$(free_port)
    node "$HERE/fake-server.mjs" "$FP" "$mode" >"$T/fake.log" 2>&1 &
    FPID=$!
    for _ in $(seq 1 100); do grep -q listening "$T/fake.log" && break; sleep 0.05; done
    check "login to the fake server ($mode)" C sync login "http://127.0.0.1:$FP" --token abc
    C sync status >/dev/null 2>&1 || C sync link 0a1b2c3d-4e5f-4a6b-8c7d-9e0f1a2b3c4d >/dev/null 2>&1
    sqlite3 "$T/c/.diaryx/crdt.db" "update meta set value = 'http://127.0.0.1:$FP' where key = 'sync_server'"
    before=$(tree_sum "$T/c"; sqlite3 "$T/c/.diaryx/crdt.db" "select max(id), count(*) from updates")
    check_rc "sync now against a server sending $mode fails" 1 C sync now
    case $mode in
        junk) contains "and says the frame is bad" "$T/.err" "not Hocuspocus" ;;
        badupdate) contains "and says the update is malformed" "$T/.err" "malformed" ;;
        deny) contains "and says the token was refused" "$T/.err" "token expired" ;;
    esac
    after=$(tree_sum "$T/c"; sqlite3 "$T/c/.diaryx/crdt.db" "select max(id), count(*) from updates")
    same "nothing changed locally ($mode)" "$after" "$before"
    if [ $mode = deny ]; then
        # sync login --email against the magic-link contract (POST /auth/magic-link, then the
        # link pasted on stdin is traded at GET /auth/verify for a session token)
        rm -f "$T/cconf/diaryx/credentials.toml"
        echo "http://127.0.0.1:$FP/?token=wrong" | C sync login "http://127.0.0.1:$FP" --email c@example.org >/dev/null 2>"$T/.err"
        [ $? -eq 1 ] && pass || fail "a wrong sign-in link is refused"
        contains "with the server's reason" "$T/.err" "refused"
        [ ! -e "$T/cconf/diaryx/credentials.toml" ] && pass || fail "a refused link saved credentials"
        echo "http://127.0.0.1:$FP/?token=once-123" | C sync login "http://127.0.0.1:$FP" --email c@example.org >/dev/null 2>"$T/.err" && pass || fail "login --email ($(cat "$T/.err"))"
        contains "the session token is kept" "$T/cconf/diaryx/credentials.toml" 'token = "session-456"'
        contains "the device is named" "$T/fake.log" "device $(hostname)"
    fi
    kill "$FPID"
    wait "$FPID" 2>/dev/null
done

# ---- login --email against the real server: the link the server logs, pasted on stdin ----
mkdir -p "$T/e"
E() { (cd "$T/e" && XDG_CONFIG_HOME="$T/econf" "$DIARYX" "$@"); }
mkfifo "$T/link.fifo"
E sync login "$H" --email erin@example.org <"$T/link.fifo" >/dev/null 2>"$T/.erre" &
EPID=$!
exec 7>"$T/link.fifo"
EL=""
for _ in $(seq 100); do
    EL=$(grep -o "sign-in link for erin@example.org: .*" "$T/server.log" | tail -1 | sed 's/.*: //')
    [ -n "$EL" ] && break
    sleep 0.1
done
echo "$EL" >&7
exec 7>&-
wait "$EPID" && pass || fail "login --email with the server's link ($(cat "$T/.erre"))"
contains "the session is saved" "$T/econf/diaryx/credentials.toml" "token = "
check_rc "a second use of the same link is refused" 1 E sync login "$H" --email erin@example.org <<<"$EL"
contains "with the server's reason" "$T/.err" "link"

echo "$passed passed, $failed failed"
stop_server
[ "$failed" -eq 0 ]
