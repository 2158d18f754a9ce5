"""Subcommands of ``ssapose`` that make and score model files: import-ir, eval, export, engine build."""
from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path

from engines import BACKEND_HELP, BACKENDS, require_torch
from engines.modes import AUTO, MODES, Mode, ScheduleConfig, resolve_view
from engines.run.region import RegionConfig, choose_region
from engines.cli_args import (bounded, fraction, input_size, input_size_or_auto, prepare_output, streams,
                              threads)
from ssapose import paths
from ssapose.coco import format_stats
from ssapose.intervals import DRAWS
from ssapose.decode import REFINEMENTS, DecoderChoice, DecoderConfig
from ssapose.model_card import DEFAULT_INPUT_HEIGHT

DEFAULT_MODEL = str(paths.DEFAULT_MODEL)
DEFAULT_ANN = str(paths.shared("data", "coco_mini", "annotations", "person_keypoints_val2017.json",
                               must_exist=False))
DEFAULT_INPUT_SIZE = DEFAULT_INPUT_HEIGHT


def calibration_default() -> list[str]:
    """coco_mini train2017 images from the shared folder (never an evaluation set)."""
    return [str(p) for p in paths.calibration_images()]


def add_model_args(p, threads_default: int | None = None) -> None:
    """--model, --backend, --device, --input-size, --threads: the same for every command that runs a model."""
    p.add_argument("--model", default=DEFAULT_MODEL,
                   help="model file: .xml (OpenVINO IR), .onnx, .pt or .engine (default: %(default)s, made by `make`)")
    p.add_argument("--backend", default="auto", choices=BACKENDS, help=BACKEND_HELP)
    p.add_argument("--device", default="cpu",
                   help="cpu, or cuda / cuda:N for a .pt model with a CUDA build of torch (default: %(default)s)")
    p.add_argument("--input-size", type=input_size_or_auto, default=None,
                   help="network input height in pixels (default: the --mode's, "
                        f"{DEFAULT_INPUT_HEIGHT}, or {MODES['fast'].height} for fast; a value given wins over the "
                        "mode's); the width follows the frame's aspect ratio, padded to the stride (OpenPose's "
                        "-1xH). Lite models fit the longer side instead. auto: a first pass at "
                        f"{DEFAULT_INPUT_HEIGHT} and, where the smallest person found there is under "
                        f"{AUTO.small_px:g} px tall, a second pass with scales "
                        f"{','.join(f'{s:g}' for s in AUTO.scales)} averaged in (video: decided every "
                        f"{ScheduleConfig().every} frames from the tracked people, with hysteresis)")
    p.add_argument("--threads", type=threads, default=threads_default,
                   help="CPU threads for inference in all: a number, or auto (or 0) for the backend's own choice, "
                        f"all cores (default: {threads_default or 'auto'})")
    p.add_argument("--streams", type=streams, default=None,
                   help="inference requests in flight at once (OpenVINO): a number, or auto: one per core up to "
                        "2, then one per 2 cores up to 4 (default: auto; a live source, such as a camera, gets 1, "
                        "the lowest latency; the other backends run one at a time)")


def add_decoder_args(p, shown: bool = False) -> None:
    """--refine, --paf-method, --matching: the same for every command that decodes. Unset, each follows the
    model's card (a network trained by train.py decodes with its offsets), then ``DecoderConfig``'s default.
    ``shown``: also --shown-score, for the commands whose poses a user sees (not ``eval``: AP counts them all)."""
    d = DecoderConfig()
    g = p.add_argument_group("decoder")
    g.add_argument("--refine", choices=REFINEMENTS, default=None,
                   help="sub-cell refinement of the peaks: fit (log-parabola on the heatmap), offsets (RIE, Eq. 8), "
                        "fit+offsets (learned residual on the fit), upsample (OpenPose), none (default: the model's "
                        f"own, else {d.refine})")
    g.add_argument("--paf-method", choices=("count", "mean"), default=None,
                   help="limb score: OpenPose's mean projection or the paper's aligned-sample count "
                        f"(default: {d.paf_method})")
    g.add_argument("--matching", choices=("greedy", "hungarian"), default=None,
                   help=f"per-limb matching of candidates (default: {d.matching})")
    if shown:
        g.add_argument("--shown-score", type=fraction, default=None, metavar="S",
                       help="lowest person score of a pose drawn and written (a person the tracker follows is "
                            "kept through weak frames); 0 shows every pose the decoder keeps, fragments of 3-4 "
                            f"keypoints too (default: {d.shown_score:g})")


def add_tta_args(p) -> None:
    """--mode, --flip, --scales: test-time augmentation, for the commands that run a model."""
    d = DecoderConfig()
    g = p.add_argument_group("speed or accuracy (test-time augmentation)",
                             f"maps averaged over several views (flipping, scales, --input-size auto's second pass) "
                             f"are decoded with a peak threshold of {d.averaged_peak_threshold:g} and a lowest person "
                             f"score of {d.averaged_min_score:g}, one view's with {d.peak_threshold:g} and "
                             f"{d.min_score:g} (a part or person seen by one view is diluted by the others)")
    g.add_argument("--mode", choices=tuple(MODES), default="default",
                   help=f"fast: height {MODES['fast'].height}; default: one pass; accurate: "
                        f"{MODES['accurate'].describe()} (AP and cost of each: BENCHMARKS.md) (default: %(default)s)")
    g.add_argument("--flip", action="store_true",
                   help="test-time flipping: also run the mirrored frame and average its maps, mirrored back "
                        "(left/right swapped); 2x the network's cost")
    g.add_argument("--scales", type=scale_list, default=None, metavar="S,S,...",
                   help="input heights relative to --input-size whose heatmaps and PAFs are averaged on the grid of "
                        "the largest, e.g. 0.5,1,1.5,2 (the paper's testing; must include 1); cost: the sum of the "
                        "squares")


def add_region_arg(p) -> None:
    """--roi: region-of-interest inference, for the commands that run video (``engines.run.region``)."""
    d = RegionConfig()
    p.add_argument("--roi", action=argparse.BooleanOptionalAction, default=None,
                   help=f"run the network only on the part of the frame where people were in the last frames "
                        f"(their boxes widened by {d.margin:g} of a person's height on each side; at "
                        f"{d.low_scale:g} of the input height where everyone is at least {d.large_px:g} pixels "
                        f"tall), the full frame at least every {d.scan_s:g} s and whenever someone is lost; a "
                        f"frame after frames with nobody costs nothing. A person who enters is found within "
                        f"{d.scan_s:g} s. On by default where the network sees one view at one height (not with "
                        f"--scales, --mode accurate or --input-size auto); --no-roi runs every frame whole")


def region_choice(args) -> RegionConfig | None:
    """The region-of-interest settings of ``--roi`` / ``--no-roi`` (``engines.run.region.choose_region``), or None
    (every frame whole)."""
    view = tta_choice(args)
    return choose_region(getattr(args, "roi", None), view.scales, view.auto)


def scale_list(text: str) -> tuple[float, ...]:
    """``"1,1.5"`` -> ``(1.0, 1.5)``; positive numbers including 1."""
    try:
        scales = tuple(float(v) for v in text.split(","))
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a comma-separated list of numbers, e.g. 1,1.5")
    if 1.0 not in scales or any(not 0 < s <= 4 for s in scales):
        raise argparse.ArgumentTypeError(f"scales {text!r}: each in (0, 4], and 1 among them")
    return scales


def tta_choice(args) -> Mode:
    """How the network sees a frame, from --mode, --input-size, --flip and --scales: ``engines.modes.resolve_view``
    (a flag given explicitly wins over the mode)."""
    return resolve_view(getattr(args, "mode", "default"), args.input_size, True if getattr(args, "flip", False)
                        else None, getattr(args, "scales", None))


def decoder_choice(args) -> DecoderChoice:
    """The decoder flags of :func:`add_decoder_args` (None where not given)."""
    return DecoderChoice(refine=args.refine, paf_method=args.paf_method, matching=args.matching,
                         shown_score=getattr(args, "shown_score", None))


def add_commands(sub) -> None:
    p = sub.add_parser("import-ir", help="turn Open Model Zoo's Lightweight OpenPose IR into an lwop checkpoint",
                       description="Read human-pose-estimation-0001 (OpenVINO IR, 8-bit weights) with our own "
                                   "reader, dequantize its weights, put its channels in SSA-Pose's order and "
                                   "write a checkpoint, adding the RIE offset heads trained by SSA-Pose. "
                                   "`make` runs this into models/lwop.pt.")
    p.add_argument("xml", nargs="?", default=str(paths.lwop_ir(must_exist=False)),
                   help="the IR's .xml, with the .bin beside it (default: the one in the shared folder)")
    p.add_argument("--out", default=str(paths.CHECKPOINT), help="checkpoint to write (default: %(default)s)")
    p.add_argument("--offsets", default=str(paths.OFFSET_HEADS) if paths.OFFSET_HEADS.exists() else None,
                   help="trained offset heads to add (default: %(default)s; without it the offsets are zero)")
    p.set_defaults(func=run_import_ir)

    p = sub.add_parser("doctor", help="what this machine can run: CPU features, torch/CUDA, GPU, runtimes, a model",
                       description="One line per item: CPU features (AVX2, AVX-512, VNNI, AMX, bf16), torch and "
                                   "whether it is a CUDA build, the GPU and driver, ONNX Runtime's providers, "
                                   "OpenVINO's devices, TensorRT. With --model, whether that model runs here and "
                                   "which backend auto picks, and why. Exits 1 only when the model cannot run.")
    p.add_argument("--model", nargs="?", const=DEFAULT_MODEL, default=None,
                   help="a model or engine to check (no value: the default model)")
    p.add_argument("--backend", default="auto", choices=BACKENDS, help=BACKEND_HELP)
    p.add_argument("--device", default="cpu", help="device to check the model on (default: %(default)s)")
    p.set_defaults(func=run_doctor)

    p = sub.add_parser("eval", help="COCO keypoint AP of a model, or of the encoding itself (--oracle)",
                       description="Score poses with pycocotools' COCOeval. --oracle encodes each image's ground "
                                   "truth into targets and decodes it again (no network): the ceiling of the "
                                   "encoding and decoder. Otherwise the model runs on the images.")
    p.add_argument("--oracle", action="store_true", help="evaluate encode -> decode of the ground truth")
    p.add_argument("--ann", default=DEFAULT_ANN, help="COCO keypoint annotation file (default: %(default)s)")
    p.add_argument("--images", help="image folder (default: beside the annotation file, or its COCO split folder "
                                    "such as ../val2017)")
    add_model_args(p)
    p.add_argument("--stride", type=int, default=8, choices=(4, 8, 16, 32), help="oracle stride (default: 8)")
    p.add_argument("--no-offsets", action="store_true",
                   help="oracle only: decode by upsampling instead of the encoded offsets")
    add_decoder_args(p)
    add_tta_args(p)
    g = p.add_argument_group("intervals (the sets are small: read a difference with its interval)")
    g.add_argument("--ci", action="store_true",
                   help="print AP's 95 %% interval, by bootstrap over the images (resampled with replacement)")
    g.add_argument("--compare", metavar="MODEL[@refine=R,paf-method=P,matching=M,flip=on]",
                   help="also score this model (or --model itself, as @refine=... only) and print the paired "
                        "difference (it minus --model) with its 95 %% interval; 'not resolved' when it spans zero. "
                        "Decoder settings after @ override the flags for it alone")
    g.add_argument("--draws", type=bounded(100, 100_000), default=DRAWS,
                   help="bootstrap draws (default: %(default)s)")
    p.add_argument("--out", help="write the figures and the results as JSON here")
    p.set_defaults(func=run_eval)

    p = sub.add_parser("export", help="export a checkpoint to ONNX, and to INT8 for the CPU",
                       description="Write an ONNX model with named outputs (heatmaps, pafs, offsets), dynamic "
                                   "height and width and opset 17, check it against PyTorch on real images, and "
                                   "with --int8 quantize it for OpenVINO (NNCF, calibrated on coco_mini train2017 "
                                   "and frames of the demo clip, never on an evaluation set).")
    p.add_argument("model", nargs="?", default=str(paths.CHECKPOINT), help="checkpoint .pt (default: %(default)s)")
    p.add_argument("--out", default=str(paths.DEFAULT_ONNX), help="output .onnx (default: %(default)s)")
    p.add_argument("--int8", action="store_true",
                   help="also write the INT8 OpenVINO IR OUT.int8.xml (+ .bin); needs openvino and nncf")
    p.add_argument("--int8-onnx", action="store_true",
                   help="also write an ONNX Runtime QDQ INT8 model OUT.int8.onnx (any ONNX runtime)")
    p.add_argument("--calibration", nargs="*", default=None,
                   help="images for the parity check and INT8 calibration (default: coco_mini train2017 from the "
                        "shared folder, plus 20 demo-clip frames for --int8)")
    p.add_argument("--input-size", type=input_size, default=DEFAULT_INPUT_SIZE,
                   help="input height for the parity check and calibration (default: %(default)s)")
    p.set_defaults(func=run_export)

    p = sub.add_parser("engine", help="TensorRT engines", description="Build TensorRT engines (NVIDIA GPU).")
    esub = p.add_subparsers(dest="engine_command", metavar="ACTION")
    b = esub.add_parser("build", help="build a TensorRT engine (FP16 by default) from an exported ONNX file",
                        description="Build a TensorRT 10/11 engine with one optimisation profile covering the "
                                    "app's input shapes. Needs an NVIDIA GPU, TensorRT and a CUDA build of torch.")
    b.add_argument("onnx", help="the ONNX file written by `ssapose export`")
    b.add_argument("--out", required=True, help="output .engine (a .json sidecar is written beside it)")
    b.add_argument("--fp32", action="store_true", help="build in FP32 instead of FP16")
    from engines.tensorrt_backend import ShapeRange            # no TensorRT import: the profile's definition

    prof = ShapeRange()
    b.add_argument("--min", default=prof.format(prof.min), help="smallest input, HxW or SIZE (default: %(default)s)")
    b.add_argument("--opt", default=prof.format(prof.opt),
                   help="input to tune for, HxW (default: %(default)s, 16:9 video at the default height)")
    b.add_argument("--max", default=prof.format(prof.max), help="largest input, HxW (default: %(default)s)")
    b.add_argument("--workspace", type=bounded(0.0625, 1024, integer=False, unit="GiB"), default=2.0, help="builder workspace in GiB (default: 2)")
    b.add_argument("--timing-cache", help="timing cache file (default: OUT.timing)")
    b.set_defaults(func=run_engine_build)
    p.set_defaults(func=lambda args: _usage(p))


def _usage(parser) -> int:
    parser.print_help(sys.stderr)
    return 2


def run_doctor(args) -> int:
    from engines.doctor import run_doctor as doctor

    return doctor(args)


def run_import_ir(args) -> int:
    require_torch("ssapose import-ir")
    from ssapose.models.lwop_weights import build_checkpoint

    if not Path(args.xml).is_file():
        paths.lwop_ir()   # names the shared folder when the default is missing
        raise FileNotFoundError(f"IR file not found: {args.xml}")
    prepare_output(args.out, (".pt", ".pth"), "checkpoint")
    info = build_checkpoint(args.xml, args.out, args.offsets)
    print(f"wrote {args.out}: Lightweight OpenPose from {Path(args.xml).name} ({info['layers']} convolutions, "
          f"{info['parameters'] / 1e6:.2f} M parameters), offset heads: {info['offset_heads']}")
    return 0


def run_eval(args) -> int:
    ann = args.ann
    if args.out:
        prepare_output(args.out, (".json",))
    if args.oracle:
        from ssapose.oracle import oracle_eval
        from ssapose.targets import TargetConfig

        choice = decoder_choice(args).resolve()
        dec = DecoderConfig(min_parts=1, min_score=0.0, paf_method=choice.paf_method, matching=choice.matching)
        res = oracle_eval(ann, TargetConfig(stride=args.stride), dec, use_offsets=not args.no_offsets,
                          progress=sys.stderr.isatty())
        mode = "upsampling" if args.no_offsets else "offsets"
        title = f"oracle {Path(ann).name}, stride {args.stride}, {mode}, {res.n_images} images"
        stats, results = res.stats, res.results
    else:
        from engines.evaluate import evaluate_model

        tta = tta_choice(args)
        stats, results = evaluate_model(args.model, ann, args.images, tta.height, backend=args.backend,
                                        decoder=decoder_choice(args), progress=sys.stderr.isatty(), device=args.device,
                                        threads=args.threads, flip=tta.flip, scales=tta.scales, auto=tta.auto)
        extra = (", flipped" if tta.flip else "") + (f", scales {tta.scales}" if tta.scales != (1.0,) else "")
        title = f"{Path(args.model).name} on {Path(ann).name}, input {'auto' if tta.auto else tta.height}{extra}"
    print(format_stats(stats, title))
    if args.ci or args.compare:
        _print_intervals(args, ann, results)
    if args.out:
        Path(args.out).write_text(json.dumps({"stats": stats, "annotations": ann, "results": results}, indent=1))
    return 0


def compare_spec(text: str, base: DecoderChoice, model: str, flip: bool = False
                 ) -> tuple[str, DecoderChoice, bool]:
    """``MODEL[@refine=R,paf-method=P,matching=M,flip=on|off]`` (``@...`` alone: ``model``) -> the model, its
    decoder and whether it runs flipped."""
    path, _, rest = text.partition("@")
    fields = {"refine": base.refine, "paf_method": base.paf_method, "matching": base.matching}
    for item in filter(None, rest.split(",")):
        key, eq, value = item.partition("=")
        key = key.strip().replace("-", "_")
        if key == "flip" and value.strip() in ("on", "off"):
            flip = value.strip() == "on"
            continue
        if not eq or key not in fields:
            raise ValueError(f"--compare {text!r}: {item!r} is not refine=..., paf-method=..., matching=... "
                             "or flip=on|off")
        fields[key] = value.strip()
    return path or model, DecoderChoice(**fields), flip


def _print_intervals(args, ann: str, results: list[dict]) -> None:
    """--ci and --compare: bootstrap intervals over the images of ``ann``."""
    from ssapose.coco import load_coco
    from ssapose.intervals import ap_interval, paired_difference

    coco = load_coco(ann)
    n = len(coco.getImgIds())
    if not args.compare:
        iv = ap_interval(coco, results, draws=args.draws)
        print(f"{iv.describe()} (95 % interval, bootstrap over {n} images, {iv.draws} draws)")
        return
    from engines.evaluate import evaluate_model

    tta = tta_choice(args)
    other, choice, flip = compare_spec(args.compare, decoder_choice(args), args.model, tta.flip)
    stats_b, results_b = evaluate_model(other, ann, args.images, tta.height, backend=args.backend,
                                        decoder=choice, progress=sys.stderr.isatty(), device=args.device,
                                        threads=args.threads, flip=flip, scales=tta.scales, auto=tta.auto)
    a, b, d = paired_difference(coco, results, results_b, draws=args.draws)
    print(f"A {Path(args.model).name}: {a.describe()}")
    print(f"B {args.compare}: {b.describe()}")
    verdict = ("B better" if d.low > 0 else "B worse") if d.excludes_zero else "not resolved (the interval spans 0)"
    print(f"{d.describe('difference B - A')}: {verdict} (paired bootstrap over {n} images, {d.draws} draws)")


def run_export(args) -> int:
    require_torch("ssapose export")
    from engines.export import export_onnx, parity, quantize_int8

    prepare_output(args.out, (".onnx",))
    stem = str(Path(args.out).with_suffix(""))
    images = args.calibration or calibration_default()
    tmp = Path(args.out).with_name(f".{Path(args.out).stem}.partial.onnx")   # renamed once the parity check passes
    try:
        print(f"exporting {args.model} to ONNX ...", flush=True)
        info = export_onnx(args.model, str(tmp), args.input_size)
        print(f"checking it against PyTorch on {len(images)} real images ...", flush=True)
        diff = parity(args.model, str(tmp), images, args.input_size)
        if diff > 1e-4:
            print(f"ssapose export: error: parity check failed ({diff:.2e} > 1e-4); {args.out} not written",
                  file=sys.stderr)
            return 1
        os.replace(tmp, args.out)
    finally:
        tmp.unlink(missing_ok=True)
    print(f"wrote {args.out} (outputs {', '.join(info.outputs)}, stride {info.stride}); "
          f"max |torch - onnxruntime| = {diff:.2e}")
    if args.int8:
        from engines.openvino_export import calibration_frames, quantize_openvino

        video = None if args.calibration else str(paths.demo_video())
        frames = calibration_frames(images, video)
        print(f"quantizing to INT8 for OpenVINO, calibrated on {len(frames)} frames (about 30 s) ...", flush=True)
        out = quantize_openvino(args.out, stem + ".int8.xml", frames, args.input_size)
        print(f"wrote {out} (INT8)")
    if args.int8_onnx:
        print(f"quantizing to ONNX Runtime QDQ INT8 on {len(images)} images ...", flush=True)
        quantize_int8(args.out, stem + ".int8.onnx", images, args.input_size)
        print(f"wrote {stem}.int8.onnx (INT8)")
    return 0


def run_engine_build(args) -> int:
    from engines.tensorrt_backend import ShapeRange, build_engine

    prepare_output(args.out, (".engine", ".plan"), "engine")
    shapes = ShapeRange(ShapeRange.parse(args.min), ShapeRange.parse(args.opt), ShapeRange.parse(args.max))
    path = build_engine(args.onnx, args.out, shapes, fp16=not args.fp32, workspace_gib=args.workspace,
                        timing_cache=args.timing_cache)
    print(f"wrote {path} and {path}.json ({'FP32' if args.fp32 else 'FP16'}, inputs {shapes.describe()})")
    return 0
