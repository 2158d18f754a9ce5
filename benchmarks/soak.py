"""Soak: the default model in live mode on the demo clip, looped, with tracking and overlay, for a long time.

Usage: python benchmarks/soak.py [--minutes 30] [--at 1,10,30] [--fps F] [--model FILE] [--json soak.json]

The clip is played at its own frame rate (as a camera would deliver it) in live mode, so frames
that inference cannot keep up with are dropped, not queued. At each minute of ``--at`` it prints
the process's resident memory (RSS), its thread count, the frames dropped so far and the
capture-to-result latency (median and p95) over the minute before. At the end it checks the
acceptance of issue 21: RSS at the last mark within 5 % of the second, latency p95 at the last
mark within 20 % of the first, and the thread count constant.
"""
from __future__ import annotations

import json
import os
import sys
import threading
import time
from collections import deque
from pathlib import Path

import numpy as np

import benchlib


from engines.run.pipeline import Pipeline, PipelineConfig
from engines.run.session import LIVE_STREAMS
from ssapose.tracking import Tracker
from engines import create_backend
from ssapose import paths
from ssapose.sources import FrameSource, looping


def proc_status() -> tuple[float, int]:
    """``(RSS in MiB, OS threads)`` of this process, from /proc (Linux)."""
    fields = dict(line.split(":", 1) for line in Path("/proc/self/status").read_text().splitlines() if ":" in line)
    return int(fields["VmRSS"].split()[0]) / 1024, int(fields["Threads"])


def main(argv=None) -> int:
    ap = benchlib.parser(__doc__)
    ap.add_argument("--minutes", type=float, default=30.0, help="how long to run (default: %(default)s)")
    ap.add_argument("--at", default="1,10,30", help="minutes at which to report (default: %(default)s)")
    ap.add_argument("--model", default=str(paths.DEFAULT_MODEL), help="model file (default: %(default)s)")
    ap.add_argument("--video", default=str(paths.demo_video()), help="clip to loop (default: the demo clip)")
    ap.add_argument("--fps", type=float, default=0.0,
                    help="rate the clip is played at, as a camera would deliver it (default: the clip's own)")
    ap.add_argument("--json", help="also write the marks here (.json)")
    args = benchlib.parse(ap, argv, minutes=0.1, at="0.02,0.05,0.1")
    marks = [float(m) for m in args.at.split(",") if float(m) <= args.minutes]
    fps = args.fps or FrameSource(args.video).fps or 25.0
    stop = threading.Event()
    backend = create_backend(args.model, "auto", streams=LIVE_STREAMS)     # as `ssapose video` opens a camera
    cfg = PipelineConfig(live=True, draw=True, pace_fps=fps)
    pipe = Pipeline(looping(args.video, stop.is_set), backend, cfg, Tracker())
    print(f"soak: {args.model} on {Path(args.video).name} looped at {fps:g} fps, live, tracking + overlay, "
          f"{args.minutes:g} min; {os.cpu_count()} cores", flush=True)
    print("| minute | RSS (MiB) | threads | frames | dropped | latency median (ms) | latency p95 (ms) |")
    print("|---|---|---|---|---|---|---|", flush=True)
    rows, window, t0 = [], deque(), time.perf_counter()
    for r in pipe.results():
        now = time.perf_counter()
        window.append((now, r.latency_ms))
        while window[0][0] < now - 60:                   # latency over the minute before each mark
            window.popleft()
        minute = (now - t0) / 60
        if marks and minute >= marks[0]:
            rss, threads = proc_status()
            lat = np.array([v for _, v in window])
            row = {"minute": marks.pop(0), "rss_mib": round(rss, 1), "threads": threads,
                   "frames": pipe.stats.processed, "dropped": pipe.stats.dropped,
                   "latency_median_ms": round(float(np.median(lat)), 1),
                   "latency_p95_ms": round(float(np.percentile(lat, 95)), 1)}
            rows.append(row)
            print("| " + " | ".join(str(v) for v in row.values()) + " |", flush=True)
        if minute >= args.minutes:
            break
    stop.set()
    pipe.stop()
    backend.close()
    if len(rows) >= 2:
        first, second, last = rows[0], rows[1], rows[-1]
        rss_ok = abs(last["rss_mib"] - second["rss_mib"]) <= 0.05 * second["rss_mib"]
        lat_ok = last["latency_p95_ms"] <= 1.2 * first["latency_p95_ms"]
        thr_ok = len({r["threads"] for r in rows}) == 1
        print(f"RSS at minute {last['minute']:g} within 5 % of minute {second['minute']:g}: {rss_ok}; "
              f"latency p95 within 20 % of minute {first['minute']:g}: {lat_ok}; threads constant: {thr_ok}")
    if args.json:
        Path(args.json).write_text(json.dumps(rows, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
