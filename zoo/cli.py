"""What the command-line entry points share (no TensorFlow import)."""

import argparse

from zoo.errors import ZooError, shorten


class OneLineErrorParser(argparse.ArgumentParser):
    """argparse whose errors are one line, exit code 2: the problem, and where the options are listed."""

    def error(self, message):
        self.exit(2, f"{self.prog}: error: {shorten(message)} (see --help)\n")  # a 10 MB value is not echoed


#: the top-level modules of the `train` extra (pyproject.toml), which training, evaluation and export import
TRAIN_EXTRA_MODULES = ("tensorflow", "keras", "tensorflow_datasets", "tensorboard", "tf2onnx", "onnx", "scipy")


class TrainExtraMissing(ZooError):
    """A command of the training side run on the base install, which holds the deploy side only."""


def needing_train_extra(main):
    """`main(argv)`, with a module of the train extra found missing turned into a one-line error saying
    what to install (instead of a traceback from deep in an import)."""

    def guarded(argv):
        try:
            return main(argv)
        except ModuleNotFoundError as error:
            if (error.name or "").partition(".")[0] not in TRAIN_EXTRA_MODULES:
                raise
            raise TrainExtraMissing(f"this command needs the train extra, which is not installed (no module "
                                    f"{error.name}): pip install 'gan-zoo[train]' (in a clone: pip install "
                                    "-e '.[train]')") from None

    return guarded
