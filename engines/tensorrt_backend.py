"""TensorRT 10 and 11 backend and engine builder (FP16, dynamic height/width, timing cache).

Runtime uses the named-tensor API only: ``num_io_tensors``, ``get_tensor_name``,
``get_tensor_mode``, ``set_input_shape``, ``set_tensor_address`` and
``execute_async_v3`` on a torch CUDA stream, with torch CUDA tensors as buffers.
Each engine has a JSON sidecar (``model.engine.json``) with the TensorRT version,
the GPU and the model info; a mismatch is reported with the command to rebuild.
"""
from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from engines.base import INPUT_NAME, Backend, ModelInfo, check_fields
from ssapose.model_card import DEFAULT_INPUT_HEIGHT


def _wide(height: int, multiple: int = 8) -> int:
    """The width of 16:9 video at ``height``, rounded up to ``multiple`` (368 -> 656)."""
    return -(-round(height * 16 / 9) // multiple) * multiple


def import_tensorrt():
    """Import tensorrt (>= 10) or raise ImportError with the reason."""
    try:
        import tensorrt as trt
    except ImportError as e:
        raise ImportError("TensorRT is not installed (pip install 'ssapose[tensorrt]' on a machine with "
                          f"an NVIDIA GPU): {e}") from e
    if int(trt.__version__.split(".")[0]) < 10:
        raise ImportError(f"TensorRT {trt.__version__} is too old: the named-tensor API needs TensorRT 10 or later")
    return trt


def sidecar_path(engine_path: str | Path) -> Path:
    return Path(str(engine_path) + ".json")


@dataclass(frozen=True)
class ShapeRange:
    """Optimisation profile for the input, ``(height, width)`` in pixels for min, opt and max (the one
    definition: ``ssapose engine build`` takes its defaults from here)."""

    min: tuple[int, int] = (32, 32)
    opt: tuple[int, int] = (DEFAULT_INPUT_HEIGHT, _wide(DEFAULT_INPUT_HEIGHT))    # 16:9 video at the default height
    max: tuple[int, int] = (1088, 1920)

    def covers(self, height: int, width: int) -> bool:
        return self.min[0] <= height <= self.max[0] and self.min[1] <= width <= self.max[1]

    @staticmethod
    def parse(text: str) -> tuple[int, int]:
        """``"368x640"`` (height x width) or ``"368"`` -> ``(368, 640)`` / ``(368, 368)``."""
        parts = text.lower().split("x")
        if len(parts) not in (1, 2) or not all(p.isdigit() for p in parts):
            raise ValueError(f"expected HEIGHTxWIDTH or SIZE, got {text!r}")
        h = int(parts[0])
        return h, int(parts[-1])

    @staticmethod
    def format(shape: tuple[int, int]) -> str:
        return f"{shape[0]}x{shape[1]}"

    def describe(self) -> str:
        return " .. ".join(self.format(s) for s in (self.min, self.opt, self.max))


def trt_major(trt) -> int:
    return int(str(trt.__version__).split(".")[0])


def network_flags(trt, strongly_typed: bool) -> int:
    """``create_network`` flags. TensorRT 11 types every network strongly (its flag is deprecated and
    ignored); TensorRT 10 needs ``STRONGLY_TYPED`` asked for."""
    if strongly_typed and trt_major(trt) < 11:
        return 1 << int(trt.NetworkDefinitionCreationFlag.STRONGLY_TYPED)
    return 0


def require_cuda_torch():
    """torch with CUDA, which provides TensorRT's buffers and stream; checked before any long build."""
    import torch

    if not torch.cuda.is_available():
        build = "a CPU-only build" if torch.version.cuda is None else f"CUDA {torch.version.cuda}, but no GPU is visible"
        raise RuntimeError(f"TensorRT needs a CUDA build of torch and a GPU; this torch {torch.__version__} is {build}. "
                           "Install a CUDA torch, e.g. pip install torch --index-url "
                           "https://download.pytorch.org/whl/cu128 (see README: GPU set-up)")
    return torch


def load_timing_cache(trt, config, cache_file: Path):
    """The timing cache from ``cache_file``, or an empty one when the file is missing or was made by
    another GPU or TensorRT version (``set_timing_cache`` refuses those). Returns ``(cache, reused)``."""
    data = cache_file.read_bytes() if cache_file.is_file() else b""
    cache = config.create_timing_cache(data)
    if cache is not None and config.set_timing_cache(cache, False):
        return cache, bool(data)
    cache = config.create_timing_cache(b"")
    if not config.set_timing_cache(cache, False):
        raise RuntimeError("TensorRT refused even an empty timing cache")
    return cache, False


def build_engine(onnx_path: str, out: str, shapes: ShapeRange = ShapeRange(), fp16: bool = True,
                 workspace_gib: float = 2.0, timing_cache: str | None = None) -> Path:
    """Parse an exported ONNX file and serialise a TensorRT engine plus its JSON sidecar.

    FP16 is built the same way on TensorRT 10 and 11: the ONNX is converted to FP16 (FP32 I/O,
    ``engines.onnx_fp16``) and the network is strongly typed, since 11.x has no FP16 builder flag.
    """
    trt = import_tensorrt()
    torch = require_cuda_torch()
    from engines.onnx_backend import read_info
    from engines.onnx_fp16 import convert_to_fp16

    info = read_info(onnx_path)
    source = onnx_path
    if fp16:
        source = str(out) + ".fp16.onnx"
        convert_to_fp16(onnx_path, source)
    logger = trt.Logger(trt.Logger.WARNING)
    builder = trt.Builder(logger)
    network = builder.create_network(network_flags(trt, strongly_typed=fp16))
    parser = trt.OnnxParser(network, logger)
    try:
        ok = parser.parse(Path(source).read_bytes())
    finally:
        if fp16:
            Path(source).unlink(missing_ok=True)
    if not ok:
        errors = "; ".join(str(parser.get_error(i)) for i in range(parser.num_errors))
        raise ValueError(f"TensorRT cannot parse {onnx_path}: {errors}")
    config = builder.create_builder_config()
    config.set_memory_pool_limit(trt.MemoryPoolType.WORKSPACE, int(workspace_gib * (1 << 30)))
    profile = builder.create_optimization_profile()
    profile.set_shape(INPUT_NAME, (1, 3, *shapes.min), (1, 3, *shapes.opt), (1, 3, *shapes.max))
    config.add_optimization_profile(profile)
    cache_file = Path(timing_cache or str(out) + ".timing")
    load_timing_cache(trt, config, cache_file)
    serialized = builder.build_serialized_network(network, config)
    if serialized is None:
        raise RuntimeError("TensorRT failed to build the engine (see the log above)")
    Path(out).write_bytes(bytes(serialized))
    sidecar_path(out).write_text(json.dumps({
        "tensorrt": trt.__version__, "gpu": torch.cuda.get_device_name(0),
        "compute_capability": list(torch.cuda.get_device_capability(0)), "fp16": fp16,
        "shapes": {"min": shapes.min, "opt": shapes.opt, "max": shapes.max},
        "model": json.loads(info.to_json())}, indent=1))
    cache = config.get_timing_cache()
    if cache is not None:                    # only a nicety: never fail after the engine is written
        cache_file.write_bytes(bytes(cache.serialize()))
    return Path(out)


def check_sidecar(engine_path: str, trt_version: str, gpu: str) -> ModelInfo:
    """Read the sidecar and refuse an engine built by another TensorRT or on another GPU."""
    side = sidecar_path(engine_path)
    if not side.is_file():
        raise ValueError(f"{side} is missing: rebuild the engine with `ssapose engine build MODEL.onnx "
                         f"--out {engine_path}` (FP16 by default)")
    meta = json.loads(side.read_text())
    rebuild = f"rebuild it here with `ssapose engine build MODEL.onnx --out {engine_path}` (FP16 by default)"
    if meta.get("tensorrt") != trt_version:
        raise ValueError(f"{engine_path} was built by TensorRT {meta.get('tensorrt')}, this is {trt_version}: {rebuild}")
    if meta.get("gpu") != gpu:
        raise ValueError(f"{engine_path} was built on {meta.get('gpu')}, this GPU is {gpu}: {rebuild}")
    return ModelInfo.from_json(json.dumps(meta["model"]))


class TensorRTBackend(Backend):
    """Runs a serialised engine with the named-tensor API (TensorRT 10 and 11; no bindings).

    Inputs are copied through a pinned host buffer on the backend's own CUDA stream, and
    the outputs come back the same way; buffers are reused while the input shape stays.
    """

    name = "tensorrt"

    @property
    def precision(self) -> str:
        return "f16" if self._fp16 else "f32"

    def __init__(self, path: str):
        trt = import_tensorrt()
        torch = require_cuda_torch()
        if not os.path.isfile(path):
            raise FileNotFoundError(f"engine file not found: {path}")
        super().__init__(check_sidecar(path, trt.__version__, torch.cuda.get_device_name(0)))
        meta = json.loads(sidecar_path(path).read_text())
        self.shapes = ShapeRange(*(tuple(meta.get("shapes", {}).get(k, d)) for k, d in
                                   (("min", ShapeRange.min), ("opt", ShapeRange.opt), ("max", ShapeRange.max))))
        self._fp16 = bool(meta.get("fp16", True))
        self.torch = torch
        self.logger = trt.Logger(trt.Logger.WARNING)
        self.runtime = trt.Runtime(self.logger)
        self.engine = self.runtime.deserialize_cuda_engine(Path(path).read_bytes())
        if self.engine is None:
            raise ValueError(f"TensorRT could not deserialize {path} (corrupt, or built by another version): "
                             "rebuild it with `ssapose engine build`")
        self.context = self.engine.create_execution_context()
        self.stream = torch.cuda.Stream()
        dtypes = {trt.DataType.FLOAT: torch.float32, trt.DataType.HALF: torch.float16}
        self.inputs, self.outputs = [], []
        for i in range(self.engine.num_io_tensors):
            name = self.engine.get_tensor_name(i)
            kind = self.inputs if self.engine.get_tensor_mode(name) == trt.TensorIOMode.INPUT else self.outputs
            kind.append((name, dtypes[self.engine.get_tensor_dtype(name)]))
        if [n for n, _ in self.inputs] != [INPUT_NAME]:
            raise ValueError(f"engine inputs {self.inputs} are not [{INPUT_NAME!r}]")
        self._shape = None
        self._buffers: dict = {}

    def _bind(self, shape: tuple[int, ...]) -> None:
        """Set the input shape and (re)allocate device and pinned host buffers for it."""
        torch = self.torch
        name, dtype = self.inputs[0]
        if not self.context.set_input_shape(name, shape):
            raise ValueError(f"input {shape[2]}x{shape[3]} (HxW) is outside the engine's optimisation profile "
                             f"{self.shapes.describe()}: rebuild it with `ssapose engine build MODEL.onnx --out "
                             "ENGINE --min HxW --max HxW` covering this size, or change --input-size")
        self._buffers = {name: (torch.empty(shape, dtype=dtype, device="cuda"),
                                torch.empty(shape, dtype=torch.float32, pin_memory=True))}
        for out_name, out_dtype in self.outputs:
            out_shape = tuple(self.context.get_tensor_shape(out_name))
            self._buffers[out_name] = (torch.empty(out_shape, dtype=out_dtype, device="cuda"),
                                       torch.empty(out_shape, dtype=torch.float32, pin_memory=True))
        for n, (dev, _) in self._buffers.items():
            self.context.set_tensor_address(n, dev.data_ptr())
        self._shape = shape

    def infer(self, batch) -> dict[str, np.ndarray]:
        torch = self.torch
        x = np.ascontiguousarray(batch, np.float32)
        if tuple(x.shape) != self._shape:
            self._bind(tuple(x.shape))
        name = self.inputs[0][0]
        dev_in, host_in = self._buffers[name]
        host_in.numpy()[...] = x
        with torch.cuda.stream(self.stream):
            dev_in.copy_(host_in, non_blocking=True)          # casts to FP16 if the engine's input is
            if not self.context.execute_async_v3(self.stream.cuda_stream):
                raise RuntimeError("TensorRT execution failed")
            for out_name, _ in self.outputs:
                dev, host = self._buffers[out_name]
                host.copy_(dev, non_blocking=True)
        self.stream.synchronize()
        fields = {k: self._buffers[k][1].numpy().copy() for k, _ in self.outputs}
        check_fields(fields, self.info)
        return fields

    def close(self) -> None:
        """Free the buffers, the context and the engine (in that order)."""
        self._buffers.clear()
        self._shape = None
        for attr in ("context", "engine", "runtime"):
            if hasattr(self, attr):
                delattr(self, attr)
