"""`python -m training.classifier`: train the Fashion-MNIST classifier whose features the domain FID uses.

A small CNN on the 60k training images (in [-1, 1], the generators' range), checked on the 10k test images,
exported to ONNX with two outputs: `logits` (10 classes) and `features` (the 128-d penultimate layer). The
file and a JSON record of its SHA-256 and test accuracy are written to zoo/assets/; evaluation loads it with
onnxruntime and refuses it when the checksum does not match (zoo/classifier.py).
"""

import argparse
import os
import shutil
import sys
import tempfile

from zoo.classifier import CLASSIFIER_PATH, MINIMUM_ACCURACY
from zoo.cli import OneLineErrorParser
from zoo.errors import run_cli

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")


def build_classifier(width=32, feature_size=128):
    import keras

    layers = keras.layers
    image = keras.Input((28, 28, 1), name="image")
    # Augmentation, active in training only: garments are left-right symmetric. (Random shifts as well
    # underfit: 0.9087 after 20 epochs.)
    x = layers.RandomFlip("horizontal")(image)
    # One convolution at full resolution and two at each smaller one: the 28x28 layers cost the most
    # time on a CPU, the 14x14 and 7x7 ones buy the accuracy (two blocks of two at 28 and 14: 0.9206).
    for filters, convolutions in ((width, 1), (2 * width, 2), (4 * width, 2)):
        for _ in range(convolutions):
            x = layers.Conv2D(filters, 3, padding="same", use_bias=False)(x)
            x = layers.BatchNormalization()(x)
            x = layers.ReLU()(x)
        x = layers.MaxPooling2D()(x)
        x = layers.Dropout(0.25)(x)
    x = layers.Flatten()(x)
    features = layers.Dense(feature_size, activation="relu", name="features")(x)
    logits = layers.Dense(10, name="logits")(layers.Dropout(0.5)(features))
    return keras.Model(image, [logits, features], name="fashion_mnist_classifier")


def train_classifier(epochs, seed, width, batch_size=128):
    """The trained Keras classifier and its accuracy on the test split."""
    import keras
    import numpy as np

    from training.data import fashion_mnist_arrays

    keras.utils.set_random_seed(seed)
    (x_train, y_train), (x_test, y_test) = (fashion_mnist_arrays(s) for s in ("train", "test"))
    x_train, x_test = (x.astype(np.float32) / 127.5 - 1.0 for x in (x_train, x_test))
    model = build_classifier(width)
    # cosine decay to 0 over the run: the last epochs settle into a minimum instead of hopping around it
    steps = epochs * -(-len(x_train) // batch_size)
    learning_rate = keras.optimizers.schedules.CosineDecay(1e-3, steps)
    # the features output carries no loss: only the logits are trained
    model.compile(keras.optimizers.Adam(learning_rate), loss=[keras.losses.SparseCategoricalCrossentropy(from_logits=True),
                                                     None])
    model.fit(x_train, y_train, batch_size=batch_size, epochs=epochs, shuffle=True, verbose=2)
    logits, _ = model.predict(x_test, batch_size=512, verbose=0)
    return model, float((logits.argmax(axis=1) == y_test).mean())


def export_classifier(model, accuracy, out, command):
    """ONNX file + JSON record (SHA-256, accuracy), written to a temporary folder and then moved into place."""
    import onnx
    import tensorflow as tf
    import tf2onnx

    from zoo.files import sha256_of, write_json

    spec = [tf.TensorSpec((None, 28, 28, 1), tf.float32, name="image")]

    @tf.function(input_signature=spec)
    def serve(image):
        logits, features = model(image, training=False)
        return {"logits": logits, "features": features}

    proto, _ = tf2onnx.convert.from_function(serve, input_signature=spec, opset=18)
    onnx.checker.check_model(proto)
    folder = os.path.dirname(os.path.abspath(out))
    os.makedirs(folder, exist_ok=True)
    staging = tempfile.mkdtemp(dir=folder, prefix=".classifier-")
    try:
        staged = os.path.join(staging, "model.onnx")
        onnx.save(proto, staged)
        record = {"sha256": sha256_of(staged), "test_accuracy": accuracy, "command": command,
                  "outputs": {"logits": "(n, 10)", "features": "(n, 128)"}, "input": "image (n, 28, 28, 1) in [-1, 1]"}
        os.replace(staged, out)
        write_json(os.path.splitext(out)[0] + ".json", record)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return record


def run_classifier_training(argv):
    parser = OneLineErrorParser(prog="python -m training.classifier", description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--epochs", type=int, default=20)
    parser.add_argument("--width", type=int, default=32, help="filters of the first convolution (default: 32)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", default=CLASSIFIER_PATH, help=f"ONNX file to write (default: {CLASSIFIER_PATH})")
    args = parser.parse_args(argv)
    if args.epochs <= 0:
        parser.error("--epochs must be positive")
    if not 1 <= args.width <= 512:
        parser.error("--width must be from 1 to 512")
    if not 0 <= args.seed < 2**32:  # keras.utils.set_random_seed seeds numpy's global generator: 32 bits
        parser.error("--seed must be from 0 to 2**32 - 1")
    if os.path.isdir(args.out):  # found before the training, not after it
        parser.error(f"--out {args.out} is a folder: name the .onnx file to write")
    model, accuracy = train_classifier(args.epochs, args.seed, args.width)
    print(f"test accuracy: {accuracy:.4f}")
    if accuracy < MINIMUM_ACCURACY:
        print(f"python -m training.classifier: error: test accuracy {accuracy:.4f} is below {MINIMUM_ACCURACY}; "
              "nothing was written: train longer (--epochs)", file=sys.stderr)
        return 1
    command = f"python -m training.classifier --epochs {args.epochs} --width {args.width} --seed {args.seed}"
    record = export_classifier(model, accuracy, args.out, command)
    print(f"wrote {args.out} (sha256 {record['sha256']})")
    return 0


def main(argv=None):
    return run_cli("python -m training.classifier", run_classifier_training, argv)


if __name__ == "__main__":
    sys.exit(main())
