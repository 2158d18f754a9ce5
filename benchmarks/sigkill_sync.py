"""A run killed with SIGKILL on a busy machine: does the mp4 hold every frame of the pose file?

Usage: python benchmarks/sigkill_sync.py [--runs 3] [--seconds 15] [--model FILE] [--source CLIP]

Each run starts ``ssapose video --out o.mp4 --json p.jsonl`` with one CPU-bound process per core beside it, kills it
with SIGKILL after ``--seconds``, waits for FFmpeg to finish the file (it encodes what its pipe held), and counts the
mp4's frames and the pose file's lines.
"""
from __future__ import annotations

import os
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import cv2

import benchlib

from ssapose import paths


def frames_in(video: Path) -> int:
    cap = cv2.VideoCapture(str(video))
    return sum(1 for _ in iter(lambda: cap.read()[0], False))


def one_run(model: str, source: str, seconds: float, folder: Path) -> tuple[int, int, float]:
    """``(mp4 frames, pose-file frames, s FFmpeg took to finish after the kill)``."""
    video, poses = folder / "o.mp4", folder / "p.jsonl"
    hogs = [subprocess.Popen([sys.executable, "-c", "while True: pass"]) for _ in range(os.cpu_count() or 1)]
    try:
        proc = subprocess.Popen([sys.executable, "-m", "app.cli", "video", source, "--model", model, "--out",
                                 str(video), "--json", str(poses)], stdout=subprocess.DEVNULL,
                                stderr=subprocess.DEVNULL)
        time.sleep(seconds)
        proc.send_signal(signal.SIGKILL)
        proc.wait()
        t0 = time.time()
        while subprocess.run(["pgrep", "-f", str(video)], capture_output=True).stdout and time.time() - t0 < 120:
            time.sleep(0.1)
        finished = time.time() - t0
    finally:
        for h in hogs:
            h.kill()
    return frames_in(video), poses.read_text().count("\n") - 1, finished


def main() -> int:
    p = benchlib.parser(__doc__)
    p.add_argument("--runs", type=int, default=3)
    p.add_argument("--seconds", type=float, default=15.0)
    p.add_argument("--model", default=str(paths.DEFAULT_MODEL))
    p.add_argument("--source", default=str(paths.demo_video()))
    args = benchlib.parse(p, runs=1, seconds=4.0)
    print(f"SIGKILL after {args.seconds:g} s, {os.cpu_count()} CPU-bound processes beside the run")
    print("| run | mp4 frames | pose-file frames | mp4 - poses | FFmpeg done after the kill (s) |")
    print("|---|---|---|---|---|")
    for n in range(args.runs):
        with tempfile.TemporaryDirectory() as tmp:
            mp4, lines, done = one_run(args.model, args.source, args.seconds, Path(tmp))
        print(f"| {n + 1} | {mp4} | {lines} | {mp4 - lines:+d} | {done:.1f} |")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
