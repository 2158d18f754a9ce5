"""Which layers INT8 must leave in floating point: NNCF's accuracy control, judged on coco_mini train2017.

Usage: python benchmarks/int8_scope.py [--onnx models/lwop.onnx] [--max-drop 0.003] [--out runs/int8-acc.xml]

NNCF quantizes every layer, then reverts the layers whose quantization costs the
most train2017 AP until the drop is at most --max-drop. The layers it reverts
are what ``engines.openvino_export.KEEP_FLOAT`` lists, so that ``ssapose export
--int8`` reproduces the choice without the search (about 2.5 min here). The
evaluation sets are never looked at; the script prints their AP afterwards.
Activation ranges are the shipped build's (``advanced_parameters``); KEEP_FLOAT was chosen
with NNCF's default ranges, before they changed, and not searched again.
"""
from __future__ import annotations

import tempfile
from pathlib import Path

import cv2

import benchlib

from engines.evaluate import evaluate_model
from engines.onnx_backend import read_info
from engines.openvino_export import advanced_parameters, calibration_frames
from ssapose import paths
from ssapose.coco import evaluate, load_coco
from ssapose.inference import decode_fields
from ssapose.preprocess import prepare


def main() -> None:
    import nncf
    import openvino as ov

    ap = benchlib.parser(__doc__)
    ap.add_argument("--onnx", default=str(paths.DEFAULT_ONNX))
    ap.add_argument("--max-drop", type=float, default=0.003)
    ap.add_argument("--size", type=int, default=368)
    ap.add_argument("--out", default="runs/int8-acc.xml", help="the IR it writes (default: %(default)s)")
    ap.add_argument("--calibration", type=int, default=20, help="calibration frames (default: %(default)s)")
    args = benchlib.parse(ap, size=128, calibration=2, max_drop=1.0, out=str(Path(tempfile.mkdtemp()) / "q.xml"))
    info = read_info(args.onnx)
    pre = info.config.preprocess
    frames = calibration_frames([str(p) for p in paths.calibration_images()], str(paths.demo_video()), args.calibration)
    calib = [prepare(f, args.size, pre)[0] for f in frames]
    train = paths.coco_set(benchlib.coco_sets(args, ["train"])[0])
    coco = load_coco(str(train.ann))
    ids = sorted(coco.getImgIds())
    images = {i: cv2.imread(str(train.images / coco.imgs[i]["file_name"])) for i in ids}

    def train_ap(compiled, image_ids) -> float:
        outs = {o.get_any_name(): o for o in compiled.outputs}
        results = []
        for i in image_ids:
            x, box = prepare(images[i], args.size, pre)
            r = compiled({0: x})
            fields = {k: r[outs[k]] for k in info.outputs}
            results += decode_fields(fields, info.stride, box).to_coco_results(i)
        return evaluate(coco, results, ids)["AP"]

    q = nncf.quantize_with_accuracy_control(
        ov.convert_model(args.onnx), nncf.Dataset(calib), nncf.Dataset(ids), validation_fn=train_ap,
        max_drop=args.max_drop, drop_type=nncf.DropType.ABSOLUTE, preset=nncf.QuantizationPreset.MIXED,
        subset_size=len(calib), advanced_quantization_parameters=advanced_parameters())
    q.set_rt_info(info.to_json(), ["ssapose"])
    ov.save_model(q, args.out, compress_to_fp16=False)
    print(f"wrote {args.out}; the layers NNCF kept in floating point are listed above")
    rows = []
    for name in benchlib.coco_sets(args, ("train", "val", "tiny")):
        cs = paths.coco_set(name)
        rows.append((cs.name, evaluate_model(args.out, str(cs.ann), str(cs.images), args.size)[0]["AP"]))
    benchlib.table(["set", f"AP of {Path(args.out).name} at height {args.size}"], rows)


if __name__ == "__main__":
    main()
