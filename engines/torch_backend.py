"""PyTorch backend: the reference. CPU, or CUDA with FP16 autocast and channels_last."""
from __future__ import annotations

import numpy as np
import torch

from engines.base import Backend, ModelInfo
from ssapose.models import load_checkpoint

#: CUDA graphs kept per backend, one per input shape.
GRAPH_CACHE = 8


def half_except_norms(model: torch.nn.Module) -> torch.nn.Module:
    """``model`` in FP16 with its BatchNorm layers kept in FP32."""
    model.half()
    for m in model.modules():
        if isinstance(m, torch.nn.modules.batchnorm._BatchNorm):
            m.float()
    return model


class TorchBackend(Backend):
    """Args:
        path: a checkpoint (``.pt``).
        device: ``cpu``, ``cuda`` or ``cuda:N``.
        half: FP16 on CUDA (default: on): weights and activations in FP16, except BatchNorm,
            whose statistics and affine parameters stay FP32 (cuDNN takes FP16 input with FP32
            parameters). Faster than autocast, which re-casts the weights on every call.
        threads: CPU threads (``torch.set_num_threads``).
        cuda_graphs: on CUDA, capture the forward pass once per input shape and replay it, which
            removes the per-layer launch overhead that dominates a small network at batch 1.
    """

    name = "torch"

    @property
    def precision(self) -> str:
        return "f16" if self.dtype == torch.float16 else "f32"

    def __init__(self, path: str, device: str = "cpu", half: bool | None = None, threads: int | None = None,
                 cuda_graphs: bool = True):
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
            if self.half:
                model = half_except_norms(model)
        self.model = model
        self.dtype = torch.float16 if self.half and self.device.type == "cuda" else torch.float32
        self._pinned: torch.Tensor | None = None
        self.cuda_graphs = cuda_graphs and self.device.type == "cuda"
        self._graphs: dict = {}

    def _to_device(self, batch: np.ndarray) -> torch.Tensor:
        x = torch.from_numpy(np.ascontiguousarray(batch, np.float32))
        if self.device.type != "cuda":
            return x
        if self._pinned is None or self._pinned.shape != x.shape:
            self._pinned = torch.empty(x.shape, dtype=torch.float32, pin_memory=True)
        self._pinned.copy_(x)
        return self._pinned.to(self.device, non_blocking=True).contiguous(memory_format=torch.channels_last)

    def _forward(self, x: torch.Tensor) -> dict[str, torch.Tensor]:
        out = self.model(x.to(self.dtype))[-1]
        fields = {"heatmaps": out.heatmaps, "pafs": out.pafs}
        if out.offsets is not None:
            fields["offsets"] = out.offsets
        return {k: v.float() for k, v in fields.items()}

    def _replay(self, x: torch.Tensor) -> dict[str, torch.Tensor]:
        """The forward pass as a CUDA graph, captured on the first input of each shape."""
        shape = tuple(x.shape)
        if shape not in self._graphs:
            static_in = x.clone()
            side = torch.cuda.Stream()
            side.wait_stream(torch.cuda.current_stream())
            with torch.cuda.stream(side):
                for _ in range(3):                      # warm-up (cudnn autotuning) off the capture
                    self._forward(static_in)
            torch.cuda.current_stream().wait_stream(side)
            graph = torch.cuda.CUDAGraph()
            with torch.cuda.graph(graph):
                static_out = self._forward(static_in)
            self._graphs[shape] = (graph, static_in, static_out)
            if len(self._graphs) > GRAPH_CACHE:               # an evaluation sees many sizes, a video one
                self._graphs.pop(next(iter(self._graphs)))
        graph, static_in, static_out = self._graphs[shape]
        static_in.copy_(x)
        graph.replay()
        return static_out

    @torch.inference_mode()
    def infer(self, batch: np.ndarray) -> dict[str, np.ndarray]:
        x = self._to_device(batch)
        fields = self._replay(x) if self.cuda_graphs else self._forward(x)
        return {k: v.cpu().numpy() for k, v in fields.items()}

    def close(self) -> None:
        self._pinned = None
        self._graphs.clear()
        if self.device.type == "cuda":
            torch.cuda.empty_cache()
