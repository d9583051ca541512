"""DCGAN-style nets (Radford et al. 2016) for 28x28, 32x32 and 64x64 images.

The generator projects z to a small feature map (7x7 for 28, 4x4 otherwise) and doubles it with
stride-2 transposed convolutions; the discriminator mirrors it with stride-2 convolutions and
LeakyReLU(0.2). Batch norm is synchronised so that replicas normalise over the global batch.
"""

import math

import keras
from keras import layers

SUPPORTED_SIZES = (28, 32, 64)


def _upsampling_plan(size):
    """Start size of the projected feature map and how many x2 upsamplings reach `size`."""
    if size not in SUPPORTED_SIZES:
        raise ValueError(f"DCGAN nets support image sizes {SUPPORTED_SIZES}, got {size}; "
                         "resize the data (--image-size) to one of them")
    start = 7 if size == 28 else 4
    return start, int(math.log2(size // start))


def dcgan_generator(latent_dim, image_shape, width=64, name="generator"):
    """z (batch, latent_dim) -> images (batch, H, W, C) in [-1, 1]."""
    size, _, channels = image_shape
    start, n_up = _upsampling_plan(size)
    filters = width * 2 ** (n_up - 1)
    z = keras.Input((latent_dim,), name="z")
    x = layers.Dense(start * start * filters * 2, use_bias=False)(z)
    x = layers.BatchNormalization(synchronized=True)(x)
    x = layers.ReLU()(x)
    x = layers.Reshape((start, start, filters * 2))(x)
    for _ in range(n_up - 1):
        x = layers.Conv2DTranspose(filters, 4, strides=2, padding="same", use_bias=False)(x)
        x = layers.BatchNormalization(synchronized=True)(x)
        x = layers.ReLU()(x)
        filters //= 2
    images = layers.Conv2DTranspose(channels, 4, strides=2, padding="same", activation="tanh",
                                    name="images")(x)
    return keras.Model(z, images, name=name)


def dcgan_discriminator(image_shape, width=64, batch_norm=True, name="discriminator"):
    """images (batch, H, W, C) -> one logit per image, shape (batch, 1).

    `batch_norm=False` gives the variant without it (WGAN-GP's critic uses layer norm instead).
    """
    _, n_down = _upsampling_plan(image_shape[0])
    image = keras.Input(image_shape, name="image")
    x = image
    filters = width
    for block in range(n_down):
        x = layers.Conv2D(filters, 4, strides=2, padding="same", use_bias=block == 0 or not batch_norm)(x)
        if block > 0 and batch_norm:  # DCGAN: no batch norm on the discriminator's input layer
            x = layers.BatchNormalization(synchronized=True)(x)
        x = layers.LeakyReLU(0.2)(x)
        filters *= 2
    x = layers.Flatten()(x)
    logits = layers.Dense(1, name="logits")(x)
    return keras.Model(image, logits, name=name)
