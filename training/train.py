"""Train an SSA-Pose network.

    python training/train.py --config configs/synthetic-lite.yaml
    python training/train.py --config configs/synthetic-lite.yaml --iterations 100 --out runs/quick
    python training/train.py --config configs/coco-openpose.yaml --resume
"""
from __future__ import annotations

import argparse
import csv
import os
import signal
import sys
import time
from pathlib import Path

if __package__ in (None, ""):
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import torch
from tqdm import tqdm

from ssapose.decode import DecoderConfig
from ssapose.models import build_model, get_config, save_checkpoint
from ssapose.models.files import safe_load
from ssapose.models.heads import SelfSupervision
from ssapose.targets import TargetConfig
from training import distributed
from training.config import TrainConfig, add_override_args, apply_overrides, load_config
from training.data import AugmentConfig, CocoKeypoints, make_loader
from training.step import Clock, Stepper, make_stepper, train_step
from training.validate import validate


def model_config(cfg: TrainConfig):
    """The card of the network trained: its offsets learn Eq. 7's absolute targets, so it decodes with them
    (Eq. 8) by default; without offsets, by upsampling, as the ablations compare them."""
    refine = "offsets" if cfg.offsets else "upsample"
    if cfg.model.startswith("lite"):
        return get_config(cfg.model, offsets=cfg.offsets, stride=cfg.stride, width=cfg.width,
                          refinements=cfg.refinements, refine=refine)
    return get_config(cfg.model, offsets=cfg.offsets, refine=refine)


def data_paths(cfg: TrainConfig) -> tuple[str, str, str, str]:
    """(train_ann, train_images, val_ann, val_images), generating the synthetic set if asked
    (again whenever the config's generator parameters differ from those it was made with)."""
    if not cfg.synthetic:
        if not cfg.train_ann:
            raise ValueError("set train_ann/train_images (COCO) or synthetic: true")
        return cfg.train_ann, cfg.train_images, cfg.val_ann, cfg.val_images
    root = Path(cfg.synthetic_dir)
    from training.synthetic import ensure_generated
    ensure_generated(root, cfg.synthetic_train, cfg.synthetic_val, seed=cfg.synthetic_seed, size=cfg.input_size,
                     max_overlap=cfg.synthetic_overlap)
    return str(root / "train.json"), str(root / "train"), str(root / "val.json"), str(root / "val")


def resume_path(cfg: TrainConfig, resume: str | None) -> Path | None:
    """The checkpoint ``--resume`` names (``auto``: OUT/last.pt), checked before any other work."""
    if not resume:
        return None
    path = Path(cfg.out) / "last.pt" if resume == "auto" else Path(resume)
    if not path.is_file():
        raise FileNotFoundError(f"nothing to resume: {path} does not exist (a run writes OUT/last.pt every "
                                f"checkpoint_every steps, at the end, and when it is interrupted)")
    return path


def init_weights(model: torch.nn.Module, path: str) -> None:
    """Start from a file: an SSA-Pose checkpoint of the same architecture (e.g. ``models/lwop.pt`` to fine-tune
    the pretrained Lightweight OpenPose), or OpenPose / torchvision VGG19 weights for the openpose model."""
    blob = safe_load(path)
    if isinstance(blob, dict) and "state_dict" in blob and "config" in blob:
        missing, unexpected = model.load_state_dict(blob["state_dict"], strict=False)
        if unexpected or missing:
            raise ValueError(f"init {path} does not fit this model: missing {missing[:3]}, unexpected {unexpected[:3]}")
        return
    from ssapose.models.openpose_weights import load_init
    load_init(model, path)


def _raise_interrupt(signum, frame):
    raise KeyboardInterrupt


class CsvLog:
    """``OUT/log.csv``: a row every 10 steps and at each validation (only the main process writes)."""

    COLUMNS = ["step", "minutes", "lr", "total", "heat", "paf", "offsets", "ps", "kl", "AP", "AP50", "err_px"]

    def __init__(self, path: Path, fresh: bool, main: bool):
        new = fresh or not path.exists()
        self.file = open(path if main else os.devnull, "w" if new else "a", newline="")
        self.writer = csv.writer(self.file)
        if new and main:
            self.writer.writerow(self.COLUMNS)

    def row(self, step: int, minutes: float, lr: float, terms: dict, stats: dict) -> None:
        self.writer.writerow([step, f"{minutes:.2f}", f"{lr:.3g}"] +
                             [f"{terms[k]:.4g}" for k in ("total", "heat", "paf", "offsets", "ps", "kl")] +
                             [f"{stats[k]:.4f}" if stats else "" for k in ("AP", "AP50", "err_px")])
        self.file.flush()

    def close(self) -> None:
        self.file.close()


def make_dataset(cfg: TrainConfig, mcfg, train_ann: str, train_img: str) -> CocoKeypoints:
    """The training set with the config's targets and augmentation."""
    tcfg = TargetConfig(stride=mcfg.output_stride, sigma=cfg.sigma, paf_width=cfg.paf_width,
                        salm_alpha=cfg.salm_alpha if cfg.salm else 0.0)
    aug = AugmentConfig(tuple(cfg.aug_scale), cfg.aug_rotate, cfg.aug_flip) if cfg.augment else None
    return CocoKeypoints(train_ann, train_img, cfg.input_size, tcfg, mcfg.preprocess, aug, seed=cfg.seed,
                         image_cache=cfg.image_cache or None, raw_input=True)       # normalised in train_step


def restore(path: Path, s: Stepper, clock: Clock, device) -> tuple[int, float]:
    """Load a ``last.pt`` into the model, subnet, optimiser and schedule; returns ``(step, best AP)``."""
    blob = safe_load(path, device)
    s.model.load_state_dict(blob["state_dict"])
    if s.subnet is not None and blob.get("subnet"):
        s.subnet.load_state_dict(blob["subnet"])
    s.opt.load_state_dict(blob["optimizer"])
    s.sched.load_state_dict(blob["scheduler"])
    clock.offset = blob.get("minutes", 0.0)
    return blob["step"], blob.get("best_ap", -1.0)


def train(cfg: TrainConfig, resume: str | None = None) -> Path:
    """Run training; returns the path of the final checkpoint (``out/last.pt``).

    Ctrl-C (SIGINT) or SIGTERM stops it cleanly: ``out/last.pt`` is written atomically and the
    run goes on from there with ``--resume``.
    """
    torch.manual_seed(cfg.seed)
    device = torch.device(cfg.device)
    if device.type == "cuda" and not torch.cuda.is_available():
        raise RuntimeError("--device cuda asked for, but torch sees no CUDA device")
    mcfg = model_config(cfg)
    resume_from = resume_path(cfg, resume)
    ddp = distributed.setup(device)
    device = ddp.device
    out = Path(cfg.out)
    model = build_model(mcfg).to(device)
    if cfg.init:
        init_weights(model, cfg.init)
    subnet = SelfSupervision(cfg.kl_mode).to(device) if cfg.kl else None
    clock = Clock()
    # A network trained here learns Eq. 7's offsets: validate with the paper's decoding (Eq. 8), or upsampling
    # without offsets, as the ablations compare them.
    decoder = DecoderConfig(refine=mcfg.refine)
    train_ann, train_img, val_ann, val_img = ddp.first(lambda: data_paths(cfg))
    out.mkdir(parents=True, exist_ok=True)
    ds = make_dataset(cfg, mcfg, train_ann, train_img)
    sampler = ddp.sampler(ds, cfg.seed)
    loader = make_loader(ds, cfg.batch_size, cfg.workers, sampler=sampler, pin_memory=device.type == "cuda")
    stepper = make_stepper(model, cfg, subnet, net=ddp.wrap(model), clock=clock, average_grads=ddp.average_grads,
                           preprocess=mcfg.preprocess)
    step, best = restore(resume_from, stepper, clock, device) if resume_from else (0, -1.0)
    if resume_from:
        torch.manual_seed(cfg.seed + step)
    log = CsvLog(out / "log.csv", fresh=step == 0, main=ddp.main)
    last = out / "last.pt"

    def checkpoint(path: Path, **extra):
        if ddp.main:
            save_checkpoint(str(path), model, mcfg, step=step, best_ap=best, train_config=vars(cfg).copy(),
                            minutes=clock.minutes(), subnet=subnet.state_dict() if subnet else None,
                            optimizer=stepper.opt.state_dict(), scheduler=stepper.sched.state_dict(), **extra)

    clock.t0 = time.time()            # the budget counts training, not data generation
    model.train()
    bar = tqdm(total=cfg.iterations, initial=step, desc="train", unit="it", dynamic_ncols=True, disable=not ddp.main)
    epoch = 0
    done = step >= cfg.iterations
    previous_term = signal.signal(signal.SIGTERM, _raise_interrupt)
    try:
        while not done:
            if sampler is not None:
                sampler.set_epoch(epoch)
            epoch += 1
            for x, tg in loader:
                terms = train_step(stepper, x, tg)
                step += 1
                lr = stepper.sched.get_last_lr()[0]
                bar.update(1)
                bar.set_postfix(loss=f"{terms['total']:.1f}", lr=f"{lr:.2g}")
                minutes = clock.minutes()
                done = step >= cfg.iterations or bool(cfg.time_budget_min and minutes >= cfg.time_budget_min)
                stats = {}
                if ddp.main and val_ann and (step % cfg.eval_every == 0 or done):
                    stats = validate(model, mcfg, val_ann, val_img, cfg.input_size, decoder)
                    bar.write(f"step {step}: val AP {stats['AP']:.3f} AP50 {stats['AP50']:.3f} "
                              f"err {stats['err_px']:.2f}px ({minutes:.1f} min)")
                    if stats["AP"] > best:
                        best = stats["AP"]
                        save_checkpoint(str(out / "best.pt"), model, mcfg, half=True, step=step, val=stats)
                if step % 10 == 0 or stats:
                    log.row(step, minutes, lr, terms, stats)
                if step % cfg.checkpoint_every == 0 or done:
                    checkpoint(last)
                if done:
                    break
    except KeyboardInterrupt:
        bar.close()
        checkpoint(last)
        print(f"\ninterrupted at step {step}: saved {last}; continue with --resume", file=sys.stderr)
    finally:
        signal.signal(signal.SIGTERM, previous_term)
        bar.close()
        log.close()
        ddp.close()
    return last


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description="Train an SSA-Pose network (paper losses: SALM, PDD, KL; RIE offsets). "
                                             "Ctrl-C saves OUT/last.pt; --resume continues from it.")
    ap.add_argument("--config", help="YAML file with TrainConfig keys (see training/config.py)")
    ap.add_argument("--resume", nargs="?", const="auto", default=None,
                    help="continue from a checkpoint (default: OUT/last.pt)")
    add_override_args(ap)
    args = ap.parse_args(argv)
    try:
        cfg = apply_overrides(load_config(args.config), args)
        path = train(cfg, args.resume)
    except (FileNotFoundError, ValueError, RuntimeError, KeyError) as e:
        print(f"train.py: error: {e}", file=sys.stderr)
        return 1
    print(f"checkpoint: {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
