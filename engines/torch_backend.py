"""PyTorch backend: the reference. CPU, or CUDA with FP16 autocast and channels_last."""
from __future__ import annotations

import numpy as np
import torch

from engines.base import Backend, ModelInfo
from ssapose.models import load_checkpoint


class TorchBackend(Backend):
    """Args:
        path: a checkpoint (``.pt``).
        device: ``cpu``, ``cuda`` or ``cuda:N``.
        half: FP16 on CUDA (default: on). Runs under ``torch.autocast``, so the weights stay
            FP32 and numerically fragile layers (BatchNorm, reductions) keep FP32.
        threads: CPU threads (``torch.set_num_threads``).
    """

    name = "torch"

    def __init__(self, path: str, device: str = "cpu", half: bool | None = None, threads: int | None = None):
        model, config, _ = load_checkpoint(path)
        super().__init__(ModelInfo(config))
        if device.startswith("cuda") and not torch.cuda.is_available():
            build = "a CPU-only build" if torch.version.cuda is None else "a CUDA build, but no GPU is visible"
            raise RuntimeError(f"CUDA was asked for, but this torch {torch.__version__} is {build} "
                               "(see README: GPU set-up)")
        if threads:
            torch.set_num_threads(threads)
        self.device = torch.device(device)
        self.half = (self.device.type == "cuda") if half is None else half
        model = model.to(self.device)
        if self.device.type == "cuda":
            torch.backends.cudnn.benchmark = True          # one input shape per video: tune it once
            model = model.to(memory_format=torch.channels_last)
        self.model = model
        self._pinned: torch.Tensor | None = None

    def _to_device(self, batch: np.ndarray) -> torch.Tensor:
        x = torch.from_numpy(np.ascontiguousarray(batch, np.float32))
        if self.device.type != "cuda":
            return x
        if self._pinned is None or self._pinned.shape != x.shape:
            self._pinned = torch.empty(x.shape, dtype=torch.float32, pin_memory=True)
        self._pinned.copy_(x)
        return self._pinned.to(self.device, non_blocking=True).contiguous(memory_format=torch.channels_last)

    @torch.inference_mode()
    def infer(self, batch: np.ndarray) -> dict[str, np.ndarray]:
        x = self._to_device(batch)
        with torch.autocast(self.device.type, dtype=torch.float16, enabled=self.half and self.device.type == "cuda"):
            out = self.model(x)[-1]
        fields = {"heatmaps": out.heatmaps, "pafs": out.pafs}
        if out.offsets is not None:
            fields["offsets"] = out.offsets
        return {k: v.float().cpu().numpy() for k, v in fields.items()}

    def close(self) -> None:
        self._pinned = None
        if self.device.type == "cuda":
            torch.cuda.empty_cache()
