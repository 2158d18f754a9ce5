"""The live tab's Settings panel: what is drawn, the tracker and its smoothing, how the model runs, playback.

Every value is in a unit people know (scores from 0 to 1, seconds, Hz, pixels, frames) and is remembered in the
app's settings under the same key as before, so a remembered setting survives the change of control.
"""
from __future__ import annotations

from PyQt5.QtWidgets import QCheckBox, QComboBox, QDoubleSpinBox, QFormLayout, QGroupBox, QSpinBox, QVBoxLayout

from engines import BACKENDS
from engines.run.region import RegionConfig, choose_region
from ssapose.decode import REFINEMENTS, DecoderChoice, DecoderConfig
from ssapose.overlay import DrawStyle
from ssapose.tracking import TrackerConfig

MODEL_DEFAULT = "model's"

#: The tracker's settings: key, label, low, high, step, tooltip (integers for frame counts).
TRACKER_FIELDS = (
    ("high_score", "Confident from score", 0.0, 1.0, 0.05, "a detection this sure is matched to the tracks first"),
    ("start_score", "New person from score", 0.0, 1.0, 0.05, "the lowest person score that starts a new track"),
    ("min_oks", "Same person from OKS", 0.0, 1.0, 0.05,
     "the lowest keypoint similarity (OKS, 0-1) with a track's predicted pose that continues it"),
    ("min_hits", "Frames to get an id", 1, TrackerConfig().confirm_window, 1,
     f"frames of its first {TrackerConfig().confirm_window} in which a new person must be seen to get an id"),
    ("max_lost_s", "Keep a lost person (s)", 0.0, 60.0, 0.5,
     "seconds a person out of view keeps their id, to get it back on return"),
    ("reid_s", "Know a returning person (s)", 0.0, 600.0, 5.0,
     "seconds a person who left keeps their id, to get it back on return if they look the same (0: off)"),
)


def _score_box(value: float, tip: str, top: float = 1.0, step: float = 0.05, decimals: int = 2) -> QDoubleSpinBox:
    box = QDoubleSpinBox()
    box.setRange(0.0, top)
    box.setSingleStep(step)
    box.setDecimals(decimals)
    box.setValue(value)
    box.setToolTip(tip)
    return box


class SettingsPanel(QGroupBox):
    """The collapsible panel beside the video. ``changed_style``, ``changed_shown``, ``changed_smoothing`` are
    callables the live tab sets, applied to a running pipeline at once; the rest apply at the next Start."""

    def __init__(self, settings):
        super().__init__("Settings")
        self.settings = settings
        value = lambda key, default: float(settings.value(key, default))          # noqa: E731
        self.on_style = self.on_shown = self.on_smoothing = lambda: None
        self.kp_score = _score_box(value("kp_threshold", DrawStyle().keypoint_threshold),
                                   "the lowest keypoint score drawn")
        self.limb_score = _score_box(value("limb_threshold", DrawStyle().limb_threshold),
                                     "a limb is drawn when both its ends score at least this")
        self.shown_score = _score_box(value("shown_score", DecoderConfig().shown_score),
                                      "the lowest person score drawn and recorded (a tracked person is kept "
                                      "through weak frames); 0 shows every fragment the decoder keeps")
        self.cutoff_hz = _score_box(value("smooth_min_cutoff", TrackerConfig().min_cutoff),
                                    "One-Euro filter: lower smooths more when a person holds still", top=10.0)
        self.cutoff_hz.setMinimum(0.05)
        self.beta = _score_box(value("smooth_beta", TrackerConfig().beta),
                               "One-Euro filter: higher follows fast movement with less lag", step=0.01, decimals=3)
        for box in (self.kp_score, self.limb_score):
            box.valueChanged.connect(lambda _: self.on_style())
        self.shown_score.valueChanged.connect(lambda _: self.on_shown())
        for box in (self.cutoff_hz, self.beta):
            box.valueChanged.connect(lambda _: self.on_smoothing())
        self.track_boxes = self._tracker_boxes(settings)
        self.backend = QComboBox()
        self.backend.addItems(list(BACKENDS))
        self.backend.setToolTip("the runtime; auto: OpenVINO on a CPU for .xml and .onnx, PyTorch for .pt")
        self.size = QSpinBox()
        self.size.setRange(0, 1024)                    # 0: the mode's height
        self.size.setSpecialValueText("as the mode")
        self.size.setSingleStep(32)
        self.size.setSuffix(" px")
        self.size.setToolTip("the network's input height in pixels; 'as the mode': the mode's own")
        self.size.setValue(int(settings.value("input_size", 0)))
        self.refine = QComboBox()
        self.refine.addItems([MODEL_DEFAULT, *REFINEMENTS])
        self.refine.setToolTip("how a keypoint is placed inside its map cell (the model's: what its card says)")
        self.paf = QComboBox()
        self.paf.addItems(["mean", "count"])
        self.paf.setToolTip("limb score: OpenPose's mean projection or the paper's aligned-sample count")
        self.fast = QCheckBox("Fast as possible")
        self.fast.setToolTip("process a file as fast as the machine can instead of at its own frame rate")
        self.fast.setChecked(settings.value("fast", "false") == "true")
        self.loop = QCheckBox("Loop")
        self.loop.setToolTip("start a file over at its end")
        self.loop.setChecked(settings.value("loop", "false") == "true")
        self.roi = QCheckBox("Only where people are (faster)")
        self.roi.setToolTip("run the network on the part of the frame where people were in the last frames, the "
                            "whole frame every second and when someone is lost (ssapose video --roi)")
        self.roi.setChecked(settings.value("roi", "true") == "true")
        self.fields = QCheckBox("Show what the network sees")
        self.fields.setToolTip("overlay heatmaps, PAFs (colour = direction) and offsets")
        self._lay_out()

    def _tracker_boxes(self, settings) -> dict:
        d, boxes = TrackerConfig(), {}
        for key, _, lo, hi, step, tip in TRACKER_FIELDS:
            box = QSpinBox() if isinstance(lo, int) else QDoubleSpinBox()
            box.setRange(lo, hi)
            box.setSingleStep(step)
            box.setValue(type(lo)(settings.value(f"track_{key}", getattr(d, key))))
            box.setToolTip(tip)
            boxes[key] = box
        return boxes

    def _lay_out(self) -> None:
        def group(title: str, rows) -> QGroupBox:
            box, form = QGroupBox(title), QFormLayout()
            for label, widget in rows:
                form.addRow(label, widget) if label else form.addRow(widget)
            box.setLayout(form)
            return box

        lay = QVBoxLayout(self)
        lay.addWidget(group("Drawn", [("Keypoint from score", self.kp_score), ("Limb from score", self.limb_score),
                                      ("Person from score", self.shown_score), ("", self.fields)]))
        labels = {key: label for key, label, *_ in TRACKER_FIELDS}
        lay.addWidget(group("Tracking", [(labels[k], b) for k, b in self.track_boxes.items()]
                            + [("Smoothing cutoff (Hz)", self.cutoff_hz), ("Smoothing speed (beta)", self.beta)]))
        lay.addWidget(group("Model", [("Backend", self.backend), ("Input height", self.size),
                                      ("Keypoint placement", self.refine), ("Limb score", self.paf),
                                      ("", self.roi)]))
        lay.addWidget(group("Playback", [("", self.fast), ("", self.loop)]))
        lay.addStretch(1)
        self.setFixedWidth(300)

    def region(self, scales: tuple[float, ...], auto) -> RegionConfig | None:
        """Region-of-interest inference as the panel says, where the mode allows it (None: every frame whole)."""
        return choose_region(None if self.roi.isChecked() else False, scales, auto)

    def style(self) -> DrawStyle:
        return DrawStyle(keypoint_threshold=self.kp_score.value(), limb_threshold=self.limb_score.value())

    def smoothing(self) -> tuple[float, float]:
        """``(min_cutoff Hz, beta)`` of the One-Euro filter."""
        return self.cutoff_hz.value(), self.beta.value()

    def tracker_config(self) -> TrackerConfig:
        """The tracker as the panel says."""
        cutoff, beta = self.smoothing()
        return TrackerConfig(**{k: b.value() for k, b in self.track_boxes.items()}, min_cutoff=cutoff, beta=beta)

    def set_decoder(self, choice: DecoderChoice) -> None:
        """Preselect the decoder (the command line's ``--refine`` / ``--paf-method`` / ``--shown-score``)."""
        if choice.refine:
            self.refine.setCurrentText(choice.refine)
        if choice.paf_method:
            self.paf.setCurrentText(choice.paf_method)
        if choice.shown_score is not None:
            self.shown_score.setValue(choice.shown_score)

    def decoder_choice(self) -> DecoderChoice:
        refine = self.refine.currentText()
        return DecoderChoice(refine=None if refine == MODEL_DEFAULT else refine, paf_method=self.paf.currentText(),
                             shown_score=self.shown_score.value())

    def remember(self) -> None:
        """Store every value under its key."""
        cutoff, beta = self.smoothing()
        for key, val in (("input_size", self.size.value()), ("kp_threshold", self.kp_score.value()),
                         ("limb_threshold", self.limb_score.value()), ("shown_score", self.shown_score.value()),
                         ("smooth_min_cutoff", cutoff), ("smooth_beta", beta),
                         ("fast", "true" if self.fast.isChecked() else "false"),
                         ("loop", "true" if self.loop.isChecked() else "false"),
                         ("roi", "true" if self.roi.isChecked() else "false"),
                         *((f"track_{k}", b.value()) for k, b in self.track_boxes.items())):
            self.settings.setValue(key, val)

