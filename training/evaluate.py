"""Sample-quality measures. For now the PacGAN protocol on the 2-D toys (Lin et al. 2018, sec. 5):
a sample is high quality when it lies within 3 standard deviations of its nearest mode, and a mode is
covered when it is the nearest mode of at least one high-quality sample."""

import numpy as np

from training.data import TOY_STD, grid25_modes, ring8_modes

TOY_MODES = {"ring8": ring8_modes, "grid25": grid25_modes}


def mode_coverage(samples, modes, std, radius=3.0):
    """Modes covered, the share of high-quality samples, and the reverse KL of the mode histogram.

    The reverse KL is KL(generated || true) between the high-quality samples' distribution over modes
    and the uniform one of the data (0 when every mode gets the same share).
    """
    samples = np.asarray(samples, np.float64)
    distances = np.linalg.norm(samples[:, None, :] - modes[None, :, :], axis=-1)
    nearest = distances.argmin(axis=1)
    high_quality = distances[np.arange(len(samples)), nearest] <= radius * std
    counts = np.bincount(nearest[high_quality], minlength=len(modes))
    shares = counts / max(counts.sum(), 1)
    present = shares > 0
    reverse_kl = float(np.sum(shares[present] * np.log(shares[present] * len(modes))))
    return {"modes_covered": int(present.sum()), "modes": len(modes),
            "high_quality": float(high_quality.mean()), "reverse_kl": reverse_kl}


def toy_mode_coverage(name, samples):
    return mode_coverage(samples, TOY_MODES[name](), TOY_STD[name])
