"""Training configuration: one flat dataclass, loaded from YAML, overridden from the command line."""
from __future__ import annotations

import argparse
import dataclasses
from dataclasses import dataclass, fields
from pathlib import Path

import yaml


@dataclass
class TrainConfig:
    # model
    model: str = "lite"                 # registry name (ssapose.models.REGISTRY)
    offsets: bool = True                # RIE offset channels
    stride: int = 8                     # lite model only
    width: int = 128                    # lite model only
    refinements: int = 1                # lite model only
    init: str = ""                      # optional weights: OpenPose body_pose_model.pth or torchvision VGG19 file
    # data
    train_ann: str = ""                 # COCO keypoint JSON; empty with synthetic=True
    train_images: str = ""
    val_ann: str = ""
    val_images: str = ""
    synthetic: bool = False             # generate (once) and use the synthetic dataset
    synthetic_dir: str = "data/synthetic"
    synthetic_train: int = 800
    synthetic_val: int = 100
    synthetic_seed: int = 0             # the data's seed (train; val uses seed + 1), apart from the run's seed
    synthetic_overlap: float = 1.0      # largest share of a person's box another may cover (1: any)
    input_size: int = 256
    augment: bool = True
    aug_scale: tuple = (0.5, 1.1)      # paper: scale 0.5-1.1
    aug_rotate: float = 45.0            # paper: +-45 degrees
    aug_flip: float = 0.5               # paper: flip with probability 0.5
    # targets and losses
    sigma: float = 0.875
    paf_width: float = 1.0
    salm: bool = True
    salm_alpha: float = 10.0
    pdd: str = "quadratic-b"
    kl: bool = True
    kl_mode: str = "p2h"                # p2h (paper), h2p or both
    gamma: float = 9.0
    heat_weight: float = 1.0            # extra weight on the heatmap L2 (paper: 1)
    offsets_weight: float = 1.0
    # optimisation
    optimizer: str = "sgd"              # "sgd" (paper) or "adam" (scale-free; used for short CPU runs)
    clip_grad: float = 0.0              # max gradient norm (0: off)
    iterations: int = 3000
    batch_size: int = 8
    lr: float = 1e-4
    momentum: float = 0.9
    weight_decay: float = 5e-4
    lr_steps: tuple = (0.283, 0.567, 0.85)   # fractions of the run where lr is divided by 3 (paper: 170k of 600k)
    time_budget_min: float = 0.0        # stop early after this many minutes (0: no limit)
    # bookkeeping
    workers: int = 2
    eval_every: int = 500
    checkpoint_every: int = 250
    out: str = "runs/train"
    device: str = "cpu"
    amp: bool = True                    # mixed precision on CUDA
    seed: int = 0


def load_config(path: str | None) -> TrainConfig:
    """A config from a YAML file (unknown keys are an error), or the defaults."""
    cfg = TrainConfig()
    if not path:
        return cfg
    p = Path(path)
    if not p.is_file():
        raise FileNotFoundError(f"config file not found: {path}")
    data = yaml.safe_load(p.read_text()) or {}
    known = {f.name for f in fields(TrainConfig)}
    unknown = sorted(set(data) - known)
    if unknown:
        raise ValueError(f"{path}: unknown keys {unknown}; known keys: {sorted(known)}")
    return _with(cfg, data)


def _with(cfg: TrainConfig, values: dict) -> TrainConfig:
    conv = {}
    for f in fields(TrainConfig):
        if f.name in values and values[f.name] is not None:
            v = values[f.name]
            conv[f.name] = tuple(v) if isinstance(f.default, tuple) else type(f.default)(v)
    return dataclasses.replace(cfg, **conv)


def _bool(s: str) -> bool:
    if s.lower() in ("1", "true", "yes", "on"):
        return True
    if s.lower() in ("0", "false", "no", "off"):
        return False
    raise argparse.ArgumentTypeError(f"expected true/false, got {s!r}")


def add_override_args(parser: argparse.ArgumentParser) -> None:
    """One ``--name VALUE`` option per config field; given ones override the file."""
    g = parser.add_argument_group("overrides (any config key)")
    for f in fields(TrainConfig):
        flag = "--" + f.name.replace("_", "-")
        if isinstance(f.default, bool):
            g.add_argument(flag, dest=f.name, type=_bool, metavar="BOOL", default=None, help=f"(default {f.default})")
        elif isinstance(f.default, tuple):
            g.add_argument(flag, dest=f.name, type=float, nargs="*", default=None, help=f"(default {f.default})")
        else:
            g.add_argument(flag, dest=f.name, type=type(f.default), default=None, help=f"(default {f.default!r})")


def apply_overrides(cfg: TrainConfig, args: argparse.Namespace) -> TrainConfig:
    return _with(cfg, {f.name: getattr(args, f.name, None) for f in fields(TrainConfig)})
