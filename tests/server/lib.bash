# lib.bash - helpers for the server scenario tests (sourced, not run by CTest): the CLI test
# helpers, the server binary, a data directory and a free loopback port, and starting and
# stopping the server.
source "$(dirname "${BASH_SOURCE[0]}")/../cli/lib.bash"
SERVER=${DX_BUILD_DIR:-$OLDPWD}/diaryx-server
HERE=$DX_SOURCE_DIR/tests/server
D=$T/data
free_port() {
    python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}
PORT=$(free_port)
H=http://127.0.0.1:$PORT
URL=ws://127.0.0.1:$PORT/sync
# start_server [OPTIONS]: serve $D on $PORT (log: $T/server.log) and wait until /health answers.
start_server() {
    "$SERVER" --data "$D" --listen "127.0.0.1:$PORT" "$@" 2>>"$T/server.log" &
    SPID=$!
    for _ in $(seq 1 200); do
        curl -sf "$H/health" >/dev/null && return 0
        sleep 0.05
    done
    fail "the server did not answer /health ($(tail -3 "$T/server.log"))"
}
# stop_server: SIGTERM, which must end it with status 0.
stop_server() {
    kill -TERM "$SPID" 2>/dev/null
    if wait "$SPID"; then pass; else fail "SIGTERM: the server did not exit cleanly ($(tail -3 "$T/server.log"))"; fi
}
