"""Which poses a user is shown: F1 at OKS 0.5 against the lowest person score shown, per mode.

    python benchmarks/shown_score.py --choose      # on coco_mini train2017 only: DecoderConfig.shown_score
    python benchmarks/shown_score.py               # the chosen value on val2017 and coco_tiny

AP counts every pose, however weak (a low-score pose at the end of the ranking can only add recall), so the
decoder keeps weak ones for evaluation; a user watching the overlay or reading the JSON Lines sees them as
fragments. A detection counts as found when COCO's matching pairs it with an annotated person at OKS >= 0.5
(greedy by score, crowd regions ignored, as in COCOeval); precision = found / shown, recall = found / annotated.
The choice: the value with the highest F1 averaged over the modes (one value for every mode).
"""
from __future__ import annotations

import contextlib
import io
import sys

import numpy as np

import benchlib


from tta_table import REPORT, decoded
from engines.evaluate import fields_of_images
from ssapose import paths
from ssapose.coco import load_coco
from ssapose.decode import DecoderConfig

VALUES = (0.0, 0.05, 0.07, 0.1, 0.125, 0.15, 0.175, 0.2, 0.25, 0.3)


def matches(coco, results: list[dict]) -> tuple[np.ndarray, np.ndarray, int]:
    """``(scores (D,), found (D,) bool, annotated people)`` of ``results`` by COCO's matching at OKS 0.5
    (every area, up to 100 detections per image; detections matched to ignored people are left out)."""
    from pycocotools.cocoeval import COCOeval

    if not results:
        return np.zeros(0), np.zeros(0, bool), len(coco.getAnnIds(iscrowd=False))
    with contextlib.redirect_stdout(io.StringIO()):
        ev = COCOeval(coco, coco.loadRes(results), "keypoints")
        ev.params.areaRng, ev.params.areaRngLbl, ev.params.maxDets = ev.params.areaRng[:1], ["all"], [100]
        ev.evaluate()
    scores, found, people = [], [], 0
    for e in ev.evalImgs:
        if e is None:
            continue
        ignored = np.asarray(e["dtIgnore"], bool).reshape(len(ev.params.iouThrs), -1)[0]
        scores.append(np.asarray(e["dtScores"], float)[~ignored])
        found.append(np.asarray(e["dtMatches"]).reshape(len(ev.params.iouThrs), -1)[0][~ignored] > 0)
        people += int((~np.asarray(e["gtIgnore"], bool)).sum())
    return np.concatenate(scores or [np.zeros(0)]), np.concatenate(found or [np.zeros(0, bool)]), people


def f1_at(scores: np.ndarray, found: np.ndarray, people: int, value: float) -> tuple[float, float, float, int]:
    """``(precision, recall, F1, shown)`` when the detections scoring at least ``value`` are shown."""
    shown = scores >= value
    hits = int(found[shown].sum())
    p, r = hits / max(int(shown.sum()), 1), hits / max(people, 1)
    return p, r, (2 * p * r / (p + r) if p + r else 0.0), int(shown.sum())


def sweep(model: str, ann: str) -> dict[str, tuple[np.ndarray, np.ndarray, int]]:
    """Each mode of ``REPORT`` on ``ann``: its detections' scores and matches (every pose the decoder keeps)."""
    coco = load_coco(ann)
    out = {}
    for name, mode in REPORT.items():
        kept, stride, decoder = fields_of_images(model, mode, ann)
        out[name] = matches(coco, decoded(kept, stride, decoder))
    return out


def main() -> int:
    ap = benchlib.parser(__doc__)
    ap.add_argument("--choose", action="store_true", help="sweep the values on coco_mini train2017")
    ap.add_argument("--model", default=str(paths.DEFAULT_MODEL))
    args = benchlib.parse(ap)
    if args.choose:
        found = sweep(args.model, benchlib.ann(benchlib.coco_sets(args, ["train"])[0]))
        print("| shown from score (train2017) | " + " | ".join(found) + " | mean F1 |")
        print("|---" * (len(found) + 2) + "|")
        best = (-1.0, None)
        for v in VALUES:
            cells = [f1_at(*found[m], v) for m in found]
            mean = float(np.mean([c[2] for c in cells]))
            best = max(best, (mean, v))
            print(f"| {v:g} | " + " | ".join(f"{f:.3f} (P {p:.2f}, R {r:.2f}, {n})" for p, r, f, n in cells)
                  + f" | {mean:.3f} |")
        print(f"\nhighest mean F1: {best[0]:.3f} at {best[1]:g} (DecoderConfig.shown_score: "
              f"{DecoderConfig().shown_score:g})")
        return 0
    v = DecoderConfig().shown_score
    print(f"| set | mode | every pose: shown, F1 | from {v:g}: shown, F1 (P, R) |")
    print("|---|---|---|---|")
    for name in benchlib.coco_sets(args, ("val", "tiny")):
        for m, got in sweep(args.model, benchlib.ann(name)).items():
            _, _, f0, n0 = f1_at(*got, 0.0)
            p, r, f, n = f1_at(*got, v)
            print(f"| {name} | {m} | {n0}, {f0:.3f} | {n}, {f:.3f} (P {p:.2f}, R {r:.2f}) |", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
