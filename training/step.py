"""One optimisation step and what it needs: the optimiser, the schedule, the loss settings and mixed precision.

``train.py`` runs :func:`train_step` in its loop; ``training/bench.py`` times the same function.
"""
from __future__ import annotations

import time
from dataclasses import dataclass, field

import torch

from ssapose.losses import LossConfig, ssa_loss
from training.config import TrainConfig


def lr_factor(step: int, cfg: TrainConfig, minutes: float = 0.0) -> float:
    """Divide by 3 at each fraction in ``lr_steps`` of the run (paper: every 170k of 600k).

    With a time budget, the run's progress is the larger of the iteration and
    time fractions, so that a run cut short by the clock still anneals.
    """
    progress = step / cfg.iterations
    if cfg.time_budget_min:
        progress = max(progress, minutes / cfg.time_budget_min)
    return (1 / 3) ** sum(progress >= f for f in cfg.lr_steps)


def make_optimizer(params: list, cfg: TrainConfig) -> torch.optim.Optimizer:
    """SGD with momentum (the paper's) or AdamW, with the config's rate and weight decay."""
    if cfg.optimizer == "sgd":
        return torch.optim.SGD(params, lr=cfg.lr, momentum=cfg.momentum, weight_decay=cfg.weight_decay)
    if cfg.optimizer == "adam":
        return torch.optim.AdamW(params, lr=cfg.lr, weight_decay=cfg.weight_decay)
    raise ValueError(f"unknown optimizer {cfg.optimizer!r}; use sgd or adam")


def loss_config(cfg: TrainConfig) -> LossConfig:
    return LossConfig(salm=cfg.salm, pdd=cfg.pdd, kl=cfg.kl, kl_mode=cfg.kl_mode, gamma=cfg.gamma,
                      heat_weight=cfg.heat_weight, offsets_weight=cfg.offsets_weight)


def amp_dtype(cfg: TrainConfig, device: torch.device) -> torch.dtype | None:
    """The autocast dtype of ``cfg.amp``: float16 on CUDA (bfloat16 where the GPU has it), None on a CPU."""
    if not cfg.amp or device.type != "cuda":
        return None
    return torch.bfloat16 if torch.cuda.is_bf16_supported() else torch.float16


class Clock:
    """Minutes of training so far, carried over a resume (``offset``) and counting only this run's steps."""

    def __init__(self, offset_min: float = 0.0):
        self.offset, self.t0 = offset_min, time.time()

    def minutes(self) -> float:
        return self.offset + (time.time() - self.t0) / 60


@dataclass
class Stepper:
    """What one optimisation step updates. ``net``: the model as run (DDP-wrapped or not); ``model``: the bare
    one; ``subnet``: the KL self-supervision net or None; ``dtype``: autocast dtype or None (fp32)."""

    net: torch.nn.Module
    model: torch.nn.Module
    subnet: torch.nn.Module | None
    opt: torch.optim.Optimizer
    sched: torch.optim.lr_scheduler.LambdaLR
    loss: LossConfig
    dtype: torch.dtype | None = None
    clip_grad: float = 0.0
    average_grads: object = None                  # DDP: averages the subnet's gradients across processes
    preprocess: object = None                     # the model's Preprocess: uint8 batches are normalised with it
    scaler: torch.amp.GradScaler = field(init=False)

    def __post_init__(self):
        device = next(self.model.parameters()).device
        self.device = device
        self.scaler = torch.amp.GradScaler(device.type, enabled=self.dtype == torch.float16)
        self.params = [p for g in self.opt.param_groups for p in g["params"]]


def make_stepper(model: torch.nn.Module, cfg: TrainConfig, subnet: torch.nn.Module | None = None,
                 net: torch.nn.Module | None = None, clock: Clock | None = None, average_grads=None,
                 preprocess=None) -> Stepper:
    """Optimiser, schedule (:func:`lr_factor`, by step and by the clock) and mixed precision for ``model``."""
    params = list(model.parameters()) + (list(subnet.parameters()) if subnet else [])
    opt = make_optimizer(params, cfg)
    clock = clock or Clock()
    sched = torch.optim.lr_scheduler.LambdaLR(opt, lambda s: lr_factor(s, cfg, clock.minutes()))
    device = next(model.parameters()).device
    return Stepper(net or model, model, subnet, opt, sched, loss_config(cfg), amp_dtype(cfg, device),
                   cfg.clip_grad, average_grads, preprocess)


def train_step(s: Stepper, x: torch.Tensor, targets: dict[str, torch.Tensor]) -> dict[str, float]:
    """Forward, the SSA loss, backward and an optimiser step on one batch: ``x (B, 3, S, S)``, targets as
    :class:`ssapose.targets.Targets` fields with a batch axis, on the model's device. Returns the loss terms."""
    x = x.to(s.device, non_blocking=True)
    if x.dtype == torch.uint8:                    # raw pixels from the loader: normalised here, on the device
        from training.data import normalise_batch

        x = normalise_batch(x, s.preprocess)
    targets = {k: v.to(s.device, non_blocking=True) for k, v in targets.items()}
    with torch.autocast(s.device.type, dtype=s.dtype or torch.float32, enabled=s.dtype is not None):
        stages = s.net(x)
    stages = [type(st)(*(t.float() if t is not None else None for t in st)) for st in stages]
    loss, terms = ssa_loss(stages, targets, s.loss, s.subnet)
    s.opt.zero_grad(set_to_none=True)
    s.scaler.scale(loss).backward()
    if s.subnet is not None and s.average_grads is not None:
        s.average_grads(s.subnet.parameters())
    if s.clip_grad:
        s.scaler.unscale_(s.opt)
        torch.nn.utils.clip_grad_norm_(s.params, s.clip_grad)
    s.scaler.step(s.opt)
    s.scaler.update()
    s.sched.step()
    return terms
