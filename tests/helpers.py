"""What several test modules share: tiny configs, random batches, model builders, run-folder readers.

Test modules import these from here, never from each other.
"""

import csv
import hashlib
import os
import re

import numpy as np
import tensorflow as tf

from training.config import resolve
from zoo.models import VARIANTS, DataSpec

#: tiny nets on a slice of Fashion-MNIST: the whole suite must stay well under 15 minutes on 2 cores
TINY = {"width": 8, "latent_dim": 16, "train_examples": 256, "batch_size": 32, "epochs": 2}
IMAGES = DataSpec((28, 28, 1), num_classes=10, num_examples=256)
POINTS = DataSpec((2,), num_classes=8, num_examples=256)
DOMAINS = DataSpec((28, 28, 1), num_examples=64, two_domains=True)


def build(model, spec=IMAGES, **overrides):
    options = {key: value for key, value in TINY.items() if key != "latent_dim" or model != "cyclegan"}
    return VARIANTS[model].build(resolve({**options, "model": model, **overrides}), spec)


def weights(variables):
    return [np.array(v) for v in variables]


def batch(spec, n, per_step=1, seed=0):
    """A random batch as the data pipeline gives it: (n, ...) or, for k > 1 batches a step, (n, k, ...)."""
    rng = np.random.default_rng(seed)
    rows = (n,) if per_step == 1 else (n, per_step)
    if spec.two_domains:
        return tuple(tf.constant(rng.uniform(-1, 1, rows + spec.shape), tf.float32) for _ in "ab")
    return (tf.constant(rng.uniform(-1, 1, rows + spec.shape), tf.float32),
            tf.constant(rng.integers(0, spec.num_classes, rows), tf.int32))


def train_steps(model, spec, steps, n=8):
    """Run `steps` fit() steps on random data, through the model's own train function."""
    data = tf.data.Dataset.from_tensors(batch(spec, n, model.real_batches_per_step)).repeat()
    return model.fit(data, steps_per_epoch=steps, epochs=1, shuffle=False, verbose=0).history


def snapshot(folder):
    """Every file under `folder` with a hash of its bytes."""
    result = {}
    for root, _, files in os.walk(folder):
        for name in files:
            path = os.path.join(root, name)
            with open(path, "rb") as f:
                result[os.path.relpath(path, folder)] = hashlib.sha256(f.read()).hexdigest()
    return result


def history(run):
    with open(os.path.join(run, "history.csv")) as f:
        return list(csv.DictReader(f))


#: what TensorFlow's native code prints to stderr as it starts (absl/TSL log lines, e.g. "Could not find cuda
#: drivers" from the GPU-capable wheel on a machine without a GPU), whatever TF_CPP_MIN_LOG_LEVEL says
NATIVE_LOG_LINE = re.compile(r"^(?:[IWEF]\d{4} [\d:.]+ +\d+ \S+:\d+\]|WARNING: All log messages before "
                             r"absl::InitializeLog\(\) is called are written to STDERR|To enable the following "
                             r"instructions:)")


def our_stderr(stderr):
    """A subprocess's stderr without TensorFlow's native start-up log lines: what our code printed."""
    return "\n".join(line for line in stderr.strip().splitlines() if not NATIVE_LOG_LINE.match(line))
