"""Class conditioning shared by the conditional nets: a label input, its embedding, class-conditional batch
norm, a projection head, an auxiliary classifier head."""

import keras
from keras import layers, ops

LABEL_EMBEDDING = 50


def label_input(pack=1):
    """The class label; a discriminator of packs (PacGAN) takes the `pack` labels of a pack."""
    return keras.Input(() if pack == 1 else (pack,), dtype="int32", name="label")


def with_label_embedding(z, num_classes):
    """(inputs, features): z alone, or [z, label] with the label's embedding concatenated to z."""
    if not num_classes:
        return z, z
    label = label_input()
    embedded = layers.Embedding(num_classes, LABEL_EMBEDDING)(label)
    return [z, label], layers.Concatenate()([z, embedded])


class ClassScaleOffset(layers.Layer):
    """x * gamma[y] + beta[y], each class its own per-channel scale and offset: with a batch norm that has
    none of its own, conditional batch norm (de Vries et al. 2017), the generator's half of Miyato &
    Koyama's (2018) projection cGAN. It starts as the identity (gamma 1, beta 0)."""

    def __init__(self, num_classes, **kwargs):
        super().__init__(**kwargs)
        self.num_classes = num_classes

    def build(self, input_shape):
        features_shape, _ = input_shape
        channels = features_shape[-1]
        self.scale = layers.Embedding(self.num_classes, channels, embeddings_initializer="ones", name="scale")
        self.offset = layers.Embedding(self.num_classes, channels, embeddings_initializer="zeros",
                                       name="offset")
        for embedding in (self.scale, self.offset):
            embedding.build((None,))

    def call(self, inputs):
        features, label = inputs
        # (batch, channels) -> (batch, 1, ..., 1, channels): one scale per channel, the same at every pixel
        broadcast = (-1,) + (1,) * (len(features.shape) - 2) + (features.shape[-1],)
        scale, offset = (ops.reshape(ops.cast(e(label), features.dtype), broadcast)
                         for e in (self.scale, self.offset))
        return features * scale + offset

    def get_config(self):
        return {**super().get_config(), "num_classes": self.num_classes}


class Projection(layers.Layer):
    """<embed(y), phi(x)>: the class term of a projection discriminator (Miyato & Koyama 2018)."""

    def __init__(self, num_classes, **kwargs):
        super().__init__(**kwargs)
        self.num_classes = num_classes

    def build(self, input_shape):
        features_shape, _ = input_shape
        self.embedding = layers.Embedding(self.num_classes, features_shape[-1])
        self.embedding.build((None,))

    def call(self, inputs):
        features, label = inputs
        embedded = self.embedding(label)
        if len(embedded.shape) == 3:  # a pack's labels: project onto the sum of their embeddings
            embedded = ops.sum(embedded, axis=1)
        return ops.sum(embedded * features, axis=-1, keepdims=True)

    def get_config(self):
        return {**super().get_config(), "num_classes": self.num_classes}


def conditional_outputs(features, label, num_classes, auxiliary_classifier=False):
    """psi(phi(x)) + <embed(y), phi(x)>, shape (batch, 1); with `auxiliary_classifier` also the class logits
    of an AC-GAN head on the same features (Odena et al. 2017), shape (batch, num_classes)."""
    logits = layers.Add(dtype="float32", name="logits")([layers.Dense(1)(features),
                                                         Projection(num_classes)([features, label])])
    if not auxiliary_classifier:
        return logits
    return [logits, layers.Dense(num_classes, dtype="float32", name="class_logits")(features)]
