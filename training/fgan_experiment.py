"""The f-GAN paper's 1-D experiment (Nowozin et al. 2016, sec. 4.1, Table 3): fit a Gaussian to a mixture.

    python -m training.fgan_experiment [--steps 25000] [--seed 0 --seeds 3] [--generator-loss saddle practical]
                                       [--divergences kl reverse_kl ...] [--workers 2] [--json out.json]

P is the `mog1d` mixture 0.33 N(-1, 0.255^2) + 0.67 N(2, 1.4148^2), Q_theta = N(mu, sigma) with G(z) = mu + sigma z,
and the variational function V an MLP 64-64 tanh. Training is the paper's single-step gradient method
(Algorithm 1): every step draws a batch of 1024 from P and from Q_theta, takes the gradients of the one
objective F(omega, theta) = E_P[g_f(V(x))] - E_Q[f*(g_f(V(x)))] at the same point (omega_t, theta_t), and steps
omega up and theta down with plain gradient steps of size eta = 0.01. With `practical`, theta follows the
gradient of -E_Q[g_f(V(G(z)))] instead (the paper's sec. 3.2), whose fixed point is not theta*.

Reported per divergence and generator loss, over seeds: |mu - mu*| and |sigma - sigma*| of the fitted
Gaussian against the optimum theta* that minimises D_f(P || N(mu, sigma)), found by numerical integration,
and F(omega, theta) at the end of training (integrated numerically for the final V) beside D_f(P || Q_theta*).
The fitted (mu, sigma) is the average of the iterates over the last quarter of training (Polyak & Juditsky
1992): simultaneous gradient steps on a saddle objective can circle the saddle point instead of settling on it
(Pearson chi^2's iterates here still swing 0.06 from theta* after 12,000 steps), and the average of circling
iterates converges where the last one does not (Nemirovski et al. 2009). The rows keep the last iterate too.
"""

import argparse
import concurrent.futures
import multiprocessing
import os
import sys

import numpy as np
from scipy import optimize

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

from zoo.toys import MOG1D_MEANS, MOG1D_STDS, MOG1D_WEIGHTS  # noqa: E402
from zoo.cli import OneLineErrorParser  # noqa: E402
from zoo.divergences import DIVERGENCES  # noqa: E402
from zoo.errors import run_cli  # noqa: E402

GRID = np.linspace(-15.0, 17.0, 64001)
STEPS = 25_000
SEEDS = 3
STEP_SIZE = 0.01  # the paper's eta, for both players
BATCH_SIZE = 1024
GENERATOR_LOSSES = ("saddle", "practical")
RECORD_EVERY = 1000  # steps between two points of the recorded path
AVERAGED_FRACTION = 0.25  # the fitted theta is the mean of the iterates of this last part of training


def gaussian_pdf(x, mu, sigma):
    return np.exp(-0.5 * ((x - mu) / sigma) ** 2) / (sigma * np.sqrt(2 * np.pi))


def mog1d_pdf(x):
    return sum(w * gaussian_pdf(x, m, s) for w, m, s in zip(MOG1D_WEIGHTS, MOG1D_MEANS, MOG1D_STDS))


def divergence_by_quadrature(divergence, p, q, x=GRID):
    """D_f(P || Q) = integral of q f(p / q), by the trapezoidal rule on the densities sampled at x."""
    with np.errstate(over="ignore", divide="ignore", invalid="ignore"):  # where q underflows: an infinite D_f
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


def sample_mog1d(rng, n):
    """n samples (n, 1) of the mixture P, drawn in the graph from the tf.random.Generator `rng`."""
    import tensorflow as tf

    component = tf.cast(rng.uniform((n,)) >= MOG1D_WEIGHTS[0], tf.int32)
    x = tf.gather(MOG1D_MEANS, component) + tf.gather(MOG1D_STDS, component) * rng.normal((n,))
    return x[:, None]


def bound_by_quadrature(divergence, outputs, p, q, x=GRID):
    """F = integral of p g_f(V) - q f*(g_f(V)), for V given by its values `outputs` on the grid x.

    F(omega, theta) <= D_f(P || Q_theta) for every critic, with equality for the optimal one.
    """
    outputs = np.asarray(outputs, np.float64).reshape(-1)
    return float(np.trapezoid(p * np.asarray(divergence.activation(outputs))
                              - q * np.asarray(divergence.conjugate_of_activation(outputs)), x))


class SingleStepGradient:
    """Algorithm 1 of Nowozin et al. (2016) for G(z) = mu + sigma z against the critic V, on one divergence.

    Both gradients are taken at the same point (omega_t, theta_t), then both players step: V up the gradient
    of F, theta down the gradient of F (`saddle`) or of the practical loss -E_Q[g_f(V(G(z)))].
    """

    def __init__(self, name, generator_loss="saddle", seed=0, step_size=STEP_SIZE, batch_size=BATCH_SIZE):
        import keras
        import tensorflow as tf

        from zoo.nets import mlp_discriminator

        keras.utils.set_random_seed(seed)
        self.divergence = DIVERGENCES[name]
        self.saddle = generator_loss == "saddle"
        self.batch_size = batch_size
        self.critic = mlp_discriminator(1, width=64, depth=2, activation="tanh")
        self.mu, self.sigma = keras.Variable(0.0, name="mu"), keras.Variable(1.0, name="sigma")
        self.variables = self.critic.trainable_variables + [self.mu, self.sigma]
        self.optimizer = keras.optimizers.SGD(step_size)  # plain gradient steps: x <- x - eta * gradient
        self.optimizer.build(self.variables)
        self.rng = tf.random.Generator.from_seed(seed)
        self.train = tf.function(self._train)

    def gradients(self, real, z):
        """The gradients of both players at the current point, as one list in the order of `variables`."""
        import tensorflow as tf
        from keras import ops

        from zoo import losses

        with tf.GradientTape(persistent=True) as tape:
            real_outputs, fake_outputs = self.critic(real), self.critic(self.mu + self.sigma * z)
            negative_bound = ops.mean(losses.fgan_discriminator_loss(real_outputs, fake_outputs, self.divergence))
            generator_loss = ops.mean(losses.fgan_generator_loss(fake_outputs, self.divergence, self.saddle))
        return (tape.gradient(negative_bound, self.critic.trainable_variables)
                + tape.gradient(generator_loss, [self.mu, self.sigma]))

    def _train(self, steps):
        """`steps` steps; returns the mean (mu, |sigma|) of the iterates and the mean generator gradient norm."""
        import tensorflow as tf
        from keras import ops

        theta_sum, gradient_norm_sum = tf.zeros(2), tf.zeros(())
        for _ in tf.range(steps):
            real, z = sample_mog1d(self.rng, self.batch_size), self.rng.normal((self.batch_size, 1))
            gradients = self.gradients(real, z)
            self.optimizer.apply(gradients, self.variables)
            # sigma and -sigma give the same Gaussian
            theta_sum += ops.stack([self.mu.value, ops.abs(self.sigma.value)])
            gradient_norm_sum += tf.linalg.global_norm(gradients[-2:])
        steps = tf.cast(steps, tf.float32)
        return theta_sum / steps, gradient_norm_sum / steps

    def theta(self):
        return float(self.mu.numpy()), abs(float(self.sigma.numpy()))

    def bound(self, p):
        """F(omega, theta) now, integrated on the grid; p: P's density on the grid."""
        q = gaussian_pdf(GRID, *self.theta())
        return bound_by_quadrature(self.divergence, self.critic(GRID[:, None].astype(np.float32)), p, q)


def fit_gaussian(name, steps, seed=0, generator_loss="saddle", record_every=RECORD_EVERY):
    """One training run: the fitted and last (mu, sigma), F at the end, and the path every `record_every` steps."""
    import tensorflow as tf

    trainer = SingleStepGradient(name, generator_loss, seed)
    p = mog1d_pdf(GRID)
    chunks = [record_every] * (steps // record_every) + ([steps % record_every] if steps % record_every else [])
    averaged = max(1, round(AVERAGED_FRACTION * len(chunks)))
    path, theta_sums, done = [], [], 0
    for chunk in chunks:
        mean_theta, gradient_norm = trainer.train(tf.constant(chunk))
        done += chunk
        mu, sigma = trainer.theta()
        theta_sums.append(chunk * np.asarray(mean_theta, np.float64))
        path.append({"step": done, "mu": mu, "sigma": sigma, "bound": trainer.bound(p),
                     "divergence": divergence_by_quadrature(trainer.divergence, p, gaussian_pdf(GRID, mu, sigma)),
                     "generator_gradient_norm": float(gradient_norm)})
    fitted_mu, fitted_sigma = np.sum(theta_sums[-averaged:], axis=0) / sum(chunks[-averaged:])
    return {"seed": seed, "mu": float(fitted_mu), "sigma": float(fitted_sigma), "mu_last": path[-1]["mu"],
            "sigma_last": path[-1]["sigma"], "bound_at_end": path[-1]["bound"],
            "divergence_at_fit": divergence_by_quadrature(trainer.divergence, p,
                                                          gaussian_pdf(GRID, fitted_mu, fitted_sigma)),
            "path": path}


def _fit(job):
    import tensorflow as tf

    # every run builds new nets, so its train function is traced once per run: TensorFlow's warning about
    # frequent retracing says nothing here
    tf.get_logger().setLevel("ERROR")
    name, generator_loss, seed, steps = job
    return fit_gaussian(name, steps, seed, generator_loss)


def run(divergences, steps, seed=0, seeds=None, generator_losses=None, workers=None):
    """One row per divergence: theta*, D_f there, and the runs of each generator loss, one per seed.

    The seeds are seed, seed + 1, ... (SEEDS of them by default, for each of GENERATOR_LOSSES); the runs are
    independent, and `workers` processes (default: one per CPU) share them out.
    """
    seeds, generator_losses = seeds or SEEDS, generator_losses or GENERATOR_LOSSES
    jobs = [(name, loss, s, steps) for name in divergences for loss in generator_losses
            for s in range(seed, seed + seeds)]
    workers = min(workers or os.cpu_count() or 1, len(jobs))
    if workers == 1:
        fits = list(map(_fit, jobs))
    else:  # spawned, not forked: a forked TensorFlow runtime can hang in the child
        with concurrent.futures.ProcessPoolExecutor(workers, multiprocessing.get_context("spawn")) as pool:
            fits = list(pool.map(_fit, jobs))
    rows = []
    for name in divergences:
        mu_star, sigma_star, at_optimum = optimal_gaussian(DIVERGENCES[name])
        runs = {loss: [fit for job, fit in zip(jobs, fits) if job[:2] == (name, loss)] for loss in generator_losses}
        rows.append({"divergence": name, "mu_star": mu_star, "sigma_star": sigma_star,
                     "divergence_at_optimum": at_optimum, "runs": runs})
    return rows


def summary(row, generator_loss):
    """Mean and standard deviation over the seeds of |mu - mu*|, |sigma - sigma*| and F at the end."""
    runs = row["runs"][generator_loss]
    values = {"mu_error": [abs(r["mu"] - row["mu_star"]) for r in runs],
              "sigma_error": [abs(r["sigma"] - row["sigma_star"]) for r in runs],
              "bound": [r["bound_at_end"] for r in runs]}
    return {key: (float(np.mean(v)), float(np.std(v))) for key, v in values.items()}


def format_table(rows):
    """Per divergence: theta* and D_f(P || Q_theta*), then per generator loss the mean +- sd over seeds."""
    generator_losses = [loss for loss in GENERATOR_LOSSES if loss in rows[0]["runs"]]
    seeds = len(rows[0]["runs"][generator_losses[0]])
    header = f"{'':<16} {'':>6} {'':>6} {'':>8} |" + "|".join(
        f" {loss + ', ' + str(seeds) + (' seeds' if seeds > 1 else ' seed'):^47}" for loss in generator_losses)
    columns = f"{'divergence':<16} {'mu*':>6} {'sigma*':>6} {'D_f(opt)':>8} |" + "|".join(
        f" {'|mu-mu*|':>14} {'|sig-sig*|':>14} {'F(end)':>16}" for _ in generator_losses)
    lines = [header, columns]
    for row in rows:
        cells = []
        for loss in generator_losses:
            s = summary(row, loss)
            cells.append(" ".join(f"{s[key][0]:{width}.{digits}f}+-{s[key][1]:.{digits}f}" for key, width, digits in
                                  (("mu_error", 8, 3), ("sigma_error", 8, 3), ("bound", 8, 4))))
        lines.append(f"{row['divergence']:<16} {row['mu_star']:6.3f} {row['sigma_star']:6.3f} "
                     f"{row['divergence_at_optimum']:8.4f} |" + "|".join(" " + c for c in cells))
    return "\n".join(lines)


def format_path(fit, every=5000):
    """A run's path every `every` steps: theta, D_f(P || Q_theta), F(omega, theta) and the generator's gradient."""
    lines = [f"{'step':>6} {'mu':>7} {'sigma':>7} {'D_f(P||Q)':>10} {'F':>9} {'|grad theta|':>13}"]
    lines += [f"{p['step']:6d} {p['mu']:7.3f} {p['sigma']:7.3f} {p['divergence']:10.4f} {p['bound']:9.4f} "
              f"{p['generator_gradient_norm']:13.2e}" for p in fit["path"]
              if p["step"] % every == 0 or p is fit["path"][-1]]
    return "\n".join(lines)


def run_experiment(argv):
    parser = OneLineErrorParser(prog="python -m training.fgan_experiment", description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--steps", type=int, default=STEPS, help=f"training steps per run (default: {STEPS})")
    parser.add_argument("--divergences", nargs="+", default=list(DIVERGENCES), choices=list(DIVERGENCES))
    parser.add_argument("--generator-loss", nargs="+", default=list(GENERATOR_LOSSES), choices=GENERATOR_LOSSES,
                        help="saddle: Algorithm 1 on F, as the paper; practical: -E_Q[g_f(V(G(z)))] (default: both)")
    parser.add_argument("--seed", type=int, default=0, help="first seed")
    parser.add_argument("--seeds", type=int, default=SEEDS, help=f"runs per row, seeds seed, seed + 1, ... "
                                                                 f"(default: {SEEDS})")
    parser.add_argument("--workers", type=int, help="processes that share the runs (default: one per CPU)")
    parser.add_argument("--json", help="also write the rows to this JSON file")
    args = parser.parse_args(argv)
    if args.steps <= 0 or args.seeds <= 0 or (args.workers is not None and args.workers <= 0):
        parser.error("--steps, --seeds and --workers must be positive")
    if not (0 <= args.seed and args.seed + args.seeds <= 2**32):  # set_random_seed seeds numpy's global generator
        parser.error("the seeds must be from 0 to 2**32 - 1")
    if args.json and not os.path.isdir(os.path.dirname(os.path.abspath(args.json))):  # before the training
        parser.error(f"--json {args.json}: its folder does not exist")
    rows = run(args.divergences, args.steps, args.seed, args.seeds, args.generator_loss, args.workers)
    print(format_table(rows))
    if args.json:
        from zoo.files import write_json
        write_json(args.json, rows)
    return 0


def main(argv=None):
    return run_cli("python -m training.fgan_experiment", run_experiment, argv)


if __name__ == "__main__":
    sys.exit(main())
