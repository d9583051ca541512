"""The base class every GAN variant subclasses: two players, two optimizers, per-replica noise."""

import numpy as np
import keras
import tensorflow as tf

from zoo.nets import dcgan_discriminator, dcgan_generator, mlp_discriminator, mlp_generator


def default_nets(data_shape, latent_dim, width, discriminator_batch_norm=True):
    """DCGAN nets for images (H, W, C), MLP nets for vectors (D,)."""
    if len(data_shape) == 3:
        return (dcgan_generator(latent_dim, data_shape, width),
                dcgan_discriminator(data_shape, width, batch_norm=discriminator_batch_norm))
    return mlp_generator(latent_dim, data_shape[0], width), mlp_discriminator(data_shape[0], width)


class AdversarialModel(keras.Model):
    """A generator and a discriminator trained against each other by a subclass's `train_step`.

    Subclasses write their losses per example and reduce them with `self.global_mean`, so the gradients
    that replicas sum give the one-device gradient; the metric trackers get each replica's local mean,
    which Keras averages across replicas into the true global mean.
    """

    def __init__(self, generator, discriminator, latent_dim, seed=0, **kwargs):
        super().__init__(**kwargs)
        self.generator = generator
        self.discriminator = discriminator
        self.latent_dim = latent_dim
        self.seed = seed
        self.d_loss_tracker = keras.metrics.Mean(name="d_loss")
        self.g_loss_tracker = keras.metrics.Mean(name="g_loss")
        self.built = True  # only wraps built sub-models; without this, fit() refuses the model

    #: how many real batches one train_step consumes; the data pipeline batches that many at once
    real_batches_per_step = 1

    def compile(self, g_optimizer, d_optimizer, **kwargs):
        super().compile(optimizer=g_optimizer, **kwargs)
        self.g_optimizer = g_optimizer
        self.d_optimizer = d_optimizer
        # Built now, inside the caller's strategy scope: an optimizer built lazily inside fit()
        # fails under MirroredStrategy.
        g_optimizer.build(self.generator.trainable_variables)
        d_optimizer.build(self.discriminator.trainable_variables)

    @property
    def metrics(self):
        return [self.d_loss_tracker, self.g_loss_tracker]

    @property
    def generators(self):
        """The networks that export writes out, by name."""
        return {"generator": self.generator}

    @property
    def steps_trained(self):
        return int(self.g_optimizer.iterations.numpy())

    @staticmethod
    def global_mean(per_example_loss):
        """Mean over the global batch: sum of this replica's values / (local batch * replicas)."""
        return tf.nn.compute_average_loss(per_example_loss)

    def sample_noise(self, batch_size, draw):
        """z ~ N(0, I), a different draw for every (seed, generator step, draw, replica).

        Stateless and keyed on the step counter, so a resumed run continues the same noise stream, and
        keyed on the replica id, so replicas do not all see the same z. Tests override this to feed
        fixed noise.
        """
        replica = tf.distribute.get_replica_context()
        replica_id = replica.replica_id_in_sync_group if replica is not None else 0
        key = tf.constant([self.seed, 0], dtype=tf.int64)
        for data in (self.g_optimizer.iterations, draw, replica_id):
            key = tf.random.experimental.stateless_fold_in(key, tf.cast(data, tf.int64))
        return tf.random.stateless_normal((batch_size, self.latent_dim), seed=key)

    def grid_inputs(self, n, seed):
        """Generator inputs for the fixed sample grid written after every epoch."""
        return np.random.default_rng(seed).standard_normal((n, self.latent_dim)).astype("float32")

    @staticmethod
    def real_data(data):
        """Real examples from a batch that may carry labels: x or (x, y)."""
        return data[0] if isinstance(data, (tuple, list)) else data

    def apply_gradients(self, optimizer, tape, loss, network):
        grads = tape.gradient(loss, network.trainable_variables)
        optimizer.apply_gradients(zip(grads, network.trainable_variables))
