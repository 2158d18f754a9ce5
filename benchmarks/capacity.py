"""The pipeline against the machine's inference capacity, measured side by side in one run; with ``--budget``,
what the work around the network costs per frame.

    python benchmarks/capacity.py [--model FILE] [--frames 300] [--rounds 3]
    python benchmarks/capacity.py --budget [--frames 200]

Each round, on the same frames of the demo clip at the default height:
1. capacity: the network alone, preprocessed inputs ready, ``streams`` threads each with its own request
   (the backend's best configuration on all cores: OpenVINO THROUGHPUT, ``auto_streams()`` requests);
2. the network alone with one synchronous request, for reference;
3. ``ssapose video --no-roi`` (every frame whole), overlay drawn and the mp4 and JSON Lines written;
4. the same with ``--streams 1 --threads 1``;
5. ``ssapose video`` with its defaults (the network only where people are), for comparison.
It prints each round's FPS and the ratio pipeline / capacity, then the medians.

``--budget`` times every step of ``ssapose video`` with the mp4 and pose file written alone on the demo clip (median
CPU ms per frame of the whole process, ``time.process_time``, so that the threads OpenCV and FFmpeg split a step into
are counted; the network is closed and its threads have stopped when the steps after it run): reading and decoding
the frame, preprocessing, decoding the network's maps, overlay drawing, writing the mp4 (with the CPU of its ffmpeg
encoder process) and the pose line. The network's cost per frame at capacity is the cores' time it takes:
``cores / capacity FPS``. On a machine whose cores the network fills, the pipeline can reach at most
``network / (network + the rest)`` of the capacity, however it is threaded.
"""
from __future__ import annotations

import contextlib
import io
import os
import resource
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

import benchlib

from app.capacity import network_alone
from app.cli import main as cli
from engines import auto_streams, create_backend
from engines.run.pipeline import FrameResult
from engines.run.step import FrameStep, Timings
from engines.sinks import OutputSpec, Sinks, run_header
from ssapose import paths
from ssapose.model_card import DEFAULT_INPUT_HEIGHT
from ssapose.overlay import DrawStyle, draw_poses
from ssapose.sources import FrameSource, read_frames


def pipeline(model: str, frames: int, extra: list[str]) -> float:
    """FPS of ``ssapose video`` on the first ``frames`` frames of the demo clip, mp4 and pose file written."""
    with tempfile.TemporaryDirectory() as tmp:
        out = io.StringIO()
        with contextlib.redirect_stdout(out):
            cli(["video", "--model", model, "--max-frames", str(frames), "--out", f"{tmp}/o.mp4",
                 "--json", f"{tmp}/p.jsonl", *extra])
        line = next(ln for ln in out.getvalue().splitlines() if ln.startswith("inference:"))
        return float(line.split("; ")[1].split(" FPS")[0])


def capacity_rounds(model: str, frames: int, rounds: int) -> None:
    """Print each round's capacity, pipeline FPS and their ratio, then the medians."""
    clip = read_frames(str(paths.demo_video()), limit=frames)
    streams = auto_streams()
    print(f"{Path(model).name}, {len(clip)} frames at height {DEFAULT_INPUT_HEIGHT}, {streams} streams")
    header = ["round", "capacity (network alone, best)", "network alone, 1 request", "pipeline, every frame whole",
              "pipeline, --streams 1 --threads 1", "pipeline (default: region of interest)", "whole-frame pipeline / capacity"]
    rows = []
    for r in range(rounds):
        cap = network_alone(model, clip, streams, None)
        one = network_alone(model, clip, 1, 1)
        pipe = pipeline(model, frames, ["--no-roi"])
        old = pipeline(model, frames, ["--no-roi", "--streams", "1", "--threads", "1"])
        roi = pipeline(model, frames, [])
        rows.append((cap, one, pipe, old, roi, pipe / cap))
    med = [benchlib.median(c) for c in zip(*rows)]
    benchlib.table(header, [(r + 1, *(f"{v:.1f}" for v in row[:5]), f"{row[5]:.2f}") for r, row in enumerate(rows)]
                   + [("median", *(f"{v:.1f}" for v in med[:5]), f"{med[5]:.2f}")])


def cpu_ms(fn, items) -> float:
    """Median process CPU ms of ``fn(item)`` over ``items`` (all threads: OpenCV resizes on 2, and a thread's own
    clock counts half). Results are dropped at once, as in the pipeline, which keeps a few frames in flight: kept
    results would make every call fault in fresh pages (0.5-2 ms a frame here), which steady state does not."""
    times = []
    for it in items:
        t0 = time.process_time()
        fn(it)
        times.append((time.process_time() - t0) * 1e3)
    return float(np.median(times))


def budget(model: str, n: int) -> None:
    """Print the CPU ms per frame of every step around the network, and the ratio they allow."""
    frames = read_frames(str(paths.demo_video()), n)
    with FrameSource(str(paths.demo_video())) as src:
        it = iter(src)
        steps = {"read + decode the frame": cpu_ms(lambda _: next(it), range(n))}
        fps = src.fps or 25.0
    cores = os.cpu_count() or 1
    capacity = network_alone(model, frames, auto_streams())
    with create_backend(model, streams=1) as be:
        est = FrameStep(be)
        t = Timings()
        steps["preprocess"] = cpu_ms(lambda f: est.prepare(f, t), frames)   # before any inference
        prepared = [est.prepare(f, t) for f in frames]
        fields = [est.network(x, t) for x, _ in prepared]
    time.sleep(0.5)                                   # the network's idle threads stop spinning
    steps["decode the maps"] = cpu_ms(lambda k: est.decode(fields[k], prepared[k][1], t), range(len(frames)))
    poses = [est.decode(fields[k], prepared[k][1], t) for k in range(len(frames))]
    style = DrawStyle()
    steps["draw the overlay"] = cpu_ms(lambda k: draw_poses(frames[k].copy(), poses[k], style), range(len(frames)))
    images = [draw_poses(frames[k].copy(), poses[k], style) for k in range(len(frames))]
    with tempfile.TemporaryDirectory() as tmp:
        head = run_header("clip", model, fps, {})
        video = Sinks(OutputSpec(video=str(Path(tmp) / "o.mp4")), head, fps)
        child0 = resource.getrusage(resource.RUSAGE_CHILDREN)
        steps["write the mp4"] = cpu_ms(lambda k: video.write(FrameResult(k, 0.0, poses[k], Timings(), image=images[k])),
                                        range(len(images)))
        video.close()                                  # an ffmpeg encoder is a child process: count its CPU too
        child1 = resource.getrusage(resource.RUSAGE_CHILDREN)
        encoder = (child1.ru_utime + child1.ru_stime - child0.ru_utime - child0.ru_stime) * 1e3 / len(images)
        steps["write the mp4"] += encoder
        lines = Sinks(OutputSpec(poses=str(Path(tmp) / "o.jsonl")), head, fps)
        steps["write the pose line"] = cpu_ms(
            lambda k: lines.write(FrameResult(k, 0.0, poses[k], Timings())), range(len(frames)))
        lines.close()
    network = 1000.0 * cores / capacity
    rest = sum(steps.values())
    print(f"{Path(model).name}, {n} frames of the demo clip, {cores} cores; capacity {capacity:.1f} FPS")
    print("| step | CPU ms per frame |")
    print("|---|---|")
    print(f"| the network at capacity ({cores} cores / {capacity:.1f} FPS) | {network:.1f} |")
    for name, ms in steps.items():
        print(f"| {name} | {ms:.2f} |")
    print(f"| everything but the network | {rest:.1f} |")
    print(f"| highest pipeline / capacity these allow | {network / (network + rest):.2f} |")


def main() -> int:
    ap = benchlib.parser(__doc__)
    ap.add_argument("--model", default=str(paths.DEFAULT_MODEL), help="model file (default: %(default)s)")
    ap.add_argument("--frames", type=int, help="frames of the demo clip (default: 300, or 200 with --budget)")
    ap.add_argument("--rounds", type=int, default=3, help="rounds (default: %(default)s)")
    ap.add_argument("--budget", action="store_true", help="the CPU cost of each step around the network instead")
    args = benchlib.parse(ap, frames=10, rounds=1)
    if args.budget:
        budget(args.model, args.frames or 200)
    else:
        capacity_rounds(args.model, args.frames or 300, args.rounds)
    return 0


if __name__ == "__main__":
    sys.exit(main())
