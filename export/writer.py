"""Write a run's generators as SavedModel and ONNX, and prove both match Keras before keeping them.

Each generator is written into a temporary folder, checked against Keras on random inputs (a batch of 7
and a batch of 1, so the dynamic batch dimension, named `n`, is exercised), and only then moved into place:
a failed export leaves any earlier export untouched. Beside each NAME.onnx goes NAME.test_data_set_0/, the
ONNX Model Zoo's test data (zoo/testdata.py): inputs and the Keras output as serialized TensorProtos, for a
deployer to check their runtime with (`python -m zoo verify`).
"""

import json
import os
import shutil
import tempfile

import keras
import numpy as np
import onnx
import tensorflow as tf
import tf2onnx

import zoo
from zoo.classifier import CLASS_NAMES
from zoo.prior import classes_in_turn, latents
from zoo.runtime import OnnxGenerator
from zoo.testdata import TEST_SET, run_test_set
from training.config import ConfigError
from training.run import load_trained_model
from zoo.files import move_into_place, sha256_of, write_json
from zoo.models import TRANSLATION_DIRECTIONS, generator_kind
from zoo.errors import ZooError

OPSETS = (17, 18)  # tf2onnx 1.17 supports opsets up to 18
TOLERANCE = 1e-5
#: instance/group norm is computed differently by onnxruntime (its own reductions): allow 1e-4
NORMALIZED_TOLERANCE = 1e-4
BATCH = "n"  # the name of the dynamic batch dimension of every input and output
TEST_BATCH = 4  # examples in the test set beside each ONNX file


class ExportError(ZooError, RuntimeError):
    """An exported model that does not compute what the Keras generator computes."""


def metadata_for(name, generator, model, info):
    """metadata_props of the ONNX file: all that the onnxruntime wrapper and a model card need."""
    config, data = info["config"], info["data"]
    kind = generator_kind(generator)
    shape_key = "image_shape" if len(data["shape"]) == 3 else "sample_shape"
    specific = ({"direction": TRANSLATION_DIRECTIONS[name]} if kind == "translation"
                else {"latent_dim": str(config["latent_dim"])})
    if kind == "conditional" and config["dataset"] == "fashion_mnist":  # the toys' modes have no names
        specific["class_names"] = json.dumps(list(CLASS_NAMES))
    return {
        "generator": name,
        "kind": kind,
        **specific,
        "variant": config["model"],
        "dataset": config["dataset"],
        "num_classes": str(data["num_classes"]),
        shape_key: json.dumps(list(generator.outputs[0].shape[1:])),
        "value_range": json.dumps(data["value_range"]),
        "training_steps": str(model.steps_trained),
        "epochs": str(info["epochs"]),
        "checkpoint": info["checkpoint"],
        "weights": model.exported_weights,
        "zoo_version": zoo.__version__,
        "config": json.dumps(config, sort_keys=True),
    }


def _input_specs(generator):
    return [tf.TensorSpec((None,) + tuple(x.shape[1:]), x.dtype, name=x.name) for x in generator.inputs]


def _serving_function(generator, output_name):
    def serve(*inputs):
        return {output_name: generator(list(inputs) if len(inputs) > 1 else inputs[0], training=False)}
    return serve


def _random_inputs(specs, batch, num_classes, rng):
    """z ~ N(0, I), labels in [0, num_classes), images uniform in [-1, 1], by input name."""
    def one(spec):
        shape = (batch,) + tuple(spec.shape[1:])
        if spec.name == "label":
            return rng.integers(0, num_classes, shape).astype("int32")
        if spec.name == "image":
            return rng.uniform(-1, 1, shape).astype("float32")
        return rng.standard_normal(shape).astype("float32")
    return [one(spec) for spec in specs]


def _test_inputs(specs, num_classes):
    """The inputs of the test set: z = zoo.prior.latents(TEST_BATCH, latent_dim, seed 0), labels 0, 1, 2, 3
    (modulo the classes), images uniform in [-1, 1] from seed 0."""
    def one(spec):
        if spec.name == "label":
            return classes_in_turn(TEST_BATCH, num_classes)
        if spec.name == "z":
            return latents(TEST_BATCH, spec.shape[1], seed=0)
        return np.random.default_rng(0).uniform(-1, 1, (TEST_BATCH, *spec.shape[1:])).astype(np.float32)
    return [one(spec) for spec in specs]


def write_test_set(generator, specs, output_name, num_classes, folder):
    """input_0.pb, ... (in the ONNX file's input order) and output_0.pb, Keras' output, into `folder`:
    TensorProtos named as the ONNX inputs and output, values in raw_data (what zoo.testdata reads)."""
    inputs = _test_inputs(specs, num_classes)
    expected = np.asarray(generator(inputs if len(inputs) > 1 else inputs[0], training=False))
    tensors = {f"input_{i}.pb": (spec.name, x) for i, (spec, x) in enumerate(zip(specs, inputs))}
    tensors["output_0.pb"] = (output_name, expected)
    os.makedirs(folder)
    for file_name, (name, array) in tensors.items():
        with open(os.path.join(folder, file_name), "wb") as f:
            f.write(onnx.numpy_helper.from_array(array, name).SerializeToString())


def name_batch_dimension(graph):
    """Name the batch dimension BATCH in the graph's inputs and outputs (tf2onnx names it like unk__108, one
    name per tensor), and in any intermediate shape that uses one of the names it replaces."""
    values = (*graph.input, *graph.output)
    replaced = {value.type.tensor_type.shape.dim[0].dim_param for value in values} - {""}
    for value in graph.value_info:
        for dim in value.type.tensor_type.shape.dim:
            if dim.dim_param in replaced:
                dim.dim_param = BATCH
    for value in values:
        value.type.tensor_type.shape.dim[0].dim_param = BATCH


def tolerance_for(generator):
    normalized = any(isinstance(layer, keras.layers.GroupNormalization) for layer in generator.layers)
    return NORMALIZED_TOLERANCE if normalized else TOLERANCE


def _largest_difference(reference, other, tolerance):
    """(largest |difference|, whether every difference is within tolerance * (1 + |reference|))."""
    difference = np.abs(reference - other)
    return float(difference.max()), bool((difference <= tolerance * (1 + np.abs(reference))).all())


def check_parity(generator, saved_model_dir, onnx_path, output_name, num_classes, seed=0):
    """Largest differences of SavedModel and onnxruntime against Keras; raises ExportError beyond tolerance."""
    specs = _input_specs(generator)
    saved = tf.saved_model.load(saved_model_dir)
    session = OnnxGenerator(onnx_path, providers=["CPUExecutionProvider"]).session
    rng = np.random.default_rng(seed)
    tolerance = tolerance_for(generator)
    report = {"savedmodel": 0.0, "onnx": 0.0}
    for batch in (7, 1):
        inputs = _random_inputs(specs, batch, num_classes, rng)
        expected = np.asarray(generator(inputs if len(inputs) > 1 else inputs[0], training=False))
        outputs = {"savedmodel": saved.serve(*inputs)[output_name].numpy(),
                   "onnx": session.run([output_name], {s.name: x for s, x in zip(specs, inputs)})[0]}
        for kind, actual in outputs.items():
            if actual.shape != expected.shape:
                raise ExportError(f"{kind} export gives shape {actual.shape} for a batch of {batch}, Keras "
                                  f"{expected.shape}")
            difference, close = _largest_difference(expected, actual, tolerance)
            report[kind] = max(report[kind], difference)
            if not close:
                raise ExportError(f"{kind} export differs from Keras by up to {difference:.3g} (allowed "
                                  f"{tolerance:g} relative) on a batch of {batch}; nothing was written")
    return report


def export_generator(name, generator, metadata, out, opset, num_classes):
    output_name = "images" if len(generator.outputs[0].shape) == 4 else "samples"
    specs = _input_specs(generator)
    serve = _serving_function(generator, output_name)
    os.makedirs(out, exist_ok=True)
    staging = tempfile.mkdtemp(dir=out, prefix=f".{name}-")
    try:
        saved_model_dir = os.path.join(staging, f"{name}_savedmodel")
        # add_endpoint tracks the variables the endpoint uses; track(generator) as well would store every
        # weight twice (Keras keeps both lists)
        archive = keras.export.ExportArchive()
        archive.add_endpoint("serve", serve, input_signature=specs)
        archive.write_out(saved_model_dir, verbose=False)

        onnx_path = os.path.join(staging, f"{name}.onnx")
        proto, _ = tf2onnx.convert.from_function(tf.function(serve, input_signature=specs),
                                                 input_signature=specs, opset=opset)
        name_batch_dimension(proto.graph)
        onnx.helper.set_model_props(proto, metadata)
        onnx.checker.check_model(proto)
        onnx.save(proto, onnx_path)

        parity = check_parity(generator, saved_model_dir, onnx_path, output_name, num_classes)
        test_set = os.path.join(staging, f"{name}.{TEST_SET}")
        write_test_set(generator, specs, output_name, num_classes, test_set)
        # read back as a deployer reads it (zoo.testdata, without the onnx package), run by onnxruntime
        difference, close = run_test_set(OnnxGenerator(onnx_path, providers=["CPUExecutionProvider"]), test_set)
        if not close:
            raise ExportError(f"onnxruntime differs from the test set's Keras output by up to {difference:.3g}; "
                              "nothing was written")
        targets = {os.path.join(out, os.path.basename(p)): p for p in (saved_model_dir, onnx_path, test_set)}
        for target, source in targets.items():
            move_into_place(source, target)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    onnx_target = os.path.join(out, f"{name}.onnx")
    return {"onnx": os.path.basename(onnx_target), "onnx_sha256": sha256_of(onnx_target),
            "savedmodel": f"{name}_savedmodel", "test_data": f"{name}.{TEST_SET}", "inputs": [s.name for s in specs],
            "output": output_name,
            "max_abs_difference": parity, "metadata": metadata}


def export_run(run_path, out=None, opset=18):
    """Export every generator of a trained run; returns the manifest also written to OUT/export.json."""
    if opset not in OPSETS:
        raise ConfigError(f"opset {opset} is not supported: use one of {OPSETS}")
    model, info = load_trained_model(run_path)
    out = out or os.path.join(run_path, "export")
    manifest = {"run": os.path.abspath(run_path), "opset": opset, "generators": {}}
    for name, generator in model.generators.items():
        metadata = metadata_for(name, generator, model, info)
        manifest["generators"][name] = export_generator(name, generator, metadata, out, opset,
                                                        info["data"]["num_classes"])
    write_json(os.path.join(out, "export.json"), manifest)
    return manifest
