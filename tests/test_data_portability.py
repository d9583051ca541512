"""Issue 16, data without the Debian package or the internet: Fashion-MNIST from Keras' cache, TFDS
refused at once when not prepared, and image folders read lazily."""

import os
import shutil
import time
import warnings

import numpy as np
import pytest
from PIL import Image

from tests.helpers import our_stderr
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


# an offline machine: every connection fails at once, as with no route to any host
NO_NETWORK = """
import runpy, socket, sys
def refuse(*args, **kwargs):
    raise OSError(101, "Network is unreachable (test)")
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
    error = our_stderr(result.stderr)
    assert "\n" not in error and "not prepared in " + str(tmp_path / "tfds") in error
    assert "tfds build mnist" in error and "TFDS_DATA_DIR" in error
    assert time.monotonic() - started < 60  # TensorFlow's import included; no download retries
    assert not os.path.exists(tmp_path / "tfds" / "downloads")


def reference_square(path, size):
    """What the folder dataset did before it read lazily: the whole image decoded, then cropped and resized."""
    with Image.open(path) as image:
        image = image.convert("L" if image.mode == "L" else "RGB")
    side = min(image.size)
    left, top = (image.width - side) // 2, (image.height - side) // 2
    return np.asarray(image.crop((left, top, left + side, top + side)).resize((size, size), Image.LANCZOS))


def photo(width, height, seed):
    """A smooth colour image (as photos are; JPEG's reduced-scale decoding is meant for those)."""
    y, x = np.mgrid[0:height, 0:width] / max(width, height)
    phase = np.random.default_rng(seed).uniform(0, 6, 3)
    return np.stack([127.5 + 120 * np.sin(6 * x + 4 * y + p) for p in phase], axis=-1).astype(np.uint8)


def test_folder_images_are_shrunk_as_read_like_the_whole_image(tmp_path):
    Image.fromarray(photo(900, 700, 0)).save(tmp_path / "a.jpg", quality=95)
    Image.fromarray(photo(300, 500, 1)[..., 0]).save(tmp_path / "b.png")  # grayscale, in a colour folder
    images = data.folder_images(str(tmp_path), 64)
    assert images.shape == (2, 64, 64, 3) and images.dtype == np.uint8
    # the JPEG, decoded at 1/8 scale (112 x 87 pixels) before the resize, is near the full decode
    assert np.abs(images[0].astype(int) - reference_square(tmp_path / "a.jpg", 64)).mean() < 2
    np.testing.assert_array_equal(images[1], np.repeat(reference_square(tmp_path / "b.png", 64)[..., None], 3, -1))
    assert data.folder_images(str(tmp_path), 32, limit=1).shape == (1, 32, 32, 3)


def test_folder_limit_is_applied_before_any_later_file_is_read(tmp_path, monkeypatch):
    for i in range(4):
        Image.fromarray(photo(200, 150, i)[..., 0]).save(tmp_path / f"{i}.png")
    for i in range(4, 10):
        (tmp_path / f"{i}.jpg").write_bytes(b"not an image")  # would warn, were they read
    opened = []
    real_open = data.Image.open
    monkeypatch.setattr(data.Image, "open", lambda path: opened.append(os.path.basename(path)) or real_open(path))
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        folder = data.load(f"folder:{tmp_path}", limit=3, image_size=28)
    assert opened == ["0.png", "1.png", "2.png"]
    assert (folder.num_examples, folder.shape) == (3, (28, 28, 1))
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        assert data.folder_images(str(tmp_path), 28, limit=5).shape == (4, 28, 28, 1)  # only 4 readable
    assert [str(w.message).split(": ")[0] for w in caught] == [
        f"skipping unreadable image {tmp_path / f'{i}.jpg'}" for i in range(4, 10)]
