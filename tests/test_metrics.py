import numpy as np
import pytest
from scipy import linalg

from zoo.toys import TOY_STD, grid25_modes, ring8_modes, toy_arrays
from training.evaluate import toy_mode_coverage
from zoo.metrics import fid, kernel_inception_distance, knn_radii, mode_coverage, precision_recall


def direct_fid(a, b):
    """The textbook formula, with scipy's general matrix square root."""
    mu_a, mu_b = a.mean(0), b.mean(0)
    sigma_a, sigma_b = np.cov(a, rowvar=False), np.cov(b, rowvar=False)
    root = linalg.sqrtm(sigma_a @ sigma_b).real
    return np.sum((mu_a - mu_b) ** 2) + np.trace(sigma_a + sigma_b - 2 * root)


@pytest.fixture
def features():
    rng = np.random.default_rng(0)
    mixing = rng.normal(size=(16, 16))
    return rng.normal(size=(2000, 16)) @ mixing, rng.normal(size=(1500, 16)) @ mixing * 0.8 + 0.3


def test_fid_matches_the_direct_computation(features):
    a, b = features
    assert fid(a, b) == pytest.approx(direct_fid(a, b), rel=1e-6)
    assert fid(b, a) == pytest.approx(fid(a, b), rel=1e-6)


def test_fid_is_zero_for_a_set_with_itself_and_grows_with_a_shift(features):
    a, _ = features
    assert abs(fid(a, a)) < 1e-6
    shifts = [fid(a, a + shift) for shift in (0.1, 0.5, 1.0, 2.0)]
    assert shifts == sorted(shifts) and shifts[0] > 0
    assert shifts[-1] == pytest.approx(16 * 2.0 ** 2, rel=1e-6)  # a shift moves only the mean term


def test_kid_is_near_zero_for_one_distribution_and_grows_with_a_shift():
    rng = np.random.default_rng(1)
    a, b = rng.normal(size=(2000, 8)), rng.normal(size=(2000, 8))
    same, _ = kernel_inception_distance(a, b, subsets=20, subset_size=500)
    shifted = [kernel_inception_distance(a, b + s, subsets=20, subset_size=500)[0] for s in (0.5, 1.0)]
    assert abs(same) < 0.01 < shifted[0] < shifted[1]


def test_precision_and_recall():
    rng = np.random.default_rng(2)
    real = rng.normal(size=(1000, 4))
    assert precision_recall(real, real) == {"precision": 1.0, "recall": 1.0}
    far = precision_recall(real, real + 100)
    assert far == {"precision": 0.0, "recall": 0.0}
    collapsed = precision_recall(real, rng.normal(size=(1000, 4)) * 0.1)  # one tight blob at the centre
    assert collapsed["precision"] > 0.9 and collapsed["recall"] < 0.3


def test_knn_radius_is_the_kth_neighbour_without_the_point_itself():
    points = np.array([[0.0], [1.0], [3.0], [6.0]])
    np.testing.assert_allclose(knn_radii(points, k=1), [1, 1, 4, 9])
    np.testing.assert_allclose(knn_radii(points, k=3), [36, 25, 9, 36])


def test_real_toy_samples_cover_every_mode():
    for name, modes in (("ring8", 8), ("grid25", 25)):
        samples, _ = toy_arrays(name, 2500, seed=0)
        result = toy_mode_coverage(name, samples)
        assert result["modes_covered"] == modes and result["high_quality"] > 0.99
        assert result["reverse_kl"] < 0.01


def test_mode_coverage_on_hand_made_samples():
    modes = ring8_modes()
    one_mode = np.repeat(modes[:1], 100, axis=0)
    result = mode_coverage(one_mode, modes, 0.01)
    assert result["modes_covered"] == 1 and result["high_quality"] == 1.0
    assert result["reverse_kl"] == pytest.approx(np.log(8))
    off_mode = np.zeros((50, 2))  # the ring's centre: far from every mode
    result = mode_coverage(np.vstack([modes[:3] + 0.02, off_mode]), modes, 0.01)
    assert result["modes_covered"] == 3 and result["high_quality"] == pytest.approx(3 / 53)
    just_outside = modes[:1] + [[0.0301, 0.0]]
    assert mode_coverage(just_outside, modes, 0.01)["modes_covered"] == 0
    assert mode_coverage(grid25_modes(), grid25_modes(), TOY_STD["grid25"])["modes_covered"] == 25
