"""Conditional GAN (Mirza & Osindero 2014): G(z, y) and D(x, y), with a projection discriminator."""

import numpy as np

from zoo.models.gan import GAN
from zoo.prior import latents


class ConditionalGAN(GAN):
    """The GAN loop with the class label fed to both nets; fakes are asked for the real batch's labels,
    so the generator sees the classes as often as the data has them."""

    def __init__(self, generator, discriminator, latent_dim, num_classes, **kwargs):
        super().__init__(generator, discriminator, latent_dim, **kwargs)
        self.num_classes = num_classes

    def generate(self, z, labels, training):
        return self.generator([z, labels], training=training)

    def discriminate(self, x, labels, training):
        return self.discriminator([x, labels], training=training)

    def grid_samples(self, count, seed, real_examples):
        """One row per class, the same z in every row (so a column shows one z across classes)."""
        per_class = max(1, int(np.sqrt(count)))
        z = latents(per_class, self.latent_dim, seed)
        labels = np.repeat(np.arange(self.num_classes, dtype="int32"), per_class)
        samples = self.generator([np.tile(z, (self.num_classes, 1)), labels], training=False)
        return np.asarray(samples), per_class
