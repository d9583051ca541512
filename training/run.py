"""A run folder: resolved config, atomic checkpoints, sample grids, logs, loss history.

    RUN/config.json              the resolved config
    RUN/data.json                shape, classes, size and value range of the data: what export needs
    RUN/checkpoints/latest.json  names the newest complete checkpoint; written last, atomically
    RUN/checkpoints/epoch-NNNN/  tf.train.Checkpoint of the whole model: both nets, both optimizers
    RUN/checkpoints/epoch-NNNN-step-NNNNNN/  the same, saved when a run was interrupted inside an epoch
    RUN/samples/epoch-NNNN.png   the fixed latent batch after each epoch
    RUN/history.csv, RUN/logs/   per-epoch losses; TensorBoard logs

A checkpoint is written into a temporary folder, renamed into place, and only then named by latest.json;
killed at any moment, the run keeps a readable previous checkpoint. A write that fails (full or read-only
disk) raises CheckpointError and leaves the previous checkpoint named in latest.json.
"""

import csv
import json
import os
import shutil

import tensorflow as tf

from training.config import RESUMABLE_CHANGES, ConfigError, resolve
from zoo.files import atomic_writer, write_json
from zoo.errors import ZooError

KEEP_CHECKPOINTS = 2


class CheckpointError(ZooError, RuntimeError):
    """A checkpoint that is missing or cannot be read back."""


class RunFolder:
    def __init__(self, path):
        self.path = path
        self.config_path = os.path.join(path, "config.json")
        self.data_path = os.path.join(path, "data.json")
        self.checkpoints = os.path.join(path, "checkpoints")
        self.latest_path = os.path.join(self.checkpoints, "latest.json")
        self.samples = os.path.join(path, "samples")
        self.logs = os.path.join(path, "logs")
        self.history = os.path.join(path, "history.csv")

    def saved_config(self):
        try:
            with open(self.config_path) as f:
                return json.load(f)
        except (OSError, json.JSONDecodeError) as error:
            raise ConfigError(f"{self.config_path} is missing or unreadable ({error}); "
                              "this folder holds no resumable run: start over with --overwrite") from None

    def resolve_config(self, overrides, resume, overwrite):
        """The config to train, refusing a folder that holds another run before anything is written.

        Resuming takes the saved config; options given again must agree with it, except those in
        RESUMABLE_CHANGES.
        """
        occupied = os.path.isdir(self.path) and bool(os.listdir(self.path))
        if resume and overwrite:
            raise ConfigError("--resume and --overwrite contradict each other: pick one")
        if not resume:
            if occupied and not overwrite:
                raise ConfigError(f"{self.path} already holds a run: pass --resume to continue it, "
                                  "--overwrite to replace it, or choose another --out")
            return resolve(overrides)
        if not occupied:
            raise ConfigError(f"nothing to resume in {self.path}: drop --resume to start a new run")
        saved = self.saved_config()
        for key, value in overrides.items():
            schedule = key == "learning_rate" and saved.get("model") == "cyclegan"
            if (key not in RESUMABLE_CHANGES or schedule) and saved.get(key) != value:
                raise ConfigError(f"{self.path} was trained with {key}={saved.get(key)!r}, not {value!r}: "
                                  "drop that option to resume, or train into a new --out")
        return resolve({**saved, **overrides})

    def start(self, config, data, overwrite):
        """Create (or, with `overwrite`, recreate) the folder and record the config and the data's shape."""
        if overwrite and os.path.isdir(self.path):
            shutil.rmtree(self.path)
        for folder in (self.checkpoints, self.samples, self.logs):
            os.makedirs(folder, exist_ok=True)
        write_json(self.config_path, config)
        write_json(self.data_path, {"name": data.name, "shape": list(data.shape), "num_classes": data.num_classes,
                                    "num_examples": data.num_examples, "two_domains": data.two_domains,
                                    "value_range": list(data.value_range)})

    # --- checkpoints ---------------------------------------------------------------------------------

    def save_checkpoint(self, model, epoch, step=0):
        """Checkpoint after `epoch` complete epochs and `step` steps of the next one (interrupted runs)."""
        name = f"epoch-{epoch:04d}" + (f"-step-{step:06d}" if step else "")
        final = os.path.join(self.checkpoints, name)
        tmp = os.path.join(self.checkpoints, f".{name}.tmp")
        for stale in (tmp, final):  # left by a run killed before it named them in latest.json
            shutil.rmtree(stale, ignore_errors=True)
        try:
            tf.train.Checkpoint(model=model).write(os.path.join(tmp, "ckpt"))
            os.rename(tmp, final)
            write_json(self.latest_path, {"epoch": epoch, "step": step, "checkpoint": f"{name}/ckpt",
                                          "steps": model.steps_trained})
        except (OSError, tf.errors.OpError) as error:
            shutil.rmtree(tmp, ignore_errors=True)
            reason = getattr(error, "strerror", None) or str(error).strip().splitlines()[0][:200]
            previous = self._describe_latest()
            raise CheckpointError(f"cannot write checkpoint {final} ({reason}); {previous}: free disk space or "
                                  "make the folder writable, then --resume") from None
        kept = sorted(n for n in os.listdir(self.checkpoints) if n.startswith("epoch-"))[-KEEP_CHECKPOINTS:]
        for entry in os.listdir(self.checkpoints):
            if entry != "latest.json" and entry not in kept:
                shutil.rmtree(os.path.join(self.checkpoints, entry), ignore_errors=True)

    def _describe_latest(self):
        try:
            epoch, step, prefix = self.latest_checkpoint()
        except CheckpointError:
            return "no earlier checkpoint exists"
        return f"the last complete checkpoint ({os.path.dirname(prefix)}) is kept"

    def latest_checkpoint(self):
        """(epochs, steps into the next epoch, checkpoint path prefix) of the newest complete checkpoint."""
        if not os.path.exists(self.latest_path):
            raise CheckpointError(f"{self.path} has no checkpoint (no epoch finished): "
                                  "start over with --overwrite")
        try:
            with open(self.latest_path) as f:
                latest = json.load(f)
            return (int(latest["epoch"]), int(latest.get("step", 0)),
                    os.path.join(self.checkpoints, latest["checkpoint"]))
        except (OSError, ValueError, KeyError, TypeError) as error:
            raise CheckpointError(f"{self.latest_path} is unreadable ({error!r}): "
                                  "start over with --overwrite") from None

    def restore_checkpoint(self, model):
        """Load the newest checkpoint into `model` (nets and optimizers); returns (epochs, steps into the next)."""
        epoch, step, prefix = self.latest_checkpoint()
        try:
            tf.train.Checkpoint(model=model).read(prefix).assert_consumed()
        except (tf.errors.OpError, ValueError, AssertionError) as error:
            reason = str(error).strip().splitlines()[0][:300]
            raise CheckpointError(f"checkpoint {prefix} cannot be restored ({type(error).__name__}: "
                                  f"{reason}); start over with --overwrite") from None
        return epoch, step

    def trim_history(self, epochs_kept):
        """Drop history rows of epochs after the checkpoint being resumed (they will be trained again)."""
        if not os.path.exists(self.history):
            return
        with open(self.history, newline="") as f:
            rows = list(csv.reader(f))
        kept = rows[:1] + [row for row in rows[1:] if row and int(row[0]) <= epochs_kept]
        with atomic_writer(self.history, "w", newline="") as f:
            csv.writer(f).writerows(kept)
