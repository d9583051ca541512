"""One harness for every registered variant: a run trains, resumes exactly where it stopped, and exports
generators that onnxruntime runs as Keras does. A variant added to zoo.models.VARIANTS is covered here by
being registered: the harness reads what it needs (options, defaults, the dataset it trains on) from the
registry. (A train step moving every net is checked per variant in tests/test_models.py.)
"""

import os

import numpy as np
import pytest

from tests.helpers import TINY, history
from training.config import options_for
from training.train import train
from zoo.models import VARIANTS
from zoo.runtime import OnnxGenerator

#: two steps an epoch: enough to write, resume and export a run, at the least cost
HARNESS = {**TINY, "train_examples": 64, "epochs": 1}


@pytest.fixture(scope="module", params=sorted(VARIANTS))
def variant_run(request, tmp_path_factory):
    """A one-epoch run of the variant on its default dataset, the tiny options that apply to it."""
    name = request.param
    config = {"model": name, **{key: value for key, value in HARNESS.items() if key in options_for(name)}}
    out = str(tmp_path_factory.mktemp(name) / "run")
    train(config, out, verbose=0)
    return config, out


def test_a_resumed_run_goes_on_from_its_last_epoch(variant_run):
    config, out = variant_run
    train({**config, "epochs": 2}, out, resume=True, verbose=0)
    assert [int(row["epoch"]) for row in history(out)] == [1, 2]


def test_every_generator_exports_and_runs_under_onnxruntime(variant_run):
    from export.writer import export_run

    config, out = variant_run
    manifest = export_run(out, out=os.path.join(out, "harness-export"))
    assert manifest["generators"]
    for name, exported in manifest["generators"].items():
        assert max(exported["max_abs_difference"].values()) <= 1e-4, name
        generator = OnnxGenerator(os.path.join(out, "harness-export", exported["onnx"]))
        if generator.kind == "translation":
            images = np.random.default_rng(0).integers(0, 256, (3, *generator.output_shape)).astype(np.uint8)
            result = generator.translate(images)
        else:
            result = generator.sample(3, seed=0)
        assert result.shape[0] == 3 and np.isfinite(result.astype(np.float32)).all(), name
