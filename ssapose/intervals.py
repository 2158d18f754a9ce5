"""Confidence intervals for COCO keypoint AP: a bootstrap over images, single or paired.

Our evaluation sets are small (68 people in coco_mini val2017), so an AP difference means little without its
interval. Each draw resamples the images with replacement and recomputes AP from COCOeval's per-image matches
(the same OKS matching, computed once), so a draw costs one ``accumulate`` and no re-matching. A paired
comparison uses the same draws for both result sets, which cancels the images' own difficulty.
"""
from __future__ import annotations

import contextlib
import copy
import io
from dataclasses import dataclass

import numpy as np

#: Bootstrap draws unless told otherwise.
DRAWS = 1000


@dataclass(frozen=True)
class Interval:
    """``value`` (on all images) and its 95 % bootstrap interval ``[low, high]``; ``draws`` and ``images``."""

    value: float
    low: float
    high: float
    draws: int
    images: int

    @property
    def excludes_zero(self) -> bool:
        return self.low > 0 or self.high < 0

    def describe(self, what: str = "AP") -> str:
        return (f"{what} {self.value:+.3f} [{self.low:+.3f}, {self.high:+.3f}]" if what.startswith("difference")
                else f"{what} {self.value:.3f} [{self.low:.3f}, {self.high:.3f}]")


def _evaluated(coco_gt, results: list[dict], image_ids: list[int]):
    """COCOeval with per-image matching done, for the "all" area range only."""
    from pycocotools.cocoeval import COCOeval

    with contextlib.redirect_stdout(io.StringIO()):
        dt = coco_gt.loadRes(results) if results else None
        ev = COCOeval(coco_gt, dt if dt is not None else coco_gt.loadRes([_placeholder(coco_gt, image_ids)]),
                      "keypoints")
        ev.params.imgIds = list(image_ids)
        ev.params.areaRng, ev.params.areaRngLbl = ev.params.areaRng[:1], ev.params.areaRngLbl[:1]
        ev.evaluate()
    if dt is None:                                    # no detections at all: every draw scores 0
        ev.evalImgs = [None] * len(ev.evalImgs)
    return ev


def _placeholder(coco_gt, image_ids: list[int]) -> dict:
    """A zero-score detection, only so that COCO's ``loadRes`` accepts an empty result set."""
    return {"image_id": image_ids[0], "category_id": coco_gt.getCatIds()[0], "keypoints": [0.0] * 51, "score": 0.0}


def _ap(ev, picks: np.ndarray) -> float:
    """AP (OKS 0.50:0.95, all areas) over the images at positions ``picks`` (repeats allowed)."""
    draw = copy.copy(ev)
    n_img = len(ev._paramsEval.imgIds)
    cats = len(ev._paramsEval.catIds) if ev._paramsEval.useCats else 1
    draw.evalImgs = [ev.evalImgs[k * n_img + int(i)] for k in range(cats) for i in picks]
    draw._paramsEval = copy.copy(ev._paramsEval)
    draw._paramsEval.imgIds = list(range(len(picks)))
    draw.params = draw._paramsEval
    with contextlib.redirect_stdout(io.StringIO()):
        draw.accumulate()
    prec = draw.eval["precision"][:, :, :, 0, -1]
    prec = prec[prec > -1]
    return float(prec.mean()) if prec.size else 0.0


def _picks(n: int, draws: int, seed: int) -> np.ndarray:
    return np.random.default_rng(seed).integers(0, n, size=(draws, n))


def _interval(value: float, samples: list[float], n: int) -> Interval:
    lo, hi = np.percentile(samples, [2.5, 97.5])
    return Interval(value, float(lo), float(hi), len(samples), n)


def ap_interval(coco_gt, results: list[dict], image_ids: list[int] | None = None, draws: int = DRAWS,
                seed: int = 0) -> Interval:
    """AP of ``results`` and its 95 % interval by bootstrap over ``image_ids`` (default: all images)."""
    ids = sorted(image_ids if image_ids is not None else coco_gt.getImgIds())
    ev = _evaluated(coco_gt, results, ids)
    full = _ap(ev, np.arange(len(ids)))
    return _interval(full, [_ap(ev, p) for p in _picks(len(ids), draws, seed)], len(ids))


def paired_difference(coco_gt, results_a: list[dict], results_b: list[dict], image_ids: list[int] | None = None,
                      draws: int = DRAWS, seed: int = 0) -> tuple[Interval, Interval, Interval]:
    """``(AP of a, AP of b, AP of b - AP of a)``, each with its 95 % interval, from the same image draws."""
    ids = sorted(image_ids if image_ids is not None else coco_gt.getImgIds())
    ea, eb = _evaluated(coco_gt, results_a, ids), _evaluated(coco_gt, results_b, ids)
    everything = np.arange(len(ids))
    va, vb = _ap(ea, everything), _ap(eb, everything)
    sa, sb = [], []
    for p in _picks(len(ids), draws, seed):
        sa.append(_ap(ea, p))
        sb.append(_ap(eb, p))
    diff = [b - a for a, b in zip(sa, sb)]
    return _interval(va, sa, len(ids)), _interval(vb, sb, len(ids)), _interval(vb - va, diff, len(ids))


def influence(coco_gt, results_a: list[dict], results_b: list[dict], image_ids: list[int] | None = None
              ) -> list[tuple[int, float]]:
    """How much each image carries of ``AP(b) - AP(a)``: ``(image_id, difference on all images - difference
    without that image)``, largest first. A difference that one image carries has a wide bootstrap interval."""
    ids = sorted(image_ids if image_ids is not None else coco_gt.getImgIds())
    ea, eb = _evaluated(coco_gt, results_a, ids), _evaluated(coco_gt, results_b, ids)
    everything = np.arange(len(ids))
    full = _ap(eb, everything) - _ap(ea, everything)
    out = []
    for k, image_id in enumerate(ids):
        rest = np.delete(everything, k)
        out.append((image_id, full - (_ap(eb, rest) - _ap(ea, rest))))
    return sorted(out, key=lambda t: -t[1])
