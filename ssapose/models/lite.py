"""A lightweight network for CPU real time: depthwise-separable backbone, an
initial stage and refinement stages, stride 8 or 16. Same heads as the paper model."""
from __future__ import annotations

import torch
from torch import nn

from ssapose.models.heads import StageOutput, heat_channels, split_heat
from ssapose.skeleton import NUM_PAFS


def dw_block(cin: int, cout: int, stride: int = 1, dilation: int = 1) -> nn.Sequential:
    """3x3 depthwise + 1x1 pointwise, each with BatchNorm and ReLU."""
    return nn.Sequential(
        nn.Conv2d(cin, cin, 3, stride, padding=dilation, dilation=dilation, groups=cin, bias=False),
        nn.BatchNorm2d(cin), nn.ReLU(inplace=True),
        nn.Conv2d(cin, cout, 1, bias=False), nn.BatchNorm2d(cout), nn.ReLU(inplace=True),
    )


class _Stage(nn.Module):
    def __init__(self, cin: int, width: int, hc: int, depth: int):
        super().__init__()
        layers = [nn.Conv2d(cin, width, 1), nn.ReLU(inplace=True)]
        layers += [dw_block(width, width, dilation=2 ** (i % 3)) for i in range(depth)]
        self.trunk = nn.Sequential(*layers)
        self.paf = nn.Sequential(nn.Conv2d(width, width, 1), nn.ReLU(inplace=True), nn.Conv2d(width, NUM_PAFS, 1))
        self.heat = nn.Sequential(nn.Conv2d(width, width, 1), nn.ReLU(inplace=True), nn.Conv2d(width, hc, 1))

    def forward(self, x):
        t = self.trunk(x)
        return self.paf(t), self.heat(t)


class LitePose(nn.Module):
    """Depthwise backbone + ``1 + refinements`` stages.

    Args:
        stride: 8 or 16 (output cell size in input pixels).
        width: channels of the features and the stages.
        refinements: number of refinement stages after the first (1 or 2).
        offsets: add the 36 block-inside offset channels.
    """

    def __init__(self, stride: int = 8, width: int = 96, refinements: int = 1, offsets: bool = True):
        super().__init__()
        if stride not in (8, 16):
            raise ValueError(f"LitePose supports stride 8 or 16, got {stride}")
        self.stride, self.offsets = stride, offsets
        chans = [(32, 2), (48, 1), (64, 2), (96, 1), (96, 1)]
        if stride == 16:
            chans.append((128, 2))
        layers = [nn.Conv2d(3, 16, 3, 2, 1, bias=False), nn.BatchNorm2d(16), nn.ReLU(inplace=True)]
        c = 16
        for cout, s in chans:
            layers.append(dw_block(c, cout, s))
            c = cout
        layers += [dw_block(c, width, dilation=2), dw_block(width, width, dilation=4), dw_block(width, width)]
        self.backbone = nn.Sequential(*layers)
        hc = heat_channels(offsets)
        self.stages = nn.ModuleList([_Stage(width, width, hc, 4)])
        for _ in range(refinements):
            self.stages.append(_Stage(width + NUM_PAFS + hc, width, hc, 4))

    def forward(self, x: torch.Tensor) -> list[StageOutput]:
        feats = self.backbone(x)
        out, inp = [], feats
        for stage in self.stages:
            paf, heat = stage(inp)
            out.append(split_heat(heat, paf, self.offsets))
            inp = torch.cat([feats, paf, heat], dim=1)
        return out
