"""Where a toy generator's low-quality samples lie, and whether batch-norm statistics put them there.

    python -m benchmarks.toy_misses RUN [RUN ...] [--checkpoint final|published] [--json FILE]

RUN is a run folder of a toy recipe (ring8, grid25) trained with --ema. On the 2,500 samples of
benchmarks.toy_modes (the same z), it gives the share of high-quality samples (within 3 standard deviations
of the nearest mode), splits the misses into those 3 to 6 standard deviations out (a widened or shifted
cluster) and those further out (samples on the paths between modes), and measures each mode's high-quality
samples: the distance of their mean from the mode and their spread per axis, both in the data's standard
deviation (real data: offset about 0, spread 1). It does so for

- the live weights of the checkpoint,
- the averaged weights with the batch-norm statistics averaged alongside them (what publishing ships),
- the averaged weights with "standing" statistics: the batch-norm mean and variance measured anew for
  those weights over 300 training-mode batches of the training batch size (Brock et al. 2019, BigGAN,
  appendix C.1).

If the averaged statistics did not fit the averaged weights, the clusters would sit off their modes and
standing statistics would move them back: the third row would beat the second.
"""

import argparse
import os

import numpy as np

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

from benchmarks.toy_modes import EVALUATION_SEED  # noqa: E402 (after the log level, which TF reads on import)

SAMPLES = 2_500
STANDING_BATCHES = 300
#: misses beyond this many standard deviations are counted as off every cluster, on a path between modes
FAR = 6.0


def miss_breakdown(samples, modes, std, radius=3.0):
    """zoo.metrics.mode_coverage, with the misses near and far and the high-quality clusters' offset and
    spread (in std)."""
    from zoo.metrics import mode_coverage, nearest_modes

    nearest, distance = nearest_modes(samples, modes)
    high_quality = distance <= radius * std
    out = distance / std
    offsets, spreads = [], []
    for mode in range(len(modes)):
        cluster = samples[high_quality & (nearest == mode)]
        if len(cluster) > 2:
            offsets.append(np.linalg.norm(cluster.mean(axis=0) - modes[mode]) / std)
            spreads.append(cluster.std(axis=0).mean() / std)
    return {**mode_coverage(samples, modes, std, radius),
            "near_misses": float(((out > radius) & (out <= FAR)).mean()), "far_misses": float((out > FAR).mean()),
            "centre_offset": float(np.mean(offsets)), "spread": float(np.mean(spreads))}


def standing_statistics(generator, latent_dim, batch_size, batches=STANDING_BATCHES, seed=1):
    """Replace every batch-norm layer's moving mean and variance by their average over `batches`
    training-mode batches of the generator's current weights."""
    import keras

    from zoo.prior import latents

    norms = [layer for layer in generator.layers if isinstance(layer, keras.layers.BatchNormalization)]
    momenta = [layer.momentum for layer in norms]
    z = latents(batches * batch_size, latent_dim, seed)
    for t in range(batches):
        for layer in norms:  # moving <- m * moving + (1 - m) * batch, with m = t / (t + 1): the running mean
            layer.momentum = t / (t + 1)
        generator(z[t * batch_size:(t + 1) * batch_size], training=True)
    for layer, momentum in zip(norms, momenta):
        layer.momentum = momentum


def breakdown_of_run(run, checkpoint):
    from zoo.toys import TOY_STD, toy_modes
    from training.run import load_trained_model
    from zoo.prior import latents

    model, info = load_trained_model(run, "latest" if checkpoint == "final" else "best", averaged=False)
    config = info["config"]
    if config["dataset"] not in TOY_STD or not config.get("ema"):
        raise SystemExit(f"{run}: not a toy run trained with --ema (dataset {config['dataset']!r}, "
                         f"ema {config.get('ema')}): pass a ring8 or grid25 run folder of an --ema recipe")
    generator = model.generators["generator"]
    modes = toy_modes(config["dataset"])
    std = TOY_STD[config["dataset"]]
    z = latents(SAMPLES, config["latent_dim"], EVALUATION_SEED)

    def measure():
        return miss_breakdown(np.asarray(generator(z, training=False), np.float64), modes, std)

    rows = {"live weights": measure()}
    with model.averaged_generators():
        rows["averaged weights, averaged statistics"] = measure()
        standing_statistics(generator, config["latent_dim"], config["batch_size"])
        rows["averaged weights, standing statistics"] = measure()
    return {"run": os.path.basename(os.path.normpath(run)), "dataset": config["dataset"],
            "generator_steps": model.steps_trained, "rows": rows}


def main(argv=None):
    from zoo.files import write_json

    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("runs", nargs="+", help="toy run folders trained with --ema")
    parser.add_argument("--checkpoint", choices=("final", "published"), default="final")
    parser.add_argument("--json", help="write the figures here")
    args = parser.parse_args(argv)
    results = []
    for run in args.runs:
        result = breakdown_of_run(run, args.checkpoint)
        results.append(result)
        print(f"\n{result['run']} ({result['dataset']}, {result['generator_steps']} generator steps, "
              f"{args.checkpoint} checkpoint, {SAMPLES} samples)")
        print(f"{'weights':40}{'high quality':>13}{'3-6 std':>9}{'> 6 std':>9}{'modes':>7}"
              f"{'offset/std':>12}{'spread/std':>12}")
        for name, row in result["rows"].items():
            print(f"{name:40}{100 * row['high_quality']:12.2f}%{100 * row['near_misses']:8.2f}%"
                  f"{100 * row['far_misses']:8.2f}%{row['modes_covered']:4d}/{row['modes']:<2}"
                  f"{row['centre_offset']:12.2f}{row['spread']:12.2f}")
    if args.json:
        write_json(args.json, results)


if __name__ == "__main__":
    main()
