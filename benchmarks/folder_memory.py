"""Peak memory of building a `folder:` dataset of large photos: flat in the number and size of the files.

    python -m benchmarks.folder_memory [--counts 20,60] [--side 1500] [--keep 4]

Writes COUNT random SIDE x SIDE JPEGs into a temporary folder, then, each in a fresh process, measures the
peak resident memory of importing training.data alone and of `load("folder:...")` keeping the first KEEP
images (--train-examples) and keeping them all, at 64 pixels. Before the folder was read lazily, 60 photos of
1500 x 1500 cost +556 MB to keep four 64 x 64 images (issue 16).
"""

import argparse
import os
import tempfile

import numpy as np
from PIL import Image

from benchmarks.memory import peak_resident_mb

_IMPORT = "import os; os.environ['TF_CPP_MIN_LOG_LEVEL'] = '3'; from training import data"


def write_photos(folder, count, side, seed=0):
    rng = np.random.default_rng(seed)
    for i in range(count):
        pixels = rng.integers(0, 256, (side, side, 3), dtype=np.uint8)
        Image.fromarray(pixels).save(os.path.join(folder, f"{i:04d}.jpg"), quality=90)


def main(argv=None):
    parser = argparse.ArgumentParser(prog="python -m benchmarks.folder_memory", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--counts", default="20,60", help="numbers of photos to try, comma-separated")
    parser.add_argument("--side", type=int, default=1500, help="side of each photo in pixels")
    parser.add_argument("--keep", type=int, default=4, help="--train-examples of the limited load")
    args = parser.parse_args(argv)
    base = peak_resident_mb(_IMPORT)
    print(f"peak resident memory of importing training.data (TensorFlow included): {base:.0f} MB")
    for count in (int(c) for c in args.counts.split(",")):
        with tempfile.TemporaryDirectory() as folder:
            write_photos(folder, count, args.side)
            size_mb = sum(os.path.getsize(os.path.join(folder, f)) for f in os.listdir(folder)) / 2**20
            for keep in (args.keep, None):
                peak = peak_resident_mb(f"{_IMPORT}\nd = data.load({'folder:' + folder!r}, limit={keep}, "
                                        f"image_size=64)\nassert d.num_examples == {min(keep or count, count)}")
                print(f"{count} photos of {args.side}x{args.side} ({size_mb:.0f} MB of JPEG), keeping "
                      f"{keep or f'all {count}'} at 64x64: peak {peak:.0f} MB, +{peak - base:.0f} MB over the import")


if __name__ == "__main__":
    main()
