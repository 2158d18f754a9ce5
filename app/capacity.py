"""The machine's inference capacity against what the pipeline delivers, and live mode's latency, in one run.

* capacity: the network alone, inputs prepared in advance, ``streams`` threads each with its own request (the
  backend's best configuration on all cores);
* pipeline: ``ssapose video``'s pipeline on the same frames with the default flags, overlay drawn and the mp4
  and the pose file written;
* live latency: the pipeline in live mode on frames arriving like a camera's at 30 fps, capture to result;
* the pipeline and its live latency again with region-of-interest inference (``--roi``).
"""
from __future__ import annotations

import statistics
import tempfile
import threading
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from engines import auto_streams, create_backend
from engines.run.region import RegionConfig
from ssapose.model_card import DEFAULT_INPUT_HEIGHT
from ssapose.preprocess import prepare


def network_alone(model: str, frames: list[np.ndarray], streams: int, threads: int | None = None,
                  height: int = DEFAULT_INPUT_HEIGHT) -> float:
    """Frames per second of the network alone: ``streams`` threads sharing the prepared ``frames``."""
    be = create_backend(model, "auto", threads=threads, streams=streams)
    try:
        pre, raw = be.info.config.preprocess, getattr(be, "takes_uint8", False)
        inputs = [prepare(f, height, pre, normalised=not raw)[0] for f in frames]
        for x in inputs[:streams * 2]:                 # compile and warm up every request
            be.infer(x)
        todo = iter(range(len(inputs)))
        lock = threading.Lock()

        def work():
            while True:
                with lock:
                    i = next(todo, None)
                if i is None:
                    return
                be.infer(inputs[i])

        t0 = time.perf_counter()
        workers = [threading.Thread(target=work) for _ in range(streams)]
        for w in workers:
            w.start()
        for w in workers:
            w.join()
        return len(inputs) / (time.perf_counter() - t0)
    finally:
        be.close()


def pipeline_fps(model: str, frames: list[np.ndarray], fps: float, height: int = DEFAULT_INPUT_HEIGHT,
                 region: RegionConfig | None = None) -> float:
    """End-to-end FPS of the default pipeline on ``frames``, overlay drawn, mp4 and pose file written (with
    ``region``: the network only where people are)."""
    from engines.run.pipeline import Pipeline, PipelineConfig
    from engines.sinks import OutputSpec, Sinks, run_header

    with create_backend(model) as be, tempfile.TemporaryDirectory() as tmp:
        pipe = Pipeline(iter(frames), be, PipelineConfig(input_size=height, draw=True, clock_fps=fps, region=region))
        outs = OutputSpec(video=str(Path(tmp) / "o.mp4"), poses=str(Path(tmp) / "p.jsonl"))
        sinks = Sinks(outs, run_header("benchmark", model, fps, pipe.settings()), fps)
        for r in pipe.results():
            sinks.write(r)
        sinks.close()
        return pipe.summary().fps


def camera(frames: list[np.ndarray], fps: float, seconds: float):
    """Frames as a camera delivers them: one every ``1 / fps`` s (cycling), for ``seconds``."""
    t0 = time.perf_counter()
    for n in range(int(seconds * fps)):
        wait = t0 + n / fps - time.perf_counter()
        if wait > 0:
            time.sleep(wait)
        yield frames[n % len(frames)]


def live_latency(model: str, frames: list[np.ndarray], seconds: float = 10.0, fps: float = 30.0,
                 height: int = DEFAULT_INPUT_HEIGHT, region: RegionConfig | None = None) -> tuple[float, float, int]:
    """``(median ms, p95 ms, frames dropped)`` from capture to result in live mode, frames at ``fps``."""
    from engines.run.pipeline import Pipeline, PipelineConfig

    with create_backend(model, streams=1) as be:     # as ssapose video opens a live source: one request
        pipe = Pipeline(camera(frames, fps, seconds), be, PipelineConfig(input_size=height, live=True, draw=True,
                                                                         region=region))
        lat = [r.latency_ms for r in pipe.results()]
        lat = lat[len(lat) // 10:]                      # after the first tenth: compilation and warm-up
        return float(np.median(lat)), float(np.percentile(lat, 95)), pipe.stats.dropped


@dataclass
class CapacityReport:
    capacity: list[float]
    pipeline: list[float]
    latency: tuple[float, float, int]
    streams: int
    roi: list[float]                          # the pipeline with --roi, in the same rounds
    roi_latency: tuple[float, float, int]

    def describe(self) -> str:
        ratios = [p / c for p, c in zip(self.pipeline, self.capacity)]
        cap = statistics.median(self.capacity)
        med, p95, dropped = self.latency
        interval = 1000.0 / cap
        return "\n".join([
            f"capacity (network alone, {self.streams} requests, all cores): "
            f"{', '.join(f'{c:.1f}' for c in self.capacity)} FPS (median {cap:.1f})",
            f"pipeline (overlay drawn, mp4 and poses written): {', '.join(f'{p:.1f}' for p in self.pipeline)} FPS",
            f"pipeline / capacity: {', '.join(f'{r:.2f}' for r in ratios)} (median {statistics.median(ratios):.2f})",
            f"live mode (one request), a 30 fps camera: capture to result {med:.0f} ms median, {p95:.0f} ms p95 "
            f"({med / interval:.1f} and {p95 / interval:.1f} frame intervals of the capacity's rate), "
            f"{dropped} stale frames dropped",
            f"with --roi (the network only where people are): pipeline {', '.join(f'{p:.1f}' for p in self.roi)} "
            f"FPS, {statistics.median([r / p for r, p in zip(self.roi, self.pipeline)]):.2f}x the full frame's "
            f"(median); live {self.roi_latency[0]:.0f} ms median, {self.roi_latency[1]:.0f} ms p95"])


def measure_capacity(model: str, frames: list[np.ndarray], fps: float, rounds: int = 3,
                     height: int = DEFAULT_INPUT_HEIGHT, live_seconds: float = 10.0) -> CapacityReport:
    """Capacity, the pipeline and the pipeline with ``--roi`` in alternating rounds, then the live latency of
    both."""
    streams, region = auto_streams(), RegionConfig()
    caps, pipes, rois = [], [], []
    for _ in range(rounds):
        caps.append(network_alone(model, frames, streams, height=height))
        pipes.append(pipeline_fps(model, frames, fps, height))
        rois.append(pipeline_fps(model, frames, fps, height, region))
    return CapacityReport(caps, pipes, live_latency(model, frames, live_seconds, height=height), streams, rois,
                          live_latency(model, frames, live_seconds, height=height, region=region))
