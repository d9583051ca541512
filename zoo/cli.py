"""What the command-line entry points share (no TensorFlow import)."""

import argparse


class OneLineErrorParser(argparse.ArgumentParser):
    """argparse whose errors are one line, exit code 2: the problem, and where the options are listed."""

    def error(self, message):
        self.exit(2, f"{self.prog}: error: {message} (see --help)\n")
