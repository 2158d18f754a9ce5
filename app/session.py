"""One place that assembles a run: a source, a backend and the threaded pipeline over them.

``ssapose video`` and the desktop app both open their runs here, so a source, a model and the
pipeline's clocks are set up the same way in both.
"""
from __future__ import annotations

from dataclasses import asdict, dataclass, field, replace
from typing import Callable

from engines.base import Backend
from ssapose.sources import FrameSource, looping

from app.pipeline import Pipeline, PipelineConfig


#: Requests in flight for a live source when the user names none: one request at a time on all cores has the
#: lowest capture-to-result latency (BENCHMARKS.md, "Every core busy").
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
    :class:`app.pipeline.PipelineConfig` defines it; its ``live``, ``pace_fps`` and ``clock_fps`` are set by
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


@dataclass
class Run:
    """An opened run: close it (or use ``with``) to release the source and the backend."""

    source: FrameSource
    backend: Backend
    pipeline: Pipeline
    live: bool
    owns_backend: bool = True              # False: a backend shared with other runs, closed by its owner

    def close(self) -> None:
        self.pipeline.stop()
        self.source.close()
        if self.owns_backend:
            self.backend.close()

    def __enter__(self) -> "Run":
        return self

    def __exit__(self, *exc) -> None:
        self.close()


def open_backend(spec: RunSpec) -> Backend:
    """``spec``'s model, opened (a model that fails raises :class:`ModelOpenError`)."""
    from engines import create_backend

    try:
        return create_backend(spec.model, spec.backend, device=spec.device, threads=spec.threads,
                              streams=spec.streams)
    except Exception as e:
        raise ModelOpenError(f"cannot open the model {spec.model}: {e}") from e


def open_run(spec: RunSpec, tracker: Callable | None = None, on_skip: Callable[[str], None] | None = None,
             halted: Callable[[], bool] | None = None, backend: Backend | None = None) -> Run:
    """Open ``spec``'s source, then its model (a model that fails raises :class:`ModelOpenError`, and
    the source is closed), and build the pipeline. ``tracker``: run in the overlay stage; ``on_skip``:
    told of every damaged frame or corrupt image skipped; ``halted``: ends a looping file; ``backend``: an
    opened backend shared with other runs (left open by :meth:`Run.close`)."""
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
                  pace_fps=fps if spec.realtime else 0.0)
    frames = looping(spec.source, halted or (lambda: False)) if spec.loop and not live else src
    return Run(src, backend, Pipeline(frames, backend, cfg, tracker), live, owns)
