"""Offline smoothing (``ssapose smooth``): short gaps filled and marked, a zero-phase score-weighted fit, the
header kept with the settings, JSON Lines and CSV alike."""
import json

import numpy as np
import pytest

from app.cli import main as cli
from engines.sinks.files import read_json_lines
from engines.sinks.smoothed import read_table, smooth_people
from ssapose.skeleton import COCO_KEYPOINT_NAMES
from ssapose.track_smoothing import SmoothConfig, fill_gaps, smooth_track, weighted_fit

from conftest import synthetic_person


def walker(frames: int = 60, speed: float = 4.0, noise: float = 0.0, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    kp = np.stack([synthetic_person(100 + speed * t, 200, 1.0) for t in range(frames)])
    kp[..., :2] += rng.normal(0, noise, kp[..., :2].shape)
    kp[..., 2] = 0.9
    return kp


def test_a_gap_is_filled_linearly_and_marked_and_a_long_one_is_not():
    kp = walker()
    cut = kp.copy()
    cut[10:13] = 0                     # 3 frames: filled
    cut[30:40, 5] = 0                  # 10 frames of one keypoint: too long for max_gap 5
    out, filled = fill_gaps(cut, 5)
    assert filled[10:13].all() and filled.sum() == 3 * 17
    assert np.allclose(out[10:13, :, :2], kp[10:13, :, :2])           # a straight walk: linear is exact
    assert (out[30:40, 5, 2] == 0).all() and (out[10:13, :, 2] > 0).all()
    assert not fill_gaps(cut, 2)[1].any() and fill_gaps(cut, 3)[1][10:13].all()       # 3 frames: max_gap 3 fills


def test_the_fit_keeps_a_straight_walk_and_a_parabola_and_has_no_lag():
    """A local quadratic reproduces motion of degree 2 exactly (a causal filter would lag behind it)."""
    t = np.arange(40, dtype=float)
    for x in (3 * t + 5, 0.2 * (t - 20) ** 2):
        got, ok = weighted_fit(x[:, None], np.ones((40, 1)), 9)
        assert ok.all() and np.allclose(got[:, 0], x, atol=1e-6)


def test_scores_weight_the_fit():
    """A wild sample with a low score moves the fit less than the same sample with a high score."""
    x = np.zeros((21, 1))
    x[10] = 50.0
    low, high = np.ones((21, 1)), np.ones((21, 1))
    low[10], high[10] = 0.05, 1.0
    assert abs(weighted_fit(x, low, 9)[0][10, 0]) < 0.2 * abs(weighted_fit(x, high, 9)[0][10, 0])


def test_smoothing_lowers_noise_and_leaves_missing_keypoints_missing():
    truth = walker()
    noisy = walker(noise=3.0, seed=1)
    noisy[:, 3] = 0                                         # an ear never seen: no support, stays missing
    out, _ = smooth_track(noisy, SmoothConfig(window=9))
    err = lambda a: np.linalg.norm(a[:, 4:, :2] - truth[:, 4:, :2], axis=-1).mean()     # noqa: E731
    assert err(out) < 0.7 * err(noisy)
    assert (out[:, 3] == 0).all()


def test_people_without_a_track_are_left_and_a_missing_person_is_filled_in():
    a, noisy = walker(10), walker(10, noise=3.0, seed=2)              # the untracked one: smoothing would move it
    frames = [[{"keypoints": a[t].tolist(), "score": 0.8, "track_id": 1},
               {"keypoints": noisy[t].tolist(), "score": 0.5, "track_id": -1}] for t in range(10)]
    frames[4] = [frames[4][1]]                             # the tracked person missed in frame 4
    out = smooth_people(frames, SmoothConfig())
    assert out[4][0] == frames[4][0]                       # the untracked one as it was
    filled = [p for p in out[4] if p["track_id"] == 1]
    assert len(filled) == 1 and filled[0]["filled"] == list(range(17)) and filled[0]["score"] == pytest.approx(0.8)
    assert np.allclose(np.array(filled[0]["keypoints"])[:, :2], a[4, :, :2], atol=0.01)
    assert all("filled" not in p for t in (3, 5) for p in out[t])
    assert all(out[t][1] == frames[t][1] for t in (3, 5))


def test_a_gap_in_curved_motion_follows_the_curve_not_the_chord():
    """Filled values weigh nothing in the fit: in a gap the fit of the detections around it, not the straight line
    drawn across it."""
    t = np.arange(41, dtype=float)
    kp = np.zeros((41, 17, 3))
    kp[..., 0] = (0.5 * (t - 20) ** 2)[:, None]
    kp[..., 1], kp[..., 2] = 100.0, 0.9
    cut = kp.copy()
    cut[19:22] = 0
    out, filled = smooth_track(cut, SmoothConfig(window=9))
    assert filled[19:22].all() and np.abs(out[19:22, :, 0] - kp[19:22, :, 0]).max() < 0.05


@pytest.fixture(scope="module")
def tracked(tmp_path_factory, real_model):
    """The store-aisle GIF (3 people), tracked: its pose file and table."""
    from ssapose import paths

    d = tmp_path_factory.mktemp("tracked")
    gif = str(paths.shared("data", "video", "store-aisle-detection.gif"))
    assert cli(["video", gif, "--model", real_model, "--track", "--json", str(d / "p.jsonl"),
                "--csv", str(d / "p.csv")]) == 0
    return d


def test_smooth_a_pose_file_keeps_its_header_and_records_the_settings(tracked, capsys):
    src, dst = tracked / "p.jsonl", tracked / "s.jsonl"
    assert cli(["smooth", str(src), "--out", str(dst), "--window", "7"]) == 0
    assert "wrote" in capsys.readouterr().out
    head0, frames0 = read_json_lines(str(src))
    head, frames = read_json_lines(str(dst))
    assert head == {**head0, "smoothing": SmoothConfig(window=7).describe()}
    assert [f["frame"] for f in frames] == [f["frame"] for f in frames0]
    moved = []
    for f0, f in zip(frames0, frames):
        for q, p in zip(f0["people"], f["people"]):              # the people of a frame keep their order
            a, b = np.array(q["keypoints"]), np.array(p["keypoints"])
            both = (a[:, 2] > 0) & (b[:, 2] > 0)
            if q["track_id"] >= 0 and both.any():
                moved.append(np.abs(a[both, :2] - b[both, :2]).max())
    assert moved and 0 < np.mean(moved) < 10                   # smoothed, not moved away


def test_smooth_a_table_from_its_detected_keypoints(tracked):
    dst = tracked / "s.csv"
    assert cli(["smooth", str(tracked / "p.csv"), "--out", str(dst)]) == 0
    head, rows, _ = read_table(str(dst))
    _, rows0, _ = read_table(str(tracked / "p.csv"))
    tracks = [int(float(r["track_id"])) for r in rows0 if float(r["track_id"]) >= 0]
    ident = max(set(tracks), key=tracks.count)                     # the longest track, smoothed from its detections
    mine = [r for r in rows0 if int(float(r["track_id"])) == ident]
    frames = [int(float(r["frame"])) for r in mine]
    assert frames == list(range(frames[0], frames[0] + len(frames)))    # seen in every frame: nothing filled
    detected = np.array([[[float(r[f"{k}_{c}"] or 0) for c in ("x", "y", "score")] for k in COCO_KEYPOINT_NAMES]
                         for r in mine])                             # the detected columns, read here
    want = smooth_track(detected)[0]
    got = [r for r in rows if int(float(r["track_id"])) == ident]
    have = detected[:, 0, 2] > 0
    assert have.sum() > 10 and np.allclose([float(r["nose_x_smooth"]) for r, h in zip(got, have) if h],
                                           want[have, 0, 0], atol=0.01)
    assert any(line.startswith("# smoothing:") for line in head) and "filled" in rows[0]
    assert len(rows) >= len(rows0)
    same = [(r, r0) for r, r0 in zip(rows, rows0) if r["frame"] == r0["frame"] and r["track_id"] == r0["track_id"]]
    assert all(r["nose_x"] == r0["nose_x"] for r, r0 in same)             # the detected columns kept
    assert any(r["nose_x_smooth"] != r0["nose_x_smooth"] for r, r0 in same)


@pytest.mark.parametrize("args, said", [
    (["IN", "--out", "IN"], "is the input"),
    (["IN", "--out", "x.csv"], "must end in .jsonl"),
    (["IN", "--out", "o.jsonl", "--window", "8"], "odd"),
    (["missing.jsonl", "--out", "o.jsonl"], "no such pose file"),
])
def test_smooth_refuses_in_one_line(tracked, tmp_path, capsys, monkeypatch, args, said):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "IN").write_bytes((tracked / "p.jsonl").read_bytes())
    args = [str(tmp_path / "in.jsonl") if a == "IN" else a for a in args]
    (tmp_path / "in.jsonl").write_bytes((tracked / "p.jsonl").read_bytes())
    assert cli(["smooth", *args]) != 0
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and said in err[0]
    assert json.loads((tmp_path / "in.jsonl").read_text().splitlines()[0])["ssapose"] == 1     # input untouched


def test_batch_smooth_writes_what_video_track_then_smooth_write(tracked, tmp_path, real_model):
    """``batch --smooth``: each finished pose file and table smoothed in place, the same as ``ssapose smooth`` on
    what ``video --track`` wrote."""
    from ssapose import paths

    gif = str(paths.shared("data", "video", "store-aisle-detection.gif"))
    assert cli(["batch", gif, "--model", real_model, "--smooth", "--csv", "--out-dir", str(tmp_path / "b")]) == 0
    assert cli(["smooth", str(tracked / "p.jsonl"), "--out", str(tmp_path / "s.jsonl")]) == 0
    assert cli(["smooth", str(tracked / "p.csv"), "--out", str(tmp_path / "s.csv")]) == 0
    head, frames = read_json_lines(str(tmp_path / "b" / "store-aisle-detection.jsonl"))
    want_head, want = read_json_lines(str(tmp_path / "s.jsonl"))
    assert frames == want and head["smoothing"] == want_head["smoothing"] and head["tracker"] == want_head["tracker"]
    rows = read_table(str(tmp_path / "b" / "store-aisle-detection.csv"))[1]
    assert rows == read_table(str(tmp_path / "s.csv"))[1]
