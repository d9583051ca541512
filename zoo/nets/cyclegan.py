"""CycleGAN nets (Zhu et al. 2017): a ResNet generator and a PatchGAN discriminator.

Instance normalisation (GroupNormalization with groups=-1) and reflection padding, as in the paper; the
generator halves the image `downsamplings` times (the paper: 2) and its filters start at `width` (the paper:
64, for 256x256 images).
"""

import keras
from keras import layers, ops


class ReflectionPadding2D(layers.Layer):
    """Pads height and width by mirroring, which avoids the border artefacts of zero padding."""

    def __init__(self, padding=1, **kwargs):
        super().__init__(**kwargs)
        self.padding = padding

    def call(self, x):
        p = self.padding
        return ops.pad(x, [[0, 0], [p, p], [p, p], [0, 0]], mode="reflect")

    def compute_output_shape(self, shape):
        grow = lambda size: None if size is None else size + 2 * self.padding  # noqa: E731
        return (shape[0], grow(shape[1]), grow(shape[2]), shape[3])

    def get_config(self):
        return {**super().get_config(), "padding": self.padding}


def _instance_norm():
    return layers.GroupNormalization(groups=-1, epsilon=1e-5)


def _conv_norm_relu(x, filters, kernel, strides=1, reflect=0, norm=True):
    if reflect:
        x = ReflectionPadding2D(reflect)(x)
    x = layers.Conv2D(filters, kernel, strides=strides, padding="valid" if reflect else "same",
                      use_bias=not norm)(x)
    return layers.ReLU()(_instance_norm()(x) if norm else x)


def _residual_block(x, filters):
    y = _conv_norm_relu(x, filters, 3, reflect=1)
    y = ReflectionPadding2D(1)(y)
    y = _instance_norm()(layers.Conv2D(filters, 3, use_bias=False)(y))
    return layers.Add()([x, y])


def resnet_generator(image_shape, width=32, residual_blocks=6, downsamplings=2, skips=False, keeps_contrast=False,
                     name="generator"):
    """image (batch, H, W, C) in [-1, 1] -> translated images of the same shape, H and W divisible by
    2**downsamplings. The paper halves 256x256 images twice, to 64x64 for the residual blocks; halved twice, a
    28x28 image has a 7x7 bottleneck, each cell of which stands for 4x4 pixels, coarser than a strap. With
    `skips`, each upsampling also sees the features the encoder had at its size (U-Net's skip connections,
    Ronneberger et al. 2015, pix2pix's other generator), so detail need not pass through the bottleneck.

    The paper's first layer, a convolution then instance norm, gives the same features for an image and for
    its contrast scaled about the background (-1 + a (x + 1): the convolution is linear and the norm divides
    the scale out), so the generator cannot tell a faint garment from a bright one of the same shape and the
    round trip cannot restore it. With `keeps_contrast` that layer has a bias and no norm (like pix2pix's
    first encoder layer), and the ReLU keeps the contrast in the features."""
    factor = 2**downsamplings
    if image_shape[0] % factor or image_shape[1] % factor:
        raise ValueError(f"the ResNet generator with {downsamplings} downsamplings needs height and width "
                         f"divisible by {factor}, got {image_shape}")
    image = keras.Input(image_shape, name="image")
    x = _conv_norm_relu(image, width, 7, reflect=3, norm=not keeps_contrast)
    encoded = []  # the encoder's features at each size above the bottleneck, largest first
    for level in range(1, downsamplings + 1):
        encoded.append(x)
        x = _conv_norm_relu(x, width * 2**level, 3, strides=2)
    for _ in range(residual_blocks):
        x = _residual_block(x, width * factor)
    for level in reversed(range(downsamplings)):
        x = layers.Conv2DTranspose(width * 2**level, 3, strides=2, padding="same", use_bias=False)(x)
        x = layers.ReLU()(_instance_norm()(x))
        if skips:
            x = layers.Concatenate()([x, encoded[level]])
    x = ReflectionPadding2D(3)(x)
    images = layers.Conv2D(image_shape[-1], 7, activation="tanh", dtype="float32", name="images")(x)
    return keras.Model(image, images, name=name)


def patchgan_discriminator(image_shape, width=32, name="discriminator"):
    """image -> a map of per-patch real/fake scores, (batch, H/4, W/4, 1)."""
    image = keras.Input(image_shape, name="image")
    x = layers.LeakyReLU(0.2)(layers.Conv2D(width, 4, strides=2, padding="same")(image))
    for filters, strides in ((width * 2, 2), (width * 4, 1)):
        x = layers.Conv2D(filters, 4, strides=strides, padding="same", use_bias=False)(x)
        x = layers.LeakyReLU(0.2)(_instance_norm()(x))
    scores = layers.Conv2D(1, 4, padding="same", dtype="float32", name="patch_scores")(x)
    return keras.Model(image, scores, name=name)
