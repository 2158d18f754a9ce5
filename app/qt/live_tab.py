"""The live tab: source and model choosers, start/pause/stop, view, HUD, threshold sliders, recording."""
from __future__ import annotations

import time
from pathlib import Path

from PyQt5.QtCore import Qt
from PyQt5.QtWidgets import (QCheckBox, QComboBox, QFileDialog, QFormLayout, QHBoxLayout, QLabel, QLineEdit,
                             QDoubleSpinBox, QMessageBox, QPushButton, QSizePolicy, QSlider, QSpinBox, QVBoxLayout,
                             QWidget)

from app.qt.image import FrameView
from app.qt.workers import PipelineWorker
from ssapose.tracking import Tracker, TrackerConfig
from ssapose.redact import has_secret, without_password
from ssapose.sources import STREAM_SCHEMES
from engines import BACKENDS
from ssapose.decode import REFINEMENTS, DecoderChoice, DecoderConfig
from ssapose.overlay import DrawStyle
from engines.modes import APP_MODES, preset_view

MODEL_DEFAULT = "model's"


def mode_box(settings) -> QComboBox:
    """The speed-or-accuracy presets (``engines.modes.APP_MODES``), the last one used preselected."""
    box = QComboBox()
    box.addItems(list(APP_MODES))
    box.setCurrentText(str(settings.value("mode", "default")))
    box.setToolTip("; ".join(f"{name}: {m.describe()}" for name, m in APP_MODES.items())
                   + " (AP of each: BENCHMARKS.md)")
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


class LiveTab(QWidget):
    def __init__(self, settings, source: str, model: str, device: str = "cpu", source_given: bool = False,
                 model_given: bool = False):
        super().__init__()
        self.settings, self.worker, self.device, self.default_model = settings, None, device, model
        chosen, source_note = choose_source(source, settings.value("source"), source_given)
        chosen_model, model_note = choose_model(model, settings.value("model"), model_given)
        self.note = "; ".join(n for n in (source_note, model_note) if n)
        self.source = QLineEdit(chosen)
        self.source.setToolTip("webcam index (0, 1...), video or GIF file, image folder or image")
        self.model = QLineEdit(chosen_model)
        self.backend = QComboBox()
        self.backend.addItems(list(BACKENDS))
        self.refine = QComboBox()                       # the decoder: the model's own refinement unless changed
        self.refine.addItems([MODEL_DEFAULT, *REFINEMENTS])
        self.refine.setToolTip("sub-cell refinement of the peaks (the model's: what its card says)")
        self.paf = QComboBox()
        self.paf.addItems(["mean", "count"])
        self.paf.setToolTip("limb score: OpenPose's mean projection or the paper's aligned-sample count")
        self.size = QSpinBox()
        self.size.setRange(0, 1024)                    # 0: the mode's height
        self.size.setSpecialValueText("as the mode")
        self.size.setSingleStep(32)
        self.size.setToolTip("network input height in pixels; 'as the mode': the mode's own")
        self.size.setValue(int(settings.value("input_size", 0)))
        self.mode = mode_box(settings)
        pick_file = QPushButton("File...")
        pick_file.clicked.connect(self._pick_file)
        pick_dir = QPushButton("Folder...")
        pick_dir.clicked.connect(self._pick_dir)
        pick_model = QPushButton("Model...")
        pick_model.clicked.connect(self._pick_model)
        self.start_btn, self.pause_btn, self.stop_btn = QPushButton("Start"), QPushButton("Pause"), QPushButton("Stop")
        self.pause_btn.setCheckable(True)
        self.start_btn.clicked.connect(self.start)
        self.pause_btn.toggled.connect(self.pause)
        self.stop_btn.clicked.connect(self.stop)
        self.record = QCheckBox("Record mp4 + JSON Lines")
        self.fast = QCheckBox("Fast as possible")
        self.fast.setToolTip("process a file as fast as the machine can (benchmarking) instead of at its own "
                             "frame rate")
        self.fast.setChecked(settings.value("fast", "false") == "true")
        self.loop = QCheckBox("Loop")
        self.loop.setChecked(settings.value("loop", "false") == "true")
        self.fields = QCheckBox("Fields")
        self.fields.setToolTip("overlay what the network sees: heatmaps, PAFs (colour = direction) and offsets")
        self.fields.toggled.connect(self._fields_changed)
        self.track = QCheckBox("Track + smooth")
        self.track.setToolTip("keep ids across frames and smooth keypoints (One-Euro); the two sliders tune it live")
        self.track.setChecked(settings.value("track", "false") == "true")
        self.track_row = self._tracker_controls(settings)
        self.cutoff_slider = self._slider("smooth_min_cutoff", scale=10, top=50, default=TrackerConfig().min_cutoff,
                                          apply=self._smoothing)
        self.beta_slider = self._slider("smooth_beta", scale=100, top=100, default=TrackerConfig().beta,
                                        apply=self._smoothing)
        self.kp_slider, self.limb_slider = self._slider("kp_threshold"), self._slider("limb_threshold")
        self.shown_slider = self._slider("shown_score", default=DecoderConfig().shown_score, apply=self._shown_changed)
        self.shown_slider.setToolTip("lowest person score of a pose drawn and recorded (a tracked person is kept "
                                     "through weak frames); 0 shows every fragment the decoder keeps")
        self.view = FrameView("Choose a source and press Start")
        self.hud = QLabel("idle")
        self.hud.setStyleSheet("font-family: monospace;")
        self.hud.setSizePolicy(QSizePolicy.Ignored, QSizePolicy.Preferred)   # a long line never widens the window
        self._hud_text = "idle"
        self.last_info: dict = {}

        src_row = QHBoxLayout()
        for w in (self.source, pick_file, pick_dir):
            src_row.addWidget(w)
        model_row = QHBoxLayout()
        for w in (self.model, pick_model, QLabel("backend"), self.backend, QLabel("input"), self.size,
                  QLabel("mode"), self.mode, QLabel("refine"), self.refine, QLabel("PAF"), self.paf):
            model_row.addWidget(w)
        form = QFormLayout()
        form.addRow("Source", src_row)
        form.addRow("Model", model_row)
        form.addRow("Keypoint threshold", self.kp_slider)
        form.addRow("Limb threshold", self.limb_slider)
        form.addRow("Person score shown", self.shown_slider)
        form.addRow("Smoothing min cutoff (Hz / 10)", self.cutoff_slider)
        form.addRow("Smoothing beta (/ 100)", self.beta_slider)
        form.addRow("Tracking", self.track_row)
        buttons = QHBoxLayout()
        for w in (self.start_btn, self.pause_btn, self.stop_btn, self.record, self.fast, self.loop, self.track,
                  self.fields):
            buttons.addWidget(w)
        buttons.addStretch(1)
        lay = QVBoxLayout(self)
        lay.addLayout(form)
        lay.addLayout(buttons)
        lay.addWidget(self.view, 1)
        lay.addWidget(self.hud)

    def _slider(self, key: str, scale: int = 100, top: int = 100, default: float = 0.1, apply=None) -> QSlider:
        """A slider for a setting in [0, top / scale], remembered under ``key``."""
        s = QSlider(Qt.Horizontal)
        s.setRange(0, top)
        s.setValue(int(round(float(self.settings.value(key, default)) * scale)))
        s.valueChanged.connect(apply or self._style_changed)
        return s

    def _shown_changed(self) -> None:
        if self.worker is not None and self.worker.pipeline is not None:
            self.worker.pipeline.shown_score = self.shown_slider.value() / 100

    def _fields_changed(self, on: bool) -> None:
        if self.worker is not None and self.worker.pipeline is not None:
            self.worker.pipeline.show_fields = on

    def smoothing(self) -> tuple[float, float]:
        return max(self.cutoff_slider.value() / 10, 0.05), self.beta_slider.value() / 100

    def _smoothing(self) -> None:
        cutoff, beta = self.smoothing()
        self.settings.setValue("smooth_min_cutoff", cutoff)
        self.settings.setValue("smooth_beta", beta)
        if self.worker is not None and self.worker.tracker is not None:
            self.worker.tracker.set_smoothing(cutoff, beta)

    def _tracker_controls(self, settings) -> QHBoxLayout:
        """Spin boxes for the tracker's parameters (defaults from TrackerConfig; applied at the next Start)."""
        d = TrackerConfig()
        row = QHBoxLayout()
        self.track_boxes = {}
        for key, label, lo, hi, step, tip in (
                ("high_score", "confident", 0.0, 1.0, 0.05, "pose score of a confident detection, matched first"),
                ("start_score", "start", 0.0, 1.0, 0.05, "lowest pose score that starts a new track"),
                ("min_oks", "OKS", 0.0, 1.0, 0.05, "lowest OKS against a track's predicted pose that continues it"),
                ("min_hits", "hits", 1, d.confirm_window, 1, f"frames of the first {d.confirm_window} a new track "
                                                             "must be matched in to get an id"),
                ("max_lost_s", "lost s", 0.0, 60.0, 0.5, "seconds a lost track is kept to be re-identified")):
            box = QSpinBox() if isinstance(lo, int) else QDoubleSpinBox()
            box.setRange(lo, hi)
            box.setSingleStep(step)
            box.setValue(type(lo)(settings.value(f"track_{key}", getattr(d, key))))
            box.setToolTip(tip)
            row.addWidget(QLabel(label))
            row.addWidget(box)
            self.track_boxes[key] = box
        row.addStretch(1)
        return row

    def tracker_config(self) -> TrackerConfig:
        """The tracker as the controls say (and remembered)."""
        values = {k: b.value() for k, b in self.track_boxes.items()}
        for k, v in values.items():
            self.settings.setValue(f"track_{k}", v)
        cutoff, beta = self.smoothing()
        return TrackerConfig(**values, min_cutoff=cutoff, beta=beta)

    def set_decoder(self, choice: DecoderChoice) -> None:
        """Preselect the decoder (the command line's ``--refine`` / ``--paf-method``)."""
        if choice.refine:
            self.refine.setCurrentText(choice.refine)
        if choice.paf_method:
            self.paf.setCurrentText(choice.paf_method)
        if choice.shown_score is not None:
            self.shown_slider.setValue(int(round(choice.shown_score * 100)))

    def decoder_choice(self) -> DecoderChoice:
        refine = self.refine.currentText()
        return DecoderChoice(refine=None if refine == MODEL_DEFAULT else refine, paf_method=self.paf.currentText(),
                             shown_score=self.shown_slider.value() / 100)

    def style(self) -> DrawStyle:
        return DrawStyle(keypoint_threshold=self.kp_slider.value() / 100, limb_threshold=self.limb_slider.value() / 100)

    def _style_changed(self) -> None:
        if self.worker is not None:
            self.worker.set_style(self.style())

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
                                     self.style(), rec, self.device,
                                     realtime=not self.fast.isChecked(), loop=self.loop.isChecked(),
                                     tracker=Tracker(self.tracker_config())
                                     if self.track.isChecked() else None, decoder=self.decoder_choice(),
                                     mode=self.network_view())
        self.settings.setValue("track", "true" if self.track.isChecked() else "false")
        self.worker.show_fields = self.fields.isChecked()
        self.settings.setValue("fast", "true" if self.fast.isChecked() else "false")
        self.settings.setValue("loop", "true" if self.loop.isChecked() else "false")
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
        for key, val in (("source", without_password(source)), ("model", self.model.text()),
                         ("input_size", self.size.value()), ("mode", self.mode.currentText()),
                         ("kp_threshold", self.kp_slider.value() / 100),
                         ("limb_threshold", self.limb_slider.value() / 100),
                         ("shown_score", self.shown_slider.value() / 100)):
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
        self._hud_text = (f"frame {info['index']:5d}  FPS {info['fps']:5.1f}  people {info['people']}  "
                          f"dropped {info['dropped']}  |  pre {info['preprocess']:.1f}  infer {info['inference']:.1f}"
                          f"  decode {info['decode']:.1f}  overlay {info['overlay']:.1f}  latency "
                          f"{info['latency']:.0f} ms")
        self.hud.setText(self._hud_text)

    def _on_finished(self) -> None:
        self.hud.setText(self._hud_text + "  [stopped]")

    def on_error(self, message: str) -> None:
        QMessageBox.critical(self, "SSA-Pose", message)

    def on_model_error(self, message: str) -> None:
        """A model that does not open is not remembered: the next launch starts on the default model."""
        self.settings.setValue("model", self.default_model)
        self.on_error(message)
