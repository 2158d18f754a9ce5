"""Choose the sub-cell refinement on coco_mini train2017 alone, by 2-fold cross-validation.

Usage: python benchmarks/offsets_cv.py [--heights 256 368] [--variants residual:peaks residual:valid absolute:valid]

train2017 is both the only training data and the only data a choice may be made
on, so the learned offset heads are judged on images they were not trained on:
for each half of its images (with people), heads are trained on the other half
(``training/offsets.py --holdout``) and decode this half. The analytic fit and
upsampling need no training and are scored on the same images.
"""
from __future__ import annotations

import subprocess
import sys
import tempfile
from dataclasses import replace
from pathlib import Path

import benchlib

from refinement_table import cached_fields, decode_all
from ssapose import paths
from ssapose.coco import evaluate, image_people
from ssapose.decode import DecoderConfig
from training.offsets import fold_of

ROOT = Path(__file__).resolve().parents[1]


def results(items, decoder: DecoderConfig) -> list[dict]:
    return decode_all(items, 8, decoder)[0]


def main() -> None:
    ap = benchlib.parser(__doc__)
    ap.add_argument("--heights", type=int, nargs="+", default=[256, 368])
    ap.add_argument("--variants", nargs="+", default=["residual:peaks", "residual:valid", "absolute:valid"])
    ap.add_argument("--work", default="runs/offsets_cv", help="folder of the trained heads (default: %(default)s)")
    ap.add_argument("--cache", default="runs/fields", help="folder of the cached fields (default: %(default)s)")
    ap.add_argument("--steps", type=int, default=1500, help="training steps of each head (default: %(default)s)")
    ap.add_argument("--images", type=int, help="score on the first N images of train2017 only (default: all)")
    quick = tempfile.mkdtemp()
    args = benchlib.parse(ap, heights=[256], variants=["residual:peaks"], work=quick, cache=quick, steps=2, images=8)
    work, cache = Path(args.work), Path(args.cache)
    work.mkdir(parents=True, exist_ok=True)
    base = str(paths.CHECKPOINT)
    dec = DecoderConfig(paf_method="mean")
    print("| refinement | " + " | ".join(f"train2017 CV AP, height {h}" for h in args.heights) + " |")
    print("|---|" + "---|" * len(args.heights))
    coco, _ = cached_fields(base, "train", args.heights[0], cache, args.images)
    ids = [i for i in coco.getImgIds() if len(image_people(coco, i, with_ignore=False).parts)]
    fold = fold_of(ids, 2)                                 # the folds training/offsets.py --holdout uses
    ids = [i for i in ids if i in set(sorted(coco.getImgIds())[:args.images])]
    for name, refine in (("log-parabola fit", "fit"), ("upsampling x8", "upsample"), ("cell centres", "none")):
        row = []
        for h in args.heights:
            coco, items = cached_fields(base, "train", h, cache, args.images)
            row.append(evaluate(coco, results([it for it in items if it[0] in fold], replace(dec, refine=refine)),
                                ids)["AP"])
        print(f"| {name} | " + " | ".join(f"{a:.3f}" for a in row) + " |", flush=True)
    for variant in args.variants:
        mode, cells = variant.split(":")
        refine = "fit+offsets" if mode == "residual" else "offsets"
        row = {h: [] for h in args.heights}
        for k in (0, 1):
            heads, model = work / f"{mode}-{cells}-not{k}.pt", work / f"lwop-{mode}-{cells}-not{k}.pt"
            if not model.exists():
                subprocess.run([sys.executable, str(ROOT / "training/offsets.py"), "--model", base, "--out", str(heads),
                                "--mode", mode, "--cells", cells, "--holdout", str(k), "--steps", str(args.steps),
                                "--heights", *map(str, args.heights)], check=True,
                               stdout=subprocess.DEVNULL)
                subprocess.run([sys.executable, "-m", "app.cli", "import-ir", "--offsets", str(heads),
                                "--out", str(model)], check=True, stdout=subprocess.DEVNULL)
            for h in args.heights:
                coco, items = cached_fields(str(model), "train", h, cache, args.images)
                row[h] += results([it for it in items if fold.get(it[0]) == k], replace(dec, refine=refine))
        print(f"| learned {mode} offsets ({cells} cells), `{refine}` | "
              + " | ".join(f"{evaluate(coco, row[h], ids)['AP']:.3f}" for h in args.heights) + " |", flush=True)


if __name__ == "__main__":
    main()
