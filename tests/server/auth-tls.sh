#!/usr/bin/env bash
# auth-tls.sh - [tls] cert/key: the server speaks https and wss with a self-signed certificate
# made here by openssl; curl trusting it (--cacert) gets /health and signs in (the default
# public URL is then https://), curl not trusting it is refused, and stock
# @hocuspocus/provider clients whose ws is given the certificate as `ca` sync over
# wss://.../sync with the session token.
source "$(dirname "$0")/lib.bash"
HS=https://127.0.0.1:$PORT
openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj /CN=127.0.0.1 \
    -addext "subjectAltName=IP:127.0.0.1" -keyout "$T/key.pem" -out "$T/cert.pem" 2>"$T/openssl.err" &&
    pass || fail "openssl req: $(cat "$T/openssl.err")"
cat >"$T/server.toml" <<TOML
[tls]
cert = "$T/cert.pem"
key = "$T/key.pem"
TOML
"$SERVER" --data "$D" user add alice@example.org --plan sync >/dev/null
W=$("$SERVER" --data "$D" workspace add alice@example.org Journal)
"$SERVER" --config "$T/server.toml" --data "$D" --listen "127.0.0.1:$PORT" 2>>"$T/server.log" &
SPID=$!
for _ in $(seq 1 200); do curl -sf --cacert "$T/cert.pem" "$HS/health" >/dev/null && break; sleep 0.05; done
curl -s --cacert "$T/cert.pem" -o "$T/body" -w '%{http_code}' "$HS/health" >"$T/code"
same "https /health with the certificate trusted" "$(cat "$T/code")" 200
curl -s -o /dev/null "$HS/health"
same "a client that does not trust it is refused (curl 60)" "$?" 60
curl -s -o /dev/null "http://127.0.0.1:$PORT/health" && fail "plain http was answered" || pass
contains "the log says https" "$T/server.log" "on https://127.0.0.1:$PORT (sync: wss://"

curl -s --cacert "$T/cert.pem" -o "$T/body" -d '{"email":"alice@example.org"}' "$HS/auth/magic-link"
L=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1])).get("link", ""))' "$T/body")
case "$L" in "$HS/?token="*) pass ;; *) fail "the default public URL is https://: '$L'" ;; esac
curl -s --cacert "$T/cert.pem" -o "$T/body" "$HS/auth/verify?token=${L#*token=}&device_name=tls"
S=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1])).get("token", ""))' "$T/body")
same "a session over https" "${#S}" 43
check "providers trusting the certificate sync over wss with the session" \
    node "$HERE/auth-tls.mjs" edit "wss://127.0.0.1:$PORT/sync" "body:$W/0a1b2c3d-4e5f-4a6b-8c7d-9e0f1a2b3c4d" "$S" "$T/cert.pem"
check "a ws client without the ca is refused" node "$HERE/auth-tls.mjs" untrusted "wss://127.0.0.1:$PORT/sync"
stop_server
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
