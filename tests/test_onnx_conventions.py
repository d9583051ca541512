"""ONNX conventions (issue 16): the batch dimension named `n`, test_data_set_0/ beside every exported and
published generator (read on the deploy side without the onnx package) and `python -m zoo verify` that
runs it, class names in the metadata and labels given by name."""

import json
import os
import shutil
import subprocess
import sys

import numpy as np
import onnx
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from onnx import TensorProto, helper, numpy_helper

from tests.tiny_hub import file_record, tiny_generator, write_index, write_tiny_hub
from tests.test_hub_safety import assert_refused, run_zoo
from zoo.classifier import CLASS_NAMES
from zoo.hub import Hub, HubError, check_file_name
from zoo.prior import classes_in_turn, latents
from zoo.runtime import GeneratorFileError, LabelError, OnnxGenerator
from zoo.testdata import TEST_SET, VerificationError, find_test_sets, parse_tensor, read_tensor, run_test_set

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def shape_of(value):
    return [d.dim_param or d.dim_value for d in value.type.tensor_type.shape.dim]


def write_tensors(folder, tensors):
    """A test set: file name -> (tensor name, array), written as onnx.numpy_helper writes them."""
    os.makedirs(folder, exist_ok=True)
    for file_name, (name, array) in tensors.items():
        with open(os.path.join(folder, file_name), "wb") as f:
            f.write(numpy_helper.from_array(np.asarray(array), name).SerializeToString())


# --- the TensorProto reader, against the onnx package ------------------------------------------------

@pytest.mark.parametrize("array", [
    np.arange(12, dtype=np.float32).reshape(3, 4) - 5.5, np.array([0, 3, -7], np.int32), np.array(7, np.int64),
    np.array([[1.5, -2.25]], np.float64), np.array([True, False]), np.arange(6, dtype=np.uint8).reshape(1, 2, 3),
    np.array([0.5, -1], np.float16), np.zeros((0, 3), np.float32), np.array([-(2 ** 40)], np.int64)])
def test_reader_reads_what_numpy_helper_writes(array):
    tensor = numpy_helper.from_array(array, "images")
    name, read = parse_tensor(tensor.SerializeToString(), "test")
    assert name == "images" and read.dtype == array.dtype and read.shape == array.shape
    np.testing.assert_array_equal(read, numpy_helper.to_array(tensor))


def test_reader_takes_unpacked_dims_and_skips_other_fields():
    tensor = numpy_helper.from_array(np.ones((2, 3), np.float32), "z")
    tensor.doc_string = "skipped"
    data = tensor.SerializeToString()
    unpacked = b"\x08\x02\x08\x03" + TensorProto(data_type=1, name="z", raw_data=tensor.raw_data).SerializeToString()
    for serialized in (data, unpacked):
        name, array = parse_tensor(serialized, "test")
        assert name == "z" and array.shape == (2, 3) and (array == 1).all()


@pytest.mark.parametrize("data,fragment", [
    (helper.make_tensor("z", TensorProto.FLOAT, [2], [1.0, 2.0]).SerializeToString(), "raw_data"),
    (numpy_helper.from_array(np.ones(4, np.float32), "z").SerializeToString()[:-3], "cut off"),
    (numpy_helper.from_array(np.array(["a"], object), "s").SerializeToString(), "data type 8"),
    (b"\x08" + b"\xff" * 11, "cut off or too long"),
    (b"\x0b", "wire type 3"),
    (b"\x0a\x21" + b"\x01" * 33 + b"\x10\x01\x4a\x04" + bytes(4), "33 dimensions"),
    (b"\x12\x01\x01", "field 2 has wire type 2"),
    (b"\x08" + b"\xff" * 9 + b"\x01\x10\x01", "negative dimension"),
    (TensorProto(dims=[0], data_type=1, name="\xe9", raw_data=b"").SerializeToString().replace(b"\xc3\xa9", b"\xe9\xe9"),
     "not UTF-8"),
])
def test_reader_refuses_what_it_cannot_read(data, fragment):
    with pytest.raises(VerificationError, match=fragment):
        parse_tensor(data, "test")


@settings(deadline=None, max_examples=300)
@given(st.binary(max_size=64))
def test_reader_refuses_junk_with_its_own_error(data):
    try:
        parse_tensor(data, "junk")
    except VerificationError as error:
        assert "junk" in str(error) and "\n" not in str(error)


# --- the export: batch dimension, test data, class names ---------------------------------------------

def test_batch_dimension_is_n_and_the_test_set_is_beside_the_file(trained_run):
    run, manifest = trained_run
    entry = manifest["generators"]["generator"]
    path = os.path.join(run, "export", "generator.onnx")
    model = onnx.load(path)
    onnx.checker.check_model(model, full_check=True)  # shape inference agrees with the names
    assert [shape_of(v) for v in (*model.graph.input, *model.graph.output)] == [["n", 16], ["n", 28, 28, 1]]
    assert not any(isinstance(d, str) and d.startswith("unk__") for v in model.graph.value_info for d in shape_of(v))
    folder = os.path.join(run, "export", entry["test_data"])
    assert entry["test_data"] == f"generator.{TEST_SET}" and find_test_sets(path) == [folder]
    assert sorted(os.listdir(folder)) == ["input_0.pb", "output_0.pb"]
    name, z = read_tensor(os.path.join(folder, "input_0.pb"))
    assert name == "z" and np.array_equal(z, latents(4, 16, seed=0))
    output = onnx.load_tensor(os.path.join(folder, "output_0.pb"))
    assert output.name == "images" and numpy_helper.to_array(output).shape == (4, 28, 28, 1)
    difference, close = run_test_set(OnnxGenerator(path), folder)
    assert close and difference < 1e-5
    code, out, err = run_zoo("verify", path)
    assert code == 0 and err == "" and out.startswith(f"generator.{TEST_SET}: ok, largest difference ")


def test_conditional_export_names_its_classes_and_labels_its_test_set(cgan_run):
    run, manifest = cgan_run
    path = os.path.join(run, "export", "generator.onnx")
    model = onnx.load(path)
    assert [shape_of(v)[0] for v in (*model.graph.input, *model.graph.output)] == ["n", "n", "n"]
    assert json.loads({p.key: p.value for p in model.metadata_props}["class_names"]) == list(CLASS_NAMES)
    folder = os.path.join(run, "export", manifest["generators"]["generator"]["test_data"])
    assert read_tensor(os.path.join(folder, "input_1.pb"))[0] == "label"
    assert read_tensor(os.path.join(folder, "input_1.pb"))[1].tolist() == [0, 1, 2, 3]
    generator = OnnxGenerator(path)
    assert generator.class_names == CLASS_NAMES
    np.testing.assert_array_equal(generator.sample(3, seed=1, labels="bag"), generator.sample(3, seed=1, labels=8))
    np.testing.assert_array_equal(generator.sample(2, seed=1, labels=["Ankle boot", "t-shirt"]),
                                  generator.sample(2, seed=1, labels=[9, 0]))
    assert run_zoo("verify", path)[0] == 0


def test_conditional_generators_are_asked_for_every_class_in_turn():
    """The labels of evaluation, the hub's plots, the CLI's toy points and the ONNX test sets."""
    labels = classes_in_turn(7, 3)
    assert labels.dtype == np.int32 and labels.tolist() == [0, 1, 2, 0, 1, 2, 0]


def test_cyclegan_export_has_a_test_set_per_direction(cyclegan_run):
    run, manifest = cyclegan_run
    for name in ("generator_ab", "generator_ba"):
        path = os.path.join(run, "export", f"{name}.onnx")
        assert find_test_sets(path) == [os.path.join(run, "export", f"{name}.{TEST_SET}")]
        model = onnx.load(path)
        assert [shape_of(v) for v in (*model.graph.input, *model.graph.output)] == [["n", 28, 28, 1]] * 2
        assert "class_names" not in {p.key for p in model.metadata_props}
        code, out, _ = run_zoo("verify", path)
        assert code == 0 and out.startswith(f"{name}.{TEST_SET}: ok")


# --- class names on the deploy side -------------------------------------------------------------------

@pytest.fixture
def fashion_generator(tmp_path):
    """A tiny conditional generator that says it was trained on Fashion-MNIST (10 classes), with or without
    class names in its metadata."""
    def make(**changes):
        path = str(tmp_path / f"generator-{len(os.listdir(tmp_path))}.onnx")
        return OnnxGenerator(tiny_generator(path, "conditional", {"dataset": "fashion_mnist", "num_classes": "10",
                                                                  **changes}))
    return make


@pytest.mark.parametrize("name,label", [("bag", 8), ("BAG", 8), (" Bag ", 8), ("ankle boot", 9), ("Ankle-Boot", 9),
                                        ("ankleboot", 9), ("t-shirt/top", 0), ("T-shirt", 0), ("top", 0),
                                        ("tshirt", 0), ("shirt", 6), ("Sneaker", 7)])
def test_class_names_are_matched_sensibly(fashion_generator, name, label):
    for generator in (fashion_generator(class_names=json.dumps(list(CLASS_NAMES))), fashion_generator()):
        assert generator.class_index(name) == label  # the second: no class_names, the Fashion-MNIST fallback


@pytest.mark.parametrize("name", ["boots", "", "-", "8", "bag, coat"])
def test_unknown_class_names_are_one_line_and_list_the_names(fashion_generator, name):
    with pytest.raises(LabelError, match=r"names no class of this generator; its classes are 0 T-shirt/top, "
                                         r"1 Trouser, .* 9 Ankle boot$"):
        fashion_generator().sample(2, labels=name)


def test_metadata_names_win_and_other_datasets_have_none(fashion_generator, tmp_path):
    generator = fashion_generator(num_classes="3", dataset="other", class_names='["cat", "hot dog", "Cat/dog"]')
    assert [generator.class_index(n) for n in ("Hot-Dog", "cat", "DOG", "cat/dog")] == [1, 0, 2, 2]
    unnamed = OnnxGenerator(tiny_generator(str(tmp_path / "toy.onnx"), "conditional"))  # dataset "tiny"
    with pytest.raises(LabelError, match=r"need class names, and this generator has none \(dataset 'tiny'\): "
                                         r"expected an integer in \[0, 3\), got 'bag'"):
        unnamed.sample(1, labels="bag")
    assert unnamed.sample(1, labels=2).shape == (1, 4, 4, 1)


@pytest.mark.parametrize("names", ['["a", "b"]', '["a", "b", "A"]', '["a", "b", "--"]', '"abc"', '[1, 2, 3]'])
def test_class_names_that_do_not_fit_are_refused(tmp_path, names):
    with pytest.raises(GeneratorFileError, match="'class_names' metadata does not describe this generator"):
        OnnxGenerator(tiny_generator(str(tmp_path / "g.onnx"), "conditional", {"class_names": names}))


# --- the hub: test data published, fetched and verified ------------------------------------------------

@pytest.fixture
def tiny_hub(tmp_path):
    """The tiny hub, its conditional generator named as Fashion-MNIST's and given a test set: (folder, url)."""
    folder = str(tmp_path / "hub")
    index = write_tiny_hub(folder)
    model_folder = os.path.join(folder, "tiny-conditional")
    onnx_path = tiny_generator(os.path.join(model_folder, "generator.onnx"), "conditional",
                               {"class_names": json.dumps(["cat", "hot dog", "T-shirt/top"])})
    generator = OnnxGenerator(onnx_path)
    z, labels = latents(4, 16, seed=0), np.array([0, 1, 2, 0], np.int32)
    write_tensors(os.path.join(model_folder, TEST_SET), {
        "input_0.pb": ("z", z), "input_1.pb": ("label", labels),
        "output_0.pb": ("images", generator.generate(z, labels))})
    files = index["models"]["tiny-conditional"]["files"]
    for name in ("generator.onnx", f"{TEST_SET}/input_0.pb", f"{TEST_SET}/input_1.pb", f"{TEST_SET}/output_0.pb"):
        files[name] = file_record(os.path.join(model_folder, name))
    write_index(folder, index)
    return folder, "file://" + folder


def test_hub_serves_test_data_in_its_one_folder(tiny_hub, tmp_path):
    folder, url = tiny_hub
    hub = Hub(url, str(tmp_path / "cache"))
    cached = hub.test_set_folder("tiny-conditional")
    assert cached == os.path.join(hub.path("tiny-conditional", "generator.onnx").rsplit(os.sep, 1)[0], TEST_SET)
    assert sorted(f for f in os.listdir(cached) if f.endswith(".pb")) == ["input_0.pb", "input_1.pb", "output_0.pb"]
    with pytest.raises(HubError, match=r"tiny-noise \(version 1.0\) has no test data in hub .*published before"):
        hub.test_set_folder("tiny-noise")


@pytest.mark.parametrize("name", [f"{TEST_SET}/../generator.onnx", f"{TEST_SET}/../../x.pb", f"{TEST_SET}/a/b.pb",
                                  f"{TEST_SET}/", f"{TEST_SET}/input_0.onnx", f"{TEST_SET}\\input_0.pb",
                                  f"/{TEST_SET}/input_0.pb", "test_data_set_1/input_0.pb", "input_0.pb",
                                  f"./{TEST_SET}/input_0.pb", f"{TEST_SET}//input_0.pb", f"{TEST_SET}/.pb",
                                  f"{TEST_SET}/..pb", "x/input_0.pb"])
def test_only_pb_files_in_the_one_test_folder_are_allowed(name):
    with pytest.raises(HubError, match="refused"):
        check_file_name(name)


def test_zoo_verify_against_a_hub(tiny_hub, tmp_path):
    folder, url = tiny_hub
    cache = str(tmp_path / "cache")
    code, out, err = run_zoo("--hub", url, "--cache", cache, "verify", "tiny-conditional")
    assert (code, err) == (0, "") and out.splitlines() == [
        f"{TEST_SET}: ok, largest difference 0 (allowed 0.0001 + 0.001 x |expected|) on CPUExecutionProvider",
        "tiny-conditional: 1 test set passed"]
    assert_refused(run_zoo("--hub", url, "--cache", cache, "verify", "tiny-noise"), "has no test data",
                   "published before")
    # a runtime that computes something else: the expected output is changed, and its index entry with it
    model_folder = os.path.join(folder, "tiny-conditional")
    output = os.path.join(model_folder, TEST_SET, "output_0.pb")
    _, expected = read_tensor(output)
    write_tensors(os.path.join(model_folder, TEST_SET), {"output_0.pb": ("images", expected + 1e-3)})
    index = json.load(open(os.path.join(folder, "index.json")))
    index["models"]["tiny-conditional"]["files"][f"{TEST_SET}/output_0.pb"] = file_record(output)
    write_index(folder, index)
    code, out, err = run_zoo("--hub", url, "--cache", cache, "verify", "tiny-conditional")
    assert code == 2 and out.startswith(f"{TEST_SET}: FAILED, largest difference 0.001 ")
    assert_refused((code, out, err), "1 of 1 test sets of tiny-conditional differ from the expected output")


def test_zoo_verify_of_local_files(tiny_hub, tmp_path):
    folder, _ = tiny_hub
    local = str(tmp_path / "local")
    shutil.copytree(os.path.join(folder, "tiny-conditional"), local)
    path = os.path.join(local, "generator.onnx")
    shutil.copytree(os.path.join(local, TEST_SET), os.path.join(local, "test_data_set_1"))
    code, out, _ = run_zoo("verify", path)
    assert code == 0 and [line.split(":")[0] for line in out.splitlines()] == [
        TEST_SET, "test_data_set_1", path]
    os.remove(os.path.join(local, "test_data_set_1", "input_1.pb"))
    assert_refused(run_zoo("verify", path), "test_data_set_1 has no input_1.pb")
    shutil.rmtree(os.path.join(local, "test_data_set_1"))
    write_tensors(os.path.join(local, TEST_SET), {"input_1.pb": ("labels", np.zeros(4, np.int32))})
    assert_refused(run_zoo("verify", path), "holds tensor 'labels', the model's input 1 is 'label'")
    write_tensors(os.path.join(local, TEST_SET), {"input_1.pb": ("label", np.zeros(3, np.int32))})
    assert_refused(run_zoo("verify", path), "the model does not run on these inputs")
    shutil.rmtree(os.path.join(local, TEST_SET))
    assert_refused(run_zoo("verify", path), "has no test data beside it")
    assert_refused(run_zoo("verify", str(tmp_path / "missing.onnx")), "no ONNX file")


def test_sample_label_by_name_on_the_command_line(tiny_hub, tmp_path):
    _, url = tiny_hub
    argv = ["--hub", url, "--cache", str(tmp_path / "cache"), "sample", "tiny-conditional", "-n", "2", "--seed", "3"]
    outputs = {}
    for label in ("Hot Dog", "1", "t-shirt", "2"):
        outputs[label] = str(tmp_path / f"{label}.png")
        assert run_zoo(*argv, "--label", label, "-o", outputs[label])[0] == 0
    assert open(outputs["Hot Dog"], "rb").read() == open(outputs["1"], "rb").read()
    assert open(outputs["t-shirt"], "rb").read() == open(outputs["2"], "rb").read()
    assert_refused(run_zoo(*argv, "--label", "dog", "-o", str(tmp_path / "x.png")),
                   "'dog' names no class of this generator; its classes are 0 cat, 1 hot dog, 2 T-shirt/top")


def test_verify_needs_no_onnx_package(tiny_hub, tmp_path):
    _, url = tiny_hub
    blocked = ["tensorflow", "keras", "tf2onnx", "onnx", "scipy", "tensorflow_datasets"]
    code = (f"import sys\nfor name in {blocked!r}: sys.modules[name] = None  # importing them now fails\n"
            "from zoo.__main__ import main\n"
            f"sys.exit(main(['--hub', {url!r}, '--cache', {str(tmp_path / 'cache')!r}, 'verify', 'tiny-conditional']))")
    result = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert result.returncode == 0 and f"{TEST_SET}: ok" in result.stdout, result.stderr
