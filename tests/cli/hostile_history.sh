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

# Revisions that name nothing: the message names the user's input and what to name instead,
# not a config file ($HOME/.gitconfig) or "parent 0".
n=$(git rev-list --count HEAD)
for rev in '@{-1}' 'HEAD~99' 'nonsense'; do
    check_rc "restore $rev fails" 1 "$DIARYX" restore "$rev" a.md
    contains "restore names '$rev'" "$T/.err" "there is no revision '$rev'"
    contains "restore says what to name" "$T/.err" "HEAD~N with N from 1 to $((n - 1))"
    lacks "no libgit2 wording for $rev" "$T/.err" ".gitconfig"
    lacks "no 'parent 0' for $rev" "$T/.err" "parent 0"
    check_rc "diff $rev fails" 1 "$DIARYX" diff "$rev"
    contains "diff names '$rev'" "$T/.err" "there is no revision '$rev'"
done
check_rc "a tree is no commit" 1 "$DIARYX" restore 'HEAD^{tree}' a.md
contains "a tree is named as such" "$T/.err" "names a tree, not a commit"
check_rc "a file the revision lacks" 1 "$DIARYX" restore HEAD~1 nowhere.md
contains "the missing file and revision are named" "$T/.err" "cannot restore nowhere.md to 'HEAD~1'"
contains "what to look at" "$T/.err" "diaryx log nowhere.md"

# A commit (not made by diaryx) whose tree leaves the workspace or enters .git: the restore is
# refused before anything changes, naming the path; it no longer says "Restored".
export GIT_AUTHOR_NAME=x GIT_AUTHOR_EMAIL=x@x GIT_COMMITTER_NAME=x GIT_COMMITTER_EMAIL=x@x
blob=$(printf -- '---\ntitle: Evil\n---\nevil\n' | git hash-object -w --stdin)
sub=$(printf '100644 blob %s\tevil.md\n' "$blob" | git mktree)
for bad in .. .git; do
    tree=$( (git ls-tree HEAD; printf '040000 tree %s\t%s\n' "$sub" "$bad") | git mktree)
    evil=$(git commit-tree -p HEAD -m evil "$tree")
    before=$(cat a.md)
    check_rc "restore of a commit holding $bad/ fails" 1 "$DIARYX" restore "$evil"
    contains "the path is named" "$T/.err" "holds '$bad/evil.md'"
    lacks "no success claimed" "$T/.out" "Restored"
    same "nothing restored" "$(cat a.md)" "$before"
done
[ -e ../evil.md ] && fail "nothing written outside the workspace" || pass
[ -e .git/evil.md ] && fail "nothing written into .git" || pass

# A revision holding a markdown file that cannot be an entry (committed by hand): a restore
# of the workspace takes in the rest, names that file, and leaves it as it is.
printf -- '---\ntitle: [broken\n---\nby hand\n' >unreadable.md
git add unreadable.md && git commit -qm "by hand" && pass || fail "a commit by hand"
check "append after the commit by hand" "$DIARYX" content append a.md "after the hand commit"
check "restore a revision with an unreadable file" "$DIARYX" restore HEAD
contains "the unreadable file is named" "$T/.err" "'unreadable.md' at"
contains "and left alone" "$T/.err" "it is left as it is"
lacks "the entry is restored" a.md "after the hand commit"
same "the unreadable file is untouched" "$(tail -1 unreadable.md)" "by hand"
git rm -q unreadable.md && git commit -qm "remove by hand" && pass || fail "a removal by hand"

# A damaged object: every history command says the repository is damaged and what to do
# (not zlib's "incorrect header check" or "failed to inflate" alone). Loose objects, since
# libgit2 1.5 leaks memory on a damaged pack.
mkdir "$T/packs"
mv .git/objects/pack/pack-* "$T/packs/"
for p in "$T"/packs/*.pack; do git unpack-objects -q <"$p"; done
obj=$(git rev-parse HEAD~1)
chmod u+w ".git/objects/${obj:0:2}/${obj:2}"
printf 'garbage' >".git/objects/${obj:0:2}/${obj:2}"
for cmd in "log" "log a.md" "diff HEAD~1" "restore HEAD~1 a.md"; do
    # shellcheck disable=SC2086
    check_rc "$cmd on a damaged repository fails" 1 "$DIARYX" $cmd
    contains "$cmd says the repository is damaged" "$T/.err" "the git repository is damaged"
    contains "$cmd says what to do" "$T/.err" "git fsck"
done
# What the message suggests works: a new history from the files.
mv .git "$T/damaged.git"
check "a new history after moving the damaged one out" "$DIARYX" commit
contains "the files are in it" <(git show HEAD:a.md) "uncommitted fifth"
same "git agrees" "$(git status --porcelain)" ""

finish
