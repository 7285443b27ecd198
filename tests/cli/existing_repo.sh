#!/usr/bin/env bash
# existing_repo.sh - diaryx in a git repository that already holds the user's files: those
# files (code, images, a markdown file diaryx cannot read, markdown under a build directory)
# stay in every commit and on disk; only the entries are diaryx's.
. "$(dirname "$0")/lib.bash"

mkdir -p repo/src repo/img repo/build && cd repo
git init -q -b main . && git config user.email u@example.com && git config user.name User
printf 'int main(void) { return 0; }\n' >src/main.c
printf '\x89PNG fake image bytes\n' >img/logo.png
printf -- '---\ntitle: [broken\n---\nkeep me\n' >broken.md
printf '# generated\n' >build/out.md
printf -- '---\ntitle: Notes\n---\nsome notes\n' >notes.md
git add -A && git commit -q -m "The user's project"

check "init in an existing repository" "$DIARYX" init .
same "history kept" "$(git log --format=%s | tail -1)" "The user's project"
git ls-files >"$T/files"
for f in src/main.c img/logo.png broken.md build/out.md; do
    contains "$f still tracked" "$T/files" "$f"
    [ -f "$f" ] && pass || fail "$f still on disk"
done
contains "the root index is committed" "$T/files" "README.md"
cmp -s src/main.c <(printf 'int main(void) { return 0; }\n') && pass || fail "code untouched"

check "an entry edit" "$DIARYX" content append notes.md "more"
check "commit" "$DIARYX" commit
git show --stat HEAD --format= >"$T/stat"
contains "only the entry changed" "$T/stat" "notes.md"
lacks "code not in the commit" "$T/stat" "main.c"
git ls-files >"$T/files2"
contains "code still tracked" "$T/files2" "src/main.c"
contains "image still tracked" "$T/files2" "img/logo.png"
contains "unreadable note still tracked" "$T/files2" "broken.md"
same "status clean" "$(git status --porcelain)" ""

# Restoring the workspace touches entries only.
printf 'int main(void) { return 1; }\n' >src/main.c
git commit -qam "user change to code"
check "restore the workspace" "$DIARYX" restore HEAD~3
contains "code keeps the user's change" src/main.c "return 1"
lacks "the entry edit is undone" notes.md "more"
[ -f README.md ] && pass || fail "the root index survives a restore to before it existed"
check "still a workspace" "$DIARYX" workspace info
git fsck --strict >/dev/null 2>&1 && pass || fail "fsck"
finish
