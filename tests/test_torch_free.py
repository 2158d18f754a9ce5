"""The inference path needs no torch: ``video`` and ``eval`` on the INT8 IR run with torch made unimportable."""
import subprocess
import sys

import pytest

from ssapose import paths

from conftest import DATA, DEMO, ROOT

# A meta-path hook that refuses torch, then the command line; at the end, prove torch never loaded.
BLOCK = """
import sys
class NoTorch:
    def find_spec(self, name, path=None, target=None):
        if name == "torch" or name.startswith("torch."):
            raise ImportError("torch is blocked in this test")
sys.meta_path.insert(0, NoTorch())
from app.cli import main
rc = main(sys.argv[1:])
assert "torch" not in sys.modules
sys.exit(rc)
"""


@pytest.fixture(scope="module")
def ir():
    if not paths.DEFAULT_MODEL.exists():
        pytest.skip("the default model is built by make")
    return str(paths.DEFAULT_MODEL)


def _run(*args):
    return subprocess.run([sys.executable, "-c", BLOCK, *args], cwd=ROOT, capture_output=True, text=True, timeout=300)


def test_video_on_the_ir_without_torch(ir, tmp_path):
    done = _run("video", str(DEMO), "--model", ir, "--max-frames", "5", "--json", str(tmp_path / "p.jsonl"),
                "--out", str(tmp_path / "o.mp4"), "--track")
    assert done.returncode == 0, done.stderr[-2000:]
    assert (tmp_path / "p.jsonl").read_text().count("\n") == 6


def test_eval_on_the_ir_without_torch(ir):
    done = _run("eval", "--ann", str(DATA / "coco_tiny" / "test_coco.json"), "--model", ir)
    assert done.returncode == 0 and "AP" in done.stdout, done.stderr[-2000:]


def test_the_block_works():
    """The hook really refuses torch: a .pt model then fails to load, with a clear error."""
    done = _run("video", str(DEMO), "--model", str(ROOT / "models" / "lwop-offsets.pt"), "--max-frames", "1")
    assert done.returncode == 1 and "torch is blocked" in done.stderr
