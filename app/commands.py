"""The app layer's subcommands: ``video`` (headless pipeline) and ``app`` (the Qt window)."""
from __future__ import annotations

import itertools
import json
import os
import sys
from pathlib import Path

from ssapose import paths

DEMO_VIDEO = str(paths.demo_video(must_exist=False))
DEFAULT_MODEL = str(paths.DEFAULT_MODEL)
DEFAULT_INPUT_SIZE = 368


def add_commands(sub) -> None:
    p = sub.add_parser("video", help="run the pipeline headless: video in, annotated video and JSON out",
                       description="Capture -> inference -> offset-refined PAF decoding -> overlay, each stage in "
                                   "its own thread. INPUT is a video file, a GIF, an image folder, one image or a "
                                   "webcam index. Without INPUT it runs the bundled demo clip.")
    p.add_argument("input", nargs="?", default=DEMO_VIDEO, help="source (default: the demo clip in the shared folder)")
    p.add_argument("--out", help="write the annotated video here (.mp4)")
    p.add_argument("--json", help="write per-frame poses here (JSON)")
    add_model_args(p)
    p.add_argument("--track", action="store_true", help="keep person ids across frames (OKS) and smooth keypoints")
    p.add_argument("--kp-threshold", type=float, default=0.1, help="minimum keypoint score drawn (default: 0.1)")
    p.add_argument("--limb-threshold", type=float, default=0.1, help="minimum score of both ends of a drawn limb")
    p.add_argument("--line-width", type=int, default=2, help="skeleton line width in pixels (default: 2)")
    p.add_argument("--no-ids", action="store_true", help="do not draw track ids")
    p.add_argument("--no-fps", action="store_true", help="do not draw the FPS/latency text")
    p.add_argument("--live", action="store_true", help="drop stale frames (default for webcams)")
    p.add_argument("--max-frames", type=int, default=0, help="stop after this many frames (0: all)")
    p.add_argument("--show", action="store_true", help="show the annotated frames in a window (needs PyQt5)")
    p.set_defaults(func=run_video)

    p = sub.add_parser("app", help="the desktop app (PyQt5): live skeletons, HUD, COCO evaluation",
                       description="Open the SSA-Pose window on a source (default: the bundled demo video).")
    p.add_argument("input", nargs="?", default=DEMO_VIDEO, help="source to open at start")
    add_model_args(p)
    p.set_defaults(func=run_app)


def add_model_args(p) -> None:
    p.add_argument("--model", default=DEFAULT_MODEL,
                   help="model file .pt/.onnx/.xml/.engine (default: %(default)s, made by `make`)")
    p.add_argument("--backend", default="auto", choices=("auto", "torch", "onnx", "tensorrt"),
                   help="inference backend (default: from the model file's suffix)")
    p.add_argument("--input-size", type=int, default=DEFAULT_INPUT_SIZE,
                   help="network input height in pixels; the width follows the frame's aspect ratio, padded to the "
                        "stride (OpenPose's -1xH). Lite models fit the longer side instead. (default: %(default)s)")
    p.add_argument("--threads", type=int, default=pipeline_threads(),
                   help="CPU threads for inference (default: cores - 1 = %(default)s, leaving a core to the "
                        "capture, decode and overlay threads)")


def pipeline_threads() -> int:
    """Inference threads when the stages run in parallel: all cores but one (at least 1)."""
    return max(1, (os.cpu_count() or 2) - 1)


def check_writable(path: str) -> None:
    """Fail early, with the reason, if ``path`` cannot be written."""
    d = os.path.dirname(os.path.abspath(path))
    if not os.path.isdir(d):
        raise ValueError(f"cannot write {path}: folder {d} does not exist")
    try:
        with open(path, "ab"):
            pass
    except OSError as e:
        raise ValueError(f"cannot write {path}: {e.strerror}") from e


def frame_record(r, fps: float) -> dict:
    people = []
    for n, (kp, s) in enumerate(zip(r.poses.keypoints, r.poses.scores)):
        people.append({"keypoints": [[round(float(x), 2), round(float(y), 2), round(float(c), 3)] for x, y, c in kp],
                       "score": round(float(s), 4),
                       "track_id": int(r.track_ids[n]) if r.track_ids is not None else -1})
    t = r.index / fps if fps > 0 else r.timestamp
    return {"frame": r.index, "time": round(t, 4), "people": people}


def run_video(args) -> int:
    import cv2
    from tqdm import tqdm

    from app.pipeline import Pipeline, PipelineConfig
    from app.tracking import Tracker
    from engines import create_backend
    from ssapose.overlay import DrawStyle
    from ssapose.sources import FrameSource

    for path in (args.out, args.json):
        if path:
            check_writable(path)
    src = FrameSource(args.input)
    backend = create_backend(args.model, args.backend, threads=args.threads)
    style = DrawStyle(args.kp_threshold, args.limb_threshold, args.line_width, not args.no_ids, not args.no_fps)
    cfg = PipelineConfig(input_size=args.input_size, live=args.live or src.kind == "webcam",
                         draw=bool(args.out or args.show), style=style)
    frames = itertools.islice(src, args.max_frames) if args.max_frames else src
    pipe = Pipeline(frames, backend, cfg, Tracker() if args.track else None)
    writer, records, viewer = None, [], None
    if args.show:
        from app.viewer import Viewer
        viewer = Viewer()
    total = min(src.count, args.max_frames) if args.max_frames and src.count else src.count
    bar = tqdm(total=total or None, unit="frame", desc=Path(args.input).name, disable=not sys.stderr.isatty())
    try:
        for r in pipe.results():
            if args.out and r.image is not None:
                if writer is None:
                    h, w = r.image.shape[:2]
                    writer = cv2.VideoWriter(args.out, cv2.VideoWriter_fourcc(*"mp4v"), src.fps or 25.0, (w, h))
                    if not writer.isOpened():
                        raise ValueError(f"cannot write video {args.out} (no mp4v encoder or bad path)")
                writer.write(r.image)
            if args.json:
                records.append(frame_record(r, src.fps))
            if viewer is not None and not viewer.show(r.image):
                break
            bar.update(1)
    finally:
        bar.close()
        pipe.stop()
        src.close()
        if writer is not None:
            writer.release()
    if args.json:
        Path(args.json).write_text(json.dumps({"source": args.input, "model": args.model, "fps": src.fps,
                                               "frames": records}))
    n = pipe.stats.processed
    print(f"{n} frames processed, {pipe.stats.dropped} dropped"
          + (f"; video: {args.out}" if args.out else "") + (f"; poses: {args.json}" if args.json else ""))
    return 0


def run_app(args) -> int:
    from app.main_window import launch

    return launch(args)
