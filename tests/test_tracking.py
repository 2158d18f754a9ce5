"""Tracking: confirmed tracks only get ids, ids survive short gaps and weak frames, and the demo clip's six
people get six ids (against the labelled segments in tests/data/demo_people.json)."""
import json
from pathlib import Path

import numpy as np
import pytest

from engines.run.track_stats import TrackStats
from ssapose.tracking import Tracker, TrackerConfig
from ssapose.poses import Poses

from conftest import DEMO, synthetic_person

FPS = 10.0


def _poses(people: list[tuple[float, float, float]]) -> Poses:
    """Poses of ``(cx, cy, score)`` people."""
    if not people:
        return Poses(np.zeros((0, 17, 3), np.float32), np.zeros(0, np.float32))
    kp = np.stack([synthetic_person(cx, cy) for cx, cy, _ in people]).astype(np.float32)
    kp[..., 2] = 0.8
    return Poses(kp, np.array([s for _, _, s in people], np.float32))


def _run(frames: list[list[tuple[float, float, float]]], tracker=None) -> list[np.ndarray]:
    tracker = tracker or Tracker()
    return [tracker(_poses(people), i / FPS)[1] for i, people in enumerate(frames)]


def test_ids_start_at_one_after_min_hits_and_are_consecutive():
    walk = [[(100 + 5 * i, 200, 0.8), (500 - 5 * i, 220, 0.8)] for i in range(12)]
    ids = _run(walk)
    c = TrackerConfig()
    assert all((i < 0).all() for i in ids[:c.min_hits - 1])            # tentative: no id yet
    assert sorted(ids[c.min_hits - 1].tolist()) == [1, 2]
    assert all(sorted(i.tolist()) == [1, 2] for i in ids[c.min_hits - 1:])


def test_a_one_frame_false_detection_never_gets_an_id():
    frames = [[(100 + 5 * i, 200, 0.8)] for i in range(10)]
    frames[4] = frames[4] + [(600, 300, 0.9)]                          # a confident ghost, one frame
    tracker = Tracker()
    ids = _run(frames, tracker)
    assert {int(v) for i in ids for v in i if v > 0} == {1} and tracker.created == 1 and tracker.fragments == 1


def test_a_person_hidden_for_half_a_second_keeps_the_id():
    frames = [[(100 + 8 * i, 200, 0.8)] if not 10 <= i < 15 else [] for i in range(25)]   # 5 frames = 0.5 s
    ids = _run(frames)
    after = [int(i[0]) for i in ids[15:]]
    assert after == [1] * 10                                             # re-identified where it was predicted


def test_a_person_hidden_longer_than_the_window_gets_a_new_id():
    frames = [[(100, 200, 0.8)] if not 5 <= i < 25 else [] for i in range(30)]      # 2 s > max_lost_s
    ids = _run(frames)
    assert int(ids[-1][0]) == 2


def test_a_weak_score_for_two_frames_keeps_the_track():
    frames = [[(100 + 5 * i, 200, 0.8 if i not in (6, 7) else 0.15)] for i in range(12)]
    ids = _run(frames)
    assert [int(i[0]) for i in ids[3:]] == [1] * 9


def test_the_lost_window_is_in_seconds_of_the_source_clock():
    """The same 5-frame gap: kept at 10 fps (0.5 s), dropped at 2 fps (2.5 s)."""
    frames = [[(100, 200, 0.8)] if not 10 <= i < 15 else [] for i in range(20)]
    for fps, same in ((10.0, True), (2.0, False)):
        tracker = Tracker()
        ids = [tracker(_poses(p), i / fps)[1] for i, p in enumerate(frames)]
        assert (int(ids[-1][0]) == 1) is same


def test_ten_people_keep_ten_ids():
    """(Its cost per frame is measured by benchmarks/tracking.py, not here.)"""
    rng = np.random.default_rng(0)
    tracker = Tracker()
    base = [(80 + 120 * (k % 5), 200 + 300 * (k // 5), 0.8) for k in range(10)]
    for i in range(30):
        _, ids = tracker(_poses([(x + rng.normal(0, 2), y + rng.normal(0, 2), s) for x, y, s in base]), i / FPS)
    assert ids.tolist() == list(range(1, 11))


GT = json.loads((Path(__file__).parent / "data" / "demo_people.json").read_text())


@pytest.fixture(scope="module", params=["whole frames", "region of interest, re-identification"])
def demo_tracked(real_model_ir, request):
    """The default model on the demo clip with tracking on: per frame ``(index, ids)``, and the stats; every frame
    whole, or as ``ssapose video`` runs by default with ``--track-reid-s 60`` (six people in turn: no merge)."""
    from engines.run.pipeline import Pipeline, PipelineConfig
    from engines.run.region import RegionConfig
    from engines import create_backend
    from ssapose.sources import FrameSource

    src = FrameSource(str(DEMO))
    plain = request.param == "whole frames"
    tracker, stats = Tracker(TrackerConfig(reid_s=0.0 if plain else 60.0)), TrackStats()
    pipe = Pipeline(src, create_backend(real_model_ir, "auto"),
                    PipelineConfig(draw=False, clock_fps=src.fps, region=None if plain else RegionConfig()), tracker)
    out = []
    for r in pipe.results():
        stats.add(r.index, r.raw_poses, r.poses, r.poses.ids)
        out.append((r.index, r.poses.ids))
    return out, stats, tracker


@pytest.fixture(scope="module")
def real_model_ir():
    from ssapose import paths

    if not paths.DEFAULT_MODEL.exists():
        pytest.skip("the default model is built by make")
    return str(paths.DEFAULT_MODEL)


def test_demo_clip_six_people_six_ids(demo_tracked):
    frames, stats, tracker = demo_tracked
    assert len(frames) == GT["frames"]
    per_segment = []
    for a, b in GT["segments"]:
        inside = [set(int(i) for i in ids if i > 0) for idx, ids in frames if a <= idx <= b]
        per_segment.append(set().union(*inside))
        run = longest = 0
        for s in inside:                                 # a person in view without an id, frames in a row
            run = run + 1 if not s else 0
            longest = max(longest, run)
        assert longest <= 10, (a, b, longest)
    assert [len(s) for s in per_segment] == [1] * 6                     # one id per person...
    assert sorted(set().union(*per_segment)) == [1, 2, 3, 4, 5, 6]     # ...six in all, numbered 1-6
    outside = {int(i) for idx, ids in frames for i in ids if i > 0
               and not any(a <= idx <= b + 10 for a, b in GT["segments"])}
    assert not outside and tracker.created == 6 and stats.id_switches() == 0


def test_a_weak_detection_where_a_lost_track_is_keeps_its_id():
    """A person lost for a frame who comes back weakly (leaving the view, half outside) keeps their id
    instead of starting a second one from the same weak detections (the demo clip's first person did)."""
    tracker = Tracker()
    ids = _run([[(300, 300, 0.8)]] * 4 + [[]] + [[(300, 300, 0.3)]] * 4, tracker)
    assert [list(i) for i in ids[:4]] == [[-1], [-1], [1], [1]]
    assert all(list(i) == [1] for i in ids[5:]), [list(i) for i in ids]
    assert tracker.created == 1
