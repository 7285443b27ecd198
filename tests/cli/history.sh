#!/usr/bin/env bash
# history.sh - git-backed history through the diaryx CLI: init, edits, commit, log, diff,
# restore a file and the workspace, an external edit committed, compaction after commits,
# watch; the system git reads every repository written (fsck --strict, log, show, status).
. "$(dirname "$0")/lib.bash"

gitok() { # the repository is sound and the work tree clean
    if git -C "$1" fsck --strict >/dev/null 2>"$T/.fsck" &&
        [ -z "$(git -C "$1" status --porcelain)" ]; then pass; else
        fail "$2: fsck/status ($(cat "$T/.fsck"; git -C "$1" status --porcelain | head -5))"
    fi
}

"$DIARYX" init ws >"$T/out" 2>&1 && pass || fail "init ($(cat "$T/out"))"
contains "init commits" "$T/out" "Committed"
cd ws
[ -d .git ] && pass || fail "the workspace is a git repository"
same "one commit" "$(git log --format=%s)" "Create workspace"
gitok . "after init"

# Edits, then a commit with a generated message listing the files.
check "create" "$DIARYX" create notes/idea.md --title Idea
check "append" "$DIARYX" content append notes/idea.md "first thought"
"$DIARYX" diff >"$T/diff"
contains "diff shows the new file" "$T/diff" "+++ b/notes/idea.md"
contains "diff shows the new line" "$T/diff" "+first thought"
"$DIARYX" diff notes/idea.md >"$T/diff1"
lacks "diff FILE shows only that file" "$T/diff1" "README.md"
"$DIARYX" commit >"$T/out" && pass || fail "commit"
contains "only the changes were checked" "$T/out" "3 entries checked, the changes since the last commit"
same "summary line" "$(git log -1 --format=%s)" "Update 3 entries"
git log -1 --format=%B >"$T/msg"
contains "changed files listed" "$T/msg" "A	notes/idea.md"
contains "device trailer" "$T/msg" "Device: "
contains "date trailer" "$T/msg" "Date: "
gitok . "after commit"
"$DIARYX" commit >"$T/out"
contains "nothing to commit" "$T/out" "Nothing to commit"
same "no empty commit" "$(git rev-list --count HEAD)" "2"

# An untracked file of the user is never committed; .diaryx is never history.
mkdir -p private && printf 'secret\n' >private/keys.txt
check "edit" "$DIARYX" content append notes/idea.md "second thought"
check "commit -m" "$DIARYX" commit -m "More thoughts"
same "user message" "$(git log -1 --format=%s)" "More thoughts"
[ -z "$(git ls-files private .diaryx)" ] && pass || fail "untracked and .diaryx files not committed"
same "status shows only the user's file" "$(git status --porcelain)" "?? private/"
rm -rf private

# log of the workspace and of a file.
"$DIARYX" log >"$T/log"
same "log lines" "$(wc -l <"$T/log")" "3"
"$DIARYX" log notes/idea.md >"$T/log1"
same "file log" "$(wc -l <"$T/log1")" "2"
"$DIARYX" log -n 1 --json >"$T/log.json"
contains "json log" "$T/log.json" '"summary":"More thoughts"'

# An external edit, then a commit.
sed -i 's/second thought/second thought, edited in vim/' notes/idea.md
check "commit after an external edit" "$DIARYX" commit
git show HEAD:notes/idea.md >"$T/show"
contains "the external edit is committed" "$T/show" "edited in vim"
gitok . "after the external edit"

# diff between two revisions.
"$DIARYX" diff HEAD~1 HEAD >"$T/diff2"
contains "revision diff" "$T/diff2" "+second thought, edited in vim"

# Restore one file, then the whole workspace.
check "restore a file" "$DIARYX" restore HEAD~2 notes/idea.md
lacks "file back" notes/idea.md "second thought"
contains "restore is a commit" <(git log -1 --format=%s) "Restore notes/idea.md to"
gitok . "after restoring a file"
check "restore the workspace" "$DIARYX" restore "$(git rev-list --max-parents=0 HEAD)"
[ ! -e notes/idea.md ] && pass || fail "entries that did not exist are gone"
lacks "root no longer lists notes" README.md "notes"
gitok . "after restoring the workspace"
check "undo the restore" "$DIARYX" restore HEAD~1
contains "back to the state before it" notes/idea.md "first thought"
"$DIARYX" crdt history notes/idea.md --json >"$T/h.json"
contains "a restore is made of CRDT edits" "$T/h.json" '"origin":"local"'

# Compaction after commits: 60 edits, then a commit keeps 50 updates per document.
for i in $(seq 1 60); do "$DIARYX" content append notes/idea.md "line $i" 2>/dev/null || fail "edit $i"; done
before=$(sha256sum <notes/idea.md)
check "commit compacts" "$DIARYX" commit
"$DIARYX" crdt history notes/idea.md -n 1000 --json >"$T/h2.json"
same "50 body updates kept" "$(grep -o '"changed":"body"' "$T/h2.json" | wc -l)" "50"
same "state unchanged" "$(sha256sum <notes/idea.md)" "$before"
same "committed state unchanged" "$(git show HEAD:notes/idea.md | sha256sum)" "$before"

# watch: takes in an external edit and commits once the quiet interval has passed.
printf -- '---\ntitle: Dropped\n---\nfrom another app\n' >notes/dropped.md
check "watch --once" "$DIARYX" watch --once --interval 0
git show HEAD:notes/dropped.md >"$T/show2" 2>&1
contains "watch committed the new file" "$T/show2" "from another app"
gitok . "after watch"
git count-objects -v >"$T/objects"
contains "objects are counted" "$T/objects" "count:"

# watch --daemon: detached, it takes in an external edit and commits on its own.
"$DIARYX" watch --daemon --poll 0.2 --interval 1 >"$T/daemon" 2>&1 && pass || fail "watch --daemon ($(cat "$T/daemon"))"
sleep 0.5
[ -s .diaryx/watch.pid ] && pass || fail "the daemon wrote its pid"
pid=$(cat .diaryx/watch.pid 2>/dev/null)
printf -- '---\ntitle: Later\n---\nwritten while watched\n' >notes/later.md
for _ in $(seq 1 100); do
    git show HEAD:notes/later.md >/dev/null 2>&1 && break
    sleep 0.1
done
git show HEAD:notes/later.md >"$T/show3" 2>&1
contains "the daemon committed the new file" "$T/show3" "written while watched"
# Another diaryx process stores an edit while the daemon keeps its session open.
check "append while watched" "$DIARYX" content append notes/later.md "appended by another diaryx"
for _ in $(seq 1 100); do
    git show HEAD:notes/later.md 2>/dev/null | grep -q "appended by another" && break
    sleep 0.1
done
git show HEAD:notes/later.md >"$T/show4" 2>&1
contains "the daemon committed the other process's edit" "$T/show4" "appended by another diaryx"
contains "the file holds both" "notes/later.md" "written while watched"
kill "$pid" 2>/dev/null && pass || fail "the daemon was running"
for _ in $(seq 1 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
kill -0 "$pid" 2>/dev/null && fail "the daemon stops on SIGTERM" || pass
gitok . "after the daemon"

# --check-all renders every entry, even when only one changed.
count=$(git ls-files '*.md' | wc -l)
check "append again" "$DIARYX" content append notes/idea.md "third thought"
"$DIARYX" commit --check-all >"$T/out" && pass || fail "commit --check-all"
contains "--check-all checks every entry" "$T/out" "1 file changed; $count entries checked)"
gitok . "after commit --check-all"

# A restore keeps an unmanaged file of the revision out of the CRDT, and keeps the files
# diaryx does not manage as they are.
echo "binary" >logo.png
check "restore with an attachment on disk" "$DIARYX" restore HEAD
same "an attachment is left alone" "$(cat logo.png)" "binary"
rm logo.png

# The third failed check in a row rebuilds the CRDT and the command goes on with the new
# store (the CLI owns its session: it closes it and opens the rebuilt one). Check 3 fails
# when the record of a file says it holds the committed bytes while the CRDT renders others.
check "append before the damage" "$DIARYX" content append notes/idea.md "kept on disk"
committed=$(git rev-parse HEAD:notes/idea.md)
sqlite3 .diaryx/crdt.db "update files set hash='$committed' where path='notes/idea.md';
  insert or replace into meta(key, value) values('commit_failures', '2')"
check_rc "the third failed check" 1 "$DIARYX" commit
contains "check 3 is named" "$T/.err" "notes/idea.md: unchanged since the last commit"
contains "the rebuild is reported" "$T/.err" "the CRDT was rebuilt from the last commit and the files on disk"
ls .diaryx | grep -q '^crdt.db.broken-' && pass || fail "the old store is kept aside"
contains "uncommitted work stays on disk" notes/idea.md "kept on disk"
check "commit after the rebuild" "$DIARYX" commit
contains "the rebuilt CRDT has the uncommitted work" <(git show HEAD:notes/idea.md) "kept on disk"
gitok . "after the rebuild"

check_rc "restore needs a revision" 2 "$DIARYX" restore
check_rc "unknown revision" 1 "$DIARYX" restore nope
check_rc "commit takes no argument" 2 "$DIARYX" commit extra
finish
