"""Which annotated people the oracle misses: encode -> decode every image, then COCOeval's own matching.

Usage: python benchmarks/oracle_failures.py [ANN.json ...] [--stride 8] [--no-offsets]

For every person that COCOeval does not match at all ten OKS thresholds it
prints the image, the annotation, its visible keypoint count and how many
thresholds matched it. It also lists the decoded poses that match nobody at
OKS 0.5 (false positives), with their rank among the image's poses.

Reference figures frame the decoder's AP: the number of people whose visible
parts fall into more than one piece of the limb graph (no PAF joins the pieces,
so only geometry can), and the AP of *ideal grouping*: the same peaks, each given
to the annotated person whose keypoint it lies on. With each peak serving one
person it is a grouping that exists (the best one scores at least as much); with
peaks shared it is a bound that no decoder of these peaks can pass.
"""
from __future__ import annotations

import contextlib
import io
from pathlib import Path

import numpy as np

import benchlib

from ssapose import paths
from ssapose.coco import evaluate, image_people, load_coco
from ssapose.decode import DecoderConfig, find_peaks
from ssapose.oracle import keypoint_peak_distances, oracle_eval, own_oks_results, take_peaks
from ssapose.skeleton import LIMBS, NUM_PARTS
from ssapose.targets import TargetConfig, encode_targets

DEFAULT = [paths.coco_set(n).ann for n in ("train", "val", "tiny")]


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


def pieces(visible: np.ndarray) -> int:
    """Number of connected pieces that the limb graph makes of one person's ``(18,) bool`` visible parts."""
    label = np.where(visible, np.arange(NUM_PARTS), -1)
    both = visible[LIMBS[:, 0]] & visible[LIMBS[:, 1]]
    for _ in range(NUM_PARTS):                                   # propagate the smallest label along limbs
        lo = np.minimum(label[LIMBS[both, 0]], label[LIMBS[both, 1]])
        np.minimum.at(label, LIMBS[both, 0], lo)
        np.minimum.at(label, LIMBS[both, 1], lo)
    return len(np.unique(label[visible]))


def ideal_grouping(ann_file: str, stride: int, use_offsets: bool) -> tuple[dict, dict, int, int]:
    """AP of ideal groupings of the decoded peaks, and how many people of how many the limb graph splits.

    Each annotated person takes, for each of its visible parts, the nearest peak of that part
    within one cell of its keypoint, and each pose is ranked by its true OKS (the best ranking).
    Returns the AP figures with each peak serving one person (people with the fewest keypoints
    choose first: a grouping that exists, so the best grouping scores at least that), then with
    peaks shared (no decoder that works from these peaks can score higher), then the counts.
    """
    coco = load_coco(ann_file)
    ids = sorted(coco.getImgIds())
    results = {False: [], True: []}
    split = total = 0
    for image_id in ids:
        info = coco.imgs[image_id]
        people = image_people(coco, image_id, with_ignore=False)
        truth = people.parts                                                              # (N, 18, 3)
        visible = truth[..., 2] > 0
        split += sum(pieces(v) > 1 for v in visible)
        total += len(truth)
        t = encode_targets(truth, int(info["width"]), int(info["height"]), TargetConfig(stride=stride))
        peaks = find_peaks(t.heatmaps, t.offsets, stride,
                           DecoderConfig(refine="offsets" if use_offsets else "upsample"))
        if len(peaks.part) == 0:
            continue
        d = keypoint_peak_distances(truth, peaks)
        for shared, out in results.items():
            parts = take_peaks(d, visible.sum(axis=1), peaks, stride, shared)
            out += own_oks_results(truth, parts, people.areas, image_id)
    return evaluate(coco, results[False], ids), evaluate(coco, results[True], ids), split, total


def main() -> None:
    ap = benchlib.parser(__doc__)
    ap.add_argument("ann", nargs="*", type=Path, default=DEFAULT, help="COCO keypoint annotation files")
    ap.add_argument("--stride", type=int, default=8, help="output stride (8, 16 or 32)")
    ap.add_argument("--no-offsets", action="store_true", help="refine by upsampling instead of offsets")
    args = benchlib.parse(ap)
    if args.quick:
        args.ann = [Path(benchlib.ann("tiny"))]
    rows, listed = [], []
    for f in args.ann:
        stats, lines = failures(str(f), args.stride, not args.no_offsets)
        ideal, bound, split, total = ideal_grouping(str(f), args.stride, not args.no_offsets)
        rows.append((f.name, stats["AP"], stats["AR"], ideal["AP"], bound["AP"], f"{split} of {total}"))
        listed += [f"{f.name}: {line}" for line in lines]
    benchlib.table(["annotations", "oracle AP", "oracle AR", "ideal grouping AP", "ideal, peaks shared AP",
                    "people split into pieces no limb joins"], rows)
    for line in listed:
        print("  " + line)


if __name__ == "__main__":
    main()
