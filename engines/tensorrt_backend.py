"""TensorRT 10+ backend and engine builder (FP16, dynamic height/width, timing cache).

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
    """Optimisation profile for the input, ``(height, width)`` in pixels for min, opt and max."""

    min: tuple[int, int] = (128, 128)
    opt: tuple[int, int] = (368, 368)
    max: tuple[int, int] = (736, 736)

    @staticmethod
    def parse(text: str) -> tuple[int, int]:
        """``"368x640"`` (height x width) or ``"368"`` -> ``(368, 640)`` / ``(368, 368)``."""
        parts = text.lower().split("x")
        if len(parts) not in (1, 2) or not all(p.isdigit() for p in parts):
            raise ValueError(f"expected HEIGHTxWIDTH or SIZE, got {text!r}")
        h = int(parts[0])
        return h, int(parts[-1])

    def describe(self) -> str:
        return " .. ".join(f"{h}x{w}" for h, w in (self.min, self.opt, self.max))


def build_engine(onnx_path: str, out: str, shapes: ShapeRange = ShapeRange(), fp16: bool = True,
                 workspace_gib: float = 2.0, timing_cache: str | None = None) -> Path:
    """Parse an exported ONNX file and serialise a TensorRT engine plus its JSON sidecar."""
    trt = import_tensorrt()
    import torch

    from engines.onnx_backend import read_info

    info = read_info(onnx_path)
    logger = trt.Logger(trt.Logger.WARNING)
    builder = trt.Builder(logger)
    network = builder.create_network(0)          # TensorRT 10: networks are explicit-batch by default
    parser = trt.OnnxParser(network, logger)
    if not parser.parse(Path(onnx_path).read_bytes()):
        errors = "; ".join(str(parser.get_error(i)) for i in range(parser.num_errors))
        raise ValueError(f"TensorRT cannot parse {onnx_path}: {errors}")
    config = builder.create_builder_config()
    config.set_memory_pool_limit(trt.MemoryPoolType.WORKSPACE, int(workspace_gib * (1 << 30)))
    if fp16:
        if not builder.platform_has_fast_fp16:
            raise ValueError("this GPU has no fast FP16; build without --fp16")
        config.set_flag(trt.BuilderFlag.FP16)
    profile = builder.create_optimization_profile()
    profile.set_shape(INPUT_NAME, (1, 3, *shapes.min), (1, 3, *shapes.opt), (1, 3, *shapes.max))
    config.add_optimization_profile(profile)
    cache_file = Path(timing_cache or str(out) + ".timing")
    cache = config.create_timing_cache(cache_file.read_bytes() if cache_file.is_file() else b"")
    config.set_timing_cache(cache, False)
    serialized = builder.build_serialized_network(network, config)
    if serialized is None:
        raise RuntimeError("TensorRT failed to build the engine (see the log above)")
    Path(out).write_bytes(bytes(serialized))
    cache_file.write_bytes(bytes(config.get_timing_cache().serialize()))
    sidecar_path(out).write_text(json.dumps({
        "tensorrt": trt.__version__, "gpu": torch.cuda.get_device_name(0),
        "compute_capability": list(torch.cuda.get_device_capability(0)), "fp16": fp16,
        "shapes": {"min": shapes.min, "opt": shapes.opt, "max": shapes.max},
        "model": json.loads(info.to_json())}, indent=1))
    return Path(out)


def check_sidecar(engine_path: str, trt_version: str, gpu: str) -> ModelInfo:
    """Read the sidecar and refuse an engine built by another TensorRT or on another GPU."""
    side = sidecar_path(engine_path)
    if not side.is_file():
        raise ValueError(f"{side} is missing: rebuild the engine with `ssapose engine build MODEL.onnx --out {engine_path}`")
    meta = json.loads(side.read_text())
    rebuild = f"rebuild it here with `ssapose engine build MODEL.onnx --fp16 --out {engine_path}`"
    if meta.get("tensorrt") != trt_version:
        raise ValueError(f"{engine_path} was built by TensorRT {meta.get('tensorrt')}, this is {trt_version}: {rebuild}")
    if meta.get("gpu") != gpu:
        raise ValueError(f"{engine_path} was built on {meta.get('gpu')}, this GPU is {gpu}: {rebuild}")
    return ModelInfo.from_json(json.dumps(meta["model"]))


class TensorRTBackend(Backend):
    name = "tensorrt"

    def __init__(self, path: str):
        trt = import_tensorrt()
        import torch

        if not torch.cuda.is_available():
            raise RuntimeError("TensorRT needs a CUDA GPU, and torch sees none")
        if not os.path.isfile(path):
            raise FileNotFoundError(f"engine file not found: {path}")
        super().__init__(check_sidecar(path, trt.__version__, torch.cuda.get_device_name(0)))
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

    def infer(self, batch) -> dict[str, np.ndarray]:
        torch = self.torch
        name, dtype = self.inputs[0]
        x = batch if isinstance(batch, torch.Tensor) else torch.from_numpy(np.ascontiguousarray(batch, np.float32))
        x = x.to("cuda", dtype).contiguous()
        self.context.set_input_shape(name, tuple(x.shape))
        self.context.set_tensor_address(name, x.data_ptr())
        buffers = {}
        for out_name, out_dtype in self.outputs:
            shape = tuple(self.context.get_tensor_shape(out_name))
            buffers[out_name] = torch.empty(shape, dtype=out_dtype, device="cuda")
            self.context.set_tensor_address(out_name, buffers[out_name].data_ptr())
        self.stream.wait_stream(torch.cuda.current_stream())
        if not self.context.execute_async_v3(self.stream.cuda_stream):
            raise RuntimeError("TensorRT execution failed")
        self.stream.synchronize()
        fields = {k: v.float().cpu().numpy() for k, v in buffers.items()}
        check_fields(fields, self.info)
        return fields
