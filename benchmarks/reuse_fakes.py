"""What `--reuse-fakes` costs in quality: the same runs with fresh and with reused fakes.

    python -m benchmarks.reuse_fakes [--variants gan] [--epochs 2] [--seeds 0 1] [--json out.json]

For each variant and seed, two runs with `--jit` on Fashion-MNIST that differ only in `reuse_fakes`, then
the domain FID, KID, precision and recall of 10,000 samples against the test split (training.evaluate, the
classifier's features; cgan adds the conditional accuracy). GAN training is noisy from seed to seed, so
compare the spread over seeds, not one pair. What it saves in time is benchmarks.train_speed's measurement
(alternating, best of repeats): these runs follow one another, so machine noise would decide a comparison
of their durations.
"""

import argparse
import os
import tempfile

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

VARIANTS = ("gan", "cgan", "fgan", "wgan_gp")


def main(argv=None):
    from training.evaluate import evaluate
    from training.train import train
    from zoo.files import write_json

    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--variants", nargs="+", default=["gan"], choices=VARIANTS)
    parser.add_argument("--epochs", type=int, default=2)
    parser.add_argument("--seeds", nargs="+", type=int, default=[0, 1])
    parser.add_argument("--json")
    args = parser.parse_args(argv)
    print(f"{'variant':<8} {'seed':>4} {'fakes':<6} {'FID':>7} {'KID':>7} {'precision':>9} {'recall':>6} "
          f"{'cond. acc':>9}")
    rows = []
    with tempfile.TemporaryDirectory() as scratch:
        for variant in args.variants:
            for seed in args.seeds:
                for reuse in (False, True):
                    out = os.path.join(scratch, f"{variant}-{seed}-{reuse}")
                    train({"model": variant, "epochs": args.epochs, "jit": True, "reuse_fakes": reuse,
                           "seed": seed}, out, verbose=0)
                    result = evaluate(out, seed=seed)
                    row = {"variant": variant, "seed": seed, "reuse_fakes": reuse,
                           **{key: result[key] for key in ("fid", "kid", "precision", "recall")},
                           "conditional_accuracy": result.get("conditional", {}).get("accuracy")}
                    rows.append(row)
                    accuracy = "-" if row["conditional_accuracy"] is None else f"{row['conditional_accuracy']:.3f}"
                    print(f"{variant:<8} {seed:4d} {'reused' if reuse else 'fresh':<6} {row['fid']:7.1f} "
                          f"{row['kid']:7.1f} {row['precision']:9.3f} {row['recall']:6.3f} "
                          f"{accuracy:>9}", flush=True)
    if args.json:
        write_json(args.json, rows)


if __name__ == "__main__":
    main()
