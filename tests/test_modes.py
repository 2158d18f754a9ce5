"""--mode, --flip and --scales: parsing, precedence, and that every command and the API pass them on."""
import argparse

import numpy as np
import pytest

from engines.cli import scale_list, tta_choice
from engines.modes import MODES, Mode
from ssapose.model_card import DEFAULT_INPUT_HEIGHT


def _args(**kw):
    d = dict(mode="default", flip=False, scales=None, input_size=None)          # argparse's defaults
    d.update(kw)
    return argparse.Namespace(**d)


def test_scale_lists():
    assert scale_list("1,1.5") == (1.0, 1.5)
    for bad in ("1.5,2", "1,x", "0,1", "1,5"):
        with pytest.raises(argparse.ArgumentTypeError):
            scale_list(bad)


def test_modes_and_their_overrides():
    assert tta_choice(_args()) == Mode(DEFAULT_INPUT_HEIGHT, False, (1.0,))
    assert tta_choice(_args(mode="fast")).height == 256
    assert tta_choice(_args(mode="fast", input_size=320)).height == 320           # an explicit height wins
    acc = tta_choice(_args(mode="accurate"))
    assert acc.flip and acc.scales == (0.5, 1.0, 1.5, 2.0) and acc.cost == pytest.approx(15.0)
    assert tta_choice(_args(mode="accurate", scales=(1.0, 2.0))).scales == (1.0, 2.0)
    assert tta_choice(_args(flip=True)).flip and MODES["default"].cost == 1.0
    assert tta_choice(_args(mode="fast", input_size=DEFAULT_INPUT_HEIGHT)).height == DEFAULT_INPUT_HEIGHT


def test_the_command_line_and_the_api_resolve_a_view_by_one_rule():
    """``engines.load(mode="fast", input_size=456)`` and ``--mode fast --input-size 456`` run at 456: an explicit
    value wins over the mode's, in both; and both refuse the same values with one line."""
    from app.cli import build_parser
    from engines.modes import resolve_view

    args = build_parser().parse_args(["video", "--mode", "fast", "--input-size", "456"])
    assert tta_choice(args) == resolve_view("fast", 456) == Mode(456, False, (1.0,))
    assert tta_choice(build_parser().parse_args(["video", "--mode", "fast"])).height == 256
    assert resolve_view("fast", np.int64(456)).height == 456                   # numpy integers are whole numbers
    assert resolve_view("accurate", flip=False).flip is False                   # an explicit False wins too
    assert resolve_view(input_size="auto").auto is not None
    for bad, match in ((0, "from 32 to 4096"), (True, "from 32 to 4096"), (7, "from 32 to 4096"),
                       (368.5, "whole number"), ("big", "whole number")):
        with pytest.raises(ValueError, match=match):
            resolve_view("default", bad)
    with pytest.raises(ValueError, match="fast, default, accurate"):
        resolve_view("bogus")
    with pytest.raises(ValueError, match="own scales"):
        resolve_view("accurate", "auto")


def test_eval_video_and_the_api_run_the_modes(tmp_path, capsys):
    from app.cli import main
    from ssapose import paths

    from conftest import DEMO, TINY_ANN

    if not paths.DEFAULT_MODEL.exists():
        pytest.skip("the default model is built by make")
    assert main(["eval", "--ann", str(TINY_ANN), "--mode", "accurate"]) == 0
    assert "flipped, scales (0.5, 1.0, 1.5, 2.0)" in capsys.readouterr().out
    out = tmp_path / "p.jsonl"
    assert main(["video", str(DEMO), "--scales", "1,1.5", "--max-frames", "2", "--json", str(out)]) == 0
    assert out.read_text().count("\n") == 3

    import json

    import engines
    from engines.sinks import OutputSpec

    with engines.load(mode="accurate") as est:
        assert est._step.flip and est._step.scales == (0.5, 1.0, 1.5, 2.0)
    with engines.load(mode="fast", input_size=456) as est:                     # as --mode fast --input-size 456
        assert est.view.height == est._step.input_size == 456
        stream = est.stream(str(DEMO), max_frames=1, outputs=OutputSpec(poses=str(tmp_path / "api.jsonl")))
        assert len(list(stream)) == 1
    assert json.loads((tmp_path / "api.jsonl").read_text().splitlines()[0])["input_size"] == 456


def test_the_pose_files_say_how_the_poses_were_made(tmp_path):
    """The JSON Lines header and the CSV's comment lines record the input height, the test-time views, the
    automatic height's rule and the decoder, as the run used them."""
    from app.cli import main
    from engines.sinks.files import read_json_lines
    from engines.modes import AUTO
    from ssapose import paths

    from conftest import DEMO

    if not paths.DEFAULT_MODEL.exists():
        pytest.skip("the default model is built by make")
    j, c = tmp_path / "p.jsonl", tmp_path / "t.csv"
    assert main(["video", str(DEMO), "--flip", "--scales", "1,1.5", "--input-size", "256", "--refine", "offsets",
                 "--max-frames", "1", "--json", str(j), "--csv", str(c)]) == 0
    head = read_json_lines(str(j))[0]
    assert (head["input_size"], head["flip"], head["scales"], head["auto"], head["refine"]) == \
        (256, True, [1.0, 1.5], None, "offsets")
    lines = c.read_text().splitlines()
    assert {"# input_size: 256", "# flip: True", "# scales: [1.0, 1.5]", "# refine: offsets"} <= set(lines)
    assert main(["video", str(DEMO), "--input-size", "auto", "--max-frames", "1", "--json", str(j)]) == 0
    head = read_json_lines(str(j))[0]
    assert (head["input_size"], head["flip"], head["refine"]) == (368, False, "fit")
    assert head["auto"] == dict(vars(AUTO), scales=list(AUTO.scales))


# -- --input-size auto -----------------------------------------------------------------------------------------
class _CountingBackend:
    """Wraps a backend: records the input height of every network call."""

    def __init__(self, inner):
        self.inner, self.heights, self.info = inner, [], inner.info
        self.takes_uint8 = getattr(inner, "takes_uint8", False)

    def infer(self, x):
        self.heights.append(x.shape[1] if x.dtype.name == "uint8" else x.shape[2])
        return self.inner.infer(x)


def _person_poses(height_px: float):
    import numpy as np

    from ssapose.poses import Poses

    kp = np.zeros((1, 17, 3), np.float32)
    kp[0, :, 0] = 100
    kp[0, :, 1] = np.linspace(50, 50 + height_px, 17)
    kp[0, :, 2] = 0.9
    return Poses(kp, np.ones(1, np.float32))


def test_the_auto_rule_fires_on_small_people_only():
    from engines.modes import AutoHeight
    from ssapose.poses import Poses

    rule = AutoHeight(small_px=96)
    assert rule.fires(_person_poses(60), 1.0) and not rule.fires(_person_poses(200), 1.0)
    assert rule.fires(_person_poses(200), 0.4)                       # 200 frame px are 80 input px
    assert not rule.fires(Poses.empty(), 1.0)                        # nobody found: no second pass
    with pytest.raises(ValueError, match="statistic"):
        AutoHeight(statistic="mean")
    with pytest.raises(ValueError, match="include 1"):
        AutoHeight(scales=(1.5,))
    assert AutoHeight(scales=(1.0, 1.5)).extra_cost == pytest.approx(2.25)


def test_auto_adds_the_second_pass_only_where_the_people_are_small(monkeypatch):
    """The estimator reuses the first pass as scale 1 and adds the 1.5x pass only when the rule fires."""
    from engines.modes import AUTO
    from engines.run.step import FrameStep
    from ssapose.preprocess import letterbox

    from test_pipeline import FieldsBackend, frames

    frame = next(frames(1))
    for small in (True, False):
        be = _CountingBackend(FieldsBackend(n_people=1))
        est = FrameStep(be, DEFAULT_INPUT_HEIGHT, auto=AUTO)
        monkeypatch.setattr(AUTO.__class__, "fires", lambda self, poses, scale, s=small: s)
        est(frame)
        pre = be.info.config.preprocess
        want = [letterbox(frame, DEFAULT_INPUT_HEIGHT, pre)[1].height]
        if small:
            want.append(letterbox(frame, round(DEFAULT_INPUT_HEIGHT * 1.5), pre)[1].height)
        assert be.heights == want
    with pytest.raises(ValueError, match="either scales or auto"):
        FrameStep(FieldsBackend(), scales=(1.0, 1.5), auto=AUTO)


def test_input_size_auto_on_the_command_line():
    from engines.cli_args import AUTO_SIZE, input_size_or_auto
    from engines.modes import AUTO

    assert input_size_or_auto("auto") == AUTO_SIZE and input_size_or_auto("320") == 320
    with pytest.raises(argparse.ArgumentTypeError, match="or auto"):
        input_size_or_auto("huge")
    m = tta_choice(_args(input_size=AUTO_SIZE))
    assert m.auto == AUTO and m.height == DEFAULT_INPUT_HEIGHT and m.scales == (1.0,)
    assert tta_choice(_args(input_size=AUTO_SIZE, flip=True)).flip
    with pytest.raises(ValueError, match="own scales"):
        tta_choice(_args(input_size=AUTO_SIZE, mode="accurate"))


def test_the_video_schedule_switches_by_blocks_with_hysteresis():
    """Block b follows block b - 2's share of small-people frames: on at 1/2, off below 1/4, held between."""
    from engines.run.height_schedule import HeightSchedule
    from engines.modes import AutoHeight, ScheduleConfig

    sched = HeightSchedule(AutoHeight(small_px=96), live=False, config=ScheduleConfig(every=4, on=0.5, off=0.25))
    heights = [200] * 4 + [50, 50, 50, 200] + [50, 200, 200, 200] + [200] * 4 + [200] * 8
    got = []
    for seq, h in enumerate(heights):
        got.append(sched.second_pass(seq))           # frames before block b - 2 are all observed: no waiting
        sched.observe(seq, _person_poses(h), 1.0)
    blocks = got[::4]
    #        b0     b1     b2: b0 0/4  b3: b1 3/4 on  b4: b2 1/4 holds  b5: b3 0/4 off
    assert blocks == [False, False, False, True, True, False]
    assert all(got[i] == got[i - i % 4] for i in range(len(got)))           # one decision per block


def test_the_file_schedule_waits_for_its_block_and_stop_releases_it():
    import threading

    from engines.run.height_schedule import HeightSchedule
    from engines.modes import AutoHeight, ScheduleConfig

    sched = HeightSchedule(AutoHeight(small_px=96), live=False, config=ScheduleConfig(every=4))
    out = []
    waiter = threading.Thread(target=lambda: out.append(sched.second_pass(8)))     # needs frames 0..3 seen
    waiter.start()
    for seq in range(3):
        sched.observe(seq, _person_poses(50), 1.0)
    waiter.join(0.3)
    assert waiter.is_alive() and not out                                    # frame 3 not seen yet: it waits
    sched.observe(3, _person_poses(50), 1.0)
    waiter.join(5)
    assert out == [True]
    live = HeightSchedule(AutoHeight(), live=True, config=ScheduleConfig(every=4))
    assert live.second_pass(100) is False                                   # live: never waits
    stuck = HeightSchedule(AutoHeight(), live=False, config=ScheduleConfig(every=4))
    t = threading.Thread(target=lambda: stuck.second_pass(40))
    t.start()
    stuck.close()
    t.join(5)
    assert not t.is_alive()


def test_a_video_with_auto_height_gets_the_second_pass_from_the_block_after_next():
    """Wired through the pipeline: frames of blocks 0 and 1 run once; from block 2 on, every frame also runs the
    1.5x pass when the people of block 0 were small; the same on every run (file mode waits for its block)."""
    from engines.run.pipeline import Pipeline, PipelineConfig
    from engines.modes import AutoHeight, ScheduleConfig

    from test_pipeline import FieldsBackend, frames

    every = ScheduleConfig().every
    for small_px, extra in ((1e9, 40 - 2 * every), (0.0, 0)):
        be = _CountingBackend(FieldsBackend(n_people=1))
        out = list(Pipeline(frames(40), be, PipelineConfig(auto=AutoHeight(small_px=small_px))).results())
        assert [r.index for r in out] == list(range(40))
        assert len(be.heights) == 40 + extra


def test_each_app_mode_describes_what_runs_and_its_cost():
    """The app's mode tooltip is made from the modes themselves, so it cannot drift from them."""
    from engines.modes import APP_MODES

    assert APP_MODES["accurate"].describe() == "flipped, scales 0.5, 1, 1.5, 2 (15x the network)"
    assert APP_MODES["fast"].describe().startswith("height 256 (")
    assert "under 32 px" in APP_MODES["auto height"].describe()
    assert "+2.25x where it fires" in APP_MODES["auto height"].describe()


def test_maps_averaged_over_views_are_decoded_with_their_own_peak_threshold_and_min_score(monkeypatch):
    """Flipping, scales and the automatic height's second pass average views, and a part that one view sees
    strongly is diluted: those maps are decoded at ``averaged_peak_threshold`` and ``averaged_min_score``; a
    single view at ``peak_threshold`` and ``min_score``. The same in the estimator and the video pipeline."""
    import engines.run.step as runner
    from engines.run.pipeline import Pipeline, PipelineConfig
    from engines.modes import AutoHeight, ScheduleConfig
    from ssapose.decode import DecoderConfig

    from test_pipeline import FieldsBackend, frames

    d = DecoderConfig()
    assert d.averaged_peak_threshold < d.peak_threshold and d.averaged_min_score < d.min_score
    one, avg = (d.peak_threshold, d.min_score), (d.averaged_peak_threshold, d.averaged_min_score)
    assert (d.for_averaged_maps().peak_threshold, d.for_averaged_maps().min_score) == avg
    seen = []
    real = runner.decode_fields

    def spy(fields, stride, box, decoder):
        seen.append((decoder.peak_threshold, decoder.min_score))
        return real(fields, stride, box, decoder)

    monkeypatch.setattr(runner, "decode_fields", spy)
    frame = next(frames(1))
    for kwargs, want in (({}, [one]), (dict(flip=True), [avg]),
                         (dict(scales=(1.0, 1.5)), [avg])):
        seen.clear()
        runner.FrameStep(FieldsBackend(n_people=1), **kwargs)(frame)
        assert seen == want, kwargs
    seen.clear()
    runner.FrameStep(FieldsBackend(n_people=1), auto=AutoHeight(small_px=1e9))(frame)
    assert seen == [one, avg]           # first pass, then the averaged one
    for config, want in ((PipelineConfig(flip=True), {avg}),
                         (PipelineConfig(), {one})):
        seen.clear()
        list(Pipeline(frames(6), FieldsBackend(n_people=1), config).results())
        assert set(seen) == want
    every = ScheduleConfig().every
    seen.clear()
    list(Pipeline(frames(3 * every), FieldsBackend(n_people=1), PipelineConfig(auto=AutoHeight(small_px=1e9))
                  ).results())
    assert seen == [one] * (2 * every) + [avg] * every


# -- scales: averaged on the finest view's grid -------------------------------------------------------------------
def _scaled_fields_backend(n_people=2):
    """A FieldsBackend whose fields follow the input size, as a network's do: each input (told apart by its
    padded width) encodes the people at its own letterbox scale, for the heights of every scale used here."""
    from ssapose.preprocess import letterbox

    from test_pipeline import FieldsBackend, frames

    class ScaledFields(FieldsBackend):
        def input_scale(self, width):
            return self.scale_of_width[width]

    be = ScaledFields(n_people=n_people)
    frame, pre = next(frames(1)), be.info.config.preprocess
    boxes = [letterbox(frame, round(DEFAULT_INPUT_HEIGHT * k), pre)[1] for k in (0.5, 1.0, 1.5, 2.0)]
    be.scale_of_width = {b.width: b.scale for b in boxes}
    assert len(be.scale_of_width) == 4
    return be


def _max_error(poses, truth):
    """Per true person, the largest keypoint error (frame px) of the pose nearest to it."""
    import numpy as np

    return [min(np.abs(kp[:, :2] - person[:, :2]).max() for kp in poses.keypoints) for person in truth]


def test_scales_average_on_the_largest_views_grid_and_place_the_people():
    """With scales 0.5-2 the fields come back on the 2x view's grid, with that view's letterbox, and decode to the
    people's frame positions."""
    from engines.run.step import FrameStep, Timings

    from test_pipeline import frames

    be, frame = _scaled_fields_backend(), next(frames(1))
    est = FrameStep(be, DEFAULT_INPUT_HEIGHT, scales=(0.5, 1.0, 1.5, 2.0))
    fields, box = est.infer(frame, Timings())
    assert box.scale == pytest.approx(2 * DEFAULT_INPUT_HEIGHT / 480)
    assert fields["heatmaps"].shape[1:] == (box.height // 8, box.width // 8) == (62, 92)
    assert fields["offsets"].shape[1:] == (62, 92)
    poses = est(frame)
    assert len(poses) == 2
    # One view decodes exactly; averaging views whose gaussians differ in width biases the log-parabola fit by a
    # small fraction of a cell (at most 0.5 frame px here; a cell of the 2x grid is 5.2).
    assert max(_max_error(poses, be.truth(0))) < 1.0


def test_the_second_pass_decodes_on_its_grid_and_the_rule_still_judges_at_the_default_height():
    """In the video pipeline the automatic height's second pass comes back on the 1.5x grid: its poses are placed
    with that view's letterbox, while the rule keeps judging the people's size at the default height. People 120
    input px tall there (180 on the 1.5x grid) under a 150 px rule: the second pass, once on, stays on (block 4
    is the first decided from a block that had it)."""
    from engines.run.pipeline import Pipeline, PipelineConfig
    from engines.modes import AutoHeight, ScheduleConfig

    from test_pipeline import frames

    every = ScheduleConfig().every
    be = _CountingBackend(_scaled_fields_backend(n_people=1))
    n = 5 * every
    out = list(Pipeline(frames(n), be, PipelineConfig(auto=AutoHeight(small_px=150.0))).results())
    assert len(be.heights) == n + (n - 2 * every)
    for r in out[2 * every:]:
        assert len(r.poses) == 1 and max(_max_error(r.poses, be.inner.truth(r.index))) < 1.0


class _Constant:
    """A stand-in network whose maps hold one value everywhere, at any input size."""

    def __init__(self):
        from engines.base import ModelInfo
        from ssapose.models import get_config

        self.info = ModelInfo(get_config("lite"))

    def infer(self, x):
        h, w = (x.shape[2:] if x.dtype != np.uint8 else x.shape[1:3])
        shape = (1, h // 8, w // 8)
        return {"heatmaps": np.full((1, 19) + shape[1:], 0.3, np.float32),
                "pafs": np.full((1, 38) + shape[1:], 0.1, np.float32),
                "offsets": np.zeros((1, 36) + shape[1:], np.float32)}


@pytest.mark.parametrize("scales", [(1.0, 1.5), (0.5, 1.0, 1.5, 2.0)])
def test_views_are_averaged_not_summed(scales):
    """Every view of a constant map is that constant: their average must be too, whatever the number of views."""
    from engines.run.step import FrameStep, Timings

    frame = np.zeros((96, 128, 3), np.uint8)
    fields, _ = FrameStep(_Constant(), 96, scales=scales).infer(frame, Timings())
    inner = fields["heatmaps"][..., 2:-2, 2:-2]
    assert np.allclose(inner, 0.3, atol=1e-4) and np.allclose(fields["pafs"][..., 2:-2, 2:-2], 0.1, atol=1e-4)
