#!/usr/bin/env bash
# hostile_fs.sh - nothing escapes: no symbolic link is followed, no path inside .git or
# .diaryx is accepted, bytes another program writes meanwhile are never lost, ignored files
# stay out of history, and every refusal names the path as typed and says what to do.
. "$(dirname "$0")/lib.bash"

mkdir elsewhere elsewhere/dir
printf -- '---\ntitle: Victim\n---\nvictim body\n' >elsewhere/victim.md
cp elsewhere/victim.md elsewhere/dir/x.md
cp elsewhere/victim.md "$T/victim.orig"
"$DIARYX" init ws >/dev/null
cd ws
"$DIARYX" create a.md >/dev/null

# ---- 1. symbolic links are never followed, for reading or writing ----
ln -s ../elsewhere/victim.md link.md
ln -s ../elsewhere/dir linkdir
ln -s a.md inner.md # a link that stays inside is not followed either
check_rc "adding a link to a file outside fails" 1 "$DIARYX" workspace add README.md link.md
contains "the refusal names the link and says what to do" "$T/.err" "'link.md' is a symbolic link"
contains "the refusal says what to do" "$T/.err" "replace it with what it points to, or remove it"
check_rc "content set through the link fails (not a warning and exit 0)" 1 "$DIARYX" content set link.md OVERWRITTEN
check_rc "content get through the link fails" 1 "$DIARYX" content get link.md
check_rc "a file in a linked directory is refused" 1 "$DIARYX" workspace add README.md linkdir/x.md
contains "the linked directory is named" "$T/.err" "'linkdir' is a symbolic link"
check_rc "create in a linked directory fails" 1 "$DIARYX" create linkdir/new.md
contains "create names the link, not 'already exists'" "$T/.err" "'linkdir' is a symbolic link"
check_rc "a link inside the workspace is not followed either" 1 "$DIARYX" content get inner.md
check "commit" "$DIARYX" commit -m links
cmp -s ../elsewhere/victim.md "$T/victim.orig" && pass || fail "the file outside is untouched"
cmp -s ../elsewhere/dir/x.md "$T/victim.orig" && pass || fail "the file in the linked directory is untouched"
[ ! -e ../elsewhere/dir/new.md ] && pass || fail "nothing was created in the linked directory"
lacks "no outside bytes in the CRDT store" .diaryx/crdt.db "victim body"
[ -z "$(git log -p --all | grep -F 'victim body')" ] && pass || fail "no outside bytes in git"
check_rc "validate reports the links" 1 "$DIARYX" validate
contains "validate: file link" "$T/.out" "SymbolicLink: link.md is a symbolic link"
contains "validate: directory link" "$T/.out" "SymbolicLink: linkdir is a symbolic link"
contains "validate: inner link" "$T/.out" "SymbolicLink: inner.md is a symbolic link"

# A recorded entry's file replaced by a link: never read through, never written through.
mv a.md "$T/a.saved"
ln -s ../elsewhere/victim.md a.md
check_rc "a command still runs" 0 "$DIARYX" crdt info
contains "the scan warns about the link" "$T/.err" "'a.md' is a symbolic link"
"$DIARYX" content set README.md "root text" >/dev/null 2>&1
check "commit with the link in place" "$DIARYX" commit -m "link in place"
cmp -s ../elsewhere/victim.md "$T/victim.orig" && pass || fail "the outside file is untouched after commit"
[ -z "$(git log -p --all | grep -F 'victim body')" ] && pass || fail "no outside bytes in git after the swap"
rm a.md link.md linkdir inner.md
mv "$T/a.saved" a.md

# ---- 4. paths inside .git and .diaryx are refused, with a clear error ----
for p in .git/evil.md .diaryx/x.md .GIT/evil.md .Diaryx/y.md .git/hooks/pre-commit; do
    check_rc "create $p fails" 1 "$DIARYX" create "$p"
    contains "create $p: the error names it" "$T/.err" "'$p' is inside the hidden directory"
done
[ ! -e .git/evil.md ] && [ ! -e .diaryx/x.md ] && [ ! -e .git/hooks/pre-commit.md ] && pass || fail "nothing was written into .git or .diaryx"
lacks "the root index does not link into .git" README.md ".git/"
check_rc "workspace mv into .git fails" 1 "$DIARYX" workspace mv a.md .git/a.md
contains "mv names the destination" "$T/.err" "'.git/a.md' is inside the hidden directory '.git'"
[ -f a.md ] && [ ! -e .git/a.md ] && pass || fail "a.md stays where it was"
check "a later commit still works" "$DIARYX" commit -m after
mkdir -p "$XDG_CONFIG_HOME/diaryx"
for folder in .git .diaryx/daily notes/.git; do
    printf 'daily_entry_folder = "%s"\n' "$folder" >"$XDG_CONFIG_HOME/diaryx/config.toml"
    check_rc "daily_entry_folder = $folder is refused" 1 "$DIARYX" today --no-edit
    contains "daily_entry_folder $folder: named" "$T/.err" "daily_entry_folder: '$folder' is inside the hidden directory"
done
printf 'daily_entry_folder = "%s"\n' "$T/abs" >"$XDG_CONFIG_HOME/diaryx/config.toml"
check_rc "an absolute daily_entry_folder is refused" 1 "$DIARYX" today --no-edit
contains "absolute folder: explained" "$T/.err" "is an absolute path; set it to a folder relative to the workspace root"
[ ! -e "$T/ws/$T/abs" ] && [ ! -e "$T/abs" ] && pass || fail "no daily entry written for the absolute folder"
rm "$XDG_CONFIG_HOME/diaryx/config.toml"
[ -z "$(git ls-tree -r --name-only HEAD | grep -i -e '^\.git' -e '^\.diaryx')" ] && pass || fail "no .git or .diaryx path in history"

# ---- 14. refusals echo the path as typed ----
check_rc "create ../x.md fails" 1 "$DIARYX" create ../x.md
contains "create ../x.md: named as typed" "$T/.err" "'../x.md' leaves the workspace"
lacks "create ../x.md: not the joined path" "$T/.err" "'/../x.md'"
mkdir -p notes
check_rc "from a subdirectory" 1 sh -c "cd notes && '$DIARYX' create ../../x.md"
contains "subdirectory: named as typed" "$T/.err" "'../../x.md' leaves the workspace"
check_rc "workspace mv to ../x.md fails" 1 "$DIARYX" workspace mv a.md ../x.md
contains "mv ../x.md: named as typed" "$T/.err" "'../x.md' leaves the workspace"
check_rc "content get ../x.md fails" 1 "$DIARYX" content get ../x.md
contains "content get ../x.md: named as typed" "$T/.err" "'../x.md'"
lacks "content get: not the joined path" "$T/.err" "'/../x.md'"

# ---- 2. bytes another program writes during diaryx's writes are never lost ----
# An editor appends numbered lines every 10 ms while diaryx takes in, writes and commits
# the same file; afterwards every line is on disk and, after a final commit, in git.
cd "$T" && "$DIARYX" init ws2 >/dev/null && cd ws2
"$DIARYX" create log.md >/dev/null
"$DIARYX" commit -m "before the writer" >/dev/null
(
    i=0
    while [ ! -e "$T/stop" ]; do
        i=$((i + 1))
        echo "line $i" >>log.md
        echo "$i" >"$T/written"
        sleep 0.01
    done
) &
writer=$!
for round in 1 2 3 4 5 6 7 8; do
    "$DIARYX" watch --once --interval 0 >/dev/null 2>&1
    "$DIARYX" property set log.md round "$round" >/dev/null 2>&1
    "$DIARYX" content append README.md "round $round" >/dev/null 2>&1
done
touch "$T/stop"
wait $writer
"$DIARYX" commit -m "after the writer" >/dev/null 2>&1
check "a final commit" "$DIARYX" commit -m "settled"
git show HEAD:log.md >"$T/log.head"
cat log.md conflict-*.md 2>/dev/null >"$T/log.disk"
n=$(cat "$T/written")
missing_disk=0
missing_git=0
for i in $(seq 1 "$n"); do
    grep -qx "line $i" "$T/log.disk" || missing_disk=$((missing_disk + 1))
    [ "$(grep -cx "line $i" "$T/log.head")" -eq 1 ] || missing_git=$((missing_git + 1))
done
[ "$n" -gt 50 ] && pass || fail "the writer wrote only $n lines"
same "every appended line is on disk ($n lines)" "$missing_disk" 0
same "every appended line is in git exactly once ($n lines)" "$missing_git" 0

# ---- 5. files git ignores are not taken in and not committed ----
cd "$T" && "$DIARYX" init ws5 >/dev/null && cd ws5
printf 'secret.md\ndrafts/\n' >.gitignore
mkdir -p drafts/deep
printf -- '---\ntitle: Secret\n---\nsecret text\n' >secret.md
printf -- '---\ntitle: Draft\n---\ndraft text\n' >drafts/d.md
printf -- '---\ntitle: Deep\n---\ndeep text\n' >drafts/deep/e.md
printf -- '---\ntitle: Public\n---\npublic text\n' >public.md
printf -- '---\ntitle: Local\n---\nlocal text\n' >local.md
echo 'local.md' >>.git/info/exclude
check "commit with ignored files present" "$DIARYX" commit -m ignored
git ls-tree -r --name-only HEAD >"$T/tree"
contains "a file not ignored is committed" "$T/tree" "public.md"
lacks "secret.md (.gitignore) is not committed" "$T/tree" "secret.md"
lacks "drafts/ (.gitignore) is not committed" "$T/tree" "drafts/"
lacks "local.md (.git/info/exclude) is not committed" "$T/tree" "local.md"
lacks "no ignored bytes in the CRDT" .diaryx/crdt.db "secret text"
lacks "no ignored draft in the CRDT" .diaryx/crdt.db "deep text"
check_rc "create at an ignored path is refused" 1 "$DIARYX" create drafts/new.md
contains "the refusal says why and what to do" "$T/.err" "is ignored by git (.gitignore or .git/info/exclude)"
check_rc "create of an ignored file is refused" 1 "$DIARYX" create secret.md --title x
[ -z "$(git log --all -p | grep -F -e 'secret text' -e 'draft text' -e 'local text')" ] && pass || fail "no ignored bytes anywhere in git"
# An entry whose path becomes ignored stays tracked (as in git).
echo 'public.md' >>.gitignore
"$DIARYX" content append public.md "more" >/dev/null
check "commit after ignoring a tracked entry" "$DIARYX" commit -m "still tracked"
git ls-tree -r --name-only HEAD >"$T/tree"
contains "a tracked entry stays in the history" "$T/tree" "public.md"
finish
