"""Inference engines behind one interface (:class:`engines.base.Backend`).

``create_backend(path)`` picks the implementation from the file: ``.pt`` -> PyTorch,
``.xml`` -> OpenVINO, ``.engine``/``.plan`` -> TensorRT, and ``.onnx`` -> on a CPU the
fastest backend installed (OpenVINO, else ONNX Runtime), on a GPU ONNX Runtime.
"""
from __future__ import annotations

import importlib.util
from pathlib import Path

from engines.base import Backend, ModelInfo

SUFFIXES = {".pt": "torch", ".pth": "torch", ".onnx": "onnx", ".xml": "openvino", ".engine": "tensorrt",
            ".plan": "tensorrt"}
BACKENDS = ("auto", "torch", "onnx", "openvino", "tensorrt")
#: The --backend help shared by every command.
BACKEND_HELP = ("inference backend; auto picks by the file: .pt torch, .xml openvino, .engine tensorrt, .onnx "
                "openvino on a CPU when installed, else onnxruntime (default: %(default)s)")


def backend_kind(path: str, kind: str = "auto", device: str = "cpu") -> str:
    """The backend that runs ``path``: ``kind`` if named, else by the file's suffix.

    An ``.onnx`` file on the CPU goes to OpenVINO when it is installed (about as fast as
    ONNX Runtime in fp32 on this project's 2-core machine, see BENCHMARKS.md, and the
    same runtime as the INT8 model), else to ONNX Runtime.
    """
    if kind != "auto":
        if kind not in BACKENDS:
            raise ValueError(f"unknown backend {kind!r}; use one of {', '.join(BACKENDS)}")
        return kind
    suffix = Path(path).suffix.lower()
    if suffix not in SUFFIXES:
        raise ValueError(f"cannot tell the backend of {path!r} from its suffix; use one of {sorted(SUFFIXES)} "
                         "or name the backend")
    if suffix == ".onnx" and device == "cpu" and importlib.util.find_spec("openvino") is not None:
        return "openvino"
    return SUFFIXES[suffix]


def require_torch(what: str) -> None:
    """Raise ImportError saying how to install PyTorch if it is missing (the .xml/.onnx runtime needs none)."""
    if importlib.util.find_spec("torch") is None:
        raise ImportError(f"{what} needs PyTorch: pip install 'ssapose[torch]' (the CPU build: see README, "
                          "set-up notes), or run an .xml / .onnx model, which needs no torch")


def auto_streams(cores: int | None = None) -> int:
    """Inference requests to keep in flight on a CPU of ``cores`` cores (this machine's by default): one per
    core up to 2, then one per 2 cores up to 4 (OpenVINO splits the threads among them)."""
    import os

    cores = cores or os.cpu_count() or 1
    return min(cores, 2) if cores < 4 else min(cores // 2, 4)


def create_backend(path: str, kind: str = "auto", device: str = "cpu", threads: int | None = None,
                   streams: int | None = None) -> Backend:
    """Open a model file with the backend its suffix (or ``kind``) names (see :func:`backend_kind`).

    ``threads``: CPU inference threads in all (None: the backend's choice, all cores); ``streams``: requests
    in flight (None: :func:`auto_streams` for OpenVINO; the other backends run one at a time)."""
    kind = backend_kind(path, kind, device)
    if kind == "torch":
        require_torch(f"the PyTorch backend ({Path(path).name})")
        from engines.torch_backend import TorchBackend
        return TorchBackend(path, device=device, threads=threads)
    if kind == "onnx":
        from engines.onnx_backend import OnnxBackend
        return OnnxBackend(path, threads=threads)
    if kind == "openvino":
        from engines.openvino_backend import OpenVINOBackend
        return OpenVINOBackend(path, threads=threads, streams=streams or auto_streams())
    if kind == "tensorrt":
        from engines.tensorrt_backend import TensorRTBackend
        return TensorRTBackend(path)
    raise ValueError(f"unknown backend {kind!r}; use one of {', '.join(BACKENDS)}")


def load(*args, **kwargs):
    """The Python API's entry point: see :func:`engines.api.load`."""
    from engines.api import load as _load

    return _load(*args, **kwargs)


__all__ = ["Backend", "ModelInfo", "BACKENDS", "BACKEND_HELP", "create_backend", "backend_kind", "load"]
