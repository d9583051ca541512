"""How much of a CycleGAN's round-trip error is the generators' own fidelity.

    python -m benchmarks.cyclegan_fidelity [NAME_A2B NAME_B2A] [--hub HUB]

For a published pair (default: the hub's cyclegan-sandal-sneaker-a2b and -b2a), on the full Fashion-MNIST
test split of both classes, in the models' value range [-1, 1], it prints per domain:

- identity L1: an image through the generator that translates *into* its domain (a sandal through B->A),
  where the input is already the answer, the error the identity loss trains down;
- cycle L1: the round trip through both generators, the error the zoo's goal bounds (training.evaluate);
- the share of the cycle error on the garment (pixels above -0.99, the rest is background);
- detail kept: the mean absolute Laplacian of the round trip over that of the real images (1 keeps all of
  it; a blur lowers it).

If identity L1 is most of cycle L1, the generators cannot carry the detail even when nothing is to be
translated, and the round trip's error is that loss of detail, not what the translation fails to hide.

Then per direction, the translations the shipped classifier does not put in the target class (the target
share's misses): the classes they fall into, and the garments' heights (rows holding garment pixels) of
the sources missed and of those translated into the target class, of the missed translations, and of the
real test images of the target class and of the class most misses fall into. A translation that keeps its
source's shape where the two classes differ in shape (a tall sandal made a sneaker as tall as an ankle
boot) shows as misses of tall sources, which the cycle loss, by asking for the source back, favours.
"""

import argparse

import numpy as np

BACKGROUND = -0.99  # Fashion-MNIST's background is 0, -1 in the models' range
# the pixels that count for a garment's height: a quarter of full intensity or more, so that the faint halo a
# generator leaves on the background does not
GARMENT_PIXEL = -0.5


def laplacian_energy(images):
    """Mean absolute 4-neighbour Laplacian of (n, H, W, 1) images: how much fine detail they hold."""
    x = images[..., 0]
    return float(np.abs(4 * x[:, 1:-1, 1:-1] - x[:, :-2, 1:-1] - x[:, 2:, 1:-1] - x[:, 1:-1, :-2]
                        - x[:, 1:-1, 2:]).mean())


def garment_rows(images):
    """The garment's height in each of (n, H, W, 1) images, as the number of rows that hold one of its pixels
    (the rows between a sandal's straps count only where a strap or sole crosses them)."""
    return (images[..., 0] > GARMENT_PIXEL).any(axis=2).sum(axis=1)


def translation_misses(sources, translated, predicted, target):
    """The translations whose predicted class is not `target`: how many, the classes they fall into
    ({class: count}, most first) and the mean garment rows of the sources missed, of those whose
    translation hit the target, and of the missed translations (None where there are none)."""
    missed = predicted != target
    classes, counts = np.unique(predicted[missed], return_counts=True)
    heights, translated_heights = garment_rows(sources), garment_rows(translated)

    def mean(rows):
        return float(rows.mean()) if len(rows) else None

    return {"images": len(sources), "missed": int(missed.sum()),
            "classes": {int(c): int(n) for n, c in sorted(zip(counts, classes), reverse=True)},
            "source_rows_missed": mean(heights[missed]), "source_rows_hit": mean(heights[~missed]),
            "translation_rows_missed": mean(translated_heights[missed])}


def fidelity(domains, into, translated):
    """Per domain ("A", "B"): identity L1, cycle L1, the cycle error's share on the garment, detail kept.
    `into[d]` translates images into domain d; `translated[d]` are the images of d translated into the other."""
    rows = {}
    for domain, images in domains.items():
        identity = np.abs(into[domain](images) - images)
        back = into[domain](translated[domain])
        error = np.abs(back - images)
        garment = images > BACKGROUND
        rows[domain] = {"images": len(images), "identity_l1": float(identity.mean()),
                        "cycle_l1": float(error.mean()),
                        "cycle_error_on_garment": float(error[garment].sum() / error.sum()),
                        "detail_kept": laplacian_energy(back) / laplacian_energy(images)}
    return rows


def rows_text(rows):
    return "-" if rows is None else f"{rows:.1f}"


def main(argv=None):
    import zoo
    from training.evaluate import real_images, translation_test_domains
    from zoo.classifier import CLASS_NAMES, FashionClassifier

    parser = argparse.ArgumentParser(prog="python -m benchmarks.cyclegan_fidelity", description=__doc__.split("\n")[0])
    parser.add_argument("pair", nargs="*", default=["cyclegan-sandal-sneaker-a2b", "cyclegan-sandal-sneaker-b2a"],
                        metavar="NAME", help="the A->B and the B->A model's hub names")
    parser.add_argument("--hub", help="hub folder or URL (default: $GAN_ZOO_HUB or the repository's zoo/hub)")
    args = parser.parse_args(argv)
    if len(args.pair) != 2:
        parser.error("name two models, the A->B one first")
    a2b, b2a = (zoo.load(name, hub=args.hub) for name in args.pair)
    classes, domains = translation_test_domains(a2b.metadata["dataset"])
    translated = {"A": a2b.translate(domains["A"]), "B": b2a.translate(domains["B"])}
    rows = fidelity(domains, into={"A": b2a.translate, "B": a2b.translate}, translated=translated)
    print(f"{args.pair[0]} / {args.pair[1]}, Fashion-MNIST test images of classes {classes['A']} (A) and "
          f"{classes['B']} (B)")
    print("| domain | images | identity L1 | cycle L1 | identity / cycle | cycle error on the garment | detail kept |")
    print("|---|---|---|---|---|---|---|")
    for domain, row in rows.items():
        print(f"| {domain} | {row['images']:,} | {row['identity_l1']:.4f} | {row['cycle_l1']:.4f} | "
              f"{row['identity_l1'] / row['cycle_l1']:.2f} | {100 * row['cycle_error_on_garment']:.0f} % | "
              f"{row['detail_kept']:.2f} |")

    classifier = FashionClassifier()
    print()
    print("| direction | images | missed | the misses classified as | garment rows: sources missed | sources "
          "hit | missed translations | real test images of the target class | of the class most missed into |")
    print("|---|---|---|---|---|---|---|---|---|")
    for source, target in (("A", "B"), ("B", "A")):
        predicted = classifier.run(translated[source])[0].argmax(axis=1)
        misses = translation_misses(domains[source], translated[source], predicted, classes[target])
        into = ", ".join(f"{CLASS_NAMES[c]} {n}" for c, n in misses["classes"].items()) or "-"
        most = next(iter(misses["classes"]), None)
        most_rows = "-" if most is None else (
            f"{CLASS_NAMES[most]}: {garment_rows(real_images('test', classes=[most])[0]).mean():.1f}")
        print(f"| {source}->{target} | {misses['images']:,} | {misses['missed']} | {into} | "
              f"{rows_text(misses['source_rows_missed'])} | {rows_text(misses['source_rows_hit'])} | "
              f"{rows_text(misses['translation_rows_missed'])} | {garment_rows(domains[target]).mean():.1f} | "
              f"{most_rows} |")


if __name__ == "__main__":
    main()
