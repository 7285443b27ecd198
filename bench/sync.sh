#!/usr/bin/env bash
# sync.sh - `diaryx sync` figures against a real diaryx-server on a loopback port: the first
# sync of a 10,000-entry workspace up (link --create) and down (link into an empty
# directory), and an incremental sync of 10 changed entries (sync now on the sender, then on
# the receiver). Release build: BUILD=build bench/sync.sh [ENTRIES]
set -eu
BUILD=${BUILD:-build}
N=${1:-10000}
DIARYX=$PWD/$BUILD/diaryx
SERVER=$PWD/$BUILD/diaryx-server
T=$(mktemp -d /tmp/dx-bench-sync.XXXXXX)
trap 'kill $SPID 2>/dev/null; rm -rf "$T"' EXIT
export XDG_CONFIG_HOME=$T/conf HOME=$T
PORT=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
"$SERVER" --data "$T/data" user add b@example.org --plan sync >/dev/null
TOKEN=$("$SERVER" --data "$T/data" token b@example.org)
"$SERVER" --data "$T/data" --listen "127.0.0.1:$PORT" 2>"$T/server.log" &
SPID=$!
for _ in $(seq 1 100); do curl -sf "http://127.0.0.1:$PORT/health" >/dev/null && break; sleep 0.05; done
ms() { date +%s%3N; }

# A workspace of N entries under one index (as bench_scale.c), imported by a first command.
mkdir -p "$T/a/big" "$T/b"
python3 - "$T/a" "$N" <<'PY'
import sys
root, n = sys.argv[1], int(sys.argv[2])
open(f"{root}/README.md", "w").write('---\ntitle: Scale\ncontents:\n  - "[Big](/big/big.md)"\n---\n')
lines = ['---\ntitle: Big\npart_of: "[Scale](/README.md)"\ncontents:\n']
for i in range(n):
    lines.append(f'  - "[Entry {i}](/big/e{i}.md)"\n')
    open(f"{root}/big/e{i}.md", "w").write(
        f'---\ntitle: Entry {i}\npart_of: "[Big](/big/big.md)"\n---\n\nDay {i}.\n')
lines.append("---\n")
open(f"{root}/big/big.md", "w").write("".join(lines))
PY
(cd "$T/a" && "$DIARYX" workspace info --depth 1 >/dev/null)
(cd "$T/a" && "$DIARYX" sync login "http://127.0.0.1:$PORT" --token "$TOKEN" >/dev/null)
db_bytes() { sqlite3 "$1" "select coalesce(sum(length(state)),0) + (select coalesce(sum(length(data)),0) from updates) from documents"; }

t0=$(ms); (cd "$T/a" && "$DIARYX" sync link --create Bench >"$T/up.out"); t1=$(ms)
echo "up   ($N entries): $((t1 - t0)) ms; $(tail -1 "$T/up.out")"
W=$(cd "$T/a" && "$DIARYX" sync status --json | python3 -c 'import json,sys; print(json.load(sys.stdin)["workspace_id"])')
t0=$(ms); (cd "$T/b" && "$DIARYX" sync link "$W" >"$T/down.out"); t1=$(ms)
echo "down ($N entries): $((t1 - t0)) ms; $(tail -1 "$T/down.out")"
(cd "$T/a" && "$DIARYX" crdt compact --keep 0 >/dev/null)
echo "compacted documents of A: $(db_bytes "$T/a/.diaryx/crdt.db") bytes"
same=$(cd "$T/a" && find . -name '*.md' | sort | xargs cat | sha256sum)
[ "$same" = "$(cd "$T/b" && find . -name '*.md' | sort | xargs cat | sha256sum)" ] && echo "B's files are A's" || echo "B's files DIFFER"
for i in $(seq 0 9); do echo "changed $i" >>"$T/a/big/e$((i * 997)).md"; done
t0=$(ms); (cd "$T/a" && "$DIARYX" sync now >"$T/inc.out"); t1=$(ms)
echo "incremental, 10 entries, sender: $((t1 - t0)) ms; $(tail -1 "$T/inc.out")"
t0=$(ms); (cd "$T/b" && "$DIARYX" sync now >"$T/inc2.out"); t1=$(ms)
echo "incremental, 10 entries, receiver: $((t1 - t0)) ms; $(tail -1 "$T/inc2.out")"
grep -c "changed" "$T"/b/big/e*.md | grep -c ':1$' | sed 's/^/entries changed on B: /'
uptime
