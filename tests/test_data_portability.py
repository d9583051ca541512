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
