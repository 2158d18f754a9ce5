"""Loading published weights into :class:`OpenPoseRIE` (files on disk only, nothing downloads).

* OpenPose COCO body weights in pytorch-openpose's ``body_pose_model.pth``
  layout: flat Caffe names (``conv1_1.weight``, ``conv5_5_CPM_L1.bias``,
  ``Mconv7_stage6_L2.weight``...). L1 is the PAF branch, L2 the heatmaps.
  OpenPose orders its PAF channels differently from ours
  (``skeleton.OPENPOSE_PAF_CHANNELS``) and feeds later stages
  ``[PAF, heatmaps, features]`` where we feed ``[features, PAF, heatmaps(+offsets)]``;
  both are permuted here. Offset channels stay freshly initialised, and their
  inputs to later stages start at zero weight so the baseline's output is kept.
* ImageNet VGG19 in torchvision's layout (``features.0.weight``...): the
  first ten convolutions become ``conv1_1`` ... ``conv4_2``.
"""
from __future__ import annotations

import re

import torch

from ssapose.models.files import safe_load
from ssapose.models.openpose import FEATURES, OpenPoseRIE
from ssapose.skeleton import NUM_HEATMAPS, NUM_PAFS, OPENPOSE_PAF_CHANNELS

#: our PAF channel i comes from OpenPose's channel PAF_FROM_OPENPOSE[i]
PAF_FROM_OPENPOSE = torch.as_tensor(OPENPOSE_PAF_CHANNELS.reshape(-1))
TORCHVISION_VGG19 = {0: "conv1_1", 2: "conv1_2", 5: "conv2_1", 7: "conv2_2", 10: "conv3_1", 12: "conv3_2",
                     14: "conv3_3", 16: "conv3_4", 19: "conv4_1", 21: "conv4_2"}
_STAGE = re.compile(r"^(?:conv5_\d_CPM|Mconv\d_stage(\d))_(L[12])$")


def our_key(name: str) -> str:
    """Map a flat OpenPose parameter name to our state-dict key."""
    layer, _, kind = name.rpartition(".")
    m = _STAGE.match(layer)
    if m is None:
        return f"model0.{layer}.{kind}"
    stage = int(m.group(1) or 1)
    return f"stages.{stage - 1}.{m.group(2)}.{layer}.{kind}"


def openpose_key(key: str) -> str:
    """Inverse of :func:`our_key`."""
    parts = key.split(".")
    return ".".join(parts[1:]) if parts[0] == "model0" else ".".join(parts[3:])


def _is_last(layer: str) -> bool:
    return layer.startswith("conv5_5_CPM") or layer.startswith("Mconv7")


def _is_first_refine(layer: str) -> bool:
    return layer.startswith("Mconv1_stage")


def load_openpose_weights(model: OpenPoseRIE, state: dict | str) -> list[str]:
    """Copy OpenPose body weights into ``model``; returns the keys left untouched (offset parts)."""
    if isinstance(state, str):
        state = safe_load(state)
    ours = model.state_dict()
    if not any(k.startswith("Mconv7_stage") or k.startswith("conv5_5_CPM") for k in state):
        raise ValueError("not an OpenPose body model state dict (no conv5_5_CPM_*/Mconv7_stage* layers)")
    touched = set()
    with torch.no_grad():
        for name, w in state.items():
            key = our_key(name)
            if key not in ours:
                raise ValueError(f"OpenPose layer {name} has no place in this model ({key})")
            layer = name.rpartition(".")[0]
            dst = ours[key]
            if _is_last(layer) and layer.endswith("L1"):
                w = w[PAF_FROM_OPENPOSE]
            if _is_last(layer) and layer.endswith("L2"):
                dst[:NUM_HEATMAPS] = w
                touched.add(key)
                continue
            if _is_first_refine(layer) and w.ndim == 4:
                dst.zero_()
                dst[:, :FEATURES] = w[:, NUM_PAFS + NUM_HEATMAPS:]
                dst[:, FEATURES:FEATURES + NUM_PAFS] = w[:, PAF_FROM_OPENPOSE]
                dst[:, FEATURES + NUM_PAFS:FEATURES + NUM_PAFS + NUM_HEATMAPS] = w[:, NUM_PAFS:NUM_PAFS + NUM_HEATMAPS]
                touched.add(key)
                continue
            if dst.shape != w.shape:
                raise ValueError(f"{name}: shape {tuple(w.shape)} does not fit {tuple(dst.shape)}")
            dst.copy_(w)
            touched.add(key)
    model.load_state_dict(ours)
    return sorted(set(ours) - touched)


def to_openpose_state(model: OpenPoseRIE) -> dict:
    """Our weights in OpenPose's flat layout (offset channels dropped): the inverse mapping."""
    out = {}
    inv = torch.argsort(PAF_FROM_OPENPOSE)
    for key, w in model.state_dict().items():
        name = openpose_key(key)
        layer = name.rpartition(".")[0]
        if _is_last(layer) and layer.endswith("L1"):
            w = w[inv]
        elif _is_last(layer) and layer.endswith("L2"):
            w = w[:NUM_HEATMAPS]
        elif _is_first_refine(layer) and w.ndim == 4:
            w = torch.cat([w[:, FEATURES:FEATURES + NUM_PAFS][:, inv],
                           w[:, FEATURES + NUM_PAFS:FEATURES + NUM_PAFS + NUM_HEATMAPS], w[:, :FEATURES]], 1)
        out[name] = w.clone()
    return out


def load_vgg19(model: OpenPoseRIE, state: dict | str) -> None:
    """Initialise the backbone from a torchvision-format VGG19 state dict (ImageNet)."""
    if isinstance(state, str):
        state = safe_load(state)
    ours = model.state_dict()
    with torch.no_grad():
        for idx, name in TORCHVISION_VGG19.items():
            for kind in ("weight", "bias"):
                src = state.get(f"features.{idx}.{kind}")
                if src is None:
                    raise ValueError(f"not a torchvision VGG19 state dict: features.{idx}.{kind} missing")
                ours[f"model0.{name}.{kind}"].copy_(src)
    model.load_state_dict(ours)


def load_init(model, path: str) -> None:
    """Initialise from a local file: OpenPose body weights or torchvision VGG19, told apart by key names."""
    if not isinstance(model, OpenPoseRIE):
        raise ValueError("initial weights (OpenPose / VGG19) apply to the openpose model only")
    state = safe_load(path)
    if any(k.startswith("features.") for k in state):
        load_vgg19(model, state)
    else:
        load_openpose_weights(model, state)
