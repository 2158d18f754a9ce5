"""Lightweight OpenPose (Osokin, 2018), layer for layer as Open Model Zoo's
``human-pose-estimation-0001`` IR has it, with the paper's RIE offsets added.

MobileNet-v1 backbone (stride 8, dilated ``conv5_1``), a CPM block with ELUs and a
residual, an initial stage and one refinement stage whose input is
``[38 PAFs, 19 heatmaps, 128 features]``. BatchNorm is folded into the biases,
as in the IR. Layer names are the IR's with ``/`` written as ``_``, so that
``lwop_weights`` maps the IR onto this module one to one.

With ``offsets=True`` the heatmap branch of each stage gains a 1x1 convolution
to the 36 block-inside offset channels (Eq. 7), from the same features as the
heatmaps' last layer. It is initialised at zero, so a fresh model predicts zero
offsets; the refinement stage does not read the offsets, so the pretrained
fields stay exactly what the IR computes.
"""
from __future__ import annotations

from typing import NamedTuple

import torch
import torch.nn.functional as F
from torch import nn

from ssapose.models.heads import StageOutput
from ssapose.skeleton import NUM_HEATMAPS, NUM_OFFSETS, NUM_PAFS


class ConvSpec(NamedTuple):
    """One convolution: IR name, channels, kernel, stride, dilation, groups (padding keeps the size)."""

    ir_name: str
    cin: int
    cout: int
    k: int = 1
    stride: int = 1
    dilation: int = 1
    groups: int = 1

    @property
    def key(self) -> str:
        return self.ir_name.replace("/", "_")


def _dw_sep(name: str, cin: int, cout: int, stride: int = 1, dilation: int = 1) -> list[ConvSpec]:
    return [ConvSpec(f"{name}/dw", cin, cin, 3, stride, dilation, cin), ConvSpec(f"{name}/sep", cin, cout)]


#: The backbone's depthwise-separable pairs: (name, in, out, stride, dilation).
_BACKBONE = [("conv2_1", 32, 64, 1, 1), ("conv2_2", 64, 128, 2, 1), ("conv3_1", 128, 128, 1, 1),
             ("conv3_2", 128, 256, 2, 1), ("conv4_1", 256, 256, 1, 1), ("conv4_2", 256, 512, 1, 1),
             ("conv5_1", 512, 512, 1, 2)] + [(f"conv5_{i}", 512, 512, 1, 1) for i in range(2, 6)]

FEATURES = 128
#: Refinement blocks of stage 2.
REFINEMENT_BLOCKS = 5

LAYERS: list[ConvSpec] = (
    [ConvSpec("conv1", 3, 32, 3, 2)]
    + [s for spec in _BACKBONE for s in _dw_sep(*spec)]
    + [ConvSpec("conv4_3_CPM/al", 512, 128), ConvSpec("conv4_3_CPM/red", 128, 128),
       ConvSpec("conv4_3_CPM/dw1", 128, 128, 3, groups=128), ConvSpec("conv4_3_CPM/dw1/1x1", 128, 128),
       ConvSpec("conv4_3_CPM/dw2", 128, 128, 3, groups=128), ConvSpec("conv4_3_CPM/dw2/1x1", 128, 128),
       ConvSpec("conv4_3_CPM/dw3", 128, 128, 3, groups=128), ConvSpec("conv4_3_CPM/inc", 128, 128),
       ConvSpec("conv4_4_CPM", 128, FEATURES, 3)]
    + [ConvSpec(f"conv5_{i}_CPM_L1", FEATURES, 128, 3) for i in (1, 2, 3)]
    + [ConvSpec("conv5_4_CPM_L1", 128, 512), ConvSpec("conv5_5_CPM_L1", 512, NUM_PAFS),
       ConvSpec("conv5_4_CPM_L2", 128, 512), ConvSpec("conv5_5_CPM_L2", 512, NUM_HEATMAPS)]
    + [s for b in range(1, REFINEMENT_BLOCKS + 1) for s in (
        ConvSpec(f"Mconv{b}_stage2_L1/sq", NUM_PAFS + NUM_HEATMAPS + FEATURES if b == 1 else 128, 128),
        ConvSpec(f"Mconv{b}_stage2_L1/3x3", 128, 128, 3),
        ConvSpec(f"Mconv{b}_stage2_L1/3x3/2", 128, 128, 3, dilation=2))]
    + [ConvSpec("Mconv6_stage2_L1", 128, 128), ConvSpec("Mconv7_stage2_L1", 128, NUM_PAFS),
       ConvSpec("Mconv6_stage2_L2", 128, 128), ConvSpec("Mconv7_stage2_L2", 128, NUM_HEATMAPS)]
)

#: The offset heads (ours, not in the IR): (key, input channels) per stage.
OFFSET_HEADS = (("conv5_5_CPM_L2_offsets", 512), ("Mconv7_stage2_L2_offsets", 128))


def _make(spec: ConvSpec) -> nn.Conv2d:
    pad = spec.dilation * (spec.k // 2)
    return nn.Conv2d(spec.cin, spec.cout, spec.k, spec.stride, pad, spec.dilation, spec.groups)


class LightweightOpenPose(nn.Module):
    """``forward((B, 3, H, W))`` -> two :class:`StageOutput` at ``(H/8, W/8)``.

    The input is BGR, ``x / 255 - 0.502`` (see the registry's ``lwop`` preprocessing).
    Offsets, when present, are ``0.5 * tanh`` of the head's output, in cells.
    """

    def __init__(self, offsets: bool = True):
        super().__init__()
        self.stride, self.offsets = 8, offsets
        self.convs = nn.ModuleDict({s.key: _make(s) for s in LAYERS})
        self.offset_heads = nn.ModuleDict()
        if offsets:
            for key, cin in OFFSET_HEADS:
                head = nn.Conv2d(cin, NUM_OFFSETS, 1)
                nn.init.zeros_(head.weight)
                nn.init.zeros_(head.bias)
                self.offset_heads[key] = head

    def _c(self, name: str, x: torch.Tensor) -> torch.Tensor:
        return self.convs[name.replace("/", "_")](x)

    def _offsets(self, key: str, x: torch.Tensor) -> torch.Tensor | None:
        return 0.5 * torch.tanh(self.offset_heads[key](x)) if self.offsets else None

    def features(self, x: torch.Tensor) -> torch.Tensor:
        """Backbone + CPM: ``(B, 128, H/8, W/8)``."""
        x = F.relu(self._c("conv1", x))
        for name, *_ in _BACKBONE:
            x = F.relu(self._c(f"{name}/sep", F.relu(self._c(f"{name}/dw", x))))
        a = F.elu(self._c("conv4_3_CPM/al", x))
        t = F.elu(self._c("conv4_3_CPM/red", a))
        for name in ("dw1", "dw1/1x1", "dw2", "dw2/1x1", "dw3", "inc"):
            t = F.elu(self._c(f"conv4_3_CPM/{name}", t))
        return F.relu(self._c("conv4_4_CPM", a + t))

    def forward(self, x: torch.Tensor) -> list[StageOutput]:
        feats = self.features(x)
        t = feats
        for i in (1, 2, 3):
            t = F.relu(self._c(f"conv5_{i}_CPM_L1", t))
        paf1 = self._c("conv5_5_CPM_L1", F.relu(self._c("conv5_4_CPM_L1", t)))
        h = F.relu(self._c("conv5_4_CPM_L2", t))
        stage1 = StageOutput(self._c("conv5_5_CPM_L2", h), paf1, self._offsets("conv5_5_CPM_L2_offsets", h))
        r = torch.cat([paf1, stage1.heatmaps, feats], dim=1)
        for b in range(1, REFINEMENT_BLOCKS + 1):
            s = F.relu(self._c(f"Mconv{b}_stage2_L1/sq", r))
            r = s + F.relu(self._c(f"Mconv{b}_stage2_L1/3x3/2", F.relu(self._c(f"Mconv{b}_stage2_L1/3x3", s))))
        paf2 = self._c("Mconv7_stage2_L1", F.relu(self._c("Mconv6_stage2_L1", r)))
        h = F.relu(self._c("Mconv6_stage2_L2", r))
        stage2 = StageOutput(self._c("Mconv7_stage2_L2", h), paf2, self._offsets("Mconv7_stage2_L2_offsets", h))
        return [stage1, stage2]
