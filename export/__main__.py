"""`python -m export RUN_FOLDER`: write the run's generator(s) as SavedModel and ONNX, checked against Keras."""

import os
import sys

from zoo.cli import OneLineErrorParser

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")


def main(argv=None):
    parser = OneLineErrorParser(prog="python -m export", description=__doc__)
    parser.add_argument("run", help="run folder written by `python -m training`")
    parser.add_argument("--out", help="where to write (default: RUN_FOLDER/export)")
    parser.add_argument("--opset", type=int, default=18, help="ONNX opset, 17 or 18 (default: 18)")
    args = parser.parse_args(argv)

    from export.writer import ExportError, export_run
    from training.config import ConfigError
    from training.run import CheckpointError

    try:
        manifest = export_run(args.run, args.out, args.opset)
    except (ConfigError, CheckpointError) as error:
        print(f"python -m export: error: {error}", file=sys.stderr)
        return 2
    except ExportError as error:
        print(f"python -m export: EXPORT FAILED: {error}", file=sys.stderr)
        return 1
    out = args.out or os.path.join(args.run, "export")
    for name, entry in manifest["generators"].items():
        diffs = ", ".join(f"{k} {v:.2g}" for k, v in entry["max_abs_difference"].items())
        print(f"{name}: {os.path.join(out, entry['onnx'])} and {os.path.join(out, entry['savedmodel'])} "
              f"(largest difference from Keras: {diffs})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
