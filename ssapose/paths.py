"""Where the data and weights that come from outside live: the ``shared`` folder beside the repo.

Nothing from outside is copied into the project. The demo clip, the COCO
evaluation sets, the calibration images and the pretrained IR are read from
``../shared`` (or from ``$SSAPOSE_SHARED``), and :func:`shared` says clearly
what is missing and where it was looked for. Files the project makes itself
(the imported model, exports) live in ``models/``.
"""
from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def shared_root() -> Path:
    """The shared folder: ``$SSAPOSE_SHARED`` if set, else ``../shared`` beside the repo."""
    env = os.environ.get("SSAPOSE_SHARED")
    return Path(env) if env else ROOT.parent / "shared"


def shared(*parts: str, must_exist: bool = True) -> Path:
    """A path inside the shared folder.

    Raises:
        FileNotFoundError: ``must_exist`` and the path is missing, naming the folder looked in
            and how to point elsewhere.
    """
    p = shared_root().joinpath(*parts)
    if must_exist and not p.exists():
        raise FileNotFoundError(
            f"{p} is missing. SSA-Pose reads its demo clip, COCO sets and pretrained weights from the "
            f"shared folder {shared_root()} (the 'shared' folder beside the repo); set SSAPOSE_SHARED "
            "to use another.")
    return p


@dataclass(frozen=True)
class CocoSet:
    """A COCO keypoint annotation file and its image folder."""

    name: str
    ann: Path
    images: Path


def coco_set(name: str) -> CocoSet:
    """``val`` / ``train`` (coco_mini val2017 / train2017) or ``tiny`` (coco_tiny), from the shared folder."""
    sets = {
        "val": ("coco_mini val2017", ("data", "coco_mini", "annotations", "person_keypoints_val2017.json"),
                ("data", "coco_mini", "val2017")),
        "train": ("coco_mini train2017", ("data", "coco_mini", "annotations", "person_keypoints_train2017.json"),
                  ("data", "coco_mini", "train2017")),
        "tiny": ("coco_tiny", ("data", "coco_tiny", "test_coco.json"), ("data", "coco_tiny")),
    }
    if name not in sets:
        raise KeyError(f"unknown COCO set {name!r}; known: {', '.join(sets)}")
    label, ann, images = sets[name]
    return CocoSet(label, shared(*ann), shared(*images))


def demo_video(must_exist: bool = True) -> Path:
    """The demo clip: 768x432, 10 fps, 1394 frames, people walking through a room one at a time (CC BY 4.0)."""
    return shared("data", "video", "one-by-one-person-detection.mp4", must_exist=must_exist)


def lwop_ir(must_exist: bool = True) -> Path:
    """Open Model Zoo's human-pose-estimation-0001 IR (XML; the .bin lies beside it)."""
    return shared("weights", "human-pose-estimation-0001", "human-pose-estimation-0001.xml", must_exist=must_exist)


def calibration_images() -> list[Path]:
    """Images for INT8 calibration and parity checks: coco_mini train2017, never an evaluation set."""
    return sorted(coco_set("train").images.glob("*.jpg"))


#: The model files ``make`` builds from the shared IR and our offset heads (untracked):
#: the PyTorch checkpoint, its ONNX export and the INT8 OpenVINO IR, the default on a CPU.
CHECKPOINT = ROOT / "models" / "lwop.pt"
DEFAULT_ONNX = ROOT / "models" / "lwop.onnx"
DEFAULT_MODEL = ROOT / "models" / "lwop.int8.xml"
#: Our own trained parameters (the RIE offset heads), committed.
OFFSET_HEADS = ROOT / "models" / "lwop-offsets.pt"
