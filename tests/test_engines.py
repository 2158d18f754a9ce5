import importlib.util
import json

import numpy as np
import pytest
import torch

from engines import backend_kind, create_backend
from engines.base import ModelInfo, check_fields, check_layout
from engines.export import export_onnx, parity, quantize_int8
from engines.run.step import FrameStep
from engines.tensorrt_backend import ShapeRange, check_sidecar, sidecar_path
from ssapose.models import build_model, get_config, save_checkpoint

from conftest import DATA

IMAGES = sorted(str(p) for p in (DATA / "coco_tiny").glob("*.jpg"))


@pytest.fixture(scope="module")
def lite_files(tmp_path_factory):
    """A small lite checkpoint with non-trivial BatchNorm statistics, its ONNX and INT8 exports."""
    d = tmp_path_factory.mktemp("eng")
    torch.manual_seed(0)
    cfg = get_config("lite", width=48)
    m = build_model(cfg).train()
    with torch.no_grad():
        m(torch.randn(4, 3, 96, 96))
    pt, onnx_path, int8 = d / "m.pt", d / "m.onnx", d / "m.int8.onnx"
    save_checkpoint(str(pt), m, cfg)
    export_onnx(str(pt), str(onnx_path), size=128)
    quantize_int8(str(onnx_path), str(int8), IMAGES[:2], size=128)
    return pt, onnx_path, int8


def test_torch_onnx_parity_on_real_images(lite_files):
    pt, onnx_path, _ = lite_files
    assert parity(str(pt), str(onnx_path), IMAGES, size=160) <= 1e-4


def test_every_backend_same_names_and_shapes(lite_files):
    x = np.random.default_rng(0).normal(size=(1, 3, 96, 128)).astype(np.float32)
    shapes = []
    for path in lite_files:
        be = create_backend(str(path))
        out = be.infer(x)
        assert set(out) == {"heatmaps", "pafs", "offsets"}
        shapes.append({k: v.shape for k, v in out.items()})
        assert be.info.stride == 8
    assert shapes[0] == shapes[1] == shapes[2] == {"heatmaps": (1, 19, 12, 16), "pafs": (1, 38, 12, 16),
                                                   "offsets": (1, 36, 12, 16)}


def test_int8_close_to_fp32(lite_files):
    _, onnx_path, int8 = lite_files
    x = np.random.default_rng(1).normal(size=(1, 3, 96, 96)).astype(np.float32)
    a, b = create_backend(str(onnx_path), "onnx").infer(x), create_backend(str(int8), "onnx").infer(x)
    for k in a:     # quantisation error is not zero, and small against the field's own scale
        err, scale = np.abs(a[k] - b[k]).mean(), np.abs(a[k]).mean()
        assert 0 < err <= min(0.01, 0.1 * scale), (k, err, scale)


def test_estimator_finds_people_on_a_real_image(real_model):
    import cv2
    est = FrameStep(create_backend(real_model), input_size=368)
    img = cv2.imread(str(DATA / "coco_mini" / "val2017" / "000000183709.jpg"))      # 4 people
    poses = est(img)
    assert poses.keypoints.shape[1:] == (17, 3) and len(poses) >= 2
    assert (poses.keypoints[..., 2] > 0).sum(axis=1).max() >= 8        # at least one well-formed person


def test_backend_kind_and_errors(tmp_path, lite_files):
    assert backend_kind("a.pt") == "torch" and backend_kind("a.xml") == "openvino"
    have_ov = importlib.util.find_spec("openvino") is not None
    assert backend_kind("a.onnx") == ("openvino" if have_ov else "onnx")   # on a CPU, the faster one installed
    assert backend_kind("a.onnx", device="cuda") == "onnx"
    assert backend_kind("a.onnx", "onnx") == "onnx"
    assert backend_kind("a.engine") == "tensorrt" and backend_kind("a.plan") == "tensorrt"
    with pytest.raises(ValueError, match="unknown backend"):
        backend_kind("a.onnx", "tflite")
    with pytest.raises(ValueError, match="suffix"):
        backend_kind("model.bin")
    with pytest.raises(FileNotFoundError):
        create_backend(str(tmp_path / "none.onnx"))
    bad = tmp_path / "bad.onnx"
    bad.write_bytes(lite_files[1].read_bytes()[:1000])
    with pytest.raises(ValueError, match="corrupt or truncated"):
        create_backend(str(bad))
    badpt = tmp_path / "bad.pt"
    badpt.write_bytes(b"not a checkpoint")
    with pytest.raises(ValueError):
        create_backend(str(badpt))


def test_layout_mismatch_is_a_clear_error(lite_files):
    with pytest.raises(ValueError, match="does not match the decoder"):
        check_layout({"heatmaps": 17, "pafs": 38, "offsets": 0})
    with pytest.raises(ValueError, match="offset channels"):
        check_layout({"heatmaps": 19, "pafs": 38, "offsets": 34})
    info = ModelInfo(get_config("lite"))
    with pytest.raises(ValueError, match="expected"):
        check_fields({"heatmaps": np.zeros((1, 19, 4, 4)), "pafs": np.zeros((1, 30, 4, 4)),
                      "offsets": np.zeros((1, 36, 4, 4))}, info)
    # an ONNX file whose metadata declares another layout is refused at load time
    import onnx
    m = onnx.load(str(lite_files[1]))
    for p in m.metadata_props:
        if p.key == "ssapose":
            d = json.loads(p.value)
            d["layout"]["pafs"] = 26
            p.value = json.dumps(d)
    path = lite_files[1].parent / "wrong.onnx"
    onnx.save(m, str(path))
    with pytest.raises(ValueError, match="does not match the decoder"):
        create_backend(str(path))


def test_tensorrt_checks_without_gpu(tmp_path):
    assert ShapeRange.parse("368") == (368, 368) and ShapeRange.parse("256x480") == (256, 480)
    with pytest.raises(ValueError):
        ShapeRange.parse("big")
    eng = tmp_path / "m.engine"
    eng.write_bytes(b"x")
    with pytest.raises(ValueError, match="missing"):
        check_sidecar(str(eng), "10.3.0", "NVIDIA H100")
    info = json.loads(ModelInfo(get_config("lite")).to_json())
    sidecar_path(eng).write_text(json.dumps({"tensorrt": "10.1.0", "gpu": "NVIDIA A100", "model": info}))
    with pytest.raises(ValueError, match="TensorRT 10.1.0.*rebuild"):
        check_sidecar(str(eng), "10.3.0", "NVIDIA A100")
    with pytest.raises(ValueError, match="A100.*rebuild"):
        check_sidecar(str(eng), "10.1.0", "NVIDIA H100")
    assert check_sidecar(str(eng), "10.1.0", "NVIDIA A100").stride == 8


def close_relative(a: dict, b: dict, rel: float) -> None:
    """Every field of ``b`` within ``rel`` of the field's range in ``a`` (max), and 10x tighter on average."""
    assert set(a) == set(b)
    for k in a:
        scale = float(np.abs(a[k]).max())
        assert scale > 0, k
        err = np.abs(a[k] - b[k])
        assert err.max() <= rel * scale, (k, float(err.max()), scale)
        assert err.mean() <= rel * scale / 10, (k, float(err.mean()), scale)


@pytest.mark.skipif(importlib.util.find_spec("tensorrt") is None, reason="TensorRT is not installed")
@pytest.mark.skipif(not torch.cuda.is_available(), reason="no CUDA GPU")
def test_tensorrt_engine_matches_onnx(lite_files, tmp_path):
    from engines.tensorrt_backend import build_engine
    eng = build_engine(str(lite_files[1]), str(tmp_path / "m.engine"), ShapeRange((64, 64), (128, 128), (256, 256)))
    x = np.random.default_rng(0).normal(size=(1, 3, 128, 128)).astype(np.float32)
    be = create_backend(str(eng))
    close_relative(create_backend(str(lite_files[1]), "onnx").infer(x), be.infer(x), 0.02)
    with pytest.raises(ValueError, match="outside the engine's optimisation profile"):
        be.infer(np.zeros((1, 3, 512, 512), np.float32))
    be.close()


@pytest.mark.skipif(not torch.cuda.is_available(), reason="no CUDA GPU")
def test_torch_cuda_fp16_matches_cpu(lite_files):
    x = np.random.default_rng(0).normal(size=(1, 3, 128, 128)).astype(np.float32)
    a = create_backend(str(lite_files[0])).infer(x)
    b = create_backend(str(lite_files[0]), device="cuda").infer(x)
    close_relative(a, b, 0.02)


@pytest.mark.skipif(not torch.cuda.is_available(), reason="no CUDA GPU")
def test_real_model_on_cuda_matches_cpu(real_model):
    import cv2
    from ssapose.preprocess import prepare
    cpu, gpu = create_backend(real_model), create_backend(real_model, device="cuda")
    frames = [cv2.resize(cv2.imread(p), (640, 480)) for p in IMAGES[:3]]      # one shape: one CUDA graph, replayed
    for f in frames:
        x, _ = prepare(f, 368, cpu.info.config.preprocess)
        close_relative(cpu.infer(x), gpu.infer(x), 0.02)
