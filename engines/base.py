"""The one backend interface: a batch of network inputs in, named fields out."""
from __future__ import annotations

import json
from abc import ABC, abstractmethod
from dataclasses import dataclass

import numpy as np

from ssapose.model_card import ModelConfig, config_from_dict, config_to_dict
from ssapose.skeleton import NUM_HEATMAPS, NUM_OFFSETS, NUM_PAFS

INPUT_NAME = "image"
OUTPUT_NAMES = ("heatmaps", "pafs", "offsets")


@dataclass(frozen=True)
class ModelInfo:
    """What a model file declares about itself: config (hence stride, preprocessing) and channel layout."""

    config: ModelConfig

    @property
    def stride(self) -> int:
        return self.config.output_stride

    @property
    def outputs(self) -> tuple[str, ...]:
        return OUTPUT_NAMES if self.config.offsets else OUTPUT_NAMES[:2]

    def to_json(self) -> str:
        return json.dumps({"config": config_to_dict(self.config), "layout": self.config.channel_layout(),
                           "stride": self.stride})

    @staticmethod
    def from_json(text: str) -> "ModelInfo":
        d = json.loads(text)
        info = ModelInfo(config_from_dict(d["config"]))
        check_layout(d.get("layout", {}), info)
        return info


def check_layout(layout: dict, info: ModelInfo | None = None) -> None:
    """Raise ValueError if a declared channel layout is not the one the decoder reads."""
    want = {"heatmaps": NUM_HEATMAPS, "pafs": NUM_PAFS}
    for k, n in want.items():
        if layout.get(k) != n:
            raise ValueError(f"model channel layout {layout} does not match the decoder "
                             f"(needs {NUM_HEATMAPS} heatmaps, {NUM_PAFS} PAFs, 0 or {NUM_OFFSETS} offsets)")
    if layout.get("offsets", 0) not in (0, NUM_OFFSETS):
        raise ValueError(f"model declares {layout.get('offsets')} offset channels; the decoder reads 0 or {NUM_OFFSETS}")


def check_fields(fields: dict[str, np.ndarray], info: ModelInfo) -> None:
    """Raise ValueError if a backend's outputs do not have the declared channels."""
    want = {"heatmaps": NUM_HEATMAPS, "pafs": NUM_PAFS, "offsets": NUM_OFFSETS}
    for name in info.outputs:
        if name not in fields:
            raise ValueError(f"model output {name!r} is missing (got {sorted(fields)})")
        if fields[name].ndim != 4 or fields[name].shape[1] != want[name]:
            raise ValueError(f"model output {name!r} has shape {fields[name].shape}; "
                             f"expected (B, {want[name]}, H, W)")


class Backend(ABC):
    """Runs a network. ``infer`` takes ``(B, 3, H, W) float32`` normalised input (see
    ``ssapose.preprocess``) and returns ``{"heatmaps": (B, 19, H/s, W/s), "pafs": (B, 38, ...),
    "offsets": (B, 36, ...)}`` float32 numpy arrays (offsets only if the model has them)."""

    name: str = "backend"

    def __init__(self, info: ModelInfo):
        self.info = info
        self.streams = 1              # infer calls that may run at once (each thread with its own request)
        self.takes_uint8 = False      # True: infer also takes (B, H, W, 3) uint8 BGR and normalises in the network

    @property
    def precision(self) -> str:
        """The arithmetic the network runs in, for reports: ``"f32"``, ``"f16"``, ``"int8+f32"``..."""
        return "f32"

    @abstractmethod
    def infer(self, batch: np.ndarray) -> dict[str, np.ndarray]:
        ...

    def close(self) -> None:
        """Release resources (sessions, GPU memory)."""

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()
