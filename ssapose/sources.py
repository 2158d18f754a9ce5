"""Frame sources: video files, GIFs, image folders, single images, webcams and network streams (OpenCV only)."""
from __future__ import annotations

import os
import re
import time
from pathlib import Path
from typing import Iterator

import cv2
import numpy as np

IMAGE_SUFFIXES = {".jpg", ".jpeg", ".png", ".bmp", ".webp", ".tif", ".tiff"}
STREAM_SCHEMES = ("rtsp://", "rtsps://", "http://", "https://", "udp://", "rtmp://", "tcp://")
#: Waits (s) before each attempt to reopen a stream that dropped; then it gives up.
RECONNECT_BACKOFF = (0.5, 1.0, 2.0, 4.0, 8.0)


class SourceError(RuntimeError):
    """A source that cannot be opened or read."""


_USERINFO = re.compile(r"^([a-zA-Z][a-zA-Z0-9+.-]*://)([^/@?#]*)@")
_SECRET_QUERY = re.compile(r"([?&](?:password|passwd|pass|pwd|token|key|secret|auth)=)[^&#]*", re.IGNORECASE)


def redact(spec: str) -> str:
    """``spec`` as it may be shown or written: a URL's user and password become ``***``
    (``rtsp://***@host/stream``), and so do secret-looking query values (``?password=***``).
    Anything that is no URL comes back unchanged."""
    text = str(spec)
    if "://" not in text:
        return text
    return _SECRET_QUERY.sub(r"\1***", _USERINFO.sub(r"\1***@", text))


def without_password(spec: str) -> str:
    """``spec`` with a URL's password (and secret query values) removed, the user name kept:
    what may be remembered in settings (``rtsp://user@host/stream``)."""
    text = str(spec)
    if "://" not in text:
        return text
    text = _USERINFO.sub(lambda m: m.group(1) + m.group(2).split(":", 1)[0] + "@", text)
    return _SECRET_QUERY.sub(r"\1", text)


def has_secret(spec: str) -> bool:
    """True if ``spec`` is a URL that carries a password or a secret query value."""
    return without_password(spec) != str(spec)


def describe(spec: str) -> str:
    """``"webcam"``, ``"stream"`` (rtsp/http(s)/udp URL), ``"folder"``, ``"image"`` or ``"video"``
    (files: video or GIF) for a source spec."""
    if spec.isdigit():
        return "webcam"
    if spec.lower().startswith(STREAM_SCHEMES):
        return "stream"
    p = Path(spec)
    if p.is_dir():
        return "folder"
    if p.suffix.lower() in IMAGE_SUFFIXES:
        return "image"
    return "video"


def looping(spec: str, stop=None):
    """Frames of ``spec`` over and over (a file or folder played in a loop), until ``stop()`` is true."""
    while True:
        src = FrameSource(spec)
        try:
            n = 0
            for frame in src:
                n += 1
                yield frame
                if stop is not None and stop():
                    return
        finally:
            src.close()
        if n == 0:
            return


class FrameSource:
    """Iterate BGR ``(H, W, 3) uint8`` frames from ``spec``.

    ``spec`` is a webcam index (``"0"``), a video or GIF file, an image folder
    (sorted by name) or one image. ``fps`` is the source's frame rate where it
    declares one (else 0), ``count`` its frame count where known (else 0).

    Raises:
        SourceError: the source does not exist, cannot be opened, or holds no frame.
    """

    def __init__(self, spec: str):
        self.spec, self.kind = str(spec), describe(str(spec))
        self.name = redact(self.spec)            # what messages, logs and output files show
        self.fps, self.count, self._cap, self._files = 0.0, 0, None, []
        self.backoff, self.reconnects = RECONNECT_BACKOFF, 0
        if self.kind == "webcam":
            self._cap = cv2.VideoCapture(int(self.spec))
            if not self._cap.isOpened():
                raise SourceError(f"no camera at index {self.spec}")
        elif self.kind == "stream":
            self._cap = self._open_stream()
            if self._cap is None:
                raise SourceError(f"cannot open the stream {self.name}: unreachable, refused, or not a video stream "
                                  "(check the address, the port and that the server is up)")
        elif self.kind == "folder":
            self._files = sorted(p for p in Path(self.spec).iterdir() if p.suffix.lower() in IMAGE_SUFFIXES)
            if not self._files:
                raise SourceError(f"no images in folder {self.spec}")
            self.count = len(self._files)
        else:
            if not os.path.isfile(self.spec):
                raise SourceError(f"file not found: {self.spec}")
            if self.kind == "image":
                self._files, self.count = [Path(self.spec)], 1
            else:
                self._cap = cv2.VideoCapture(self.spec)
                if not self._cap.isOpened():
                    raise SourceError(f"cannot open {self.spec} as a video (corrupt or unsupported format?)")
                self.count = max(0, int(self._cap.get(cv2.CAP_PROP_FRAME_COUNT)))
        if self._cap is not None:
            self.fps = float(self._cap.get(cv2.CAP_PROP_FPS) or 0.0)

    def __iter__(self) -> Iterator[np.ndarray]:
        if self._cap is None:
            for f in self._files:
                img = cv2.imread(str(f), cv2.IMREAD_COLOR)
                if img is None:
                    raise SourceError(f"cannot read image {f} (corrupt or not an image)")
                yield img
            return
        n = 0
        while True:
            ok, frame = self._cap.read()
            if not ok:
                if self.kind == "stream" and self._reconnect():
                    continue
                break
            n += 1
            yield frame
        if n == 0:
            raise SourceError(f"{self.name} holds no readable frame (corrupt file or camera error)")

    @property
    def live(self) -> bool:
        """A camera or a network stream: frames come in real time, so stale ones are dropped."""
        return self.kind in ("webcam", "stream")

    def _open_stream(self):
        cap = cv2.VideoCapture(self.spec, cv2.CAP_FFMPEG)
        if cap.isOpened():
            return cap
        cap.release()
        return None

    def _reconnect(self) -> bool:
        """Reopen a dropped stream, waiting longer before each try (``RECONNECT_BACKOFF``)."""
        if self._cap is not None:
            self._cap.release()
        for wait in self.backoff:
            time.sleep(wait)
            self._cap = self._open_stream()
            if self._cap is not None:
                self.reconnects += 1
                return True
        self._cap = None
        raise SourceError(f"the stream {self.name} dropped and did not come back after {len(self.backoff)} tries")

    def close(self) -> None:
        if self._cap is not None:
            self._cap.release()
            self._cap = None

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()


def read_frames(spec: str, limit: int = 0) -> list[np.ndarray]:
    """Up to ``limit`` frames (all with 0) of a finite source, in memory."""
    out = []
    with FrameSource(spec) as src:
        for frame in src:
            out.append(frame)
            if limit and len(out) >= limit:
                break
    return out
