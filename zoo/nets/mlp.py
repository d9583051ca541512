"""MLP nets for the low-dimensional toy distributions (ring8, grid25, mog1d)."""

import keras
from keras import layers


def mlp_generator(latent_dim, data_dim, width=128, depth=3, name="generator"):
    """z (batch, latent_dim) -> samples (batch, data_dim), unbounded."""
    z = keras.Input((latent_dim,), name="z")
    x = z
    for _ in range(depth):
        x = layers.Dense(width, activation="relu")(x)
    samples = layers.Dense(data_dim, name="samples")(x)
    return keras.Model(z, samples, name=name)


def mlp_discriminator(data_dim, width=128, depth=3, name="discriminator"):
    """samples (batch, data_dim) -> one logit per sample, shape (batch, 1)."""
    sample = keras.Input((data_dim,), name="sample")
    x = sample
    for _ in range(depth):
        x = layers.Dense(width)(x)
        x = layers.LeakyReLU(0.2)(x)
    logits = layers.Dense(1, name="logits")(x)
    return keras.Model(sample, logits, name=name)
