import json
import os
import shutil
import subprocess
import sys

import numpy as np
import pytest
from PIL import Image

import zoo
from tests.hub_server import HubServer
from zoo.__main__ import main as zoo_main
from zoo.files import sha256_of
from zoo.hub import Hub, HubError, extract_archive

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


@pytest.fixture(scope="module")
def published_hub(trained_run, cyclegan_run, tmp_path_factory):
    """A hub folder with a tiny GAN and both directions of a tiny CycleGAN, published the real way."""
    from export.cards import read_index, write_cards
    from export.publish import publish_run

    hub = str(tmp_path_factory.mktemp("hub"))
    # force: two-epoch models are far below the zoo's quality gate; the client does not care
    assert publish_run(trained_run[0], "tiny-gan", hub, force=True) == ["tiny-gan"]
    # its recipe is its own config: its rate followed the decaying schedule of its epochs
    recipe = os.path.join(cyclegan_run[0], "config.json")
    assert publish_run(cyclegan_run[0], "tiny-cycle", hub, recipe=recipe, force=True) == ["tiny-cycle-a2b",
                                                                                         "tiny-cycle-b2a"]
    cards = write_cards(hub, os.path.join(hub, "..", "CARDS.md"))
    return hub, read_index(hub), cards


@pytest.fixture
def server(published_hub, tmp_path):
    """A copy of the hub (tests damage it) served over HTTP on 127.0.0.1."""
    folder = str(tmp_path / "served")
    shutil.copytree(published_hub[0], folder)
    server = HubServer(folder)
    yield server
    server.stop()


@pytest.fixture
def cache(tmp_path):
    return str(tmp_path / "cache")


def cached_files(cache):
    return sorted(os.path.relpath(os.path.join(d, f), cache) for d, _, files in os.walk(cache) for f in files)


def file_requests(server, name="generator.onnx"):
    return [r for r in server.requests if r[0].endswith(name)]


def test_published_index_describes_every_file(published_hub):
    hub, index, cards = published_hub
    entry = index["models"]["tiny-gan"]
    assert set(entry["files"]) == {"generator.onnx", "savedmodel.tar.gz", "samples.png", "evaluation.json",
                                   "card.md", "test_data_set_0/input_0.pb", "test_data_set_0/output_0.pb"}
    for name, file in entry["files"].items():
        path = os.path.join(hub, "tiny-gan", name)
        assert os.path.getsize(path) == file["size"] and sha256_of(path) == file["sha256"]
    assert entry["inputs"] == [{"name": "z", "shape": ["n", 16], "dtype": "float32", "distribution": "N(0, I)"}]
    assert entry["metrics"]["fid"] > 0 and entry["headline"].startswith("domain FID")
    assert index["models"]["tiny-cycle-a2b"]["direction"] == "A->B"
    text = open(cards).read()
    assert "## tiny-gan (version 1.0)" in text and f"{entry['metrics']['fid']:.4f}" in text
    assert f"]({os.path.basename(hub)}/tiny-gan/samples.png)" in text and "MIT licence" in text


def test_cards_rewrite_a_model_card_that_older_code_worded(published_hub, tmp_path):
    from export.cards import read_index, write_cards

    hub = str(tmp_path / "hub")
    shutil.copytree(published_hub[0], hub)
    card_path = os.path.join(hub, "tiny-gan", "card.md")
    current = open(card_path).read()
    # as an earlier version of the cards' code would have written it, with the index recording that card
    with open(card_path, "w") as f:
        f.write(current.replace("; devices:", " on"))
    index = read_index(hub)
    index["models"]["tiny-gan"]["files"]["card.md"] = {"size": os.path.getsize(card_path),
                                                       "sha256": sha256_of(card_path)}
    json.dump(index, open(os.path.join(hub, "index.json"), "w"))
    untouched = {name: sha256_of(os.path.join(hub, "tiny-cycle-a2b", name)) for name in os.listdir(
        os.path.join(hub, "tiny-cycle-a2b")) if os.path.isfile(os.path.join(hub, "tiny-cycle-a2b", name))}

    cards = write_cards(hub, str(tmp_path / "CARDS.md"))
    assert open(card_path).read() == current
    record = read_index(hub)["models"]["tiny-gan"]["files"]["card.md"]
    assert record == {"size": os.path.getsize(card_path), "sha256": sha256_of(card_path)}
    assert record["sha256"] in open(cards).read()  # MODEL_CARDS.md lists the card as it now is
    assert untouched == {name: sha256_of(os.path.join(hub, "tiny-cycle-a2b", name)) for name in untouched}
    server = HubServer(hub)
    try:
        folder = Hub(server.url, str(tmp_path / "cache")).download("tiny-gan", ["card.md"])
    finally:
        server.stop()
    assert open(os.path.join(folder, "card.md")).read() == current


def test_download_verifies_and_then_hits_the_cache(server, cache):
    hub = Hub(server.url, cache)
    folder = hub.download("tiny-gan")
    declared = hub.entry("tiny-gan")["files"]["generator.onnx"]["sha256"]
    assert sha256_of(os.path.join(folder, "generator.onnx")) == declared
    assert not [f for f in cached_files(cache) if f.endswith(".part")]
    before = len(file_requests(server))
    Hub(server.url, cache).download("tiny-gan")
    assert len(file_requests(server)) == before  # a cache hit fetches nothing but the index


def test_load_and_sample_from_python(server, cache):
    generator = zoo.load("tiny-gan", hub=server.url, cache=cache)
    images = generator.sample(4, seed=0)
    assert images.shape == (4, 28, 28, 1) and images.dtype == np.uint8


def test_corrupted_byte_is_an_error_and_nothing_is_kept(server, cache):
    path = os.path.join(server.folder, "tiny-gan", "generator.onnx")
    data = bytearray(open(path, "rb").read())
    data[1000] ^= 0xFF
    open(path, "wb").write(bytes(data))
    with pytest.raises(HubError, match="SHA-256 .* nothing was kept"):
        Hub(server.url, cache).download("tiny-gan", ["generator.onnx"])
    assert not [f for f in cached_files(cache) if "generator.onnx" in f and not f.endswith(".lock")]


def test_truncated_transfer_resumes_with_a_range_request(server, cache):
    server.truncations["/tiny-gan/generator.onnx"] = 1
    Hub(server.url, cache).download("tiny-gan", ["generator.onnx"])
    ranges = [r for _, r in file_requests(server)]
    assert ranges[0] is None and ranges[1].startswith("bytes=") and ranges[1] != "bytes=0-"


def test_truncated_transfer_without_range_support_starts_again(server, cache):
    server.ranges = False
    server.truncations["/tiny-gan/generator.onnx"] = 2
    folder = Hub(server.url, cache).download("tiny-gan", ["generator.onnx"])
    assert len(file_requests(server)) == 3 and os.path.isfile(os.path.join(folder, "generator.onnx"))


def test_transfer_that_always_breaks_fails_after_retries(server, cache):
    server.truncations["/tiny-gan/generator.onnx"] = 10
    with pytest.raises(HubError, match="failed 3 times"):
        Hub(server.url, cache).download("tiny-gan", ["generator.onnx"])
    assert not [f for f in cached_files(cache) if "generator.onnx" in f and not f.endswith(".lock")]


def test_file_larger_than_declared_is_refused(server, cache):
    server.extra_bytes["/tiny-gan/generator.onnx"] = 10
    with pytest.raises(HubError, match="larger than the .* bytes the index declares"):
        Hub(server.url, cache).download("tiny-gan", ["generator.onnx"])
    assert not [f for f in cached_files(cache) if "generator.onnx" in f and not f.endswith(".lock")]


def test_server_gone_with_and_without_a_cached_model(server, cache, tmp_path, capsys):
    Hub(server.url, cache).download("tiny-gan", ["generator.onnx"])
    url = server.url
    server.stop()
    generator = zoo.load("tiny-gan", hub=url, cache=cache)  # offline, from the cache
    assert generator.sample(2, seed=0).shape == (2, 28, 28, 1)
    assert "using the cached index" in capsys.readouterr().err
    with pytest.raises(HubError, match="cannot reach hub .* nothing is cached"):
        zoo.load("tiny-gan", hub=url, cache=str(tmp_path / "empty"))


def test_unknown_name_lists_close_names(server, cache):
    with pytest.raises(HubError, match="no model 'tiny-gna'.*did you mean tiny-gan"):
        Hub(server.url, cache).entry("tiny-gna")


def test_two_processes_download_the_same_model_at_once(server, cache):
    server.delay = 0.02  # slow enough that the two downloads overlap
    code = ("import sys; from zoo.hub import Hub; "
            f"print(Hub({server.url!r}, {cache!r}).download('tiny-gan', ['generator.onnx']))")
    processes = [subprocess.Popen([sys.executable, "-c", code], cwd=ROOT, stdout=subprocess.PIPE,
                                  stderr=subprocess.PIPE, text=True) for _ in range(2)]
    results = [p.communicate(timeout=120) for p in processes]
    assert all(p.returncode == 0 for p in processes), results
    assert len(file_requests(server)) == 1  # the second waited for the first and found the file cached
    assert not [f for f in cached_files(cache) if f.endswith(".part")]


@pytest.mark.parametrize("bad_name,message", [("../evil.onnx", "not a plain file name"),
                                              ("/etc/passwd", "not a plain file name"),
                                              ("a/b.onnx", "not a plain file name"), ("..", "not a plain file name"),
                                              ("weights.pkl", "not one of the kinds"),
                                              ("model.keras", "not one of the kinds")])
def test_index_with_unsafe_file_names_is_refused(server, cache, bad_name, message):
    index_path = os.path.join(server.folder, "index.json")
    index = json.load(open(index_path))
    entry = index["models"]["tiny-gan"]
    entry["files"][bad_name] = entry["files"].pop("card.md")
    json.dump(index, open(index_path, "w"))
    with pytest.raises(HubError, match=message):
        Hub(server.url, cache).download("tiny-gan")
    assert cached_files(cache) == []


def test_version_that_is_a_path_is_refused(server, cache):
    index_path = os.path.join(server.folder, "index.json")
    index = json.load(open(index_path))
    index["models"]["tiny-gan"]["version"] = "../../outside"
    json.dump(index, open(index_path, "w"))
    with pytest.raises(HubError, match="names a version '../../outside'"):
        Hub(server.url, cache).download("tiny-gan")
    assert not os.path.exists(os.path.join(os.path.dirname(cache), "outside"))


def test_index_that_is_not_json_is_refused(server, cache):
    open(os.path.join(server.folder, "index.json"), "w").write("<html>not a hub</html>")
    with pytest.raises(HubError, match="not valid JSON"):
        Hub(server.url, cache).names()


@pytest.mark.parametrize("target", ["file:///etc/passwd", "ftp://127.0.0.1/generator.onnx"])
def test_redirect_to_another_scheme_is_refused(server, cache, target):
    server.redirects["/tiny-gan/generator.onnx"] = target
    with pytest.raises(HubError, match="redirect.*refused"):
        Hub(server.url, cache).download("tiny-gan", ["generator.onnx"])
    assert len(file_requests(server)) == 1  # refused at once, not retried
    assert not [f for f in cached_files(cache) if "generator.onnx" in f and not f.endswith(".lock")]


def test_archive_members_escaping_the_folder_are_refused(tmp_path):
    import io
    import tarfile

    archive = tmp_path / "evil.tar.gz"
    with tarfile.open(archive, "w:gz") as tar:
        info = tarfile.TarInfo("../escaped.txt")
        info.size = 3
        tar.addfile(info, io.BytesIO(b"bad"))
    with pytest.raises(HubError, match="not a plain file inside the archive"):
        extract_archive(str(archive), str(tmp_path / "out"))
    assert not (tmp_path / "escaped.txt").exists() and not (tmp_path / "out").exists()


def test_savedmodel_archive_unpacks_and_its_folder_is_printed(server, cache, capsys):
    assert zoo_main(["--hub", server.url, "--cache", cache, "download", "tiny-gan", "--savedmodel"]) == 0
    folder = capsys.readouterr().out.strip()
    assert os.path.isfile(os.path.join(folder, "saved_model.pb"))  # the folder tf.saved_model.load takes
    assert folder.startswith(os.path.dirname(Hub(server.url, cache).path("tiny-gan", "generator.onnx")))


def test_published_test_data_verifies_over_http(server, cache, capsys):
    assert zoo_main(["--hub", server.url, "--cache", cache, "verify", "tiny-cycle-b2a"]) == 0
    assert capsys.readouterr().out.startswith("test_data_set_0: ok, largest difference ")


def test_file_url_hub(published_hub, cache):
    assert Hub("file://" + published_hub[0], cache).load("tiny-gan").kind == "noise"


def test_cli_list_info_sample_translate(server, cache, tmp_path, capsys):
    base = ["--hub", server.url, "--cache", cache]
    assert zoo_main(base + ["list"]) == 0
    listing = capsys.readouterr().out
    assert "tiny-gan" in listing and "tiny-cycle-b2a" in listing
    assert zoo_main(base + ["info", "tiny-gan"]) == 0
    assert json.loads(capsys.readouterr().out)["variant"] == "gan"
    grid = tmp_path / "grid.png"
    assert zoo_main(base + ["sample", "tiny-gan", "-n", "9", "-o", str(grid), "--seed", "3"]) == 0
    assert Image.open(grid).size == (3 * 30 + 2, 3 * 30 + 2)
    sandal = tmp_path / "sandal.png"
    Image.fromarray(np.full((40, 40), 200, np.uint8)).save(sandal)
    out = tmp_path / "sneaker.png"
    assert zoo_main(base + ["translate", "tiny-cycle-a2b", str(sandal), "-o", str(out)]) == 0
    assert Image.open(out).size == (28, 28)
    assert zoo_main(base + ["sample", "tiny-gan", "-n", "4", "-o", str(grid), "--label", "3"]) == 2
    assert "not conditional" in capsys.readouterr().err
    assert zoo_main(base + ["translate", "tiny-gan", str(sandal), "-o", str(out)]) == 2
    assert zoo_main(base + ["sample", "tiny-gna", "-o", str(grid)]) == 2
    assert "did you mean tiny-gan" in capsys.readouterr().err
    not_an_image = tmp_path / "notes.png"
    not_an_image.write_text("not a picture")
    assert zoo_main(base + ["translate", "tiny-cycle-a2b", str(not_an_image), "-o", str(out)]) == 2
    assert "cannot read image" in capsys.readouterr().err
    for bad in (["-n", "0"], ["-n", "-3"], ["-n", "many"]):
        with pytest.raises(SystemExit) as exit_info:
            zoo_main(base + ["sample", "tiny-gan", "-o", str(grid), *bad])
        error = capsys.readouterr().err
        assert exit_info.value.code == 2 and len(error.strip().splitlines()) == 1 and "-n" in error


def test_cli_samples_a_toys_points_as_a_plot_or_as_numbers(tmp_path, capsys):
    """The repository's hub: `sample` plots a toy's points over real ones, as the hub's samples.png (same seed
    and count), or writes them as CSV; any other file type is refused in one line."""
    base = ["--cache", str(tmp_path / "cache"), "sample", "gan-ring8"]
    plot, numbers = tmp_path / "ring.png", tmp_path / "ring.csv"
    assert zoo_main(base + ["-o", str(plot)]) == 0
    assert "2,500 points from gan-ring8 (seed 0), white over 2,500 real points" in capsys.readouterr().out
    with Image.open(plot) as written, Image.open(os.path.join(ROOT, "zoo", "hub", "gan-ring8", "samples.png")) as hub:
        np.testing.assert_array_equal(np.asarray(written), np.asarray(hub))
    assert zoo_main(base + ["-n", "7", "--seed", "3", "-o", str(numbers)]) == 0
    points = np.loadtxt(numbers, delimiter=",", skiprows=1, dtype=np.float32)
    np.testing.assert_array_equal(points, zoo.load("gan-ring8").sample(7, seed=3, output="float"))
    assert numbers.read_text().splitlines()[0] == "x0,x1"
    assert zoo_main(base + ["-o", str(tmp_path / "ring.txt")]) == 2
    error = capsys.readouterr().err
    assert len(error.strip().splitlines()) == 1 and "generates 2-d points: write them to a .png" in error
    assert zoo_main(["--cache", str(tmp_path / "cache"), "sample", "gan-fashion-mnist", "-o", str(numbers)]) == 2
    assert "28x28x1 images: write them to a .png file" in capsys.readouterr().err
    assert not (tmp_path / "ring.txt").exists() and numbers.read_text().startswith("x0,x1")
    for missing in ("ring.png", "ring.csv"):  # a folder that does not exist: one line, nothing written
        assert zoo_main(base + ["-o", str(tmp_path / "missing" / missing)]) == 2
        error = capsys.readouterr().err
        assert len(error.strip().splitlines()) == 1 and "cannot write" in error and "No such file" in error
    assert not (tmp_path / "missing").exists()


def test_deploy_path_needs_only_numpy_onnxruntime_and_pillow(server, cache, tmp_path):
    blocked = ["tensorflow", "keras", "tf2onnx", "onnx", "scipy", "tensorflow_datasets"]
    out = tmp_path / "grid.png"
    code = (f"import sys\nfor name in {blocked!r}: sys.modules[name] = None  # importing them now fails\n"
            "from zoo.__main__ import main\n"
            f"sys.exit(main(['--hub', {server.url!r}, '--cache', {cache!r}, 'sample', 'tiny-gan', '-n', '4', "
            f"'-o', {str(out)!r}]))")
    result = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    assert out.exists()
