import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import pytest  # noqa: E402
import tensorflow as tf  # noqa: E402

# Two logical CPUs, so MirroredStrategy can be tested without GPUs. Must happen before TF starts up.
tf.config.set_logical_device_configuration(tf.config.list_physical_devices("CPU")[0],
                                           [tf.config.LogicalDeviceConfiguration()] * 2)

from tests.helpers import TINY  # noqa: E402  (imports Keras: after the devices are configured)


@pytest.fixture(scope="session")
def trained_run(tmp_path_factory):
    """A 2-epoch tiny GAN run, trained once and exported once for every test that only reads it."""
    from export.writer import export_run
    from training.train import train

    out = str(tmp_path_factory.mktemp("runs") / "tiny")
    train(TINY, out, verbose=0)
    manifest = export_run(out)
    return out, manifest


@pytest.fixture(scope="session")
def cgan_run(tmp_path_factory):
    from export.writer import export_run
    from training.train import train

    out = str(tmp_path_factory.mktemp("runs") / "cgan")
    train({**TINY, "model": "cgan", "epochs": 1}, out, verbose=0)
    return out, export_run(out)


@pytest.fixture(scope="session")
def cyclegan_run(tmp_path_factory):
    """One epoch of a tiny CycleGAN on 64 sandals and 64 sneakers, exported both ways."""
    from export.writer import export_run
    from training.train import train

    out = str(tmp_path_factory.mktemp("runs") / "cyclegan")
    train({"model": "cyclegan", "width": 4, "residual_blocks": 1, "train_examples": 64, "batch_size": 16,
           "epochs": 1}, out, verbose=0)
    return out, export_run(out)


@pytest.fixture(scope="session")
def mirrored_cpus():
    """MirroredStrategy over the two logical CPUs, one for the whole session: strategies created anew in
    one process can collide in their collective-op keys."""
    return tf.distribute.MirroredStrategy(["/cpu:0", "/cpu:1"])
