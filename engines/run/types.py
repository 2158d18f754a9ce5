"""What flows through the pipeline (``engines.run.pipeline``): its settings, a frame on its way through the stages, and a
processed frame."""
from __future__ import annotations

from dataclasses import asdict, dataclass, field, fields

import numpy as np

from engines.modes import AutoHeight
from engines.run.region import RegionConfig
from engines.run.step import Timings
from ssapose.decode import DecoderChoice, DecoderConfig
from ssapose.model_card import DEFAULT_INPUT_HEIGHT
from ssapose.overlay import DrawStyle, draw_poses
from ssapose.poses import Poses
from ssapose.preprocess import Letterbox


@dataclass
class FrameResult:
    """One processed frame, as every entry point gets it (``ssapose video``, ``batch``, the app, ``stream()``).

    index: the source's frame number (skipped frames leave gaps); time: seconds on the source's clock (a file's
    own time, else since the run started); poses: in frame pixels, with ``poses.ids`` the track ids when a tracker
    runs; timings: per-stage ms; frame: the BGR ``(H, W, 3) uint8`` frame read; image: the frame with the overlay
    drawn (None when drawing is off); raw_poses: before smoothing, when a tracker runs; latency_ms: capture to
    result; timestamp: seconds since the run started when the frame was captured; sequence: place in the stream
    (0, 1, 2...)."""

    index: int
    time: float
    poses: Poses
    timings: Timings
    frame: np.ndarray | None = None
    image: np.ndarray | None = None
    raw_poses: Poses | None = None
    latency_ms: float = 0.0
    timestamp: float = 0.0
    sequence: int = -1

    def to_json(self) -> dict:
        """``{"frame", "time", "people": [{"keypoints": 17 x [x, y, score], "score", "track_id"}]}``: a line of a
        pose file (``engines.sinks``)."""
        return {"frame": self.index, "time": round(self.time, 4), "people": self.poses.to_json()}

    def draw(self, style: DrawStyle | None = None) -> np.ndarray:
        """A copy of the frame with the skeletons (and track ids) drawn."""
        if self.frame is None:
            raise ValueError("this result has no frame to draw on")
        return draw_poses(self.frame.copy(), self.poses, style or DrawStyle(), self.poses.ids)


@dataclass
class InFlight:
    """One frame on its way through the stages; each stage fills its own field.

    ``sequence``: place in the stream (0, 1, 2...); ``timestamp``: s since the start at capture;
    ``frame``: the BGR image; ``x``/``box``: the network input and how the frame sits in it (preprocess; after
    inference, the letterbox of the view whose grid ``fields`` are on: with scales, the largest);
    ``scale``: input px per frame px at the default height (what the automatic height judges people by);
    ``fields``: the network's maps (inference), ``averaged`` when they average several views (test-time
    flipping or scales, or the automatic height's second pass); ``poses``: in frame pixels (decode)."""

    sequence: int
    timestamp: float
    frame: np.ndarray
    timings: Timings = field(default_factory=Timings)
    x: np.ndarray | None = None
    box: Letterbox | None = None
    scale: float = 0.0
    fields: dict | None = None
    averaged: bool = False
    poses: Poses | None = None
    skip: bool = False                          # region of interest: nobody near, the network is not run


@dataclass
class PipelineConfig:
    """live: drop stale frames (webcam); queue_size: bound of each inter-stage queue;
    draw: draw the overlay; hud: draw FPS/latency text; input_size: network input;
    switch_interval: Python's GIL switch interval (s) while the pipeline runs;
    pace_fps: deliver frames no faster than this (a file played at its own frame rate;
    0: as fast as possible); clock_fps: the tracker's clock is ``index / clock_fps`` (a file's
    own time) instead of the wall clock (0); show_fields: draw the network's fields under the
    skeletons (``Pipeline.show_fields`` switches it while running); max_frames: stop after this many
    frames (0: all); region: run the network only where people are (``engines.run.region``; None: every
    frame whole)."""

    input_size: int = DEFAULT_INPUT_HEIGHT
    live: bool = False
    queue_size: int = 4
    draw: bool = True
    hud: bool = True
    style: DrawStyle = field(default_factory=DrawStyle)
    decoder: DecoderConfig | DecoderChoice | None = None       # None: as the model's card says
    switch_interval: float = 0.001
    pace_fps: float = 0.0
    clock_fps: float = 0.0
    show_fields: bool = False
    max_frames: int = 0
    flip: bool = False                                          # test-time flipping (2x the network's cost)
    scales: tuple[float, ...] = (1.0,)                          # test-time scales (the inference stage resizes)
    auto: AutoHeight | None = None                              # --input-size auto (engines.run.height_schedule)
    region: RegionConfig | None = None                          # --roi (engines.run.region)

    def to_dict(self) -> dict:
        """The settings as plain JSON-ready values (for a worker process; :meth:`from_dict` reads them back)."""
        return asdict(self)

    @classmethod
    def from_dict(cls, d: dict) -> "PipelineConfig":
        """The settings :meth:`to_dict` gave, after a JSON trip: the nested settings and tuples as they were."""
        d = dict(d, scales=tuple(d["scales"]), style=DrawStyle(**d["style"]))
        if d["decoder"] is not None:
            choice = {f.name for f in fields(DecoderChoice)}
            d["decoder"] = (DecoderChoice if set(d["decoder"]) == choice else DecoderConfig)(**d["decoder"])
        if d["auto"] is not None:
            d["auto"] = AutoHeight(**dict(d["auto"], scales=tuple(d["auto"]["scales"])))
        if d.get("region") is not None:
            d["region"] = RegionConfig(**d["region"])
        return cls(**d)
