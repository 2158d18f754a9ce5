"""A synthetic multi-person dataset, generated from real COCO poses, written in COCO format.

People are drawn as articulated figures (thick limbs, a torso polygon, a head
with eyes and nose) over textured backgrounds. Left limbs are drawn darker than
right limbs so that left and right can be told apart, as a real person's face
and posture allow. Poses come from the real annotations bundled in ``data/``
(people with >= 13 keypoints), completed where a joint is missing, jittered,
scaled, rotated and mirrored. The same seed gives the same files.

    python -m training.synthetic --out data/synthetic --train 600 --val 100
"""
from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import cv2
import numpy as np
from tqdm import tqdm

from ssapose import paths
from ssapose.skeleton import COCO_KEYPOINT_NAMES, COCO_LIMBS, FLIP_COCO

#: Real poses the figures are drawn in: coco_mini train2017 only (never an evaluation set).
POSE_SOURCES = [paths.shared("data", "coco_mini", "annotations", "person_keypoints_train2017.json", must_exist=False)]
TEMPLATE = np.array([[0, -90], [-6, -96], [6, -96], [-14, -92], [14, -92], [-25, -60], [25, -60], [-35, -20],
                     [35, -20], [-40, 15], [40, 15], [-15, 10], [15, 10], [-17, 55], [17, 55], [-18, 100],
                     [18, 100]], float)[:, ::1] * [-1, 1]   # image left = person's right
LEFT = np.array([n.startswith("left_") for n in COCO_KEYPOINT_NAMES])


def load_poses(files=POSE_SOURCES, min_keypoints: int = 13) -> np.ndarray:
    """``(P, 17, 2)`` complete poses, centred and normalised to a height of ~1."""
    for f in files:
        if not Path(f).is_file():
            paths.shared(str(Path(f).relative_to(paths.shared_root())))   # says where the shared folder is
    out = []
    for f in files:
        for a in json.loads(Path(f).read_text())["annotations"]:
            kp = np.asarray(a["keypoints"], float).reshape(17, 3)
            vis = kp[:, 2] > 0
            if vis.sum() < min_keypoints:
                continue
            out.append(_complete(kp[:, :2], vis))
    poses = np.stack(out)
    poses -= poses.mean(axis=1, keepdims=True)
    return poses / (np.ptp(poses[..., 1], axis=1)[:, None, None] + 1e-6)


def _complete(xy: np.ndarray, vis: np.ndarray) -> np.ndarray:
    """Fill missing joints from the template, fitted to the visible ones by a similarity transform."""
    src, dst = TEMPLATE[vis], xy[vis]
    m, _ = cv2.estimateAffinePartial2D(src.astype(np.float32), dst.astype(np.float32))
    full = TEMPLATE @ m[:, :2].T + m[:, 2]
    return np.where(vis[:, None], xy, full)


def _background(rng, size: int) -> np.ndarray:
    small = rng.integers(0, 256, (rng.integers(4, 16), rng.integers(4, 16), 3)).astype(np.uint8)
    img = cv2.resize(small, (size, size), interpolation=cv2.INTER_CUBIC)
    for _ in range(rng.integers(2, 8)):          # blocks, but no thin lines: those read as limbs
        c = tuple(int(v) for v in rng.integers(0, 256, 3))
        p1, p2 = rng.integers(0, size, 2), rng.integers(0, size, 2)
        cv2.rectangle(img, tuple(map(int, p1)), tuple(map(int, p2)), c, -1)
    noise = rng.normal(0, 12, img.shape)
    return np.clip(img + noise, 0, 255).astype(np.uint8)


def _draw_person(img: np.ndarray, kp: np.ndarray, height: float, rng) -> None:
    colour = rng.integers(60, 256, 3).astype(float)
    dark, light = tuple(int(v) for v in colour * 0.45), tuple(int(v) for v in np.minimum(colour * 1.1 + 40, 255))
    skin = tuple(int(v) for v in rng.integers(90, 230, 3))
    t = max(2, int(height * 0.05))
    torso = kp[[5, 6, 12, 11]].astype(np.int32)
    cv2.fillConvexPoly(img, torso, tuple(int(v) for v in colour * 0.8))
    for a, b in COCO_LIMBS:
        if a <= 4 or b <= 4:
            continue
        c = dark if LEFT[a] or LEFT[b] else light
        cv2.line(img, tuple(np.int32(kp[a])), tuple(np.int32(kp[b])), c, t, cv2.LINE_AA)
    head = np.linalg.norm(kp[3] - kp[4]) / 2 + height * 0.02
    centre = (kp[3] + kp[4]) / 2
    cv2.circle(img, tuple(np.int32(centre)), max(2, int(head)), skin, -1, cv2.LINE_AA)
    for i, c in ((1, (20, 20, 20)), (2, (230, 230, 230)), (0, (0, 0, 200))):
        cv2.circle(img, tuple(np.int32(kp[i])), max(1, t // 2), c, -1)


def _box(xy: np.ndarray) -> np.ndarray:
    return np.concatenate([xy.min(axis=0), xy.max(axis=0)])


def _overlap(box: np.ndarray, others: list[np.ndarray]) -> float:
    """Largest share of ``box``'s area (or of another's, whichever is smaller) covered by one of ``others``."""
    worst = 0.0
    for o in others:
        wh = np.clip(np.minimum(box[2:], o[2:]) - np.maximum(box[:2], o[:2]), 0, None)
        inter = wh[0] * wh[1]
        small = min(np.prod(box[2:] - box[:2]), np.prod(o[2:] - o[:2]))
        worst = max(worst, inter / max(small, 1e-6))
    return worst


def generate_image(rng, poses: np.ndarray, size: int, max_people: int = 6, max_overlap: float = 1.0):
    """One image and its people as ``(N, 17, 3)`` COCO keypoints (all labelled, v=2).

    ``max_overlap``: a person is placed again (up to 20 tries, then left out)
    while its box covers more than this share of a placed person's box, or
    of its own (1.0: any overlap).
    """
    img = _background(rng, size)
    n = int(rng.integers(1, max_people + 1))
    people, boxes = [], []
    for _ in range(n):
        for _try in range(20):
            height, xy = _place(rng, poses, size)
            box = _box(xy)
            if _overlap(box, boxes) <= max_overlap:
                people.append((height, xy))
                boxes.append(box)
                break
    people.sort(key=lambda p: p[0])                  # small (far) people first: near ones occlude them
    kps = []
    for height, xy in people:
        _draw_person(img, xy, height, rng)
        inside = (xy[:, 0] >= 0) & (xy[:, 1] >= 0) & (xy[:, 0] <= size - 1) & (xy[:, 1] <= size - 1)
        kps.append(np.column_stack([xy, np.where(inside, 2, 0)]))
    return img, np.stack(kps)


def _place(rng, poses: np.ndarray, size: int) -> tuple[float, np.ndarray]:
    """A random pose, mirrored, jittered, scaled, rotated and placed: ``(height px, (17, 2) xy)``."""
    pose = poses[rng.integers(len(poses))].copy()
    if rng.random() < 0.5:
        pose[:, 0] *= -1
        pose = pose[FLIP_COCO]
    pose += rng.normal(0, 0.015, pose.shape)
    height = rng.uniform(0.25, 0.8) * size
    ang = np.deg2rad(rng.normal(0, 12))
    rot = np.array([[np.cos(ang), -np.sin(ang)], [np.sin(ang), np.cos(ang)]])
    xy = pose @ rot.T * height + rng.uniform(0.15, 0.85, 2) * size
    return height, xy


def write_split(out: Path, split: str, n: int, seed: int, size: int, poses: np.ndarray,
                max_overlap: float = 1.0) -> Path:
    """Write ``out/split/*.jpg`` and ``out/split.json``; returns the JSON path."""
    rng = np.random.default_rng(seed)
    (out / split).mkdir(parents=True, exist_ok=True)
    images, anns = [], []
    for i in tqdm(range(n), desc=f"synthetic {split}", unit="img", leave=False):
        img, kps = generate_image(rng, poses, size, max_overlap=max_overlap)
        name = f"{i:06d}.jpg"
        cv2.imwrite(str(out / split / name), img, [cv2.IMWRITE_JPEG_QUALITY, 92])
        images.append({"id": i + 1, "file_name": name, "width": size, "height": size})
        for kp in kps:
            v = kp[:, 2] > 0
            if not v.any():
                continue
            x0, y0 = kp[v, :2].min(0)
            x1, y1 = kp[v, :2].max(0)
            pad = 0.1 * max(x1 - x0, y1 - y0)
            box = [float(x0 - pad), float(y0 - pad), float(x1 - x0 + 2 * pad), float(y1 - y0 + 2 * pad)]
            anns.append({"id": len(anns) + 1, "image_id": i + 1, "category_id": 1, "iscrowd": 0,
                         "keypoints": [round(float(x), 2) for x in kp.ravel()], "num_keypoints": int(v.sum()),
                         "bbox": box, "area": box[2] * box[3] * 0.6})
    path = out / f"{split}.json"
    path.write_text(json.dumps({"images": images, "annotations": anns, "categories": [
        {"id": 1, "name": "person", "supercategory": "person", "keypoints": list(COCO_KEYPOINT_NAMES),
         "skeleton": (COCO_LIMBS + 1).tolist()}]}))
    return path


def generate(out: str | Path, n_train: int, n_val: int, seed: int = 0, size: int = 256,
             max_overlap: float = 1.0) -> tuple[Path, Path]:
    """Generate both splits (train with ``seed``, val with ``seed + 1``); see ``generate_image``."""
    out = Path(out)
    poses = load_poses()
    return (write_split(out, "train", n_train, seed, size, poses, max_overlap),
            write_split(out, "val", n_val, seed + 1, size, poses, max_overlap))


def ensure_generated(out: str | Path, n_train: int, n_val: int, seed: int = 0, size: int = 256,
                     max_overlap: float = 1.0) -> bool:
    """Generate the set into ``out`` unless it is there with these exact parameters.

    The parameters are kept in ``out/params.json``, so a changed config never
    reuses a stale set. Returns whether it generated.
    """
    out = Path(out)
    params = {"train": n_train, "val": n_val, "seed": seed, "size": size, "max_overlap": max_overlap}
    meta = out / "params.json"
    have = json.loads(meta.read_text()) if meta.is_file() else None
    if have == params and (out / "train.json").is_file() and (out / "val.json").is_file():
        return False
    print(f"generating the synthetic dataset in {out} ({params}) ...", file=sys.stderr)
    generate(out, n_train, n_val, seed, size, max_overlap)
    meta.write_text(json.dumps(params))
    return True


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description="Generate the synthetic multi-person dataset (COCO format).")
    ap.add_argument("--out", default="data/synthetic", help="output folder (default: %(default)s)")
    ap.add_argument("--train", type=int, default=800, help="training images (default: %(default)s)")
    ap.add_argument("--val", type=int, default=100, help="validation images (default: %(default)s)")
    ap.add_argument("--size", type=int, default=256, help="image side in pixels (default: %(default)s)")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--max-overlap", type=float, default=1.0,
                    help="largest share of a person's box another person may cover (default: %(default)s, any)")
    a = ap.parse_args(argv)
    if not ensure_generated(a.out, a.train, a.val, a.seed, a.size, a.max_overlap):
        print(f"{a.out} already holds this set (params.json matches)")
    else:
        print(f"wrote {a.out}/train.json and {a.out}/val.json")


if __name__ == "__main__":
    main()
