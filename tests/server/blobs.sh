#!/usr/bin/env bash
# blobs.sh - attachment bytes on the real server, with both blob stores (the local directory,
# then S3 through tests/s3/server.mjs, which verifies every signature and payload hash):
# PUT verifying the hash (400), HEAD, GET with ranges (206, 416), blobs/missing, another
# user's workspace (404), quotas by plan (413), and an S3 secret that is wrong (502 naming 403).
source "$(dirname "$0")/lib.bash"
"$SERVER" --data "$D" user add alice@example.org --plan sync >/dev/null
"$SERVER" --data "$D" user add bob@example.org >/dev/null
A=$("$SERVER" --data "$D" token alice@example.org)
B=$("$SERVER" --data "$D" token bob@example.org)
R=$("$SERVER" --data "$D" token alice@example.org --read-only)
WA=$("$SERVER" --data "$D" workspace add alice@example.org Journal)
WB=$("$SERVER" --data "$D" workspace add bob@example.org Notes)

req() {
    local name=$1 want=$2
    shift 2
    local got
    got=$(curl -s -o "$T/body" -D "$T/headers" -w '%{http_code}' "$@")
    if [ "$got" = "$want" ]; then pass; else fail "$name: status $got, expected $want ($(head -c 300 "$T/body"))"; fi
}
head -c 5242880 /dev/urandom >"$T/photo.png"
head -c 4194304 /dev/urandom >"$T/four.bin"
head -c 2097152 /dev/urandom >"$T/two.bin"
P=$(sha256sum "$T/photo.png" | cut -d' ' -f1)
F=$(sha256sum "$T/four.bin" | cut -d' ' -f1)
TWO=$(sha256sum "$T/two.bin" | cut -d' ' -f1)
ZERO=0000000000000000000000000000000000000000000000000000000000000000

# scenario LABEL: the same requests against whichever store the server was started with.
scenario() {
    local l=$1 AU="Authorization: Bearer $A" BU="Authorization: Bearer $B"
    local U=$H/api/workspaces/$WA/blobs
    req "$l: not there yet" 404 -I -H "$AU" "$U/$P"
    req "$l: a body that is not its name" 400 -X PUT -H "$AU" --data-binary @"$T/two.bin" "$U/$P"
    contains "$l: 400 says which hash" "$T/body" "$TWO"
    req "$l: still not there" 404 -I -H "$AU" "$U/$P"
    req "$l: put 5 MB" 201 -X PUT -H "$AU" --data-binary @"$T/photo.png" "$U/$P"
    contains "$l: put answers the size" "$T/body" '"size":5242880'
    req "$l: put again" 200 -X PUT -H "$AU" --data-binary @"$T/photo.png" "$U/$P"
    req "$l: head" 200 -I -H "$AU" "$U/$P"
    contains "$l: head length" "$T/headers" "content-length: 5242880"
    req "$l: a read-only token may HEAD" 200 -I -H "Authorization: Bearer $R" "$U/$P"
    req "$l: and GET" 206 -H "Authorization: Bearer $R" -H "Range: bytes=0-0" "$U/$P"
    req "$l: but not PUT" 403 -X PUT -H "Authorization: Bearer $R" --data-binary @"$T/two.bin" "$U/$TWO"
    req "$l: nor DELETE" 403 -X DELETE -H "Authorization: Bearer $R" "$U/$P"
    req "$l: get" 200 -H "$AU" -o "$T/got" "$U/$P"
    curl -s -H "$AU" -o "$T/got" "$U/$P"
    same "$l: bytes identical" "$(sha256sum "$T/got" | cut -d' ' -f1)" "$P"
    req "$l: range" 206 -H "$AU" -H "Range: bytes=10-19" "$U/$P"
    same "$l: range bytes" "$(od -An -tx1 "$T/body" | tr -d ' \n')" "$(head -c 20 "$T/photo.png" | tail -c 10 | od -An -tx1 | tr -d ' \n')"
    contains "$l: content-range" "$T/headers" "content-range: bytes 10-19/5242880"
    req "$l: suffix range" 206 -H "$AU" -H "Range: bytes=-5" "$U/$P"
    same "$l: last bytes" "$(od -An -tx1 "$T/body" | tr -d ' \n')" "$(tail -c 5 "$T/photo.png" | od -An -tx1 | tr -d ' \n')"
    req "$l: open range" 206 -H "$AU" -H "Range: bytes=5242870-" "$U/$P"
    same "$l: open range length" "$(stat -c %s "$T/body")" "10"
    req "$l: range past the end" 416 -H "$AU" -H "Range: bytes=6000000-" "$U/$P"
    contains "$l: 416 names the size" "$T/headers" "content-range: bytes */5242880"
    req "$l: missing" 200 -H "$AU" -d "{\"hashes\":[\"$P\",\"$ZERO\"]}" "$U/missing"
    same "$l: only the absent one" "$(cat "$T/body")" "{\"missing\":[\"$ZERO\"]}"
    req "$l: missing wants hashes" 400 -H "$AU" -d '{"hashes":["nope"]}' "$U/missing"
    req "$l: a bad name" 400 -X PUT -H "$AU" --data-binary x "$U/XYZ"
    # Other users: their token on this workspace is 404; their own workspace does not see
    # alice's bytes (no one learns what others store).
    req "$l: bob on alice's workspace" 404 -H "$BU" "$U/$P"
    lacks "$l: no bytes to bob" "$T/body" "PNG"
    req "$l: bob puts to alice's workspace" 404 -X PUT -H "$BU" --data-binary @"$T/photo.png" "$U/$P"
    req "$l: bob's workspace lacks it" 404 -H "$BU" "$H/api/workspaces/$WB/blobs/$P"
    req "$l: bob's missing lists it" 200 -H "$BU" -d "{\"hashes\":[\"$P\"]}" "$H/api/workspaces/$WB/blobs/missing"
    contains "$l: listed" "$T/body" "$P"
    # Quotas: bob (free, 1 MiB) cannot store 2 MiB; alice (sync, 8 MiB) has 5 used, 4 more fail.
    req "$l: free quota" 413 -X PUT -H "$BU" --data-binary @"$T/two.bin" "$H/api/workspaces/$WB/blobs/$TWO"
    contains "$l: 413 says the quota" "$T/body" "quota"
    # Refused before the body is read (the answer comes on the headers), also when the client
    # sends the body at once instead of waiting for 100-continue.
    req "$l: free quota, body sent at once" 413 -X PUT -H "$BU" -H "Expect:" --data-binary @"$T/two.bin" "$H/api/workspaces/$WB/blobs/$TWO"
    req "$l: no token, body sent at once" 401 -X PUT -H "Expect:" --data-binary @"$T/two.bin" "$U/$TWO"
    req "$l: the server still answers" 200 "$H/health"
    req "$l: sync quota" 413 -X PUT -H "$AU" --data-binary @"$T/four.bin" "$U/$F"
    req "$l: within the quota" 201 -X PUT -H "$AU" --data-binary @"$T/two.bin" "$U/$TWO"
    # DELETE frees the quota (the 4 MiB blob fits once the photo is gone); the bytes go with
    # the last reference.
    req "$l: delete" 204 -X DELETE -H "$AU" "$U/$TWO"
    req "$l: deleted is 404" 404 -I -H "$AU" "$U/$TWO"
    req "$l: delete again" 404 -X DELETE -H "$AU" "$U/$TWO"
    req "$l: bob cannot delete alice's" 404 -X DELETE -H "$BU" "$U/$P"
    if [ "$l" = local ]; then
        check "local: stored as DATA/blobs/ab/cdef..." test -f "$D/blobs/${P:0:2}/${P:2}"
        check "local: the deleted one's bytes are gone" test ! -e "$D/blobs/${TWO:0:2}/${TWO:2}"
    fi
    req "$l: still over with the photo" 413 -X PUT -H "$AU" --data-binary @"$T/four.bin" "$U/$F"
    req "$l: delete the photo" 204 -X DELETE -H "$AU" "$U/$P"
    req "$l: now the 4 MiB fits" 201 -X PUT -H "$AU" --data-binary @"$T/four.bin" "$U/$F"
    req "$l: delete the four" 204 -X DELETE -H "$AU" "$U/$F"
    req "$l: over max_upload_mb" 413 -X PUT -H "$AU" --data-binary @"$T/big.bin" "$U/$ZERO"
    # Without a Content-Length (chunked) a blob is refused before any byte is kept.
    req "$l: chunked is 411" 411 -X PUT -H "$AU" -H "Transfer-Encoding: chunked" --data-binary @"$T/two.bin" "$U/$TWO"
    contains "$l: 411 says what to send" "$T/body" "Content-Length"
}

head -c 9437184 /dev/zero >"$T/big.bin" # 9 MiB: over max_upload_mb = 8
cat >"$T/local.toml" <<TOML
[blobs]
backend = "local"
quota_free_mb = 1
quota_sync_mb = 8
max_upload_mb = 8
TOML
start_server --config "$T/local.toml"
scenario local
check "local: the photo's bytes went with it" test ! -e "$D/blobs/${P:0:2}/${P:2}"
check "local: no temporary file left" test -z "$(find "$D/blobs" -name '.tmp-*')"
stop_server

# S3: the verifying test server (whose own signer reproduces the AWS GET Object example),
# path-style bucket, credentials from the environment.
check "the S3 test server's signer matches the AWS example" node "$DX_SOURCE_DIR/tests/s3/server.mjs" --selftest
node "$DX_SOURCE_DIR/tests/s3/server.mjs" --port 0 --access AKIDBLOBS --secret s3-secret >"$T/s3.port" 2>"$T/s3.log" &
S3PID=$!
for _ in $(seq 1 100); do [ -s "$T/s3.port" ] && break; sleep 0.05; done
S3PORT=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["port"])' "$T/s3.port")
rm -f "$D/blobs.db" # the references of the local run
cat >"$T/s3.toml" <<TOML
[blobs]
backend = "s3"
endpoint = "http://127.0.0.1:$S3PORT"
bucket = "diaryx"
path_style = true
prefix = "blobs/"
quota_free_mb = 1
quota_sync_mb = 8
max_upload_mb = 8
TOML
AWS_ACCESS_KEY_ID=AKIDBLOBS AWS_SECRET_ACCESS_KEY=s3-secret start_server --config "$T/s3.toml"
scenario s3
stop_server
# A wrong secret: S3 refuses it (403) and the client is told the store failed (502).
rm -f "$D/blobs.db"
AWS_ACCESS_KEY_ID=AKIDBLOBS AWS_SECRET_ACCESS_KEY=wrong start_server --config "$T/s3.toml"
req "s3: wrong secret" 502 -X PUT -H "Authorization: Bearer $A" --data-binary @"$T/two.bin" "$H/api/workspaces/$WA/blobs/$TWO"
contains "s3: names the refusal" "$T/body" "403 SignatureDoesNotMatch"
req "s3: nothing recorded" 200 -H "Authorization: Bearer $A" -d "{\"hashes\":[\"$TWO\"]}" "$H/api/workspaces/$WA/blobs/missing"
contains "s3: still missing" "$T/body" "$TWO"
stop_server
kill -TERM "$S3PID" 2>/dev/null
wait "$S3PID" 2>/dev/null
# A config key the server does not know is refused with its name.
printf '[blobs]\nbackend = "ftp"\n' >"$T/bad.toml"
check_rc "bad backend" 2 "$SERVER" --config "$T/bad.toml" --data "$D" --listen "127.0.0.1:$PORT"
contains "names the value" "$T/.err" "backend wants \"local\" or \"s3\", not 'ftp'"
finish
