"""The base class every GAN variant subclasses: two optimizers, loss trackers, per-replica noise."""

import contextlib
from dataclasses import dataclass

import keras
import tensorflow as tf
from keras import ops
from zoo.errors import ZooError
from zoo.models.averaging import GeneratorAverage


class UnsuitableDataError(ZooError, ValueError):
    """A variant asked to train on data it cannot use (cgan without labels, cyclegan without images)."""


@dataclass(frozen=True)
class DataSpec:
    """What the nets need to know of the data: one example's shape, the classes, how many examples."""

    shape: tuple  # (H, W, C) for images, (D,) for vectors
    num_classes: int = 0
    num_examples: int = 0
    two_domains: bool = False  # unpaired (a, b) images, for translation

    @property
    def is_image(self):
        return len(self.shape) == 3


class AdversarialModel(keras.Model):
    """Generator(s) and discriminator(s) trained against each other by a subclass's `train_step`.

    Subclasses write their losses per example and reduce them with `self.global_mean`, so the gradients
    that replicas sum give the one-device gradient; the loss trackers get each replica's local mean,
    which Keras averages across replicas into the true global mean.
    """

    def __init__(self, loss_names, seed=0, ema=0.0, **kwargs):
        super().__init__(**kwargs)
        self.seed = seed
        self.ema = ema  # decay of the generators' weight average; 0: no average
        self.generator_average = None
        self.loss_trackers = [keras.metrics.Mean(name=name) for name in loss_names]
        self.built = True  # only wraps built sub-models; without this, fit() refuses the model

    def _maybe_symbolic_build(self, iterator=None, data_batch=None):
        """Nothing to build: the nets are built, and compile() builds the optimizers and trackers.

        Keras' TF trainer would otherwise take one batch and strategy.reduce() it to trace a build, which
        fails under MultiWorkerMirroredStrategy (and throws a batch away). keras is pinned in pyproject.
        """

    def compile(self, g_optimizer, d_optimizer, **kwargs):
        super().compile(optimizer=g_optimizer, **kwargs)
        self.g_optimizer = g_optimizer
        self.d_optimizer = d_optimizer
        # Built now, inside the caller's strategy scope: an optimizer built lazily inside fit()
        # fails under MirroredStrategy.
        g_optimizer.build(self.generator_variables)
        d_optimizer.build(self.discriminator_variables)
        if self.ema:  # built here for the same reason: its variables must be the strategy's
            self.generator_average = GeneratorAverage(self.generator_weights, self.ema, name="generator_average")

    @property
    def metrics(self):
        return self.loss_trackers

    def track(self, **means):
        """Record this replica's mean of each named loss."""
        for tracker in self.loss_trackers:
            if tracker.name in means:
                tracker.update_state(means[tracker.name])

    def results(self):
        """The logs of a train step: each loss's mean so far on this replica (Keras averages replicas)."""
        if isinstance(self.distribute_strategy, tf.distribute.MultiWorkerMirroredStrategy):
            # Keras reduces multi-worker logs with strategy.reduce(MEAN, axis=0), which needs an axis 0
            return {t.name: ops.reshape(t.result(), (1,)) for t in self.loss_trackers}
        return {tracker.name: tracker.result() for tracker in self.loss_trackers}

    #: how many real batches one train_step consumes; the data pipeline batches that many at once
    real_batches_per_step = 1

    @property
    def generators(self):
        """The networks that export writes out, by name."""
        raise NotImplementedError

    @property
    def generator_variables(self):
        raise NotImplementedError

    @property
    def discriminator_variables(self):
        raise NotImplementedError

    @property
    def generator_weights(self):
        """Every weight of the generators, batch-norm statistics included: what the average covers."""
        return [weight for net in self.generators.values() for weight in net.weights]

    def update_generator_average(self):
        """Called after every generator step (a no-op without --ema)."""
        if self.generator_average is not None:
            self.generator_average.update(self.generator_weights, self.g_optimizer.iterations)

    def averaged_generators(self):
        """A context in which the generators hold their averaged weights (the live ones without --ema):
        what sample grids, evaluation and export use."""
        if self.generator_average is None:
            return contextlib.nullcontext()
        return self.generator_average.swapped_into(self.generator_weights)

    def use_generator_average(self):
        """From now on the generators hold their averaged weights (for export; a no-op without --ema)."""
        if self.generator_average is not None:
            self.generator_average.copy_into(self.generator_weights)

    @property
    def exported_weights(self):
        """Which weights `averaged_generators` gives, in words (for export metadata and cards)."""
        return f"exponential moving average, decay {self.ema}" if self.ema else "live (no average)"

    @property
    def steps_trained(self):
        """Generator steps so far: the unit of 'training steps' in logs, checkpoints and metadata."""
        return int(self.g_optimizer.iterations.numpy())

    @staticmethod
    def global_mean(per_example_loss):
        """Mean over the global batch: sum of this replica's values / (local batch * replicas)."""
        return tf.nn.compute_average_loss(per_example_loss)

    @staticmethod
    def apply_gradients(optimizer, tape, loss, variables):
        # Scaling the loss's output gradient is scaling the loss: a no-op unless the optimizer is a
        # LossScaleOptimizer (mixed precision), which unscales the gradients again in apply_gradients.
        scale = optimizer.scale_loss(ops.ones_like(loss))
        optimizer.apply_gradients(zip(tape.gradient(loss, variables, output_gradients=scale), variables))

    def random_key(self, draw):
        """A stateless RNG key unique to (seed, generator step, discriminator step, draw, replica).

        Keyed on the optimizer counters, a resumed run continues the same random stream; keyed on the
        replica id, replicas do not all draw the same numbers.
        """
        replica = tf.distribute.get_replica_context()
        replica_id = replica.replica_id_in_sync_group if replica is not None else 0
        key = tf.constant([self.seed, 0], dtype=tf.int64)
        for data in (self.g_optimizer.iterations, self.d_optimizer.iterations, draw, replica_id):
            key = tf.random.experimental.stateless_fold_in(key, tf.cast(data, tf.int64))
        return key

    def grid_samples(self, count, seed, real_examples):
        """(samples, columns) for the picture written after every epoch; columns None: a square grid."""
        raise NotImplementedError
