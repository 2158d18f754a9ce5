"""`--input-size auto`: choose its rule on coco_mini train2017, then report it with intervals.

    python benchmarks/auto_height.py --choose      # sweep the rule on train2017 only
    python benchmarks/auto_height.py               # the chosen rule (engines.modes.AUTO) on val2017 and coco_tiny

The rule: a first pass at the default height; when the people it finds are small at that height (a statistic of
their keypoint heights in network-input pixels below a threshold), a second pass at the given scales whose maps
are averaged with the first pass's on its grid. Each image's poses are computed once per variant, so every rule of
the sweep is scored on the same predictions; intervals: paired bootstrap over images against the default.
"""
from __future__ import annotations

import sys

import benchlib

from engines import create_backend
from engines.modes import AUTO, STATISTICS, AutoHeight
from engines.run.step import FrameStep
from ssapose import paths
from ssapose.coco import find_image_dir, load_coco
from ssapose.evaluation import coco_results, predict_images
from ssapose.intervals import paired_difference
from ssapose.model_card import DEFAULT_INPUT_HEIGHT
from ssapose.preprocess import input_scale

SECOND = {"scales 1,1.5": dict(scales=(1.0, 1.5)), "flip + scales 1,1.5": dict(flip=True, scales=(1.0, 1.5))}


def predictions(model: str, ann: str, variants: dict[str, dict]) -> tuple[dict[str, dict], dict[int, float]]:
    """``{variant: {image_id: Poses}}`` for the default and each variant (FrameStep keyword arguments), and
    each image's network-input pixels per image pixel at the default height."""
    coco = load_coco(ann)
    image_dir = find_image_dir(ann, coco)
    out = {}
    with create_backend(model, streams=1) as be:
        for name, kwargs in {"default": {}, **variants}.items():
            out[name] = predict_images(coco, image_dir, FrameStep(be, DEFAULT_INPUT_HEIGHT, **kwargs))
        pre = be.info.config.preprocess
    scale = {iid: input_scale(coco.imgs[iid]["height"], coco.imgs[iid]["width"], DEFAULT_INPUT_HEIGHT, pre)
             for iid in out["default"]}
    return out, scale


def chosen(pred: dict[str, dict], scale: dict[int, float], rule: AutoHeight,
           second: str) -> tuple[list[dict], float]:
    """The results of ``rule`` (the default's poses, or ``second``'s where it fires) and its firing rate."""
    picked, fired = {}, 0
    for iid, p in pred["default"].items():
        fire = rule.fires(p, scale[iid])
        fired += fire
        picked[iid] = pred[second][iid] if fire else p
    return coco_results(picked), fired / max(1, len(picked))


def main() -> int:
    ap = benchlib.parser(__doc__)
    ap.add_argument("--choose", action="store_true", help="sweep the rule on coco_mini train2017")
    ap.add_argument("--model", default=str(paths.DEFAULT_MODEL))
    args = benchlib.parse(ap)
    if args.choose:
        ann = benchlib.ann(benchlib.coco_sets(args, ["train"])[0])
        coco = load_coco(ann)
        pred, scale = predictions(args.model, ann, SECOND)
        base = coco_results(pred["default"])
        print("| second pass | statistic | small below (input px) | fires on | extra cost | AP | vs default [95 %] |")
        print("|---|---|---|---|---|---|---|")
        for second, kw in SECOND.items():
            extra = AutoHeight(**kw).extra_cost
            for how in STATISTICS:
                for t in (32, 1e9) if args.quick else (32, 48, 64, 96, 128, 160, 224, 1e9):
                    res, rate = chosen(pred, scale, AutoHeight(small_px=t, statistic=how, **kw), second)
                    _, b, d = paired_difference(coco, base, res)
                    print(f"| {second} | {how} | {'always' if t > 1e8 else int(t)} | {rate:.0%} | "
                          f"+{rate * extra:.2f}x | {b.value:.3f} | {d.value:+.3f} [{d.low:+.3f}, {d.high:+.3f}] |")
        return 0
    print("| set | default AP | auto AP | auto vs default [95 %] | fires on |")
    print("|---|---|---|---|---|")
    for label in benchlib.coco_sets(args, ("val", "tiny", "train")):
        ann = benchlib.ann(label)
        coco = load_coco(ann)
        pred, scale = predictions(args.model, ann, {"second": dict(flip=AUTO.flip, scales=AUTO.scales)})
        res, rate = chosen(pred, scale, AUTO, "second")
        a, b, d = paired_difference(coco, coco_results(pred["default"]), res)
        print(f"| {label} | {a.value:.3f} | {b.value:.3f} | {d.value:+.3f} [{d.low:+.3f}, {d.high:+.3f}] | {rate:.0%} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
