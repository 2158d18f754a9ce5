"""Fault injection for the desktop app and the pause clock (issue 21): pause without fast-forward, a stats
line that does not grow, a model that no longer opens, Ctrl-C, and a display Qt cannot open."""
import os
import signal
import subprocess
import sys
import time

import pytest

from engines.run.pipeline import Pipeline, PipelineConfig

from conftest import DATA, ROOT
from test_pipeline import FieldsBackend, frames

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")


def test_pause_keeps_a_paced_files_clock():
    """20 fps file: after a 1 s pause the next 10 frames take about 0.5 s again, not a burst."""
    pipe = Pipeline(frames(60), FieldsBackend(), PipelineConfig(draw=False, pace_fps=20))
    it = pipe.results()
    for _ in range(10):
        next(it)
    pipe.pause(True)
    time.sleep(1.0)
    pipe.pause(False)
    t0 = time.perf_counter()
    got = [next(it).index for _ in range(10)]
    took = time.perf_counter() - t0
    pipe.stop()
    assert got == list(range(10, 20)) and took > 0.35, took


@pytest.fixture
def window(qtbot, tmp_path, small_model):
    pytest.importorskip("pytestqt")
    from PyQt5.QtCore import QSettings

    from app.qt.main_window import build_window

    def make(settings_file="s.ini", model=small_model, **kw):
        settings = QSettings(str(tmp_path / settings_file), QSettings.IniFormat)
        w = build_window(str(DATA / "coco_tiny"), model, settings, **kw)
        qtbot.addWidget(w)
        return w

    return make


def test_stats_line_is_rebuilt_and_the_window_does_not_grow(window, qtbot):
    w = window()
    w.show()
    live = w.live
    for _ in range(3):                                  # Start, Stop at once, three times
        live.start()
        live.stop()
        qtbot.wait(100)
    assert live.hud.text().count("(stopped)") == 1
    live.start()
    qtbot.waitUntil(lambda: live.view.frames_shown > 0, timeout=60000)
    live.stop()
    qtbot.wait(50)
    width = w.width()                                   # as the first frame sized it
    live.on_frame(live.view.last_frame, {**live.last_info, "people": 10 ** 40})   # a very long line
    qtbot.wait(50)
    assert w.width() == width


def test_a_remembered_model_that_is_gone_falls_back_to_the_default(window, tmp_path, small_model):
    from app.qt.live_tab import choose_model

    first = window()
    first.settings.setValue("model", str(tmp_path / "gone.pt"))
    again = window()
    assert again.live.model.text() == small_model and "gone.pt" in again.live.note
    assert choose_model("d.xml", small_model, False) == (small_model, "")      # a remembered one that exists
    assert choose_model("d.xml", small_model, True) == ("d.xml", "")           # the command line wins


def test_a_model_that_fails_to_open_is_not_remembered(window, qtbot, tmp_path, small_model, monkeypatch):
    messages = []
    monkeypatch.setattr("app.qt.live_tab.QMessageBox.critical", lambda *a: messages.append(a[2]))
    bad = tmp_path / "bad.pt"
    bad.write_bytes(b"not a model")
    w = window()
    w.live.model.setText(str(bad))
    w.live.start()
    qtbot.waitUntil(lambda: len(messages) > 0, timeout=30000)
    w.live.stop()
    assert "bad.pt" in messages[0] and w.settings.value("model") == small_model


def test_ctrl_c_closes_the_app_cleanly(small_model, tmp_path):
    env = {**os.environ, "QT_QPA_PLATFORM": "offscreen", "HOME": str(tmp_path)}
    proc = subprocess.Popen([sys.executable, "-m", "app.cli", "app", str(DATA / "coco_tiny"), "--model", small_model,
                             "--input-size", "64"], cwd=ROOT, env=env, stderr=subprocess.PIPE, text=True)
    try:
        time.sleep(8)
        assert proc.poll() is None, proc.stderr.read()
        proc.send_signal(signal.SIGINT)
        _, err = proc.communicate(timeout=30)
    finally:
        if proc.poll() is None:                        # never leave the app running when the test fails
            proc.kill()
            proc.wait()
    assert proc.returncode == 0 and "Traceback" not in err and "KeyboardInterrupt" not in err, err


def test_a_display_qt_cannot_open_is_reported_before_the_app_starts():
    env = {**os.environ, "DISPLAY": ":987", "QT_QPA_PLATFORM": "xcb"}
    done = subprocess.run([sys.executable, "-m", "app.qt.display"], cwd=ROOT, env=env, capture_output=True,
                          text=True, timeout=60)
    assert done.returncode == 1 and "Qt cannot open the display" in done.stderr


def test_tracker_parameters_are_set_in_the_app_and_remembered(window, qtbot):
    w = window()
    live = w.live
    live.track.setChecked(True)
    live.track_boxes["min_hits"].setValue(2)
    live.track_boxes["max_lost_s"].setValue(3.5)
    live.start()
    qtbot.waitUntil(lambda: live.worker is not None and live.worker.tracker is not None, timeout=30000)
    cfg = live.worker.tracker.config
    live.stop()
    assert (cfg.min_hits, cfg.max_lost_s) == (2, 3.5)
    again = window()
    assert again.live.track_boxes["min_hits"].value() == 2 and again.live.panel.tracker_config().max_lost_s == 3.5
