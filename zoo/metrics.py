"""Sample-quality measures on feature vectors (numpy and scipy only).

- Frechet distance (FID, Heusel et al. 2017) between Gaussians fitted to two feature sets.
- KID (Binkowski et al. 2018): unbiased MMD^2 with the kernel (x.y/d + 1)^3, averaged over subsets.
- Precision and recall (Kynkaanniemi et al. 2019): the share of one set inside the other's k-NN manifold.
- PacGAN's mode coverage on the 2-D toys (Lin et al. 2018, sec. 5).
"""

import numpy as np

#: PacGAN's table 1 (Lin et al. 2018), means over their runs: (modes covered, share of high-quality samples)
PACGAN_TABLE = {("ring8", "gan"): (6.3, 0.982), ("grid25", "gan"): (17.3, 0.948),
                ("ring8", "gan-pack4"): (7.8, 0.959), ("grid25", "gan-pack4"): (24.8, 0.936)}
#: the toys' quality gate: PacGAN's GAN row, modes covered and share of high quality
TOY_GATE = {toy: PACGAN_TABLE[(toy, "gan")] for toy in ("ring8", "grid25")}


def gaussian_statistics(features):
    features = np.asarray(features, np.float64)
    return features.mean(axis=0), np.cov(features, rowvar=False)


def frechet_distance(stats_a, stats_b):
    """|mu_a - mu_b|^2 + tr(S_a + S_b - 2 (S_a S_b)^(1/2)) for (mean, covariance) pairs.

    tr((S_a S_b)^(1/2)) is the sum of the square roots of the eigenvalues of S_a^(1/2) S_b S_a^(1/2), a
    symmetric matrix: eigh on it is exact where a general sqrtm of S_a S_b can turn complex from rounding.
    """
    (mu_a, sigma_a), (mu_b, sigma_b) = stats_a, stats_b
    values, vectors = np.linalg.eigh(sigma_a)
    root_a = (vectors * np.sqrt(np.clip(values, 0, None))) @ vectors.T
    middle = np.linalg.eigvalsh(root_a @ sigma_b @ root_a)
    trace_root = np.sqrt(np.clip(middle, 0, None)).sum()
    return float(np.sum((mu_a - mu_b) ** 2) + np.trace(sigma_a) + np.trace(sigma_b) - 2 * trace_root)


def fid(features_a, features_b):
    return frechet_distance(gaussian_statistics(features_a), gaussian_statistics(features_b))


def kernel_inception_distance(features_a, features_b, subsets=50, subset_size=1000, seed=0):
    """(mean, std) over subsets of the unbiased MMD^2 with the cubic polynomial kernel."""
    a, b = np.asarray(features_a, np.float64), np.asarray(features_b, np.float64)
    m = min(subset_size, len(a), len(b))
    rng = np.random.default_rng(seed)
    dimension = a.shape[1]
    values = []
    for _ in range(subsets):
        x, y = a[rng.choice(len(a), m, replace=False)], b[rng.choice(len(b), m, replace=False)]
        k_xx, k_yy, k_xy = ((p @ q.T / dimension + 1) ** 3 for p, q in ((x, x), (y, y), (x, y)))
        off_diagonal = (k_xx.sum() - np.trace(k_xx) + k_yy.sum() - np.trace(k_yy)) / (m * (m - 1))
        values.append(off_diagonal - 2 * k_xy.mean())
    return float(np.mean(values)), float(np.std(values))


def _squared_distances(a, b):
    return np.maximum((a * a).sum(1)[:, None] + (b * b).sum(1)[None, :] - 2 * a @ b.T, 0)


def knn_radii(features, k=3, chunk=2000):
    """Squared distance of every point to its k-th nearest neighbour in the same set (itself excluded)."""
    features = np.asarray(features, np.float32)
    radii = np.empty(len(features), np.float32)
    for start in range(0, len(features), chunk):
        distances = _squared_distances(features[start:start + chunk], features)
        radii[start:start + chunk] = np.partition(distances, k, axis=1)[:, k]  # column 0 is the point itself
    return radii


def manifold_share(points, reference, reference_radii, chunk=2000):
    """The share of `points` inside at least one reference point's k-NN ball."""
    points, reference = np.asarray(points, np.float32), np.asarray(reference, np.float32)
    inside = np.empty(len(points), bool)
    for start in range(0, len(points), chunk):
        distances = _squared_distances(points[start:start + chunk], reference)
        inside[start:start + chunk] = (distances <= reference_radii[None, :]).any(axis=1)
    return float(inside.mean())


def precision_recall(real, generated, k=3):
    """precision: generated samples on the real manifold; recall: real samples on the generated one."""
    return {"precision": manifold_share(generated, real, knn_radii(real, k)),
            "recall": manifold_share(real, generated, knn_radii(generated, k))}


def nearest_modes(samples, modes):
    """For each sample, the index of its nearest mode and the Euclidean distance to it."""
    samples = np.asarray(samples, np.float64)
    distances = np.linalg.norm(samples[:, None, :] - modes[None, :, :], axis=-1)
    nearest = distances.argmin(axis=1)
    return nearest, distances[np.arange(len(samples)), nearest]


def mode_coverage(samples, modes, std, radius=3.0):
    """Modes covered, the share of high-quality samples, and the reverse KL of the mode histogram.

    A sample is high quality when it lies within `radius` standard deviations of its nearest mode, and a
    mode is covered when it is the nearest mode of at least one high-quality sample. The reverse KL is
    KL(generated || true) between the high-quality samples' distribution over modes and the uniform one of
    the data (0 when every mode gets the same share).
    """
    nearest, distance = nearest_modes(samples, modes)
    high_quality = distance <= radius * std
    counts = np.bincount(nearest[high_quality], minlength=len(modes))
    shares = counts / max(counts.sum(), 1)
    present = shares > 0
    reverse_kl = float(np.sum(shares[present] * np.log(shares[present] * len(modes))))
    return {"modes_covered": int(present.sum()), "modes": len(modes),
            "high_quality": float(high_quality.mean()), "reverse_kl": reverse_kl}


def toy_gate_failures(modes_covered, high_quality, toy, quality_margin=0.0):
    """Why a toy generator with this mode coverage fails the gate (TOY_GATE), in words; empty: it passes.

    quality_margin raises the bound on the share of high quality, for a caller that must clear it on
    another draw of samples than the one measured.
    """
    modes, quality = TOY_GATE[toy]
    quality += quality_margin
    failures = [f"{modes_covered} modes covered, below {modes}"] if modes_covered < modes else []
    if high_quality < quality:
        failures.append(f"{high_quality:.3f} of samples high quality, below {quality:g}")
    return failures
