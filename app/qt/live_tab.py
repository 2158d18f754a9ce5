"""The live tab: the video first, one row of controls (source, model, mode, Start/Pause/Stop, Record, Track,
Settings), the collapsible Settings panel beside the video, and a status line in plain words."""
from __future__ import annotations

import time
from pathlib import Path

from PyQt5.QtCore import pyqtSignal
from PyQt5.QtWidgets import (QCheckBox, QComboBox, QFileDialog, QHBoxLayout, QLabel, QLineEdit, QMenu, QMessageBox,
                             QPushButton, QSizePolicy, QToolButton, QVBoxLayout, QWidget)

from app.qt.image import FrameView
from app.qt.settings_panel import SettingsPanel
from app.qt.workers import PipelineWorker
from engines.modes import APP_MODES, preset_view
from ssapose.redact import has_secret, without_password
from ssapose.sources import STREAM_SCHEMES
from ssapose.tracking import Tracker


def mode_box(settings) -> QComboBox:
    """The speed-or-accuracy presets (``engines.modes.APP_MODES``), the last one used preselected."""
    box = QComboBox()
    box.addItems(list(APP_MODES))
    box.setCurrentText(str(settings.value("mode", "default")))
    box.setToolTip("; ".join(f"{name}: {m.describe()}" for name, m in APP_MODES.items()))
    return box


def choose_source(given: str, remembered, given_explicitly: bool) -> tuple[str, str]:
    """The source to open and a note for the status bar.

    A source given on the command line wins; else the remembered one, if it still opens;
    else the default, with a note saying why the remembered one was dropped.
    """
    if given_explicitly or not remembered or str(remembered) == given:
        return given, ""
    remembered = str(remembered)
    if remembered.isdigit() or remembered.lower().startswith(STREAM_SCHEMES) or Path(remembered).exists():
        return remembered, ""
    return given, f"the remembered source {remembered} no longer opens; using {Path(given).name}"


def choose_model(given: str, remembered, given_explicitly: bool) -> tuple[str, str]:
    """The model to open and a note: as :func:`choose_source`, a remembered model file that is gone
    yields to the default (``given``) with a note."""
    if given_explicitly or not remembered or str(remembered) == given:
        return given, ""
    if Path(str(remembered)).is_file():
        return str(remembered), ""
    return given, f"the remembered model {remembered} no longer exists; using {Path(given).name}"


def status_line(info: dict) -> str:
    """The status under the video, in plain words: frame, speed, people, the network's time, delay, drops."""
    n = info["people"]
    line = (f"frame {info['index']}   {info['fps']:.1f} frames/s   {n} {'person' if n == 1 else 'people'}   "
            f"network {info['inference']:.0f} ms   shown {info['latency']:.0f} ms after capture")
    if info["dropped"]:
        line += f"   {info['dropped']} frames skipped to keep up"
    return line


class LiveTab(QWidget):
    """Signals: ``first_frame(width, height)`` once per run, when its first frame is shown."""

    first_frame = pyqtSignal(int, int)

    def __init__(self, settings, source: str, model: str, device: str = "cpu", source_given: bool = False,
                 model_given: bool = False):
        super().__init__()
        self.settings, self.worker, self.device, self.default_model = settings, None, device, model
        chosen, source_note = choose_source(source, settings.value("source"), source_given)
        chosen_model, model_note = choose_model(model, settings.value("model"), model_given)
        self.note = "; ".join(n for n in (source_note, model_note) if n)
        self.panel = SettingsPanel(settings)
        self.panel.on_style, self.panel.on_shown, self.panel.on_smoothing = (self._style_changed,
                                                                             self._shown_changed, self._smoothing)
        self.panel.fields.toggled.connect(self._fields_changed)
        self.source = QLineEdit(chosen)
        self.source.setToolTip("a video, GIF, image or image folder; a webcam number (0, 1...); an rtsp/http URL")
        self.source.setMinimumWidth(160)
        self.model = QLineEdit(chosen_model)
        self.model.setToolTip("the model file (.xml, .onnx, .pt, .engine)")
        self.model.setMinimumWidth(120)
        self.mode = mode_box(settings)
        self.start_btn, self.pause_btn, self.stop_btn = QPushButton("Start"), QPushButton("Pause"), QPushButton("Stop")
        self.pause_btn.setCheckable(True)
        self.start_btn.clicked.connect(self.start)
        self.pause_btn.toggled.connect(self.pause)
        self.stop_btn.clicked.connect(self.stop)
        self.record = QCheckBox("Record")
        self.record.setToolTip("write the annotated mp4 and its pose file (.jsonl) in the current folder")
        self.track = QCheckBox("Track")
        self.track.setToolTip("give each person an id that follows them, and smooth their keypoints")
        self.track.setChecked(settings.value("track", "true") == "true")
        self.settings_btn = QPushButton("Settings")
        self.settings_btn.setCheckable(True)
        self.settings_btn.toggled.connect(self.panel.setVisible)
        self.settings_btn.setChecked(settings.value("settings_open", "false") == "true")
        self.panel.setVisible(self.settings_btn.isChecked())
        self.view = FrameView("Choose a source and press Start")
        self.hud = QLabel("idle")
        self.hud.setSizePolicy(QSizePolicy.Ignored, QSizePolicy.Preferred)   # a long line never widens the window
        self._hud_text, self._first = "idle", False
        self.last_info: dict = {}
        self._lay_out()

    # the controls of the panel, under the names the rest of the app and its tests use
    size = property(lambda self: self.panel.size)
    backend = property(lambda self: self.panel.backend)
    refine = property(lambda self: self.panel.refine)
    paf = property(lambda self: self.panel.paf)
    fast = property(lambda self: self.panel.fast)
    loop = property(lambda self: self.panel.loop)
    fields = property(lambda self: self.panel.fields)
    track_boxes = property(lambda self: self.panel.track_boxes)

    def _lay_out(self) -> None:
        row = QHBoxLayout()
        row.addWidget(self.source, 2)
        row.addWidget(self._open_button())
        row.addWidget(self.model, 1)
        pick_model = QPushButton("...")
        pick_model.setToolTip("choose a model file")
        pick_model.setMaximumWidth(32)
        pick_model.clicked.connect(self._pick_model)
        row.addWidget(pick_model)
        for w in (self.start_btn, self.pause_btn, self.stop_btn):
            w.setMaximumWidth(64)
        for w in (self.mode, self.start_btn, self.pause_btn, self.stop_btn, self.record, self.track,
                  self.settings_btn):
            row.addWidget(w)
        middle = QHBoxLayout()
        middle.addWidget(self.view, 1)
        middle.addWidget(self.panel)
        lay = QVBoxLayout(self)
        lay.setContentsMargins(4, 4, 4, 0)
        lay.addLayout(row)
        lay.addLayout(middle, 1)
        lay.addWidget(self.hud)

    def _open_button(self) -> QToolButton:
        """"Open": a video or image file; its menu also opens a folder of images."""
        button = QToolButton()
        button.setText("Open")
        button.setToolTip("open a video or image file (the arrow: a folder of images)")
        menu = QMenu(button)
        menu.addAction("File...", self._pick_file)
        menu.addAction("Folder of images...", self._pick_dir)
        button.setMenu(menu)
        button.setPopupMode(QToolButton.MenuButtonPopup)
        button.clicked.connect(self._pick_file)
        return button

    def _shown_changed(self) -> None:
        if self.worker is not None and self.worker.pipeline is not None:
            self.worker.pipeline.shown_score = self.panel.shown_score.value()

    def _fields_changed(self, on: bool) -> None:
        if self.worker is not None and self.worker.pipeline is not None:
            self.worker.pipeline.show_fields = on

    def _smoothing(self) -> None:
        if self.worker is not None and self.worker.tracker is not None:
            self.worker.tracker.set_smoothing(*self.panel.smoothing())

    def _style_changed(self) -> None:
        if self.worker is not None:
            self.worker.set_style(self.panel.style())

    def _pick_file(self) -> None:
        f, _ = QFileDialog.getOpenFileName(self, "Video, GIF or image", "", "Media (*.mp4 *.avi *.mov *.mkv *.gif *.jpg *.png);;All (*)")
        if f:
            self.source.setText(f)

    def _pick_dir(self) -> None:
        d = QFileDialog.getExistingDirectory(self, "Image folder")
        if d:
            self.source.setText(d)

    def _pick_model(self) -> None:
        f, _ = QFileDialog.getOpenFileName(self, "Model", "", "Models (*.pt *.onnx *.engine *.plan)")
        if f:
            self.model.setText(f)

    def network_view(self):
        """How the network sees a frame: the mode chosen, an input height set in the box winning over the mode's
        (``engines.modes.preset_view``)."""
        return preset_view(self.mode.currentText(), self.size.value() or None)      # 0: "as the mode"

    def start(self) -> None:
        self.stop()
        rec = None
        if self.record.isChecked():
            rec = str(Path.cwd() / f"ssapose-{time.strftime('%Y%m%d-%H%M%S')}.mp4")
        self.worker = PipelineWorker(self.source.text().strip(), self.model.text().strip(), self.backend.currentText(),
                                     self.panel.style(), rec, self.device,
                                     realtime=not self.fast.isChecked(), loop=self.loop.isChecked(),
                                     tracker=Tracker(self.panel.tracker_config())
                                     if self.track.isChecked() else None, decoder=self.panel.decoder_choice(),
                                     mode=self.network_view(),
                                     region=self.panel.region(self.network_view().scales, self.network_view().auto))
        self.worker.show_fields = self.fields.isChecked()
        self._first = True
        self.worker.frame.connect(self.on_frame)
        self.worker.failed.connect(self.on_error)
        self.worker.model_failed.connect(self.on_model_error)
        self.worker.finished.connect(self._on_finished)        # a method: Qt drops it with the widget
        self.worker.start()
        self.pause_btn.setChecked(False)
        source = self.source.text().strip()
        if has_secret(source):        # never store a password: remember the URL without it, and say so
            self.note = f"the source's password is not remembered; only {without_password(source)} is"
            if hasattr(self.window(), "statusBar"):
                self.window().statusBar().showMessage(self.note, 10000)
        self.panel.remember()
        for key, val in (("source", without_password(source)), ("model", self.model.text()),
                         ("mode", self.mode.currentText()), ("track", "true" if self.track.isChecked() else "false"),
                         ("settings_open", "true" if self.settings_btn.isChecked() else "false")):
            self.settings.setValue(key, val)

    def pause(self, on: bool) -> None:
        if self.worker is not None:
            self.worker.pause(on)

    def stop(self) -> None:
        if self.worker is not None:
            self.worker.stop()
            self.worker = None

    def on_frame(self, image, info: dict) -> None:
        self.view.set_frame(image)
        self.last_info = info
        self._hud_text = status_line(info)
        self.hud.setText(self._hud_text)
        if self._first:
            self._first = False
            self.first_frame.emit(image.shape[1], image.shape[0])

    def _on_finished(self) -> None:
        self.hud.setText(self._hud_text + "   (stopped)")

    def on_error(self, message: str) -> None:
        QMessageBox.critical(self, "SSA-Pose", message)

    def on_model_error(self, message: str) -> None:
        """A model that does not open is not remembered: the next launch starts on the default model."""
        self.settings.setValue("model", self.default_model)
        self.on_error(message)
