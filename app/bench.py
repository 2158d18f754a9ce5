"""``ssapose benchmark``: network ms, decode ms, end-to-end FPS and AP per backend x precision x height.

Each configuration is a model file, optionally with a backend and an OpenVINO precision hint:
``models/lwop.int8.xml``, ``models/lwop.onnx@onnx``, ``models/lwop.onnx@openvino:f32``,
``models/lwop.pt@torch`` (``--device cuda`` for the GPU). For each configuration and input
height it measures:

* network and decode ms: medians over ``--timed`` frames of the clip, one stage at a time;
* end-to-end FPS: the threaded pipeline in file mode (every frame, overlay drawn), with its
  slowest stage's rate measured in the same run, and their ratio;
* AP on coco_mini val2017 (``--no-ap`` skips it).

First (``--no-capacity`` skips it, ``--capacity-only`` runs only it), in alternating rounds: the network alone at
its best configuration on all cores (the machine's capacity), the default pipeline on the clip with the overlay
drawn and the mp4 and pose file written, and their ratio; then live mode's capture-to-result latency on frames
arriving at 30 fps. Then one markdown table (what BENCHMARKS.md shows), optionally written as JSON.

``--sweep`` answers "which input size?" for one model on this machine: AP and FPS over a range
of heights, as a table and, with ``--plot`` (needs matplotlib), as a PNG of both against height.
"""
from __future__ import annotations

import argparse
import json
import os
import sys
from dataclasses import asdict, dataclass
from pathlib import Path

from engines.cli import add_decoder_args, decoder_choice
from engines.cli_args import input_size, non_negative_int, positive_int, prepare_output, threads
from ssapose import paths
from ssapose.model_card import DEFAULT_INPUT_HEIGHT


@dataclass
class Row:
    config: str
    backend: str
    precision: str
    height: int
    network_ms: float
    decode_ms: float
    pipeline_fps: float
    slowest: str
    ratio: float
    ap: float | None


SWEEP_HEIGHTS = (160, 224, 288, DEFAULT_INPUT_HEIGHT, 448, 512)


def default_configs() -> list[str]:
    return [str(paths.DEFAULT_MODEL), f"{paths.DEFAULT_ONNX}@openvino", f"{paths.DEFAULT_ONNX}@onnx"]


def parse_config(text: str) -> tuple[str, str, str | None]:
    """``PATH[@BACKEND[:PRECISION]]`` -> ``(path, backend, precision hint)``."""
    path, _, rest = text.partition("@")
    backend, _, precision = rest.partition(":")
    return path, backend or "auto", precision or None


def open_backend(config: str, device: str, threads: int | None):
    from engines import create_backend

    path, backend, precision = parse_config(config)
    if precision:
        from engines.openvino_backend import OpenVINOBackend
        return OpenVINOBackend(path, threads=threads, precision=precision)
    return create_backend(path, backend, device=device, threads=threads, streams=1)


def measure(config: str, height: int, frames: list, timed: int, device: str, threads: int | None,
            ap: bool, decoder=None) -> Row:
    """One configuration: the network and decoder stage by stage, the pipeline end to end, and AP; ``decoder``:
    a ``DecoderChoice`` (None: the model's card)."""
    from engines.run.pipeline import Pipeline, PipelineConfig
    from engines.benchmark import benchmark_backend
    from engines.evaluate import evaluate_model

    backend = open_backend(config, device, threads)
    try:
        seq = benchmark_backend(backend, frames[:timed], height, warmup=3, repeat=timed, progress=False,
                                decoder=decoder)
        pipe = Pipeline(iter(frames), backend, PipelineConfig(input_size=height, draw=True, decoder=decoder))
        for _ in pipe.results():
            pass
        run = pipe.summary()
        score = None
        if ap:
            val = paths.coco_set("val")
            stats, _ = evaluate_model(parse_config(config)[0], str(val.ann), str(val.images), height,
                                      opened=backend, decoder=decoder)
            score = stats["AP"]
        return Row(config, backend.name, backend.precision, height, seq["inference"]["median_ms"],
                   seq["decode"]["median_ms"], run.fps, run.slowest, run.fps / run.bound_fps, score)
    finally:
        backend.close()


def table(rows: list[Row], frames: int, clip: str) -> str:
    out = [f"end-to-end: {frames} frames of {clip}, file mode, overlay drawn; AP: coco_mini val2017",
           "", "| model | backend | precision | height | network ms | decode ms | pipeline FPS | slowest stage "
           "| pipeline / slowest | val AP |", "|---|---|---|---|---|---|---|---|---|---|"]
    for r in rows:
        ap = f"{r.ap:.3f}" if r.ap is not None else "-"
        out.append(f"| {parse_config(r.config)[0].split('/')[-1]} | {r.backend} | {r.precision} | {r.height} | "
                   f"{r.network_ms:.1f} | {r.decode_ms:.2f} | {r.pipeline_fps:.1f} | {r.slowest} | {r.ratio:.2f} "
                   f"| {ap} |")
    return "\n".join(out)


def add_command(sub) -> None:
    p = sub.add_parser("benchmark", help="network ms, decode ms, end-to-end FPS and AP per backend, precision "
                                         "and input height",
                       description=__doc__.split("\n\n", 1)[1],
                       formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--models", nargs="+", default=None, metavar="PATH[@BACKEND[:PRECISION]]",
                   help="configurations to compare (default: the INT8 IR, the ONNX in OpenVINO and in ONNX "
                        "Runtime)")
    p.add_argument("--heights", type=input_size, nargs="+", default=None,
                   help=f"input heights (default: 256 {DEFAULT_INPUT_HEIGHT})")
    p.add_argument("--video", default=str(paths.demo_video(must_exist=False)),
                   help="clip for the end-to-end run (default: the demo clip)")
    p.add_argument("--frames", type=non_negative_int, default=0, help="frames of the clip for the end-to-end run (0: all)")
    p.add_argument("--timed", type=positive_int, default=50, help="frames timed stage by stage (default: 50)")
    p.add_argument("--device", default="cpu", help="torch device for .pt models (default: %(default)s)")
    p.add_argument("--threads", type=threads, default=None,
                   help="inference threads: a number, or auto (default: auto, all cores, as the pipeline uses; "
                        "the network runs one request at a time here: benchmarks/capacity.py measures several)")
    add_decoder_args(p)
    p.add_argument("--no-capacity", action="store_true",
                   help="skip the first part: the network alone at its best on all cores (the machine's "
                        "capacity), the pipeline's FPS and their ratio, and live mode's latency")
    p.add_argument("--capacity-only", action="store_true", help="only that first part")
    p.add_argument("--rounds", type=positive_int, default=3, help="rounds of the capacity part (default: 3)")
    p.add_argument("--no-ap", action="store_true", help="skip the AP on coco_mini val2017")
    p.add_argument("--json", help="also write the rows here (.json)")
    p.add_argument("--sweep", action="store_true",
                   help=f"AP and FPS of one model (the first of --models) over --heights (default for a sweep: "
                        f"{' '.join(map(str, SWEEP_HEIGHTS))})")
    p.add_argument("--plot", help="with --sweep: write AP and FPS against height as a PNG here (needs matplotlib)")
    p.set_defaults(func=run_benchmark)


def plot_sweep(rows: list[Row], path: str) -> None:
    """AP (left axis) and end-to-end FPS (right axis) against input height, one PNG."""
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    h = [r.height for r in rows]
    fig, ax = plt.subplots(figsize=(6.4, 4.0), dpi=120)
    ax.plot(h, [r.ap or 0 for r in rows], "o-", color="tab:blue", label="AP, coco_mini val2017")
    ax.set_xlabel("input height (px)")
    ax.set_ylabel("AP (COCO OKS)", color="tab:blue")
    right = ax.twinx()
    right.plot(h, [r.pipeline_fps for r in rows], "s--", color="tab:red", label="FPS, demo clip end to end")
    right.set_ylabel("FPS end to end", color="tab:red")
    ax.set_title(f"{parse_config(rows[0].config)[0].split('/')[-1]} [{rows[0].backend}, {rows[0].precision}]")
    ax.grid(alpha=0.3)
    fig.legend(loc="center right", bbox_to_anchor=(0.86, 0.55), fontsize=8)
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)


def run_benchmark(args) -> int:
    from tqdm import tqdm

    from ssapose.sources import read_frames

    if args.json:
        prepare_output(args.json, (".json",))
    if args.plot:
        if not args.sweep:
            raise ValueError("--plot goes with --sweep")
        prepare_output(args.plot, (".png",), "plot")
        import importlib.util
        if importlib.util.find_spec("matplotlib") is None:
            raise ImportError("--plot needs matplotlib: pip install 'ssapose[plot]' (or: pip install matplotlib)")
    frames = read_frames(args.video, limit=args.frames or None)
    if not args.no_capacity and not args.sweep:
        from app.capacity import measure_capacity
        from ssapose.sources import FrameSource

        with FrameSource(args.video) as src:
            fps = src.fps or 30.0
        model = parse_config((args.models or default_configs())[0])[0]
        print(f"{Path(model).name} on {len(frames)} frames of {Path(args.video).name}, height "
              f"{DEFAULT_INPUT_HEIGHT}, this machine ({os.cpu_count()} cores):", flush=True)
        print(measure_capacity(model, frames, fps, rounds=args.rounds).describe(), flush=True)
        if args.capacity_only:
            return 0
    configs = args.models or default_configs()
    if args.sweep:
        configs = configs[:1]
    args.heights = args.heights or (list(SWEEP_HEIGHTS) if args.sweep else [256, DEFAULT_INPUT_HEIGHT])
    rows = []
    jobs = [(c, h) for c in configs for h in args.heights]
    for config, height in tqdm(jobs, desc="benchmark", unit="config", disable=not sys.stderr.isatty()):
        rows.append(measure(config, height, frames, min(args.timed, len(frames)), args.device, args.threads,
                            not args.no_ap, decoder_choice(args)))
    print(table(rows, len(frames), args.video))
    if args.plot:
        plot_sweep(rows, args.plot)
        print(f"plot: {args.plot}")
    if args.json:
        with open(args.json, "w") as f:
            json.dump([asdict(r) for r in rows], f, indent=1)
    return 0
