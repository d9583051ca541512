import numpy as np
import pytest
import tensorflow as tf

from training.fgan_experiment import GRID, divergence_by_quadrature, gaussian_pdf, optimal_gaussian
from zoo.divergences import DIVERGENCES, lambert_w_of_exp

#: points t inside each conjugate's domain where the maximiser u* of u t - f(u) is moderate
DOMAINS = {
    "kl": (-3.0, 4.0), "reverse_kl": (-5.0, -0.05), "pearson": (-1.9, 5.0), "neyman": (-5.0, 0.95),
    "hellinger": (-5.0, 0.9), "jeffrey": (-3.0, 3.0), "jensen_shannon": (-3.0, 0.6), "gan": (-4.0, -0.1),
    "total_variation": (-0.5, 0.5),
}
U = np.concatenate([np.logspace(-8, 6, 400_001), [1.0]])


@pytest.mark.parametrize("name", sorted(DIVERGENCES))
def test_conjugate_matches_the_numerical_convex_conjugate(name):
    divergence = DIVERGENCES[name]
    f_of_u = divergence.f(U)
    for t in np.linspace(*DOMAINS[name], 13):
        numerical = np.max(U * t - f_of_u)  # f*(t) = sup_u (u t - f(u))
        assert float(divergence.conjugate(tf.constant(t))) == pytest.approx(numerical, rel=1e-4, abs=1e-4), t


@pytest.mark.parametrize("name", sorted(DIVERGENCES))
def test_stable_form_equals_conjugate_of_activation(name):
    divergence = DIVERGENCES[name]
    v = tf.constant(np.linspace(-3, 3, 25), tf.float64)
    np.testing.assert_allclose(divergence.conjugate_of_activation(v),
                               divergence.conjugate(divergence.activation(v)), rtol=1e-6, atol=1e-9)


def test_stable_forms_stay_finite_for_large_outputs():
    v = tf.constant([-60.0, 60.0])
    for name in ("gan", "jensen_shannon", "reverse_kl", "neyman", "total_variation", "jeffrey"):
        assert np.isfinite(DIVERGENCES[name].conjugate_of_activation(v)).all(), name


P = gaussian_pdf(GRID, 0.0, 1.0)
Q = gaussian_pdf(GRID, 0.7, 1.3)


def variational_bound(divergence, t):
    """F = E_P[T] - E_Q[f*(T)], by quadrature, for a critic given by its values T = g_f(V(x)) on GRID."""
    return float(np.trapezoid(P * t, GRID) - np.trapezoid(Q * np.asarray(divergence.conjugate(t)), GRID))


@pytest.mark.parametrize("name", sorted(DIVERGENCES))
def test_variational_bound_never_exceeds_the_divergence_and_is_tight(name):
    divergence = DIVERGENCES[name]
    true = divergence_by_quadrature(divergence, P, Q)
    rng = np.random.default_rng(0)
    x = tf.constant(GRID)
    for _ in range(20):  # random critics V(x) = a + b x + c x^2 + d sin(e x)
        a, b, c, d, e = rng.normal(size=5)
        v = a + b * x + 0.1 * c * x * x + d * tf.sin(e * x)
        assert variational_bound(divergence, divergence.activation(v)) <= true + 1e-6
    # the optimal critic T*(x) = f'(p(x) / q(x)) attains D_f
    ratio = P / Q
    h = 1e-6 * ratio
    optimal = (divergence.f(ratio + h) - divergence.f(ratio - h)) / (2 * h)
    if name == "total_variation":
        optimal = np.clip(optimal, -0.5, 0.5)
    assert variational_bound(divergence, tf.constant(optimal)) == pytest.approx(true, rel=2e-3, abs=1e-4)


def test_known_values_of_the_quadrature():
    kl = divergence_by_quadrature(DIVERGENCES["kl"], P, Q)
    closed_form = np.log(1.3) + (1 + 0.7**2) / (2 * 1.3**2) - 0.5  # KL(N(0,1) || N(0.7,1.3^2))
    assert kl == pytest.approx(closed_form, rel=1e-6)
    m = (P + Q) / 2
    jsd = 0.5 * np.trapezoid(P * np.log(P / m), GRID) + 0.5 * np.trapezoid(Q * np.log(Q / m), GRID)
    js = divergence_by_quadrature(DIVERGENCES["jensen_shannon"], P, Q)
    gan = divergence_by_quadrature(DIVERGENCES["gan"], P, Q)
    assert js == pytest.approx(2 * jsd, rel=1e-6)  # the f-GAN table's Jensen-Shannon is 2 JSD
    assert gan == pytest.approx(2 * jsd - np.log(4), rel=1e-6)  # GAN: 2 JSD - log 4


def test_lambert_w_and_jeffrey_gradient():
    a = tf.constant(np.linspace(-20, 50, 71))
    w = np.asarray(lambert_w_of_exp(a))
    np.testing.assert_allclose(w + np.log(w), a, atol=1e-9)
    t = tf.Variable([-2.0, 0.0, 1.5], dtype=tf.float64)
    with tf.GradientTape() as tape:
        value = DIVERGENCES["jeffrey"].conjugate(t)
    gradient = tape.gradient(value, t)
    h = 1e-6
    numeric = (DIVERGENCES["jeffrey"].conjugate(t + h) - DIVERGENCES["jeffrey"].conjugate(t - h)) / (2 * h)
    np.testing.assert_allclose(gradient, numeric, rtol=1e-6)


def test_kl_optimum_is_moment_matching():
    """For KL(P || N(mu, sigma)) the optimal Gaussian has P's mean and variance."""
    mu, sigma, _ = optimal_gaussian(DIVERGENCES["kl"])
    mean = 0.33 * -1 + 0.67 * 2
    variance = 0.33 * (0.255**2 + 1) + 0.67 * (1.4148**2 + 4) - mean**2
    assert mu == pytest.approx(mean, abs=1e-3) and sigma == pytest.approx(np.sqrt(variance), abs=1e-3)
