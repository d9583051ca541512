"""Resolved training configs: defaults from the registry, then a config file, then command-line flags.

Every option has one default and its allowed values (zoo.models.VARIANTS for a variant's own options,
COMMON_OPTIONS here for the rest). Unknown keys, options of another variant, wrong types and
out-of-range values are errors, never silently ignored.
"""

import json
import math

from zoo.models import VARIANTS, Option, learning_rate_schedule
from zoo.errors import ZooError, shorten, shortened_repr
from zoo.metrics import TOY_GATE

QUICK_SAMPLES = 5_000  # generated images per evaluation during training: seconds, not a minute
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
    "ema": Option(0.0, "decay of an exponential moving average of the generator's weights (e.g. 0.999; with a "
                  "warm-up), which samples, evaluation and export then use; 0: off", non_negative=True),
    "eval_every": Option(0, "measure sample quality every N epochs (domain FID, precision, recall on "
                         f"{QUICK_SAMPLES} samples; for toys and CycleGAN their own measures), log it, and keep "
                         "the best checkpoint in checkpoints/best/; 0: never", non_negative=True),
    "probe_draws": Option(1, "toys (ring8, grid25): judge each measured epoch on N independent draws of "
                          "2,500 samples: every draw must pass the gate, and their mean is the score, so that "
                          "one lucky draw cannot pick the best checkpoint", positive=True),
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
#: learning rate is how a diverged run goes on (unless it follows a schedule, fixed at the start)
RESUMABLE_CHANGES = ("epochs", "strategy", "replicas", "mixed_precision", "jit", "steps_per_execution",
                     "deterministic", "learning_rate", "eval_every")
#: of those, the ones that still decide which weights a run ends with (epochs, learning rate, and with
#: --eval-every which checkpoint is kept as the best); the others decide how fast and where it runs
SHAPE_THE_WEIGHTS = ("epochs", "learning_rate", "eval_every")


#: inclusive bounds beyond an option's `positive` or `non_negative`: sizes whose typo would exhaust memory
#: after minutes of set-up are refused at once; a seed also seeds numpy's global generator, which takes 32 bits
BOUNDS = {
    "seed": (0, 2**32 - 1),
    "epochs": (1, 100_000),
    "batch_size": (1, 65_536),
    "width": (1, 1024),
    "latent_dim": (1, 4096),
    "image_size": (1, 64),
    "train_examples": (1, 2**31 - 1),
    "replicas": (1, 256),
    "steps_per_execution": (1, 10_000),
    "probe_draws": (1, 100),
    "d_steps": (1, 1000),
    "n_critic": (1, 1000),
    "pool_size": (0, 100_000),
    "residual_blocks": (1, 64),
    "generator_downsamplings": (1, 5),
}
#: Adam's moment decays: 1 would never forget the first gradients, more than 1 makes the moments diverge
BELOW_ONE = ("beta_1", "beta_2")
#: the longest text value: a path (folder:PATH) is at most 4096 bytes on Linux
MAX_TEXT = 4096
#: a config file is a small JSON object of options; anything bigger is not one
MAX_CONFIG_FILE_BYTES = 64 * 1024


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
        raise ConfigError(f"{key} must be {expected.__name__}, got {shortened_repr(value)}")
    if isinstance(value, float) and not math.isfinite(value):
        raise ConfigError(f"{key} must be a finite number, got {value}")
    if isinstance(value, str) and len(value) > MAX_TEXT:
        raise ConfigError(f"{key} is {len(value)} characters long, more than {MAX_TEXT}: {shortened_repr(value)}")
    if option.choices and value not in option.choices:
        raise ConfigError(f"unknown {key} {shortened_repr(value)}: choose from {', '.join(option.choices)}")
    if option.positive and value <= 0:
        raise ConfigError(f"{key} must be positive, got {value}")
    if option.non_negative and value < 0:
        raise ConfigError(f"{key} must be zero or more, got {value}")
    if key in BOUNDS and not BOUNDS[key][0] <= value <= BOUNDS[key][1]:
        low, high = BOUNDS[key]
        raise ConfigError(f"{key} must be from {low} to {high}, got {shorten(value, 40)}")
    if key in BELOW_ONE and not 0 <= value < 1:
        raise ConfigError(f"{key} must be in [0, 1), got {value}")
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
            raise ConfigError(f"option {shortened_repr(key)} does not apply to model '{model}' ({where}); "
                              f"{model}'s options: {', '.join(options)}")
    config = {key: _check_value(key, overrides.get(key, option.default), option)
              for key, option in options.items()}
    if config["ema"] >= 1:
        raise ConfigError(f"ema is a decay in [0, 1) (e.g. 0.999), got {config['ema']}")
    if config["probe_draws"] != 1 and config["dataset"] not in TOY_GATE:  # the toys that have a gate
        raise ConfigError(f"probe_draws applies to the toys ring8 and grid25, not {shorten(config['dataset'], 40)}: "
                          "leave it at 1")
    if config.get("auxiliary_classifier") and config.get("pack", 1) > 1:
        raise ConfigError("--auxiliary-classifier predicts one sample's class, and --pack makes the discriminator "
                          "judge packs of several: use one of them")
    if VARIANTS[model].steps_chosen_in_python and config["steps_per_execution"] != 1:
        raise ConfigError(f"{model} picks each step (critic or generator) in Python: use steps_per_execution 1")
    return config


def fixed_options(config):
    """The options that define what a run trains: those a resumed run may not change."""
    schedule = learning_rate_schedule(config)
    return {key: value for key, value in config.items()
            if key not in RESUMABLE_CHANGES or (key == "learning_rate" and schedule)}


def training_differences(trained, other):
    """(key, trained's value, other's value) for each option by which the config `other` would train other
    weights than the config `trained` of a run; both are resolved first."""
    trained, other = resolve(trained), resolve(other)
    if trained["model"] != other["model"]:
        return [("model", trained["model"], other["model"])]
    keys = dict.fromkeys([*fixed_options(trained), *SHAPE_THE_WEIGHTS])  # cyclegan fixes its learning rate too
    return [(key, trained[key], other[key]) for key in keys if trained[key] != other[key]]


def read_config_file(path):
    """A JSON object, as written to a run folder's config.json (and its other JSON files) or kept as a recipe:
    UTF-8 text of at most 64 KiB."""
    try:
        with open(path, "rb") as f:
            raw = f.read(MAX_CONFIG_FILE_BYTES + 1)
    except OSError as error:
        raise ConfigError(f"cannot read {path}: {error.strerror}") from None
    if len(raw) > MAX_CONFIG_FILE_BYTES:
        raise ConfigError(f"{path} is larger than {MAX_CONFIG_FILE_BYTES // 1024} KiB: a config (or a run "
                          "folder's JSON file) is a small JSON object")
    try:
        values = json.loads(raw.decode("utf-8-sig"))
    except UnicodeDecodeError:
        raise ConfigError(f"{path} is not UTF-8 text: save it as UTF-8") from None
    except RecursionError:
        raise ConfigError(f"{path} is nested too deeply: a config is a flat JSON object of options") from None
    except ValueError as error:  # invalid JSON, or a number too long to convert
        raise ConfigError(f"{path} is not valid JSON: {shorten(error, 160)}") from None
    if not isinstance(values, dict):
        raise ConfigError(f"{path} must hold a JSON object")
    return values
