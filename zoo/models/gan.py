"""The original GAN (Goodfellow et al. 2014): k discriminator steps, then one generator step."""

import numpy as np
import tensorflow as tf
from keras import ops

from zoo import losses
from zoo.models.base import AdversarialModel
from zoo.prior import latents

LOSSES = {
    "minimax": (losses.minimax_discriminator_loss, losses.minimax_generator_loss),
    "non_saturating": (losses.non_saturating_discriminator_loss, losses.non_saturating_generator_loss),
}


class GAN(AdversarialModel):
    """Minimax or non-saturating GAN; each of the `d_steps` discriminator steps gets a fresh real batch.

    With d_steps = k > 1, one train_step reads k real batches at once, shaped (batch, k, ...), and
    discriminator step j uses [:, j]. A variant passes its loss pair (`loss_pair`, functions of zoo.losses),
    adds terms in `discriminator_loss` (WGAN-GP's penalty) or changes the conditioning (`generate`,
    `discriminate`), and keeps the loop.

    The generator step draws fresh noise, as Algorithm 1 of Goodfellow et al. does. With `reuse_fakes`, it
    reuses the fakes of the last discriminator step instead (as the PyTorch DCGAN example does): the
    generator then runs forward once per train step instead of twice: a sixth less arithmetic for the DCGAN
    nets at 28 x 28 (the generator forward pass is 7.3 of the 42 million multiply-adds per image and step).
    """

    def __init__(self, generator, discriminator, latent_dim, loss_pair=LOSSES["non_saturating"], d_steps=1,
                 reuse_fakes=False, pack=1, loss_names=("d_loss", "g_loss"), **kwargs):
        super().__init__(loss_names, **kwargs)
        self.generator = generator
        self.discriminator = discriminator
        self.latent_dim = latent_dim
        # (discriminator loss, generator loss): per-example losses of the discriminator's outputs
        self.d_loss_fn, self.g_loss_fn = loss_pair
        self.d_steps = d_steps
        self.reuse_fakes = reuse_fakes
        self.pack = pack

    @property
    def real_batches_per_step(self):
        """How many real batches one train_step consumes."""
        return self.d_steps

    @property
    def generators(self):
        return {"generator": self.generator}

    @property
    def generator_variables(self):
        return self.generator.trainable_variables

    @property
    def discriminator_variables(self):
        return self.discriminator.trainable_variables

    # --- hooks for the variants ----------------------------------------------------------------------

    def generate(self, z, labels, training):
        return self.generator(z, training=training)

    def discriminate(self, x, labels, training):
        """The discriminator's logits of (packed) samples x with their labels."""
        return self.discriminator(x, training=training)

    def packed(self, x, labels):
        """PacGAN (Lin et al. 2018): the discriminator judges packs of `pack` samples, concatenated (vectors
        end to end, images along the channels), so a generator that repeats itself is visible within one
        input. Consecutive samples form a pack: a replica's batch (a multiple of `pack`) never splits one.
        Returns (packs, the packs' labels (n / pack, pack)); unchanged when pack is 1."""
        if self.pack == 1:
            return x, labels
        shape = ops.shape(x)
        packs = ops.reshape(x, (-1, self.pack) + tuple(x.shape[1:]))
        if len(x.shape) == 4:  # (packs, pack, H, W, C) -> (packs, H, W, pack * C)
            packs = ops.reshape(ops.transpose(packs, (0, 2, 3, 1, 4)),
                                (-1, shape[1], shape[2], self.pack * x.shape[3]))
        else:
            packs = ops.reshape(packs, (-1, self.pack * x.shape[1]))
        return packs, None if labels is None else ops.reshape(labels, (-1, self.pack))

    def discriminator_loss(self, real, fake, labels):
        """Per-example (per-pack) discriminator loss and the means to log."""
        per_example = self.d_loss_fn(self.discriminate(*self.packed(real, labels), training=True),
                                     self.discriminate(*self.packed(fake, labels), training=True))
        return per_example, {"d_loss": ops.mean(per_example)}

    def generator_loss(self, fake, labels):
        per_example = self.g_loss_fn(self.discriminate(*self.packed(fake, labels), training=True))
        return per_example, {"g_loss": ops.mean(per_example)}

    # --- the training loop ---------------------------------------------------------------------------

    def sample_noise(self, batch_size, draw):
        """z ~ N(0, I), different for every step, draw and replica. Tests override it to fix z."""
        return tf.random.stateless_normal((batch_size, self.latent_dim), seed=self.random_key(draw))

    def discriminator_step(self, real, labels, draw=0, fake=None):
        """One discriminator update against `fake`, or against fakes of fresh noise."""
        if fake is None:
            fake = self.generate(self.sample_noise(ops.shape(real)[0], draw), labels, training=True)
        with tf.GradientTape() as tape:
            per_example, logged = self.discriminator_loss(real, fake, labels)
            loss = self.global_mean(per_example)
        self.apply_gradients(self.d_optimizer, tape, loss, self.discriminator_variables)
        self.track(**logged)

    def generator_step(self, labels, draw, real=None):
        """One generator update on fakes of fresh noise. Given `real` (reuse_fakes), those fakes first
        serve the discriminator step on `real`, so one forward pass of the generator serves both."""
        z = self.sample_noise(ops.shape(labels)[0], draw)
        with tf.GradientTape() as tape:
            fake = self.generate(z, labels, training=True)
            if real is not None:
                with tape.stop_recording():  # the discriminator's update is no part of G's gradient
                    self.discriminator_step(real, labels, draw, fake)
            per_example, logged = self.generator_loss(fake, labels)  # against the updated discriminator
            loss = self.global_mean(per_example)
        self.apply_gradients(self.g_optimizer, tape, loss, self.generator_variables)
        self.update_generator_average()
        self.track(**logged)

    def train_step(self, data):
        real, labels = data
        batches = [(real, labels)] if self.d_steps == 1 else [(real[:, j], labels[:, j])
                                                              for j in range(self.d_steps)]
        *first, (last_real, last_labels) = batches
        for draw, (real, labels) in enumerate(first):
            self.discriminator_step(real, labels, draw)
        if self.reuse_fakes:
            self.generator_step(last_labels, draw=len(first), real=last_real)
        else:
            self.discriminator_step(last_real, last_labels, draw=len(first))
            self.generator_step(last_labels, draw=len(batches))
        return self.results()

    def grid_samples(self, count, seed, real_examples):
        z = latents(count, self.latent_dim, seed)
        return np.asarray(self.generate(z, None, training=False)), None
