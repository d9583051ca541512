"""Publish trained runs into a hub folder (export/cards.py then writes MODEL_CARDS.md from its index).

    python -m export publish RUN --name NAME [--hub zoo/hub] [--recipe zoo/recipes/NAME.json]
    python -m export cards [--hub zoo/hub] [--cards MODEL_CARDS.md]

Publishing a run exports its generator(s) (checked against Keras), evaluates each one
(training/evaluate.py; a result already written for the same ONNX file is reused), and writes per model:
generator.onnx with its test_data_set_0/ (ONNX Model Zoo test data), savedmodel.tar.gz, samples.png,
quality.png (the FID curve of training), evaluation.json and card.md. A model's folder is staged and
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
from zoo.files import atomic_writer, exclusive_lock, move_into_place, sha256_of, write_json
from zoo.grid import image_grid, points_plot, save_png
from export.cards import (CARD_FILE, CURVE_FILE, PUBLISH_LOCK, best_index, curve_plot, file_record, goal_pace,
                          headline, history_rows, hub_card, quality_curve, read_index, write_index)
from zoo.errors import ZooError
from zoo.hub import REPOSITORY_HUB, check_name
from zoo.metrics import toy_gate_failures
from zoo.prior import classes_in_turn
from zoo.testdata import TEST_SET
from zoo.toys import TOY_SAMPLES, plot_reference
from training.evaluate import DIRECTION_SUFFIX

#: history.csv's columns of each player's learning rate at the end of an epoch (training.callbacks)
LEARNING_RATE_COLUMNS = ("g_learning_rate", "d_learning_rate")


def _history(run):
    """The rows of the run's history.csv, one per finished epoch."""
    rows = history_rows(run)
    if not rows:
        raise PublishError(f"{run} has finished no epoch (no history.csv): train it for at least one")
    return rows


def _training_summary(rows):
    """Steps, epochs, wall seconds and what trained them, from the run's history.csv."""
    return {"epochs": int(rows[-1]["epoch"]), "generator_steps": int(rows[-1]["steps"]),
            "wall_seconds": round(sum(float(r["seconds"]) for r in rows)), "machine": _devices(rows)}


def _devices(rows):
    """What trained the epochs of `rows` (history.csv's devices column): 'CPU, 2 cores', or where a resume moved
    the run, each stretch with its epochs: 'CPU, 2 cores (epochs 1-40); GPU: NVIDIA H100 80GB HBM3 (epochs
    41-80)'. The index keeps it as training['machine']."""
    stretches = []  # [devices, first epoch, last epoch]
    for row in rows:
        devices = row.get("devices") or "not recorded"  # runs from before history.csv had the column
        if stretches and stretches[-1][0] == devices:
            stretches[-1][2] = row["epoch"]
        else:
            stretches.append([devices, row["epoch"], row["epoch"]])
    if len(stretches) == 1:
        return stretches[0][0]
    return "; ".join(f"{devices} (epoch{f' {first}' if first == last else f's {first}-{last}'})"
                     for devices, first, last in stretches)


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
    """64 samples (8 per class when conditional, one class a row); CycleGAN: rows of inputs and outputs;
    a toy: 2,500 points (PacGAN's evaluation count) over as many real ones, as training's sample plots."""
    generator = OnnxGenerator(onnx_path)
    if not generator.is_image:
        labels = classes_in_turn(TOY_SAMPLES, generator.num_classes) if generator.kind == "conditional" else None
        return points_plot(generator.sample(TOY_SAMPLES, seed=0, labels=labels, output="float"),
                           plot_reference(dataset, generator.output_shape[0]))
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


class PublishError(ZooError, RuntimeError):
    """A model that may not be published (below the quality gate, or with a recipe that does not train it);
    nothing was written to the hub."""


def gate_failures(metrics, dataset):
    """Why a generator with these measures fails the quality gate (empty: it passes)."""
    if "translation" in metrics:
        t = metrics["translation"]
        return [f"{d}: {t[d]['target_class_share']:.3f} of test images classified as the target class, "
                f"below {GATE['target_class_share']}" for d in ("A->B", "B->A")
                if d in t and t[d]["target_class_share"] < GATE["target_class_share"]]
    if "modes" in metrics:
        return toy_gate_failures(metrics["modes"]["modes_covered"], metrics["modes"]["high_quality"], dataset)
    failures = []
    if metrics["fid"] > GATE["fid"]:
        failures.append(f"domain FID {metrics['fid']:.1f}, above {GATE['fid']:g}")
    if metrics["recall"] < GATE["recall"]:
        failures.append(f"recall {metrics['recall']:.3f}, below {GATE['recall']}")
    if "conditional" in metrics and metrics["conditional"]["accuracy"] < GATE["label_accuracy"]:
        failures.append(f"label accuracy {metrics['conditional']['accuracy']:.3f}, below {GATE['label_accuracy']}")
    return failures


def _published_epoch(run, curve):
    """The index in the quality curve of the checkpoint that export takes: best.json's epoch, chosen by the
    probe's score, which for toys and CycleGAN weighs more than the one measure the curve draws; the curve's
    best value when the run kept no best checkpoint."""
    from training.run import RunFolder

    if curve is None:
        return None
    epochs, values, _, lower_is_better = curve
    record = RunFolder(run).best_record()
    if record is not None and record["epoch"] in epochs:
        return int(np.flatnonzero(epochs == record["epoch"])[0])
    return best_index(values, lower_is_better)


def _check_recipe(recipe, run):
    """Refuse a recipe that would not train `run`: the card tells users that it reproduces the model."""
    from training.config import ConfigError, read_config_file, resolve, training_differences
    from training.run import RunFolder

    folder = RunFolder(run)
    if not folder.is_run():
        return  # export_run says what is wrong with the folder; a recipe can only be held against a run
    try:
        wanted = resolve(read_config_file(recipe))
    except ConfigError as error:
        raise PublishError(f"--recipe: {error}") from None
    saved, rows = folder.saved_config(), _history(run)
    _check_reproducible(run, folder, saved, rows)
    # the epochs it trained, not those its config.json asks for (an interrupted run did fewer)
    trained = {**saved, "epochs": int(rows[-1]["epoch"])}
    differences = [f"{key} {theirs!r} in the recipe, {ours!r} in the run"
                   for key, ours, theirs in training_differences(trained, wanted)]
    if differences:
        raise PublishError(f"{recipe} does not train {run} ({'; '.join(differences)}): name the recipe the run "
                           "was trained from, or make it say what the run did")


def _check_reproducible(run, folder, saved, rows):
    """Refuse a run whose weights no recipe trains, whatever it says: one that changed its learning rate on a
    resume, or the length of the schedule its rate decays along (CycleGAN, --learning-rate-decay), or stopped
    before the end of that schedule; one whose exported weights are those of an unfinished epoch."""
    from zoo.models import learning_rate_schedule

    epochs = int(rows[-1]["epoch"])
    schedule = learning_rate_schedule(saved)
    if schedule and epochs != saved["epochs"]:
        raise PublishError(f"{run} trained {epochs} of the {saved['epochs']} epochs its learning rate decays over, "
                           f"so no recipe trains its weights: finish it (python -m training --out {run} --resume), "
                           "or publish it without --recipe")
    if schedule:
        _check_schedule(run, folder, saved, rows, schedule)
    else:
        _check_constant_rate(run, rows)
    if folder.best_record() is None:
        epoch, step, _ = folder.latest_checkpoint()
        if step:
            raise PublishError(f"{run} stopped inside epoch {epoch + 1} and measured no best epoch, so export "
                               f"takes weights no recipe trains: finish the epoch (python -m training --out {run} "
                               "--resume), or publish it without --recipe")


def _check_constant_rate(run, rows):
    """Refuse a learning rate that changed between epochs: only a resume with --learning-rate changes it."""
    for column in LEARNING_RATE_COLUMNS:
        rates = [(row["epoch"], float(row[column])) for row in rows if row.get(column)]
        changed = next(((epoch, rate) for (_, before), (epoch, rate) in zip(rates, rates[1:]) if rate != before),
                       None)
        if changed is not None:
            raise PublishError(f"{run} changed its {column} to {changed[1]:g} at epoch {changed[0]} (on a resume), "
                               "so no recipe trains its weights: publish it without --recipe")


def _check_schedule(run, folder, saved, rows, learning_rate_schedule):
    """Refuse a rate that did not follow the schedule of the run's epochs at every epoch: a resume with other
    --epochs rescales the schedule from there on (lengthened, the rate rises; shortened, it falls faster)."""
    from zoo.models import run_generator_steps

    schedule = learning_rate_schedule(saved["learning_rate"], run_generator_steps(saved, folder.data_spec()))
    for row in rows:
        # both players follow the one schedule of the generator's steps, the unit of the history's "steps"
        expected = float(np.asarray(schedule(int(row["steps"]))))
        for column in LEARNING_RATE_COLUMNS:
            if row.get(column) and not np.isclose(float(row[column]), expected, rtol=1e-5, atol=1e-12):
                raise PublishError(f"{run} logged {column} {float(row[column]):g} at epoch {row['epoch']} where the "
                                   f"schedule of its {saved['epochs']} epochs gives {expected:g}: its schedule "
                                   "changed on a resume, so no recipe trains its weights: publish it without --recipe")


def publish_run(run, name, hub=REPOSITORY_HUB, recipe=None, version="1.0", force=False):
    """Export (the best checkpoint), evaluate and publish every generator of `run`; returns the names published.

    A generator below the quality gate (GATE) is refused before anything is written to the hub, unless
    `force`, which publishes it with the failures on its card. A `recipe` that would not train the run is
    refused, forced or not.
    """
    from export.writer import export_run

    check_name(name, "a model")
    if recipe is not None:
        _check_recipe(recipe, run)
    os.makedirs(hub, exist_ok=True)
    manifest = export_run(run)
    export_dir = os.path.join(run, "export")
    rows = _history(run)
    training = _training_summary(rows)
    evaluations = {generator: _evaluation(os.path.join(export_dir, exported["onnx"]))
                   for generator, exported in manifest["generators"].items()}
    failures = {generator: gate_failures(metrics, manifest["generators"][generator]["metadata"]["dataset"])
                for generator, metrics in evaluations.items()}
    if any(failures.values()) and not force:
        reasons = "; ".join(f"{generator}: {', '.join(f)}" for generator, f in failures.items() if f)
        raise PublishError(f"{run} is below the zoo's quality gate ({reasons}): train longer, or pass --force to "
                           "publish it with these failures on its card")
    curve, pace = quality_curve(rows), goal_pace(rows)
    published_epoch = _published_epoch(run, curve)
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
            # the ONNX Model Zoo's layout: test_data_set_0/ beside the model, in the model's own folder
            shutil.copytree(os.path.join(export_dir, exported["test_data"]), os.path.join(staging, TEST_SET))
            _savedmodel_archive(os.path.join(export_dir, exported["savedmodel"]),
                                os.path.join(staging, "savedmodel.tar.gz"))
            save_png(_sample_grid(onnx_path, metadata["dataset"]), os.path.join(staging, "samples.png"))
            if curve is not None:
                save_png(curve_plot(*curve, best=published_epoch), os.path.join(staging, CURVE_FILE))
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
                epochs, values, label, _ = curve
                entry["quality_curve"] = {"file": CURVE_FILE, "measure": label,
                                          "best_epoch": int(epochs[published_epoch]),
                                          "best_value": float(values[published_epoch]), "pace": pace}
            if metadata["kind"] == "translation":
                entry["direction"] = metadata["direction"]
            files = [f for f in sorted(os.listdir(staging)) if f != TEST_SET]
            files += [f"{TEST_SET}/{f}" for f in sorted(os.listdir(os.path.join(staging, TEST_SET)))]
            entry["files"] = {f: file_record(os.path.join(staging, f)) for f in files}
            with atomic_writer(os.path.join(staging, CARD_FILE), "w", encoding="utf-8") as f:
                f.write(hub_card(model_name, entry))
            entry["files"][CARD_FILE] = file_record(os.path.join(staging, CARD_FILE))
            with exclusive_lock(os.path.join(hub, PUBLISH_LOCK)):
                move_into_place(staging, os.path.join(hub, model_name))
                index = read_index(hub)
                index["models"][model_name] = entry
                write_index(hub, index)
        finally:
            shutil.rmtree(staging, ignore_errors=True)
        published.append(model_name)
    return published


def _card_metrics(metrics):
    """The evaluation without its bookkeeping (paths, timings), for the index."""
    return {k: v for k, v in metrics.items() if k not in ("generator", "seconds", "generator_sha256")}
