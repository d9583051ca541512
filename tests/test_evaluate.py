import numpy as np
import pytest

from training.data import TOY_STD, grid25_modes, ring8_modes, toy_arrays
from training.evaluate import mode_coverage, toy_mode_coverage


def test_real_samples_cover_every_mode():
    for name, modes in (("ring8", 8), ("grid25", 25)):
        samples, _ = toy_arrays(name, 2500, seed=0)
        result = toy_mode_coverage(name, samples)
        assert result["modes_covered"] == modes and result["high_quality"] > 0.99
        assert result["reverse_kl"] < 0.01


def test_hand_made_samples():
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
