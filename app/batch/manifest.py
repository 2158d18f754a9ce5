"""The output folder's manifest of ``ssapose batch``: which videos are done, which failed and why."""
from __future__ import annotations

import json
import os
import threading
from pathlib import Path

MANIFEST = "ssapose-batch.json"
#: A failed video (unreadable, its worker killed) is tried this many more times before it is recorded.
RETRIES = 1


class Manifest:
    """The output folder's record of every video: ``{video: {"status": "done"|"failed", ...}}``."""

    def __init__(self, folder: Path):
        self.path = folder / MANIFEST
        self.lock = threading.Lock()
        self.entries: dict[str, dict] = {}
        if self.path.is_file():
            try:
                self.entries = json.loads(self.path.read_text()).get("videos", {})
            except ValueError:
                self.entries = {}              # a damaged manifest: everything is redone

    def done(self, video: str, outputs: dict) -> bool:
        """Was ``video`` finished, unchanged since, with every output still there?"""
        e = self.entries.get(video)
        return bool(e and e.get("status") == "done" and e.get("source") == stamp(video)
                    and e.get("outputs") == outputs and all(Path(p).is_file() for p in outputs.values()))

    def record(self, video: str, entry: dict) -> None:
        """Store ``video``'s entry and rewrite the manifest atomically (a kill never leaves half of it)."""
        with self.lock:
            self.entries[video] = entry
            tmp = self.path.with_name(f".{self.path.name}.partial")
            try:
                tmp.write_text(json.dumps({"ssapose_batch": 1, "videos": self.entries}, indent=1))
                os.replace(tmp, self.path)
            finally:
                tmp.unlink(missing_ok=True)


    def settle(self, job, result: dict) -> dict:
        """Record a finished job (``app.batch.worker.Job``) with its worker's ``result`` and return its entry: done,
        or failed with the reason. A video whose size or time stamp changed since ``job.stamp`` (taken before it
        was handed out) failed: its poses may be of the old content. A manifest that cannot be written fails the
        video too (the reason says why; the entry is kept in memory for the summary)."""
        entry = {"status": "done" if result.get("done") else "failed", "source": job.stamp, "outputs": job.outputs,
                 **{k: v for k, v in result.items() if k != "done"}}
        if entry["status"] == "done" and stamp(job.video) != job.stamp:
            entry.update(status="failed", reason="the video changed while it was processed; run again to process "
                                                 "it as it is now")
        try:
            self.record(job.video, entry)
        except OSError as e:
            entry.update(status="failed", reason=f"cannot write the manifest {self.path}: {e.strerror or e}")
            with self.lock:
                self.entries[job.video] = entry
        return entry


def stamp(video: str) -> list | None:
    """``[size, mtime]`` of a video file (None for a URL or a missing file): a changed video is redone."""
    try:
        st = os.stat(video)
        return [st.st_size, int(st.st_mtime)]
    except OSError:
        return None
