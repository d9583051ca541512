"""The variant registry: every variant's options, defaults from the papers, and how to build it.

One place for defaults and their allowed values (the StudioGAN config pattern); the training CLI turns
these options into flags and rejects options that do not apply to the chosen variant.
"""

from dataclasses import dataclass
from typing import Callable

import keras

from zoo.models.base import AdversarialModel, default_nets
from zoo.models.gan import GAN, LOSSES as GAN_LOSSES


@dataclass(frozen=True)
class Option:
    default: object
    help: str
    choices: tuple = ()
    positive: bool = False


@dataclass(frozen=True)
class Variant:
    summary: str
    options: dict
    build: Callable  # (config, data_shape) -> compiled AdversarialModel


def _adam(config):
    return keras.optimizers.Adam(config["learning_rate"], beta_1=config["beta_1"], beta_2=config["beta_2"])


def build_gan(config, data_shape):
    generator, discriminator = default_nets(data_shape, config["latent_dim"], config["width"])
    model = GAN(generator, discriminator, config["latent_dim"], loss=config["loss"],
                d_steps=config["d_steps"], seed=config["seed"])
    model.compile(g_optimizer=_adam(config), d_optimizer=_adam(config))
    return model


VARIANTS = {
    "gan": Variant(
        summary="original GAN (Goodfellow et al. 2014) on DCGAN nets (Radford et al. 2016)",
        options={
            "loss": Option("non_saturating", "generator loss", choices=tuple(GAN_LOSSES)),
            "d_steps": Option(1, "discriminator steps per generator step (k), each on a fresh real batch",
                              positive=True),
            # DCGAN's Adam settings, which Goodfellow's GAN on these nets is usually trained with.
            "learning_rate": Option(2e-4, "Adam learning rate of both players", positive=True),
            "beta_1": Option(0.5, "Adam beta_1"),
            "beta_2": Option(0.999, "Adam beta_2"),
        },
        build=build_gan,
    ),
}

__all__ = ["AdversarialModel", "GAN", "Option", "Variant", "VARIANTS"]
