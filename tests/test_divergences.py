import numpy as np
import pytest
import tensorflow as tf

from training.fgan_experiment import (GRID, SingleStepGradient, bound_by_quadrature, divergence_by_quadrature,
                                      fit_gaussian, format_table, gaussian_pdf, optimal_gaussian, sample_mog1d)
from zoo import losses
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


@pytest.mark.parametrize("name", sorted(DIVERGENCES))
def test_bound_of_critic_outputs_is_the_bound_of_their_activations(name):
    divergence = DIVERGENCES[name]
    v = np.sin(GRID) - 0.1 * GRID
    assert bound_by_quadrature(divergence, v[:, None], P, Q) == pytest.approx(
        variational_bound(divergence, divergence.activation(tf.constant(v))), rel=1e-9, abs=1e-12)


def test_single_step_gradient_steps_both_players_on_the_gradient_of_one_objective():
    """Algorithm 1: omega + eta grad_omega F and theta - eta grad_theta F, both taken at (omega_t, theta_t)."""
    trainer = SingleStepGradient("jensen_shannon", batch_size=64)
    # the batch that the next step draws: a copy of the random generator draws the same numbers
    copy = tf.random.Generator.from_state(trainer.rng.state.numpy(), trainer.rng.algorithm)
    real, z = sample_mog1d(copy, 64), copy.normal((64, 1))
    divergence, critic = trainer.divergence, trainer.critic
    with tf.GradientTape() as tape:
        bound = (tf.reduce_mean(divergence.activation(critic(real)))
                 - tf.reduce_mean(divergence.conjugate_of_activation(critic(trainer.mu + trainer.sigma * z))))
    gradients_of_bound = tape.gradient(bound, trainer.variables)
    before = [v.numpy() for v in trainer.variables]
    trainer.train(tf.constant(1))
    critic_variables = len(critic.trainable_variables)
    for i, (variable, start, gradient) in enumerate(zip(trainer.variables, before, gradients_of_bound)):
        direction = 1.0 if i < critic_variables else -1.0  # the critic ascends F, the generator descends it
        np.testing.assert_allclose(variable.numpy(), start + direction * 0.01 * gradient.numpy(), rtol=1e-5,
                                   atol=1e-7)


def test_total_variation_practical_loss_is_the_saddle_loss():
    """f*(t) = t: -f*(g_f(v)) = -g_f(v), so the table's two columns for total variation are one experiment."""
    v = tf.constant(np.linspace(-5, 5, 11))
    divergence = DIVERGENCES["total_variation"]
    np.testing.assert_allclose(losses.fgan_generator_loss(v, divergence, saddle=True),
                               losses.fgan_generator_loss(v, divergence))


def test_a_short_saddle_run_heads_for_theta_star_below_the_divergence():
    mu_star, sigma_star = 1.01, 1.831  # the KL optimum: the mixture's mean and standard deviation
    fit = fit_gaussian("kl", steps=400, record_every=100)
    assert [point["step"] for point in fit["path"]] == [100, 200, 300, 400]
    # from (0, 1), the errors are 1.01 and 0.83
    assert abs(fit["mu"] - mu_star) < 0.5 and abs(fit["sigma"] - sigma_star) < 0.4
    for point in fit["path"]:  # F(omega, theta) <= D_f(P || Q_theta) for any critic
        assert point["bound"] <= point["divergence"] + 1e-9


def test_table_gives_mean_and_spread_over_seeds_for_each_generator_loss():
    def runs(mus):
        return [{"mu": m, "sigma": 2.0, "bound_at_end": 0.25} for m in mus]

    table = format_table([{"divergence": "kl", "mu_star": 1.0, "sigma_star": 2.0, "divergence_at_optimum": 0.28,
                           "runs": {"saddle": runs([1.01, 0.99, 1.03]), "practical": runs([1.5, 1.5, 1.5])}}])
    assert "saddle, 3 seeds" in table and "practical, 3 seeds" in table
    assert "0.017+-0.009" in table  # |mu - mu*| = 0.01, 0.01, 0.03
    assert "0.500+-0.000" in table and "0.2500+-0.0000" in table


def test_jensen_shannon_f_gan_trains_exactly_as_the_non_saturating_gan():
    """F_JS = V_GAN + 2 log 2 (Nowozin et al. 2016, table 2: the two g_f and f* differ by log 2), and the
    practical generator loss is -log D(G(z)) - log 2: the same gradients, so the same run from one seed."""
    import keras

    from tests.helpers import IMAGES, build, train_steps, weights

    def trained(model, **options):
        keras.utils.set_random_seed(3)  # the same initial weights, as `python -m training --seed 3` gives both
        net = build(model, seed=3, **options)
        return net, train_steps(net, IMAGES, 3)

    (gan, gan_logs), (fgan, fgan_logs) = trained("gan"), trained("fgan", divergence="jensen_shannon")
    for a, b in zip(weights(gan.generator_weights), weights(fgan.generator_weights)):
        np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-6)
    assert fgan_logs["d_loss"][0] == pytest.approx(gan_logs["d_loss"][0] - 2 * np.log(2), abs=1e-4)
    assert fgan_logs["g_loss"][0] == pytest.approx(gan_logs["g_loss"][0] - np.log(2), abs=1e-4)
