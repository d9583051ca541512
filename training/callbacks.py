"""Callbacks of a training run: checkpoints, sample grids, and a stop on non-finite losses."""

import csv
import math
import os
import time

import keras

from zoo.grid import image_grid, points_plot, save_png, to_uint8


class NonFiniteLossError(RuntimeError):
    """A loss became NaN or inf; training stopped before the next checkpoint could save bad weights."""


class EpochCheckpoint(keras.callbacks.Callback):
    def __init__(self, run):
        super().__init__()
        self.run = run

    def on_epoch_end(self, epoch, logs=None):
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


class HistoryCSV(keras.callbacks.Callback):
    """One row per epoch: the epoch's mean losses, the generator steps so far, and the epoch's seconds."""

    def __init__(self, path):
        super().__init__()
        self.path = path

    def on_epoch_begin(self, epoch, logs=None):
        self.started = time.perf_counter()

    def on_epoch_end(self, epoch, logs=None):
        row = {"epoch": epoch + 1, "steps": self.model.steps_trained,
               "seconds": round(time.perf_counter() - self.started, 3),
               **{name: float(value) for name, value in (logs or {}).items()}}
        new_file = not os.path.exists(self.path)
        with open(self.path, "a", newline="") as f:
            writer = csv.DictWriter(f, fieldnames=list(row))
            if new_file:
                writer.writeheader()
            writer.writerow(row)
