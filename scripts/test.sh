#!/usr/bin/env bash
# Runs every test on a fresh Debian machine: installs what is missing (ONNX Runtime from PyPI,
# the e5 model from ../shared when present, cargo-nextest), then the whole workspace suite.
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
