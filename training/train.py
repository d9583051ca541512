"""One training run, start to end: strategy, data, model, run folder, fit with callbacks."""

import os
import shutil
import sys
import tempfile
import time

import keras

from training import data as datasets
from training.callbacks import EpochCheckpoint, HistoryCSV, SampleGrid, StopOnNonFiniteLoss
from training.config import ConfigError
from training.run import RunFolder
from training.strategies import is_chief, make_strategy
from zoo.models import VARIANTS, UnsuitableDataError


def build_model(config, spec):
    """The compiled model of `config` for data described by `spec` (inside the caller's strategy scope)."""
    try:
        return VARIANTS[config["model"]].build(config, spec)
    except UnsuitableDataError as error:
        raise ConfigError(f"{config['model']} cannot train on {config['dataset']}: {error}") from None


def default_out(config):
    return os.path.join("runs", f"{config['model']}-{config['dataset'].replace(':', '_').replace('/', '_')}-"
                                f"{time.strftime('%Y%m%d-%H%M%S')}")


def train(overrides, out, resume=False, overwrite=False, verbose=None):
    """Train the config that `overrides` resolve to into the run folder `out`; returns the model.

    Everything that can be wrong with the inputs (config, folder, strategy, data) is checked before the
    folder is touched, so a refused run damages nothing already there. In a multi-worker run only the
    chief writes to `out`; the other workers write to temporary folders, removed at the end.
    """
    run = RunFolder(out)
    config = run.resolve_config(overrides, resume, overwrite)
    strategy = make_strategy(config["strategy"], config["replicas"])
    replicas = strategy.num_replicas_in_sync
    if config["batch_size"] % replicas:
        raise ConfigError(f"the global batch of {config['batch_size']} does not split evenly over {replicas} "
                          f"replicas: use a multiple of {replicas}")
    data = datasets.load(config["dataset"], limit=config["train_examples"],
                         image_size=config["image_size"], seed=config["seed"])
    keras.config.set_dtype_policy("mixed_float16" if config["mixed_precision"] else "float32")
    keras.utils.set_random_seed(config["seed"])
    chief = is_chief(strategy)
    writer = run if chief else RunFolder(tempfile.mkdtemp(prefix="gan-zoo-worker-"))
    try:
        with strategy.scope():
            model = build_model(config, data.spec)
            first_epoch = run.restore_checkpoint(model) if resume else 0
        per_step = model.real_batches_per_step
        batches = data.batches(config["batch_size"], config["seed"], first_epoch, per_step)
        writer.start(config, data, overwrite and chief)
        writer.trim_history(first_epoch)
        if verbose != 0:
            print(f"{type(strategy).__name__.lstrip('_')}: {replicas} replica(s), global batch {config['batch_size']}, "
                  f"run folder {out}{'' if chief else ' (written by the chief)'}")
        if first_epoch >= config["epochs"]:
            print(f"{out} already trained {first_epoch} epochs; ask for more with --epochs")
            return model
        callbacks = [
            StopOnNonFiniteLoss(),
            EpochCheckpoint(writer),  # on every worker: saving may read variables through collectives
            SampleGrid(writer, data, config["seed"]),
            HistoryCSV(writer.history),
            keras.callbacks.TensorBoard(writer.logs),
        ]
        model.fit(batches, epochs=config["epochs"], initial_epoch=first_epoch,
                  steps_per_epoch=data.steps_per_epoch(config["batch_size"] * per_step),
                  callbacks=callbacks, shuffle=False,
                  verbose=verbose if verbose is not None else 1 if sys.stdout.isatty() else 2)
        return model
    finally:
        keras.config.set_dtype_policy("float32")
        if not chief:
            shutil.rmtree(writer.path, ignore_errors=True)
