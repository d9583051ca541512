"""f-GAN (Nowozin et al. 2016): train the generator to minimise any f-divergence to the data."""

from keras import ops

from zoo import losses
from zoo.divergences import DIVERGENCES
from zoo.models.gan import GAN


class FGAN(GAN):
    """Single-step alternating f-GAN: one discriminator (variational function V) step, one generator step.

    The discriminator maximises F = E_P[g_f(V(x))] - E_Q[f*(g_f(V(G(z))))]; the generator minimises the
    "practical" -E_Q[g_f(V(G(z)))] by default, or F itself with `saddle=True`.
    """

    def __init__(self, generator, discriminator, latent_dim, divergence="gan", saddle=False, **kwargs):
        super().__init__(generator, discriminator, latent_dim, d_steps=1, **kwargs)
        self.divergence = DIVERGENCES[divergence]
        self.saddle = saddle

    def discriminator_loss(self, real, fake, labels):
        per_example = losses.fgan_discriminator_loss(self.discriminate(real, labels, training=True),
                                                     self.discriminate(fake, labels, training=True),
                                                     self.divergence)
        # -d_loss is the batch's estimate of the bound F <= D_f(P || Q)
        return per_example, {"d_loss": ops.mean(per_example)}

    def generator_loss(self, fake, labels):
        per_example = losses.fgan_generator_loss(self.discriminate(fake, labels, training=True),
                                                 self.divergence, self.saddle)
        return per_example, {"g_loss": ops.mean(per_example)}
