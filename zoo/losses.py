"""GAN losses as pairs of pure functions, in the manner of TF-GAN's losses module.

Every function takes the discriminator's raw outputs (logits), shaped (batch,) or (batch, 1), and
returns per-example losses of shape (batch,). Reduce them once, over the *global* batch, with
`tf.nn.compute_average_loss`, so that gradients summed across replicas equal the one-device gradient.

log sigmoid(x) = -softplus(-x) and log(1 - sigmoid(x)) = -softplus(x) are used throughout: they stay
finite for logits of any size, where log(sigmoid(x)) would round to log(0).
"""

import tensorflow as tf
from keras import ops


def _flat(logits):
    return ops.reshape(logits, (ops.shape(logits)[0],))


def _mean_per_example(values):
    """Mean over every axis but the batch: one value per example (e.g. over PatchGAN's patches)."""
    return ops.mean(ops.reshape(values, (ops.shape(values)[0], -1)), axis=1)


def minimax_discriminator_loss(real_logits, fake_logits):
    """-[log D(x) + log(1 - D(G(z)))], D = sigmoid(logits) (Goodfellow et al. 2014, eq. 1)."""
    return ops.softplus(-_flat(real_logits)) + ops.softplus(_flat(fake_logits))


def minimax_generator_loss(fake_logits):
    """log(1 - D(G(z))): the generator minimises the minimax value V(D, G) directly.

    It saturates early in training, when D rejects fakes confidently (Goodfellow et al. 2014, sec. 3).
    """
    return -ops.softplus(_flat(fake_logits))


def non_saturating_discriminator_loss(real_logits, fake_logits):
    """Same as the minimax discriminator loss: only the generator's objective changes."""
    return minimax_discriminator_loss(real_logits, fake_logits)


def non_saturating_generator_loss(fake_logits):
    """-log D(G(z)): same fixed point as minimax, strong gradients early (Goodfellow et al. 2014)."""
    return ops.softplus(-_flat(fake_logits))


# --- auxiliary classifier GAN (Odena et al. 2017): the discriminator also predicts the class -------------------

def acgan_discriminator_loss(real_class_logits, fake_class_logits, labels):
    """-[log P(C = y | x) + log P(C = y | G(z, y))]: the auxiliary classifier learns the class of real and
    fake examples alike (the discriminator maximises Odena et al.'s L_C, the class's log-likelihood)."""
    return (ops.sparse_categorical_crossentropy(labels, real_class_logits, from_logits=True)
            + ops.sparse_categorical_crossentropy(labels, fake_class_logits, from_logits=True))


def acgan_generator_loss(fake_class_logits, labels):
    """-log P(C = y | G(z, y)): the generator also maximises L_C, making its fakes of their label's class."""
    return ops.sparse_categorical_crossentropy(labels, fake_class_logits, from_logits=True)


# --- Wasserstein GAN (Arjovsky et al. 2017; Gulrajani et al. 2017) ----------------------------------------

def wasserstein_discriminator_loss(real_scores, fake_scores):
    """D(G(z)) - D(x): minimising it maximises the critic's estimate of the Wasserstein-1 distance."""
    return _flat(fake_scores) - _flat(real_scores)


def wasserstein_generator_loss(fake_scores):
    """-D(G(z))."""
    return -_flat(fake_scores)


def gradient_penalty(critic, real, fake, mixing):
    """(||grad_x D(x_hat)||_2 - 1)^2 per example, x_hat = e x + (1 - e) G(z) (Gulrajani et al. 2017, eq. 3).

    `critic` maps a batch to scores; `mixing` holds e ~ U[0, 1], one per example. 1e-12 inside the square
    root keeps the gradient of the norm finite where the critic's gradient vanishes.
    """
    mixing = ops.reshape(mixing, (-1,) + (1,) * (len(real.shape) - 1))
    interpolates = mixing * real + (1.0 - mixing) * fake
    with tf.GradientTape() as tape:
        tape.watch(interpolates)
        scores = critic(interpolates)
    gradients = tape.gradient(scores, interpolates)
    squared = ops.sum(ops.reshape(ops.square(gradients), (ops.shape(gradients)[0], -1)), axis=1)
    return ops.square(ops.sqrt(squared + 1e-12) - 1.0)


# --- least squares GAN, as CycleGAN uses it (Mao et al. 2017; Zhu et al. 2017) -----------------------------

def least_squares_discriminator_loss(real_scores, fake_scores):
    """0.5 [(D(y) - 1)^2 + D(G(x))^2], averaged over PatchGAN's patches."""
    return 0.5 * (_mean_per_example(ops.square(real_scores - 1.0)) + _mean_per_example(ops.square(fake_scores)))


def least_squares_generator_loss(fake_scores):
    """(D(G(x)) - 1)^2, averaged over patches."""
    return _mean_per_example(ops.square(fake_scores - 1.0))


def l1_loss(target, output):
    """Mean |target - output| per example: CycleGAN's cycle-consistency and identity terms."""
    return _mean_per_example(ops.abs(target - output))


# --- f-GAN (Nowozin et al. 2016): see zoo.divergences for the nine divergences ----------------------------

def fgan_discriminator_loss(real_outputs, fake_outputs, divergence):
    """-(g_f(V(x)) - f*(g_f(V(G(z))))): minimising it maximises the variational bound F of D_f(P || Q)."""
    return (-divergence.activation(_flat(real_outputs))
            + divergence.conjugate_of_activation(_flat(fake_outputs)))


def fgan_generator_loss(fake_outputs, divergence, saddle=False):
    """-g_f(V(G(z))) (the paper's "practical" loss), or with `saddle` -f*(g_f(V(G(z)))), minimising F."""
    if saddle:
        return -divergence.conjugate_of_activation(_flat(fake_outputs))
    return -divergence.activation(_flat(fake_outputs))
