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

# --- int8 copy of the model (about 2.4x faster embedding; see scripts/quantize_model.py) ----------
# Needs onnxruntime + onnx in a private venv. Set DWT_QUANTIZE=0 to use the model as built.
if [ -n "$MODEL" ] && [ "${DWT_QUANTIZE:-1}" != "0" ] && [ -f "$MODEL/model.onnx" ]; then
  QUANT="$DEPS/models/multilingual-e5-small-int8"
  VENV="$DEPS/py"
  if [ ! -x "$VENV/bin/python" ] || ! "$VENV/bin/python" -c 'import onnx, onnxruntime' 2>/dev/null; then
    echo "installing onnxruntime==$ORT_VERSION + onnx into .deps/py for model quantization" >&2
    python3 -m venv "$VENV" >&2 && "$VENV/bin/pip" install -q --disable-pip-version-check \
      "onnxruntime==$ORT_VERSION" "onnx>=1.17" >&2 || true
  fi
  mkdir -p "$DEPS/models"
  if "$VENV/bin/python" "$ROOT/scripts/quantize_model.py" "$MODEL" "$QUANT" >&2 2>"$DEPS/quantize.log"; then
    MODEL="$QUANT"
  else
    echo "warning: int8 quantization failed (see .deps/quantize.log); using the model as built" >&2
  fi
fi

echo "export ORT_DYLIB_PATH='$ORT'"
if [ -n "$MODEL" ]; then echo "export DWT__EMBEDDING__MODEL_DIR='$MODEL'"; fi
