"""The f-GAN paper's 1-D experiment (Nowozin et al. 2016, sec. 4.1): fit a Gaussian to a mixture.

    python -m training.fgan_experiment [--steps 3000] [--divergences kl reverse_kl ...] [--json out.json]

For each divergence, N(mu, sigma) (G(z) = mu + sigma z) is trained as an f-GAN against the `mog1d`
mixture p = 0.33 N(-1, 0.255^2) + 0.67 N(2, 1.4148^2), with the variational function V an MLP 64-64 tanh,
batches of 1024 and Adam step 0.01. The table puts the fitted (mu, sigma) beside the optimum theta* that
minimises D_f(P || N(mu, sigma)), found by numerical integration, with the divergence at both.
"""

import argparse
import os
import sys

import numpy as np
from scipy import optimize

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

from training.data import MOG1D_MEANS, MOG1D_STDS, MOG1D_WEIGHTS  # noqa: E402
from zoo.divergences import DIVERGENCES  # noqa: E402

GRID = np.linspace(-15.0, 17.0, 64001)


def gaussian_pdf(x, mu, sigma):
    return np.exp(-0.5 * ((x - mu) / sigma) ** 2) / (sigma * np.sqrt(2 * np.pi))


def mog1d_pdf(x):
    return sum(w * gaussian_pdf(x, m, s) for w, m, s in zip(MOG1D_WEIGHTS, MOG1D_MEANS, MOG1D_STDS))


def divergence_by_quadrature(divergence, p, q, x=GRID):
    """D_f(P || Q) = integral of q f(p / q), by the trapezoidal rule on the densities sampled at x."""
    with np.errstate(over="ignore", divide="ignore", invalid="ignore"):
        integrand = q * divergence.f(p / q)
    return float(np.trapezoid(np.nan_to_num(integrand, nan=0.0, posinf=np.inf), x))


def optimal_gaussian(divergence):
    """(mu*, sigma*, D_f at the optimum) minimising D_f(mog1d || N(mu, sigma)) numerically."""
    p = mog1d_pdf(GRID)

    def objective(theta):
        value = divergence_by_quadrature(divergence, p, gaussian_pdf(GRID, theta[0], np.exp(theta[1])))
        return value if np.isfinite(value) else 1e12

    mean = float(np.trapezoid(GRID * p, GRID))
    std = float(np.sqrt(np.trapezoid((GRID - mean) ** 2 * p, GRID)))
    best = min((optimize.minimize(objective, start, method="Nelder-Mead",
                                  options={"xatol": 1e-5, "fatol": 1e-9, "maxiter": 4000})
                for start in ([mean, np.log(std)], [2.0, np.log(1.4)], [-1.0, np.log(0.3)])),
               key=lambda result: result.fun)
    return float(best.x[0]), float(np.exp(best.x[1])), float(best.fun)


def fit_gaussian(name, steps, seed=0, batch_size=1024, learning_rate=0.01):
    """(mu, sigma) after training G(z) = mu + sigma z as an f-GAN with divergence `name`."""
    import keras

    from training.data import load
    from zoo.models.fgan import FGAN
    from zoo.nets import mlp_discriminator

    keras.utils.set_random_seed(seed)
    z = keras.Input((1,), name="z")
    affine = keras.layers.Dense(1, kernel_initializer="ones", bias_initializer="zeros", name="samples")
    generator = keras.Model(z, affine(z), name="generator")
    critic = mlp_discriminator(1, width=64, depth=2, activation="tanh")
    model = FGAN(generator, critic, latent_dim=1, divergence=name, seed=seed)
    model.compile(g_optimizer=keras.optimizers.Adam(learning_rate, beta_1=0.5),
                  d_optimizer=keras.optimizers.Adam(learning_rate, beta_1=0.5))
    model.fit(load("mog1d", seed=seed).batches(batch_size, seed), steps_per_epoch=steps, epochs=1, verbose=0)
    kernel, bias = (float(np.ravel(w)[0]) for w in affine.get_weights())
    return bias, abs(kernel)


def run(divergences, steps, seed=0):
    rows = []
    p = mog1d_pdf(GRID)
    for name in divergences:
        divergence = DIVERGENCES[name]
        mu_star, sigma_star, at_optimum = optimal_gaussian(divergence)
        mu, sigma = fit_gaussian(name, steps, seed)
        at_fit = divergence_by_quadrature(divergence, p, gaussian_pdf(GRID, mu, sigma))
        rows.append({"divergence": name, "mu": mu, "sigma": sigma, "mu_star": mu_star,
                     "sigma_star": sigma_star, "divergence_at_fit": at_fit,
                     "divergence_at_optimum": at_optimum})
    return rows


def format_table(rows):
    lines = [f"{'divergence':<16} {'mu':>7} {'sigma':>7} | {'mu*':>7} {'sigma*':>7} | "
             f"{'D_f(fit)':>9} {'D_f(opt)':>9}"]
    for r in rows:
        lines.append(f"{r['divergence']:<16} {r['mu']:7.3f} {r['sigma']:7.3f} | {r['mu_star']:7.3f} "
                     f"{r['sigma_star']:7.3f} | {r['divergence_at_fit']:9.4f} {r['divergence_at_optimum']:9.4f}")
    return "\n".join(lines)


def main(argv=None):
    parser = argparse.ArgumentParser(prog="python -m training.fgan_experiment", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--steps", type=int, default=3000, help="training steps per divergence")
    parser.add_argument("--divergences", nargs="+", default=list(DIVERGENCES), choices=list(DIVERGENCES))
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--json", help="also write the rows to this JSON file")
    args = parser.parse_args(argv)
    if args.steps <= 0:
        parser.error("--steps must be positive")
    rows = run(args.divergences, args.steps, args.seed)
    print(format_table(rows))
    if args.json:
        from zoo.files import write_json
        write_json(args.json, rows)
    return 0


if __name__ == "__main__":
    sys.exit(main())
