"""What each test-time view adds, and the alternatives to `accurate`'s averaging that were tried (not taken).

    python benchmarks/tta_views.py --sizes        # per view: best OKS of each annotated person, by person height
    python benchmarks/tta_views.py                # candidate views and ways of combining them, against accurate

On coco_mini train2017 only (where modes are chosen). Every view is the flipped pass at one input height, run once
(``engines.evaluate.fields_of_images``); a candidate resamples its views' heatmaps and PAFs onto the grid of the
largest, as ``FrameStep`` does, combines them (mean, as shipped, or the per-pixel maximum of the heatmaps) and
decodes with the averaged-map settings. Per-image view choice: the default pass's people heights decide which views
run (a view is left out when every person found would be taller than ``--too-tall`` or shorter than
``--too-short`` input px in it). Intervals: paired bootstrap over images against `accurate`.
"""
from __future__ import annotations

import argparse
import contextlib
import io
import sys

import numpy as np


from engines.evaluate import decode_images, fields_of_images
from engines.modes import MODES, Mode
from ssapose import paths
from ssapose.coco import load_coco
from ssapose.evaluation import coco_results
from ssapose.inference import decode_fields, unbatched
from ssapose.intervals import paired_difference
from ssapose.model_card import DEFAULT_INPUT_HEIGHT
from ssapose.tta import on_largest_grid

ACCURATE = MODES["accurate"].scales
CANDIDATES = ((0.5, 1.0, 1.5, 2.0), (0.5, 1.0, 1.5, 2.0, 2.5), (0.75, 1.0, 1.5, 2.0, 2.5), (1.0, 1.5, 2.0, 2.5),
              (0.5, 0.75, 1.0, 1.5, 2.0))
HEIGHT_BINS = (0, 32, 64, 128, 256, 10_000)


def combined(views: list[tuple], stride: int, how: str) -> tuple[dict, object]:
    """``views``: ``(fields, letterbox)`` of one image; their maps on the grid of the largest
    (``ssapose.tta.on_largest_grid``, as ``FrameStep`` puts them), combined by ``how`` ("mean": heatmaps and
    PAFs averaged, as shipped; "max": heatmaps' per-pixel maximum, PAFs averaged)."""
    pairs = [(box, unbatched(f)) for f, box in views]
    finest, on_grid = on_largest_grid(pairs, stride)
    heat = np.stack([v["heatmaps"] for v in on_grid])
    pafs = np.mean([v["pafs"] for v in on_grid], axis=0)
    grid, base = pairs[finest]
    return {**base, "heatmaps": heat.max(0) if how == "max" else heat.mean(0), "pafs": pafs}, grid


def candidate(per_view: dict, stride: int, decoder, scales, how: str = "mean", keep=None) -> list[dict]:
    """COCO results of ``scales``' flipped views combined by ``how``; ``keep(image_id, scale)`` may leave a view
    out of an image."""
    poses = {}
    for iid in per_view[scales[0]]:
        used = [s for s in scales if keep is None or keep(iid, s)]
        f, grid = combined([per_view[s][iid][:2] for s in used], stride, how)
        poses[iid] = decode_fields(f, stride, grid, decoder.for_fields(True))
    return coco_results(poses)


def best_oks(coco, results: list[dict]) -> dict[int, float]:
    """Each annotated person's (with keypoints) best OKS against any detection of its image."""
    from pycocotools.cocoeval import COCOeval

    with contextlib.redirect_stdout(io.StringIO()):
        ev = COCOeval(coco, coco.loadRes(results), "keypoints")
        ev.params.areaRng, ev.params.maxDets = ev.params.areaRng[:1], [100]
        ev.evaluate()
    out = {}
    for iid in coco.getImgIds():
        o = np.asarray(ev.ious.get((iid, 1), []))
        for k, g in enumerate(coco.loadAnns(coco.getAnnIds(imgIds=iid, iscrowd=False))):
            if g["num_keypoints"]:
                out[g["id"]] = float(o[:, k].max()) if o.size else 0.0
    return out


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sizes", action="store_true", help="the per-view table by person height")
    ap.add_argument("--too-tall", type=float, nargs="*", default=[400.0, 300.0])
    ap.add_argument("--too-short", type=float, nargs="*", default=[0.0, 64.0])
    ap.add_argument("--model", default=str(paths.DEFAULT_MODEL))
    args = ap.parse_args()
    ann = str(paths.coco_set("train").ann)
    coco = load_coco(ann)
    scales = sorted({s for c in CANDIDATES for s in c})
    per_view, stride, decoder = {}, 8, None
    for s in scales:
        per_view[s], stride, decoder = fields_of_images(args.model, Mode(flip=True, height=round(DEFAULT_INPUT_HEIGHT * s)), ann)
    default, _, _ = fields_of_images(args.model, Mode(), ann)
    base = coco_results(decode_images(default, stride, decoder))
    accurate = candidate(per_view, stride, decoder, ACCURATE)
    if args.sizes:
        scale_of = {iid: box.scale for iid, (_, box, _) in default.items()}
        height = {g["id"]: g["bbox"][3] * scale_of[g["image_id"]] for g in coco.loadAnns(coco.getAnnIds(iscrowd=False))
                  if g["num_keypoints"]}
        columns = {f"{s:g}x alone": best_oks(coco, candidate(per_view, stride, decoder, (s,))) for s in scales}
        columns["accurate"], columns["default"] = best_oks(coco, accurate), best_oks(coco, base)
        print("| height at 368 (px) | people | " + " | ".join(columns) + " |")
        print("|---" * (len(columns) + 2) + "|")
        for lo, hi in zip(HEIGHT_BINS, HEIGHT_BINS[1:]):
            ids = [g for g, h in height.items() if lo <= h < hi]
            cells = [f"{np.mean([c[g] for g in ids]):.2f} / {np.mean([c[g] >= 0.5 for g in ids]):.2f}" if ids else "-"
                     for c in columns.values()]
            print(f"| {lo}-{hi} | {len(ids)} | " + " | ".join(cells) + " |")
        return 0
    heights = {}
    for iid, (f, box, _) in default.items():
        h = decode_fields(f, stride, box, decoder).heights() * box.scale
        heights[iid] = h[h > 0]
    rows = [(f"flip + scales {', '.join(f'{s:g}' for s in c)}", c, "mean", None) for c in CANDIDATES]
    rows.append(("accurate, heatmaps' maximum", ACCURATE, "max", None))
    for tall in args.too_tall:
        for short in args.too_short:
            def keep(iid, s, tall=tall, short=short):
                h = heights[iid]
                return s == 1.0 or not len(h) or not (s * h.min() > tall or s * h.max() < short)
            rows.append((f"accurate, per image: no view where all are > {tall:g} or < {short:g} px", ACCURATE,
                         "mean", keep))
    print("| candidate (train2017) | AP | vs default | vs accurate |")
    print("|---|---|---|---|")
    for name, c, how, keep in rows:
        res = accurate if (c, how, keep) == (ACCURATE, "mean", None) else candidate(per_view, stride, decoder, c,
                                                                                     how, keep)
        _, b, d = paired_difference(coco, base, res)
        e = paired_difference(coco, accurate, res)[2]
        print(f"| {name} | {b.value:.3f} | {d.value:+.3f} [{d.low:+.3f}, {d.high:+.3f}] | "
              f"{e.value:+.3f} [{e.low:+.3f}, {e.high:+.3f}] |", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
