# lib.bash - helpers for the CLI scenario tests (sourced, not run by CTest).
# Each test runs the built diaryx in a fresh temporary directory with its own config.
set -u
DIARYX=${DX_BUILD_DIR:-$PWD}/diaryx
if [ ! -x "$DIARYX" ]; then
    echo "diaryx binary not found at $DIARYX (set DX_BUILD_DIR)"
    echo "0 passed, 1 failed"
    exit 1
fi
T=$(mktemp -d /tmp/diaryx-test.XXXXXX)
trap 'rm -rf "$T"' EXIT
export XDG_CONFIG_HOME=$T/.config HOME=$T EDITOR=true NO_COLOR=1
unset VISUAL
cd "$T"
passed=0
failed=0
fail() {
    failed=$((failed + 1))
    echo "FAIL: $*"
}
pass() { passed=$((passed + 1)); }
# check DESCRIPTION COMMAND...: the command must succeed
check() {
    local d=$1
    shift
    if "$@" >/dev/null 2>"$T/.err"; then pass; else fail "$d ($(head -c 300 "$T/.err"))"; fi
}
# check_rc DESCRIPTION EXPECTED_RC COMMAND...: the command must exit with EXPECTED_RC
check_rc() {
    local d=$1 want=$2
    shift 2
    "$@" >"$T/.out" 2>"$T/.err"
    local rc=$?
    if [ "$rc" -eq "$want" ]; then pass; else fail "$d: exit $rc, expected $want ($(head -c 300 "$T/.err"))"; fi
}
# contains DESCRIPTION FILE TEXT: the file holds the text (fixed string)
contains() {
    if grep -qF -- "$3" "$2" 2>/dev/null; then pass; else fail "$1: '$3' not in $2"; fi
}
lacks() {
    if grep -qF -- "$3" "$2" 2>/dev/null; then fail "$1: '$3' still in $2"; else pass; fi
}
# same DESCRIPTION ACTUAL EXPECTED
same() {
    if [ "$2" == "$3" ]; then pass; else fail "$1: got '$2', expected '$3'"; fi
}
finish() {
    echo "$passed passed, $failed failed"
    [ "$failed" -eq 0 ]
    exit $?
}
