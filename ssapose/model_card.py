"""The model card: what a runtime needs to know about a network, without torch.

:class:`ModelConfig` names a network and its parameters, hence its output stride and channel
layout; :class:`Preprocess` says how a frame becomes its input. Every model file carries them
(the checkpoint, the ONNX metadata, the IR's runtime info, the engine's sidecar), so that a
backend can run a file alone. Nothing here imports torch: the OpenVINO and ONNX Runtime paths
read cards without it.
"""
from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field

from ssapose.skeleton import NUM_HEATMAPS, NUM_OFFSETS, NUM_PAFS

#: The network input height (pixels) the default model and every default were chosen at; the width
#: follows the frame's aspect ratio (OpenPose's -1x368).
DEFAULT_INPUT_HEIGHT = 368


@dataclass(frozen=True)
class Preprocess:
    """How a BGR uint8 frame becomes the network input.

    ``x = (rgb / 255 - mean) / std`` (or BGR if ``rgb`` is False), in NCHW
    float32; the frame is resized so that its longer side (``fit="long"``) or
    its height (``fit="height"``) equals the input size, then padded to a
    multiple of ``pad_to`` with ``pad_value``.
    """

    mean: tuple[float, float, float] = (0.5, 0.5, 0.5)
    std: tuple[float, float, float] = (1.0, 1.0, 1.0)
    rgb: bool = False
    pad_to: int = 16
    pad_value: int = 128
    fit: str = "long"


@dataclass(frozen=True)
class ModelConfig:
    """A network by registry name with its parameters.

    arch: ``"openpose"`` (VGG19-10 + 6 stages), ``"lwop"`` (Lightweight OpenPose,
    MobileNet-v1 + 2 stages, the pretrained default) or ``"lite"``.
    offsets: with the 36 RIE offset channels.
    stages: OpenPose stages (1-6).
    stride, width, refinements: lite model only.
    refine: the sub-cell refinement its fields are decoded with by default (``DecoderConfig.refine``:
        ``"offsets"`` for offsets trained as the paper's absolute Eq. 7 targets, ``"fit+offsets"`` for a
        residual on the fit, ``"fit"``...); empty: the decoder's own default. A flag overrides it.
    """

    arch: str = "lite"
    offsets: bool = True
    stages: int = 6
    stride: int = 8
    width: int = 96
    refinements: int = 1
    preprocess: Preprocess = field(default_factory=Preprocess)
    refine: str = ""

    @property
    def output_stride(self) -> int:
        return self.stride if self.arch == "lite" else 8

    def channel_layout(self) -> dict:
        return {"heatmaps": NUM_HEATMAPS, "pafs": NUM_PAFS, "offsets": NUM_OFFSETS if self.offsets else 0}


#: Named configs. ``openpose`` is the paper's model; ``openpose-baseline`` is
#: OpenPose without offsets; ``lwop`` is Lightweight OpenPose with RIE offsets (its
#: pretrained COCO weights come from ``ssapose import-ir``); ``lite``/``lite16`` are
#: small networks for tests and CPU training runs.
REGISTRY: dict[str, ModelConfig] = {
    "lwop": ModelConfig(arch="lwop", offsets=True, stages=2, refine="fit",     # chosen on train2017 (BENCHMARKS)
                        preprocess=Preprocess(mean=(0.50196,) * 3, std=(1.0, 1.0, 1.0), pad_to=8, fit="height")),
    "openpose": ModelConfig(arch="openpose", offsets=True,
                            preprocess=Preprocess(mean=(0.5, 0.5, 0.5), std=(1.0, 1.0, 1.0), pad_to=8, fit="height")),
    "openpose-baseline": ModelConfig(arch="openpose", offsets=False,
                                     preprocess=Preprocess(pad_to=8, fit="height")),
    "lite": ModelConfig(arch="lite", stride=8, width=128, refinements=1),
    "lite16": ModelConfig(arch="lite", stride=16, width=128, refinements=1),
}


def get_config(name: str, **overrides) -> ModelConfig:
    if name not in REGISTRY:
        raise KeyError(f"unknown model {name!r}; known: {', '.join(REGISTRY)}")
    return dataclasses.replace(REGISTRY[name], **overrides)


def config_to_dict(config: ModelConfig) -> dict:
    return dataclasses.asdict(config)


def config_from_dict(d: dict) -> ModelConfig:
    d = dict(d)
    d["preprocess"] = Preprocess(**{k: tuple(v) if isinstance(v, list) else v for k, v in d.get("preprocess", {}).items()})
    return ModelConfig(**d)
