"""Mode coverage of GAN, PacGAN4 and WGAN-GP on ring8 and grid25 over seeds, beside PacGAN's table 1.

    python -m benchmarks.toy_modes [--variants gan gan-pack4 wgan-gp] [--datasets ring8 grid25]
                                   [--seeds 0 1 2 3 4] [--steps N] [--runs DIR] [--json results.json]
    python -m benchmarks.toy_modes --score RUN [RUN ...] [--json results.json]

Each run trains a zoo recipe, zoo/recipes/VARIANT-DATASET.json: the setup of PacGAN's 2-D experiments (Lin
et al. 2018, "PacGAN: The power of two samples in generative adversarial networks", appendix and the
authors' code): a generator of 4 batch-normed ReLU layers of 400 units on z of size 2, a discriminator of 3
maxout layers of 200 units with 5 pieces, Adam (learning rate 1e-4, beta_1 0.8), batches of 100 (PacGAN4:
100 packs of 4), 100,000 training samples. WGAN-GP keeps those nets and takes the settings of Gulrajani
et al.'s toy experiments (Adam betas 0.5 and 0.9, 5 critic steps, lambda 0.1, batches of 256) but a learning
rate of 1e-3, held for half the run and then decayed linearly to 0, where theirs is a constant 1e-4
(benchmarks/README.md measures both). The paper trains 400 epochs (400,000 generator steps); `--steps` sets
a shorter budget. A run at the full budget takes one to several hours on a CPU core: with `--runs DIR` the
run folders (DIR/VARIANT-DATASET-seedS) are kept, and the same command started again resumes each where it
stopped (Ctrl-C checkpoints the run in progress) and only scores those already trained, so a benchmark at
the full budget can span sessions; on two cores, two commands with different `--seeds` share one DIR.
`--score` scores run folders trained apart (`python -m training --config zoo/recipes/VARIANT-DATASET.json
--seed S --out RUN`), grouped by dataset and variant as the runs' configs say.

Every run is scored twice on 2,500 samples with the protocol of VEEGAN (Srivastava et al. 2017) that PacGAN
adopted: a sample is high quality within 3 standard deviations of its nearest mode, and a mode is covered
when it is the nearest mode of a high-quality sample. "final" is the last checkpoint, as the papers report;
"published" is the checkpoint `python -m export publish` would ship (the best of the epochs measured during
training). Both draw z from EVALUATION_SEED, which no training-time measurement uses, so picking the best
epoch does not also pick its noise. The table gives mean ± standard deviation over the seeds.
"""

import argparse
import math
import os
import tempfile

import numpy as np

from zoo.errors import ZooError
from zoo.metrics import PACGAN_TABLE

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

RECIPES = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "zoo", "recipes")
VARIANTS = ("gan", "gan-pack4", "wgan-gp")
TOYS = ("ring8", "grid25")
CHECKPOINTS = ("final", "published")
#: the noise seed of the scores. The best epoch is chosen on the probe's own noise ([seed, 1]), so any int
#: seed is other z; this one was also other z before the probe had its own stream, and keeps the tables of
#: benchmarks/README.md comparable
EVALUATION_SEED = 12_345


def recipe_path(variant, toy):
    return os.path.join(RECIPES, f"{variant}-{toy}.json")


def generator_steps_per_epoch(config):
    """Generator steps in one pass over the training data (the unit `--steps` is converted from)."""
    from training.data import TOY_EXAMPLES
    from zoo.models import DataSpec, run_generator_steps

    points = DataSpec((2,), num_examples=config["train_examples"] or TOY_EXAMPLES)
    return max(run_generator_steps({**config, "epochs": 1}, points), 1)


def run_config(variant, toy, seed, steps=None):
    """The recipe's config with this seed, and with enough epochs for `steps` generator steps if given."""
    from training.config import read_config_file, resolve

    config = {**read_config_file(recipe_path(variant, toy)), "seed": seed}
    if steps:
        config["epochs"] = math.ceil(steps / generator_steps_per_epoch(resolve(config)))
    return config


def score(run, checkpoint):
    """The PacGAN measures of a run's "final" (latest) or "published" (best measured) checkpoint."""
    from training.run import load_trained_model
    from training.evaluate import Generators, evaluate_toy

    model, info = load_trained_model(run, "latest" if checkpoint == "final" else "best")
    return evaluate_toy(Generators.from_model(model, info["config"], info["data"]["num_classes"]), EVALUATION_SEED)


def variant_name(config):
    """A run's variant as this benchmark names it (VARIANTS): the model, and its pack size when packed."""
    name = config["model"].replace("_", "-")
    return f"{name}-pack{config['pack']}" if config.get("pack", 1) > 1 else name


def score_run(run):
    """The result of a run folder trained apart: its dataset, variant and seed from its config, its generator
    steps and epoch time from its history, its final and published checkpoints scored."""
    from export.cards import history_rows
    from training.run import RunFolder

    config = RunFolder(run).saved_config()
    history = history_rows(run)
    return {"dataset": config["dataset"], "variant": variant_name(config), "seed": config["seed"],
            "generator_steps": int(history[-1]["steps"]) if history else 0,
            "seconds": round(sum(float(row["seconds"]) for row in history), 1),
            **{checkpoint: score(run, checkpoint) for checkpoint in CHECKPOINTS}}


class KeptRunError(ZooError):
    """A run kept in --runs that is not this recipe's run, or not of this budget; the message says what to
    pass instead."""


def train_and_score(config, run):
    """Train `config` into the folder `run` and score it; a run already there (an earlier start of the
    benchmark with the same --runs) is resumed where it stopped, or only scored when it has trained all its
    epochs. A folder there that holds something else, or a run of another recipe, is refused, never
    replaced."""
    import keras

    from training.config import ConfigError, resolve, training_differences
    from training.run import RunFolder, RunFolderError
    from training.train import train
    from zoo.errors import shortened_repr
    from zoo.models import learning_rate_schedule

    kept = RunFolder(run)
    resume = kept.is_run()
    if resume:
        try:
            saved = resolve(kept.saved_config())
        except ConfigError as error:  # a damaged config.json: the folder's problem, not the recipe's
            raise RunFolderError(str(error)) from None
        # resumed with other options, it would be scored as the recipe's run though it trained otherwise
        for key, there, asked in training_differences(saved, config):
            if key != "epochs":
                raise KeptRunError(f"{run} is a run trained with {key}={shortened_repr(there)}, not the "
                                   f"recipe's {shortened_repr(asked)}: pass another --runs, or move that folder away")
        # a longer run would be scored as a shorter one; a rate that decays over its epochs would, stretched
        # over more, rise again mid-run
        if saved["epochs"] > config["epochs"]:
            problem = "more than"
        elif saved["epochs"] < config["epochs"] and learning_rate_schedule(saved):
            problem = "over which its learning rate decays, not over"
        else:
            problem = None
        if problem:
            raise KeptRunError(f"{run} is a run of {saved['epochs']} epochs, {problem} the {config['epochs']} "
                               "asked for: run the command it was started with (its --steps, or none), or pass "
                               "another --runs")
    train(config, run, resume=resume, verbose=0)
    keras.backend.clear_session()  # the next run builds its own nets; the old graphs would only hold memory
    return score_run(run)


def mean_and_spread(values):
    """Mean and sample standard deviation (0 for a single value)."""
    values = np.asarray(values, np.float64)
    return float(values.mean()), float(values.std(ddof=1)) if len(values) > 1 else 0.0


def summarise(results, checkpoint):
    """One row per (dataset, variant), in the order first seen: seeds, steps, modes and high quality."""
    groups = {}
    for r in results:
        groups.setdefault((r["dataset"], r["variant"]), []).append(r)
    rows = []
    for (toy, variant), runs in groups.items():
        scores = [r[checkpoint] for r in runs]
        rows.append({"dataset": toy, "variant": variant, "seeds": len(runs),
                     "generator_steps": int(np.median([r["generator_steps"] for r in runs])),
                     "modes": scores[0]["modes"],
                     "modes_covered": mean_and_spread([s["modes_covered"] for s in scores]),
                     "high_quality": mean_and_spread([100 * s["high_quality"] for s in scores]),
                     "published": PACGAN_TABLE.get((toy, variant))})
    return rows


def format_table(rows, checkpoint):
    lines = [f"{checkpoint} checkpoint: mean ± std over seeds; PacGAN table 1 beside",
             f"{'dataset':8}{'variant':11}{'seeds':>6}{'steps':>9}{'modes':>17}{'high quality %':>17}"
             f"{'PacGAN':>17}"]
    for row in rows:
        (modes, modes_std), (quality, quality_std) = row["modes_covered"], row["high_quality"]
        covered = f"{modes:.1f} ± {modes_std:.1f} /{row['modes']}"
        high_quality = f"{quality:.1f} ± {quality_std:.1f}"
        published = row["published"]
        published = f"{published[0]:.1f} / {100 * published[1]:.1f} %" if published else "-"
        lines.append(f"{row['dataset']:8}{row['variant']:11}{row['seeds']:6d}{row['generator_steps']:9d}"
                     f"{covered:>17}{high_quality:>17}{published:>17}")
    return "\n".join(lines)


def main(argv=None):
    from training.callbacks import TrainingInterrupted
    from training.run import CheckpointError, RunFolder, RunFolderError, RunFolderInUse
    from zoo.files import write_json

    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--variants", nargs="+", default=list(VARIANTS), choices=VARIANTS)
    parser.add_argument("--datasets", nargs="+", default=list(TOYS), choices=TOYS)
    parser.add_argument("--seeds", nargs="+", type=int, default=[0, 1, 2, 3, 4])
    parser.add_argument("--steps", type=int, help="generator steps per run (default: the recipe's epochs)")
    parser.add_argument("--runs", help="keep the run folders here, and resume those already there (default: a "
                                       "temporary folder)")
    parser.add_argument("--json", help="write every run's scores here")
    parser.add_argument("--score", nargs="+", metavar="RUN",
                        help="score these run folders instead of training (of the other options, only --json applies)")
    args = parser.parse_args(argv)
    not_runs = [run for run in args.score or () if not RunFolder(run).is_run()]
    if not_runs:
        parser.error(f"not a run folder (it lacks config.json or checkpoints/): {', '.join(not_runs)}; pass folders "
                     "written by `python -m training`")
    if args.runs and os.path.exists(args.runs) and not os.path.isdir(args.runs):
        parser.error(f"--runs {args.runs} is a file, not a folder: name a folder for the run folders")
    results = []

    def report(result):
        results.append(result)
        print(f"{result['dataset']:7} {result['variant']:10} seed {result['seed']}  {result['generator_steps']} "
              "steps  " + "  ".join(f"{c}: {result[c]['modes_covered']}/{result[c]['modes']} modes, "
                                    f"{100 * result[c]['high_quality']:.1f} % high quality" for c in CHECKPOINTS)
              + f"  ({result['seconds']} s)", flush=True)
        if args.json:  # after every run: a long benchmark stopped halfway keeps what it measured
            write_json(args.json, results)

    if args.score:
        for run in args.score:
            report(score_run(run))
    else:
        with tempfile.TemporaryDirectory() as scratch:
            for toy in args.datasets:
                for variant in args.variants:
                    for seed in args.seeds:
                        run = os.path.join(args.runs or scratch, f"{variant}-{toy}-seed{seed}")
                        try:
                            report(train_and_score(run_config(variant, toy, seed, args.steps), run))
                        except TrainingInterrupted:
                            resume = (f"; {run} keeps a checkpoint: run the same command again to resume it "
                                      "(runs already trained are only scored)" if args.runs else "")
                            parser.exit(TrainingInterrupted.exit_code, f"{parser.prog}: interrupted{resume}\n")
                        except ZooError as error:
                            # training's own errors about a kept folder name its options (--out, --overwrite)
                            if not args.runs or not isinstance(error, (RunFolderError, CheckpointError)):
                                fix = ""
                            elif isinstance(error, RunFolderInUse):
                                fix = "; here: give the commands that share --runs different --seeds"
                            else:
                                fix = f"; here: move {run} away, or pass another --runs"
                            parser.exit(error.exit_code, f"{parser.prog}: error: {error}{fix}\n")
    for checkpoint in CHECKPOINTS:
        print("\n" + format_table(summarise(results, checkpoint), checkpoint))


if __name__ == "__main__":
    main()
