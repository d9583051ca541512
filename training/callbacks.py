"""Callbacks of a training run: checkpoints, sample grids, a stop on non-finite losses, and Ctrl-C.

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

from zoo.grid import image_grid, points_plot, save_png, to_uint8
from zoo.errors import ZooError


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
    """After every epoch, the model's picture of itself (`grid_samples`) as samples/epoch-NNNN.png:
    a grid of images from a fixed latent batch (one row per class when conditional; a, G(a), F(G(a)), ...
    for CycleGAN), or for vector data a plot of the samples over real ones."""

    def __init__(self, run, data, seed, images=64, points=2500):
        super().__init__()
        self.run, self.data, self.seed = run, data, seed
        self.count = images if data.is_image else points
        self.real = data.first_examples(8 if data.is_image else points)

    def on_epoch_end(self, epoch, logs=None):
        if self.model.stop_training:
            return
        samples, columns = self.model.grid_samples(self.count, self.seed, self.real)
        if self.data.is_image:
            picture = image_grid(to_uint8(samples, self.data.value_range), columns)
        else:
            picture = points_plot(samples, self.real)
        save_png(picture, os.path.join(self.run.samples, f"epoch-{epoch + 1:04d}.png"))


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
    """One row per epoch: the epoch's mean losses, the generator steps so far, and the epoch's seconds."""

    def __init__(self, path):
        super().__init__()
        self.path = path

    def on_epoch_begin(self, epoch, logs=None):
        self.started = time.perf_counter()

    def on_epoch_end(self, epoch, logs=None):
        if self.model.stop_training:
            return
        row = {"epoch": epoch + 1, "steps": self.model.steps_trained,
               "seconds": round(time.perf_counter() - self.started, 3),
               **{name: float(value) for name, value in (logs or {}).items()}}
        new_file = not os.path.exists(self.path)
        with open(self.path, "a", newline="") as f:
            writer = csv.DictWriter(f, fieldnames=list(row))
            if new_file:
                writer.writeheader()
            writer.writerow(row)
