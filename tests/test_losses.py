import numpy as np
import pytest
import tensorflow as tf

from zoo import losses


def sigmoid(x):
    return 1 / (1 + np.exp(-x))


LOGITS = np.array([-3.0, 0.0, 0.5, 2.0], np.float32)
FAKE = np.array([1.0, -2.0, 0.0, 4.0], np.float32)


def test_discriminator_loss_is_binary_cross_entropy():
    expected = -(np.log(sigmoid(LOGITS)) + np.log(1 - sigmoid(FAKE)))
    for loss in (losses.minimax_discriminator_loss, losses.non_saturating_discriminator_loss):
        np.testing.assert_allclose(loss(LOGITS, FAKE), expected, rtol=1e-5)


def test_generator_losses_by_hand():
    np.testing.assert_allclose(losses.minimax_generator_loss(FAKE), np.log(1 - sigmoid(FAKE)), rtol=1e-5)
    np.testing.assert_allclose(losses.non_saturating_generator_loss(FAKE), -np.log(sigmoid(FAKE)), rtol=1e-5)
    # D(G(z)) = 1/2: log(1/2) and -log(1/2)
    assert float(losses.minimax_generator_loss(np.zeros(1, np.float32))[0]) == pytest.approx(-np.log(2))
    assert float(losses.non_saturating_generator_loss(np.zeros(1, np.float32))[0]) == pytest.approx(np.log(2))


def test_acgan_losses_are_the_class_cross_entropies():
    """Odena et al. 2017: -log P(C = y | x) on real and fake examples for D, on fakes for G."""
    real = np.array([[2.0, 0.0, -1.0], [0.0, 0.0, 0.0]], np.float32)
    fake = np.array([[0.5, 1.5, 0.0], [-3.0, 3.0, 1.0]], np.float32)
    labels = np.array([0, 2], np.int32)

    def cross_entropy(logits):
        log_softmax = logits - np.log(np.exp(logits).sum(axis=1, keepdims=True))
        return -log_softmax[np.arange(len(labels)), labels]

    np.testing.assert_allclose(losses.acgan_discriminator_loss(real, fake, labels),
                               cross_entropy(real) + cross_entropy(fake), rtol=1e-5)
    np.testing.assert_allclose(losses.acgan_generator_loss(fake, labels), cross_entropy(fake), rtol=1e-5)


def test_losses_are_per_example_and_accept_column_logits():
    column = LOGITS[:, None]
    assert losses.minimax_discriminator_loss(column, column).shape == (4,)
    assert losses.non_saturating_generator_loss(column).shape == (4,)


def test_losses_stay_finite_for_huge_logits():
    big = np.array([-200.0, 200.0], np.float32)
    for value in (losses.minimax_discriminator_loss(big, big), losses.minimax_generator_loss(big),
                  losses.non_saturating_generator_loss(big)):
        assert np.isfinite(value).all()


def test_minimax_saturates_where_non_saturating_does_not():
    """Goodfellow et al. 2014, sec. 3: when D rejects fakes confidently, log(1 - D) has a tiny gradient."""
    fake = tf.constant([-8.0])
    gradients = {}
    for name, loss in (("minimax", losses.minimax_generator_loss),
                       ("non_saturating", losses.non_saturating_generator_loss)):
        with tf.GradientTape() as tape:
            tape.watch(fake)
            value = loss(fake)
        gradients[name] = abs(float(tape.gradient(value, fake)[0]))
    assert gradients["minimax"] < 1e-3 < 0.99 < gradients["non_saturating"]
