"""Conditional GAN (Mirza & Osindero 2014): G(z, y) and D(x, y), with a projection discriminator, and
optionally an auxiliary classifier (AC-GAN, Odena et al. 2017)."""

import numpy as np
from keras import ops

from zoo import losses
from zoo.models.gan import GAN
from zoo.prior import latents


class ConditionalGAN(GAN):
    """The GAN loop with the class label fed to both nets; fakes are asked for the real batch's labels,
    so the generator sees the classes as often as the data has them.

    With `auxiliary_weight` w > 0 the discriminator also has a classifier head (AC-GAN): its loss adds w times
    the cross-entropy of the class of real and fake examples, the generator's w times that of its fakes, so
    that both players want a fake to show its label's class (Odena et al. weigh the terms alike: w = 1).
    """

    def __init__(self, generator, discriminator, latent_dim, num_classes, auxiliary_weight=0.0, **kwargs):
        if auxiliary_weight:
            kwargs["loss_names"] = ("d_loss", "g_loss", "d_class_loss", "g_class_loss")
        super().__init__(generator, discriminator, latent_dim, **kwargs)
        self.num_classes = num_classes
        self.auxiliary_weight = auxiliary_weight

    def generate(self, z, labels, training):
        return self.generator([z, labels], training=training)

    def discriminate(self, x, labels, training):
        """The logits; with the auxiliary classifier, (logits, class logits)."""
        return self.discriminator([x, labels], training=training)

    def discriminator_loss(self, real, fake, labels):
        if not self.auxiliary_weight:
            return super().discriminator_loss(real, fake, labels)
        real_logits, real_classes = self.discriminate(real, labels, training=True)
        fake_logits, fake_classes = self.discriminate(fake, labels, training=True)
        class_loss = losses.acgan_discriminator_loss(real_classes, fake_classes, labels)
        per_example = self.d_loss_fn(real_logits, fake_logits) + self.auxiliary_weight * class_loss
        return per_example, {"d_loss": ops.mean(per_example), "d_class_loss": ops.mean(class_loss)}

    def generator_loss(self, fake, labels):
        if not self.auxiliary_weight:
            return super().generator_loss(fake, labels)
        fake_logits, fake_classes = self.discriminate(fake, labels, training=True)
        class_loss = losses.acgan_generator_loss(fake_classes, labels)
        per_example = self.g_loss_fn(fake_logits) + self.auxiliary_weight * class_loss
        return per_example, {"g_loss": ops.mean(per_example), "g_class_loss": ops.mean(class_loss)}

    def grid_samples(self, count, seed, real_examples):
        """One row per class, the same z in every row (so a column shows one z across classes)."""
        per_class = max(1, int(np.sqrt(count)))
        z = latents(per_class, self.latent_dim, seed)
        labels = np.repeat(np.arange(self.num_classes, dtype="int32"), per_class)
        samples = self.generator([np.tile(z, (self.num_classes, 1)), labels], training=False)
        return np.asarray(samples), per_class
