"""The prior of every noise generator, z ~ N(0, I) in float32, in one function: a seed gives the same z in
training's sample grids, in evaluation and in the onnxruntime wrapper; and the labels that evaluation, the
hub's plots, the CLI and ONNX test sets ask of a conditional generator."""

import numpy as np


def latents(n, latent_dim, seed=None):
    """n latent vectors of size latent_dim. seed: an int, a list of ints (a stream of its own: [0, 1]
    is not seed 0), a numpy SeedSequence, None (fresh entropy) or a numpy Generator, which
    is drawn from and advanced, so that latents drawn batch by batch continue one stream: the batches
    concatenated equal latents(total, latent_dim, seed) for the same int seed."""
    return np.random.default_rng(seed).standard_normal((n, latent_dim)).astype(np.float32)


def classes_in_turn(n, num_classes):
    """Labels 0, 1, ..., num_classes - 1, 0, 1, ... (n of them, int32): every class alike, none drawn at random."""
    return (np.arange(n) % num_classes).astype(np.int32)
