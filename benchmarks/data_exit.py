"""How long does `python -m training` take to exit after its last step, with tf.data's autotuning and without?

    python -m benchmarks.data_exit [--config zoo/recipes/gan-ring8.json] [--repeats 3]

At the end of every fit, and after Ctrl-C before the process can exit, the training input's iterator is
freed. With autotuning on, the iterator owns a model thread that re-plans the pipeline at growing intervals
(up to a minute), and the iterator's destructor can wait for it (TF 2.21: the main thread blocks in
`UnboundedThreadPool::LogicalThreadWrapper`'s destructor, idle). `Data.batches` turns autotuning off. This
runs short trainings of a recipe (2 epochs; or stopped with SIGINT early in the second) in child processes,
with `Data.batches` as it is and with autotuning turned back on, alternating, and prints the seconds from the
last epoch's progress line to the process's exit.
"""

import argparse
import os
import signal
import subprocess
import sys
import tempfile
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

SETTINGS = ("off (training's)", "on")


def train_autotuned(training_args):
    """`python -m training` with autotuning forced back on for every dataset (the child's side)."""
    import tensorflow as tf

    from training.__main__ import main as training_main

    with_options = tf.data.Dataset.with_options

    def autotuned(dataset, options, name=None):
        options.autotune.enabled = True
        return with_options(dataset, options, name)

    tf.data.Dataset.with_options = autotuned
    return training_main(training_args)


def seconds_to_exit(config, autotune, interrupt):
    """Train `config` for 2 epochs (with `interrupt`, SIGINT once the second has begun): the seconds from the
    last progress line ("N/N - ...") to the exit, and the exit code."""
    with tempfile.TemporaryDirectory() as folder:
        training = ["--config", config, "--epochs", "2", "--eval-every", "0", "--out", os.path.join(folder, "run")]
        command = ([sys.executable, "-m", "benchmarks.data_exit", "--child", "--"] if autotune
                   else [sys.executable, "-m", "training"]) + training
        child = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                                 env={**os.environ, "PYTHONUNBUFFERED": "1"})
        last_progress = None
        for line in child.stdout:
            if line.startswith("Epoch 2/") and interrupt:
                time.sleep(2)
                child.send_signal(signal.SIGINT)
            if " - " in line and "/" in line.split(" - ")[0]:
                last_progress = time.perf_counter()
        code = child.wait()
        if last_progress is None:
            raise SystemExit(f"{' '.join(command)} printed no progress line (exit code {code}): run it to see why")
        return time.perf_counter() - last_progress, code


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--config", default="zoo/recipes/gan-ring8.json", help="the recipe to train briefly")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    args, rest = parser.parse_known_args(argv)
    if args.child:
        return train_autotuned(rest[1:] if rest[:1] == ["--"] else rest)
    print(f"{args.config}, 2 epochs; {os.cpu_count()} cores; seconds from the last progress line to the exit")
    print("| how it ends | autotuning | each repeat (exit code) | longest |")
    print("|---|---|---|---|")
    for interrupt in (False, True):
        results = {setting: [] for setting in SETTINGS}
        for _ in range(args.repeats):
            for setting in SETTINGS:
                results[setting].append(seconds_to_exit(args.config, setting == "on", interrupt))
        for setting, runs in results.items():
            print(f"| {'SIGINT in epoch 2' if interrupt else 'last epoch done'} | {setting} | "
                  f"{', '.join(f'{seconds:.1f} ({code})' for seconds, code in runs)} | "
                  f"{max(seconds for seconds, _ in runs):.1f} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
