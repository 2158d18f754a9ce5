"""Network time alone, per CPU backend and precision, side by side in one process.

Usage: python benchmarks/backend_speed.py [--frames 20] [--threads 1 2] [--heights 256 368]

The same lwop weights in ONNX Runtime fp32, OpenVINO with the f32 and bf16 precision hints,
and our INT8 IR (OpenVINO), on frames of the demo clip (768x432, fitted to each height).
Median ms of ``backend.infer`` after 3 warm-up runs.
"""
from __future__ import annotations

import time

import numpy as np

import benchlib
from engines import create_backend
from engines.openvino_backend import OpenVINOBackend
from ssapose import paths
from ssapose.preprocess import prepare
from ssapose.sources import read_frames


def main() -> None:
    ap = benchlib.parser(__doc__)
    ap.add_argument("--frames", type=int, default=20)
    ap.add_argument("--threads", type=int, nargs="+", default=[1, 2])
    ap.add_argument("--heights", type=int, nargs="+", default=[256, 368])
    args = benchlib.parse(ap, frames=2, threads=[1], heights=[256])
    frames = read_frames(str(paths.demo_video()), limit=args.frames)
    onnx, int8 = str(paths.DEFAULT_ONNX), str(paths.DEFAULT_MODEL)
    print("| threads | backend | precision | input | network ms (median) |")
    print("|---|---|---|---|---|")
    for threads in args.threads:
        configs = [("ONNX Runtime", lambda: create_backend(onnx, "onnx", threads=threads)),
                   ("OpenVINO", lambda: OpenVINOBackend(onnx, threads, "f32")),
                   ("OpenVINO", lambda: OpenVINOBackend(onnx, threads, "bf16")),
                   ("OpenVINO", lambda: OpenVINOBackend(int8, threads))]
        for name, make in configs:
            be = make()
            label = be.precision
            for h in args.heights:
                x, _ = prepare(frames[0], h, be.info.config.preprocess)
                for _ in range(3):
                    be.infer(x)
                times = []
                for f in frames:
                    x, _ = prepare(f, h, be.info.config.preprocess)
                    t0 = time.perf_counter()
                    be.infer(x)
                    times.append((time.perf_counter() - t0) * 1e3)
                print(f"| {threads} | {name} | {label} | {x.shape[2]}x{x.shape[3]} | {np.median(times):.1f} |",
                      flush=True)
            be.close()


if __name__ == "__main__":
    main()
