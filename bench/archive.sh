#!/usr/bin/env bash
# archive.sh - `diaryx export --archive` and `diaryx import` of a workspace with ENTRIES
# entries (one index holding them all, as bench_scale's "move" workspace), COMMITS commits
# of history (made with git fast-import: each edits 10 entries) and ATTACH_MB of attachments
# (2 MiB random .png files, stored uncompressed in the ZIP). Each command runs as a new
# process under /usr/bin/time -v: wall time and peak RSS.
# Usage: bench/archive.sh BUILD_DIR [DIR] [ENTRIES] [COMMITS] [ATTACH_MB]
# (defaults: /tmp/dx-archive-bench, 10000, 1000, 100).
set -euo pipefail
build=$(cd "$1" && pwd)
dir=${2:-/tmp/dx-archive-bench}
entries=${3:-10000}
commits=${4:-1000}
mb=${5:-100}
diaryx=$build/diaryx
export NO_COLOR=1 HOME=$dir XDG_CONFIG_HOME=$dir/.config GIT_CONFIG_NOSYSTEM=1
export GIT_AUTHOR_NAME=bench GIT_AUTHOR_EMAIL=bench@example.com
export GIT_COMMITTER_NAME=bench GIT_COMMITTER_EMAIL=bench@example.com
rm -rf "$dir" && mkdir -p "$dir/ws"
cd "$dir/ws"
git init -q -b main .
python3 - "$entries" "$commits" "$mb" <<'PY' | git fast-import --quiet
import os, sys
entries, commits, mb = int(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3])
out = sys.stdout.buffer
def blob(mark, data):
    out.write(b"blob\nmark :%d\ndata %d\n" % (mark, len(data)) + data + b"\n")
def entry(i, edits):
    body = "".join("Edit %d.\n" % e for e in edits)
    return ("---\ntitle: Entry %d\npart_of: \"[Big](/big/big.md)\"\n---\n\nDay %d.\n%s" % (i, i, body)).encode()
readme = b"---\ntitle: Scale\ncontents:\n- \"[Big](/big/big.md)\"\n---\n\n# Scale\n"
big = "---\ntitle: Big\npart_of: \"[Scale](/README.md)\"\ncontents:\n" + "".join(
    "- \"[Entry %d](/big/e%06d.md)\"\n" % (i, i) for i in range(entries)) + "---\n"
edits = {}
mark = 1
t = 1700000000
for c in range(commits):
    files = []
    if c == 0:
        blob(mark, readme); files.append(("README.md", mark)); mark += 1
        blob(mark, big.encode()); files.append(("big/big.md", mark)); mark += 1
        for i in range(entries):
            blob(mark, entry(i, [])); files.append(("big/e%06d.md" % i, mark)); mark += 1
        for a in range(mb // 2):
            blob(mark, os.urandom(2 << 20)); files.append(("attachments/photo%03d.png" % a, mark)); mark += 1
    else:
        for k in range(10):
            i = (c * 10 + k) % entries
            edits.setdefault(i, []).append(c)
            blob(mark, entry(i, edits[i])); files.append(("big/e%06d.md" % i, mark)); mark += 1
    msg = b"commit %d\n" % c
    out.write(b"commit refs/heads/main\ncommitter bench <bench@example.com> %d +0000\ndata %d\n%s" % (t + c, len(msg), msg))
    for path, m in files:
        out.write(b"M 100644 :%d %s\n" % (m, path.encode()))
    out.write(b"\n")
PY
git checkout -q -f main
printf '.diaryx/\n' >>.git/info/exclude
measure() { # LABEL COMMAND...: wall seconds and peak RSS of one run
    local label=$1
    shift
    /usr/bin/time -v "$@" >"$dir/last.out" 2>"$dir/time.out" || {
        echo "$label failed:"
        tail -5 "$dir/last.out" "$dir/time.out"
        exit 1
    }
    local wall rss
    wall=$(grep "Elapsed (wall clock)" "$dir/time.out" | awk '{print $NF}')
    rss=$(grep "Maximum resident set size" "$dir/time.out" | awk '{print $NF}')
    printf '%-52s %10s wall %8.1f MB peak RSS\n' "$label" "$wall" "$(echo "$rss / 1024" | bc -l)"
}
echo "workspace: $entries entries, $commits commits, $mb MB of attachments; .git $(du -sm .git | cut -f1) MB"
measure "set-up: import into the CRDT, first diaryx commit" "$diaryx" commit -m set-up
measure "export --archive OUT.zip" "$diaryx" export --archive "$dir/out.zip"
echo "archive: $(du -m "$dir/out.zip" | cut -f1) MB, $(python3 -c "import zipfile,sys; print(len(zipfile.ZipFile(sys.argv[1]).namelist()))" "$dir/out.zip") entries"
measure "export --archive OUT_DIR/" "$diaryx" export --archive "$dir/outdir/"
cd "$dir"
measure "import OUT.zip DEST" "$diaryx" import "$dir/out.zip" "$dir/imp"
measure "import OUT_DIR/ DEST (a folder)" "$diaryx" import "$dir/outdir" "$dir/imp2"
measure "reference: unzip -q OUT.zip (the copy alone)" unzip -q "$dir/out.zip" -d "$dir/unz"
measure "reference: diaryx validate in the import" "$diaryx" -w "$dir/imp" validate
[ "$(git -C "$dir/imp" rev-parse HEAD)" = "$(git -C "$dir/ws" rev-parse HEAD)" ] &&
    echo "round trip: same HEAD $(git -C "$dir/ws" rev-parse --short HEAD), $(git -C "$dir/imp" rev-list --count HEAD) commits" ||
    echo "round trip: HEAD differs (an import commit on top)"
[ -n "${KEEP:-}" ] || rm -rf "$dir"
