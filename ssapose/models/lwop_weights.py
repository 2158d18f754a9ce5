"""Import Open Model Zoo's ``human-pose-estimation-0001`` IR into :class:`LightweightOpenPose`.

Our own reading of the IR (no OpenVINO needed): every convolution's 8-bit weights
are dequantized through their ``FakeQuantize``, the folded BatchNorm biases are
taken from the ``Add`` after each convolution, and each layer's stride, padding,
dilation and groups are checked against the module that receives it. The IR's
output channels follow OpenPose's COCO-18 layout; they are permuted into
``ssapose.skeleton``'s order here, and so is the refinement stage's input.

Activations in the IR are 8-bit too; the imported model computes in float, so
its fields differ from OpenVINO's INT8 run by that quantization only.
"""
from __future__ import annotations

import os

import numpy as np
import torch

from ssapose.models.files import safe_load
from ssapose.models.ir import IRGraph
from ssapose.models.lwop import LAYERS, LightweightOpenPose
from ssapose.skeleton import (NUM_HEATMAPS, NUM_PAFS, OPENPOSE_HEATMAP_CHANNELS, OPENPOSE_PAF_CHANNELS)

#: Our PAF channel i is the IR's channel PAF_FROM_IR[i]; likewise for heatmaps.
PAF_FROM_IR = OPENPOSE_PAF_CHANNELS.reshape(-1)
HEAT_FROM_IR = OPENPOSE_HEATMAP_CHANNELS
#: Output convolutions whose channels are permuted, and the refinement input.
_PAF_OUT = ("conv5_5_CPM_L1", "Mconv7_stage2_L1")
_HEAT_OUT = ("conv5_5_CPM_L2", "Mconv7_stage2_L2")
_REFINE_IN = "Mconv1_stage2_L1/sq"
#: Where the refinement input's channels come from in the IR: [PAFs, heatmaps, features].
REFINE_INPUT_FROM_IR = np.concatenate([PAF_FROM_IR, NUM_PAFS + HEAT_FROM_IR,
                                       np.arange(NUM_PAFS + NUM_HEATMAPS, NUM_PAFS + NUM_HEATMAPS + 128)])


def ir_input_normalisation(graph: IRGraph) -> tuple[float, np.ndarray]:
    """The IR's own input transform ``x * scale + shift``: ``(scale, (3,) shift)``."""
    mul = next(l for l in graph.layers.values() if l.type == "Multiply")
    add = next(c for c in graph.consumers(mul) if c.type == "Add")
    scale = float(graph.constant(graph.source(mul, 1)).reshape(-1)[0])
    shift = graph.constant(graph.source(add, 1)).reshape(-1)
    return scale, np.broadcast_to(shift, (3,)).astype(np.float64)


def ir_state_dict(graph: IRGraph) -> dict[str, torch.Tensor]:
    """The IR's weights as a :class:`LightweightOpenPose` state dict (offset heads excluded),
    channels in our skeleton's order.

    Raises:
        ValueError: a layer of the IR does not match the module's geometry.
    """
    state = {}
    for spec in LAYERS:
        conv = graph.conv(spec.ir_name)
        want = (spec.cout, spec.cin // spec.groups, spec.k, spec.k)
        geometry = (conv.stride, conv.dilation, conv.groups, conv.padding)
        pad = spec.dilation * (spec.k // 2)
        expect = ((spec.stride,) * 2, (spec.dilation,) * 2, spec.groups, (pad, pad))
        if conv.weight.shape != want or geometry != expect:
            raise ValueError(f"IR layer {spec.ir_name}: weight {conv.weight.shape}, (stride, dilation, groups, "
                             f"padding) {geometry}; the network expects {want}, {expect}")
        w, b = conv.weight, conv.bias
        if spec.ir_name in _PAF_OUT:
            w, b = w[PAF_FROM_IR], b[PAF_FROM_IR]
        elif spec.ir_name in _HEAT_OUT:
            w, b = w[HEAT_FROM_IR], b[HEAT_FROM_IR]
        elif spec.ir_name == _REFINE_IN:
            w = w[:, REFINE_INPUT_FROM_IR]
        state[f"convs.{spec.key}.weight"] = torch.from_numpy(np.ascontiguousarray(w, np.float32))
        state[f"convs.{spec.key}.bias"] = torch.from_numpy(np.ascontiguousarray(b, np.float32))
    return state


def load_ir(model: LightweightOpenPose, xml_path: str) -> IRGraph:
    """Copy the IR's weights into ``model`` (offset heads untouched). Returns the parsed graph."""
    graph = IRGraph(xml_path)
    missing, unexpected = model.load_state_dict(ir_state_dict(graph), strict=False)
    left = [k for k in missing if not k.startswith("offset_heads.")]
    if left or unexpected:
        raise ValueError(f"IR weights do not fit the network: missing {left[:3]}, unexpected {unexpected[:3]}")
    return graph


def offset_heads_state(model: LightweightOpenPose) -> dict[str, torch.Tensor]:
    """Only the parameters SSA-Pose trained itself (the RIE offset heads), for a small file of our own."""
    return {k: v.detach().cpu().clone() for k, v in model.state_dict().items() if k.startswith("offset_heads.")}


def build_checkpoint(xml_path: str, out: str, offset_heads: str | None = None) -> dict:
    """Write an ``lwop`` checkpoint: the IR's weights plus, if given, our trained offset heads.

    Args:
        xml_path: the IR's XML (the .bin beside it).
        out: the checkpoint to write (``.pt``).
        offset_heads: a file of :func:`offset_heads_state` (with its training notes), or None
            for zero offset heads.
    Returns:
        A summary: ``{"layers", "parameters", "offset_heads"}``.
    """
    from ssapose.models import get_config, save_checkpoint

    config = get_config("lwop")
    model = LightweightOpenPose(offsets=True)
    graph = load_ir(model, xml_path)
    scale, shift = ir_input_normalisation(graph)
    if abs(scale - 1 / 255) > 1e-5 or not np.allclose(-shift, config.preprocess.mean, atol=1e-3):
        raise ValueError(f"the IR normalises its input as x * {scale:.6f} + {shift.tolist()}; the lwop "
                         f"preprocessing expects x / 255 - {config.preprocess.mean[0]}")
    notes = {}
    if offset_heads:
        blob = safe_load(offset_heads)
        state = blob.get("state_dict", blob)
        model.load_state_dict({**model.state_dict(), **state})
        notes = blob.get("notes", {})
    save_checkpoint(out, model, config, source={"ir": os.path.basename(xml_path),
                                                "offset_heads": os.path.basename(offset_heads or ""),
                                                "offset_training": notes})
    return {"layers": len(LAYERS), "parameters": sum(p.numel() for p in model.parameters()),
            "offset_heads": offset_heads or "zero"}
