"""The annotated video: an mp4 that plays even when the run is killed.

With FFmpeg (the binary that ``imageio-ffmpeg`` ships, or ``ffmpeg`` on the PATH) frames go
through a pipe into a **fragmented MP4** (``-movflags frag_keyframe+empty_moov``), each fragment
written out as it is made (``-flush_packets 1``): the file plays from the first fragment on, so a
run killed with its FFmpeg leaves a playable file holding every whole fragment. If only this
process is killed (SIGKILL), FFmpeg sees the pipe close, encodes every frame it was given and
closes the file properly. Without FFmpeg, OpenCV's ``mp4v`` writer is used; its file is playable only after
a clean end (``close``).

FFmpeg opens the file when the first frame arrives (``engines.sinks`` locks it before, without
truncating it, and removes it if no frame came), so a run that fails before any frame leaves an
existing file untouched. Odd frame sizes are padded by one pixel (the encoder
needs even sizes); frames of another size than the first (a folder of images) are scaled to fit
inside it, centred on black.
"""
from __future__ import annotations

import shutil
import subprocess

import numpy as np

#: Frames between keyframes, hence between fragments: what a kill of FFmpeg itself can lose.
KEYFRAME_INTERVAL = 10
#: The encoder FFmpeg writes with: MPEG-4 part 2 at quality 4 (the cheapest measured, docs/history.md).
CODEC = ("-c:v", "mpeg4", "-q:v", "4")


def ffmpeg_command(exe: str, w: int, h: int, fps: float, path: str, codec: tuple[str, ...] = CODEC) -> list[str]:
    """FFmpeg's arguments to encode raw BGR ``w x h`` frames from its stdin into the fragmented MP4 ``path``."""
    return [exe, "-hide_banner", "-loglevel", "error", "-y", "-f", "rawvideo", "-pix_fmt", "bgr24",
            "-s", f"{w}x{h}", "-r", f"{fps:.6g}", "-i", "-", "-an",
            "-vf", "pad=ceil(iw/2)*2:ceil(ih/2)*2", *codec, "-g", str(KEYFRAME_INTERVAL),
            "-pix_fmt", "yuv420p", "-threads", "1",
            "-movflags", "frag_keyframe+empty_moov+default_base_moof", "-flush_packets", "1", "-f", "mp4", path]


def ffmpeg_exe() -> str | None:
    """Path of an FFmpeg binary, or None."""
    try:
        import imageio_ffmpeg

        return imageio_ffmpeg.get_ffmpeg_exe()
    except (ImportError, RuntimeError):
        return shutil.which("ffmpeg")


class VideoOut:
    """Write BGR ``(H, W, 3) uint8`` frames of one size to ``path`` (.mp4) at ``fps`` (25 if unknown)."""

    def __init__(self, path: str, fps: float):
        self.path, self.fps = path, fps or 25.0
        self.frames, self.size = 0, None
        self._proc, self._cv = None, None

    def write(self, image: np.ndarray) -> None:
        h, w = image.shape[:2]
        if self.size is None:
            self.size = (w, h)
            self._open(w, h)
        elif (w, h) != self.size:            # images of a folder differ in size: fit them to the first
            image = _letterbox(image, self.size)
        image = np.ascontiguousarray(image)
        if self._proc is not None:
            try:
                self._proc.stdin.write(image.tobytes())
            except (BrokenPipeError, OSError):
                raise ValueError(f"cannot write video {self.path}: FFmpeg stopped ({self._stderr()})") from None
        else:
            self._cv.write(_pad_even(image))
        self.frames += 1

    def _open(self, w: int, h: int) -> None:
        exe = ffmpeg_exe()
        if exe is None:
            import cv2

            from ssapose.fsnames import for_opencv

            ph, pw = h + h % 2, w + w % 2
            self._cv = cv2.VideoWriter(for_opencv(self.path), cv2.VideoWriter_fourcc(*"mp4v"), self.fps, (pw, ph))
            if not self._cv.isOpened():
                raise ValueError(f"cannot write video {self.path}: OpenCV's mp4v writer failed to open it "
                                 f"({w}x{h} frames; install imageio-ffmpeg for FFmpeg's writer)")
            return
        self._proc = subprocess.Popen(ffmpeg_command(exe, w, h, self.fps, self.path), stdin=subprocess.PIPE,
                                      stderr=subprocess.PIPE,
                                      start_new_session=True)      # Ctrl-C goes to us; we close the pipe

    def _stderr(self) -> str:
        try:
            self._proc.wait(timeout=5)
            return self._proc.stderr.read().decode(errors="replace").strip()[-300:] or "no message"
        except subprocess.TimeoutExpired:
            return "no answer"

    def close(self) -> None:
        """Finish the file; raises ValueError if FFmpeg failed."""
        if self._cv is not None:
            self._cv.release()
            self._cv = None
        if self._proc is not None:
            proc, self._proc = self._proc, None
            try:
                proc.stdin.close()
            except OSError:
                pass
            rc = proc.wait()
            err = proc.stderr.read().decode(errors="replace").strip()
            proc.stderr.close()
            if rc != 0:
                raise ValueError(f"cannot write video {self.path}: FFmpeg exited with {rc}: {err[-300:]}")


def _pad_even(image: np.ndarray) -> np.ndarray:
    h, w = image.shape[:2]
    if h % 2 == 0 and w % 2 == 0:
        return image
    return np.pad(image, ((0, h % 2), (0, w % 2), (0, 0)), mode="edge")


def _letterbox(image: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    """``image`` scaled to fit inside ``size = (w, h)`` and centred on black, ``(h, w, 3) uint8``."""
    import cv2

    w, h = size
    s = min(w / image.shape[1], h / image.shape[0])
    nw, nh = max(1, round(image.shape[1] * s)), max(1, round(image.shape[0] * s))
    out = np.zeros((h, w, 3), np.uint8)
    x, y = (w - nw) // 2, (h - nh) // 2
    out[y:y + nh, x:x + nw] = cv2.resize(image, (nw, nh), interpolation=cv2.INTER_AREA)
    return out
