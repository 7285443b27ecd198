#!/usr/bin/env bash
# limits.sh - the server's limits, each broken by a raw websocket client: idle and
# never-authenticated connections (4408), a message over 16 MiB (1009), malformed frames and
# updates, too many pending documents, too much queued before the token, BroadcastStateless
# from a client (4205); afterwards nothing stays loaded and the server still serves.
source "$(dirname "$0")/lib.bash"
LIMITS=$HERE/limits.mjs
"$SERVER" --data "$D" user add l@example.org >/dev/null
TOK=$("$SERVER" --data "$D" token l@example.org)
W=$("$SERVER" --data "$D" workspace add l@example.org Limits)
start_server --idle-seconds 1 --connections-per-minute 1000
node "$LIMITS" "$URL" "$TOK" "workspace:$W" >"$T/out" 2>&1
while read -r line; do
    case "$line" in ok*) pass ;; *) fail "$line" ;; esac
done <"$T/out"
[ "$(grep -c '^ok' "$T/out")" -eq 8 ] && pass || fail "not every limit was checked: $(cat "$T/out")"
sleep 0.3
curl -sf "$H/api/status" >"$T/status" || fail "the server stopped answering"
contains "nothing stays loaded" "$T/status" '"connections":0,"workspaces":0,"documents":0,"subscriptions":0'
stop_server

# New websockets per address per minute.
start_server --connections-per-minute 3
node "$LIMITS" "$URL" "$TOK" "workspace:$W" rate >"$T/rate" 2>&1
contains "the fourth connection in a minute is refused" "$T/rate" "ok rate"
curl -sf "$H/health" >/dev/null && pass || fail "HTTP is not limited by it"
stop_server

# At most one workspace loaded: a client of a second one evicts the first's connections.
W2=$("$SERVER" --data "$D" workspace add l@example.org Second)
start_server --max-workspaces 1
node "$LIMITS" "$URL" "$TOK" "workspace:$W" evict "workspace:$W2" >"$T/evict" 2>&1
contains "a second workspace evicts the first's connections" "$T/evict" "ok evicted"
sleep 0.3
curl -sf "$H/api/status" >"$T/status"
contains "and nothing stays loaded after" "$T/status" '"workspaces":0'
stop_server
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
