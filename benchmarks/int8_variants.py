"""INT8 builds that differ from the shipped one in one NNCF option: AP, network time and agreement with fp32.

Usage: python benchmarks/int8_variants.py [--onnx models/lwop.onnx] [--only NAME ...] [--out runs/int8-variants]

Each variant is built by ``engines.openvino_export.quantize_openvino`` from the same ONNX and the same
calibration frames as ``ssapose export --int8`` (80 train2017 images, 20 demo-clip frames) unless it says
otherwise, then measured on this machine:

* AP at height 368 on coco_mini train2017 (where a choice is made), val2017 and coco_tiny (reported);
* network time: one request on all cores at 368, the median of 7 rounds of 10 demo-clip frames, the variants
  alternating within each round, as a multiple of the shipped build's in the same run;
* agreement with fp32 (the ONNX in ONNX Runtime) on data never evaluated on, every 4th demo-clip frame and the
  train2017 images: each fp32 pose (keypoints above 0.3) matched greedily to an INT8 pose by OKS; the mean OKS,
  an unmatched pose on either side counting 0.

About 4 min per variant on a 2-core machine; the whole table about an hour. BENCHMARKS.md, INT8, shows it.
"""
from __future__ import annotations

import argparse
import time
from pathlib import Path

import cv2
import numpy as np

ROOT = Path(__file__).resolve().parents[1]

from engines import create_backend
from engines.evaluate import evaluate_model
from engines.openvino_export import (KEEP_FLOAT, advanced_parameters, calibration_frames,
                                     quantize_openvino)
from engines.run.step import FrameStep, Timings
from ssapose import paths
from ssapose.coco import oks_matrix
from ssapose.decode.limbs import match_pairs
from ssapose.sources import read_frames

SIZE = 368


def variants() -> dict[str, dict]:
    """Name -> ``quantize_openvino`` keyword arguments (and ``video_frames`` for the calibration)."""
    import nncf
    from nncf.quantization.range_estimator import RangeEstimatorParametersSet as Ranges

    return {
        "shipped": {},
        "mean ranges (NNCF's default; shipped until 2026-12-03)": {"nncf_options": {
            "advanced_parameters": advanced_parameters(activations_range_estimator_params=Ranges.MEAN_MINMAX)}},
        "histogram ranges": {"nncf_options": {
            "advanced_parameters": advanced_parameters(activations_range_estimator_params=Ranges.HISTOGRAM)}},
        "mean-quantile ranges": {"nncf_options": {
            "advanced_parameters": advanced_parameters(activations_range_estimator_params=Ranges.MEAN_QUANTILE)}},
        "full bias correction": {"fast_bias_correction": False},
        "performance preset": {"nncf_options": {"preset": nncf.QuantizationPreset.PERFORMANCE}},
        "300 calibration frames": {"video_frames": 220},
        "PAF output in float": {"keep_float": KEEP_FLOAT + ("Mconv7_stage2_L1",)},
        "CPM and stage 1 in float": {"keep_float": KEEP_FLOAT + ("conv[45]_[0-9]_CPM[^/]*",)},
        "refinement stage in float": {"keep_float": KEEP_FLOAT + ("Mconv[^/]*",)},
        "target_device=CPU": {"nncf_options": {"target_device": nncf.TargetDevice.CPU}},
        "channel alignment": {"nncf_options": {"advanced_parameters": advanced_parameters(
            disable_channel_alignment=False)}},
        "overflow fix on every layer": {"nncf_options": {"advanced_parameters": advanced_parameters(
            overflow_fix=nncf.OverflowFix.ENABLE)}},
        "overflow fix off": {"nncf_options": {"advanced_parameters": advanced_parameters(
            overflow_fix=nncf.OverflowFix.DISABLE)}},
    }


def build(onnx: str, out: Path, kwargs: dict) -> Path:
    kwargs = dict(kwargs)
    frames = calibration_frames([str(p) for p in paths.calibration_images()], str(paths.demo_video()),
                                kwargs.pop("video_frames", 20))
    return quantize_openvino(onnx, str(out), frames, SIZE, **kwargs)


def network_ms(models: list[str], frame: np.ndarray, rounds: int = 7, per_round: int = 10) -> list[float]:
    """Median ms of one network run of each model, the models alternating within each round."""
    ests = [FrameStep(create_backend(m, "openvino", streams=1), SIZE) for m in models]
    inputs = [est.prepare(frame, Timings())[0] for est in ests]
    times = [[] for _ in models]
    for est, x in zip(ests, inputs):
        est.backend.infer(x)                                   # compile and warm up outside the rounds
    for _ in range(rounds):
        for est, x, ts in zip(ests, inputs, times):
            t0 = time.perf_counter()
            for _ in range(per_round):
                est.backend.infer(x)
            ts.append((time.perf_counter() - t0) / per_round * 1e3)
    for est in ests:
        est.backend.close()
    return [float(np.median(ts)) for ts in times]


def agreement(reference: list, model: str, frames: list[np.ndarray]) -> float:
    """Mean OKS of the fp32 poses ``reference`` (one ``Poses`` per frame) to ``model``'s poses of ``frames``."""
    est = FrameStep(create_backend(model, "openvino", streams=1), SIZE)
    scores = []
    for ref, frame in zip(reference, frames):
        a = ref.keypoints.copy()
        a[..., 2] = a[..., 2] > 0.3
        a = a[a[..., 2].any(1)]
        b = est(frame).keypoints
        oks = oks_matrix(a, b)
        pairs = match_pairs(oks, oks > 0, "greedy")               # the best remaining pair first
        scores += oks[pairs[:, 0], pairs[:, 1]].tolist() + [0.0] * (len(a) + len(b) - 2 * len(pairs))
    est.backend.close()
    return float(np.mean(scores))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--onnx", default=str(paths.DEFAULT_ONNX))
    ap.add_argument("--only", nargs="+", help="variant names (default: all); 'shipped' is always built")
    ap.add_argument("--out", default=str(ROOT / "runs" / "int8-variants"))
    args = ap.parse_args()
    table = variants()
    names = ["shipped"] + [n for n in table if n != "shipped" and (not args.only or n in args.only)]
    out = Path(args.out)
    built = {n: str(build(args.onnx, out / f"{i:02d}.xml", table[n])) for i, n in enumerate(names)}

    clip = read_frames(str(paths.demo_video()))
    frames = clip[::4] + [cv2.imread(str(p)) for p in sorted(paths.coco_set("train").images.glob("*.jpg"))]
    fp32 = FrameStep(create_backend(args.onnx, "onnx"), SIZE)
    reference = [fp32(f) for f in frames]
    fp32.backend.close()
    ms = network_ms(list(built.values()), clip[100])

    print(f"| INT8 build | train2017 | val2017 | coco_tiny | network time (shipped: {ms[0]:.0f} ms) | OKS to fp32 |")
    print("|---|---|---|---|---|---|")
    for (name, model), t in zip(built.items(), ms):
        ap_ = [evaluate_model(model, str(cs.ann), str(cs.images), SIZE)[0]["AP"]
               for cs in map(paths.coco_set, ("train", "val", "tiny"))]
        print(f"| {name} | {ap_[0]:.3f} | {ap_[1]:.3f} | {ap_[2]:.3f} | {t / ms[0]:.2f} | "
              f"{agreement(reference, model, frames):.3f} |", flush=True)


if __name__ == "__main__":
    main()
