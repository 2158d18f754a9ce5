"""Model files never run code, and passwords in source URLs never reach a file, a message or the settings."""
import os
import subprocess
import sys

import numpy as np
import pytest
import torch

from engines.sinks import OutputSpec, Sinks, run_header
from engines.sinks.files import read_json_lines
from ssapose.models import build_model, get_config, load_checkpoint, save_checkpoint
from ssapose.models.files import UnsafeFileError, safe_load
from ssapose.redact import redact, without_password
from ssapose.sources import FrameSource, SourceError

from conftest import ROOT

SECRET = "hunter2"
URL = f"rtsp://admin:{SECRET}@127.0.0.1:1/live?password={SECRET}"


class _Payload:
    """Unpickling this calls ``open(marker, "w")``: a file appears if the loader ran code."""

    def __init__(self, marker):
        self.marker = str(marker)

    def __reduce__(self):
        return (open, (self.marker, "w"))


@pytest.fixture
def crafted(tmp_path):
    """A checkpoint that looks like ours but carries a payload; and the file the payload would create."""
    marker = tmp_path / "pwned"
    cfg = get_config("lite", width=16)
    blob = {"format": 1, "config": {"arch": "lite"}, "state_dict": build_model(cfg).state_dict(),
            "extra": _Payload(marker)}
    path = tmp_path / "evil.pt"
    torch.save(blob, path)
    assert not marker.exists()
    return path, marker


def test_pickle_payload_would_run_under_plain_unpickling(crafted):
    """The fixture is a real attack: loaded without weights_only, it creates the file."""
    path, marker = crafted
    torch.load(path, weights_only=False)          # the only weights_only=False: proving the payload is live
    assert marker.exists()


def test_crafted_checkpoint_is_refused_and_runs_nothing(crafted):
    path, marker = crafted
    with pytest.raises(UnsafeFileError, match="evil.pt was refused"):
        load_checkpoint(str(path))
    with pytest.raises(UnsafeFileError):
        safe_load(path)
    assert not marker.exists()


def _run(args, **kw):
    return subprocess.run([sys.executable, *args], cwd=ROOT, capture_output=True, text=True, timeout=300, **kw)


def test_crafted_model_on_the_command_line_is_one_line_error(crafted):
    path, marker = crafted
    done = _run(["-m", "app.cli", "video", "--model", str(path), "--max-frames", "1"])
    assert done.returncode == 1 and not marker.exists()
    err = done.stderr.strip().splitlines()
    assert len(err) == 1 and str(path) in err[0] and "refused" in err[0], done.stderr


@pytest.mark.parametrize("flag", ["--resume", "--init"])
def test_train_refuses_a_crafted_checkpoint(crafted, tmp_path, flag):
    path, marker = crafted
    args = ["training/train.py", "--synthetic", "true", "--synthetic-dir", str(tmp_path / "syn"),
            "--synthetic-train", "2", "--synthetic-val", "1", "--input-size", "64", "--width", "16",
            "--iterations", "1", "--workers", "0", "--out", str(tmp_path / "run"), flag, str(path)]
    done = _run(args)
    assert done.returncode == 1 and not marker.exists()
    assert "refused" in done.stderr and "Traceback" not in done.stderr, done.stderr[-1500:]


def test_our_own_files_load_safely(tmp_path):
    """Everything we write (numpy numbers and paths among the extras) loads with weights_only."""
    from pathlib import Path
    cfg = get_config("lite", width=16)
    path = tmp_path / "m.pt"
    save_checkpoint(str(path), build_model(cfg), cfg, val={"AP": np.float64(0.5)}, where=Path("/x"), n=np.int64(3))
    _, _, blob = load_checkpoint(str(path))
    assert blob["val"]["AP"] == 0.5 and blob["where"] == "/x" and blob["n"] == 3
    assert isinstance(blob["val"]["AP"], float)


def test_truncated_checkpoint_is_a_clear_error(tmp_path):
    cfg = get_config("lite", width=16)
    path = tmp_path / "m.pt"
    save_checkpoint(str(path), build_model(cfg), cfg)
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])
    with pytest.raises(ValueError, match="m.pt is not a readable PyTorch file"):
        load_checkpoint(str(path))


def test_onnx_external_data_must_stay_in_the_models_folder(tmp_path):
    onnx = pytest.importorskip("onnx")
    from onnx import TensorProto, helper

    from engines.onnx_backend import read_info

    outside = tmp_path / "secret.bin"
    outside.write_bytes(b"\0" * 16)
    (tmp_path / "m").mkdir()
    w = TensorProto(name="w", data_type=TensorProto.FLOAT, dims=[4])
    w.data_location = TensorProto.EXTERNAL
    for k, v in (("location", "../secret.bin"), ("offset", "0"), ("length", "16")):
        w.external_data.add(key=k, value=v)
    graph = helper.make_graph([helper.make_node("Identity", ["w"], ["y"])], "g", [],
                              [helper.make_tensor_value_info("y", TensorProto.FLOAT, [4])], [w])
    model = helper.make_model(graph)
    model.metadata_props.add(key="ssapose", value="{}")
    path = tmp_path / "m" / "model.onnx"
    onnx.save(model, str(path))
    with pytest.raises(ValueError, match="outside the model's folder"):
        read_info(str(path))


# -- secrets ---------------------------------------------------------------------------------------------------
def test_redaction_rules():
    assert redact(URL) == "rtsp://***@127.0.0.1:1/live?password=***"
    assert SECRET not in without_password(URL) and without_password(URL).startswith("rtsp://admin@127.0.0.1:1/")
    assert redact("clip.mp4") == "clip.mp4" and redact("0") == "0"
    assert redact("http://cam.local/mjpg") == "http://cam.local/mjpg"


def test_output_headers_and_metadata_carry_no_password(tmp_path):
    outs = OutputSpec(poses=str(tmp_path / "p.jsonl"), table=str(tmp_path / "t.csv"))
    Sinks(outs, run_header(URL, "m.xml", 25.0, {}), 25.0).close()
    header, _ = read_json_lines(str(tmp_path / "p.jsonl"))
    assert header["source"] == redact(URL)
    assert SECRET not in (tmp_path / "t.csv").read_text() and "***" in (tmp_path / "t.csv").read_text()
    assert SECRET not in (tmp_path / "p.jsonl").read_text()


def test_error_messages_carry_no_password():
    with pytest.raises(SourceError) as e:
        FrameSource(f"http://admin:{SECRET}@127.0.0.1:1/x.mp4")
    assert SECRET not in str(e.value) and "***@127.0.0.1" in str(e.value)


def test_the_command_line_prints_no_password(tmp_path, small_model):
    url = f"http://admin:{SECRET}@127.0.0.1:1/x.mp4"
    done = _run(["-m", "app.cli", "video", url, "--model", small_model, "--json", str(tmp_path / "p.jsonl")])
    assert done.returncode == 1
    assert SECRET not in done.stdout + done.stderr and "***" in done.stderr


def test_the_app_does_not_remember_a_password(qtbot, tmp_path, small_model, monkeypatch):
    pytest.importorskip("pytestqt")
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    from PyQt5.QtCore import QSettings

    from app.qt.main_window import build_window

    messages = []
    monkeypatch.setattr("app.qt.live_tab.QMessageBox.critical", lambda *a: messages.append(a[2]))
    settings = QSettings(str(tmp_path / "s.ini"), QSettings.IniFormat)
    w = build_window(str(tmp_path), small_model, settings)
    qtbot.addWidget(w)
    w.live.source.setText(f"http://admin:{SECRET}@127.0.0.1:1/x.mp4")
    w.live.start()
    qtbot.waitUntil(lambda: len(messages) > 0, timeout=30000)
    w.live.stop()
    settings.sync()
    stored = (tmp_path / "s.ini").read_text()
    assert SECRET not in stored and "admin@127.0.0.1:1/x.mp4" in stored
    assert SECRET not in messages[0] and "not remembered" in w.live.note
