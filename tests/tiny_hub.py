"""A tiny hub, written in milliseconds without training anything: three 4x4 generators built with
onnx.helper (the translation one is the identity, so its output shows what it was given), a stand-in
SavedModel archive, and an index like the one `python -m export publish` writes."""

import hashlib
import io
import json
import os
import tarfile

from onnx import TensorProto, helper, save

SIDE = 4
LATENT_DIM = SIDE * SIDE
NUM_CLASSES = 3
METADATA = {"noise": {"kind": "noise", "variant": "gan", "latent_dim": str(LATENT_DIM)},
            "conditional": {"kind": "conditional", "variant": "cgan", "latent_dim": str(LATENT_DIM),
                            "num_classes": str(NUM_CLASSES)},
            "translation": {"kind": "translation", "variant": "cyclegan", "direction": "A->B"}}
MODELS = {"tiny-noise": "noise", "tiny-conditional": "conditional", "tiny-translation": "translation"}
SAVEDMODEL = {"savedmodel/": None, "savedmodel/saved_model.pb": b"a stand-in graph",
              "savedmodel/variables/": None, "savedmodel/variables/variables.index": b"weights"}


def tiny_generator(path, kind, metadata_changes=None):
    """An ONNX generator of `kind` (SIDE x SIDE grey images) with gan-zoo metadata; metadata_changes
    replace fields (None: removes them), to make metadata that lies."""
    image_shape = (SIDE, SIDE, 1)
    images = helper.make_tensor_value_info("images", TensorProto.FLOAT, ["n", *image_shape])
    shape = helper.make_tensor("shape", TensorProto.INT64, [4], [-1, *image_shape])
    if kind == "translation":
        inputs = [helper.make_tensor_value_info("image", TensorProto.FLOAT, ["n", *image_shape])]
        nodes, initializers = [helper.make_node("Identity", ["image"], ["images"])], []
    else:
        inputs = [helper.make_tensor_value_info("z", TensorProto.FLOAT, ["n", LATENT_DIM])]
        nodes = [helper.make_node("Reshape", ["z", "shape"], ["grid"]), helper.make_node("Tanh", ["grid"], ["images"])]
        initializers = [shape]
        if kind == "conditional":  # the label brightens the image a little: images + label / 10
            inputs.append(helper.make_tensor_value_info("label", TensorProto.INT32, ["n"]))
            nodes = nodes[:1] + [
                helper.make_node("Cast", ["label"], ["label_float"], to=TensorProto.FLOAT),
                helper.make_node("Reshape", ["label_float", "column"], ["label_column"]),
                helper.make_node("Div", ["label_column", "ten"], ["brightness"]),
                helper.make_node("Add", ["grid", "brightness"], ["brighter"]),
                helper.make_node("Tanh", ["brighter"], ["images"])]
            initializers += [helper.make_tensor("column", TensorProto.INT64, [4], [-1, 1, 1, 1]),
                             helper.make_tensor("ten", TensorProto.FLOAT, [], [10.0])]
    model = helper.make_model(helper.make_graph(nodes, kind, inputs, [images], initializers),
                              opset_imports=[helper.make_opsetid("", 18)])
    metadata = {**METADATA[kind], "value_range": "[-1.0, 1.0]", "image_shape": json.dumps(list(image_shape)),
                "dataset": "tiny", **(metadata_changes or {})}
    helper.set_model_props(model, {key: value for key, value in metadata.items() if value is not None})
    save(model, path)
    return path


def tar_gz(path, members):
    """A .tar.gz of `members`: name -> bytes (a file) or None (a folder), or a ready tarfile.TarInfo."""
    with tarfile.open(path, "w:gz") as tar:
        for name, content in members.items():
            if isinstance(content, tarfile.TarInfo):
                tar.addfile(content)
                continue
            info = tarfile.TarInfo(name.rstrip("/"))
            info.type = tarfile.DIRTYPE if content is None else tarfile.REGTYPE
            info.mode = 0o755 if content is None else 0o644
            info.size = 0 if content is None else len(content)
            tar.addfile(info, None if content is None else io.BytesIO(content))
    return path


def file_record(path):
    with open(path, "rb") as f:
        data = f.read()
    return {"size": len(data), "sha256": hashlib.sha256(data).hexdigest()}


def write_tiny_hub(folder):
    """The tiny hub in `folder` (made if missing); returns its index."""
    models = {}
    for name, kind in MODELS.items():
        model_folder = os.path.join(folder, name)
        os.makedirs(model_folder, exist_ok=True)
        tiny_generator(os.path.join(model_folder, "generator.onnx"), kind)
        tar_gz(os.path.join(model_folder, "savedmodel.tar.gz"), SAVEDMODEL)
        with open(os.path.join(model_folder, "card.md"), "w") as f:
            f.write(f"# {name}\n")
        models[name] = {"kind": kind, "variant": METADATA[kind]["variant"], "dataset": "tiny", "version": "1.0",
                        "headline": "tiny", "onnx": "generator.onnx", "savedmodel": "savedmodel.tar.gz",
                        "files": {file: file_record(os.path.join(model_folder, file))
                                  for file in ("generator.onnx", "savedmodel.tar.gz", "card.md")}}
    index = {"format": 1, "models": models}
    write_index(folder, index)
    return index


def write_index(folder, index):
    with open(os.path.join(folder, "index.json"), "w") as f:
        json.dump(index, f)
