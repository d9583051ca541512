"""f-GAN (Nowozin et al. 2016): train the generator to minimise any f-divergence to the data."""

import functools

from zoo import losses
from zoo.divergences import DIVERGENCES
from zoo.models.gan import GAN


class FGAN(GAN):
    """Single-step alternating f-GAN: one discriminator (variational function V) step, one generator step.

    The discriminator maximises F = E_P[g_f(V(x))] - E_Q[f*(g_f(V(G(z))))]; the generator minimises the
    "practical" -E_Q[g_f(V(G(z)))] by default, or F itself with `saddle=True`.
    """

    def __init__(self, generator, discriminator, latent_dim, divergence="gan", saddle=False, **kwargs):
        self.divergence = DIVERGENCES[divergence]
        # the GAN loop with f-GAN's loss pair; the logged -d_loss is the batch's estimate of F <= D_f(P || Q)
        loss_pair = (functools.partial(losses.fgan_discriminator_loss, divergence=self.divergence),
                     functools.partial(losses.fgan_generator_loss, divergence=self.divergence, saddle=saddle))
        super().__init__(generator, discriminator, latent_dim, loss_pair=loss_pair, d_steps=1, **kwargs)
