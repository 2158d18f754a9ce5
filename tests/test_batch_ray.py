"""``ssapose batch --ray`` on a local Ray instance (127.0.0.1): the same results as the worker processes, and an
actor killed mid-video restarted with its video redone. Skipped where Ray is not installed."""
import json

import pytest

from ssapose import paths

from test_batch import _clip, _lines, clips, mid_video, run_and_kill  # noqa: F401 - clips: the fixture

pytest.importorskip("ray")
pytestmark = pytest.mark.skipif(not paths.DEFAULT_MODEL.exists(), reason="the default model is built by make")


def test_ray_batch_done_failed_and_a_killed_actor(clips, tmp_path):  # noqa: F811
    long = clips / "long.mp4"
    if not long.exists():
        _clip(long, 300, 120)
    out = tmp_path / "out"

    rc, stdout, stderr, killed = run_and_kill(["batch", str(clips), "--out-dir", str(out), "--workers", "2", "--ray"],
                                              "ray::BatchActor", lambda: mid_video(out, "long"))
    assert rc == 1, stderr[-2000:]
    assert killed, "no actor was seen mid-video"
    assert "4 done, 0 skipped (done before), 1 failed, of 5 videos" in stdout
    assert len(_lines(out / "long.jsonl")) == 121 and len(_lines(out / "c0.jsonl")) == 13
    manifest = json.loads((out / "ssapose-batch.json").read_text())["videos"]
    assert manifest[str(clips / "broken.mp4")]["status"] == "failed"
