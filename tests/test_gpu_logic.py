"""The GPU paths' logic, checked without a GPU: TensorRT 10/11 flags, profiles, timing-cache fallback,
FP16 by default, the FP16 ONNX conversion, and the errors a CPU-only torch gives."""
from types import SimpleNamespace

import numpy as np
import pytest
import torch

from engines.tensorrt_backend import ShapeRange, load_timing_cache, network_flags


def fake_trt(version: str):
    return SimpleNamespace(__version__=version,
                           NetworkDefinitionCreationFlag=SimpleNamespace(STRONGLY_TYPED=1))


def test_strong_typing_flag_per_version():
    assert network_flags(fake_trt("10.9.0"), strongly_typed=True) == 1 << 1
    assert network_flags(fake_trt("10.9.0"), strongly_typed=False) == 0
    assert network_flags(fake_trt("11.2.0"), strongly_typed=True) == 0     # always strongly typed in 11


def test_default_profile_covers_the_apps_shapes():
    r = ShapeRange()
    assert r.opt == (368, 656)                                  # 16:9 video at the default height
    for h, w in ((368, 656), (512, 912), (96, 368), (256, 456), (736, 1312)):
        assert r.covers(h, w), (h, w)
    assert not r.covers(2000, 3000)


class FakeConfig:
    """set_timing_cache refuses a cache made from bytes of another GPU or version."""

    def __init__(self):
        self.set_with = []

    def create_timing_cache(self, data: bytes):
        return SimpleNamespace(data=data)

    def set_timing_cache(self, cache, ignore_mismatch: bool) -> bool:
        self.set_with.append(cache.data)
        return cache.data == b""


def test_stale_timing_cache_falls_back_to_an_empty_one(tmp_path):
    stale = tmp_path / "m.timing"
    stale.write_bytes(b"from another GPU")
    cfg = FakeConfig()
    cache, reused = load_timing_cache(None, cfg, stale)
    assert cache.data == b"" and not reused and cfg.set_with == [b"from another GPU", b""]
    cache, reused = load_timing_cache(None, FakeConfig(), tmp_path / "none.timing")
    assert cache.data == b"" and not reused


def test_engine_build_is_fp16_by_default():
    from app.cli import build_parser
    args = build_parser().parse_args(["engine", "build", "m.onnx", "--out", "m.engine"])
    assert args.fp32 is False and ShapeRange.parse(args.opt) == (368, 656)


def test_fp16_onnx_keeps_io_and_outputs(small_model, tmp_path):
    import onnx

    from engines import create_backend
    from engines.export import export_onnx
    from engines.onnx_fp16 import convert_to_fp16

    fp32 = tmp_path / "m.onnx"
    export_onnx(small_model, str(fp32), size=128)
    fp16 = convert_to_fp16(str(fp32), str(tmp_path / "m.fp16.onnx"))
    m = onnx.load(str(fp16))
    assert m.graph.input[0].type.tensor_type.elem_type == onnx.TensorProto.FLOAT
    assert all(o.type.tensor_type.elem_type == onnx.TensorProto.FLOAT for o in m.graph.output)
    assert any(i.data_type == onnx.TensorProto.FLOAT16 for i in m.graph.initializer)
    assert not any(i.data_type == onnx.TensorProto.FLOAT for i in m.graph.initializer)
    x = np.random.default_rng(0).normal(size=(1, 3, 96, 128)).astype(np.float32)
    a = create_backend(str(fp32), "onnx").infer(x)
    b = create_backend(str(fp16), "onnx").infer(x)
    for k in a:
        assert np.abs(a[k] - b[k]).max() <= 0.01 * np.abs(a[k]).max() + 1e-3


@pytest.mark.skipif(torch.cuda.is_available(), reason="checks the message of a CPU-only torch")
def test_cpu_torch_gives_a_clear_cuda_error(small_model):
    from engines import create_backend
    from engines.tensorrt_backend import require_cuda_torch

    with pytest.raises(RuntimeError, match="CUDA build of torch"):
        require_cuda_torch()
    with pytest.raises(RuntimeError, match="CPU-only build"):
        create_backend(small_model, device="cuda")


def test_half_keeps_batchnorm_in_fp32():
    from engines.torch_backend import half_except_norms
    from ssapose.models import build_model, get_config

    m = half_except_norms(build_model(get_config("lite", width=32)))
    norms = [x for x in m.modules() if isinstance(x, torch.nn.BatchNorm2d)]
    convs = [x for x in m.modules() if isinstance(x, torch.nn.Conv2d)]
    assert norms and all(n.weight.dtype == torch.float32 and n.running_var.dtype == torch.float32 for n in norms)
    assert convs and all(c.weight.dtype == torch.float16 for c in convs)
