"""The shipped Fashion-MNIST classifier (numpy and onnxruntime only): logits and 128-d features of images.

The ONNX file in zoo/assets/ is made by `python -m training.classifier`, which records its SHA-256 and test
accuracy in the JSON beside it. The file is checked against that record before every use: domain FIDs
from a different network would not be comparable with the published ones.
"""

import json
import os

import numpy as np

from zoo.files import sha256_of
from zoo.errors import ZooError

ASSETS = os.path.join(os.path.dirname(os.path.abspath(__file__)), "assets")
CLASSIFIER_PATH = os.path.join(ASSETS, "fashion_mnist_classifier.onnx")
MINIMUM_ACCURACY = 0.93
CLASS_NAMES = ("T-shirt/top", "Trouser", "Pullover", "Dress", "Coat", "Sandal", "Shirt", "Sneaker", "Bag",
               "Ankle boot")


class ChecksumError(ZooError, ValueError):
    """A file whose SHA-256 is not the recorded one."""


class FashionClassifier:
    """features(images) and logits(images) for (n, 28, 28, 1) float images in [-1, 1]."""

    def __init__(self, path=CLASSIFIER_PATH, record_path=None, batch_size=500):
        import onnxruntime as ort

        record_path = record_path or os.path.splitext(path)[0] + ".json"
        for required in (path, record_path):
            if not os.path.isfile(required):
                raise FileNotFoundError(f"{required} is missing: restore it from the repository or rebuild "
                                        "the classifier with `python -m training.classifier`")
        with open(record_path) as f:
            self.record = json.load(f)
        actual = sha256_of(path)
        if actual != self.record["sha256"]:
            raise ChecksumError(f"{path} has SHA-256 {actual}, but {record_path} records "
                                f"{self.record['sha256']}: the file is damaged or was replaced; restore it "
                                "from the repository or rebuild it with `python -m training.classifier`")
        self.session = ort.InferenceSession(path, providers=["CPUExecutionProvider"])
        self.batch_size = batch_size

    def run(self, images):
        """(logits (n, 10), features (n, 128)) of float images (n, 28, 28, 1) in [-1, 1]."""
        images = np.asarray(images, np.float32)
        if images.ndim != 4 or images.shape[1:] != (28, 28, 1):
            raise ValueError(f"the classifier takes images of shape (n, 28, 28, 1), got {images.shape}")
        parts = [self.session.run(["logits", "features"], {"image": images[i:i + self.batch_size]})
                 for i in range(0, len(images), self.batch_size)]
        return tuple(np.concatenate(p) for p in zip(*parts))
