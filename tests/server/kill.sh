#!/usr/bin/env bash
# kill.sh - SIGKILL the server at random moments under a stream of client updates: every update
# it acknowledged (SyncStatus 1) is in the store after the restart, and the store still opens.
# Then SIGKILL while a commit runs on the worker pool: the next commit succeeds, git fsck is
# clean, and it holds the last acknowledged update.
source "$(dirname "$0")/lib.bash"

"$SERVER" --data "$D" user add w@example.org >/dev/null
TOK=$("$SERVER" --data "$D" token w@example.org)
W=$("$SERVER" --data "$D" workspace add w@example.org Kill)
DOC="body:$W/0a1b2c3d-4e5f-4a6b-8c7d-9e0f1a2b3c4d"
ROUNDS=${DX_KILL_ROUNDS:-8}
n_acked=0
: >"$T/acked"
for r in $(seq 1 "$ROUNDS"); do
    start_server
    node "$HERE/writer.mjs" "$URL" "$DOC" "$TOK" $((r * 100000)) >>"$T/acked" 2>>"$T/writer.err" &
    WPID=$!
    # Kill while updates flow: after this round's first acknowledgement (node starts slowly on
    # a loaded machine), at a random moment.
    before=$n_acked
    for _ in $(seq 1 300); do
        n_acked=$(wc -l <"$T/acked")
        [ "$n_acked" -gt "$before" ] && break
        sleep 0.05
    done
    sleep "0.$((RANDOM % 5))$((RANDOM % 10))"
    kill -KILL "$SPID"
    wait "$SPID" 2>/dev/null
    wait "$WPID"
done
start_server
node "$HERE/providers.mjs" dump "$URL" "$DOC" "$TOK" >"$T/text" 2>>"$T/writer.err" ||
    fail "the document cannot be read after the kills ($(tail -3 "$T/writer.err"))"
kill -TERM "$SPID"
wait "$SPID" || fail "SIGTERM after the kills: the server did not exit cleanly"
n=$(wc -l <"$T/acked")
[ "$n" -ge "$ROUNDS" ] && pass || fail "only $n updates were acknowledged in $ROUNDS rounds"
lost=0
text=";$(cat "$T/text")"
while read -r _ i; do
    case "$text" in *";$i;"*) ;; *) lost=$((lost + 1)); echo "lost: $i" ;; esac
done <"$T/acked"
[ "$lost" -eq 0 ] && pass || fail "$lost of $n acknowledged updates are not in the store"
echo "kill test: $ROUNDS kills, $n acknowledged updates, $lost lost"

# SIGKILL during a commit on the worker pool: after the restart the next commit succeeds and
# the repository is sound.
"$SERVER" --data "$D" user plan w@example.org sync >/dev/null
GIT="git --git-dir=$D/workspaces/$W.git"
start_server --quiescence-seconds 0
node "$HERE/providers.mjs" seed "$URL" "workspace:$W" "$TOK" 7d3f0e9a-1c2b-4d5e-8f60-718293a4b5c6 \
    "${DOC##*/}" >"$T/seed" 2>&1 || fail "seeding the workspace document: $(cat "$T/seed")"
for r in 1 2 3; do
    node "$HERE/writer.mjs" "$URL" "$DOC" "$TOK" $((900000 + r * 1000)) >>"$T/acked" 2>>"$T/writer.err" &
    WPID=$!
    sleep 0.5
    curl -s -o /dev/null -H "Authorization: Bearer $TOK" -X POST "$H/api/workspaces/$W/commit" &
    CPID=$!
    sleep "0.$((RANDOM % 3))$((RANDOM % 10))"
    kill -KILL "$SPID"
    wait "$SPID" 2>/dev/null
    wait "$WPID" "$CPID"
    start_server --quiescence-seconds 0
done
curl -s -o "$T/body" -w '%{http_code}' -H "Authorization: Bearer $TOK" -X POST "$H/api/workspaces/$W/commit" >"$T/code"
contains "the commit after kills during commits is 200" "$T/code" "200"
$GIT fsck --strict >"$T/fsck" 2>&1 && pass || fail "git fsck after kills during commits: $(cat "$T/fsck")"
$GIT show HEAD:day.md >"$T/day" 2>&1
last=$(tail -1 "$T/acked" | cut -d' ' -f2)
contains "the last acknowledged update is committed" "$T/day" "$last;"
stop_server
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
