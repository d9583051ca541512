"""The theory's own checks (training/theory.py): each a short experiment, here with the thresholds they claim."""

import numpy as np
import pytest

from training import theory


def test_trained_discriminator_is_the_optimal_one_and_v_is_minus_log4_plus_2jsd():
    result = theory.optimal_discriminator_check()
    assert result["max_error"] <= 0.05
    assert result["value_at_optimum"] == pytest.approx(result["minus_log4_plus_2jsd"], abs=1e-9)
    # D* maximises V(D, G) pointwise, so no trained D can do better, even in quadrature
    assert result["value_of_trained"] <= result["value_at_optimum"]
    assert result["value_of_trained"] == pytest.approx(result["value_at_optimum"], abs=5e-3)


def test_maximum_likelihood_is_the_kl_optimum_and_the_moments():
    result = theory.maximum_likelihood_check()
    # 200,000 samples: the standard error of the mean is 1.83 / sqrt(200,000) = 0.004
    assert result["mu_mle"] == pytest.approx(result["mu_star"], abs=0.02)
    assert result["sigma_mle"] == pytest.approx(result["sigma_star"], abs=0.02)
    assert result["mu_star"] == pytest.approx(result["mixture_mean"], abs=1e-3)
    assert result["sigma_star"] == pytest.approx(result["mixture_std"], abs=1e-3)


def test_minimax_generator_gradient_vanishes_when_d_is_confident_and_non_saturating_does_not():
    result = theory.saturation_check(steps=150)
    d_of_fakes = np.array(result["d_of_fakes"])
    minimax = np.array(result["minimax_gradient_norm"])
    non_saturating = np.array(result["non_saturating_gradient_norm"])
    assert d_of_fakes[0] > 0.4  # D starts unsure ...
    confident = d_of_fakes < 0.01  # ... and soon rejects the fakes
    assert confident.sum() > 50
    # per example, the gradients with respect to the logit are -D and -(1 - D): their ratio is about D. The sums
    # keep the few batches with a less rejected fake from deciding the test
    assert minimax[confident].sum() < 0.05 * non_saturating[confident].sum()
    assert non_saturating[confident].min() > non_saturating[0]


def test_line_chart_draws_every_series():
    picture = theory.line_chart([("a", [1, 2, 3], [1e-3, 1e-2, 1.0], (200, 40, 40)),
                                 ("b", [1, 2, 3], [2.0, 3.0, 4.0], (40, 80, 200))], "title", "x", "y")
    assert picture.shape == (400, 640, 3) and picture.dtype == np.uint8
    for colour in ((200, 40, 40), (40, 80, 200)):
        assert (picture == colour).all(axis=-1).sum() > 100
