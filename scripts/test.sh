#!/usr/bin/env bash
# Runs every test on a fresh Debian machine: installs what is missing (ONNX Runtime from PyPI,
# the e5 model from ../shared when present, cargo-nextest, Debian chromium and playwright-core),
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
