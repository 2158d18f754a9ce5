"""Export a checkpoint to ONNX (named outputs, dynamic H/W, fixed opset), check parity,
and quantise it to INT8 for the CPU (static, calibrated on real images)."""
from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import torch

from engines.base import INPUT_NAME, ModelInfo
from ssapose.models import load_checkpoint
from ssapose.preprocess import prepare
from ssapose.model_card import DEFAULT_INPUT_HEIGHT

OPSET = 17


class _Fields(torch.nn.Module):
    """The last stage's fields as a tuple; the training-only KL subnet is not part of the model."""

    def __init__(self, model):
        super().__init__()
        self.model = model

    def forward(self, x):
        out = self.model(x)[-1]
        return tuple(t for t in out if t is not None)


def export_onnx(checkpoint: str, out: str, size: int = DEFAULT_INPUT_HEIGHT) -> ModelInfo:
    """Write ``out`` (ONNX) with inputs ``image (1, 3, H, W)`` and outputs heatmaps, pafs[, offsets].

    The model info (config, stride, layout) goes into the file's metadata under ``ssapose``.
    """
    import onnx

    model, config, _ = load_checkpoint(checkpoint)
    info = ModelInfo(config)
    x = torch.zeros(1, 3, size, size)
    dyn = {INPUT_NAME: {2: "height", 3: "width"}}
    dyn.update({n: {2: "out_height", 3: "out_width"} for n in info.outputs})
    Path(out).parent.mkdir(parents=True, exist_ok=True)
    torch.onnx.export(_Fields(model).eval(), (x,), out, input_names=[INPUT_NAME], output_names=list(info.outputs),
                      dynamic_axes=dyn, opset_version=OPSET, dynamo=False)
    m = onnx.load(out)
    entry = m.metadata_props.add()
    entry.key, entry.value = "ssapose", info.to_json()
    onnx.save(m, out)
    return info


def calibration_inputs(images: list[str], size: int, info: ModelInfo) -> list[np.ndarray]:
    """Preprocessed ``(1, 3, h, w)`` inputs of real images, for parity checks and calibration."""
    out = []
    for p in images:
        img = cv2.imread(str(p), cv2.IMREAD_COLOR)
        if img is None:
            raise FileNotFoundError(f"cannot read image {p}")
        out.append(prepare(img, size, info.config.preprocess)[0])
    return out


def parity(checkpoint: str, onnx_path: str, images: list[str], size: int = DEFAULT_INPUT_HEIGHT) -> float:
    """Max absolute difference between PyTorch and ONNX Runtime outputs over real images."""
    from engines.onnx_backend import OnnxBackend
    from engines.torch_backend import TorchBackend

    ref, ort = TorchBackend(checkpoint), OnnxBackend(onnx_path)
    worst = 0.0
    for x in calibration_inputs(images, size, ref.info):
        a, b = ref.infer(x), ort.infer(x)
        worst = max(worst, max(float(np.abs(a[k] - b[k]).max()) for k in a))
    return worst


def quantize_int8(onnx_path: str, out: str, images: list[str], size: int = DEFAULT_INPUT_HEIGHT) -> None:
    """Static INT8 quantisation (QDQ, per-channel weights) calibrated on real images."""
    from onnxruntime.quantization import CalibrationDataReader, QuantFormat, QuantType, quantize_static
    from onnxruntime.quantization.shape_inference import quant_pre_process

    from engines.onnx_backend import read_info

    info = read_info(onnx_path)
    inputs = calibration_inputs(images, size, info)
    if not inputs:
        raise ValueError("INT8 calibration needs at least one image")

    class Reader(CalibrationDataReader):
        def __init__(self):
            self.it = iter(inputs)

        def get_next(self):
            x = next(self.it, None)
            return None if x is None else {INPUT_NAME: x}

    pre = str(out) + ".pre.onnx"
    try:
        quant_pre_process(onnx_path, pre, skip_symbolic_shape=True)
        quantize_static(pre, out, Reader(), quant_format=QuantFormat.QDQ, per_channel=True,
                        activation_type=QuantType.QUInt8, weight_type=QuantType.QInt8)
    finally:
        Path(pre).unlink(missing_ok=True)
    import onnx

    m = onnx.load(out)
    if not any(p.key == "ssapose" for p in m.metadata_props):
        entry = m.metadata_props.add()
        entry.key, entry.value = "ssapose", info.to_json()
        onnx.save(m, out)
