"""Speed benchmark: per-stage median and p90 ms, and FPS, for one model file."""
from __future__ import annotations

import json
import time

import numpy as np
from tqdm import tqdm

from engines import create_backend
from engines.run.step import FrameStep, Timings
from ssapose.overlay import draw_poses
from ssapose.model_card import DEFAULT_INPUT_HEIGHT

STAGES = ("preprocess", "inference", "decode", "overlay", "total")


def summarise(samples: dict[str, list[float]]) -> dict:
    out = {}
    for k, v in samples.items():
        a = np.asarray(v)
        out[k] = {"median_ms": float(np.median(a)), "p90_ms": float(np.percentile(a, 90))}
    out["fps"] = 1000.0 / out["total"]["median_ms"] if out["total"]["median_ms"] > 0 else float("inf")
    return out


def benchmark(model: str, frames: list[np.ndarray], input_size: int = DEFAULT_INPUT_HEIGHT, backend: str = "auto",
              device: str = "cpu", threads: int | None = None, warmup: int = 5, repeat: int = 50,
              progress: bool = True) -> dict:
    """Open ``model`` and run :func:`benchmark_backend` on it."""
    be = create_backend(model, backend, device=device, threads=threads)
    try:
        out = benchmark_backend(be, frames, input_size, warmup, repeat, progress)
    finally:
        be.close()
    out["model"] = model
    return out


def benchmark_backend(be, frames: list[np.ndarray], input_size: int = DEFAULT_INPUT_HEIGHT, warmup: int = 5, repeat: int = 50,
                      progress: bool = True, decoder=None) -> dict:
    """Run ``warmup`` untimed frames, then ``repeat`` timed ones (cycling over ``frames``), one stage
    after the other.

    Returns ``{"preprocess": {"median_ms", "p90_ms"}, ..., "total": ..., "fps": ...,
    "end_to_end_fps": ...}``; ``total`` is one frame's latency, ``end_to_end_fps``
    the measured throughput of the sequential loop.
    """
    if not frames:
        raise ValueError("the benchmark needs at least one frame")
    est = FrameStep(be, input_size, decoder)            # decoder: a DecoderChoice, None: the model's card
    for i in range(warmup):
        est(frames[i % len(frames)])
    samples = {k: [] for k in STAGES}
    t_start = time.perf_counter()
    for i in tqdm(range(repeat), desc=f"benchmark {be.name}", unit="frame", disable=not progress, leave=False):
        frame = frames[i % len(frames)].copy()
        t = Timings()
        poses = est(frame, t)
        t0 = time.perf_counter()
        draw_poses(frame, poses)
        t.overlay = (time.perf_counter() - t0) * 1e3
        for k in STAGES[:-1]:
            samples[k].append(getattr(t, k))
        samples["total"].append(t.total())
    elapsed = time.perf_counter() - t_start
    out = summarise(samples)
    out.update({"end_to_end_fps": repeat / elapsed, "backend": be.name, "input_size": input_size,
                "frames": repeat, "frame_shape": list(frames[0].shape)})
    return out


def dump(r: dict, path: str) -> None:
    with open(path, "w") as f:
        json.dump(r, f, indent=1)
