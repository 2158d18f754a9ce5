"""``ssapose benchmark``'s first part: capacity, pipeline, their ratio and live latency, in one run (a short one)."""
import pytest

from app.capacity import camera, measure_capacity
from ssapose import paths
from ssapose.sources import read_frames

pytestmark = pytest.mark.skipif(not paths.DEFAULT_MODEL.exists(), reason="the default model is built by make")


def test_the_report_has_the_capacity_the_ratio_and_the_latency():
    frames = read_frames(str(paths.demo_video()), limit=20)
    report = measure_capacity(str(paths.DEFAULT_MODEL), frames, 10.0, rounds=1, live_seconds=2.0)
    assert report.capacity[0] > 0 and report.pipeline[0] > 0
    text = report.describe()
    assert "pipeline / capacity: " in text and "capture to result" in text and "p95" in text
    med, p95, dropped = report.latency
    assert 0 < med <= p95


def test_the_camera_paces_its_frames():
    import time

    t0 = time.perf_counter()
    got = list(camera([1, 2, 3], fps=50.0, seconds=0.2))
    assert got == [1, 2, 3, 1, 2, 3, 1, 2, 3, 1] and time.perf_counter() - t0 >= 0.17


def test_a_live_source_gets_one_request_and_a_file_all_it_can_use():
    from engines.run.session import RunSpec, open_run
    from engines import auto_streams

    for live, want in ((True, 1), (False, auto_streams())):
        with open_run(RunSpec(str(paths.demo_video()), str(paths.DEFAULT_MODEL), live=live)) as run:
            assert run.backend.streams == want and run.pipeline.streams == want, live
    with open_run(RunSpec(str(paths.demo_video()), str(paths.DEFAULT_MODEL), live=True, streams=2)) as run:
        assert run.backend.streams == 2                      # a pinned --streams wins


def test_a_run_takes_its_pipeline_settings_and_sets_the_clocks_from_the_source():
    """``RunSpec.pipeline`` reaches the pipeline as given; live mode, pacing and the tracker's clock come from the
    source (a file: its frame rate) and the spec's ``live``/``realtime``."""
    from engines.run.pipeline import PipelineConfig
    from engines.run.session import RunSpec, open_run
    from ssapose.decode import DecoderChoice

    pipe = PipelineConfig(input_size=256, decoder=DecoderChoice(refine="offsets"), flip=True, max_frames=3)
    clip = str(paths.demo_video())
    with open_run(RunSpec(clip, str(paths.DEFAULT_MODEL), pipeline=pipe)) as run:
        cfg, fps = run.pipeline.config, run.source.fps
        assert fps > 0 and (cfg.input_size, cfg.decoder, cfg.flip, cfg.max_frames) == (256, pipe.decoder, True, 3)
        assert (cfg.live, cfg.clock_fps, cfg.pace_fps) == (False, fps, 0.0)          # as fast as it can, file time
    with open_run(RunSpec(clip, str(paths.DEFAULT_MODEL), realtime=True, pipeline=pipe)) as run:
        assert (run.pipeline.config.live, run.pipeline.config.pace_fps) == (False, fps)
    with open_run(RunSpec(clip, str(paths.DEFAULT_MODEL), live=True, pipeline=pipe)) as run:
        assert (run.pipeline.config.live, run.pipeline.config.clock_fps) == (True, 0.0)   # wall clock
