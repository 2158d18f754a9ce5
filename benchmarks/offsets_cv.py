"""Choose the sub-cell refinement on coco_mini train2017 alone, by 2-fold cross-validation.

Usage: python benchmarks/offsets_cv.py [--heights 256 368] [--variants residual:peaks residual:valid absolute:valid]

train2017 is both the only training data and the only data a choice may be made
on, so the learned offset heads are judged on images they were not trained on:
for each half of its images (with people), heads are trained on the other half
(``training/offsets.py --holdout``) and decode this half. The analytic fit and
upsampling need no training and are scored on the same images.
"""
from __future__ import annotations

import argparse
import subprocess
import sys
from dataclasses import replace
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

from refinement_table import cached_fields, decode_all
from ssapose import paths
from ssapose.coco import evaluate, image_people
from ssapose.decode import DecoderConfig
from training.offsets import fold_of


def results(items, decoder: DecoderConfig) -> list[dict]:
    return decode_all(items, 8, decoder)[0]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--heights", type=int, nargs="+", default=[256, 368])
    ap.add_argument("--variants", nargs="+", default=["residual:peaks", "residual:valid", "absolute:valid"])
    ap.add_argument("--work", default=str(ROOT / "runs" / "offsets_cv"))
    args = ap.parse_args()
    work, cache = Path(args.work), ROOT / "runs" / "fields"
    work.mkdir(parents=True, exist_ok=True)
    base = str(paths.CHECKPOINT)
    dec = DecoderConfig(paf_method="mean")
    print("| refinement | " + " | ".join(f"train2017 CV AP, height {h}" for h in args.heights) + " |")
    print("|---|" + "---|" * len(args.heights))
    coco, _ = cached_fields(base, "train", args.heights[0], cache)
    ids = [i for i in coco.getImgIds() if len(image_people(coco, i, with_ignore=False).parts)]
    fold = fold_of(ids, 2)
    for name, refine in (("log-parabola fit", "fit"), ("upsampling x8", "upsample"), ("cell centres", "none")):
        row = []
        for h in args.heights:
            coco, items = cached_fields(base, "train", h, cache)
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
                                "--mode", mode, "--cells", cells, "--holdout", str(k)], check=True,
                               stdout=subprocess.DEVNULL)
                subprocess.run([sys.executable, "-m", "app.cli", "import-ir", "--offsets", str(heads),
                                "--out", str(model)], check=True, stdout=subprocess.DEVNULL, cwd=ROOT)
            for h in args.heights:
                coco, items = cached_fields(str(model), "train", h, cache)
                row[h] += results([it for it in items if fold.get(it[0]) == k], replace(dec, refine=refine))
        print(f"| learned {mode} offsets ({cells} cells), `{refine}` | "
              + " | ".join(f"{evaluate(coco, row[h], ids)['AP']:.3f}" for h in args.heights) + " |", flush=True)


if __name__ == "__main__":
    main()
