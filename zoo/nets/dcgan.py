"""DCGAN-style nets (Radford et al. 2016) for 28x28, 32x32 and 64x64 images.

The generator projects z to a small feature map (7x7 for 28, 4x4 otherwise) and doubles it with
stride-2 transposed convolutions; the discriminator mirrors it with stride-2 convolutions and
LeakyReLU(0.2). Batch norm is synchronised so that replicas normalise over the global batch
(zoo.nets.normalization).

With `num_classes`, both nets also take an integer `label`: the generator concatenates a label
embedding to z (Mirza & Osindero 2014), and with `class_batchnorm` also gives every batch norm each
class's own scale and offset (conditional batch norm, as Miyato & Koyama's generator); the discriminator
adds a projection term <embed(y), phi(x)> to its logit (Miyato & Koyama 2018), and with
`auxiliary_classifier` also predicts the class (AC-GAN, Odena et al. 2017).
"""

import math

import keras
from keras import layers

from zoo.nets.conditioning import ClassScaleOffset, conditional_outputs, label_input, with_label_embedding
from zoo.nets.normalization import BatchNormalization

SUPPORTED_SIZES = (28, 32, 64)


def _upsampling_plan(size):
    """Start size of the projected feature map and how many x2 upsamplings reach `size`."""
    if size not in SUPPORTED_SIZES:
        raise ValueError(f"DCGAN nets support image sizes {SUPPORTED_SIZES}, got {size}; "
                         "resize the data (--image-size) to one of them")
    start = 7 if size == 28 else 4
    return start, int(math.log2(size // start))


def _normalization(kind):
    if kind == "batch":
        return BatchNormalization()
    if kind == "layer":  # per example: WGAN-GP's penalty is per example, batch norm would couple them
        return layers.LayerNormalization(axis=(1, 2, 3))
    raise ValueError(f"unknown normalization {kind!r}: use 'batch', 'layer' or None")


def dcgan_generator(latent_dim, image_shape, width=64, num_classes=0, class_batchnorm=False,
                    name="generator"):
    """z (batch, latent_dim) [+ label (batch,)] -> images (batch, H, W, C) in [-1, 1]."""
    if class_batchnorm and not num_classes:
        raise ValueError("class-conditional batch norm needs num_classes")
    size, _, channels = image_shape
    start, n_up = _upsampling_plan(size)
    filters = width * 2 ** (n_up - 1)
    z = keras.Input((latent_dim,), name="z")
    inputs, x = with_label_embedding(z, num_classes)

    def batch_norm(x):
        if not class_batchnorm:
            return BatchNormalization()(x)
        return ClassScaleOffset(num_classes)([BatchNormalization(center=False, scale=False)(x), inputs[1]])

    x = layers.Dense(start * start * filters * 2, use_bias=False)(x)
    x = layers.ReLU()(batch_norm(x))
    x = layers.Reshape((start, start, filters * 2))(x)
    for _ in range(n_up - 1):
        x = layers.Conv2DTranspose(filters, 4, strides=2, padding="same", use_bias=False)(x)
        x = layers.ReLU()(batch_norm(x))
        filters //= 2
    # float32 outputs even under mixed precision: exact losses, and a float32 exported generator
    images = layers.Conv2DTranspose(channels, 4, strides=2, padding="same", activation="tanh",
                                    dtype="float32", name="images")(x)
    return keras.Model(inputs, images, name=name)


def dcgan_discriminator(image_shape, width=64, norm="batch", num_classes=0, pack=1, auxiliary_classifier=False,
                        name="discriminator"):
    """images (batch, H, W, C) [+ label (batch,)] -> one logit (or critic score) per image, (batch, 1)
    [, with `auxiliary_classifier` and then the class logits, (batch, num_classes)].

    `norm`: "batch" (DCGAN), "layer" (WGAN-GP's critic) or None. With `pack` M > 1 (PacGAN), it judges
    packs of M images stacked along the channels, (batch, H, W, M * C) [+ labels (batch, M)].
    """
    _, n_down = _upsampling_plan(image_shape[0])
    height, width_, channels = image_shape
    image = keras.Input((height, width_, pack * channels), name="image")
    x = image
    filters = width
    for block in range(n_down):
        normalized = norm is not None and block > 0  # DCGAN: no normalization on the input layer
        x = layers.Conv2D(filters, 4, strides=2, padding="same", use_bias=not normalized)(x)
        if normalized:
            x = _normalization(norm)(x)
        x = layers.LeakyReLU(0.2)(x)
        filters *= 2
    features = layers.Flatten()(x)
    if not num_classes:
        return keras.Model(image, layers.Dense(1, dtype="float32", name="logits")(features), name=name)
    label = label_input(pack)
    return keras.Model([image, label], conditional_outputs(features, label, num_classes, auxiliary_classifier),
                       name=name)
