"""What writing the annotated mp4 costs per frame, by encoder: could a cheaper one buy the pipeline's 2 ms?

    python benchmarks/encoder_cost.py [--frames 300] [--rounds 2]

Pipes the demo clip's first frames (decoded beforehand, raw BGR) into FFmpeg with ``ssapose video``'s own command
(``engines.sinks.video.ffmpeg_command``: one encoder thread, keyframe every 10 frames, fragmented MP4, yuv420p), only
the encoder swapped, and prints the encoder process's CPU time per frame (user + system) and the file size per
frame, per encoder setting and round. The first row is what ships.
"""
from __future__ import annotations

import argparse
import os
import resource
import subprocess
import sys
import tempfile
from pathlib import Path


from engines.sinks.video import CODEC, ffmpeg_command, ffmpeg_exe
from ssapose import paths
from ssapose.sources import read_frames

SETTINGS = {
    "MPEG-4 part 2, q 4 (ships)": CODEC,
    "MPEG-4 part 2, q 6": ("-c:v", "mpeg4", "-q:v", "6"),
    "H.264 (x264 ultrafast, crf 23)": ("-c:v", "libx264", "-preset", "ultrafast", "-crf", "23"),
    "H.264 (x264 ultrafast zerolatency, crf 23)": ("-c:v", "libx264", "-preset", "ultrafast", "-tune",
                                                   "zerolatency", "-crf", "23"),
    "H.264 (x264 superfast, crf 23)": ("-c:v", "libx264", "-preset", "superfast", "-crf", "23"),
}


def encode(exe: str, raw: bytes, w: int, h: int, n: int, codec: tuple[str, ...], path: str) -> tuple[float, float]:
    """CPU ms and KiB per frame of one encoding of ``n`` raw frames, with ``ssapose video``'s FFmpeg command."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    subprocess.run(ffmpeg_command(exe, w, h, 30.0, path, codec), input=raw, check=True)
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = after.ru_utime + after.ru_stime - before.ru_utime - before.ru_stime
    return cpu * 1e3 / n, os.path.getsize(path) / n / 1024


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--frames", type=int, default=300)
    ap.add_argument("--rounds", type=int, default=2)
    args = ap.parse_args()
    exe = ffmpeg_exe()
    if exe is None:
        print("no FFmpeg: install imageio-ffmpeg", file=sys.stderr)
        return 1
    frames = read_frames(str(paths.demo_video()), args.frames)
    h, w = frames[0].shape[:2]
    raw = b"".join(f.tobytes() for f in frames)
    runs: dict[str, list[tuple[float, float]]] = {name: [] for name in SETTINGS}
    with tempfile.TemporaryDirectory() as tmp:
        for _ in range(args.rounds):
            for name, codec in SETTINGS.items():
                runs[name].append(encode(exe, raw, w, h, len(frames), codec, str(Path(tmp) / "o.mp4")))
    print(f"| encoder ({w}x{h}, {len(frames)} frames) | CPU ms per frame, each round | KiB per frame |")
    print("|---|---|---|")
    for name, r in runs.items():
        print(f"| {name} | {', '.join(f'{ms:.2f}' for ms, _ in r)} | {r[0][1]:.1f} |")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
