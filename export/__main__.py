"""`python -m export RUN_FOLDER`: write the run's generator(s) as SavedModel and ONNX, checked against Keras.

`python -m export publish RUN --name NAME`: export, evaluate and add the run's generator(s) to a hub folder
(default: the repository's zoo/hub), then rewrite MODEL_CARDS.md. `python -m export cards`: only rewrite the
cards from the hub's index (MODEL_CARDS.md, and each model's card.md whose words the code has changed).

`python -m export web NAME_OR_ONNX -o SITE`: a static web page that runs the generator in the browser
(onnxruntime-web); needs npm once, not TensorFlow.

`python -m export hf-layout --hub HUB --out DIR [--repo ORG/REPO]`: the hub folder laid out as a Hugging Face
model repo (index.json, one folder per model with its files byte for byte, README.md model cards with the
Hub's YAML front matter) for `hf upload ORG/REPO DIR .`; `python -m zoo --hub hf://ORG/REPO` then reads it.
Needs neither TensorFlow nor huggingface_hub.
"""

import os
import sys

from zoo.cli import OneLineErrorParser, needing_train_extra
from zoo.errors import ZooError, run_cli

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")


class ExportFailed(ZooError):
    """An export that does not compute what Keras computes; what was there before is untouched."""

    exit_code = 1


def check_export_folder(parser, out):
    """`out` must be a folder that is new, empty, or an earlier export, below a folder (not a file)."""
    existing = os.path.abspath(out)
    while not os.path.exists(existing):
        existing = os.path.dirname(existing)
    if not os.path.isdir(existing):
        parser.error(f"--out {out}: {existing} is a file; name a folder to write the export into")
    if existing == os.path.abspath(out) and os.listdir(out) and not os.path.isfile(os.path.join(out, "export.json")):
        parser.error(f"--out {out} holds files but no export.json, so it is not an earlier export: name a new or "
                     "empty folder")


def export_main(argv):
    parser = OneLineErrorParser(prog="python -m export", description=__doc__)
    parser.add_argument("run", help="run folder written by `python -m training`")
    parser.add_argument("--out", help="folder to write: new, empty, or an earlier export (default: RUN_FOLDER/export)")
    parser.add_argument("--opset", type=int, default=18, help="ONNX opset, 17 or 18 (default: 18)")
    args = parser.parse_args(argv)
    if args.out:  # refused before the work: an export replaces only an export
        check_export_folder(parser, args.out)

    from export.writer import export_run

    manifest = export_run(args.run, args.out, args.opset)
    out = args.out or os.path.join(args.run, "export")
    for name, entry in manifest["generators"].items():
        diffs = ", ".join(f"{k} {v:.2g}" for k, v in entry["max_abs_difference"].items())
        print(f"{name}: {os.path.join(out, entry['onnx'])} and {os.path.join(out, entry['savedmodel'])} "
              f"(largest difference from Keras: {diffs})")


def publish_main(argv, cards_only=False):
    from zoo.hub import REPOSITORY_HUB

    parser = OneLineErrorParser(prog=f"python -m export {'cards' if cards_only else 'publish'}", description=__doc__)
    if not cards_only:
        parser.add_argument("run", help="run folder written by `python -m training`")
        parser.add_argument("--name", required=True, help="model name in the hub (CycleGAN: NAME-a2b, NAME-b2a)")
        parser.add_argument("--recipe", help="the config file the run was trained from (named on the card; refused "
                            "when it would train otherwise)")
        parser.add_argument("--version", default="1.0")
        parser.add_argument("--force", action="store_true",
                            help="publish a model below the quality gate, with its failures on the card")
    parser.add_argument("--hub", default=REPOSITORY_HUB, help="hub folder (default: the repository's zoo/hub)")
    parser.add_argument("--cards", default="MODEL_CARDS.md", help="model cards file to rewrite")
    args = parser.parse_args(argv)

    from export.cards import write_cards
    from export.publish import publish_run

    if not cards_only:
        for name in publish_run(args.run, args.name, args.hub, args.recipe, args.version, args.force):
            print(f"published {name} in {args.hub}")
    print(f"wrote {write_cards(args.hub, args.cards)}")


def web_main(argv):
    parser = OneLineErrorParser(prog="python -m export web", description=__doc__)
    parser.add_argument("source", metavar="NAME_OR_ONNX",
                        help="a hub model (`python -m zoo list`) or a .onnx file written by `python -m export`")
    parser.add_argument("-o", "--out", required=True, help="folder to write the site into")
    parser.add_argument("-n", "--count", type=int, help="images in the first grid (default: 16), or a toy's points "
                                                        "(default: 2,500); at most 10,000")
    parser.add_argument("--seed", type=int, default=0, help="seed of the first grid's latents (default: 0)")
    parser.add_argument("--hub", help="hub URL (default: $GAN_ZOO_HUB or the repository's zoo/hub)")
    args = parser.parse_args(argv)
    from export.web import build_site

    files = build_site(args.source, args.out, args.hub, args.count, args.seed)
    megabytes = sum(os.path.getsize(path) for path in files) / 1e6
    print(f"wrote {args.out} ({len(files)} files, {megabytes:.1f} MB): serve it, e.g. "
          f"`python -m http.server -d {args.out}`, and open http://127.0.0.1:8000/")
    return 0


def hf_layout_main(argv):
    from zoo.hub import REPOSITORY_HUB

    parser = OneLineErrorParser(prog="python -m export hf-layout", description=__doc__)
    parser.add_argument("--hub", default=REPOSITORY_HUB, help="hub folder (default: the repository's zoo/hub)")
    parser.add_argument("--out", required=True, help="folder to write, new or empty: upload it as the model repo")
    parser.add_argument("--repo", default="ORG/REPO", help="the model repo, named in the README's commands")
    args = parser.parse_args(argv)

    from export.hf_layout import write_hf_layout
    from zoo.hf import parse_url

    parse_url(f"hf://{args.repo}")  # a typo shows now, not in the commands of the uploaded README

    files = write_hf_layout(args.hub, args.out, args.repo)
    print(f"wrote {args.out} ({len(files)} files): upload it with `hf upload {args.repo} {args.out} .`, then "
          f"`python -m zoo --hub hf://{args.repo} list`")
    return 0


def main(argv=None):
    argv = sys.argv[1:] if argv is None else argv
    if argv[:1] == ["web"]:  # the deploy side: this path must not import TensorFlow
        return run_cli("python -m export", web_main, argv[1:])
    if argv[:1] == ["hf-layout"]:  # nor this one: it copies a hub folder
        return run_cli("python -m export", hf_layout_main, argv[1:])
    return run_cli("python -m export", needing_train_extra(export_or_publish), argv)


def export_or_publish(argv):
    from export.writer import ExportError

    try:
        if argv[:1] in (["publish"], ["cards"]):
            publish_main(argv[1:], cards_only=argv[0] == "cards")
        else:
            export_main(argv)
    except ExportError as error:
        raise ExportFailed(f"EXPORT FAILED: {error}") from None
    return 0


if __name__ == "__main__":
    sys.exit(main())
