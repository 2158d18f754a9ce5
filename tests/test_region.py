"""Region-of-interest inference (``engines.run.region``, ``--roi``): the network runs only where people are, and the
poses come out where they are in the frame, in order, as the full frame's."""
import time

import cv2
import numpy as np
import pytest

from engines.base import Backend, ModelInfo
from engines.run.pipeline import Pipeline, PipelineConfig
from engines.run.region import FULL, SKIP, RegionConfig, RegionSchedule, person_spans
from ssapose.decode import DecoderConfig
from ssapose.inference import decode_fields
from ssapose.models import get_config
from ssapose.poses import Poses
from ssapose.preprocess import Letterbox, letterbox_of, prepare
from ssapose.skeleton import coco_to_parts
from ssapose.targets import TargetConfig, encode_targets

from conftest import synthetic_person

W, H = 960, 320           # frames: wide, so that two people take a small part of them
ANCHOR = 8                # each person's mark: a green square of this side at its centre


def people(i: int, n: int, speed: float) -> np.ndarray:
    """``(n, 17, 3)`` the truth of frame ``i``: people 150 px apart walking right by ``speed`` px a frame."""
    return np.array([synthetic_person(120 + 150 * k + speed * i, 170, 0.6) for k in range(n)]).reshape(n, 17, 3)


def frame(i: int, truth: np.ndarray) -> np.ndarray:
    """A black frame with its number in the top band (every column) and a green mark at each person's centre."""
    f = np.zeros((H, W, 3), np.uint8)
    f[:8] = i
    for kp in truth:
        cx, cy = (int(round(v)) for v in kp[:, :2].mean(axis=0))
        f[cy - ANCHOR // 2:cy + ANCHOR // 2, cx - ANCHOR // 2:cx + ANCHOR // 2] = (0, 255, 0)
    return f


class MarkBackend(Backend):
    """A stand-in network that sees what it is given: it finds the green marks in its input (a whole frame or a
    window of it) and returns the fields of the people centred on them, in its input's own pixels. It records the
    width of every input and sleeps a random time, so that several requests finish out of order."""

    name = "fake"

    def __init__(self, streams: int = 2, delay: float = 0.01):
        super().__init__(ModelInfo(get_config("lwop")))
        self.streams, self.delay, self.widths = streams, delay, []
        self.rng = np.random.default_rng(0)

    def infer(self, batch):
        x = batch[0]
        h, w = x.shape[1:]
        self.widths.append(w)
        time.sleep(self.delay * self.rng.random())
        green = (x[1] - x[0] > 0.5) & (x[1] - x[2] > 0.5)
        n, _, _, centres = cv2.connectedComponentsWithStats(green.astype(np.uint8))
        scale = 368 / H
        found = [synthetic_person(0, 0, 0.6 * scale) for _ in range(n - 1)]
        for kp, (cx, cy) in zip(found, centres[1:]):
            kp[:, :2] += [cx, cy] - kp[:, :2].mean(axis=0)
        t = encode_targets(coco_to_parts(np.array(found).reshape(-1, 17, 3)), w, h, TargetConfig(stride=8))
        return {"heatmaps": t.heatmaps[None], "pafs": t.pafs[None], "offsets": t.offsets[None]}


def run(n_frames: int, n_people, speed: float = 3.0, region: RegionConfig | None = RegionConfig(),
        backend: MarkBackend | None = None, fps: float = 10.0):
    """Pipeline results on synthetic frames; ``n_people(i)`` people in frame ``i``."""
    truths = [people(i, n_people(i), speed) for i in range(n_frames)]
    be = backend or MarkBackend()
    pipe = Pipeline((frame(i, t) for i, t in enumerate(truths)), be,
                    PipelineConfig(input_size=368, draw=False, region=region, clock_fps=fps))
    return list(pipe.results()), truths, be, pipe


def close_to(poses: Poses, truth: np.ndarray, tol: float = 1.5) -> bool:
    """Every true person has a pose within ``tol`` px at every keypoint."""
    return len(poses) == len(truth) and all(
        min(np.abs(p[:, :2] - t[:, :2]).max() for p in poses.keypoints) < tol for t in truth)


def test_a_windows_input_is_those_columns_of_the_full_input():
    f = np.random.default_rng(1).integers(0, 255, (H, W, 3), np.uint8)
    pre = get_config("lwop").preprocess
    full, box = prepare(f, 368, pre)
    part, win = prepare(f, 368, pre, window=(256, 384))
    assert np.array_equal(part, full[..., 256:256 + 384])
    assert win == Letterbox(box.scale, 384, box.height, 256) and letterbox_of(H, W, 368, pre) == box
    with pytest.raises(ValueError, match="aligned"):
        prepare(f, 368, pre, window=(100, 384))


def test_a_crops_poses_equal_the_full_frames_on_synthetic_fields():
    """The same maps, decoded whole and as a window of their columns mapped back through the letterbox: the same
    people at the same frame pixels."""
    scale = 368 / H
    truth = people(0, 2, 0) * [scale, scale, 1]                  # input pixels
    box = letterbox_of(H, W, 368, get_config("lwop").preprocess)
    t = encode_targets(coco_to_parts(truth), box.width, box.height, TargetConfig(stride=8))
    fields = {"heatmaps": t.heatmaps, "pafs": t.pafs, "offsets": t.offsets}
    whole = decode_fields(fields, 8, box, DecoderConfig(refine="offsets"))
    c0, cells = 4, 48                                              # input columns 32 to 416
    part = decode_fields({k: v[:, :, c0:c0 + cells] for k, v in fields.items()}, 8,
                         Letterbox(box.scale, cells * 8, box.height, c0 * 8), DecoderConfig(refine="offsets"))
    order = np.argsort(whole.keypoints[:, 0, 0])
    assert len(part) == len(whole) == 2
    assert np.allclose(part.keypoints[np.argsort(part.keypoints[:, 0, 0])], whole.keypoints[order], atol=1e-4)
    assert close_to(part, people(0, 2, 0), tol=0.5)


def test_in_file_mode_every_frame_comes_in_order_with_its_people_where_they_are():
    """Two requests finishing out of order, people walking right: each frame's poses are its own people, in frame
    pixels, also on the frames the network saw only a window of."""
    out, truths, be, pipe = run(40, lambda i: 2)
    assert [r.index for r in out] == list(range(40))
    assert all(close_to(r.poses, t) for r, t in zip(out, truths))
    full = letterbox_of(H, W, 368, be.info.config.preprocess).width
    assert pipe.region.counts["crop"] >= 25 and min(be.widths) < full / 2     # most frames saw a window


def test_frames_after_frames_with_nobody_skip_the_network_and_an_entrant_is_found_at_the_next_scan():
    """Nobody for 25 frames, then a person: the network runs only on scans (every second of the clip's clock)
    while the room is empty, and finds the person no later than the next scan."""
    enters, fps = 25, 10.0
    out, truths, be, pipe = run(45, lambda i: 1 if i >= enters else 0, fps=fps)
    calls_empty = pipe.region.counts
    assert calls_empty["skip"] >= 15
    first = next(r.index for r in out if len(r.poses))
    assert enters <= first <= enters + RegionConfig().scan_s * fps
    assert all(close_to(r.poses, t) for r, t in zip(out[first:], truths[first:]))
    assert len(be.widths) < 45 - 15                              # skipped frames cost no network call


def test_people_across_the_frame_run_the_full_frame():
    """Five people spread over the frame: the region would be most of it, so the network sees it whole."""
    out, truths, be, pipe = run(20, lambda i: 6, speed=0.0)
    assert pipe.region.counts["crop"] == 0 and pipe.region.counts["skip"] == 0
    assert all(close_to(r.poses, t) for r, t in zip(out, truths))


def schedule(**kw) -> RegionSchedule:
    return RegionSchedule(RegionConfig(**kw), live=False, lag=1, align=8, size=368,
                          pre=get_config("lwop").preprocess)


def test_the_schedule_scans_on_its_clock_and_after_a_loss():
    sched = schedule(scan_s=1.0, large_px=0)
    scale = 368 / H
    one = Poses(people(0, 1, 0).astype(np.float32), np.ones(1, np.float32))
    two = Poses(people(0, 2, 0).astype(np.float32), np.ones(2, np.float32))
    sched.observe(0, two)
    assert sched.window(1, 0.0, H, W) == FULL                   # too little seen yet
    sched.observe(1, two)
    win = sched.window(2, 0.2, H, W)
    assert win.kind == "crop" and win.x0 % 8 == 0 and win.width % 128 == 0 and win.size == 368
    assert win.x0 + win.width <= letterbox_of(H, W, 368, get_config("lwop").preprocess).width
    spans = person_spans(two)
    pad = 0.3 * spans[:, 2]
    assert win.x0 <= (spans[:, 0] - pad).min() * scale and win.x0 + win.width >= (spans[:, 1] + pad).max() * scale
    sched.observe(2, one)                                          # someone lost: the full frame, at once
    assert sched.window(3, 0.3, H, W) == FULL
    sched.observe(3, one)
    assert sched.window(4, 0.4, H, W).kind == "crop"
    sched.observe(4, one)
    assert sched.window(5, 1.35, H, W) == FULL                  # a scan a second after the last full frame
    for k in (5, 6, 7):
        sched.observe(k, Poses.empty())
    assert sched.window(8, 1.5, H, W) == SKIP
    sched.observe(8, Poses.empty())
    assert sched.window(9, 2.4, H, W) == FULL
    assert sched.counts["skip"] == 1 and "14% skipped" in sched.describe()


def test_large_people_run_at_a_lower_height_with_hysteresis():
    """People about 120 px tall in the frame (138 in the default input): below 150 nothing changes; at a threshold
    of 130 the region runs at 256, and stays there until someone is under 0.8 of it."""
    pre = get_config("lwop").preprocess
    tall = Poses(people(0, 1, 0).astype(np.float32), np.ones(1, np.float32))
    size = person_spans(tall)[0, 2] * 368 / H
    assert 130 < size < 150
    def seen_tall(sched):
        for k in range(3):
            sched.observe(k, tall)
        assert sched.window(3, 0.0, H, W) == FULL               # the first scan
        sched.observe(3, tall)
        return sched.window(4, 0.1, H, W)

    assert seen_tall(schedule(large_px=150)).size == 368
    sched = schedule(large_px=130)
    low = seen_tall(sched)
    assert low.kind == "crop" and low.size == 256 and low.x0 + low.width <= letterbox_of(H, W, 256, pre).width
    sched.observe(4, tall.scaled(0.9, 0.9))                       # 124 px: above 0.8 x 130, still low
    assert sched.window(5, 0.2, H, W).size == 256
    for k in (5, 6, 7):
        sched.observe(k, tall.scaled(0.75, 0.75))                # 104 px: back to the default
    assert sched.window(8, 0.3, H, W).size == 368
    said = sched.describe()                                        # 1 full, 3 crops, 2 of them at 256
    assert "75% of frames cropped" in said and "67% at height 256" in said and "25% full" in said


def test_region_of_interest_refuses_several_views():
    with pytest.raises(ValueError, match="one view at one height"):
        Pipeline(iter([]), MarkBackend(), PipelineConfig(region=RegionConfig(), scales=(1.0, 1.5)))


def test_roi_on_video_batch_and_stream_gives_the_same_poses_and_finds_an_entrant_in_time(tmp_path, real_model, capsys):
    """The first man walking in (the demo clip from 5.5 s on, 40 frames): ``video --roi``, ``batch --roi`` and
    ``stream(roi=True)`` write the same poses (file mode decides the same windows), say so in the header and the
    summary, and find him no later than one scan after the full frame does."""
    import json

    import engines
    from app.cli import main as cli
    from conftest import demo_cut
    from engines.sinks import OutputSpec

    clip = demo_cut(tmp_path / "enter.mp4", "-frames:v", "40", start_s=5.5)
    assert cli(["video", str(clip), "--model", real_model, "--roi", "--json", str(tmp_path / "v.jsonl")]) == 0
    said = capsys.readouterr().out
    assert "region of interest:" in said and "skipped (nobody near)" in said
    assert cli(["batch", str(clip), "--model", real_model, "--roi", "--out-dir", str(tmp_path / "b")]) == 0
    with engines.load(real_model) as est:
        list(est.stream(str(clip), roi=True, outputs=OutputSpec(poses=str(tmp_path / "s.jsonl"))))
        full = [r.poses for r in est.stream(str(clip))]
    lines = {k: (tmp_path / f).read_text().splitlines() for k, f in
             (("video", "v.jsonl"), ("batch", "b/enter.jsonl"), ("stream", "s.jsonl"))}
    heads = {k: json.loads(v[0]) for k, v in lines.items()}
    assert all(h["roi"] == heads["video"]["roi"] == {**RegionConfig().__dict__} for h in heads.values())
    frames = {k: [json.loads(x)["people"] for x in v[1:]] for k, v in lines.items()}
    assert frames["video"] == frames["batch"] == frames["stream"] and len(frames["video"]) == 40
    seen_full = next(k for k, p in enumerate(full) if len(p))
    seen_roi = next(k for k, p in enumerate(frames["video"]) if p)
    assert seen_full <= seen_roi <= seen_full + RegionConfig().scan_s * 10          # the clip runs at 10 fps
