"""The COCO evaluation tab: run with progress and cancel, AP table, worst-first image browser, export."""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np
from PyQt5.QtWidgets import (QCheckBox, QFileDialog, QFormLayout, QHBoxLayout, QLineEdit, QListWidget, QMessageBox,
                             QProgressBar, QPushButton, QTableWidget, QTableWidgetItem, QVBoxLayout, QWidget)

from app.qt.image import FrameView
from app.qt.live_tab import mode_box
from engines.modes import preset_view
from app.qt.workers import EvalWorker, per_image_oks
from ssapose.coco import STAT_NAMES, load_coco
from ssapose.fsnames import imread
from ssapose.overlay import DrawStyle, draw_fields, draw_poses
from ssapose.poses import Poses


class EvalTab(QWidget):
    def __init__(self, settings, ann: str, images: str, model: str, device: str = "cpu"):
        super().__init__()
        self.device = device
        self.settings, self.worker, self.coco, self.results = settings, None, None, []
        self.ann = QLineEdit(str(settings.value("eval_ann", ann)))
        self.images = QLineEdit(str(settings.value("eval_images", images)))
        self.model = QLineEdit(str(settings.value("model", model)))
        self.mode = mode_box(settings)
        self.run_btn, self.cancel_btn, self.export_btn = QPushButton("Run"), QPushButton("Cancel"), QPushButton("Export results...")
        self.run_btn.clicked.connect(self.run)
        self.cancel_btn.clicked.connect(self.cancel)
        self.export_btn.clicked.connect(self.export)
        self.progress = QProgressBar()
        self.table = QTableWidget(1, 6)
        self.table.setHorizontalHeaderLabels(list(STAT_NAMES[:6]))
        self.table.setMaximumHeight(64)
        self.list = QListWidget()
        self.list.setMaximumWidth(260)
        self.list.currentRowChanged.connect(self.show_image)
        self.side_by_side = QCheckBox("Ground truth | prediction side by side")
        self.side_by_side.setChecked(True)
        self.side_by_side.toggled.connect(lambda: self.show_image(self.list.currentRow()))
        self.fields = QCheckBox("Fields under the prediction (runs the model on the image)")
        self.fields.toggled.connect(lambda: self.show_image(self.list.currentRow()))
        self._estimator = None
        self.view = FrameView("Run an evaluation to browse its images, worst first")
        self.order: list[tuple[int, float]] = []

        form = QFormLayout()
        for label, edit, pick in (("Annotations", self.ann, self._pick_ann), ("Images", self.images, self._pick_dir),
                                  ("Model", self.model, self._pick_model)):
            row = QHBoxLayout()
            row.addWidget(edit)
            b = QPushButton("...")
            b.clicked.connect(pick)
            row.addWidget(b)
            form.addRow(label, row)
        form.addRow("Mode", self.mode)
        buttons = QHBoxLayout()
        for w in (self.run_btn, self.cancel_btn, self.progress, self.export_btn):
            buttons.addWidget(w)
        browse = QHBoxLayout()
        browse.addWidget(self.list)
        browse.addWidget(self.view, 1)
        lay = QVBoxLayout(self)
        lay.addLayout(form)
        lay.addLayout(buttons)
        lay.addWidget(self.table)
        lay.addWidget(self.side_by_side)
        lay.addWidget(self.fields)
        lay.addLayout(browse, 1)

    def _pick_ann(self):
        f, _ = QFileDialog.getOpenFileName(self, "COCO keypoint annotations", "", "JSON (*.json)")
        if f:
            self.ann.setText(f)

    def _pick_dir(self):
        d = QFileDialog.getExistingDirectory(self, "Image folder")
        if d:
            self.images.setText(d)

    def _pick_model(self):
        f, _ = QFileDialog.getOpenFileName(self, "Model", "", "Models (*.pt *.onnx *.engine *.plan)")
        if f:
            self.model.setText(f)

    def run(self) -> None:
        self.cancel()
        try:
            self.coco = load_coco(self.ann.text())
        except (FileNotFoundError, ValueError) as e:
            QMessageBox.critical(self, "SSA-Pose", str(e))
            return
        self.settings.setValue("eval_ann", self.ann.text())
        self.settings.setValue("eval_images", self.images.text())
        self.settings.setValue("mode", self.mode.currentText())
        self.worker = EvalWorker(self.model.text(), self.ann.text(), self.images.text(), device=self.device,
                                 mode=preset_view(self.mode.currentText()))
        self.worker.progress.connect(lambda d, t: (self.progress.setMaximum(t), self.progress.setValue(d)))
        self.worker.done.connect(self.on_done)
        self.worker.failed.connect(lambda m: QMessageBox.critical(self, "SSA-Pose", m))
        self.worker.start()

    def cancel(self) -> None:
        if self.worker is not None:
            self.worker.cancel()
            self.worker.wait(30000)
            self.worker = None

    def on_done(self, stats: dict, results: list) -> None:
        self.results = results
        for i, k in enumerate(STAT_NAMES[:6]):
            self.table.setItem(0, i, QTableWidgetItem(f"{stats[k]:.3f}"))
        oks = per_image_oks(self.coco, results)
        self.order = sorted(oks.items(), key=lambda kv: kv[1])
        self.list.clear()
        for iid, v in self.order:
            self.list.addItem(f"OKS {v:.2f}  {self.coco.imgs[iid]['file_name']}")
        if self.order:
            self.list.setCurrentRow(0)

    def show_image(self, row: int) -> None:
        if row < 0 or row >= len(self.order) or self.coco is None:
            return
        iid = self.order[row][0]
        img = imread(Path(self.images.text()) / self.coco.imgs[iid]["file_name"])
        if img is None:
            return
        gt = [a for a in self.coco.imgToAnns.get(iid, []) if a.get("num_keypoints", 0) > 0]
        gt_poses = Poses(np.array([a["keypoints"] for a in gt], np.float32).reshape(-1, 17, 3), np.ones(len(gt), np.float32))
        pr = [r for r in self.results if r["image_id"] == iid]
        pred = Poses(np.array([r["keypoints"] for r in pr], np.float32).reshape(-1, 17, 3),
                     np.array([r["score"] for r in pr], np.float32))
        style = DrawStyle(keypoint_threshold=0.0, limb_threshold=0.0)
        under = self.field_view(img) if self.fields.isChecked() else img.copy()
        if self.side_by_side.isChecked():
            out = np.hstack([draw_poses(img.copy(), gt_poses, style), draw_poses(under, pred, style)])
        else:
            out = draw_poses(draw_poses(under, gt_poses, style), pred, style)
        self.view.set_frame(out)

    def field_view(self, img: np.ndarray) -> np.ndarray:
        """``img`` with the model's fields drawn on it (the model is opened once, on first use)."""
        from engines import create_backend
        from engines.run.step import FrameStep, Timings

        if self._estimator is None or self._estimator[0] != self.model.text():
            self._estimator = (self.model.text(), FrameStep(create_backend(self.model.text(), device=self.device)))
        est = self._estimator[1]
        fields, box = est.infer(img, Timings())
        return draw_fields(img.copy(), fields, box.scale, est.backend.info.stride)

    def export(self) -> None:
        if not self.results:
            QMessageBox.information(self, "SSA-Pose", "Run an evaluation first.")
            return
        f, _ = QFileDialog.getSaveFileName(self, "Export COCO results", "results.json", "JSON (*.json)")
        if f:
            Path(f).write_text(json.dumps(self.results))
