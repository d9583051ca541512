"""`python -m training`: train a GAN variant into a run folder.

With no arguments: the non-saturating GAN on Fashion-MNIST for one epoch, into runs/gan-fashion_mnist-TIME.
"""

import argparse
import os
import sys

from zoo.cli import OneLineErrorParser
from zoo.errors import ZooError, run_cli

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")  # keep TensorFlow's start-up chatter off the terminal


def _flag(key):
    return "--" + key.replace("_", "-")


def parse_args(argv, options):
    parser = OneLineErrorParser(prog="python -m training", description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    for key, option in options.items():
        if option.value_type is bool:
            parser.add_argument(_flag(key), dest=key, action="store_const", const=True, default=None,
                                help=option.help)
            continue
        parser.add_argument(_flag(key), dest=key, type=option.value_type, default=None,
                            choices=option.choices or None,
                            help=f"{option.help} (default: {option.default})")
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

    args = parse_args(argv, all_options())
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
    return run_cli("python -m training", run_training, argv)


if __name__ == "__main__":
    sys.exit(main())
