"""Issue 16, data without the Debian package or the internet: Fashion-MNIST from Keras' cache, TFDS
refused at once when not prepared, and image folders read lazily."""

import os
import shutil
import time

import numpy as np
import pytest
from PIL import Image

from training import data


@pytest.mark.skipif(not os.path.isdir(data.FASHION_MNIST_DIR), reason="needs the Debian package's files to copy")
def test_fashion_mnist_from_keras_cache_when_the_debian_package_is_absent(tmp_path, monkeypatch):
    debian = {split: data.fashion_mnist_arrays(split) for split in ("train", "test")}
    cache = tmp_path / "keras-home" / "datasets" / "fashion-mnist"
    shutil.copytree(data.FASHION_MNIST_DIR, cache)
    (tmp_path / "empty").mkdir()
    monkeypatch.setenv(data.FASHION_MNIST_ENV, str(tmp_path / "empty"))
    monkeypatch.setenv("KERAS_HOME", str(tmp_path / "keras-home"))
    for split, (images, labels) in debian.items():
        from_keras = data.fashion_mnist_arrays(split)
        np.testing.assert_array_equal(from_keras[0], images)
        np.testing.assert_array_equal(from_keras[1], labels)
    (cache / "t10k-labels-idx1-ubyte.gz").write_bytes(b"cut")  # a damaged download: fetched again
    with pytest.raises(data.DatasetError, match="t10k-labels.* delete it and run .*load_data"):
        data.fashion_mnist_arrays("test")
    os.unlink(cache / "t10k-labels-idx1-ubyte.gz")
    with pytest.raises(data.DatasetError, match="dataset-fashion-mnist.*load_data()") as error:
        data.fashion_mnist_arrays("test")
    assert "\n" not in str(error.value) and str(cache) in str(error.value)


# no socket may be opened: the refusal comes before any download is tried
NO_NETWORK = """
import runpy, socket, sys
def refuse(*args, **kwargs):
    raise SystemExit("test: tried to reach the network")
socket.socket.connect = socket.socket.connect_ex = socket.create_connection = socket.getaddrinfo = refuse
sys.argv = ["python -m training", *sys.argv[1:]]
runpy.run_module("training", run_name="__main__", alter_sys=True)
"""


def test_unprepared_tfds_dataset_is_refused_at_once_offline(tmp_path):
    import subprocess
    import sys

    env = {**os.environ, "TFDS_DATA_DIR": str(tmp_path / "tfds"), "TF_CPP_MIN_LOG_LEVEL": "3"}
    started = time.monotonic()
    result = subprocess.run([sys.executable, "-c", NO_NETWORK, "--dataset", "tfds:mnist", "--epochs", "1",
                             "--out", str(tmp_path / "run")], env=env, capture_output=True, text=True, timeout=300)
    assert result.returncode == 2, result.stderr
    error = result.stderr.strip()
    assert "\n" not in error and "not prepared in " + str(tmp_path / "tfds") in error
    assert "tfds build mnist" in error and "TFDS_DATA_DIR" in error
    assert time.monotonic() - started < 60  # TensorFlow's import included; no download retries
    assert not os.path.exists(tmp_path / "tfds" / "downloads")
