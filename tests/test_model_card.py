"""The model card travels with the weights: a network trained with offsets decodes with them by default,
through every file format, and a flag still overrides it."""
import pytest

from engines.run.pipeline import Pipeline, PipelineConfig
from engines import create_backend
from engines.run.step import FrameStep
from ssapose.decode import DecoderChoice, DecoderConfig
from ssapose.model_card import get_config


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    """A lite network trained one step by train.py, with offsets."""
    from training.config import TrainConfig
    from training.synthetic import ensure_generated
    from training.train import train

    root = tmp_path_factory.mktemp("card")
    ensure_generated(root / "syn", 2, 1, seed=3, size=64)
    cfg = TrainConfig(synthetic=True, synthetic_dir=str(root / "syn"), synthetic_train=2, synthetic_val=1,
                      synthetic_seed=3, input_size=64, width=16, batch_size=2, iterations=1, workers=0,
                      eval_every=10 ** 6, out=str(root / "run"), optimizer="adam", lr=1e-4)
    return str(train(cfg))


def test_a_trained_network_decodes_with_its_offsets_by_default(trained):
    be = create_backend(trained)
    assert be.info.config.refine == "offsets"
    assert FrameStep(be).decoder.refine == "offsets"
    pipe = Pipeline([], be, PipelineConfig())
    assert pipe.estimator.decoder.refine == "offsets"
    assert FrameStep(be, decoder=DecoderChoice(refine="fit")).decoder.refine == "fit"      # a flag wins


def test_the_card_survives_onnx_export(trained, tmp_path):
    pytest.importorskip("onnx")
    from engines.export import export_onnx
    from engines.onnx_backend import read_info

    out = tmp_path / "m.onnx"
    export_onnx(trained, str(out), 64)
    assert read_info(str(out)).config.refine == "offsets"


def test_defaults_resolve_in_order():
    assert DecoderChoice().resolve() == DecoderConfig()
    assert DecoderChoice().resolve("upsample").refine == "upsample"
    assert DecoderChoice(refine="none").resolve("upsample").refine == "none"
    assert get_config("lwop").refine == "fit"              # the shipped model's choice, made on train2017
