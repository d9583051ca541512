"""The toy recipes (PacGAN's 2-D setup), their nets, and the aggregation of benchmarks/toy_modes.py."""

import json
import os

import numpy as np
import pytest

from benchmarks.toy_misses import miss_breakdown, standing_statistics
from export.cards import history_rows
from benchmarks.toy_modes import (TOYS, VARIANTS, KeptRunError, format_table, generator_steps_per_epoch, main,
                                  recipe_path, run_config, score_run, summarise, train_and_score)
from zoo.metrics import PACGAN_TABLE
from training import data as datasets
from zoo import toys
from training.config import read_config_file, resolve
from training.run import RunFolder, build_model
from zoo.nets.mlp import Maxout, mlp_nets

RECIPES = [(variant, toy) for variant in VARIANTS for toy in TOYS]


@pytest.mark.parametrize("variant, toy", RECIPES)
def test_every_benchmarked_recipe_resolves_to_pacgan_nets_on_its_toy(variant, toy):
    config = resolve(read_config_file(recipe_path(variant, toy)))
    assert config["dataset"] == toy and config["mlp"] == "pacgan" and config["latent_dim"] == 2
    assert config["batch_size"] % config.get("pack", 1) == 0


def test_steps_convert_to_enough_epochs_of_each_recipe():
    assert generator_steps_per_epoch(resolve(run_config("gan", "ring8", 0))) == 1000  # 100,000 / 100
    assert generator_steps_per_epoch(resolve(run_config("gan-pack4", "ring8", 0))) == 250  # 100 packs of 4
    assert generator_steps_per_epoch(resolve(run_config("wgan-gp", "ring8", 0))) == 78  # 390 critic batches / 5
    config = run_config("gan-pack4", "grid25", 3, steps=1001)
    assert config["seed"] == 3 and config["epochs"] == 5


@pytest.mark.parametrize("variant", VARIANTS)
def test_each_recipe_trains_a_step_on_its_own_batch(variant):
    config = resolve({**read_config_file(recipe_path(variant, "ring8")), "jit": False, "train_examples": 1024})
    data = datasets.load("ring8", limit=config["train_examples"])
    model = build_model(config, data.spec)
    real, labels = next(iter(data.batches(config["batch_size"], 0, 0, model.real_batches_per_step)))
    packs, _ = model.packed(real, None)
    assert tuple(packs.shape) == (config["batch_size"] // config["pack"], 2 * config["pack"])
    if config["model"] == "gan":
        assert packs.shape[0] == 100  # PacGAN's batches: 100 packs (of 1 or 4 samples)
    logs = model.train_step((real, labels))
    assert all(np.isfinite(float(value)) for value in logs.values())


def test_maxout_takes_the_largest_of_each_units_pieces():
    layer = Maxout(3, pieces=2)
    x = np.random.default_rng(0).standard_normal((4, 5)).astype("float32")
    out = np.asarray(layer(x))
    affine = np.asarray(layer.affine(x))
    np.testing.assert_allclose(out, affine.reshape(4, 3, 2).max(axis=-1), rtol=1e-6)


def test_pacgan_nets_layers_of_one_shape_start_from_different_weights():
    generator, discriminator = mlp_nets("pacgan", 2, 2, width=8)
    kernels = [w for w in generator.weights if w.name == "kernel" and tuple(w.shape) == (16, 16)]
    assert len(kernels) == 3 and not np.allclose(kernels[0], kernels[1])
    assert discriminator.output.shape == (None, 1)
    assert 0.01 < float(np.std(kernels[0])) < 0.03  # N(0, 0.02^2), as PacGAN initialises


def fake_result(toy, variant, seed, modes, quality):
    scores = {"modes_covered": modes, "modes": 8 if toy == "ring8" else 25, "high_quality": quality}
    return {"dataset": toy, "variant": variant, "seed": seed, "generator_steps": 1000, "final": scores,
            "published": scores}


def test_summary_gives_mean_and_sample_spread_over_seeds_beside_the_published_row():
    results = [fake_result("ring8", "gan", 0, 8, 0.96), fake_result("ring8", "gan", 1, 6, 0.90),
               fake_result("grid25", "wgan-gp", 0, 20, 0.5)]
    gan, wgan_gp = summarise(results, "final")
    assert gan["seeds"] == 2 and gan["modes_covered"] == pytest.approx((7.0, np.sqrt(2)))
    assert gan["high_quality"] == pytest.approx((93.0, np.std([96, 90], ddof=1)))
    assert gan["published"] == PACGAN_TABLE[("ring8", "gan")] and wgan_gp["published"] is None
    assert wgan_gp["modes_covered"] == (20.0, 0.0)  # one seed: no spread
    table = format_table([gan, wgan_gp], "final").splitlines()
    assert "7.0 ± 1.4 /8" in table[2] and "93.0 ± 4.2" in table[2] and "6.3 / 98.2 %" in table[2]
    assert "20.0 ± 0.0 /25" in table[3] and table[3].rstrip().endswith("-")


def test_a_run_trained_apart_is_scored_as_its_config_says(tmp_path, capsys):
    from training.train import train

    run = str(tmp_path / "pack4-ring8")
    train({**read_config_file(recipe_path("gan-pack4", "ring8")), "seed": 3, "epochs": 2, "jit": False,
           "train_examples": 1200, "steps_per_execution": 1}, run, verbose=0)
    result = score_run(run)
    assert (result["dataset"], result["variant"], result["seed"]) == ("ring8", "gan-pack4", 3)
    assert result["generator_steps"] == 6 and result["seconds"] > 0  # 2 epochs of 1,200 examples in packs of 400
    for checkpoint in ("final", "published"):
        assert result[checkpoint]["modes"] == 8 and 0 <= result[checkpoint]["high_quality"] <= 1
    with pytest.raises(SystemExit):
        main(["--score", run, str(tmp_path)])  # the second is no run: refused before anything is scored
    assert f"not a run folder (it lacks config.json or checkpoints/): {tmp_path}; pass folders" in capsys.readouterr().err


def test_kept_runs_resume_where_they_stopped_and_a_finished_one_is_only_scored(tmp_path):
    run = str(tmp_path / "gan-ring8-seed1")
    small = {**run_config("gan", "ring8", 1), "jit": False, "train_examples": 1000, "steps_per_execution": 1}
    first = train_and_score({**small, "epochs": 1}, run)
    assert first["generator_steps"] == 10 and first["seed"] == 1
    epoch_one = history_rows(run)[0]
    resumed = train_and_score({**small, "epochs": 2}, run)  # a later start of the benchmark, a longer budget
    assert resumed["generator_steps"] == 20
    assert history_rows(run)[0] == epoch_one  # continued, not trained again from the start
    again = train_and_score({**small, "epochs": 2}, run)
    assert len(history_rows(run)) == 2 and again["final"] == resumed["final"]
    with pytest.raises(KeptRunError, match="is a run of 2 epochs, more than the 1 asked for"):
        train_and_score({**small, "epochs": 1}, run)  # a shorter budget would score the longer run as its own
    before = sorted(os.listdir(run)), history_rows(run)
    with pytest.raises(KeptRunError, match=r"is a run trained with learning_rate=0.0001, not the recipe's 0.001: pass"):
        train_and_score({**small, "epochs": 2, "learning_rate": 0.001}, run)  # another recipe, refused untouched
    assert (sorted(os.listdir(run)), history_rows(run)) == before


def test_a_kept_run_whose_learning_rate_decays_over_its_epochs_is_not_stretched_over_more(tmp_path):
    run = str(tmp_path / "wgan-gp-ring8-seed0")
    short = {**run_config("wgan-gp", "ring8", 0), "jit": False, "train_examples": 1000, "epochs": 1}
    train_and_score(short, run)
    before = sorted(os.listdir(run)), history_rows(run)
    with pytest.raises(KeptRunError, match="is a run of 1 epochs, over which its learning rate decays, not over the "
                                           r"2 asked for: run the command it was started with \(its --steps"):
        train_and_score({**short, "epochs": 2}, run)
    assert (sorted(os.listdir(run)), history_rows(run)) == before


def test_a_kept_run_that_training_cannot_resume_or_is_in_use_is_refused_with_this_benchmarks_fix(tmp_path, capsys):
    run = tmp_path / "gan-ring8-seed0"
    (run / "checkpoints").mkdir(parents=True)  # a run stopped before its first checkpoint
    config = json.dumps(resolve(run_config("gan", "ring8", 0)))
    (run / "config.json").write_text(config)
    with pytest.raises(SystemExit) as exit_:
        main(["--variants", "gan", "--datasets", "ring8", "--seeds", "0", "--runs", str(tmp_path)])
    assert exit_.value.code == 2
    assert capsys.readouterr().err.strip().endswith(f"has no checkpoint (no epoch finished): start over with "
                                                    f"--overwrite; here: move {run} away, or pass another --runs")
    assert sorted(set(os.listdir(run)) - {".lock"}) == ["checkpoints", "config.json"]  # the lock file is training's
    assert (run / "config.json").read_text() == config and not os.listdir(run / "checkpoints")
    with RunFolder(str(run)).lock(), pytest.raises(SystemExit):  # another command of the benchmark trains it
        main(["--variants", "gan", "--datasets", "ring8", "--seeds", "0", "--runs", str(tmp_path)])
    assert capsys.readouterr().err.strip().endswith("; here: give the commands that share --runs different --seeds")
    (run / "config.json").write_text("{")  # damaged
    with pytest.raises(SystemExit):
        main(["--variants", "gan", "--datasets", "ring8", "--seeds", "0", "--runs", str(tmp_path)])
    err = capsys.readouterr().err.strip()
    assert "config.json is not valid JSON" in err and err.endswith(
        f"this folder holds no usable run: start over with --overwrite; here: move {run} away, or pass another --runs")


def test_kept_runs_folder_that_holds_something_else_is_refused_untouched(tmp_path, capsys):
    foreign = tmp_path / "gan-ring8-seed0"
    foreign.mkdir()
    (foreign / "notes.txt").write_text("mine")
    with pytest.raises(SystemExit) as exit_:
        main(["--variants", "gan", "--datasets", "ring8", "--seeds", "0", "--runs", str(tmp_path)])
    assert exit_.value.code == 2
    assert f"error: {foreign} holds files but is not a run folder" in capsys.readouterr().err
    assert os.listdir(foreign) == ["notes.txt"] and (foreign / "notes.txt").read_text() == "mine"
    with pytest.raises(SystemExit):
        main(["--variants", "gan", "--datasets", "ring8", "--runs", str(foreign / "notes.txt")])
    assert "notes.txt is a file, not a folder: name a folder" in capsys.readouterr().err
    assert (foreign / "notes.txt").read_text() == "mine"


def test_an_interrupted_benchmark_says_how_to_resume_its_kept_run(tmp_path, monkeypatch, capsys):
    from benchmarks import toy_modes
    from training.callbacks import TrainingInterrupted

    def interrupted(config, run):
        raise TrainingInterrupted("interrupted by SIGINT at step 3 of epoch 1")

    monkeypatch.setattr(toy_modes, "train_and_score", interrupted)
    with pytest.raises(SystemExit) as exit_:
        main(["--variants", "gan", "--datasets", "ring8", "--seeds", "2", "--runs", str(tmp_path)])
    assert exit_.value.code == 130
    assert f"{tmp_path / 'gan-ring8-seed2'} keeps a checkpoint: run the same command again" in capsys.readouterr().err


def test_miss_breakdown_of_real_ring_data_and_of_samples_between_modes():
    modes = toys.ring8_modes()
    std = toys.TOY_STD["ring8"]
    rng = np.random.default_rng(0)
    real = modes[rng.integers(0, 8, 20_000)] + rng.normal(0, std, (20_000, 2))
    result = miss_breakdown(real, modes, std)
    assert result["high_quality"] == pytest.approx(1 - np.exp(-4.5), abs=0.003)  # 2-D: P(|x| <= 3 std)
    assert result["far_misses"] == 0 and result["modes_covered"] == 8
    assert result["centre_offset"] < 0.1 and result["spread"] == pytest.approx(1, abs=0.03)
    # a quarter of the samples halfway between two neighbouring modes: far misses, the clusters unchanged
    between = np.repeat((modes[:1] + modes[1:2]) / 2, 5_000, axis=0)
    result = miss_breakdown(np.concatenate([real[:15_000], between]), modes, std)
    assert result["far_misses"] == pytest.approx(0.25) and result["spread"] == pytest.approx(1, abs=0.03)


def test_standing_statistics_are_the_mean_of_the_batch_statistics():
    import keras

    from zoo.prior import latents

    dense = keras.layers.Dense(3)
    generator = keras.Sequential([keras.Input((2,)), dense, keras.layers.BatchNormalization(momentum=0.9)])
    norm = generator.layers[-1]
    standing_statistics(generator, latent_dim=2, batch_size=50, batches=4, seed=7)
    pre = np.asarray(dense(latents(200, 2, 7))).reshape(4, 50, 3)
    np.testing.assert_allclose(np.array(norm.moving_mean), pre.mean(axis=1).mean(axis=0), rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(np.array(norm.moving_variance), pre.var(axis=1).mean(axis=0), rtol=1e-4, atol=1e-6)
    assert norm.momentum == 0.9


def test_quality_probe_draws_other_noise_than_the_published_evaluation():
    from training.evaluate import QualityProbe, evaluate_toy

    class PointGenerators:  # what the probe and evaluation read of a generator; records every z it is given
        kind, dataset, latent_dim, num_classes = "noise", "ring8", 2, 0

        def __init__(self):
            self.z = []

        def generate(self, z, labels):
            self.z.append(z)
            return np.zeros((len(z), 2), np.float32)

    probed, evaluated = PointGenerators(), PointGenerators()
    QualityProbe("ring8", 2500, seed=0).measure(probed)
    QualityProbe("ring8", 2500, seed=0).measure(probed)
    evaluate_toy(evaluated, 0)  # what `python -m training.evaluate` and publishing measure, seed 0
    # the best epoch is picked on the probe's samples, the same at every epoch, never the evaluation's
    assert np.array_equal(*probed.z) and not np.array_equal(probed.z[0], evaluated.z[0])


def test_a_probe_of_several_draws_scores_their_mean_and_gates_on_the_worst():
    from training.evaluate import QualityProbe, evaluate_toy

    class GridGenerators:  # each draw one mode fewer and 10 more samples on the paths between modes (from 50)
        kind, dataset, latent_dim, num_classes = "noise", "grid25", 2, 0

        def __init__(self, modes):
            self.z, self.modes = [], modes

        def generate(self, z, labels):
            self.z.append(z)
            draw = len(self.z) - 1
            # a mode per z, by its digits
            mode = np.floor(np.abs(z[:, 0]) * 1e6).astype(int) % (self.modes - draw)
            points = toys.toy_modes("grid25")[mode].astype(np.float32)
            points[:50 + 10 * draw] += 0.5
            return points

    generators = GridGenerators(25)
    metrics, score = QualityProbe("grid25", 2500, seed=0, draws=3).measure(generators)
    evaluate_toy(generators, 0)
    # three draws of their own, none the evaluation's nor the one-draw probe's z
    first, second, third, evaluated = generators.z
    one_draw = GridGenerators(25)
    one_draw_metrics, _ = QualityProbe("grid25", 2500, seed=0).measure(one_draw)
    assert one_draw_metrics == {"modes_covered": 25, "high_quality": 0.98}  # as before the option: its own count
    assert isinstance(one_draw_metrics["modes_covered"], int)
    assert len({z.tobytes() for z in (first, second, third, evaluated, one_draw.z[0])}) == 5
    # 25, 24 and 23 modes at 0.98, 0.976 and 0.972: the mean is scored, the worst draw gated
    assert metrics == pytest.approx({"modes_covered": 24.0, "high_quality": 0.976, "fewest_modes_covered": 23,
                                     "lowest_high_quality": 0.972})
    assert isinstance(metrics["fewest_modes_covered"], int) and isinstance(metrics["modes_covered"], float)
    assert score == pytest.approx(25 - 24 + 1 - 0.976)
    # the mean passes the gate, the worst draw does not: the epoch ranks below every epoch that passes
    probe = QualityProbe("grid25", 2500, draws=3)
    unlucky = {"modes_covered": 19.0, "high_quality": 0.97, "fewest_modes_covered": 17, "lowest_high_quality": 0.96}
    assert probe.score(unlucky) > 26 > probe.score({**unlucky, "fewest_modes_covered": 18})


def test_the_probe_never_keeps_an_epoch_below_the_gate_over_one_above_it():
    from training.evaluate import QualityProbe

    probe = QualityProbe("grid25", 2500)
    quality = PACGAN_TABLE[("grid25", "gan")][1]
    many_modes_below = probe.score({"modes_covered": 22, "high_quality": 0.90})
    fewer_modes_above = probe.score({"modes_covered": 18, "high_quality": 0.97})
    most_modes_above = probe.score({"modes_covered": 19, "high_quality": 0.965})
    assert most_modes_above < fewer_modes_above < many_modes_below
    # passing on the probe's own draw by less than its noise is not passing: evaluation draws other samples
    barely = probe.score({"modes_covered": 19, "high_quality": quality + 0.001})
    assert barely > fewer_modes_above
    # among epochs below the gate, the nearest to it: a share just under the bound, or a mode short of it, is
    # nearer than many modes in a blur
    assert barely < many_modes_below < probe.score({"modes_covered": 23, "high_quality": 0.5})
    one_short = probe.score({"modes_covered": 17, "high_quality": 0.96})
    assert one_short < probe.score({"modes_covered": 21, "high_quality": 0.25})
    assert one_short < probe.score({"modes_covered": 16, "high_quality": 0.96})
    assert one_short < probe.score({"modes_covered": 17, "high_quality": 0.93})
    # the raised bound: two standard errors of a share of 2,500 samples
    raised = quality + 2 * np.sqrt(quality * (1 - quality) / 2500)
    just_over = probe.score({"modes_covered": 18, "high_quality": raised + 1e-4})
    just_under = probe.score({"modes_covered": 25, "high_quality": raised - 1e-4})
    assert just_over < 26 < just_under  # 26: the penalty, modes + 1
    cyclegan = {"target_share_a2b": 0.9, "target_share_b2a": 0.8, "cycle_l1_A": 0.1, "cycle_l1_B": 0.3}
    assert QualityProbe("fashion_mnist:5-7", 1000).score(cyclegan) == pytest.approx(1 - 0.85 + 0.2)


def test_a_resumed_run_rescores_its_best_epoch_by_todays_rule():
    from training.callbacks import QualityEvaluation
    from training.evaluate import QualityProbe

    class Run:  # a best.json kept by an earlier rule: missed modes plus missed share, no gate
        def __init__(self, record):
            self.record = record

        def best_record(self):
            return self.record

    old = {"epoch": 120, "score": 3.1036, "modes_covered": 22, "high_quality": 0.8964}
    probe = QualityProbe("grid25", 2500)
    evaluation = QualityEvaluation(Run(old), probe, 1, {"epochs": 400}, 0)
    assert evaluation.best_score == probe.score(old) > probe.score({"modes_covered": 19, "high_quality": 0.96})
    lacking = {"epoch": 3, "score": 0.25}  # no measures to rescore: its own score stands
    assert QualityEvaluation(Run(lacking), probe, 1, {"epochs": 400}, 0).best_score == 0.25
    translation = QualityProbe("fashion_mnist:5-7", 1000)
    kept = {"epoch": 18, "score": 0.1063, "target_share_a2b": 0.975, "target_share_b2a": 0.985,
            "cycle_l1_A": 0.0993, "cycle_l1_B": 0.0734}
    # as the rule before: the mean target share missed plus the mean cycle error
    assert QualityEvaluation(Run(kept), translation, 1, {"epochs": 20}, 0).best_score == (
        1 - (0.975 + 0.985) / 2 + (0.0993 + 0.0734) / 2)
    assert QualityEvaluation(Run(lacking), translation, 1, {"epochs": 20}, 0).best_score == 0.25


def test_a_published_toy_generator_has_a_points_plot_and_a_card_of_its_own(tmp_path):
    from PIL import Image

    from export.cards import card, read_index
    from export.publish import PublishError, publish_run
    from training.run import RunFolder
    from training.train import train
    from zoo.files import sha256_of

    run, hub = str(tmp_path / "ring8"), str(tmp_path / "hub")
    config = {"dataset": "ring8", "width": 8, "latent_dim": 2, "train_examples": 256, "batch_size": 32,
              "epochs": 2, "eval_every": 1, "probe_draws": 2}
    train(config, run, verbose=0)
    # the card says the recipe reproduces the model: one that trains another run is refused, nothing written
    recipe = tmp_path / "recipe.json"
    recipe.write_text(json.dumps({**config, "seed": 1, "epochs": 3}))
    with pytest.raises(PublishError, match=r"recipe.json does not train .*ring8 \(seed 1 in the recipe, 0 in the "
                                           r"run; epochs 3 in the recipe, 2 in the run\): name the recipe"):
        publish_run(run, "tiny-ring8", hub, recipe=str(recipe), force=True)
    assert not os.path.exists(hub)
    recipe.write_text(json.dumps({**config, "jit": True}))  # how it trains may differ, as on resume
    assert publish_run(run, "tiny-ring8", hub, recipe=str(recipe), force=True) == ["tiny-ring8"]  # below the gate
    entry = read_index(hub)["models"]["tiny-ring8"]
    assert entry["dataset"] == "ring8" and entry["output"]["name"] == "samples"
    assert entry["headline"].startswith("modes ") and entry["headline"].endswith("/8")
    folder = tmp_path / "hub" / "tiny-ring8"
    with Image.open(folder / "samples.png") as picture:
        assert picture.size[0] == picture.size[1] > 100  # a scatter of points, not an image grid
    text = (folder / "card.md").read_text()
    assert "PacGAN table 1, GAN" in text and "MLP nets" in text and "DCGAN" not in text
    assert 'zoo.load("tiny-ring8").sample(1000, output="float")' in text
    assert "(points of the plane, unbounded)" in text  # not the data's [-1, 1]: grid25's modes lie at 4
    # the card lists every other file with its hash; its own hash is in the index
    for name, record in entry["files"].items():
        assert (record["sha256"] in text) == (name != "card.md")
        assert record["sha256"] == sha256_of(str(folder / name))
    # the curve names the checkpoint that was exported: the probe's score (the gate, then modes missed +
    # share missed, or below the gate the distance to it) picks it, not the share alone
    assert entry["quality_curve"]["best_epoch"] == RunFolder(run).best_record()["epoch"]
    assert "(measured during training as the mean of 2 draws of 2,500 samples, an epoch counting as" in text
    del entry["config"]["train_examples"], entry["config"]["probe_draws"]  # a run from before the option
    text = card("tiny-ring8", entry, "samples.png")
    assert f"{datasets.TOY_EXAMPLES:,} training points" in text
    assert "(measured during training on 2,500 samples, as the table above)" in text


def test_a_run_keeps_its_probe_draws_when_resumed(tmp_path):
    from training.config import ConfigError
    from training.run import RunFolder

    # a toy run from before the option: its config.json lacks it, and resolving gives the default, 1
    folder = tmp_path / "run"
    (folder / "checkpoints").mkdir(parents=True)
    old = {"dataset": "grid25", "mlp": "pacgan", "latent_dim": 2, "eval_every": 1, "epochs": 10}
    (folder / "config.json").write_text(json.dumps(old))
    run = RunFolder(str(folder))
    assert run.resolve_config({"probe_draws": 1, "epochs": 20}, resume=True, overwrite=False)["probe_draws"] == 1
    # its best epoch was kept on one draw: the epochs after it may not be judged on four
    with pytest.raises(ConfigError, match="trained with probe_draws=1, not 4: drop that option to resume"):
        run.resolve_config({"probe_draws": 4}, resume=True, overwrite=False)
    # a run of four draws may stop measuring, and keeps its four for when it measures again
    (folder / "config.json").write_text(json.dumps({**old, "probe_draws": 4}))
    assert run.resolve_config({"eval_every": 0}, resume=True, overwrite=False)["probe_draws"] == 4
