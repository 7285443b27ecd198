#!/usr/bin/env bash
# worker.sh - git work runs on the worker pool, off the event loop: while a workspace of 2,000
# entries is committed, another client's updates are acknowledged promptly (the largest ack
# delay during the commit is far below the commit's duration), updates that arrive during
# the commit are kept for the next one, a workspace loaded and unloaded during a job, a
# DELETE and an LRU eviction during one are safe, SIGTERM waits for a running job and exits
# 0. Epochs: after a rebuild from git (three failed checks, no client connected), a stock
# provider holding the old document is closed with 4205 and duplicates nothing; a fresh one
# sees epoch 1.
source "$(dirname "$0")/lib.bash"
P=$HERE/providers.mjs
X=$HERE/worker.mjs
N=${DX_WORKER_ENTRIES:-2000}
"$SERVER" --data "$D" user add alice@example.org --plan sync >/dev/null
A=$("$SERVER" --data "$D" token alice@example.org)
W=$("$SERVER" --data "$D" workspace add alice@example.org Big)
W2=$("$SERVER" --data "$D" workspace add alice@example.org Small)
start_server --quiescence-seconds 0 --workers 2
GIT="git --git-dir=$D/workspaces/$W.git"
now_ms() { date +%s%3N; }
api() { # api METHOD PATH [BODY]: the status in $T/code, the body in $T/body
    curl -s -o "$T/body" -w '%{http_code}' -H "Authorization: Bearer $A" -X "$1" ${3:+-d "$3"} "$H$2" >"$T/code"
}

node "$X" seed "$URL" "$W" "$A" "$N" >"$T/seed" 2>&1 || fail "seeding $N entries: $(cat "$T/seed")"
E0=$(sed -n 's/^entry //p' "$T/seed")

# A commit of the whole workspace while another client writes every 20 ms.
node "$X" ping "$URL" "body:$W/$E0" "$A" 15 >"$T/pings" 2>"$T/pings.err" &
PING=$!
for _ in $(seq 1 200); do [ -s "$T/pings" ] && break; sleep 0.05; done
t0=$(now_ms)
api POST "/api/workspaces/$W/commit"
t1=$(now_ms)
grep -q 200 "$T/code" && pass || fail "the commit of $N entries: $(cat "$T/code") $(cat "$T/body") ($(tail -3 "$T/server.log"))"
contains "and committed" "$T/body" '"committed":true'
wait "$PING" || fail "the pinging client failed: $(cat "$T/pings.err")"
python3 - "$T/pings" "$t0" "$t1" >"$T/delays" <<'PY'
import sys
t0, t1 = int(sys.argv[2]), int(sys.argv[3])
d = [int(l.split()[2]) for l in open(sys.argv[1]) if l.startswith("ack ") and t0 <= int(l.split()[1]) <= t1]
print(len(d), max(d) if d else -1, t1 - t0)
PY
read -r n_acks max_delay commit_ms <"$T/delays"
echo "commit of $N entries: ${commit_ms} ms; $n_acks updates acknowledged meanwhile, the slowest in ${max_delay} ms"
[ "$n_acks" -ge 5 ] && pass || fail "only $n_acks updates were acknowledged during the ${commit_ms} ms commit"
[ "$max_delay" -ge 0 ] && [ $((max_delay * 4)) -lt "$commit_ms" ] && pass ||
    fail "an update waited ${max_delay} ms during a commit of ${commit_ms} ms (the loop was blocked)"
[ "$($GIT ls-tree --name-only HEAD | wc -l)" -eq $((N + 1)) ] && pass || fail "HEAD lacks files"
# Updates that came during and after the commit were kept: the next commit has them.
last=$(($(grep -c '^ack ' "$T/pings") - 1))
api POST "/api/workspaces/$W/commit"
contains "the next commit has the updates that came meanwhile" "$T/body" '"committed":true'
$GIT show HEAD:e0.md >"$T/e0"
contains "up to the last acknowledged one" "$T/e0" "p$last;"

# A job runs (a restore of the whole workspace) while a client loads the workspace and
# leaves again (it is unloaded during the job), and while a DELETE comes.
r0=$(now_ms)
api POST "/api/workspaces/$W/restore" "{\"commit_id\":\"HEAD~1\"}" &
RPID=$!
sleep 0.2
# A second restore and a read queued behind it (one job per workspace at a time) are
# answered when their turn comes, however long they waited (lws closed a request unanswered
# after 5 s).
curl -s -o "$T/r2" -w '%{http_code}' -H "Authorization: Bearer $A" -d '{"commit_id":"HEAD~1"}' "$H/api/workspaces/$W/restore" >"$T/r2code" &
R2PID=$!
sleep 0.1
(
    q0=$(now_ms)
    curl -s -o "$T/hq" -w '%{http_code}' -H "Authorization: Bearer $A" "$H/api/workspaces/$W/history?count=1" >"$T/hqcode"
    echo $(($(now_ms) - q0)) >"$T/hqtime"
) &
QPID=$!
node "$P" dump "$URL" "body:$W/$E0" "$A" >"$T/dump" 2>&1 || fail "a client could not load the workspace during the job: $(cat "$T/dump")"
curl -s -o "$T/del" -w '%{http_code}' -H "Authorization: Bearer $A" -X DELETE "$H/api/workspaces/$W" >"$T/delcode"
wait "$RPID" "$R2PID" "$QPID"
echo "a history read queued behind two restores was answered after $(cat "$T/hqtime") ms"
contains "a restore queued behind another is answered" "$T/r2code" "200"
contains "a read queued behind a job is answered" "$T/hqcode" "200"
echo "two restores of $N entries: $(($(now_ms) - r0)) ms"
contains "the restore during which the workspace was unloaded is 200" "$T/code" "200"
grep -q 409 "$T/delcode" || grep -q 204 "$T/delcode" && pass || fail "DELETE during the job: $(cat "$T/delcode") $(cat "$T/del")"
if grep -q 409 "$T/delcode"; then contains "a DELETE during a job is refused" "$T/del" "running"; fi
lacks "the restore took the later pings out" "$T/body" '"restored":0'
$GIT log -1 --format=%s >"$T/msg"
contains "and is committed" "$T/msg" "Restore the workspace to"
curl -s "$H/api/status" >"$T/status"
contains "nothing stays loaded" "$T/status" '"workspaces":0'

# Epochs. A small workspace, committed, and a stock provider that keeps its copy.
ROOT=7d3f0e9a-1c2b-4d5e-8f60-718293a4b5c6
E=0a1b2c3d-4e5f-4a6b-8c7d-9e0f1a2b3c4d
check "seed the small workspace" node "$P" seed "$URL" "workspace:$W2" "$A" "$ROOT" "$E"
check "two clients write its body" node "$P" edit "$URL" "body:$W2/$E" "$A"
api POST "/api/workspaces/$W2/commit"
contains "it is committed" "$T/body" '"committed":true'
node "$X" holder "$URL" "body:$W2/$E" "$A" "$T/rebuilt" >"$T/holder" 2>&1 &
HOLD=$!
for _ in $(seq 1 400); do grep -q "ok disconnected" "$T/holder" && break; sleep 0.05; done
contains "the holder saw epoch 0" "$T/holder" "epoch 0"
check "a client makes the CRDT fail its checks" node "$X" bad "$URL" "workspace:$W2" "$A"
for i in 1 2 3; do
    api POST "/api/workspaces/$W2/commit"
    contains "failed check $i is 409" "$T/code" "409"
done
contains "the third rebuilt the CRDT from git" "$T/body" "rebuilt"
touch "$T/rebuilt"
wait "$HOLD" || fail "the holder failed: $(cat "$T/holder")"
contains "the holder of the old state is closed with 4205" "$T/holder" "closed 4205"
contains "told to discard its copy" "$T/holder" "discard the local copy"
node "$X" fresh "$URL" "body:$W2/$E" "$A" >"$T/fresh" 2>&1 || fail "a fresh client: $(cat "$T/fresh")"
contains "a fresh client sees epoch 1" "$T/fresh" "epoch 1"
n=$(grep -o "hello world" "$T/fresh" | wc -l)
[ "$n" -eq 1 ] && pass || fail "the rebuilt body holds 'hello world' $n times: $(cat "$T/fresh")"
api POST "/api/workspaces/$W2/commit"
contains "the rebuilt workspace commits again" "$T/code" "200"

# SIGTERM while a job runs: it is waited for, and the server exits 0.
api POST "/api/workspaces/$W/restore" "{\"commit_id\":\"HEAD~2\"}" &
RPID=$!
sleep 0.3
stop_server
wait "$RPID"

# At most one workspace loaded: a client of another one evicts W (LRU) while W's job runs.
start_server --quiescence-seconds 0 --max-workspaces 1
api GET "/api/workspaces/$W/history?count=1"
grep -q 200 "$T/code" && pass || fail "after the stop: $(cat "$T/code") $(cat "$T/body") ($(tail -3 "$T/server.log"))"
node "$P" hold "$URL" "body:$W/$E0" "$A" 3 >"$T/hw" 2>&1 &
HW=$!
wait_loaded() { for _ in $(seq 1 300); do curl -s "$H/api/status" | grep -q '"workspaces":1' && return 0; sleep 0.1; done; return 1; }
wait_loaded || fail "the client did not load W"
api POST "/api/workspaces/$W/restore" "{\"commit_id\":\"HEAD~1\"}" &
RPID=$!
sleep 0.2
check "a client of another workspace is served meanwhile" node "$P" dump "$URL" "body:$W2/$E" "$A"
wait "$RPID"
contains "the restore of the evicted workspace is 200" "$T/code" "200"
wait "$HW"
curl -s "$H/api/status" >"$T/status"
contains "nothing stays loaded after the eviction" "$T/status" '"workspaces":0'
stop_server
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
