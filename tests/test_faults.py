"""Faults: kills, Ctrl-C, divergence, determinism, full or read-only disks. The long SIGKILL run (20 kills)
is benchmarks/faults.py; here a few kills keep CI fast."""

import errno
import json
import os
import signal
import subprocess
import sys
import time

import numpy as np
import pytest

from benchmarks.faults import CONFIG, checkpoint_tensors, compare_with_uninterrupted, run_with_kills
from training.run import CheckpointError, RunFolder

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def training(args, **kwargs):
    return subprocess.Popen([sys.executable, "-m", "training", *args], cwd=ROOT, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, **kwargs)


def test_sigkill_at_random_moments_loses_nothing(tmp_path):
    records = run_with_kills(str(tmp_path / "killed"), kills=3, seed=1, log=lambda *_: None)
    assert all(r["readable"] in (True, None) for r in records)
    summary = compare_with_uninterrupted(str(tmp_path / "killed"), str(tmp_path / "clean"))
    assert summary["final_epoch"] == 8 and summary["history_epochs"] == list(range(1, 9))
    assert summary["same_variables"] and summary["max_weight_difference"] == 0.0


def test_ctrl_c_saves_a_checkpoint_inside_the_epoch_and_resume_is_exact(tmp_path):
    run, clean = str(tmp_path / "interrupted"), str(tmp_path / "clean")
    process = training([*CONFIG, "--out", run])
    while not os.path.exists(os.path.join(run, "history.csv")) and process.poll() is None:
        time.sleep(0.01)  # epoch 1 is done: interrupt during epoch 2
    process.send_signal(signal.SIGINT)
    _, error = process.communicate(timeout=120)
    assert process.returncode == 130, error
    assert "saved a checkpoint there" in error and f"--out {run} --resume" in error
    with open(os.path.join(run, "checkpoints", "latest.json")) as f:
        latest = json.load(f)
    assert latest["epoch"] >= 1 and latest["step"] > 0 and latest["checkpoint"].endswith("/ckpt")
    resumed = training([*CONFIG, "--out", run, "--resume"])
    assert resumed.wait(timeout=300) == 0
    summary = compare_with_uninterrupted(run, clean)
    assert summary["final_epoch"] == 8 and summary["max_weight_difference"] == 0.0


def test_divergence_stops_keeps_the_last_good_checkpoint_and_resume_works(tmp_path):
    run = str(tmp_path / "run")
    tiny = ["--width", "8", "--latent-dim", "16", "--train-examples", "256", "--batch-size", "32", "--seed", "0"]
    assert training([*tiny, "--epochs", "1", "--out", run]).wait(timeout=300) == 0
    _, before = checkpoint_tensors(run)
    absurd = training([*tiny, "--epochs", "2", "--out", run, "--resume", "--learning-rate", "1e12"])
    _, error = absurd.communicate(timeout=300)
    assert absurd.returncode == 1
    assert "training stopped" in error and "became nan" in error.lower() and "at step" in error
    latest, after = checkpoint_tensors(run)
    assert latest["epoch"] == 1 and all(np.array_equal(before[k], after[k]) for k in before)
    assert training([*tiny, "--epochs", "2", "--out", run, "--resume", "--learning-rate", "2e-4"]).wait(300) == 0
    assert checkpoint_tensors(run)[0]["epoch"] == 2


def test_deterministic_runs_give_identical_weights(tmp_path):
    tiny = ["--width", "8", "--latent-dim", "16", "--train-examples", "256", "--batch-size", "32", "--epochs", "1",
            "--seed", "3", "--deterministic"]
    runs = [str(tmp_path / name) for name in ("a", "b")]
    processes = [training([*tiny, "--out", run]) for run in runs]
    assert [p.wait(timeout=300) for p in processes] == [0, 0]
    (_, a), (_, b) = (checkpoint_tensors(run) for run in runs)
    assert sorted(a) == sorted(b) and all(np.array_equal(a[k], b[k]) for k in a)


def test_wrapper_gives_the_same_images_in_every_process(trained_run):
    path = os.path.join(trained_run[0], "export", "generator.onnx")
    code = ("import sys, hashlib; from zoo.runtime import OnnxGenerator; "
            f"g = OnnxGenerator({path!r}); print(hashlib.sha256(g.sample(32, seed=5).tobytes()).hexdigest())")
    digests = {subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True,
                              check=True).stdout.strip() for _ in range(2)}
    assert len(digests) == 1


@pytest.mark.parametrize("failure", [OSError(errno.ENOSPC, "No space left on device"),
                                     OSError(errno.EROFS, "Read-only file system")])
def test_failed_checkpoint_write_keeps_the_last_checkpoint(trained_run, tmp_path, monkeypatch, failure):
    import shutil

    import tensorflow as tf

    from training.run import load_trained_model

    run = str(tmp_path / "run")
    shutil.copytree(trained_run[0], run)
    model, _ = load_trained_model(run)
    folder = RunFolder(run)
    before = folder.latest_checkpoint()

    def fail(self, *args, **kwargs):
        raise failure
    monkeypatch.setattr(tf.train.Checkpoint, "write", fail)
    with pytest.raises(CheckpointError, match=f"{failure.strerror}.*epoch-0002\\) is kept.*--resume"):
        folder.save_checkpoint(model, 3)
    monkeypatch.undo()
    assert folder.latest_checkpoint() == before
    assert not [n for n in os.listdir(folder.checkpoints) if n.startswith(".")]
    assert folder.restore_checkpoint(model) == (2, 0)


def test_failed_sample_write_stops_the_run_with_a_clear_error(tmp_path, monkeypatch, capsys):
    from training.__main__ import main

    tiny = ["--width", "8", "--latent-dim", "16", "--train-examples", "256", "--batch-size", "32"]
    run = str(tmp_path / "run")
    assert main([*tiny, "--epochs", "1", "--out", run]) == 0
    _, before = checkpoint_tensors(run)

    def read_only(picture, path):
        raise OSError(errno.EROFS, "Read-only file system", path)
    monkeypatch.setattr("training.callbacks.save_png", read_only)
    code = main([*tiny, "--epochs", "2", "--out", run, "--resume"])
    error = capsys.readouterr().err
    assert code == 1 and "Read-only file system" in error and "epoch-0002.png" in error
    latest, after = checkpoint_tensors(run)  # the last checkpoint is intact and still the last
    assert latest["epoch"] == 1 and all(np.array_equal(before[k], after[k]) for k in before)
