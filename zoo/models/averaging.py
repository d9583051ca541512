"""An exponential moving average of the generators' weights (Yazici et al. 2019, "The unusual effectiveness
of averaging in GAN training").

The averaged generator is what a user samples from: it smooths the oscillation of the adversarial game, and
its samples are usually better than those of the live weights at any single step (BigGAN, StyleGAN).
"""

import contextlib

import keras
import numpy as np
from keras import ops

#: TF's ExponentialMovingAverage warm-up: the decay starts low, so the first averages are not dominated
#: by the random initial weights, and reaches `decay` after about 10 / (1 - decay) generator steps
WARMUP_OFFSET = 10.0


class GeneratorAverage(keras.layers.Layer):
    """A shadow copy of `weights` (all of the generators' weights, batch-norm statistics included),
    updated after every generator step: average <- d * average + (1 - d) * weight, with
    d = min(decay, (1 + t) / (10 + t)) at generator step t.

    The average is one flat model variable (one attribute, so checkpoints hold it; one broadcast a step
    under a strategy). Every replica computes the same update (the weights are in sync after each step), so
    the first replica's value is kept ("only_first_replica"), which also lets the update run in replica
    context.
    """

    def __init__(self, weights, decay, **kwargs):
        super().__init__(**kwargs)
        self.decay = decay
        self.shapes = [tuple(weight.shape) for weight in weights]
        size = sum(int(np.prod(shape)) for shape in self.shapes)
        self.average = self.add_weight(shape=(size,), initializer="zeros", trainable=False,
                                       aggregation="only_first_replica", name="average")
        self.average.assign(self._flat(weights))
        self.built = True

    @staticmethod
    def _flat(weights):
        return ops.concatenate([ops.reshape(ops.cast(weight, "float32"), (-1,)) for weight in weights])

    def update(self, weights, step):
        """Fold the weights after generator step `step` (1 for the first) into the average."""
        step = ops.cast(step, "float32")
        decay = ops.minimum(self.decay, (1.0 + step) / (WARMUP_OFFSET + step))
        self.average.assign(decay * self.average + (1.0 - decay) * self._flat(weights))

    def values(self):
        """The averaged value of each weight, as numpy arrays of the weights' shapes."""
        flat = np.asarray(self.average.numpy())
        ends = np.cumsum([int(np.prod(shape)) for shape in self.shapes])
        return [part.reshape(shape) for part, shape in zip(np.split(flat, ends[:-1]), self.shapes)]

    def copy_into(self, weights):
        for weight, value in zip(weights, self.values()):
            weight.assign(value)

    @contextlib.contextmanager
    def swapped_into(self, weights):
        """Within the block, `weights` hold the averages; afterwards their own values again, exactly."""
        live = [weight.numpy() for weight in weights]
        self.copy_into(weights)
        try:
            yield
        finally:
            for weight, value in zip(weights, live):
                weight.assign(value)
