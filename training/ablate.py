"""Equal-budget ablations of the paper's mechanisms on the synthetic set.

    python training/ablate.py --config configs/ablation-synthetic.yaml            # the full study
    python training/ablate.py --config configs/ablation-synthetic.yaml --quick    # 1/8 of the iterations
    python training/ablate.py --config configs/ablation-synthetic.yaml --smoke    # a few steps per row (tests)

Every row trains the lite model from the same seed, data and number of
iterations, then reports AP, AP50, AP75 and the mean keypoint error in pixels on
the held-out synthetic validation set. Finished rows are stored in
``STUDY/rows/*.json`` and never rerun, so the study resumes where it stopped.

Budget on the 2-core development CPU: 23 trainings of 800 iterations, 3.5-4.5
minutes each, about 95 minutes in all; ``--quick`` an estimated 20-25 minutes
(100 iterations a row, plus each row's validation, which does not shrink; not timed). ``--device cuda --iterations N`` runs the
same study on a GPU with a longer budget.
"""
from __future__ import annotations

import argparse
import dataclasses
import json
import sys
import time
from pathlib import Path

if __package__ in (None, ""):
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import numpy as np

from training.config import TrainConfig, add_override_args, apply_overrides, load_config

#: The baseline: OpenPose-style L2 only, no offsets.
BASE = dict(salm=False, pdd="uniform", kl=False, offsets=False, stride=8)
ALL = dict(salm=True, salm_alpha=10.0, pdd="quadratic-b", kl=True, kl_mode="p2h", gamma=9.0, offsets=True)

#: (name, overrides, paper's claim, key row run with several seeds)
ROWS = [
    ("baseline L2", {}, "-", True),
    ("+SALM a=1", dict(salm=True, salm_alpha=1.0), "+0.2 (Table II)", False),
    ("+SALM a=10", dict(salm=True, salm_alpha=10.0), "+3.0", False),
    ("+SALM a=100", dict(salm=True, salm_alpha=100.0), "+2.4", False),
    # The lite model has 2 stages, where every beta set is (0, 1) (see ``stage_betas``): one
    # row says whether PDD acts at all; the sets are compared on a 3-stage lite model.
    ("+PDD, 2 stages (every set: beta 0, 1)", dict(pdd="quadratic-b"), "-", False),
    ("baseline L2, 3 stages", dict(refinements=2), "-", False),
    ("+PDD linear, 3 stages", dict(pdd="linear", refinements=2), "+1.1 (6 stages)", False),
    ("+PDD quadratic-a, 3 stages", dict(pdd="quadratic-a", refinements=2), "+0.5 (6 stages)", False),
    ("+PDD quadratic-b, 3 stages", dict(pdd="quadratic-b", refinements=2), "+1.3 (6 stages)", False),
    ("+KL p2h g=0", dict(kl=True, kl_mode="p2h", gamma=0.0), "0.0 (Table I)", False),
    ("+KL p2h g=9", dict(kl=True, kl_mode="p2h", gamma=9.0), "+0.8", False),
    ("+KL p2h g=99", dict(kl=True, kl_mode="p2h", gamma=99.0), "+0.6", False),
    ("+KL h2p g=9", dict(kl=True, kl_mode="h2p", gamma=9.0), "-1.8", False),
    ("+KL both g=9", dict(kl=True, kl_mode="both", gamma=9.0), "+0.3", False),
    ("+RIE stride 8", dict(offsets=True, stride=8), "+1.5 (Table III)", False),
    ("baseline stride 16", dict(stride=16), "-", False),
    ("+RIE stride 16", dict(offsets=True, stride=16), "+3.2 vs stride-16 baseline", True),
    ("all", ALL, "+5.5 (Table IV)", True),
]


def row_config(base: TrainConfig, overrides: dict, seed: int, out: Path, name: str) -> TrainConfig:
    values = {**vars(base), **BASE, **overrides, "seed": seed, "out": str(out / "runs" / f"{slug(name)}-s{seed}")}
    return TrainConfig(**values)


def slug(name: str) -> str:
    return "".join(c if c.isalnum() else "-" for c in name.lower()).strip("-")


def run_row(cfg: TrainConfig) -> dict:
    """Train one row; its figures are the validation that ``train`` runs after the last step."""
    from ssapose.models.files import safe_load
    from training.train import train

    t0 = time.time()
    train(dataclasses.replace(cfg, eval_every=10 ** 9))
    stats = safe_load(Path(cfg.out) / "best.pt")["val"]
    return {k: stats[k] for k in ("AP", "AP50", "AP75", "err_px")} | {"minutes": (time.time() - t0) / 60}


def table(results: dict[str, list[dict]], claims: dict[str, str]) -> str:
    lines = ["| row | seeds | AP | AP50 | AP75 | error (px) | paper's claim (COCO AP) |", "|---|---|---|---|---|---|---|"]
    for name, runs in results.items():
        if not runs:
            continue

        def cell(k):
            v = np.array([r[k] for r in runs], float)
            return f"{v.mean():.3f}" + (f" ± {v.std():.3f}" if len(v) > 1 else "")
        lines.append(f"| {name} | {len(runs)} | {cell('AP')} | {cell('AP50')} | {cell('AP75')} | {cell('err_px')} "
                     f"| {claims[name]} |")
    return "\n".join(lines)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--config", help="YAML with the shared TrainConfig keys (iterations, data, ...)")
    ap.add_argument("--study", default="runs/ablation", help="study folder: rows, runs, table (default: %(default)s)")
    ap.add_argument("--seeds", type=int, default=2, help="seeds for the key rows (default: 2)")
    ap.add_argument("--quick", action="store_true", help="1/8 of the iterations")
    ap.add_argument("--smoke", action="store_true", help="3 iterations per row on a tiny set (for tests)")
    ap.add_argument("--rows", nargs="*", help="only these rows (by name)")
    ap.add_argument("--table", help="write the markdown table here (default: STUDY/ablation.md)")
    add_override_args(ap)
    args = ap.parse_args(argv)
    base = apply_overrides(load_config(args.config), args)
    out = Path(args.study)
    if args.smoke:
        base = dataclasses.replace(base, iterations=3, batch_size=2, workers=0, input_size=96, width=32,
                                   synthetic=True, synthetic_train=4, synthetic_val=2,
                                   synthetic_dir=str(out / "synthetic"), time_budget_min=0.0, checkpoint_every=3)
    elif args.quick:
        base = dataclasses.replace(base, iterations=max(10, base.iterations // 8))
    (out / "rows").mkdir(parents=True, exist_ok=True)
    results, claims = {}, {}
    rows = [r for r in ROWS if not args.rows or r[0] in args.rows]
    for name, overrides, claim, key in rows:
        claims[name], results[name] = claim, []
        for seed in range(args.seeds if key else 1):
            done = out / "rows" / f"{slug(name)}-s{seed}.json"
            if done.is_file():
                results[name].append(json.loads(done.read_text()))
                continue
            print(f"[ablation] {name}, seed {seed}", file=sys.stderr)
            res = run_row(row_config(base, overrides, seed, out, name))
            done.write_text(json.dumps(res))
            results[name].append(res)
    text = table(results, claims)
    Path(args.table or out / "ablation.md").write_text(text + "\n")
    print(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
