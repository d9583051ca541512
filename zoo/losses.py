"""GAN losses as pairs of pure functions, in the manner of TF-GAN's losses module.

Every function takes the discriminator's raw outputs (logits), shaped (batch,) or (batch, 1), and
returns per-example losses of shape (batch,). Reduce them once, over the *global* batch, with
`tf.nn.compute_average_loss`, so that gradients summed across replicas equal the one-device gradient.

log sigmoid(x) = -softplus(-x) and log(1 - sigmoid(x)) = -softplus(x) are used throughout: they stay
finite for logits of any size, where log(sigmoid(x)) would round to log(0).
"""

from keras import ops


def _flat(logits):
    return ops.reshape(logits, (ops.shape(logits)[0],))


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
