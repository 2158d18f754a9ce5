"""Inference engines behind one interface (:class:`engines.base.Backend`).

``create_backend(path)`` picks the implementation from the file: ``.pt`` -> PyTorch,
``.onnx`` -> ONNX Runtime, ``.engine``/``.plan`` -> TensorRT.
"""
from __future__ import annotations

from pathlib import Path

from engines.base import Backend, ModelInfo

SUFFIXES = {".pt": "torch", ".pth": "torch", ".onnx": "onnx", ".engine": "tensorrt", ".plan": "tensorrt"}


def backend_kind(path: str, kind: str = "auto") -> str:
    if kind != "auto":
        return kind
    suffix = Path(path).suffix.lower()
    if suffix not in SUFFIXES:
        raise ValueError(f"cannot tell the backend of {path!r} from its suffix; use one of {sorted(SUFFIXES)} "
                         "or name the backend")
    return SUFFIXES[suffix]


def create_backend(path: str, kind: str = "auto", device: str = "cpu", threads: int | None = None) -> Backend:
    """Open a model file with the backend its suffix (or ``kind``) names."""
    kind = backend_kind(path, kind)
    if kind == "torch":
        from engines.torch_backend import TorchBackend
        return TorchBackend(path, device=device, threads=threads)
    if kind == "onnx":
        from engines.onnx_backend import OnnxBackend
        return OnnxBackend(path, threads=threads)
    if kind == "tensorrt":
        from engines.tensorrt_backend import TensorRTBackend
        return TensorRTBackend(path)
    raise ValueError(f"unknown backend {kind!r}; use auto, torch, onnx or tensorrt")


__all__ = ["Backend", "ModelInfo", "create_backend", "backend_kind"]
