#!/usr/bin/env bash
# Builds (release) and runs the dangwutong binary with the project's dependencies in place.
#   scripts/run.sh search "党龄从什么时候开始计算"
#   scripts/run.sh ingest ./my-documents/
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
eval "$(scripts/deps.sh)"
export ORT_DYLIB_PATH DWT__EMBEDDING__MODEL_DIR
cargo build --release --quiet -p dangwutong
if [ "$#" -eq 0 ]; then
  set -- search "党龄从什么时候开始计算"
fi
exec "${CARGO_TARGET_DIR:-target}/release/dangwutong" "$@"
