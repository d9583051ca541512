"""Kill training with SIGKILL at random moments, resume each time, and check that nothing was lost.

    python -m benchmarks.faults [--kills 20] [--seed 0] [--json results.json]

A small run (tiny DCGAN nets on 1,024 Fashion-MNIST images, 8 epochs) is killed `--kills` times, each time
after it has finished 0 to 2 more epochs: during a step (a random moment), during a checkpoint write (as soon
as a checkpoint's temporary folder appears) or during a sample-grid write (as soon as the grid's temporary
file appears), in turn. A run that ends before its kill is trained again from the start. After every kill,
latest.json must name a checkpoint that reads back, and the run is resumed with --resume. When the run
has finished, its final weights are compared with those of a run that was never killed: resuming is exact,
so they must be identical, and the history must list every epoch once.
"""

import argparse
import csv
import glob
import json
import os
import random
import shutil
import signal
import subprocess
import sys
import tempfile
import time

import numpy as np

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

CONFIG = ["--width", "8", "--latent-dim", "16", "--train-examples", "1024", "--batch-size", "32",
          "--epochs", "8", "--seed", "0"]
MOMENTS = ("step", "checkpoint", "sample")


def checkpoint_tensors(run):
    """{variable name: value} of the checkpoint latest.json names (raises if unreadable)."""
    import tensorflow as tf

    with open(os.path.join(run, "checkpoints", "latest.json")) as f:
        latest = json.load(f)
    reader = tf.train.load_checkpoint(os.path.join(run, "checkpoints", latest["checkpoint"]))
    return latest, {name: reader.get_tensor(name) for name in reader.get_variable_to_shape_map()
                    if "OPTIMIZER_SLOT" not in name and not name.startswith("_CHECKPOINTABLE")}


def _appeared(run, moment):
    pattern = {"checkpoint": "checkpoints/.epoch-*.tmp", "sample": "samples/.epoch-*.png.*.tmp"}[moment]
    return bool(glob.glob(os.path.join(run, pattern)))


def latest_epoch(run):
    try:
        with open(os.path.join(run, "checkpoints", "latest.json")) as f:
            return json.load(f)["epoch"]
    except (OSError, ValueError):
        return 0


def start(run, resume):
    command = [sys.executable, "-m", "training", *CONFIG, "--out", run] + (["--resume"] if resume else [])
    return subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)


def _wait(condition, process, timeout):
    deadline = time.monotonic() + timeout
    while not condition() and process.poll() is None and time.monotonic() < deadline:
        time.sleep(0.001)


def kill_during(process, run, moment, rng, timeout=300):
    """Let the run finish 0 to 2 more epochs, then SIGKILL it at the moment asked for: a random point
    of the next steps, or as soon as a checkpoint's or a sample grid's temporary file appears. Returns
    what was hit ('finished' if the run ended first)."""
    target = latest_epoch(run) + rng.randint(0, 2)
    _wait(lambda: latest_epoch(run) >= target and os.path.isdir(os.path.join(run, "logs")), process, timeout)
    if moment == "step":
        time.sleep(rng.uniform(0.0, 1.0))
    else:
        _wait(lambda: _appeared(run, moment), process, timeout)
    if process.poll() is not None:
        return "finished"
    hit = moment if moment == "step" or _appeared(run, moment) else "step"
    process.send_signal(signal.SIGKILL)
    process.wait()
    return hit


def run_with_kills(run, kills, seed=0, log=print):
    """Train `run` to the end through `kills` SIGKILLs; returns one record per kill."""
    rng = random.Random(seed)
    records, resume = [], False
    while len(records) < kills:
        moment = MOMENTS[len(records) % len(MOMENTS)]
        process = start(run, resume)
        hit = kill_during(process, run, moment, rng)
        if hit == "finished":  # ended before the kill: train it again from the start, to keep killing
            log("the run finished before the kill; starting it over")
            shutil.rmtree(run)
            resume = False
            continue
        record = {"kill": len(records) + 1, "aimed_at": moment, "hit": hit, "epoch": latest_epoch(run)}
        if os.path.exists(os.path.join(run, "checkpoints", "latest.json")):
            latest, _ = checkpoint_tensors(run)  # must read back
            record.update(step=latest.get("step", 0), readable=True)
            resume = True
        else:
            record.update(readable=None)  # killed before the first checkpoint: start afresh
            shutil.rmtree(run, ignore_errors=True)
            resume = False
        records.append(record)
        log(f"kill {record['kill']:2d}: aimed at {moment:<10} hit {hit:<10} last checkpoint: epoch {record['epoch']}")
    process = start(run, resume)
    _, error = process.communicate()
    if process.returncode != 0:
        raise RuntimeError(f"the final resume failed ({process.returncode}): {error[-2000:]}")
    return records


def compare_with_uninterrupted(run, reference):
    subprocess.run([sys.executable, "-m", "training", *CONFIG, "--out", reference], check=True,
                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    (latest, killed), (_, clean) = checkpoint_tensors(run), checkpoint_tensors(reference)
    difference = max(float(np.max(np.abs(killed[k].astype(np.float64) - clean[k]))) for k in clean
                     if np.issubdtype(clean[k].dtype, np.number))
    with open(os.path.join(run, "history.csv")) as f:
        epochs = [int(row["epoch"]) for row in csv.DictReader(f)]
    return {"final_epoch": latest["epoch"], "history_epochs": epochs, "max_weight_difference": difference,
            "same_variables": sorted(killed) == sorted(clean)}


def main(argv=None):
    from zoo.files import write_json

    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--kills", type=int, default=20)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--json", help="also write the records to this JSON file")
    args = parser.parse_args(argv)
    folder = tempfile.mkdtemp(prefix="gan-zoo-faults-")
    try:
        started = time.perf_counter()
        records = run_with_kills(os.path.join(folder, "killed"), args.kills, args.seed)
        summary = compare_with_uninterrupted(os.path.join(folder, "killed"), os.path.join(folder, "clean"))
        hits = {m: sum(r["hit"] == m for r in records) for m in MOMENTS}
        print(f"{len(records)} kills ({', '.join(f'{n} during {m}' for m, n in hits.items())}), "
              f"{sum(bool(r['readable']) for r in records)} with a checkpoint to resume from, all readable; "
              f"{time.perf_counter() - started:.0f} s")
        print(f"final epoch {summary['final_epoch']}, history epochs {summary['history_epochs']}, largest weight "
              f"difference from a run never killed: {summary['max_weight_difference']:.3g}")
        if args.json:
            write_json(args.json, {"records": records, **summary})
    finally:
        shutil.rmtree(folder, ignore_errors=True)


if __name__ == "__main__":
    main()
