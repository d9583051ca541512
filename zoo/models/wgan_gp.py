"""WGAN-GP (Gulrajani et al. 2017): the critic's Lipschitz constraint as a gradient penalty."""

import tensorflow as tf
from keras import ops

from zoo import losses
from zoo.models.wgan import WGAN


class WGANGP(WGAN):
    """WGAN without clipping: lambda * (||grad D(x_hat)|| - 1)^2 on random interpolates x_hat is added to
    every example's critic loss. The critic must not use batch norm (the penalty is per example)."""

    def __init__(self, generator, critic, latent_dim, n_critic=5, gp_weight=10.0, **kwargs):
        super().__init__(generator, critic, latent_dim, n_critic=n_critic, clip_value=None,
                         critic_schedule="constant", loss_names=("d_loss", "g_loss", "gradient_penalty"),
                         **kwargs)
        self.gp_weight = gp_weight

    def sample_mixing(self, batch_size):
        """e ~ U[0, 1], one per example (not a normal draw): where x_hat = e x + (1 - e) G(z) falls."""
        return tf.random.stateless_uniform((batch_size,), seed=self.random_key(draw=2))

    def discriminator_loss(self, real, fake, labels):
        critic_loss, _ = super().discriminator_loss(real, fake, labels)
        # with packing, x_hat mixes a real pack and a fake pack: one e and one gradient norm per pack
        (real, packed_labels), (fake, _) = self.packed(real, labels), self.packed(fake, labels)
        mixing = self.sample_mixing(ops.shape(real)[0])
        penalty = losses.gradient_penalty(lambda x: self.discriminate(x, packed_labels, training=True),
                                          real, fake, mixing)
        per_example = critic_loss + self.gp_weight * penalty
        return per_example, {"d_loss": ops.mean(per_example), "gradient_penalty": ops.mean(penalty)}
