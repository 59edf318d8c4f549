#!/usr/bin/env bash
# Runs every test on a fresh Debian machine: installs what is missing (ONNX Runtime from PyPI,
# the e5 model from ../shared when present, cargo-nextest, Debian PostgreSQL, Debian chromium and
# playwright-core),
# then the whole workspace suite and the headless-browser page tests.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

eval "$(scripts/deps.sh)"
export ORT_DYLIB_PATH DWT__EMBEDDING__MODEL_DIR
if [ -z "${DWT__EMBEDDING__MODEL_DIR:-}" ]; then
  echo "note: ../shared is absent and DWT__EMBEDDING__MODEL_DIR is unset: tests will download the model through fastembed" >&2
fi
if ! cargo nextest --version >/dev/null 2>&1; then
  cargo install cargo-nextest --locked
fi
# Repository tests run on SQLite and, with DATABASE_URL, on a real PostgreSQL: start Debian's
# (installed when missing) unless a DATABASE_URL is given or DWT_SKIP_POSTGRES=1.
if [ "${DWT_SKIP_POSTGRES:-0}" != "1" ]; then
  eval "$(scripts/postgres.sh)"
  export DATABASE_URL
  # Each Postgres test creates its own dwt_test_* database; drop those of earlier runs.
  if command -v psql >/dev/null; then
    for db in $(psql "$DATABASE_URL" -Atc "SELECT datname FROM pg_database WHERE datname LIKE 'dwt\_test\_%'" 2>/dev/null); do
      psql "$DATABASE_URL" -qc "DROP DATABASE IF EXISTS \"$db\"" >/dev/null 2>&1 || true
    done
  fi
  echo "postgres tests: against ${DATABASE_URL%%:*}://…@${DATABASE_URL##*@}"
else
  echo "postgres tests: SKIPPED (DWT_SKIP_POSTGRES=1)"
fi
if [ -z "${QDRANT_URL:-}" ]; then
  echo "qdrant-server tests: SKIPPED (QDRANT_URL not set; they run against a real Qdrant when it is)"
fi
cargo nextest run --workspace --profile ci "$@"
# The pages in real headless Chromium (installs Debian chromium and playwright-core when missing),
# against the debug binary the run above built.
if [ "${DWT_SKIP_WEB_TESTS:-0}" != "1" ]; then
  cargo build -q -p dangwutong
  scripts/web-test.sh "${CARGO_TARGET_DIR:-target}/debug/dangwutong"
else
  echo "web page tests: SKIPPED (DWT_SKIP_WEB_TESTS=1)"
fi
