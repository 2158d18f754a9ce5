"""The guarantees of a run, checked at every entry point that can meet them: ``ssapose video``, ``ssapose batch``
(worker processes), the app's pipeline worker and the Python API's ``stream()``.

Each guarantee lives once (``engines.run.session.open_run`` and ``engines.sinks``); these tests make sure every
entry point goes through it:

- an output that is the run's input is refused before any work, and the input is left as it was;
- an output that cannot be written ends the run with a message naming it (and a failing exit status), leaving
  nothing under a temporary name;
- a source that ends early says so (never silently);
- relative paths are taken from the caller's working folder;
- a file name that is not UTF-8 is read and written beside.

``batch --ray`` (Ray actors instead of worker processes) is checked where its path differs: writing and reading.
"""
import hashlib
import json
import os
import subprocess
import sys
import warnings
from dataclasses import dataclass
from pathlib import Path

import pytest

from app.cli import main
from engines.sinks import OutputSpec
from engines.sinks.files import read_json_lines

from conftest import ROOT, demo_cut

FRAMES = 60
ENTRY_POINTS = ("video", "batch", "app", "stream")


@pytest.fixture(scope="module")
def clip(tmp_path_factory):
    """The first 60 frames of the demo clip (stream copy, index at the front), and a copy cut off at 40 % of its
    bytes: its index declares 60 frames, reading ends early."""
    d = tmp_path_factory.mktemp("clips")
    out = demo_cut(d / "clip.mp4", "-frames:v", str(FRAMES), "-c", "copy", "-movflags", "+faststart")
    cut = d / "cut.mp4"
    data = out.read_bytes()
    cut.write_bytes(data[: int(len(data) * 0.4)])
    return out


@dataclass
class Outcome:
    """What an entry point did: ``ok`` (exit 0 / no exception), every message it gave a user, the poses it wrote."""

    ok: bool
    said: str
    poses: list | None = None


def _flags(outputs: OutputSpec) -> list[str]:
    flags = []
    for kind, flag in (("video", "--out"), ("poses", "--json"), ("table", "--csv")):
        if getattr(outputs, kind):
            flags += [flag, getattr(outputs, kind)]
    return flags


def via_video(source, outputs, model, capsys, **_) -> Outcome:
    code = main(["video", str(source), "--model", model, "--input-size", "64", *_flags(outputs)])
    out = capsys.readouterr()
    return Outcome(code == 0, out.out + out.err)


def via_batch(source, outputs, model, capsys, out_dir=None, ray=False, **_) -> Outcome:
    """Batch writes ``OUT_DIR/NAME.jsonl`` (and .csv, .mp4): ``outputs`` says which kinds. ``ray``: the same jobs
    on a local Ray instance's actors."""
    if ray:
        pytest.importorskip("ray")
    out_dir = out_dir or Path(outputs.poses or outputs.table or outputs.video).parent
    flags = (["--csv"] if outputs.table else []) + (["--video"] if outputs.video else []) + (["--ray"] if ray else [])
    code = main(["batch", str(source), "--out-dir", str(out_dir), "--model", model, "--input-size", "64", *flags])
    out = capsys.readouterr()
    manifest = Path(out_dir) / "ssapose-batch.json"
    said = out.out + out.err + (manifest.read_text() if manifest.is_file() else "")
    return Outcome(code == 0, said)


def via_batch_ray(source, outputs, model, capsys, **kw) -> Outcome:
    return via_batch(source, outputs, model, capsys, ray=True, **kw)


def via_app(source, outputs, model, capsys, qtbot=None, **_) -> Outcome:
    """The app's worker records an mp4 and its pose file beside it: ``outputs.video`` names the recording."""
    from app.qt.workers import PipelineWorker

    messages = []
    w = PipelineWorker(str(source), model, realtime=False, record=outputs.video)
    w.mode = w.mode.__class__(height=64)
    w.failed.connect(messages.append)
    w.model_failed.connect(messages.append)
    with qtbot.waitSignal(w.finished, timeout=120_000):
        w.start()
    return Outcome(not messages, "\n".join(messages))


def via_stream(source, outputs, model, capsys, **_) -> Outcome:
    import engines

    said = []
    try:
        with engines.load(model, input_size=64) as est, warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            stream = est.stream(source, outputs=outputs, draw=bool(outputs.video))
            n = sum(1 for _ in stream)
            said += [str(w.message) for w in caught] + [stream.report.describe()]
        return Outcome(True, "\n".join(said), [n])
    except (ValueError, RuntimeError, OSError) as e:
        return Outcome(False, "\n".join(said + [str(e)]))


RUN = {"video": via_video, "batch": via_batch, "batch-ray": via_batch_ray, "app": via_app, "stream": via_stream}


@pytest.fixture
def qt(request):
    """qtbot for the app's worker (skipped where pytest-qt or Qt cannot run)."""
    if request.node.callspec.params.get("entry") != "app":
        return None
    pytest.importorskip("pytestqt")
    return request.getfixturevalue("qtbot")


def _sha(path) -> str:
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()


@pytest.mark.parametrize("entry", ENTRY_POINTS)
def test_an_output_that_is_the_input_is_refused_and_the_input_kept(entry, clip, tmp_path, small_model, capsys, qt):
    src = tmp_path / "in.mp4"
    src.write_bytes(clip.read_bytes())
    before = _sha(src)
    got = RUN[entry](src, OutputSpec(video=str(src)), small_model, capsys, qtbot=qt, out_dir=tmp_path)
    assert not got.ok and "is the input" in got.said, got.said
    assert _sha(src) == before
    assert not (tmp_path / "ssapose-batch.json").exists()       # batch: refused before any video was handed out
    link = tmp_path / "link.mp4"                               # the same file under another name
    link.symlink_to(src)
    if entry != "batch":                                       # batch names its outputs itself
        got = RUN[entry](src, OutputSpec(video=str(link)), small_model, capsys, qtbot=qt)
        assert not got.ok and "is the input" in got.said, got.said
        assert _sha(src) == before


@pytest.mark.parametrize("entry", ("video", "stream"))
def test_two_outputs_on_one_file_are_refused(entry, clip, tmp_path, small_model, capsys):
    poses = tmp_path / "p.jsonl"
    table = tmp_path / "t.csv"
    table.symlink_to(poses)                                    # the table would overwrite the pose file
    got = RUN[entry](clip, OutputSpec(poses=str(poses), table=str(table)), small_model, capsys)
    assert not got.ok and "also the" in got.said and not poses.exists()


def _unwritable(tmp_path, entry) -> tuple[OutputSpec, Path]:
    """Outputs of which one cannot be written: a pose file on a full device (/dev/full), or for batch, whose
    outputs are staged, a folder where its staged table would go."""
    out = tmp_path / "out"
    out.mkdir()
    if entry.startswith("batch"):
        (out / ".clip.csv.partial.csv").mkdir()
        return OutputSpec(poses=str(out / "clip.jsonl"), table=str(out / "clip.csv")), out
    if entry == "app":
        rec = out / "rec.mp4"
        (out / "rec.jsonl").symlink_to("/dev/full")
        return OutputSpec(video=str(rec)), out
    (out / "t.csv").symlink_to("/dev/full")
    return OutputSpec(poses=str(out / "p.jsonl"), table=str(out / "t.csv")), out


@pytest.mark.skipif(not os.path.exists("/dev/full"), reason="needs /dev/full")
@pytest.mark.parametrize("entry", (*ENTRY_POINTS, "batch-ray"))
def test_an_output_that_cannot_be_written_fails_the_run_and_says_which(entry, clip, tmp_path, small_model, capsys,
                                                                       qt):
    outputs, out = _unwritable(tmp_path, entry)
    got = RUN[entry](clip, outputs, small_model, capsys, qtbot=qt, out_dir=out)
    assert not got.ok, got.said
    assert "cannot write" in got.said and ("table" in got.said or "poses file" in got.said), got.said
    assert "Traceback" not in got.said
    left = [p.name for p in out.glob(".*partial*") if p.name != ".clip.csv.partial.csv"]
    assert not left, left


def test_batch_says_when_its_manifest_cannot_be_written(clip, tmp_path, small_model, capsys):
    out = tmp_path / "out"
    (out / "ssapose-batch.json").mkdir(parents=True)            # the manifest cannot be replaced
    got = via_batch(clip, OutputSpec(poses=str(out / "clip.jsonl")), small_model, capsys)
    assert not got.ok and "cannot write the manifest" in got.said and "1 failed" in got.said, got.said


@pytest.mark.parametrize("entry", (*ENTRY_POINTS, "batch-ray"))
def test_a_source_that_ends_early_says_so(entry, clip, tmp_path, small_model, capsys, qt):
    cut = clip.with_name("cut.mp4")
    out = tmp_path / "out"
    outputs = OutputSpec(poses=str(out / "cut.jsonl")) if entry != "app" else OutputSpec()
    got = RUN[entry](cut, outputs, small_model, capsys, qtbot=qt, out_dir=out)
    assert f"of {FRAMES}" in got.said and "ended early" in got.said, got.said
    if entry == "stream":
        assert "SourceEndedEarly" not in got.said                 # the warning's text, not its class name
        assert 0 < got.poses[0] < FRAMES


def test_stream_warns_of_an_early_end_and_keeps_quiet_at_a_frame_limit(clip, small_model):
    import engines
    from engines.api import SourceEndedEarly

    with engines.load(small_model, input_size=64) as est:
        with pytest.warns(SourceEndedEarly, match="ended early"):
            stream = est.stream(clip.with_name("cut.mp4"))
            n = sum(1 for _ in stream)
        assert 0 < n < FRAMES and stream.report.early and stream.report.read == n
        with warnings.catch_warnings():
            warnings.simplefilter("error")
            stream = est.stream(clip, max_frames=5)
            assert len(list(stream)) == 5 and "frame limit 5" in stream.report.stopped


@pytest.mark.parametrize("entry", ("video", "batch", "stream"))
def test_relative_paths_are_the_callers(entry, clip, tmp_path, small_model, capsys, monkeypatch):
    vids, elsewhere = tmp_path / "vids", tmp_path / "elsewhere"
    vids.mkdir()
    elsewhere.mkdir()
    (vids / "a.mp4").write_bytes(clip.read_bytes())
    monkeypatch.chdir(elsewhere)
    got = RUN[entry](Path("../vids/a.mp4"), OutputSpec(poses="poses/a.jsonl"), small_model, capsys,
                     out_dir=Path("poses"))
    assert got.ok, got.said
    _, frames = read_json_lines(str(elsewhere / "poses" / "a.jsonl"))
    assert len(frames) == FRAMES


def test_batch_from_another_folder_runs_its_workers_there(clip, tmp_path, small_model):
    """The README's example from a folder that is not the checkout: relative inputs and output folder."""
    (tmp_path / "vids").mkdir()
    (tmp_path / "vids" / "a.mp4").write_bytes(clip.read_bytes())
    done = subprocess.run([sys.executable, "-m", "app.cli", "batch", "vids/", "--out-dir", "poses/", "--model",
                           small_model, "--input-size", "64"], cwd=tmp_path, capture_output=True, text=True,
                          timeout=300, env=dict(os.environ, PYTHONPATH=str(ROOT)))
    assert done.returncode == 0, done.stderr[-2000:]
    assert "1 done" in done.stdout and (tmp_path / "poses" / "a.jsonl").is_file()


def test_every_entry_point_writes_one_header(clip, tmp_path, small_model, capsys):
    """video, batch and stream write the same header for the same settings (the source aside)."""
    heads = {}
    for entry in ("video", "batch", "stream"):
        out = tmp_path / entry
        got = RUN[entry](clip, OutputSpec(poses=str(out / "clip.jsonl")), small_model, capsys, out_dir=out)
        assert got.ok, got.said
        heads[entry] = json.loads((out / "clip.jsonl").read_text().splitlines()[0])
    assert heads["video"] == heads["batch"] == heads["stream"]


def _latin1(name: bytes) -> str:
    """A file name that is not UTF-8, as Python sees it on Linux (surrogate escapes)."""
    return os.fsdecode(name)


@pytest.mark.parametrize("entry", ENTRY_POINTS)
def test_file_names_that_are_not_utf8_are_read_and_written(entry, clip, tmp_path, small_model, capsys, qt):
    """OpenCV crashed (a segmentation fault) on such a name; every entry point reads it and writes beside it."""
    src = tmp_path / _latin1(b"caf\xe9.mp4")
    src.write_bytes(clip.read_bytes())
    out = tmp_path / _latin1(b"out\xe9")
    if entry == "app":
        outputs, written = OutputSpec(video=str(out / _latin1(b"rec\xe9.mp4"))), out / _latin1(b"rec\xe9.jsonl")
    else:
        written = out / _latin1(b"caf\xe9.jsonl")                   # batch names it after the video
        outputs = OutputSpec(poses=str(written))
    got = RUN[entry](src, outputs, small_model, capsys, qtbot=qt, out_dir=out)
    assert got.ok, got.said
    header, frames = read_json_lines(str(written))
    assert len(frames) == FRAMES and header["source"].endswith("caf\ufffd.mp4")


def test_images_with_names_that_are_not_utf8_are_read(tmp_path, small_model, capsys):
    from conftest import DATA

    folder = tmp_path / _latin1(b"fotos-\xe9")
    folder.mkdir()
    jpgs = sorted((DATA / "coco_tiny").rglob("*.jpg"))[:3]
    for i, p in enumerate(jpgs):
        (folder / _latin1(b"img-\xe9%d.jpg" % i)).write_bytes(p.read_bytes())
    got = via_video(folder, OutputSpec(poses=str(tmp_path / "p.jsonl")), small_model, capsys)
    assert got.ok and "skipped 0" in got.said, got.said
    assert len(read_json_lines(str(tmp_path / "p.jsonl"))[1]) == 3
    got = via_video(folder / _latin1(b"img-\xe90.jpg"), OutputSpec(poses=str(tmp_path / "one.jsonl")), small_model,
                    capsys)
    assert got.ok and len(read_json_lines(str(tmp_path / "one.jsonl"))[1]) == 1


@pytest.mark.parametrize("entry", ("video", "stream"))
def test_a_second_run_on_an_output_being_written_refuses(entry, clip, tmp_path, small_model, capsys):
    """One run owns each output: while one writes p.jsonl, another asked for it refuses in one line and the first
    run's file is whole."""
    import engines

    poses = tmp_path / "p.jsonl"
    with engines.load(small_model, input_size=64) as est:
        first = iter(est.stream(clip, outputs=OutputSpec(poses=str(poses))))
        next(first)                                              # the first run is writing
        got = RUN[entry](clip, OutputSpec(poses=str(poses)), small_model, capsys)
        assert not got.ok and "being written by another run" in got.said, got.said
        rest = sum(1 for _ in first)
    header, frames = read_json_lines(str(poses))
    assert header["ssapose"] == 1 and len(frames) == rest + 1 == FRAMES


def test_a_run_that_ends_before_its_first_frame_leaves_no_empty_video(clip, tmp_path, small_model, capsys):
    import engines

    junk = tmp_path / "junk.mp4"
    junk.write_bytes(os.urandom(20_000))
    out = tmp_path / "o.mp4"
    assert not via_video(junk, OutputSpec(video=str(out)), small_model, capsys).ok        # the source never opens
    assert not out.exists()
    with engines.load(small_model, input_size=64) as est:                                # opened, then left
        est.stream(clip, outputs=OutputSpec(video=str(out)), draw=True).close()
    assert not out.exists()


def test_an_output_file_that_is_a_folder_is_refused_before_the_source_opens(clip, tmp_path, small_model):
    import engines
    from engines.sinks import SinkError

    (tmp_path / "p.jsonl").mkdir()
    with engines.load(small_model, input_size=64) as est:
        with pytest.raises(SinkError, match="is a folder; give a file name"):
            est.stream(tmp_path / "no-such-clip.mp4", outputs=OutputSpec(poses=str(tmp_path / "p.jsonl")))
