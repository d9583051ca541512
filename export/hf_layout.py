"""A hub folder laid out as a Hugging Face model repo, which `hf://ORG/REPO` then serves (zoo.hf).

    python -m export hf-layout --hub zoo/hub --out DIR [--repo ORG/REPO]

One repo holds the whole hub: index.json at its root, one folder per model with the files the index lists,
copied byte for byte (the index's sizes and SHA-256 stay true, and are checked on the way), a README.md per
model folder (the model's card.md under its Hugging Face front matter) and a root README.md, the repo's model
card, listing the models. Upload DIR as it is, e.g. `hf upload ORG/REPO DIR .`. Needs neither TensorFlow nor
huggingface_hub.
"""

import os
import shutil
import tempfile

from export.cards import CARD_FILE, HF_LIBRARY, HF_LICENSE, front_matter, hf_metadata
from zoo.errors import ZooError
from zoo.files import move_into_place, sha256_of
from zoo.hub import INDEX, parse_index

README = "README.md"


class LayoutError(ZooError):
    """A hub that cannot be laid out as it is (a file that its index does not describe) or an occupied --out."""


def write_hf_layout(hub, out, repo="ORG/REPO"):
    """Write the Hugging Face layout of the hub folder `hub` into `out` (new or empty); returns the paths
    written. `repo` is named in the root README's commands."""
    if os.path.exists(out) and (not os.path.isdir(out) or os.listdir(out)):
        raise LayoutError(f"--out {out} exists and is not an empty folder: name a new or empty one")
    index_path = os.path.join(hub, INDEX)
    if not os.path.isfile(index_path):
        raise LayoutError(f"{hub} has no {INDEX}: not a hub folder (`python -m export publish` writes one)")
    with open(index_path, "rb") as f:
        index = parse_index(f.read(), index_path)  # the checks a client makes: only servable names go out
    parent = os.path.dirname(os.path.abspath(out))
    os.makedirs(parent, exist_ok=True)
    staging = tempfile.mkdtemp(dir=parent, prefix=f".{os.path.basename(os.path.abspath(out))}-")
    os.chmod(staging, 0o755)  # mkdtemp makes it private; the folder is to be uploaded
    try:
        shutil.copyfile(index_path, os.path.join(staging, INDEX))
        models = index["models"]
        for name, entry in sorted(models.items()):
            for file_name, declared in entry["files"].items():
                _copy_checked(os.path.join(hub, name, file_name), os.path.join(staging, name, file_name), declared)
            has_card = CARD_FILE in entry["files"]
            card = _read(os.path.join(staging, name, CARD_FILE)) if has_card else f"# {name}\n"
            _write(os.path.join(staging, name, README), front_matter(hf_metadata(name, entry)) + "\n" + card)
        _write(os.path.join(staging, README), _root_card(models, repo))
        move_into_place(staging, out)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    return sorted(os.path.join(folder, file) for folder, _, files in os.walk(out) for file in files)


def _copy_checked(source, target, declared):
    os.makedirs(os.path.dirname(target), exist_ok=True)
    if not os.path.isfile(source):
        raise LayoutError(f"{source} is missing, though the hub's index lists it: publish the model again")
    shutil.copyfile(source, target)
    if os.path.getsize(target) != declared["size"] or sha256_of(target) != declared["sha256"]:
        raise LayoutError(f"{source} is not the file the hub's index describes (size or SHA-256): publish the "
                          "model again")


def _read(path):
    with open(path, encoding="utf-8") as f:
        return f.read()


def _write(path, text):
    with open(path, "w", encoding="utf-8") as f:
        f.write(text)


def _root_card(models, repo):
    """The repo's model card: the front matter of all its models together, how to use them, and a table."""
    cards = [hf_metadata(name, entry) for name, entry in sorted(models.items())]
    metadata = {"license": HF_LICENSE, "library_name": HF_LIBRARY}
    for field in ("tags", "datasets", "metrics"):
        values = list(dict.fromkeys(value for card in cards for value in card.get(field, [])))
        if values:
            metadata[field] = values
    rows = [f"| [{name}]({name}/{README}) | {entry['variant']} | {entry['dataset']} | {entry['kind']} | "
            f"{entry.get('headline', '')} |" for name, entry in sorted(models.items())]
    first = min(models, default="NAME")
    return front_matter(metadata) + f"""
# GAN zoo

Generators of classic GAN variants, trained with Keras 3 and exported to ONNX (with a TensorFlow SavedModel
beside each), for onnxruntime: numpy, onnxruntime and pillow are all it takes to sample them. This repo is a
gan-zoo hub: `{INDEX}` lists every model with the size and SHA-256 of each of its files, which the client
checks before it uses one.

```sh
pip install 'gan-zoo[hf]'
python -m zoo --hub hf://{repo} list
python -m zoo --hub hf://{repo} info {first}
```

```python
import zoo
generator = zoo.load("{first}", hub="hf://{repo}")   # or hf://{repo}@REVISION
images = generator.sample(16, seed=0)
```

| model | variant | dataset | kind | headline |
|---|---|---|---|---|
""" + "\n".join(rows) + "\n"
