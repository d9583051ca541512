"""Three checks of the theory behind GANs, each a short experiment.

    python -m training.theory [--out docs] [--json theory.json]

1. The optimal discriminator (Goodfellow et al. 2014, Proposition 1 and Theorem 1). With the generator held
   fixed, here p_g = N(0, 1) against the mixture `mog1d`, the discriminator that maximises
   V(D, G) = E_data[log D(x)] + E_g[log(1 - D(x))] is D*(x) = p_data(x) / (p_data(x) + p_g(x)), and
   V(D*, G) = -log 4 + 2 JSD(p_data || p_g). A discriminator trained to convergence is compared with D* on a
   grid where both densities exceed 1e-3; V(D*, G) is integrated numerically and set beside the JSD,
   integrated from its own definition.
2. Maximum likelihood is KL minimisation: KL(P || Q_theta) = -H(P) - E_P[log q_theta], so the Gaussian that
   maximises the likelihood of samples of `mog1d` is the theta* of the f-GAN table's KL row, and both are the
   mixture's mean and standard deviation (moment matching).
3. Saturation (Goodfellow et al. 2014, sec. 3; Arjovsky & Bottou 2017, sec. 2.2). At the start of training,
   with the generator at its initial weights and the discriminator learning to reject its samples (ring8),
   the generator's gradient of the minimax loss log(1 - D(G(z))) vanishes as D grows confident, while that of
   the non-saturating -log D(G(z)) does not. Both are measured on the same nets and the same batch at every
   step, and plotted (log scale) into saturation.png.
"""

import argparse
import os
import sys

import numpy as np
from scipy import optimize, special

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

from training.fgan_experiment import GRID, gaussian_pdf, mog1d_pdf, optimal_gaussian, sample_mog1d  # noqa: E402
from zoo.cli import OneLineErrorParser  # noqa: E402
from zoo.grid import line_chart  # noqa: E402
from zoo.errors import run_cli  # noqa: E402

DENSITY_FLOOR = 1e-3  # D* is compared where both densities exceed this: elsewhere D sees too few samples
SATURATION_FILE = "saturation.png"


# --- 1. the optimal discriminator ------------------------------------------------------------------------

def optimal_discriminator_check(steps=3000, batch_size=1024, learning_rate=1e-2, seed=0):
    """Train D against a fixed p_g = N(0, 1) and compare it with D* = p_data / (p_data + p_g).

    The learning rate decays to zero along a cosine: the last steps average out the noise of the batches
    instead of leaving D wherever the last batch pushed it.
    """
    import keras
    import tensorflow as tf
    from keras import ops

    from zoo import losses
    from zoo.nets import mlp_discriminator

    keras.utils.set_random_seed(seed)
    discriminator = mlp_discriminator(1, width=64, depth=2, activation="tanh")
    optimizer = keras.optimizers.Adam(keras.optimizers.schedules.CosineDecay(learning_rate, steps))
    optimizer.build(discriminator.trainable_variables)
    rng = tf.random.Generator.from_seed(seed)

    @tf.function
    def train(steps):
        for _ in tf.range(steps):
            real, fake = sample_mog1d(rng, batch_size), rng.normal((batch_size, 1))
            with tf.GradientTape() as tape:
                loss = ops.mean(losses.minimax_discriminator_loss(discriminator(real), discriminator(fake)))
            optimizer.apply(tape.gradient(loss, discriminator.trainable_variables),
                            discriminator.trainable_variables)

    train(tf.constant(steps))
    p_data, p_g = mog1d_pdf(GRID), gaussian_pdf(GRID, 0.0, 1.0)
    logits = np.asarray(discriminator(GRID[:, None].astype(np.float32)), np.float64)[:, 0]
    optimal = p_data / (p_data + p_g)
    compared = (p_data > DENSITY_FLOOR) & (p_g > DENSITY_FLOOR)
    error = np.abs(special.expit(logits) - optimal)[compared]
    middle = (p_data + p_g) / 2
    jsd = 0.5 * np.trapezoid(special.xlogy(p_data, p_data / middle) + special.xlogy(p_g, p_g / middle), GRID)
    # log D = -softplus(-logit) and log(1 - D) = -softplus(logit) stay finite where D rounds to 0 or 1
    value_trained = np.trapezoid(-p_data * np.logaddexp(0, -logits) - p_g * np.logaddexp(0, logits), GRID)
    value_optimal = np.trapezoid(special.xlogy(p_data, optimal) + special.xlogy(p_g, p_g / (p_data + p_g)), GRID)
    return {"steps": steps, "compared_from": float(GRID[compared][0]), "compared_to": float(GRID[compared][-1]),
            "max_error": float(error.max()), "max_error_at": float(GRID[compared][error.argmax()]),
            "value_at_optimum": float(value_optimal), "minus_log4_plus_2jsd": float(-np.log(4) + 2 * jsd),
            "value_of_trained": float(value_trained)}


# --- 2. maximum likelihood = KL ------------------------------------------------------------------------

def maximum_likelihood_check(samples=200_000, seed=0):
    """The maximum-likelihood Gaussian of `samples` draws of mog1d, the KL optimum, and the mixture's moments."""
    from zoo.toys import MOG1D_MEANS, MOG1D_STDS, MOG1D_WEIGHTS, toy_arrays
    from zoo.divergences import DIVERGENCES

    x = toy_arrays("mog1d", samples, seed)[0][:, 0].astype(np.float64)

    def negative_log_likelihood(theta):  # per sample, without the constant; sigma = exp(theta[1]) stays positive
        return np.mean(0.5 * ((x - theta[0]) / np.exp(theta[1])) ** 2) + theta[1]

    fit = optimize.minimize(negative_log_likelihood, [0.0, 0.0], method="BFGS")
    weights, means, stds = map(np.array, (MOG1D_WEIGHTS, MOG1D_MEANS, MOG1D_STDS))
    mean = float(weights @ means)
    std = float(np.sqrt(weights @ (stds**2 + means**2) - mean**2))
    mu_star, sigma_star, _ = optimal_gaussian(DIVERGENCES["kl"])
    return {"samples": samples, "mu_mle": float(fit.x[0]), "sigma_mle": float(np.exp(fit.x[1])),
            "mu_star": mu_star, "sigma_star": sigma_star, "mixture_mean": mean, "mixture_std": std}


# --- 3. saturation -------------------------------------------------------------------------------------

def saturation_check(steps=500, batch_size=256, latent_dim=2, learning_rate=1e-3, seed=0):
    """Per discriminator step: D(G(z)) and the generator's gradient norm under both generator losses."""
    import keras
    import tensorflow as tf
    from keras import ops

    from zoo.toys import toy_arrays
    from zoo import losses
    from zoo.nets import mlp_discriminator, mlp_generator

    keras.utils.set_random_seed(seed)
    generator, discriminator = mlp_generator(latent_dim, 2), mlp_discriminator(2)
    optimizer = keras.optimizers.Adam(learning_rate, beta_1=0.5)
    optimizer.build(discriminator.trainable_variables)
    real_batches = toy_arrays("ring8", steps * batch_size, seed)[0].reshape(steps, batch_size, 2)
    noise = np.random.default_rng(seed).standard_normal((steps, batch_size, latent_dim)).astype(np.float32)

    @tf.function
    def measure_then_train_discriminator(real, z):
        with tf.GradientTape(persistent=True) as tape:
            fake = generator(z)
            fake_logits = discriminator(fake)
            minimax = ops.mean(losses.minimax_generator_loss(fake_logits))
            non_saturating = ops.mean(losses.non_saturating_generator_loss(fake_logits))
        norms = [tf.linalg.global_norm(tape.gradient(loss, generator.trainable_variables))
                 for loss in (minimax, non_saturating)]
        with tf.GradientTape() as tape:
            loss = ops.mean(losses.minimax_discriminator_loss(discriminator(real), discriminator(fake)))
        optimizer.apply(tape.gradient(loss, discriminator.trainable_variables), discriminator.trainable_variables)
        return ops.mean(ops.sigmoid(fake_logits)), norms[0], norms[1]

    rows = [measure_then_train_discriminator(real, z) for real, z in zip(real_batches, noise)]
    d_fake, minimax, non_saturating = (np.array(column, np.float64) for column in zip(*rows))
    return {"steps": steps, "d_of_fakes": d_fake.tolist(), "minimax_gradient_norm": minimax.tolist(),
            "non_saturating_gradient_norm": non_saturating.tolist()}


# --- a line chart with pillow alone --------------------------------------------------------------------

def saturation_chart(result):
    steps = np.arange(1, result["steps"] + 1)
    return line_chart([("minimax: log(1 - D(G(z)))", steps, result["minimax_gradient_norm"], (200, 40, 40)),
                       ("non-saturating: -log D(G(z))", steps, result["non_saturating_gradient_norm"], (40, 80, 200)),
                       ("mean D(G(z))", steps, result["d_of_fakes"], (120, 120, 120))],
                      "Generator gradient norm of each loss, same nets and batch: G at its initial weights, "
                      "D learning (ring8)", "discriminator steps", "norm", log_y=True)


def format_report(optimal_d, likelihood, saturation):
    last = max(1, saturation["steps"] // 5)  # medians: a few batches with a less rejected fake spike the norm
    start, end = ({key: f(saturation[key]) for key in ("d_of_fakes", "minimax_gradient_norm",
                                                       "non_saturating_gradient_norm")}
                  for f in (lambda values: values[0], lambda values: np.median(values[-last:])))
    return "\n".join([
        f"optimal discriminator: max |D - D*| = {optimal_d['max_error']:.4f} on [{optimal_d['compared_from']:.2f}, "
        f"{optimal_d['compared_to']:.2f}] after {optimal_d['steps']} steps; V(D*, G) = "
        f"{optimal_d['value_at_optimum']:.6f}, -log 4 + 2 JSD = {optimal_d['minus_log4_plus_2jsd']:.6f}, "
        f"V(trained D, G) = {optimal_d['value_of_trained']:.6f}",
        f"maximum likelihood: (mu, sigma) = ({likelihood['mu_mle']:.4f}, {likelihood['sigma_mle']:.4f}) from "
        f"{likelihood['samples']:,} samples; KL optimum ({likelihood['mu_star']:.4f}, {likelihood['sigma_star']:.4f}); "
        f"mixture moments ({likelihood['mixture_mean']:.4f}, {likelihood['mixture_std']:.4f})",
        f"saturation: mean D(G(z)) {start['d_of_fakes']:.3f} -> {end['d_of_fakes']:.2e} (first step -> median of "
        f"the last {last} of {saturation['steps']}); generator gradient norm, minimax "
        f"{start['minimax_gradient_norm']:.2e} -> {end['minimax_gradient_norm']:.2e}, non-saturating "
        f"{start['non_saturating_gradient_norm']:.2e} -> {end['non_saturating_gradient_norm']:.2e}"])


def run_checks(argv):
    parser = OneLineErrorParser(prog="python -m training.theory", description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--out", default="docs", help=f"folder for {SATURATION_FILE} (default: docs)")
    parser.add_argument("--json", help="also write every measured value to this JSON file")
    args = parser.parse_args(argv)
    from zoo.files import write_json
    from zoo.grid import save_png

    results = {"optimal_discriminator": optimal_discriminator_check(),
               "maximum_likelihood": maximum_likelihood_check(), "saturation": saturation_check()}
    print(format_report(results["optimal_discriminator"], results["maximum_likelihood"], results["saturation"]))
    os.makedirs(args.out, exist_ok=True)
    save_png(saturation_chart(results["saturation"]), os.path.join(args.out, SATURATION_FILE))
    print(f"figure: {os.path.join(args.out, SATURATION_FILE)}")
    if args.json:
        write_json(args.json, results)
    return 0


def main(argv=None):
    return run_cli("python -m training.theory", run_checks, argv)


if __name__ == "__main__":
    sys.exit(main())
