"""Fault injection: damaged and cut-off videos, corrupt images, output == input, a killed run, files and
dropped connections over HTTP, and the argument rules (issue 21). Each case failed on the code before it."""
import functools
import hashlib
import http.server
import json
import os
import signal
import subprocess
import sys
import threading
import time

import cv2
import numpy as np
import pytest

from app.cli import main
from engines.sinks.files import read_json_lines
from ssapose import sources
from ssapose.sources import FrameSource

from conftest import DATA, DEMO, ROOT, demo_cut

CLIP_FRAMES = 300


@pytest.fixture(scope="module")
def clip(tmp_path_factory):
    """The first 300 frames of the demo clip (stream copy, index at the front, as most cameras write it)."""
    out = demo_cut(tmp_path_factory.mktemp("clip") / "clip.mp4", "-frames:v", str(CLIP_FRAMES), "-c", "copy",
                   "-movflags", "+faststart")
    assert FrameSource(str(out)).count == CLIP_FRAMES
    return out


def _damaged(clip, tmp_path, where=0.5, nbytes=None):
    data = bytearray(clip.read_bytes())
    nbytes = nbytes or len(data) // 16
    at = int(len(data) * where)
    data[at:at + nbytes] = np.random.default_rng(0).integers(0, 256, nbytes, dtype=np.uint8).tobytes()
    out = tmp_path / "damaged.mp4"
    out.write_bytes(bytes(data))
    return out


def _video(args, small_model):
    return main(["video", *args, "--model", small_model, "--input-size", "64"])


def test_damage_in_the_middle_is_skipped_and_reading_goes_on(clip, tmp_path):
    src = FrameSource(str(_damaged(clip, tmp_path)))
    positions = []
    for _ in src:
        positions.append(src.position)
    rep = src.report
    assert rep.stopped == sources.END_OF_INPUT and rep.skipped > 0
    assert rep.read >= 0.9 * (CLIP_FRAMES - rep.skipped) and positions[-1] >= CLIP_FRAMES - 2
    assert positions == sorted(positions) and rep.read + rep.skipped == CLIP_FRAMES   # the gap is where it skipped
    assert "damaged" in rep.describe()


def test_only_frames_that_do_not_decode_are_skipped(clip, tmp_path):
    """The reader resumes at the first frame after the damage that decodes: the last frame it skipped does not."""
    damaged = str(_damaged(clip, tmp_path))
    src = FrameSource(damaged)
    positions = []
    for _ in src:
        positions.append(src.position)
    gaps = [b for a, b in zip(positions, positions[1:]) if b - a > 1]
    assert gaps, "the damage skipped nothing"
    probe = FrameSource(damaged)
    for resumed in gaps:
        assert not probe._readable_at(resumed - 1), f"frame {resumed - 1} decodes, yet it was skipped"
    probe.close()


def test_damaged_video_on_the_command_line_says_what_it_skipped(clip, tmp_path, small_model, capsys):
    poses = tmp_path / "p.jsonl"
    assert _video([str(_damaged(clip, tmp_path)), "--json", str(poses)], small_model) == 0
    out = capsys.readouterr().out
    assert f"of {CLIP_FRAMES} frames, skipped" in out and "stopped: end of input" in out
    _, frames = read_json_lines(str(poses))
    numbers = [f["frame"] for f in frames]
    assert numbers == sorted(numbers) and numbers[-1] >= CLIP_FRAMES - 2 and len(numbers) < CLIP_FRAMES


def test_cut_off_video_says_it_ended_early(clip, tmp_path, small_model, capsys):
    cut = tmp_path / "cut.mp4"
    data = clip.read_bytes()
    cut.write_bytes(data[: int(len(data) * 0.3)])
    poses = tmp_path / "p.jsonl"
    assert _video([str(cut), "--json", str(poses)], small_model) == 0       # frames were processed: exit 0
    err = capsys.readouterr().err
    _, frames = read_json_lines(str(poses))
    n = len(frames)
    assert 0 < n < CLIP_FRAMES and f"ended early at frame {n} of {CLIP_FRAMES}" in err


def test_a_video_with_nothing_readable_is_an_error(tmp_path, small_model, capsys):
    junk = tmp_path / "junk.mp4"
    junk.write_bytes(os.urandom(50_000))
    assert _video([str(junk)], small_model) == 1
    assert "error" in capsys.readouterr().err


def test_corrupt_image_in_a_folder_is_skipped_and_the_rest_kept(tmp_path, small_model, capsys):
    folder = tmp_path / "imgs"
    folder.mkdir()
    for i, p in enumerate(sorted((DATA / "coco_tiny").glob("*.jpg"))[:4]):
        (folder / f"img{i}.jpg").write_bytes(p.read_bytes())
    (folder / "img2.jpg").write_bytes(os.urandom(5000))
    poses, video = tmp_path / "p.jsonl", tmp_path / "o.mp4"
    assert _video([str(folder), "--json", str(poses), "--out", str(video)], small_model) == 0
    captured = capsys.readouterr()
    assert "skipped cannot read image img2.jpg" in captured.err and "skipped 1" in captured.out
    _, frames = read_json_lines(str(poses))
    assert [f["frame"] for f in frames] == [0, 1, 3]
    cap = cv2.VideoCapture(str(video))
    assert sum(1 for _ in iter(lambda: cap.read()[0], False)) == 3


def _sha(path):
    return hashlib.sha256(path.read_bytes()).hexdigest()


@pytest.mark.parametrize("flag", ["--out", "--json", "--csv"])
def test_an_output_that_is_the_input_is_refused_before_any_work(clip, tmp_path, small_model, capsys, flag):
    name = {"--out": "in.mp4", "--json": "in.jsonl", "--csv": "in.csv"}[flag]
    src = tmp_path / name
    src.write_bytes(clip.read_bytes())
    before = _sha(src)
    assert _video([str(src), flag, str(src)], small_model) == 1
    assert "is the input" in capsys.readouterr().err and _sha(src) == before
    link = tmp_path / ("link" + src.suffix)                  # the same file under another name
    link.symlink_to(src)
    assert _video([str(src), flag, str(link)], small_model) == 1 and _sha(src) == before


def test_one_pixel_image_makes_a_playable_video(tmp_path, small_model):
    img = tmp_path / "dot.png"
    cv2.imwrite(str(img), np.full((1, 1, 3), 200, np.uint8))
    out = tmp_path / "dot.mp4"
    assert _video([str(img), "--out", str(out)], small_model) == 0
    cap = cv2.VideoCapture(str(out))
    assert cap.read()[0]


def test_sigkill_leaves_a_playable_mp4_with_every_frame_of_the_poses_file(tmp_path, small_model):
    """Under load too: a CPU-bound process runs beside the run, on every core."""
    hogs = [subprocess.Popen([sys.executable, "-c", "while True: pass"]) for _ in range(os.cpu_count() or 1)]
    try:
        _kill_and_count(tmp_path, small_model)
    finally:
        for h in hogs:
            h.kill()


def _kill_and_count(tmp_path, small_model):
    video, poses = tmp_path / "o.mp4", tmp_path / "p.jsonl"
    proc = subprocess.Popen([sys.executable, "-m", "app.cli", "video", str(DEMO), "--model", small_model,
                             "--input-size", "64", "--out", str(video), "--json", str(poses)], cwd=ROOT,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.time() + 120
    while time.time() < deadline and (not poses.exists() or poses.read_text().count("\n") < 41):   # header + 40
        time.sleep(0.1)
    proc.send_signal(signal.SIGKILL)
    proc.wait(timeout=30)
    _, frames = read_json_lines(str(poses))
    deadline = time.time() + 30                               # FFmpeg finishes the file once its pipe closes
    n = -1
    while time.time() < deadline:
        cap = cv2.VideoCapture(str(video))
        n = sum(1 for _ in iter(lambda: cap.read()[0], False))
        if n >= len(frames) - 1:
            break
        time.sleep(0.5)
    assert len(frames) >= 40 and n >= len(frames) - 1, (n, len(frames))


def test_an_mp4_whose_encoder_is_killed_too_still_plays(tmp_path, small_model):
    """SIGKILL of everything (the run and its FFmpeg, as an out-of-memory kill or a power cut would): the fragmented
    mp4 plays up to its last whole fragment (``KEYFRAME_INTERVAL`` frames each)."""
    from engines.sinks.video import KEYFRAME_INTERVAL

    video, poses = tmp_path / "o.mp4", tmp_path / "p.jsonl"
    proc = subprocess.Popen([sys.executable, "-m", "app.cli", "video", str(DEMO), "--model", small_model,
                             "--input-size", "64", "--out", str(video), "--json", str(poses)], cwd=ROOT,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.time() + 120
    while time.time() < deadline and (not poses.exists() or poses.read_text().count("\n") < 61):
        time.sleep(0.1)
    encoders = subprocess.run(["pgrep", "-f", str(video)], capture_output=True, text=True).stdout.split()
    assert encoders, "no FFmpeg writing the mp4"
    for pid in [proc.pid, *map(int, encoders)]:
        os.kill(pid, signal.SIGKILL)
    proc.wait(timeout=30)
    time.sleep(0.5)
    cap = cv2.VideoCapture(str(video))
    n = sum(1 for _ in iter(lambda: cap.read()[0], False))
    assert n >= 60 - 3 * KEYFRAME_INTERVAL, n


# -- HTTP -------------------------------------------------------------------------------------------------------
class _Quiet(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args):
        pass


class _CutOff(_Quiet):
    """Serves the first 40 % of the file, then drops the connection (the server is gone after that)."""

    def copyfile(self, source, outputfile):
        data = source.read()
        outputfile.write(data[: int(len(data) * 0.4)])
        outputfile.flush()
        self.close_connection = True


class _Stalls(_Quiet):
    """Serves the first 40 % of the file, then sends nothing more while keeping the connection open."""

    def copyfile(self, source, outputfile):
        data = source.read()
        outputfile.write(data[: int(len(data) * 0.4)])
        outputfile.flush()
        time.sleep(30)


@pytest.fixture
def serve(clip):
    servers = []

    def start(handler=_Quiet):
        srv = http.server.ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(handler, directory=str(clip.parent)))
        srv.daemon_threads = True
        threading.Thread(target=srv.serve_forever, daemon=True).start()
        servers.append(srv)
        return srv, f"http://127.0.0.1:{srv.server_address[1]}/{clip.name}"

    yield start
    for srv in servers:
        srv.shutdown()
        srv.server_close()


def test_a_video_file_over_http_plays_every_frame_in_order_and_stops(serve, tmp_path, small_model, capsys):
    _, url = serve()
    poses = tmp_path / "p.jsonl"
    assert _video([url, "--json", str(poses)], small_model) == 0
    _, frames = read_json_lines(str(poses))
    assert [f["frame"] for f in frames] == list(range(CLIP_FRAMES))
    assert "0 dropped" in capsys.readouterr().out


def test_http_server_killed_mid_file_keeps_what_came(serve, monkeypatch):
    monkeypatch.setattr(sources, "RECONNECT_BACKOFF", (0.05, 0.1))
    srv, url = serve(_CutOff)
    src = FrameSource(url)                                   # opened while the server is up
    srv.shutdown()
    srv.server_close()
    got = []
    for _ in src:
        got.append(src.position)
    assert 0 < len(got) < CLIP_FRAMES and "did not come back after 2 tries" in src.report.stopped
    assert got == list(range(len(got))) and src.report.early


def test_a_stalled_connection_is_given_up_in_bounded_time_and_called_stalled(serve, tmp_path, small_model, capsys,
                                                                            monkeypatch):
    monkeypatch.setattr(sources, "STALL_S", 2.0)
    monkeypatch.setattr(sources, "RECONNECT_BACKOFF", (0.05, 0.1))
    _, url = serve(_Stalls)
    poses = tmp_path / "p.jsonl"
    t0 = time.time()
    assert _video([url, "--json", str(poses)], small_model) == 0          # frames came: the summary says the rest
    took = time.time() - t0
    err = capsys.readouterr().err
    n = len(read_json_lines(str(poses))[1])
    assert 0 < n < CLIP_FRAMES and f"the connection stalled at frame {n} of {CLIP_FRAMES}: no data for 2 s" in err
    assert took < 20, f"gave up after {took:.0f} s"


class _DropsOnce(_Quiet):
    """The first download stops at 40 % of the file; the next ones are whole."""

    served = 0

    def copyfile(self, source, outputfile):
        data = source.read()
        type(self).served += 1
        if type(self).served == 1:
            outputfile.write(data[: int(len(data) * 0.4)])
            outputfile.flush()
            self.close_connection = True
        else:
            outputfile.write(data)


def test_a_dropped_download_goes_on_from_the_frame_it_stopped_at(serve, monkeypatch):
    monkeypatch.setattr(sources, "RECONNECT_BACKOFF", (0.05, 0.1))
    _DropsOnce.served = 0
    _, url = serve(_DropsOnce)
    src = FrameSource(url)
    got = []
    for _ in src:
        got.append(src.position)
    assert _DropsOnce.served >= 2, "the connection was never dropped"
    assert got == list(range(CLIP_FRAMES)) and src.report.stopped == sources.END_OF_INPUT


def test_dropped_connection_on_the_command_line_exits_cleanly(serve, tmp_path, small_model, capsys, monkeypatch):
    monkeypatch.setattr(sources, "RECONNECT_BACKOFF", (0.05, 0.1))
    srv, url = serve(_CutOff)
    real_init = FrameSource.__init__

    def open_then_kill_server(self, spec, on_skip=None):
        real_init(self, spec, on_skip)
        srv.shutdown()
        srv.server_close()

    monkeypatch.setattr(FrameSource, "__init__", open_then_kill_server)
    poses = tmp_path / "p.jsonl"
    assert _video([url, "--json", str(poses)], small_model) == 0
    err = capsys.readouterr().err
    _, frames = read_json_lines(str(poses))
    assert frames and f"the connection dropped at frame {len(frames)}" in err and "Traceback" not in err


# -- arguments -------------------------------------------------------------------------------------------------
@pytest.mark.parametrize("value", ["0", "-8", "7", "100000", "abc"])
def test_input_size_has_one_rule_and_one_message(value, capsys):
    with pytest.raises(SystemExit):
        main(["video", "--input-size", value])
    assert "must be a whole number between 32 and 4096 (pixels)" in capsys.readouterr().err


def test_threads_rule(capsys):
    from app.cli import build_parser

    parse = build_parser().parse_args
    assert parse(["video", "--threads", "0"]).threads is None               # 0 and auto: the backend chooses
    assert parse(["video", "--threads", "auto"]).threads is None
    assert parse(["video", "--threads", "3"]).threads == 3
    for bad in ("-1", "x"):
        with pytest.raises(SystemExit):
            main(["video", "--threads", bad])
        assert "or auto (or 0) for the backend's own choice" in capsys.readouterr().err


@pytest.mark.parametrize("flag,value,rule", [("--max-frames", "-1", "at least 0"),
                                             ("--kp-threshold", "2", "between 0 and 1"),
                                             ("--line-width", "0", "between 1 and 64"),
                                             ("--streams", "0", "between 1 and 64, or auto"),
                                             ("--track-lost-s", "nan", "between 0 and 3600 (seconds)"),
                                             ("--kp-threshold", "nan", "between 0 and 1")])
def test_every_numeric_flag_names_its_range(flag, value, rule, capsys):
    with pytest.raises(SystemExit):
        main(["video", flag, value])
    assert rule in capsys.readouterr().err


def test_truncated_ir_weights_are_named(tmp_path):
    from ssapose import paths
    from engines.openvino_backend import read_model

    xml = paths.DEFAULT_MODEL
    if not xml.exists():
        pytest.skip("the default model is built by make")
    (tmp_path / "m.xml").write_bytes(xml.read_bytes())
    (tmp_path / "m.bin").write_bytes(xml.with_suffix(".bin").read_bytes()[:100_000])
    with pytest.raises(ValueError) as e:
        read_model(str(tmp_path / "m.xml"))
    assert str(tmp_path / "m.bin") in str(e.value) and "truncated" in str(e.value) and "\n" not in str(e.value)


# -- eval, doctor, export --------------------------------------------------------------------------------------
def test_eval_warns_without_a_person_category_and_on_wrong_image_sizes(tmp_path, small_model, caplog):
    d = json.loads((DATA / "coco_tiny" / "test_coco.json").read_text())
    d["categories"][0]["id"] = 2
    for a in d["annotations"]:
        a["category_id"] = 2
    d["images"][0]["width"] += 10
    ann = tmp_path / "ann.json"
    ann.write_text(json.dumps(d))
    assert main(["eval", "--ann", str(ann), "--images", str(DATA / "coco_tiny"), "--model", small_model,
                 "--input-size", "64"]) == 0
    text = caplog.text
    assert "has no person category" in text and "but the annotation file records" in text


def test_doctor_tells_no_gpu_from_a_cpu_build(monkeypatch):
    from engines import doctor

    monkeypatch.setattr(doctor, "nvidia_gpu_present", lambda: False)
    import torch
    if torch.cuda.is_available() or torch.version.cuda:
        pytest.skip("a CUDA build of torch")
    assert any("no NVIDIA GPU found" in ln for ln in doctor.torch_lines())
    monkeypatch.setattr(doctor, "nvidia_gpu_present", lambda: True)
    assert any("CPU-only build" in ln and "CUDA build" in ln for ln in doctor.torch_lines())


@pytest.mark.parametrize("fault", ["interrupt", "mismatch"])
def test_export_leaves_no_unchecked_onnx(tmp_path, small_model, monkeypatch, fault):
    from engines import export

    def bad_parity(*a, **k):
        if fault == "interrupt":
            raise KeyboardInterrupt
        return 1.0

    monkeypatch.setattr(export, "parity", bad_parity)
    out = tmp_path / "x.onnx"
    assert main(["export", small_model, "--out", str(out), "--input-size", "64"]) in (1, 130)
    assert list(tmp_path.iterdir()) == []
    out.write_bytes(b"the model exported before")              # a failed export leaves an earlier one as it was
    assert main(["export", small_model, "--out", str(out), "--input-size", "64"]) in (1, 130)
    assert list(tmp_path.iterdir()) == [out] and out.read_bytes() == b"the model exported before"
