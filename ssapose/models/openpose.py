"""The paper's network: OpenPose body model (VGG19-10 + CPM + 6 stages) with RIE offsets.

Layer names follow the Caffe model (``conv1_1`` ... ``conv4_4_CPM``,
``conv5_1_CPM_L1`` ..., ``Mconv1_stage2_L2`` ...), so that pytorch-openpose's
``body_pose_model.pth`` maps onto it one to one (see ``openpose_weights.py``).
L1 is the PAF branch (38), L2 the heatmap branch (19, + 36 offsets).
"""
from __future__ import annotations

from collections import OrderedDict

import torch
from torch import nn

from ssapose.models.heads import StageOutput, heat_channels, split_heat
from ssapose.skeleton import NUM_PAFS

VGG_LAYERS = [  # (name, in, out); "pool" entries are 2x2 max pools
    ("conv1_1", 3, 64), ("conv1_2", 64, 64), "pool",
    ("conv2_1", 64, 128), ("conv2_2", 128, 128), "pool",
    ("conv3_1", 128, 256), ("conv3_2", 256, 256), ("conv3_3", 256, 256), ("conv3_4", 256, 256), "pool",
    ("conv4_1", 256, 512), ("conv4_2", 512, 512), ("conv4_3_CPM", 512, 256), ("conv4_4_CPM", 256, 128),
]
FEATURES = 128


def _conv(name: str, cin: int, cout: int, k: int, relu: bool = True) -> list[tuple[str, nn.Module]]:
    layers = [(name, nn.Conv2d(cin, cout, k, padding=k // 2))]
    if relu:
        layers.append((name + "_relu", nn.ReLU(inplace=True)))
    return layers


def _backbone() -> nn.Sequential:
    layers = []
    for i, spec in enumerate(VGG_LAYERS):
        if spec == "pool":
            layers.append((f"pool{i}", nn.MaxPool2d(2, 2)))
        else:
            layers += _conv(*spec, k=3)
    return nn.Sequential(OrderedDict(layers))


def _branch(stage: int, branch: str, cin: int, cout: int) -> nn.Sequential:
    if stage == 1:
        convs = [(f"conv5_{i}_CPM_{branch}", 3) for i in (1, 2, 3)]
        names = convs + [(f"conv5_4_CPM_{branch}", 1)]
        last = f"conv5_5_CPM_{branch}"
        width_last = 512
    else:
        names = [(f"Mconv{i}_stage{stage}_{branch}", 7) for i in range(1, 6)] + [(f"Mconv6_stage{stage}_{branch}", 1)]
        last = f"Mconv7_stage{stage}_{branch}"
        width_last = 128
    layers, c = [], cin
    for j, (name, k) in enumerate(names):
        width = width_last if j == len(names) - 1 else 128
        layers += _conv(name, c, width, k)
        c = width
    layers += _conv(last, c, cout, 1, relu=False)
    return nn.Sequential(OrderedDict(layers))


class OpenPoseRIE(nn.Module):
    """OpenPose body network, stride 8, with optional block-inside offsets.

    Input ``(B, 3, H, W)`` normalised image; ``forward`` returns a list of
    :class:`StageOutput`, one per stage, at ``(H/8, W/8)``.
    """

    def __init__(self, stages: int = 6, offsets: bool = True):
        super().__init__()
        self.stride, self.offsets = 8, offsets
        self.model0 = _backbone()
        hc = heat_channels(offsets)
        self.stages = nn.ModuleList()
        for s in range(1, stages + 1):
            cin = FEATURES if s == 1 else FEATURES + NUM_PAFS + hc
            self.stages.append(nn.ModuleDict({"L1": _branch(s, "L1", cin, NUM_PAFS), "L2": _branch(s, "L2", cin, hc)}))

    def forward(self, x: torch.Tensor) -> list[StageOutput]:
        feats = self.model0(x)
        out, inp = [], feats
        for stage in self.stages:
            paf, heat = stage["L1"](inp), stage["L2"](inp)
            out.append(split_heat(heat, paf, self.offsets))
            inp = torch.cat([feats, paf, heat], dim=1)
        return out
