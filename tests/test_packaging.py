"""pyproject.toml: the base install is the TensorFlow-free deploy side, training is an extra, the console
scripts exist; the README's set-up commands are the ones .ci/run runs."""

import importlib
import os
import re

import pytest
from packaging.requirements import Requirement

tomllib = pytest.importorskip("tomllib")  # Python 3.11+

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def project():
    with open(os.path.join(ROOT, "pyproject.toml"), "rb") as f:
        return tomllib.load(f)["project"]


def names(requirements):
    return {Requirement(line).name.lower() for line in requirements}


def test_the_base_install_is_the_deploy_side():
    assert names(project()["dependencies"]) == {"numpy", "onnxruntime", "pillow"}


def test_extras_parse_and_training_takes_tensorflow_not_tensorflow_cpu():
    extras = project()["optional-dependencies"]
    assert set(extras) == {"train", "gpu", "test", "hf"}
    everything = set().union(*(names(requirements) for requirements in extras.values()))
    assert "tensorflow" in names(extras["train"]) and "tensorflow-cpu" not in everything
    assert [Requirement(line).extras for line in extras["gpu"]] == [{"and-cuda"}]
    # onnxruntime-gpu installs the same module as onnxruntime: beside it, one silently overwrites the other
    assert "onnxruntime-gpu" not in everything


@pytest.mark.parametrize("script", ["gan-zoo", "gan-zoo-train", "gan-zoo-export"])
def test_console_scripts_name_a_main_function(script):
    module, function = project()["scripts"][script].split(":")
    assert callable(getattr(importlib.import_module(module), function))


def test_the_readme_set_up_commands_are_the_ones_ci_runs():
    with open(os.path.join(ROOT, "README.md"), encoding="utf-8") as f:
        readme = f.read()
    set_up = re.search(r"^## Set-up.*?```sh\n(.*?)```", readme, re.MULTILINE | re.DOTALL).group(1)
    install, test = set_up.strip().splitlines()
    with open(os.path.join(ROOT, ".ci", "run"), encoding="utf-8") as f:
        ci = f.read()
    assert test in ci.splitlines()
    extras = re.search(r"pip install -e '(\.\[[a-z,]+\])'", install).group(1)
    assert f"pip install -q -e '{extras}'" in ci
    assert {"train", "test"} <= set(extras[2:-1].split(","))
