import keras
import numpy as np
import pytest
import tensorflow as tf

from tests.helpers import DOMAINS, IMAGES, POINTS, TINY, batch, build, train_steps, weights
from training.config import resolve
from zoo import losses
from zoo.divergences import DIVERGENCES
from zoo.models import VARIANTS, DataSpec, UnsuitableDataError
from zoo.models.cyclegan import ConstantThenLinearDecay, ImagePool
from zoo.models.wgan import critic_steps_before_generator_step, generator_steps_after

STEP_CASES = [
    ("gan", IMAGES, {"loss": "minimax", "d_steps": 2}),
    ("cgan", IMAGES, {}),
    ("cgan", POINTS, {}),
    ("cgan", IMAGES, {"generator_conditioning": "batchnorm"}),
    ("cgan", IMAGES, {"auxiliary_classifier": 1.0}),
    ("cgan", POINTS, {"auxiliary_classifier": 0.5}),
    ("fgan", IMAGES, {"divergence": "kl"}),
    ("wgan", IMAGES, {"critic_schedule": "constant", "n_critic": 1}),
    ("wgan_gp", IMAGES, {"n_critic": 1}),
    ("cyclegan", DOMAINS, {"batch_size": 4, "residual_blocks": 1}),
    ("cyclegan", DOMAINS, {"batch_size": 4, "residual_blocks": 1, "generator_downsamplings": 1}),
    ("cyclegan", DOMAINS, {"batch_size": 4, "residual_blocks": 1, "generator_skips": True}),
    ("cyclegan", DOMAINS, {"batch_size": 4, "residual_blocks": 1, "generator_keeps_contrast": True}),
    # PacGAN packs: vectors end to end, images along the channels, a pack's labels together
    ("gan", POINTS, {"pack": 4}),
    ("cgan", IMAGES, {"pack": 2}),
    ("fgan", POINTS, {"divergence": "kl", "pack": 2}),
    ("wgan_gp", IMAGES, {"n_critic": 1, "pack": 2}),
]


def test_every_registered_variant_has_a_step_case():
    assert {model for model, _, _ in STEP_CASES} == set(VARIANTS)


@pytest.mark.parametrize("model,spec,overrides", STEP_CASES)
def test_one_train_step_moves_every_net(model, spec, overrides):
    gan = build(model, spec, **overrides)
    before_g, before_d = weights(gan.generator_variables), weights(gan.discriminator_variables)
    logs = train_steps(gan, spec, 1)
    assert all(np.isfinite(values[-1]) for values in logs.values()), logs
    assert all(not np.array_equal(a, b) for a, b in zip(before_g, weights(gan.generator_variables)))
    for variable, a, b in zip(gan.discriminator_variables, before_d, weights(gan.discriminator_variables)):
        held_at_clip = model == "wgan" and np.allclose(np.abs(b), 0.01)  # pushed outward, clipped back
        # E[D(G(z))] - E[D(x)] does not depend on the critic's output bias: its gradient is exactly 0
        free_bias = model.startswith("wgan") and variable.path.endswith("logits/bias")
        assert not np.array_equal(a, b) or held_at_clip or free_bias, variable.path


def test_auxiliary_classifier_teaches_both_players_the_classes():
    """AC-GAN: the discriminator's class head learns the labels of real and fake samples, and the generator
    makes fakes that the head gives their labels: both class losses fall from chance (log 8 a term)."""
    gan = build("cgan", POINTS, auxiliary_classifier=1.0, learning_rate=1e-2)
    first = train_steps(gan, POINTS, 1, n=32)
    train_steps(gan, POINTS, 100, n=32)
    last = train_steps(gan, POINTS, 1, n=32)
    assert first["g_class_loss"][0] == pytest.approx(np.log(8), rel=0.2)
    assert last["g_class_loss"][0] < 0.6 * first["g_class_loss"][0]
    assert last["d_class_loss"][0] < 0.8 * first["d_class_loss"][0]


def test_gan_takes_k_discriminator_steps_per_generator_step():
    gan = build("gan", d_steps=3)
    train_steps(gan, IMAGES, 2)
    assert int(gan.d_optimizer.iterations) == 6 and int(gan.g_optimizer.iterations) == 2


@pytest.mark.parametrize("model,overrides", [
    ("gan", {}),
    ("gan", {"d_steps": 2}),
    ("cgan", {}),
    ("fgan", {"divergence": "kl"}),
    ("wgan_gp", {"n_critic": 1}),
])
def test_reuse_fakes_takes_the_same_step_with_one_generator_pass(model, overrides):
    """With one z for every draw, fresh noise would make exactly the fakes that reuse_fakes reuses: the same
    trainable weights after the steps, with one generator forward pass fewer a step."""
    z = tf.constant(np.random.default_rng(0).standard_normal((8, TINY["latent_dim"])), tf.float32)
    trained = []
    for reuse in (False, True):
        keras.utils.set_random_seed(0)  # the same initial weights
        gan = build(model, reuse_fakes=reuse, **overrides)
        gan.sample_noise = lambda size, draw: z
        calls = []
        generate = gan.generate
        gan.generate = lambda *args, **kwargs: calls.append(1) or generate(*args, **kwargs)
        gan.train_step(batch(IMAGES, 8, gan.real_batches_per_step))  # eagerly: one call of generate a pass
        assert len(calls) == gan.d_steps + (not reuse)
        train_steps(gan, IMAGES, 2)
        trained.append(weights(gan.generator.trainable_variables + gan.discriminator.trainable_variables))
    for fresh, reused in zip(*trained):
        np.testing.assert_allclose(reused, fresh, rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("name", sorted(DIVERGENCES))
def test_every_divergence_trains(name):
    gan = build("fgan", POINTS, divergence=name, generator_loss="saddle" if name == "kl" else "practical")
    logs = train_steps(gan, POINTS, 2)
    assert np.isfinite(logs["d_loss"][-1]) and np.isfinite(logs["g_loss"][-1])


def test_noise_differs_per_draw_and_step_but_is_reproducible():
    gan = build("gan")
    first, second = gan.sample_noise(4, 0), gan.sample_noise(4, 1)
    assert first.shape == (4, TINY["latent_dim"]) and not np.allclose(first, second)
    np.testing.assert_array_equal(first, gan.sample_noise(4, 0))
    gan.g_optimizer.iterations.assign_add(1)
    assert not np.allclose(first, gan.sample_noise(4, 0))


def test_noise_differs_per_replica(mirrored_cpus):
    strategy = mirrored_cpus
    with strategy.scope():
        gan = build("gan")
    per_replica = strategy.run(lambda: gan.sample_noise(4, 0))
    first, second = (np.array(t) for t in strategy.experimental_local_results(per_replica))
    assert not np.allclose(first, second)


def test_wgan_reference_schedule():
    def before(step):
        return critic_steps_before_generator_step(step, 5, "reference")

    # 100 critic steps for generator steps 0..24 and every 500th, 5 otherwise
    assert [before(g) for g in (0, 1, 24, 25, 26)] == [100, 200, 2500, 2505, 2510]
    assert before(500) - before(499) == 100
    assert before(501) - before(500) == 5
    # and back: the generator steps a number of critic steps takes (what a decaying learning rate spans)
    assert [generator_steps_after(c, 5, "reference") for c in (0, 99, 100, 2504, 2505, 2509)] == [0, 0, 1, 25, 26, 26]
    assert [generator_steps_after(c, 5, "constant") for c in (0, 4, 5, 390, 391)] == [0, 0, 1, 78, 78]
    wgan = build("wgan")
    train_steps(wgan, IMAGES, 101)
    assert int(wgan.d_optimizer.iterations) == 101 and int(wgan.g_optimizer.iterations) == 1


def test_wgan_constant_schedule_and_clipping():
    wgan = build("wgan", critic_schedule="constant", learning_rate=0.5)  # large steps push weights to the clip
    train_steps(wgan, IMAGES, 10)
    assert int(wgan.g_optimizer.iterations) == 2
    clipped = np.concatenate([np.abs(np.array(w)).ravel() for w in wgan.discriminator_variables])
    assert clipped.max() <= 0.01 + 1e-7 and np.isclose(clipped.max(), 0.01)


def test_wgan_clips_on_every_replica(mirrored_cpus):
    strategy = mirrored_cpus
    with strategy.scope():
        wgan = build("wgan", critic_schedule="constant", learning_rate=0.5)
    train_steps(wgan, IMAGES, 6)
    for weight in wgan.discriminator_variables:
        for value in strategy.experimental_local_results(weight.value):
            assert np.abs(np.array(value)).max() <= 0.01 + 1e-7
    assert wgan.steps_trained == 1


@pytest.mark.parametrize("norm,expected", [(1.0, 0.0), (2.0, 1.0)])
def test_gradient_penalty_of_a_linear_critic(norm, expected):
    direction = np.random.default_rng(0).normal(size=(6, 1)).astype("float32")
    weight = tf.constant(direction / np.linalg.norm(direction) * norm)
    real, fake = (tf.random.normal((5, 6), seed=s) for s in (1, 2))
    penalty = losses.gradient_penalty(lambda x: x @ weight, real, fake, tf.random.uniform((5,)))
    np.testing.assert_allclose(penalty, np.full(5, expected), atol=1e-5)


def test_gradient_penalty_mixes_per_example():
    """x_hat lies on the segment from fake (e = 0) to real (e = 1), with each example's own e."""
    seen = []
    real, fake = tf.ones((3, 2)), tf.zeros((3, 2))
    losses.gradient_penalty(lambda x: seen.append(x) or tf.reduce_sum(x, axis=1), real, fake,
                            tf.constant([0.0, 0.5, 1.0]))
    np.testing.assert_allclose(seen[0], [[0, 0], [0.5, 0.5], [1, 1]])


def test_image_pool_returns_stored_images_half_the_time():
    pool = ImagePool(10, (1, 1, 1))
    first = tf.reshape(tf.range(1.0, 11.0), (10, 1, 1, 1))
    np.testing.assert_array_equal(pool.query(first, tf.constant([0, 1], tf.int64)), first)  # filling: as given
    from_pool = 0
    for step in range(200):
        new = tf.fill((5, 1, 1, 1), -float(step + 1))
        returned = np.array(pool.query(new, tf.constant([step, 2], tf.int64))).ravel()
        stored = returned != -(step + 1)
        from_pool += stored.sum()
        assert set(returned[stored]) <= set(range(1, 11)) | set(range(-step, 0))  # earlier images only
    assert 0.45 < from_pool / 1000 < 0.55


def test_cyclegan_learning_rate_is_constant_then_decays_to_zero():
    schedule = ConstantThenLinearDecay(2e-4, 100)
    rates = [float(schedule(step)) for step in (0, 50, 75, 100, 120)]
    np.testing.assert_allclose(rates, [2e-4, 2e-4, 1e-4, 0, 0], atol=1e-12)


@pytest.mark.parametrize("model, spec, options, train_steps_in_run, generator_steps_in_run", [
    ("gan", IMAGES, {"d_steps": 2}, 8, 8),  # 2 epochs of 256 examples in batches of 32, two a step
    ("wgan_gp", POINTS, {"n_critic": 3, "mlp": "plain"}, 16, 5),
    ("wgan", IMAGES, {"critic_schedule": "constant", "n_critic": 2}, 16, 8),
])
def test_learning_rate_decay_keeps_both_players_on_the_generators_steps(model, spec, options, train_steps_in_run,
                                                                       generator_steps_in_run):
    net = build(model, spec, learning_rate_decay=True, learning_rate=1e-3, **options)
    schedule = ConstantThenLinearDecay(1e-3, generator_steps_in_run)
    for steps in (train_steps_in_run - 3, 3):  # into the decay, then to the run's end
        train_steps(net, spec, steps, n=32)
        expected = float(schedule(int(net.g_optimizer.iterations)))
        for optimizer in (net.g_optimizer, net.d_optimizer):  # the critic steps more often, at the same rate
            np.testing.assert_allclose(float(optimizer.learning_rate), expected, rtol=1e-6)
    assert int(net.g_optimizer.iterations) == generator_steps_in_run and expected == 0


def test_learning_rate_decay_under_replicas(mirrored_cpus):
    # the critic's rate reads the generator's step counter, a mirrored variable, inside the replicas' step
    with mirrored_cpus.scope():
        wgan_gp = build("wgan_gp", IMAGES, learning_rate_decay=True, learning_rate=1e-3, n_critic=2)
    train_steps(wgan_gp, IMAGES, 13, n=32)  # of the run's 16 critic steps: 6 of its 8 generator steps
    assert wgan_gp.steps_trained == 6
    for optimizer in (wgan_gp.g_optimizer, wgan_gp.d_optimizer):
        rate = float(keras.ops.convert_to_numpy(optimizer.learning_rate))
        np.testing.assert_allclose(rate, 1e-3 * (8 - 6) / 4, rtol=1e-6)


def test_conditional_grid_has_one_row_per_class():
    samples, columns = build("cgan").grid_samples(64, seed=0, real_examples=None)
    assert columns == 8 and samples.shape == (80, 28, 28, 1)


def test_variants_refuse_data_they_cannot_use():
    with pytest.raises(UnsuitableDataError, match="class labels"):
        build("cgan", DataSpec((28, 28, 1)))
    with pytest.raises(UnsuitableDataError, match="two image domains"):
        build("cyclegan", IMAGES)
    with pytest.raises(UnsuitableDataError, match="two domains"):
        build("gan", DOMAINS)
    with pytest.raises(UnsuitableDataError, match="image .DCGAN. nets"):
        build("cgan", POINTS, generator_conditioning="batchnorm")
    with pytest.raises(ValueError, match="not packs"):
        VARIANTS["cgan"].build({**resolve({**TINY, "model": "cgan"}), "auxiliary_classifier": 1.0, "pack": 2},
                               IMAGES)
    with pytest.raises(UnsuitableDataError, match="divisible by 8, not 28x28: pass --generator-downsamplings 2$"):
        build("cyclegan", DOMAINS, generator_downsamplings=3)
    odd = DataSpec((27, 27, 1), num_examples=64, two_domains=True)
    with pytest.raises(UnsuitableDataError, match="pass an --image-size divisible by 2$"):
        build("cyclegan", odd, generator_downsamplings=1)


def test_packing_concatenates_consecutive_samples():
    gan = build("gan", pack=2)
    images = np.arange(4 * 28 * 28, dtype="float32").reshape(4, 28, 28, 1)
    packs, labels = gan.packed(images, np.arange(4, dtype="int32"))
    assert packs.shape == (2, 28, 28, 2) and labels.shape == (2, 2)
    np.testing.assert_array_equal(np.asarray(packs)[1, ..., 0], images[2, ..., 0])
    np.testing.assert_array_equal(np.asarray(packs)[1, ..., 1], images[3, ..., 0])
    points = build("gan", POINTS, pack=4).packed(np.arange(16, dtype="float32").reshape(8, 2), None)[0]
    np.testing.assert_array_equal(np.asarray(points)[1], np.arange(8, 16))
