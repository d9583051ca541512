"""Generator inference: onnxruntime against the SavedModel and Keras, side by side, for exported runs.

    python -m benchmarks.inference [RUN ...] [--json out.json]

RUN folders default to runs/pretrained/* (exported by `python -m export`). For each generator:
- batch 1 latency (median of many calls) and batch 256 throughput (images/s, best of several) for
  Keras `predict`, a direct Keras call, the SavedModel's `serve`, onnxruntime with default session options
  (as `OnnxGenerator` makes it) and onnxruntime tuned (threads = cores, all graph optimisations, the
  optimised graph saved beside the original as NAME.optimized.onnx and loaded from there);
- its arithmetic rate at batch 256: FLOPs per image (2 x multiply-adds of every Conv, ConvTranspose,
  Gemm and MatMul, counted from the ONNX graph with shapes inferred for a batch of 1) times images/s,
  beside this machine's float32 matrix-multiply peak measured in the same run (numpy, 2048 x 2048).
Then the peak resident memory of the wrapper sampling 1,000, 10,000 and 100,000 images (a fresh process
each; the uint8 result itself is 0.8, 7.8 and 78 MB).
"""

import argparse
import glob
import json
import os
import statistics
import time

import numpy as np

from benchmarks.memory import peak_resident_mb

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

BIG_BATCH = 256


def matmul_peak(size=2048, repeats=5):
    """Best float32 FLOP/s of numpy's matrix multiply (the BLAS it links) on size x size matrices."""
    a, b = (np.random.default_rng(i).standard_normal((size, size)).astype(np.float32) for i in range(2))
    a @ b
    best = min(_timed(lambda: a @ b) for _ in range(repeats))
    return 2 * size ** 3 / best


def _timed(call):
    start = time.perf_counter()
    call()
    return time.perf_counter() - start


def onnx_flops(path):
    """FLOPs for one example: 2 x multiply-adds of Conv, ConvTranspose, Gemm and MatMul nodes."""
    import onnx
    from onnx import shape_inference

    model = onnx.load(path)
    for value in model.graph.input:
        value.type.tensor_type.shape.dim[0].dim_value = 1
    model = shape_inference.infer_shapes(model)
    shapes = {v.name: [d.dim_value for d in v.type.tensor_type.shape.dim]
              for v in list(model.graph.value_info) + list(model.graph.input) + list(model.graph.output)}
    weights = {t.name: list(t.dims) for t in model.graph.initializer}
    shapes.update(weights)
    total = 0
    for node in model.graph.node:
        if node.op_type in ("Conv", "ConvTranspose"):
            w = shapes[node.input[1]]  # Conv: (out, in/g, kh, kw); ConvTranspose: (in, out/g, kh, kw)
            if node.op_type == "Conv":
                out = shapes[node.output[0]]
                total += int(np.prod(out)) * int(np.prod(w[1:]))
            else:
                x = shapes[node.input[0]]
                total += int(np.prod(x)) * int(np.prod(w[1:]))
        elif node.op_type in ("Gemm", "MatMul"):
            a, out = shapes[node.input[0]], shapes[node.output[0]]
            total += int(np.prod(out)) * a[-1]
    return 2 * total


def latency_and_throughput(call, batch_one, batch_big, calls=200, repeats=5):
    for _ in range(5):
        call(batch_one)
    latency = statistics.median(_timed(lambda: call(batch_one)) for _ in range(calls))
    call(batch_big)
    throughput = max(len(next(iter(batch_big.values())) if isinstance(batch_big, dict) else batch_big[0])
                     / _timed(lambda: call(batch_big)) for _ in range(repeats))
    return latency, throughput


def onnx_session(path, tuned):
    import onnxruntime as ort

    options = ort.SessionOptions()
    if tuned:
        options.intra_op_num_threads = os.cpu_count()
        options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
        optimized = path[:-len(".onnx")] + ".optimized.onnx"
        options.optimized_model_filepath = optimized
        ort.InferenceSession(path, options, providers=["CPUExecutionProvider"])  # writes the optimised graph
        options = ort.SessionOptions()
        options.intra_op_num_threads = os.cpu_count()
        options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_DISABLE_ALL  # already optimised
        path = optimized
    return ort.InferenceSession(path, options, providers=["CPUExecutionProvider"])


def inputs_for(generator_inputs, batch, rng):
    """Feeds by input name: z ~ N(0, I), labels, or images in [-1, 1]."""
    feeds = {}
    for name, shape in generator_inputs:
        if name == "label":
            feeds[name] = rng.integers(0, 10, batch).astype(np.int32)
        elif name == "image":
            feeds[name] = rng.uniform(-1, 1, (batch, *shape)).astype(np.float32)
        else:
            feeds[name] = rng.standard_normal((batch, *shape)).astype(np.float32)
    return feeds


def benchmark_generator(generator, name, export_dir, peak):
    import tensorflow as tf

    specs = [(x.name, tuple(x.shape[1:])) for x in generator.inputs]
    rng = np.random.default_rng(0)
    one, big = inputs_for(specs, 1, rng), inputs_for(specs, BIG_BATCH, rng)
    as_list = lambda feeds: [feeds[n] for n, _ in specs] if len(specs) > 1 else feeds[specs[0][0]]  # noqa: E731
    saved = tf.saved_model.load(os.path.join(export_dir, f"{name}_savedmodel"))
    onnx_path = os.path.join(export_dir, f"{name}.onnx")
    output = "images"
    sessions = {"onnxruntime": onnx_session(onnx_path, tuned=False), "onnxruntime tuned": onnx_session(onnx_path, True)}
    runners = {
        "keras predict": lambda f: generator.predict(as_list(f), batch_size=BIG_BATCH, verbose=0),
        "keras call": lambda f: generator(as_list(f), training=False),
        "savedmodel": lambda f: saved.serve(*[tf.constant(f[n]) for n, _ in specs]),
        **{k: (lambda s: lambda f: s.run([output], f))(s) for k, s in sessions.items()},
    }
    flops = onnx_flops(onnx_path)
    rows = []
    for runner, call in runners.items():
        latency, throughput = latency_and_throughput(call, one, big)
        rows.append({"generator": name, "runtime": runner, "batch1_ms": 1000 * latency,
                     "batch256_images_per_second": throughput, "flops_per_image": flops,
                     "share_of_matmul_peak": flops * throughput / peak})
    return rows


def peak_memory(onnx_path, n):
    """Peak resident MB of a fresh process that loads the wrapper and samples n images."""
    return peak_resident_mb(f"from zoo.runtime import OnnxGenerator\n"
                            f"OnnxGenerator({onnx_path!r}).sample({n}, seed=0)")


def main(argv=None):
    from training.run import load_trained_model
    from zoo.files import write_json

    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("runs", nargs="*", help="exported run folders (default: runs/pretrained/*)")
    parser.add_argument("--json", help="also write the rows to this JSON file")
    args = parser.parse_args(argv)
    runs = args.runs or sorted(p for p in glob.glob("runs/pretrained/*") if os.path.isdir(os.path.join(p, "export")))
    if not runs:
        parser.error("no exported runs given and none in runs/pretrained/")
    peak = matmul_peak()
    print(f"float32 matmul peak (numpy 2048x2048, {os.cpu_count()} cores): {peak / 1e9:.1f} GFLOP/s\n")
    print(f"{'generator':<34} {'runtime':<18} {'batch 1 ms':>10} {'b256 img/s':>11} {'MFLOP/img':>9} "
          f"{'% peak':>7} {'vs keras call':>13}")
    rows = []
    for run in runs:
        model, _ = load_trained_model(run)
        export_dir = os.path.join(run, "export")
        for name, generator in model.generators.items():
            generator_rows = benchmark_generator(generator, name, export_dir, peak)
            keras_ms = next(r["batch1_ms"] for r in generator_rows if r["runtime"] == "keras call")
            for row in generator_rows:
                row["run"] = run
                row["batch1_speedup_vs_keras_call"] = keras_ms / row["batch1_ms"]
                print(f"{os.path.basename(run) + '/' + name:<34} {row['runtime']:<18} {row['batch1_ms']:10.3f} "
                      f"{row['batch256_images_per_second']:11.0f} {row['flops_per_image'] / 1e6:9.2f} "
                      f"{100 * row['share_of_matmul_peak']:6.1f}% {row['batch1_speedup_vs_keras_call']:12.1f}x",
                      flush=True)
            rows += generator_rows
    onnx_path = os.path.join(runs[0], "export", json.load(open(os.path.join(runs[0], "export", "export.json")))
                             ["generators"].popitem()[1]["onnx"])
    memory = {n: peak_memory(onnx_path, n) for n in (1_000, 10_000, 100_000)}
    print(f"\nonnxruntime wrapper, peak resident memory sampling from {onnx_path}: "
          + ", ".join(f"n={n}: {mb:.0f} MB" for n, mb in memory.items()))
    if args.json:
        write_json(args.json, {"matmul_peak_flops": peak, "rows": rows, "wrapper_peak_mb": memory})


if __name__ == "__main__":
    main()
