import json
import os

import numpy as np
import pytest
import tensorflow as tf
from PIL import Image

from tests.helpers import TINY, history, snapshot
from training.__main__ import main
from training.callbacks import NonFiniteLossError
from training.config import ConfigError, resolve
from training.run import CheckpointError, RunFolder
from training.strategies import describe_devices
from training.train import train


def test_run_folder_holds_every_artifact(trained_run):
    run, _ = trained_run
    files = snapshot(run)
    for name in ("config.json", "data.json", "checkpoints/latest.json", "checkpoints/epoch-0002/ckpt.index",
                 "checkpoints/epoch-0001/ckpt.index", "samples/epoch-0001.png", "samples/epoch-0002.png"):
        assert name in files, name
    assert any(name.startswith("logs/train/events.out.tfevents") for name in files)
    with Image.open(os.path.join(run, "samples/epoch-0002.png")) as grid:
        assert grid.size[0] > 8 * 28 and grid.mode == "L"
    rows = history(run)
    assert [row["epoch"] for row in rows] == ["1", "2"] and [row["steps"] for row in rows] == ["8", "16"]
    assert all(np.isfinite(float(row[key])) for row in rows for key in ("d_loss", "g_loss", "seconds"))
    assert {row["devices"] for row in rows} == {describe_devices(tf.distribute.get_strategy())}  # what "auto" took
    with open(os.path.join(run, "config.json")) as f:
        assert json.load(f) == resolve(TINY)


def test_resume_continues_where_the_run_stopped(tmp_path, trained_run):
    run = str(tmp_path / "resumed")
    train({**TINY, "epochs": 1}, run, verbose=0)
    model = train({"epochs": 2}, run, resume=True, verbose=0)
    assert [row["epoch"] for row in history(run)] == ["1", "2"]
    assert int(model.g_optimizer.iterations) == 16 and int(model.d_optimizer.iterations) == 16
    # same weights as the run that was never stopped: optimizer state, data order and noise all resumed
    uninterrupted, _ = trained_run
    reference = train({"epochs": 2}, uninterrupted, resume=True, verbose=0)  # nothing left to train
    for a, b in zip(model.generator.weights + model.discriminator.weights,
                    reference.generator.weights + reference.discriminator.weights):
        np.testing.assert_allclose(np.array(a), np.array(b), rtol=1e-5, atol=1e-6)


def test_checkpoint_write_killed_midway_keeps_the_previous_one(tmp_path, monkeypatch):
    run = str(tmp_path / "run")
    model = train({**TINY, "epochs": 1}, run, verbose=0)
    folder = RunFolder(run)

    def killed(*args):
        raise KeyboardInterrupt("killed while renaming the new checkpoint into place")

    monkeypatch.setattr("training.run.os.rename", killed)
    with pytest.raises(KeyboardInterrupt):
        folder.save_checkpoint(model, 2)
    monkeypatch.undo()
    assert folder.latest_checkpoint()[0] == 1
    assert folder.restore_checkpoint(model) == (1, 0)
    folder.save_checkpoint(model, 2)  # the next save clears what the killed one left
    assert sorted(os.listdir(folder.checkpoints)) == ["epoch-0001", "epoch-0002", "latest.json"]


def test_corrupt_or_missing_checkpoint_on_resume_is_a_clear_error(tmp_path, capsys):
    run = str(tmp_path / "run")
    train({**TINY, "epochs": 1}, run, verbose=0)
    index = os.path.join(run, "checkpoints", "epoch-0001", "ckpt.index")
    with open(index, "wb") as f:
        f.write(b"garbage")
    assert main(["--out", run, "--resume"]) == 2
    assert "cannot be restored" in capsys.readouterr().err
    os.remove(os.path.join(run, "checkpoints", "latest.json"))
    assert main(["--out", run, "--resume"]) == 2
    assert "no checkpoint" in capsys.readouterr().err


def test_occupied_folder_is_refused_and_left_untouched(trained_run, capsys):
    run, _ = trained_run
    before = snapshot(run)
    assert main(["--out", run, "--width", "8"]) == 2
    assert "--resume" in capsys.readouterr().err
    assert main(["--out", run, "--resume", "--loss", "minimax"]) == 2
    assert "trained with loss='non_saturating'" in capsys.readouterr().err
    assert main(["--out", run, "--resume", "--overwrite"]) == 2
    assert snapshot(run) == before


def test_resuming_a_finished_run_with_fewer_epochs_changes_none_of_its_files(trained_run, capsys):
    run, _ = trained_run
    before = {name: digest for name, digest in snapshot(run).items() if name != ".lock"}
    assert main(["--out", run, "--resume", "--epochs", "1"]) == 0
    assert f"{run} already trained 2 epochs" in capsys.readouterr().out
    # config.json still says 2: publishing holds a recipe against the epochs the run trained
    assert {name: digest for name, digest in snapshot(run).items() if name != ".lock"} == before


def test_overwrite_replaces_a_run(tmp_path):
    run = str(tmp_path / "run")
    train({**TINY, "epochs": 1}, run, verbose=0)
    train({**TINY, "epochs": 1, "seed": 1}, run, overwrite=True, verbose=0)
    assert json.load(open(os.path.join(run, "config.json")))["seed"] == 1


@pytest.mark.parametrize("argv,message", [
    (["--model", "nope"], "invalid choice: 'nope'"),
    (["--loss", "wasserstein"], "invalid choice: 'wasserstein'"),
    (["--batch-size", "0"], "batch_size must be positive"),
    (["--epochs", "-1"], "epochs must be positive"),
    (["--batch-size", "ten"], "invalid int value"),
    (["--dataset", "no_such_set"], "unknown dataset 'no_such_set'"),
    (["--resume"], "--resume needs --out"),
    (["--probe-draws", "4"], "probe_draws applies to the toys ring8 and grid25, not fashion_mnist: leave it at 1"),
    (["--dataset", "ring8", "--probe-draws", "0"], "probe_draws must be positive"),
    (["--dataset", "ring8", "--probe-draws", "2"], "probe_draws measures the epochs that --eval-every N picks"),
    (["--model", "cgan", "--auxiliary-classifier", "1", "--pack", "2"],
     "--auxiliary-classifier predicts one sample's class, and --pack makes the discriminator judge packs of "
     "several: use one of them"),
])
def test_cli_errors_are_one_line_with_exit_code_2(argv, message, capsys, tmp_path):
    try:
        code = main(argv + ["--out", str(tmp_path / "run")] if "--resume" not in argv else argv)
    except SystemExit as exit_:
        code = exit_.code
    err = capsys.readouterr().err
    assert code == 2 and message in err and err.count("\n") == 1, err
    assert not os.path.exists(tmp_path / "run")


def test_config_file_keys_and_types_are_checked(tmp_path, capsys):
    recipe = tmp_path / "recipe.json"
    recipe.write_text(json.dumps({"divergence": "kl"}))
    assert main(["--config", str(recipe), "--out", str(tmp_path / "run")]) == 2
    assert "option 'divergence' does not apply to model 'gan'" in capsys.readouterr().err
    for bad, message in (({"epochs": 2.5}, "epochs must be int"), ({"learning_rate": "fast"}, "must be float"),
                         ({"d_steps": True}, "d_steps must be int")):
        with pytest.raises(ConfigError, match=message):
            resolve(bad)
    recipe.write_text("{not json")
    assert main(["--config", str(recipe)]) == 2
    assert "is not valid JSON" in capsys.readouterr().err
    assert not os.path.exists(tmp_path / "run")


def test_non_finite_loss_stops_with_the_step_and_keeps_no_bad_checkpoint(tmp_path, capsys):
    run = str(tmp_path / "diverged")
    with pytest.raises(NonFiniteLossError, match=r"(d_loss|g_loss) became (nan|inf) at step \d+"):
        train({**TINY, "learning_rate": 1e30}, run, verbose=0)
    assert main(["--out", run, "--overwrite", "--learning-rate", "1e30", "--width", "8",
                 "--train-examples", "256", "--latent-dim", "16"]) == 1
    assert "training stopped: " in capsys.readouterr().err
    with pytest.raises(CheckpointError, match="no checkpoint"):
        RunFolder(run).latest_checkpoint()
