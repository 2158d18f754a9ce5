"""Does the network need OpenCV's area resize, or would a cheaper shrink of the frame do? AP with paired intervals.

    python benchmarks/resize_ap.py [--sets train,val] [--variants area,remap,bilinear,dither]

Each variant replaces the shrink inside ``ssapose.preprocess.letterbox`` (frames enlarged stay bilinear), runs the
default INT8 IR with the default decoder on each coco_mini set, and is compared with area averaging on the same
images (paired bootstrap, 1000 draws). Also prints each variant's median time on 60 frames of the demo clip
(768x432 -> 654x368, one thread) and its mean absolute difference from area averaging there, in grey levels.

* ``area``: ``cv2.INTER_AREA``, what ships.
* ``remap``: a bilinear remap at each area cell's centroid (exact where a cell covers two pixels per axis, as 87 % of
  the cells do at the clip's 0.85, the rest touching a third pixel; whole blocks are averaged first below 0.5).
* ``bilinear``: ``cv2.INTER_LINEAR``.
* ``dither``: area averaging plus uniform noise of -1, 0 or +1 grey level per value (seeds 1-3): a control for how
  far AP moves when the input changes by one grey level and nothing else.
"""
from __future__ import annotations

import argparse
import time
from functools import lru_cache


import cv2
import numpy as np

import ssapose.preprocess as preprocess
from engines import create_backend
from engines.run.step import FrameStep
from ssapose import paths
from ssapose.coco import find_image_dir, load_coco
from ssapose.evaluation import coco_results, predict_images
from ssapose.intervals import paired_difference
from ssapose.model_card import DEFAULT_INPUT_HEIGHT
from ssapose.preprocess import input_scale
from ssapose.sources import read_frames


def _centroids(extent: float, n_out: int) -> np.ndarray:
    """``(n_out,)`` overlap-weighted mean of the pixel centres under each of ``n_out`` equal cells of ``[0, extent)``
    (pixel ``p`` spans ``[p, p+1)``; remap coordinates, centre ``p``)."""
    step = extent / n_out
    lo = np.arange(n_out) * step
    pix = np.floor(lo)[:, None] + np.arange(4)
    overlap = np.clip(np.minimum(lo[:, None] + step, pix + 1) - np.maximum(lo[:, None], pix), 0, None)
    return (overlap * pix).sum(1) / overlap.sum(1)


@lru_cache(maxsize=8)
def _maps(h: int, w: int, height: int, width: int, k: int):
    mx, my = np.meshgrid(_centroids(w / k, width), _centroids(h / k, height))
    return cv2.convertMaps(mx.astype(np.float32), my.astype(np.float32), cv2.CV_16SC2)


def remap(frame: np.ndarray, width: int, height: int) -> np.ndarray:
    """``(H, W, 3) uint8`` -> ``(height, width, 3)``: ``k x k`` block means, then a remap at the cells' centroids."""
    h, w = frame.shape[:2]
    lo, hi = sorted((w / width, h / height))
    k = max(1, min(int(np.ceil(hi / 2)), int(lo)))
    if k > 1:
        ph, pw = -(-h // k) * k, -(-w // k) * k
        frame = cv2.copyMakeBorder(frame, 0, ph - h, 0, pw - w, cv2.BORDER_REPLICATE)
        frame = cv2.resize(frame, (pw // k, ph // k), interpolation=cv2.INTER_AREA)
    m1, m2 = _maps(h, w, height, width, k)
    return cv2.remap(frame, m1, m2, cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)


def area(frame, width, height):
    return cv2.resize(frame, (width, height), interpolation=cv2.INTER_AREA)


def bilinear(frame, width, height):
    return cv2.resize(frame, (width, height), interpolation=cv2.INTER_LINEAR)


def dithered(seed: int):
    rng = np.random.default_rng(seed)

    def shrink(frame, width, height):
        a = area(frame, width, height).astype(np.int16) + rng.integers(-1, 2, (height, width, 3), dtype=np.int16)
        return np.clip(a, 0, 255).astype(np.uint8)
    return shrink


class _Patched:
    """``cv2`` as ``ssapose.preprocess`` sees it, with the shrinking ``resize`` calls replaced."""

    def __init__(self, shrink):
        self.shrink = shrink

    def __getattr__(self, name):
        return getattr(cv2, name)

    def resize(self, frame, size, interpolation=cv2.INTER_LINEAR):
        if interpolation == cv2.INTER_AREA:
            return self.shrink(frame, *size)
        return cv2.resize(frame, size, interpolation=interpolation)


def variants(names: list[str]) -> dict:
    out = {}
    for name in names:
        if name == "dither":
            out.update({f"dither (seed {s})": dithered(s) for s in (1, 2, 3)})
        else:
            out[name] = {"area": area, "remap": remap, "bilinear": bilinear}[name]
    return out


def timing(shrink, frames, pre) -> tuple[float, float]:
    """Median ms of ``shrink`` on ``frames`` to the default input height, and its mean grey-level difference
    from area averaging."""
    h, w = frames[0].shape[:2]
    s = input_scale(h, w, DEFAULT_INPUT_HEIGHT, pre)
    nw, nh = round(w * s), round(h * s)
    times, diff = [], []
    for f in frames:
        t0 = time.perf_counter()
        out = shrink(f, nw, nh)
        times.append(time.perf_counter() - t0)
        diff.append(np.abs(out.astype(np.float32) - area(f, nw, nh)).mean())
    return float(np.median(times) * 1e3), float(np.mean(diff))


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sets", default="train,val")
    ap.add_argument("--variants", default="area,remap,bilinear,dither")
    ap.add_argument("--model", default=str(paths.DEFAULT_MODEL))
    args = ap.parse_args()
    cv2.setNumThreads(1)
    chosen = variants(args.variants.split(","))
    frames = list(read_frames(str(paths.demo_video()), 60))
    results, cocos = {}, {}
    for split in args.sets.split(","):
        ann = str(paths.coco_set(split).ann)
        coco = cocos[split] = load_coco(ann)
        image_dir = find_image_dir(ann, coco)
        with create_backend(args.model, streams=1) as be:
            pre = be.info.config.preprocess
            for name, shrink in {"area": area, **chosen}.items():
                preprocess.cv2 = _Patched(shrink)
                try:
                    results[split, name] = coco_results(predict_images(coco, image_dir, FrameStep(be)))
                finally:
                    preprocess.cv2 = cv2
    print("| shrink | ms on the clip | grey levels from area | " +
          " | ".join(f"{s} AP, vs area [95 %]" for s in args.sets.split(",")) + " |")
    print("|---|---|---|" + "---|" * len(args.sets.split(",")))
    for name, shrink in chosen.items():
        ms, grey = timing(shrink, frames, pre)
        cells = []
        for split in args.sets.split(","):
            _, b, d = paired_difference(cocos[split], results[split, "area"], results[split, name])
            cells.append(f"{b.value:.3f}, {d.value:+.3f} [{d.low:+.3f}, {d.high:+.3f}]")
        print(f"| {name} | {ms:.2f} | {grey:.3f} | " + " | ".join(cells) + " |")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
