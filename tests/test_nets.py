import numpy as np
import pytest

from zoo.nets import dcgan_discriminator, dcgan_generator, mlp_discriminator, mlp_generator


@pytest.mark.parametrize("shape", [(28, 28, 1), (32, 32, 3), (64, 64, 3)])
def test_dcgan_shapes_and_range(shape):
    generator = dcgan_generator(16, shape, width=4)
    discriminator = dcgan_discriminator(shape, width=4)
    images = np.asarray(generator(np.random.randn(3, 16).astype("float32"), training=False))
    assert images.shape == (3,) + shape
    assert images.min() >= -1 and images.max() <= 1
    assert discriminator(images, training=False).shape == (3, 1)
    assert [x.name for x in generator.inputs] == ["z"]


def test_layer_norm_critic_has_no_batch_norm():
    discriminator = dcgan_discriminator((28, 28, 1), width=4, norm="layer")
    assert not any("batch_normalization" in layer.name for layer in discriminator.layers)


def test_unsupported_image_size_says_what_to_do():
    with pytest.raises(ValueError, match="--image-size"):
        dcgan_generator(16, (48, 48, 1))


def test_mlp_pair_shapes():
    generator, discriminator = mlp_generator(4, 2, width=8), mlp_discriminator(2, width=8)
    samples = generator(np.zeros((5, 4), "float32"))
    assert samples.shape == (5, 2) and discriminator(samples).shape == (5, 1)
