"""GPU figures: network ms, end-to-end FPS on the demo clip, AP against the CPU reference.

Usage: python benchmarks/gpu_bench.py --model runs/gpu/lwop.pt --onnx runs/gpu/lwop.onnx [--engine runs/gpu/lwop.engine]
       [--heights 256 368] [--iters 300] [--skip-ap]

Per backend (torch CUDA FP16, and TensorRT FP16 when an engine is given) and height:
the network alone (median of --iters synchronised runs on a demo frame), the threaded
pipeline on every frame of the demo clip with the overlay drawn (file mode), and the AP
on coco_mini val2017 next to ONNX Runtime FP32 on the CPU. Also the paper's VGG19 +
6-stage model (random weights: speed only) at height 368. Prints markdown tables.
"""
from __future__ import annotations

import tempfile
import time
from pathlib import Path

import numpy as np
import torch

import benchlib

from engines.run.pipeline import Pipeline, PipelineConfig
from engines import create_backend
from engines.evaluate import evaluate_model
from engines.torch_backend import TorchBackend
from ssapose import paths
from ssapose.models import build_model, get_config
from ssapose.preprocess import prepare
from ssapose.sources import read_frames


def network_ms(backend, x: np.ndarray, iters: int) -> float:
    """Median ms of ``backend.infer`` (host to host, synchronised) after a warm-up."""
    for _ in range(min(20, iters)):
        backend.infer(x)
    times = []
    for _ in range(iters):
        t0 = time.perf_counter()
        backend.infer(x)
        times.append((time.perf_counter() - t0) * 1e3)
    return float(np.median(times))


def vgg_checkpoint(path: str) -> str:
    """The paper's OpenPose + RIE network with random weights (speed only), saved as a checkpoint."""
    from ssapose.models import save_checkpoint

    config = get_config("openpose")
    save_checkpoint(path, build_model(config), config)
    return path


def main() -> None:
    ap = benchlib.parser(__doc__)
    ap.add_argument("--model", default=str(paths.CHECKPOINT), help="lwop checkpoint (default: %(default)s)")
    ap.add_argument("--onnx", help="its ONNX export, for the CPU reference AP")
    ap.add_argument("--engine", help="a TensorRT engine of the same model")
    ap.add_argument("--heights", type=int, nargs="+", default=[256, 368])
    ap.add_argument("--iters", type=int, default=300)
    ap.add_argument("--skip-ap", action="store_true")
    ap.add_argument("--device", default="cuda", help="cuda, or cpu to check the script without a GPU")
    args = benchlib.parse(ap, heights=[256], iters=2, skip_ap=True, device="cpu")
    gpu = torch.cuda.get_device_name(0) if args.device == "cuda" else "none (CPU)"
    print(f"GPU: {gpu}; torch {torch.__version__}, CUDA {torch.version.cuda}", flush=True)
    frames = read_frames(str(paths.demo_video()))
    backends = [("torch CUDA FP16 + CUDA graphs", lambda: TorchBackend(args.model, args.device)),
                ("torch CUDA FP16, eager", lambda: TorchBackend(args.model, args.device, cuda_graphs=False))]
    if args.engine:
        backends.append(("TensorRT FP16", lambda: create_backend(args.engine)))
    val = paths.coco_set("val")
    print("\n| backend | height | input | network ms (median) | network FPS | pipeline FPS, demo clip, overlay drawn "
          "| slowest stage | val AP |")
    print("|---|---|---|---|---|---|---|---|")
    for name, make in backends:
        be = make()
        for h in args.heights:
            x, _ = prepare(frames[0], h, be.info.config.preprocess)
            ms = network_ms(be, x, args.iters)
            pipe = Pipeline(iter(frames[:args.iters * 5] if args.quick else frames), be, PipelineConfig(input_size=h, draw=True))
            n = sum(1 for _ in pipe.results())
            run = pipe.summary()
            ap_text = "-"
            if not args.skip_ap and (h == 368 or "TensorRT" in name) and "eager" not in name:
                stats, _ = evaluate_model(args.model if "torch" in name else args.engine, str(val.ann),
                                          str(val.images), h, device=args.device)
                ap_text = f"{stats['AP']:.3f}"
            print(f"| {name} | {h} | {x.shape[2]}x{x.shape[3]} | {ms:.2f} | {1000 / ms:.0f} | {run.fps:.0f} "
                  f"({n} frames) | {run.slowest} {run.stages[run.slowest]:.2f} ms | {ap_text} |", flush=True)
        be.close()
    if args.onnx and not args.skip_ap:
        for h in args.heights:
            stats, _ = evaluate_model(args.onnx, str(val.ann), str(val.images), h, backend="onnx")
            print(f"| ONNX Runtime FP32 (CPU reference) | {h} | | | | | | {stats['AP']:.3f} |", flush=True)
    print("\n| paper model (VGG19-10 + 6 stages + RIE), random weights | input | network ms (median) | network FPS |")
    print("|---|---|---|---|")
    vgg = vgg_checkpoint(str(Path(tempfile.mkdtemp()) / "vgg-random.pt"))
    for label, graphs in (("torch CUDA FP16 + CUDA graphs", True), ("torch CUDA FP16, eager", False)):
        be = TorchBackend(vgg, args.device, cuda_graphs=graphs)
        for h, w in ((64, 64),) if args.quick else ((368, 368), (368, 656)):
            ms = network_ms(be, np.zeros((1, 3, h, w), np.float32), 1 if args.quick else max(50, args.iters // 3))
            print(f"| {label} | {h}x{w} | {ms:.2f} | {1000 / ms:.0f} |", flush=True)
        be.close()


if __name__ == "__main__":
    main()
