"""`python -m training.evaluate RUN_OR_ONNX`: measure a generator and write the results as JSON beside it.

RUN_OR_ONNX is a run folder of `python -m training` or a generator file of `python -m export`. What is
measured depends on the data the generator was trained on (docs/design.md, section 3):

- fashion_mnist: domain FID and KID between 10,000 generated images and the 10,000 test images, from the
  features of the shipped classifier (zoo/assets/), with the train-vs-test values of real data as the
  floor; precision and recall (k-NN manifolds, k=3). Conditional generators: the classifier's accuracy on
  images generated for each asked label, and the intra-class FID (mean over classes).
  `--features inception` uses Keras' InceptionV3 ImageNet weights instead (needs internet once).
- ring8, grid25: the PacGAN protocol on 2,500 samples (modes covered, % high quality, reverse KL).
- fashion_mnist:A-B (CycleGAN): the share of translated test images that the classifier assigns to the
  target class, both ways, and the mean cycle L1 error |F(G(a)) - a| in the [-1, 1] range.

`python -m training.evaluate fgan-1d` runs the f-GAN 1-D experiment (training/fgan_experiment.py) and writes
its table as JSON.

Results go to RUN/evaluation.json or NAME.evaluation.json beside NAME.onnx (or --out).
"""

import argparse
import glob
import os
import sys
import time

import numpy as np

from zoo.classifier import CLASSIFIER_PATH, FashionClassifier
from zoo.cli import OneLineErrorParser
from zoo.files import sha256_of, write_json
from zoo.prior import classes_in_turn, latents
from zoo.metrics import (TOY_GATE, fid, kernel_inception_distance, knn_radii, manifold_share, mode_coverage,
                         precision_recall)
from zoo.errors import ZooError, run_cli
from zoo.toys import TOY_SAMPLES, TOY_STD, toy_modes

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

SAMPLES = 10_000
MAX_SAMPLES = 100_000  # generated images held in memory at once: about 300 MB at 28 x 28
MAX_STEPS = 1_000_000
#: the quality probe draws its z from the stream [seed, PROBE_STREAM], never from the int seed that evaluation
#: takes: the best checkpoint is chosen on other noise than its published figures are measured with, so that
#: picking the best of hundreds of epochs does not pick the luckiest draw of the same z (the real test images
#: that FID and CycleGAN's measures compare with are the same in both)
PROBE_STREAM = 1
INCEPTION_SIZE = 299
FGAN_TABLE = "fgan-1d"
TOYS = ("ring8", "grid25")
#: a CycleGAN's two directions as its probe's history columns (target_share_a2b) and its hub names end
DIRECTION_SUFFIX = {"A->B": "a2b", "B->A": "b2a"}


class EvaluationError(ZooError, ValueError):
    """A generator or option that cannot be evaluated; the message says what can."""


class Generators:
    """What evaluation needs of a generator, from a run folder (Keras) or ONNX files (onnxruntime).

    generate(z, labels) -> float images in [-1, 1]; translate[direction](images) -> images, for CycleGAN.
    """

    def __init__(self, kind, variant, dataset, num_classes, latent_dim, generate=None, translate=None):
        self.kind, self.variant, self.dataset = kind, variant, dataset
        self.num_classes, self.latent_dim = num_classes, latent_dim
        self.generate, self.translate = generate, translate or {}

    @classmethod
    def from_onnx(cls, path):
        from zoo.runtime import GeneratorFileError, OnnxGenerator

        first = OnnxGenerator(path)
        meta = first.metadata
        if first.kind != "translation":
            return cls(first.kind, meta["variant"], meta["dataset"], first.num_classes, first.latent_dim,
                       generate=lambda z, labels: first.generate(z, labels))
        # the other direction, when it was exported beside this one (same run config), gives the cycle error
        translate = {meta["direction"]: first.translate}
        for other_path in sorted(glob.glob(os.path.join(os.path.dirname(os.path.abspath(path)), "*.onnx"))):
            if os.path.samefile(other_path, path):
                continue
            try:
                other = OnnxGenerator(other_path)
            except GeneratorFileError:
                continue  # some other ONNX file: not ours to use
            if other.kind == "translation" and other.metadata.get("config") == meta.get("config"):
                translate.setdefault(other.metadata["direction"], other.translate)
        return cls("translation", meta["variant"], meta["dataset"], 0, 0, translate=translate)

    @classmethod
    def from_run(cls, path):
        from training.run import load_trained_model

        model, info = load_trained_model(path)
        return cls.from_model(model, info["config"], info["data"]["num_classes"])

    @classmethod
    def from_model(cls, model, config, num_classes):
        """The generators of a Keras model, called as they are when called (for the averaged weights,
        call inside `model.averaged_generators()`)."""
        from zoo.models import TRANSLATION_DIRECTIONS, generator_kind

        generators = model.generators

        def batched(generator, batch_size=500):
            """numpy in, numpy out, in batches: a Keras net called like the ONNX wrapper's session."""
            def run(*inputs):
                parts = []
                for i in range(0, len(inputs[0]), batch_size):
                    rows = [x[i:i + batch_size] for x in inputs]
                    parts.append(np.asarray(generator(rows if len(rows) > 1 else rows[0], training=False)))
                return np.concatenate(parts)
            return run

        if "generator" in generators:
            generator = generators["generator"]
            kind = generator_kind(generator)
            run = batched(generator)
            return cls(kind, config["model"], config["dataset"], num_classes, config["latent_dim"],
                       generate=lambda z, labels: run(z) if labels is None else run(z, labels.astype(np.int32)))
        translate = {TRANSLATION_DIRECTIONS[name]: batched(g) for name, g in generators.items()}
        return cls("translation", config["model"], config["dataset"], 0, 0, translate=translate)


def load_generators(path):
    if os.path.isdir(path):
        return Generators.from_run(path)
    if path.endswith(".onnx") and os.path.isfile(path):
        return Generators.from_onnx(path)
    raise EvaluationError(f"{path} is neither a run folder nor an .onnx file: pass a folder written by "
                          "`python -m training` or a generator file written by `python -m export`")


def default_output(path):
    return os.path.join(path, "evaluation.json") if os.path.isdir(path) else path[:-len(".onnx")] + ".evaluation.json"


# --- features ------------------------------------------------------------------------------------------

class ClassifierFeatures:
    name = "fashion_mnist_classifier"

    def __init__(self):
        self.classifier = FashionClassifier()
        self.description = {"name": self.name, "sha256": self.classifier.record["sha256"],
                            "test_accuracy": self.classifier.record["test_accuracy"]}

    def __call__(self, images):
        return self.classifier.run(images)[1]


class InceptionFeatures:
    """InceptionV3's 2048-d pool features of grayscale images tiled to RGB and resized to 299 x 299."""

    name = "inception_v3"

    def __init__(self, weights="imagenet", batch_size=50):
        import keras

        try:
            self.model = keras.applications.InceptionV3(include_top=False, weights=weights, pooling="avg",
                                                        input_shape=(INCEPTION_SIZE, INCEPTION_SIZE, 3))
        except Exception as error:  # keras wraps URL, HTTP and socket errors in plain Exceptions
            raise EvaluationError(
                f"cannot get InceptionV3's ImageNet weights ({str(error).splitlines()[0][:160]}): --features "
                "inception downloads them once (about 90 MB, cached in ~/.keras/models), so it needs internet "
                "the first time; offline, use the default --features classifier") from None
        self.batch_size = batch_size
        self.description = {"name": self.name, "weights": weights or "random"}

    def __call__(self, images):
        import tensorflow as tf

        parts = []
        for i in range(0, len(images), self.batch_size):
            batch = tf.convert_to_tensor(images[i:i + self.batch_size], tf.float32)
            rgb = tf.image.resize(tf.image.grayscale_to_rgb(batch) if batch.shape[-1] == 1 else batch,
                                  (INCEPTION_SIZE, INCEPTION_SIZE), method="bilinear")
            parts.append(np.asarray(self.model(rgb, training=False)))  # [-1, 1] is InceptionV3's own range
        return np.concatenate(parts)


def make_features(name):
    return InceptionFeatures() if name == "inception" else ClassifierFeatures()


def real_images(split, n=None, seed=0, classes=None):
    """Fashion-MNIST images in [-1, 1] and labels: all of `split`, or n drawn without replacement."""
    from training.data import fashion_mnist_arrays

    images, labels = fashion_mnist_arrays(split)
    if classes is not None:
        keep = np.isin(labels, classes)
        images, labels = images[keep], labels[keep]
    if n is not None and n < len(images):
        chosen = np.sort(np.random.default_rng(seed).choice(len(images), n, replace=False))
        images, labels = images[chosen], labels[chosen]
    return images.astype(np.float32) / 127.5 - 1.0, labels


def distribution_metrics(real_features, generated_features):
    kid_mean, kid_std = kernel_inception_distance(real_features, generated_features)
    return {"fid": fid(real_features, generated_features), "kid": kid_mean, "kid_std": kid_std,
            **precision_recall(real_features, generated_features)}


# --- what each kind of generator is measured on -------------------------------------------------------

def evaluate_images(generators, features, n, seed):
    if generators.dataset != "fashion_mnist":
        raise EvaluationError(f"no image metrics for dataset {generators.dataset}: evaluation knows "
                              "fashion_mnist, ring8, grid25 and fashion_mnist:A-B")
    clock = time.perf_counter()
    z, labels = latents_and_labels(generators, n, seed)
    generated = generators.generate(z, labels)
    if generated.shape[1:] != (28, 28, 1) and features.name != "inception_v3":
        raise EvaluationError(f"the classifier's features need 28 x 28 x 1 images, this generator makes "
                              f"{generated.shape[1:]}: use --features inception")
    seconds = {"generate": time.perf_counter() - clock}
    clock = time.perf_counter()
    test_images, test_labels = real_images("test")
    train_images, _ = real_images("train", n=len(test_images), seed=seed)
    if generators.kind == "conditional":
        generated_features, predicted = features_and_predictions(features, generated)
    else:
        generated_features = features(generated)
    test_features, train_features = features(test_images), features(train_images)
    seconds["features"] = time.perf_counter() - clock
    clock = time.perf_counter()
    results = {**distribution_metrics(test_features, generated_features),
               "floor": distribution_metrics(test_features, train_features)}
    if generators.kind == "conditional":
        results["conditional"] = conditional_metrics(predicted, labels, test_labels, generated_features,
                                                     test_features)
    seconds["metrics"] = time.perf_counter() - clock
    return {**results, "phase_seconds": seconds}


def features_and_predictions(features, images):
    """`features(images)` and the classifier's predicted classes: one pass when they are the classifier's."""
    if isinstance(features, ClassifierFeatures):
        logits, image_features = features.classifier.run(images)
        return image_features, logits.argmax(axis=1)
    return features(images), FashionClassifier().run(images)[0].argmax(axis=1)


def conditional_metrics(predicted, labels, test_labels, generated_features, test_features):
    """Accuracy of the classifier on the asked labels, and the FID of each class against its test images."""
    classes = np.unique(labels)
    per_class_fid = [fid(test_features[test_labels == c], generated_features[labels == c]) for c in classes]
    return {"accuracy": float((predicted == labels).mean()),
            "per_class_accuracy": [float((predicted[labels == c] == c).mean()) for c in classes],
            "intra_class_fid": float(np.mean(per_class_fid)), "per_class_fid": per_class_fid}


def toy_mode_coverage(name, samples):
    return mode_coverage(samples, toy_modes(name), TOY_STD[name])


def evaluate_toy(generators, seed):
    z, labels = latents_and_labels(generators, TOY_SAMPLES, seed)
    return {"samples": TOY_SAMPLES, **toy_mode_coverage(generators.dataset, generators.generate(z, labels))}


def translation_test_domains(dataset):
    """The Fashion-MNIST test images of a class pair (dataset fashion_mnist:A-B), in [-1, 1], by domain:
    ({"A": class a, "B": class b}, {"A": images of class a, "B": images of class b})."""
    from training.data import fashion_mnist_class_pair

    class_a, class_b = fashion_mnist_class_pair(dataset)
    images, labels = real_images("test", classes=[class_a, class_b])
    return {"A": class_a, "B": class_b}, {"A": images[labels == class_a], "B": images[labels == class_b]}


def evaluate_translation(generators):
    """Per direction: the share of translated test images classified as the target class; cycle L1."""
    classes, domains = translation_test_domains(generators.dataset)
    classifier = FashionClassifier()
    results = {"classes": classes}
    translated = {}
    for direction, translate in generators.translate.items():
        source, target = direction.split("->")
        translated[source] = translate(domains[source])
        predicted = classifier.run(translated[source])[0].argmax(axis=1)
        results[direction] = {"target_class_share": float((predicted == results["classes"][target]).mean()),
                              "images": len(predicted)}
    for direction, translate in generators.translate.items():
        source, target = direction.split("->")
        if target in translated:  # images of domain `target`, translated to `source`, and back
            back = translate(translated[target])
            results[f"cycle_l1_{target}"] = float(np.abs(back - domains[target]).mean())
    return results


class QualityProbe:
    """Quality measured during training: quick (a few seconds), with one score to keep the best checkpoint.

    fashion_mnist: domain FID, precision and recall of `n` generated images against the test split (and
    the label accuracy of a conditional generator); the score is the FID. ring8, grid25: PacGAN's mode
    coverage on `draws` independent draws of 2,500 samples, their mean (and with several draws the worst
    draw's, fewest_modes_covered and lowest_high_quality); the score counts missed modes plus the share of
    low-quality samples, of the mean, and an epoch where any draw is below the toy's gate
    (zoo.metrics.TOY_GATE, its share raised by two standard errors) scores worse than every epoch above it,
    the nearer to the gate the better.
    fashion_mnist:A-B (CycleGAN): the target-class share both ways and the cycle L1 error; the score is the
    mean share missed plus the mean cycle error. Lower scores are better.
    """

    def __init__(self, dataset, n, seed=0, draws=1):
        self.dataset, self.n, self.noise = dataset, n, [seed, PROBE_STREAM]
        # a mode of small mass is covered in one draw of 2,500 samples and missed in the next: judged on one
        # draw, the best of hundreds of epochs is the one whose draw was luckiest
        # (numpy's own independent streams: a trailing 0 in a seed list would repeat the list without it)
        self.toy_noise = [self.noise] if draws == 1 else np.random.SeedSequence(self.noise).spawn(draws)
        if dataset == "fashion_mnist":
            self.features = ClassifierFeatures()
            test_images, self.test_labels = real_images("test")
            self.test_features = self.features(test_images)
            self.test_radii = knn_radii(self.test_features)
        elif dataset in TOYS:
            self.modes = len(toy_modes(dataset))
            # the z of the evaluation that publishing gates on is another draw than the probe's, and the best of
            # hundreds of epochs is the luckiest draw of its own: the share must clear the gate by two standard
            # errors of a share of TOY_SAMPLES samples (the modes, whole numbers above the gate's means, by none)
            quality = TOY_GATE[dataset][1]
            self.gate_margin = 2 * np.sqrt(quality * (1 - quality) / TOY_SAMPLES)
        elif not dataset.startswith("fashion_mnist:"):
            raise EvaluationError(f"no quality measure for dataset {dataset} during training: --eval-every "
                                  "knows fashion_mnist, ring8, grid25 and fashion_mnist:A-B")

    def measure(self, generators):
        """(flat metrics for logs and history, score)."""
        if generators.kind == "translation":
            results = evaluate_translation(generators)
            metrics = {f"target_share_{DIRECTION_SUFFIX[d]}": v["target_class_share"]
                       for d, v in results.items() if "->" in d}
            metrics.update((k, v) for k, v in results.items() if k.startswith("cycle_l1"))
        elif self.dataset in TOYS:
            draws = [evaluate_toy(generators, noise) for noise in self.toy_noise]
            covered, quality = ([draw[key] for draw in draws] for key in ("modes_covered", "high_quality"))
            if len(draws) == 1:
                metrics = {"modes_covered": covered[0], "high_quality": quality[0]}
            else:
                metrics = {"modes_covered": float(np.mean(covered)), "high_quality": float(np.mean(quality)),
                           "fewest_modes_covered": min(covered), "lowest_high_quality": min(quality)}
        else:
            z, labels = latents_and_labels(generators, self.n, self.noise)
            generated_features, predicted = features_and_predictions(self.features,
                                                                     generators.generate(z, labels))
            metrics = {"fid": fid(self.test_features, generated_features),
                       "precision": manifold_share(generated_features, self.test_features, self.test_radii),
                       "recall": manifold_share(self.test_features, generated_features,
                                                knn_radii(generated_features))}
            if labels is not None:
                metrics["label_accuracy"] = float((predicted == labels).mean())
        return metrics, self.score(metrics)

    def score(self, metrics):
        """The score of measure()'s metrics, also of those in an earlier run's best.json (so that a resumed
        run compares its epochs with the best one by today's rule)."""
        if self.dataset in TOYS:
            # every draw must pass: the worst one's measures, which a probe of one draw records as its only ones
            worst = (metrics.get("fewest_modes_covered", metrics["modes_covered"]),
                     metrics.get("lowest_high_quality", metrics["high_quality"]))
            shortfall = self.gate_shortfall(*worst)
            if shortfall:
                # the score above the gate is at most modes + 1, so every epoch below it ranks after all above it;
                # among them the nearest to the gate, not the most modes: those lead while samples are still a
                # blur (gan-grid25, seed 1: epoch 10, 21 modes at 25 % high quality, over 18 at 95.5 %)
                return float(self.modes + 1 + shortfall)
            return float(self.modes - metrics["modes_covered"] + 1 - metrics["high_quality"])
        if self.dataset == "fashion_mnist":
            return float(metrics["fid"])
        # CycleGAN: a training run translates and measures both ways
        shares = metrics["target_share_a2b"], metrics["target_share_b2a"]
        return float(1 - np.mean(shares) + np.mean([metrics["cycle_l1_A"], metrics["cycle_l1_B"]]))

    def gate_shortfall(self, modes_covered, high_quality):
        """How far a toy's measures fall short of the gate (zoo.metrics.TOY_GATE, its share raised by the
        margin), each bound's shortfall relative to the bound: on grid25 a mode short of 17.3 weighs as much as
        a share of high quality 5.8 % below its bound. Zero exactly when both bounds are met."""
        modes, quality = TOY_GATE[self.dataset]
        quality += self.gate_margin
        return max(0.0, (modes - modes_covered) / modes) + max(0.0, (quality - high_quality) / quality)


def latents_and_labels(generators, n, seed):
    """n latents z ~ N(0, I) and, for a conditional generator, labels cycling through the classes."""
    z = latents(n, generators.latent_dim, seed)
    labels = classes_in_turn(n, generators.num_classes) if generators.kind == "conditional" else None
    return z, labels


def evaluate(path, features="classifier", n=SAMPLES, seed=0):
    """All the measures that apply to the generator(s) at `path`, as a dict."""
    start = time.perf_counter()
    generators = load_generators(path)
    # the file or folder's own name: results are published, and the training machine's paths are not theirs
    results = {"generator": os.path.basename(os.path.normpath(path)), "variant": generators.variant,
               "kind": generators.kind, "dataset": generators.dataset, "seed": seed}
    if os.path.isfile(path):  # which exact file these numbers belong to
        results["generator_sha256"] = sha256_of(path)
    if generators.kind == "translation":
        results["translation"] = evaluate_translation(generators)
        results["classifier_sha256"] = sha256_of(CLASSIFIER_PATH)  # the judge of the target class
    elif generators.dataset in TOYS:
        results["modes"] = evaluate_toy(generators, seed)
    else:
        extractor = make_features(features)
        results.update(samples=n, features=extractor.description, **evaluate_images(generators, extractor, n, seed))
    results["seconds"] = time.perf_counter() - start
    return results


def evaluate_fgan_table(steps, seed):
    from training.fgan_experiment import STEPS, run
    from zoo.divergences import DIVERGENCES

    steps = steps or STEPS
    start = time.perf_counter()
    return {"experiment": "fgan-1d", "steps": steps, "seed": seed, "rows": run(list(DIVERGENCES), steps, seed),
            "seconds": time.perf_counter() - start, "cores": os.cpu_count()}  # run's workers: one per core


def summary(results):
    """A few lines for the terminal."""
    if "rows" in results:
        from training.fgan_experiment import format_table
        return format_table(results["rows"])
    if "modes" in results:
        m = results["modes"]
        return (f"modes covered {m['modes_covered']}/{m['modes']}, high quality {100 * m['high_quality']:.1f} %, "
                f"reverse KL {m['reverse_kl']:.3f}")
    if "translation" in results:
        t = results["translation"]
        lines = [f"{d}: {100 * v['target_class_share']:.1f} % classified as the target class"
                 for d, v in t.items() if "->" in d]
        lines += [f"{k}: {v:.4f}" for k, v in t.items() if k.startswith("cycle_l1")]
        return "\n".join(lines)
    floor = results["floor"]
    lines = [f"{'':<10} {'generated':>10} {'real floor':>10}"]
    lines += [f"{key:<10} {results[key]:10.4f} {floor[key]:10.4f}" for key in ("fid", "kid", "precision", "recall")]
    if "conditional" in results:
        c = results["conditional"]
        lines.append(f"conditional accuracy {c['accuracy']:.4f}, intra-class FID {c['intra_class_fid']:.4f}")
    return "\n".join(lines)


def check_output_path(path):
    """Refuse, before any work, an output file that could not be written once the work is done."""
    folder = os.path.dirname(os.path.abspath(path))
    if not os.path.isdir(folder):
        raise EvaluationError(f"cannot write {path}: the folder {folder} does not exist")
    if os.path.isdir(path):
        raise EvaluationError(f"cannot write {path}: it is a folder; name a JSON file")


def run_evaluation(argv):
    parser = OneLineErrorParser(prog="python -m training.evaluate", description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("path", help=f"run folder, exported .onnx generator, or '{FGAN_TABLE}'")
    parser.add_argument("--features", choices=("classifier", "inception"), default="classifier",
                        help="feature network of FID/KID/precision/recall (default: the shipped classifier)")
    parser.add_argument("--samples", type=int, default=SAMPLES, help=f"generated images (default: {SAMPLES})")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--steps", type=int, default=None,
                        help=f"{FGAN_TABLE}: training steps per divergence (default: the experiment's own, 25,000)")
    parser.add_argument("--out", help="JSON file to write (default: beside the generator)")
    args = parser.parse_args(argv)
    if not 2 <= args.samples <= MAX_SAMPLES:
        parser.error(f"--samples must be at least 2 and at most {MAX_SAMPLES}")
    if args.steps is not None and not 0 < args.steps <= MAX_STEPS:
        parser.error(f"--steps must be positive and at most {MAX_STEPS}")
    if not 0 <= args.seed < 2**32:  # the fgan-1d table seeds numpy's global generator: 32 bits
        parser.error("--seed must be from 0 to 2**32 - 1")
    if args.out:  # the default is beside the generator, in a folder that exists
        check_output_path(args.out)
    if args.path == FGAN_TABLE:
        results, out = evaluate_fgan_table(args.steps, args.seed), args.out or f"{FGAN_TABLE}.evaluation.json"
    else:
        try:
            results = evaluate(args.path, args.features, args.samples, args.seed)
        except FileNotFoundError as error:  # a shipped asset is missing (the classifier's message names it)
            raise EvaluationError(str(error)) from None
        out = args.out or default_output(args.path)
    write_json(out, results)
    print(summary(results))
    print(f"results: {out}")
    return 0


def main(argv=None):
    return run_cli("python -m training.evaluate", run_evaluation, argv)


if __name__ == "__main__":
    sys.exit(main())
