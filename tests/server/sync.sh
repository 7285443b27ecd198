#!/usr/bin/env bash
# sync.sh - the real diaryx-server on a free loopback port with stock @hocuspocus/provider
# clients: edits and awareness relayed, every update acknowledged once stored, the document
# there after a restart, other users' workspaces, bad tokens and bad names refused with no
# content, nothing left loaded once the clients are gone, SIGTERM exits cleanly.
source "$(dirname "$0")/lib.bash"
PROVIDERS=$HERE/providers.mjs
status() { curl -sf "$H/api/status"; }

check "user add" "$SERVER" --data "$D" user add alice@example.org --plan sync
check "second user" "$SERVER" --data "$D" user add bob@example.org
check_rc "a user twice is refused" 1 "$SERVER" --data "$D" user add alice@example.org
contains "and says so" "$T/.err" "exists already"
A=$("$SERVER" --data "$D" token alice@example.org --device laptop)
B=$("$SERVER" --data "$D" token bob@example.org)
W=$("$SERVER" --data "$D" workspace add alice@example.org Journal)
E=0a1b2c3d-4e5f-4a6b-8c7d-9e0f1a2b3c4d
[ ${#A} -eq 43 ] && pass || fail "a token is 43 characters of base64url: '$A'"
"$SERVER" --data "$D" workspace list alice@example.org >"$T/list"
contains "workspace list" "$T/list" "$W	Journal"

start_server
check "two stock providers edit one body and see each other" \
    node "$PROVIDERS" edit "$URL" "body:$W/$E" "$A"
check "the workspace document syncs too" node "$PROVIDERS" edit "$URL" "workspace:$W" "$A"
check "another user's workspace is refused" node "$PROVIDERS" denied "$URL" "body:$W/$E" "$B"
check "a wrong token is refused" node "$PROVIDERS" denied "$URL" "body:$W/$E" "not-a-token"
check "a name that is no document is refused" node "$PROVIDERS" denied "$URL" "body:$W/../x" "$A"
check "an unknown workspace is refused" \
    node "$PROVIDERS" denied "$URL" "workspace:5b0c8e4e-3c1f-4c55-9a0e-2f1d9a7c3b21" "$A"
sleep 0.3
status >"$T/status"
contains "nothing stays loaded once the clients are gone" "$T/status" '"workspaces":0,"documents":0,"subscriptions":0'
stop_server

start_server
R=$("$SERVER" --data "$D" token alice@example.org --device kiosk --read-only)
check "a read-only token gets the document and cannot change it" \
    node "$PROVIDERS" readonly "$URL" "body:$W/$E" "$R" "hello world"
check "nothing of its edit was stored" node "$PROVIDERS" read "$URL" "body:$W/$E" "$A" "hello world"
code=$(curl -s -o "$T/ro" -w '%{http_code}' -H "Authorization: Bearer $R" -d '{"name":"x"}' "$H/api/workspaces")
[ "$code" = 403 ] && pass || fail "a read-only token's POST: status $code"
code=$(curl -s -o "$T/ro" -w '%{http_code}' -H "Authorization: Bearer $R" "$H/api/workspaces")
[ "$code" = 200 ] && pass || fail "a read-only token's GET: status $code"
check "after a restart the document is there" \
    node "$PROVIDERS" read "$URL" "body:$W/$E" "$A" "hello world"
[ -f "$D/workspaces/$W.db" ] && pass || fail "the workspace store is not at data/workspaces/<id>.db"
stop_server
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
