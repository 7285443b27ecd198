#!/usr/bin/env bash
# ycrdt_tool.sh - the `ycrdt` tool on updates made by the real yjs: its outputs must be the
# bytes (and JSON) yjs gives for the same operations.
set -u
YCRDT=${DX_BUILD_DIR:-$PWD}/ycrdt
SRC=${DX_SOURCE_DIR:-$(cd "$(dirname "$0")/../.." && pwd)}
T=$(mktemp -d /tmp/ycrdt-tool.XXXXXX)
trap 'rm -rf "$T"' EXIT
passed=0 failed=0
ok() { passed=$((passed + 1)); }
bad() { failed=$((failed + 1)); echo "FAIL: $*"; }
if ! node "$SRC/tests/interop/tool_fixtures.mjs" "$T"; then
    echo "FAIL: yjs fixtures (run scripts/install-deps for node and tests/interop/node_modules)"
    echo "0 passed, 1 failed"
    exit 1
fi
"$YCRDT" apply -o "$T/state" "$T/u2" "$T/u1" && cmp -s "$T/state" "$T/expected_state" && ok || bad "apply gives yjs's state bytes"
"$YCRDT" apply "$T/u1" "$T/u2" >"$T/state2" && cmp -s "$T/state2" "$T/expected_state" && ok || bad "apply in the other order, to stdout"
"$YCRDT" merge -o "$T/merged" "$T/u1" "$T/u2" && cmp -s "$T/merged" "$T/expected_merge" && ok || bad "merge gives yjs's mergeUpdates bytes"
"$YCRDT" sv "$T/u1" "$T/u2" >"$T/sv" && cmp -s "$T/sv" "$T/expected_sv" && ok || bad "sv"
"$YCRDT" diff --sv "$T/early_sv" "$T/u1" "$T/u2" >"$T/diff" && cmp -s "$T/diff" "$T/expected_diff" && ok || bad "diff against a state vector"
"$YCRDT" json --text t --map m --array arr "$T/u1" "$T/u2" >"$T/json"
python3 -c "import json,sys; a=json.load(open(sys.argv[1])); b=json.load(open(sys.argv[2])); sys.exit(a!=b)" "$T/json" "$T/expected_json" && ok || bad "json equals yjs toJSON ($(cat "$T/json"))"
{ "$YCRDT" json --delta r "$T/rich" && "$YCRDT" json --text r "$T/rich"; } >"$T/rich_json" && cmp -s "$T/rich_json" "$T/expected_rich" && ok || bad "json --delta gives yjs's toDelta, --text its toString ($(cat "$T/rich_json"))"
"$YCRDT" dump "$T/u1" >"$T/dump" && grep -q "Deleted parent \"t\"" "$T/dump" && grep -q "String origin 11:0 \"ello" "$T/dump" && grep -q "^delete set" "$T/dump" && ok || bad "dump lists structs"
head -c 7 "$T/u1" >"$T/broken"
"$YCRDT" apply "$T/broken" >/dev/null 2>"$T/err"; [ $? -eq 1 ] && grep -q "cannot apply" "$T/err" && ok || bad "truncated update: exit 1 with a message"
"$YCRDT" dump "$T/broken" >/dev/null 2>&1; [ $? -eq 1 ] && ok || bad "dump of a truncated update: exit 1"
"$YCRDT" apply "$T/missing" >/dev/null 2>&1; [ $? -eq 1 ] && ok || bad "missing file: exit 1"
"$YCRDT" frobnicate "$T/u1" >/dev/null 2>&1; [ $? -eq 2 ] && ok || bad "unknown command: exit 2"
"$YCRDT" diff "$T/u1" >/dev/null 2>&1; [ $? -eq 2 ] && ok || bad "diff without --sv: exit 2"
"$YCRDT" --help >/dev/null && ok || bad "--help"
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
