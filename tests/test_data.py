import gzip
import struct

import numpy as np
import pytest
from PIL import Image

from training import data
from zoo import toys


def write_idx(path, array):
    header = struct.pack(">HBB", 0, 0x08, array.ndim) + struct.pack(f">{array.ndim}I", *array.shape)
    with gzip.open(path, "wb") as f:
        f.write(header + array.astype(np.uint8).tobytes())


@pytest.fixture
def tiny_fashion_dir(tmp_path, monkeypatch):
    rng = np.random.default_rng(0)
    for prefix, n in (("train", 50), ("t10k", 20)):
        write_idx(tmp_path / f"{prefix}-images-idx3-ubyte.gz", rng.integers(0, 256, (n, 28, 28)))
        write_idx(tmp_path / f"{prefix}-labels-idx1-ubyte.gz", rng.integers(0, 10, n))
    monkeypatch.setenv(data.FASHION_MNIST_ENV, str(tmp_path))
    return tmp_path


def test_idx_files_we_write_read_back(tiny_fashion_dir):
    images, labels = data.fashion_mnist_arrays("test")
    assert images.shape == (20, 28, 28, 1) and images.dtype == np.uint8 and labels.shape == (20,)


def test_corrupt_idx_file_is_a_clear_error(tiny_fashion_dir):
    (tiny_fashion_dir / "train-labels-idx1-ubyte.gz").write_bytes(b"not gzip at all")
    with pytest.raises(data.DatasetError, match="reinstall"):
        data.fashion_mnist_arrays("train")
    write_idx(tiny_fashion_dir / "train-labels-idx1-ubyte.gz", np.zeros(49))  # 49 labels for 50 images
    with pytest.raises(data.DatasetError, match="50 images but"):
        data.fashion_mnist_arrays("train")


def test_missing_dataset_says_how_to_install(tmp_path, monkeypatch):
    monkeypatch.setenv(data.FASHION_MNIST_ENV, str(tmp_path / "nowhere"))
    monkeypatch.setenv("KERAS_HOME", str(tmp_path / "no-keras"))
    with pytest.raises(data.DatasetError, match="apt-get install dataset-fashion-mnist") as error:
        data.load("fashion_mnist")
    assert "keras.datasets.fashion_mnist.load_data()" in str(error.value)
    assert str(tmp_path / "no-keras" / "datasets" / "fashion-mnist") in str(error.value)


def test_debian_fashion_mnist_is_complete():
    train_images, train_labels = data.fashion_mnist_arrays("train")
    test_images, _ = data.fashion_mnist_arrays("test")
    assert train_images.shape == (60000, 28, 28, 1) and test_images.shape == (10000, 28, 28, 1)
    assert np.bincount(train_labels).tolist() == [6000] * 10


def test_batches_are_scaled_shuffled_and_resume_exactly():
    fashion = data.load("fashion_mnist", limit=128)
    x, y = next(iter(fashion.batches(16, seed=3)))
    assert x.shape == (16, 28, 28, 1) and x.dtype.name == "float32" and y.shape == (16,)
    assert -1.0 <= float(x.numpy().min()) and float(x.numpy().max()) <= 1.0
    stream = list(fashion.batches(16, seed=3).take(10))  # 8 steps per epoch
    resumed = list(fashion.batches(16, seed=3, first_epoch=1).take(2))
    for a, b in zip(stream[8:], resumed):
        np.testing.assert_array_equal(a[0], b[0])
    assert not np.array_equal(stream[0][0], stream[8][0])  # epochs are reshuffled


def test_batches_start_no_autotuning_thread_that_exit_would_wait_for():
    # benchmarks/data_exit.py: with it, fit's end and Ctrl-C could wait up to a minute for the iterator to free
    batches = data.load("ring8").batches(100, seed=0)
    assert batches.options().autotune.enabled is False
    assert next(iter(batches))[0].shape == (100, 2)


def test_resize_and_batch_checks():
    fashion = data.load("fashion_mnist", limit=64, image_size=32)
    assert fashion.shape == (32, 32, 1)
    assert next(iter(fashion.batches(8, seed=0)))[0].shape == (8, 32, 32, 1)
    with pytest.raises(data.DatasetError, match="--image-size"):
        data.load("fashion_mnist", limit=8, image_size=48)
    with pytest.raises(data.DatasetError, match="lower --batch-size"):
        fashion.batches(65, seed=0)


def test_toy_distributions_match_their_definitions():
    ring, ring_modes = toys.toy_arrays("ring8", 4000, seed=0)
    np.testing.assert_allclose(np.linalg.norm(toys.ring8_modes(), axis=1), 1.0)
    assert (ring - toys.ring8_modes()[ring_modes]).std() == pytest.approx(0.01, rel=0.1)
    grid, _ = toys.toy_arrays("grid25", 4000, seed=0)
    assert len(toys.grid25_modes()) == 25 and np.abs(grid).max() < 4.5
    mog, _ = toys.toy_arrays("mog1d", 200_000, seed=0)
    mean = 0.33 * -1 + 0.67 * 2
    variance = 0.33 * (0.255**2 + 1) + 0.67 * (1.4148**2 + 4) - mean**2
    assert mog.mean() == pytest.approx(mean, abs=0.01) and mog.var() == pytest.approx(variance, rel=0.02)
    toy = data.load("ring8", limit=100)
    assert toy.shape == (2,) and toy.num_classes == 8 and not toy.is_image


def test_tfds_datasets_by_name_on_mock_data():
    import tensorflow_datasets as tfds

    with tfds.testing.mock_data(num_examples=24, policy=tfds.testing.MockPolicy.USE_CODE):
        mnist = data.load("tfds:mnist")
        assert (mnist.shape, mnist.num_classes, mnist.num_examples) == ((28, 28, 1), 10, 24)
        cifar = data.load("cifar10", image_size=28)
        x, _ = next(iter(cifar.batches(8, seed=0)))
        assert x.shape == (8, 28, 28, 3)


def test_unknown_dataset_lists_the_known_ones():
    with pytest.raises(data.DatasetError, match="fashion_mnist, ring8, grid25, mog1d"):
        data.load("no_such_dataset")


def test_fashion_mnist_class_pair_gives_two_unpaired_domains():
    images, labels = data.fashion_mnist_arrays("train")
    pair = data.load("fashion_mnist:5-7", limit=40)
    assert pair.two_domains and pair.num_examples == 40 and pair.shape == (28, 28, 1)
    sandals, sneakers = pair.first_examples(40)
    np.testing.assert_allclose(sandals, images[labels == 5][:40] / 127.5 - 1, atol=1e-6)
    np.testing.assert_allclose(sneakers, images[labels == 7][:40] / 127.5 - 1, atol=1e-6)
    a, b = next(iter(pair.batches(8, seed=0)))
    assert a.shape == b.shape == (8, 28, 28, 1)
    for name in ("fashion_mnist:5", "fashion_mnist:5-11", "fashion_mnist:x-y"):
        with pytest.raises(data.DatasetError, match="fashion_mnist:"):
            data.load(name)


def write_images(folder, count, mode="L", size=(40, 30)):
    folder.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(0)
    for i in range(count):
        shape = size[::-1] + ((3,) if mode == "RGB" else ())
        Image.fromarray(rng.integers(0, 256, shape).astype(np.uint8), mode).save(folder / f"{i}.png")


def test_image_folders(tmp_path):
    write_images(tmp_path / "gray" / "sub", 5)
    (tmp_path / "gray" / "broken.png").write_bytes(b"not a png")
    with pytest.warns(UserWarning, match="skipping unreadable image .*broken.png"):
        folder = data.load(f"folder:{tmp_path / 'gray'}", image_size=32)
    assert folder.shape == (32, 32, 1) and folder.num_examples == 5
    write_images(tmp_path / "color", 7, mode="RGB")
    with pytest.warns(UserWarning):
        pair = data.load(f"folders:{tmp_path / 'gray'},{tmp_path / 'color'}", image_size=28)
    assert pair.two_domains and pair.num_examples == 5 and pair.shape == (28, 28, 3)
    (tmp_path / "empty").mkdir()
    with pytest.raises(data.DatasetError, match="no readable images"):
        data.load(f"folder:{tmp_path / 'empty'}")
    with pytest.raises(data.DatasetError, match="does not exist"):
        data.load(f"folder:{tmp_path / 'missing'}")
