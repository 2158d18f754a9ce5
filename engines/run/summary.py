"""What a finished run of the pipeline measured: throughput and each stage's median time."""
from __future__ import annotations

from dataclasses import dataclass


@dataclass
class RunSummary:
    """A finished run: ``frames`` in ``wall_s`` seconds; ``stages``: median ms per frame of each stage
    (capture, preprocess, inference, decode, overlay), timed inside the same run; ``streams``: inference
    requests that ran at once (a stage's rate is ``streams / its ms`` for inference, ``1 / its ms`` else)."""

    frames: int
    wall_s: float
    stages: dict
    streams: int = 1

    def _rate(self, stage: str) -> float:
        ms = self.stages[stage]
        n = self.streams if stage == "inference" else 1
        return 1000.0 * n / ms if ms > 0 else float("inf")

    @property
    def fps(self) -> float:
        return self.frames / self.wall_s if self.wall_s > 0 else 0.0

    @property
    def slowest(self) -> str:
        return min(self.stages, key=self._rate)

    @property
    def bound_fps(self) -> float:
        """The rate of the slowest stage: what a perfect pipeline of these stages would deliver."""
        return self._rate(self.slowest)

    def describe(self) -> str:
        parts = ", ".join(f"{k} {v:.1f}" for k, v in self.stages.items())
        return (f"{self.fps:.1f} FPS over {self.frames} frames; stage medians (ms): {parts}; slowest: {self.slowest} "
                f"({self.bound_fps:.1f} FPS), pipeline/slowest = {self.fps / self.bound_fps:.2f}")
