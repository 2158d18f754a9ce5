"""A run's outputs, built in one place for every entry point (``ssapose video``, ``batch``, the app, the API).

:class:`OutputSpec` says what a run writes (annotated mp4, pose file, table); :func:`check_outputs` checks it
before any work; :class:`Sinks` opens the writers with one header and takes every :class:`FrameResult`.

The guarantees, for every entry point:

- no output is an input of the run, nor another output of it (the same path or a link to it), and each is
  writable: checked before the model loads, one line naming the file otherwise;
- a failure to write any output raises :class:`SinkError` with the file and the reason (a full disk, a
  vanished folder); with ``staged`` outputs (``batch``) nothing is left under a temporary name;
- one run owns each output: a second run asked to write a file another run is writing refuses in one line (an
  exclusive lock on the file, held while the run writes it).
"""
from __future__ import annotations

import os
import stat
from contextlib import contextmanager
from dataclasses import dataclass, fields
from pathlib import Path

try:
    import fcntl
except ImportError:                               # Windows: no advisory locks
    fcntl = None

from ssapose.fsnames import shown
from ssapose.redact import redact

#: What each output kind is called in messages, and the suffixes it may have.
KINDS = {"video": ("video", (".mp4",)), "poses": ("poses file", (".jsonl", ".json")),
         "table": ("table", (".csv", ".parquet"))}


class SinkError(ValueError):
    """An output could not be written; the message names the file and the reason."""


@dataclass(frozen=True)
class OutputSpec:
    """What one run writes (None: not written): ``video`` the annotated .mp4, ``poses`` the JSON Lines pose file,
    ``table`` one row per person per frame (.csv or .parquet; it needs tracking, for its smoothed columns)."""

    video: str | None = None
    poses: str | None = None
    table: str | None = None

    def items(self) -> list[tuple[str, str]]:
        """``(kind, path)`` of every output asked for."""
        return [(f.name, getattr(self, f.name)) for f in fields(self) if getattr(self, f.name)]

    def __bool__(self) -> bool:
        return bool(self.items())


def check_outputs(outputs: OutputSpec, inputs: list[str] = (), others: list[str] = ()) -> None:
    """Check ``outputs`` before any work: each has a suffix its kind writes, is not a folder, is not one of
    ``inputs`` (the sources read) nor another output (of this run, or of ``others``: other runs' outputs), its
    folder exists (created) and is writable, and an existing file there may be replaced.

    Raises:
        SinkError: one line naming the file and what is wrong.
    """
    seen: list[tuple[str, str]] = [("output", p) for p in others]
    for kind, path in outputs.items():
        what, suffixes = KINDS[kind]
        p = Path(path)
        for src in inputs:
            if _is_local(src) and same_file(p, src):
                raise SinkError(f"{what} {path!r} is the input {redact(src)!r}: it would be overwritten; write "
                                "somewhere else")
        for other_what, other in seen:
            if same_file(p, other):
                raise SinkError(f"{what} {path!r} is also the {other_what} of this run: give each output its "
                                "own file")
        seen.append((what, path))
        check_file(path, what, suffixes)


def check_file(path: str, what: str, suffixes: tuple[str, ...] = ()) -> Path:
    """One output file checked before any work: its suffix (one of ``suffixes``, if given), not a folder, its folder
    created and writable, an existing file replaceable. Raises :class:`SinkError` naming it; returns it."""
    p = Path(path)
    if suffixes and p.suffix.lower() not in suffixes:
        raise SinkError(f"{what} {path!r} must end in {' or '.join(suffixes)}")
    if p.is_dir():
        raise SinkError(f"{what} {path!r} is a folder; give a file name")
    folder = p.parent if str(p.parent) else Path(".")
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as e:
        raise SinkError(f"cannot create the folder of {what} {path!r}: {e.strerror or e}") from e
    if not os.access(folder, os.W_OK):
        raise SinkError(f"cannot write {what} {path!r}: folder {folder} is not writable")
    if p.exists() and not os.access(p, os.W_OK):
        raise SinkError(f"cannot write {what} {path!r}: the file exists and is read-only")
    return p


def _is_local(source: str) -> bool:
    return "://" not in str(source)


def same_file(a, b) -> bool:
    """True if paths ``a`` and ``b`` name the same file (the same resolved path, or a link to it)."""
    a, b = Path(a), Path(b)
    try:
        if a.exists() and b.exists():
            return os.path.samefile(a, b)
        return a.resolve() == b.resolve()
    except OSError:
        return False


def run_header(source: str, model: str, fps: float, settings: dict, tracker: str | None = None) -> dict:
    """What every output records about how its poses were made, the same for every entry point: the source
    (without a password), the model, the source's frame rate, the run's settings (``Pipeline.settings``) and the
    tracker's parameters (None: no tracker)."""
    head = {"source": redact(shown(source)), "model": shown(model), "fps": fps,
            "time": "seconds: a file's own timestamps, else since the run started", **settings}
    if tracker is not None:
        head["tracker"] = tracker
    return head


def staged(path: str) -> Path:
    """Where a staged output is written until its run is finished: a hidden name beside it."""
    p = Path(path)
    return p.with_name(f".{p.name}.partial{p.suffix}")


class Sinks:
    """The opened writers of one run: :meth:`write` each result, then :meth:`close`.

    ``header``: :func:`run_header`; ``fps``: the source's rate (the mp4's); ``staged``: write under temporary
    names (:func:`staged`) and rename them at :meth:`close` when ``commit`` is true, remove them otherwise.
    Without it the outputs are written at their names as frames come (a killed run keeps what it wrote)."""

    def __init__(self, outputs: OutputSpec, header: dict, fps: float, staged_names: bool = False):
        from engines.sinks.files import JsonLinesWriter, TableWriter
        from engines.sinks.video import VideoOut

        self.outputs, self.staged = outputs, staged_names
        self.paths = {k: str(staged(p)) if staged_names else p for k, p in outputs.items()}
        self.frames = 0
        self.writers: dict = {}
        self._locks: list[int] = []
        self._created: list[str] = []            # empty files the locks made (removed if nothing was written)
        try:
            for kind, path in self.paths.items():
                self._own(kind, path)
            for kind, path in self.paths.items():
                with self._naming(kind):
                    if kind == "video":
                        self.writers[kind] = VideoOut(path, fps)
                    elif kind == "poses":
                        self.writers[kind] = JsonLinesWriter(path, header)
                    else:
                        self.writers[kind] = TableWriter(path, header)
        except BaseException:
            self.close(commit=False)
            raise

    def _own(self, kind: str, path: str) -> None:
        """Lock ``path`` for this run (created empty if missing), or raise :class:`SinkError` if another run holds
        it. Nothing is truncated before the lock is held."""
        if fcntl is None:                        # no advisory locks here: every run writes as it goes
            return
        existed = os.path.exists(path)
        with self._naming(kind):
            fd = os.open(path, os.O_WRONLY | os.O_CREAT, 0o666)
        if not stat.S_ISREG(os.fstat(fd).st_mode):    # a device or a pipe (/dev/null): nothing to own
            os.close(fd)
            return
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            os.close(fd)
            raise SinkError(f"{KINDS[kind][0]} {getattr(self.outputs, kind)} is being written by another run; "
                            "wait for it, or write somewhere else") from None
        self._locks.append(fd)
        if not existed:
            self._created.append(path)

    def _release(self) -> None:
        for path in self._created:               # made by the lock, never written (the mp4 of a run with no frame)
            try:
                if os.path.getsize(path) == 0 and self.frames == 0:
                    os.unlink(path)
            except OSError:
                pass
        for fd in self._locks:
            os.close(fd)
        self._locks, self._created = [], []

    @contextmanager
    def _naming(self, kind: str):
        """A context that turns an OSError or a writer's ValueError into a :class:`SinkError` naming the output."""
        try:
            yield
        except SinkError:
            raise
        except OSError as e:
            raise SinkError(f"cannot write {KINDS[kind][0]} {getattr(self.outputs, kind)}: {e.strerror or e}") from e
        except ValueError as e:
            raise SinkError(str(e)) from e

    def write(self, result) -> None:
        """One frame to every output (the mp4 gets the drawn image)."""
        for kind, w in self.writers.items():
            with self._naming(kind):
                w.write(result.image if kind == "video" else result)
        self.frames += 1

    def footer(self, meta: dict) -> None:
        """Figures known only at the end (the tracking summary), for the outputs that keep them (the table)."""
        if "table" in self.writers:
            with self._naming("table"):
                self.writers["table"].footer(meta)

    def close(self, commit: bool = True) -> None:
        """Finish every output. Staged outputs are renamed to their names when ``commit``, else removed; a failure
        to finish one raises :class:`SinkError` after every other was closed (staged files removed)."""
        try:
            self._finish(commit)
        finally:
            self._release()

    def _finish(self, commit: bool) -> None:
        error = None
        for kind, w in list(self.writers.items()):
            try:
                with self._naming(kind):
                    w.close()
            except SinkError as e:
                error = error or e
        self.writers = {}
        if self.staged:
            for kind, tmp in self.paths.items():
                if commit and error is None:
                    try:
                        os.replace(tmp, getattr(self.outputs, kind))
                        continue
                    except OSError as e:
                        error = error or SinkError(f"cannot write {KINDS[kind][0]} {getattr(self.outputs, kind)}: "
                                                   f"{e.strerror or e}")
                _remove(tmp)
            if error is not None:                       # none committed, or some: remove what is left staged
                for tmp in self.paths.values():
                    _remove(tmp)
        if error is not None:
            raise error


def _remove(path: str) -> None:
    """Remove a staged file if it is there (what cannot be removed, a folder in its place say, is left)."""
    try:
        Path(path).unlink(missing_ok=True)
    except OSError:
        pass

