#!/usr/bin/env bash
# Headless-browser tests of the web pages (web/tests/) against a real `dangwutong serve`.
#   scripts/web-test.sh [path/to/dangwutong [web/tests/x.test.mjs ...]]
#   (default: target/debug/dangwutong and every web/tests/*.test.mjs)
# Installs what is missing (Debian chromium, playwright-core via npm ci), starts the server on a
# free port with a fresh data dir (it ingests the shipped knowledge/ first), waits for /healthz,
# runs `node --test` on web/tests/ and stops the server. Exits with the tests' exit code.
# Env: CHROMIUM_PATH (default /usr/bin/chromium), DWT_WEB_TEST_STARTUP_SECS (default 180).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
ROOT="$PWD"

BIN="${1:-target/debug/dangwutong}"
shift || true
TESTS=("$@")
if [ "${#TESTS[@]}" -eq 0 ]; then TESTS=(web/tests/*.test.mjs); fi
case "$BIN" in /*) ;; *) BIN="$ROOT/$BIN" ;; esac
[ -x "$BIN" ] || { echo "error: $BIN is not an executable dangwutong binary (build it first: cargo build -p dangwutong)" >&2; exit 2; }
STARTUP_SECS="${DWT_WEB_TEST_STARTUP_SECS:-180}"
export CHROMIUM_PATH="${CHROMIUM_PATH:-/usr/bin/chromium}"

as_root() { if [ "$(id -u)" -eq 0 ]; then "$@"; else sudo "$@"; fi; }

# --- browser and node packages --------------------------------------------------------------------
if [ ! -x "$CHROMIUM_PATH" ]; then
  echo "installing chromium (apt)" >&2
  as_root apt-get update -q >&2
  as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -q chromium >&2
fi
command -v node >/dev/null || { echo "error: node is not installed (apt-get install nodejs npm)" >&2; exit 2; }
if [ ! -d web/tests/node_modules/playwright-core ]; then
  echo "installing web/tests node packages (npm ci)" >&2
  (cd web/tests && npm ci --no-audit --no-fund >&2)
fi

# --- ONNX Runtime and the embedding model ----------------------------------------------------------
if [ -z "${ORT_DYLIB_PATH:-}" ]; then
  eval "$(scripts/deps.sh)"
fi
export ORT_DYLIB_PATH
if [ -n "${DWT__EMBEDDING__MODEL_DIR:-}" ]; then export DWT__EMBEDDING__MODEL_DIR; fi

# --- server -----------------------------------------------------------------------------------------
DATA="$(mktemp -d "${TMPDIR:-/tmp}/dwt-web-test.XXXXXX")"
LOG="$DATA.log"
SERVER_PID=""
cleanup() {
  if [ -n "$SERVER_PID" ] && kill -0 "$SERVER_PID" 2>/dev/null; then
    kill "$SERVER_PID" 2>/dev/null || true
    for _ in $(seq 1 50); do kill -0 "$SERVER_PID" 2>/dev/null || break; sleep 0.2; done
    kill -9 "$SERVER_PID" 2>/dev/null || true
    wait "$SERVER_PID" 2>/dev/null || true
  fi
  rm -rf "$DATA" "$LOG"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

PORT="$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1]); s.close()')"
BASE="http://127.0.0.1:$PORT"
# Demo organisations and accounts for the admin page tests (password Dwt#Demo2026).
"$BIN" --data-dir "$DATA" demo seed >/dev/null
echo "starting $BIN serve on $BASE (data dir $DATA, log $LOG)" >&2
# The shipped knowledge/ is found relative to the working directory (the repository root).
DWT__STORAGE__DATA_DIR="$DATA" DWT__KNOWLEDGE__DIR="$ROOT/knowledge" RUST_LOG="${RUST_LOG:-warn}" \
  "$BIN" --data-dir "$DATA" serve --host 127.0.0.1 --port "$PORT" >"$LOG" 2>&1 &
SERVER_PID=$!

deadline=$((SECONDS + STARTUP_SECS))
until [ "$(curl -s -o /dev/null -w '%{http_code}' "$BASE/healthz" 2>/dev/null)" = "200" ]; do
  if ! kill -0 "$SERVER_PID" 2>/dev/null; then
    echo "error: the server exited before answering /healthz; its log:" >&2
    cat "$LOG" >&2
    exit 1
  fi
  if [ "$SECONDS" -ge "$deadline" ]; then
    echo "error: no answer on $BASE/healthz within ${STARTUP_SECS}s; server log:" >&2
    cat "$LOG" >&2
    exit 1
  fi
  sleep 0.5
done
echo "server is up after ${SECONDS}s" >&2

# --- tests ------------------------------------------------------------------------------------------
status=0
# The logging SMS sender writes codes to the server log; the tests read them from there.
DWT_TEST_BASE_URL="$BASE" DWT_TEST_SERVER_LOG="$LOG" node --test "${TESTS[@]}" || status=$?
if [ "$status" -ne 0 ]; then
  echo "web tests failed (exit $status); server log tail:" >&2
  tail -n 40 "$LOG" >&2 || true
fi
exit "$status"
