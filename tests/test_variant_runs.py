"""Run folder, resume, export and the onnxruntime wrapper for the conditional and translation variants."""

import os
import shutil

import numpy as np
import onnx
import pytest

from zoo.runtime import OnnxGenerator
from tests.helpers import TINY
from tests.helpers import history
from training.__main__ import main
from training.train import train


def test_cgan_export_has_z_and_label_inputs(cgan_run):
    run, manifest = cgan_run
    entry = manifest["generators"]["generator"]
    assert entry["inputs"] == ["z", "label"] and max(entry["max_abs_difference"].values()) <= 1e-5
    model = onnx.load(os.path.join(run, "export", "generator.onnx"))
    props = {p.key: p.value for p in model.metadata_props}
    assert props["kind"] == "conditional" and props["num_classes"] == "10"


def test_cgan_wrapper_labels(cgan_run):
    run, _ = cgan_run
    generator = OnnxGenerator(os.path.join(run, "export", "generator.onnx"))
    z = generator.latents(3, seed=0)
    same_class = generator.generate(z, labels=4)
    np.testing.assert_array_equal(same_class, generator.generate(z, labels=[4, 4, 4]))
    assert not np.allclose(same_class, generator.generate(z, labels=[4, 5, 6]))
    assert generator.sample(5, seed=1, labels=2).shape == (5, 28, 28, 1)
    np.testing.assert_array_equal(generator.sample(5, seed=1), generator.sample(5, seed=1))  # random labels
    with pytest.raises(ValueError, match=r"label 10 is outside \[0, 10\)"):
        generator.sample(2, labels=[3, 10])
    with pytest.raises(ValueError, match=r"label -1 is outside"):
        generator.sample(2, labels=-1)
    with pytest.raises(ValueError, match="one label for all images or one per image"):
        generator.sample(3, labels=[1, 2])
    with pytest.raises(TypeError, match="labels must be integers"):
        generator.sample(2, labels=[1.5, 2.0])
    with pytest.raises(ValueError, match="pass labels"):
        generator.generate(z)
    assert generator.interpolate(z[0], z[1], steps=4, label=7).shape == (4, 28, 28, 1)


def test_unconditional_generator_refuses_labels(trained_run):
    run, _ = trained_run
    generator = OnnxGenerator(os.path.join(run, "export", "generator.onnx"))
    with pytest.raises(ValueError, match="not conditional"):
        generator.sample(2, labels=1)
    with pytest.raises(ValueError, match="use sample()"):
        generator.translate(np.zeros((1, 28, 28, 1), np.uint8))


def test_cyclegan_exports_both_directions(cyclegan_run):
    run, manifest = cyclegan_run
    assert set(manifest["generators"]) == {"generator_ab", "generator_ba"}
    for name, entry in manifest["generators"].items():
        assert entry["inputs"] == ["image"] and max(entry["max_abs_difference"].values()) <= 1e-4
        model = onnx.load(os.path.join(run, "export", f"{name}.onnx"))
        props = {p.key: p.value for p in model.metadata_props}
        assert props["kind"] == "translation" and props["direction"] == {"generator_ab": "A->B",
                                                                         "generator_ba": "B->A"}[name]
        dims = [d.dim_param or d.dim_value for d in model.graph.input[0].type.tensor_type.shape.dim]
        assert isinstance(dims[0], str) and dims[1:] == [28, 28, 1]


def test_translate_returns_the_kind_it_was_given(cyclegan_run):
    run, _ = cyclegan_run
    generator = OnnxGenerator(os.path.join(run, "export", "generator_ab.onnx"), batch_size=3)
    images = np.random.default_rng(0).integers(0, 256, (5, 28, 28, 1)).astype(np.uint8)
    translated = generator.translate(images)
    assert translated.dtype == np.uint8 and translated.shape == images.shape
    floats = images.astype(np.float32) / 127.5 - 1
    as_float = generator.translate(floats)
    assert as_float.dtype == np.float32 and np.abs(as_float - (translated / 127.5 - 1)).max() < 0.01
    assert generator.translate(images[0]).shape == (28, 28, 1)
    with pytest.raises(ValueError, match=r"images must have shape \(n, 28, 28, 1\)"):
        generator.translate(np.zeros((2, 32, 32, 1), np.uint8))
    with pytest.raises(ValueError, match=r"float images must lie in \[-1.0, 1.0\]"):
        generator.translate(np.full((1, 28, 28, 1), 3.0, np.float32))
    with pytest.raises(TypeError, match="uint8 or float"):
        generator.translate(np.zeros((1, 28, 28, 1), np.int64))
    with pytest.raises(ValueError, match="use translate()"):
        generator.sample(2)


def test_cyclegan_resumes_with_its_pools_and_schedule(cyclegan_run, tmp_path):
    run = str(tmp_path / "cyclegan")
    shutil.copytree(cyclegan_run[0], run)
    model = train({"epochs": 2}, run, resume=True, verbose=0)
    assert [row["epoch"] for row in history(run)] == ["1", "2"] and model.steps_trained == 8
    assert int(np.asarray(model.pool_a.count.value)) == 50  # 8 steps x 16 fakes, capped at the pool size


def test_wgan_resume_matches_an_uninterrupted_run(tmp_path):
    config = {**TINY, "model": "wgan", "critic_schedule": "constant", "epochs": 2}
    straight = train(config, str(tmp_path / "straight"), verbose=0)
    train({**config, "epochs": 1}, str(tmp_path / "resumed"), verbose=0)
    resumed = train({"epochs": 2}, str(tmp_path / "resumed"), resume=True, verbose=0)
    assert resumed.steps_trained == straight.steps_trained == 3  # 16 critic steps, 5 per generator step
    for a, b in zip(straight.generator.weights, resumed.generator.weights):
        np.testing.assert_allclose(np.array(a), np.array(b), rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("argv,message", [
    (["--model", "wgan", "--divergence", "kl"], "option 'divergence' does not apply to model 'wgan' "
                                                "(it belongs to fgan)"),
    (["--model", "cyclegan", "--latent-dim", "8"], "option 'latent_dim' does not apply to model 'cyclegan'"),
    (["--model", "gan", "--gp-weight", "5"], "it belongs to wgan_gp"),
    (["--model", "cgan", "--dataset", "fashion_mnist:5-7"], "cgan cannot train on fashion_mnist:5-7"),
    (["--model", "cyclegan", "--dataset", "fashion_mnist"], "two image domains"),
    (["--model", "cyclegan", "--dataset", "fashion_mnist:5-5"], "two different numbers"),
    (["--model", "fgan", "--divergence", "bhattacharyya"], "invalid choice: 'bhattacharyya'"),
    (["--model", "cyclegan", "--identity-weight", "-1"], "identity_weight must be zero or more"),
])
def test_options_of_other_variants_and_unusable_data_are_refused(argv, message, capsys, tmp_path):
    try:
        code = main(argv + ["--out", str(tmp_path / "run"), "--train-examples", "64"])
    except SystemExit as exit_:
        code = exit_.code
    err = capsys.readouterr().err
    assert code == 2 and message in err, err
    assert not os.path.exists(tmp_path / "run")
