"""``ssapose batch``: done / failed / skipped on a rerun, a killed worker retried, the same poses as ``video``."""
import json
import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import cv2
import pytest

from app.cli import main
from ssapose import paths
from ssapose.decode import DecoderConfig

from conftest import DEMO, ROOT

pytestmark = pytest.mark.skipif(not paths.DEFAULT_MODEL.exists(), reason="the default model is built by make")


def _clip(path, start: int, frames: int) -> None:
    cap = cv2.VideoCapture(str(DEMO))
    cap.set(cv2.CAP_PROP_POS_FRAMES, start)
    out = None
    for _ in range(frames):
        ok, f = cap.read()
        if out is None:
            out = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"mp4v"), 10, (f.shape[1], f.shape[0]))
        out.write(f)
    out.release()
    cap.release()


@pytest.fixture(scope="module")
def clips(tmp_path_factory):
    d = tmp_path_factory.mktemp("clips")
    for i, start in enumerate((200, 400, 600)):
        _clip(d / f"c{i}.mp4", start, 12)
    (d / "broken.mp4").write_bytes((d / "c0.mp4").read_bytes()[:20000])      # its index is cut off
    return d


def _lines(path):
    return path.read_text().splitlines()


def test_three_done_one_failed_and_a_rerun_skips_the_done(clips, tmp_path, capsys):
    out = tmp_path / "out"
    assert main(["batch", str(clips), "--out-dir", str(out), "--workers", "2"]) == 1
    text = capsys.readouterr().out
    assert "3 done, 0 skipped (done before), 1 failed, of 4 videos" in text
    manifest = json.loads((out / "ssapose-batch.json").read_text())["videos"]
    broken = manifest[str(clips / "broken.mp4")]
    assert broken["status"] == "failed" and "cannot open" in broken["reason"]
    for i in range(3):
        assert len(_lines(out / f"c{i}.jsonl")) == 13                   # a header and 12 frames
    assert not list(out.glob(".*partial*"))
    assert main(["batch", str(clips), "--out-dir", str(out), "--workers", "2"]) == 1
    assert "0 done, 3 skipped (done before), 1 failed" in capsys.readouterr().out


def test_batch_writes_the_poses_that_video_writes(clips, tmp_path):
    out = tmp_path / "out"
    assert main(["batch", str(clips / "c1.mp4"), "--out-dir", str(out)]) == 0
    assert main(["video", str(clips / "c1.mp4"), "--json", str(tmp_path / "single.jsonl")]) == 0
    assert _lines(out / "c1.jsonl")[1:] == _lines(tmp_path / "single.jsonl")[1:]
    heads = [json.loads(_lines(f)[0]) for f in (out / "c1.jsonl", tmp_path / "single.jsonl")]
    assert heads[0]["shown_score"] == heads[1]["shown_score"] == DecoderConfig().shown_score
    assert heads[0] == dict(heads[1], source=heads[0]["source"])            # made the same way, and it says so
    assert main(["batch", str(clips / "c1.mp4"), "--out-dir", str(tmp_path / "every"), "--shown-score", "0",
                 "--flip"]) == 0
    head = json.loads(_lines(tmp_path / "every" / "c1.jsonl")[0])
    assert (head["shown_score"], head["flip"], head["scales"]) == (0, True, [1.0])


def run_and_kill(args: list[str], pattern: str, busy) -> tuple[int, str, str, list[int]]:
    """Run ``ssapose ARGS``; the first time ``busy()`` is true, SIGKILL the processes matching ``pattern``."""
    proc = subprocess.Popen([sys.executable, "-m", "app.cli", *args], cwd=ROOT, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)
    killed: list[int] = []

    def watch():
        deadline = time.time() + 180
        while time.time() < deadline and not killed and proc.poll() is None:
            if busy():
                pids = subprocess.run(["pgrep", "-f", pattern], capture_output=True, text=True).stdout
                for pid in map(int, pids.split()):
                    if pid != os.getpid():
                        os.kill(pid, signal.SIGKILL)
                        killed.append(pid)
            time.sleep(0.05)

    t = threading.Thread(target=watch)
    t.start()
    out, err = proc.communicate(timeout=400)
    t.join()
    return proc.returncode, out, err, killed


def mid_video(out, prefix: str = ""):
    """True once a partial pose file in ``out`` has frames in it: a worker is in the middle of a video."""
    partials = list(out.glob(f".{prefix}*partial*")) if out.exists() else []
    return bool(partials) and partials[0].stat().st_size > 2000


def test_a_worker_killed_mid_video_is_retried_and_its_output_is_complete(tmp_path):
    video = tmp_path / "long.mp4"
    _clip(video, 300, 120)
    out = tmp_path / "out"
    rc, stdout, stderr, killed = run_and_kill(["batch", str(video), "--out-dir", str(out)], "app.batch.worker",
                                              lambda: mid_video(out))
    assert killed, "the worker was never seen mid-video"
    assert rc == 0, stderr[-2000:]
    assert "1 done, 0 skipped (done before), 0 failed" in stdout
    assert len(_lines(out / "long.jsonl")) == 121


def test_ray_needs_ray_or_says_how_to_get_it(clips, tmp_path, capsys):
    import importlib.util

    if importlib.util.find_spec("ray") is not None:
        pytest.skip("ray is installed here: tests/test_batch_ray.py runs it")
    assert main(["batch", str(clips / "c0.mp4"), "--out-dir", str(tmp_path / "o"), "--ray"]) == 1
    assert "pip install 'ssapose[cluster]'" in capsys.readouterr().err


def test_worker_options_survive_the_trip_to_the_worker_process():
    """The options go to each worker as JSON: tuples, the decoder, the overlay style and the auto height's rule
    must come back as they were."""
    from app.batch.worker import WorkerOptions
    from engines.run.pipeline import PipelineConfig
    from engines.run.session import RunSpec
    from engines.modes import AUTO
    from ssapose.decode import DecoderChoice, DecoderConfig
    from ssapose.overlay import DrawStyle

    pipe = PipelineConfig(decoder=DecoderChoice(refine="offsets"), style=DrawStyle(line_width=3), flip=True,
                          scales=(1.0, 1.5), auto=AUTO, draw=False)
    run = RunSpec("", "m.xml", threads=2, pipeline=pipe)
    opts = WorkerOptions(run, track=True)
    assert WorkerOptions.from_json(opts.to_json()) == opts
    plain = WorkerOptions(RunSpec("", "m.xml"))
    assert WorkerOptions.from_json(plain.to_json()) == plain
    full = WorkerOptions(RunSpec("", "m.xml", pipeline=PipelineConfig(decoder=DecoderConfig(peak_threshold=0.05))))
    assert WorkerOptions.from_json(full.to_json()) == full          # a whole decoder config comes back as one
    assert opts.spec("clip.mp4") == RunSpec("clip.mp4", "m.xml", threads=2, pipeline=pipe)


def test_output_names_are_distinct_and_do_not_depend_on_the_order():
    from itertools import permutations

    from app.batch.command import output_names

    videos = ["/d/a/clip.mp4", "/d/b/clip.mp4", "/d/b/clip.avi", "/d/c/other.mp4", "/e/a/clip.mp4"]
    first = output_names(videos)
    assert len(set(first.values())) == len(videos)
    assert first["/d/c/other.mp4"] == "other"
    for order in permutations(videos):
        assert output_names(list(order)) == first
    assert output_names(["/x/a/clip.mp4", "/x/b/clip.mp4"]) == {"/x/a/clip.mp4": "a-clip", "/x/b/clip.mp4": "b-clip"}


def test_a_video_replaced_while_it_is_processed_is_not_recorded_as_done(tmp_path):
    from app.batch.command import plan_jobs
    from app.batch.manifest import Manifest

    video = tmp_path / "v.mp4"
    video.write_bytes(b"old content")
    manifest = Manifest(tmp_path)
    (job,), _ = plan_jobs([str(video)], tmp_path / "out", ("poses",), manifest)    # stamped before processing
    os.utime(video, (1, 1))
    video.write_bytes(b"new content, longer")                                    # replaced meanwhile
    entry = manifest.settle(job, {"done": True, "frames": 3})
    assert entry["status"] == "failed" and "changed while it was processed" in entry["reason"]
    assert not manifest.done(str(video), job.outputs)
    untouched = tmp_path / "u.mp4"
    untouched.write_bytes(b"same")
    (job,), _ = plan_jobs([str(untouched)], tmp_path / "out", ("poses",), manifest)
    assert manifest.settle(job, {"done": True})["status"] == "done"


def test_an_out_dir_that_is_a_file_is_one_line(clips, tmp_path, capsys):
    f = tmp_path / "taken"
    f.write_text("x")
    assert main(["batch", str(clips / "c0.mp4"), "--out-dir", str(f)]) == 1
    err = capsys.readouterr().err
    assert "is a file" in err and "Traceback" not in err and len(err.strip().splitlines()) == 1


def test_ctrl_c_stops_the_workers_quietly_and_leaves_no_partial_file(tmp_path):
    video = tmp_path / "long.mp4"
    _clip(video, 300, 120)
    out = tmp_path / "out"
    proc = subprocess.Popen([sys.executable, "-m", "app.cli", "batch", str(video), "--out-dir", str(out)], cwd=ROOT,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, start_new_session=True)
    deadline = time.time() + 180
    while time.time() < deadline and not mid_video(out) and proc.poll() is None:
        time.sleep(0.05)
    assert mid_video(out), "the worker was never seen mid-video"
    workers = [int(p) for p in subprocess.run(["pgrep", "-P", str(proc.pid)], capture_output=True,
                                              text=True).stdout.split()]
    assert workers, "no worker process"
    os.killpg(proc.pid, signal.SIGINT)                  # Ctrl-C: the terminal signals the foreground group
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == 130 and "Traceback" not in err, err[-2000:]
    assert not list(out.glob(".*partial*")) and not (out / "long.jsonl").exists()
    assert not [p for p in workers if _alive(p)], "a worker outlived the batch"


def _alive(pid: int) -> bool:
    """Whether process ``pid`` still runs (a zombie, ended but not yet reaped, does not)."""
    try:
        return Path(f"/proc/{pid}/stat").read_text().split(")")[-1].split()[0] != "Z"
    except (FileNotFoundError, ProcessLookupError):
        return False


def test_a_rerun_redoes_a_changed_video_and_a_deleted_output(clips, tmp_path, capsys):
    video, out = tmp_path / "v.mp4", tmp_path / "out"
    video.write_bytes((clips / "c0.mp4").read_bytes())
    args = ["batch", str(video), "--out-dir", str(out)]
    assert main(args) == 0 and "1 done, 0 skipped" in capsys.readouterr().out
    assert main(args) == 0 and "0 done, 1 skipped" in capsys.readouterr().out       # nothing changed
    video.write_bytes((clips / "c1.mp4").read_bytes())                              # another video, same name
    assert main(args) == 0 and "1 done, 0 skipped" in capsys.readouterr().out
    (out / "v.jsonl").unlink()
    assert main(args) == 0 and "1 done, 0 skipped" in capsys.readouterr().out
    assert (out / "v.jsonl").is_file()
