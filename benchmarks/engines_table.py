"""Side-by-side speed of models x input sizes x backends on this machine (one run, same frames).

Usage: python benchmarks/engines_table.py [--lite models/ssapose-lite.pt] [--frames 30] [--paper-frames 3]

The paper model runs with random weights (speed does not depend on them; its
decode time does, so read its decode column with care). Every model is exported
to ONNX and INT8 (calibrated on data/calibration) into --work.
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

import torch

from engines.benchmark import benchmark
from engines.export import export_onnx, quantize_int8
from ssapose.models import build_model, get_config, save_checkpoint
from ssapose.sources import read_frames

ROOT = Path(__file__).resolve().parents[1]


def prepare_models(work: Path, lite: str | None) -> dict[str, str]:
    work.mkdir(parents=True, exist_ok=True)
    models = {}
    for name in ("openpose", "lite16"):
        path = work / f"{name}.pt"
        if not path.exists():
            torch.manual_seed(0)
            cfg = get_config(name)
            save_checkpoint(str(path), build_model(cfg), cfg)
        models[name] = str(path)
    models["lite"] = lite or str(ROOT / "models/ssapose-lite.pt")
    return models


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--lite", help="lite checkpoint (default: the bundled model)")
    ap.add_argument("--work", default="runs/engines", help="where exports go")
    ap.add_argument("--frames", type=int, default=30)
    ap.add_argument("--paper-frames", type=int, default=3, help="timed frames for the (slow) paper model")
    ap.add_argument("--sizes", type=int, nargs="*", default=[256, 368])
    ap.add_argument("--models", nargs="*", default=["lite", "lite16", "openpose"])
    args = ap.parse_args()
    work = Path(args.work)
    models = prepare_models(work, args.lite)
    calib = sorted(str(p) for p in (ROOT / "data/calibration").glob("*.jpg"))
    frames = read_frames(str(ROOT / "data/demo.mp4"), limit=60)[::2]
    print(f"torch {torch.__version__}, {torch.get_num_threads()} threads; frames 768x432 from data/demo.mp4")
    print("| model | input | backend | preprocess ms | inference ms (p90) | decode ms | overlay ms | total ms | FPS |")
    print("|---|---|---|---|---|---|---|---|---|")
    for name in args.models:
        pt = models[name]
        onnx_path = work / f"{name}.onnx"
        int8 = work / f"{name}.int8.onnx"
        if not onnx_path.exists():
            export_onnx(pt, str(onnx_path))
        if not int8.exists():
            quantize_int8(str(onnx_path), str(int8), calib[:4] if name == "openpose" else calib, 368)
        n = args.paper_frames if name == "openpose" else args.frames
        for size in args.sizes:
            for label, path in (("torch fp32", pt), ("onnxruntime fp32", str(onnx_path)), ("onnxruntime int8", str(int8))):
                r = benchmark(path, frames, size, warmup=1 if name == "openpose" else 5, repeat=n, progress=False)
                print(f"| {name} | {size} | {label} | {r['preprocess']['median_ms']:.1f} | "
                      f"{r['inference']['median_ms']:.1f} ({r['inference']['p90_ms']:.1f}) | {r['decode']['median_ms']:.1f} "
                      f"| {r['overlay']['median_ms']:.1f} | {r['total']['median_ms']:.1f} | {r['end_to_end_fps']:.1f} |",
                      flush=True)
    sys.stdout.flush()


if __name__ == "__main__":
    main()
