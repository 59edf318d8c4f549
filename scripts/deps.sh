#!/usr/bin/env bash
# Installs what the project needs beside cargo, idempotently, and prints the environment to use:
#   - ONNX Runtime shared library from PyPI's `onnxruntime` wheel into .deps/onnxruntime/
#   - the multilingual-e5-small model (built offline from ../shared when present; otherwise
#     the product downloads it through fastembed's normal hub download on first use)
# Usage: eval "$(scripts/deps.sh)"   — exports ORT_DYLIB_PATH and DWT__EMBEDDING__MODEL_DIR.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
DEPS="$ROOT/.deps"
ORT_VERSION="${ORT_VERSION:-1.24.1}"
mkdir -p "$DEPS"

# --- ONNX Runtime -------------------------------------------------------------------------------
ort_lib() { ls "$DEPS"/onnxruntime/libonnxruntime.so.* 2>/dev/null | grep -v '\.so\.[0-9]*$' | head -n1 || true; }
if [ -z "$(ort_lib)" ]; then
  echo "fetching onnxruntime==$ORT_VERSION wheel from PyPI" >&2
  tmp="$(mktemp -d)"
  trap 'rm -rf "$tmp"' EXIT
  python3 -m pip download -q --disable-pip-version-check --no-deps --only-binary=:all: \
    -d "$tmp" "onnxruntime==$ORT_VERSION" >&2
  mkdir -p "$DEPS/onnxruntime"
  python3 - "$tmp" "$DEPS/onnxruntime" <<'PY'
import glob, os, sys, zipfile
src, out = sys.argv[1], sys.argv[2]
whl = glob.glob(os.path.join(src, "onnxruntime-*.whl"))[0]
with zipfile.ZipFile(whl) as z:
    for name in z.namelist():
        base = os.path.basename(name)
        if name.startswith("onnxruntime/capi/") and base.startswith("libonnxruntime"):
            with z.open(name) as f, open(os.path.join(out, base), "wb") as g:
                g.write(f.read())
PY
fi
ORT="$(ort_lib)"
[ -n "$ORT" ] || { echo "error: libonnxruntime.so not found after install" >&2; exit 1; }

# --- embedding model ----------------------------------------------------------------------------
MODEL="${DWT__EMBEDDING__MODEL_DIR:-}"
if [ -z "$MODEL" ] && [ -x "$ROOT/../shared/tools/model-e5/build.sh" ]; then
  MODEL="$("$ROOT/../shared/tools/model-e5/build.sh" | tail -n1)"
fi
# A model built earlier on this machine (same cache as build.sh) is reused without ../shared.
CACHED="${XDG_CACHE_HOME:-${HOME:-/tmp}/.cache}/dangwutong/models/multilingual-e5-small"
if [ -z "$MODEL" ] && [ -f "$CACHED/model.onnx" ] && [ -f "$CACHED/.verified" ]; then
  MODEL="$CACHED"
fi

echo "export ORT_DYLIB_PATH='$ORT'"
if [ -n "$MODEL" ]; then echo "export DWT__EMBEDDING__MODEL_DIR='$MODEL'"; fi
