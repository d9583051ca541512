"""One training run, start to end: data, model, run folder, fit with callbacks."""

import os
import sys
import time

import keras

from training import data as datasets
from training.callbacks import EpochCheckpoint, HistoryCSV, SampleGrid, StopOnNonFiniteLoss
from training.config import ConfigError
from training.run import RunFolder
from zoo.models import VARIANTS, UnsuitableDataError


def build_model(config, spec):
    """The compiled model of `config` for data described by `spec`."""
    try:
        return VARIANTS[config["model"]].build(config, spec)
    except UnsuitableDataError as error:
        raise ConfigError(f"{config['model']} cannot train on {config['dataset']}: {error}") from None


def default_out(config):
    return os.path.join("runs", f"{config['model']}-{config['dataset'].replace(':', '_')}-"
                                f"{time.strftime('%Y%m%d-%H%M%S')}")


def train(overrides, out, resume=False, overwrite=False, verbose=None):
    """Train the config that `overrides` resolve to into the run folder `out`; returns the model.

    Everything that can be wrong with the inputs (config, folder, data) is checked before the folder is
    touched, so a refused run damages nothing already there.
    """
    run = RunFolder(out)
    config = run.resolve_config(overrides, resume, overwrite)
    data = datasets.load(config["dataset"], limit=config["train_examples"],
                         image_size=config["image_size"], seed=config["seed"])
    keras.utils.set_random_seed(config["seed"])
    model = build_model(config, data.spec)
    batch_size = config["batch_size"] * model.real_batches_per_step
    steps_per_epoch = data.steps_per_epoch(batch_size)
    first_epoch = run.restore_checkpoint(model) if resume else 0
    batches = data.batches(batch_size, config["seed"], first_epoch)
    run.start(config, data, overwrite)
    run.trim_history(first_epoch)
    if first_epoch >= config["epochs"]:
        print(f"{out} already trained {first_epoch} epochs; ask for more with --epochs")
        return model
    callbacks = [
        StopOnNonFiniteLoss(),
        EpochCheckpoint(run),
        SampleGrid(run, data, config["seed"]),
        HistoryCSV(run.history),
        keras.callbacks.TensorBoard(run.logs),
    ]
    model.fit(batches, epochs=config["epochs"], initial_epoch=first_epoch, steps_per_epoch=steps_per_epoch,
              callbacks=callbacks, shuffle=False,
              verbose=verbose if verbose is not None else 1 if sys.stdout.isatty() else 2)
    return model
