"""Batch normalisation synchronised across replicas, with single-device numerics.

Keras' `BatchNormalization(synchronized=True)` all-reduces sum(x) and sum(x^2) and takes
var = E[x^2] - E[x]^2, which loses precision to cancellation where |mean| >> std: its statistics (and
so the gradients) on N replicas then drift from the one-device ones by ~1e-5. This layer all-reduces
the sum first, then the sum of squared deviations from the global mean: two reductions, the variance
computed as single-device batch norm computes it.
"""

import tensorflow as tf
from keras import layers


class BatchNormalization(layers.BatchNormalization):
    def __init__(self, **kwargs):
        super().__init__(synchronized=True, **kwargs)

    def _moments(self, inputs, mask):
        if mask is not None:
            return super()._moments(inputs, mask)
        replica = tf.distribute.get_replica_context()
        x = tf.cast(inputs, tf.float32)  # statistics in float32, also under mixed precision
        axes = self._reduction_axes
        if replica is None or replica.num_replicas_in_sync == 1:  # the same two-pass moments, no all-reduce
            mean, variance = tf.nn.moments(x, axes)
            return tf.cast(mean, inputs.dtype), tf.cast(variance, inputs.dtype)

        def global_sum(value):
            return replica.all_reduce(tf.distribute.ReduceOp.SUM, value)

        total, count = global_sum([tf.reduce_sum(x, axis=axes),
                                   tf.cast(tf.reduce_prod(tf.gather(tf.shape(x), axes)), tf.float32)])
        mean = total / count
        deviations = tf.square(x - tf.stop_gradient(tf.reshape(mean, self._broadcast_shape(x))))
        variance = global_sum(tf.reduce_sum(deviations, axis=axes)) / count
        return tf.cast(mean, inputs.dtype), tf.cast(variance, inputs.dtype)

    def _broadcast_shape(self, x):
        return [1 if axis in self._reduction_axes else -1 for axis in range(len(x.shape))]
