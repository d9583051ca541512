"""The original GAN (Goodfellow et al. 2014): k discriminator steps, then one generator step."""

import tensorflow as tf
from keras import ops

from zoo import losses
from zoo.models.base import AdversarialModel

LOSSES = {
    "minimax": (losses.minimax_discriminator_loss, losses.minimax_generator_loss),
    "non_saturating": (losses.non_saturating_discriminator_loss, losses.non_saturating_generator_loss),
}


class GAN(AdversarialModel):
    """Minimax or non-saturating GAN; each of the `d_steps` discriminator steps gets a fresh real batch."""

    def __init__(self, generator, discriminator, latent_dim, loss="non_saturating", d_steps=1, **kwargs):
        super().__init__(generator, discriminator, latent_dim, **kwargs)
        self.d_loss_fn, self.g_loss_fn = LOSSES[loss]
        self.d_steps = d_steps
        self.real_batches_per_step = d_steps

    def train_step(self, data):
        real_batches = ops.split(self.real_data(data), self.d_steps)
        for draw, real in enumerate(real_batches):
            z = self.sample_noise(ops.shape(real)[0], draw)
            with tf.GradientTape() as tape:
                fake = self.generator(z, training=True)
                per_example = self.d_loss_fn(self.discriminator(real, training=True),
                                             self.discriminator(fake, training=True))
                d_loss = self.global_mean(per_example)
            self.apply_gradients(self.d_optimizer, tape, d_loss, self.discriminator)
            self.d_loss_tracker.update_state(ops.mean(per_example))

        z = self.sample_noise(ops.shape(real)[0], self.d_steps)
        with tf.GradientTape() as tape:
            per_example = self.g_loss_fn(self.discriminator(self.generator(z, training=True), training=True))
            g_loss = self.global_mean(per_example)
        self.apply_gradients(self.g_optimizer, tape, g_loss, self.generator)
        self.g_loss_tracker.update_state(ops.mean(per_example))
        return {m.name: m.result() for m in self.metrics}
