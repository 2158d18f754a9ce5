"""``ssapose video A B C``: several sources on one model, each output set equal to the source's own single run."""
import shutil

import pytest

from app.cli import main
from app.multi import expand_sources, per_source
from ssapose import paths

from conftest import DATA
from test_batch import _clip

pytestmark = pytest.mark.skipif(not paths.DEFAULT_MODEL.exists(), reason="the default model is built by make")


@pytest.fixture(scope="module")
def sources(tmp_path_factory):
    d = tmp_path_factory.mktemp("sources")
    _clip(d / "a.mp4", 250, 10)
    _clip(d / "b.mp4", 700, 8)
    folder = d / "photos"
    folder.mkdir()
    for f in sorted((DATA / "coco_tiny").rglob("*.jpg"))[:3]:
        shutil.copy(f, folder / f.name)
    return [str(d / "a.mp4"), str(d / "b.mp4"), str(folder)]


def _frames(path):
    """The frame records of a pose file, without their time where that is the wall clock (an image folder)."""
    import json

    lines = [json.loads(x) for x in path.read_text().splitlines()[1:]]
    return [{k: v for k, v in r.items() if k != "time"} for r in lines] if "photos" in str(path) else lines


def test_three_sources_write_what_three_single_runs_write(sources, tmp_path, capsys):
    many = tmp_path / "many"
    assert main(["video", *sources, "--json", f"{many}/", "--csv", str(many / "{name}.csv")]) == 0
    out = capsys.readouterr().out
    assert "3 sources in" in out and "3 processed, 0 failed" in out
    for src, name in zip(sources, ("a", "b", "photos")):
        single = tmp_path / f"single-{name}.jsonl"
        assert main(["video", src, "--json", str(single), "--csv", str(tmp_path / f"single-{name}.csv")]) == 0
        got, want = _frames(many / f"{name}.jsonl"), _frames(single)
        assert got == want and len(got) >= 3, name                 # the same frames and poses
        assert (many / f"{name}.csv").exists()


def test_a_list_file_and_output_rules(sources, tmp_path):
    listing = tmp_path / "cams.txt"
    listing.write_text("# two clips\n" + "\n".join(sources[:2]) + "\n")
    assert expand_sources([str(listing)]) == sources[:2]
    assert per_source(str(tmp_path / "{name}.jsonl"), "a", ".jsonl") == str(tmp_path / "a.jsonl")
    with pytest.raises(ValueError, match="folder"):
        per_source(str(tmp_path / "poses.jsonl"), "a", ".jsonl")
    assert main(["video", *sources[:2], "--json", str(tmp_path / "one.jsonl")]) == 1


def test_one_bad_source_does_not_stop_the_others(sources, tmp_path, capsys):
    missing = str(tmp_path / "nowhere.mp4")
    assert main(["video", sources[0], missing, "--json", f"{tmp_path}/o/"]) == 1
    captured = capsys.readouterr()
    assert "1 processed, 1 failed" in captured.out and "nowhere" in captured.err
    assert len((tmp_path / "o" / "a.jsonl").read_text().splitlines()) == 11
