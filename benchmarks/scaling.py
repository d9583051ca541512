"""How training and inference scale, and how much memory training takes.

    python -m benchmarks.scaling [--steps 30] [--json out.json]

1. Training step time of the GAN (DCGAN nets, width 32) for global batch sizes 16 to 512 at 28 x 28, and
   for image sizes 28, 32 and 64 at batch 64 (as configured by default, and with --jit).
2. Inference images/s of the exported generator (onnxruntime, as OnnxGenerator runs it) for batch sizes
   1 to 1024 (needs an exported run: the first of runs/pretrained/*/export, or --onnx).
3. Peak resident memory of a training run started from the command line (`python -m training`, the
   default config on 6,400 examples for one epoch), read from the finished child process.
"""

import argparse
import glob
import os
import tempfile
import time

from benchmarks.memory import peak_resident_mb

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

BATCHES = (16, 32, 64, 128, 256, 512)
SIZES = (28, 32, 64)


def training_step_ms(overrides, steps):
    from benchmarks.train_speed import steps_per_second
    from training.config import resolve
    from training.data import load
    from training.run import build_model

    config = resolve({"model": "gan", **overrides})
    data = load("fashion_mnist", limit=max(4096, 2 * config["batch_size"]), image_size=config["image_size"])
    model = build_model(config, data.spec)
    batches = data.batches(config["batch_size"], 0)
    return 1000 / steps_per_second(model, batches, steps)


def inference_rates(onnx_path, batches=(1, 4, 16, 64, 256, 1024), repeats=5):
    from zoo.runtime import OnnxGenerator

    generator = OnnxGenerator(onnx_path, batch_size=max(batches))
    rates = {}
    for batch in batches:
        z = generator.latents(batch, seed=0)
        generator.generate(z)
        best = min(_seconds(lambda: generator.generate(z)) for _ in range(repeats))
        rates[batch] = batch / best
    return rates


def _seconds(call):
    start = time.perf_counter()
    call()
    return time.perf_counter() - start


def training_peak_memory_mb():
    """Peak resident MB of a fresh process running the training CLI (default config, 6,400 examples, 1 epoch)."""
    with tempfile.TemporaryDirectory() as folder:
        return peak_resident_mb("from training.__main__ import main; "
                                f"main(['--train-examples', '6400', '--epochs', '1', '--out', "
                                f"{os.path.join(folder, 'run')!r}])")


def main(argv=None):
    from zoo.files import write_json

    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--steps", type=int, default=30)
    parser.add_argument("--onnx", help="generator for the inference rows (default: the first pretrained export)")
    parser.add_argument("--json", help="also write the results to this JSON file")
    args = parser.parse_args(argv)
    results = {"cores": os.cpu_count(), "batch": {}, "image_size": {}}

    print(f"training step, GAN width 32 ({os.cpu_count()} cores): ms per step, images/s")
    for batch in BATCHES:
        row = {jit: training_step_ms({"batch_size": batch, "jit": jit}, args.steps) for jit in (False, True)}
        results["batch"][batch] = row
        print(f"batch {batch:4d}: default {row[False]:8.1f} ms ({1000 * batch / row[False]:6.0f} img/s)   "
              f"jit {row[True]:8.1f} ms ({1000 * batch / row[True]:6.0f} img/s)", flush=True)
    for size in SIZES:
        row = {jit: training_step_ms({"image_size": size, "jit": jit}, args.steps) for jit in (False, True)}
        results["image_size"][size] = row
        print(f"{size} x {size}, batch 64: default {row[False]:8.1f} ms   jit {row[True]:8.1f} ms", flush=True)

    onnx_path = args.onnx or next(iter(sorted(glob.glob("runs/pretrained/gan-*/export/generator.onnx"))), None)
    if onnx_path:
        rates = inference_rates(onnx_path)
        results["inference_images_per_second"] = rates
        print(f"\ninference, {onnx_path}: " + ", ".join(f"batch {b}: {r:.0f} img/s" for b, r in rates.items()))
    results["training_peak_memory_mb"] = training_peak_memory_mb()
    print(f"\npeak resident memory of `python -m training` (default config, 6,400 examples, 1 epoch): "
          f"{results['training_peak_memory_mb']:.0f} MB")
    if args.json:
        write_json(args.json, {k: ({str(i): v for i, v in d.items()} if isinstance(d, dict) else d)
                               for k, d in results.items()})


if __name__ == "__main__":
    main()
