"""--mode, --flip and --scales: parsing, precedence, and that every command and the API pass them on."""
import argparse

import pytest

from engines.cli import scale_list, tta_choice
from engines.modes import MODES, Mode
from ssapose.model_card import DEFAULT_INPUT_HEIGHT


def _args(**kw):
    d = dict(mode="default", flip=False, scales=None, input_size=DEFAULT_INPUT_HEIGHT)
    d.update(kw)
    return argparse.Namespace(**d)


def test_scale_lists():
    assert scale_list("1,1.5") == (1.0, 1.5)
    for bad in ("1.5,2", "1,x", "0,1", "1,5"):
        with pytest.raises(argparse.ArgumentTypeError):
            scale_list(bad)


def test_modes_and_their_overrides():
    assert tta_choice(_args()) == Mode(DEFAULT_INPUT_HEIGHT, False, (1.0,))
    assert tta_choice(_args(mode="fast")).height == 256
    assert tta_choice(_args(mode="fast", input_size=320)).height == 320           # an explicit height wins
    acc = tta_choice(_args(mode="accurate"))
    assert acc.flip and acc.scales == (1.0, 1.5) and acc.cost == pytest.approx(6.5)
    assert tta_choice(_args(mode="accurate", scales=(1.0, 2.0))).scales == (1.0, 2.0)
    assert tta_choice(_args(flip=True)).flip and MODES["default"].cost == 1.0


def test_eval_video_and_the_api_run_the_modes(tmp_path, capsys):
    from app.cli import main
    from ssapose import paths

    from conftest import DEMO, TINY_ANN

    if not paths.DEFAULT_MODEL.exists():
        pytest.skip("the default model is built by make")
    assert main(["eval", "--ann", str(TINY_ANN), "--mode", "accurate"]) == 0
    assert "flipped, scales (1.0, 1.5)" in capsys.readouterr().out
    out = tmp_path / "p.jsonl"
    assert main(["video", str(DEMO), "--scales", "1,1.5", "--max-frames", "2", "--json", str(out)]) == 0
    assert out.read_text().count("\n") == 3

    import engines

    with engines.load(mode="accurate") as est:
        assert est._run.flip and est._run.scales == (1.0, 1.5)
