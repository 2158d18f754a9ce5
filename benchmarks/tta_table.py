"""Test-time augmentation: AP with 95 % intervals per mode, network cost, and sequential FPS on the demo clip.

    python benchmarks/tta_table.py --choose-threshold   # the peak threshold of averaged maps, on train2017 only
    python benchmarks/tta_table.py --choose-min-score   # their lowest person score, on train2017 only
    python benchmarks/tta_table.py --choose        # candidates on coco_mini train2017 only (choosing 'accurate')
    python benchmarks/tta_table.py                 # the modes on val2017, coco_tiny and both pooled
    python benchmarks/tta_table.py --influence     # which pooled images carry accurate's difference

The default INT8 IR; every candidate is decoded with the default decoder. Intervals: paired bootstrap over images
(1000 draws) of each mode against the default on the same images.
"""
from __future__ import annotations

import sys
import time
from dataclasses import replace

import benchlib

from engines import create_backend
from engines.evaluate import decode_images, evaluate_model, fields_of_images
from engines.modes import AUTO, MODES, Mode
from engines.run.step import FrameStep
from ssapose import paths
from ssapose.coco import load_coco
from ssapose.decode import DecoderConfig
from ssapose.evaluation import coco_results
from ssapose.intervals import influence, paired_difference
from ssapose.model_card import DEFAULT_INPUT_HEIGHT
from ssapose.sources import read_frames

CANDIDATES = {"default": Mode(), "flip": Mode(flip=True), "scales 1,1.5": Mode(scales=(1.0, 1.5)),
              "flip + scales 1,1.5": Mode(flip=True, scales=(1.0, 1.5)),
              "scales 0.5,1,1.5,2": Mode(scales=(0.5, 1.0, 1.5, 2.0)),
              "flip + scales 0.5,1,1.5,2": Mode(flip=True, scales=(0.5, 1.0, 1.5, 2.0))}


#: The rows of the report: the modes, flipping and the second scale alone, and the automatic height.
REPORT = {"fast": MODES["fast"], "default": MODES["default"], "flip": Mode(flip=True),
          "scales 1,1.5": Mode(scales=(1.0, 1.5)), "accurate": MODES["accurate"], "auto height": Mode(auto=AUTO)}


#: The views averaged when choosing ``DecoderConfig.averaged_peak_threshold`` and ``averaged_min_score``, and
#: the values tried (the first: one view's).
AVERAGING = {"flip": Mode(flip=True), "scales 1,1.5": Mode(scales=(1.0, 1.5)),
             "flip + scales 1,1.5": Mode(flip=True, scales=(1.0, 1.5)), "accurate": MODES["accurate"],
             "auto height": Mode(auto=AUTO)}
THRESHOLDS = (0.1, 0.07, 0.05, 0.03)
MIN_SCORES = (0.2, 0.15, 0.1, 0.05, 0.0)


def run(model: str, mode: Mode, ann: str, decoder: DecoderConfig | None = None) -> list[dict]:
    """COCO results of ``mode`` on every image of ``ann`` (``decoder``: None decodes as the model's card says)."""
    with create_backend(model, streams=1) as be:
        _, results = evaluate_model(model, ann, None, mode.height or DEFAULT_INPUT_HEIGHT, flip=mode.flip,
                                    scales=mode.scales, auto=mode.auto, opened=be,
                                    decoder=decoder or FrameStep(be).decoder)
    return results


def decoded(kept: dict, stride: int, decoder: DecoderConfig) -> list[dict]:
    """COCO results of ``fields_of_images`` decoded with ``decoder``."""
    return coco_results(decode_images(kept, stride, decoder))


def choose_averaged(model: str, field: str, values: tuple[float, ...]) -> None:
    """Each averaging mode on train2017 with each value of the decoder's ``field`` for averaged maps: AP, against
    the default, and against the same mode at the first value (one view's)."""
    ann = str(paths.coco_set("train").ann)
    coco = load_coco(ann)
    base = run(model, Mode(), ann)
    print("| averaged views (train2017) | " + " | ".join(f"{field} {v:g}: AP, vs default, vs {values[0]:g}"
                                                          for v in values) + " |")
    print("|---" * (1 + len(values)) + "|")
    for name, mode in AVERAGING.items():
        kept, stride, card = fields_of_images(model, mode, ann)
        cells, first = [], None
        for v in values:
            res = decoded(kept, stride, replace(card, **{field: v}))
            first = first or res
            _, b, d = paired_difference(coco, base, res)
            e = paired_difference(coco, first, res)[2]
            cells.append(f"{b.value:.3f}, {d.value:+.3f} [{d.low:+.3f}, {d.high:+.3f}], "
                         f"{e.value:+.3f} [{e.low:+.3f}, {e.high:+.3f}]")
        print(f"| {name} | " + " | ".join(cells) + " |", flush=True)


def pooled(sets: list[tuple[str, list[dict]]], base: list[list[dict]]):
    """One COCO of several annotation files (image and annotation ids offset), and the results mapped to it."""
    import contextlib
    import io

    from pycocotools.coco import COCO

    merged = {"images": [], "annotations": [], "categories": None}
    maps, offset = [], 0
    for ann, _ in sets:
        d = load_coco(ann).dataset
        merged["categories"] = merged["categories"] or d["categories"]
        ids = {im["id"]: offset + n + 1 for n, im in enumerate(d["images"])}
        merged["images"] += [dict(im, id=ids[im["id"]]) for im in d["images"]]
        merged["annotations"] += [dict(a, image_id=ids[a["image_id"]], id=len(merged["annotations"]) + k + 1)
                                  for k, a in enumerate(d["annotations"])]
        maps.append(ids)
        offset += len(d["images"])
    coco = COCO()
    coco.dataset = merged
    with contextlib.redirect_stdout(io.StringIO()):
        coco.createIndex()
    mapped = [[dict(r, image_id=m[r["image_id"]]) for r in res] for m, res in zip(maps, base)]
    return coco, [r for res in mapped for r in res]


def fps(model: str, mode: Mode, frames) -> float:
    with create_backend(model, streams=1) as be:
        est = FrameStep(be, mode.height or DEFAULT_INPUT_HEIGHT, flip=mode.flip, scales=mode.scales,
                            auto=mode.auto)
        est(frames[0])                        # compiles every input shape of the mode (one per scale)
        est(frames[1])
        t0 = time.perf_counter()
        for f in frames:
            est(f)
        return len(frames) / (time.perf_counter() - t0)


def main() -> int:
    ap = benchlib.parser(__doc__)
    ap.add_argument("--choose", action="store_true", help="the candidates on coco_mini train2017")
    ap.add_argument("--choose-threshold", action="store_true",
                    help="the peak threshold of averaged maps, each averaging mode on coco_mini train2017")
    ap.add_argument("--choose-min-score", action="store_true",
                    help="the lowest person score on averaged maps, each averaging mode on coco_mini train2017")
    ap.add_argument("--influence", action="store_true",
                    help="accurate against the default pooled: the images that carry most of the difference")
    ap.add_argument("--model", default=str(paths.DEFAULT_MODEL))
    ap.add_argument("--frames", type=int, default=60, help="demo clip frames timed per mode")
    ap.add_argument("--fps-only", action="store_true", help="only the sequential FPS of each mode, 3 rounds")
    args = benchlib.parse(ap, frames=3)
    if args.choose_threshold:
        choose_averaged(args.model, "averaged_peak_threshold", THRESHOLDS)
        return 0
    if args.choose_min_score:
        choose_averaged(args.model, "averaged_min_score", MIN_SCORES)
        return 0
    if args.fps_only:
        frames = list(read_frames(str(paths.demo_video()), args.frames))
        rounds = {name: [] for name in REPORT}
        for _ in range(3):
            for name, mode in REPORT.items():
                rounds[name].append(fps(args.model, mode, frames))
        for name, v in rounds.items():
            print(f"| {name} | {REPORT[name].cost:.2f}x | {', '.join(f'{x:.1f}' for x in v)} | "
                  f"{sorted(v)[1] / sorted(rounds['default'])[1]:.2f} of default |")
        return 0
    if args.influence:
        sets = [str(paths.coco_set("val").ann), str(paths.coco_set("tiny").ann)]
        a = [run(args.model, MODES["default"], ann) for ann in sets]
        b = [run(args.model, MODES["accurate"], ann) for ann in sets]
        coco, base = pooled(list(zip(sets, a)), a)
        _, other = pooled(list(zip(sets, b)), b)
        print(paired_difference(coco, base, other)[2].describe("difference, accurate - default, pooled:"))
        rows = influence(coco, base, other)
        print("| pooled image | file | people | carries of the difference |\n|---|---|---|---|")
        for iid, v in rows[:5] + rows[-5:]:
            people = len([g for g in coco.loadAnns(coco.getAnnIds(imgIds=iid, iscrowd=False)) if g["num_keypoints"]])
            print(f"| {iid} | {coco.imgs[iid]['file_name']} | {people} | {v:+.4f} |")
        print(f"images carrying more than +0.001: {sum(v > 0.001 for _, v in rows)}, less than -0.001: "
              f"{sum(v < -0.001 for _, v in rows)} of {len(rows)}")
        return 0
    if args.choose:
        ann = str(paths.coco_set("train").ann)
        coco = load_coco(ann)
        base = run(args.model, CANDIDATES["default"], ann)
        print("| candidate (train2017) | network cost | AP [95 %] | vs default [95 %] |")
        print("|---|---|---|---|")
        for name, mode in CANDIDATES.items():
            res = base if name == "default" else run(args.model, mode, ann)
            a, b, d = paired_difference(coco, base, res)
            print(f"| {name} | {mode.cost:.2f}x | {b.value:.3f} [{b.low:.3f}, {b.high:.3f}] | "
                  f"{d.value:+.3f} [{d.low:+.3f}, {d.high:+.3f}] |")
        return 0
    names = benchlib.coco_sets(args, ("val", "tiny"))
    sets = [benchlib.ann(n) for n in names]
    frames = list(read_frames(str(paths.demo_video()), args.frames))
    report = {k: REPORT[k] for k in ("fast", "default", "flip")} if args.quick else REPORT
    results = {name: [run(args.model, m, s) for s in sets] for name, m in report.items()}
    print("| mode | network cost | " + " | ".join(f"{paths.coco_set(n).name} AP" for n in names)
          + " | pooled AP | pooled vs default | FPS (sequential) |")
    print("|---|---|" + "---|" * len(names) + "---|---|---|")
    for name, mode in report.items():
        cells = []
        for k, s in enumerate(sets):
            coco = load_coco(s)
            _, b, _ = paired_difference(coco, results["default"][k], results[name][k])
            cells.append(f"{b.value:.3f} [{b.low:.3f}, {b.high:.3f}]")
        coco, base = pooled(list(zip(sets, results["default"])), results["default"])
        _, other = pooled(list(zip(sets, results[name])), results[name])
        _, b, d = paired_difference(coco, base, other)
        cost = f"{mode.cost:.2f}x" + (f" + {mode.auto.extra_cost:.2f}x where it fires" if mode.auto else "")
        print(f"| {name} | {cost} | {' | '.join(cells)} | {b.value:.3f} [{b.low:.3f}, {b.high:.3f}] | "
              f"{d.value:+.3f} [{d.low:+.3f}, {d.high:+.3f}] | {fps(args.model, mode, frames):.1f} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
