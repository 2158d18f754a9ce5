"""The ``ssapose`` command line around a run: usage errors, every flag's help, outputs (mp4, CSV, Parquet),
Ctrl-C, the sweep plot and the evaluation's image layout."""
import argparse
import time

import numpy as np
import pytest

from app.cli import main

from conftest import DATA, DEMO


def test_video_cli_errors(tmp_path, capsys, small_model):
    assert main(["video", str(tmp_path / "missing.mp4")]) == 1
    assert "not found" in capsys.readouterr().err
    assert main(["video", str(DATA / "coco_tiny"), "--model", str(tmp_path / "none.pt")]) == 1
    assert "not found" in capsys.readouterr().err
    # one rule for outputs, checked before any work: the extension must fit, a missing folder is made
    assert main(["video", str(DATA / "coco_tiny"), "--model", small_model, "--out", str(tmp_path / "x.txt")]) == 1
    assert "must end in .mp4" in capsys.readouterr().err and not (tmp_path / "x.txt").exists()
    (tmp_path / "adir.jsonl").mkdir()               # an existing folder is where --json writes NAME.jsonl
    assert main(["video", str(DATA / "coco_tiny"), "--model", small_model, "--json", str(tmp_path / "adir.jsonl")]) == 0
    assert (tmp_path / "adir.jsonl" / "coco_tiny.jsonl").is_file()
    out = tmp_path / "no/such/dir/out.mp4"
    assert main(["video", str(DATA / "coco_tiny"), "--model", small_model, "--out", str(out)]) == 0
    assert out.stat().st_size > 0
    for bad in ("0", "-5", "abc"):
        with pytest.raises(SystemExit) as e:
            main(["video", "--input-size", bad])
        assert e.value.code == 2
    assert "--input-size" in capsys.readouterr().err


def test_usage_errors_show_the_subcommands_own_usage(capsys):
    with pytest.raises(SystemExit) as e:
        main(["video", "--bogus"])
    assert e.value.code == 2
    err = capsys.readouterr().err
    assert err.startswith("usage: ssapose video") and "--bogus" in err
    assert main(["engine"]) == 2
    assert "usage: ssapose engine" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        main(["engine", "build", "m.onnx", "--out", "m.engine", "--zzz"])
    assert capsys.readouterr().err.startswith("usage: ssapose engine build")


def test_video_csv_has_a_row_per_person_and_frame(tmp_path, small_model):
    import csv as csvmod
    out = tmp_path / "t.csv"
    assert main(["video", str(DATA / "coco_tiny"), "--model", small_model, "--csv", str(out)]) == 0
    lines = out.read_text().splitlines()
    assert lines[0].startswith("# source:") and any(line.startswith("# tracker: two-stage OKS") for line in lines)
    assert "# shown_score: 0.1" in lines                    # the lowest person score of the rows (tracked kept)
    assert lines[-1].startswith("# tracking: ") and "confirmed tracks" in lines[-1]     # the summary, at the end
    rows = list(csvmod.DictReader(line for line in lines if not line.startswith("#")))
    header = next(line for line in lines if not line.startswith("#")).split(",")
    assert header[:4] == ["frame", "time", "track_id", "score"] and "left_wrist_x_smooth" in header
    assert len(header) == 4 + 17 * 5
    assert all(int(r["track_id"]) == -1 or int(r["track_id"]) >= 1 for r in rows)   # 4 unrelated images


def test_sweep_plot_is_written(tmp_path):
    pytest.importorskip("matplotlib")
    from app.bench import Row, plot_sweep
    rows = [Row("m.xml", "openvino", "int8", h, 10.0, 1.0, fps, "inference", 0.95, ap)
            for h, fps, ap in ((160, 200, 0.2), (368, 40, 0.47))]
    out = tmp_path / "sweep.png"
    plot_sweep(rows, str(out))
    assert out.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_plot_needs_sweep(capsys):
    assert main(["benchmark", "--plot", "x.png"]) == 1
    assert "--plot goes with --sweep" in capsys.readouterr().err


def test_every_flag_of_every_command_explains_itself():
    import argparse

    from app.cli import build_parser

    def parsers(p, name="ssapose"):
        yield name, p
        for action in p._actions:
            if isinstance(action, argparse._SubParsersAction):
                for sub_name, sub in action.choices.items():
                    yield from parsers(sub, f"{name} {sub_name}")

    missing = [f"{name} {a.option_strings or a.dest}" for name, p in parsers(build_parser()) for a in p._actions
               if not isinstance(a, (argparse._HelpAction, argparse._SubParsersAction)) and not a.help]
    assert not missing, missing


def test_ctrl_c_keeps_every_frame_written(tmp_path, small_model):
    """SIGINT mid-run: exit 130, and the JSON Lines file holds the header and whole frames so far."""
    import signal
    import subprocess
    import sys

    from engines.sinks.files import read_json_lines
    from conftest import ROOT

    out = tmp_path / "poses.jsonl"
    # A suite started in the background (`cmd &` in a script) inherits SIGINT ignored, and Python then installs
    # no Ctrl-C handler in the child: give the child the default disposition, as a terminal does.
    proc = subprocess.Popen([sys.executable, "-m", "app.cli", "video", str(DEMO), "--model", small_model,
                             "--input-size", "128", "--json", str(out)], cwd=ROOT, stderr=subprocess.PIPE, text=True,
                            preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))
    deadline = time.time() + 60
    while time.time() < deadline and (not out.exists() or out.read_text().count("\n") < 6):
        time.sleep(0.1)
    proc.send_signal(signal.SIGINT)
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == 130 and "interrupted" in err
    header, frames_written = read_json_lines(str(out))
    assert header["source"] == str(DEMO) and len(frames_written) >= 5
    assert [f["frame"] for f in frames_written] == list(range(len(frames_written)))


def test_eval_finds_images_in_the_coco_layout(tmp_path):
    import shutil

    from ssapose.coco import find_image_dir, load_coco
    root = tmp_path / "coco"
    (root / "annotations").mkdir(parents=True)
    ann = root / "annotations" / "person_keypoints_val2017.json"
    shutil.copy(DATA / "coco_mini" / "annotations" / "person_keypoints_val2017.json", ann)
    shutil.copytree(DATA / "coco_mini" / "val2017", root / "images" / "val2017")
    assert find_image_dir(str(ann), load_coco(str(ann))) == str(root / "images" / "val2017")
    shutil.rmtree(root / "images")
    with pytest.raises(FileNotFoundError, match="--images"):
        find_image_dir(str(ann), load_coco(str(ann)))


def test_video_table_as_parquet(tmp_path):
    """The Parquet table holds the CSV's rows (the environment `make` builds has pandas and pyarrow: no skip)."""
    import pandas as pd

    from ssapose import paths

    if not paths.DEFAULT_MODEL.exists():
        pytest.skip("the default model is built by make")
    out, csv = tmp_path / "t.parquet", tmp_path / "t.csv"
    for table in (out, csv):
        assert main(["video", str(DATA / "coco_tiny"), "--csv", str(table)]) == 0
    df, want = pd.read_parquet(out), pd.read_csv(csv, comment="#")
    assert list(df.columns[:4]) == ["frame", "time", "track_id", "score"] and len(df.columns) == 4 + 17 * 5
    assert df["nose_x"].dtype.kind == "f"                     # missing keypoints are nulls, not strings
    assert len(df) == len(want) > 0 and np.allclose(df["score"], want["score"])
    assert np.allclose(df["nose_x"].fillna(-1), want["nose_x"].fillna(-1))
    assert not list(tmp_path.glob(".*partial*"))


def test_parquet_without_pandas_says_what_to_install(tmp_path, small_model, monkeypatch, capsys):
    import importlib.util
    real = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec", lambda name, *a: None if name in ("pandas", "pyarrow")
                        else real(name, *a))
    assert main(["video", str(DATA / "coco_tiny"), "--model", small_model, "--csv", str(tmp_path / "t.parquet")]) == 1
    assert "pip install 'ssapose[table]'" in capsys.readouterr().err


def test_the_overlay_flags_default_to_the_overlays_own_defaults():
    """--kp-threshold, --limb-threshold, --line-width, --no-ids and --no-fps: left out, the overlay is
    ``DrawStyle()``; given, it is what they say."""
    from app.cli import build_parser
    from app.video_run import draw_style
    from ssapose.overlay import DrawStyle

    parser = build_parser()
    assert draw_style(parser.parse_args(["video", "clip.mp4"])) == DrawStyle()
    args = parser.parse_args(["video", "clip.mp4", "--kp-threshold", "0.3", "--limb-threshold", "0.4",
                              "--line-width", "5", "--no-ids", "--no-fps"])
    assert draw_style(args) == DrawStyle(0.3, 0.4, 5, show_ids=False, show_fps=False)


def test_help_says_what_an_option_does_not_where_its_default_came_from():
    """Where a default was chosen is for BENCHMARKS.md; --help says what an option does and in which unit."""
    from app.cli import build_parser

    def parsers(p):
        yield p
        for a in p._actions:
            if isinstance(a, argparse._SubParsersAction):
                for sub in a.choices.values():
                    yield from parsers(sub)

    for p in parsers(build_parser()):
        text = p.format_help()
        for word in ("chosen", "train2017 only", "measured:"):
            assert word not in text, f"{p.prog}: {word!r} in --help"
