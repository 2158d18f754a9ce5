"""Which poses a user is shown (``DecoderConfig.shown_score``): the pipeline, the API and the command line show
the poses scoring at least it (and a confirmed track's, however weak); evaluation scores every pose."""
import numpy as np
import pytest

from engines.run.pipeline import Pipeline, PipelineConfig
from engines.run.step import FrameStep
from ssapose.decode import DecoderChoice, DecoderConfig
from ssapose.poses import Poses

from conftest import synthetic_person
from test_pipeline import FieldsBackend, frames

SCORES = np.array([0.9, 0.3, 0.09, 0.02], np.float32)      # a person, a weak one, two fragments


def fixed_poses(*_args, **_kwargs) -> Poses:
    """Four poses with the scores ``SCORES``, keypoints told apart by x."""
    kp = np.stack([synthetic_person(80 + 100 * k, 150, 0.5) for k in range(len(SCORES))]).astype(np.float32)
    return Poses(kp, SCORES.copy())


def test_shown_keeps_scores_from_the_threshold_and_confirmed_tracks():
    p = fixed_poses()
    assert p.shown(0.1).tolist() == [True, True, False, False]
    assert p.shown(0.0).all()
    p.ids = np.array([1, -1, 2, -1])
    assert p.shown(0.5).tolist() == [True, False, True, False]         # the weak id-2 person is followed
    kept = p.take(p.shown(0.1))
    assert kept.scores.tolist() == pytest.approx([0.9, 0.3, 0.09]) and kept.ids.tolist() == [1, -1, 2]
    np.testing.assert_array_equal(kept.keypoints, p.keypoints[[0, 1, 2]])


def test_the_default_is_chosen_below_the_trackers_weak_band():
    """0.1, the highest mean F1 on train2017 (BENCHMARKS.md); no higher than the tracker's weakest detection,
    so no pose the tracker can follow is hidden by default."""
    from ssapose.tracking import TrackerConfig
    assert DecoderConfig().shown_score == 0.1 <= TrackerConfig().low_score


def run_pipeline(monkeypatch, decoder=None, tracker=None):
    monkeypatch.setattr(FrameStep, "decode", lambda self, *a, **k: fixed_poses())
    config = PipelineConfig(input_size=368, draw=False, decoder=decoder)
    return list(Pipeline(frames(3), FieldsBackend(), config, tracker=tracker).results())


def test_the_pipeline_writes_only_the_poses_shown(monkeypatch):
    out = run_pipeline(monkeypatch)
    assert len(out) == 3 and all(r.poses.scores.tolist() == pytest.approx([0.9, 0.3]) for r in out)
    every = run_pipeline(monkeypatch, DecoderChoice(shown_score=0.0))
    assert all(len(r.poses) == 4 for r in every)


def test_the_pipeline_keeps_a_followed_person_and_its_raw_pose(monkeypatch):
    seen = []

    def tracker(poses, clock):
        seen.append(len(poses))
        ids = np.array([-1, -1, 5, -1])                 # the tracker follows the 0.09 one
        return Poses(poses.keypoints + 1.0, poses.scores, ids), ids

    out = run_pipeline(monkeypatch, DecoderChoice(shown_score=0.5), tracker)
    assert seen == [4, 4, 4]                            # the tracker saw every pose
    for r in out:
        assert r.poses.scores.tolist() == pytest.approx([0.9, 0.09]) and r.poses.ids.tolist() == [-1, 5]
        np.testing.assert_array_equal(r.raw_poses.keypoints + 1.0, r.poses.keypoints)


def test_a_running_pipelines_shown_score_can_change(monkeypatch):
    monkeypatch.setattr(FrameStep, "decode", lambda self, *a, **k: fixed_poses())
    pipe = Pipeline(frames(2), FieldsBackend(), PipelineConfig(input_size=368, draw=False))
    assert pipe.shown_score == DecoderConfig().shown_score
    pipe.shown_score = 0.5                               # what the app's slider does
    assert all(len(r.poses) == 1 for r in pipe.results())


def test_evaluation_scores_every_pose(monkeypatch, tmp_path):
    """AP counts the weak poses too: ``FrameStep`` (what ``eval`` runs) keeps them."""
    monkeypatch.setattr(FrameStep, "decode", lambda self, *a, **k: fixed_poses())
    est = FrameStep(FieldsBackend())
    assert est(next(frames(1))).scores.tolist() == pytest.approx(SCORES.tolist())


def test_the_api_shows_what_the_pipeline_shows(monkeypatch):
    import engines.api as api

    monkeypatch.setattr(api, "create_backend", lambda *a, **k: FieldsBackend())
    monkeypatch.setattr(FrameStep, "decode", lambda self, *a, **k: fixed_poses())
    image = next(frames(1))
    assert api.Estimator("fake.xml")(image).scores.tolist() == pytest.approx([0.9, 0.3])
    assert len(api.Estimator("fake.xml", decoder=DecoderChoice(shown_score=0))(image)) == 4


def test_the_command_line_takes_shown_score_where_poses_are_shown():
    from app.cli import build_parser
    from engines.cli import decoder_choice

    parser = build_parser()
    args = parser.parse_args(["video", "clip.mp4", "--shown-score", "0.3"])
    assert decoder_choice(args).shown_score == 0.3
    assert decoder_choice(parser.parse_args(["video", "clip.mp4"])).shown_score is None
    assert decoder_choice(parser.parse_args(["video", "clip.mp4"])).resolve().shown_score == DecoderConfig().shown_score
    with pytest.raises(SystemExit):
        parser.parse_args(["video", "clip.mp4", "--shown-score", "2"])
    with pytest.raises(SystemExit):                      # eval scores every pose: no such option there
        parser.parse_args(["eval", "--shown-score", "0.3"])


def test_the_pose_file_holds_the_poses_shown_and_says_from_which_score(tmp_path, real_model):
    """coco_tiny with test-time flipping (averaged maps keep weak fragments): the default file holds exactly the
    poses of ``--shown-score 0`` that score 0.1 or more, and its header says so."""
    from app.cli import main
    from engines.sinks.files import read_json_lines
    from conftest import DATA

    every, shown = tmp_path / "every.jsonl", tmp_path / "shown.jsonl"
    run = ["video", str(DATA / "coco_tiny"), "--model", real_model, "--flip"]
    assert main(run + ["--shown-score", "0", "--json", str(every)]) == 0
    assert main(run + ["--json", str(shown)]) == 0
    (head_all, all_frames), (head, frames_shown) = read_json_lines(str(every)), read_json_lines(str(shown))
    assert head_all["shown_score"] == 0 and head["shown_score"] == DecoderConfig().shown_score
    scores = [[p["score"] for p in f["people"]] for f in all_frames]
    assert any(s < 0.1 for f in scores for s in f)                  # there were weak ones to hide
    assert [[p["score"] for p in f["people"]] for f in frames_shown] == [[s for s in f if s >= 0.1] for f in scores]
