"""CycleGAN (Zhu et al. 2017): unpaired translation A <-> B with two generators and two discriminators.

Generators G: A -> B and F: B -> A minimise LSGAN adversarial losses + 10 * cycle L1 (F(G(a)) = a,
G(F(b)) = b) + 5 * identity L1 (F(a) = a, G(b) = b). The discriminators see fakes drawn from a history
pool of 50 earlier fakes (Shrivastava et al. 2017), which damps oscillation.
"""

import keras
import numpy as np
import tensorflow as tf
from keras import ops

from zoo import losses
from zoo.models.base import AdversarialModel


class ImagePool(keras.layers.Layer):
    """The last `size` generated images; a query returns each new image, or with p 0.5 (once the pool is
    full) a stored one, which the new image replaces.

    Each replica keeps its own pool (on-read variables), as each GPU of the reference implementation
    would. Images of one batch are decided together: two that pick the same slot both get its old image.
    """

    def __init__(self, size, image_shape, **kwargs):
        super().__init__(**kwargs)
        self.size = size
        per_replica = {"trainable": False, "synchronization": "on_read", "aggregation": "only_first_replica"}
        self.images = keras.Variable(keras.initializers.Zeros()((size,) + tuple(image_shape)), name="images",
                                     **per_replica)
        self.count = keras.Variable(0, dtype="int32", name="count", **per_replica)
        self.built = True  # its variables exist already; fit() would otherwise try to build it by calling it

    def query(self, images, key):
        if self.size == 0:
            return images
        n = ops.shape(images)[0]
        slots = ops.cast(self.count, "int32") + ops.arange(n, dtype="int32")
        filling = slots < self.size
        swap_key, slot_key = tf.unstack(tf.random.experimental.stateless_split(key, 2))
        swap = ops.logical_and(ops.logical_not(filling),
                               tf.random.stateless_uniform((n,), seed=swap_key) < 0.5)
        random_slots = tf.random.stateless_uniform((n,), seed=slot_key, maxval=self.size, dtype=tf.int32)
        stored = ops.take(self.images, ops.where(swap, random_slots, 0), axis=0)
        returned = ops.where(ops.reshape(swap, (-1, 1, 1, 1)), stored, images)
        # Images that are not stored are written to a spare row past the end, then dropped: shapes stay
        # static (XLA) and no write lands on a slot it should not touch.
        targets = ops.where(filling, slots, ops.where(swap, random_slots, self.size))
        padded = ops.concatenate([self.images, ops.zeros_like(self.images[:1])])
        self.images.assign(tf.tensor_scatter_nd_update(padded, targets[:, None], images)[:self.size])
        self.count.assign(ops.minimum(self.count + n, self.size))
        return returned


@keras.saving.register_keras_serializable(package="zoo")
class ConstantThenLinearDecay(keras.optimizers.schedules.LearningRateSchedule):
    """The learning rate held for the first half of `total_steps`, then decayed linearly to 0."""

    def __init__(self, initial_learning_rate, total_steps):
        self.initial_learning_rate = initial_learning_rate
        self.total_steps = total_steps

    def __call__(self, step):
        half = self.total_steps / 2
        fraction_left = (self.total_steps - ops.cast(step, "float32")) / max(half, 1)
        return self.initial_learning_rate * ops.clip(fraction_left, 0.0, 1.0)

    def get_config(self):
        return {"initial_learning_rate": self.initial_learning_rate, "total_steps": self.total_steps}


class CycleGAN(AdversarialModel):
    def __init__(self, generator_ab, generator_ba, discriminator_a, discriminator_b, image_shape,
                 cycle_weight=10.0, identity_weight=5.0, pool_size=50, **kwargs):
        super().__init__(("d_loss", "g_loss", "cycle_loss", "identity_loss"), **kwargs)
        self.generator_ab, self.generator_ba = generator_ab, generator_ba
        self.discriminator_a, self.discriminator_b = discriminator_a, discriminator_b
        self.cycle_weight, self.identity_weight = cycle_weight, identity_weight
        self.pool_a = ImagePool(pool_size, image_shape, name="pool_a")  # fakes in domain A, from F(b)
        self.pool_b = ImagePool(pool_size, image_shape, name="pool_b")

    @property
    def generators(self):
        return {"generator_ab": self.generator_ab, "generator_ba": self.generator_ba}

    @property
    def generator_variables(self):
        return self.generator_ab.trainable_variables + self.generator_ba.trainable_variables

    @property
    def discriminator_variables(self):
        return self.discriminator_a.trainable_variables + self.discriminator_b.trainable_variables

    def train_step(self, data):
        real_a, real_b = data
        with tf.GradientTape() as tape:
            fake_b = self.generator_ab(real_a, training=True)
            fake_a = self.generator_ba(real_b, training=True)
            adversarial = (losses.least_squares_generator_loss(self.discriminator_b(fake_b, training=True))
                           + losses.least_squares_generator_loss(self.discriminator_a(fake_a, training=True)))
            cycle = (losses.l1_loss(real_a, self.generator_ba(fake_b, training=True))
                     + losses.l1_loss(real_b, self.generator_ab(fake_a, training=True)))
            identity = (losses.l1_loss(real_a, self.generator_ba(real_a, training=True))
                        + losses.l1_loss(real_b, self.generator_ab(real_b, training=True)))
            per_example = adversarial + self.cycle_weight * cycle + self.identity_weight * identity
            g_loss = self.global_mean(per_example)
        self.apply_gradients(self.g_optimizer, tape, g_loss, self.generator_variables)
        self.update_generator_average()

        pooled_a = self.pool_a.query(fake_a, self.random_key(draw=0))
        pooled_b = self.pool_b.query(fake_b, self.random_key(draw=1))
        with tf.GradientTape() as tape:
            d_per_example = (
                losses.least_squares_discriminator_loss(self.discriminator_a(real_a, training=True),
                                                self.discriminator_a(pooled_a, training=True))
                + losses.least_squares_discriminator_loss(self.discriminator_b(real_b, training=True),
                                                  self.discriminator_b(pooled_b, training=True)))
            d_loss = self.global_mean(d_per_example)
        self.apply_gradients(self.d_optimizer, tape, d_loss, self.discriminator_variables)
        self.track(d_loss=ops.mean(d_per_example), g_loss=ops.mean(per_example),
                   cycle_loss=ops.mean(cycle), identity_loss=ops.mean(identity))
        return self.results()

    def grid_samples(self, count, seed, real_examples):
        """Rows: a, G(a), F(G(a)), b, F(b), G(F(b)) for up to 8 fixed test pairs."""
        real_a, real_b = (examples[:8] for examples in real_examples)
        fake_b = self.generator_ab(real_a, training=False)
        fake_a = self.generator_ba(real_b, training=False)
        rows = [real_a, fake_b, self.generator_ba(fake_b, training=False),
                real_b, fake_a, self.generator_ab(fake_a, training=False)]
        return np.concatenate([np.asarray(row) for row in rows]), len(real_a)
