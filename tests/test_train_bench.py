"""The training benchmark's smoke run, and the COCO layout check on a good and on broken layouts."""
import json
import shutil


from training import bench, check_coco

from conftest import DATA

MINI = DATA / "coco_mini"


def test_bench_smoke_run_prints_the_three_parts(capsys):
    assert bench.main(["--quick"]) == 0
    out = capsys.readouterr().out
    assert "1. data pipeline" in out and "2. model alone" in out and "3. whole loop" in out
    rows = [line for line in out.splitlines() if line.startswith("| reduced JPEG")]
    assert rows and float(rows[0].split("|")[-2]) > 0           # samples/s per worker
    assert "limited by the model" in out or "limited by the loader" in out


def test_layout_check_passes_on_coco_mini(capsys):
    assert check_coco.main([str(MINI)]) == 0
    out = capsys.readouterr().out
    assert "| train2017 | 80 of 80 | 86 |" in out and "| val2017 | 79 of 79 | 68 |" in out


def _copy_mini(tmp_path):
    root = tmp_path / "coco"
    shutil.copytree(MINI / "annotations", root / "annotations")
    for split in ("train2017", "val2017"):
        (root / split).mkdir()
        for f in (MINI / split).iterdir():
            (root / split / f.name).symlink_to(f)
    return root


def test_layout_check_names_what_is_missing(tmp_path, capsys):
    root = _copy_mini(tmp_path)
    gone = sorted((root / "train2017").iterdir())[:2]
    for f in gone:
        f.unlink()
    shutil.rmtree(root / "val2017")
    assert check_coco.main([str(root)]) == 1
    err = capsys.readouterr().err
    assert "train2017: 2 of 80 images" in err and gone[0].name in err
    assert "val2017/ is missing" in err


def test_layout_check_refuses_a_file_that_is_not_coco(tmp_path, capsys):
    root = _copy_mini(tmp_path)
    (root / "annotations" / "person_keypoints_val2017.json").write_text(json.dumps({"info": {}}))
    assert check_coco.main([str(root)]) == 1
    assert "not a COCO annotation file" in capsys.readouterr().err
    assert check_coco.main([str(tmp_path / "nowhere")]) == 1
    assert "is not a folder" in capsys.readouterr().err
