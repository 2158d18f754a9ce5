"""One ``ssapose batch`` worker: a process that holds one opened model and turns videos into pose files.

It reads jobs from stdin, one JSON object a line (:class:`Job` fields), and answers each on stdout with progress
lines ``{"progress": frames}`` and one final line ``{"done": true, ...}`` or ``{"done": false, "reason": ...}``.
Outputs are written under temporary names in the output folder and renamed when the video is finished, so a
worker killed mid-video leaves no output that looks complete. Run by ``app.batch``; not meant to be run by hand.
"""
from __future__ import annotations

import json
import os
import sys
import time
from dataclasses import dataclass, field, replace
from pathlib import Path

from app.session import RunSpec


@dataclass(frozen=True)
class Job:
    """video: the source; outputs: ``{"json": path, "csv": path, "mp4": path}`` (those asked for)."""

    video: str
    outputs: dict = field(default_factory=dict)


@dataclass(frozen=True)
class WorkerOptions:
    """How every video is processed: ``run``, the settings of ``ssapose video`` (``app.session.RunSpec``; its
    source is each job's video), and whether to track."""

    run: RunSpec
    track: bool = False

    def to_json(self) -> str:
        """The options for the worker process's command line (:meth:`from_json` reads them back)."""
        return json.dumps({"run": self.run.to_dict(), "track": self.track})

    @classmethod
    def from_json(cls, text: str) -> "WorkerOptions":
        d = json.loads(text)
        return cls(RunSpec.from_dict(d["run"]), d["track"])

    def spec(self, video: str = "", draw: bool = False) -> RunSpec:
        """The run of one video under these options."""
        return replace(self.run, source=video, pipeline=replace(self.run.pipeline, draw=draw))

    def open_model(self):
        """The model opened once for every video of a worker (``app.session.open_backend``)."""
        from app.session import open_backend

        return open_backend(self.run)


def partial(path: str) -> Path:
    """Where an output is written until its video is finished."""
    p = Path(path)
    return p.with_name(f".{p.name}.partial{p.suffix}")


def process(job: Job, opts: WorkerOptions, backend, report=lambda frames: None) -> dict:
    """Run one video through the pipeline on an opened ``backend``; returns its summary (frames, seconds)."""
    from app.outputs import JsonLinesWriter, TableWriter
    from app.pipeline import SourceFailed
    from app.session import open_run
    from app.video_out import VideoOut
    from ssapose.tracking import Tracker

    t0 = time.perf_counter()
    tracker = Tracker() if opts.track or "csv" in job.outputs else None
    draw = "mp4" in job.outputs
    run = open_run(opts.spec(job.video, draw), tracker, backend=backend)      # the backend stays open
    src, pipe = run.source, run.pipeline
    if run.live:
        run.close()
        raise ValueError(f"{job.video} is a live source; batch takes files")
    tmp = {k: partial(v) for k, v in job.outputs.items()}
    writers = []
    try:
        poses = JsonLinesWriter(str(tmp["json"]), job.video, opts.run.model, src.fps,
                                pipe.settings()) if "json" in tmp else None
        table = TableWriter(str(tmp["csv"]), {"source": job.video, "model": opts.run.model, "fps": src.fps,
                                               **pipe.settings()}) \
            if "csv" in tmp else None
        video = VideoOut(str(tmp["mp4"]), src.fps) if draw else None
        writers = [w for w in (poses, table, video) if w is not None]
        n = 0
        try:
            for r in pipe.results():
                if video is not None:
                    video.write(r.image)
                for w in (poses, table):
                    if w is not None:
                        w.write(r, src.fps)
                n += 1
                if n % 50 == 0:
                    report(n)
        except SourceFailed as e:
            if n == 0:
                raise ValueError(f"nothing readable: {e.__cause__}") from e
        if n == 0:
            raise ValueError(f"no frame could be read ({src.report.describe()})")
        for w in writers:
            w.close()
        writers = []
        for k, p in tmp.items():
            os.replace(p, job.outputs[k])
        return {"frames": n, "expected": src.count, "skipped": src.report.skipped, "seconds": time.perf_counter() - t0,
                "stopped": src.report.stopped}
    finally:
        for w in writers:
            w.close()
        for p in tmp.values():
            if p.exists():
                p.unlink()
        run.close()


def main() -> int:
    opts = WorkerOptions.from_json(sys.argv[1])
    backend = opts.open_model()
    out = sys.stdout

    def say(obj: dict) -> None:
        out.write(json.dumps(obj) + "\n")
        out.flush()

    say({"ready": True})
    for line in sys.stdin:
        if not line.strip():
            continue
        job = Job(**json.loads(line))
        try:
            summary = process(job, opts, backend, report=lambda n: say({"progress": n}))
            say({"done": True, **summary})
        except Exception as e:  # noqa: BLE001 - reported to the supervisor, which records it
            say({"done": False, "reason": f"{type(e).__name__}: {e}"})
    backend.close()
    return 0


if __name__ == "__main__":
    sys.stdout = os.fdopen(os.dup(1), "w")            # the protocol's channel; prints of libraries go to stderr
    os.dup2(2, 1)
    sys.exit(main())


__all__ = ["Job", "WorkerOptions", "process", "partial"]
