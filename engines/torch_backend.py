"""PyTorch backend: the reference. CPU or CUDA; fp16 and channels_last on CUDA."""
from __future__ import annotations

import numpy as np
import torch

from engines.base import Backend, ModelInfo
from ssapose.models import load_checkpoint


class TorchBackend(Backend):
    name = "torch"

    def __init__(self, path: str, device: str = "cpu", half: bool | None = None, threads: int | None = None):
        model, config, _ = load_checkpoint(path)
        super().__init__(ModelInfo(config))
        if device.startswith("cuda") and not torch.cuda.is_available():
            raise RuntimeError("CUDA was asked for, but torch sees no CUDA device")
        if threads:
            torch.set_num_threads(threads)
        self.device = torch.device(device)
        self.half = (self.device.type == "cuda") if half is None else half
        model = model.to(self.device)
        if self.device.type == "cuda":
            model = model.to(memory_format=torch.channels_last)
        self.model = model.half() if self.half else model

    @torch.inference_mode()
    def infer(self, batch: np.ndarray) -> dict[str, np.ndarray]:
        x = torch.from_numpy(np.ascontiguousarray(batch, np.float32)).to(self.device)
        if self.device.type == "cuda":
            x = x.to(memory_format=torch.channels_last)
        out = self.model(x.half() if self.half else x)[-1]
        fields = {"heatmaps": out.heatmaps, "pafs": out.pafs}
        if out.offsets is not None:
            fields["offsets"] = out.offsets
        return {k: v.float().cpu().numpy() for k, v in fields.items()}
