"""Is resizing cheaper inside the OpenVINO graph? The letterbox done by OpenCV (area) against the same resize and
pad as the first layers of the INT8 IR (PrePostProcessor custom step: Interpolate + Pad), one request.

    python benchmarks/preprocess_in_graph.py [--mode bilinear_pillow|linear] [--frames 120] [--rounds 3]

Prints the fields' largest difference between the two on the first frame, then per round the ms per frame of
letterbox + network (outside) and of the network that resizes itself (inside), on the demo clip.
"""
from __future__ import annotations

import argparse
import sys
import time


import numpy as np

from engines.openvino_backend import import_openvino, read_model, uint8_model
from ssapose import paths
from ssapose.preprocess import letterbox
from ssapose.sources import read_frames


def resizing_model(model, pre, frame_hw: tuple[int, int], resized_hw: tuple[int, int], padded_hw: tuple[int, int],
                   mode: str):
    """``model`` taking the ``(1, H, W, 3) uint8`` BGR frame itself: resized to ``resized_hw`` by ``mode``,
    padded to ``padded_hw`` with the checkpoint's pad value, then normalised, all in the graph."""
    import openvino as ov
    import openvino.opset13 as ops
    from openvino.preprocess import PrePostProcessor

    m = model.clone()
    m.reshape({m.inputs[0]: [1, 3, *padded_hw]})
    ppp = PrePostProcessor(m)
    ppp.input().tensor().set_element_type(ov.Type.u8).set_layout(ov.Layout("NHWC")).set_shape([1, *frame_hw, 3])
    ppp.input().model().set_layout(ov.Layout("NCHW"))
    steps = ppp.input().preprocess().convert_element_type(ov.Type.f32)
    (nh, nw), (ph, pw) = resized_hw, padded_hw

    def resize_pad(node):
        r = ops.interpolate(node, ops.constant(np.array([nh, nw], np.int64)), mode=mode,
                            shape_calculation_mode="sizes", axes=ops.constant(np.array([1, 2], np.int64)))
        return ops.pad(r, ops.constant(np.zeros(4, np.int64)), ops.constant(np.array([0, ph - nh, pw - nw, 0])),
                       "constant", ops.constant(np.float32(pre.pad_value))).output(0)

    steps.custom(resize_pad)
    if pre.rgb:
        steps.reverse_channels()
    steps.mean([255.0 * v for v in pre.mean]).scale([255.0 * v for v in pre.std])
    return ppp.build()


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--mode", default="bilinear_pillow", choices=("bilinear_pillow", "linear"))
    ap.add_argument("--frames", type=int, default=120)
    ap.add_argument("--rounds", type=int, default=3)
    args = ap.parse_args()
    ov = import_openvino()
    model, info = read_model(str(paths.DEFAULT_MODEL))
    pre = info.config.preprocess
    frames = list(read_frames(str(paths.demo_video()), args.frames))
    h, w = frames[0].shape[:2]
    canvas, box = letterbox(frames[0], 368, pre)
    resized = (round(h * box.scale), round(w * box.scale))
    core, cfg = ov.Core(), {"PERFORMANCE_HINT": "LATENCY"}
    outside = uint8_model(model, pre)
    outside.reshape({outside.inputs[0]: [1, *canvas.shape[:2], 3]})
    out_req = core.compile_model(outside, "CPU", cfg).create_infer_request()
    inside = resizing_model(model, pre, (h, w), resized, canvas.shape[:2], args.mode)
    in_req = core.compile_model(inside, "CPU", cfg).create_infer_request()
    a = next(iter(out_req.infer([canvas[None]]).values()))
    b = next(iter(in_req.infer([frames[0][None]]).values()))
    print(f"{w}x{h} -> {resized[1]}x{resized[0]} padded to {canvas.shape[1]}x{canvas.shape[0]}, {args.mode}; "
          f"fields differ by at most {float(np.abs(a - b).max()):.4f}")
    for _ in range(args.rounds):
        t0 = time.perf_counter()
        for f in frames:
            out_req.infer([letterbox(f, 368, pre)[0][None]])
        t1 = time.perf_counter()
        for f in frames:
            in_req.infer([f[None]])
        t2 = time.perf_counter()
        print(f"outside (OpenCV area + network): {(t1 - t0) / len(frames) * 1e3:.1f} ms/frame; "
              f"inside: {(t2 - t1) / len(frames) * 1e3:.1f} ms/frame")
    return 0


if __name__ == "__main__":
    sys.exit(main())
