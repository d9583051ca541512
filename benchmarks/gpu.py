"""GPU training and inference, each checked against the CPU: run it on a machine with NVIDIA GPUs.

    python -m benchmarks.gpu [--steps 50] [--variants gan cgan ...] [--batch-per-gpu N] [--jit] [--json out.json]

1. Check: one training step of each image variant with MirroredStrategy over all GPUs, in float32 and with
   mixed precision, against the same step on the CPU in float32: the same initial weights, batch and noise
   (each replica takes its slice of one fixed global batch of draws, as in tests/test_parity.py), with plain
   SGD so that the update is the gradient. TF32 is off for the check (Ampere and later GPUs would otherwise
   multiply float32 in 10-bit mantissas). The measure is the largest |GPU update - CPU update| over the
   model's largest update.
2. Throughput: steps/s and real images/s of each variant on all GPUs, float32 and mixed precision, with the
   variant's own optimizers and TensorFlow's defaults, after a warm-up.
3. Inference: every hub generator on onnxruntime's CUDA provider against its CPU provider, on the same
   latents (or images): the largest difference, and images/s of both.

On a machine without a GPU (as TensorFlow and onnxruntime see it) it says so and exits 0; a part that one of
the two cannot run on a GPU is skipped with the reason. Exit code 1 when a check fails.
"""

import argparse
import json
import os
import sys
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import keras  # noqa: E402  (after the log level: importing keras starts TensorFlow)
import numpy as np  # noqa: E402
import onnxruntime as ort  # noqa: E402
import tensorflow as tf  # noqa: E402

from training import data as datasets  # noqa: E402
from training.config import resolve  # noqa: E402
from training.strategies import describe_devices, device_warnings, fix_randomness_per_replica, make_strategy  # noqa: E402
from training.run import build_model  # noqa: E402
from zoo.hub import Hub  # noqa: E402

VARIANTS = ("gan", "cgan", "fgan", "wgan", "wgan_gp", "cyclegan")
#: the check's bounds on the update difference, relative to the model's largest update. float32: summation
#: order alone gave 1.6e-6 (wgan_gp) to 9.9e-5 (gan) with 2 logical CPU replicas against one CPU, and cuDNN's
#: choice of algorithm adds some; an error in the distribution (loss scale, shared noise, unsynchronised
#: batch norm) gives O(1) (tests/test_parity.py).
FLOAT32_TOLERANCE = 1e-3
#: mixed precision: float16 activations keep 11 significant bits (~5e-4 rounding per operation), compounded
#: through the nets and their gradients. With float16 emulated on 2 logical CPU replicas the difference was
#: 3e-3 to 5e-3 for gan and wgan_gp and 8.5e-2 for cyclegan (instance norm over few pixels), far below the O(1)
#: of an error in the distribution.
MIXED_TOLERANCE = 0.25
#: onnxruntime, CUDA against CPU, on outputs in [-1, 1]: 1e-2 is ~1 grey level of 255. onnxruntime's CUDA
#: provider multiplies in TF32 on Ampere and later GPUs.
ONNX_TOLERANCE = 1e-2
STEP_SEED = 0
#: examples read for the benchmark: enough for every batch of the timed steps, quick to load
TRAIN_EXAMPLES = 16384


def variant_config(variant, mixed_precision, replicas, batch_per_gpu=None, jit=False):
    """The training config of `variant`, its global batch `batch_per_gpu` (default: the variant's own)
    times the replicas."""
    config = resolve({"model": variant})
    overrides = {"model": variant, "mixed_precision": mixed_precision, "jit": jit,
                 "batch_size": (batch_per_gpu or config["batch_size"]) * replicas,
                 "train_examples": TRAIN_EXAMPLES}
    if variant == "wgan":  # the default 100 critic steps per generator step at the start would skew steps/s
        overrides["critic_schedule"] = "constant"
    return resolve(overrides)


def build(config, spec, strategy, optimizers=None):
    """The model of `config` under `strategy`, built in its precision, compiled with its own optimizers
    or `optimizers()` -> (generator's, discriminator's)."""
    keras.config.set_dtype_policy("mixed_float16" if config["mixed_precision"] else "float32")
    try:
        with strategy.scope():
            model = build_model(config, spec)
            if optimizers:
                model.compile(*optimizers(), jit_compile=config["jit"])
    finally:
        keras.config.set_dtype_policy("float32")
    return model


def trained_variables(model):
    return model.generator_variables + model.discriminator_variables


def step_update(config, spec, strategy, initial, batch):
    """Each trained variable's change after one SGD step from the weights `initial` on `batch`."""
    def sgd():
        optimizer = keras.optimizers.SGD(0.1)
        # a low initial scale: the default 2**15 may overflow float16 on the first step, which is then skipped
        return keras.optimizers.LossScaleOptimizer(optimizer, initial_scale=2**8) \
            if config["mixed_precision"] else optimizer

    model = build(config, spec, strategy, optimizers=lambda: (sgd(), sgd()))
    for variable, value in zip(trained_variables(model), initial):
        variable.assign(value)
    fix_randomness_per_replica(model, config["batch_size"], STEP_SEED)
    model.fit(tf.data.Dataset.from_tensors(batch).repeat(), steps_per_epoch=1, epochs=1, shuffle=False, verbose=0)
    return [np.asarray(variable, np.float64) - start for variable, start in zip(trained_variables(model), initial)]


def check_step(variant, gpus, replicas, mixed_precision):
    """The largest difference of the GPUs' step from the CPU's, relative to the largest CPU update."""
    config = variant_config(variant, mixed_precision, replicas)
    cpu_config = {**config, "mixed_precision": False}
    data = datasets.load(config["dataset"], limit=config["train_examples"])
    reference = build(cpu_config, data.spec, tf.distribute.OneDeviceStrategy("/cpu:0"))
    initial = [np.asarray(variable) for variable in trained_variables(reference)]
    batch = next(iter(data.batches(config["batch_size"], STEP_SEED, per_step=reference.real_batches_per_step)))
    cpu = step_update(cpu_config, data.spec, tf.distribute.OneDeviceStrategy("/cpu:0"), initial, batch)
    gpu = step_update(config, data.spec, gpus, initial, batch)
    scale = max(np.abs(update).max() for update in cpu)
    return max(np.abs(a - b).max() for a, b in zip(cpu, gpu)) / scale


def throughput(variant, gpus, replicas, mixed_precision, steps, batch_per_gpu, jit):
    """(steps/s, real images/s) of `variant` on `gpus`."""
    config = variant_config(variant, mixed_precision, replicas, batch_per_gpu, jit)
    data = datasets.load(config["dataset"], limit=config["train_examples"])
    model = build(config, data.spec, gpus)
    per_step = model.real_batches_per_step
    batches = data.batches(config["batch_size"], 0, 0, per_step)
    model.fit(batches, steps_per_epoch=5, epochs=1, shuffle=False, verbose=0)  # trace, compile, warm up
    started = time.perf_counter()
    model.fit(batches, steps_per_epoch=steps, epochs=1, shuffle=False, verbose=0)
    seconds = time.perf_counter() - started
    return steps / seconds, steps * config["batch_size"] * per_step / seconds


def train_on_gpus(args):
    """Parts 1 and 2; returns (rows, whether every check passed)."""
    gpus = make_strategy("mirrored")
    replicas = gpus.num_replicas_in_sync
    print(f"\ntraining on {describe_devices(gpus)} (MirroredStrategy, {replicas} replicas; "
          f"global batch: {args.batch_per_gpu or 'the variant default'} x {replicas})")
    print(f"{'variant':10} {'precision':10} {'step vs CPU':>12} {'steps/s':>9} {'images/s':>10}")
    rows, passed = [], True
    for variant in args.variants:
        for mixed_precision in (False, True):
            tf.config.experimental.enable_tensor_float_32_execution(False)
            difference = check_step(variant, gpus, replicas, mixed_precision)
            tf.config.experimental.enable_tensor_float_32_execution(True)  # TensorFlow's default, for the speed
            ok = difference < (MIXED_TOLERANCE if mixed_precision else FLOAT32_TOLERANCE)
            passed &= ok
            steps_per_second, images_per_second = throughput(variant, gpus, replicas, mixed_precision, args.steps,
                                                             args.batch_per_gpu, args.jit)
            precision = "mixed" if mixed_precision else "float32"
            rows.append({"variant": variant, "precision": precision, "step_difference": difference,
                         "step_ok": ok, "steps_per_second": steps_per_second,
                         "images_per_second": images_per_second})
            print(f"{variant:10} {precision:10} {difference:10.1e} {'ok' if ok else '!!'} "
                  f"{steps_per_second:9.1f} {images_per_second:10.0f}", flush=True)
    return rows, passed


def timed(run, repeats=3):
    """(the output of a first, warm-up run(), the best time in seconds of `repeats` more)."""
    output = run()
    seconds = []
    for _ in range(repeats):
        started = time.perf_counter()
        run()
        seconds.append(time.perf_counter() - started)
    return output, min(seconds)


def onnx_on_cuda(count):
    """Part 3; returns (rows, whether every check passed)."""
    hub = Hub()
    print(f"\nonnxruntime {ort.__version__}: every hub generator, CUDA against CPU, {count} images")
    print(f"{'model':32} {'difference':>10} {'CPU images/s':>13} {'CUDA images/s':>14}")
    rows, passed = [], True
    rng = np.random.default_rng(0)
    for name in hub.names():
        on_cpu = hub.load(name, providers=["CPUExecutionProvider"])
        on_cuda = hub.load(name, providers=["CUDAExecutionProvider", "CPUExecutionProvider"])
        if on_cuda.providers[0] != "CUDAExecutionProvider":
            print(f"{name:32} onnxruntime fell back to the CPU: its CUDA or cuDNN libraries did not load "
                  "(README, 'GPU')")
            return rows, False
        if on_cpu.kind == "translation":
            images = rng.uniform(-1, 1, (count, *on_cpu.output_shape)).astype(np.float32)

            def run(generator):
                return generator.translate(images)
        else:
            z = on_cpu.latents(count, seed=0)
            labels = rng.integers(0, on_cpu.num_classes, count) if on_cpu.kind == "conditional" else None

            def run(generator):
                return generator.generate(z, labels)
        (cpu_images, cpu_seconds), (cuda_images, cuda_seconds) = (timed(lambda: run(generator))
                                                                  for generator in (on_cpu, on_cuda))
        difference = float(np.abs(cpu_images - cuda_images).max())
        ok = difference < ONNX_TOLERANCE
        passed &= ok
        rows.append({"model": name, "difference": difference, "ok": ok, "cpu_images_per_second": count / cpu_seconds,
                     "cuda_images_per_second": count / cuda_seconds})
        print(f"{name:32} {difference:8.1e} {'ok' if ok else '!!'} {count / cpu_seconds:13.0f} "
              f"{count / cuda_seconds:14.0f}", flush=True)
    return rows, passed


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--steps", type=int, default=50, help="timed training steps per variant and precision")
    parser.add_argument("--variants", nargs="+", default=list(VARIANTS), choices=VARIANTS)
    parser.add_argument("--batch-per-gpu", type=int, help="examples per GPU and step (default: the variant's "
                                                          "default batch on every GPU)")
    parser.add_argument("--jit", action="store_true", help="compile the timed train steps with XLA")
    parser.add_argument("--images", type=int, default=1024, help="images per onnxruntime measurement")
    parser.add_argument("--json", help="write the measurements here")
    args = parser.parse_args(argv)
    tf.get_logger().setLevel("ERROR")  # the check builds many models in one process: retracing is expected

    tensorflow_gpus = tf.config.list_physical_devices("GPU")
    onnxruntime_cuda = "CUDAExecutionProvider" in ort.get_available_providers()
    for warning in device_warnings(tf.distribute.get_strategy(), mixed_precision=False):
        print(f"warning: {warning}")
    if not tensorflow_gpus and not onnxruntime_cuda:
        print("no GPU here: TensorFlow sees none and onnxruntime has no CUDA provider; nothing to measure "
              "(README, 'GPU', says how to install for GPUs)")
        return 0
    results, passed = {}, True
    if tensorflow_gpus:
        results["training"], training_passed = train_on_gpus(args)
        passed &= training_passed
    else:
        print("training: skipped, TensorFlow sees no GPU")
    if onnxruntime_cuda:
        results["onnxruntime"], onnx_passed = onnx_on_cuda(args.images)
        passed &= onnx_passed
    else:
        print(f"\nonnxruntime: skipped, this build ({ort.__version__}) has no CUDA provider: replace the package "
              "onnxruntime with onnxruntime-gpu (README, 'GPU')")
    if args.json:
        with open(args.json, "w") as f:
            json.dump(results, f, indent=2)
    print("\nall checks passed" if passed else "\nSOME CHECKS FAILED (marked !!)")
    return 0 if passed else 1


if __name__ == "__main__":
    sys.exit(main())
