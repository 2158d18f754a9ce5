"""The OpenVINO backend: parity with ONNX Runtime, clear errors, and the INT8 default model's accuracy."""
import builtins
import shutil

import cv2
import numpy as np
import pytest
from scipy.spatial import cKDTree

from engines import create_backend
from engines.export import export_onnx
from engines.openvino_backend import OpenVINOBackend
from ssapose import paths
from ssapose.decode import DecoderConfig, find_peaks
from ssapose.preprocess import prepare

pytest.importorskip("openvino")
IMAGES = paths.calibration_images()[:6]


@pytest.fixture(scope="module")
def small_onnx(small_model, tmp_path_factory):
    out = tmp_path_factory.mktemp("ov") / "lite.onnx"
    export_onnx(small_model, str(out), size=128)
    return out


@pytest.fixture(scope="module")
def default_models():
    """The ONNX and INT8 IR that `make models` builds from the shared IR."""
    if not (paths.DEFAULT_ONNX.exists() and paths.DEFAULT_MODEL.exists()):
        pytest.skip("run `make models` first: models/lwop.onnx and models/lwop.int8.xml are built, not committed")
    return paths.DEFAULT_ONNX, paths.DEFAULT_MODEL


def inputs(info, size: int):
    return [prepare(cv2.imread(str(p)), size, info.config.preprocess)[0] for p in IMAGES]


def test_openvino_matches_onnxruntime_on_real_images(small_onnx, default_models):
    for path, size, tol in ((small_onnx, 160, 1e-4), (default_models[0], 256, 2e-3)):
        ort = create_backend(str(path), "onnx")
        ov = OpenVINOBackend(str(path), precision="f32")
        assert ov.precision == "f32"
        for x in inputs(ort.info, size)[:3]:
            a, b = ort.infer(x), ov.infer(x)
            assert set(a) == set(b)
            assert max(float(np.abs(a[k] - b[k]).max()) for k in a) <= tol


def test_shapes_are_compiled_once_and_threads_honoured(small_onnx):
    be = OpenVINOBackend(str(small_onnx), threads=1)
    for x in (np.zeros((1, 3, 64, 96), np.float32), np.zeros((1, 3, 64, 96), np.float32),
              np.zeros((1, 3, 96, 64), np.float32)):
        out = be.infer(x)
        assert out["heatmaps"].shape[2:] == (x.shape[2] // 8, x.shape[3] // 8)
    assert (1, 3, 64, 96) in be._compiled and (1, 3, 96, 64) in be._compiled
    compiled = be._compiled[(1, 3, 64, 96)]
    assert int(compiled.get_property("INFERENCE_NUM_THREADS")) == 1


def test_two_streams_run_two_requests_at_once(small_onnx):
    """With streams=2 two threads infer at the same time, each on its own request, with the same results."""
    import threading

    be = OpenVINOBackend(str(small_onnx), threads=2, streams=2)
    x = np.random.default_rng(0).normal(size=(1, 3, 64, 96)).astype(np.float32)
    want = OpenVINOBackend(str(small_onnx), threads=1).infer(x)["heatmaps"]
    got = []
    workers = [threading.Thread(target=lambda: got.append(be.infer(x)["heatmaps"])) for _ in range(4)]
    for w in workers:
        w.start()
    for w in workers:
        w.join()
    assert len(got) == 4 and all(np.allclose(g, want, atol=1e-4) for g in got)
    assert len(be._requests) == 4 and int(be._compiled[(1, 3, 64, 96)].get_property("NUM_STREAMS")) == 2


def test_bad_ir_files_give_one_line_errors(tmp_path, default_models):
    xml = default_models[1]
    bad = tmp_path / "m.xml"
    bad.write_text(xml.read_text()[:3000])                  # truncated XML
    shutil.copy(xml.with_suffix(".bin"), tmp_path / "m.bin")
    with pytest.raises(ValueError, match="corrupt or truncated") as e:
        create_backend(str(bad))
    assert "\n" not in str(e.value)
    shutil.copy(xml, bad)
    (tmp_path / "m.bin").write_bytes(xml.with_suffix(".bin").read_bytes()[:5000])   # truncated weights
    with pytest.raises(ValueError) as e:
        create_backend(str(bad))
    assert "\n" not in str(e.value)
    (tmp_path / "m.bin").unlink()
    with pytest.raises(FileNotFoundError, match="weights file is missing"):
        create_backend(str(bad))
    with pytest.raises(ValueError, match="import-ir"):            # the raw Open Model Zoo IR has no SSA-Pose info
        create_backend(str(paths.lwop_ir()))


def test_missing_openvino_names_the_extra(monkeypatch, small_onnx):
    real = builtins.__import__

    def no_openvino(name, *a, **k):
        if name == "openvino" or name.startswith("openvino."):
            raise ImportError("No module named 'openvino'")
        return real(name, *a, **k)

    monkeypatch.setattr(builtins, "__import__", no_openvino)
    with pytest.raises(ImportError, match=r"ssapose\[openvino\]"):
        create_backend(str(small_onnx), "openvino")


def test_int8_keeps_subcell_keypoints(default_models):
    """INT8 moves confident peaks by under a pixel (median) after the log-parabola refinement."""
    fp32, int8 = create_backend(str(default_models[0]), "onnx"), create_backend(str(default_models[1]))
    dist = []
    for x in inputs(fp32.info, 368):
        a, b = fp32.infer(x)["heatmaps"][0], int8.infer(x)["heatmaps"][0]
        pa, pb = find_peaks(a, None, 8, DecoderConfig()), find_peaks(b, None, 8, DecoderConfig())
        for part in range(18):
            sure = pa.xy[(pa.part == part) & (pa.score > 0.3)]
            theirs = pb.xy[pb.part == part]
            if len(sure) and len(theirs):
                dist += list(cKDTree(theirs).query(sure)[0])
    dist = np.array(dist)
    assert len(dist) > 20
    assert np.median(dist) <= 1.5 and (dist <= 4).mean() >= 0.9


def test_int8_ap_within_001_of_fp32_on_val(default_models):
    from engines.evaluate import evaluate_model

    val = paths.coco_set("val")
    fp32, _ = evaluate_model(str(default_models[0]), str(val.ann), str(val.images), 368, backend="onnx")
    int8, _ = evaluate_model(str(default_models[1]), str(val.ann), str(val.images), 368)
    assert fp32["AP"] >= 0.46                              # the floor for the default decoding
    assert int8["AP"] >= fp32["AP"] - 0.01


def per_tensor_input_highs(xml) -> dict[str, float]:
    """Upper bound of each convolution's per-tensor input FakeQuantize in an IR, by its network layer name."""
    import openvino as ov

    highs = {}
    for op in ov.Core().read_model(str(xml)).get_ordered_ops():
        src = op.input_value(0).get_node() if op.get_type_name() == "Convolution" else None
        if src is not None and src.get_type_name() == "FakeQuantize":
            high = src.input_value(2).get_node().get_vector()
            if high.size == 1:                              # depthwise inputs are per channel (min-max already)
                highs[op.get_friendly_name().split("/")[2]] = float(high[0])
    return highs


def test_int8_activation_ranges_hold_every_calibration_image(default_models):
    """Ranges are the extremes over all calibration frames: NNCF's default (the mean of per-frame maxima)
    clipped the CPM and stage activations of most images, which lowered people's scores."""
    torch = pytest.importorskip("torch")
    from ssapose.models import load_checkpoint

    highs = per_tensor_input_highs(default_models[1])
    model, config, _ = load_checkpoint(str(paths.CHECKPOINT))
    seen = {}
    for key in highs:
        model.convs[key].register_forward_pre_hook(
            lambda mod, inp, key=key: seen.__setitem__(key, max(seen.get(key, -np.inf), float(inp[0].max()))))
    with torch.no_grad():
        for p in IMAGES:                                    # calibration images, preprocessed as calibration does
            model.eval()(torch.from_numpy(prepare(cv2.imread(str(p)), 368, config.preprocess)[0]))
    assert len(highs) >= 40, sorted(highs)
    clipped = {k: round(seen[k] / highs[k], 3) for k in highs if seen[k] > highs[k] * 1.001 + 1e-6}
    assert not clipped, f"calibration activations above the IR's range (max / high): {clipped}"
