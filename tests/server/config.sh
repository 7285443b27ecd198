#!/usr/bin/env bash
# config.sh - diaryx-server --config FILE: every key applied, options win over the file, and a
# bad file (unknown key, wrong type, out of range, not TOML, missing) is refused with a
# message naming the key and exit status 2 (1 for a file that cannot be read).
source "$(dirname "$0")/lib.bash"
P1=$(free_port)
P2=$(free_port)
cat >"$T/server.toml" <<TOML
data = "$T/fromconfig"
listen = "127.0.0.1:$P1"
idle_seconds = 5

[git]
quiescence_minutes = 0
max_staleness_hours = 1
TOML
"$SERVER" --help >"$T/help"
for key in data listen idle_seconds quiescence_minutes max_staleness_hours; do
    contains "--help documents $key" "$T/help" "$key"
done
check "the config's data directory is used by commands" \
    "$SERVER" --config "$T/server.toml" user add c@example.org
[ -f "$T/fromconfig/accounts.db" ] && pass || fail "no accounts.db in the config's data directory"
"$SERVER" --config "$T/server.toml" 2>"$T/log1" &
S1=$!
for _ in $(seq 1 100); do curl -sf "http://127.0.0.1:$P1/health" >/dev/null && break; sleep 0.05; done
curl -sf "http://127.0.0.1:$P1/health" >/dev/null && pass || fail "not listening on the config's address"
kill -TERM "$S1"
wait "$S1" && pass || fail "SIGTERM: $(tail -3 "$T/log1")"
"$SERVER" --config "$T/server.toml" --listen "127.0.0.1:$P2" 2>"$T/log2" &
S2=$!
for _ in $(seq 1 100); do curl -sf "http://127.0.0.1:$P2/health" >/dev/null && break; sleep 0.05; done
curl -sf "http://127.0.0.1:$P2/health" >/dev/null && pass || fail "--listen did not win over the file"
kill -TERM "$S2"
wait "$S2" && pass || fail "SIGTERM: $(tail -3 "$T/log2")"

bad() { # bad NAME CONTENT EXPECTED_TEXT
    printf '%s\n' "$2" >"$T/bad.toml"
    check_rc "$1" 2 "$SERVER" --config "$T/bad.toml" workspace list c@example.org
    contains "$1: the message" "$T/.err" "$3"
}
bad "an unknown key" 'colour = "blue"' "unknown setting colour"
bad "an unknown key in [git]" $'[git]\nquiesence_minutes = 3' "git.quiesence_minutes"
bad "a number for a string" 'listen = 3030' "listen in"
bad "a string for a number" 'idle_seconds = "60"' "idle_seconds in"
bad "out of range" 'idle_seconds = 0' "wants 1 to 86400"
check_rc "not TOML" 1 "$SERVER" --config "$DX_SOURCE_DIR/README.md" workspace list c@example.org
check_rc "a missing file" 1 "$SERVER" --config "$T/none.toml" workspace list c@example.org
contains "names it" "$T/.err" "none.toml"
check_rc "a bad option value" 2 "$SERVER" --idle-seconds soon workspace list c@example.org
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
