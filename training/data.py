"""Datasets as tf.data pipelines of (x, y) batches, x scaled to the generator's output range.

- `fashion_mnist`: offline, from the Debian package `dataset-fashion-mnist` (IDX .gz files), else from
  Keras' cache (the same four files, left there by `keras.datasets.fashion_mnist.load_data()`). TFDS's own
  builder refuses those files (their gzip bytes differ from the registered ones, the content is the same),
  so they are parsed here; `tfds:fashion_mnist`, once prepared with `tfds build`, gives the same data.
- `ring8`, `grid25`, `mog1d`: the toy distributions of the PacGAN and f-GAN experiments.
- `tfds:NAME` (or a bare TFDS name such as `mnist`): any TFDS image dataset, prepared in TFDS's data dir
  or downloaded by TFDS when its servers can be reached (offline, it is refused at once).
- `folder:PATH`: the images in a folder (subfolders too), unlabelled.
- two domains for CycleGAN, each shuffled on its own: `fashion_mnist:A-B` (two class numbers; sandal 5 <->
  sneaker 7 by default), `tfds:cycle_gan/NAME`, `folders:PATH_A,PATH_B`.
"""

import gzip
import logging
import os
import socket
import struct
import warnings
from dataclasses import dataclass

import numpy as np
import tensorflow as tf
from PIL import Image, UnidentifiedImageError

from zoo.models.base import DataSpec
from zoo.toys import toy_arrays
from zoo.errors import ZooError

FASHION_MNIST_DIR = "/usr/share/datasets/fashion-mnist"
FASHION_MNIST_ENV = "GAN_ZOO_FASHION_MNIST_DIR"
TOY_EXAMPLES = 50_000
SUPPORTED_IMAGE_SIZES = (28, 32, 64)
TFDS_DOWNLOAD_HOST = "storage.googleapis.com"  # TFDS's own mirror, tried before a dataset's source


class DatasetError(ZooError, ValueError):
    """A dataset that is unknown, missing or unreadable; the message says how to get it."""


@dataclass
class Data:
    """Examples held in memory, or streamed from TFDS, with what the nets need to know of them."""

    name: str
    shape: tuple  # one example: (H, W, C) for images, (D,) for vectors
    num_classes: int
    examples: object  # unbatched tf.data.Dataset of (x, y), or for two domains a pair of datasets of images
    num_examples: int  # for two domains: the smaller domain's size
    value_range: tuple = (-1.0, 1.0)

    @property
    def is_image(self):
        return len(self.shape) == 3

    @property
    def two_domains(self):
        return isinstance(self.examples, tuple)

    @property
    def spec(self):
        return DataSpec(tuple(self.shape), self.num_classes, self.num_examples, self.two_domains)

    def _to_model_range(self, x):
        """uint8 images -> float32 in [-1, 1], resized to the data's size if needed; vectors pass through."""
        if not self.is_image:
            return x
        x = tf.cast(x, tf.float32) / 127.5 - 1.0
        if x.shape[-2] != self.shape[1]:
            x = tf.image.resize(x, self.shape[:2], antialias=True)
        return x

    def first_examples(self, n):
        """The first n examples, unshuffled, in the model's range: x, or (a, b) for two domains."""
        if self.two_domains:
            return tuple(np.asarray(self._to_model_range(next(iter(d.batch(n))))) for d in self.examples)
        return np.asarray(self._to_model_range(next(iter(self.examples.batch(n)))[0]))

    def batches(self, batch_size, seed, first_epoch=0, per_step=1, skip_steps=0):
        """Endless shuffled batches, (x, y) or (a, b); an epoch is `steps_per_epoch` of them.

        Every epoch is a permutation of the examples of its own, drawn from (seed, epoch) alone, of which
        the first `steps_per_epoch` batches are used. A step's examples are computed from its number, so a
        run resumed at `first_epoch` (and `skip_steps` steps into it) starts there at once, replaying
        nothing, and sees the batches a run never stopped would have seen.
        With `per_step` k > 1, a batch holds k batches for one step, shaped (batch_size, k, ...): split
        across replicas along the first axis, each replica gets its share of every one of the k.
        """
        examples_per_step = batch_size * per_step
        if examples_per_step > self.num_examples:  # not even one step an epoch
            batches = f"a batch of {batch_size}" + (f", {per_step} times a step," if per_step > 1 else "")
            raise DatasetError(f"{batches} is larger than the {self.num_examples} examples of {self.name}; lower "
                               "--batch-size or raise --train-examples")
        steps_per_epoch = self.steps_per_epoch(examples_per_step)
        # every domain as tensors of all its examples (each dataset here knows its size), so that any
        # example can be picked by its index
        domains = [d.batch(d.cardinality()).get_single_element()
                   for d in (self.examples if self.two_domains else (self.examples,))]

        def step_examples(step):
            epoch, offsets = step // steps_per_epoch, (step % steps_per_epoch) * examples_per_step
            positions = offsets + tf.range(examples_per_step, dtype=tf.int64)
            picked = []
            for number, examples in enumerate(domains):
                size = tf.shape(tf.nest.flatten(examples)[0], out_type=tf.int64)[0]
                key = tf.stack([tf.constant(seed, tf.int64), epoch * len(domains) + number])
                indices = tf.random.experimental.index_shuffle(positions, key, size - 1)
                picked.append(tf.nest.map_structure(lambda t: tf.gather(t, indices), examples))
            return tuple(picked) if self.two_domains else picked[0]

        def convert(*batch):
            if self.two_domains:
                batch = tuple(self._to_model_range(images) for images in batch)
            else:
                batch = (self._to_model_range(batch[0]), batch[1])
            if per_step > 1:  # (batch_size * k, ...) -> (batch_size, k, ...): example i * k + j at [i, j]
                batch = tuple(tf.reshape(t, (batch_size, per_step, *t.shape[1:])) for t in batch)
            return batch

        # No autotuning: its model thread can keep the iterator's destructor waiting up to a minute (TF 2.21)
        # at the end of every fit and after Ctrl-C, and these gathers from memory have nothing to tune
        options = tf.data.Options()
        options.autotune.enabled = False
        first = first_epoch * steps_per_epoch + skip_steps
        return (tf.data.Dataset.counter(first).map(step_examples, num_parallel_calls=tf.data.AUTOTUNE)
                .map(convert, num_parallel_calls=tf.data.AUTOTUNE)
                .prefetch(tf.data.AUTOTUNE).with_options(options))

    def steps_per_epoch(self, batch_size):
        return self.num_examples // batch_size


REINSTALL_DEBIAN = "apt-get install --reinstall dataset-fashion-mnist"
KERAS_LOAD = 'python -c "import keras; keras.datasets.fashion_mnist.load_data()"'


def keras_fashion_mnist_dir():
    """Where keras.datasets.fashion_mnist.load_data() keeps its download: $KERAS_HOME, else ~/.keras."""
    home = os.environ.get("KERAS_HOME") or os.path.join(os.path.expanduser("~"), ".keras")
    return os.path.join(home, "datasets", "fashion-mnist")


def read_idx(path, fix=REINSTALL_DEBIAN):
    """A gzipped IDX file (the MNIST format) as a uint8 array, checked against its own header; `fix` is
    what the error says to do about a damaged file."""
    try:
        with gzip.open(path, "rb") as f:
            raw = f.read()
    except (OSError, EOFError) as error:
        raise DatasetError(f"{path} is not a readable gzip file ({error}); {fix}") from None
    zero, dtype_code, ndim = struct.unpack(">HBB", raw[:4])
    dims = struct.unpack(f">{ndim}I", raw[4:4 + 4 * ndim])
    expected = 4 + 4 * ndim + int(np.prod(dims))
    if zero != 0 or dtype_code != 0x08 or len(raw) != expected:
        raise DatasetError(f"{path} is not a uint8 IDX file of shape {dims}; {fix}")
    return np.frombuffer(raw, np.uint8, offset=4 + 4 * ndim).reshape(dims)


def fashion_mnist_arrays(split="train"):
    """(images (N, 28, 28, 1) uint8, labels (N,) int32) for split 'train' (60k) or 'test' (10k), from
    $GAN_ZOO_FASHION_MNIST_DIR (default: the Debian package's folder), else from Keras' cache. Nothing is
    downloaded here."""
    prefix = {"train": "train", "test": "t10k"}[split]
    names = [f"{prefix}-{kind}-ubyte.gz" for kind in ("images-idx3", "labels-idx1")]
    debian, keras_cache = os.environ.get(FASHION_MNIST_ENV, FASHION_MNIST_DIR), keras_fashion_mnist_dir()
    for folder, fix in ((debian, f"reinstall it: {REINSTALL_DEBIAN}"),
                        (keras_cache, f"delete it and run {KERAS_LOAD} again")):
        paths = [os.path.join(folder, name) for name in names]
        if all(os.path.isfile(p) for p in paths):
            break
    else:
        raise DatasetError(f"Fashion-MNIST not found (no {names[0]} in {debian} nor in {keras_cache}): install "
                           f"the Debian package with `sudo apt-get install dataset-fashion-mnist` (or set "
                           f"{FASHION_MNIST_ENV} to a folder holding the four IDX .gz files), or run `{KERAS_LOAD}` "
                           f"on a machine with internet and copy the four files into {keras_cache}")
    images, labels = (read_idx(p, fix) for p in paths)
    if len(images) != len(labels):
        raise DatasetError(f"{paths[0]} holds {len(images)} images but {paths[1]} {len(labels)} labels")
    return images[..., None], labels.astype(np.int32)


# --- toy distributions (zoo.toys draws them): the mode, or mixture component, is the label ---------------

TOY_CLASSES = {"ring8": 8, "grid25": 25, "mog1d": 2}  # the mode (or mixture component) is the label
TOYS = tuple(TOY_CLASSES)
BUILTIN = ("fashion_mnist",) + TOYS


def _in_memory(name, x, y, num_classes):
    return Data(name, x.shape[1:], num_classes, tf.data.Dataset.from_tensor_slices((x, y)), len(x))


def _two_domains(name, a, b):
    """Data of two unpaired image domains, given as uint8 arrays (or Data whose examples are images)."""
    if isinstance(a, Data):
        if a.shape != b.shape:
            raise DatasetError(f"the two domains of {name} differ in image shape: {a.shape} vs {b.shape}")
        return Data(name, a.shape, 0, tuple(d.examples.map(lambda x, y: x) for d in (a, b)),
                    min(a.num_examples, b.num_examples))
    if a.shape[1:] != b.shape[1:]:
        raise DatasetError(f"the two domains of {name} differ in image shape: {a.shape[1:]} vs {b.shape[1:]}")
    return Data(name, a.shape[1:], 0, tuple(tf.data.Dataset.from_tensor_slices(d) for d in (a, b)),
                min(len(a), len(b)))


def load(name, split="train", limit=None, image_size=None, seed=0):
    """The dataset `name` as `Data`; `limit` keeps the first examples only (per domain for two domains)."""
    if name in TOYS:
        x, y = toy_arrays(name, limit or TOY_EXAMPLES, seed + (split != "train"))
        return _in_memory(name, x, y, TOY_CLASSES[name])
    if name == "fashion_mnist":
        images, labels = fashion_mnist_arrays(split)
        data = _in_memory(name, images[:limit], labels[:limit], 10)
    elif name.startswith("fashion_mnist:"):
        images, labels = fashion_mnist_arrays(split)
        class_a, class_b = fashion_mnist_class_pair(name)
        data = _two_domains(name, images[labels == class_a][:limit], images[labels == class_b][:limit])
    elif name.startswith("tfds:cycle_gan/"):
        domains = [load_tfds(name.removeprefix("tfds:"), f"{split}{side}", limit) for side in "AB"]
        data = _two_domains(name, *domains)
    elif name.startswith("folders:"):
        paths = name.removeprefix("folders:").split(",")
        if len(paths) != 2:
            raise DatasetError(f"{name}: give two folders, folders:PATH_A,PATH_B")
        a, b = (folder_images(p, image_size, limit) for p in paths)
        if a.shape[-1] != b.shape[-1]:  # one domain grayscale, the other in colour: colour both
            a, b = (np.repeat(d, 3, axis=-1) if d.shape[-1] == 1 else d for d in (a, b))
        data = _two_domains(name, a, b)
    elif name.startswith("folder:"):
        images = folder_images(name.removeprefix("folder:"), image_size, limit)
        data = _in_memory(name, images, np.zeros(len(images), np.int32), 0)
    else:
        data = load_tfds(name.removeprefix("tfds:"), split, limit)
    size = image_size or data.shape[0]
    if size not in SUPPORTED_IMAGE_SIZES:
        raise DatasetError(f"{name} has {data.shape[0]}-pixel images; pick --image-size from "
                           f"{SUPPORTED_IMAGE_SIZES} to resize them")
    data.shape = (size, size, data.shape[2])
    return data


def fashion_mnist_class_pair(name):
    try:
        class_a, class_b = (int(c) for c in name.removeprefix("fashion_mnist:").split("-"))
    except ValueError:
        raise DatasetError(f"{name}: write two Fashion-MNIST class numbers, e.g. fashion_mnist:5-7 "
                           "(sandal <-> sneaker)") from None
    if not (0 <= class_a < 10 and 0 <= class_b < 10 and class_a != class_b):
        raise DatasetError(f"{name}: the classes must be two different numbers from 0 to 9")
    return class_a, class_b


IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".bmp", ".gif", ".webp")


def folder_images(folder, image_size=None, limit=None):
    """uint8 images (N, S, S, C) from the image files under `folder`, in name order, the first `limit`
    readable ones (default: all): centre-cropped square, resized to `image_size` (default: 64), grayscale
    when every one is. Unreadable files are skipped with a warning.

    Each file is shrunk as it is read, and the files past `limit` are never opened, so memory holds the
    small images and one file being read, however many and however large the files are.
    """
    if not os.path.isdir(folder):
        raise DatasetError(f"image folder {folder} does not exist")
    paths = sorted(os.path.join(root, f) for root, _, files in os.walk(folder) for f in files
                   if f.lower().endswith(IMAGE_SUFFIXES))
    size = image_size or 64
    images = []
    for path in paths:
        if limit is not None and len(images) >= limit:
            break
        try:
            images.append(_read_square(path, size))
        except (OSError, UnidentifiedImageError, ValueError) as error:
            warnings.warn(f"skipping unreadable image {path}: {error}")
    if not images:
        raise DatasetError(f"no readable images ({', '.join(IMAGE_SUFFIXES)}) under {folder}")
    if all(image.ndim == 2 for image in images):
        return np.stack(images)[..., None]
    # some in colour: the grayscale ones too, as their channel three times (what converting to RGB does)
    return np.stack([np.repeat(image[..., None], 3, axis=-1) if image.ndim == 2 else image for image in images])


def _read_square(path, size):
    """The image file at `path` centre-cropped square and resized to size x size: uint8 (S, S) for a
    grayscale image, (S, S, 3) for any other."""
    with Image.open(path) as image:  # reads the header only
        mode = "L" if image.mode in ("L", "1", "I;16") else "RGB"
        # a JPEG is decoded at 1/2, 1/4 or 1/8 of its size where that still leaves at least size pixels
        # a side: a fraction of the memory and time of the full image; other formats ignore it
        image.draft(None, (size, size))
        image = image.convert(mode)
    side = min(image.size)
    left, top = (image.width - side) // 2, (image.height - side) // 2
    image = image.crop((left, top, left + side, top + side))
    return np.asarray(image.resize((size, size), Image.Resampling.LANCZOS), np.uint8)


def _reachable(host, port=443, seconds=5):
    try:
        socket.create_connection((host, port), timeout=seconds).close()
        return True
    except OSError:
        return False


def load_tfds(name, split, limit):
    """A TFDS image dataset: square-cropped, labels kept when it has them (0 otherwise)."""
    import tensorflow_datasets as tfds  # slow to import: only when a TFDS dataset is asked for

    if name not in tfds.list_builders():
        raise DatasetError(f"unknown dataset '{name}': use one of {', '.join(BUILTIN)} or a TFDS "
                           "image dataset name (see `tfds.list_builders()`)")
    split = f"{split}[:{limit}]" if limit else split
    absl_log = logging.getLogger("absl")  # TFDS's; it warns of each folder it finds no dataset in
    quiet_from = absl_log.level
    absl_log.setLevel(logging.ERROR)
    try:
        try:
            examples, info = tfds.load(name, split=split, with_info=True, download=False)
        except AssertionError:  # TFDS's word for "no prepared data in the data dir"
            # offline, TFDS's download retries for minutes before it fails: look first, and refuse at once
            if not _reachable(TFDS_DOWNLOAD_HOST):
                data_dir = os.environ.get("TFDS_DATA_DIR") or os.path.join(os.path.expanduser("~"),
                                                                           "tensorflow_datasets")
                raise DatasetError(f"TFDS dataset '{name}' is not prepared in {data_dir}, and TFDS's servers cannot "
                                   f"be reached to download it: run `tfds build {name}` where there is internet, "
                                   f"then copy its data dir here (to {data_dir}, or set TFDS_DATA_DIR to it); or "
                                   "use one of " + ", ".join(BUILTIN)) from None
            examples, info = tfds.load(name, split=split, with_info=True)
    except DatasetError:
        raise
    except Exception as error:  # TFDS raises many kinds here: damaged files, a split it does not have
        raise DatasetError(f"TFDS could not provide '{name}' ({type(error).__name__}: "
                           f"{str(error).splitlines()[0][:200]}); use one of " + ", ".join(BUILTIN)) from None
    finally:
        absl_log.setLevel(quiet_from)
    features = info.features
    if "image" not in features:
        raise DatasetError(f"TFDS dataset '{name}' has no 'image' feature; pick an image dataset")
    height, width, channels = features["image"].shape
    if height is None or width is None:
        raise DatasetError(f"TFDS dataset '{name}' has images of varying size; it is not supported yet")
    side = min(height, width)
    label = features["label"] if "label" in features else None

    def to_pair(example):
        image = tf.image.crop_to_bounding_box(example["image"], (height - side) // 2,
                                              (width - side) // 2, side, side)
        return image, tf.cast(example["label"], tf.int32) if label is not None else 0

    num_examples = int(examples.cardinality())
    if num_examples < 0:  # unknown to tf.data: count once
        num_examples = int(examples.reduce(0, lambda count, _: count + 1))
    return Data(name, (side, side, channels), label.num_classes if label is not None else 0,
                examples.map(to_pair), num_examples)
