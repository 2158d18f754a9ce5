"""Shared output layout of every SSA-Pose network and the KL self-supervision subnet."""
from __future__ import annotations

from typing import NamedTuple

import torch
from torch import nn

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

    Offsets pass through ``0.5 * tanh`` so that they stay in [-0.5, 0.5] cells.
    """
    if not offsets:
        return StageOutput(heat, paf, None)
    return StageOutput(heat[:, :NUM_HEATMAPS], paf, 0.5 * torch.tanh(heat[:, NUM_HEATMAPS:]))


class PafToHeat(nn.Module):
    """KL self-supervision subnet (Eq. 13-14): PAFs -> heatmaps, three convs
    with 128, 128 and 19 output channels. Used in training only, never exported."""

    def __init__(self, width: int = 128):
        super().__init__()
        self.net = nn.Sequential(
            nn.Conv2d(NUM_PAFS, width, 3, padding=1), nn.ReLU(inplace=True),
            nn.Conv2d(width, width, 3, padding=1), nn.ReLU(inplace=True),
            nn.Conv2d(width, NUM_HEATMAPS, 1),
        )

    def forward(self, pafs: torch.Tensor) -> torch.Tensor:
        """``(B, 38, H, W)`` -> ``(B, 19, H, W)``."""
        return self.net(pafs)


class HeatToPaf(nn.Module):
    """The reverse self-supervision subnet of the paper's Table I (``h2p``): heatmaps -> PAFs,
    three convs with 128, 128 and 38 output channels. Training only."""

    def __init__(self, width: int = 128):
        super().__init__()
        self.net = nn.Sequential(
            nn.Conv2d(NUM_HEATMAPS, width, 3, padding=1), nn.ReLU(inplace=True),
            nn.Conv2d(width, width, 3, padding=1), nn.ReLU(inplace=True),
            nn.Conv2d(width, NUM_PAFS, 1),
        )

    def forward(self, heatmaps: torch.Tensor) -> torch.Tensor:
        """``(B, 19, H, W)`` -> ``(B, 38, H, W)``."""
        return self.net(heatmaps)


class SelfSupervision(nn.Module):
    """The training-only subnets for a KL mode: ``p2h`` (paper's choice), ``h2p`` or ``both``."""

    def __init__(self, mode: str = "p2h"):
        super().__init__()
        if mode not in ("p2h", "h2p", "both"):
            raise ValueError(f"unknown self-supervision mode {mode!r}; use p2h, h2p or both")
        self.mode = mode
        self.p2h = PafToHeat() if mode in ("p2h", "both") else None
        self.h2p = HeatToPaf() if mode in ("h2p", "both") else None
