"""Which annotated people the oracle misses: encode -> decode every image, then COCOeval's own matching.

Usage: python benchmarks/oracle_failures.py [ANN.json ...] [--stride 8] [--no-offsets]

For every person that COCOeval does not match at all ten OKS thresholds it
prints the image, the annotation, its visible keypoint count and how many
thresholds matched it. It also lists the decoded poses that match nobody at
OKS 0.5 (false positives), with their rank among the image's poses.
"""
from __future__ import annotations

import argparse
import contextlib
import io
from pathlib import Path

import numpy as np

from ssapose.coco import load_coco
from ssapose.decode import DecoderConfig
from ssapose.oracle import oracle_eval
from ssapose.targets import TargetConfig

ROOT = Path(__file__).resolve().parents[1]
DEFAULT = [ROOT / "data/coco_mini/annotations/person_keypoints_train2017.json",
           ROOT / "data/coco_mini/annotations/person_keypoints_val2017.json",
           ROOT / "data/coco_tiny/test_coco.json"]


def failures(ann_file: str, stride: int, use_offsets: bool) -> tuple[dict, list[str]]:
    """COCOeval figures of the oracle, and one line per person or pose that costs AP."""
    from pycocotools.cocoeval import COCOeval

    res = oracle_eval(ann_file, TargetConfig(stride=stride), DecoderConfig(min_parts=1, min_score=0.0),
                      use_offsets=use_offsets)
    coco = load_coco(ann_file)
    with contextlib.redirect_stdout(io.StringIO()):
        ev = COCOeval(coco, coco.loadRes(res.results), "keypoints")
        ev.evaluate()
    n_thr = len(ev.params.iouThrs)
    lines = []
    for e in ev.evalImgs:
        if e is None or e["aRng"] != ev.params.areaRng[0]:
            continue
        matched = (e["gtMatches"] > 0).sum(axis=0)                       # (G,) thresholds matched
        for g, n, ignored in zip(e["gtIds"], matched, e["gtIgnore"]):
            if not ignored and n < n_thr:
                lines.append(f"image {e['image_id']} ann {g}: {coco.anns[g]['num_keypoints']} keypoints, "
                             f"matched at {n}/{n_thr} OKS thresholds")
        for rank, (d, m) in enumerate(zip(e["dtIds"], e["dtMatches"][0])):
            if m == 0:
                kp = np.asarray(ev.cocoDt.anns[d]["keypoints"]).reshape(-1, 3)
                lines.append(f"image {e['image_id']}: pose {rank + 1} of {len(e['dtIds'])} by score "
                             f"({int((kp[:, 2] > 0).sum())} keypoints, score {e['dtScores'][rank]:.3f}) "
                             f"matches nobody")
    return res.stats, lines


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("ann", nargs="*", type=Path, default=DEFAULT, help="COCO keypoint annotation files")
    ap.add_argument("--stride", type=int, default=8, help="output stride (8, 16 or 32)")
    ap.add_argument("--no-offsets", action="store_true", help="refine by upsampling instead of offsets")
    args = ap.parse_args()
    for f in args.ann:
        stats, lines = failures(str(f), args.stride, not args.no_offsets)
        print(f"{f.name}: AP {stats['AP']:.3f}, AR {stats['AR']:.3f}")
        for line in lines:
            print("  " + line)


if __name__ == "__main__":
    main()
