"""A run folder: resolved config, atomic checkpoints, sample grids, logs, loss history.

    RUN/config.json              the resolved config
    RUN/data.json                shape, classes, size and value range of the data: what export needs
    RUN/checkpoints/latest.json  names the newest complete checkpoint; written last, atomically
    RUN/checkpoints/epoch-NNNN/  tf.train.Checkpoint of the whole model: both nets, both optimizers
    RUN/checkpoints/epoch-NNNN-step-NNNNNN/  the same, saved when a run was interrupted inside an epoch
    RUN/samples/epoch-NNNN.png   the fixed latent batch after each epoch
    RUN/history.csv, RUN/logs/   per-epoch losses; TensorBoard logs
    RUN/.lock                    locked (zoo.files.try_lock) by the process training into the folder; names it

A checkpoint is written into a temporary folder, renamed into place, and only then named by latest.json;
killed at any moment, the run keeps a readable previous checkpoint. A write that fails (full or read-only
disk) raises CheckpointError and leaves the previous checkpoint named in latest.json.

The folder's own files are checked before they are used: latest.json names a checkpoint of this folder at a
step inside its epoch; it (and best.json) records the options the checkpoint was trained with, which
config.json must still say.
Only a folder that is a run (config.json and checkpoints/) is ever replaced, and never the root, the home
folder, the current folder or a folder above it.
"""

import contextlib
import csv
import os
import shutil
import socket
import time

import keras
import tensorflow as tf

from training.config import BOUNDS, ConfigError, fixed_options, read_config_file, resolve
from zoo.files import atomic_writer, move_into_place, try_lock, unlock, write_json
from zoo.errors import ZooError, shorten, shortened_repr
from zoo.models import VARIANTS, DataSpec, UnsuitableDataError

KEEP_CHECKPOINTS = 2
BEST = "best"  # checkpoints/best/: the checkpoint of the best quality measured so far (--eval-every)
LOCK_NAME = ".lock"
#: how long taking the lock retries: another process may be looking whether it is held (RunFolder.holder)
LOCK_PATIENCE_SECONDS = 1.0


class CheckpointError(ZooError, RuntimeError):
    """A checkpoint that is missing or cannot be read back."""


class RunFolderError(ZooError, RuntimeError):
    """A folder that is not ours to write or replace, one in use by another process, or a damaged run file."""


class RunFolderInUse(RunFolderError):
    """A run folder another process holds (trains into) now."""


def checkpoint_name(epoch, step=0):
    return f"epoch-{epoch:04d}" + (f"-step-{step:06d}" if step else "")


def protected_folders():
    """Folders that are never replaced, whatever they hold: the home folder, the current folder, and every
    folder above either (the root among them)."""
    protected = set()
    for folder in (os.path.expanduser("~"), os.getcwd()):
        folder = os.path.realpath(folder)
        while folder not in protected:
            protected.add(folder)
            folder = os.path.dirname(folder)
    return protected


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
        self.lock_path = os.path.join(path, LOCK_NAME)
        self.held = False  # whether this process holds the folder's lock (RunFolder.lock)

    def saved_config(self):
        try:
            return read_config_file(self.config_path)
        except ConfigError as error:
            raise ConfigError(f"{error}; this folder holds no usable run: start over with --overwrite") from None

    def data_spec(self, data=None):
        """The DataSpec of the data the run trained on, from its data.json (`data`: that file, already read)."""
        data = read_config_file(self.data_path) if data is None else data
        try:
            return DataSpec(tuple(data["shape"]), data["num_classes"], data["num_examples"], data["two_domains"])
        except (KeyError, TypeError):
            raise ConfigError(f"{self.data_path} is damaged (it must name the data's shape, num_classes, "
                              "num_examples and two_domains): restore it from a copy of the run folder") from None

    def is_run(self):
        """Whether the folder is a run of ours, recognised by its files."""
        return os.path.isfile(self.config_path) and os.path.isdir(self.checkpoints)

    def _contents(self):
        """The folder's entries other than the lock file (none when the folder does not exist)."""
        if not os.path.isdir(self.path):
            return []
        return [name for name in os.listdir(self.path) if name != LOCK_NAME]

    def holder(self):
        """'pid N on HOST' of the other process that holds the folder's lock, or None when none does."""
        if self.held:
            return None
        try:
            handle = open(self.lock_path)
        except OSError:  # no lock file (or none that can be read): nobody to name
            return None
        with handle:
            if try_lock(handle, shared=True):
                unlock(handle)  # at once: on Windows, where no lock is shared, the holder-to-be waits on it
                return None
            return shorten(handle.read(300)) or "another process"

    def _in_use(self, holder):
        return RunFolderInUse(f"{self.path} is in use by {holder}: wait until it ends (or stop it), or train "
                              "into another --out")

    def _check_ours(self, resume, overwrite):
        """Refuse, before anything is written, a folder that this command must not write into or replace."""
        if resume and overwrite:
            raise ConfigError("--resume and --overwrite contradict each other: pick one")
        if os.path.exists(self.path) and not os.path.isdir(self.path):
            raise RunFolderError(f"{self.path} is a file, not a run folder: choose another --out")
        if overwrite and os.path.realpath(self.path) in protected_folders():
            raise RunFolderError(f"--overwrite never replaces {self.path} (the root, the home folder, the current "
                                 "folder or a folder above it): choose a run folder below the current one")
        if self._contents() and not self.is_run():
            action = "replace" if overwrite else "resume" if resume else "write into"
            raise RunFolderError(f"{self.path} holds files but is not a run folder (no config.json and "
                                 f"checkpoints/): they are not ours to {action}; choose another --out")

    def resolve_config(self, overrides, resume, overwrite):
        """The config to train, refusing a folder that holds another run before anything is written.

        Resuming takes the saved config; options given again must agree with it, except those in
        RESUMABLE_CHANGES.
        """
        self._check_ours(resume, overwrite)
        occupied = bool(self._contents())
        if not resume:
            if occupied and not overwrite:
                holder = self.holder()
                if holder:
                    raise self._in_use(holder)
                raise ConfigError(f"{self.path} already holds a run: pass --resume to continue it, "
                                  "--overwrite to replace it, or choose another --out")
            config = resolve(overrides)
            # a resumed run may stop measuring (--eval-every 0) and keep its draws for when it measures again
            if config["probe_draws"] != 1 and not config["eval_every"]:
                raise ConfigError("probe_draws measures the epochs that --eval-every N picks: add --eval-every 1")
            return config
        if not occupied:
            raise ConfigError(f"nothing to resume in {self.path}: drop --resume to start a new run")
        saved = self.saved_config()
        fixed = fixed_options(resolve(saved))
        for key, value in overrides.items():
            # against the resolved config: an option newer than the run has its default there
            if key in fixed and fixed[key] != value:
                raise ConfigError(f"{self.path} was trained with {key}={shortened_repr(fixed[key])}, not "
                                  f"{shortened_repr(value)}: drop that option to resume, or train into a new --out")
        return resolve({**saved, **overrides})

    @contextlib.contextmanager
    def lock(self):
        """Hold the folder for this process, creating it if needed; refuse (within a second) if another
        process holds it.

        The lock is zoo.files.try_lock's on RUN/.lock (released when the process ends, however it ends); the
        file names its holder. A folder created here that is left holding nothing is removed on failure.
        """
        created = not os.path.isdir(self.path)
        os.makedirs(self.path, exist_ok=True)
        with open(self.lock_path, "a+") as handle:
            self._take(handle)
            handle.truncate(0)
            handle.write(f"pid {os.getpid()} on {socket.gethostname()}\n")
            handle.flush()
            self.held = True
            try:
                yield
            except BaseException:
                if created and not self._contents():  # refused before anything was written: leave no trace
                    shutil.rmtree(self.path, ignore_errors=True)
                raise
            finally:
                self.held = False

    def _take(self, handle):
        """Lock `handle` (the lock file), waiting out a process that only looks (holder()), no one else."""
        patience = time.monotonic() + LOCK_PATIENCE_SECONDS
        while not try_lock(handle):
            if time.monotonic() > patience:
                handle.seek(0)
                raise self._in_use(shorten(handle.read(300)) or "another process") from None
            time.sleep(0.05)
        try:
            current = os.stat(self.lock_path).st_ino
        except FileNotFoundError:
            current = None
        if current != os.fstat(handle.fileno()).st_ino:  # the holder removed the folder while this one waited
            raise RunFolderError(f"{self.path} was removed by the process that held it: try again")

    def _clear(self):
        """Remove what the run folder holds, except the lock this process holds."""
        for entry in os.scandir(self.path):
            if entry.name == LOCK_NAME:
                continue
            if entry.is_dir(follow_symlinks=False):
                shutil.rmtree(entry.path)
            else:
                os.unlink(entry.path)

    def start(self, config, data, overwrite):
        """Create (or, with `overwrite`, empty) the folder and record the config and the data's shape."""
        if overwrite and os.path.isdir(self.path):
            self._clear()
        for folder in (self.checkpoints, self.samples, self.logs):
            os.makedirs(folder, exist_ok=True)
        write_json(self.config_path, config)
        write_json(self.data_path, {"name": data.name, "shape": list(data.shape), "num_classes": data.num_classes,
                                    "num_examples": data.num_examples, "two_domains": data.two_domains,
                                    "value_range": list(data.value_range)})

    # --- checkpoints ---------------------------------------------------------------------------------

    def save_checkpoint(self, model, epoch, step=0):
        """Checkpoint after `epoch` complete epochs and `step` steps of the next one (interrupted runs)."""
        name = checkpoint_name(epoch, step)
        final = os.path.join(self.checkpoints, name)
        tmp = os.path.join(self.checkpoints, f".{name}.tmp")
        for stale in (tmp, final):  # left by a run killed before it named them in latest.json
            shutil.rmtree(stale, ignore_errors=True)
        try:
            tf.train.Checkpoint(model=model).write(os.path.join(tmp, "ckpt"))
            os.rename(tmp, final)
            write_json(self.latest_path, {"epoch": epoch, "step": step, "checkpoint": f"{name}/ckpt",
                                          "steps": model.steps_trained,
                                          "trained_with": fixed_options(self.saved_config())})
        except (OSError, tf.errors.OpError) as error:
            shutil.rmtree(tmp, ignore_errors=True)
            reason = getattr(error, "strerror", None) or str(error).strip().splitlines()[0][:200]
            previous = self._describe_latest()
            raise CheckpointError(f"cannot write checkpoint {final} ({reason}); {previous}: free disk space or "
                                  "make the folder writable, then --resume") from None
        kept = sorted(n for n in os.listdir(self.checkpoints) if n.startswith("epoch-"))[-KEEP_CHECKPOINTS:]
        for entry in os.listdir(self.checkpoints):
            if entry not in ("latest.json", BEST) and entry not in kept:
                shutil.rmtree(os.path.join(self.checkpoints, entry), ignore_errors=True)

    def _describe_latest(self):
        try:
            epoch, step, prefix = self.latest_checkpoint()
        except CheckpointError:
            return "no earlier checkpoint exists"
        return f"the last complete checkpoint ({os.path.dirname(prefix)}) is kept"

    def latest_checkpoint(self):
        """(epochs, steps into the next epoch, checkpoint path prefix) of the newest complete checkpoint."""
        epoch, step, _ = self._read_latest()
        return epoch, step, self._prefix(epoch, step)

    def _prefix(self, epoch, step):
        return os.path.join(self.checkpoints, checkpoint_name(epoch, step), "ckpt")

    def _read_latest(self):
        """latest.json's (epoch, step, options trained with), checked: it must name this folder's checkpoint
        of that epoch and step, with counts in range."""
        if not os.path.exists(self.latest_path):
            raise CheckpointError(f"{self.path} has no checkpoint (no epoch finished): "
                                  "start over with --overwrite")
        try:
            latest = read_config_file(self.latest_path)
        except ConfigError as error:
            raise CheckpointError(f"{error}; start over with --overwrite") from None
        epoch, step, checkpoint = latest.get("epoch"), latest.get("step", 0), latest.get("checkpoint")
        # a step is at most one per example (batch size 1); bool is not a count
        if (type(epoch) is not int or type(step) is not int or not 0 <= epoch <= BOUNDS["epochs"][1]
                or not 0 <= step < BOUNDS["train_examples"][1]):
            raise CheckpointError(f"{self.latest_path} holds epoch {shortened_repr(epoch)} and step "
                                  f"{shortened_repr(step)}, not counts of a run: start over with --overwrite")
        expected = f"{checkpoint_name(epoch, step)}/ckpt"
        if checkpoint != expected:
            raise CheckpointError(f"{self.latest_path} names checkpoint {shortened_repr(checkpoint)}, not this "
                                  f"folder's {expected} of epoch {epoch} step {step}: start over with --overwrite")
        return epoch, step, latest.get("trained_with", {})  # absent in runs written before it was recorded

    def restore_checkpoint(self, model):
        """Load the newest checkpoint into `model` (nets and optimizers); returns (epochs, steps into the next).

        Refused: a checkpoint whose step is not inside an epoch (of the data in data.json), and one trained
        with options other than those config.json says now (a hand-edited config).
        """
        epoch, step, trained_with = self._read_latest()
        prefix = self._prefix(epoch, step)
        config = self.saved_config()
        steps_per_epoch = self._steps_per_epoch(config, model)
        if step >= steps_per_epoch:
            raise CheckpointError(f"{self.latest_path} says step {step} of epoch {epoch + 1}, but an epoch of this "
                                  f"run has {steps_per_epoch} steps: start over with --overwrite")
        self._check_trained_with(config, trained_with, prefix)
        self._read_checkpoint(model, prefix, "start over with --overwrite")
        return epoch, step

    def _check_trained_with(self, config, trained_with, prefix):
        """Refuse a checkpoint trained with options other than those config.json says now (a hand-edit)."""
        if not isinstance(trained_with, dict):
            raise CheckpointError(f"the record of checkpoint {os.path.dirname(prefix)} is damaged (trained_with "
                                  "is not an object): start over with --overwrite")
        for key, value in trained_with.items():
            if config.get(key) != value:
                raise CheckpointError(
                    f"{self.config_path} says {key}={shortened_repr(config.get(key))}, but checkpoint "
                    f"{os.path.dirname(prefix)} was trained with {key}={shortened_repr(value)}: put that value "
                    "back into config.json, or start over with --overwrite")

    @staticmethod
    def _read_checkpoint(model, prefix, advice):
        try:
            tf.train.Checkpoint(model=model).read(prefix).assert_consumed()
        except (tf.errors.OpError, ValueError, AssertionError, IndexError) as error:  # IndexError: a cut file
            reason = str(error).strip().splitlines()[0][:300]
            raise CheckpointError(f"checkpoint {prefix} cannot be restored ({type(error).__name__}: "
                                  f"{reason}); {advice}") from None

    # --- the best checkpoint (--eval-every) -----------------------------------------------------------

    @property
    def best(self):
        return os.path.join(self.checkpoints, BEST)

    def save_best(self, model, epoch, quality):
        """Checkpoint `model` as checkpoints/best/ with best.json (epoch, steps, the measures); the folder is
        staged and swapped in whole, so a kill leaves the previous best complete."""
        staging = os.path.join(self.checkpoints, f".{BEST}.tmp")
        shutil.rmtree(staging, ignore_errors=True)
        try:
            tf.train.Checkpoint(model=model).write(os.path.join(staging, "ckpt"))
            write_json(os.path.join(staging, "best.json"), {"epoch": epoch, "steps": model.steps_trained, **quality,
                                                            "trained_with": fixed_options(self.saved_config())})
            move_into_place(staging, self.best)
        except (OSError, tf.errors.OpError) as error:
            shutil.rmtree(staging, ignore_errors=True)
            reason = getattr(error, "strerror", None) or str(error).strip().splitlines()[0][:200]
            raise CheckpointError(f"cannot write the best checkpoint {self.best} ({reason}): free disk space "
                                  "or make the folder writable, then --resume") from None

    def best_record(self):
        """best.json of the best checkpoint, or None when no quality was measured (or it is unreadable)."""
        try:
            record = read_config_file(os.path.join(self.best, "best.json"))
        except ConfigError:
            return None
        return record if isinstance(record.get("epoch"), int) and isinstance(record.get("score"), float) else None

    def restore_best(self, model):
        """Load checkpoints/best/ into `model`, checked as restore_checkpoint checks; returns its best.json."""
        record = self.best_record()
        if record is None:
            raise CheckpointError(f"{self.path} has no best checkpoint (train with --eval-every N)")
        prefix = os.path.join(self.best, "ckpt")
        self._check_trained_with(self.saved_config(), record.get("trained_with", {}), prefix)
        self._read_checkpoint(model, prefix, "use the latest checkpoint instead")
        return record

    def _steps_per_epoch(self, config, model):
        """Steps in an epoch of the data recorded in data.json, as Data.steps_per_epoch counts them."""
        try:
            examples = read_config_file(self.data_path).get("num_examples")
        except ConfigError as error:
            raise CheckpointError(f"{error}; start over with --overwrite") from None
        batch_size = config.get("batch_size")
        if type(examples) is not int or examples < 0 or type(batch_size) is not int or batch_size <= 0:
            raise CheckpointError(f"{self.data_path} or {self.config_path} is damaged (num_examples "
                                  f"{shortened_repr(examples)}, batch_size {shortened_repr(batch_size)}): start "
                                  "over with --overwrite")
        return examples // (batch_size * model.real_batches_per_step)

    def trim_history(self, epochs_kept):
        """Drop history rows of epochs after the checkpoint being resumed (they will be trained again).

        A row that is not a history row (hand-edited, or another file's) is refused, not dropped: the file is
        left as it is for its owner to fix."""
        if not os.path.exists(self.history):
            return
        try:
            with open(self.history, newline="", encoding="utf-8") as f:
                rows = list(csv.reader(f))
        except (UnicodeDecodeError, csv.Error) as error:
            raise RunFolderError(f"{self.history} is not a history file ({shorten(error, 120)}): fix or "
                                 "delete it, then --resume") from None
        kept = rows[:1]
        for number, row in enumerate(rows[1:], start=2):
            try:
                epoch = int(row[0]) if row else None
            except ValueError:
                raise RunFolderError(f"{self.history} line {number} is not a history row (its epoch is "
                                     f"{shortened_repr(row[0])}): fix or delete that line, then --resume") from None
            if epoch is not None and epoch <= epochs_kept:
                kept.append(row)
        with atomic_writer(self.history, "w", newline="") as f:
            csv.writer(f).writerows(kept)


def build_model(config, spec):
    """The compiled model of `config` for data described by `spec` (inside the caller's strategy scope)."""
    try:
        return VARIANTS[config["model"]].build(config, spec)
    except UnsuitableDataError as error:
        raise ConfigError(f"{config['model']} cannot train on {config['dataset']}: {error}") from None


def load_trained_model(run_path, checkpoint="best", averaged=True):
    """Rebuild a run's model from its config and restore a checkpoint; returns (model, info).

    checkpoint "best": the best one measured during training (--eval-every) when there is one, else the
    newest; "latest": the newest. Under --ema the generators then hold their averaged weights (what export
    writes and evaluation measures), unless `averaged` is False: then they keep the live ones, and
    `model.averaged_generators()` swaps the averages in.
    """
    run = RunFolder(run_path)
    if not os.path.isfile(run.config_path) or not os.path.isfile(run.data_path):
        raise ConfigError(f"{run_path} is not a run folder (no config.json or data.json): "
                          "pass a folder written by `python -m training`")
    config = resolve(run.saved_config())
    data = read_config_file(run.data_path)
    spec = run.data_spec(data)
    keras.config.set_dtype_policy("float32")  # the generator is exported in float32, however it was trained
    model = build_model(config, spec)
    best = run.best_record() if checkpoint == "best" else None
    if best is not None:
        run.restore_best(model)
        epoch, which = best["epoch"], f"best of the measured epochs (epoch {best['epoch']}, score {best['score']:.4g})"
    else:
        epoch, _ = run.restore_checkpoint(model)
        which = f"latest (epoch {epoch})"
    if averaged:
        model.use_generator_average()
    return model, {"config": config, "data": data, "epochs": epoch, "checkpoint": which}
