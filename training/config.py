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
    init: str = ""                      # optional weights: an SSA-Pose checkpoint (models/lwop.pt), or OpenPose
                                        # body_pose_model.pth / torchvision VGG19 for the openpose model
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
    batch_size: int = 8                 # per process: the global batch is batch_size x WORLD_SIZE (torchrun)
    lr: float = 1e-4                    # used as given, whatever the number of processes
    momentum: float = 0.9
    weight_decay: float = 5e-4
    lr_steps: tuple = (0.283, 0.567, 0.85)   # fractions of the run where lr is divided by 3 (paper: 170k of 600k)
    time_budget_min: float = 0.0        # stop early after this many minutes (0: no limit)
    # bookkeeping
    workers: int = 2
    image_cache: str = ""               # folder for shrunk copies of the training images ("": read the originals)
    eval_every: int = 500
    checkpoint_every: int = 250
    out: str = "runs/train"
    device: str = "cpu"
    amp: bool = True                    # mixed precision on CUDA
    seed: int = 0


def load_config(path: str | None) -> TrainConfig:
    """A config from a YAML file, or the defaults.

    Raises:
        FileNotFoundError: no such file.
        ValueError: naming the file, and the key, the expected type and the value when a key is
            unknown or its value has the wrong type; or the line of a YAML syntax error.
    """
    cfg = TrainConfig()
    if not path:
        return cfg
    p = Path(path)
    if not p.is_file():
        raise FileNotFoundError(f"config file not found: {path}")
    try:
        data = yaml.safe_load(p.read_text()) or {}
    except yaml.YAMLError as e:
        mark = getattr(e, "problem_mark", None)
        where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark else ""
        raise ValueError(f"{path}: not valid YAML{where}: {getattr(e, 'problem', e)}") from None
    if not isinstance(data, dict):
        raise ValueError(f"{path}: expected a mapping of config keys to values, got a {type(data).__name__}")
    known = {f.name for f in fields(TrainConfig)}
    unknown = sorted(set(data) - known)
    if unknown:
        raise ValueError(f"{path}: unknown keys {unknown}; known keys: {sorted(known)}")
    return _with(cfg, data, source=path)


def _convert(name: str, default, value, source: str):
    """``value`` as the type of the field's default, or a ValueError naming source, key, type and value."""
    kind = type(default)
    try:
        if isinstance(default, tuple):
            if not isinstance(value, (list, tuple)):
                raise TypeError
            return tuple(float(v) for v in value)
        if isinstance(default, bool):
            if isinstance(value, bool):
                return value
            return _bool(str(value))
        if isinstance(value, (list, tuple, dict)) or (kind is int and isinstance(value, float)
                                                      and not value.is_integer()):
            raise TypeError
        return kind(value)
    except (TypeError, ValueError, argparse.ArgumentTypeError):
        want = "a list of numbers" if isinstance(default, tuple) else kind.__name__
        raise ValueError(f"{source}: key {name!r} expects {want}, got {value!r}") from None


def _with(cfg: TrainConfig, values: dict, source: str = "command line") -> TrainConfig:
    conv = {}
    for f in fields(TrainConfig):
        if f.name in values and values[f.name] is not None:
            conv[f.name] = _convert(f.name, f.default, values[f.name], source)
    return dataclasses.replace(cfg, **conv)


def _bool(s: str) -> bool:
    if s.lower() in ("1", "true", "yes", "on"):
        return True
    if s.lower() in ("0", "false", "no", "off"):
        return False
    raise argparse.ArgumentTypeError(f"expected true/false, got {s!r}")


def add_override_args(parser: argparse.ArgumentParser) -> None:
    """One ``--name VALUE`` option per config field; given ones override the file."""
    g = parser.add_argument_group("overrides (any config key; the value shown is the built-in default, which "
                                  "the --config file may change)")
    for f in fields(TrainConfig):
        flag = "--" + f.name.replace("_", "-")
        shown = f"default: {f.default!r}"
        if isinstance(f.default, bool):
            g.add_argument(flag, dest=f.name, type=_bool, metavar="BOOL", default=None, help=shown)
        elif isinstance(f.default, tuple):
            g.add_argument(flag, dest=f.name, type=float, nargs="*", default=None, help=shown)
        else:
            g.add_argument(flag, dest=f.name, type=type(f.default), default=None, help=shown)


def apply_overrides(cfg: TrainConfig, args: argparse.Namespace) -> TrainConfig:
    return _with(cfg, {f.name: getattr(args, f.name, None) for f in fields(TrainConfig)})
