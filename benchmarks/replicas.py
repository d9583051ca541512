"""Training steps per second on one device vs MirroredStrategy over 2 logical CPU devices.

    python -m benchmarks.replicas [--steps 60] [--variants gan wgan_gp ...] [--json out.json]

Each measurement runs in its own process (logical devices are fixed when TensorFlow starts) on the same
config and global batch, 1 and 2 replicas alternating, best of --repeats. Logical CPU replicas share the
same cores: this shows the cost of the multi-replica machinery on a CPU, not a speed-up; on a machine
with N GPUs the same code runs one replica per GPU.
"""

import argparse
import json
import os
import subprocess
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
VARIANTS = ("gan", "cgan", "fgan", "wgan", "wgan_gp", "cyclegan")

MEASURE = """
import json, os, sys, time
os.environ["TF_CPP_MIN_LOG_LEVEL"] = "2"
import tensorflow as tf
from training.strategies import make_strategy
from training.config import resolve
from training import data as datasets
from training.run import build_model
config = resolve(json.loads(sys.argv[1]))
steps = int(sys.argv[2])
strategy = make_strategy(config["strategy"], config["replicas"])
data = datasets.load(config["dataset"], limit=config["train_examples"])
with strategy.scope():
    model = build_model(config, data.spec)
batches = data.batches(config["batch_size"], 0, 0, model.real_batches_per_step)
model.fit(batches, steps_per_epoch=5, epochs=1, shuffle=False, verbose=0)  # trace and warm up
started = time.perf_counter()
model.fit(batches, steps_per_epoch=steps, epochs=1, shuffle=False, verbose=0)
print(json.dumps({"steps_per_second": steps / (time.perf_counter() - started)}))
"""


def measure(config, steps):
    result = subprocess.run([sys.executable, "-c", MEASURE, json.dumps(config), str(steps)], cwd=ROOT,
                            capture_output=True, text=True, check=True)
    return json.loads(result.stdout.strip().splitlines()[-1])["steps_per_second"]


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--steps", type=int, default=60)
    parser.add_argument("--repeats", type=int, default=2)
    parser.add_argument("--variants", nargs="+", default=list(VARIANTS), choices=VARIANTS)
    parser.add_argument("--json")
    args = parser.parse_args(argv)
    rows = []
    print(f"{'variant':10} {'1 device':>10} {'2 replicas':>11} {'ratio':>6}   (steps/s, global batch 64; "
          "cyclegan 16)")
    for variant in args.variants:
        config = {"model": variant, "train_examples": 4096}
        if variant == "wgan":
            config["critic_schedule"] = "constant"
        best = {1: 0.0, 2: 0.0}
        for _ in range(args.repeats):
            for replicas in (1, 2):
                strategy = {"strategy": "default"} if replicas == 1 else {"strategy": "mirrored", "replicas": 2}
                best[replicas] = max(best[replicas], measure({**config, **strategy}, args.steps))
        rows.append({"variant": variant, "one_device": best[1], "two_replicas": best[2],
                     "ratio": best[2] / best[1]})
        print(f"{variant:10} {best[1]:10.2f} {best[2]:11.2f} {best[2] / best[1]:6.2f}", flush=True)
    if args.json:
        with open(args.json, "w") as f:
            json.dump(rows, f, indent=2)


if __name__ == "__main__":
    main()
