"""Where a training step's time goes: a TensorFlow profiler trace of the reference and of ours, summed by op.

    python -m benchmarks.profile_step [--steps 30] [--settings default jit jit+reuse] [--logdir runs/profile]

For the keras.io-style reference and for our GAN in each setting (those of benchmarks.train_speed), one fit
of three epochs of `--steps` steps: a warm-up, a timed one, one under `tf.profiler`. The trace is written to
LOGDIR/NAME (open it with TensorBoard's profile plugin) and summed here: each kind of op's share of the
kernel time on the compute threads, with TensorFlow's kernels named by op type (Conv2DBackpropInput, ...)
and XLA's by HLO kind (convolution, fusion, ...), beside the step time measured just before without the
profiler. Shares, not milliseconds: TensorFlow runs two kernels at once on two cores, so kernel times add up
to more than the step, and the profiler slows every step (the input pipeline most, with one event per
example; its threads are left out, and benchmarks.train_speed times it alone). Which threads run the kernels,
and under which names, depends on the CPU and the build (oneDNN's `_MklMatMul` on AVX-512 machines, XLA's
Eigen threads), so every host thread counts except the Python caller's and the input pipeline's.
"""

import argparse
import collections
import glob
import os
import re

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import keras  # noqa: E402  (after the log level: importing keras starts TensorFlow)

from benchmarks.train_speed import (SETTINGS, EpochTimes, build_ours, reference_gan,  # noqa: E402
                                    reference_pipeline)

#: trace events that are not kernels: those that only wrap the kernels inside them (counting them would count
#: the kernels twice) and the executor's and allocator's bookkeeping
NOT_KERNELS = re.compile(r"ExecutorState::|ParallelFor|ThunkExecutor::|CpuExecutable::|BlockUntilReady|"
                         r"KernelAndDeviceFunc|EagerExecute|EagerKernelExecute|EagerLocalExecute|"
                         r"ExecutorDoneCallback|ThreadpoolListener::|MemoryAllocation|MemoryDeallocation")
#: the plane of the host's threads in a trace (a GPU's streams have planes of their own)
HOST_PLANE = "/host:CPU"
#: host threads whose events are not the step's kernels: the Python caller's (eager and function-call
#: wrappers) and the input pipeline's
NOT_COMPUTE_THREADS = ("python", "tf_data")


def op_kind(event_name):
    """'.../conv_transpose:Conv2DBackpropInput' -> 'Conv2DBackpropInput'; XLA's 'fusion.12' -> 'fusion'."""
    if ":" in event_name:
        return event_name.rsplit(":", 1)[1]
    return re.sub(r"[.\d]+$", "", event_name)


def kernel_time_by_kind(logdir, steps):
    """{op kind: ms per step} over the host's compute threads (all but the Python caller and the input
    pipeline) in the newest trace under `logdir`."""
    from tensorflow.tsl.profiler.protobuf import xplane_pb2

    path = max(glob.glob(os.path.join(logdir, "**", "*.xplane.pb"), recursive=True), key=os.path.getmtime)
    space = xplane_pb2.XSpace()
    with open(path, "rb") as f:
        space.ParseFromString(f.read())
    totals = collections.Counter()
    for plane in space.planes:
        if plane.name != HOST_PLANE:
            continue
        names = {key: value.name for key, value in plane.event_metadata.items()}
        for line in plane.lines:
            if line.name.startswith(NOT_COMPUTE_THREADS):
                continue
            for event in line.events:
                name = names[event.metadata_id]
                if not NOT_KERNELS.search(name):
                    totals[op_kind(name)] += event.duration_ps / 1e9 / steps
    return totals


class _ProfileThirdEpoch(EpochTimes):
    """Epoch times, and a profiler trace of the third epoch. On one fit of three epochs: the first warms up
    (tracing, compiling, the shuffle buffer filled), the second is timed, the third traced; one fit, so the
    input pipeline is not started anew."""

    def __init__(self, folder):
        super().__init__()
        self.folder = folder

    def on_epoch_begin(self, epoch, logs=None):
        import tensorflow as tf

        if epoch == 2:
            tf.profiler.experimental.start(self.folder)
        super().on_epoch_begin(epoch, logs)

    def on_epoch_end(self, epoch, logs=None):
        import tensorflow as tf

        super().on_epoch_end(epoch, logs)
        if epoch == 2:
            tf.profiler.experimental.stop()


def profile(name, model, batches, steps, logdir):
    """(ms per step without the profiler, {op kind: kernel ms per step} under it)."""
    callback = _ProfileThirdEpoch(os.path.join(logdir, name))
    model.fit(batches, epochs=3, steps_per_epoch=steps, verbose=0, callbacks=[callback])
    return 1000 * callback.seconds[1] / steps, kernel_time_by_kind(callback.folder, steps)


def main(argv=None):
    from training.data import fashion_mnist_arrays, load
    from zoo.nets import dcgan_discriminator, dcgan_generator

    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--steps", type=int, default=30)
    parser.add_argument("--settings", nargs="+", default=["default", "jit", "jit+reuse"], choices=list(SETTINGS))
    parser.add_argument("--top", type=int, default=8, help="op kinds to list per run")
    parser.add_argument("--logdir", default=os.path.join("runs", "profile"))
    args = parser.parse_args(argv)

    keras.utils.set_random_seed(0)
    images, _ = fashion_mnist_arrays("train")
    runs = {"reference": (reference_gan(dcgan_generator(100, (28, 28, 1), 32),
                                        dcgan_discriminator((28, 28, 1), 32), 100),
                          reference_pipeline(images, 64))}
    data = load("fashion_mnist")
    for setting in args.settings:
        model, batches, _ = build_ours("gan", setting, data)
        runs[f"gan-{setting}"] = (model, batches)
    print(f"share of the kernel time on the compute threads, by kind of op ({args.steps} steps under the "
          f"profiler; traces in {args.logdir})")
    for name, (model, batches) in runs.items():
        step_ms, totals = profile(name, model, batches, args.steps, args.logdir)
        total = sum(totals.values())
        print(f"\n{name}: {step_ms:.0f} ms per step (without the profiler)")
        for kind, ms in totals.most_common(args.top):
            print(f"  {kind:<32} {100 * ms / total:5.1f} %")


if __name__ == "__main__":
    main()
