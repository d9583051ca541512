"""The generator average (--ema), quality measured during training (--eval-every) with the best checkpoint,
what TensorBoard gets, and the publishing gate and curve that the model cards show."""

import csv
import json
import os

import keras
import numpy as np
import pytest
import tensorflow as tf

from tests.helpers import TINY
from tests.helpers import IMAGES, batch, build, train_steps, weights
from training.callbacks import GANLogs
from training.run import RunFolder
from training.train import train
from zoo.models.averaging import WARMUP_OFFSET

QUALITY_RUN = {**TINY, "ema": 0.9, "eval_every": 1}


def test_average_follows_the_warm_up_formula_and_swaps_back_exactly():
    gan = build("gan", ema=0.9)
    start = weights(gan.generator_weights)
    expected = [w.copy() for w in start]
    for step in (1, 2, 3):
        train_steps(gan, IMAGES, 1)
        decay = min(0.9, (1 + step) / (WARMUP_OFFSET + step))
        expected = [decay * e + (1 - decay) * np.array(w) for e, w in zip(expected, gan.generator_weights)]
    averages = gan.generator_average.values()
    for average, value in zip(averages, expected):
        np.testing.assert_allclose(average, value, rtol=1e-5, atol=1e-6)
    live = weights(gan.generator_weights)
    assert any(not np.allclose(a, b) for a, b in zip(live, averages))
    with gan.averaged_generators():
        assert all(np.array_equal(np.array(w), a) for w, a in zip(gan.generator_weights, averages))
    assert all(np.array_equal(np.array(w), b) for w, b in zip(gan.generator_weights, live))


def test_without_ema_there_is_no_average_and_the_live_weights_are_used():
    gan = build("gan")
    assert gan.generator_average is None
    with gan.averaged_generators():
        pass
    assert gan.exported_weights.startswith("live")


@pytest.fixture(scope="module")
def quality_run(tmp_path_factory):
    out = str(tmp_path_factory.mktemp("runs") / "quality")
    train(QUALITY_RUN, out, verbose=0)
    return out


def test_quality_is_measured_logged_and_the_best_checkpoint_kept(quality_run):
    with open(os.path.join(quality_run, "history.csv")) as f:
        rows = list(csv.DictReader(f))
    assert [row["epoch"] for row in rows] == ["1", "2"]
    fids = [float(row["fid"]) for row in rows]
    assert all(np.isfinite(fids)) and all(0 <= float(row["recall"]) <= 1 for row in rows)
    assert all(float(row["g_learning_rate"]) == pytest.approx(2e-4) for row in rows)
    record = RunFolder(quality_run).best_record()
    assert record["fid"] == pytest.approx(min(fids)) and record["epoch"] == 1 + int(np.argmin(fids))
    assert os.path.isfile(os.path.join(quality_run, "checkpoints", "best", "ckpt.index"))
    tensorboard = os.listdir(os.path.join(quality_run, "logs"))
    assert {"samples", "steps", "train"} <= set(tensorboard)


def test_resume_restores_the_average_exactly(quality_run, tmp_path):
    from training.run import load_trained_model

    resumed = str(tmp_path / "resumed")
    train({**QUALITY_RUN, "epochs": 1}, resumed, verbose=0)
    model = train({"epochs": 2}, resumed, resume=True, verbose=0)
    reference, _ = load_trained_model(quality_run, checkpoint="latest")
    # load_trained_model put the averages into the generator: compare them with the resumed run's averages
    for a, b in zip(model.generator_average.values(), reference.generator_weights):
        np.testing.assert_allclose(np.array(a), np.array(b), rtol=1e-5, atol=1e-6)


def test_a_run_loads_with_its_live_weights_when_asked_and_swaps_the_averages_in(quality_run):
    from training.run import load_trained_model

    live, _ = load_trained_model(quality_run, checkpoint="latest", averaged=False)
    averaged, _ = load_trained_model(quality_run, checkpoint="latest")
    assert any(not np.allclose(a, b) for a, b in zip(weights(live.generator_weights),
                                                      weights(averaged.generator_weights)))
    with live.averaged_generators():
        for a, b in zip(live.generator_weights, averaged.generator_weights):
            np.testing.assert_array_equal(np.array(a), np.array(b))


def test_export_takes_the_best_checkpoint_and_says_which_weights(quality_run, tmp_path):
    import onnx

    from export.writer import export_run

    manifest = export_run(quality_run, str(tmp_path / "export"))
    metadata = manifest["generators"]["generator"]["metadata"]
    best = RunFolder(quality_run).best_record()
    assert metadata["checkpoint"].startswith(f"best of the measured epochs (epoch {best['epoch']}")
    assert metadata["weights"] == "exponential moving average, decay 0.9"
    props = {p.key: p.value for p in onnx.load(str(tmp_path / "export" / "generator.onnx")).metadata_props}
    assert props["weights"] == metadata["weights"]


def test_a_generator_that_has_not_stepped_logs_no_loss(tmp_path):
    """WGAN's reference schedule: 100 critic steps before the first generator step."""
    seen = []

    class Record(keras.callbacks.Callback):
        def on_train_batch_end(self, batch, logs=None):
            seen.append(dict(logs))

    wgan = build("wgan")
    data = tf.data.Dataset.from_tensors(batch(IMAGES, 8)).repeat()
    wgan.fit(data, steps_per_epoch=3, epochs=1, verbose=0, shuffle=False,  # Keras ignores it for tf.data, and warns
             callbacks=[GANLogs(str(tmp_path)), Record()])
    assert len(seen) == 3 and all("g_loss" not in logs and "d_loss" in logs for logs in seen)


@pytest.mark.parametrize("metrics,failures", [
    ({"fid": 40.0, "recall": 0.8, "precision": 0.9}, []),
    ({"fid": 140.0, "recall": 0.8, "precision": 0.99}, ["domain FID 140.0, above 100"]),
    # precision alone never passes a model
    ({"fid": 40.0, "recall": 0.3, "precision": 0.997}, ["recall 0.300, below 0.5"]),
    ({"fid": 40.0, "recall": 0.8, "precision": 0.9, "conditional": {"accuracy": 0.8}},
     ["label accuracy 0.800, below 0.9"]),
    ({"translation": {"A->B": {"target_class_share": 0.97}, "B->A": {"target_class_share": 0.5}}},
     ["B->A: 0.500 of test images classified as the target class, below 0.9"]),
    ({"modes": {"modes_covered": 8, "modes": 8, "high_quality": 0.99}}, []),
    ({"modes": {"modes_covered": 5, "modes": 8, "high_quality": 0.5}},
     ["5 modes covered, below 6.3", "0.500 of samples high quality, below 0.982"]),
])
def test_quality_gate(metrics, failures):
    from export.publish import gate_failures

    assert gate_failures(metrics, "ring8") == failures


def test_quality_curve_is_read_from_the_history_and_drawn(quality_run):
    from export.cards import curve_plot, history_rows, quality_curve

    epochs, values, label, lower_is_better = quality_curve(history_rows(quality_run))
    assert list(epochs) == [1, 2] and label == "domain FID" and lower_is_better
    picture = curve_plot(epochs, values, label, lower_is_better)
    assert picture.dtype == np.uint8 and picture.ndim == 3 and (picture != 255).any()


@pytest.mark.parametrize("values", [np.linspace(0.88, 0.98, 20), np.linspace(300.0, 28.0, 20),
                                    np.geomspace(117.2, 2.29, 20), np.full(20, 0.5)])
def test_quality_curve_fills_the_plot_and_stays_inside_it(values):
    # a share between 0.88 and 0.98 was once drawn flat along the bottom of a 0-1 axis, and a FID falling from
    # 117 ran above a 0-100 axis
    from export.cards import curve_plot
    from zoo.grid import _round_ticks

    ticks = _round_ticks(values.min(), values.max())
    assert len(ticks) >= 2 and ticks[0] <= values.min() and ticks[-1] >= values.max()
    picture = curve_plot(np.arange(1, 21), values, "measure", lower_is_better=values[0] > values[-1])
    plot_area = picture[50:-45]  # below the title and legend, above the epoch labels
    rows = np.flatnonzero((plot_area == (31, 119, 180)).all(axis=-1).any(axis=1))
    assert np.ptp(values) == 0 or rows.max() - rows.min() > 0.6 * len(plot_area)


def test_publish_refuses_a_model_below_the_gate_unless_forced(quality_run, tmp_path):
    from export.cards import card, read_index
    from export.publish import PublishError, publish_run

    hub = str(tmp_path / "hub")
    with pytest.raises(PublishError, match="quality gate"):
        publish_run(quality_run, "tiny", hub)
    assert not os.path.exists(os.path.join(hub, "tiny"))
    assert publish_run(quality_run, "tiny", hub, force=True) == ["tiny"]
    entry = read_index(hub)["models"]["tiny"]
    assert not entry["gate"]["passed"] and entry["quality_curve"]["file"] in entry["files"]
    assert entry["quality_curve"]["pace"] == {}  # two epochs are too few to fit a pace on
    text = card("tiny", entry, "tiny/samples.png")
    assert "Below the zoo's quality gate" in text and "tiny/quality.png" in text
    # what trained it, as training printed it (history.csv's devices column)
    devices = entry["training"]["machine"]
    assert "not recorded" not in devices and ("CPU" in devices or "GPU" in devices)
    assert f"devices: {devices}." in text
    with open(os.path.join(hub, "tiny", "evaluation.json")) as f:
        assert not json.load(f)["generator"].startswith("/")


def test_card_says_what_trained_each_stretch_of_epochs():
    from export.publish import _devices

    gpu = "GPU: NVIDIA H100 80GB HBM3"
    rows = [{"epoch": str(epoch), "devices": "CPU, 2 cores" if epoch <= 2 else gpu} for epoch in range(1, 5)]
    assert _devices(rows[:2]) == "CPU, 2 cores"
    assert _devices(rows) == f"CPU, 2 cores (epochs 1-2); {gpu} (epochs 3-4)"
    # a run begun before history.csv had the column, then resumed
    assert _devices([{"epoch": "1", "devices": None}, *rows[1:2]]) == "not recorded (epoch 1); CPU, 2 cores (epoch 2)"


def test_card_names_the_goals_a_model_misses_and_whether_training_was_still_improving():
    from export.cards import missed_goals, quality_sentence

    metrics = {"fid": 42.9, "precision": 0.72, "recall": 0.71, "floor": {"fid": 0.27}}
    assert missed_goals(metrics) == ["recall 0.710 (at least 0.75)"]
    entry = {"metrics": metrics, "gate": {"passed": True, "failures": []}, "training": {"epochs": 30},
             "quality_curve": {"best_epoch": 29}}
    assert "misses the zoo's goal for recall 0.710 (at least 0.75); its quality was still improving at epoch " \
           "29 of 30, but how the missed measure moved was not recorded, so whether a longer run would reach the " \
           "goal is not known." in quality_sentence(entry)
    entry["quality_curve"]["best_epoch"] = 12
    assert quality_sentence(entry).endswith("(at least 0.75).")
    near_miss = {**entry, "metrics": {**metrics, "recall": 0.748}}  # not "recall 0.75 ... misses 0.75"
    assert quality_sentence(near_miss).startswith("Domain FID 42.9 (real data: 0.27), recall 0.748, precision 0.720")
    assert missed_goals({**metrics, "recall": 0.8}) == [] and "meets the zoo's goals" in quality_sentence(
        {**entry, "metrics": {**metrics, "recall": 0.8}})
    translation = {"translation": {"A->B": {"target_class_share": 0.97}, "B->A": {"target_class_share": 0.9},
                                   "cycle_l1_A": 0.04, "cycle_l1_B": 0.06}}
    assert missed_goals(translation) == ["target-class share B->A 0.900 (at least 0.95)",
                                         "cycle L1 error B 0.060 (at most 0.05)"]
    assert missed_goals({"dataset": "ring8", "modes": {"modes_covered": 8, "modes": 8, "high_quality": 0.96}}) == []
    assert missed_goals({"dataset": "grid25", "modes": {"modes_covered": 24, "modes": 25, "high_quality": 0.85}}) \
        == ["modes covered 24 (at least 25)", "high-quality share 0.850 (at least 0.9)"]
    conditional = {**metrics, "recall": 0.8, "conditional": {"accuracy": 0.948},
                   "features": {"test_accuracy": 0.9301}}
    entry = {**entry, "metrics": conditional, "quality_curve": {"best_epoch": 29, "measure": "domain FID"}}
    assert quality_sentence(entry).endswith(
        "misses the zoo's goal for label accuracy 0.948 (at least 0.95); its domain FID was still improving at "
        "epoch 29 of 30, but how the missed measure moved was not recorded, so whether a longer run would reach "
        "the goal is not known. The classifier itself labels 93.0 % of the real test images correctly.")


def test_goal_pace_is_the_slope_of_the_last_quarter_of_the_measured_epochs(tmp_path):
    from export.cards import PACE_POINTS, goal_pace, history_rows

    epochs = np.arange(1, 41)
    recall = 0.5 + 0.001 * epochs + np.where(epochs % 2, 0.002, -0.002)  # a rising line with a zigzag on it
    with open(tmp_path / "history.csv", "w", newline="") as f:
        writer = csv.writer(f)
        writer.writerow(["epoch", "recall", "precision", "label_accuracy", "fid"])
        writer.writerows([epoch, value, 0.7, "" if epoch % 6 else 0.9, "nan" if epoch == 38 else 60 - epoch]
                         for epoch, value in zip(epochs, recall))
    pace = goal_pace(history_rows(str(tmp_path)))
    assert pace["recall"]["epochs"] == [31, 40]  # the last quarter
    assert pace["recall"]["per_epoch"] == pytest.approx(0.001, abs=2e-4)
    assert 0 < pace["recall"]["standard_error"] < 5e-4
    assert pace["precision"] == {"epochs": [31, 40], "per_epoch": 0.0, "standard_error": 0.0}
    # a diverged epoch's nan is left out of the fit, not carried into it (or into the index as NaN)
    assert pace["fid"]["epochs"] == [31, 40] and pace["fid"]["per_epoch"] == pytest.approx(-1.0)
    assert "label_accuracy" not in pace  # measured on 6 epochs only, fewer than PACE_POINTS
    short = goal_pace(history_rows(str(tmp_path))[:2 * PACE_POINTS])  # under 4 PACE_POINTS: the last PACE_POINTS
    assert short["recall"]["epochs"] == [PACE_POINTS + 1, 2 * PACE_POINTS]
    assert goal_pace(history_rows(str(tmp_path / "missing"))) == {}


def test_every_goal_a_card_can_name_has_its_history_column_fitted():
    from export.cards import GOAL_COLUMNS, _misses

    fashion = {"fid": 99.0, "precision": 0.1, "recall": 0.1, "conditional": {"accuracy": 0.1}}
    translation = {"translation": {"A->B": {"target_class_share": 0.1}, "B->A": {"target_class_share": 0.1},
                                   "cycle_l1_A": 0.9, "cycle_l1_B": 0.9}}
    toy = {"dataset": "grid25", "modes": {"modes_covered": 1, "modes": 25, "high_quality": 0.1}}
    columns = {column for metrics in (fashion, translation, toy) for _, column, *_ in _misses(metrics)}
    assert len(columns) == 10 and columns == set(GOAL_COLUMNS)


def test_card_says_from_the_pace_whether_a_longer_run_would_reach_a_missed_goal():
    from export.cards import quality_sentence

    metrics = {"fid": 42.9, "precision": 0.72, "recall": 0.74, "floor": {"fid": 0.27},
               "conditional": {"accuracy": 0.948}, "features": {"test_accuracy": 0.9301}}
    rising = {"epochs": [46, 60], "per_epoch": 0.0005, "standard_error": 0.0001}
    flat = {"epochs": [46, 60], "per_epoch": 0.0001, "standard_error": 0.0001}
    entry = {"metrics": metrics, "gate": {"passed": True, "failures": []}, "training": {"epochs": 60},
             "quality_curve": {"best_epoch": 60, "pace": {"recall": rising, "label_accuracy": flat}}}
    sentence = quality_sentence(entry)
    assert ("misses the zoo's goal for recall 0.740 (at least 0.75), label accuracy 0.948 (at least 0.95). Recall "
            "still improved over epochs 46-60 of training (+0.0005 ± 0.0001 an epoch): at that pace its gap of "
            "0.01 to 0.75 closes in about 20 more epochs; label accuracy did not measurably improve over epochs "
            "46-60 of training (+0.0001 ± 0.0001 an epoch), so there is no sign that a longer run alone would "
            "reach it. The classifier itself labels 93.0 % of the real test images correctly.") in sentence
    assert "was not recorded" not in sentence  # the best epoch's rule is for entries without a pace
    entry["quality_curve"]["pace"]["recall"] = {**rising, "per_epoch": 0.0001, "standard_error": 0.00001}
    assert "closes not within another 60 epochs (as many as it trained)" in quality_sentence(entry)
    # a FID falling is progress; one rising is not
    worse = {**metrics, "fid": 55.0, "recall": 0.8, "conditional": {"accuracy": 0.96}}
    falling = {"epochs": [46, 60], "per_epoch": -0.5, "standard_error": 0.1}
    entry = {**entry, "metrics": worse, "quality_curve": {"best_epoch": 60, "pace": {"fid": falling}}}
    assert "gap of 5 to 50 closes in about 10 more epochs." in quality_sentence(entry)
    entry["quality_curve"]["pace"]["fid"] = {**falling, "per_epoch": 0.5}
    assert "Domain FID did not measurably improve over epochs 46-60" in quality_sentence(entry)
    # and so is a cycle error falling, on a CycleGAN's own columns
    translation = {"translation": {"A->B": {"target_class_share": 0.97}, "B->A": {"target_class_share": 0.97},
                                   "cycle_l1_A": 0.06, "cycle_l1_B": 0.04}}
    pace = {"cycle_l1_A": {"epochs": [16, 20], "per_epoch": -0.002, "standard_error": 0.0005}}
    entry = {"metrics": translation, "training": {"epochs": 20}, "quality_curve": {"best_epoch": 20, "pace": pace}}
    assert quality_sentence(entry).endswith(
        "misses the zoo's goal for cycle L1 error A 0.060 (at most 0.05). Cycle L1 error A still improved over "
        "epochs 16-20 of training (-0.002 ± 0.0005 an epoch): at that pace its gap of 0.01 to 0.05 closes in "
        "about 5 more epochs.")
    # a run measured on too few epochs for a pace says so, rather than guessing from its best epoch
    entry["quality_curve"]["pace"] = {}
    assert quality_sentence(entry).endswith(
        "(at most 0.05). Too few epochs were measured to tell whether a longer run would reach it.")


def test_conditional_card_lists_the_intra_class_fid_of_every_class():
    from export.cards import _measured
    from zoo.classifier import CLASS_NAMES

    floor = {"fid": 0.3, "kid": 0.0, "precision": 0.9, "recall": 0.9}
    metrics = {"fid": 20.0, "kid": 1.0, "precision": 0.8, "recall": 0.8, "floor": floor, "samples": 10000,
               "features": {"test_accuracy": 0.93, "sha256": "0" * 64},
               "conditional": {"accuracy": 0.96, "intra_class_fid": 4.5, "per_class_fid": list(range(10))}}
    text = _measured({"metrics": metrics, "variant": "cgan", "config": {}})
    assert "| intra-class domain FID (mean of 10) | 4.5000 | |" in text
    for label, name in enumerate(CLASS_NAMES):
        assert f"| intra-class domain FID, {label} {name} | {label:.4f} | |" in text


@pytest.mark.parametrize("config,words", [
    ({"width": 32, "generator_conditioning": "batchnorm"}, "class-conditional batch norm in the generator"),
    ({"width": 32, "generator_conditioning": "concat", "pack": 2}, "judges packs of 2 samples"),
    ({"width": 32, "generator_conditioning": "concat", "auxiliary_classifier": 1.0},
     "an auxiliary classifier in the discriminator, its loss weighted 1 (AC-GAN"),
])
def test_card_names_the_nets_options_that_shape_the_model(config, words):
    from export.cards import _what

    entry = {"variant": "cgan", "config": config, "kind": "conditional", "output": {"name": "images"}}
    assert words in _what(entry)
    assert ("batch norm" in _what(entry)) == (config["generator_conditioning"] == "batchnorm")


def test_translation_card_says_where_the_residual_blocks_work():
    from export.cards import _nets

    entry = {"kind": "translation", "config": {"residual_blocks": 6, "width": 16, "generator_downsamplings": 1}}
    assert _nets(entry) == ("a ResNet generator of 6 residual blocks at 1/2 of the image's size and a PatchGAN "
                            "discriminator, width 16")
    entry["config"]["generator_skips"] = True
    assert "1/2 of the image's size with U-Net skip connections (Ronneberger et al. 2015) and" in _nets(entry)
    entry["config"]["generator_keeps_contrast"] = True
    assert "U-Net skip connections (Ronneberger et al. 2015), its first layer without instance norm (which would " \
        "divide out the image's contrast) and a PatchGAN" in _nets(entry)
    del entry["config"]["generator_downsamplings"], entry["config"]["generator_skips"]  # from before the options
    del entry["config"]["generator_keeps_contrast"]
    assert _nets(entry) == "a ResNet generator of 6 residual blocks and a PatchGAN discriminator, width 16"


def test_every_hub_model_names_the_recipe_that_trains_it():
    from training.config import read_config_file, training_differences
    from zoo.hub import REPOSITORY_HUB

    with open(os.path.join(REPOSITORY_HUB, "index.json")) as f:
        models = json.load(f)["models"]
    for name, entry in models.items():
        assert entry["recipe"], name
        recipe = read_config_file(os.path.join(REPOSITORY_HUB, "..", "..", entry["recipe"]))
        trained = {**entry["config"], "epochs": entry["training"]["epochs"]}
        assert training_differences(trained, recipe) == [], name
    # the learning rate is not fixed on resume, yet it decides the weights: a recipe must agree on it
    gan = {"model": "gan", "learning_rate": 2e-4}
    assert training_differences(gan, {**gan, "learning_rate": 1e-3}) == [("learning_rate", 2e-4, 1e-3)]
    assert training_differences(gan, {**gan, "jit": True, "strategy": "mirrored"}) == []
    assert training_differences(gan, {"model": "wgan"}) == [("model", "gan", "wgan")]


def test_every_hub_card_says_what_the_cards_code_writes():
    """A card's words change with the code (`python -m export cards` rewrites them): none is left behind."""
    from export.cards import CARD_FILE, hub_card, read_index
    from zoo.hub import REPOSITORY_HUB

    for name, entry in read_index(REPOSITORY_HUB)["models"].items():
        with open(os.path.join(REPOSITORY_HUB, name, CARD_FILE), encoding="utf-8") as f:
            assert f.read() == hub_card(name, entry), f"{name}: run `python -m export cards`"


def test_a_decaying_learning_rate_is_checked_against_the_recipe(tmp_path):
    from export.publish import PublishError, _check_recipe

    # WGAN-GP on a toy with --learning-rate-decay: 2 epochs of 8 critic steps, a generator step every 2nd
    config = {"model": "wgan_gp", "dataset": "ring8", "mlp": "plain", "width": 8, "latent_dim": 2, "n_critic": 2,
              "train_examples": 256, "batch_size": 32, "epochs": 2, "learning_rate": 1e-3,
              "learning_rate_decay": True}
    recipe = tmp_path / "recipe.json"
    recipe.write_text(json.dumps(config))
    run = str(tmp_path / "run")
    train(config, run, verbose=0)
    with open(os.path.join(run, "history.csv"), newline="") as f:
        rates = [(row["steps"], float(row["g_learning_rate"]), float(row["d_learning_rate"]))
                 for row in csv.DictReader(f)]
    held = pytest.approx(1e-3)  # held for the first half, then down to 0, both players alike
    assert rates == [("4", held, held), ("8", 0.0, 0.0)]
    _check_recipe(str(recipe), run)  # the recipe trains it
    # lengthened on a resume: epoch 2 ended at 0, where a schedule of 3 epochs holds 1e-3 * 4 / 6
    train({"epochs": 3}, run, resume=True, verbose=0)
    recipe.write_text(json.dumps({**config, "epochs": 3}))
    with pytest.raises(PublishError, match=r"logged g_learning_rate 0 at epoch 2 where the schedule of its 3 "
                                           r"epochs gives 0\.000666667"):
        _check_recipe(str(recipe), run)


def test_publish_refuses_a_recipe_for_weights_that_no_recipe_trains(trained_run, cyclegan_run, tmp_path):
    import shutil

    from export.publish import PublishError, publish_run

    def refused(run, config, message):
        recipe = tmp_path / "recipe.json"
        recipe.write_text(json.dumps(config))
        with pytest.raises(PublishError, match=message):
            publish_run(run, "tiny", str(tmp_path / "hub"), recipe=str(recipe), force=True)
        assert not os.path.exists(tmp_path / "hub")

    def copy(run, name):
        shutil.copytree(run, tmp_path / name, ignore=shutil.ignore_patterns("export"))
        return str(tmp_path / name)

    # a learning rate lowered on a resume: the recipe's one rate trains neither half
    resumed = str(tmp_path / "resumed")
    train({**TINY, "epochs": 1}, resumed, verbose=0)
    train({"epochs": 2, "learning_rate": 1e-4}, resumed, resume=True, verbose=0)
    refused(resumed, {**TINY, "learning_rate": 1e-4}, r"resumed changed its g_learning_rate to 0\.0001 at epoch 2 "
                                                      r"\(on a resume\), so no recipe trains its weights")
    # CycleGAN stopped after epoch 1 of 2: its rate decayed over 2 epochs, a recipe of 1 would decay over 1
    stopped = copy(cyclegan_run[0], "stopped")
    config = json.loads((tmp_path / "stopped" / "config.json").read_text())
    (tmp_path / "stopped" / "config.json").write_text(json.dumps({**config, "epochs": 2}))
    refused(stopped, config, r"stopped trained 1 of the 2 epochs its learning rate decays over")
    # CycleGAN whose epoch 1 decayed along a schedule of 2 epochs before a resume shortened it to 1: the
    # rate then ends at 0.0002 * (2 - 1) / 1 where a schedule of 1 epoch ends at 0
    shortened = copy(cyclegan_run[0], "shortened")
    with open(tmp_path / "shortened" / "history.csv", newline="") as f:
        rows = list(csv.DictReader(f))
    assert float(rows[0]["g_learning_rate"]) == 0.0  # the real run followed its schedule
    with open(tmp_path / "shortened" / "history.csv", "w", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerow({**rows[0], "g_learning_rate": "0.0002"})
    refused(shortened, config, r"shortened logged g_learning_rate 0\.0002 at epoch 1 where the schedule of its 1 "
                               r"epochs gives 0: its schedule changed on a resume")
    # stopped inside an epoch with no best epoch kept: export would take those weights
    inside = copy(trained_run[0], "inside")
    latest = json.loads((tmp_path / "inside" / "checkpoints" / "latest.json").read_text())
    (tmp_path / "inside" / "checkpoints" / "latest.json").write_text(json.dumps(
        {**latest, "checkpoint": "epoch-0002-step-000003/ckpt", "epoch": 2, "step": 3}))
    refused(inside, TINY, r"inside stopped inside epoch 3 and measured no best epoch")
    os.remove(tmp_path / "inside" / "history.csv")
    refused(inside, TINY, r"inside has finished no epoch \(no history\.csv\): train it for at least one")
