"""Sample from an exported generator with numpy and onnxruntime only: no TensorFlow on deploy machines.

    from zoo.runtime import OnnxGenerator
    generator = OnnxGenerator("runs/NAME/export/generator.onnx")
    images = generator.sample(16, seed=0)                  # uint8 (16, 28, 28, 1)
    floats = generator.sample(16, seed=0, output="float")  # float32 in the model's value range
    shoes = OnnxGenerator("runs/CGAN/export/generator.onnx").sample(8, labels=7)  # conditional
    bags = OnnxGenerator("runs/CGAN/export/generator.onnx").sample(8, labels="bag")  # by class name
    sneakers = OnnxGenerator("runs/CYCLE/export/generator_ab.onnx").translate(sandals)  # CycleGAN

Everything the wrapper needs to know (kind, latent size, classes, image shape, value range) comes from the
ONNX file's metadata, written by `python -m export`.
"""

import json
import math
import os

import numpy as np
import onnxruntime as ort
from zoo.classifier import CLASS_NAMES
from zoo.errors import ZooError, shortened_repr
from zoo.prior import latents

PREFERRED_PROVIDERS = ("CUDAExecutionProvider", "CPUExecutionProvider")
REQUIRED_METADATA = ("kind", "variant", "value_range")
KINDS = ("noise", "conditional", "translation")
#: the inputs each kind of generator takes
INPUTS = {"noise": {"z"}, "conditional": {"z", "label"}, "translation": {"image"}}
DIMENSION_LIMIT = 1 << 16  # for latent sizes, image sides and classes: real ones are far smaller


class GeneratorFileError(ZooError, ValueError):
    """A path that is not a gan-zoo ONNX generator."""


class LabelError(ZooError, ValueError):
    """A class name that names no class of the generator, or a generator whose classes have no names."""


class ProviderError(ZooError, ValueError):
    """An execution provider that this onnxruntime build does not have."""


#: onnxruntime's CUDA provider is in another package, which installs the same module as onnxruntime: side by
#: side, whichever was installed last wins, so it replaces onnxruntime
CUDA_INSTALL = ("onnxruntime's CUDA provider is in the package onnxruntime-gpu, which replaces onnxruntime: "
                "pip uninstall -y onnxruntime && pip install 'onnxruntime-gpu[cuda,cudnn]>=1.21,<1.27' "
                "(README, 'GPU')")


def to_uint8(images, value_range=(-1.0, 1.0)):
    """Float images in `value_range` -> uint8 in [0, 255], rounded, out-of-range values clipped."""
    low, high = value_range
    scaled = (np.asarray(images, np.float32) - low) / (high - low) * 255.0
    return np.clip(np.rint(scaled), 0, 255).astype(np.uint8)


def default_providers():
    """CUDA first when this onnxruntime build has it, then CPU."""
    available = ort.get_available_providers()
    return [p for p in PREFERRED_PROVIDERS if p in available]


def slerp(z0, z1, steps):
    """`steps` latent vectors on the great circle from z0 to z1 (Gaussian latents live near a sphere)."""
    z0, z1 = np.asarray(z0, np.float64), np.asarray(z1, np.float64)
    cos = np.dot(z0, z1) / (np.linalg.norm(z0) * np.linalg.norm(z1))
    omega = np.arccos(np.clip(cos, -1.0, 1.0))
    t = np.linspace(0.0, 1.0, steps)[:, None]
    if omega < 1e-6:  # (anti)parallel vectors: the sine weights are 0/0, a straight line is exact
        return ((1 - t) * z0 + t * z1).astype(np.float32)
    return ((np.sin((1 - t) * omega) * z0 + np.sin(t * omega) * z1) / np.sin(omega)).astype(np.float32)


class OnnxGenerator:
    """An exported generator: z (n, latent_dim) -> images (n, H, W, C) (or samples (n, D) for toys)."""

    def __init__(self, path, providers=None, threads=None, batch_size=256):
        path = os.fspath(path)
        if not os.path.isfile(path):
            raise FileNotFoundError(f"no ONNX generator at {path}: export a run with `python -m export RUN`")
        if providers is None:
            providers = default_providers()
        unknown = [p for p in providers if p not in ort.get_available_providers()]
        if unknown:
            install = f"; {CUDA_INSTALL}" if "CUDAExecutionProvider" in unknown else ""
            raise ProviderError(f"provider {unknown[0]} is not in this onnxruntime build; available: "
                                f"{', '.join(ort.get_available_providers())}{install}")
        if not isinstance(batch_size, int) or batch_size <= 0:
            raise ValueError(f"batch_size must be a positive int, got {batch_size!r}")
        options = ort.SessionOptions()
        if threads is not None:
            options.intra_op_num_threads = threads
        try:
            self.session = ort.InferenceSession(path, options, providers=providers)
        except Exception as error:  # onnxruntime's errors share no base class beyond Exception
            raise GeneratorFileError(f"{path} is not a loadable ONNX file ({str(error).split(':')[-1].strip()}); "
                                     "pass the .onnx file that `python -m export` wrote") from None
        metadata = self.session.get_modelmeta().custom_metadata_map
        missing = [key for key in REQUIRED_METADATA if key not in metadata]
        if "image_shape" not in metadata and "sample_shape" not in metadata:
            missing.append("image_shape")
        if metadata.get("kind") in ("noise", "conditional") and "latent_dim" not in metadata:
            missing.append("latent_dim")
        if missing or metadata["kind"] not in KINDS:
            what = f"no '{missing[0]}' metadata" if missing else f"unknown kind {shortened_repr(metadata['kind'])}"
            raise GeneratorFileError(f"{path} is an ONNX model but not a gan-zoo generator ({what}); "
                                     "export it with `python -m export RUN`")
        self.path, self.batch_size = path, batch_size
        self.metadata = dict(metadata)
        self.kind = metadata["kind"]
        self._read_metadata()
        self.output_name = self.session.get_outputs()[0].name
        self.is_image = len(self.output_shape) == 3

    def _read_metadata(self):
        """latent_dim, num_classes, output_shape and value_range from the file's metadata, each checked for
        its type and against the model's inputs and output: metadata that lies is refused here, with a
        GeneratorFileError that names the field, instead of failing later inside onnxruntime."""
        inputs = {spec.name: spec.shape for spec in self.session.get_inputs()}
        if set(inputs) != INPUTS[self.kind]:
            self._refuse("kind", f"the model takes inputs {sorted(inputs)}, a {self.kind} generator takes "
                                 f"{sorted(INPUTS[self.kind])}")
        self.value_range = tuple(self._metadata_value(
            "value_range", "two finite numbers, low < high",
            lambda v: isinstance(v, list) and len(v) == 2 and all(_is_number(x) for x in v) and v[0] < v[1]))
        shape_field = "image_shape" if "image_shape" in self.metadata else "sample_shape"
        self.output_shape = tuple(self._metadata_value(
            shape_field, "[height, width, 1 or 3 channels]" if shape_field == "image_shape" else "[size]",
            lambda v: isinstance(v, list) and all(_is_dimension(x) for x in v)
            and (len(v) == 3 and v[2] in (1, 3) if shape_field == "image_shape" else len(v) == 1)))
        if not _fits(self.session.get_outputs()[0].shape, self.output_shape):
            self._refuse(shape_field, f"the model's output has shape {self.session.get_outputs()[0].shape}")
        if self.kind == "translation" and not _fits(inputs["image"], self.output_shape):
            self._refuse(shape_field, f"the model's image input has shape {inputs['image']}")
        self.latent_dim = 0
        if self.kind != "translation":
            self.latent_dim = self._metadata_value("latent_dim", "a positive integer", _is_dimension)
            if not _fits(inputs["z"], (self.latent_dim,)):
                self._refuse("latent_dim", f"the model's z input has shape {inputs['z']}")
        # other kinds may record their dataset's classes too (evaluation reads them), but need none
        fewest_classes = 1 if self.kind == "conditional" else 0
        self.num_classes = 0
        if "num_classes" in self.metadata or self.kind == "conditional":
            self.num_classes = self._metadata_value(
                "num_classes", f"an integer from {fewest_classes} to {DIMENSION_LIMIT}",
                lambda v: _is_python_int(v) and fewest_classes <= v <= DIMENSION_LIMIT)
        self.class_names = None
        if "class_names" in self.metadata:
            self.class_names = tuple(self._metadata_value(
                "class_names", f"a list of {self.num_classes} different names",
                lambda v: isinstance(v, list) and len(v) == self.num_classes and all(
                    isinstance(name, str) and _folded(name) for name in v) and len(set(map(_folded, v))) == len(v)))
        elif self.metadata.get("dataset") == "fashion_mnist" and self.num_classes == len(CLASS_NAMES):
            self.class_names = CLASS_NAMES  # exported before class names were in the metadata

    def _metadata_value(self, field, expected, is_valid):
        """The JSON value of metadata `field`, if is_valid(value); else GeneratorFileError naming the field."""
        try:
            value = json.loads(self.metadata.get(field, "null"))
        except (ValueError, RecursionError):
            value = None
        if not is_valid(value):
            self._refuse(field, f"it is {shortened_repr(self.metadata.get(field))}, not {expected}")
        return value

    def _refuse(self, field, problem):
        raise GeneratorFileError(f"{self.path}: its '{field}' metadata does not describe this generator "
                                 f"({problem}); export it again with `python -m export RUN`")

    @property
    def providers(self):
        return self.session.get_providers()

    def latents(self, n, seed=None):
        """n latent vectors z ~ N(0, I), float32: the ones `sample(n, seed)` uses, the same everywhere."""
        _check_count(n)
        self._require("noise", "conditional", use="translate()")
        return latents(n, self.latent_dim, seed)

    def sample(self, n, seed=None, labels=None, output="uint8"):
        """n generated images (vectors for toys) from fresh noise.

        labels (conditional generators): one int or class name for all, one per image, or None for classes
        drawn at random from the same seed. output: "uint8" (images in [0, 255]) or "float" (the model's range).
        """
        _check_count(n)
        self._require("noise", "conditional", use="translate()")
        self._check_output(output)
        labels = self._labels_for(labels, n, np.random.default_rng([0 if seed is None else seed, 1]))
        noise = np.random.default_rng(seed)

        def feeds(start, size):  # z drawn batch by batch: the same stream as latents(n, seed), never all in memory
            z = latents(size, self.latent_dim, noise)
            return {"z": z} if labels is None else {"z": z, "label": labels[start:start + size]}
        return self._run(n, feeds, uint8=output == "uint8")

    def interpolate(self, z0, z1, steps=8, label=None, output="uint8"):
        """Images along the spherical path between two latent vectors (of one class, if conditional)."""
        for name, z in (("z0", z0), ("z1", z1)):
            if np.shape(z) != (self.latent_dim,):
                raise ValueError(f"{name} must have shape ({self.latent_dim},), got {np.shape(z)}")
        _check_count(steps)
        labels = self._labels_for(label, steps, np.random.default_rng(0))
        return self.generate(slerp(z0, z1, steps), labels, output)

    def generate(self, z, labels=None, output="float"):
        """Generator output for latent vectors z of shape (n, latent_dim) (and labels), run in batches."""
        self._require("noise", "conditional", use="translate()")
        self._check_output(output)
        z = self._checked_latents(z)
        inputs = {"z": z}
        if self.kind == "conditional":
            if labels is None:
                raise ValueError("this generator is conditional: pass labels (one int, or one per row of z)")
            inputs["label"] = self._labels_for(labels, len(z), None)
        elif labels is not None:
            raise ValueError("this generator is not conditional: it takes no labels")
        return self._run(len(z), lambda start, size: {k: v[start:start + size] for k, v in inputs.items()},
                         uint8=output == "uint8")

    def translate(self, images):
        """CycleGAN: images (n, H, W, C) or one (H, W, C), uint8 or float in the value range -> the
        translated images, of the same shape and kind."""
        self._require("translation", use="sample()")
        if not isinstance(images, np.ndarray):
            raise TypeError(f"images must be a numpy array, got {type(images).__name__}")
        single = images.ndim == len(self.output_shape)
        batch = images[None] if single else images
        if batch.ndim != 4 or batch.shape[1:] != self.output_shape or len(batch) == 0:
            raise ValueError(f"images must have shape (n, {', '.join(map(str, self.output_shape))}) or "
                             f"{self.output_shape}, got {images.shape}")
        low, high = self.value_range
        if batch.dtype == np.uint8:
            def to_model_range(images):
                return images.astype(np.float32) / 255.0 * (high - low) + low
        elif np.issubdtype(batch.dtype, np.floating):
            if not np.isfinite(batch).all():
                raise ValueError("images hold NaN or inf values")
            if batch.min() < low - 1e-3 or batch.max() > high + 1e-3:
                raise ValueError(f"float images must lie in [{low}, {high}], got values in "
                                 f"[{batch.min():.3g}, {batch.max():.3g}]; pass uint8 images for [0, 255]")

            def to_model_range(images):
                return np.ascontiguousarray(images, dtype=np.float32)
        else:
            raise TypeError(f"images must be uint8 or float, got dtype {batch.dtype}")
        result = self._run(len(batch), lambda start, size: {"image": to_model_range(batch[start:start + size])},
                           uint8=batch.dtype == np.uint8)
        return result[0] if single else result

    def _run(self, n, feeds, uint8=False):
        """The output for n rows, run batch by batch (feeds(start, size) gives a batch's inputs) into one
        preallocated array, converted to uint8 per batch when asked: memory holds the result and one
        batch, whatever n is."""
        result = None
        for start in range(0, n, self.batch_size):
            size = min(self.batch_size, n - start)
            part = self.session.run([self.output_name], feeds(start, size))[0]
            part = to_uint8(part, self.value_range) if uint8 else part
            if result is None:
                result = np.empty((n,) + part.shape[1:], part.dtype)
            result[start:start + size] = part
        return result

    def _require(self, *kinds, use):
        if self.kind not in kinds:
            raise ValueError(f"this is a {self.kind} generator ({self.metadata['variant']}): use {use}")

    def _check_output(self, output):
        if output not in ("uint8", "float"):
            raise ValueError(f"output must be 'uint8' or 'float', got {output!r}")
        if output == "uint8" and not self.is_image:
            raise ValueError("output='uint8' is for image generators; this one makes vectors: use 'float'")

    def class_index(self, name):
        """The label of a class name, matched without regard to case, spaces and punctuation ("Ankle boot",
        "ankle-boot"), either side of a "/" as well ("t-shirt" or "top" for "T-shirt/top")."""
        if self.kind != "conditional":
            raise ValueError("this generator is not conditional: it has no classes")
        if self.class_names is None:
            raise LabelError(f"labels by name need class names, and this generator has none (dataset "
                             f"{shortened_repr(self.metadata.get('dataset'))}): expected an integer in "
                             f"[0, {self.num_classes}), got {shortened_repr(name)}")
        wanted = _folded(name)
        matches = [i for i, full in enumerate(self.class_names) if wanted == _folded(full)]
        matches = matches or [i for i, full in enumerate(self.class_names)
                              if wanted and wanted in map(_folded, full.split("/"))]
        if len(matches) != 1:
            classes = ", ".join(f"{i} {full}" for i, full in enumerate(self.class_names))
            raise LabelError(f"{shortened_repr(name)} names {'several classes' if matches else 'no class'} of "
                             f"this generator; its classes are {classes}")
        return matches[0]

    def _labels_for(self, labels, n, rng):
        """int32 labels (n,) from one label or class name, a sequence of n, or (with an rng) random ones; None
        if unconditional."""
        if self.kind != "conditional":
            if labels is not None:
                raise ValueError("this generator is not conditional: it takes no labels")
            return None
        if labels is None:
            return rng.integers(0, self.num_classes, n).astype(np.int32)
        array = np.asarray(labels)
        if array.dtype.kind == "U":  # class names
            array = np.array([self.class_index(str(name)) for name in array.flat], np.int64).reshape(array.shape)
        if array.dtype == object and array.size and all(_is_python_int(label) for label in array.flat):
            # ints beyond 64 bits (a label of 2**70) are outside every class range
            raise ValueError(f"labels must lie in [0, {self.num_classes}): this generator has "
                             f"{self.num_classes} classes, got {shortened_repr(labels)}")
        if array.dtype == bool or not np.issubdtype(array.dtype, np.integer):
            raise TypeError(f"labels must be integers, got {array.dtype}")
        if array.ndim == 0:
            array = np.full(n, array)
        if array.shape != (n,):
            raise ValueError(f"give one label for all images or one per image ({n}), got shape {array.shape}")
        outside = array[(array < 0) | (array >= self.num_classes)]
        if outside.size:
            raise ValueError(f"label {outside[0]} is outside [0, {self.num_classes}): this generator has "
                             f"{self.num_classes} classes")
        return array.astype(np.int32)

    def _checked_latents(self, z):
        if not isinstance(z, np.ndarray):
            raise TypeError(f"z must be a numpy array, got {type(z).__name__}")
        if not np.issubdtype(z.dtype, np.floating):
            raise TypeError(f"z must hold floats (float32 preferred), got dtype {z.dtype}")
        if z.ndim != 2 or z.shape[1] != self.latent_dim or z.shape[0] == 0:
            raise ValueError(f"z must have shape (n, {self.latent_dim}) with n >= 1, got {z.shape}")
        if not np.isfinite(z).all():
            raise ValueError("z holds NaN or inf values")
        return np.ascontiguousarray(z, dtype=np.float32)


def _folded(name):
    """A class name as it is matched: letters and digits only, case folded ("T-shirt/top" -> "tshirttop")."""
    return "".join(c for c in name.casefold() if c.isalnum())


def _is_python_int(value):
    return isinstance(value, int) and not isinstance(value, bool)


def _is_number(value):
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)


def _is_dimension(value):
    return _is_python_int(value) and 0 < value <= DIMENSION_LIMIT


def _fits(model_shape, shape):
    """Whether an ONNX input or output of shape [batch, ...] holds rows of `shape`; a dimension the model
    leaves symbolic (a name or None) fits any size."""
    return len(model_shape) == len(shape) + 1 and all(
        not isinstance(size, int) or size == expected for size, expected in zip(model_shape[1:], shape))


def _check_count(n):
    if isinstance(n, bool) or not isinstance(n, (int, np.integer)) or n <= 0:
        raise ValueError(f"the number of samples must be a positive integer, got {n!r}")
