"""Where the default model loses people: the network's peaks, or the decoder's grouping of them.

    python benchmarks/misses.py [--sets train val tiny] [--list]

For every set: the decoder's AP on the network's maps, and the AP of *ideal grouping* of the same maps' peaks
(each annotated person takes, for each visible keypoint, the nearest peak of that part close enough to count in
OKS, at the decoder's peak threshold and at lower ones; each peak serves one person, each pose ranked by its true
OKS). The gap between the decoder and ideal grouping at the decoder's threshold is what grouping loses; what
ideal grouping itself misses is what the network's peaks do not hold.

Then every annotated person whom COCOeval leaves unmatched at OKS 0.5 is put in one class:
  no peaks          ideal grouping of the peaks at every threshold tried gives it OKS < 0.5
  weak peaks        OKS >= 0.5 only with peaks below the decoder's threshold
  pose taken        a decoded pose has OKS >= 0.5 with it, but COCOeval gave that pose to someone else
  in pieces         its peaks lie in two or more decoded poses (a join or a limb missing)
  parts lost        one decoded pose holds some of its peaks, the others are in no pose
  dropped           none of its peaks is in any decoded pose (the person fell under min_parts / min_score)
  wrong parts       the pose holding most of its peaks took other peaks for some of its parts
by size (COCO's small < 32^2 < medium < 96^2 < large, by annotated area) and visible keypoints.
"""
from __future__ import annotations

import contextlib
import io
from dataclasses import dataclass, replace

import numpy as np

import benchlib

from engines.evaluate import fields_of_images
from engines.modes import Mode
from ssapose import paths
from ssapose.coco import evaluate, image_people, load_coco, oks_matrix
from ssapose.decode import find_peaks
from ssapose.inference import decode_fields, unbatched
from ssapose.oracle import keypoint_peak_distances, own_oks_results, take_peaks
from ssapose.poses import Poses
from ssapose.skeleton import COCO_SIGMAS, PART_TO_COCO, parts_to_coco

LOWER = (0.05, 0.03, 0.02)               # peak thresholds tried below the decoder's (those that are below it)
CLASSES = ("no peaks", "weak peaks", "pose taken", "in pieces", "parts lost", "dropped", "wrong parts")
SIZES = ((0, 32 ** 2, "small"), (32 ** 2, 96 ** 2, "medium"), (96 ** 2, np.inf, "large"))
#: A keypoint this close to its peak scores at least this much of OKS (COCO's per-keypoint similarity).
KEYPOINT_SIMILARITY = 0.1


def oks_radius(areas: np.ndarray) -> np.ndarray:
    """``(N, 18)`` pixels within which a keypoint's similarity is at least ``KEYPOINT_SIMILARITY`` (COCO's
    ``exp(-d^2 / (2 s^2 k^2))`` with ``s^2`` the area); inf for the neck, which OKS does not score."""
    sigma = np.where(PART_TO_COCO >= 0, COCO_SIGMAS[np.maximum(PART_TO_COCO, 0)], np.inf)
    return 2 * sigma[None] * np.sqrt(-2 * np.log(KEYPOINT_SIMILARITY) * areas[:, None])


@dataclass
class Image:
    """One image's ground truth, decoded poses, and ideal groupings ``{threshold: (N, 18, 3) parts}``."""

    image_id: int
    truth: np.ndarray          # (N, 18, 3) image pixels, neck added
    areas: np.ndarray          # (N,)
    ann_ids: np.ndarray        # (N,)
    poses: Poses               # image pixels
    ideal: dict[float, np.ndarray]


def own_oks(im: Image, n: int, parts: np.ndarray) -> float:
    """OKS of person ``n`` of ``im`` against the ``(18, 3)`` part-order pose ``parts``."""
    truth = parts_to_coco(im.truth[n:n + 1])
    return float(oks_matrix(truth, parts_to_coco(parts[None]), im.areas[n:n + 1])[0, 0])


def analyse(model: str, ann: str, flip: bool = False, scales: tuple[float, ...] = (1.0,)
            ) -> tuple[object, list[Image], float]:
    """Run the default estimator (or with test-time ``flip`` / ``scales``) on every image of ``ann``; its poses,
    the ideal groupings of its maps' peaks, and the decoder's peak threshold for these maps."""
    coco = load_coco(ann)
    kept, stride, card = fields_of_images(model, Mode(flip=flip, scales=scales), ann)
    decoder = card.for_fields(flip or scales != (1.0,))             # no automatic height: one kind of maps
    thresholds = (decoder.peak_threshold,) + tuple(t for t in LOWER if t < decoder.peak_threshold)
    out = []
    for iid, (fields, box, _) in sorted(kept.items()):
        f = unbatched(fields)
        people = image_people(coco, iid, with_ignore=False)
        ideal = {}
        for thr in thresholds:
            peaks = find_peaks(f["heatmaps"], f.get("offsets"), stride, replace(decoder, peak_threshold=thr))
            peaks.xy = peaks.xy / box.scale
            d = keypoint_peak_distances(people.parts, peaks)
            ideal[thr] = take_peaks(d, (people.parts[..., 2] > 0).sum(axis=1), peaks, oks_radius(people.areas),
                                    shared=False)
        poses = decode_fields(fields, stride, box, decoder)
        out.append(Image(iid, people.parts, people.areas, people.ann_ids, poses, ideal))
    return coco, out, thresholds[0]


def ranked_by_truth(images: list[Image]) -> list[dict]:
    """COCO results of the decoder's own poses, each scored by its best true OKS in its image instead of its
    confidence: what the decoder's grouping would score with a perfect ranking."""
    res = []
    for im in images:
        if not len(im.poses) or not len(im.truth):
            continue
        score = oks_matrix(parts_to_coco(im.truth), im.poses.keypoints, im.areas).max(axis=0)
        res += Poses(im.poses.keypoints, score).to_coco_results(im.image_id)
    return res


def ideal_results(images: list[Image], thr: float) -> list[dict]:
    """COCO results of ideal grouping at peak threshold ``thr``, each pose scored by its true OKS."""
    return [r for im in images for r in own_oks_results(im.truth, im.ideal[thr], im.areas, im.image_id)]


def _matched_at_half(coco, results: list[dict]) -> set[int]:
    """The ids of the annotations COCOeval matches to a result at OKS 0.5."""
    from pycocotools.cocoeval import COCOeval

    with contextlib.redirect_stdout(io.StringIO()):
        ev = COCOeval(coco, coco.loadRes(results), "keypoints")
        ev.evaluate()
    return {int(g) for e in ev.evalImgs if e is not None and e["aRng"] == ev.params.areaRng[0]
            for g, m in zip(e["gtIds"], e["gtMatches"][0]) if m > 0}


def classify(im: Image, n: int, thr: float, taken: bool) -> str:
    """The class of person ``n`` of ``im``, whom COCOeval left unmatched at OKS 0.5 (see the module doc)."""
    best = {t: own_oks(im, n, p[n]) for t, p in im.ideal.items()}
    if best[thr] < 0.5:
        return "weak peaks" if max(best.values()) >= 0.5 else "no peaks"
    if taken:
        return "pose taken"
    mine = parts_to_coco(im.ideal[thr][n])                                                  # (17, 3)
    have = mine[:, 2] > 0
    kp = im.poses.keypoints                                                                 # (P, 17, 3)
    same = (np.abs(kp[:, :, :2] - mine[None, :, :2]).max(axis=2) < 1e-3) & have[None] & (kp[..., 2] > 0)
    holders = np.flatnonzero(same.any(axis=1))
    if len(holders) == 0:
        return "dropped"
    if len(holders) > 1:
        return "in pieces"
    p = holders[0]
    other = have & (kp[p, :, 2] > 0) & ~same[p]
    return "wrong parts" if other.any() else "parts lost"


def _describe(im: Image, n: int, size: str, cls: str) -> str:
    """One line on missed person ``n`` of ``im``: its size, class, and per threshold the OKS of its ideal grouping
    and how many of its keypoints have a peak."""
    vis = parts_to_coco(im.truth[n])[:, 2] > 0
    cells = []
    for t, p in im.ideal.items():
        cells.append(f"{own_oks(im, n, p[n]):.2f} / {int((parts_to_coco(p[n])[vis, 2] > 0).sum())} at {t:g}")
    return (f"  image {im.image_id} ann {im.ann_ids[n]}: {size} ({im.areas[n]:.0f} px^2), {int(vis.sum())} "
            f"keypoints; {cls}; ideal OKS / keypoints with a peak: " + ", ".join(cells))


def misses(coco, images: list[Image], results: list[dict], thr: float, listing: bool) -> tuple[dict, dict]:
    """``{size: {class: people}}`` of the people COCOeval leaves unmatched at OKS 0.5 among ``results`` (the
    decoder's, of ``images``), and ``{size: people}``; with ``listing`` a line on each missed person is printed."""
    matched = _matched_at_half(coco, results)
    table = {s: {c: 0 for c in CLASSES} for _, _, s in SIZES}
    total = {s: 0 for _, _, s in SIZES}
    for im in images:
        best = oks_matrix(parts_to_coco(im.truth), im.poses.keypoints, im.areas).max(axis=1, initial=0.0)  # (N,)
        for n, g in enumerate(im.ann_ids):
            size = next(s for lo, hi, s in SIZES if lo <= im.areas[n] < hi)
            total[size] += 1
            if int(g) in matched:
                continue
            c = classify(im, n, thr, bool(best[n] >= 0.5))
            table[size][c] += 1
            if listing:
                print(_describe(im, n, size, c))
    return table, total


def report(name: str, coco, images: list[Image], thr: float, listing: bool) -> None:
    """Print the set's AP figures and its table of misses by size and class."""
    ids = [im.image_id for im in images]
    results = [r for im in images for r in im.poses.to_coco_results(im.image_id)]
    ap = evaluate(coco, results, ids)["AP"]
    ideal = {t: evaluate(coco, ideal_results(images, t), ids)["AP"] for t in images[0].ideal}
    ranked = evaluate(coco, ranked_by_truth(images), ids)["AP"]
    print(f"\n{name}: decoder AP {ap:.3f} (ranked by true OKS: {ranked:.3f}); ideal grouping of the same peaks: "
          + ", ".join(f"threshold {t:g}: {a:.3f}" for t, a in ideal.items()))
    table, total = misses(coco, images, results, thr, listing)
    print("| size | people | missed at OKS 0.5 | " + " | ".join(CLASSES) + " |")
    print("|---" * (3 + len(CLASSES)) + "|")
    for _, _, s in SIZES:
        row = table[s]
        print(f"| {s} | {total[s]} | {sum(row.values())} | " + " | ".join(str(row[c]) for c in CLASSES) + " |")


def main() -> int:
    ap = benchlib.parser(__doc__)
    ap.add_argument("--sets", nargs="+", default=["train", "val", "tiny"], choices=["train", "val", "tiny"])
    ap.add_argument("--model", default=str(paths.DEFAULT_MODEL), help="model file (default: the INT8 IR)")
    ap.add_argument("--flip", action="store_true", help="test-time flipping (as ssapose eval --flip)")
    ap.add_argument("--scales", type=lambda v: tuple(float(x) for x in v.split(",")), default=(1.0,),
                    help="test-time scales, comma-separated (as ssapose eval --scales)")
    ap.add_argument("--list", action="store_true", help="print every missed person with its class")
    args = benchlib.parse(ap, sets=["tiny"])
    for name in args.sets:
        ann = str(paths.coco_set(name).ann)
        coco, images, thr = analyse(args.model, ann, args.flip, args.scales)
        report(name, coco, images, thr, args.list)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
