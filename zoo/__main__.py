"""`python -m zoo`: pretrained generators from a hub (numpy, onnxruntime and pillow only).

    python -m zoo list
    python -m zoo info gan-fashion-mnist
    python -m zoo download gan-fashion-mnist [--savedmodel]
    python -m zoo sample gan-fashion-mnist -n 64 -o grid.png [--seed 0]
    python -m zoo sample cgan-fashion-mnist -n 64 -o shoes.png --label 7
    python -m zoo translate cyclegan-sandal-sneaker-a2b sandal.png -o sneaker.png

The hub is --hub URL (https://, http:// or file://), else $GAN_ZOO_HUB, else the repository's own zoo/hub;
files are cached in --cache, else $GAN_ZOO_CACHE, else ~/.cache/gan-zoo.
"""

import argparse
import json
import os
import sys

from zoo.cli import OneLineErrorParser


def _positive(text):
    value = int(text)
    if value <= 0:
        raise argparse.ArgumentTypeError(f"must be a positive integer, got {value}")
    return value


def parse_args(argv):
    parser = OneLineErrorParser(prog="python -m zoo", description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--hub", help="hub URL (default: $GAN_ZOO_HUB or the repository's zoo/hub)")
    parser.add_argument("--cache", help="cache folder (default: $GAN_ZOO_CACHE or ~/.cache/gan-zoo)")
    commands = parser.add_subparsers(dest="command", required=True, parser_class=OneLineErrorParser)
    commands.add_parser("list", help="the hub's models")
    commands.add_parser("info", help="everything the hub says of a model").add_argument("name")
    download = commands.add_parser("download", help="cache a model's files and print where they are")
    download.add_argument("name")
    download.add_argument("--savedmodel", action="store_true", help="also unpack the SavedModel archive")
    sample = commands.add_parser("sample", help="a grid of generated images as PNG")
    sample.add_argument("name")
    sample.add_argument("-n", type=_positive, default=64, help="number of images (default: 64)")
    sample.add_argument("-o", "--output", required=True, help="PNG file to write")
    sample.add_argument("--seed", type=int, default=0)
    sample.add_argument("--label", type=int, help="class to generate (conditional generators)")
    translate = commands.add_parser("translate", help="translate an image with a CycleGAN generator")
    translate.add_argument("name")
    translate.add_argument("input", help="image file (resized to the model's size)")
    translate.add_argument("-o", "--output", required=True, help="PNG file to write")
    return parser.parse_args(argv)


def list_models(hub):
    rows = [("name", "variant", "dataset", "kind", "MB", "key metric", "cached")]
    for name in hub.names():
        entry = hub.entry(name)
        size = sum(f["size"] for f in entry["files"].values()) / 1e6
        rows.append((name, entry["variant"], entry["dataset"], entry["kind"], f"{size:.1f}",
                     entry.get("headline", ""), "yes" if hub.is_cached(name) else ""))
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    return "\n".join("  ".join(cell.ljust(width) for cell, width in zip(row, widths)).rstrip() for row in rows)


def sample(hub, args):
    from zoo.grid import image_grid, save_png

    generator = hub.load(args.name)
    if generator.kind == "translation":
        raise ValueError(f"{args.name} translates images: use `python -m zoo translate {args.name} IN.png -o OUT.png`")
    if not generator.is_image:
        raise ValueError(f"{args.name} generates {generator.output_shape[0]}-d points, not images")
    if args.label is not None and generator.kind != "conditional":
        raise ValueError(f"{args.name} is not conditional: drop --label")
    images = generator.sample(args.n, seed=args.seed, labels=args.label)
    save_png(image_grid(images), args.output)
    return f"wrote {args.output}: {args.n} images from {args.name} (seed {args.seed})"


def translate(hub, args):
    import numpy as np
    from PIL import Image, UnidentifiedImageError

    from zoo.grid import save_png

    generator = hub.load(args.name)
    if generator.kind != "translation":
        raise ValueError(f"{args.name} is a {generator.kind} generator: use `python -m zoo sample {args.name}`")
    height, width, channels = generator.output_shape
    try:
        with Image.open(args.input) as image:
            image = image.convert("L" if channels == 1 else "RGB").resize((width, height), Image.BILINEAR)
    except (OSError, UnidentifiedImageError) as error:
        raise ValueError(f"cannot read image {args.input}: {error}") from None
    pixels = np.asarray(image, np.uint8).reshape(height, width, channels)
    save_png(generator.translate(pixels), args.output)
    return f"wrote {args.output}: {args.input} translated by {args.name} ({generator.metadata['direction']})"


def run(args):
    from zoo.hub import Hub, extract_archive

    hub = Hub(args.hub, args.cache)
    if args.command == "list":
        return list_models(hub)
    if args.command == "info":
        return json.dumps({"name": args.name, "hub": hub.url, **hub.entry(args.name)}, indent=2)
    if args.command == "download":
        folder = hub.download(args.name)
        if args.savedmodel:
            archive = os.path.join(folder, hub.entry(args.name)["savedmodel"])
            return extract_archive(archive, archive.removesuffix(".tar.gz"))
        return folder
    return {"sample": sample, "translate": translate}[args.command](hub, args)


def main(argv=None):
    from export.runtime import GeneratorFileError
    from zoo.hub import HubError

    args = parse_args(argv)
    try:
        print(run(args))
    except (HubError, GeneratorFileError, ValueError, OSError) as error:
        print(f"python -m zoo: error: {error}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
