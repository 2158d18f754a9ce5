"""The threaded video pipeline: capture -> preprocess -> inference -> decode -> overlay, one thread per stage.

Stages are joined by bounded queues. In file mode every frame goes through, in
order (puts block). In live mode the capture stage keeps only the newest frame
when inference is busy, so latency stays bounded; dropped frames are counted.
A worker's exception stops the pipeline and is raised to the caller, with its
message, by :meth:`Pipeline.results`; an exception of the source itself (a camera unplugged)
ends the stream instead: the frames already captured still come out, then
:class:`SourceFailed` is raised. ``stop()`` (or the end of the stream)
shuts every thread down; ``join`` never hangs on a full queue.
"""
from __future__ import annotations

import itertools
import math
import queue
from collections import deque
import sys
import threading
import time
from dataclasses import asdict, dataclass
from typing import Callable, Iterable, Iterator

import numpy as np

from engines.run.height_schedule import HeightSchedule
from engines.run.region import RegionSchedule
from engines.run.types import FrameResult, InFlight, PipelineConfig
from engines.run.ordering import Reorder, position_of, source_time
from engines.run.summary import RunSummary
from engines.base import Backend
from engines.run.step import FrameStep, Timings
from ssapose.overlay import draw_fields, draw_hud, draw_poses
from ssapose.poses import Poses
from ssapose.preprocess import letterbox_of

_END = object()
#: Frames whose stage times ``Pipeline.summary`` keeps.
STAGE_WINDOW = 10_000


class SourceFailed(RuntimeError):
    """The source raised while frames were being read; every frame captured before came out."""


@dataclass
class Stats:
    captured: int = 0
    dropped: int = 0
    processed: int = 0
    second_pass: int = 0                      # frames that got --input-size auto's second pass


class Pipeline:
    """Run ``frames`` through ``backend``; iterate :meth:`results` for :class:`FrameResult` s.

    Args:
        frames: any iterable of BGR frames (``ssapose.sources.FrameSource``, a list...).
        backend: an opened backend.
        config: pipeline options.
        tracker: optional callable ``(Poses, timestamp) -> (Poses, ids)`` run in the overlay stage.
    """

    def __init__(self, frames: Iterable[np.ndarray], backend: Backend, config: PipelineConfig = PipelineConfig(),
                 tracker: Callable | None = None):
        self.frames, self.backend, self.config, self.tracker = frames, backend, config, tracker
        self.estimator = FrameStep(backend, config.input_size, config.decoder, flip=config.flip,
                                       scales=config.scales, auto=config.auto)
        self.schedule = HeightSchedule(config.auto, config.live) if config.auto is not None else None
        self.style = config.style
        self.streams = max(1, int(getattr(backend, "streams", 1)))
        self.region = self._region_schedule(config)
        self.show_fields = config.show_fields
        self.shown_score = self.estimator.decoder.shown_score    # the app's slider changes it while running
        self.stats = Stats()
        self._stop = threading.Event()
        self._error: BaseException | None = None
        self.source_error: BaseException | None = None
        self._positions: dict[int, tuple] = {}    # sequence -> (the source's frame number, its time), in flight
        self._resumed = threading.Event()
        self._resumed.set()
        self._paused_at = 0.0
        self.reached_max = False
        size = 1 if config.live else config.queue_size
        self._q = [queue.Queue(maxsize=size) for _ in range(4)] + [queue.Queue(maxsize=config.queue_size)]
        # one inference thread per request the backend can run at once, each with its own request
        self._infer_left = self.streams
        self._lock = threading.Lock()
        stages = (self._capture, self._preprocess, *([self._infer] * self.streams), self._decode, self._overlay)
        self._threads = [threading.Thread(target=self._guard, args=(fn,), name=f"ssapose-{fn.__name__}", daemon=True)
                         for fn in stages]
        self._t0 = 0.0
        self._switch: float | None = None
        self._fps_times: list[float] = []
        self._last_overlay = 0.0
        # the last STAGE_WINDOW frames' stage times: a camera can run for hours
        self._capture_ms: deque = deque(maxlen=STAGE_WINDOW)
        self._timings: deque = deque(maxlen=STAGE_WINDOW)
        self._t_end = 0.0

    def _region_schedule(self, config: PipelineConfig) -> RegionSchedule | None:
        """Region-of-interest inference: decided ``streams + 2`` frames behind (those have left the network), on
        the output grid (crops start on a cell)."""
        if config.region is None:
            return None
        if config.scales != (1.0,) or config.auto is not None:
            raise ValueError("region-of-interest inference runs one view at one height: not with test-time "
                             "scales or an automatic input size")
        pre = self.backend.info.config.preprocess
        align = math.lcm(pre.pad_to, self.backend.info.stride)
        return RegionSchedule(config.region, config.live, self.streams + 2, align, config.input_size, pre)

    def settings(self) -> dict:
        """How this pipeline makes its poses (``FrameStep.settings``, with the shown score as it is now), for an
        output's header."""
        roi = None if self.region is None else asdict(self.region.config)
        return dict(self.estimator.settings(), shown_score=self.shown_score, roi=roi)

    # -- plumbing -------------------------------------------------------------------------------
    def _put(self, q: queue.Queue, item) -> bool:
        while not self._stop.is_set():
            try:
                q.put(item, timeout=0.05)
                return True
            except queue.Full:
                continue
        return False

    def _get(self, q: queue.Queue):
        while not self._stop.is_set():
            try:
                return q.get(timeout=0.05)
            except queue.Empty:
                continue
        return _END

    def _guard(self, fn) -> None:
        try:
            fn()
        except BaseException as e:  # noqa: BLE001 - handed to the caller
            if self._error is None:
                self._error = e
            self._stop.set()
            self._release()

    def _release(self) -> None:
        """Free a stage that waits on a schedule (the automatic height's, the region's): the pipeline stops."""
        for schedule in (self.schedule, self.region):
            if schedule is not None:
                schedule.close()

    # -- stages -------------------------------------------------------------------------------------
    def _capture(self) -> None:
        q = self._q[0]
        frames = iter(self.frames)
        for n in itertools.count():
            if self.config.max_frames and n >= self.config.max_frames:
                self.reached_max = True
                break
            while not self._resumed.wait(0.05):          # paused: read nothing, and the clock stands still
                if self._stop.is_set():
                    break
            t0 = time.perf_counter()
            try:
                frame = next(frames, _END)
            except Exception as e:  # noqa: BLE001 - the source failed: what was captured still goes through
                self.source_error = e
                break
            if frame is _END or self._stop.is_set():
                break
            self._capture_ms.append((time.perf_counter() - t0) * 1e3)
            self._positions[n] = position_of(self.frames, n), source_time(self.frames)
            if self.config.pace_fps > 0 and self._stop.wait(max(0.0, self._due(n) - time.perf_counter())):
                break                             # a file at its own rate: the n-th frame at n / fps
            if frame is None or getattr(frame, "size", 0) == 0:
                raise ValueError(f"frame {self._positions[n][0]} is empty (zero-size)")
            item = InFlight(n, time.perf_counter() - self._t0, frame)
            self.stats.captured += 1
            if self.config.live:
                self._put_newest(q, item)
            elif not self._put(q, item):
                return
        self._put(q, _END)

    def _put_newest(self, q: queue.Queue, item: InFlight) -> None:
        """Live mode: queue ``item``, dropping the frame that still waits there (it is stale now)."""
        while True:
            try:
                q.put_nowait(item)
                return
            except queue.Full:
                try:
                    stale = q.get_nowait()
                except queue.Empty:
                    continue
                if stale is _END:                     # never drop the end of the stream
                    q.put(stale)
                    return
                self._positions.pop(stale.sequence, None)
                with self._lock:
                    self.stats.dropped += 1

    def _preprocess(self) -> None:
        while (item := self._get(self._q[0])) is not _END:
            if self.region is not None:
                self._prepare_region(item)
            elif self.estimator.scales == (1.0,):        # several scales: the inference stage prepares each
                item.x, item.box = self.estimator.prepare(item.frame, item.timings)
            if self.config.live:                          # a frame waiting for the network is replaced by a newer one
                self._put_newest(self._q[1], item)
            elif not self._put(self._q[1], item):
                return
        self._put(self._q[1], _END)

    def _prepare_region(self, item: InFlight) -> None:
        """The network input of the part of the frame where people are (``engines.run.region``), or none."""
        h, w = item.frame.shape[:2]
        index, at = self._positions.get(item.sequence, (item.sequence, -1.0))
        win = self.region.window(item.sequence, self._clock(index, at, item.timestamp), h, w)
        if win.kind == "skip":
            item.skip, item.box = True, letterbox_of(h, w, self.estimator.input_size, self.region.pre)
        else:
            item.x, item.box = self.estimator.prepare(item.frame, item.timings, win.columns, win.size or None)

    def _infer(self) -> None:
        """Runs the network only, so that the slowest stage does nothing else. ``streams`` of these run at
        once (frames may then finish out of order: the decode stage puts them back in order)."""
        while (item := self._get(self._q[1])) is not _END:
            if item.skip:
                pass
            elif item.x is None:
                item.fields, item.box = self.estimator.infer(item.frame, item.timings)
            else:
                item.fields = self.estimator.network(item.x, item.timings)
            item.averaged, item.scale = self.estimator.averages, item.box.scale
            if self.schedule is not None and self.schedule.second_pass(item.sequence):
                item.fields, item.box = self.estimator.second_pass(item.frame, item.fields, item.box, item.timings)
                item.averaged = True
                with self._lock:
                    self.stats.second_pass += 1
            item.x = None                                 # the input is not needed any more
            if not self._put(self._q[2], item):
                return
        self._put(self._q[1], _END)                   # for the sibling inference threads
        with self._lock:
            self._infer_left -= 1
            last = self._infer_left == 0
        if last:
            self._put(self._q[2], _END)

    def _decode(self) -> None:
        order = Reorder(self.config.live)
        while (item := self._get(self._q[2])) is not _END:
            ready = order.push(item.sequence, item)
            if self.config.live and not ready:       # stale: a newer frame came out first
                self._positions.pop(item.sequence, None)
            for done in ready:
                done.poses = Poses.empty() if done.skip else self.estimator.decode(done.fields, done.box,
                                                                                   done.timings, done.averaged)
                if not self._put(self._q[3], done):
                    return
            self.stats.dropped += order.dropped
            order.dropped = 0
        self._put(self._q[3], _END)

    def _overlay(self) -> None:
        while (item := self._get(self._q[3])) is not _END:
            i, ts, poses, t = item.sequence, item.timestamp, item.poses, item.timings
            index, at = self._positions.pop(i, (i, -1.0))
            t0 = time.perf_counter()
            raw = None
            clock = self._clock(index, at, ts)
            if self.tracker is not None:
                raw = poses
                poses, _ = (self.tracker(poses, clock, item.frame) if getattr(self.tracker, "wants_frame", False)
                            else self.tracker(poses, clock))             # ids in poses.ids
            if self.schedule is not None:
                self.schedule.observe(i, poses, item.scale)
            keep = poses.shown(self.shown_score)                  # the tracker and the schedule saw every pose
            poses, raw = poses.take(keep), None if raw is None else raw.take(keep)
            if self.region is not None:
                self.region.observe(i, poses)
            self._tick()
            image = None
            if self.config.draw:
                image = item.frame.copy()
                if self.show_fields and item.fields is not None:
                    draw_fields(image, item.fields, item.box.scale, self.backend.info.stride, x0=item.box.x0)
                image = draw_poses(image, poses, self.style, poses.ids)
                if self.config.hud and self.style.show_fps:
                    draw_hud(image, self._hud_lines(t, len(poses)))
            t.overlay = (time.perf_counter() - t0) * 1e3
            self._last_overlay = t.overlay
            latency = (time.perf_counter() - self._t0 - ts) * 1e3
            self.stats.processed += 1
            self._timings.append(t)
            self._t_end = time.perf_counter()
            if not self._put(self._q[4], FrameResult(index, clock, poses, t, item.frame, image, raw, latency, ts, i)):
                return
        self._put(self._q[4], _END)

    def _clock(self, index: int, at: float, ts: float) -> float:
        """A frame's time in seconds on the source's clock: a file's own timestamp (``at``, a variable rate too),
        else its number over the file's rate, else (live) when it was captured."""
        if self.config.clock_fps > 0:
            return at if at >= 0 else index / self.config.clock_fps
        return ts

    def _tick(self) -> None:
        now = time.perf_counter()
        self._fps_times = [x for x in self._fps_times if now - x < 2.0] + [now]

    def fps(self) -> float:
        """Frames per second delivered by the overlay stage over the last 2 s."""
        times = self._fps_times
        span = times[-1] - times[0] if len(times) > 1 else 0.0
        return (len(times) - 1) / span if span > 0 else 0.0

    def _hud_lines(self, t: Timings, people: int) -> list[str]:
        return [f"FPS {self.fps():5.1f}  people {people}  dropped {self.stats.dropped}",
                f"pre {t.preprocess:4.1f}  infer {t.inference:5.1f}  decode {t.decode:4.1f}  "
                f"draw {self._last_overlay:4.1f} ms"]

    # -- control ------------------------------------------------------------------------------------
    def start(self) -> "Pipeline":
        # Hand the GIL over more often than the default 5 ms, so that the inference
        # thread is not kept waiting while the decoder runs Python code.
        self._switch = sys.getswitchinterval()
        sys.setswitchinterval(min(self._switch, self.config.switch_interval))
        self._t0 = time.perf_counter()
        for th in self._threads:
            th.start()
        return self

    def _due(self, sequence: int) -> float:
        """When (perf_counter s) the frame at ``sequence`` is due, for a file played at its own rate."""
        return self._t0 + sequence / self.config.pace_fps

    def pause(self, on: bool) -> None:
        """Pause or resume capture. A paced file keeps its own clock: after a pause it goes on from
        the frame where it stopped, at its own rate, instead of catching up on the time paused."""
        if on and self._resumed.is_set():
            self._paused_at = time.perf_counter()
            self._resumed.clear()
        elif not on and not self._resumed.is_set():
            self._t0 += time.perf_counter() - self._paused_at
            self._resumed.set()

    def results(self) -> Iterator[FrameResult]:
        """Results in frame order until the stream ends; raises a worker's exception."""
        if not self._threads[0].is_alive() and self._t0 == 0.0:
            self.start()
        try:
            while True:
                item = self._get(self._q[4])
                if item is _END:
                    break
                if self.config.pace_fps > 0:      # after a pause too: frames come at the file's rate, no burst
                    self._stop.wait(max(0.0, self._due(item.sequence) - time.perf_counter()))
                yield item
        finally:
            self.stop()
        if self._error is not None:
            raise RuntimeError(f"pipeline stage failed: {self._error}") from self._error
        if self.source_error is not None:
            raise SourceFailed(f"the source failed after {self.stats.captured} frames: "
                               f"{self.source_error}") from self.source_error

    def stop(self, timeout: float = 5.0) -> None:
        """Stop every stage and join the threads (they poll the stop flag every 50 ms)."""
        self._stop.set()
        self._release()
        for th in self._threads:
            if th.is_alive() and th is not threading.current_thread():
                th.join(timeout)
        if self._switch is not None:
            sys.setswitchinterval(self._switch)
            self._switch = None

    def summary(self) -> "RunSummary":
        """Throughput of the run so far, and each stage's median time over its last ``STAGE_WINDOW`` frames."""
        stages = {"capture": float(np.median(self._capture_ms)) if self._capture_ms else 0.0}
        for k in ("preprocess", "inference", "decode", "overlay"):
            stages[k] = float(np.median([getattr(t, k) for t in self._timings])) if self._timings else 0.0
        wall = self._t_end - self._t0 if self._timings else 0.0
        return RunSummary(self.stats.processed, wall, stages, self.streams)

    def alive_threads(self) -> list[str]:
        return [th.name for th in self._threads if th.is_alive()]

