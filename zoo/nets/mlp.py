"""MLP nets for the low-dimensional toy distributions (ring8, grid25, mog1d)."""

import keras
from keras import layers

from zoo.nets.conditioning import label_input, projection_logits, with_label_embedding


def mlp_generator(latent_dim, data_dim, width=128, depth=3, num_classes=0, name="generator"):
    """z (batch, latent_dim) [+ label (batch,)] -> samples (batch, data_dim), unbounded."""
    z = keras.Input((latent_dim,), name="z")
    inputs, x = with_label_embedding(z, num_classes)
    for _ in range(depth):
        x = layers.Dense(width, activation="relu")(x)
    samples = layers.Dense(data_dim, dtype="float32", name="samples")(x)
    return keras.Model(inputs, samples, name=name)


def mlp_discriminator(data_dim, width=128, depth=3, num_classes=0, activation="leaky_relu",
                      name="discriminator"):
    """samples (batch, data_dim) [+ label (batch,)] -> one logit per sample, shape (batch, 1)."""
    sample = keras.Input((data_dim,), name="sample")
    x = sample
    for _ in range(depth):
        x = layers.Dense(width)(x)
        x = layers.LeakyReLU(0.2)(x) if activation == "leaky_relu" else layers.Activation(activation)(x)
    if not num_classes:
        return keras.Model(sample, layers.Dense(1, dtype="float32", name="logits")(x), name=name)
    label = label_input()
    return keras.Model([sample, label], projection_logits(x, label, num_classes), name=name)
