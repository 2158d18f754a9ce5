"""Re-identification by appearance (``TrackerConfig.reid_s``, ``--track-reid-s``): a person who leaves for longer
than a lost track is kept comes back under their id; someone who looks different, or who is in view at the same
time, does not take it."""
import cv2
import numpy as np
import pytest

from ssapose.appearance import BINS, PARTS, describe, similarity
from ssapose.poses import Poses
from ssapose.tracking import Tracker, TrackerConfig

from conftest import synthetic_person

RED, BLUE, GREEN, YELLOW = (0, 0, 220), (200, 60, 0), (0, 200, 0), (0, 220, 220)


def person(x: float) -> np.ndarray:
    kp = synthetic_person(x, 240, 1.4)
    kp[:, 2] = 0.9
    return kp


def paint(frame: np.ndarray, kp: np.ndarray, shirt, trousers) -> None:
    """Dress the person ``kp`` in the frame: the torso quadrilateral and thick legs."""
    cv2.fillConvexPoly(frame, np.round(kp[[5, 6, 12, 11], :2]).astype(np.int32), shirt)
    for a, b in ((11, 13), (13, 15), (12, 14), (14, 16)):
        cv2.line(frame, tuple(np.round(kp[a, :2]).astype(int)), tuple(np.round(kp[b, :2]).astype(int)), trousers, 14)


def scene(people: list[tuple[float, tuple, tuple]]) -> tuple[np.ndarray, Poses]:
    frame = np.full((480, 960, 3), 90, np.uint8)
    kps = [person(x) for x, _, _ in people]
    for kp, (_, shirt, trousers) in zip(kps, people):
        paint(frame, kp, shirt, trousers)
    poses = Poses(np.array(kps, np.float32).reshape(-1, 17, 3), np.full(len(kps), 0.9, np.float32))
    return frame, poses


def test_a_descriptor_holds_the_colours_of_torso_and_legs_and_nothing_unseen():
    frame, poses = scene([(300, RED, BLUE)])
    d = describe(frame, poses.keypoints)
    assert d.shape == (1, PARTS, BINS) and np.allclose(d[0, :2].sum(axis=1), 1)
    hidden = poses.keypoints.copy()
    hidden[0, [11, 12], 2] = 0                                     # no hips: neither torso nor legs
    assert np.isnan(describe(frame, hidden)[0, :2]).all()
    other, p2 = scene([(300, GREEN, YELLOW)])
    same, p3 = scene([(600, RED, BLUE)])                          # elsewhere in the frame, the same clothes
    assert similarity(d[0], describe(same, p3.keypoints)[0]) > 0.95
    assert similarity(d[0], describe(other, p2.keypoints)[0]) < 0.5
    black, p4 = scene([(300, (25, 25, 25), BLUE)])                # grey shades have no hue: told apart by brightness
    white, p5 = scene([(300, (235, 235, 235), BLUE)])
    assert similarity(describe(black, p4.keypoints)[0], describe(white, p5.keypoints)[0]) < 0.5


def test_two_people_in_black_differ_by_their_bare_arms():
    """Torso, legs and head alike, the arms not: every part seen must match (the mean over parts would merge
    them, as it merged the demo clip's two people in black)."""
    black, skin = (20, 20, 20), (120, 160, 220)
    looks = []
    for forearms in (black, skin):                              # long sleeves, or short ones
        frame, poses = scene([(400, black, black)])
        kp = poses.keypoints[0]
        for (a, b), colour in (((5, 7), black), ((6, 8), black), ((7, 9), forearms), ((8, 10), forearms)):
            cv2.line(frame, tuple(np.round(kp[a, :2]).astype(int)), tuple(np.round(kp[b, :2]).astype(int)), colour, 9)
        looks.append(describe(frame, poses.keypoints)[0])
    parts = [float(np.sqrt(looks[0][k] * looks[1][k]).sum()) for k in range(PARTS)]
    assert min(parts[:2]) > 0.95 and np.nanmean(parts) >= 0.9 > similarity(*looks)


def run(script: list[list[tuple[float, tuple, tuple]]], config: TrackerConfig, fps: float = 10.0) -> list[list[int]]:
    """The ids of each frame's people, in the order given."""
    tracker = Tracker(config)
    out = []
    for k, people in enumerate(script):
        frame, poses = scene(people)
        out.append(tracker(poses, k / fps, frame)[1].tolist())
    return out


def leave_and_return(between: list) -> list:
    """A in red and blue walks (20 frames), is gone 3 s (``between`` meanwhile), and comes back elsewhere."""
    a = [[(200 + 4 * k, RED, BLUE)] for k in range(20)]
    back = [[(700 - 4 * k, RED, BLUE)] for k in range(20)]
    return a + between + back


def test_a_person_who_returns_gets_their_id_back_and_someone_else_does_not():
    other = [[]] * 3 + [[(400 + 3 * k, GREEN, YELLOW)] for k in range(20)] + [[]] * 7
    ids = run(leave_and_return(other), TrackerConfig(reid_s=30))
    first, middle, last = ids[10][0], ids[35][0], ids[-1][0]
    assert first > 0 and last == first and middle not in (first, -1)
    plain = run(leave_and_return(other), TrackerConfig())                 # off: every return is a new id
    assert plain[-1][0] not in (plain[10][0], -1)


def test_ids_are_not_taken_by_look_alikes_in_view_or_after_the_memory_ends():
    twins = run([[(200, RED, BLUE), (600, RED, BLUE)] for _ in range(10)], TrackerConfig(reid_s=30))
    assert len(set(twins[-1])) == 2 and -1 not in twins[-1]                # both in view: two people
    gone = [[]] * 40                                                       # 4 s away, remembered for 2 s
    ids = run(leave_and_return(gone), TrackerConfig(reid_s=2))
    assert ids[-1][0] not in (ids[10][0], -1)


@pytest.mark.parametrize("reid_s", [0.0, 30.0])
def test_the_tracker_says_whether_it_re_identifies(reid_s):
    t = Tracker(TrackerConfig(reid_s=reid_s))
    assert t.wants_frame == (reid_s > 0) and ("re-identified" in t.describe()) == (reid_s > 0)


def test_video_gives_a_returning_person_their_id_back(tmp_path, real_model):
    """A clip built from the demo clip: person 1 (20 frames), 2.5 s of the empty room, person 2, the room, person 1
    again: ``ssapose video --track --track-reid-s 60`` gives person 1 one id and person 2 another."""
    import json

    from app.cli import main as cli
    from conftest import DEMO

    parts = [range(90, 110), range(200, 225), range(300, 320), range(200, 225), range(160, 180)]
    wanted = [k for r in parts for k in r]
    cap, got, k = cv2.VideoCapture(str(DEMO)), {}, 0
    while len(got) < len(set(wanted)):
        ok, f = cap.read()
        assert ok
        if k in wanted:
            got[k] = f
        k += 1
    clip = tmp_path / "back.mp4"
    out = cv2.VideoWriter(str(clip), cv2.VideoWriter_fourcc(*"mp4v"), 10, (768, 432))
    for k in wanted:
        out.write(got[k])
    out.release()
    assert cli(["video", str(clip), "--model", real_model, "--track", "--track-reid-s", "60",
                "--json", str(tmp_path / "p.jsonl")]) == 0
    lines = [json.loads(x) for x in (tmp_path / "p.jsonl").read_text().splitlines()[1:]]
    ids = [{p["track_id"] for p in f["people"] if p["track_id"] > 0} for f in lines]
    first, second, back = (set().union(*ids[a:b]) for a, b in ((0, 20), (45, 65), (90, 110)))
    assert len(first) == 1 and back == first and second and not second & first
