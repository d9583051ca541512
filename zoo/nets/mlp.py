"""MLP nets for the low-dimensional toy distributions (ring8, grid25, mog1d).

Two architectures (the `mlp` option of the noise variants):

- "plain": `width` units in every hidden layer, ReLU in the generator, LeakyReLU(0.2) in the discriminator.
- "pacgan": the nets of the 2-D experiments of PacGAN (Lin et al. 2018, "PacGAN: The power of two samples
  in generative adversarial networks", appendix and the authors' code, which builds on ALI, Dumoulin et al.
  2017): a generator of four hidden layers of 400 units, each batch-normalised before its ReLU, and a
  discriminator of three maxout layers (Goodfellow et al. 2013) of 200 units with 5 pieces each, all weights
  drawn from N(0, 0.02^2). With `width` w the layers have 2w and w units: the paper's nets are w = 200.
"""

import keras
from keras import layers, ops

from zoo.nets.conditioning import conditional_outputs, label_input, with_label_embedding
from zoo.nets.normalization import BatchNormalization

MLP_ARCHITECTURES = ("plain", "pacgan")
# N(0, 0.02^2), as a config: each layer makes its own initializer from it (one unseeded instance shared by
# layers would give every layer of the same shape the same weights)
PACGAN_INIT = {"class_name": "RandomNormal", "config": {"stddev": 0.02}}
MAXOUT_PIECES = 5
# ALI's code moves the batch-norm statistics 5 % of the way to each batch's (Keras' momentum 0.95)
BATCH_NORM_MOMENTUM = 0.95


@keras.saving.register_keras_serializable(package="zoo")
class Maxout(layers.Layer):
    """A maxout layer (Goodfellow et al. 2013): each unit is the largest of `pieces` affine maps of the input."""

    def __init__(self, units, pieces, kernel_initializer="glorot_uniform", **kwargs):
        super().__init__(**kwargs)
        self.units, self.pieces = units, pieces
        self.kernel_initializer = keras.initializers.get(kernel_initializer)
        self.affine = layers.Dense(units * pieces, kernel_initializer=self.kernel_initializer)

    def build(self, input_shape):
        self.affine.build(input_shape)

    def call(self, x):
        pieces = ops.reshape(self.affine(x), (-1, self.units, self.pieces))  # a unit's pieces are adjacent
        return ops.max(pieces, axis=-1)

    def compute_output_shape(self, input_shape):
        return (input_shape[0], self.units)

    def get_config(self):
        return {**super().get_config(), "units": self.units, "pieces": self.pieces,
                "kernel_initializer": keras.initializers.serialize(self.kernel_initializer)}


def mlp_generator(latent_dim, data_dim, width=128, depth=3, num_classes=0, batch_norm=False,
                  kernel_initializer="glorot_uniform", name="generator"):
    """z (batch, latent_dim) [+ label (batch,)] -> samples (batch, data_dim), unbounded.

    With `batch_norm`, every hidden layer is normalised before its ReLU (and has no bias: the norm's
    offset takes its place), as in DCGAN's generator (Radford et al. 2016).
    """
    z = keras.Input((latent_dim,), name="z")
    inputs, x = with_label_embedding(z, num_classes)
    for _ in range(depth):
        if batch_norm:
            x = layers.Dense(width, use_bias=False, kernel_initializer=kernel_initializer)(x)
            x = layers.ReLU()(BatchNormalization(momentum=BATCH_NORM_MOMENTUM)(x))
        else:
            x = layers.Dense(width, activation="relu", kernel_initializer=kernel_initializer)(x)
    samples = layers.Dense(data_dim, kernel_initializer=kernel_initializer, dtype="float32", name="samples")(x)
    return keras.Model(inputs, samples, name=name)


def mlp_discriminator(data_dim, width=128, depth=3, num_classes=0, activation="leaky_relu", pack=1,
                      auxiliary_classifier=False, kernel_initializer="glorot_uniform", name="discriminator"):
    """samples (batch, data_dim) [+ label (batch,)] -> one logit per sample, shape (batch, 1) [, with
    `auxiliary_classifier` and then the class logits (AC-GAN), (batch, num_classes)].

    `activation` is "leaky_relu" (slope 0.2), "maxout" (MAXOUT_PIECES pieces per unit) or any Keras
    activation. With `pack` M > 1 (PacGAN), it judges packs: (batch, M * data_dim) [+ labels (batch, M)].
    """
    sample = keras.Input((pack * data_dim,), name="sample")
    x = sample
    for _ in range(depth):
        if activation == "maxout":
            x = Maxout(width, MAXOUT_PIECES, kernel_initializer=kernel_initializer)(x)
            continue
        x = layers.Dense(width, kernel_initializer=kernel_initializer)(x)
        x = layers.LeakyReLU(0.2)(x) if activation == "leaky_relu" else layers.Activation(activation)(x)
    if not num_classes:
        logits = layers.Dense(1, kernel_initializer=kernel_initializer, dtype="float32", name="logits")(x)
        return keras.Model(sample, logits, name=name)
    label = label_input(pack)
    return keras.Model([sample, label], conditional_outputs(x, label, num_classes, auxiliary_classifier), name=name)


def mlp_nets(architecture, latent_dim, data_dim, width, num_classes=0, pack=1, auxiliary_classifier=False):
    """(generator, discriminator) of one of MLP_ARCHITECTURES (see the module's docstring)."""
    if architecture == "plain":
        return (mlp_generator(latent_dim, data_dim, width, num_classes=num_classes),
                mlp_discriminator(data_dim, width, num_classes=num_classes, pack=pack,
                                  auxiliary_classifier=auxiliary_classifier))
    if architecture == "pacgan":
        return (mlp_generator(latent_dim, data_dim, 2 * width, depth=4, num_classes=num_classes, batch_norm=True,
                              kernel_initializer=PACGAN_INIT),
                mlp_discriminator(data_dim, width, depth=3, num_classes=num_classes, activation="maxout",
                                  pack=pack, auxiliary_classifier=auxiliary_classifier,
                                  kernel_initializer=PACGAN_INIT))
    raise ValueError(f"unknown MLP architecture {architecture!r}: choose from {', '.join(MLP_ARCHITECTURES)}")
