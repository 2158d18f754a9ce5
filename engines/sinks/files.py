"""The pose file and the table a run writes (``engines.sinks`` builds them for every entry point): per-frame
records as JSON Lines, and tables (CSV, Parquet); the annotated video is ``engines.sinks.video``.

JSON Lines (``poses.jsonl`` or any name): the first line is a header
``{"ssapose": 1, "source", "model", "fps", "keypoints": [17 COCO names], ...}`` with how the poses were made
(``engines.run.pipeline.Pipeline.settings``: ``input_size``, ``flip``, ``scales``, ``auto``, the decoder's ``refine``,
``paf_method``, ``matching``, and ``shown_score``, the lowest person score written, ``DecoderConfig.shown_score``;
a person the tracker follows is kept below it), then one
line per frame ``{"frame", "time", "people": [{"keypoints": 17 x [x, y, score], "score",
"track_id"}]}`` in pixels of the input frame. Each line goes straight to the file, whole, as its
frame comes out, so an interrupted run keeps every frame written so far.
"""
from __future__ import annotations

import json
import os

from ssapose.skeleton import COCO_KEYPOINT_NAMES


class WholeLines:
    """A text file written in whole lines: each :meth:`append` reaches the file in one piece, or not at all (a write
    cut short by a full disk is taken back, and the OSError raised), so a reader never meets half a line."""

    def __init__(self, path: str):
        self.path = path
        self.fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o666)
        self.size = 0

    def append(self, text: str) -> None:
        data = text.encode("utf-8")
        done = 0
        try:
            while done < len(data):
                done += os.write(self.fd, data[done:])
        except OSError:
            os.ftruncate(self.fd, self.size)               # nothing of it stays
            raise
        self.size += len(data)

    @property
    def closed(self) -> bool:
        return self.fd < 0

    def close(self) -> None:
        if self.fd >= 0:
            fd, self.fd = self.fd, -1
            os.close(fd)


class JsonLinesWriter:
    """Writes the header at once and one line per frame, each straight to the file and whole (see the module
    docstring)."""

    def __init__(self, path: str, header: dict):
        self.path = path
        self.file = WholeLines(path)
        self._line({"ssapose": 1, **header, "keypoints": list(COCO_KEYPOINT_NAMES)})

    def _line(self, obj: dict) -> None:
        self.file.append(json.dumps(obj, separators=(",", ":")) + "\n")

    def write(self, result) -> None:
        self._line(result.to_json())

    def close(self) -> None:
        self.file.close()


def read_json_lines(path: str) -> tuple[dict, list[dict]]:
    """``(header, frames)`` of a file written by :class:`JsonLinesWriter`; a cut-off last line is skipped."""
    header, frames = {}, []
    with open(path, encoding="utf-8") as f:
        for n, line in enumerate(f):
            try:
                obj = json.loads(line)
            except json.JSONDecodeError:
                break                       # the line being written when the run was killed
            if n == 0 and "ssapose" in obj:
                header = obj
            else:
                frames.append(obj)
    return header, frames


def _csv_rows(rows: list[list]) -> str:
    """``rows`` as CSV text (None: an empty cell)."""
    import csv
    import io

    buf = io.StringIO()
    csv.writer(buf).writerows(rows)
    return buf.getvalue()


def csv_columns() -> list[str]:
    cols = ["frame", "time", "track_id", "score"]
    for name in COCO_KEYPOINT_NAMES:
        cols += [f"{name}_x", f"{name}_y", f"{name}_score"]
    for name in COCO_KEYPOINT_NAMES:
        cols += [f"{name}_x_smooth", f"{name}_y_smooth"]
    return cols


class TableWriter:
    """One row per person per frame: frame, time (s), track_id, score, then per keypoint x, y, score as
    detected and x, y after smoothing (pixels of the input frame; empty where the keypoint is missing).

    ``.csv``: written and flushed frame by frame, after ``# key: value`` comment lines that record
    the tracker and smoothing parameters (``pandas.read_csv(path, comment="#")`` reads it). ``.parquet``
    (needs pandas with pyarrow): written at the end, the parameters in the file's metadata.
    """

    def __init__(self, path: str, meta: dict):
        self.path, self.rows = path, []
        self.meta = dict(meta)
        self.parquet = path.lower().endswith(".parquet")
        if self.parquet:
            import importlib.util
            if not all(importlib.util.find_spec(m) for m in ("pandas", "pyarrow")):
                raise ImportError("a .parquet table needs pandas and pyarrow (pip install 'ssapose[table]'); "
                                  "or write .csv")
            self.file = None
        else:
            self.file = WholeLines(path)
            self.file.append("".join(f"# {k}: {v}\n" for k, v in self.meta.items()) + _csv_rows([csv_columns()]))

    def write(self, result) -> None:
        """One frame's rows, written whole (CSV) or kept for the end (Parquet)."""
        rows = []
        raw = result.raw_poses if result.raw_poses is not None else result.poses
        ids = result.poses.ids
        for n in range(len(result.poses)):
            ident = int(ids[n]) if ids is not None else -1
            row = [result.index, round(result.time, 4), ident, round(float(result.poses.scores[n]), 4)]
            for x, y, c in raw.keypoints[n]:         # None: an empty CSV cell, a null in Parquet
                row += [round(float(x), 2), round(float(y), 2), round(float(c), 3)] if c > 0 else [None, None, 0.0]
            for (x, y, c) in result.poses.keypoints[n]:
                row += [round(float(x), 2), round(float(y), 2)] if c > 0 else [None, None]
            rows.append(row)
        if self.parquet:
            self.rows += rows
        elif rows:
            self.file.append(_csv_rows(rows))

    def footer(self, meta: dict) -> None:
        """Figures known only at the end (the tracking summary): ``# key: value`` lines after the rows of a
        CSV, entries of a Parquet file's metadata."""
        self.meta.update(meta)
        if not self.parquet and not self.file.closed:
            self.file.append("".join(f"# {k}: {v}\n" for k, v in meta.items()))

    def close(self) -> None:
        if self.parquet:
            import pandas as pd
            df = pd.DataFrame(self.rows, columns=csv_columns(), dtype="float64")
            df = df.astype({"frame": "int64", "track_id": "int64"})
            df.attrs.update({k: str(v) for k, v in self.meta.items()})
            from engines.sinks import staged

            tmp = staged(self.path)
            try:
                df.to_parquet(tmp)
                os.replace(tmp, self.path)          # appears only when whole
            finally:
                tmp.unlink(missing_ok=True)
        elif not self.file.closed:
            self.file.close()
