"""One ``ssapose batch`` worker: a process that holds one opened model and turns videos into pose files.

It reads jobs from stdin, one JSON object a line (:class:`Job` fields), and answers each on stdout with progress
lines ``{"progress": frames}`` and one final line ``{"done": true, ...}`` or ``{"done": false, "reason": ...}``.
Outputs are written under temporary names in the output folder and renamed when the video is finished, so a
worker killed mid-video leaves no output that looks complete. Run by ``app.batch.command``; not meant to be run by hand.
"""
from __future__ import annotations

import json
import os
import signal
import sys
import time
from dataclasses import dataclass, field, replace
from pathlib import Path

from engines.run.session import RunSpec


@dataclass(frozen=True)
class Job:
    """video: the source (an absolute path or a URL); outputs: ``engines.sinks.OutputSpec``'s fields as a dict
    (``{"poses": path, "table": path, "video": path}``, those asked for, absolute); stamp: the video's size and
    time stamp taken before it was handed out (``app.batch.manifest.stamp``)."""

    video: str
    outputs: dict = field(default_factory=dict)
    stamp: list | None = None


@dataclass(frozen=True)
class WorkerOptions:
    """How every video is processed: ``run``, the settings of ``ssapose video`` (``engines.run.session.RunSpec``; its
    source is each job's video), whether to track, and ``smooth``: the offline smoothing of each finished pose file
    and table (``ssapose.track_smoothing.SmoothConfig``'s fields; None: none)."""

    run: RunSpec
    track: bool = False
    smooth: dict | None = None
    tracker: dict | None = None                       # TrackerConfig's fields (None: the defaults)

    def to_json(self) -> str:
        """The options for the worker process's command line (:meth:`from_json` reads them back)."""
        return json.dumps({"run": self.run.to_dict(), "track": self.track, "smooth": self.smooth,
                           "tracker": self.tracker})

    @classmethod
    def from_json(cls, text: str) -> "WorkerOptions":
        d = json.loads(text)
        return cls(RunSpec.from_dict(d["run"]), d["track"], d.get("smooth"), d.get("tracker"))

    def spec(self, video: str = "") -> RunSpec:
        """The run of one video under these options."""
        return replace(self.run, source=video)

    def open_model(self):
        """The model opened once for every video of a worker (``engines.run.session.open_backend``)."""
        from engines.run.session import open_backend

        return open_backend(self.run)


def smooth_outputs(outputs, smooth: dict) -> None:
    """A finished video's pose file and table smoothed in place (each rewritten whole, then renamed over)."""
    from engines.sinks.smoothed import smooth_file
    from ssapose.track_smoothing import SmoothConfig

    config = SmoothConfig(**smooth)
    for path in (outputs.poses, outputs.table):
        if path and Path(path).suffix.lower() in (".jsonl", ".csv"):
            smooth_file(path, path, config)


def process(job: Job, opts: WorkerOptions, backend, report=lambda frames: None) -> dict:
    """Run one video through the pipeline on an opened ``backend``, its outputs staged under temporary names and
    renamed when it is finished (removed if it fails); returns its summary (frames, seconds). Raises with the
    reason when nothing could be read or an output could not be written."""
    from engines.run.session import open_run
    from engines.sinks import OutputSpec
    from ssapose.tracking import Tracker, TrackerConfig

    t0 = time.perf_counter()
    outputs = OutputSpec(**job.outputs)
    tracker = Tracker(TrackerConfig(**(opts.tracker or {}))) if opts.track or outputs.table else None
    run = open_run(opts.spec(job.video), tracker, outputs, backend=backend, staged=True)   # the backend stays open
    ok = False
    try:
        if run.live:
            raise ValueError(f"{job.video} is a live source; batch takes files")
        n = 0
        for _ in run.results():
            n += 1
            if n % 50 == 0:
                report(n)
        if n == 0:
            why = run.failure.__cause__ if run.failure else run.report.describe()
            raise ValueError(f"no frame could be read ({why})")
        ok = True
    finally:
        run.close(commit=ok)
    if opts.smooth:
        smooth_outputs(outputs, opts.smooth)
    r = run.report
    return {"frames": n, "expected": r.expected, "skipped": r.skipped, "seconds": time.perf_counter() - t0,
            "stopped": r.stopped}


def main() -> int:
    # The supervisor ends a worker with SIGTERM (Ctrl-C reaches the supervisor alone): leave through the finally
    # blocks, which remove the unfinished outputs.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    opts = WorkerOptions.from_json(sys.argv[1])
    backend = opts.open_model()
    out = sys.stdout

    def say(obj: dict) -> None:
        try:
            out.write(json.dumps(obj) + "\n")
            out.flush()
        except BrokenPipeError:                        # the supervisor is gone: nobody to work for
            sys.exit(0)

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


__all__ = ["Job", "WorkerOptions", "process"]
