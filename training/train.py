"""One training run, start to end: strategy, data, model, run folder, fit with callbacks."""

import contextlib
import os
import shutil
import sys
import tempfile
import time

import keras
import tensorflow as tf

from training import data as datasets
from training.callbacks import (EpochCheckpoint, GANLogs, HistoryCSV, QualityEvaluation, SampleGrid,
                                SaveOnInterrupt, StopOnNonFiniteLoss, TrainingInterrupted)
from training.config import QUICK_SAMPLES, ConfigError
from training.evaluate import QualityProbe
from training.run import RunFolder, build_model
from training.strategies import describe_devices, device_warnings, is_chief, make_strategy


def apply_learning_rate(model, config):
    """A resumed run takes the configured learning rate (a resumable change: lower it after a divergence)
    instead of the one restored with the optimizer state; a schedule (CycleGAN) cannot change."""
    for optimizer in (model.g_optimizer, model.d_optimizer):
        if isinstance(optimizer.learning_rate, keras.Variable):
            optimizer.learning_rate.assign(config["learning_rate"])


def default_out(config):
    return os.path.join("runs", f"{config['model']}-{config['dataset'].replace(':', '_').replace('/', '_')}-"
                                f"{time.strftime('%Y%m%d-%H%M%S')}")


def train(overrides, out, resume=False, overwrite=False, verbose=None):
    """Train the config that `overrides` resolve to into the run folder `out`; returns the model.

    Everything that can be wrong with the inputs (config, folder, strategy, data, the folder's own files) is
    checked before the folder is touched, so a refused run damages nothing already there. The folder is
    locked for the whole run: a second process training into it is refused at once. In a multi-worker run
    only the chief writes to `out` (and locks it); the other workers write to temporary folders, removed at
    the end. Ctrl-C checkpoints the position inside the epoch and raises TrainingInterrupted; resuming
    continues from that step with the batches and noise the run would have used.
    """
    run = RunFolder(out)
    config = run.resolve_config(overrides, resume, overwrite)
    strategy = make_strategy(config["strategy"], config["replicas"])
    chief = is_chief(strategy)
    with run.lock() if chief else contextlib.nullcontext():
        if chief:  # checked again: another process may have changed the folder before this one held it
            config = run.resolve_config(overrides, resume, overwrite)
        return _train(run, config, strategy, chief, resume, overwrite, verbose)


def _train(run, config, strategy, chief, resume, overwrite, verbose):
    """train() once the folder is this process's (the chief's) or, on another worker, only read."""
    out = run.path
    replicas = strategy.num_replicas_in_sync
    if config["batch_size"] % replicas:
        raise ConfigError(f"the global batch of {config['batch_size']} does not split evenly over {replicas} "
                          f"replicas: use a multiple of {replicas}")
    pack = config.get("pack", 1)
    if (config["batch_size"] // replicas) % pack:  # a pack must not straddle two replicas
        raise ConfigError(f"each replica's batch of {config['batch_size'] // replicas} does not split into packs "
                          f"of {pack}: use a --batch-size that is a multiple of {replicas * pack}")
    data = datasets.load(config["dataset"], limit=config["train_examples"],
                         image_size=config["image_size"], seed=config["seed"])
    probe = (QualityProbe(config["dataset"], QUICK_SAMPLES, config["seed"], config["probe_draws"])
             if config["eval_every"] else None)
    keras.config.set_dtype_policy("mixed_float16" if config["mixed_precision"] else "float32")
    keras.utils.set_random_seed(config["seed"])
    if config["deterministic"]:
        tf.config.experimental.enable_op_determinism()
    writer = run if chief else RunFolder(tempfile.mkdtemp(prefix="gan-zoo-worker-"))
    try:
        with strategy.scope():
            model = build_model(config, data.spec)
            first_epoch, first_step = run.restore_checkpoint(model) if resume else (0, 0)
            if resume:
                apply_learning_rate(model, config)
        per_step = model.real_batches_per_step
        steps_per_epoch = data.steps_per_epoch(config["batch_size"] * per_step)
        if first_epoch >= config["epochs"]:  # its config.json keeps the epochs that it trained
            if verbose != 0:
                print(f"{out} already trained {first_epoch} epochs; ask for more with --epochs")
            return model
        if resume:  # before anything is written: a damaged history refuses the resume
            writer.trim_history(first_epoch)
        writer.start(config, data, overwrite and chief)
        devices = describe_devices(strategy)
        if verbose != 0:
            for warning in device_warnings(strategy, config["mixed_precision"]):
                print(f"warning: {warning}", file=sys.stderr)
            print(f"{devices}; {type(strategy).__name__.lstrip('_')}: {replicas} replica(s), "
                  f"global batch {config['batch_size']}, run folder {out}{'' if chief else ' (written by the chief)'}")
        interrupt = SaveOnInterrupt(writer, first_step)
        # The checkpoint comes last: it is the commit point of an epoch. Killed before it, the run resumes
        # from the previous epoch and rewrites that epoch's history row and grid; killed after, all is there.
        quality = [QualityEvaluation(writer, probe, config["eval_every"], config, data.num_classes)] if probe else []
        callbacks = [
            GANLogs(writer.logs),  # first: it removes the loss of a player that has not stepped from the logs
            StopOnNonFiniteLoss(),
            interrupt,
            *quality,  # before the history and TensorBoard, which record the measures it adds to the logs
            HistoryCSV(writer.history, devices),
            SampleGrid(writer, data, config["seed"]),
            keras.callbacks.TensorBoard(writer.logs),
            EpochCheckpoint(writer),  # on every worker: saving may read variables through collectives
        ]
        # An interrupted epoch is finished by a fit of its remaining steps; then the rest as usual.
        pieces = [(first_epoch, first_step, first_epoch + 1)] if first_step else []
        pieces.append((first_epoch + bool(first_step), 0, config["epochs"]))
        for epoch, step, end in pieces:
            if epoch >= end:
                continue
            batches = data.batches(config["batch_size"], config["seed"], epoch, per_step, skip_steps=step)
            model.fit(batches, epochs=end, initial_epoch=epoch, steps_per_epoch=steps_per_epoch - step,
                      callbacks=callbacks, shuffle=False,
                      verbose=verbose if verbose is not None else 1 if sys.stdout.isatty() else 2)
            if interrupt.position:
                epoch, step = interrupt.position
                raise TrainingInterrupted(f"interrupted by {interrupt.requested} at step {step} of epoch "
                                          f"{epoch + 1}; saved a checkpoint there. Continue with: "
                                          f"python -m training --out {out} --resume")
        return model
    finally:
        keras.config.set_dtype_policy("float32")
        if not chief:
            shutil.rmtree(writer.path, ignore_errors=True)
