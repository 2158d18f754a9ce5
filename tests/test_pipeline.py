import threading
import time

import numpy as np
import pytest

from engines.run.pipeline import Pipeline, PipelineConfig
from ssapose.coco import oks_matrix
from ssapose.tracking import OneEuro, Tracker, TrackerConfig
from engines.base import Backend, ModelInfo
from ssapose.models import get_config
from ssapose.skeleton import coco_to_parts
from ssapose.sources import FrameSource, SourceError
from ssapose.targets import TargetConfig, encode_targets

from conftest import DATA, DEMO, synthetic_person


class FieldsBackend(Backend):
    """A stand-in network: the fields of people who walk right by ``speed`` px per frame.

    The frame's first pixel carries the frame index (frames are made by ``frames()``),
    so that the fields belong to the frame they are computed from.
    """

    name = "fake"

    def __init__(self, n_people=2, speed=4.0, delay=0.0, fail_at=-1, spacing=150.0):
        super().__init__(ModelInfo(get_config("lite")))
        self.n, self.speed, self.delay, self.fail_at, self.spacing = n_people, speed, delay, fail_at, spacing

    def truth(self, i):
        return np.stack([synthetic_person(60 + self.spacing * k + self.speed * i, 150, 0.8) for k in range(self.n)])

    def input_scale(self, width):
        """Input px per frame px of an input ``width`` px wide (frames() are 480 wide, seen at height 368)."""
        return 368 / 480

    def infer(self, batch):
        i = int(round((batch[0, 0, 0, 0] + 0.5) * 255))       # pixel value written by frames()
        if i == self.fail_at:
            raise RuntimeError(f"backend exploded at frame {i}")
        time.sleep(self.delay)
        h, w = batch.shape[2:]
        s = self.input_scale(w)
        t = encode_targets(coco_to_parts(self.truth(i) * [s, s, 1]), w, h, TargetConfig(stride=8))
        return {"heatmaps": t.heatmaps[None], "pafs": t.pafs[None], "offsets": t.offsets[None]}


def frames(n, w=480, h=320):
    for i in range(n):
        f = np.zeros((h, w, 3), np.uint8)
        f[:8, :8] = i                                            # survives the resize to 368 (area)
        yield f


def test_file_mode_every_frame_in_order_with_correct_poses():
    be = FieldsBackend()
    out = list(Pipeline(frames(40), be, PipelineConfig(input_size=368)).results())
    assert [r.index for r in out] == list(range(40))
    for r in out[::7]:
        assert len(r.poses) == 2
        for k in range(2):
            err = min(np.abs(kp[:, :2] - be.truth(r.index)[k, :, :2]).max() for kp in r.poses.keypoints)
            assert err < 1.0
        assert r.timings.inference > 0 and r.timings.decode > 0 and r.image is not None


def test_live_mode_delivers_the_newest_frame_and_drops_only_stale_ones():
    """Deterministic: the network holds frame 0 until the camera has produced every other frame."""
    gate, busy = threading.Event(), threading.Event()

    class HeldBackend(FieldsBackend):
        def infer(self, batch):
            busy.set()
            gate.wait(10)
            return super().infer(batch)

    def camera():
        yield from frames(1)
        busy.wait(10)                      # frame 0 is in the network: everything after it piles up
        yield from frames(20)
        gate.set()

    n = 21
    pipe = Pipeline(camera(), HeldBackend(), PipelineConfig(live=True, draw=False))
    delivered = [r.index for r in pipe.results()]
    dropped = sorted(set(range(n)) - set(delivered))
    assert delivered == sorted(delivered) and delivered[0] == 0
    assert delivered[-1] == n - 1                     # the last captured frame always comes out
    assert dropped and all(d < max(delivered) for d in dropped)
    assert pipe.stats.dropped == len(dropped)


def test_live_mode_drops_stale_frames_and_reports_them():
    be = FieldsBackend(delay=0.03)

    def fast_camera():
        for f in frames(60):
            time.sleep(0.002)
            yield f

    pipe = Pipeline(fast_camera(), be, PipelineConfig(live=True, draw=False))
    out = list(pipe.results())
    idx = [r.index for r in out]
    assert idx == sorted(idx) and pipe.stats.dropped > 0
    assert len(out) + pipe.stats.dropped == 60


def test_a_blocked_overlay_stage_does_not_stop_inference():
    """Nothing but the network runs on the inference threads: with the tracker (the overlay stage) stuck on its
    first frame, requests are still submitted until the queues behind inference are full, and decoding happens
    on the decode thread only. Event-driven: no timing decides the outcome."""
    be = FieldsBackend(n_people=1)
    calls = []
    infer = be.infer
    be.infer = lambda batch: (calls.append(threading.current_thread().name), infer(batch))[1]
    release = threading.Event()

    def stuck_tracker(poses, clock):
        release.wait(30)
        return poses, np.arange(len(poses))

    pipe = Pipeline(frames(60), be, PipelineConfig(queue_size=4), stuck_tracker)
    decoded_on = set()
    decode = pipe.estimator.decode
    pipe.estimator.decode = lambda *a: (decoded_on.add(threading.current_thread().name), decode(*a))[1]
    results = pipe.results()
    first = threading.Thread(target=lambda: next(results))
    first.start()
    # frame 0 is held in the overlay stage; the decode queue (4), the decode stage (1) and the inference
    # queue behind it (4) can still fill: at least 6 requests must go through before the network waits
    deadline = time.monotonic() + 20
    while len(calls) < 6 and time.monotonic() < deadline:
        time.sleep(0.01)
    n_blocked = len(calls)
    release.set()
    first.join(10)
    rest = list(results)
    assert n_blocked >= 6, f"only {n_blocked} requests while the overlay stage was busy"
    assert len(rest) == 59 and decoded_on == {"ssapose-_decode"}
    assert all(name == "ssapose-_infer" for name in calls)


def test_worker_exception_reaches_caller_and_threads_end():
    pipe = Pipeline(frames(30), FieldsBackend(fail_at=5), PipelineConfig())
    with pytest.raises(RuntimeError, match="exploded at frame 5"):
        for _ in pipe.results():
            pass
    assert pipe.alive_threads() == []


def test_stop_midway_joins_every_thread():
    pipe = Pipeline(frames(1000), FieldsBackend(), PipelineConfig())
    for r in pipe.results():
        if r.index == 3:
            break
    pipe.stop()
    assert pipe.alive_threads() == []
    assert threading.active_count() < 20


def test_stream_that_breaks_mid_run():
    def broken():
        yield from frames(5)
        raise IOError("camera unplugged")

    with pytest.raises(RuntimeError, match="camera unplugged"):
        list(Pipeline(broken(), FieldsBackend(), PipelineConfig()).results())


def test_zero_size_frame():
    def bad():
        yield from frames(2)
        yield np.zeros((0, 0, 3), np.uint8)

    with pytest.raises(RuntimeError, match="zero-size"):
        list(Pipeline(bad(), FieldsBackend(), PipelineConfig()).results())


def test_sources(tmp_path):
    with pytest.raises(SourceError, match="not found"):
        FrameSource(str(tmp_path / "missing.mp4"))
    corrupt = tmp_path / "corrupt.mp4"
    corrupt.write_bytes(b"\x00" * 1000)
    with pytest.raises(SourceError):
        list(FrameSource(str(corrupt)))
    with pytest.raises(SourceError, match="no camera"):
        FrameSource("57")
    with pytest.raises(SourceError, match="no images"):
        FrameSource(str(tmp_path))
    assert len(list(FrameSource(str(DATA / "coco_tiny")))) == 4


def test_every_frame_of_the_demo_video_in_order():
    src = FrameSource(str(DEMO))
    assert src.count == 1394
    out = [r.index for r in Pipeline(src, FieldsBackend(n_people=1), PipelineConfig(draw=False)).results()]
    assert out == list(range(1394))


def test_tracking_keeps_ids_on_a_moving_sequence():
    be = FieldsBackend(n_people=3, speed=3.0, spacing=130.0)      # everyone stays inside the 480-px frame
    out = list(Pipeline(frames(30), be, PipelineConfig(draw=False), tracker=Tracker()).results())
    first = {}
    confirm = TrackerConfig().min_hits - 1                  # ids come once a track is confirmed
    assert all((r.poses.ids < 0).all() for r in out[:confirm])
    for r in out[confirm:]:
        for n, kp in enumerate(r.poses.keypoints):
            k = int(np.argmin([np.abs(kp[:, 0] - be.truth(r.index)[j, :, 0]).mean() for j in range(3)]))
            first.setdefault(k, int(r.poses.ids[n]))
            assert first[k] == int(r.poses.ids[n])          # the same person keeps its id
    assert sorted(first.values()) == [1, 2, 3]


def test_tracking_on_against_off():
    off = list(Pipeline(frames(8), FieldsBackend(), PipelineConfig(draw=False)).results())
    on = list(Pipeline(frames(8), FieldsBackend(), PipelineConfig(draw=False), Tracker()).results())
    assert all(r.poses.ids is None for r in off)
    assert all(r.poses.ids is not None and len(r.poses.ids) == len(r.poses) == 2 for r in on)
    confirmed = on[TrackerConfig().min_hits - 1:]
    assert {tuple(sorted(r.poses.ids.tolist())) for r in confirmed} == {(1, 2)}   # the same two ids throughout
    for a, b in zip(off, on):      # the same people (they stand 115 px apart), smoothed
        assert len(a.poses) == len(b.poses)
        d = min(np.abs(a.poses.keypoints[0, :, :2] - k[:, :2]).max() for k in b.poses.keypoints)
        assert d < 30.0
    assert any(not np.array_equal(a.poses.keypoints, b.poses.keypoints) for a, b in zip(off, on))


def test_one_euro_smooths_jitter():
    rng = np.random.default_rng(0)
    f = OneEuro(min_cutoff=1.0, beta=0.0)
    raw = 100 + rng.normal(0, 2, 200)
    smooth = np.array([f(np.array([v]), t / 30)[0] for t, v in enumerate(raw)])
    assert smooth[50:].std() < raw[50:].std() / 2
    p = synthetic_person(100, 100)[None]
    assert oks_matrix(p, p)[0, 0] == pytest.approx(1.0)


def test_hud_box_encloses_its_text():
    from ssapose.overlay import draw_hud, hud_boxes

    lines = ["FPS  41.8  people 1  dropped 0", "pre  5.4  infer  22.9  decode  2.3  draw  0.4 ms"]
    img = np.full((120, 500, 3), 128, np.uint8)          # mid-grey: text, box and background differ
    draw_hud(img, lines)
    inside = np.zeros(img.shape[:2], bool)
    for _, _, x0, y0, x1, y1 in hud_boxes(lines):
        box = img[y0:y1 + 1, x0:x1 + 1]
        assert (box[0] == 0).all() and (box[-1] == 0).all() and (box[:, 0] == 0).all() and (box[:, -1] == 0).all()
        inside[y0:y1 + 1, x0:x1 + 1] = True
    text = img.max(axis=2) > 200
    assert text.sum() > 100 and not (text & ~inside).any()                 # no text pixel outside its box
    assert (img[~inside] == 128).all()


def test_pipeline_paces_a_file_at_its_frame_rate():
    pipe = Pipeline(frames(6), FieldsBackend(), PipelineConfig(input_size=368, draw=False, pace_fps=20.0))
    stamps = [r.timestamp for r in pipe.results()]
    assert len(stamps) == 6
    # frame k is captured no sooner than k / 20 s after the start (lateness under load is allowed, haste is not)
    assert all(s >= k / 20.0 - 1e-3 for k, s in enumerate(stamps)), stamps
    fast = [r.timestamp for r in Pipeline(frames(6), FieldsBackend(), PipelineConfig(input_size=368)).results()]
    assert fast[-1] < stamps[-1]


def test_looping_source_starts_over():
    from ssapose.sources import looping

    n = len(list(FrameSource(str(DATA / "coco_tiny"))))
    seen = []
    for f in looping(str(DATA / "coco_tiny"), stop=lambda: len(seen) >= 2 * n + 1):
        seen.append(f.shape)
    assert len(seen) == 2 * n + 1 and seen[0] == seen[n]


def test_track_stats_count_switches_and_jitter():
    from engines.run.track_stats import TrackStats, second_difference_rms
    from ssapose.poses import Poses

    walk = np.stack([synthetic_person(100 + 5 * t, 150) for t in range(10)])            # steady motion
    assert np.allclose(second_difference_rms(walk), 0.0, atol=1e-6)
    shaky = walk.copy()
    shaky[1::2, :, 0] += 2.0                                                              # +-2 px zig-zag
    assert np.allclose(second_difference_rms(shaky), 4.0, atol=1e-6)      # the second difference alternates +-4 px
    stats = TrackStats(gap=5)
    for t in range(10):                    # one person, whose id changes at frame 5 (a switch), smoothed = raw
        p = Poses(shaky[t][None].astype(np.float32), np.ones(1, np.float32))
        stats.add(t, p, p, np.array([0 if t < 5 else 1]))
    s = stats.summary()
    assert s["tracks"] == 2 and s["id_switches"] == 1 and s["mean_track_length"] == 5.0
    assert s["jitter_raw_px"] == pytest.approx(4.0)


@pytest.fixture
def http_clip():
    """The demo clip served over HTTP on the loopback address by a server this test starts and stops."""
    import functools
    import http.server

    class Quiet(http.server.SimpleHTTPRequestHandler):
        def log_message(self, *args):
            pass

    srv = http.server.ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(Quiet, directory=str(DEMO.parent)))
    th = threading.Thread(target=srv.serve_forever, daemon=True)
    th.start()
    yield srv, f"http://127.0.0.1:{srv.server_address[1]}/{DEMO.name}"
    srv.shutdown()
    srv.server_close()


def test_a_file_over_http_is_a_file_not_a_stream(http_clip):
    _, url = http_clip
    src = FrameSource(url)
    assert src.kind == "stream" and not src.live and src.count == 1394
    got = [f.shape for _, f in zip(range(12), src)]
    assert got == [(432, 768, 3)] * 12
    src.close()


def test_unreachable_stream_says_so():
    with pytest.raises(SourceError, match="cannot open the stream .*unreachable"):
        FrameSource("http://127.0.0.1:1/none.mp4")


class FlakyCapture:
    """A capture whose next ``fail`` reads fail, as when a connection drops."""

    def __init__(self, cap, fail: int):
        self.cap, self.fail = cap, fail

    def read(self):
        if self.fail:
            self.fail -= 1
            return False, None
        return self.cap.read()

    def release(self):
        self.cap.release()


def test_dropped_connection_reconnects_then_gives_up_keeping_what_was_read(http_clip):
    srv, url = http_clip
    src = FrameSource(url)
    src.backoff = (0.01, 0.02)
    src._cap = FlakyCapture(src._cap, fail=1)           # the connection drops once: reopened at once
    it = iter(src)
    assert next(it).shape == (432, 768, 3) and src.reconnects == 1
    srv.shutdown()
    srv.server_close()
    src._cap = FlakyCapture(src._cap, fail=10 ** 6)     # it drops again, and the server is gone
    rest = list(it)                                      # ends without raising: what was read is kept
    assert src.report.read == 1 + len(rest) and src.report.early
    assert "did not come back after 2 tries" in src.report.stopped
