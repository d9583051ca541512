import os
import subprocess
import sys

import numpy as np
import onnx
import pytest
from onnx import TensorProto, helper

from zoo.runtime import GeneratorFileError, OnnxGenerator, slerp, to_uint8
from tests.tiny_hub import LATENT_DIM, NUM_CLASSES, SIDE, tiny_generator


@pytest.fixture(scope="module")
def generator(trained_run):
    run, _ = trained_run
    return OnnxGenerator(os.path.join(run, "export", "generator.onnx"))


def test_sample_shapes_types_and_seeds(generator):
    images = generator.sample(5, seed=1)
    floats = generator.sample(5, seed=1, output="float")
    assert images.shape == (5, 28, 28, 1) and images.dtype == np.uint8
    assert floats.dtype == np.float32 and -1 <= floats.min() and floats.max() <= 1
    np.testing.assert_array_equal(images, to_uint8(floats))
    np.testing.assert_array_equal(images, generator.sample(5, seed=1))
    assert not np.array_equal(images, generator.sample(5, seed=2))
    assert generator.providers == ["CPUExecutionProvider"]


def test_large_n_is_batched_with_the_same_result(generator, trained_run):
    small_batches = OnnxGenerator(generator.path, batch_size=3, threads=1)
    z = generator.latents(600, seed=0)
    np.testing.assert_allclose(small_batches.generate(z[:10]), generator.generate(z[:10]), atol=1e-6)
    assert generator.generate(z).shape == (600, 28, 28, 1)
    # sample() draws z batch by batch: the same stream as latents(n, seed)
    np.testing.assert_allclose(small_batches.sample(20, seed=4, output="float"),
                               generator.generate(generator.latents(20, seed=4)), atol=1e-6)


@pytest.mark.parametrize("z,error,message", [
    (np.zeros((2, 15), np.float32), ValueError, r"shape \(n, 16\)"),
    (np.zeros((0, 16), np.float32), ValueError, "n >= 1"),
    (np.zeros(16, np.float32), ValueError, r"shape \(n, 16\)"),
    (np.zeros((2, 16), np.int64), TypeError, "must hold floats"),
    ([[0.0] * 16], TypeError, "numpy array"),
    (np.full((2, 16), np.nan, np.float32), ValueError, "NaN"),
])
def test_bad_latents_are_rejected_clearly(generator, z, error, message):
    with pytest.raises(error, match=message):
        generator.generate(z)


def test_float64_latents_are_accepted(generator):
    z = np.random.default_rng(0).standard_normal((2, 16))
    np.testing.assert_allclose(generator.generate(z), generator.generate(z.astype(np.float32)))


@pytest.mark.parametrize("n", [0, -3, 2.5, True, "4"])
def test_bad_counts(generator, n):
    with pytest.raises(ValueError, match="positive integer"):
        generator.sample(n)


def test_bad_files_and_options(tmp_path, generator):
    with pytest.raises(FileNotFoundError, match="python -m export"):
        OnnxGenerator(tmp_path / "missing.onnx")
    text = tmp_path / "notes.onnx"
    text.write_text("not a model")
    with pytest.raises(GeneratorFileError, match="is not a loadable ONNX file"):
        OnnxGenerator(text)
    identity = helper.make_model(helper.make_graph(
        [helper.make_node("Identity", ["z"], ["images"])], "plain",
        [helper.make_tensor_value_info("z", TensorProto.FLOAT, [None, 4])],
        [helper.make_tensor_value_info("images", TensorProto.FLOAT, [None, 4])]),
        opset_imports=[helper.make_opsetid("", 18)])
    onnx.save(identity, tmp_path / "plain.onnx")
    with pytest.raises(GeneratorFileError, match="not a gan-zoo generator"):
        OnnxGenerator(tmp_path / "plain.onnx")
    with pytest.raises(ValueError, match="not in this onnxruntime build"):
        OnnxGenerator(generator.path, providers=["NoSuchExecutionProvider"])
    with pytest.raises(ValueError, match="output must be"):
        generator.sample(2, output="png")


def test_interpolation_runs_from_z0_to_z1(generator):
    z0, z1 = generator.latents(2, seed=5)
    path = generator.interpolate(z0, z1, steps=5, output="float")
    assert path.shape == (5, 28, 28, 1)
    np.testing.assert_allclose(path[[0, -1]], generator.generate(np.stack([z0, z1])), atol=1e-5)
    norms = np.linalg.norm(slerp(z0, z1, 9), axis=1)
    assert norms.min() > 0.9 * min(np.linalg.norm(z0), np.linalg.norm(z1))  # no dip through the origin
    with pytest.raises(ValueError, match="z0 must have shape"):
        generator.interpolate(z0[:3], z1)


def test_runtime_needs_neither_tensorflow_nor_keras(generator):
    script = (
        "import sys\n"
        "for name in ('tensorflow', 'keras', 'tf2onnx', 'onnx'):\n"
        "    sys.modules[name] = None  # importing them now raises ImportError\n"
        "from zoo.runtime import OnnxGenerator\n"
        f"print(OnnxGenerator({generator.path!r}).sample(3, seed=0).shape)\n"
    )
    result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                            cwd=os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "(3, 28, 28, 1)"


@pytest.mark.parametrize("kind", ["noise", "conditional", "translation"])
def test_tiny_generators_with_true_metadata_load(tmp_path, kind):
    generator = OnnxGenerator(tiny_generator(str(tmp_path / "generator.onnx"), kind))
    assert generator.output_shape == (SIDE, SIDE, 1) and generator.value_range == (-1.0, 1.0)
    assert generator.latent_dim == (0 if kind == "translation" else LATENT_DIM)
    assert generator.num_classes == (NUM_CLASSES if kind == "conditional" else 0)


@pytest.mark.parametrize("kind,lie,field", [
    ("noise", {"latent_dim": "abc"}, "latent_dim"),
    ("noise", {"latent_dim": "-16"}, "latent_dim"),
    ("noise", {"latent_dim": "0"}, "latent_dim"),
    ("noise", {"latent_dim": "16.0"}, "latent_dim"),
    ("noise", {"latent_dim": "true"}, "latent_dim"),
    ("noise", {"latent_dim": "17"}, "latent_dim"),  # the model's z input has 16
    ("noise", {"latent_dim": str(10 ** 12)}, "latent_dim"),
    ("noise", {"value_range": "[1.0, -1.0]"}, "value_range"),
    ("noise", {"value_range": "[0, 0]"}, "value_range"),
    ("noise", {"value_range": "[NaN, 1]"}, "value_range"),
    ("noise", {"value_range": "[-Infinity, 1]"}, "value_range"),
    ("noise", {"value_range": "[-1]"}, "value_range"),
    ("noise", {"value_range": '"wide"'}, "value_range"),
    ("noise", {"value_range": "[true, 2]"}, "value_range"),
    ("noise", {"value_range": "[" * 100_000}, "value_range"),
    ("noise", {"image_shape": "[5, 4, 1]"}, "image_shape"),  # the model's output is (n, 4, 4, 1)
    ("noise", {"image_shape": "[4, 4]"}, "image_shape"),
    ("noise", {"image_shape": "[4, 4, 2]"}, "image_shape"),
    ("noise", {"image_shape": "[-4, -4, 1]"}, "image_shape"),
    ("noise", {"image_shape": "x" * 10_000_000}, "image_shape"),
    ("conditional", {"num_classes": "0"}, "num_classes"),
    ("conditional", {"num_classes": None}, "num_classes"),
    ("conditional", {"num_classes": "2.5"}, "num_classes"),
    ("translation", {"image_shape": "[3, 4, 1]"}, "image_shape"),  # the model's image input is (n, 4, 4, 1)
    ("noise", {"kind": "translation"}, "kind"),  # a translator has an image input, not z
    ("translation", {"kind": "conditional", "latent_dim": "16", "num_classes": "3"}, "kind"),
])
def test_metadata_that_lies_is_refused_naming_the_field(tmp_path, kind, lie, field):
    path = tiny_generator(str(tmp_path / "generator.onnx"), kind, lie)
    with pytest.raises(GeneratorFileError, match=f"its '{field}' metadata does not describe") as error:
        OnnxGenerator(path)
    assert len(str(error.value)) < 600  # a 10 MB value is not echoed back


def test_labels_beyond_64_bits_are_outside_the_classes(tmp_path):
    generator = OnnxGenerator(tiny_generator(str(tmp_path / "generator.onnx"), "conditional"))
    for labels in (2 ** 70, -2 ** 70, [0, 2 ** 70]):
        with pytest.raises(ValueError, match=rf"\[0, {NUM_CLASSES}\)"):
            generator.sample(2, labels=labels)
