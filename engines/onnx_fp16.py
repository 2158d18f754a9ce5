"""An FP16 copy of an exported ONNX model with FP32 inputs and outputs, for strongly typed builds.

TensorRT 11 dropped ``BuilderFlag.FP16``: every network is strongly typed, so a
reduced-precision engine needs a model whose tensors are FP16 already. SSA-Pose's
networks are convolutions, activations, adds, concats and a tanh, all of which
run in FP16, so the conversion is direct: every FLOAT weight and constant becomes
FLOAT16, a Cast follows the input and a Cast precedes each output, so callers keep
feeding and reading float32.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np


def _half(tensor):
    from onnx import numpy_helper

    arr = numpy_helper.to_array(tensor)
    if arr.dtype != np.float32:
        return tensor
    out = numpy_helper.from_array(np.clip(arr, -65504, 65504).astype(np.float16), tensor.name)
    return out


def convert_to_fp16(onnx_path: str, out: str) -> Path:
    """Write ``out``: the model of ``onnx_path`` computing in FP16, with FP32 I/O and the same names
    and metadata. Returns ``out``."""
    import onnx
    from onnx import TensorProto, helper

    model = onnx.load(onnx_path)
    g = model.graph
    for i, init in enumerate(g.initializer):
        g.initializer[i].CopyFrom(_half(init))
    for node in g.node:
        for attr in node.attribute:
            if attr.type == onnx.AttributeProto.TENSOR and attr.t.data_type == TensorProto.FLOAT:
                attr.t.CopyFrom(_half(attr.t))
        if node.op_type == "Cast":
            for attr in node.attribute:
                if attr.name == "to" and attr.i == TensorProto.FLOAT:
                    attr.i = TensorProto.FLOAT16
    renames = {}
    casts = []
    for inp in g.input:
        if inp.type.tensor_type.elem_type == TensorProto.FLOAT:
            half = inp.name + "_fp16"
            renames[inp.name] = half
            casts.append(helper.make_node("Cast", [inp.name], [half], to=TensorProto.FLOAT16,
                                          name=inp.name + "_to_fp16"))
    for node in g.node:
        node.input[:] = [renames.get(n, n) for n in node.input]
    tail = []
    for outp in g.output:
        if outp.type.tensor_type.elem_type == TensorProto.FLOAT:
            half = outp.name + "_fp16"
            for node in g.node:
                node.output[:] = [half if n == outp.name else n for n in node.output]
                node.input[:] = [half if n == outp.name else n for n in node.input]
            tail.append(helper.make_node("Cast", [half], [outp.name], to=TensorProto.FLOAT,
                                         name=outp.name + "_to_fp32"))
    nodes = casts + list(g.node) + tail
    del g.node[:]
    g.node.extend(nodes)
    del g.value_info[:]                      # stale float32 annotations; shapes are re-inferred
    onnx.checker.check_model(model)
    Path(out).parent.mkdir(parents=True, exist_ok=True)
    onnx.save(model, out)
    return Path(out)
