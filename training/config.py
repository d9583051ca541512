"""Resolved training configs: defaults from the registry, then a config file, then command-line flags.

Every option has one default and its allowed values (zoo.models.VARIANTS for a variant's own options,
COMMON_OPTIONS here for the rest). Unknown keys, options of another variant, wrong types and
out-of-range values are errors, never silently ignored.
"""

import json

from zoo.models import VARIANTS, Option
from zoo.errors import ZooError

STRATEGIES = ("auto", "default", "mirrored", "multiworker", "tpu")

COMMON_OPTIONS = {
    "model": Option("gan", "GAN variant", choices=tuple(VARIANTS)),
    "dataset": Option("fashion_mnist", "fashion_mnist, ring8, grid25, mog1d, folder:PATH, or a TFDS image "
                      "dataset (tfds:NAME) when TFDS can provide it; cyclegan: two domains (default "
                      "fashion_mnist:5-7)"),
    "epochs": Option(2, "number of epochs (total, counting those already trained when resuming)",
                     positive=True),
    "batch_size": Option(64, "global batch size, split across replicas (cyclegan: 16)", positive=True),
    "seed": Option(0, "seed of weights, data order, noise and the sample grid"),
    "width": Option(32, "base number of filters (DCGAN, CycleGAN nets) or units (MLP nets)", positive=True),
    "image_size": Option(None, "resize images to this size (28, 32 or 64); default: the data's own",
                         positive=True, type=int),
    "train_examples": Option(None, "use only the first N training examples; default: all",
                             positive=True, type=int),
    # how to train, not what: these may change when a run is resumed elsewhere
    "strategy": Option("auto", "auto (mirrored when more than one GPU is visible, else default), default, "
                       "mirrored, multiworker (TF_CONFIG) or tpu", choices=STRATEGIES),
    "replicas": Option(None, "mirrored: use this many GPUs, or without GPUs this many logical CPU devices",
                       positive=True, type=int),
    "mixed_precision": Option(False, "float16 compute with loss scaling (for GPUs); weights stay float32"),
    "jit": Option(False, "compile the train step with XLA"),
    "steps_per_execution": Option(1, "train steps per call of the compiled train function (fewer Python "
                                  "round trips; not for wgan and wgan_gp, which pick each step in Python)",
                                  positive=True),
    "deterministic": Option(False, "deterministic TensorFlow ops: with --seed, identical weights run after run "
                            "(may be slower)"),
}

#: may differ from the saved config when resuming: training longer is what resuming is for, and a lower
#: learning rate is how a diverged run goes on (cyclegan's follows a schedule fixed at the start)
RESUMABLE_CHANGES = ("epochs", "strategy", "replicas", "mixed_precision", "jit", "steps_per_execution",
                     "deterministic", "learning_rate")


class ConfigError(ZooError, ValueError):
    """A config that cannot be trained; the message names the key and what is allowed."""


def options_for(model):
    """The common options, overridden or extended by the variant's own (its defaults win)."""
    return {**COMMON_OPTIONS, **VARIANTS[model].options}


def all_options():
    """Every option of every variant, for the command line (defaults there are the common ones)."""
    merged = {}
    for variant in VARIANTS.values():
        merged.update(variant.options)
    return {**merged, **COMMON_OPTIONS}


def _check_value(key, value, option):
    expected = option.value_type
    if value is None and option.default is None:
        return None
    if expected is float and isinstance(value, int) and not isinstance(value, bool):
        value = float(value)
    if not isinstance(value, expected) or (isinstance(value, bool) and expected is not bool):
        raise ConfigError(f"{key} must be {expected.__name__}, got {value!r}")
    if option.choices and value not in option.choices:
        raise ConfigError(f"unknown {key} '{value}': choose from {', '.join(option.choices)}")
    if option.positive and value <= 0:
        raise ConfigError(f"{key} must be positive, got {value}")
    if option.non_negative and value < 0:
        raise ConfigError(f"{key} must be zero or more, got {value}")
    return value


def resolve(overrides):
    """Defaults of the chosen model updated with `overrides`, every value checked."""
    model = _check_value("model", overrides.get("model", COMMON_OPTIONS["model"].default),
                         COMMON_OPTIONS["model"])
    options = options_for(model)
    for key in overrides:
        if key not in options:
            owners = [name for name, v in VARIANTS.items() if key in v.options]
            where = f"it belongs to {', '.join(owners)}" if owners else "no variant has it"
            raise ConfigError(f"option '{key}' does not apply to model '{model}' ({where}); "
                              f"{model}'s options: {', '.join(options)}")
    config = {key: _check_value(key, overrides.get(key, option.default), option)
              for key, option in options.items()}
    if model in ("wgan", "wgan_gp") and config["steps_per_execution"] != 1:
        raise ConfigError(f"{model} picks each step (critic or generator) in Python: use steps_per_execution 1")
    return config


def read_config_file(path):
    """A JSON object of options, as written to a run folder's config.json or kept as a recipe."""
    try:
        with open(path) as f:
            values = json.load(f)
    except OSError as error:
        raise ConfigError(f"cannot read config file {path}: {error.strerror}") from None
    except json.JSONDecodeError as error:
        raise ConfigError(f"config file {path} is not valid JSON: {error}") from None
    if not isinstance(values, dict):
        raise ConfigError(f"config file {path} must hold a JSON object of options")
    return values
