"""OpenVINO backend for the CPU: ``.onnx`` exports and ``.xml`` IRs (our INT8 model among them).

The model is compiled once per input shape (a video has one) and kept in a small
cache; the thread count and the precision hint are passed to the CPU plugin.
SSA-Pose's model info travels in the IR's runtime info (key ``ssapose``), as it
does in the ONNX metadata.
"""
from __future__ import annotations

import os
from collections import OrderedDict

import numpy as np

from engines.base import INPUT_NAME, Backend, ModelInfo, check_fields

#: How to get OpenVINO, for the error a user sees without it.
INSTALL_HINT = "pip install 'ssapose[openvino]' (or: pip install openvino)"
#: Compiled shapes kept per backend (an evaluation sees many image sizes, a video one).
CACHE_SIZE = 8


def import_openvino():
    """The ``openvino`` module, or an ImportError that says how to install it."""
    try:
        import openvino
    except ImportError as e:
        raise ImportError(f"the OpenVINO backend needs the openvino package: {INSTALL_HINT}") from e
    return openvino


def read_ir_info(model) -> ModelInfo:
    """The SSA-Pose model info stored in an OpenVINO model's runtime info."""
    if not model.has_rt_info(["ssapose"]):
        raise ValueError("this OpenVINO model has no SSA-Pose metadata (it is not an `ssapose export` model); "
                         "for Open Model Zoo's human-pose-estimation-0001 run `ssapose import-ir` first")
    return ModelInfo.from_json(model.get_rt_info(["ssapose"]).astype(str))


def check_ir_weights(xml: str, weights: str) -> None:
    """Raise ValueError naming ``weights`` if it is shorter than the constants of ``xml`` need."""
    import xml.etree.ElementTree as ET

    try:
        root = ET.parse(xml).getroot()
    except ET.ParseError as e:
        raise ValueError(f"{xml} is not a readable OpenVINO IR (corrupt or truncated XML: {e})") from None
    need = max((int(d.get("offset", 0)) + int(d.get("size", 0)) for d in root.iter("data")
                if d.get("offset") is not None), default=0)
    have = os.path.getsize(weights)
    if have < need:
        raise ValueError(f"the IR's weights file {weights} is truncated: {have} bytes, {xml} needs {need}")


def _reason(e: Exception) -> str:
    """The telling line of an OpenVINO error (its first lines are C++ source locations)."""
    lines = [ln.strip() for ln in str(e).splitlines() if ln.strip()]
    told = [ln for ln in lines if not ln.startswith(("Exception from", "Check "))]
    return (told or lines or [type(e).__name__])[-1]


def read_model(path: str):
    """``(openvino model, ModelInfo)`` of a ``.xml`` (with its ``.bin``) or ``.onnx`` file.

    Raises:
        FileNotFoundError, or ValueError with a one-line reason for a bad or truncated file.
    """
    ov = import_openvino()
    if not os.path.isfile(path):
        raise FileNotFoundError(f"model file not found: {path}")
    if path.lower().endswith(".xml"):
        weights = os.path.splitext(path)[0] + ".bin"
        if not os.path.isfile(weights):
            raise FileNotFoundError(f"the IR's weights file is missing: {weights}")
        check_ir_weights(path, weights)
    try:
        model = ov.Core().read_model(path)
    except Exception as e:          # OpenVINO raises RuntimeError with a multi-line C++ trace
        raise ValueError(f"OpenVINO cannot read {path} (corrupt or truncated?): {_reason(e)}") from e
    if path.lower().endswith(".onnx"):
        from engines.onnx_backend import read_info
        return model, read_info(path)
    return model, read_ir_info(model)


class OpenVINOBackend(Backend):
    """Args:
        path: ``.xml`` IR or ``.onnx``.
        threads: CPU inference threads (None: OpenVINO's choice).
        precision: the CPU plugin's ``INFERENCE_PRECISION_HINT`` for non-quantized layers
            (``"f32"``, ``"bf16"``; None: the plugin's default). An INT8 IR runs its
            quantized layers in INT8 whatever the hint.
        device: an OpenVINO device name (default ``"CPU"``).
    """

    name = "openvino"

    def __init__(self, path: str, threads: int | None = None, precision: str | None = None, device: str = "CPU"):
        ov = import_openvino()
        model, info = read_model(path)
        super().__init__(info)
        self.core, self.model, self.device = ov.Core(), model, device
        self.config = {"PERFORMANCE_HINT": "LATENCY", "NUM_STREAMS": "1"}
        if threads:
            self.config["INFERENCE_NUM_THREADS"] = str(threads)
        if precision:
            self.config["INFERENCE_PRECISION_HINT"] = precision
        self.outputs = {o.get_any_name(): i for i, o in enumerate(model.outputs)}
        missing = [n for n in info.outputs if n not in self.outputs]
        if missing:
            raise ValueError(f"{path} lacks the outputs {missing} (has {sorted(self.outputs)})")
        self.quantized = any(op.get_type_name() == "FakeQuantize" for op in model.get_ops())
        self._compiled: OrderedDict = OrderedDict()
        self._feed = INPUT_NAME if INPUT_NAME in model.inputs[0].get_names() else 0
        # the hint asked for, else the plugin's default (no model needs compiling to know it)
        self.precision = precision or self.core.get_property(device, "INFERENCE_PRECISION_HINT")

    def _request(self, shape: tuple[int, ...]):
        """``(compiled model, infer request)`` for one input shape, compiled on first use."""
        if shape in self._compiled:
            self._compiled.move_to_end(shape)
            return self._compiled[shape]
        model = self.model.clone()
        model.reshape({model.inputs[0]: list(shape)})
        compiled = self.core.compile_model(model, self.device, self.config)
        self._compiled[shape] = (compiled, compiled.create_infer_request())
        if len(self._compiled) > CACHE_SIZE:
            self._compiled.popitem(last=False)
        return self._compiled[shape]

    @property
    def precision_label(self) -> str:
        """E.g. ``"int8+f32"`` for a quantized IR whose other layers run in f32."""
        p = str(self.precision).lower().replace("<type: '", "").replace("'>", "")
        p = {"float32": "f32", "bfloat16": "bf16", "float16": "f16"}.get(p, p)
        return f"int8+{p}" if self.quantized else p

    def infer(self, batch: np.ndarray) -> dict[str, np.ndarray]:
        x = np.ascontiguousarray(batch, np.float32)
        _, request = self._request(tuple(x.shape))
        request.infer({self._feed: x})
        fields = {n: request.get_output_tensor(self.outputs[n]).data.copy() for n in self.info.outputs}
        check_fields(fields, self.info)
        return fields

    def close(self) -> None:
        self._compiled.clear()
