"""Publish trained runs into a hub folder, and write MODEL_CARDS.md from the hub's index.

    python -m export publish RUN --name NAME [--hub zoo/hub] [--recipe zoo/recipes/NAME.json]
    python -m export cards [--hub zoo/hub] [--out MODEL_CARDS.md]

Publishing a run exports its generator(s) (checked against Keras), evaluates each one
(training/evaluate.py; a result already written for the same ONNX file is reused), and writes per model:
generator.onnx, savedmodel.tar.gz, samples.png, evaluation.json and card.md. A model's folder is staged and
moved into place whole, then the index (name, version, variant, dataset, inputs and output, sizes and
SHA-256 of every file, metrics) is rewritten atomically. A CycleGAN run gives two models, NAME-a2b and
NAME-b2a.
"""

import datetime
import json
import os
import shutil
import tarfile
import tempfile

import numpy as np

from zoo.runtime import OnnxGenerator
from zoo.classifier import CLASS_NAMES
from zoo.files import atomic_writer, exclusive_lock, move_into_place, sha256_of, write_json
from zoo.grid import image_grid, save_png
from export.cards import CURVE_FILE, curve_plot, quality_curve
from zoo.errors import ZooError
from zoo.hub import INDEX, REPOSITORY_HUB, check_name

#: Inception FIDs on Fashion-MNIST, "Are GANs Created Equal?" (Lucic et al. 2018), best over a large search
PUBLISHED_INCEPTION_FID = {("gan", "non_saturating"): 26.5, ("gan", "minimax"): 29.6, ("wgan", None): 21.5,
                           ("wgan_gp", None): 24.5}
DIRECTION_SUFFIX = {"A->B": "a2b", "B->A": "b2a"}
FGAN_TABLE_FILE = "fgan-1d.evaluation.json"
WEIGHTS_LICENCE = "Apache-2.0, like the code"
DATA_LICENCE = ("Fashion-MNIST (Xiao, Rasul & Vollgraf 2017, Zalando Research), MIT licence; images from "
                "the Debian package dataset-fashion-mnist")


def _index_path(hub):
    return os.path.join(hub, INDEX)


def read_index(hub):
    if not os.path.isfile(_index_path(hub)):
        return {"format": 1, "models": {}}
    with open(_index_path(hub)) as f:
        return json.load(f)


def _training_summary(run):
    """Steps, epochs and wall seconds from the run's history.csv."""
    import csv

    with open(os.path.join(run, "history.csv")) as f:
        rows = list(csv.DictReader(f))
    return {"epochs": int(rows[-1]["epoch"]), "generator_steps": int(rows[-1]["steps"]),
            "wall_seconds": round(sum(float(r["seconds"]) for r in rows)), "machine": "2-core CPU, no GPU"}


def _savedmodel_archive(folder, archive):
    """A .tar.gz of the SavedModel folder, members under savedmodel/, without owners or times."""
    def clean(info):
        info.uid = info.gid = 0
        info.uname = info.gname = ""
        info.mtime = 0
        return info
    with tarfile.open(archive, "w:gz") as tar:
        tar.add(folder, arcname="savedmodel", filter=clean)


def _sample_grid(onnx_path, dataset):
    """64 samples (8 per class when conditional, one class a row); CycleGAN: rows of inputs and outputs."""
    generator = OnnxGenerator(onnx_path)
    if generator.kind == "translation":
        from training.data import fashion_mnist_arrays, fashion_mnist_class_pair

        source = fashion_mnist_class_pair(dataset)[generator.metadata["direction"].startswith("B")]
        images, labels = fashion_mnist_arrays("test")
        inputs = images[labels == source][:32]
        outputs = generator.translate(inputs)
        rows = [block for i in range(0, 32, 8) for block in (inputs[i:i + 8], outputs[i:i + 8])]
        return image_grid(np.concatenate(rows), columns=8)
    labels = np.repeat(np.arange(generator.num_classes), 8) if generator.kind == "conditional" else None
    n = 8 * generator.num_classes if labels is not None else 64
    return image_grid(generator.sample(n, seed=0, labels=labels), columns=8)


def current_classifier():
    """SHA-256 of the shipped classifier: domain FIDs are comparable only when measured with the same one."""
    from zoo.classifier import CLASSIFIER_PATH

    return sha256_of(CLASSIFIER_PATH)


def _evaluation(onnx_path):
    """The evaluation of this ONNX file: reused when one was written for the same bytes."""
    from training.evaluate import default_output, evaluate

    path = default_output(onnx_path)
    if os.path.isfile(path):
        with open(path) as f:
            results = json.load(f)
        # reused only when measured with today's classifier: a new one changes the scale of domain FIDs
        judge = results.get("classifier_sha256") or results.get("features", {}).get("sha256")
        if results.get("generator_sha256") == sha256_of(onnx_path) and judge in (None, current_classifier()):
            return results
    results = evaluate(onnx_path)
    write_json(path, results)
    return results


def headline(metrics):
    if "translation" in metrics:
        t = metrics["translation"]
        return " ".join(f"{d} {100 * t[d]['target_class_share']:.0f}%" for d in ("A->B", "B->A") if d in t)
    if "modes" in metrics:
        return f"modes {metrics['modes']['modes_covered']}/{metrics['modes']['modes']}"
    text = f"domain FID {metrics['fid']:.2f}"
    if "conditional" in metrics:
        text += f", accuracy {metrics['conditional']['accuracy']:.2f}"
    return text


def _description(metadata):
    kind, shape = metadata["kind"], json.loads(metadata.get("image_shape") or metadata["sample_shape"])
    output = {"name": "images" if len(shape) == 3 else "samples", "shape": ["n", *shape], "dtype": "float32",
              "range": json.loads(metadata["value_range"])}
    if kind == "translation":
        inputs = [{"name": "image", "shape": ["n", *shape], "dtype": "float32",
                   "range": output["range"]}]
    else:
        inputs = [{"name": "z", "shape": ["n", int(metadata["latent_dim"])], "dtype": "float32",
                   "distribution": "N(0, I)"}]
        if kind == "conditional":
            inputs.append({"name": "label", "shape": ["n"], "dtype": "int32",
                           "range": [0, int(metadata["num_classes"]) - 1]})
    return inputs, output


def _model_name(base, metadata):
    return f"{base}-{DIRECTION_SUFFIX[metadata['direction']]}" if metadata["kind"] == "translation" else base


#: The zoo's quality gate. A model below it is published only with --force, which writes the failures onto
#: its card. Precision is not part of it: k-NN precision rates near-constant images highly (0.997 for noise).
GATE = {"fid": 100.0, "recall": 0.5, "label_accuracy": 0.9, "target_class_share": 0.9}
#: the toys' gate: PacGAN's GAN row (Lin et al. 2018, table 1), modes covered and share of high quality
TOY_GATE = {"ring8": (6.3, 0.982), "grid25": (17.3, 0.948)}


class PublishError(ZooError, RuntimeError):
    """A model that may not be published (below the quality gate); nothing was written to the hub."""


def gate_failures(metrics, dataset):
    """Why a generator with these measures fails the quality gate (empty: it passes)."""
    if "translation" in metrics:
        t = metrics["translation"]
        return [f"{d}: {t[d]['target_class_share']:.3f} of test images classified as the target class, "
                f"below {GATE['target_class_share']}" for d in ("A->B", "B->A")
                if d in t and t[d]["target_class_share"] < GATE["target_class_share"]]
    if "modes" in metrics:
        modes, quality = TOY_GATE[dataset]
        m = metrics["modes"]
        failures = [f"{m['modes_covered']} modes covered, below {modes}"] if m["modes_covered"] < modes else []
        if m["high_quality"] < quality:
            failures.append(f"{m['high_quality']:.3f} of samples high quality, below {quality}")
        return failures
    failures = []
    if metrics["fid"] > GATE["fid"]:
        failures.append(f"domain FID {metrics['fid']:.1f}, above {GATE['fid']:g}")
    if metrics["recall"] < GATE["recall"]:
        failures.append(f"recall {metrics['recall']:.3f}, below {GATE['recall']}")
    if "conditional" in metrics and metrics["conditional"]["accuracy"] < GATE["label_accuracy"]:
        failures.append(f"label accuracy {metrics['conditional']['accuracy']:.3f}, below {GATE['label_accuracy']}")
    return failures


def publish_run(run, name, hub=REPOSITORY_HUB, recipe=None, version="1.0", force=False):
    """Export (the best checkpoint), evaluate and publish every generator of `run`; returns the names published.

    A generator below the quality gate (GATE) is refused before anything is written to the hub, unless
    `force`, which publishes it with the failures on its card.
    """
    from export.writer import export_run

    check_name(name, "a model")
    os.makedirs(hub, exist_ok=True)
    manifest = export_run(run)
    export_dir = os.path.join(run, "export")
    training = _training_summary(run)
    evaluations = {generator: _evaluation(os.path.join(export_dir, exported["onnx"]))
                   for generator, exported in manifest["generators"].items()}
    failures = {generator: gate_failures(metrics, manifest["generators"][generator]["metadata"]["dataset"])
                for generator, metrics in evaluations.items()}
    if any(failures.values()) and not force:
        reasons = "; ".join(f"{generator}: {', '.join(f)}" for generator, f in failures.items() if f)
        raise PublishError(f"{run} is below the zoo's quality gate ({reasons}): train longer, or pass --force to "
                           "publish it with these failures on its card")
    curve = quality_curve(run)
    published = []
    for generator_name, exported in manifest["generators"].items():
        metadata = exported["metadata"]
        model_name = _model_name(name, metadata)
        onnx_path = os.path.join(export_dir, exported["onnx"])
        metrics = evaluations[generator_name]
        staging = tempfile.mkdtemp(dir=hub, prefix=f".{model_name}-")
        os.chmod(staging, 0o755)  # mkdtemp makes it private; a hub folder is served to others
        try:
            shutil.copyfile(onnx_path, os.path.join(staging, "generator.onnx"))
            _savedmodel_archive(os.path.join(export_dir, exported["savedmodel"]),
                                os.path.join(staging, "savedmodel.tar.gz"))
            save_png(_sample_grid(onnx_path, metadata["dataset"]), os.path.join(staging, "samples.png"))
            if curve is not None:
                save_png(curve_plot(*curve), os.path.join(staging, CURVE_FILE))
            write_json(os.path.join(staging, "evaluation.json"), metrics)
            inputs, output = _description(metadata)
            entry = {"version": version, "variant": metadata["variant"], "dataset": metadata["dataset"],
                     "kind": metadata["kind"], "inputs": inputs, "output": output,
                     "config": json.loads(metadata["config"]), "training": training,
                     "recipe": os.path.relpath(recipe) if recipe else None, "metrics": _card_metrics(metrics),
                     "headline": headline(metrics), "onnx": "generator.onnx", "savedmodel": "savedmodel.tar.gz",
                     "samples": "samples.png", "published": datetime.date.today().isoformat(),
                     "checkpoint": metadata["checkpoint"], "weights": metadata["weights"],
                     "gate": {"passed": not failures[generator_name], "failures": failures[generator_name]}}
            if curve is not None:
                epochs, values, label, lower_is_better = curve
                best = int(np.argmin(values) if lower_is_better else np.argmax(values))
                entry["quality_curve"] = {"file": CURVE_FILE, "measure": label, "best_epoch": int(epochs[best]),
                                          "best_value": float(values[best])}
            if metadata["kind"] == "translation":
                entry["direction"] = metadata["direction"]
            with atomic_writer(os.path.join(staging, "card.md"), "w") as f:
                f.write(card(model_name, entry, "samples.png"))
            entry["files"] = {f: {"size": os.path.getsize(os.path.join(staging, f)),
                                  "sha256": sha256_of(os.path.join(staging, f))} for f in sorted(os.listdir(staging))}
            # one publisher at a time: the index is read, changed and rewritten under this lock
            with exclusive_lock(os.path.join(hub, ".publish.lock")):
                move_into_place(staging, os.path.join(hub, model_name))
                index = read_index(hub)
                index["models"][model_name] = entry
                write_json(_index_path(hub), index)
        finally:
            shutil.rmtree(staging, ignore_errors=True)
        published.append(model_name)
    return published


def _card_metrics(metrics):
    """The evaluation without its bookkeeping (paths, timings), for the index."""
    return {k: v for k, v in metrics.items() if k not in ("generator", "seconds", "generator_sha256")}


# --- model cards ---------------------------------------------------------------------------------------

def _what(entry):
    from zoo.models import VARIANTS

    config = entry["config"]
    what = VARIANTS[entry["variant"]].summary
    for key in ("loss", "divergence"):
        if key in config:
            what += f"; {key} `{config[key]}`"
    return what


def _data(entry):
    dataset = entry["dataset"]
    if dataset.startswith("fashion_mnist:"):
        from training.data import fashion_mnist_class_pair

        a, b = fashion_mnist_class_pair(dataset)
        return (f"Fashion-MNIST training images of two classes: A = {CLASS_NAMES[a]} ({a}), B = {CLASS_NAMES[b]} "
                f"({b}), 6,000 each, unpaired. This model translates {entry['direction']}.")
    return "Fashion-MNIST, the 60,000 training images (28 x 28 grayscale, 10 classes)."


def _reference(entry):
    key = (entry["variant"], entry["config"].get("loss"))
    reference = PUBLISHED_INCEPTION_FID.get(key, PUBLISHED_INCEPTION_FID.get((entry["variant"], None)))
    if reference is None:
        return "no published Fashion-MNIST number for this variant"
    return (f"Inception FID {reference} (Lucic et al. 2018, best over a large hyperparameter search); not "
            "comparable with the domain FID above: `python -m training.evaluate ... --features inception` "
            "gives the comparable number where the InceptionV3 weights can be downloaded")


def _measured(entry):
    m = entry["metrics"]
    if "translation" in m:
        t = m["translation"]
        lines = ["| measure | value |", "|---|---|"]
        for direction in (d for d in ("A->B", "B->A") if d in t):
            source, target = direction.split("->")
            lines.append(f"| test images of {source} classified as {target} after translation "
                         f"| {100 * t[direction]['target_class_share']:.1f} % of {t[direction]['images']} |")
        lines += [f"| mean cycle L1 error, domain {k[-1]} ([-1, 1] range) | {t[k]:.4f} |"
                  for k in ("cycle_l1_A", "cycle_l1_B") if k in t]
        return "\n".join(lines)
    floor = m["floor"]
    lines = [f"Measured on {m['samples']:,} generated images against the 10,000 test images, features of the "
             f"shipped classifier (test accuracy {m['features']['test_accuracy']:.4f}, SHA-256 "
             f"`{m['features']['sha256'][:16]}...`). The floor is 10,000 real training images against the same "
             "test images.", "", "| measure | this generator | real data (floor) |", "|---|---|---|"]
    lines += [f"| {label} | {m[key]:.4f} | {floor[key]:.4f} |" for key, label in
              (("fid", "domain FID (lower is better)"), ("kid", "domain KID (lower is better)"),
               ("precision", "precision, k=3"), ("recall", "recall, k=3"))]
    if "conditional" in m:
        c = m["conditional"]
        lines.append(f"| classifier accuracy on the asked labels | {c['accuracy']:.4f} | "
                     f"{m['features']['test_accuracy']:.4f} (test set) |")
        lines.append(f"| intra-class domain FID (mean of 10) | {c['intra_class_fid']:.4f} | |")
    lines += ["", f"Published reference: {_reference(entry)}."]
    return "\n".join(lines)


def quality_sentence(entry):
    """One or two sentences on the model's quality, made from its measures and the gate's verdict."""
    m, gate = entry["metrics"], entry.get("gate")
    if "translation" in m:
        t = m["translation"]
        said = ", ".join(f"{100 * t[d]['target_class_share']:.1f} % of test images {d}" for d in ("A->B", "B->A")
                         if d in t) + " are classified as the target class"
    elif "modes" in m:
        said = (f"{m['modes']['modes_covered']} of {m['modes']['modes']} modes covered, "
                f"{100 * m['modes']['high_quality']:.1f} % of samples of high quality")
    else:
        said = (f"domain FID {m['fid']:.1f} (real data: {m['floor']['fid']:.2f}), recall {m['recall']:.2f}, "
                f"precision {m['precision']:.2f}")
        if "conditional" in m:
            said += f", {100 * m['conditional']['accuracy']:.1f} % of samples classified as the asked class"
    if gate is None:
        return f"{said[0].upper()}{said[1:]}."
    if gate["passed"]:
        return f"{said[0].upper()}{said[1:]}: it passes the zoo's quality gate."
    return (f"{said[0].upper()}{said[1:]}. **Below the zoo's quality gate** ({'; '.join(gate['failures'])}); "
            "published with --force.")


def _curve(name, entry, samples_path):
    curve = entry.get("quality_curve")
    if curve is None:
        return "No quality curve: the run was trained without `--eval-every`."
    path = os.path.join(os.path.dirname(samples_path), curve["file"])
    return (f"![{curve['measure']} of {name} during training]({path})\n\nThe published checkpoint is the best "
            f"measured: {curve['measure']} {curve['best_value']:.4g} at epoch {curve['best_epoch']} (measured "
            "during training on 5,000 samples; the table above uses 10,000).")


def _limits(entry):
    dataset = entry["dataset"]
    if dataset in TOY_GATE:
        return f"2-D points of the toy distribution {dataset} only"
    classes = ", ".join(f"{i} {n}" for i, n in enumerate(CLASS_NAMES))
    return f"28 x 28 grayscale Fashion-MNIST images only (classes: {classes})"


def _usage(name, entry):
    if entry["kind"] == "translation":
        return f"python -m zoo translate {name} input.png -o output.png"
    label = " --label 7" if entry["kind"] == "conditional" else ""
    return f"python -m zoo sample {name} -n 64 -o grid.png{label}"


def _shape(tensor):
    return f"({', '.join(map(str, tensor['shape']))}) {tensor['dtype']}"


def card(name, entry, samples_path):
    training = entry["training"]
    recipe = entry.get("recipe")
    if recipe:
        run = f"runs/pretrained/{os.path.splitext(os.path.basename(recipe))[0]}"
        reproduce = f"`python -m training --config {recipe} --out {run}`, then `python -m export publish {run}`"
    else:
        reproduce = "`python -m training` with the config below, then `python -m export publish`"
    files = "\n".join(f"| {f} | {v['size']:,} | `{v['sha256']}` |" for f, v in entry.get("files", {}).items())
    return f"""## {name} (version {entry['version']})

![samples of {name}]({samples_path})

**What it is.** {_what(entry)}. Kind: {entry['kind']} generator; inputs
{', '.join(f"`{i['name']}` {_shape(i)}" for i in entry['inputs'])}; output `{entry['output']['name']}`
{_shape(entry['output'])} in {entry['output']['range']}.

**Data.** {_data(entry)} Licence of the data: {DATA_LICENCE}.

**Recipe.** {reproduce}. Trained {training['epochs']} epochs,
{training['generator_steps']:,} generator steps, {training['wall_seconds'] / 60:.1f} min on a {training['machine']}.
Published weights: {entry.get('weights', 'live (no average)')}; checkpoint: {entry.get('checkpoint', 'latest')}.
Config: `{json.dumps({k: v for k, v in entry['config'].items() if v is not None}, sort_keys=True)}`

**Measured** (`python -m training.evaluate`, seed {entry['metrics'].get('seed', 0)}):

{_measured(entry)}

**Quality.** {quality_sentence(entry)}

{_curve(name, entry, samples_path)}

**Use.** `{_usage(name, entry)}`, or in Python `zoo.load("{name}")`. Intended for demonstrations, teaching and
as a baseline to compare GAN variants. Limits: {_limits(entry)}; like every GAN it may drop modes or mix
classes; not for any decision about people. Licence of the weights: {WEIGHTS_LICENCE}.

**Files** (hub folder `{name}/`):

| file | bytes | SHA-256 |
|---|---|---|
{files}
"""


def fgan_section(path):
    """The f-GAN 1-D experiment (`python -m training.evaluate fgan-1d --out HUB/fgan-1d.evaluation.json`)."""
    from training.fgan_experiment import AVERAGED_FRACTION, RECORD_EVERY, format_path, format_table

    with open(path) as f:
        results = json.load(f)
    rows = results["rows"]
    seeds = [run["seed"] for run in next(iter(rows[0]["runs"].values()))]
    total_variation = next((r for r in rows if r["divergence"] == "total_variation"), None)
    return f"""## f-GAN, the 1-D experiment

N(mu, sigma) fitted to the two-Gaussian mixture `mog1d` with each divergence as in Nowozin et al. 2016
(section 4.1, Table 3): V an MLP 64-64 tanh, batches of 1024, the single-step gradient method (Algorithm 1)
with plain gradient steps of 0.01 for both players, {results['steps']:,} steps, seeds {seeds[0]} to {seeds[-1]}.
`saddle` is the paper's: both players follow the gradient of the same objective F(omega, theta);
`practical` trains the generator on -E_Q[g_f(V(G(z)))] instead (the paper's section 3.2). theta* = (mu*, sigma*)
minimises D_f(P || N(mu, sigma)), found by numerical integration; D_f(opt) is D_f(P || Q_theta*). Each cell
is the mean +- standard deviation over the seeds: |mu - mu*| and |sigma - sigma*| of the fitted Gaussian (the
mean of the iterates over the last {AVERAGED_FRACTION:.0%} of training) and F(omega, theta) at the end of
training, integrated numerically (F <= D_f(P || Q_theta) for every critic).
`python -m training.evaluate fgan-1d --steps {results['steps']}` ({results['seconds'] / 60:.0f} min with a worker
process per core on a 2-core CPU).

```
{format_table(rows)}
```
""" + ("" if total_variation is None else f"""
Total variation does not get there; its path shows why: g_f(v) = tanh(v) / 2 saturates. (f*(t) = t also
makes its two generator losses one and the same, so its two columns are one experiment.) The generator
overshoots while the critic lags (F < 0), lands beside the data, and the critic's tanh saturates at one value
over the samples of both P and Q_theta: F(omega, theta) = E_P[g_f(V)] - E_Q[g_f(V)] is then about 0 while
D_TV(P || Q_theta) is far from it, and the gradients of both players vanish, so theta stays where it stalled.
The path of seed {seeds[0]} (D_TV and F integrated numerically; the generator's gradient norm averaged over the
last {RECORD_EVERY:,} steps):

```
{format_path(next(iter(total_variation['runs'].values()))[0], every=2000)}
```
""")


def write_cards(hub=REPOSITORY_HUB, out="MODEL_CARDS.md"):
    """MODEL_CARDS.md: every model of the hub's index, in name order, generated (never edited by hand)."""
    index = read_index(hub)
    relative_hub = os.path.relpath(hub, os.path.dirname(os.path.abspath(out)))
    parts = ["# Model cards", "",
             "Generated by `python -m export cards` from the hub index (zoo/hub/index.json) and each model's "
             "evaluation; do not edit by hand. The numbers are measurements of the published files.", ""]
    rows = ["| model | variant | dataset | headline |", "|---|---|---|---|"]
    rows += [f"| [{n}](#{n}-version-{e['version'].replace('.', '')}) | {e['variant']} | {e['dataset']} | "
             f"{e['headline']} |" for n, e in sorted(index["models"].items())]
    parts += rows + [""]
    for name, entry in sorted(index["models"].items()):
        parts.append(card(name, entry, f"{relative_hub}/{name}/{entry['samples']}"))
    fgan_table = os.path.join(hub, FGAN_TABLE_FILE)
    if os.path.isfile(fgan_table):
        parts.append(fgan_section(fgan_table))
    with atomic_writer(out, "w") as f:
        f.write("\n".join(parts))
    return out
