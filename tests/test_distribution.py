"""Strategies: errors before training, two worker processes on 127.0.0.1, mixed precision and XLA."""

import json
import os
import socket
import subprocess
import sys

import numpy as np
import onnx
import pytest

from tests.helpers import TINY
from training.__main__ import main
from training.config import ConfigError
from training.strategies import check_tf_config, make_strategy
from training.train import train

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_two_workers_train_to_identical_weights_and_only_the_chief_writes(tmp_path):
    cluster = {"chief": [f"127.0.0.1:{free_port()}"], "worker": [f"127.0.0.1:{free_port()}"]}
    out = tmp_path / "run"
    processes = []
    for kind in ("chief", "worker"):
        scratch = tmp_path / f"tmp-{kind}"
        scratch.mkdir()
        env = {**os.environ, "TF_CONFIG": json.dumps({"cluster": cluster, "task": {"type": kind, "index": 0}}),
               "TMPDIR": str(scratch), "TF_CPP_MIN_LOG_LEVEL": "2"}
        processes.append(subprocess.Popen(
            [sys.executable, os.path.join(ROOT, "tests", "multiworker_task.py"), str(out),
             str(tmp_path / f"{kind}.npz")], env=env, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT))
    for process in processes:
        output, _ = process.communicate(timeout=600)
        assert process.returncode == 0, output.decode()[-3000:]
    chief, worker = (np.load(tmp_path / f"{kind}.npz") for kind in ("chief", "worker"))
    assert len(chief.files) == len(worker.files) > 0
    for name in chief.files:
        np.testing.assert_array_equal(chief[name], worker[name])
    history = (out / "history.csv").read_text().splitlines()
    assert len(history) == 3 and (out / "checkpoints" / "epoch-0002").is_dir()
    assert ',"2 workers (chief 0: CPU, ' in history[1]  # the chief writes: it sees its own devices only
    leftovers = [n for n in os.listdir(tmp_path / "tmp-worker") if n.startswith("gan-zoo-worker-")]
    assert leftovers == []  # the worker's own run folder is gone


@pytest.mark.parametrize("tf_config,message", [
    (None, "needs TF_CONFIG"),
    ("{not json", "does not parse"),
    ('{"cluster": {"worker": ["127.0.0.1:1"]}, "task": {"type": "ps", "index": 0}}', "not a chief or worker"),
    ('{"cluster": {"worker": ["127.0.0.1:1"]}, "task": {"type": "worker", "index": 3}}', "task index 3"),
])
def test_bad_tf_config_is_refused(tf_config, message, monkeypatch):
    if tf_config is None:
        monkeypatch.delenv("TF_CONFIG", raising=False)
    else:
        monkeypatch.setenv("TF_CONFIG", tf_config)
    with pytest.raises(ConfigError, match=message):
        check_tf_config()


@pytest.mark.parametrize("argv,message", [
    (["--strategy", "mirrored", "--replicas", "2", "--batch-size", "33"],
     "global batch of 33 does not split evenly over 2 replicas"),
    (["--strategy", "default", "--replicas", "2"], "--replicas applies to --strategy mirrored"),
    (["--strategy", "mirrored", "--replicas", "3"], "TensorFlow already started with 2 logical CPU devices"),
    (["--strategy", "tpu"], "no TPU found"),
])
def test_strategy_errors_come_before_training(argv, message, tmp_path, capsys):
    assert main(argv + ["--out", str(tmp_path / "run"), "--train-examples", "64"]) == 2
    assert message in capsys.readouterr().err
    assert not os.path.exists(tmp_path / "run")


def test_mirrored_replicas_from_the_command_line(tmp_path):
    """In its own process: a second MirroredStrategy over the same devices in one process (beside the
    tests' shared one) can collide in collective-op keys; a training run has one strategy per process."""
    run = tmp_path / "run"
    result = subprocess.run([sys.executable, "-m", "training", "--strategy", "mirrored", "--replicas", "2",
                             "--width", "8", "--latent-dim", "16", "--train-examples", "256", "--batch-size",
                             "32", "--epochs", "1", "--out", str(run)], cwd=ROOT, capture_output=True, text=True,
                            env={**os.environ, "TF_CPP_MIN_LOG_LEVEL": "2"}, timeout=600)
    assert result.returncode == 0, result.stderr[-3000:]
    assert "MirroredStrategy: 2 replica(s), global batch 32" in result.stdout
    assert (run / "history.csv").read_text().splitlines()[1].startswith("1,8,")
    assert make_strategy("auto").num_replicas_in_sync == 1  # no GPUs here


@pytest.mark.parametrize("option", ["mixed_precision", "jit"])
def test_mixed_precision_and_xla_train_and_export_float32(option, tmp_path):
    from export.writer import export_run

    run = str(tmp_path / option)
    model = train({**TINY, option: True, "epochs": 1}, run, verbose=0)
    assert model.steps_trained == 8
    if option == "mixed_precision":
        assert type(model.g_optimizer).__name__ == "LossScaleOptimizer"
        assert model.generator.layers[1].compute_dtype == "float16"
    manifest = export_run(run)
    assert max(manifest["generators"]["generator"]["max_abs_difference"].values()) <= 1e-5
    exported = onnx.load(os.path.join(run, "export", "generator.onnx"))
    assert exported.graph.output[0].type.tensor_type.elem_type == onnx.TensorProto.FLOAT
