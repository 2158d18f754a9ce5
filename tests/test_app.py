import os

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
    assert "people" in live.hud.text() and live.last_info["inference"] > 0
    worker = live.worker
    live.stop()
    assert worker.isFinished() and worker.pipeline.alive_threads() == []


def test_thresholds_change_the_overlay(window, qtbot):
    live = window.live
    live.start()
    qtbot.waitUntil(lambda: live.worker is not None and live.worker.pipeline is not None, timeout=30000)
    live.kp_slider.setValue(95)
    assert live.worker.pipeline.style.keypoint_threshold == pytest.approx(0.95)
    live.limb_slider.setValue(0)
    assert live.worker.pipeline.style.limb_threshold == 0.0
    live.stop()


def test_bad_source_shows_a_dialog_and_app_stays_up(window, qtbot, monkeypatch):
    messages = []
    monkeypatch.setattr("app.qt.live_tab.QMessageBox.critical", lambda *a: messages.append(a[2]))
    window.live.source.setText("/no/such/video.mp4")
    window.live.start()
    qtbot.waitUntil(lambda: len(messages) > 0, timeout=30000)
    assert "not found" in messages[0]
    assert window.isVisible()


def test_eval_mode_on_coco_tiny_shows_ap_table(window, qtbot):
    ev = window.eval
    ev.ann.setText(str(TINY_ANN))
    ev.images.setText(str(DATA / "coco_tiny"))
    ev.run()
    qtbot.waitUntil(lambda: ev.table.item(0, 0) is not None, timeout=120000)
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
    from app.outputs import read_json_lines
    header, frames = read_json_lines(str(videos[0].with_suffix(".jsonl")))
    assert header["source"] == str(DEMO)
    assert len(frames) >= 3 and {"frame", "time", "people"} <= set(frames[0])


def test_video_show_window_runs_offscreen(qtbot, capsys, small_model):
    from app.cli import main
    assert main(["video", str(DATA / "coco_tiny"), "--show", "--model", small_model, "--input-size", "256"]) == 0
    assert "4 frames processed" in capsys.readouterr().out


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

