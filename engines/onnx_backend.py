"""ONNX Runtime backend: CPU provider with a settable thread count; CUDA provider when installed."""
from __future__ import annotations

import os

import numpy as np

from engines.base import INPUT_NAME, Backend, ModelInfo, check_fields


def read_info(path: str) -> ModelInfo:
    """The model info stored in an exported ONNX file's metadata (key ``ssapose``)."""
    import onnx

    try:
        model = onnx.load(path, load_external_data=False)
    except Exception as e:
        raise ValueError(f"{path} is not a readable ONNX model (corrupt or truncated?): {e}") from e
    check_external_data(model, path)
    meta = {p.key: p.value for p in model.metadata_props}
    if "ssapose" not in meta:
        raise ValueError(f"{path} has no SSA-Pose metadata; export it with `ssapose export`")
    return ModelInfo.from_json(meta["ssapose"])


def check_external_data(model, path: str) -> None:
    """Refuse an ONNX file whose tensors read external data from outside its own folder
    (an absolute path, ``..``, or a link that leads out): a model file must not read other files."""
    from onnx import TensorProto

    folder = os.path.realpath(os.path.dirname(os.path.abspath(path)))
    for t in model.graph.initializer:
        if t.data_location != TensorProto.EXTERNAL:
            continue
        location = next((e.value for e in t.external_data if e.key == "location"), "")
        target = os.path.realpath(os.path.join(folder, location))
        if os.path.isabs(location) or os.path.commonpath([folder, target]) != folder:
            raise ValueError(f"{path}: tensor {t.name!r} reads external data from {location!r}, outside the "
                             "model's folder; refused")


class OnnxBackend(Backend):
    name = "onnx"

    def __init__(self, path: str, threads: int | None = None, providers: list[str] | None = None):
        import onnxruntime as ort

        if not os.path.isfile(path):
            raise FileNotFoundError(f"model file not found: {path}")
        super().__init__(read_info(path))
        opts = ort.SessionOptions()
        if threads:
            opts.intra_op_num_threads = threads
            opts.inter_op_num_threads = 1
        opts.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
        available = ort.get_available_providers()
        if providers is None:
            providers = [p for p in ("CUDAExecutionProvider", "CPUExecutionProvider") if p in available]
        try:
            self.session = ort.InferenceSession(path, opts, providers=providers)
        except Exception as e:
            raise ValueError(f"ONNX Runtime cannot load {path}: {e}") from e
        self.outputs = [o.name for o in self.session.get_outputs()]
        self.providers = self.session.get_providers()

    def infer(self, batch: np.ndarray) -> dict[str, np.ndarray]:
        res = self.session.run(self.outputs, {INPUT_NAME: np.ascontiguousarray(batch, np.float32)})
        fields = dict(zip(self.outputs, res))
        check_fields(fields, self.info)
        return fields
