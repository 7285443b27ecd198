#!/usr/bin/env bash
# run-node.sh - the yjs side of the benchmarks (same machine, same trace), when Node and
# tests/interop/node_modules are present (scripts/install-deps installs them).
set -euo pipefail
cd "$(dirname "$0")/.."
if ! command -v node >/dev/null || [ ! -d tests/interop/node_modules/yjs ]; then
    echo "== yjs side skipped: run scripts/install-deps first"
    exit 0
fi
echo "== yjs 13.6.33 (node $(node --version))"
node bench/node/b4.mjs "" 3
