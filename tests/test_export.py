import os

import onnx
import pytest
import tensorflow as tf

from export.__main__ import main
from export.writer import ExportError, export_run
from tests.helpers import snapshot


def test_export_matches_keras_and_describes_itself(trained_run):
    run, manifest = trained_run
    entry = manifest["generators"]["generator"]
    assert max(entry["max_abs_difference"].values()) <= 1e-5
    model = onnx.load(os.path.join(run, "export", "generator.onnx"))
    assert model.opset_import[0].version == 18
    (z,), (images,) = model.graph.input, model.graph.output
    assert (z.name, images.name) == ("z", "images")
    dims = [d.dim_param or d.dim_value for d in images.type.tensor_type.shape.dim]
    assert isinstance(dims[0], str) and dims[1:] == [28, 28, 1]  # only the batch is dynamic
    props = {p.key: p.value for p in model.metadata_props}
    assert props["variant"] == "gan" and props["dataset"] == "fashion_mnist"
    assert props["kind"] == "noise" and props["latent_dim"] == "16" and props["image_shape"] == "[28, 28, 1]"
    assert props["value_range"] == "[-1.0, 1.0]" and props["training_steps"] == "16" and props["epochs"] == "2"


def test_savedmodel_has_a_serve_signature(trained_run):
    run, _ = trained_run
    loaded = tf.saved_model.load(os.path.join(run, "export", "generator_savedmodel"))
    outputs = loaded.signatures["serve"](z=tf.zeros((3, 16)))
    assert outputs["images"].shape == (3, 28, 28, 1)


def test_failed_parity_check_leaves_the_previous_export_untouched(trained_run, tmp_path, monkeypatch):
    run, _ = trained_run
    out = str(tmp_path / "export")
    export_run(run, out)
    before = snapshot(out)
    monkeypatch.setattr("export.writer.TOLERANCE", -1.0)  # no output can be that close
    with pytest.raises(ExportError, match="differs from Keras"):
        export_run(run, out)
    assert snapshot(out) == before and sorted(os.listdir(out)) == sorted(
        ["export.json", "generator.onnx", "generator.test_data_set_0", "generator_savedmodel"])


def test_cli(trained_run, tmp_path, capsys, monkeypatch):
    run, _ = trained_run
    assert main([str(tmp_path)]) == 2
    assert "is not a run folder" in capsys.readouterr().err
    assert main([run, "--opset", "12"]) == 2
    assert "opset 12 is not supported" in capsys.readouterr().err
    assert main([run, "--out", str(tmp_path / "exported")]) == 0
    assert "largest difference from Keras" in capsys.readouterr().out
    monkeypatch.setattr("export.writer.TOLERANCE", -1.0)
    assert main([run, "--out", str(tmp_path / "failed")]) == 1
    assert "EXPORT FAILED" in capsys.readouterr().err
    assert not os.path.exists(tmp_path / "failed" / "generator.onnx")
