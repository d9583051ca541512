"""`python -m training`: train a GAN variant into a run folder.

With no arguments: the non-saturating GAN on Fashion-MNIST for two epochs, into runs/gan-fashion_mnist-TIME.
`python -m training --model NAME --help` lists NAME's options with NAME's defaults.
"""

import argparse
import os
import sys
import textwrap

from zoo.cli import OneLineErrorParser, needing_train_extra
from zoo.errors import ZooError, run_cli

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")  # keep TensorFlow's start-up chatter off the terminal


def _flag(key):
    return "--" + key.replace("_", "-")


def _add_option(group, key, option, shown=True):
    """A flag whose default is None (so that a config file's value is not overridden unless it is given)."""
    text = option.help if option.value_type is bool or option.default is None else \
        f"{option.help} (default: {option.default})"
    kwargs = {"dest": key, "default": None, "help": text if shown else argparse.SUPPRESS}
    if option.value_type is bool:
        group.add_argument(_flag(key), action="store_const", const=True, **kwargs)
    else:
        group.add_argument(_flag(key), type=option.value_type, choices=option.choices or None, **kwargs)


def _chosen_model(argv):
    """The variant named by --model, else by the --config file, else None: what --help describes."""
    from training.config import read_config_file

    early = argparse.ArgumentParser(add_help=False)
    early.add_argument("--model")
    early.add_argument("--config")
    known, _ = early.parse_known_args(argv)
    if known.model is None and known.config:
        try:
            return read_config_file(known.config).get("model")
        except ZooError:
            return None  # reported when the config is read for training
    return known.model


def _variant_summaries():
    from zoo.models import VARIANTS

    def default(option):
        return ("on" if option.default else "off") if option.value_type is bool else option.default

    lines = ["each variant's own options, with its defaults (--model NAME --help for their descriptions):"]
    for name, variant in VARIANTS.items():
        own = ", ".join(f"{_flag(key)} {default(option)}" for key, option in variant.options.items())
        lines += [f"  {name}: {variant.summary}.", textwrap.fill(own, 100, initial_indent="    ",
                                                                  subsequent_indent="    ")]
    return "\n".join(lines)


def parse_args(argv):
    """Flags of every variant are accepted (a flag of another variant is refused with its owners named when the
    config is resolved); --help shows the chosen variant's, with that variant's defaults."""
    from training.config import COMMON_OPTIONS, all_options, options_for
    from zoo.models import VARIANTS

    model = _chosen_model(argv)
    model = model if model in VARIANTS else None
    parser = OneLineErrorParser(prog="python -m training", description=__doc__,
                                epilog=None if model else _variant_summaries(),
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    shown = options_for(model) if model else COMMON_OPTIONS
    common = parser.add_argument_group(f"options of every variant (defaults for {model})" if model
                                       else "options of every variant")
    for key, option in shown.items():
        if key in COMMON_OPTIONS:
            _add_option(common, key, option)
    if model:
        own = parser.add_argument_group(f"{model}: {VARIANTS[model].summary}")
        for key, option in VARIANTS[model].options.items():
            if key not in COMMON_OPTIONS:
                _add_option(own, key, option)
    for key, option in all_options().items():
        if key not in shown:
            _add_option(parser, key, option, shown=False)
    parser.add_argument("--config", help="JSON file of options (a recipe); flags override it")
    parser.add_argument("--out", help="run folder (default: runs/MODEL-DATASET-TIME)")
    parser.add_argument("--resume", action="store_true", help="continue the run in --out from its last epoch")
    parser.add_argument("--overwrite", action="store_true", help="replace the run in --out")
    return parser.parse_args(argv)


class TrainingStopped(ZooError):
    """Training ended before its last epoch for a reason outside the run (divergence, disk, a lost worker);
    the last checkpoint is kept."""

    exit_code = 1


def run_training(argv):
    from tensorflow import errors as tf_errors

    from training.callbacks import NonFiniteLossError, TrainingInterrupted
    from training.config import ConfigError, all_options, read_config_file, resolve

    args = parse_args(argv)
    overrides = read_config_file(args.config) if args.config else {}
    overrides.update({k: v for k, v in vars(args).items() if k in all_options() and v is not None})
    if args.resume and not args.out:
        raise ConfigError("--resume needs --out naming the run folder to continue")
    from training.train import default_out, train

    out = args.out or default_out(resolve(overrides))
    try:
        train(overrides, out, resume=args.resume, overwrite=args.overwrite)
    except NonFiniteLossError as error:
        raise TrainingStopped(f"training stopped: {error}") from None
    except KeyboardInterrupt:  # before training began, or a second Ctrl-C: the last checkpoint is intact
        raise TrainingInterrupted("interrupted; checkpoints already written are intact (--resume continues "
                                  "from the last one)") from None
    except OSError as error:  # a sample grid, log or history write failed: full or read-only disk
        raise TrainingStopped(f"training stopped: cannot write {error.filename or 'a file'} "
                              f"({error.strerror or error}); the last checkpoint is kept: free space, then "
                              "--resume") from None
    except (tf_errors.UnavailableError, tf_errors.DeadlineExceededError) as error:
        # multi-worker: a peer died (connection reset) or stopped answering (collective timeout)
        reason = str(error).strip().splitlines()[0][:200]
        raise TrainingStopped(f"training stopped: another worker is gone ({type(error).__name__}: {reason}); "
                              "the last checkpoint is kept: restart every worker with --resume") from None
    print(f"run folder: {out}")
    return 0


def main(argv=None):
    return run_cli("python -m training", needing_train_extra(run_training), argv)


if __name__ == "__main__":
    sys.exit(main())
