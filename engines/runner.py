"""One frame through a backend: preprocess -> infer -> decode, with per-stage timings."""
from __future__ import annotations

import time
from dataclasses import dataclass, field

import numpy as np

from engines.base import Backend
from ssapose.decode import DecoderConfig
from ssapose.inference import decode_fields
from ssapose.poses import Poses
from ssapose.preprocess import prepare


@dataclass
class Timings:
    """Per-stage wall time of one frame, in milliseconds."""

    preprocess: float = 0.0
    inference: float = 0.0
    decode: float = 0.0
    overlay: float = 0.0
    extra: dict = field(default_factory=dict)

    def total(self) -> float:
        return self.preprocess + self.inference + self.decode + self.overlay


class PoseEstimator:
    """Frames in, poses (in frame pixels) out, through any backend.

    Args:
        backend: an opened backend.
        input_size: longer side (or height, per the checkpoint) of the network input in pixels.
        decoder: decoder parameters.
    """

    def __init__(self, backend: Backend, input_size: int = 368, decoder: DecoderConfig = DecoderConfig()):
        self.backend, self.input_size, self.decoder = backend, input_size, decoder

    def __call__(self, frame: np.ndarray, timings: Timings | None = None) -> Poses:
        t = timings if timings is not None else Timings()
        t0 = time.perf_counter()
        x, box = prepare(frame, self.input_size, self.backend.info.config.preprocess)
        t1 = time.perf_counter()
        f = self.backend.infer(x)
        t2 = time.perf_counter()
        poses = decode_fields(f, self.backend.info.stride, box, self.decoder)
        t3 = time.perf_counter()
        t.preprocess, t.inference, t.decode = (t1 - t0) * 1e3, (t2 - t1) * 1e3, (t3 - t2) * 1e3
        return poses
