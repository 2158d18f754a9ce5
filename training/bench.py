"""The training benchmark: what limits a training run, and how long the paper's recipe takes.

    python training/bench.py                  # the three parts on this machine (about 2 minutes on 2 cores)
    python training/bench.py --device cuda    # the model and the loop on a GPU
    python training/bench.py --quick          # seconds: the smoke run of the test suite

1. The data pipeline alone, in this process as one loader worker (OpenCV and torch on one thread): each
   stage of a sample (JPEG decode, annotations and ignore masks, augmentation warp, target encoding,
   tensors) on coco_mini train2017 at the training input size, and the samples per second of one worker.
2. The model alone: forward + loss + backward + optimiser steps per second on fixed batches, for each model
   and precision (fp32, and AMP on CUDA: bf16 where the GPU has it, else fp16).
3. The whole loop: ``train.py``'s step (:func:`training.step.train_step`) fed by the real DataLoader, and
   whether the loader (time waiting for a batch) or the model limits it.
"""
from __future__ import annotations

import argparse
import sys
import tempfile
import time
from dataclasses import replace
from pathlib import Path

if __package__ in (None, ""):
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import cv2
import numpy as np
import torch

from ssapose import paths
from ssapose.models import build_model
from ssapose.models.heads import SelfSupervision
from training.config import TrainConfig
from training.data import make_loader
from training.step import make_stepper, train_step
from training.train import make_dataset, model_config

STAGES = ("decode", "annotations", "augmentation", "targets", "tensors")
#: The paper's schedule: 600 k iterations of batch 10.
PAPER_ITERATIONS, PAPER_BATCH = 600_000, 10


def data_stages(ds, samples: int, reduce: bool = True) -> dict[str, float]:
    """Median ms per sample of each stage over the first ``samples`` items (cycled); ``reduce=False`` decodes
    every JPEG at full size (the loader before reduced decoding)."""
    times = {k: [] for k in STAGES}
    for n in range(samples):
        i = n % len(ds)
        t = [time.perf_counter()]
        plan = ds.plan(i) if reduce else replace(ds.plan(i), reduce=1)
        img = ds.image(i, plan.reduce)
        t.append(time.perf_counter())
        people = ds.people(i)
        t.append(time.perf_counter())
        img, parts, ignore = ds.transform(img, people, plan)
        t.append(time.perf_counter())
        fields = ds.target_fields(parts, ignore)
        t.append(time.perf_counter())
        ds.tensors(img, fields)
        t.append(time.perf_counter())
        for k, a, b in zip(STAGES, t, t[1:]):
            times[k].append((b - a) * 1e3)
    return {k: float(np.mean(v)) for k, v in times.items()}


def model_steps(name: str, cfg: TrainConfig, device: torch.device, amp: bool, batch: int, steps: int,
                warmup: int = 1) -> float:
    """Optimiser steps per second of ``name`` on one fixed batch of real targets."""
    cfg = replace(cfg, model=name, amp=amp, device=str(device))
    mcfg = model_config(cfg)
    torch.manual_seed(0)
    model = build_model(mcfg).to(device).train()
    subnet = SelfSupervision(cfg.kl_mode).to(device) if cfg.kl else None
    s = make_stepper(model, cfg, subnet, preprocess=mcfg.preprocess)
    ds = make_dataset(cfg, mcfg, *_train_set())
    items = [ds[i] for i in range(batch)]
    x = torch.stack([it[0] for it in items])
    tg = {k: torch.stack([it[1][k] for it in items]) for k in items[0][1]}
    for n in range(warmup + steps):
        if n == warmup:
            _sync(device)
            t0 = time.perf_counter()
        train_step(s, x, tg)
    _sync(device)
    return steps / (time.perf_counter() - t0)


def whole_loop(cfg: TrainConfig, device: torch.device, steps: int, warmup: int = 2) -> tuple[float, float]:
    """``(steps per second, fraction of the time spent waiting for the loader)`` of the real loop."""
    cfg = replace(cfg, device=str(device))
    mcfg = model_config(cfg)
    model = build_model(mcfg).to(device).train()
    subnet = SelfSupervision(cfg.kl_mode).to(device) if cfg.kl else None
    s = make_stepper(model, cfg, subnet, preprocess=mcfg.preprocess)
    loader = make_loader(make_dataset(cfg, mcfg, *_train_set()), cfg.batch_size, cfg.workers,
                         pin_memory=device.type == "cuda")
    waited, done, it = 0.0, 0, iter(loader)
    while done < warmup + steps:
        if done == warmup:
            _sync(device)
            t0, waited = time.perf_counter(), 0.0
        w0 = time.perf_counter()
        try:
            x, tg = next(it)
        except StopIteration:
            it = iter(loader)
            continue
        waited += time.perf_counter() - w0
        train_step(s, x, tg)
        done += 1
    _sync(device)
    wall = time.perf_counter() - t0
    return steps / wall, waited / wall


def _train_set() -> tuple[str, str]:
    s = paths.coco_set("train")
    return str(s.ann), str(s.images)


def _sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize()


def _hours(steps_per_s: float, iterations: int = PAPER_ITERATIONS) -> float:
    return iterations / steps_per_s / 3600 if steps_per_s > 0 else float("inf")


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description="Training throughput: the data pipeline per worker, the model alone "
                                             "(steps/s per model and precision) and the whole loop, and the wall "
                                             "time of the paper's 600k-iteration recipe from them.")
    ap.add_argument("--device", default="cpu", help="cpu or cuda (default: %(default)s)")
    ap.add_argument("--input-size", type=int, default=368, help="training crop in pixels (default: %(default)s)")
    ap.add_argument("--batch", type=int, default=0, help="batch per step (default: 2 on a CPU, 10 on CUDA)")
    ap.add_argument("--samples", type=int, default=160, help="samples timed in the data part (default: %(default)s)")
    ap.add_argument("--steps", type=int, default=3, help="timed steps per model and for the loop (default: %(default)s)")
    ap.add_argument("--models", default="lwop,openpose", help="models timed alone (default: %(default)s)")
    ap.add_argument("--workers", type=int, default=2, help="loader workers in the whole loop (default: %(default)s)")
    ap.add_argument("--quick", action="store_true", help="a few samples and one step of lwop at 128 px (smoke run)")
    args = ap.parse_args(argv)
    device = torch.device(args.device)
    if device.type == "cuda" and not torch.cuda.is_available():
        print("train bench: error: --device cuda, but torch sees no CUDA device", file=sys.stderr)
        return 1
    if args.quick:
        args.input_size, args.samples, args.steps, args.models, args.workers = 128, 8, 1, "lwop", 0
    batch = args.batch or (10 if device.type == "cuda" else 2)
    cfg = TrainConfig(model="lwop", offsets=True, input_size=args.input_size, batch_size=batch, workers=args.workers,
                      augment=True)                  # the paper's losses: KL, SALM, PDD quadratic-b (the defaults)
    where = torch.cuda.get_device_name(0) if device.type == "cuda" else f"CPU, {torch.get_num_threads()} threads"

    cv2.setNumThreads(0)                         # as in a loader worker
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    ds = make_dataset(cfg, model_config(cfg), *_train_set())
    print(f"1. data pipeline, one worker, coco_mini train2017 ({len(ds)} images), input {args.input_size}, "
          f"augmented; ms per sample (mean of {args.samples})")
    print("| loader | " + " | ".join(STAGES) + " | total | samples/s per worker |")
    print("|---|" + "---|" * (len(STAGES) + 2))
    with tempfile.TemporaryDirectory() as cache:
        cached = make_dataset(replace(cfg, image_cache=cache), model_config(cfg), *_train_set())
        for i in range(len(cached)):                # the first epoch makes the copies; the next ones read them
            cached.image(i)
            cached.people(i)
        rows = (("full-size JPEG decode", ds, False), ("reduced JPEG decode (default)", ds, True),
                (f"image_cache: (copies of {cached.cache_side} px, after the first epoch)", cached, True))
        rates = {}
        for label, d, reduce in rows:
            ms = data_stages(d, args.samples, reduce)
            total = sum(ms.values())
            rates[label] = 1000.0 / total
            print(f"| {label} | " + " | ".join(f"{ms[k]:.2f}" for k in STAGES) +
                  f" | {total:.2f} | {rates[label]:.0f} |")
    torch.set_num_threads(threads)
    per_worker = rates[rows[1][0]]

    print(f"\n2. model alone, {where}, batch {batch}, input {args.input_size}: steps/s (forward, SSA loss with "
          f"KL/SALM/PDD, backward, SGD)")
    print("| model | precision | steps/s | samples/s | loader workers needed | paper recipe (600k steps) |")
    print("|---|---|---|---|---|---|")
    precisions = [False, True] if device.type == "cuda" else [False]
    for name in args.models.split(","):
        for amp in precisions:
            rate = model_steps(name, cfg, device, amp, batch, args.steps)
            label = ("bf16" if torch.cuda.is_bf16_supported() else "fp16") + " AMP" if amp else "fp32"
            need = int(np.ceil(rate * batch / per_worker))
            print(f"| {name} | {label} | {rate:.3g} | {rate * batch:.3g} | {need} | "
                  f"{_hours(rate * batch / PAPER_BATCH) / 24:.1f} days at batch {PAPER_BATCH} |")
    if device.type != "cuda":
        print("(AMP: train.py autocasts on CUDA only; a CPU step runs in fp32)")

    rate, waiting = whole_loop(cfg, device, args.steps)
    limit = "the loader" if waiting > 0.2 else "the model"
    print(f"\n3. whole loop, lwop, {args.workers} loader workers, batch {batch}: {rate:.3g} steps/s, "
          f"{100 * waiting:.0f} % of the time waiting for data: limited by {limit}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
