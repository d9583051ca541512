import keras
import numpy as np
import pytest

from zoo.nets import dcgan_discriminator, dcgan_generator, mlp_discriminator, mlp_generator, resnet_generator
from zoo.nets.conditioning import ClassScaleOffset


@pytest.mark.parametrize("shape", [(28, 28, 1), (32, 32, 3), (64, 64, 3)])
def test_dcgan_shapes_and_range(shape):
    generator = dcgan_generator(16, shape, width=4)
    discriminator = dcgan_discriminator(shape, width=4)
    images = np.asarray(generator(np.random.randn(3, 16).astype("float32"), training=False))
    assert images.shape == (3,) + shape
    assert images.min() >= -1 and images.max() <= 1
    assert discriminator(images, training=False).shape == (3, 1)
    assert [x.name for x in generator.inputs] == ["z"]


@pytest.mark.parametrize("shape", [(3,), (2, 2, 3)])
def test_class_scale_offset_gives_each_example_its_class_scale_and_offset(shape):
    layer = ClassScaleOffset(4)
    features = np.random.default_rng(0).normal(size=(5,) + shape).astype("float32")
    labels = np.array([0, 3, 3, 1, 2], "int32")
    assert np.allclose(layer([features, labels]), features)  # starts as the identity
    scale, offset = np.arange(12.0).reshape(4, 3), -np.arange(12.0).reshape(4, 3)
    layer.scale.set_weights([scale])
    layer.offset.set_weights([offset])
    expected = [x * scale[y] + offset[y] for x, y in zip(features, labels)]  # broadcast over the pixels
    assert np.allclose(layer([features, labels]), expected)


def test_class_batchnorm_generator_answers_to_its_labels_and_needs_classes():
    generator = dcgan_generator(16, (28, 28, 1), width=4, num_classes=10, class_batchnorm=True)
    assert sum(isinstance(layer, ClassScaleOffset) for layer in generator.layers) == 2
    with pytest.raises(ValueError, match="num_classes"):
        dcgan_generator(16, (28, 28, 1), width=4, class_batchnorm=True)


def test_layer_norm_critic_has_no_batch_norm():
    discriminator = dcgan_discriminator((28, 28, 1), width=4, norm="layer")
    assert not any("batch_normalization" in layer.name for layer in discriminator.layers)


@pytest.mark.parametrize("downsamplings, bottleneck", [(1, 14), (2, 7)])
def test_resnet_generator_halves_the_image_as_often_as_asked(downsamplings, bottleneck):
    generator = resnet_generator((28, 28, 1), width=4, residual_blocks=1, downsamplings=downsamplings)
    images = np.random.default_rng(0).uniform(-1, 1, (2, 28, 28, 1)).astype("float32")
    assert np.asarray(generator(images, training=False)).shape == images.shape
    blocks = [layer for layer in generator.layers if layer.__class__.__name__ == "Add"]
    assert [tuple(block.output.shape[1:]) for block in blocks] == [(bottleneck, bottleneck, 4 * 2**downsamplings)]
    skipping = resnet_generator((28, 28, 1), width=4, residual_blocks=1, downsamplings=downsamplings, skips=True)
    assert np.asarray(skipping(images, training=False)).shape == images.shape
    joins = [layer for layer in skipping.layers if layer.__class__.__name__ == "Concatenate"]
    # each upsampling's output beside the encoder's features of its size: twice the upsampling's channels
    sizes = [28 // 2**level for level in reversed(range(downsamplings))]
    assert [tuple(join.output.shape[1:]) for join in joins] == [(size, size, 8 * 28 // size) for size in sizes]
    with pytest.raises(ValueError, match="3 downsamplings needs height and width divisible by 8"):
        resnet_generator((28, 28, 1), width=4, residual_blocks=1, downsamplings=3)


def test_only_a_generator_that_keeps_contrast_tells_a_faint_garment_from_a_bright_one():
    rng = np.random.default_rng(0)
    garments = np.where(rng.uniform(size=(2, 28, 28, 1)) < 0.4, rng.uniform(0, 1, (2, 28, 28, 1)), 0)
    bright, faint = (-1 + 2 * garments).astype("float32"), (-1 + garments).astype("float32")  # half the contrast
    for keeps_contrast in (False, True):
        keras.utils.set_random_seed(0)
        generator = resnet_generator((28, 28, 1), width=4, residual_blocks=1, keeps_contrast=keeps_contrast)
        change = np.abs(np.asarray(generator(bright, training=False)) - np.asarray(generator(faint, training=False)))
        # the paper's first layer divides the contrast out (all but instance norm's epsilon of it)
        assert (change.mean() > 1e-3) == keeps_contrast, (keeps_contrast, change.mean())


def test_unsupported_image_size_says_what_to_do():
    with pytest.raises(ValueError, match="--image-size"):
        dcgan_generator(16, (48, 48, 1))


def test_mlp_pair_shapes():
    generator, discriminator = mlp_generator(4, 2, width=8), mlp_discriminator(2, width=8)
    samples = generator(np.zeros((5, 4), "float32"))
    assert samples.shape == (5, 2) and discriminator(samples).shape == (5, 1)
