#!/usr/bin/env bash
# kill.sh - SIGKILL the server at random moments under a stream of client updates: every update
# it acknowledged (SyncStatus 1) is in the store after the restart, and the store still opens.
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
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
