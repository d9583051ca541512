"""How well can a CycleGAN generator copy an image when copying is all it must do?

    python -m benchmarks.cyclegan_copy [--steps 3000] [--class 5] [--width 16]

The zoo's goal bounds the round trip's L1 error (cycle L1 <= 0.05); benchmarks.cyclegan_fidelity found most
of it in the generators' own fidelity. This trains the ResNet generator (zoo.nets.cyclegan) as a plain
autoencoder, L1 to its input only (no discriminator, no translation), on the Fashion-MNIST training images
of one class, batches of 16 like the recipe, and prints the L1 error on that class's test images every 500
steps, in the models' range [-1, 1]: a floor under what a CycleGAN with the same nets and optimiser reaches.
It compares the nets options that decide what passes through the generator (the paper's instance norm on
the first layer or none, `--generator-keeps-contrast`; two halvings or one, `--generator-downsamplings`) and
the learning rate, each from the same initial seed.
"""

import argparse
import os
import time

import numpy as np

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

#: (label, resnet_generator keywords, Adam learning rate)
SETUPS = (("paper's nets", {}, 2e-4),
          ("keeps contrast", {"keeps_contrast": True}, 2e-4),
          ("one halving", {"downsamplings": 1}, 2e-4),
          ("keeps contrast, one halving", {"keeps_contrast": True, "downsamplings": 1}, 2e-4),
          ("keeps contrast, rate 5e-4", {"keeps_contrast": True}, 5e-4),
          ("keeps contrast, rate 1e-3", {"keeps_contrast": True}, 1e-3))
BATCH = 16
EVERY = 500


def copy_errors(train_images, test_images, nets, learning_rate, steps, width, seed=0):
    """Test L1 of the generator trained to copy `train_images`, every EVERY steps: [(step, L1, seconds)]."""
    import keras
    import tensorflow as tf

    from zoo.nets.cyclegan import resnet_generator

    keras.utils.set_random_seed(seed)
    generator = resnet_generator(train_images.shape[1:], width=width, **nets)
    optimizer = keras.optimizers.Adam(learning_rate, beta_1=0.5)  # the recipe's Adam

    @tf.function(jit_compile=True)
    def step(images):
        with tf.GradientTape() as tape:
            loss = tf.reduce_mean(tf.abs(generator(images, training=True) - images))
        optimizer.apply_gradients(zip(tape.gradient(loss, generator.trainable_variables),
                                      generator.trainable_variables))

    rng, errors, started = np.random.default_rng(seed), [], time.perf_counter()
    for done in range(1, steps + 1):
        step(train_images[rng.integers(0, len(train_images), BATCH)])
        if done % EVERY == 0 or done == steps:
            copies = np.concatenate([np.asarray(generator(test_images[i:i + 250], training=False))
                                     for i in range(0, len(test_images), 250)])
            errors.append((done, float(np.abs(copies - test_images).mean()), time.perf_counter() - started))
    keras.backend.clear_session()
    return errors


def main(argv=None):
    from training.evaluate import real_images

    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--steps", type=int, default=3000)
    parser.add_argument("--class", dest="label", type=int, default=5, help="Fashion-MNIST class (5: sandal)")
    parser.add_argument("--width", type=int, default=16, help="the generator's width (the recipe's: 16)")
    args = parser.parse_args(argv)
    train_images, _ = real_images("train", classes=[args.label])
    test_images, _ = real_images("test", classes=[args.label])
    print(f"ResNet generator, width {args.width}, copying Fashion-MNIST class {args.label} ({len(train_images):,} "
          f"training, {len(test_images):,} test images), batches of {BATCH}: test L1 in [-1, 1]")
    results = {label: copy_errors(train_images, test_images, nets, rate, args.steps, args.width)
               for label, nets, rate in SETUPS}
    steps = [done for done, _, _ in next(iter(results.values()))]
    print("| setup | " + " | ".join(f"{done:,} steps" for done in steps) + " | seconds |")
    print("|---|" + "---|" * (len(steps) + 1))
    for label, errors in results.items():
        print(f"| {label} | " + " | ".join(f"{error:.4f}" for _, error, _ in errors) + f" | {errors[-1][2]:.0f} |")


if __name__ == "__main__":
    main()
