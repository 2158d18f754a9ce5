"""Subcommands of ``ssapose`` that run models: eval, export, engine build, benchmark."""
from __future__ import annotations

import json
import sys
from pathlib import Path

from ssapose import paths
from ssapose.coco import format_stats
from ssapose.decode import REFINEMENTS, DecoderConfig

DEFAULT_MODEL = str(paths.DEFAULT_MODEL)
DEFAULT_ANN = str(paths.shared("data", "coco_mini", "annotations", "person_keypoints_val2017.json",
                               must_exist=False))


def calibration_default() -> list[str]:
    """coco_mini train2017 images from the shared folder (never an evaluation set)."""
    return [str(p) for p in paths.calibration_images()]


def add_commands(sub) -> None:
    p = sub.add_parser("import-ir", help="turn Open Model Zoo's Lightweight OpenPose IR into an lwop checkpoint",
                       description="Read human-pose-estimation-0001 (OpenVINO IR, 8-bit weights) with our own "
                                   "reader, dequantize its weights, put its channels in SSA-Pose's order and "
                                   "write a checkpoint, adding the RIE offset heads trained by SSA-Pose. "
                                   "`make` runs this into models/lwop.pt.")
    p.add_argument("xml", nargs="?", default=str(paths.lwop_ir(must_exist=False)),
                   help="the IR's .xml, the .bin beside it (default: the one in the shared folder)")
    p.add_argument("--out", default=str(paths.DEFAULT_MODEL), help="checkpoint to write (default: %(default)s)")
    p.add_argument("--offsets", default=str(paths.OFFSET_HEADS) if paths.OFFSET_HEADS.exists() else None,
                   help="trained offset heads to add (default: %(default)s; without it the offsets are zero)")
    p.set_defaults(func=run_import_ir)

    p = sub.add_parser("eval", help="COCO keypoint AP of a model, or of the encoding itself (--oracle)",
                       description="Score poses with pycocotools' COCOeval. --oracle encodes each image's ground "
                                   "truth into targets and decodes it again (no network): the ceiling of the "
                                   "encoding and decoder. Otherwise the model runs on the images.")
    p.add_argument("--oracle", action="store_true", help="evaluate encode -> decode of the ground truth")
    p.add_argument("--ann", default=DEFAULT_ANN, help="COCO keypoint annotation file (default: %(default)s)")
    p.add_argument("--images", help="image folder (default: beside the annotation file, or its COCO split folder "
                                    "such as ../val2017)")
    p.add_argument("--model", default=DEFAULT_MODEL, help="model file .pt/.onnx/.engine (default: bundled)")
    p.add_argument("--backend", default="auto", choices=("auto", "torch", "onnx", "tensorrt"))
    p.add_argument("--input-size", type=int, default=368, help="network input size in pixels (default: 368)")
    p.add_argument("--stride", type=int, default=8, choices=(4, 8, 16, 32), help="oracle stride (default: 8)")
    p.add_argument("--no-offsets", action="store_true",
                   help="oracle only: decode by upsampling instead of the encoded offsets")
    p.add_argument("--refine", choices=REFINEMENTS, default=DecoderConfig.refine,
                   help="sub-cell refinement of the peaks: fit (log-parabola on the heatmap), offsets (RIE, Eq. 8), "
                        "fit+offsets (learned residual on the fit), upsample (OpenPose), none (default: %(default)s)")
    p.add_argument("--paf-method", choices=("count", "mean"), default=DecoderConfig.paf_method,
                   help="limb score: OpenPose's mean projection or the paper's aligned-sample count "
                        "(default: %(default)s)")
    p.add_argument("--matching", choices=("greedy", "hungarian"), default="greedy", help="per-limb matching")
    p.add_argument("--out", help="write the figures and the results as JSON here")
    p.set_defaults(func=run_eval)

    p = sub.add_parser("export", help="export a checkpoint to ONNX (optionally INT8 for the CPU)",
                       description="Write an ONNX model with named outputs (heatmaps, pafs, offsets), dynamic "
                                   "height and width and opset 17, then check it against PyTorch on real images.")
    p.add_argument("model", help="checkpoint .pt")
    p.add_argument("--out", required=True, help="output .onnx")
    p.add_argument("--int8", action="store_true", help="also write a statically quantised INT8 model (OUT with .int8.onnx)")
    p.add_argument("--calibration", nargs="*", default=None,
                   help="images for parity and INT8 calibration (default: coco_mini train2017 from the shared folder)")
    p.add_argument("--input-size", type=int, default=368)
    p.set_defaults(func=run_export)

    p = sub.add_parser("engine", help="TensorRT engines", description="Build TensorRT engines (NVIDIA GPU).")
    esub = p.add_subparsers(dest="engine_command", metavar="ACTION")
    b = esub.add_parser("build", help="build an FP16 TensorRT engine from an exported ONNX file")
    b.add_argument("onnx")
    b.add_argument("--out", required=True, help="output .engine")
    b.add_argument("--fp16", action="store_true", help="allow FP16 kernels")
    b.add_argument("--min", default="128", help="smallest input, HxW or SIZE (default: 128)")
    b.add_argument("--opt", default="368", help="input size to tune for (default: 368)")
    b.add_argument("--max", default="736", help="largest input (default: 736)")
    b.add_argument("--workspace", type=float, default=2.0, help="builder workspace in GiB (default: 2)")
    b.add_argument("--timing-cache", help="timing cache file (default: OUT.timing)")
    b.set_defaults(func=run_engine_build)

    p = sub.add_parser("benchmark", help="per-stage latency and FPS of a model",
                       description="Median and p90 ms of preprocess, inference, decode and overlay, and FPS, "
                                   "after warm-up runs.")
    p.add_argument("--model", default=DEFAULT_MODEL, help="model file (default: bundled)")
    p.add_argument("--backend", default="auto", choices=("auto", "torch", "onnx", "tensorrt"))
    p.add_argument("--device", default="cpu", help="torch device (cpu, cuda)")
    p.add_argument("--threads", type=int, help="CPU threads for inference")
    p.add_argument("--input-size", type=int, default=368)
    p.add_argument("--video", help="frames from this video/GIF/folder (default: the bundled COCO images)")
    p.add_argument("--warmup", type=int, default=5)
    p.add_argument("--frames", type=int, default=50, help="timed frames (default: 50)")
    p.add_argument("--json", help="write the result as JSON here")
    p.set_defaults(func=run_benchmark)


def run_import_ir(args) -> int:
    from ssapose.models.lwop_weights import build_checkpoint

    if not Path(args.xml).is_file():
        paths.lwop_ir()   # names the shared folder when the default is missing
        raise FileNotFoundError(f"IR file not found: {args.xml}")
    info = build_checkpoint(args.xml, args.out, args.offsets)
    print(f"wrote {args.out}: Lightweight OpenPose from {Path(args.xml).name} ({info['layers']} convolutions, "
          f"{info['parameters'] / 1e6:.2f} M parameters), offset heads: {info['offset_heads']}")
    return 0


def run_eval(args) -> int:
    ann = args.ann
    if args.oracle:
        from ssapose.oracle import oracle_eval
        from ssapose.targets import TargetConfig

        dec = DecoderConfig(min_parts=1, min_score=0.0, paf_method=args.paf_method, matching=args.matching)
        res = oracle_eval(ann, TargetConfig(stride=args.stride), dec, use_offsets=not args.no_offsets,
                          progress=sys.stderr.isatty())
        mode = "upsampling" if args.no_offsets else "offsets"
        title = f"oracle {Path(ann).name}, stride {args.stride}, {mode}, {res.n_images} images"
        stats, results = res.stats, res.results
    else:
        from engines.evaluate import evaluate_model

        dec = DecoderConfig(refine=args.refine, paf_method=args.paf_method, matching=args.matching)
        stats, results = evaluate_model(args.model, ann, args.images, args.input_size,
                                        backend=args.backend, decoder=dec, progress=sys.stderr.isatty())
        title = f"{Path(args.model).name} on {Path(ann).name}, input {args.input_size}"
    print(format_stats(stats, title))
    if args.out:
        Path(args.out).write_text(json.dumps({"stats": stats, "annotations": ann, "results": results}, indent=1))
    return 0


def run_export(args) -> int:
    from engines.export import export_onnx, parity, quantize_int8

    args.calibration = args.calibration or calibration_default()
    info = export_onnx(args.model, args.out, args.input_size)
    diff = parity(args.model, args.out, args.calibration, args.input_size)
    print(f"wrote {args.out} (outputs {', '.join(info.outputs)}, stride {info.stride}); "
          f"max |torch - onnxruntime| = {diff:.2e} on {len(args.calibration)} real images")
    if diff > 1e-4:
        print(f"ssapose export: error: parity check failed ({diff:.2e} > 1e-4)", file=sys.stderr)
        return 1
    if args.int8:
        out8 = str(Path(args.out).with_suffix("")) + ".int8.onnx"
        quantize_int8(args.out, out8, args.calibration, args.input_size)
        print(f"wrote {out8} (INT8, calibrated on {len(args.calibration)} images)")
    return 0


def run_engine_build(args) -> int:
    if not getattr(args, "onnx", None):
        print("usage: ssapose engine build MODEL.onnx --out MODEL.engine [--fp16]", file=sys.stderr)
        return 2
    from engines.tensorrt_backend import ShapeRange, build_engine

    shapes = ShapeRange(ShapeRange.parse(args.min), ShapeRange.parse(args.opt), ShapeRange.parse(args.max))
    path = build_engine(args.onnx, args.out, shapes, fp16=args.fp16, workspace_gib=args.workspace,
                        timing_cache=args.timing_cache)
    print(f"wrote {path} and {path}.json")
    return 0


def run_benchmark(args) -> int:
    from engines.benchmark import benchmark, dump, format_result
    from ssapose.sources import read_frames

    frames = read_frames(args.video, limit=max(args.frames, 1)) if args.video else \
        [f for p in calibration_default()[:8] for f in read_frames(p)]
    r = benchmark(args.model, frames, args.input_size, args.backend, args.device, args.threads,
                  warmup=args.warmup, repeat=args.frames, progress=sys.stderr.isatty())
    print(format_result(r))
    if args.json:
        dump(r, args.json)
    return 0
