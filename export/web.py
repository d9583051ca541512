"""`python -m export web NAME_OR_ONNX -o SITE/`: a static site that runs a generator in the browser.

The page (web_assets/index.html and generator-page.js) runs the generator with onnxruntime-web on
WebAssembly: a grid of samples from a seed, resampling, an animated spherical walk through the grid's
latents, a class picker for conditional generators, and the translation of an uploaded image for CycleGAN
ones; a toy generator's 2-D points are plotted over real points instead of a grid. Pixels are
zoo.runtime.to_uint8's, grids zoo.grid.image_grid's and plots zoo.grid.points_plot's, so the page shows what
Python computes. Everything comes from the site itself: onnxruntime-web, pinned in web_assets/package-lock.json,
is installed once with `npm ci` into the cache, and its WebAssembly files are copied in.

    SITE/index.html, generator-page.js  the page
    SITE/generator.onnx                 the generator, as exported
    SITE/model.json                     what the page needs of its metadata (kind, sizes, class names, ...)
    SITE/latents.json                   OnnxGenerator.latents(COUNT, SEED): the page's first grid is Python's
    SITE/real.json                      a toy's real points, zoo.toys.plot_reference (point generators only)
    SITE/ort/                           onnxruntime-web's WebAssembly build

Serve SITE/ with any static server (`python -m http.server -d SITE`): browsers refuse modules and
WebAssembly to pages opened as files. numpy, onnxruntime and the standard library only: no TensorFlow.
"""

import json
import os
import re
import shutil
import subprocess
import tempfile

import zoo
from zoo.runtime import OnnxGenerator
from zoo.classifier import CLASS_NAMES
from zoo.errors import ZooError, shorten
from zoo.files import exclusive_lock, make_folders, move_into_place, sha256_of, write_json
from zoo.hub import default_cache
from zoo.toys import TOY_SAMPLES, plot_reference

ASSETS = os.path.join(os.path.dirname(os.path.abspath(__file__)), "web_assets")
PAGE_FILES = ("index.html", "generator-page.js")
NPM_FILES = ("package.json", "package-lock.json")
#: onnxruntime-web's WebAssembly-only build: the module the page imports, the Emscripten loader it imports
#: in turn, and the binary (the WebGPU and WebGL builds would add some 40 MB the page does not use)
ORT_FILES = ("ort.wasm.min.mjs", "ort-wasm-simd-threaded.mjs", "ort-wasm-simd-threaded.wasm")
MODEL_FILE, METADATA_FILE, LATENTS_FILE, REAL_FILE = "generator.onnx", "model.json", "latents.json", "real.json"
IMAGE_COUNT, MAX_COUNT = 16, 10_000  # the first grid's default and largest size (a toy's default: TOY_SAMPLES)
#: CycleGAN datasets made of two Fashion-MNIST classes, e.g. fashion_mnist:5-7 (sandals and sneakers)
FASHION_MNIST_DOMAINS = re.compile(r"fashion_mnist:(\d)-(\d)$")


class WebExportError(ZooError):
    """A site that cannot be built: npm missing or failing, or a generator the page cannot show."""


def onnxruntime_web():
    """The folder holding ORT_FILES of the pinned onnxruntime-web, installed with `npm ci` into the cache
    (zoo.hub's) the first time; one folder per lock file, so a new pin installs anew."""
    lock_digest = sha256_of(os.path.join(ASSETS, "package-lock.json"))[:16]
    folder = os.path.join(default_cache(), "onnxruntime-web", lock_digest)
    if _has_ort_files(folder):
        return _dist(folder)
    npm = shutil.which("npm")
    if npm is None:
        raise WebExportError("npm is not installed; the site needs it once to install onnxruntime-web "
                             "(Debian: apt-get install npm)")
    make_folders(default_cache(), "onnxruntime-web")  # a link planted in a shared cache is refused
    with exclusive_lock(folder + ".lock", follow_symlinks=False):
        if _has_ort_files(folder):  # installed by the process this one waited for
            return _dist(folder)
        staging = tempfile.mkdtemp(dir=os.path.dirname(folder), prefix=".installing-")
        try:
            for name in NPM_FILES:
                shutil.copy(os.path.join(ASSETS, name), staging)
            # --ignore-scripts: only files are copied out of the package, so no install script needs to run
            result = subprocess.run([npm, "ci", "--ignore-scripts", "--no-audit", "--no-fund"], cwd=staging,
                                    capture_output=True, text=True)
            if result.returncode != 0 or not _has_ort_files(staging):
                last_line = (result.stderr.strip().splitlines() or ["no message"])[-1]
                raise WebExportError(f"`npm ci` could not install onnxruntime-web ({shorten(last_line, 200)}): "
                                     "check that the npm registry is reachable")
            move_into_place(staging, folder)
        finally:
            shutil.rmtree(staging, ignore_errors=True)
    return _dist(folder)


def _dist(npm_folder):
    return os.path.join(npm_folder, "node_modules", "onnxruntime-web", "dist")


def _has_ort_files(npm_folder):
    return all(os.path.isfile(os.path.join(_dist(npm_folder), name)) for name in ORT_FILES)


def class_names(metadata, count):
    """The classes' names: the metadata's own list if it has one, Fashion-MNIST's, else numbers."""
    if "class_names" in metadata:
        return json.loads(metadata["class_names"])
    if metadata.get("dataset", "").startswith("fashion_mnist") and count == len(CLASS_NAMES):
        return list(CLASS_NAMES)
    return [f"class {label}" for label in range(count)]


def translation_domains(metadata):
    """[from, to]: the names of a CycleGAN generator's domains, in its direction."""
    match = FASHION_MNIST_DOMAINS.match(metadata.get("dataset", ""))
    names = [CLASS_NAMES[int(label)] for label in match.groups()] if match else ["A", "B"]
    return names if metadata.get("direction", "A->B") == "A->B" else names[::-1]


def page_metadata(generator, name):
    """What the page needs to know of a generator, read from its ONNX metadata (model.json)."""
    metadata = generator.metadata
    page = {"name": name, "kind": generator.kind, "variant": metadata["variant"],
            "dataset": metadata.get("dataset", ""), "value_range": list(generator.value_range),
            "output": generator.output_name}
    page["image_shape" if generator.is_image else "point_shape"] = list(generator.output_shape)
    if generator.kind == "translation":
        page["domains"] = translation_domains(metadata)
    else:
        page["latent_dim"] = generator.latent_dim
    if generator.kind == "conditional":
        page["classes"] = class_names(metadata, generator.num_classes)
    return page


def write_latents(generator, path, count, seed):
    """OnnxGenerator.latents(count, seed) as the JSON the page reads (float32 values, exactly)."""
    z = generator.latents(count, seed)
    write_json(path, {"source": f"OnnxGenerator.latents({count}, seed={seed})", "seed": seed, "z": z.tolist()})


def write_real_points(dataset, path):
    """zoo.toys.plot_reference(dataset, 2) as the JSON the page reads: the points a toy's plot draws in grey."""
    points = plot_reference(dataset, 2)
    write_json(path, {"source": f"zoo.toys.plot_reference({dataset!r}, 2)", "points": points.tolist()})


def build_site(source, out, hub=None, count=None, seed=0):
    """Write the page for `source` (an exported .onnx file, or a model name in the hub) into the folder
    `out`; returns the paths written. The first grid shows `count` images (default IMAGE_COUNT; a toy:
    TOY_SAMPLES points; at most MAX_COUNT) from Python's latents for `seed`."""
    if count is not None and not 0 < count <= MAX_COUNT:
        raise WebExportError(f"the first grid takes 1 to {MAX_COUNT:,} samples, not {shorten(count, 40)}: "
                             "lower --count")
    if os.path.isfile(source):
        generator, name = OnnxGenerator(source, providers=["CPUExecutionProvider"]), os.path.basename(source)
    elif source.endswith(".onnx"):
        raise WebExportError(f"no file {source}: pass an exported .onnx file or a hub model name")
    else:
        generator, name = zoo.load(source, hub=hub), source
    if not generator.is_image and generator.output_shape != (2,):
        raise WebExportError(f"{name} generates {generator.output_shape[0]}-d points; the page plots 2-d points "
                             "and images")
    ort_files = onnxruntime_web()
    os.makedirs(os.path.join(out, "ort"), exist_ok=True)
    copies = {os.path.join(ASSETS, page_file): os.path.join(out, page_file) for page_file in PAGE_FILES}
    copies[generator.path] = os.path.join(out, MODEL_FILE)
    copies.update({os.path.join(ort_files, ort_file): os.path.join(out, "ort", ort_file)
                   for ort_file in ORT_FILES})
    for origin, target in copies.items():
        shutil.copyfile(origin, target)
    metadata_path, latents_path = os.path.join(out, METADATA_FILE), os.path.join(out, LATENTS_FILE)
    write_json(metadata_path, page_metadata(generator, name))
    written = [*copies.values(), metadata_path]
    if generator.kind != "translation":
        write_latents(generator, latents_path, count or (IMAGE_COUNT if generator.is_image else TOY_SAMPLES), seed)
        written.append(latents_path)
    if not generator.is_image:
        real_path = os.path.join(out, REAL_FILE)
        write_real_points(generator.metadata.get("dataset", ""), real_path)
        written.append(real_path)
    return written
