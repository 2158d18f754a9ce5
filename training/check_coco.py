"""Check a local COCO 2017 keypoints layout before a long training run, and count what it holds.

    python training/check_coco.py /data/coco                # the layout COCO's own zips unpack to
    python training/check_coco.py ../shared/data/coco_mini  # the bundled subset

Expected under ROOT (nothing is downloaded; fetch COCO 2017 yourself from cocodataset.org):

    annotations/person_keypoints_train2017.json
    annotations/person_keypoints_val2017.json
    train2017/*.jpg
    val2017/*.jpg

Exit status 0 when both splits are complete, 1 with one line per problem otherwise.
"""
from __future__ import annotations

import argparse
import json
import sys
from dataclasses import dataclass, field
from pathlib import Path

SPLITS = ("train2017", "val2017")


@dataclass
class SplitReport:
    """What one split holds: images listed, images missing on disk, people with keypoints, bytes on disk."""

    name: str
    images: int = 0
    missing: list[str] = field(default_factory=list)
    people: int = 0
    bytes: int = 0


def check_split(root: Path, split: str) -> tuple[SplitReport, list[str]]:
    """Read ``split``'s annotation file and stat every image it lists; returns the report and the problems."""
    report, problems = SplitReport(split), []
    ann = root / "annotations" / f"person_keypoints_{split}.json"
    folder = root / split
    if not ann.is_file():
        return report, [f"{ann} is missing (from annotations_trainval2017.zip)"]
    if not folder.is_dir():
        return report, [f"{folder}/ is missing (from {split}.zip)"]
    try:
        data = json.loads(ann.read_text())
    except (OSError, ValueError) as e:
        return report, [f"{ann} is not a readable JSON file: {e}"]
    if not isinstance(data, dict) or not {"images", "annotations"} <= set(data):
        return report, [f"{ann} has no 'images' and 'annotations': not a COCO annotation file"]
    report.images = len(data["images"])
    report.people = sum(1 for a in data["annotations"] if a.get("num_keypoints", 0) > 0 and not a.get("iscrowd"))
    for im in data["images"]:
        path = folder / im["file_name"]
        try:
            report.bytes += path.stat().st_size
        except OSError:
            report.missing.append(im["file_name"])
    if report.missing:
        shown = ", ".join(report.missing[:3]) + (" ..." if len(report.missing) > 3 else "")
        problems.append(f"{split}: {len(report.missing)} of {report.images} images listed in {ann.name} are not in "
                        f"{folder}/ ({shown})")
    if report.people == 0:
        problems.append(f"{split}: {ann.name} has no person with keypoints")
    return report, problems


def check_layout(root: str | Path) -> tuple[list[SplitReport], list[str]]:
    """Both splits of a COCO root; raises FileNotFoundError if ``root`` is not a folder."""
    root = Path(root)
    if not root.is_dir():
        raise FileNotFoundError(f"{root} is not a folder")
    reports, problems = [], []
    for split in SPLITS:
        r, p = check_split(root, split)
        reports.append(r)
        problems += p
    return reports, problems


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description="Check a COCO 2017 keypoints folder (annotations/, train2017/, "
                                             "val2017/) and count its images and people.")
    ap.add_argument("root", help="the COCO folder, e.g. /data/coco")
    args = ap.parse_args(argv)
    try:
        reports, problems = check_layout(args.root)
    except FileNotFoundError as e:
        print(f"check_coco.py: error: {e}", file=sys.stderr)
        return 1
    print("| split | images | people with keypoints | on disk |")
    print("|---|---|---|---|")
    for r in reports:
        print(f"| {r.name} | {r.images - len(r.missing)} of {r.images} | {r.people} | {r.bytes / 2**30:.2f} GiB |")
    for p in problems:
        print(f"check_coco.py: error: {p}", file=sys.stderr)
    if problems:
        return 1
    root = Path(args.root).resolve()
    print(f"layout ok: set train_ann: {root}/annotations/person_keypoints_train2017.json, train_images: "
          f"{root}/train2017 (and the val pair) in configs/coco-openpose.yaml")
    return 0


if __name__ == "__main__":
    sys.exit(main())
