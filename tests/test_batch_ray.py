"""``ssapose batch --ray`` on a local Ray instance (127.0.0.1): the same results as the worker processes, and an
actor killed mid-video restarted with its video redone. Skipped where Ray is not installed."""
import json
import os
import signal
import subprocess
import sys
import threading
import time

import pytest

from ssapose import paths

from conftest import ROOT
from test_batch import _clip, _lines, clips  # noqa: F401 - the clips fixture

pytest.importorskip("ray")
pytestmark = pytest.mark.skipif(not paths.DEFAULT_MODEL.exists(), reason="the default model is built by make")


def _batch(*args, kill_when=None):
    proc = subprocess.Popen([sys.executable, "-m", "app.cli", "batch", *args], cwd=ROOT,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    killed = []
    if kill_when is not None:
        def watch():
            deadline = time.time() + 180
            while time.time() < deadline and not killed and proc.poll() is None:
                if kill_when():
                    pids = subprocess.run(["pgrep", "-f", "ray::BatchActor"], capture_output=True, text=True).stdout
                    for pid in pids.split():
                        os.kill(int(pid), signal.SIGKILL)
                        killed.append(int(pid))
                time.sleep(0.05)
        t = threading.Thread(target=watch)
        t.start()
    out, err = proc.communicate(timeout=400)
    if kill_when is not None:
        t.join()
    return proc.returncode, out, err, killed


def test_ray_batch_done_failed_and_a_killed_actor(clips, tmp_path):  # noqa: F811
    long = clips / "long.mp4"
    if not long.exists():
        _clip(long, 300, 120)
    out = tmp_path / "out"

    def busy():
        partials = list(out.glob(".long*partial*")) if out.exists() else []
        return bool(partials) and partials[0].stat().st_size > 2000

    rc, stdout, stderr, killed = _batch(str(clips), "--out-dir", str(out), "--workers", "2", "--ray",
                                        kill_when=busy)
    assert rc == 1, stderr[-2000:]
    assert killed, "no actor was seen mid-video"
    assert "4 done, 0 skipped (done before), 1 failed, of 5 videos" in stdout
    assert len(_lines(out / "long.jsonl")) == 121 and len(_lines(out / "c0.jsonl")) == 13
    manifest = json.loads((out / "ssapose-batch.json").read_text())["videos"]
    assert manifest[str(clips / "broken.mp4")]["status"] == "failed"
