"""Time `python -m training.evaluate` on exported generators: the whole protocol, 10,000 images each.

    python -m benchmarks.evaluate_speed [ONNX ...] [--samples 10000] [--json results.json]

With no files, every generator of the repository's hub (zoo/hub) is timed, one after the other in one
process. The total is split into its phases: generating, classifier features (the generated images and
20,000 real ones: the test split and the floor's training images) and the metrics. The target is under
60 s per generator on 2 cores.
"""

import argparse
import glob
import os
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

PHASES = ("generate", "features", "metrics")


def main(argv=None):
    from training.evaluate import evaluate
    from zoo.files import write_json
    from zoo.hub import REPOSITORY_HUB

    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("paths", nargs="*", help="ONNX generators (default: every one in zoo/hub)")
    parser.add_argument("--samples", type=int, default=10_000)
    parser.add_argument("--json", help="also write the rows to this JSON file")
    args = parser.parse_args(argv)
    paths = args.paths or sorted(glob.glob(os.path.join(REPOSITORY_HUB, "*", "generator.onnx")))
    if not paths:
        parser.error("no generators given and none published in zoo/hub")
    print(f"{'generator':<32} {'generate':>9} {'features':>9} {'metrics':>9} {'total':>9}   seconds, "
          f"{args.samples} generated images, {os.cpu_count()} cores")
    rows = []
    for path in paths:
        start = time.perf_counter()
        results = evaluate(path, n=args.samples)
        row = {"generator": path, "samples": args.samples, "total": time.perf_counter() - start,
               **results.get("phase_seconds", {})}
        rows.append(row)
        name = os.path.basename(os.path.dirname(path)) if path.endswith("generator.onnx") else path
        cells = " ".join(f"{row[k]:9.1f}" if k in row else f"{'-':>9}" for k in (*PHASES, "total"))
        print(f"{name:<32} {cells}", flush=True)
    if args.json:
        write_json(args.json, rows)


if __name__ == "__main__":
    main()
