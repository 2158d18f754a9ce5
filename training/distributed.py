"""Training on several processes with ``torchrun`` (one per GPU, or per CPU process with gloo).

    torchrun --nproc_per_node=4 training/train.py --config configs/coco-openpose.yaml --device cuda
    torchrun --nnodes=2 --node_rank=0 --rdzv_endpoint=HOST:29500 --nproc_per_node=8 training/train.py ...

torchrun sets ``WORLD_SIZE``, ``RANK`` and ``LOCAL_RANK``; without them training runs in one
process as before. The network is wrapped in DistributedDataParallel; the self-supervision
subnet, which the loss calls directly, has its gradients averaged by hand. ``batch_size`` is
per process, so the global batch is ``batch_size x WORLD_SIZE``; ``lr`` is used as given.
Logging, validation and checkpoints happen on rank 0; every rank resumes from the same file.
"""
from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Callable, TypeVar

import torch
import torch.distributed as dist

T = TypeVar("T")


@dataclass
class Dist:
    """Where this process stands: ``rank`` of ``world`` processes, on ``device``."""

    rank: int = 0
    world: int = 1
    local_rank: int = 0
    device: torch.device = torch.device("cpu")

    @property
    def main(self) -> bool:
        return self.rank == 0

    @property
    def active(self) -> bool:
        return self.world > 1

    def first(self, fn: Callable[[], T]) -> T:
        """Run ``fn`` on rank 0 first (e.g. to generate data), then on the others."""
        if self.main:
            out = fn()
        self.barrier()
        return out if self.main else fn()

    def barrier(self) -> None:
        if self.active:
            dist.barrier()

    def wrap(self, model: torch.nn.Module) -> torch.nn.Module:
        if not self.active:
            return model
        from torch.nn.parallel import DistributedDataParallel
        ids = [self.local_rank] if self.device.type == "cuda" else None
        return DistributedDataParallel(model, device_ids=ids)

    def sampler(self, dataset, seed: int):
        """A DistributedSampler when distributed (call ``set_epoch`` each pass), else None."""
        if not self.active:
            return None
        from torch.utils.data.distributed import DistributedSampler
        return DistributedSampler(dataset, num_replicas=self.world, rank=self.rank, shuffle=True, seed=seed)

    def average_grads(self, params) -> None:
        """Average the gradients of parameters DDP does not own (the KL subnet) over the processes."""
        if not self.active:
            return
        for p in params:
            if p.grad is not None:
                dist.all_reduce(p.grad)
                p.grad /= self.world

    def close(self) -> None:
        if self.active and dist.is_initialized():
            dist.destroy_process_group()


def setup(device: torch.device) -> Dist:
    """Join the process group torchrun describes in the environment (nccl on CUDA, gloo on the CPU)."""
    world = int(os.environ.get("WORLD_SIZE", "1"))
    if world <= 1:
        return Dist(device=device)
    rank, local = int(os.environ["RANK"]), int(os.environ.get("LOCAL_RANK", "0"))
    if device.type == "cuda":
        device = torch.device(f"cuda:{local}")
        torch.cuda.set_device(device)
    if not dist.is_initialized():
        dist.init_process_group("nccl" if device.type == "cuda" else "gloo")
    return Dist(rank, world, local, device)
