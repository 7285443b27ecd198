#!/usr/bin/env bash
# history.sh - git on the server: a sync-plan workspace edited by stock providers is committed
# to its bare repository once quiet (no client, --quiescence-seconds) and, with a client still
# connected, once its first uncommitted update is --staleness-seconds old; `git fsck` and
# `git show` agree with what the clients wrote; POST commit and GET history work, and a
# free-plan user gets 402.
source "$(dirname "$0")/lib.bash"
P=$HERE/providers.mjs
"$SERVER" --data "$D" user add alice@example.org --plan sync >/dev/null
"$SERVER" --data "$D" user add bob@example.org >/dev/null
A=$("$SERVER" --data "$D" token alice@example.org)
B=$("$SERVER" --data "$D" token bob@example.org)
W=$("$SERVER" --data "$D" workspace add alice@example.org Journal)
WB=$("$SERVER" --data "$D" workspace add bob@example.org Free)
ROOT=7d3f0e9a-1c2b-4d5e-8f60-718293a4b5c6
E=0a1b2c3d-4e5f-4a6b-8c7d-9e0f1a2b3c4d
start_server --quiescence-seconds 1 --staleness-seconds 3
GIT="git --git-dir=$D/workspaces/$W.git"
# wait_git PATH TEXT: wait until HEAD's PATH holds TEXT (a commit of the seed alone may come
# first on a loaded machine, when the next client is slower to start than the quiescence).
wait_git() {
    for _ in $(seq 1 300); do
        $GIT show "HEAD:$1" 2>/dev/null | grep -qF "$2" && return 0
        sleep 0.1
    done
    return 1
}
# wait_clients N: wait until N websockets are connected.
wait_clients() {
    for _ in $(seq 1 300); do
        curl -s "$H/api/status" | grep -q "\"connections\":$1[,}]" && return 0
        sleep 0.1
    done
    return 1
}

check "seed the workspace document" node "$P" seed "$URL" "workspace:$W" "$A" "$ROOT" "$E"
check "two clients write the entry's body" node "$P" edit "$URL" "body:$W/$E" "$A"
wait_git day.md "hello world" && pass || fail "no commit after the quiescence ($(tail -3 "$T/server.log"))"
$GIT fsck --strict >"$T/fsck" 2>&1 && pass || fail "git fsck: $(cat "$T/fsck")"
$GIT show HEAD:day.md >"$T/day" 2>&1
contains "the body is in git" "$T/day" "hello world"
contains "with its title" "$T/day" "title: Day"
$GIT show HEAD:README.md >"$T/readme" 2>&1
contains "the root index lists it" "$T/readme" "day.md"
$GIT log -1 --format=%B >"$T/msg"
contains "the commit names the server as device" "$T/msg" "server"

# Staleness: a client stays connected; the commit comes anyway.
node "$P" hold "$URL" "body:$W/$E" "$A" 6 >"$T/hold" 2>&1 &
HPID=$!
wait_git day.md "held line" && pass || fail "no commit while a client stayed connected ($(tail -3 "$T/server.log"))"
kill -0 "$HPID" 2>/dev/null && pass || fail "the commit came only after the client left (staleness not applied)"
$GIT show HEAD:day.md >"$T/day2"
contains "the held line is in git" "$T/day2" "held line"
wait "$HPID" || fail "the connected client failed: $(cat "$T/hold")"

curl -s -o "$T/body" -w '%{http_code}' -H "Authorization: Bearer $A" -X POST "$H/api/workspaces/$W/commit" >"$T/code"
contains "POST commit with nothing new is 200" "$T/code" "200"
contains "and says nothing was committed" "$T/body" '"committed":false'
curl -s -H "Authorization: Bearer $A" "$H/api/workspaces/$W/history" >"$T/hist"
n=$(python3 -c 'import json,sys; print(len(json.load(open(sys.argv[1]))))' "$T/hist")
[ "$n" -eq "$($GIT rev-list --count HEAD)" ] && pass || fail "history lists $n commits: $(cat "$T/hist")"
contains "with short ids" "$T/hist" "\"short_id\":\"$($GIT rev-parse --short=7 HEAD)\""
curl -s -H "Authorization: Bearer $A" "$H/api/workspaces/$W/history?count=1" >"$T/hist1"
n=$(python3 -c 'import json,sys; print(len(json.load(open(sys.argv[1]))))' "$T/hist1")
[ "$n" -eq 1 ] && pass || fail "count=1 gave $n commits"
contains "each commit lists its files" "$T/hist1" '"files":[{"path":"day.md","status":"M"}]'
curl -s -H "Authorization: Bearer $A" "$H/api/workspaces/$W/history?path=README.md" >"$T/histp"
n=$(python3 -c 'import json,sys; print(len(json.load(open(sys.argv[1]))))' "$T/histp")
[ "$n" -eq "$($GIT rev-list --count HEAD -- README.md)" ] && pass || fail "path=README.md gave $n commits"
curl -s -o /dev/null -w '%{http_code}' -H "Authorization: Bearer $A" "$H/api/workspaces/$W/history?count=0" >"$T/code"
contains "count=0 is 400" "$T/code" "400"
curl -s -o "$T/body" -w '%{http_code}' -H "Authorization: Bearer $B" "$H/api/workspaces/$WB/history" >"$T/code"
contains "a free-plan user's history is 402" "$T/code" "402"
contains "naming the plan" "$T/body" "sync plan"
curl -s -o "$T/body" -w '%{http_code}' -H "Authorization: Bearer $B" -X POST "$H/api/workspaces/$WB/commit" >"$T/code"
contains "and commit too" "$T/code" "402"
curl -s -o "$T/body" -w '%{http_code}' -H "Authorization: Bearer $B" "$H/api/workspaces/$W/history" >"$T/code"
contains "another user's history is 404" "$T/code" "404"
# What a commit changed, a file at a revision.
curl -s -H "Authorization: Bearer $A" "$H/api/workspaces/$W/history/HEAD/diff?path=day.md" >"$T/diff"
contains "the diff of HEAD names the file" "$T/diff" '"path":"day.md","status":"M"'
contains "with its patch" "$T/diff" "+hello worldheld line"
curl -s -H "Authorization: Bearer $A" "$H/api/workspaces/$W/files/day.md?rev=HEAD~1" >"$T/file"
contains "the file at HEAD~1" "$T/file" 'hello world'
lacks "before the held line" "$T/file" 'held line'
curl -s -o /dev/null -w '%{http_code}' -H "Authorization: Bearer $A" "$H/api/workspaces/$W/files/nope.md" >"$T/code"
contains "a file HEAD lacks is 404" "$T/code" "404"

# Restore: refused while two clients are connected, applied as edits for one.
node "$P" hold "$URL" "body:$W/$E" "$A" 4 >"$T/h1" 2>&1 &
H1=$!
node "$P" hold "$URL" "body:$W/$E" "$A" 4 >"$T/h2" 2>&1 &
H2=$!
wait_clients 2 && pass || fail "the two clients did not connect"
curl -s -o "$T/body" -w '%{http_code}' -H "Authorization: Bearer $A" -d '{"commit_id":"HEAD~1"}' "$H/api/workspaces/$W/restore" >"$T/code"
contains "restore with two clients connected is 409" "$T/code" "409"
wait "$H1" "$H2"
# The commit before the held line came (the first commit may be the seed alone).
FIRST=$($GIT log --reverse --format=%H -S"held line" -- day.md | head -1)~1
node "$P" await "$URL" "body:$W/$E" "$A" "hello world" >"$T/await" 2>&1 &
AW=$!
for _ in $(seq 1 100); do grep -q "ok connected" "$T/await" && break; sleep 0.05; done
curl -s -o "$T/body" -w '%{http_code}' -H "Authorization: Bearer $A" -d "{\"commit_id\":\"$FIRST\"}" "$H/api/workspaces/$W/restore" >"$T/code"
contains "restore with one client is 200" "$T/code" "200"
wait "$AW" && pass || fail "the connected client did not get the restored text: $(cat "$T/await")"
$GIT show HEAD:day.md >"$T/day3"
lacks "the restore is committed" "$T/day3" "held line"
contains "with the first commit's text" "$T/day3" "hello world"
$GIT log -1 --format=%s >"$T/msg"
contains "named as a restore" "$T/msg" "Restore the workspace to"
curl -s -o /dev/null -w '%{http_code}' -H "Authorization: Bearer $A" -d '{"commit_id":"nope"}' "$H/api/workspaces/$W/restore" >"$T/code"
contains "an unknown revision is 404" "$T/code" "404"
curl -s -o /dev/null -w '%{http_code}' -H "Authorization: Bearer $A" -d '{"commit":1}' "$H/api/workspaces/$W/restore" >"$T/code"
contains "a bad restore body is 400" "$T/code" "400"
stop_server
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
