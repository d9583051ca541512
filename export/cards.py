"""Model cards: one card per published model (card.md in its hub folder) and MODEL_CARDS.md for the hub.

A card is made from the hub index entry and the run's measures: what the model is, its data, the recipe
that reproduces it, the measured quality against the real-data floor, a sentence made from those numbers
(with the quality gate's verdict, and for each goal missed whether its measure still improved at the end
of training, from the slope of its last epochs) and the FID curve over the epochs of training, a PNG drawn
from the run's history.csv (the measures that `--eval-every` adds) with the best epoch marked.
"""

import csv
import hashlib
import json
import os

import numpy as np

from zoo.classifier import CLASS_NAMES
from zoo.files import atomic_writer, exclusive_lock, sha256_of, write_json
from zoo.grid import line_chart
from zoo.hub import INDEX, REPOSITORY_HUB
from zoo.metrics import PACGAN_TABLE
from training.evaluate import DIRECTION_SUFFIX

CURVE_FILE = "quality.png"
CARD_FILE = "card.md"
#: held while a hub's index is read, changed and rewritten: one publisher (or card refresh) at a time
PUBLISH_LOCK = ".publish.lock"
#: Inception FIDs on Fashion-MNIST, "Are GANs Created Equal?" (Lucic et al. 2018), best over a large search
PUBLISHED_INCEPTION_FID = {("gan", "non_saturating"): 26.5, ("gan", "minimax"): 29.6, ("wgan", None): 21.5,
                           ("wgan_gp", None): 24.5}
FGAN_TABLE_FILE = "fgan-1d.evaluation.json"
WEIGHTS_LICENCE = "Apache-2.0, like the code"
DATA_LICENCE = ("Fashion-MNIST (Xiao, Rasul & Vollgraf 2017, Zalando Research), MIT licence; images from "
                "the Debian package dataset-fashion-mnist")
TOY_DATA_LICENCE = "none needed, the points are drawn by the project's own code (zoo/toys.py)"
TOY_LAYOUT = {"ring8": "on the unit circle", "grid25": "on the grid {-4, -2, 0, 2, 4}^2"}
#: the measure a curve shows, in order of preference, with its label and whether lower is better
CURVE_MEASURES = (("fid", "domain FID", True), ("target_share_a2b", "A->B target-class share", False),
                  ("high_quality", "share of high-quality samples", False))


def _measured_epochs(rows, key):
    """(epochs, values) of the epochs of `rows` (history.csv) that measured `key` as a finite number (a
    diverged generator can log nan); empty arrays if none did."""
    points = [(int(row["epoch"]), float(row[key])) for row in rows if row.get(key) not in (None, "")]
    epochs, values = zip(*points) if points else ((), ())
    epochs, values = np.array(epochs, dtype=int), np.array(values, dtype=float)
    finite = np.isfinite(values)
    return epochs[finite], values[finite]


def history_rows(run):
    """The rows of `run`'s history.csv, one per finished epoch; none if it has no history."""
    path = os.path.join(run, "history.csv")
    if not os.path.isfile(path):
        return []
    with open(path, newline="") as f:
        return list(csv.DictReader(f))


def quality_curve(rows):
    """(epochs, values, label, lower_is_better) of the quality measured in a run's history `rows`, or None if
    none was."""
    for key, label, lower_is_better in CURVE_MEASURES:
        epochs, values = _measured_epochs(rows, key)
        if len(epochs):
            return epochs, values, label, lower_is_better
    return None


def goal_pace(rows):
    """How fast each measure that a goal bounds moved at the end of a run (its history `rows`): {history column:
    {"epochs": [first, last], "per_epoch": least-squares slope, "standard_error": its standard error}} over the
    last quarter of the measured epochs (at least PACE_POINTS), for the card to say whether a longer run would
    reach a goal."""
    pace = {}
    for key in GOAL_COLUMNS:
        epochs, values = _measured_epochs(rows, key)
        count = max(PACE_POINTS, len(epochs) // 4)
        if len(epochs) < count:
            continue
        epochs, values = epochs[-count:], values[-count:]
        x, y = epochs - epochs.mean(), values - values.mean()
        slope = float(x @ y / (x @ x))
        residuals = y - slope * x
        pace[key] = {"epochs": [int(epochs[0]), int(epochs[-1])], "per_epoch": slope,
                     "standard_error": float(np.sqrt(residuals @ residuals / (count - 2) / (x @ x)))}
    return pace


def best_index(values, lower_is_better):
    """The index of the best of `values`."""
    return int(np.argmin(values) if lower_is_better else np.argmax(values))


def curve_plot(epochs, values, label, lower_is_better, best=None):
    """A line chart of `values` against `epochs` (uint8 RGB array), the published checkpoint's point circled:
    index `best`, by default the best value."""
    if best is None:
        best = best_index(values, lower_is_better)
    return line_chart([(label, epochs, values, (31, 119, 180))],
                      f"{label} during training; published: {values[best]:.4g} at epoch {epochs[best]}", "epoch",
                      label, marked=(epochs[best], values[best]))


def read_index(hub):
    """The hub folder's index.json (an empty index for a new hub)."""
    path = os.path.join(hub, INDEX)
    if not os.path.isfile(path):
        return {"format": 1, "models": {}}
    with open(path) as f:
        return json.load(f)


def write_index(hub, index):
    write_json(os.path.join(hub, INDEX), index)


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


def _nets(entry):
    """The nets a model was trained on, from its config."""
    config = entry["config"]
    if entry["kind"] == "translation":
        downsamplings = config.get("generator_downsamplings")  # not recorded by runs from before the option
        scale = f" at 1/{2**downsamplings} of the image's size" if downsamplings else ""
        skips = " with U-Net skip connections (Ronneberger et al. 2015)" if config.get("generator_skips") else ""
        contrast = (", its first layer without instance norm (which would divide out the image's contrast)"
                    if config.get("generator_keeps_contrast") else "")
        return (f"a ResNet generator of {config['residual_blocks']} residual blocks{scale}{skips}{contrast} and a "
                f"PatchGAN discriminator, width {config['width']}")
    pack = config.get("pack", 1)
    packs = f"; the discriminator judges packs of {pack} samples (PacGAN, Lin et al. 2018)" if pack > 1 else ""
    classifier = (f"; an auxiliary classifier in the discriminator, its loss weighted "
                  f"{config['auxiliary_classifier']:g} (AC-GAN, Odena et al. 2017)"
                  if config.get("auxiliary_classifier") else "")
    if entry["output"]["name"] == "samples":  # points of a toy, not images
        if config.get("mlp") == "pacgan":
            return (f"the MLP nets of PacGAN's 2-D experiments (Lin et al. 2018), width "
                    f"{config['width']}{classifier}{packs}")
        return f"MLP nets, width {config['width']}{classifier}{packs}"
    conditioning = ("; class-conditional batch norm in the generator (de Vries et al. 2017)"
                    if config.get("generator_conditioning") == "batchnorm" else "")
    return f"DCGAN nets (Radford et al. 2016), width {config['width']}{conditioning}{classifier}{packs}"


def _what(entry):
    from zoo.models import VARIANTS

    config = entry["config"]
    what = f"{VARIANTS[entry['variant']].summary}; {_nets(entry)}"
    for key in ("loss", "divergence"):
        if key in config:
            what += f"; {key} `{config[key]}`"
    return what


def _data(entry):
    """What the model was trained on, and the data's licence."""
    from training.data import TOY_EXAMPLES
    from zoo.toys import TOY_STD, toy_modes

    dataset = entry["dataset"]
    if "modes" in entry["metrics"]:
        points = entry["config"].get("train_examples") or TOY_EXAMPLES
        return (f"The 2-D toy {dataset} of PacGAN and VEEGAN: {len(toy_modes(dataset))} Gaussians of standard "
                f"deviation {TOY_STD[dataset]} {TOY_LAYOUT[dataset]}, equally likely; "
                f"{points:,} training points. Licence of the data: {TOY_DATA_LICENCE}.")
    if dataset.startswith("fashion_mnist:"):
        from training.data import fashion_mnist_class_pair

        a, b = fashion_mnist_class_pair(dataset)
        return (f"Fashion-MNIST training images of two classes: A = {CLASS_NAMES[a]} ({a}), B = {CLASS_NAMES[b]} "
                f"({b}), 6,000 each, unpaired. This model translates {entry['direction']}. Licence of the data: "
                f"{DATA_LICENCE}.")
    return f"Fashion-MNIST, the 60,000 training images (28 x 28 grayscale, 10 classes). Licence of the data: {DATA_LICENCE}."


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
    if "modes" in m:
        return _measured_modes(entry["dataset"], m["modes"])
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
        lines.append(f"| intra-class domain FID (mean of {len(c.get('per_class_fid', [])) or 10}) | "
                     f"{c['intra_class_fid']:.4f} | |")
        lines += [f"| intra-class domain FID, {label} {CLASS_NAMES[label]} | {value:.4f} | |"
                  for label, value in enumerate(c.get("per_class_fid", []))]
    lines += ["", f"Published reference: {_reference(entry)}."]
    return "\n".join(lines)


def _measured_modes(dataset, modes):
    gan, packed = PACGAN_TABLE[(dataset, "gan")], PACGAN_TABLE[(dataset, "gan-pack4")]
    return "\n".join([
        f"Measured on {modes['samples']:,} samples with PacGAN's protocol (Lin et al. 2018): a sample is of high "
        "quality within 3 standard deviations of its nearest mode, and a mode is covered when it is the nearest "
        "mode of at least one high-quality sample. PacGAN's rows are means over their runs; this is one run.", "",
        "| measure | this generator | PacGAN table 1, GAN | PacGAN table 1, PacGAN4 |", "|---|---|---|---|",
        f"| modes covered (of {modes['modes']}) | {modes['modes_covered']} | {gan[0]} | {packed[0]} |",
        f"| high-quality samples | {100 * modes['high_quality']:.1f} % | {100 * gan[1]:.1f} % | "
        f"{100 * packed[1]:.1f} % |",
        f"| KL of the modes' histogram from uniform (VEEGAN's reverse KL) | {modes['reverse_kl']:.3f} | | |"])


#: what the zoo aims at for a Fashion-MNIST model (above the gate, which is what publishing requires):
#: (measure, bound, whether lower is better)
GOALS = {"fid": ("domain FID", 50.0, True), "precision": ("precision", 0.70, False),
         "recall": ("recall", 0.75, False), "label_accuracy": ("label accuracy", 0.95, False),
         "target_class_share": ("target-class share", 0.95, False), "cycle_l1": ("cycle L1 error", 0.05, True)}
#: what the zoo aims at for a toy's best model: (modes covered, share of high-quality samples)
TOY_GOALS = {"ring8": (8, 0.95), "grid25": (25, 0.90)}
#: for entries published before their pace was recorded: a best epoch in the last tenth of training, the curve's
#: measure was still improving when training stopped
STILL_IMPROVING = 0.9
#: history.csv's column of each measure that a goal bounds
GOAL_COLUMNS = ("fid", "precision", "recall", "label_accuracy", "modes_covered", "high_quality", "target_share_a2b",
                "target_share_b2a", "cycle_l1_A", "cycle_l1_B")
#: the fewest measured epochs that a pace is fitted on (the last quarter of a run, when it has more)
PACE_POINTS = 8


def _misses(metrics):
    """(label, history column, value, bound, lower_is_better) of each goal (GOALS, TOY_GOALS) that a model's
    measures miss."""
    if "modes" in metrics:
        modes, quality = TOY_GOALS[metrics["dataset"]]
        m = metrics["modes"]
        values = [("modes covered", "modes_covered", m["modes_covered"], modes, False),
                  ("high-quality share", "high_quality", m["high_quality"], quality, False)]
    elif "translation" in metrics:
        t = metrics["translation"]
        values = [(f"target-class share {d}", f"target_share_{DIRECTION_SUFFIX[d]}", t[d]["target_class_share"],
                   *GOALS["target_class_share"][1:]) for d in ("A->B", "B->A") if d in t]
        values += [(f"cycle L1 error {key[-1]}", key, t[key], *GOALS["cycle_l1"][1:])
                   for key in ("cycle_l1_A", "cycle_l1_B") if key in t]
    else:
        values = [(GOALS[key][0], key, metrics[key], *GOALS[key][1:]) for key in ("fid", "precision", "recall")]
        if "conditional" in metrics:
            values.append((GOALS["label_accuracy"][0], "label_accuracy", metrics["conditional"]["accuracy"],
                           *GOALS["label_accuracy"][1:]))
    return [(label, column, value, bound, lower_is_better)
            for label, column, value, bound, lower_is_better in values
            if (value > bound if lower_is_better else value < bound)]


def _missed_words(label, value, bound, lower_is_better):
    """A missed goal in words: the measure, its value (a count as it is, three digits below 10) and the bound."""
    shown = f"{value}" if isinstance(value, int) else f"{value:.1f}" if value >= 10 else f"{value:.3f}"
    return f"{label} {shown} ({'at most' if lower_is_better else 'at least'} {bound:g})"


def missed_goals(metrics):
    """The zoo's goals (GOALS, TOY_GOALS) that a model's measures miss, in words."""
    return [_missed_words(label, value, bound, lower) for label, _, value, bound, lower in _misses(metrics)]


def _pace_clause(label, pace, value, bound, lower_is_better, epochs_trained):
    """Whether the measure behind a missed goal still moved towards it at the end of training and, if it did,
    in how many more epochs its gap closes at that pace (what a longer run would buy, from the run's own curve:
    the probe's readings, a little off the evaluation's, and a straight line, which a flattening curve is not)."""
    first, last = pace["epochs"]
    slope, error = pace["per_epoch"], pace["standard_error"]
    measured = f"over epochs {first}-{last} of training ({slope:+.2g} ± {error:.2g} an epoch)"
    towards = -slope if lower_is_better else slope
    if towards <= 2 * error:  # within two standard errors of flat, or away from the goal
        return (f"{label} did not measurably improve {measured}, so there is no sign that a longer run alone "
                "would reach it")
    gap = abs(bound - value)
    more = max(1, round(gap / towards))
    closes = (f"in about {more:,} more epochs" if more <= epochs_trained
              else f"not within another {epochs_trained:,} epochs (as many as it trained)")
    return f"{label} still improved {measured}: at that pace its gap of {gap:.3g} to {bound:g} closes {closes}"


def _goals_sentence(entry):
    misses = _misses(entry["metrics"])
    if not misses:
        return " It meets the zoo's goals."
    m, curve, epochs = entry["metrics"], entry.get("quality_curve"), entry["training"]["epochs"]
    sentence = (" It misses the zoo's goal for "
                f"{', '.join(_missed_words(label, value, bound, lower) for label, _, value, bound, lower in misses)}")
    pace = (curve or {}).get("pace")
    if pace is not None:
        clauses = [_pace_clause(label, pace[column], value, bound, lower, epochs)
                   for label, column, value, bound, lower in misses if column in pace]
        said = "; ".join(clauses) or "too few epochs were measured to tell whether a longer run would reach it"
        sentence += f". {said[0].upper()}{said[1:]}"
    elif curve is not None and curve["best_epoch"] >= STILL_IMPROVING * epochs:
        # entries published before the pace was recorded: the curve's best epoch is all there is to go by, and
        # it tells of the curve's own measure only (a falling FID beside a flat label accuracy was seen)
        sentence += (f"; its {curve.get('measure', 'quality')} was still improving at epoch {curve['best_epoch']} "
                     f"of {epochs}, but how the missed measure moved was not recorded, so whether a longer run "
                     "would reach the goal is not known")
    sentence += "."
    if "conditional" in m and "features" in m and any(column == "label_accuracy" for _, column, *_ in misses):
        # the goal asks for samples easier to classify than real ones: say how the classifier fares on those
        sentence += (f" The classifier itself labels {100 * m['features']['test_accuracy']:.1f} % of the real "
                     "test images correctly.")
    return sentence


def quality_sentence(entry):
    """A few sentences on the model's quality, made from its measures, the gate's verdict and the goals."""
    m, gate = entry["metrics"], entry.get("gate")
    if "translation" in m:
        t = m["translation"]
        said = ", ".join(f"{100 * t[d]['target_class_share']:.1f} % of test images {d}" for d in ("A->B", "B->A")
                         if d in t) + " are classified as the target class"
    elif "modes" in m:
        said = (f"{m['modes']['modes_covered']} of {m['modes']['modes']} modes covered, "
                f"{100 * m['modes']['high_quality']:.1f} % of samples of high quality")
    else:
        # three decimals, as the goals sentence: 0.748 must not read as the 0.75 it misses
        said = (f"domain FID {m['fid']:.1f} (real data: {m['floor']['fid']:.2f}), recall {m['recall']:.3f}, "
                f"precision {m['precision']:.3f}")
        if "conditional" in m:
            said += f", {100 * m['conditional']['accuracy']:.1f} % of samples classified as the asked class"
    said = f"{said[0].upper()}{said[1:]}"
    if gate is None:
        return f"{said}.{_goals_sentence(entry)}"
    if gate["passed"]:
        return f"{said}: it passes the zoo's quality gate.{_goals_sentence(entry)}"
    return (f"{said}. **Below the zoo's quality gate** ({'; '.join(gate['failures'])}); published with "
            f"--force.{_goals_sentence(entry)}")


def _curve(name, entry, samples_path):
    from training.config import QUICK_SAMPLES

    curve = entry.get("quality_curve")
    if curve is None:
        return "No quality curve: the run was trained without `--eval-every`."
    path = os.path.join(os.path.dirname(samples_path), curve["file"])
    draws = entry["config"].get("probe_draws", 1)  # runs from before the option had one
    if "modes" in entry["metrics"] and draws > 1:
        measured = (f"as the mean of {draws} draws of {entry['metrics']['modes']['samples']:,} samples, an epoch "
                    "counting as above the gate only when every draw was; the table above is one draw")
    elif "modes" in entry["metrics"]:
        measured = f"on {entry['metrics']['modes']['samples']:,} samples, as the table above"
    elif "translation" in entry["metrics"]:
        measured = "on the test images, as the table above"
    else:
        measured = f"on {QUICK_SAMPLES:,} samples; the table above uses {entry['metrics']['samples']:,}"
    return (f"![{curve['measure']} of {name} during training]({path})\n\nThe published checkpoint is the best "
            f"measured: {curve['measure']} {curve['best_value']:.4g} at epoch {curve['best_epoch']} (measured "
            f"during training {measured}).")


def _limits(entry):
    dataset = entry["dataset"]
    if "modes" in entry["metrics"]:
        return f"2-D points of the toy distribution {dataset} only"
    classes = ", ".join(f"{i} {n}" for i, n in enumerate(CLASS_NAMES))
    return f"28 x 28 grayscale Fashion-MNIST images only (classes: {classes})"


def _usage(name, entry):
    if entry["output"]["name"] == "samples":  # points: no picture to write, so no command line
        return f'In Python, `zoo.load("{name}").sample(1000, output="float")` gives 1,000 points'
    if entry["kind"] == "translation":
        command = f"python -m zoo translate {name} input.png -o output.png"
    else:
        label = " --label 7" if entry["kind"] == "conditional" else ""
        command = f"python -m zoo sample {name} -n 64 -o grid.png{label}"
    return f'`{command}`, or in Python `zoo.load("{name}")`'


def _output_values(entry):
    if entry["output"]["name"] == "samples":  # a generator's points are not clipped to the data's range
        return "(points of the plane, unbounded)"
    return f"in {entry['output']['range']}"


def _shape(tensor):
    return f"({', '.join(map(str, tensor['shape']))}) {tensor['dtype']}"


def card(name, entry, samples_path):
    training = entry["training"]
    recipe = entry.get("recipe")
    if recipe:
        stem = os.path.splitext(os.path.basename(recipe))[0]
        run = f"runs/pretrained/{stem}"
        reproduce = (f"`python -m training --config {recipe} --out {run}`, then `python -m export publish {run} "
                     f"--name {stem} --recipe {recipe}`")
    else:
        reproduce = "`python -m training` with the config below, then `python -m export publish`"
    files = "\n".join(f"| {f} | {v['size']:,} | `{v['sha256']}` |" for f, v in entry.get("files", {}).items())
    return f"""## {name} (version {entry['version']})

![samples of {name}]({samples_path})

**What it is.** {_what(entry)}. Kind: {entry['kind']} generator; inputs
{', '.join(f"`{i['name']}` {_shape(i)}" for i in entry['inputs'])}; output `{entry['output']['name']}`
{_shape(entry['output'])} {_output_values(entry)}.

**Data.** {_data(entry)}

**Recipe.** {reproduce}. Trained {training['epochs']} epochs,
{training['generator_steps']:,} generator steps, {training['wall_seconds'] / 60:.1f} min; devices: {training['machine']}.
Published weights: {entry.get('weights', 'live (no average)')}; checkpoint: {entry.get('checkpoint', 'latest')}.
Config: `{json.dumps({k: v for k, v in entry['config'].items() if v is not None}, sort_keys=True)}`

**Measured** (`python -m training.evaluate`, seed {entry['metrics'].get('seed', 0)}):

{_measured(entry)}

**Quality.** {quality_sentence(entry)}

{_curve(name, entry, samples_path)}

**Use.** {_usage(name, entry)}. Intended for demonstrations, teaching and
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
process per core{f" of {results['cores']}" if "cores" in results else ""}).

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


def file_record(path):
    """A file's record in the hub index: its size and SHA-256."""
    return {"size": os.path.getsize(path), "sha256": sha256_of(path)}


def hub_card(name, entry):
    """A model's card.md: its card, listing every other file of its folder (its own SHA-256 can only be in the
    index)."""
    others = {f: record for f, record in entry["files"].items() if f != CARD_FILE}
    return card(name, {**entry, "files": others}, entry["samples"])


def refresh_hub_cards(hub):
    """Rewrite each model's card.md whose record in the index is not what the cards' code now writes (both it
    and MODEL_CARDS.md are generated from the index entry, so they say the same), and that record; returns the
    names."""
    refreshed = []
    with exclusive_lock(os.path.join(hub, PUBLISH_LOCK)):
        index = read_index(hub)
        for name, entry in sorted(index["models"].items()):
            path = os.path.join(hub, name, CARD_FILE)
            if CARD_FILE not in entry["files"] or not os.path.isdir(os.path.dirname(path)):
                continue  # published before models had cards, or its files are not in this folder
            text = hub_card(name, entry)
            if hashlib.sha256(text.encode("utf-8")).hexdigest() == entry["files"][CARD_FILE]["sha256"]:
                continue  # the card the index records is the one the code writes
            with atomic_writer(path, "w", encoding="utf-8") as f:
                f.write(text)
            entry["files"][CARD_FILE] = file_record(path)
            refreshed.append(name)
        if refreshed:
            write_index(hub, index)
    return refreshed


def write_cards(hub=REPOSITORY_HUB, out="MODEL_CARDS.md"):
    """MODEL_CARDS.md: every model of the hub's index, in name order, generated (never edited by hand), after
    refreshing the models' own card.md files."""
    refresh_hub_cards(hub)
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


# --- Hugging Face model cards: the YAML front matter of a README.md in a model repo ------------------------

HF_LICENSE = "apache-2.0"  # WEIGHTS_LICENCE, as the Hub's licence id
HF_LIBRARY = "onnx"  # what runs the published files; the SavedModel beside it is the secondary format
#: the Hub's data set of each dataset a model is trained on (the toys are generated, not hosted)
HF_DATASETS = {"fashion_mnist": "zalando-datasets/fashion_mnist"}
#: the Hub's task of each kind of generator (conditional ones have no task of their own there), and its tag
HF_TASKS = {"noise": "unconditional-image-generation", "translation": "image-to-image"}
HF_KIND_TAGS = {"noise": "unconditional", "conditional": "class-conditional", "translation": "image-translation"}
#: the metric of each measure that a model's metrics may hold, under the names the Hub lists them
HF_METRICS = (("fid", "fid"), ("kid", "kid"), ("precision", "precision"), ("recall", "recall"),
              ("conditional", "accuracy"), ("translation", "accuracy"), ("modes", "mode-coverage"))


def hf_metadata(name, entry):
    """The model-card metadata of a published model (its hub index entry) for the Hugging Face Hub."""
    dataset = entry["dataset"].split(":")[0]  # fashion_mnist:5-7 is two classes of fashion_mnist
    metadata = {"license": HF_LICENSE, "library_name": HF_LIBRARY,
                # dict.fromkeys: the variant "gan" is also the zoo's first tag; a tag is listed once
                "tags": list(dict.fromkeys(["gan", "onnx", "gan-zoo", entry["variant"].replace("_", "-"),
                                            dataset.replace("_", "-"),
                                            HF_KIND_TAGS.get(entry["kind"], entry["kind"])]))}
    if dataset in HF_DATASETS:  # image data sets all; the toys' generators give 2-D points, not images
        metadata["datasets"] = [HF_DATASETS[dataset]]
        if entry["kind"] in HF_TASKS:
            metadata["pipeline_tag"] = HF_TASKS[entry["kind"]]
    metrics = entry.get("metrics", {})
    measured = list(dict.fromkeys(metric for key, metric in HF_METRICS if key in metrics))
    if measured:
        metadata["metrics"] = measured
    return metadata


def front_matter(metadata):
    """`metadata` as the YAML front matter that opens a model card (README.md) on the Hugging Face Hub.

    Every value is written as JSON, which YAML reads as it is: no YAML library, and no string that YAML
    would read as something else (yes, 1.0, a colon)."""
    return "---\n" + "".join(f"{key}: {json.dumps(value)}\n" for key, value in metadata.items()) + "---\n"
