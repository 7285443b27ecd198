#!/usr/bin/env bash
# exclude.sh - the `exclude` globs of the root index and of .diaryx/config.toml: excluded
# markdown files and directories are not taken in, not committed, and validate is quiet
# about them (and about excluded binaries); what is not excluded is treated as before.
. "$(dirname "$0")/lib.bash"

"$DIARYX" init ws >/dev/null
cd ws
# The root index gets an exclude list (an external edit, taken in by the next command).
sed -i '0,/^contents: \[\]$/s//contents: []\nexclude:\n- "*.tmp.md"\n- drafts\n- "**\/*.png"/' README.md
mkdir -p drafts/deep notes pics
printf -- '---\ntitle: Draft\n---\ndraft text\n' >drafts/d.md
printf -- '---\ntitle: Deep\n---\ndeep text\n' >drafts/deep/e.md
printf -- '---\ntitle: Scratch\n---\nscratch text\n' >notes/scratch.tmp.md
printf -- '---\ntitle: Kept\n---\nkept text\n' >notes/kept.md
printf 'PNG' >pics/photo.png
printf 'PDF' >pics/paper.pdf

check "commit with excluded files present" "$DIARYX" commit -m "with excludes"
git ls-files >"$T/files"
contains "the root index with its exclude list is committed" README.md 'drafts'
contains "a file not excluded is committed" "$T/files" "notes/kept.md"
lacks "an excluded directory is not committed" "$T/files" "drafts/"
lacks "an excluded file (by name) is not committed" "$T/files" "scratch.tmp.md"
lacks "no excluded bytes in the CRDT" .diaryx/crdt.db "draft text"
lacks "no excluded deep bytes in the CRDT" .diaryx/crdt.db "deep text"
lacks "no excluded scratch bytes in the CRDT" .diaryx/crdt.db "scratch text"
contains "a file not excluded is in the CRDT" .diaryx/crdt.db "kept text"

# A change to an excluded file is not taken in either.
printf -- '---\ntitle: Draft\n---\ndraft text changed\n' >drafts/d.md
printf -- '---\ntitle: New\n---\nnew draft\n' >drafts/new.md
check "commit after excluded files changed" "$DIARYX" commit -m "changes"
lacks "a changed excluded file is not taken in" .diaryx/crdt.db "draft text changed"
lacks "a new file in an excluded directory is not taken in" .diaryx/crdt.db "new draft"
[ -z "$(git log --all -p | grep -F -e 'draft text' -e 'deep text' -e 'scratch text' -e 'new draft')" ] &&
    pass || fail "no excluded bytes anywhere in git"
check_rc "create at an excluded path is refused" 1 "$DIARYX" create drafts/other.md
contains "the refusal says why" "$T/.err" "excluded by an \`exclude\` glob"

# validate: quiet about excluded files and binaries, still reports the others.
check_rc "validate" 0 "$DIARYX" validate
lacks "no orphan report for an excluded directory" "$T/.out" "drafts/"
lacks "no orphan report for an excluded file" "$T/.out" "scratch.tmp.md"
lacks "no orphan report for an excluded binary" "$T/.out" "photo.png"
contains "an orphan that is not excluded is still reported" "$T/.out" "notes/kept.md"
contains "a binary that is not excluded is still reported" "$T/.out" "pics/paper.pdf"
"$DIARYX" validate --fix >/dev/null 2>&1
lacks "validate --fix links no excluded file" README.md "drafts/d.md"
lacks "validate --fix attaches no excluded binary" README.md "photo.png"

# The workspace config (this machine only) adds its own globs.
printf 'exclude = ["notes/local-*"]\n' >.diaryx/config.toml
printf -- '---\ntitle: Local\n---\nlocal only text\n' >notes/local-1.md
check "commit with a workspace config exclude" "$DIARYX" commit -m "local"
git ls-files >"$T/files"
lacks "a file the workspace config excludes is not committed" "$T/files" "local-1.md"
lacks "nor taken in" .diaryx/crdt.db "local only text"

# A bad exclude value stops the command with a message that says where and what to write.
printf 'exclude = 3\n' >.diaryx/config.toml
printf -- '---\ntitle: Trigger\n---\n' >notes/trigger.md
check_rc "a bad workspace config exclude is refused" 1 "$DIARYX" commit -m bad
contains "the message names the key and the file" "$T/.err" "invalid value for 'exclude' in"
contains "the message names the config file" "$T/.err" ".diaryx/config.toml"
rm .diaryx/config.toml notes/trigger.md

# An entry whose path becomes excluded stays tracked (as with .gitignore).
sed -i 's/^- drafts$/- drafts\n- kept.md/' README.md
"$DIARYX" content append notes/kept.md "more kept" >/dev/null
check "commit after excluding a tracked entry" "$DIARYX" commit -m "still tracked"
git ls-files >"$T/files"
contains "a tracked entry stays in the history" "$T/files" "notes/kept.md"
git show HEAD:notes/kept.md >"$T/kept"
contains "and its change is committed" "$T/kept" "more kept"
finish
