import json
import os
from pathlib import Path

import numpy as np
import pytest
import torch

from ssapose import paths
from ssapose.skeleton import coco_to_parts

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")   # Qt tests never need a display
ROOT = Path(__file__).resolve().parents[1]
DATA = paths.shared_root() / "data"           # real data lives in ../shared, never in the repo
TINY_ANN = DATA / "coco_tiny" / "test_coco.json"
MINI_ANNS = sorted((DATA / "coco_mini" / "annotations").glob("*.json"))
DEMO = DATA / "video" / "one-by-one-person-detection.mp4"


@pytest.fixture(scope="session")
def tiny_people():
    """(image info, (N, 18, 3) parts) for each coco_tiny image."""
    d = json.loads(TINY_ANN.read_text())
    out = []
    for im in d["images"]:
        kps = [a["keypoints"] for a in d["annotations"] if a["image_id"] == im["id"] and a["num_keypoints"] > 0]
        out.append((im, coco_to_parts(np.array(kps, float).reshape(-1, 17, 3))))
    return out


def synthetic_person(cx: float, cy: float, scale: float = 1.0) -> np.ndarray:
    """A standing person as (17, 3) COCO keypoints centred at (cx, cy), about 200*scale px tall."""
    base = np.array([
        [0, -90], [-6, -96], [6, -96], [-14, -92], [14, -92],
        [-25, -60], [25, -60], [-35, -20], [35, -20], [-40, 15], [40, 15],
        [-15, 10], [15, 10], [-17, 55], [17, 55], [-18, 100], [18, 100]], float)
    kp = np.ones((17, 3))
    kp[:, :2] = base * scale + [cx, cy]
    kp[:, 2] = 2
    return kp


@pytest.fixture(scope="session")
def small_model(tmp_path_factory):
    """A small random lite checkpoint: fast, for plumbing tests that need any network."""
    from ssapose.models import build_model, get_config, save_checkpoint
    torch.manual_seed(0)
    cfg = get_config("lite", width=32)
    path = tmp_path_factory.mktemp("model") / "lite.pt"
    save_checkpoint(str(path), build_model(cfg), cfg)
    return str(path)


@pytest.fixture(scope="session")
def real_model(tmp_path_factory):
    """The default model, built here from the shared IR and the committed offset heads, as `make` does."""
    from ssapose.models.lwop_weights import build_checkpoint
    path = tmp_path_factory.mktemp("lwop") / "lwop.pt"
    build_checkpoint(str(paths.lwop_ir()), str(path), str(paths.OFFSET_HEADS))
    return str(path)


def demo_cut(out: Path, *args: str, start_s: float = 0.0) -> Path:
    """Write ``out`` from the demo clip from ``start_s`` on with FFmpeg (``args`` between input and output: frames,
    filters, codec); skips the test where FFmpeg (imageio-ffmpeg) is missing."""
    import subprocess

    from engines.sinks.video import ffmpeg_exe

    exe = ffmpeg_exe()
    if exe is None:
        pytest.skip("needs FFmpeg (imageio-ffmpeg)")
    subprocess.run([exe, "-loglevel", "error", "-ss", f"{start_s:g}", "-i", str(DEMO), *args, str(out)], check=True,
                   timeout=120)
    return out
