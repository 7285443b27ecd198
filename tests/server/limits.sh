#!/usr/bin/env bash
# limits.sh - the server's limits, each broken by a raw websocket client: idle and
# never-authenticated connections (4408), a message over 16 MiB (1009), malformed frames and
# updates, too many pending documents, too much queued before the token, BroadcastStateless
# from a client (4205); afterwards nothing stays loaded and the server still serves.
source "$(dirname "$0")/../cli/lib.bash"
SERVER=${DX_BUILD_DIR:-$OLDPWD}/diaryx-server
D=$T/data
PORT=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
"$SERVER" --data "$D" user add l@example.org >/dev/null
TOK=$("$SERVER" --data "$D" token l@example.org)
W=$("$SERVER" --data "$D" workspace add l@example.org Limits)
"$SERVER" --data "$D" --listen "127.0.0.1:$PORT" --idle-seconds 1 --connections-per-minute 1000 \
    2>"$T/server.log" &
SPID=$!
for _ in $(seq 1 100); do curl -sf "http://127.0.0.1:$PORT/health" >/dev/null && break; sleep 0.05; done
node "$DX_SOURCE_DIR/tests/server/limits.mjs" "ws://127.0.0.1:$PORT/sync" "$TOK" "workspace:$W" >"$T/out" 2>&1
while read -r line; do
    case "$line" in ok*) pass ;; *) fail "$line" ;; esac
done <"$T/out"
[ "$(grep -c '^ok' "$T/out")" -eq 8 ] && pass || fail "not every limit was checked: $(cat "$T/out")"
sleep 0.3
curl -sf "http://127.0.0.1:$PORT/api/status" >"$T/status" || fail "the server stopped answering"
contains "nothing stays loaded" "$T/status" '"connections":0,"workspaces":0,"documents":0,"subscriptions":0'
kill -TERM "$SPID"
wait "$SPID" && pass || fail "SIGTERM: the server did not exit cleanly ($(tail -3 "$T/server.log"))"

# New websockets per address per minute.
"$SERVER" --data "$D" --listen "127.0.0.1:$PORT" --connections-per-minute 3 2>"$T/server2.log" &
SPID=$!
for _ in $(seq 1 100); do curl -sf "http://127.0.0.1:$PORT/health" >/dev/null && break; sleep 0.05; done
node "$DX_SOURCE_DIR/tests/server/limits.mjs" "ws://127.0.0.1:$PORT/sync" "$TOK" "workspace:$W" rate >"$T/rate" 2>&1
contains "the fourth connection in a minute is refused" "$T/rate" "ok rate"
curl -sf "http://127.0.0.1:$PORT/health" >/dev/null && pass || fail "HTTP is not limited by it"
kill -TERM "$SPID"
wait "$SPID" && pass || fail "SIGTERM: the server did not exit cleanly ($(tail -3 "$T/server2.log"))"

# At most one workspace loaded: a client of a second one evicts the first's connections.
W2=$("$SERVER" --data "$D" workspace add l@example.org Second)
"$SERVER" --data "$D" --listen "127.0.0.1:$PORT" --max-workspaces 1 2>"$T/server3.log" &
SPID=$!
for _ in $(seq 1 100); do curl -sf "http://127.0.0.1:$PORT/health" >/dev/null && break; sleep 0.05; done
node "$DX_SOURCE_DIR/tests/server/limits.mjs" "ws://127.0.0.1:$PORT/sync" "$TOK" "workspace:$W" evict \
    "workspace:$W2" >"$T/evict" 2>&1
contains "a second workspace evicts the first's connections" "$T/evict" "ok evicted"
sleep 0.3
curl -sf "http://127.0.0.1:$PORT/api/status" >"$T/status"
contains "and nothing stays loaded after" "$T/status" '"workspaces":0'
kill -TERM "$SPID"
wait "$SPID" && pass || fail "SIGTERM: the server did not exit cleanly ($(tail -3 "$T/server3.log"))"
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
