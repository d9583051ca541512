"""Sample from an exported generator with numpy and onnxruntime only: no TensorFlow on deploy machines.

    from export.runtime import OnnxGenerator
    generator = OnnxGenerator("runs/NAME/export/generator.onnx")
    images = generator.sample(16, seed=0)               # uint8 (16, 28, 28, 1)
    floats = generator.sample(16, seed=0, output="float")  # float32 in the model's value range

Everything the wrapper needs to know (latent size, image shape, value range) comes from the ONNX file's
metadata, written by `python -m export`.
"""

import json
import os

import numpy as np
import onnxruntime as ort

PREFERRED_PROVIDERS = ("CUDAExecutionProvider", "CPUExecutionProvider")
REQUIRED_METADATA = ("variant", "latent_dim", "value_range")


class GeneratorFileError(ValueError):
    """A path that is not a gan-zoo ONNX generator."""


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
            raise ValueError(f"provider {unknown[0]} is not in this onnxruntime build; available: "
                             f"{', '.join(ort.get_available_providers())}")
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
        if missing:
            raise GeneratorFileError(f"{path} is an ONNX model but not a gan-zoo generator (no '{missing[0]}' "
                                     "metadata); export it with `python -m export RUN`")
        self.path, self.batch_size = path, batch_size
        self.metadata = dict(metadata)
        self.latent_dim = int(metadata["latent_dim"])
        self.output_shape = tuple(json.loads(metadata.get("image_shape") or metadata["sample_shape"]))
        self.value_range = tuple(json.loads(metadata["value_range"]))
        self.output_name = self.session.get_outputs()[0].name
        self.is_image = len(self.output_shape) == 3

    @property
    def providers(self):
        return self.session.get_providers()

    def latents(self, n, seed=None):
        """n latent vectors z ~ N(0, I), float32; the same seed gives the same vectors everywhere."""
        _check_count(n)
        return np.random.default_rng(seed).standard_normal((n, self.latent_dim)).astype(np.float32)

    def sample(self, n, seed=None, output="uint8"):
        """n generated images from fresh noise: uint8 in [0, 255] or, with output="float", the raw values."""
        return self.generate(self.latents(n, seed), output)

    def interpolate(self, z0, z1, steps=8, output="uint8"):
        """Images along the spherical path between two latent vectors."""
        for name, z in (("z0", z0), ("z1", z1)):
            if np.shape(z) != (self.latent_dim,):
                raise ValueError(f"{name} must have shape ({self.latent_dim},), got {np.shape(z)}")
        _check_count(steps)
        return self.generate(slerp(z0, z1, steps), output)

    def generate(self, z, output="float"):
        """Generator output for latent vectors z of shape (n, latent_dim), run in batches."""
        if output not in ("uint8", "float"):
            raise ValueError(f"output must be 'uint8' or 'float', got {output!r}")
        if output == "uint8" and not self.is_image:
            raise ValueError("output='uint8' is for image generators; this one makes vectors: use 'float'")
        z = self._checked_latents(z)
        parts = [self.session.run([self.output_name], {"z": z[i:i + self.batch_size]})[0]
                 for i in range(0, len(z), self.batch_size)]
        result = np.concatenate(parts)
        return to_uint8(result, self.value_range) if output == "uint8" else result

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


def _check_count(n):
    if isinstance(n, bool) or not isinstance(n, (int, np.integer)) or n <= 0:
        raise ValueError(f"the number of samples must be a positive integer, got {n!r}")
