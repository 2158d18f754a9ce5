"""Decoder cost against the number of people: ground-truth fields of N real people tiled on one input.

    python benchmarks/crowd_decode.py [--repeat 15]

People: the annotated persons of coco_mini train2017 with at least 8 keypoints, each scaled to fill one of 64
places (82 x 184 px) tiled on a 1312x736 input (stride 8, the default decoder, no network). Prints the median decode ms of each crowd size
and the oracle AP of the decoded crowd against the tiled truth (the same poses must be found at every size).
"""
from __future__ import annotations

import sys
import time

import numpy as np

import benchlib

from ssapose import paths
from ssapose.coco import image_people, load_coco
from ssapose.decode import DecoderConfig, decode
from ssapose.skeleton import parts_to_coco
from ssapose.targets import TargetConfig, encode_targets

W, H, CELL_W, CELL_H = 1312, 736, 82, 184       # 16 x 4 = 64 places of 82 x 184 px


def people() -> list[np.ndarray]:
    """``(18, 3)`` part-order persons from train2017 with at least 8 keypoints, in their own pixels."""
    coco = load_coco(str(paths.coco_set("train").ann))
    return [p for iid in sorted(coco.getImgIds()) for p in image_people(coco, iid, with_ignore=False).parts
            if (p[:, 2] > 0).sum() >= 8]


def crowd(pool: list[np.ndarray], n: int) -> np.ndarray:
    """``(n, 18, 3)`` persons, one per place of the 16 x 4 grid, each scaled to fill its place (at most 150 px
    tall, 76 px wide) and centred in it, in input pixels."""
    placed = []
    for i in range(n):
        p = pool[i % len(pool)].copy()
        vis = p[:, 2] > 0
        lo, hi = p[vis, :2].min(0), p[vis, :2].max(0)
        scale = min(150 / max(hi[1] - lo[1], 1.0), 76 / max(hi[0] - lo[0], 1.0))
        centre = np.array([(i % 16 + 0.5) * CELL_W, (i // 16 + 0.5) * CELL_H])
        p[:, :2] = (p[:, :2] - (lo + hi) / 2) * scale + centre
        p[:, 2] = np.where(vis, 2.0, 0.0)
        placed.append(p)
    return np.stack(placed)


def oracle_ap(truth: np.ndarray, poses) -> float:
    """COCO AP of ``poses`` against ``(N, 17, 3)`` true keypoints on one image."""
    import contextlib
    import io

    from pycocotools.coco import COCO

    anns = []
    for i, kp in enumerate(truth):
        vis = kp[:, 2] > 0
        lo, hi = kp[vis, :2].min(0), kp[vis, :2].max(0)
        w, h = hi - lo + 10
        anns.append({"id": i + 1, "image_id": 1, "category_id": 1, "keypoints": kp.ravel().tolist(),
                     "num_keypoints": int(vis.sum()), "area": float(w * h), "iscrowd": 0,
                     "bbox": [float(lo[0] - 5), float(lo[1] - 5), float(w), float(h)]})
    gt = COCO()
    gt.dataset = {"images": [{"id": 1, "width": W, "height": H}], "annotations": anns,
                  "categories": [{"id": 1, "name": "person"}]}
    from pycocotools.cocoeval import COCOeval

    with contextlib.redirect_stdout(io.StringIO()):
        gt.createIndex()
        ev = COCOeval(gt, gt.loadRes(poses.to_coco_results(1)), "keypoints")
        ev.params.maxDets = [max(100, len(truth))]        # COCO counts only 20 detections per image by default
        ev.evaluate()
        ev.accumulate()
    prec = ev.eval["precision"][:, :, 0, 0, -1]          # OKS 0.50:0.95, recall points, all areas
    return float(prec[prec > -1].mean())


def main() -> int:
    ap = benchlib.parser(__doc__)
    ap.add_argument("--repeat", type=int, default=15)
    ap.add_argument("--sizes", type=int, nargs="+", default=[1, 5, 10, 20, 40, 64])
    args = benchlib.parse(ap, repeat=1, sizes=[1, 5])
    pool = people()
    cfg = DecoderConfig()
    print(f"| people | decode ms (median of {args.repeat}) | ms per person | oracle AP |")
    print("|---|---|---|---|")
    for n in args.sizes:
        parts = crowd(pool, n)
        t = encode_targets(parts, W, H, TargetConfig(stride=8))
        times = []
        for _ in range(args.repeat):
            t0 = time.perf_counter()
            poses = decode(t.heatmaps, t.pafs, 8, t.offsets, cfg, image_height=H)
            times.append((time.perf_counter() - t0) * 1e3)
        ms = float(np.median(times))
        truth = parts_to_coco(parts)
        print(f"| {n} | {ms:.1f} | {ms / n:.2f} | {oracle_ap(truth, poses):.3f} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
