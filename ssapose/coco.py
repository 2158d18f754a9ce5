"""COCO keypoint annotations in, COCO keypoint results and scores out (pycocotools)."""
from __future__ import annotations

import contextlib
import io
import json
import logging
import os
from dataclasses import dataclass, field

import numpy as np

from ssapose.skeleton import COCO_SIGMAS, NUM_COCO_KEYPOINTS, PERSON_CATEGORY, coco_to_parts

log = logging.getLogger(__name__)

#: Names of the summary figures of COCOeval for keypoints, in its order.
STAT_NAMES = ("AP", "AP50", "AP75", "APM", "APL", "AR", "AR50", "AR75", "ARM", "ARL")


def load_coco(ann_file: str):
    """Load an annotation file with pycocotools, quietly, with a clear error if it is unusable."""
    from pycocotools.coco import COCO

    if not os.path.isfile(ann_file):
        raise FileNotFoundError(f"annotation file not found: {ann_file}")
    try:
        with open(ann_file, encoding="utf-8") as f:
            data = json.load(f)
    except (json.JSONDecodeError, UnicodeDecodeError) as e:
        raise ValueError(f"{ann_file} is not valid JSON: {e}") from e
    if not isinstance(data, dict):
        raise ValueError(f"{ann_file} is not a COCO annotation file: its top level is a JSON "
                         f"{type(data).__name__}, not an object with 'images' and 'annotations'")
    if not data.get("images"):
        raise ValueError(f"{ann_file} lists no images")
    _check_ids(ann_file, data)
    anns = [a for a in data.get("annotations") or [] if isinstance(a, dict)]
    if not any(a.get("keypoints") for a in anns):
        raise ValueError(f"{ann_file} has no person keypoint annotations: there is nothing to evaluate")
    if not any(_scorable(a) for a in anns):
        crowd = sum(1 for a in anns if a.get("iscrowd"))
        raise ValueError(f"{ann_file} has no person COCOeval can score: of its {len(anns)} annotations {crowd} are "
                         "crowd regions and none of the others has a visible keypoint (every AP would be -1)")
    try:
        with contextlib.redirect_stdout(io.StringIO()):
            coco = COCO()
            coco.dataset = data
            coco.createIndex()
    except (KeyError, TypeError, ValueError, AttributeError, AssertionError) as e:
        raise ValueError(f"{ann_file} is not a COCO annotation file: {e!r}") from e
    _sanitise(coco)
    person = coco.cats.get(PERSON_CATEGORY, {})
    if person.get("name") != "person":
        log.warning("warning: %s has no person category (id %d named 'person'; its categories: %s); predictions are "
                    "scored as that category, so every AP will be 0", ann_file, PERSON_CATEGORY,
                    ", ".join(f"{c.get('id')}: {c.get('name')!r}" for c in coco.cats.values()) or "none")
    return coco


def _check_ids(ann_file: str, data: dict) -> None:
    """COCOeval needs whole-number image ids: refuse any other in one line, before anything runs."""
    for where, items, key in (("image", data.get("images") or [], "id"),
                              ("annotation", data.get("annotations") or [], "image_id")):
        for item in items:
            v = item.get(key) if isinstance(item, dict) else None
            if isinstance(v, bool) or not isinstance(v, int):
                raise ValueError(f"{ann_file}: {where} {key} {v!r} is not a whole number (COCO image ids are "
                                 "integers; COCOeval cannot score others)")


def _scorable(ann: dict) -> bool:
    """A person COCOeval scores: not a crowd region, with at least one visible keypoint."""
    kps = ann.get("keypoints") or []
    return not ann.get("iscrowd") and any(isinstance(v, (int, float)) and v > 0 for v in kps[2::3])


def missing_images(coco, image_dir: str) -> list[str]:
    """The file names of ``coco``'s images that are not in ``image_dir``."""
    return [im["file_name"] for im in coco.imgs.values() if not os.path.isfile(os.path.join(image_dir, im["file_name"]))]


def check_images(coco, image_dir: str) -> None:
    """Every image of ``coco`` is in ``image_dir``, checked before any is run; FileNotFoundError listing the missing
    ones (the first ten) otherwise."""
    gone = missing_images(coco, image_dir)
    if gone:
        more = f" and {len(gone) - 10} more" if len(gone) > 10 else ""
        raise FileNotFoundError(f"{len(gone)} of {len(coco.imgs)} images are missing in {image_dir}: "
                                f"{', '.join(gone[:10])}{more}")


def find_image_dir(ann_file: str, coco) -> str:
    """The folder that holds the images of ``ann_file``: of the folders looked in, the one holding the most of them.

    Looks beside the file, then in the COCO layout: ``annotations/person_keypoints_val2017.json``
    beside ``val2017/`` or ``images/val2017/`` (the split named in the file name).

    Raises:
        FileNotFoundError: naming every folder looked in, when none holds any.
    """
    ann_dir = os.path.dirname(os.path.abspath(ann_file))
    parent = os.path.dirname(ann_dir)
    split = os.path.splitext(os.path.basename(ann_file))[0].rsplit("_", 1)[-1]
    candidates = [ann_dir, os.path.join(parent, split), os.path.join(parent, "images", split),
                  os.path.join(ann_dir, "images"), os.path.join(parent, "images")]
    candidates = list(dict.fromkeys(candidates))
    found = [len(coco.imgs) - len(missing_images(coco, d)) for d in candidates]
    if coco.imgs and max(found) > 0:
        return candidates[found.index(max(found))]
    raise FileNotFoundError(f"cannot find the images of {ann_file}; looked in {', '.join(dict.fromkeys(candidates))}. "
                            "Name the folder with --images")


def _sanitise(coco) -> None:
    """Make malformed keypoint annotations harmless, in place.

    An annotation whose ``keypoints`` are missing, of the wrong length or not
    finite is logged and turned into a person without keypoints (all zeros,
    ``num_keypoints = 0``): COCOeval then ignores it and the encoder puts it in
    the ignore mask, instead of either crashing.
    """
    for ann in coco.dataset.get("annotations", []):
        if _keypoints(ann) is None:
            log.warning("annotation %s of image %s has missing or malformed keypoints; treated as "
                        "a person without keypoints", ann.get("id"), ann.get("image_id"))
            ann["keypoints"] = [0] * (3 * NUM_COCO_KEYPOINTS)
            ann["num_keypoints"] = 0
        else:
            ann["num_keypoints"] = int((np.asarray(ann["keypoints"]).reshape(-1, 3)[:, 2] > 0).sum())
        ann.setdefault("iscrowd", 0)
        if "area" not in ann:
            box = ann.get("bbox") or [0, 0, 0, 0]
            ann["area"] = float(box[2] * box[3])


@dataclass
class ImagePeople:
    """The annotated people of one image.

    parts ``(N, 18, 3) float64``: (x, y, v) in image pixels, neck added;
    ignore ``(H, W) bool`` or None: crowd regions and people without keypoints;
    areas ``(N,) float64``: each person's annotated area in pixels^2 (the OKS scale);
    ann_ids ``(N,) int64``: each person's annotation id (empty where the people were not read from a file).
    """

    parts: np.ndarray
    ignore: np.ndarray | None
    areas: np.ndarray
    ann_ids: np.ndarray = field(default_factory=lambda: np.zeros(0, np.int64))


def _keypoints(ann: dict) -> np.ndarray | None:
    kp = ann.get("keypoints")
    if kp is None:
        return None
    arr = np.asarray(kp, dtype=np.float64)
    if arr.size != NUM_COCO_KEYPOINTS * 3 or not np.all(np.isfinite(arr)):
        return None
    return arr.reshape(NUM_COCO_KEYPOINTS, 3)


def image_people(coco, image_id: int, with_ignore: bool = True) -> ImagePeople:
    """Collect the people of one image.

    People without keypoints (including the malformed ones that
    :func:`load_coco` cleared) and crowds go into the ignore mask, by their
    segmentation, else their bbox. Keypoints outside the image are kept here and
    dropped by the encoder.
    """
    info = coco.imgs[image_id]
    h, w = int(info["height"]), int(info["width"])
    people, areas, ids, ignore = [], [], [], np.zeros((h, w), bool) if with_ignore else None
    for ann in coco.imgToAnns.get(image_id, []):
        kp = _keypoints(ann)
        usable = kp is not None and not ann.get("iscrowd", 0) and (kp[:, 2] > 0).any()
        if usable:
            people.append(kp)
            areas.append(float(ann["area"]))
            ids.append(int(ann.get("id", -1)))
        elif with_ignore:
            ignore |= _region(coco, ann, h, w)
    parts = coco_to_parts(np.array(people)) if people else np.zeros((0, 18, 3))
    return ImagePeople(parts, ignore if with_ignore and ignore.any() else None, np.array(areas, np.float64),
                       np.array(ids, np.int64))


def _region(coco, ann: dict, h: int, w: int) -> np.ndarray:
    if ann.get("segmentation"):
        try:
            return coco.annToMask(ann).astype(bool)[:h, :w]
        except Exception as e:  # malformed polygon / RLE: fall back to the box
            log.warning("annotation %s: unusable segmentation (%s); using its bbox", ann.get("id"), e)
    out = np.zeros((h, w), bool)
    box = ann.get("bbox")
    if box is not None and len(box) == 4:
        x, y, bw, bh = (int(round(v)) for v in box)
        out[max(y, 0):max(y + bh, 0), max(x, 0):max(x + bw, 0)] = True
    return out


def oks_matrix(a: np.ndarray, b: np.ndarray, areas: np.ndarray | None = None) -> np.ndarray:
    """COCO's object keypoint similarity between ``(N, 17, 3)`` poses ``a`` and ``(M, 17, 3)`` poses ``b``,
    ``(N, M)``: over the keypoints present in ``a``, the mean of ``exp(-d^2 / (2 s^2 (2 sigma)^2))``, where a
    keypoint missing in ``b`` counts 0. ``s^2``: ``areas`` ``(N,)`` in pixels^2 (an annotation's area, as
    COCOeval scores it), or else the area of ``a``'s keypoint box."""
    if len(a) == 0 or len(b) == 0:
        return np.zeros((len(a), len(b)))
    va, vb = a[..., 2] > 0, b[..., 2] > 0
    if areas is None:
        lo = np.where(va[..., None], a[..., :2], np.inf).min(1)
        hi = np.where(va[..., None], a[..., :2], -np.inf).max(1)
        area = np.maximum(np.prod(np.maximum(hi - lo, 1.0), axis=1), 1.0)      # (N,)
    else:
        area = np.asarray(areas, np.float64) + np.spacing(1)                   # COCOeval's own guard
    d2 = ((a[:, None, :, :2] - b[None, :, :, :2]) ** 2).sum(-1)                  # (N, M, 17)
    k2 = (2 * COCO_SIGMAS) ** 2
    e = np.exp(-d2 / (2 * area[:, None, None] * k2))
    both = va[:, None] & vb[None]
    return (e * both).sum(-1) / np.maximum(va.sum(1)[:, None], 1)


def evaluate(coco_gt, results: list[dict], image_ids: list[int] | None = None, verbose: bool = False) -> dict:
    """Score keypoint results with pycocotools' COCOeval.

    Args:
        coco_gt: the ground truth (pycocotools COCO).
        results: COCO keypoint results (see ``Poses.to_coco_results``).
        image_ids: restrict to these images (default: all of ``coco_gt``).
        verbose: print COCOeval's own summary.
    Returns:
        ``{"AP": ..., "AP50": ..., ..., "ARL": ...}`` as floats; all 0 when
        there are no results.
    """
    from pycocotools.cocoeval import COCOeval

    if not results:
        return {k: 0.0 for k in STAT_NAMES}
    sink = contextlib.nullcontext() if verbose else contextlib.redirect_stdout(io.StringIO())
    with sink:
        coco_dt = coco_gt.loadRes(results)
        ev = COCOeval(coco_gt, coco_dt, "keypoints")
        if image_ids is not None:
            ev.params.imgIds = list(image_ids)
        ev.evaluate()
        ev.accumulate()
        ev.summarize()
    return {k: float(v) for k, v in zip(STAT_NAMES, ev.stats)}


def format_stats(stats: dict, title: str = "") -> str:
    """A one-table text view of COCOeval figures."""
    head = " | ".join(f"{k:>5}" for k in STAT_NAMES[:6])
    row = " | ".join(f"{stats[k]:5.3f}" for k in STAT_NAMES[:6])
    return (f"{title}\n" if title else "") + head + "\n" + row
