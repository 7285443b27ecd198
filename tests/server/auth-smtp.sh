#!/usr/bin/env bash
# auth-smtp.sh - sign-in links by mail: the server with [smtp] pointed at a small SMTP sink
# (smtp-sink.mjs) on a loopback port mails the link (AUTH PLAIN with the configured
# credentials, the configured sender), keeps it out of the response and out of the log, and
# the mailed link signs in; with the mail server gone the request still answers 200 and the
# log says the mail failed.
source "$(dirname "$0")/lib.bash"
mkdir -p "$T/mail"
node "$HERE/smtp-sink.mjs" "$T/mail" 2>"$T/sink.err" &
SINK=$!
trap 'kill $SINK 2>/dev/null; rm -rf "$T"' EXIT
for _ in $(seq 1 100); do [ -s "$T/mail/port" ] && break; sleep 0.05; done
SP=$(cat "$T/mail/port")
cat >"$T/server.toml" <<TOML
[smtp]
host = "127.0.0.1"
port = $SP
tls = "none"
username = "mailer"
password = "s3cret"
from = "Diaryx <signin@example.org>"
TOML
start_server --config "$T/server.toml"
curl -s -o "$T/body" -w '%{http_code}' -d '{"email":"alice@example.org"}' "$H/auth/magic-link" >"$T/code"
same "the request is answered" "$(cat "$T/code")" 200
lacks "no link in the response when it is mailed" "$T/body" "token="
contains "the answer says a link is on its way" "$T/body" "on its way"
for _ in $(seq 1 200); do [ -f "$T/mail/1.eml" ] && break; sleep 0.05; done
M=$T/mail/1.eml
[ -f "$M" ] && pass || fail "no mail reached the sink ($(tail -3 "$T/server.log"))"
contains "the envelope sender" "$M" "X-Sink-From: <signin@example.org>"
contains "the envelope recipient" "$M" "X-Sink-To: <alice@example.org>"
contains "the configured credentials" "$M" "X-Sink-Auth: mailer:s3cret"
contains "From" "$M" "From: Diaryx <signin@example.org>"
contains "To" "$M" "To: <alice@example.org>"
contains "Subject" "$M" "Subject: Sign in to Diaryx"
contains "says how long it works" "$M" "within 15 minutes"
L=$(grep -o "$H/?token=[A-Za-z0-9_-]*" "$M" | head -1)
[ -n "$L" ] && pass || fail "no link in the mail"
for _ in $(seq 1 100); do grep -q "mailed a sign-in link" "$T/server.log" && break; sleep 0.05; done
contains "the log says it was mailed" "$T/server.log" "mailed a sign-in link to alice@example.org"
lacks "and does not hold the link" "$T/server.log" "token="
curl -s -o "$T/body" "$H/auth/verify?token=${L#*token=}&device_name=mail"
grep -q '"token"' "$T/body" && pass || fail "the mailed link did not sign in: $(cat "$T/body")"
S=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["token"])' "$T/body")
curl -s -o "$T/body" -H "Authorization: Bearer $S" "$H/auth/me"
contains "the session is alice's" "$T/body" '"email":"alice@example.org"'

kill "$SINK"
wait "$SINK" 2>/dev/null
curl -s -o "$T/body" -w '%{http_code}' -d '{"email":"bob@example.org"}' "$H/auth/magic-link" >"$T/code"
same "without the mail server the request is still answered" "$(cat "$T/code")" 200
for _ in $(seq 1 200); do grep -q "cannot mail" "$T/server.log" && break; sleep 0.05; done
contains "and the log says the mail failed" "$T/server.log" "cannot mail the sign-in link to bob@example.org"
stop_server
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
