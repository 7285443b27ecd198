#!/usr/bin/env bash
# errors.sh - bad input gives a clear one-line error naming the file; nothing is lost.
. "$(dirname "$0")/lib.bash"

"$DIARYX" init ws >/dev/null
cd ws
"$DIARYX" create a.md >/dev/null
printf -- '---\ntitle: [unclosed\n---\nbody\n' >bad.md
cp bad.md "$T/bad.orig"

check_rc "malformed YAML fails" 1 "$DIARYX" property get bad.md title
same "one line" "$(wc -l <"$T/.err")" "1"
contains "names the file and line" "$T/.err" "cannot parse frontmatter of 'bad.md' (line 3"
check_rc "editing it fails too" 1 "$DIARYX" property set bad.md title x
cmp -s bad.md "$T/bad.orig" && pass || fail "malformed file left untouched"

check_rc "missing file" 1 "$DIARYX" property get nope.md title
contains "missing named" "$T/.err" "'nope.md' does not exist"
check_rc "escaping path" 1 "$DIARYX" create ../../evil.md
contains "escape explained" "$T/.err" "leaves the workspace"
[ ! -e "$T/evil.md" ] && pass || fail "nothing written outside"
check_rc "unknown command" 2 "$DIARYX" frobnicate
check_rc "unknown option" 2 "$DIARYX" create --bogus x.md
check_rc "missing argument" 2 "$DIARYX" property get
check_rc "unknown subcommand" 2 "$DIARYX" workspace dance

mkdir -p "$XDG_CONFIG_HOME/diaryx"
printf 'editor = vim\n' >"$XDG_CONFIG_HOME/diaryx/config.toml"
check_rc "malformed config" 1 "$DIARYX" config
contains "config error has line and column" "$T/.err" "config.toml' (line 1, column 10)"
printf 'editor = "vim"\n[git]\nauto_commit = false\n' >"$XDG_CONFIG_HOME/diaryx/config.toml"
same "config get" "$("$DIARYX" config git.auto_commit)" "false"
check "config set" "$DIARYX" config git.auto_commit_interval_minutes 10
same "config kept editor" "$("$DIARYX" config editor)" "vim"
check_rc "config bad value" 1 "$DIARYX" config git.auto_commit maybe
check_rc "config unknown key" 1 "$DIARYX" config nonsense 1
"$DIARYX" config --json >"$T/c.json"
check "config json parses" python3 -m json.tool "$T/c.json"

cd "$T" && mkdir empty && cd empty
check_rc "outside a workspace" 1 "$DIARYX" -w "$T/empty" workspace info
contains "hint to init" "$T/.err" "diaryx init"
finish
