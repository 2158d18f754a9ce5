"""OpenVINO backend for the CPU: ``.onnx`` exports and ``.xml`` IRs (our INT8 model among them).

The model is compiled once per input shape (a video has one) and kept in a small
cache; the thread count and the precision hint are passed to the CPU plugin.
SSA-Pose's model info travels in the IR's runtime info (key ``ssapose``), as it
does in the ONNX metadata.
"""
from __future__ import annotations

import os
import threading
from collections import OrderedDict

import numpy as np

from engines.base import INPUT_NAME, Backend, ModelInfo, check_fields

#: How to get OpenVINO, for the error a user sees without it.
INSTALL_HINT = "pip install 'ssapose[openvino]' (or: pip install openvino)"
#: Compiled shapes kept per backend (an evaluation sees many image sizes; a video one, or a few with --roi).
CACHE_SIZE = 16


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


def uint8_model(model, pre):
    """``model`` with its input as ``(N, H, W, 3) uint8`` BGR and the checkpoint's normalisation
    (``(x / 255 - mean) / std``, channels reversed for RGB models) as the first layers of the graph,
    so that no float copy of the frame is made in Python (OpenVINO's PrePostProcessor)."""
    import openvino as ov
    from openvino.preprocess import PrePostProcessor

    ppp = PrePostProcessor(model.clone())              # it edits the model it is given
    ppp.input().tensor().set_element_type(ov.Type.u8).set_layout(ov.Layout("NHWC"))
    ppp.input().model().set_layout(ov.Layout("NCHW"))
    steps = ppp.input().preprocess().convert_element_type(ov.Type.f32)
    if pre.rgb:
        steps.reverse_channels()
    steps.mean([255.0 * m for m in pre.mean]).scale([255.0 * s for s in pre.std])
    return ppp.build()


class OpenVINOBackend(Backend):
    """Args:
        path: ``.xml`` IR or ``.onnx``.
        threads: CPU inference threads (None: OpenVINO's choice).
        precision: the CPU plugin's ``INFERENCE_PRECISION_HINT`` for non-quantized layers
            (``"f32"``, ``"bf16"``; None: the plugin's default). An INT8 IR runs its
            quantized layers in INT8 whatever the hint.
        device: an OpenVINO device name (default ``"CPU"``).
        streams: inference requests that may run at once (OpenVINO CPU streams, THROUGHPUT hint when
            above 1); ``infer`` may then be called from that many threads at a time, each thread with its
            own request. 1: one request, LATENCY hint.
    """

    name = "openvino"

    def __init__(self, path: str, threads: int | None = None, precision: str | None = None, device: str = "CPU",
                 streams: int = 1):
        ov = import_openvino()
        model, info = read_model(path)
        super().__init__(info)
        self.core, self.model, self.device, self.streams = ov.Core(), model, device, max(1, streams)
        self.config = {"PERFORMANCE_HINT": "THROUGHPUT" if self.streams > 1 else "LATENCY",
                       "NUM_STREAMS": str(self.streams)}
        if threads:
            self.config["INFERENCE_NUM_THREADS"] = str(threads)
        if precision:
            self.config["INFERENCE_PRECISION_HINT"] = precision
        self.outputs = {o.get_any_name(): i for i, o in enumerate(model.outputs)}
        missing = [n for n in info.outputs if n not in self.outputs]
        if missing:
            raise ValueError(f"{path} lacks the outputs {missing} (has {sorted(self.outputs)})")
        self.quantized = any(op.get_type_name() == "FakeQuantize" for op in model.get_ops())
        self._compiled: OrderedDict = OrderedDict()         # input shape -> compiled model
        self._requests: dict = {}                            # (shape, thread) -> its infer request
        self._lock = threading.Lock()                        # the caches
        self._io_lock = threading.Lock()                     # request tensors touched from Python
        self._ov = ov
        self._feed = INPUT_NAME if INPUT_NAME in model.inputs[0].get_names() else 0
        # the hint asked for, else the plugin's default (no model needs compiling to know it)
        self.hint = precision or self.core.get_property(device, "INFERENCE_PRECISION_HINT")
        self.model_u8 = uint8_model(model, info.config.preprocess)    # normalisation inside the graph
        self.takes_uint8 = True

    def _request(self, shape: tuple[int, ...]):
        """The calling thread's infer request for one input shape (the model compiled on first use): a
        ``(1, H, W, 3)`` shape runs the uint8 model that normalises in the graph, ``(1, 3, H, W)`` the float one."""
        key = (shape, threading.get_ident())
        with self._lock:
            if shape in self._compiled:
                self._compiled.move_to_end(shape)
            else:
                model = (self.model_u8 if shape[-1] == 3 else self.model).clone()
                model.reshape({model.inputs[0]: list(shape)})
                self._compiled[shape] = self.core.compile_model(model, self.device, self.config)
                if len(self._compiled) > CACHE_SIZE:
                    gone, _ = self._compiled.popitem(last=False)
                    self._requests = {k: r for k, r in self._requests.items() if k[0] != gone}
            if key not in self._requests:
                self._requests[key] = self._compiled[shape].create_infer_request()
            return self._requests[key]

    @property
    def precision(self) -> str:
        """E.g. ``"int8+f32"`` for a quantized IR whose other layers run in f32."""
        p = str(self.hint).lower().replace("<type: '", "").replace("'>", "")
        p = {"float32": "f32", "bfloat16": "bf16", "float16": "f16"}.get(p, p)
        return f"int8+{p}" if self.quantized else p

    def infer(self, batch: np.ndarray) -> dict[str, np.ndarray]:
        """``(1, 3, H, W) float32`` normalised input, or ``(1, H, W, 3) uint8`` BGR (normalised in the graph)."""
        x = np.ascontiguousarray(batch, np.uint8 if batch.dtype == np.uint8 else np.float32)
        request = self._request(tuple(x.shape))
        # Tensors are set and read under one lock: two threads touching request tensors from Python at once
        # deadlocked now and then (seen: both stuck in the input copy). The inference itself runs unlocked,
        # in parallel on its own stream.
        with self._io_lock:
            request.set_input_tensor(self._ov.Tensor(x))          # a copy: x may be reused by the caller
        request.infer()
        with self._io_lock:
            fields = {n: request.get_output_tensor(self.outputs[n]).data.copy() for n in self.info.outputs}
        check_fields(fields, self.info)
        return fields

    def close(self) -> None:
        self._requests.clear()
        self._compiled.clear()
