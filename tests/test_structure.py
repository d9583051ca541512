"""The project's structure: the import graph (zoo < training < export < benchmarks, no arrow upwards, no
circle between modules), variants known through the registry only, and --help per variant.

Imports inside functions count too: a lazy import is still a dependency. The deploy side (zoo's hub,
Hugging Face source, runtime, test data, prior, toys, grid, files, errors, cli, classifier) imports neither
TensorFlow nor Keras. `python -m benchmarks.import_graph` prints the graph.
"""

import ast

import pytest

from benchmarks.import_graph import cycles, import_graph, project_modules, upward_arrows

DEPLOY_MODULES = ("zoo", "zoo.__main__", "zoo.hub", "zoo.hf", "zoo.runtime", "zoo.testdata", "zoo.prior",
                  "zoo.toys", "zoo.grid", "zoo.files", "zoo.errors", "zoo.cli", "zoo.classifier")


@pytest.fixture(scope="module")
def graph():
    return import_graph()


def test_no_layer_imports_a_higher_one(graph):
    assert upward_arrows(graph) == []


def test_no_import_cycle(graph):
    assert cycles(graph) == []


def test_deploy_side_needs_no_tensorflow():
    modules = project_modules()
    for name in DEPLOY_MODULES:
        with open(modules[name], encoding="utf-8") as f:
            tree = ast.parse(f.read())
        imported = {alias.name.split(".")[0] for node in ast.walk(tree) if isinstance(node, ast.Import)
                    for alias in node.names}
        imported |= {(node.module or "").split(".")[0] for node in ast.walk(tree) if isinstance(node, ast.ImportFrom)}
        assert not imported & {"tensorflow", "keras", "tf2onnx"}, name


def _compared_names(node):
    """String constants that `node` (a comparison) tests against, also inside tuples, lists and sets."""
    for operand in [node.left, *node.comparators]:
        elements = operand.elts if isinstance(operand, (ast.Tuple, ast.List, ast.Set)) else [operand]
        yield from (e.value for e in elements if isinstance(e, ast.Constant) and isinstance(e.value, str))


def test_only_zoo_models_asks_for_a_variant_name():
    """Training, export and the rest learn what they need from the registry's Variant, not from names."""
    from zoo.models import VARIANTS

    asked = []
    for name, path in project_modules().items():
        if name.startswith(("zoo.models", "benchmarks")):
            continue
        with open(path, encoding="utf-8") as f:
            tree = ast.parse(f.read())
        asked += [f"{name}:{node.lineno} {value}" for node in ast.walk(tree) if isinstance(node, ast.Compare)
                  for value in _compared_names(node) if value in VARIANTS]
    assert asked == []


def test_training_help_shows_each_variant_with_its_own_defaults(capsys):
    from training.__main__ import main

    with pytest.raises(SystemExit):
        main(["--model", "wgan", "--help"])
    wgan = capsys.readouterr().out
    assert "RMSProp learning rate of both players (default: 5e-05)" in wgan
    assert "--gp-weight" not in wgan and "--beta-1" not in wgan and "--cycle-weight" not in wgan
    with pytest.raises(SystemExit):
        main(["--model", "cyclegan", "--help"])
    cyclegan = capsys.readouterr().out
    assert "(default: 16)" in cyclegan and "--latent-dim" not in cyclegan
    with pytest.raises(SystemExit):
        main(["--help"])
    overview = capsys.readouterr().out
    assert "two epochs" in overview and "(default: 2)" in overview
    for line in ("wgan_gp: ", "--learning-rate 0.0001, --beta-1 0.0, --beta-2 0.9", "--learning-rate 5e-05"):
        assert line in overview


def test_flags_of_another_variant_are_refused_by_name(capsys):
    from training.__main__ import main

    assert main(["--model", "wgan", "--gp-weight", "5", "--epochs", "1"]) == 2
    assert "it belongs to wgan_gp" in capsys.readouterr().err
