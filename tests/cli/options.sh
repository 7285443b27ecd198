#!/usr/bin/env bash
# options.sh - numeric options and settings are range-checked (nan, inf, negative, overflow,
# trailing garbage) with a message naming the option, the value and the range; watch counts
# its quiet time from the last stored update; --json on every read command; the daemon's
# pid file goes with the daemon; [git] keep_updates sets what compaction keeps.
source "$(dirname "$0")/lib.bash"

"$DIARYX" init ws >/dev/null 2>&1 || fail "init"
cd ws || exit 1
check "create" "$DIARYX" create notes/a.md --title "A"
check "first commit" "$DIARYX" commit

# refused OPTION... -- COMMAND...: each value of the option is a usage error (exit 2) whose
# message names the option, the value and "from MIN to MAX".
refused() {
    local opt=$1 range=$2
    shift 2
    local values=()
    while [ "$1" != "--" ]; do
        values+=("$1")
        shift
    done
    shift
    for v in "${values[@]}"; do
        check_rc "$* $opt $v" 2 "$@" "$opt" "$v"
        contains "$* $opt $v names it" "$T/.err" "$opt must be "
        contains "$* $opt $v names the value" "$T/.err" "not '$v'"
        contains "$* $opt $v names the range" "$T/.err" "$range"
    done
}
refused --poll "from 0.01 to 86400" nan inf -inf 0 -1 1e999 2x 0x10 "" -- "$DIARYX" watch --once
refused --interval "from 0 to 31536000" -1 nan 9223372036854775807 99999999999999999999 \
    31536001 5s 1.5 -- "$DIARYX" watch --once
refused -n "from 1 to 1000000000" 0 -3 nan 99999999999999999999 1x -- "$DIARYX" log
refused --depth "from 0 to 10000" -1 nan 99999999999999999999 3x -- "$DIARYX" workspace info
refused -n "from 1 to 1000000000" 0 -1 18446744073709551617 5x -- "$DIARYX" crdt history notes/a.md
refused --at "from 1 to 9223372036854775807" 0 -1 9223372036854775808 2x -- \
    "$DIARYX" crdt history notes/a.md
refused --keep "from 0 to 1000000" -1 nan 1000001 99999999999999999999 3x -- "$DIARYX" crdt compact
# Only the option given is checked, and each one is (-n used to hide --keep).
check_rc "crdt -n and a bad --keep" 2 "$DIARYX" crdt compact -n 5 --keep x
contains "the bad --keep is named" "$T/.err" "--keep must be"

# Settings: `config set` and the file are checked against each key's range.
for key in git.auto_commit_interval_minutes git.keep_updates; do
    for v in 0 -1 9223372036854775807 9223372036854775808 nan 12abc; do
        check_rc "config $key $v" 1 "$DIARYX" config -- "$key" "$v"
        contains "config $key $v names the key" "$T/.err" "$key must be an integer from 1 to"
        contains "config $key $v names the value" "$T/.err" "not '$v'"
    done
done
# An interval of 2^63-1 minutes overflowed (UBSan; "never" became "now" in Release).
mkdir -p "$XDG_CONFIG_HOME/diaryx"
printf '[git]\nauto_commit_interval_minutes = 9223372036854775807\n' >"$XDG_CONFIG_HOME/diaryx/config.toml"
check_rc "watch with an interval out of range" 1 "$DIARYX" watch --once
contains "the message names the key and the range" "$T/.err" \
    "git.auto_commit_interval_minutes must be an integer from 1 to 525600, not '9223372036854775807'"
rm "$XDG_CONFIG_HOME/diaryx/config.toml"

# watch --once: the quiet time counts from the last stored update, also when it was stored
# before the watch started (it counted from the watch's own start: never committed).
check "edit" "$DIARYX" content append notes/a.md "written before the watch"
check "watch --once, not quiet long enough yet" "$DIARYX" watch --once --interval 30
git show HEAD:notes/a.md >"$T/show" 2>&1
lacks "an edit 0 s old is not committed with a 30 s interval" "$T/show" "written before the watch"
sleep 3
check "watch --once, quiet long enough" "$DIARYX" watch --once --interval 2
git show HEAD:notes/a.md >"$T/show" 2>&1
contains "an edit older than the interval is committed" "$T/show" "written before the watch"

# watch --daemon removes its pid file when it stops on SIGTERM.
"$DIARYX" watch --daemon --poll 0.1 --interval 3600 >"$T/daemon" 2>&1 && pass || fail "watch --daemon"
[ -s .diaryx/watch.pid ] && pass || fail "the daemon wrote its pid file"
pid=$(cat .diaryx/watch.pid 2>/dev/null)
sleep 0.5
kill -TERM "$pid" 2>/dev/null && pass || fail "the daemon was running"
for _ in $(seq 1 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
kill -0 "$pid" 2>/dev/null && fail "the daemon stops on SIGTERM" || pass
[ -e .diaryx/watch.pid ] && fail "the pid file is left after SIGTERM" || pass

# [git] keep_updates: what the compaction after a commit (and crdt compact) keeps.
check "config keep_updates" "$DIARYX" config git.keep_updates 5
same "config shows it" "$("$DIARYX" config git.keep_updates)" "5"
for i in $(seq 1 12); do "$DIARYX" content append notes/a.md "line $i" 2>/dev/null || fail "edit $i"; done
check "commit compacts" "$DIARYX" commit
"$DIARYX" crdt history notes/a.md -n 1000 --json >"$T/h.json"
same "5 body updates kept" "$(grep -o '"changed":"body"' "$T/h.json" | wc -l)" "5"
check "config keep_updates 2" "$DIARYX" config git.keep_updates 2
"$DIARYX" crdt compact >"$T/compact" 2>&1 && pass || fail "crdt compact"
contains "crdt compact keeps keep_updates by default" "$T/compact" "kept the newest 2 of each"

# --json on every read command: each output parses and has the documented keys.
json_ok() { # DESCRIPTION FILE PYTHON-EXPRESSION(j)
    if python3 -c "import json,sys; j=json.load(open(sys.argv[1])); sys.exit(0 if ($3) else 1)" "$2" \
        2>"$T/.perr"; then pass; else fail "$1: $(head -c 300 "$2") $(cat "$T/.perr")"; fi
}
check "an uncommitted edit" "$DIARYX" content append notes/a.md 'quote " and \ backslash'
"$DIARYX" content get notes/a.md --json >"$T/c.json" || fail "content get --json"
json_ok "content get --json" "$T/c.json" \
    "j['path'] == 'notes/a.md' and j['body'].endswith('quote \" and \\\\ backslash\n')"
"$DIARYX" diff --json >"$T/d.json" || fail "diff --json"
json_ok "diff --json" "$T/d.json" \
    "j['from'] == 'HEAD' and j['to'] is None and [f['path'] for f in j['files']] == ['notes/a.md'] and j['files'][0]['status'] == 'modified' and 'backslash' in j['files'][0]['patch']"
"$DIARYX" diff notes/a.md --json >"$T/d1.json" || fail "diff FILE --json"
json_ok "diff FILE --json" "$T/d1.json" "len(j['files']) == 1"
"$DIARYX" diff notes/notes.md --json >"$T/d0.json" || fail "diff of an unchanged FILE --json"
json_ok "diff of an unchanged file" "$T/d0.json" "j['files'] == []"
"$DIARYX" diff >"$T/d.txt"
same "diff text is the patch of the JSON" "$(cat "$T/d.txt")" \
    "$(python3 -c "import json,sys; print(''.join(f['patch'] for f in json.load(open(sys.argv[1]))['files']), end='')" "$T/d.json")"
"$DIARYX" diff HEAD~1 HEAD --json >"$T/d2.json" || fail "diff REV REV2 --json"
json_ok "diff REV REV2 --json" "$T/d2.json" "j['from'] == 'HEAD~1' and j['to'] == 'HEAD' and j['files'][0]['status'] == 'modified'"
"$DIARYX" workspace path --json >"$T/p.json" || fail "workspace path --json"
json_ok "workspace path --json" "$T/p.json" "j['root'].endswith('/ws')"
"$DIARYX" config git.keep_updates --json >"$T/k.json" || fail "config KEY --json"
json_ok "config KEY --json is typed" "$T/k.json" "j == 2"
"$DIARYX" config --path --json >"$T/cp.json" || fail "config --path --json"
json_ok "config --path --json" "$T/cp.json" "j['path'].endswith('diaryx/config.toml')"
id=$(python3 -c "import json,sys; print(json.load(open(sys.argv[1]))[0]['id'])" "$T/h.json")
"$DIARYX" crdt history notes/a.md --at "$id" --json >"$T/at.json" || fail "history --at --json"
json_ok "crdt history --at --json" "$T/at.json" \
    "j['path'] == 'notes/a.md' and j['update'] == $id and 'line 12' in j['content']"
# A device name with a quote still gives JSON (it was pasted in unescaped).
check "config device_name" "$DIARYX" config device_name 'my "laptop"'
check "edit from that device" "$DIARYX" content append notes/a.md "from the laptop"
"$DIARYX" crdt history notes/a.md --json >"$T/h2.json" || fail "crdt history --json"
json_ok "crdt history --json escapes the device" "$T/h2.json" "j[0]['device'] == 'my \"laptop\"'"
for cmd in "log" "crdt info" "workspace info" "validate" "property list notes/a.md" \
    "property get notes/a.md title" "search line" "config"; do
    # shellcheck disable=SC2086
    "$DIARYX" $cmd --json >"$T/r.json" 2>"$T/.err" || [ "$cmd" = validate ] || fail "$cmd --json"
    check "$cmd --json parses" python3 -m json.tool "$T/r.json"
done
# Write commands refuse --json instead of ignoring it.
check_rc "workspace add --json" 2 "$DIARYX" workspace add README.md notes/a.md --json
check_rc "property set --json" 2 "$DIARYX" property set notes/a.md k v --json
check_rc "content append --json" 2 "$DIARYX" content append notes/a.md x --json
check_rc "crdt compact --json" 2 "$DIARYX" crdt compact --json
check_rc "config set --json" 2 "$DIARYX" config editor vim --json
finish
