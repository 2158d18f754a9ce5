"""Shared output layout of every SSA-Pose network and the KL self-supervision subnet."""
from __future__ import annotations

from typing import NamedTuple

import torch
from torch import nn

from ssapose.grid import OFFSET_LIMIT
from ssapose.skeleton import NUM_HEATMAPS, NUM_OFFSETS, NUM_PAFS


class StageOutput(NamedTuple):
    """One stage's fields: heatmaps ``(B, 19, H, W)``, pafs ``(B, 38, H, W)``,
    offsets ``(B, 36, H, W)`` in cells, or None for a model without RIE."""

    heatmaps: torch.Tensor
    pafs: torch.Tensor
    offsets: torch.Tensor | None


def heat_channels(offsets: bool) -> int:
    """Output channels of the heatmap branch: 19, plus 36 offsets with RIE."""
    return NUM_HEATMAPS + (NUM_OFFSETS if offsets else 0)


def split_heat(heat: torch.Tensor, paf: torch.Tensor, offsets: bool) -> StageOutput:
    """Split the heatmap branch's output into heatmaps and offsets.

    Offsets pass through ``OFFSET_LIMIT * tanh`` so that they stay inside the block (``ssapose.grid``).
    """
    if not offsets:
        return StageOutput(heat, paf, None)
    return StageOutput(heat[:, :NUM_HEATMAPS], paf, OFFSET_LIMIT * torch.tanh(heat[:, NUM_HEATMAPS:]))


class FieldTranslator(nn.Module):
    """Three convolutions (``width``, ``width``, ``cout`` channels) that predict one field from another.
    The self-supervision subnets of Eq. 13-14; used in training only, never exported."""

    def __init__(self, cin: int, cout: int, width: int = 128):
        super().__init__()
        self.net = nn.Sequential(
            nn.Conv2d(cin, width, 3, padding=1), nn.ReLU(inplace=True),
            nn.Conv2d(width, width, 3, padding=1), nn.ReLU(inplace=True),
            nn.Conv2d(width, cout, 1),
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """``(B, cin, H, W)`` -> ``(B, cout, H, W)``."""
        return self.net(x)


class PafToHeat(FieldTranslator):
    """KL self-supervision subnet (the paper's choice): PAFs ``(B, 38, H, W)`` -> heatmaps ``(B, 19, H, W)``."""

    def __init__(self, width: int = 128):
        super().__init__(NUM_PAFS, NUM_HEATMAPS, width)


class HeatToPaf(FieldTranslator):
    """The reverse subnet of the paper's Table I (``h2p``): heatmaps -> PAFs."""

    def __init__(self, width: int = 128):
        super().__init__(NUM_HEATMAPS, NUM_PAFS, width)


class SelfSupervision(nn.Module):
    """The training-only subnets for a KL mode: ``p2h`` (paper's choice), ``h2p`` or ``both``."""

    def __init__(self, mode: str = "p2h"):
        super().__init__()
        if mode not in ("p2h", "h2p", "both"):
            raise ValueError(f"unknown self-supervision mode {mode!r}; use p2h, h2p or both")
        self.mode = mode
        self.p2h = PafToHeat() if mode in ("p2h", "both") else None
        self.h2p = HeatToPaf() if mode in ("h2p", "both") else None
