"""Re-identification by appearance (``--track-reid-s``): does a person who leaves and returns keep their id, and do
different people keep theirs apart?

    python benchmarks/reid.py --choose     # the similarity threshold, on the clip built from persons 1 and 2
    python benchmarks/reid.py              # the chosen threshold on the other built clips and the demo clip

Clips are built from the demo clip, whose six people walk through one after another (tests/data/demo_people.json):
person A's first half, 2.5 s of the empty room, person B, the empty room again, then A's second half. A and B are
persons 1 and 2 (where the threshold is chosen), 3 and 4, 5 and 6. The demo clip itself has six different people.
The network runs once per clip; the tracker replays its poses on the clip's clock with each setting. Each labelled
appearance of a person takes the id it holds on most of its frames; pairs of appearances are scored: of the pairs
given the same id, the share that are one person (precision: a wrong merge counts against it); of the pairs that are
one person, the share given the same id (recall).
"""
from __future__ import annotations

import itertools
import json
import sys
from pathlib import Path

import cv2
import numpy as np

import benchlib

from engines import create_backend
from engines.run.pipeline import Pipeline, PipelineConfig
from ssapose import paths
from ssapose.appearance import Appearance, describe, similarity
from ssapose.tracking import Tracker, TrackerConfig

ROOT = Path(__file__).resolve().parents[1]
FPS = 10.0
GAP = 25                  # frames of the empty room between appearances (2.5 s: longer than a lost track is kept)
EMPTY = (200, 225)        # an empty stretch of the demo clip


def segments() -> list[tuple[int, int]]:
    return [tuple(s) for s in json.loads((ROOT / "tests" / "data" / "demo_people.json").read_text())["segments"]]


def read(frames: list[int]) -> list[np.ndarray]:
    cap = cv2.VideoCapture(str(paths.demo_video()))
    want, out, k = set(frames), {}, 0
    while len(out) < len(want):
        ok, f = cap.read()
        if not ok:
            break
        if k in want:
            out[k] = f
        k += 1
    cap.release()
    return [out[i] for i in frames]


def built(a: int, b: int, limit: int | None) -> tuple[list[int], list[tuple[int, int, int]]]:
    """Frame numbers of the clip A / empty / B / empty / A, and its labelled appearances ``(start, end, person)``."""
    seg = segments()
    (a0, a1), (b0, b1) = seg[a], seg[b]
    mid = (a0 + a1) // 2
    empty = list(range(EMPTY[0], EMPTY[0] + GAP))
    parts = [(list(range(a0, mid)), a), (empty, -1), (list(range(b0, b1 + 1)), b), (empty, -1),
             (list(range(mid, a1 + 1)), a)]
    frames, labels = [], []
    for fr, who in parts:
        fr = fr[:limit] if limit else fr
        if who >= 0:
            labels.append((len(frames), len(frames) + len(fr) - 1, who))
        frames += fr
    return frames, labels


def detections(model: str, frames: list[np.ndarray]) -> list:
    with create_backend(model) as be:
        return [r.poses for r in Pipeline(iter(frames), be, PipelineConfig(draw=False, clock_fps=FPS)).results()]


def replay(dets: list, frames: list[np.ndarray], config: TrackerConfig) -> list[np.ndarray]:
    tracker = Tracker(config)
    return [tracker(p, k / FPS, f)[1] for k, (p, f) in enumerate(zip(dets, frames))]


def score(ids: list[np.ndarray], labels: list[tuple[int, int, int]]) -> tuple[float, float, list]:
    """Precision and recall over pairs of appearances, and each appearance's id (0: none)."""
    held = []
    for s, e, _ in labels:
        seen = [i for k in range(s, e + 1) for i in ids[k] if i > 0]
        held.append(max(set(seen), key=seen.count) if seen else 0)
    same_id = same_person = both = 0
    for (x, (_, _, p)), (y, (_, _, q)) in itertools.combinations(zip(held, labels), 2):
        merged = x == y and x > 0
        same_id += merged
        same_person += p == q
        both += merged and p == q
    return (both / same_id if same_id else 1.0), (both / same_person if same_person else 1.0), held


def looks(dets: list, frames: list[np.ndarray], labels: list[tuple[int, int, int]]) -> list[np.ndarray]:
    """Each appearance's mean descriptor (its most confident person in each frame)."""
    out = []
    for s, e, _ in labels:
        look = Appearance()
        for k in range(s, e + 1):
            if len(dets[k]):
                best = int(np.argmax(dets[k].scores))
                look.add(describe(frames[k], dets[k].keypoints[best:best + 1])[0])
        out.append(look.mean())
    return out


def similarities(dets, frames, labels) -> tuple[list[float], list[float]]:
    """Appearance similarity of the pairs of appearances of one person, and of different people."""
    same, other = [], []
    for (a, (_, _, p)), (b, (_, _, q)) in itertools.combinations(zip(looks(dets, frames, labels), labels), 2):
        (same if p == q else other).append(similarity(a, b))
    return same, other


def parts_table(model: str, limit: int | None) -> None:
    """Per part (torso, legs, arms, head): the similarity of the two halves of each person's walk, and of every
    pair of different people (their first halves)."""
    frames, labels = [], []
    for p, (s, e) in enumerate(segments()):
        mid = (s + e) // 2
        for a, b in ((s, mid), (mid + 1, e)):
            b = min(b, a + limit - 1) if limit else b
            labels.append((len(frames), len(frames) + b - a, p))
            frames += list(range(a, b + 1))
    images = read(frames)
    got = looks(detections(model, images), images, labels)
    per_part = lambda a, b: [np.sqrt(a[k] * b[k]).sum() for k in range(len(a))]        # noqa: E731
    rows = [(f"person {p + 1}, two halves", *(f"{v:.2f}" for v in per_part(got[2 * p], got[2 * p + 1])),
             f"{similarity(got[2 * p], got[2 * p + 1]):.2f}") for p in range(len(got) // 2)]
    rows += [(f"persons {p + 1} and {q + 1}", *(f"{v:.2f}" for v in per_part(got[2 * p], got[2 * q])),
              f"{similarity(got[2 * p], got[2 * q]):.2f}")
             for p, q in itertools.combinations(range(len(got) // 2), 2)]
    benchlib.table(["appearances", "torso", "legs", "arms", "head", "lowest (the similarity used)"], rows)


def main() -> int:
    ap = benchlib.parser(__doc__)
    ap.add_argument("--model", default=str(paths.DEFAULT_MODEL), help="model file (default: %(default)s)")
    ap.add_argument("--choose", action="store_true", help="sweep the threshold on the clip of persons 1 and 2")
    ap.add_argument("--thresholds", type=float, nargs="+", default=[0.7, 0.8, 0.85, 0.9, 0.95])
    ap.add_argument("--reid-s", type=float, default=60.0, help="seconds a person who left is remembered")
    ap.add_argument("--limit", type=int, help="frames of each appearance at most (default: all)")
    ap.add_argument("--parts", action="store_true", help="per-part similarities of the demo clip's six people")
    args = benchlib.parse(ap, thresholds=[0.9], limit=12)
    if args.parts:
        parts_table(args.model, args.limit)
        return 0
    pairs = [(0, 1)] if args.choose else [(2, 3), (4, 5)]
    clips = {f"persons {a + 1}, {b + 1}, {a + 1} again": built(a, b, args.limit) for a, b in pairs}
    if not args.choose and not args.quick:
        seg = segments()
        clips["the demo clip (six people)"] = (list(range(seg[-1][1] + 10)), [(s, e, p) for p, (s, e) in enumerate(seg)])
    rows, sims = [], []
    for name, (numbers, labels) in clips.items():
        images = read(numbers)
        dets = detections(args.model, images)
        same, other = similarities(dets, images, labels)
        sims.append((name, " ".join(f"{v:.2f}" for v in same) or "-", f"{max(other):.2f}" if other else "-"))
        settings = [("off", TrackerConfig())] + [(f"{t:g}", TrackerConfig(reid_s=args.reid_s, reid_min=t))
                                                 for t in args.thresholds]
        for label, cfg in settings:
            precision, recall, held = score(replay(dets, images, cfg), labels)
            rows.append((name, label, f"{precision:.2f}", f"{recall:.2f}", " ".join(map(str, held))))
    benchlib.table(["clip", "re-identification (similarity from)", "id precision", "id recall",
                    "id of each appearance"], rows)
    print()
    benchlib.table(["clip", "similarity of one person's appearances", "highest between different people"], sims)
    return 0


if __name__ == "__main__":
    sys.exit(main())
