"""The one place that assembles a run: a source, a backend, the threaded pipeline over them and the run's outputs.

Every entry point opens its runs here (``ssapose video``, ``batch``'s workers, the app, ``Estimator.stream``), so a
source, a model, the pipeline's clocks, the outputs and their guarantees are set up once.
"""
from __future__ import annotations

from dataclasses import asdict, dataclass, field, replace
from typing import Callable, Iterator

from engines.base import Backend
from engines.run.pipeline import Pipeline, PipelineConfig, SourceFailed
from engines.run.track_stats import TrackStats
from engines.run.types import FrameResult
from engines.sinks import OutputSpec, Sinks, check_outputs, run_header
from ssapose.sources import FrameSource, ReadReport, looping


#: Requests in flight for a live source when the user names none: one request at a time on all cores has the
#: lowest capture-to-result latency.
LIVE_STREAMS = 1


class ModelOpenError(RuntimeError):
    """The model file could not be opened (missing, damaged, or its backend is not installed)."""


@dataclass(frozen=True)
class RunSpec:
    """What to run and how.

    source: file, folder, image, camera index or stream URL; model: a model file; backend, device, threads,
    streams: as ``engines.create_backend`` takes them (None: auto); live: drop stale frames (None: as the source
    says); realtime: play a file at its own frame rate (the app) instead of as fast as possible; loop: start a file
    again at its end; pipeline: everything else (input height, decoder, test-time views, overlay, frame limit), as
    :class:`engines.run.pipeline.PipelineConfig` defines it; its ``live``, ``pace_fps`` and ``clock_fps`` are set by
    :func:`open_run` from the source and the three fields above."""

    source: str
    model: str
    backend: str = "auto"
    device: str = "cpu"
    threads: int | None = None
    streams: int | None = None
    live: bool | None = None
    realtime: bool = False
    loop: bool = False
    pipeline: PipelineConfig = field(default_factory=PipelineConfig)

    def to_dict(self) -> dict:
        """The spec as plain JSON-ready values (for a worker process; :meth:`from_dict` reads it back)."""
        return asdict(self)               # the pipeline's settings too, as PipelineConfig.to_dict gives them

    @classmethod
    def from_dict(cls, d: dict) -> "RunSpec":
        """The spec :meth:`to_dict` gave, after a JSON trip."""
        return cls(**dict(d, pipeline=PipelineConfig.from_dict(d["pipeline"])))


class Run:
    """An opened run: a source, a model and the threaded pipeline over them, with the run's outputs.

    Iterate :meth:`results` for every processed frame (:class:`FrameResult`), each already written to the outputs;
    then :meth:`close` (or use ``with``). :attr:`report` says what was read and why reading stopped, also when the
    source failed mid-stream (:attr:`failure`); :attr:`stopped` a reason the caller gave (a closed window)."""

    def __init__(self, source: FrameSource, backend: Backend, pipeline: Pipeline, live: bool,
                 owns_backend: bool = True, sinks: Sinks | None = None, stats: TrackStats | None = None):
        self.source, self.backend, self.pipeline, self.live = source, backend, pipeline, live
        self.owns_backend, self.sinks, self.stats = owns_backend, sinks, stats
        self.failure: BaseException | None = None           # the source failed after some frames
        self.stopped = ""                                   # why the caller stopped early (empty: it did not)
        self._closed = False

    @property
    def report(self) -> ReadReport:
        """What the source delivered and why reading stopped (the caller's reason, the source's failure, the frame
        limit, the end of the input or damage it could not pass)."""
        r = self.source.report
        if self.stopped:
            return replace(r, stopped=self.stopped)
        if self.pipeline.reached_max:
            return replace(r, stopped=f"frame limit {self.pipeline.config.max_frames} reached")
        if self.failure is not None:
            return replace(r, stopped=f"the source failed: {self.failure.__cause__ or self.failure}")
        return r

    @property
    def ended_early(self) -> bool:
        """The source ended before its end by itself (damage it could not pass, a lost camera or connection, a
        failure), not by the caller's choice (a frame limit, a closed window)."""
        return not self.stopped and (self.failure is not None or self.source.report.early)

    def rate(self) -> str:
        """Whether a file's frames came at its declared rate (empty for a live source or one without a rate): the
        times written are the container's timestamps either way."""
        src = self.source
        if self.live or src.fps <= 0 or src.time < 0:
            return ""
        if src.constant_rate:
            return f"constant, {src.fps:g} fps"
        return (f"variable: timestamps up to {src.rate_drift:.2f} s from frame number / {src.fps:g} fps (times are the "
                "container's timestamps)")

    @property
    def processed(self) -> int:
        return self.pipeline.stats.processed

    def results(self) -> Iterator[FrameResult]:
        """Every processed frame, in order (live mode: the freshest), written to the outputs before it is yielded.
        A source that fails mid-stream ends the iteration (:attr:`failure`, :attr:`report`); a failure to write an
        output raises :class:`engines.sinks.SinkError`."""
        try:
            for r in self.pipeline.results():
                if self.sinks is not None:
                    self.sinks.write(r)
                if self.stats is not None:
                    self.stats.add(r.index, r.raw_poses, r.poses, r.poses.ids)
                yield r
        except SourceFailed as e:
            self.failure = e
        finally:
            self.pipeline.stop()

    def close(self, commit: bool = True) -> None:
        """Stop the pipeline and finish the outputs (staged ones renamed when ``commit``, else removed), then release
        the source and the backend. Raises :class:`engines.sinks.SinkError` if an output could not be finished."""
        if self._closed:
            return
        self._closed = True
        self.pipeline.stop()
        try:
            if self.sinks is not None:
                rate = self.rate()
                meta = {"frame_rate": rate} if rate else {}
                if self.stats is not None:                  # made only when a tracker runs
                    meta["tracking"] = self.stats.describe(self.pipeline.tracker).removeprefix("tracking: ")
                self.sinks.footer(meta)
                self.sinks.close(commit=commit)
        finally:
            self.source.close()
            if self.owns_backend:
                self.backend.close()

    def __enter__(self) -> "Run":
        return self

    def __exit__(self, kind, e, tb) -> None:
        self.close(commit=e is None)


def open_backend(spec: RunSpec) -> Backend:
    """``spec``'s model, opened (a model that fails raises :class:`ModelOpenError`)."""
    from engines import create_backend

    try:
        return create_backend(spec.model, spec.backend, device=spec.device, threads=spec.threads,
                              streams=spec.streams)
    except Exception as e:
        raise ModelOpenError(f"cannot open the model {spec.model}: {e}") from e


def open_run(spec: RunSpec, tracker: Callable | None = None, outputs: OutputSpec = OutputSpec(),
             on_skip: Callable[[str], None] | None = None, halted: Callable[[], bool] | None = None,
             backend: Backend | None = None, staged: bool = False, track_stats: bool = False) -> Run:
    """Open a run: check ``outputs`` (before anything is opened), open ``spec``'s source, then its model (a model
    that fails raises :class:`ModelOpenError`, and the source is closed), build the pipeline and open the outputs.

    tracker: run in the overlay stage; outputs: what the run writes (``engines.sinks``); on_skip: told of every
    damaged frame or corrupt image skipped; halted: ends a looping file; backend: an opened backend shared with
    other runs (left open by :meth:`Run.close`); staged: outputs under temporary names until :meth:`Run.close`
    commits them; track_stats: collect ID switches and jitter (:attr:`Run.stats`; the table's footer records
    them)."""
    check_outputs(outputs, [spec.source])
    src = FrameSource(spec.source, on_skip=on_skip)
    live = src.live if spec.live is None else spec.live
    owns = backend is None
    if owns:
        if live and spec.streams is None:
            spec = replace(spec, streams=LIVE_STREAMS)
        try:
            backend = open_backend(spec)
        except ModelOpenError:
            src.close()
            raise
    fps = 0.0 if live else src.fps
    cfg = replace(spec.pipeline, live=live,
                  clock_fps=fps,                              # the tracker runs on the file's own clock
                  pace_fps=fps if spec.realtime else 0.0,
                  draw=spec.pipeline.draw or bool(outputs.video))
    frames = looping(spec.source, halted or (lambda: False)) if spec.loop and not live else src
    pipe = Pipeline(frames, backend, cfg, tracker)
    sinks = None
    try:
        if outputs:
            describe = getattr(tracker, "describe", None)
            head = run_header(spec.source, spec.model, src.fps, pipe.settings(), describe() if describe else None)
            sinks = Sinks(outputs, head, src.fps, staged_names=staged)
    except BaseException:
        src.close()
        if owns:
            backend.close()
        raise
    stats = TrackStats() if track_stats and tracker is not None else None
    return Run(src, backend, pipe, live, owns, sinks, stats)
