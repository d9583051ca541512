"""`python -m zoo`: pretrained generators from a hub (numpy, onnxruntime and pillow only).

    python -m zoo list
    python -m zoo info gan-fashion-mnist
    python -m zoo download gan-fashion-mnist [--savedmodel]
    python -m zoo sample gan-fashion-mnist -n 64 -o grid.png [--seed 0]
    python -m zoo sample cgan-fashion-mnist -n 64 -o shoes.png --label 7     (or --label sneaker)
    python -m zoo sample gan-ring8 -o ring.png       (a toy's points over real ones; -o ring.csv: the points)
    python -m zoo translate cyclegan-sandal-sneaker-a2b sandal.png -o sneaker.png
    python -m zoo verify gan-fashion-mnist                 (or a local .onnx file beside its test data)

The hub is --hub URL (https://, http://, file://, or hf://ORG/REPO[@REVISION] for a Hugging Face model repo
with the [hf] extra), else $GAN_ZOO_HUB, else the repository's own zoo/hub;
files are cached in --cache, else $GAN_ZOO_CACHE, else ~/.cache/gan-zoo. `download --savedmodel` prints
the folder that tf.saved_model.load takes. `verify` runs the model's test_data_set_0 (inputs and the
expected output, as the ONNX Model Zoo has them) with this machine's onnxruntime.
"""

import argparse
import contextlib
import json
import os
import sys

import numpy as np

from zoo.cli import OneLineErrorParser
from zoo.errors import ZooError, run_cli, shorten, shortened_repr
from zoo.prior import classes_in_turn
from zoo.toys import TOY_SAMPLES, plot_reference

PROG = "python -m zoo"
SAMPLE_LIMIT = 100_000  # a grid of 100,000 28x28 images is already 9,500 pixels wide
IMAGE_COUNT = 64


class UsageError(ZooError):
    """A command that cannot work as given: the wrong command for the model, a flag out of range, an
    output file that cannot be written."""


def _integer(text):
    try:
        return int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected an integer, got {shortened_repr(text)}") from None


def _label(text):
    """An integer label, else a class name (the generator resolves it: only it knows its classes)."""
    try:
        return int(text)
    except ValueError:
        return text


def _sample_count(text):
    value = _integer(text)
    if not 0 < value <= SAMPLE_LIMIT:
        raise argparse.ArgumentTypeError(f"must be between 1 and {SAMPLE_LIMIT:,}, got {shorten(value, 40)}")
    return value


def _seed(text):
    value = _integer(text)
    if value < 0:
        raise argparse.ArgumentTypeError(f"must be 0 or more, got {shorten(value, 40)}")
    return value


def parse_args(argv):
    parser = OneLineErrorParser(prog=PROG, description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--hub", help="hub URL: https://, http://, file:// or hf://ORG/REPO[@REVISION] "
                                      "(default: $GAN_ZOO_HUB or the repository's zoo/hub)")
    parser.add_argument("--cache", help="cache folder (default: $GAN_ZOO_CACHE or ~/.cache/gan-zoo)")
    commands = parser.add_subparsers(dest="command", required=True, parser_class=OneLineErrorParser)
    commands.add_parser("list", help="the hub's models")
    commands.add_parser("info", help="everything the hub says of a model").add_argument("name")
    download = commands.add_parser("download", help="cache a model's files and print where they are")
    download.add_argument("name")
    download.add_argument("--savedmodel", action="store_true",
                          help="also unpack the SavedModel archive and print the folder tf.saved_model.load takes")
    sample = commands.add_parser("sample", help="a grid of generated images as PNG (a toy: its points)")
    sample.add_argument("name")
    sample.add_argument("-n", type=_sample_count, help=f"number of images (default: {IMAGE_COUNT}) or of a toy's "
                                                       f"points (default: {TOY_SAMPLES:,}), at most {SAMPLE_LIMIT:,}")
    sample.add_argument("-o", "--output", required=True,
                        help="PNG file to write; a toy's points: a plot (.png) or the numbers (.csv)")
    sample.add_argument("--seed", type=_seed, default=0)
    sample.add_argument("--label", type=_label, help="class to generate, a number or a name such as 'bag' "
                                                     "(conditional generators)")
    translate = commands.add_parser("translate", help="translate an image with a CycleGAN generator")
    translate.add_argument("name")
    translate.add_argument("input", help="image file (any pillow mode; resized to the model's size)")
    translate.add_argument("-o", "--output", required=True, help="PNG file to write")
    verify = commands.add_parser("verify", help="run a model's test data with this onnxruntime and compare")
    verify.add_argument("name", help="a hub model, or a local .onnx file beside its test_data_set_N folders")
    return parser.parse_args(argv)


def list_models(hub):
    rows = [("name", "variant", "dataset", "kind", "MB", "key metric", "cached")]
    for name in hub.names():
        entry = hub.entry(name)
        size = sum(f["size"] for f in entry["files"].values()) / 1e6
        rows.append((name, *(shorten(entry[field], 40) for field in ("variant", "dataset", "kind")),
                     f"{size:.1f}", shorten(entry.get("headline", ""), 60), "yes" if hub.is_cached(name) else ""))
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    return "\n".join("  ".join(cell.ljust(width) for cell, width in zip(row, widths)).rstrip() for row in rows)


def sample(hub, args):
    from zoo.grid import image_grid

    generator = hub.load(args.name)
    if generator.kind == "translation":
        raise UsageError(f"{args.name} translates images: use `{PROG} translate {args.name} IN.png -o OUT.png`")
    output_format = _output_format(generator, args)
    if args.label is not None and generator.kind != "conditional":
        raise UsageError(f"{args.name} is not conditional: drop --label")
    if isinstance(args.label, str):
        args.label = generator.class_index(args.label)
    if args.label is not None and not 0 <= args.label < generator.num_classes:
        raise UsageError(f"--label must be in [0, {generator.num_classes}): {args.name} has "
                         f"{generator.num_classes} classes, got {shorten(args.label, 40)}")
    if not generator.is_image:
        return _sample_points(generator, args, output_format)
    count = args.n or IMAGE_COUNT
    _write_png(image_grid(generator.sample(count, seed=args.seed, labels=args.label)), args.output)
    return f"wrote {args.output}: {count:,} images from {args.name} (seed {args.seed})"


def _output_format(generator, args):
    """The output file's extension, if it suits the generator: images are written as PNG; points as a plot
    (.png, for 1-d and 2-d points) or as numbers (.csv)."""
    extension = os.path.splitext(args.output)[1].lower()
    if generator.is_image:
        made = "x".join(map(str, generator.output_shape)) + " images"
        formats, advice = (".png",), "write them to a .png file"
    else:
        made = f"{generator.output_shape[0]}-d points"
        formats, advice = (((".png", ".csv"), "write them to a .png (a plot over real points) or a .csv")
                           if generator.output_shape[0] <= 2 else
                           ((".csv",), "write them to a .csv (a plot shows 1-d and 2-d points only)"))
    if extension not in formats:
        raise UsageError(f"{args.name} generates {made}: {advice}, not {shortened_repr(args.output, 200)}")
    return extension


def _sample_points(generator, args, output_format):
    """A toy generator's points as a plot over real ones (zoo.grid.points_plot) or as CSV, one point a row.
    Without --label a conditional generator's points take every class in turn, as the hub's samples.png."""
    from zoo.grid import points_plot

    count = args.n or TOY_SAMPLES
    labels = args.label
    if labels is None and generator.kind == "conditional":
        labels = classes_in_turn(count, generator.num_classes)
    points = generator.sample(count, seed=args.seed, labels=labels, output="float")
    what = f"{count:,} points from {args.name} (seed {args.seed})"
    if output_format == ".csv":
        _write_csv(points, args.output)
        return f"wrote {args.output}: {what}"
    reference = plot_reference(generator.metadata.get("dataset", ""), generator.output_shape[0])
    _write_png(points_plot(points, reference), args.output)
    return f"wrote {args.output}: {what}, white over {len(reference):,} real points in grey"


def translate(hub, args):
    from zoo.grid import read_picture

    generator = hub.load(args.name)
    if generator.kind != "translation":
        raise UsageError(f"{args.name} is a {generator.kind} generator: use `{PROG} sample {args.name}`")
    pixels = read_picture(args.input, *generator.output_shape)
    _write_png(generator.translate(pixels), args.output)
    direction = generator.metadata.get("direction", "translation")
    return f"wrote {args.output}: {args.input} translated by {args.name} ({direction})"


def verify(args):
    """One line per test set; VerificationError (exit code 2) when any differs beyond the tolerance."""
    from zoo.hub import Hub
    from zoo.runtime import OnnxGenerator
    from zoo.testdata import ATOL, RTOL, VerificationError, find_test_sets, run_test_set

    if args.name.endswith(".onnx"):  # a local file: no hub needed
        if not os.path.isfile(args.name):
            raise VerificationError(f"no ONNX file {shortened_repr(args.name, 200)}")
        generator, folders = OnnxGenerator(args.name), find_test_sets(args.name)
        if not folders:
            raise VerificationError(f"{args.name} has no test data beside it (a folder test_data_set_0, or "
                                    f"{os.path.basename(args.name).removesuffix('.onnx')}.test_data_set_0)")
    else:
        hub = Hub(args.hub, args.cache)
        folders = [hub.test_set_folder(args.name)]  # first: a model without test data is not downloaded
        generator = hub.load(args.name)
    failed = 0
    for folder in folders:
        difference, close = run_test_set(generator, folder)
        failed += not close
        print(f"{os.path.basename(folder)}: {'ok' if close else 'FAILED'}, largest difference {difference:.3g} "
              f"(allowed {ATOL:g} + {RTOL:g} x |expected|) on {generator.providers[0]}", flush=True)
    if failed:
        raise VerificationError(f"{failed} of {len(folders)} test sets of {args.name} differ from the expected "
                                "output: this onnxruntime does not compute what the exported model computes")
    return f"{args.name}: {len(folders)} test set{'s' * (len(folders) > 1)} passed"


@contextlib.contextmanager
def _writing(path):
    """An output file that cannot be written is the user's to fix: one line, no traceback."""
    try:
        yield
    except OSError as error:
        raise UsageError(f"cannot write {shortened_repr(path, 200)} ({error.strerror or error})") from None


def _write_png(picture, path):
    from zoo.grid import save_png

    with _writing(path):
        save_png(picture, path)


def _write_csv(points, path):
    """Points (n, D) as CSV with a header x0,x1,...; float32 values written so that they read back exactly."""
    from zoo.files import atomic_writer

    with _writing(path), atomic_writer(path, "w") as f:
        np.savetxt(f, points, fmt="%.9g", delimiter=",", comments="",
                   header=",".join(f"x{axis}" for axis in range(points.shape[1])))


def run(args):
    from zoo.hub import Hub

    if args.command == "verify":
        return verify(args)
    hub = Hub(args.hub, args.cache)
    if args.command == "list":
        return list_models(hub)
    if args.command == "info":
        return json.dumps({"name": args.name, "hub": hub.url, **hub.entry(args.name)}, indent=2)
    if args.command == "download":
        folder = hub.download(args.name)
        return hub.savedmodel_folder(args.name) if args.savedmodel else folder
    return {"sample": sample, "translate": translate}[args.command](hub, args)


def _main(argv):
    print(run(parse_args(argv)))
    return 0


def main(argv=None):
    """The command line: an expected error is one line on stderr and exit code 2 (zoo.errors.run_cli)."""
    return run_cli(PROG, _main, argv)


if __name__ == "__main__":
    sys.exit(main())
