#!/usr/bin/env bash
# hostile_history.sh - the history commands against a hostile or unlucky repository: git lock
# files of a running git command are never removed, a commit either is not made or stands,
# and every refusal names the user's input and what to do.
. "$(dirname "$0")/lib.bash"

"$DIARYX" init ws >/dev/null 2>&1 && pass || fail "init"
cd ws
check "create" "$DIARYX" create a.md --title A
check "append" "$DIARYX" content append a.md "first"
check "commit" "$DIARYX" commit
head0=$(git rev-parse HEAD)

# A git lock file held open by a live process (a git command at work) stays, however old.
touch -d '2 hours ago' .git/index.lock
sh -c 'exec 3>>.git/index.lock; exec sleep 60' &
holder=$!
for _ in $(seq 1 50); do [ "$(cat /proc/$holder/comm 2>/dev/null)" = sleep ] && break; sleep 0.1; done
check "append" "$DIARYX" content append a.md "second"
check_rc "commit beside a held lock fails" 1 "$DIARYX" commit
contains "the held lock is named" "$T/.err" ".git/index.lock"
contains "the holder is named" "$T/.err" "in use by process $holder"
[ -f .git/index.lock ] && pass || fail "a lock held by a live process is not removed"
same "HEAD did not move" "$(git rev-parse HEAD)" "$head0"
kill "$holder"
wait "$holder" 2>/dev/null
# Nobody holds it any more and it is old: stale, removed, the commit goes through.
check "commit once the lock is stale" "$DIARYX" commit
[ -e .git/index.lock ] && fail "a stale lock is removed" || pass
[ "$(git rev-parse HEAD)" != "$head0" ] && pass || fail "the commit was made"

# A young lock nobody holds may be a git command between closing and renaming it: kept, and
# the message says what to do.
touch .git/HEAD.lock
check "append" "$DIARYX" content append a.md "third"
check_rc "commit beside a young lock fails" 1 "$DIARYX" commit
contains "the young lock is named" "$T/.err" ".git/HEAD.lock"
contains "what to do" "$T/.err" "try again"
[ -f .git/HEAD.lock ] && pass || fail "a young lock is not removed"
rm .git/HEAD.lock
check "commit after the user removed it" "$DIARYX" commit

# A directory where git's index lock goes: the commit is not made (HEAD stays) and the
# message says what to remove; before, HEAD moved and the command failed.
head1=$(git rev-parse HEAD)
mkdir .git/index.lock
check "append" "$DIARYX" content append a.md "fourth"
check_rc "commit with a squatted index lock fails" 1 "$DIARYX" commit
contains "the squatted lock is named" "$T/.err" ".git/index.lock"
contains "what to remove" "$T/.err" "remove that directory"
same "HEAD did not move" "$(git rev-parse HEAD)" "$head1"
rmdir .git/index.lock
check "commit once the directory is gone" "$DIARYX" commit
same "git agrees" "$(git status --porcelain)" ""


# A store that is no database any more: the CRDT is imported from the files again, every
# entry with the id it had (the body documents keep their names) and the uncommitted append
# on disk kept.
docs() { "$DIARYX" crdt info --json | grep -o '"body/[^"]*"' | sort; }
before=$(docs)
check "append" "$DIARYX" content append a.md "uncommitted fifth"
head -c 4096 /dev/urandom >.diaryx/crdt.db
check "a damaged store is imported again" "$DIARYX" workspace info
same "every entry keeps its id" "$(docs)" "$before"
contains "the uncommitted append is kept" a.md "uncommitted fifth"
check "commit after the import" "$DIARYX" commit
git show HEAD:a.md >"$T/a.committed"
contains "the append is committed" "$T/a.committed" "uncommitted fifth"

finish
