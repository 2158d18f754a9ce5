import os
import re

import numpy as np
import pytest

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
pytest.importorskip("PyQt5")
pytest.importorskip("pytestqt")

from PyQt5.QtCore import QSettings  # noqa: E402

from app.qt.main_window import build_window  # noqa: E402
from conftest import DATA, DEMO, TINY_ANN  # noqa: E402


@pytest.fixture
def window(qtbot, tmp_path, small_model):
    settings = QSettings(str(tmp_path / "settings.ini"), QSettings.IniFormat)
    w = build_window(str(DATA / "coco_tiny"), small_model, settings)
    qtbot.addWidget(w)
    w.show()
    yield w
    w.live.stop()
    w.eval.cancel()


def test_live_run_delivers_frames_with_poses_and_stops(window, qtbot):
    live = window.live
    live.size.setValue(256)
    live.start()
    qtbot.waitUntil(lambda: live.view.frames_shown >= 2, timeout=60000)
    assert people_in(live.hud.text()) >= 0 and live.last_info["inference"] > 0
    worker = live.worker
    live.stop()
    assert worker.isFinished() and worker.pipeline.alive_threads() == []


@pytest.fixture
def real_window(qtbot, tmp_path, real_model):
    """The window on one real image (4 people) with the real model."""
    import shutil
    src = tmp_path / "one"
    src.mkdir()
    shutil.copy(DATA / "coco_mini" / "val2017" / "000000183709.jpg", src)
    w = build_window(str(src), real_model, QSettings(str(tmp_path / "s.ini"), QSettings.IniFormat))
    qtbot.addWidget(w)
    w.show()
    yield w
    w.live.stop()


def people_in(status: str) -> int:
    """The number of people the status line under the video reports ("2 people", "1 person")."""
    found = re.search(r"\b(\d+) (?:people|person)\b", status)
    assert found, status
    return int(found.group(1))


def run_once(live, qtbot):
    shown = live.view.frames_shown
    live.start()
    qtbot.waitUntil(lambda: live.view.frames_shown > shown, timeout=60000)
    qtbot.waitUntil(lambda: live.worker.isFinished(), timeout=60000)
    return live.view.last_frame.copy()


def test_hud_shows_the_true_people_count(real_window, qtbot, real_model):
    import cv2
    from engines import create_backend
    from engines.run.step import FrameStep

    live = real_window.live
    run_once(live, qtbot)
    img = cv2.imread(str(DATA / "coco_mini" / "val2017" / "000000183709.jpg"))
    every = FrameStep(create_backend(real_model), live.network_view().height)(img)
    n = int(every.shown(live.panel.shown_score.value()).sum())             # the poses shown
    assert n >= 2 and people_in(live.hud.text()) == n


def test_the_person_score_slider_chooses_the_poses_shown(real_window, qtbot, real_model):
    import cv2
    from engines import create_backend
    from engines.run.step import FrameStep

    live = real_window.live
    img = cv2.imread(str(DATA / "coco_mini" / "val2017" / "000000183709.jpg"))
    every = FrameStep(create_backend(real_model), live.network_view().height)(img)
    live.panel.shown_score.setValue(0)
    run_once(live, qtbot)
    assert len(every) >= 2 and people_in(live.hud.text()) == len(every)
    live.panel.shown_score.setValue(1)             # no person scores 1: nothing is drawn
    run_once(live, qtbot)
    assert people_in(live.hud.text()) == 0
    assert live.settings.value("shown_score") in (1.0, "1.0")        # remembered
    live.panel.shown_score.setValue(0.3)           # applies to the running pipeline at once
    assert live.worker.pipeline.shown_score == pytest.approx(0.3)


def test_thresholds_change_the_overlay(real_window, qtbot):
    live = real_window.live
    live.panel.kp_score.setValue(0)
    live.panel.limb_score.setValue(0)
    everything = run_once(live, qtbot)
    live.panel.kp_score.setValue(1)              # no keypoint is that sure: dots and limbs vanish
    live.panel.limb_score.setValue(1)
    assert live.worker is None or live.worker.style.keypoint_threshold == pytest.approx(1.0)
    nothing = run_once(live, qtbot)
    assert np.abs(everything.astype(int) - nothing.astype(int)).sum() > 1000
    raw = __import__("cv2").imread(str(DATA / "coco_mini" / "val2017" / "000000183709.jpg"))
    assert np.array_equal(nothing, raw)           # with every keypoint hidden, the frame is untouched


def test_bad_source_shows_a_dialog_and_app_stays_up(window, qtbot, monkeypatch):
    messages = []
    monkeypatch.setattr("app.qt.live_tab.QMessageBox.critical", lambda *a: messages.append(a[2]))
    window.live.source.setText("/no/such/video.mp4")
    window.live.start()
    qtbot.waitUntil(lambda: len(messages) > 0, timeout=30000)
    assert "not found" in messages[0]
    assert window.isVisible()


def evaluate_tiny(ev, qtbot):
    """Run the evaluation tab on coco_tiny and wait for its table."""
    ev.ann.setText(str(TINY_ANN))
    ev.images.setText(str(DATA / "coco_tiny"))
    ev.run()
    qtbot.waitUntil(lambda: ev.table.item(0, 0) is not None, timeout=120000)


def test_eval_mode_on_coco_tiny_shows_ap_table(window, qtbot):
    ev = window.eval
    evaluate_tiny(ev, qtbot)
    assert 0.0 <= float(ev.table.item(0, 0).text()) <= 1.0
    assert ev.list.count() == 4 and ev.view.frames_shown >= 1


def test_settings_are_remembered(window, tmp_path):
    window.live.source.setText(str(DEMO))
    window.live.start()
    window.live.stop()
    assert window.settings.value("source") == str(DEMO)


def test_snapshot_and_no_display_message(window, qtbot, tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    window.live.start()
    qtbot.waitUntil(lambda: window.live.view.frames_shown >= 1, timeout=60000)
    assert os.path.isfile(window.snapshot())
    window.live.stop()
    from app.cli import main
    monkeypatch.delenv("DISPLAY", raising=False)
    monkeypatch.delenv("WAYLAND_DISPLAY", raising=False)
    monkeypatch.setenv("QT_QPA_PLATFORM", "xcb")
    assert main(["app"]) == 1
    assert "ssapose video" in capsys.readouterr().err


def test_pause_and_recording(window, qtbot, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    live = window.live
    live.source.setText(str(DEMO))      # long enough to go on after the pause
    live.record.setChecked(True)
    live.size.setValue(256)
    live.start()
    qtbot.waitUntil(lambda: live.view.frames_shown >= 3, timeout=60000)
    live.pause_btn.setChecked(True)                  # what the space bar toggles
    qtbot.wait(300)
    shown = live.view.frames_shown
    qtbot.wait(500)
    assert live.view.frames_shown <= shown + 1       # at most the frame already in flight
    live.pause_btn.setChecked(False)
    qtbot.waitUntil(lambda: live.view.frames_shown > shown + 1, timeout=60000)
    live.stop()
    videos = list(tmp_path.glob("ssapose-*.mp4"))
    assert len(videos) == 1 and videos[0].stat().st_size > 0
    from engines.sinks.files import read_json_lines
    header, frames = read_json_lines(str(videos[0].with_suffix(".jsonl")))
    assert header["source"] == str(DEMO) and header["input_size"] == 256 and header["flip"] is False
    assert len(frames) >= 3 and {"frame", "time", "people"} <= set(frames[0])


def test_video_show_window_runs_offscreen(qtbot, capsys, small_model):
    from app.cli import main
    assert main(["video", str(DATA / "coco_tiny"), "--show", "--model", small_model, "--input-size", "256"]) == 0
    assert "4 processed" in capsys.readouterr().out


@pytest.mark.parametrize("content", ["[1, 2]", "{}", '{"images": [], "annotations": []}'])
def test_bad_annotation_file_shows_a_dialog_and_the_app_stays(window, qtbot, monkeypatch, tmp_path, content):
    messages = []
    monkeypatch.setattr("app.qt.eval_tab.QMessageBox.critical", lambda *a: messages.append(a[2]))
    bad = tmp_path / "bad.json"
    bad.write_text(content)
    window.eval.ann.setText(str(bad))
    window.eval.run()
    assert messages and "bad.json" in messages[0]
    assert window.isVisible() and window.eval.worker is None


def test_source_choice_given_remembered_default(tmp_path):
    from app.qt.live_tab import choose_source

    clip = str(DEMO)
    assert choose_source("given.mp4", str(clip), True) == ("given.mp4", "")          # the command line wins
    assert choose_source(clip, str(DATA / "coco_tiny"), False) == (str(DATA / "coco_tiny"), "")
    chosen, note = choose_source(clip, "/gone/away.mp4", False)                      # remembered, but gone
    assert chosen == clip and "/gone/away.mp4" in note
    assert choose_source(clip, None, False) == (clip, "")



def test_smoothing_settings_retune_the_tracker_live(window, qtbot):
    live = window.live
    live.track.setChecked(True)
    live.start()
    qtbot.waitUntil(lambda: live.worker is not None and live.worker.tracker is not None, timeout=30000)
    tracker = live.worker.tracker
    live.panel.cutoff_hz.setValue(3.0)
    live.panel.beta.setValue(0.2)
    assert (tracker.min_cutoff, tracker.beta) == (pytest.approx(3.0), pytest.approx(0.2))
    assert (tracker.config.min_cutoff, tracker.config.beta) == (pytest.approx(3.0), pytest.approx(0.2))
    live.stop()


def test_field_view_draws_the_networks_fields(real_window, qtbot):
    live = real_window.live
    plain = run_once(live, qtbot)
    live.fields.setChecked(True)
    with_fields = run_once(live, qtbot)
    assert np.abs(plain.astype(int) - with_fields.astype(int)).sum() > 100000     # heat and PAF colours laid over


def test_field_view_in_the_eval_tab(real_window, qtbot):
    ev = real_window.eval
    evaluate_tiny(ev, qtbot)
    plain = ev.view.last_frame.copy()
    ev.fields.setChecked(True)
    assert ev.view.last_frame.shape == plain.shape
    assert np.abs(ev.view.last_frame.astype(int) - plain.astype(int)).sum() > 100000


def test_draw_fields_colours_peaks_and_pafs():
    import cv2
    from ssapose.overlay import draw_fields

    img = np.full((120, 160, 3), 100, np.uint8)
    heat = np.zeros((19, 15, 20), np.float32)
    heat[3, 7, 10] = 1.0
    pafs = np.zeros((38, 15, 20), np.float32)
    pafs[0, 2:5, 2:8] = 1.0                           # a limb field pointing right
    out = draw_fields(img.copy(), {"heatmaps": heat, "pafs": pafs, "offsets": np.zeros((36, 15, 20), np.float32)},
                      1.0, 8)
    assert (out[7 * 8 + 3, 10 * 8 + 3] != 100).any()  # the peak is coloured
    assert (out[3 * 8 + 3, 4 * 8 + 3] != 100).any()   # so is the PAF
    assert (out[100, 150] == 100).all()               # empty fields leave the frame as it was
    assert cv2.absdiff(out, img).sum() > 0


def test_the_mode_box_reaches_the_pipeline_and_the_evaluation(window, qtbot):
    """Live tab: the chosen preset runs (flip and scales, or the auto height's schedule) and is remembered;
    eval tab: its preset goes to the evaluation."""
    from engines.modes import preset_view

    live = window.live
    live.size.setValue(256)
    for name, check in (("accurate", lambda p: p.estimator.flip and p.estimator.scales == (0.5, 1.0, 1.5, 2.0)),
                        ("auto height", lambda p: p.schedule is not None and p.estimator.auto is not None),
                        ("default", lambda p: not p.estimator.flip and p.schedule is None)):
        live.mode.setCurrentText(name)
        live.start()
        qtbot.waitUntil(lambda: live.worker.pipeline is not None, timeout=60000)
        assert check(live.worker.pipeline), name
        live.stop()
        assert window.settings.value("mode") == name
    live.mode.setCurrentText("fast")                # the one rule: a height set in the box wins over the mode's
    live.size.setValue(0)
    assert live.network_view().height == 256
    live.size.setValue(320)
    assert live.network_view().height == 320
    ev = window.eval
    ev.mode.setCurrentText("auto height")
    ev.run()
    assert ev.worker.mode == preset_view("auto height")
    qtbot.waitUntil(lambda: ev.worker.isFinished(), timeout=120000)


def test_the_first_view_is_the_video_with_one_row_of_controls(qtbot, tmp_path, small_model):
    """A fresh app: tracking on, the Settings panel closed, every control in one row above the video, and after the
    first frame the window fits the video, which then takes most of it."""
    w = build_window(str(DEMO), small_model, QSettings(str(tmp_path / "fresh.ini"), QSettings.IniFormat))
    qtbot.addWidget(w)
    w.show()
    live = w.live
    assert live.track.isChecked() and not live.panel.isVisible()
    row = [live.source, live.model, live.mode, live.start_btn, live.pause_btn, live.stop_btn, live.record, live.track,
           live.settings_btn]
    centres = {c.mapTo(w, c.rect().center()).y() for c in row}
    assert max(centres) - min(centres) <= 4                       # one row
    assert all(c.mapTo(w, c.rect().bottomLeft()).y() < live.view.mapTo(w, live.view.rect().topLeft()).y()
               for c in row)
    live.start()
    qtbot.waitUntil(lambda: live.view.frames_shown >= 3, timeout=60000)
    qtbot.wait(100)
    live.stop()
    view, win = live.view.size(), w.size()
    assert view.width() * view.height() >= 0.6 * win.width() * win.height()
    assert abs(view.height() - 432) <= 0.05 * 432 or view.height() < 432   # the clip's height, or the screen's limit
    live.settings_btn.setChecked(True)
    assert live.panel.isVisible() and live.panel.kp_score.isVisible()
    live.settings_btn.setChecked(False)
    assert not live.panel.isVisible()


def test_tracking_by_default_draws_ids_and_a_choice_is_remembered(qtbot, tmp_path, real_model):
    from conftest import demo_cut

    walk = str(demo_cut(tmp_path / "walk.mp4", "-frames:v", "40", start_s=11))     # the first man walking
    settings = QSettings(str(tmp_path / "fresh.ini"), QSettings.IniFormat)
    w = build_window(walk, real_model, settings)
    qtbot.addWidget(w)
    w.show()
    live = w.live
    live.fast.setChecked(True)
    live.start()
    qtbot.waitUntil(lambda: bool(live.last_info.get("ids")), timeout=90000)   # the man walking in gets an id
    assert min(live.last_info["ids"]) >= 1 and live.worker.tracker is not None
    live.stop()
    live.track.setChecked(False)
    live.start()
    live.stop()
    again = build_window(walk, real_model, settings)
    qtbot.addWidget(again)
    assert not again.live.track.isChecked()


def test_the_status_line_speaks_plain_words():
    from app.qt.live_tab import status_line

    info = {"index": 12, "fps": 24.26, "people": 1, "inference": 25.4, "latency": 48.2, "dropped": 0}
    assert status_line(info) == "frame 12   24.3 frames/s   1 person   network 25 ms   shown 48 ms after capture"
    assert "2 people" in status_line({**info, "people": 2})
    assert "3 frames skipped to keep up" in status_line({**info, "dropped": 3})
