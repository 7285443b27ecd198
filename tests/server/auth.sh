#!/usr/bin/env bash
# auth.sh - sign-in by magic link with the real server on a free loopback port: the link from
# the loopback response and from the log, verify, me, devices, logout, revoked devices,
# single use, the rate limit (429 + Retry-After), another user's device (404), unknown
# addresses, the session token on /sync with a stock provider, expiry of links and sessions
# with lifetimes of seconds, no link in the response off loopback, API tokens unchanged, and
# the new config keys (documented, checked, named when wrong).
source "$(dirname "$0")/lib.bash"
PROVIDERS=$HERE/providers.mjs
E=0a1b2c3d-4e5f-4a6b-8c7d-9e0f1a2b3c4d
"$SERVER" --data "$D" user add alice@example.org --plan sync >/dev/null
"$SERVER" --data "$D" user add bob@example.org >/dev/null
API=$("$SERVER" --data "$D" token alice@example.org --device script)
W=$("$SERVER" --data "$D" workspace add alice@example.org Journal)

# req NAME EXPECTED_STATUS CURL_ARGS...: the body goes to $T/body, the headers to $T/head
req() {
    local name=$1 want=$2
    shift 2
    local got
    got=$(curl -s -D "$T/head" -o "$T/body" -w '%{http_code}' "$@")
    if [ "$got" = "$want" ]; then pass; else fail "$name: status $got, expected $want ($(head -c 200 "$T/body"))"; fi
}
# field KEY.PATH: a value of the JSON in $T/body ("" when absent)
field() {
    python3 -c 'import json,sys
v=json.load(open(sys.argv[1]))
for k in sys.argv[2].split("."):
    v = v.get(k) if isinstance(v, dict) else (v[int(k)] if isinstance(v, list) and len(v) > int(k) else None)
print("" if v is None else (json.dumps(v) if isinstance(v, (dict, list, bool)) else v))' "$T/body" "$1"
}
link() { # link EMAIL: POST /auth/magic-link (the answer in $T/body)
    req "a link for $1" 200 -d "{\"email\":\"$1\"}" "$H/auth/magic-link"
}
token_of() { echo "${1#*\?token=}"; }

start_server
# The link is handed out on a loopback server: it must be one, not listen on every address.
ss -ltn "sport = :$PORT" >"$T/ss"
contains "--listen 127.0.0.1 binds 127.0.0.1 alone" "$T/ss" "127.0.0.1:$PORT"
link alice@example.org
L1=$(field link)
case "$L1" in "$H/?token="*) pass ;; *) fail "the link is <public url>/?token=...: '$L1'" ;; esac
same "the token is 43 characters" "${#L1}" "$((${#H} + 8 + 43))"
contains "the link is in the log too" "$T/server.log" "sign-in link for alice@example.org: $L1"
contains "the answer says where it went" "$T/body" '"expires_in":900'
req "through a proxy" 200 -H "X-Forwarded-For: 203.0.113.9" -d '{"email":"proxied@example.org"}' "$H/auth/magic-link"
same "a forwarded request never gets the link" "$(field link)" ""
req "verify" 200 "$H/auth/verify?token=$(token_of "$L1")&device_name=my%20laptop"
S1=$(field token)
same "a session token" "${#S1}" 43
same "the user" "$(field user.email) $(field user.plan)" "alice@example.org sync"
same "the device" "$(field device.name)" "my laptop"
LAPTOP=$(field device.id)
req "the link works once" 401 "$H/auth/verify?token=$(token_of "$L1")&device_name=again"
contains "and says so" "$T/body" "used already"
req "an unknown link" 401 "$H/auth/verify?token=AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"
contains "says it is not valid" "$T/body" "not valid"

# The second link from the log, as an operator without mail would.
link Alice@Example.org
L2=$(grep -o "sign-in link for alice@example.org: .*" "$T/server.log" | tail -1 | sed 's/.*: //')
[ -n "$L2" ] && [ "$L2" != "$L1" ] && pass || fail "no second link in the log"
same "the log's link is the response's" "$L2" "$(field link)"
req "verify the link from the log" 200 "$H/auth/verify?device_name=phone&token=$(token_of "$L2")"
S2=$(field token)
PHONE=$(field device.id)
same "the address's case does not make a second account" "$(field user.email)" "alice@example.org"

req "me" 200 -H "Authorization: Bearer $S1" "$H/auth/me"
same "me: user" "$(field user.email) $(field user.plan)" "alice@example.org sync"
same "me: device" "$(field device.id) $(field device.name)" "$LAPTOP my laptop"
[ -n "$(field expires_at)" ] && pass || fail "a session says when it expires"
req "devices" 200 -H "Authorization: Bearer $S1" "$H/auth/devices"
same "two devices" "$(field 0.name),$(field 1.name)" "my laptop,phone"
same "this one is current" "$(field 0.current) $(field 1.current)" "true false"
req "the session opens the API" 200 -H "Authorization: Bearer $S1" "$H/api/workspaces"
contains "and lists the workspace" "$T/body" "$W"
check "the session token syncs with a stock provider" \
    node "$PROVIDERS" edit "$URL" "body:$W/$E" "$S1"

# The rate limit: 3 links an hour for one address (two made already).
link alice@example.org
req "a fourth link in the hour" 429 -d '{"email":"alice@example.org"}' "$H/auth/magic-link"
RA=$(tr -d '\r' <"$T/head" | sed -n 's/^[Rr]etry-[Aa]fter: //p')
[ -n "$RA" ] && [ "$RA" -gt 3000 ] && [ "$RA" -le 3600 ] && pass || fail "Retry-After: '$RA'"
contains "the 429 says when" "$T/body" "try again in"

# An address with no account: the same answer; the account is made by the link.
link newcomer@example.org
python3 -c 'import json,sys; print(sorted(json.load(open(sys.argv[1]))))' "$T/body" >"$T/keys.new"
link bob@example.org
python3 -c 'import json,sys; print(sorted(json.load(open(sys.argv[1]))))' "$T/body" >"$T/keys.old"
same "an unknown address gets the same answer" "$(cat "$T/keys.new")" "$(cat "$T/keys.old")"
LB=$(field link)
"$SERVER" --data "$D" workspace list newcomer@example.org >/dev/null 2>&1 &&
    fail "asking for a link made an account" || pass
req "verify for bob" 200 "$H/auth/verify?token=$(token_of "$LB")&device_name=bobs"
SB=$(field token)
req "another user's device is 404" 404 -X DELETE -H "Authorization: Bearer $SB" "$H/auth/devices/$LAPTOP"
req "and it still works" 200 -H "Authorization: Bearer $S1" "$H/auth/me"
req "bob sees only his device" 200 -H "Authorization: Bearer $SB" "$H/auth/devices"
lacks "not alice's" "$T/body" "$LAPTOP"
req "not a device id" 404 -X DELETE -H "Authorization: Bearer $S1" "$H/auth/devices/..%2Fx"

# Revoking the phone: its session is gone, on HTTP and on the websocket.
req "revoke the phone" 204 -X DELETE -H "Authorization: Bearer $S1" "$H/auth/devices/$PHONE"
req "its session is 401" 401 -H "Authorization: Bearer $S2" "$H/auth/me"
check "and refused on /sync" node "$PROVIDERS" denied "$URL" "body:$W/$E" "$S2"
req "the list has one device" 200 -H "Authorization: Bearer $S1" "$H/auth/devices"
lacks "no phone" "$T/body" "$PHONE"

req "logout" 204 -X POST -H "Authorization: Bearer $S1" "$H/auth/logout"
req "a session after logout is 401" 401 -H "Authorization: Bearer $S1" "$H/auth/me"
req "and on the API" 401 -H "Authorization: Bearer $S1" "$H/api/workspaces"

req "an API token still works" 200 -H "Authorization: Bearer $API" "$H/api/workspaces"
req "me with an API token" 200 -H "Authorization: Bearer $API" "$H/auth/me"
same "no device, no expiry" "$(field device)$(field expires_at)" ""

req "no email" 400 -d '{}' "$H/auth/magic-link"
req "not an address" 400 -d '{"email":"alice"}' "$H/auth/magic-link"
contains "names it" "$T/body" "'alice' is not an email address"
req "a header in the address" 400 -d '{"email":"a@example.org\r\nBcc: x@example.org"}' "$H/auth/magic-link"
req "not JSON" 400 -d 'email=a@example.org' "$H/auth/magic-link"
req "GET on magic-link" 405 "$H/auth/magic-link"
req "verify without a token" 400 "$H/auth/verify"
req "a device name that is not UTF-8" 400 "$H/auth/verify?token=x&device_name=%FF%FE"
req "a device name over 100 bytes" 400 "$H/auth/verify?token=x&device_name=$(printf 'd%.0s' $(seq 101))"
req "me without a token" 401 "$H/auth/me"
req "an unknown /auth endpoint" 404 "$H/auth/nothing"
stop_server

# Tiny lifetimes: a link and a session expire; off loopback the link stays in the log.
start_server --magic-link-seconds 1 --listen "localhost:$PORT"
ss -ltn "sport = :$PORT" >"$T/ss"
contains "--listen localhost binds 127.0.0.1" "$T/ss" "127.0.0.1:$PORT"
req "a link for carol" 200 -d '{"email":"carol@example.org"}' "$H/auth/magic-link"
LC=$(field link)
sleep 1.2
req "an expired link is 401" 401 "$H/auth/verify?token=$(token_of "$LC")"
contains "and says so" "$T/body" "expired"
stop_server
start_server --session-seconds 15
req "another link for carol" 200 -d '{"email":"carol@example.org"}' "$H/auth/magic-link"
req "verify at once" 200 "$H/auth/verify?token=$(token_of "$(field link)")&device_name=tablet"
VERIFIED=$(date +%s.%N)
SC=$(field token)
same "an unknown address signs up on the free plan" "$(field user.plan)" "free"
WC=$(curl -s -H "Authorization: Bearer $SC" -d '{"name":"Notes"}' "$H/api/workspaces" |
    python3 -c 'import json,sys; print(json.load(sys.stdin)["id"])')
check "the fresh session syncs" node "$PROVIDERS" edit "$URL" "body:$WC/$E" "$SC"
sleep "$(python3 -c "import sys,time; print(max(0, float(sys.argv[1]) + 15.3 - time.time()))" "$VERIFIED")"
req "an expired session is 401" 401 -H "Authorization: Bearer $SC" "$H/auth/me"
contains "and says to sign in again" "$T/body" "sign in again"
check "and PERMISSION_DENIED on /sync" node "$PROVIDERS" denied "$URL" "body:$WC/$E" "$SC"
req "a third link for carol" 200 -d '{"email":"carol@example.org"}' "$H/auth/magic-link"
req "verify it" 200 "$H/auth/verify?token=$(token_of "$(field link)")&device_name=desk"
req "the expired session's device is not listed" 200 -H "Authorization: Bearer $(field token)" "$H/auth/devices"
lacks "no tablet" "$T/body" "tablet"
contains "the new one is" "$T/body" "desk"
stop_server

start_server --listen "0.0.0.0:$PORT" --public-url "https://diary.example.org/"
req "a link off loopback" 200 -d '{"email":"dave@example.org"}' "$H/auth/magic-link"
same "is not in the response" "$(field link)" ""
contains "the log has it, at the public URL" "$T/server.log" "sign-in link for dave@example.org: https://diary.example.org/?token="
stop_server

# Config keys: documented, applied, and named when wrong.
"$SERVER" --help >"$T/help"
for key in public_url session_days "[tls] cert" "[smtp] host" port username password from starttls implicit --session-days --magic-link-seconds; do
    contains "--help documents $key" "$T/help" "$key"
done
printf 'session_days = 1\n' >"$T/ok.toml"
start_server --config "$T/ok.toml"
req "a link" 200 -d '{"email":"erin@example.org"}' "$H/auth/magic-link"
req "session_days applies" 200 "$H/auth/verify?token=$(token_of "$(field link)")"
S=$(field token)
req "me" 200 -H "Authorization: Bearer $S" "$H/auth/me"
python3 -c 'import json,sys,time; e=json.load(open(sys.argv[1]))["expires_at"]; d=e/1000-time.time(); sys.exit(0 if 86000 < d <= 86400 else 1)' "$T/body" &&
    pass || fail "session_days = 1: a session lasts a day ($(cat "$T/body"))"
stop_server
bad() { # bad NAME CONTENT EXPECTED_TEXT: the server refuses to start, naming the key
    printf '%s\n' "$2" >"$T/bad.toml"
    check_rc "$1" 2 timeout 10 "$SERVER" --config "$T/bad.toml" --data "$D" --listen "127.0.0.1:$PORT"
    contains "$1: the message" "$T/.err" "$3"
}
bad "session_days as a string" 'session_days = "30"' "session_days in"
bad "session_days out of range" 'session_days = 0' "session_days in"
bad "public_url as a number" 'public_url = 3' "public_url in"
bad "public_url not http" 'public_url = "ftp://x"' "public_url in"
bad "an unknown key in [tls]" $'[tls]\ncertificate = "x"' "tls.certificate"
bad "a cert without a key" $'[tls]\ncert = "/etc/hostname"' "tls.key in"
bad "an unreadable cert" $'[tls]\ncert = "/nonexistent.pem"\nkey = "/etc/hostname"' "tls.cert in"
bad "an unknown key in [smtp]" $'[smtp]\nserver = "x"' "smtp.server"
bad "smtp.tls not one of three" $'[smtp]\nhost = "h"\nfrom = "f@x"\ntls = "sometimes"' "smtp.tls in"
bad "smtp.port as a string" $'[smtp]\nport = "25"' "smtp.port in"
bad "smtp without from" $'[smtp]\nhost = "h"' "smtp.from in"
check_rc "a bad --session-days" 2 timeout 10 "$SERVER" --session-days soon --data "$D" --listen "127.0.0.1:$PORT"
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
