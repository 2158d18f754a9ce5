"""Frame sources: video files, GIFs, image folders, single images, webcams and network streams (OpenCV only).

What happens on bad input (the README says the same):

- a video frame that fails to decode is skipped: the reader seeks past the damage (as far as the
  container's index allows) and goes on; a run that cannot pass it stops there and says so;
- a corrupt image in a folder is skipped with a note;
- a network stream that drops is reopened with backoff (``RECONNECT_BACKOFF``), then given up;
- an ``http(s)://`` URL that serves a file (the container declares a frame count) is read as a
  file: every frame in order, ending at its end; a true stream (rtsp, udp, MJPEG over HTTP) is live.

None of these raises once a frame has been read: :attr:`FrameSource.report` says how many frames
were read of how many, how many were skipped, and why reading stopped.
"""
from __future__ import annotations

import os
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Iterator

import cv2
import numpy as np

from ssapose.fsnames import for_opencv, imread, shown
from ssapose.redact import redact

# FFmpeg prints a line per damaged packet (hundreds for one bad stretch); the report says what was
# skipped instead. Set OPENCV_FFMPEG_LOGLEVEL yourself (e.g. 16, errors) to see FFmpeg's messages.
os.environ.setdefault("OPENCV_FFMPEG_LOGLEVEL", "-8")

IMAGE_SUFFIXES = {".jpg", ".jpeg", ".png", ".bmp", ".webp", ".tif", ".tiff"}
STREAM_SCHEMES = ("rtsp://", "rtsps://", "http://", "https://", "udp://", "rtmp://", "tcp://")
#: Waits (s) before each attempt to reopen a stream that dropped; then it gives up.
RECONNECT_BACKOFF = (0.5, 1.0, 2.0, 4.0, 8.0)
#: Seconds without data after which a network source is given up as stalled (also OpenCV's open and read timeout).
STALL_S = 30.0
#: Notes kept in a report (the count of skipped frames is always exact).
MAX_NOTES = 5
END_OF_INPUT = "end of input"


class SourceError(RuntimeError):
    """A source that cannot be opened, or that yields no frame at all."""


@dataclass
class ReadReport:
    """What a source delivered: ``read`` frames of ``expected`` (0: not known), ``skipped`` frames or
    images that could not be decoded and were passed over (``notes``: the first few, as text), and
    ``stopped``: why reading ended (``END_OF_INPUT`` for a normal end; empty while it runs)."""

    read: int = 0
    expected: int = 0
    skipped: int = 0
    notes: list[str] = field(default_factory=list)
    stopped: str = ""
    events: int = 0                       # skip events (a stretch of damaged frames is one)

    @property
    def early(self) -> bool:
        """Reading ended before the end of the input (damage, a lost camera or connection)."""
        return bool(self.stopped) and self.stopped != END_OF_INPUT

    def note(self, text: str) -> None:
        self.events += 1
        if len(self.notes) < MAX_NOTES:
            self.notes.append(text)

    def describe(self) -> str:
        of = f" of {self.expected}" if self.expected else ""
        text = f"read {self.read}{of} frames, skipped {self.skipped}"
        if self.notes:
            more = ", ..." if self.events > len(self.notes) else ""
            text += f" ({'; '.join(self.notes)}{more})"
        return f"{text}; stopped: {self.stopped or 'before the end'}"


def describe(spec: str) -> str:
    """``"webcam"``, ``"stream"`` (rtsp/http(s)/udp URL), ``"folder"``, ``"image"`` or ``"video"``
    (files: video or GIF) for a source spec."""
    if spec.isdigit() and not os.path.exists(spec):      # a path that exists is a path ("2024/")
        return "webcam"
    if spec.lower().startswith(STREAM_SCHEMES):
        return "stream"
    p = Path(spec)
    if p.is_dir():
        return "folder"
    if p.suffix.lower() in IMAGE_SUFFIXES:
        return "image"
    return "video"


def listed_sources(list_file: str) -> list[str]:
    """The sources a ``.txt`` file lists, one a line (blank lines and ``#`` comments skipped), a relative path taken
    relative to the list's folder (a bare number is a camera, unless it names a path there). Raises SourceError
    (one line at the command line) when it lists none."""
    base = Path(list_file).parent
    out = []
    for line in Path(list_file).read_text(encoding="utf-8", errors="surrogateescape").splitlines():
        line = line.strip()
        if line and not line.startswith("#"):
            camera = line.isdigit() and not (base / line).exists()
            out.append(line if "://" in line or camera or Path(line).is_absolute() else str(base / line))
    if not out:
        raise SourceError(f"{shown(list_file)} lists no source (one a line; # starts a comment)")
    return out


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

    ``spec`` is a webcam index (``"0"``), a video or GIF file, an image folder (sorted by name), one
    image, or a stream URL. ``fps`` is the source's frame rate where it declares one (else 0),
    ``count`` its frame count where known (else 0), ``position`` the frame number of the frame last
    yielded (a video's own numbering, so skipped frames leave gaps), ``report`` a :class:`ReadReport`.
    ``on_skip(text)`` is called for each skipped frame or image.

    Raises:
        SourceError: the source does not exist, cannot be opened, or holds no readable frame.
    """

    def __init__(self, spec: str, on_skip: Callable[[str], None] | None = None):
        self.spec, self.kind = str(spec), describe(str(spec))
        self.name = redact(shown(self.spec))     # what messages, logs and output files show
        self.fps, self.count, self._cap, self._files = 0.0, 0, None, []
        self.backoff, self.reconnects, self.position = RECONNECT_BACKOFF, 0, -1
        self.time = -1.0                         # s: the container's timestamp of the frame last yielded (-1: none)
        self.rate_drift = 0.0                    # s: the most a timestamp differed from position / fps
        self.on_skip, self.report = on_skip, ReadReport()
        if self.kind == "webcam":
            self._cap = cv2.VideoCapture(int(self.spec))
            if not self._cap.isOpened():
                raise SourceError(f"no camera at index {self.spec}")
        elif self.kind == "stream":
            self._cap = self._open_stream()
            if self._cap is None:
                raise SourceError(f"cannot open the stream {self.name}: unreachable, refused, or not a video stream "
                                  "(check the address, the port and that the server is up)")
            self.count = _frame_count(self._cap)
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
                self._cap = cv2.VideoCapture(for_opencv(self.spec))
                if not self._cap.isOpened():
                    raise SourceError(f"cannot open {self.spec} as a video (corrupt or unsupported format?)")
                self.count = _frame_count(self._cap)
        if self._cap is not None:
            self.fps = float(self._cap.get(cv2.CAP_PROP_FPS) or 0.0)
        self.report.expected = self.count
        # a URL that serves a file (its container declares a frame count) is read as a file
        self.live = self.kind == "webcam" or (self.kind == "stream" and self.count == 0)

    # -- reading ------------------------------------------------------------------------------------------
    def __iter__(self) -> Iterator[np.ndarray]:
        frames = self._images() if self._cap is None else self._video()
        for frame in frames:
            self.report.read += 1
            yield frame
        if self.report.read == 0:
            why = f" ({self.report.stopped})" if self.report.early else ""
            raise SourceError(f"{self.name} holds no readable frame{why} (corrupt file or camera error)")

    def _skip(self, text: str, frames: int = 1) -> None:
        self.report.skipped += frames
        self.report.note(text)
        if self.on_skip is not None:
            self.on_skip(text)

    def _images(self) -> Iterator[np.ndarray]:
        for i, f in enumerate(self._files):
            img = imread(f)
            if img is None:
                self._skip(f"cannot read image {f.name} (corrupt or not an image)")
                continue
            self.position = i
            yield img
        self.report.stopped = END_OF_INPUT

    def _video(self) -> Iterator[np.ndarray]:
        pos, resumed_at = 0, -1                           # the frame number of the next read
        progress = time.monotonic()                       # when the last frame came
        while True:
            ok, frame = self._cap.read()
            if ok:
                self.position, pos = pos, pos + 1
                progress = time.monotonic()
                if not self.live:
                    self._timestamp()
                yield frame
                continue
            if self.live:
                if self._reopen():
                    continue
                self.report.stopped = ("camera lost" if self.kind == "webcam" else
                                       f"the stream dropped and did not come back after {len(self.backoff)} tries")
                return
            if not self.count or pos >= self.count:
                self.report.stopped = END_OF_INPUT
                return
            if self.kind == "stream":                     # a file over the network: a connection, not damage
                if time.monotonic() - progress >= STALL_S:
                    self.report.stopped = (f"the connection stalled at frame {pos} of {self.count}: no data for "
                                           f"{STALL_S:g} s")
                    return
                if resumed_at != pos:                     # dropped: reconnect once at this frame
                    resumed_at = pos
                    if self._resume_remote(pos):
                        continue
                self.report.stopped = (f"the connection dropped at frame {pos} of {self.count} and did not come "
                                       f"back after {len(self.backoff)} tries")
                return
            after = self._seek_past(pos)
            if after is None:
                self.report.stopped = f"ended early at frame {pos} of {self.count}: damage it could not pass"
                return
            self._skip(f"frames {pos}-{after - 1} damaged" if after - 1 > pos else f"frame {pos} damaged",
                       after - pos)
            pos = after

    def _timestamp(self) -> None:
        """The frame just read's own time, from the container (a variable frame rate too)."""
        self.time = float(self._cap.get(cv2.CAP_PROP_POS_MSEC)) / 1000.0
        if self.fps > 0:
            self.rate_drift = max(self.rate_drift, abs(self.time - self.position / self.fps))

    @property
    def constant_rate(self) -> bool:
        """The frames read so far came at the declared rate (their timestamps within half a frame of number / fps)."""
        return self.fps <= 0 or self.rate_drift < 0.5 / self.fps

    def _readable_at(self, n: int) -> bool:
        """Seek to frame ``n``; True if frames ``n`` and ``n + 1`` (or ``n`` alone at the end) decode.
        The capture is left at frame ``n``. Two frames, because after a cut-off end OpenCV "reads"
        one stale frame at any position it is sent to."""
        self._cap.set(cv2.CAP_PROP_POS_FRAMES, n)
        ok = self._cap.read()[0] and (n + 1 >= self.count or self._cap.read()[0])
        self._cap.set(cv2.CAP_PROP_POS_FRAMES, n)
        return bool(ok)

    def _seek_past(self, pos: int) -> int | None:
        """The first readable frame after damage at ``pos``: steps of 1, 2, 4... frames, then a bisection
        between the last bad and the first good one. None if nothing after ``pos`` reads."""
        bad, step, good = pos, 1, None
        while pos + step < self.count:
            if self._readable_at(pos + step):
                good = pos + step
                break
            bad, step = pos + step, step * 2
        if good is None:
            return None
        while good - bad > 1:
            mid = (bad + good) // 2
            if self._readable_at(mid):
                good = mid
            else:
                bad = mid
        self._cap.set(cv2.CAP_PROP_POS_FRAMES, good)
        return good

    # -- streams ------------------------------------------------------------------------------------------
    def _open_stream(self):
        ms = int(STALL_S * 1000)
        cap = cv2.VideoCapture(self.spec, cv2.CAP_FFMPEG,
                               [cv2.CAP_PROP_OPEN_TIMEOUT_MSEC, ms, cv2.CAP_PROP_READ_TIMEOUT_MSEC, ms])
        if cap.isOpened():
            return cap
        cap.release()
        return None

    def _reopen(self) -> bool:
        """Reopen a dropped camera or stream, waiting longer before each try (``RECONNECT_BACKOFF``)."""
        if self._cap is not None:
            self._cap.release()
        for wait in self.backoff:
            time.sleep(wait)
            self._cap = (cv2.VideoCapture(int(self.spec)) if self.kind == "webcam" else self._open_stream())
            if self._cap is not None and self._cap.isOpened():
                self.reconnects += 1
                return True
        self._cap = None
        return False

    def _resume_remote(self, pos: int) -> bool:
        """A file over HTTP stopped before its end: reconnect and go on from frame ``pos``."""
        if not self._reopen():
            return False
        self._cap.set(cv2.CAP_PROP_POS_FRAMES, pos)
        return True

    def close(self) -> None:
        if self._cap is not None:
            self._cap.release()
            self._cap = None

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()


def _frame_count(cap) -> int:
    """The container's frame count, 0 where it declares none (live streams report 0 or -1)."""
    n = cap.get(cv2.CAP_PROP_FRAME_COUNT)
    return int(n) if n and n > 0 else 0


def read_frames(spec: str, limit: int = 0) -> list[np.ndarray]:
    """Up to ``limit`` frames (all with 0) of a finite source, in memory."""
    out = []
    with FrameSource(spec) as src:
        for frame in src:
            out.append(frame)
            if limit and len(out) >= limit:
                break
    return out
