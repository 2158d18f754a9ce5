"""Reading an OpenVINO IR (v10/v11 XML + bin) without OpenVINO: the graph and its constant weights.

Only what an importer of convolution weights needs: the layers and edges, and
the value of any constant subgraph (``Const`` -> ``Convert`` -> ``FakeQuantize``
-> ``Reshape``), so that 8-bit weights come out dequantized as float32.
"""
from __future__ import annotations

import os
import xml.etree.ElementTree as ET
from dataclasses import dataclass, field

import numpy as np

#: IR element types and their numpy types.
_DTYPES = {"f16": np.float16, "f32": np.float32, "f64": np.float64, "i8": np.int8, "u8": np.uint8,
           "i16": np.int16, "i32": np.int32, "i64": np.int64, "u16": np.uint16, "u32": np.uint32,
           "u64": np.uint64, "boolean": np.bool_}


@dataclass
class Layer:
    """One IR layer: ``id``, ``name``, ``type``, its ``data`` attributes and its
    inputs as ``{port: (source layer id, source port)}``."""

    id: str
    name: str
    type: str
    data: dict
    inputs: dict = field(default_factory=dict)

    def input_ids(self) -> list[str]:
        """Source layer ids in port order."""
        return [self.inputs[p][0] for p in sorted(self.inputs, key=int)]


def fake_quantize(x: np.ndarray, in_low, in_high, out_low, out_high, levels: int) -> np.ndarray:
    """OpenVINO's ``FakeQuantize`` (opset1), elementwise with broadcasting, in float64."""
    x, il, ih, ol, oh = (np.asarray(a, np.float64) for a in (x, in_low, in_high, out_low, out_high))
    q = np.round((x - il) / (ih - il) * (levels - 1)) / (levels - 1) * (oh - ol) + ol
    return np.where(x <= np.minimum(il, ih), ol, np.where(x > np.maximum(il, ih), oh, q))


class IRGraph:
    """An IR model read from ``xml_path`` and the ``.bin`` beside it.

    Raises:
        FileNotFoundError: a file is missing.
        ValueError: the XML does not parse, is no IR, or a constant lies outside the bin
            (a truncated file).
    """

    def __init__(self, xml_path: str, bin_path: str | None = None):
        bin_path = bin_path or os.path.splitext(xml_path)[0] + ".bin"
        for p in (xml_path, bin_path):
            if not os.path.isfile(p):
                raise FileNotFoundError(f"OpenVINO IR file not found: {p}")
        try:
            root = ET.parse(xml_path).getroot()
        except ET.ParseError as e:
            raise ValueError(f"{xml_path} is not valid XML (truncated?): {e}") from e
        if root.tag != "net" or root.find("layers") is None or root.find("edges") is None:
            raise ValueError(f"{xml_path} is not an OpenVINO IR (no <net> with <layers> and <edges>)")
        with open(bin_path, "rb") as f:
            self.blob = f.read()
        self.path = xml_path
        self.layers: dict[str, Layer] = {}
        for el in root.find("layers"):
            data = el.find("data")
            self.layers[el.get("id")] = Layer(el.get("id"), el.get("name"), el.get("type"),
                                              dict(data.attrib) if data is not None else {})
        for e in root.find("edges"):
            self.layers[e.get("to-layer")].inputs[e.get("to-port")] = (e.get("from-layer"), e.get("from-port"))
        self.by_name = {l.name: l for l in self.layers.values()}
        self._consumers: dict[str, list[Layer]] = {}
        for l in self.layers.values():
            for src in l.input_ids():
                self._consumers.setdefault(src, []).append(l)

    def layer(self, name: str) -> Layer:
        if name not in self.by_name:
            raise KeyError(f"{self.path} has no layer named {name!r}")
        return self.by_name[name]

    def consumers(self, layer: Layer) -> list[Layer]:
        return self._consumers.get(layer.id, [])

    def source(self, layer: Layer, port: int) -> Layer:
        """The layer feeding input ``port`` of ``layer`` (ports counted in order, from 0)."""
        return self.layers[layer.input_ids()[port]]

    def constant(self, layer: Layer) -> np.ndarray:
        """Evaluate a constant subgraph ending at ``layer`` (float64 for floats)."""
        t = layer.type
        if t == "Const":
            dtype = _DTYPES[layer.data["element_type"]]
            off, size = int(layer.data["offset"]), int(layer.data["size"])
            if off + size > len(self.blob):
                raise ValueError(f"constant {layer.name!r} lies past the end of the weights file "
                                 f"({off + size} > {len(self.blob)} bytes): the .bin is truncated or not this IR's")
            shape = [int(s) for s in layer.data["shape"].split(",") if s.strip()] if layer.data.get("shape") else []
            value = np.frombuffer(self.blob, dtype=dtype, count=size // np.dtype(dtype).itemsize, offset=off)
            value = value.reshape(shape)
            return value.astype(np.float64) if np.issubdtype(dtype, np.floating) else value
        args = [self.constant(self.layers[i]) for i in layer.input_ids()]
        if t == "Convert":
            return args[0].astype(np.float64)
        if t == "FakeQuantize":
            return fake_quantize(*args, levels=int(layer.data["levels"]))
        if t == "Reshape":
            shape = [int(s) for s in args[1]]
            if layer.data.get("special_zero", "false").lower() == "true":
                shape = [args[0].shape[i] if s == 0 else s for i, s in enumerate(shape)]
            return args[0].reshape(shape)
        if t == "Multiply":
            return args[0] * args[1]
        if t == "Add":
            return args[0] + args[1]
        raise ValueError(f"cannot evaluate layer {layer.name!r} of type {t} as a constant")

    def conv(self, name: str) -> "IRConv":
        """The convolution ``name`` (``name`` or ``name/WithoutBiases``) with dequantized weights
        and the bias of the ``Add`` that follows it."""
        layer = self.by_name.get(name + "/WithoutBiases") or self.layer(name)
        if layer.type not in ("Convolution", "GroupConvolution"):
            raise ValueError(f"layer {name!r} is a {layer.type}, not a convolution")
        weight = self.constant(self.source(layer, 1)).astype(np.float32)
        groups = 1
        if layer.type == "GroupConvolution":             # (G, O/G, I/G, kh, kw) -> (O, I/G, kh, kw)
            groups = weight.shape[0]
            weight = weight.reshape((-1,) + weight.shape[2:])
        bias = np.zeros(weight.shape[0], np.float32)
        for c in self.consumers(layer):
            if c.type == "Add":
                other = self.source(c, 1)
                if other.type == "Const":
                    bias = self.constant(other).astype(np.float32).reshape(-1)
                break
        ints = lambda k: tuple(int(v) for v in layer.data[k].split(","))   # noqa: E731
        if ints("pads_begin") != ints("pads_end"):
            raise ValueError(f"layer {name!r} has asymmetric padding, which Conv2d cannot express")
        return IRConv(name, weight, bias, ints("strides"), ints("pads_begin"), ints("dilations"), groups)


@dataclass
class IRConv:
    """A convolution's parameters in PyTorch's convention: ``weight (O, I/groups, kh, kw)``,
    ``bias (O,)`` float32; stride, padding, dilation as ``(h, w)``."""

    name: str
    weight: np.ndarray
    bias: np.ndarray
    stride: tuple[int, int]
    padding: tuple[int, int]
    dilation: tuple[int, int]
    groups: int
