import json
import os
import shutil

import numpy as np
import pytest

from training import evaluate
from training.data import fashion_mnist_arrays
from zoo.classifier import CLASSIFIER_PATH, MINIMUM_ACCURACY, ChecksumError, FashionClassifier

SAMPLES = 500  # enough for the metrics to be defined; the 10k protocol is timed in benchmarks/


def test_shipped_classifier_reaches_its_accuracy_on_the_test_split():
    classifier = FashionClassifier()
    images, labels = fashion_mnist_arrays("test")
    logits, features = classifier.run(images.astype(np.float32) / 127.5 - 1)
    accuracy = (logits.argmax(1) == labels).mean()
    assert accuracy >= MINIMUM_ACCURACY
    assert accuracy == pytest.approx(classifier.record["test_accuracy"], abs=1e-4)
    assert features.shape == (10_000, 128)


def test_classifier_with_a_wrong_checksum_is_refused(tmp_path):
    copy = tmp_path / "classifier.onnx"
    shutil.copy(CLASSIFIER_PATH, copy)
    shutil.copy(CLASSIFIER_PATH.replace(".onnx", ".json"), tmp_path / "classifier.json")
    FashionClassifier(str(copy))  # an intact copy loads
    data = bytearray(copy.read_bytes())
    data[len(data) // 2] ^= 1
    copy.write_bytes(bytes(data))
    with pytest.raises(ChecksumError, match="SHA-256 .* damaged or was replaced.*python -m training.classifier"):
        FashionClassifier(str(copy))
    os.unlink(tmp_path / "classifier.json")
    with pytest.raises(FileNotFoundError, match="classifier.json is missing"):
        FashionClassifier(str(copy))


def test_run_and_its_onnx_export_give_the_same_numbers(trained_run, tmp_path):
    run, _ = trained_run
    from_run = evaluate.evaluate(run, n=SAMPLES)
    from_onnx = evaluate.evaluate(os.path.join(run, "export", "generator.onnx"), n=SAMPLES)
    for key in ("fid", "kid", "precision", "recall"):
        assert from_onnx[key] == pytest.approx(from_run[key], rel=1e-3, abs=1e-4)
    assert from_run["floor"] == from_onnx["floor"]
    # a barely trained tiny generator is far worse than real data
    assert from_run["fid"] > 5 * from_run["floor"]["fid"] and from_run["floor"]["precision"] > 0.5
    assert from_run["features"]["sha256"] == FashionClassifier().record["sha256"]


def test_conditional_generator_gets_accuracy_and_intra_class_fid(cgan_run):
    run, _ = cgan_run
    results = evaluate.evaluate(os.path.join(run, "export", "generator.onnx"), n=SAMPLES)
    conditional = results["conditional"]
    assert 0 <= conditional["accuracy"] <= 1 and len(conditional["per_class_accuracy"]) == 10
    assert np.mean(conditional["per_class_accuracy"]) == pytest.approx(conditional["accuracy"])
    assert len(conditional["per_class_fid"]) == 10 and conditional["intra_class_fid"] > 0


def test_cyclegan_target_share_and_cycle_error_both_ways(cyclegan_run):
    run, _ = cyclegan_run
    results = evaluate.evaluate(run)["translation"]
    assert results["classes"] == {"A": 5, "B": 7}
    for direction in ("A->B", "B->A"):
        assert 0 <= results[direction]["target_class_share"] <= 1 and results[direction]["images"] == 1000
    assert results["cycle_l1_A"] > 0 and results["cycle_l1_B"] > 0
    # one exported direction alone finds the other beside it, and gives the same numbers
    from_onnx = evaluate.evaluate(os.path.join(run, "export", "generator_ab.onnx"))["translation"]
    assert from_onnx["cycle_l1_A"] == pytest.approx(results["cycle_l1_A"], rel=1e-3)


def test_toy_generator_gets_the_pacgan_protocol(tmp_path):
    from training.train import train

    run = str(tmp_path / "ring")
    train({"dataset": "ring8", "width": 16, "latent_dim": 2, "epochs": 1, "train_examples": 512,
           "batch_size": 128}, run, verbose=0)
    modes = evaluate.evaluate(run)["modes"]
    assert modes["samples"] == 2500 and modes["modes"] == 8 and 0 <= modes["modes_covered"] <= 8


def test_inception_features_with_random_weights():
    features = evaluate.InceptionFeatures(weights=None, batch_size=2)
    images = np.random.default_rng(0).uniform(-1, 1, (3, 28, 28, 1)).astype(np.float32)
    result = features(images)
    assert result.shape == (3, 2048) and np.isfinite(result).all()
    assert features.description == {"name": "inception_v3", "weights": "random"}


def test_inception_without_internet_says_what_to_do(monkeypatch):
    from keras.src.utils import file_utils

    def offline(*args, **kwargs):
        raise Exception("URL fetch failure on https://storage.googleapis.com/...: None -- "
                        "[Errno -3] Temporary failure in name resolution")
    monkeypatch.setattr(file_utils, "get_file", offline)
    with pytest.raises(evaluate.EvaluationError, match="needs internet the first time.*--features classifier"):
        evaluate.InceptionFeatures()


def test_cli_writes_json_beside_the_onnx_file(trained_run, capsys):
    run, _ = trained_run
    path = os.path.join(run, "export", "generator.onnx")
    assert evaluate.main([path, "--samples", "200"]) == 0
    with open(os.path.join(run, "export", "generator.evaluation.json")) as f:
        results = json.load(f)
    assert results["samples"] == 200 and "real floor" in capsys.readouterr().out


def test_cli_errors_are_one_line_with_exit_code_2(tmp_path, capsys):
    assert evaluate.main([str(tmp_path / "missing.onnx")]) == 2
    assert "neither a run folder nor an .onnx file" in capsys.readouterr().err
    assert evaluate.main([str(tmp_path)]) == 2  # a folder that is not a run
    assert "not a run folder" in capsys.readouterr().err
    with pytest.raises(SystemExit) as exit_info:
        evaluate.main([str(tmp_path), "--samples", "1"])
    assert exit_info.value.code == 2 and "--samples must be at least 2" in capsys.readouterr().err
    assert not list(tmp_path.iterdir())  # nothing written


def test_fgan_table_is_part_of_the_results(tmp_path, capsys, monkeypatch):
    monkeypatch.setattr("training.fgan_experiment.SEEDS", 1)  # nine rows, one tiny run each
    monkeypatch.setattr("training.fgan_experiment.GENERATOR_LOSSES", ("saddle",))
    out = tmp_path / "fgan.json"
    assert evaluate.main(["fgan-1d", "--steps", "2", "--out", str(out)]) == 0
    results = json.loads(out.read_text())
    assert results["experiment"] == "fgan-1d" and len(results["rows"]) == 9
    kl = next(r for r in results["rows"] if r["divergence"] == "kl")
    assert kl["mu_star"] == pytest.approx(1.01, abs=0.01)  # KL's optimum matches the mixture's moments
    assert "D_f(opt)" in capsys.readouterr().out
