"""The toy distributions of the PacGAN and f-GAN experiments, in numpy: what a toy generator is compared with.

- `ring8`: 8 Gaussians of standard deviation 0.01 on the unit circle (PacGAN, VEEGAN);
- `grid25`: 25 Gaussians of standard deviation 0.05 on the grid {-4, -2, 0, 2, 4}^2 (PacGAN, VEEGAN);
- `mog1d`: f-GAN's 1-D mixture (Nowozin et al. 2016, sec. 4.1).

Training draws its examples here (training.data), evaluation scores against the modes, and the deploy side
(`python -m zoo sample`, the browser page) plots a toy generator's points over real ones without TensorFlow.
"""

import numpy as np

TOY_SAMPLES = 2_500  # points per evaluation and per plot: the PacGAN protocol
TOY_STD = {"ring8": 0.01, "grid25": 0.05}
MOG1D_WEIGHTS, MOG1D_MEANS, MOG1D_STDS = (0.33, 0.67), (-1.0, 2.0), (0.255, 1.4148)


def ring8_modes():
    angles = 2 * np.pi * np.arange(8) / 8
    return np.stack([np.cos(angles), np.sin(angles)], axis=1)


def grid25_modes():
    axis = np.array([-4.0, -2.0, 0.0, 2.0, 4.0])
    return np.stack(np.meshgrid(axis, axis, indexing="ij"), axis=-1).reshape(-1, 2)


def toy_modes(name):
    """The mode centres of the 2-D toy `name` (ring8 or grid25), shape (modes, 2); KeyError for any other."""
    return {"ring8": ring8_modes, "grid25": grid25_modes}[name]()


def toy_arrays(name, n, seed):
    """n samples (float32 (n, D)) of a toy distribution, and the index of the mode each came from."""
    rng = np.random.default_rng(seed)
    if name == "mog1d":
        labels = (rng.random(n) >= MOG1D_WEIGHTS[0]).astype(np.int32)
        x = rng.normal(np.take(MOG1D_MEANS, labels), np.take(MOG1D_STDS, labels))[:, None]
        return x.astype(np.float32), labels
    modes = toy_modes(name)
    labels = rng.integers(0, len(modes), n).astype(np.int32)
    x = modes[labels] + rng.normal(0, TOY_STD[name], (n, 2))
    return x.astype(np.float32), labels


def plot_reference(name, dims):
    """The real points that plots draw a generator's `dims`-d points over: TOY_SAMPLES of them, seed 0 (as the
    hub's samples.png), for a toy `name`; none, shape (0, dims), for other data."""
    if name in TOY_STD or name == "mog1d":
        return toy_arrays(name, TOY_SAMPLES, seed=0)[0]
    return np.zeros((0, dims), np.float32)
