#!/usr/bin/env bash
# GPU check for a machine with an NVIDIA GPU, in about 5-8 minutes:
#   1. a fresh venv with a CUDA build of torch, TensorRT and SSA-Pose (skip with --no-install to use
#      the current python, e.g. where nothing can be downloaded);
#   2. the default model from ../shared (import-ir), its ONNX export and a TensorRT FP16 engine;
#   3. the GPU tests;
#   4. network ms and end-to-end FPS on the demo clip for torch CUDA FP16 and TensorRT FP16, the paper's
#      VGG model's network FPS, and TensorRT's AP on coco_mini val2017 against ONNX Runtime's
#      (the check fails if TensorRT loses more than 0.005 AP).
# Usage: scripts/gpu_check.sh [--no-install]      (CUDA_WHEELS=cu128 picks the CUDA wheel index)
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PYTHON:-python3}
if [ "${1:-}" != "--no-install" ]; then
  "$PY" -m venv .venv-gpu
  .venv-gpu/bin/pip install -q --upgrade pip
  .venv-gpu/bin/pip install -q torch --index-url "https://download.pytorch.org/whl/${CUDA_WHEELS:-cu128}"
  .venv-gpu/bin/pip install -q -e ".[dev,tensorrt]"
  PY=.venv-gpu/bin/python
else
  export PYTHONPATH="$PWD${PYTHONPATH:+:$PYTHONPATH}"
fi
"$PY" - <<'EOF'
import torch
assert torch.cuda.is_available(), f"torch {torch.__version__} sees no CUDA GPU (CUDA build: {torch.version.cuda})"
print(f"torch {torch.__version__}, CUDA {torch.version.cuda}, GPU {torch.cuda.get_device_name(0)}")
try:
    import tensorrt
    print(f"TensorRT {tensorrt.__version__}")
except ImportError as e:
    print(f"TensorRT not installed ({e}): its steps are skipped")
EOF
OUT=runs/gpu
mkdir -p "$OUT"
"$PY" -m app.cli import-ir --out "$OUT/lwop.pt"
"$PY" -m app.cli export "$OUT/lwop.pt" --out "$OUT/lwop.onnx"
ENGINE_ARGS=()
if "$PY" -c "import tensorrt" 2>/dev/null; then
  "$PY" -m app.cli engine build "$OUT/lwop.onnx" --out "$OUT/lwop.engine"
  ENGINE_ARGS=(--engine "$OUT/lwop.engine")
fi
"$PY" -m pytest -q -p no:cacheprovider tests/test_engines.py tests/test_gpu_logic.py
"$PY" benchmarks/gpu_bench.py --model "$OUT/lwop.pt" --onnx "$OUT/lwop.onnx" "${ENGINE_ARGS[@]}" | tee "$OUT/gpu_bench.md"
if [ ${#ENGINE_ARGS[@]} -gt 0 ]; then
  "$PY" - "$OUT/gpu_bench.md" <<'EOF'
import re, sys
rows = [l.split("|") for l in open(sys.argv[1]) if l.startswith("| TensorRT FP16 | 368") or
        l.startswith("| ONNX Runtime FP32 (CPU reference) | 368")]
ap = {r[1].strip(): float(r[-2]) for r in rows}
drop = ap["ONNX Runtime FP32 (CPU reference)"] - ap["TensorRT FP16"]
print(f"TensorRT FP16 AP drop against ONNX Runtime FP32 at height 368: {drop:+.3f} (limit 0.005)")
sys.exit(1 if drop > 0.005 else 0)
EOF
fi
