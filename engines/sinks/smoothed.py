"""``ssapose smooth``: a tracked pose file (JSON Lines or CSV, as ``video`` writes them) smoothed offline, track by
track (``ssapose.track_smoothing``), into a new file of the same kind.

The header is kept and records the smoothing's settings (``"smoothing"`` in a JSON Lines header, a ``# smoothing:``
line in a CSV). A person filled into a frame where its track was missing appears there with ``"filled"`` listing
the keypoints that were filled (in a CSV: a ``filled`` column, keypoint numbers separated by spaces); the same for
keypoints filled in a person that was there. People without a track id are left as they are. A CSV is smoothed
from its detected keypoints (its raw columns), whose smoothed columns are replaced. The output is written under a
temporary name and renamed when whole.
"""
from __future__ import annotations

import csv
import io
import json
import os
from contextlib import contextmanager
from pathlib import Path

import numpy as np

from engines.sinks import staged
from engines.sinks.files import csv_columns, read_json_lines
from ssapose.skeleton import COCO_KEYPOINT_NAMES
from ssapose.track_smoothing import SmoothConfig, smooth_track

K = len(COCO_KEYPOINT_NAMES)


def smooth_people(frames: list[list[dict]], config: SmoothConfig) -> list[list[dict]]:
    """Every frame's people (``{"keypoints": 17 x [x, y, score], "score", "track_id", ...}``), tracks smoothed and
    short gaps filled; frames in file order."""
    out = [[dict(p) for p in people] for people in frames]
    tracks: dict[int, list[tuple[int, int]]] = {}                 # id -> [(frame position, person position)]
    for f, people in enumerate(frames):
        for n, p in enumerate(people):
            if p.get("track_id", -1) >= 0:
                tracks.setdefault(p["track_id"], []).append((f, n))
    for ident, where in tracks.items():
        first, last = where[0][0], where[-1][0]
        kp, score = np.zeros((last - first + 1, K, 3)), np.zeros(last - first + 1)
        for f, n in where:
            kp[f - first] = frames[f][n]["keypoints"]
            score[f - first] = frames[f][n]["score"]
        smooth, filled = smooth_track(kp, config)
        at = {f: n for f, n in where}
        for t in range(len(kp)):
            f = first + t
            if f in at:
                person = out[f][at[f]]
            elif filled[t].any():                                   # the track missing here: filled in
                person = {"score": round(float(np.interp(t, [*np.flatnonzero(score)], score[score > 0])), 4),
                          "track_id": ident}
                out[f].append(person)
            else:
                continue
            person["keypoints"] = [[round(float(x), 2), round(float(y), 2), round(float(c), 3)]
                                   for x, y, c in smooth[t]]
            if filled[t].any():
                person["filled"] = [int(k) for k in np.flatnonzero(filled[t])]
    return out


def smooth_json_lines(src: str, dst: str, config: SmoothConfig) -> int:
    """Smooth a JSON Lines pose file into ``dst``; returns the number of values filled."""
    header, frames = read_json_lines(src)
    people = smooth_people([f.get("people", []) for f in frames], config)
    with _whole(dst) as out:
        out.write(json.dumps({**header, "smoothing": config.describe()}) + "\n")
        for f, ps in zip(frames, people):
            out.write(json.dumps({**f, "people": ps}) + "\n")
    return _filled(people)


def read_table(src: str) -> tuple[list[str], list[dict], list[str]]:
    """``(comment lines before the rows, rows as dicts, comment lines after them)`` of a table ``video`` wrote."""
    head, tail, body = [], [], []
    with open(src, encoding="utf-8", newline="") as f:
        for line in f:
            (tail if body else head).append(line) if line.startswith("#") else body.append(line)
    rows = list(csv.DictReader(io.StringIO("".join(body))))
    if rows and set(csv_columns()) - set(rows[0]):
        raise ValueError(f"{src}: not a table written by ssapose video (its columns differ)")
    return head, rows, tail


def row_person(row: dict) -> dict:
    """A CSV row as a person, from its detected keypoints."""
    kp = [[float(row[f"{k}_x"] or 0), float(row[f"{k}_y"] or 0), float(row[f"{k}_score"] or 0)]
          for k in COCO_KEYPOINT_NAMES]
    return {"keypoints": kp, "score": float(row["score"]), "track_id": int(float(row["track_id"]))}


def smooth_csv(src: str, dst: str, config: SmoothConfig) -> int:
    """Smooth a CSV table into ``dst`` (its smoothed columns replaced, a ``filled`` column added); returns the
    number of values filled."""
    head, rows, tail = read_table(src)
    frames: dict[int, list] = {}
    times: dict[int, str] = {}
    for row in rows:
        f = int(float(row["frame"]))
        frames.setdefault(f, []).append((row, row_person(row)))
        times[f] = row["time"]
    order = sorted(frames)
    people = smooth_people([[p for _, p in frames[f]] for f in order], config)
    columns = csv_columns() + ["filled"]
    with _whole(dst) as out:
        out.write("".join(head) + f"# smoothing: {json.dumps(config.describe())}\n")
        writer = csv.writer(out)
        writer.writerow(columns)
        for f, ps in zip(order, people):
            for n, p in enumerate(ps):
                row = dict(frames[f][n][0]) if n < len(frames[f]) else {    # filled in: nothing detected
                    "frame": f, "time": times[f], "track_id": p["track_id"], "score": p["score"],
                    **{f"{k}_{c}": v for k in COCO_KEYPOINT_NAMES for c, v in (("x", ""), ("y", ""), ("score", 0.0))}}
                for k, (x, y, s) in zip(COCO_KEYPOINT_NAMES, p["keypoints"]):
                    row[f"{k}_x_smooth"], row[f"{k}_y_smooth"] = (x, y) if s > 0 else ("", "")
                row["filled"] = " ".join(map(str, p.get("filled", [])))
                writer.writerow([row[c] for c in columns])
        out.write("".join(tail))
    return _filled(people)


@contextmanager
def _whole(dst: str):
    """A text file opened for writing under a temporary name beside ``dst``, renamed to it when whole (removed if
    writing fails)."""
    tmp = staged(dst)
    try:
        with open(tmp, "w", encoding="utf-8", newline="") as f:
            yield f
        os.replace(tmp, dst)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


def _filled(people: list[list[dict]]) -> int:
    return sum(len(p.get("filled", [])) for ps in people for p in ps)


def smooth_file(src: str, dst: str, config: SmoothConfig = SmoothConfig()) -> int:
    """Smooth the pose file ``src`` (``.jsonl`` or ``.csv``) into ``dst`` of the same kind; returns the number of
    keypoint values filled into gaps."""
    kind = Path(src).suffix.lower()
    if kind not in (".jsonl", ".csv") or Path(dst).suffix.lower() != kind:
        raise ValueError(f"smooth reads a .jsonl or .csv pose file and writes one of the same kind: {src} -> {dst}")
    return (smooth_json_lines if kind == ".jsonl" else smooth_csv)(src, dst, config)
