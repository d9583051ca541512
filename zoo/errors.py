"""One family of expected errors, and the guard that every command-line entry point runs under.

TensorFlow-free: the deploy side uses it too. An expected error (a ZooError) is a problem with the user's
input or machine: the CLI prints it as one line and exits with its `exit_code` (2 unless the class says
otherwise). Anything else is a bug of ours: the guard says so, keeps the traceback in a file, and says where
to report it.
"""

import sys
import tempfile
import traceback

MESSAGE_LIMIT = 300
ISSUES = "the project's issue tracker (gan-zoo)"


class ZooError(Exception):
    """An error the user can act on; the message names the problem and the fix."""

    exit_code = 2


def shorten(text, limit=MESSAGE_LIMIT):
    """`text` on one line, cut in the middle when longer than `limit` (a 10 MB value is not echoed back)."""
    text = " ".join(str(text).split())
    if len(text) <= limit:
        return text
    half = (limit - 5) // 2
    return f"{text[:half]} ... {text[-half:]}"


def shortened_repr(value, limit=80):
    return shorten(repr(value), limit)


def run_cli(prog, main, argv=None):
    """Run `main(argv)` and turn what it raises into one line on stderr and an exit code.

    ZooError: its message, exit code `exit_code`. KeyboardInterrupt: 130. Anything else: a bug; the
    traceback goes to a temporary file named in the message, exit code 1.
    """
    try:
        return main(argv)
    except ZooError as error:
        print(f"{prog}: error: {shorten(error, 2 * MESSAGE_LIMIT)}", file=sys.stderr)
        return error.exit_code
    except KeyboardInterrupt:
        print(f"{prog}: interrupted", file=sys.stderr)
        return 130
    except Exception as error:  # noqa: BLE001 - the guard's purpose: a bug becomes a report, not a traceback
        with tempfile.NamedTemporaryFile("w", prefix="gan-zoo-bug-", suffix=".txt", delete=False) as f:
            traceback.print_exc(file=f)
        print(f"{prog}: internal error (a bug, not your input): {type(error).__name__}: {shorten(error)}; "
              f"please report it on {ISSUES} with the command and the traceback in {f.name}", file=sys.stderr)
        return 1
