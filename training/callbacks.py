"""Callbacks of a training run: checkpoints, sample grids, quality measures and the best checkpoint, what
TensorBoard shows, a stop on non-finite losses, and Ctrl-C.

`model.stop_training` set during an epoch means the epoch did not finish (an interruption): the
epoch-end callbacks then write nothing, and SaveOnInterrupt has already saved the position in the epoch.
"""

import csv
import math
import os
import signal
import threading
import time

import keras
import numpy as np
import tensorflow as tf

from zoo.files import atomic_writer
from zoo.grid import image_grid, points_plot, save_png, to_uint8
from zoo.errors import ZooError
from zoo.toys import TOY_SAMPLES


class NonFiniteLossError(ZooError, RuntimeError):
    """A loss became NaN or inf; training stopped before the next checkpoint could save bad weights."""

    exit_code = 1


class EpochCheckpoint(keras.callbacks.Callback):
    def __init__(self, run):
        super().__init__()
        self.run = run

    def on_epoch_end(self, epoch, logs=None):
        if not self.model.stop_training:
            self.run.save_checkpoint(self.model, epoch + 1)


class SampleGrid(keras.callbacks.Callback):
    """After every epoch, the model's picture of itself (`grid_samples`, with the averaged generator weights
    under --ema) as samples/epoch-NNNN.png and as an image in TensorBoard: a grid of images from a fixed
    latent batch (one row per class when conditional; a, G(a), F(G(a)), ... for CycleGAN), or for vector
    data a plot of the samples over real ones."""

    def __init__(self, run, data, seed, images=64, points=TOY_SAMPLES):
        super().__init__()
        self.run, self.data, self.seed = run, data, seed
        self.count = images if data.is_image else points
        self.real = data.first_examples(8 if data.is_image else points)
        self.writer = tf.summary.create_file_writer(os.path.join(run.logs, "samples"))

    def on_epoch_end(self, epoch, logs=None):
        if self.model.stop_training:
            return
        with self.model.averaged_generators():
            samples, columns = self.model.grid_samples(self.count, self.seed, self.real)
        if self.data.is_image:
            picture = image_grid(to_uint8(samples, self.data.value_range), columns)
        else:
            picture = points_plot(samples, self.real)
        save_png(picture, os.path.join(self.run.samples, f"epoch-{epoch + 1:04d}.png"))
        with self.writer.as_default():
            tf.summary.image("samples", np.asarray(picture)[None, :, :, None] if picture.ndim == 2
                             else np.asarray(picture)[None], step=epoch + 1)
        self.writer.flush()


class QualityEvaluation(keras.callbacks.Callback):
    """Every `every` epochs (and after the last), measure the generator (`QualityProbe`: domain FID,
    precision, recall, ...) with the weights that export would write, add the measures to the epoch's logs
    (so history.csv and TensorBoard get them), and keep the best checkpoint so far in checkpoints/best/."""

    def __init__(self, run, probe, every, config, num_classes):
        super().__init__()
        self.run, self.probe, self.every, self.config, self.num_classes = run, probe, every, config, num_classes
        self.epochs = config["epochs"]
        record = run.best_record()
        self.best_score = self.rescore(record) if record else float("inf")

    def rescore(self, record):
        """The best epoch's score by today's rule (the rule may have changed since it was kept); its own
        score when it lacks a measure that the rule needs or holds one that is not a number."""
        try:
            return self.probe.score(record)
        except (KeyError, TypeError, ValueError):
            return record["score"]

    def on_epoch_end(self, epoch, logs=None):
        epochs_done = epoch + 1
        if self.model.stop_training or (epochs_done % self.every and epochs_done != self.epochs):
            return
        from training.evaluate import Generators

        started = time.perf_counter()
        with self.model.averaged_generators():
            generators = Generators.from_model(self.model, self.config, self.num_classes)
            metrics, score = self.probe.measure(generators)
        if logs is not None:
            logs.update(metrics)
        if score < self.best_score:
            self.best_score = score
            self.run.save_best(self.model, epochs_done, {"score": score, **metrics})
        print(f"epoch {epochs_done}: " + ", ".join(f"{k} {v:.4g}" for k, v in metrics.items())
              + f" (best score {self.best_score:.4g}; {time.perf_counter() - started:.1f} s)")


class GANLogs(keras.callbacks.Callback):
    """What a GAN user looks at beside the epoch means: the losses every `every` steps in TensorBoard
    (under logs/steps, at the count of training steps, so a resumed run continues the curve), each
    optimizer's learning rate under its own name, and no loss for a player that has not stepped (WGAN's
    generator waits for its critic: its loss is absent then, not 0.0)."""

    def __init__(self, logs, every=50):
        super().__init__()
        self.every = every
        self.writer = tf.summary.create_file_writer(os.path.join(logs, "steps"))

    def _drop_unstepped(self, logs):
        for tracker in self.model.loss_trackers:
            if logs is not None and float(tracker.count.numpy()) == 0:
                logs.pop(tracker.name, None)

    def on_train_batch_end(self, batch, logs=None):
        self._drop_unstepped(logs)
        step = int(self.model.d_optimizer.iterations.numpy())
        if logs and step % self.every == 0:
            with self.writer.as_default():
                for name, value in logs.items():
                    tf.summary.scalar(name, float(value), step=step)

    def on_epoch_end(self, epoch, logs=None):
        self._drop_unstepped(logs)
        if logs is not None:
            for player, optimizer in (("g", self.model.g_optimizer), ("d", self.model.d_optimizer)):
                logs[f"{player}_learning_rate"] = float(keras.ops.convert_to_numpy(optimizer.learning_rate))


class StopOnNonFiniteLoss(keras.callbacks.Callback):
    """Raise, naming the step and the loss, as soon as a logged loss is NaN or inf.

    Checkpoints are written at epoch ends only, so the last checkpoint on disk stays the last good one.
    """

    def on_train_batch_end(self, batch, logs=None):
        for name, value in (logs or {}).items():
            if not math.isfinite(float(value)):
                step = self.model.steps_trained
                raise NonFiniteLossError(f"{name} became {float(value)} at step {step}; the last good "
                                         "checkpoint is kept: lower the learning rate and start over, "
                                         "or --resume from it")


class TrainingInterrupted(ZooError, RuntimeError):
    """Ctrl-C (SIGINT) or SIGTERM stopped the run after a checkpoint of where it was."""

    exit_code = 130


class SaveOnInterrupt(keras.callbacks.Callback):
    """On SIGINT or SIGTERM: finish the current step, checkpoint the position inside the epoch, stop.

    `first_step` is the step of the epoch that this fit starts at (a resumed, interrupted epoch). A second
    Ctrl-C stops at once, as Python's default does; the last checkpoint on disk is still intact.
    """

    SIGNALS = (signal.SIGINT, signal.SIGTERM)

    def __init__(self, run, first_step=0):
        super().__init__()
        self.run, self.first_step = run, first_step
        self.requested, self.position, self.previous = None, None, {}

    def _request(self, signum, frame):
        if self.requested:
            raise KeyboardInterrupt
        self.requested = signal.Signals(signum).name

    def on_train_begin(self, logs=None):
        if threading.current_thread() is threading.main_thread():  # signals reach the main thread only
            self.previous = {s: signal.signal(s, self._request) for s in self.SIGNALS}

    def on_epoch_begin(self, epoch, logs=None):
        self.epoch = epoch

    def on_train_batch_end(self, batch, logs=None):
        if batch + 1 == self.params["steps"]:
            return  # the epoch's last step: let the epoch end and checkpoint as usual
        if self.requested and not self.model.stop_training:
            step = self.first_step + batch + 1
            self.run.save_checkpoint(self.model, self.epoch, step)
            self.position = (self.epoch, step)
            self.model.stop_training = True

    def on_epoch_end(self, epoch, logs=None):
        self.first_step = 0  # only the first epoch of a fit can start inside itself

    def on_train_end(self, logs=None):
        for signum, handler in self.previous.items():
            signal.signal(signum, handler)
        self.previous = {}


class HistoryCSV(keras.callbacks.Callback):
    """One row per epoch: the generator steps so far, the epoch's seconds, what trained it (`devices`, as
    training.strategies.describe_devices says: a model card reports it) and the epoch's mean losses."""

    def __init__(self, path, devices):
        super().__init__()
        self.path, self.devices = path, devices

    def on_epoch_begin(self, epoch, logs=None):
        self.started = time.perf_counter()

    def on_epoch_end(self, epoch, logs=None):
        if self.model.stop_training:
            return
        row = {"epoch": epoch + 1, "steps": self.model.steps_trained,
               "seconds": round(time.perf_counter() - self.started, 3), "devices": self.devices,
               **{name: float(value) for name, value in (logs or {}).items()}}
        rows = []
        if os.path.exists(self.path):
            with open(self.path, newline="") as f:
                rows = list(csv.DictReader(f))
        columns = list(dict.fromkeys([name for old in rows[:1] for name in old] + list(row)))
        if rows and columns == list(rows[0]):  # the usual case: append a row
            with open(self.path, "a", newline="") as f:
                csv.DictWriter(f, fieldnames=columns).writerow(row)
            return
        # a new column (quality measured for the first time): rewrite the file with it, atomically
        with atomic_writer(self.path, "w", newline="") as f:
            writer = csv.DictWriter(f, fieldnames=columns)
            writer.writeheader()
            writer.writerows(rows + [row])
