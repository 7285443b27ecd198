#!/usr/bin/env bash
# api.sh - the HTTP API of the real server on a free loopback port, with curl: Bearer tokens,
# the workspace routes, other users' workspaces (404, no data), bad input (400, 405, 413), and
# /health and /api/status.
source "$(dirname "$0")/lib.bash"
"$SERVER" --data "$D" user add alice@example.org >/dev/null
"$SERVER" --data "$D" user add bob@example.org >/dev/null
A=$("$SERVER" --data "$D" token alice@example.org)
B=$("$SERVER" --data "$D" token bob@example.org)
# The admin commands take EMAIL as sign-in does: trimmed and in lower case, one account.
check "user add in mixed case" "$SERVER" --data "$D" user add " Carol@Example.ORG" --plan sync
check "its token by the lower-case address" "$SERVER" --data "$D" token carol@example.org
check_rc "the same address again is refused" 1 "$SERVER" --data "$D" user add carol@EXAMPLE.org
check_rc "an argument that is no address is a usage error" 2 "$SERVER" --data "$D" user add carol
contains "and says so" "$T/.err" "is not an email address"
start_server

# req NAME EXPECTED_STATUS CURL_ARGS...: the body goes to $T/body
req() {
    local name=$1 want=$2
    shift 2
    local got
    got=$(curl -s -o "$T/body" -w '%{http_code}' "$@")
    if [ "$got" = "$want" ]; then pass; else fail "$name: status $got, expected $want ($(head -c 200 "$T/body"))"; fi
}
req "health" 200 "$H/health"
req "no token" 401 "$H/api/workspaces"
contains "says how to sign in" "$T/body" "Authorization: Bearer"
req "a wrong token" 401 -H "Authorization: Bearer nope" "$H/api/workspaces"
req "an empty list" 200 -H "Authorization: Bearer $A" "$H/api/workspaces"
contains "is []" "$T/body" "[]"
req "create" 201 -H "Authorization: Bearer $A" -d '{"name":"Journal"}' "$H/api/workspaces"
W=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["id"])' "$T/body")
req "get" 200 -H "Authorization: Bearer $A" "$H/api/workspaces/$W"
contains "its name" "$T/body" '"name":"Journal"'
req "rename" 200 -X PATCH -H "Authorization: Bearer $A" -d '{"name":"Diary"}' "$H/api/workspaces/$W"
req "listed renamed" 200 -H "authorization: bearer $A" "$H/api/workspaces"
contains "the new name" "$T/body" '"name":"Diary"'
"$SERVER" --data "$D" workspace list alice@example.org >"$T/list"
contains "the admin command sees it" "$T/list" "$W	Diary"
req "another user's workspace is 404" 404 -H "Authorization: Bearer $B" "$H/api/workspaces/$W"
lacks "and no data" "$T/body" "Diary"
req "nor can they rename it" 404 -X PATCH -H "Authorization: Bearer $B" -d '{"name":"x"}' "$H/api/workspaces/$W"
req "nor delete it" 404 -X DELETE -H "Authorization: Bearer $B" "$H/api/workspaces/$W"
req "their list is empty" 200 -H "Authorization: Bearer $B" "$H/api/workspaces"
lacks "of alice's" "$T/body" "$W"
req "bad JSON" 400 -H "Authorization: Bearer $A" -d '{"name":' "$H/api/workspaces"
contains "says what is wrong" "$T/body" '"error"'
req "no name" 400 -H "Authorization: Bearer $A" -d '{"title":"x"}' "$H/api/workspaces"
req "an empty name" 400 -H "Authorization: Bearer $A" -d '{"name":""}' "$H/api/workspaces"
req "a name not a string" 400 -H "Authorization: Bearer $A" -d '{"name":7}' "$H/api/workspaces"
req "not a workspace id" 404 -H "Authorization: Bearer $A" "$H/api/workspaces/..%2F..%2Faccounts"
req "a wrong method" 405 -X PUT -H "Authorization: Bearer $A" -d '{}' "$H/api/workspaces"
head -c 1100000 /dev/zero | tr '\0' 'a' >"$T/big"
req "a body over 1 MiB" 413 -H "Authorization: Bearer $A" --data-binary @"$T/big" "$H/api/workspaces"
req "an unknown endpoint" 404 "$H/api/nothing"
req "delete" 204 -X DELETE -H "Authorization: Bearer $A" "$H/api/workspaces/$W"
req "gone" 404 -H "Authorization: Bearer $A" "$H/api/workspaces/$W"
req "status" 200 "$H/api/status"
contains "reports the version" "$T/body" '"version"'
stop_server
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
