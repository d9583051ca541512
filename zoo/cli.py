"""What the command-line entry points share (no TensorFlow import)."""

import argparse

from zoo.errors import shorten


class OneLineErrorParser(argparse.ArgumentParser):
    """argparse whose errors are one line, exit code 2: the problem, and where the options are listed."""

    def error(self, message):
        self.exit(2, f"{self.prog}: error: {shorten(message)} (see --help)\n")  # a 10 MB value is not echoed
