"""The training loader before and after a change, timed in one run on the same samples (one worker's view).

    python benchmarks/loader_speed.py                 # against the loader of commit 21a0b74
    python benchmarks/loader_speed.py --before HEAD~3

The old ``training/data.py`` is read from git and imported beside the current one; both build their items
from coco_mini train2017 at input 368 with the paper's augmentation (the current one as ``train.py`` makes it:
uint8 inputs, normalised on the training device), alternating rounds so that a noisy
machine hits both alike. Prints the median ms per item of each and their ratio.
"""
from __future__ import annotations

import argparse
import importlib.util
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

import cv2
import numpy as np
import torch

from ssapose import paths
from ssapose.models import get_config
from ssapose.targets import TargetConfig


def load_old(rev: str):
    text = subprocess.run(["git", "show", f"{rev}:training/data.py"], cwd=ROOT, capture_output=True, text=True,
                          check=True).stdout
    path = Path(tempfile.mkdtemp()) / "data_before.py"
    path.write_text(text)
    spec = importlib.util.spec_from_file_location("data_before", path)
    mod = importlib.util.module_from_spec(spec)
    sys.modules["data_before"] = mod              # dataclasses look their module up while the class is made
    spec.loader.exec_module(mod)
    return mod


def per_item_ms(ds, n: int) -> float:
    t0 = time.perf_counter()
    for i in range(n):
        ds[i % len(ds)]
    return (time.perf_counter() - t0) / n * 1e3


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--before", default="21a0b74", help="git revision of the old loader (default: %(default)s)")
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--size", type=int, default=368)
    args = ap.parse_args()
    cv2.setNumThreads(0)
    torch.set_num_threads(1)
    import training.data as new

    old = load_old(args.before)
    s = paths.coco_set("train")
    pre = get_config("lwop").preprocess
    sets = {"before": old.CocoKeypoints(s.ann, s.images, args.size, TargetConfig(stride=8), pre, old.AugmentConfig()),
            "after": new.CocoKeypoints(s.ann, s.images, args.size, TargetConfig(stride=8), pre, new.AugmentConfig(),
                                       raw_input=True)}        # as train.py makes it: uint8, normalised on the GPU
    cache = tempfile.mkdtemp()
    sets["after, image_cache"] = new.CocoKeypoints(s.ann, s.images, args.size, TargetConfig(stride=8), pre,
                                                   new.AugmentConfig(), image_cache=cache, raw_input=True)
    per_item_ms(sets["after, image_cache"], len(sets["after"]))         # the first epoch makes the copies
    times = {k: [] for k in sets}
    for _ in range(args.rounds):
        for k, ds in sets.items():
            times[k].append(per_item_ms(ds, len(ds)))
    med = {k: float(np.median(v)) for k, v in times.items()}
    print(f"| loader | ms per item (median of {args.rounds} rounds of {len(sets['after'])} items) | items/s | "
          "speed-up |")
    print("|---|---|---|---|")
    for k, ms in med.items():
        label = f"before ({args.before})" if k == "before" else k
        print(f"| {label} | {ms:.2f} | {1000 / ms:.0f} | {med['before'] / ms:.2f}x |")
    copies = list(Path(cache).rglob("*.jpg"))
    if copies:
        print(f"image cache: {len(copies)} copies, {sum(p.stat().st_size for p in copies) / len(copies) / 1024:.0f} KiB "
              "each on average")
    return 0


if __name__ == "__main__":
    sys.exit(main())
