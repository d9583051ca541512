"""Training throughput: our train_step against a plain keras.io-style GAN, side by side in one process.

    python -m benchmarks.train_speed [--steps 150] [--repeats 3] [--variants gan cgan ...] [--json out.json]

The reference is the GAN of the keras.io DCGAN example, written the way it writes it: a keras.Model
whose train_step takes two tf.GradientTape steps with keras.losses.BinaryCrossentropy, noise from
keras.random.normal, under fit(), no XLA, a tf.data pipeline that shuffles, batches and scales (no
cache, no prefetch). It uses the same nets (zoo.nets.dcgan_*), the same losses (non-saturating) and the
same Adam settings as ours, at the default batch size on Fashion-MNIST.

Ours is every variant as `python -m training` builds it, on its own input pipeline, in five settings:
as configured by default; with `--reuse-fakes` (the generator step reuses the last discriminator step's
fakes: one generator forward pass a step instead of two, a change of the algorithm, so it is off by
default); with `--jit` (XLA); with XLA plus several steps per call to the compiled function
(`steps_per_execution`; not for WGAN and WGAN-GP, which pick each step in Python); with XLA and
`--reuse-fakes`. Rows alternate
reference and ours `--repeats` times and report the best of each, so a noisy machine still gives a ratio
that holds. "where the time goes" splits a step into the input pipeline alone and the compiled step
alone (the same batch fed again), for the reference and for ours.
"""

import argparse
import os
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import keras  # noqa: E402  (after the log level: importing keras starts TensorFlow)

from zoo.models import VARIANTS as REGISTRY  # noqa: E402

VARIANTS = ("gan", "cgan", "fgan", "wgan", "wgan_gp")
SETTINGS = {"default": {}, "reuse": {"reuse_fakes": True}, "jit": {"jit": True},
            "jit+spe": {"jit": True, "steps_per_execution": 8}, "jit+reuse": {"jit": True, "reuse_fakes": True}}


def reference_gan(generator, discriminator, latent_dim):
    """The keras.io DCGAN example's GAN class, with our nets plugged in."""
    import keras
    import tensorflow as tf
    from keras import ops

    class ReferenceGAN(keras.Model):
        def __init__(self):
            super().__init__()
            self.generator, self.discriminator, self.latent_dim = generator, discriminator, latent_dim
            self.seed_generator = keras.random.SeedGenerator(1337)
            self.built = True

        def compile(self, d_optimizer, g_optimizer, loss_fn):
            super().compile()
            self.d_optimizer, self.g_optimizer, self.loss_fn = d_optimizer, g_optimizer, loss_fn
            self.d_loss_metric = keras.metrics.Mean(name="d_loss")
            self.g_loss_metric = keras.metrics.Mean(name="g_loss")
            d_optimizer.build(discriminator.trainable_weights)
            g_optimizer.build(generator.trainable_weights)

        @property
        def metrics(self):
            return [self.d_loss_metric, self.g_loss_metric]

        def train_step(self, real_images):
            batch_size = ops.shape(real_images)[0]
            z = keras.random.normal((batch_size, self.latent_dim), seed=self.seed_generator)
            with tf.GradientTape() as tape:
                real_logits = self.discriminator(real_images, training=True)
                fake_logits = self.discriminator(self.generator(z, training=True), training=True)
                d_loss = (self.loss_fn(ops.ones_like(real_logits), real_logits)
                          + self.loss_fn(ops.zeros_like(fake_logits), fake_logits))
            grads = tape.gradient(d_loss, self.discriminator.trainable_weights)
            self.d_optimizer.apply_gradients(zip(grads, self.discriminator.trainable_weights))
            z = keras.random.normal((batch_size, self.latent_dim), seed=self.seed_generator)
            with tf.GradientTape() as tape:
                fake_logits = self.discriminator(self.generator(z, training=True), training=True)
                g_loss = self.loss_fn(ops.ones_like(fake_logits), fake_logits)
            grads = tape.gradient(g_loss, self.generator.trainable_weights)
            self.g_optimizer.apply_gradients(zip(grads, self.generator.trainable_weights))
            self.d_loss_metric.update_state(d_loss)
            self.g_loss_metric.update_state(g_loss)
            return {"d_loss": self.d_loss_metric.result(), "g_loss": self.g_loss_metric.result()}

    model = ReferenceGAN()
    model.compile(keras.optimizers.Adam(2e-4, beta_1=0.5), keras.optimizers.Adam(2e-4, beta_1=0.5),
                  keras.losses.BinaryCrossentropy(from_logits=True))
    return model


def reference_pipeline(images, batch_size):
    import tensorflow as tf

    return (tf.data.Dataset.from_tensor_slices(images).shuffle(len(images)).repeat()
            .batch(batch_size, drop_remainder=True).map(lambda x: tf.cast(x, tf.float32) / 127.5 - 1.0))


def build_ours(variant, setting, data):
    from training.config import resolve
    from training.run import build_model

    config = resolve({"model": variant, **SETTINGS[setting]})
    model = build_model(config, data.spec)
    batches = data.batches(config["batch_size"], config["seed"], per_step=model.real_batches_per_step)
    return model, batches, config["batch_size"] * model.real_batches_per_step


class EpochTimes(keras.callbacks.Callback):
    """Seconds of each epoch of a fit."""

    def on_epoch_begin(self, epoch, logs=None):
        self.start = time.perf_counter()

    def on_epoch_end(self, epoch, logs=None):
        self.seconds.append(time.perf_counter() - self.start)

    def on_train_begin(self, logs=None):
        self.seconds = []


def steps_per_second(model, batches, steps, repeats=2):
    """Steady-state fit throughput: one fit of 1 + `repeats` epochs of `steps` steps on one iterator; the
    first epoch (tracing, XLA compiling, filling the shuffle buffer) is dropped, the best other is kept."""
    steps -= steps % model.steps_per_execution
    times = EpochTimes()
    model.fit(batches, epochs=1 + repeats, steps_per_epoch=steps, verbose=0, shuffle=False, callbacks=[times])
    return steps / min(times.seconds[1:])


def split_time(model, batches, steps):
    """(seconds per step of the input pipeline alone, of the compiled step alone on one fixed batch)."""
    import tensorflow as tf

    iterator = iter(batches)
    next(iterator)
    start = time.perf_counter()
    for _ in range(steps):
        batch = next(iterator)
    pipeline = (time.perf_counter() - start) / steps
    fixed = tf.data.Dataset.from_tensors(batch).repeat()
    compute = 1 / steps_per_second(model, fixed, steps)
    return pipeline, compute


def main(argv=None):
    from training.data import load
    from zoo.files import write_json
    from zoo.nets import dcgan_discriminator, dcgan_generator

    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--steps", type=int, default=150)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--variants", nargs="+", default=list(VARIANTS), choices=VARIANTS)
    parser.add_argument("--settings", nargs="+", default=list(SETTINGS), choices=list(SETTINGS))
    parser.add_argument("--json", help="also write the rows to this JSON file")
    args = parser.parse_args(argv)

    keras.utils.set_random_seed(0)
    data = load("fashion_mnist")
    from training.data import fashion_mnist_arrays
    images, _ = fashion_mnist_arrays("train")

    def make_reference():
        keras.utils.set_random_seed(0)
        model = reference_gan(dcgan_generator(100, (28, 28, 1), 32), dcgan_discriminator((28, 28, 1), 32), 100)
        return model, reference_pipeline(images, 64)

    reference, reference_batches = make_reference()
    print(f"{'variant':<9} {'setting':<8} {'ours steps/s':>12} {'ref steps/s':>12} {'ours img/s':>10} "
          f"{'ratio':>6}   ({args.steps} steps, best of {args.repeats}, {os.cpu_count()} cores)")
    rows = []
    for variant in args.variants:
        for setting in args.settings:
            if REGISTRY[variant].steps_chosen_in_python and "steps_per_execution" in SETTINGS[setting]:
                continue
            ours, batches, images_per_step = build_ours(variant, setting, data)
            best_ours = best_reference = 0.0
            for _ in range(args.repeats):  # alternate, so both see the same machine
                best_reference = max(best_reference, steps_per_second(reference, reference_batches, args.steps))
                best_ours = max(best_ours, steps_per_second(ours, batches, args.steps))
            row = {"variant": variant, "setting": setting, "ours_steps_per_second": best_ours,
                   "reference_steps_per_second": best_reference, "ours_images_per_second": best_ours * images_per_step,
                   "ratio": best_ours / best_reference}
            rows.append(row)
            print(f"{variant:<9} {setting:<8} {best_ours:12.2f} {best_reference:12.2f} "
                  f"{row['ours_images_per_second']:10.0f} {row['ratio']:6.2f}", flush=True)
    print("\nwhere the time goes (ms per step): input pipeline alone | compiled step alone on a fixed batch")
    pipeline, compute = split_time(reference, reference_batches, args.steps)
    print(f"reference           {1000 * pipeline:7.2f} | {1000 * compute:7.2f}")
    split = {"reference": {"pipeline_ms": 1000 * pipeline, "step_ms": 1000 * compute}}
    for setting in args.settings:
        ours, batches, _ = build_ours("gan", setting, data)
        pipeline, compute = split_time(ours, batches, args.steps)
        split[f"gan {setting}"] = {"pipeline_ms": 1000 * pipeline, "step_ms": 1000 * compute}
        print(f"gan {setting:<15} {1000 * pipeline:7.2f} | {1000 * compute:7.2f}")
    if args.json:
        write_json(args.json, {"rows": rows, "split": split})


if __name__ == "__main__":
    main()
