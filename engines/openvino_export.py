"""INT8 for OpenVINO: post-training quantization of an exported ONNX model with NNCF.

Calibration uses images that are never evaluated on: coco_mini train2017 and
frames of the demo clip (see ``calibration_frames``). The result is an IR
(``.xml`` + ``.bin``) that carries SSA-Pose's model info in its runtime info,
so ``create_backend`` opens it like any other model file.
"""
from __future__ import annotations

import os
from pathlib import Path

import cv2
import numpy as np

from engines.openvino_backend import import_openvino
from ssapose.model_card import DEFAULT_INPUT_HEIGHT

#: Layers kept in floating point: the ones NNCF's accuracy control reverted to keep AP on coco_mini
#: train2017 within 0.003 (benchmarks/int8_scope.py; BENCHMARKS.md).
KEEP_FLOAT: tuple[str, ...] = ("Mconv7_stage2_L2", "Mconv7_stage2_L2_offsets", "conv2_1_dw")


def advanced_parameters(**changes):
    """NNCF's ``AdvancedQuantizationParameters`` of our INT8 build, with ``changes`` (its fields) applied.

    Activation ranges are the minimum and maximum over all calibration frames, not NNCF's default mean of
    per-frame extremes: that mean clipped the CPM and refinement-stage activations of most images (72 of the 80
    train2017 images, up to 2.8x the range), which lowered people's scores (docs/history.md, INT8: activation ranges).
    """
    from nncf.quantization.advanced_parameters import AdvancedQuantizationParameters
    from nncf.quantization.range_estimator import RangeEstimatorParametersSet

    return AdvancedQuantizationParameters(**{"activations_range_estimator_params": RangeEstimatorParametersSet.MINMAX,
                                             **changes})


def calibration_frames(images: list[str], video: str | None = None, video_frames: int = 20) -> list[np.ndarray]:
    """BGR frames for calibration: every image in ``images`` and ``video_frames`` frames spread over ``video``."""
    from ssapose.sources import read_frames

    frames = []
    for p in images:
        img = cv2.imread(str(p), cv2.IMREAD_COLOR)
        if img is None:
            raise FileNotFoundError(f"cannot read image {p}")
        frames.append(img)
    if video and video_frames:
        clip = read_frames(video)
        frames += [clip[i] for i in np.linspace(0, len(clip) - 1, video_frames).astype(int)]
    return frames


def quantize_openvino(onnx_path: str, out_xml: str, frames: list[np.ndarray], size: int = DEFAULT_INPUT_HEIGHT,
                      keep_float: tuple[str, ...] = KEEP_FLOAT, fast_bias_correction: bool = True,
                      nncf_options: dict | None = None) -> Path:
    """Quantize ``onnx_path`` to INT8 with NNCF (mixed preset: symmetric weights, asymmetric
    activations over their full calibration range, see ``advanced_parameters``), calibrated on ``frames``
    preprocessed at input height ``size``; write ``out_xml``.

    Args:
        keep_float: layers (state-dict keys of the network, e.g. ``Mconv7_stage2_L2``) left in
            floating point; every other convolution, the offset heads included, runs in INT8.
        fast_bias_correction: NNCF's fast bias correction (else the slower full one).
        nncf_options: more keyword arguments of ``nncf.quantize`` (``preset``, ``target_device``,
            ``advanced_parameters``: build it with ``advanced_parameters(...)`` to keep our ranges), replacing
            these defaults.
    """
    ov = import_openvino()
    try:
        import nncf
    except ImportError as e:
        raise ImportError("INT8 for OpenVINO needs NNCF: pip install nncf") from e
    from engines.onnx_backend import read_info
    from ssapose.preprocess import prepare

    if not frames:
        raise ValueError("INT8 calibration needs at least one frame")
    info = read_info(onnx_path)
    inputs = [prepare(f, size, info.config.preprocess)[0] for f in frames]
    model = ov.convert_model(onnx_path)
    ignored = nncf.IgnoredScope(patterns=[f".*/{k}/.*" for k in keep_float], validate=False)
    options = dict(preset=nncf.QuantizationPreset.MIXED, subset_size=len(inputs),
                   fast_bias_correction=fast_bias_correction, ignored_scope=ignored,
                   advanced_parameters=advanced_parameters()) | (nncf_options or {})
    quantized = nncf.quantize(model, nncf.Dataset(inputs), **options)
    quantized.set_rt_info(info.to_json(), ["ssapose"])
    out = Path(out_xml)
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_name(f".{out.stem}.partial.xml")        # the pair appears at its name only when whole
    try:
        ov.save_model(quantized, str(tmp), compress_to_fp16=False)
        os.replace(tmp.with_suffix(".bin"), out.with_suffix(".bin"))
        os.replace(tmp, out)
    finally:
        for p in (tmp, tmp.with_suffix(".bin")):
            p.unlink(missing_ok=True)
    return out
