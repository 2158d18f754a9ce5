"""Start-up of ``ssapose video``: seconds from launch to the first decoded frame, and peak memory after 100 frames.

Usage: python benchmarks/startup.py [--model FILE] [--runs 5]

Each run launches ``ssapose video DEMO --max-frames 100 --json FILE`` as a new process and polls the
JSON Lines file: the first frame line marks the first decoded frame. The peak RSS is the child's
maximum resident set (``getrusage``). It also says whether torch was imported on that path.
"""
from __future__ import annotations

import argparse
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

from ssapose import paths


def one_run(model: str) -> tuple[float, float]:
    """``(seconds to the first decoded frame, peak RSS MiB)`` of one process."""
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "p.jsonl"
        t0 = time.perf_counter()
        proc = subprocess.Popen([sys.executable, "-m", "app.cli", "video", str(paths.demo_video()), "--model", model,
                                 "--max-frames", "100", "--json", str(out)], cwd=ROOT,
                                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        first = None
        while proc.poll() is None:
            if first is None and out.exists() and out.read_text().count("\n") >= 2:
                first = time.perf_counter() - t0
            time.sleep(0.005)
        if first is None:
            first = time.perf_counter() - t0
        rss = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
        return first, rss


def torch_on_path(model: str) -> bool:
    code = ("import sys; from app.cli import build_parser; from engines import create_backend; "
            "from engines.run.pipeline import Pipeline; from app.commands import run_video; "
            f"create_backend({model!r}, 'auto'); print('torch' in sys.modules)")
    return subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True).stdout.strip() == "True"


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--model", default=str(paths.DEFAULT_MODEL), help="model file (default: %(default)s)")
    ap.add_argument("--runs", type=int, default=5, help="launches (default: %(default)s)")
    args = ap.parse_args(argv)
    firsts, peaks = [], []
    for _ in range(args.runs):
        first, rss = one_run(args.model)
        firsts.append(first)
        peaks.append(rss)
    print(f"{Path(args.model).name}: first decoded frame after {statistics.median(firsts):.2f} s "
          f"(median of {args.runs}: {', '.join(f'{f:.2f}' for f in firsts)}); peak RSS after 100 frames "
          f"{max(peaks):.0f} MiB; torch imported: {torch_on_path(args.model)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
