import numpy as np
import pytest
import tensorflow as tf

from training.config import resolve
from tests.conftest import TINY
from zoo.models import VARIANTS, DataSpec


def build(**overrides):
    return VARIANTS["gan"].build(resolve({**TINY, **overrides}), DataSpec((28, 28, 1), 10, 256))


def weights(network):
    return [np.array(v) for v in network.trainable_variables]


@pytest.mark.parametrize("loss,d_steps", [("non_saturating", 1), ("minimax", 2)])
def test_one_train_step_moves_both_nets(loss, d_steps):
    model = build(loss=loss, d_steps=d_steps)
    before_g, before_d = weights(model.generator), weights(model.discriminator)
    real = tf.random.uniform((8 * d_steps, 28, 28, 1), -1, 1)
    logs = model.train_step((real, tf.zeros(8 * d_steps, tf.int32)))
    assert all(np.isfinite(float(v)) for v in logs.values()) and set(logs) == {"d_loss", "g_loss"}
    assert all(not np.array_equal(a, b) for a, b in zip(before_g, weights(model.generator)))
    assert all(not np.array_equal(a, b) for a, b in zip(before_d, weights(model.discriminator)))
    # k discriminator steps, each on its own slice of the real batch, then one generator step
    assert int(model.d_optimizer.iterations) == d_steps and int(model.g_optimizer.iterations) == 1


def test_noise_differs_per_draw_and_step_but_is_reproducible():
    model = build()
    first, second = model.sample_noise(4, 0), model.sample_noise(4, 1)
    assert first.shape == (4, TINY["latent_dim"]) and not np.allclose(first, second)
    np.testing.assert_array_equal(first, model.sample_noise(4, 0))
    model.g_optimizer.iterations.assign_add(1)
    assert not np.allclose(first, model.sample_noise(4, 0))


def test_noise_differs_per_replica():
    strategy = tf.distribute.MirroredStrategy(["/cpu:0", "/cpu:1"])
    with strategy.scope():
        model = build()
    per_replica = strategy.run(lambda: model.sample_noise(4, 0))
    first, second = (np.array(t) for t in strategy.experimental_local_results(per_replica))
    assert not np.allclose(first, second)
