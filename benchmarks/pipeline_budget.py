"""What the work around the network costs per frame, and the pipeline/capacity ratio it allows on this machine.

    python benchmarks/pipeline_budget.py [--frames 200]

Every step of ``ssapose video`` with the mp4 and pose file written is timed alone on the demo clip (median CPU ms
per frame of the whole process, ``time.process_time``, so that the threads OpenCV and FFmpeg split a step into are
counted; the network is closed and its threads have stopped when the steps after it run): reading and decoding
the frame, preprocessing,
decoding the network's maps, tracking-free overlay drawing, writing the mp4 (with the CPU of an ffmpeg encoder
process) and the pose line. The network's cost per
frame at capacity is the cores' time it takes: ``cores / capacity FPS``. On a machine whose cores the network fills,
the pipeline can reach at most ``network / (network + the rest)`` of the capacity, however it is threaded.
"""
from __future__ import annotations

import argparse
import os
import resource
import sys
import tempfile
import time
from pathlib import Path


import numpy as np

from app.capacity import network_alone
from engines.sinks import OutputSpec, Sinks, run_header
from engines.run.pipeline import FrameResult
from engines import auto_streams, create_backend
from engines.run.step import FrameStep, Timings
from ssapose import paths
from ssapose.overlay import DrawStyle, draw_poses
from ssapose.sources import FrameSource, read_frames


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


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--frames", type=int, default=200)
    ap.add_argument("--model", default=str(paths.DEFAULT_MODEL))
    args = ap.parse_args()
    frames = read_frames(str(paths.demo_video()), args.frames)
    with FrameSource(str(paths.demo_video())) as src:
        it = iter(src)
        steps = {"read + decode the frame": cpu_ms(lambda _: next(it), range(args.frames))}
        fps = src.fps or 25.0
    cores = os.cpu_count() or 1
    capacity = network_alone(args.model, frames, auto_streams())
    with create_backend(args.model, streams=1) as be:
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
        head = run_header("clip", args.model, fps, {})
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
    print(f"{Path(args.model).name}, {args.frames} frames of the demo clip, {cores} cores; capacity {capacity:.1f} FPS")
    print("| step | CPU ms per frame |")
    print("|---|---|")
    print(f"| the network at capacity ({cores} cores / {capacity:.1f} FPS) | {network:.1f} |")
    for name, ms in steps.items():
        print(f"| {name} | {ms:.2f} |")
    print(f"| everything but the network | {rest:.1f} |")
    print(f"| highest pipeline / capacity these allow | {network / (network + rest):.2f} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
