"""hf://ORG/REPO[@REVISION] hubs and `python -m export hf-layout`, against a local server that answers as the
Hugging Face Hub does (/ORG/REPO/resolve/REVISION/PATH, HEAD and GET, with ETag and X-Repo-Commit): no test
reaches the internet. The library is pointed at it by its endpoint setting (HF_ENDPOINT, read when it is
imported: here its constants are set, and the command-line test sets the variables), with a temporary cache."""

import hashlib
import http.server
import json
import os
import shutil
import subprocess
import sys
import threading
import urllib.parse

import numpy as np
import pytest
from huggingface_hub import ModelCard, constants

import zoo
from export.__main__ import main as export_main
from export.cards import front_matter, hf_metadata
from export.hf_layout import LayoutError, write_hf_layout
from tests.tiny_hub import write_index, write_tiny_hub
from zoo.__main__ import main as zoo_main
from zoo.files import sha256_of
from zoo.hf import HfError
from zoo.hub import Hub, HubError

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
MAIN, V1 = "1" * 40, "2" * 40  # the commits that the branch main and the tag v1 point to


class HfHandler(http.server.BaseHTTPRequestHandler):
    def log_message(self, *args):  # keep pytest's output clean
        pass

    def do_HEAD(self):
        self.reply(body=False)

    def do_GET(self):
        self.reply(body=True)

    def reply(self, body):
        self.server.requests.append((self.command, self.path))
        parts = urllib.parse.urlsplit(self.path).path.split("/")  # '', ORG, REPO, 'resolve', REVISION, PATH...
        revisions = self.server.repos.get("/".join(parts[1:3]))
        if len(parts) < 6 or parts[3] != "resolve" or revisions is None:
            return self.fail(401, "RepoNotFound")  # what the Hub says of a repo it has not, or does not show
        revision = urllib.parse.unquote(parts[4])
        commit = next((commit for name, commit in revisions if revision in (name, commit)), None)
        if commit is None:
            return self.fail(404, "RevisionNotFound")
        relative = [urllib.parse.unquote(part) for part in parts[5:]]
        path = os.path.join(self.server.folders[commit], *relative)
        if ".." in relative or not os.path.isfile(path):
            return self.fail(404, "EntryNotFound", commit)
        with open(path, "rb") as f:
            data = f.read()
        self.send_response(200)
        self.send_header("ETag", f'"{hashlib.sha256(data).hexdigest()}"')
        self.send_header("X-Repo-Commit", commit)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        if body:
            self.wfile.write(data)

    def fail(self, status, code, commit=None):
        self.send_response(status)
        self.send_header("X-Error-Code", code)
        if commit:
            self.send_header("X-Repo-Commit", commit)
        self.send_header("Content-Length", "0")
        self.end_headers()


class HfServer(http.server.ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, repos, folders):
        super().__init__(("127.0.0.1", 0), HfHandler)
        self.repos = repos  # repo id -> [(revision name, commit)]
        self.folders = folders  # commit -> the folder it holds
        self.requests = []
        threading.Thread(target=self.serve_forever, daemon=True).start()

    @property
    def url(self):
        return f"http://127.0.0.1:{self.server_address[1]}"


@pytest.fixture(scope="module")
def tiny_hub(tmp_path_factory):
    folder = str(tmp_path_factory.mktemp("tiny-hub"))
    return folder, write_tiny_hub(folder)


@pytest.fixture(scope="module")
def server(tiny_hub, tmp_path_factory):
    """org/zoo: main is the tiny hub laid out by hf-layout, v1 an older commit holding tiny-noise only;
    org/damaged: the tiny hub with one file changed after its index was written."""
    root = tmp_path_factory.mktemp("hf")
    main = str(root / "main")
    write_hf_layout(tiny_hub[0], main)
    older = str(root / "older-hub")
    shutil.copytree(tiny_hub[0], older)
    index = tiny_hub[1]
    write_index(older, {**index, "models": {"tiny-noise": index["models"]["tiny-noise"]}})
    write_hf_layout(older, str(root / "v1"))
    damaged = str(root / "damaged")
    shutil.copytree(main, damaged)
    with open(os.path.join(damaged, "tiny-noise", "generator.onnx"), "r+b") as f:
        f.seek(-1, os.SEEK_END)
        last = f.read(1)
        f.seek(-1, os.SEEK_END)
        f.write(bytes([last[0] ^ 1]))
    damaged_commit = "3" * 40
    server = HfServer({"org/zoo": [("main", MAIN), ("v1", V1)], "org/damaged": [("main", damaged_commit)]},
                      {MAIN: main, V1: str(root / "v1"), damaged_commit: damaged})
    yield server
    server.shutdown()
    server.server_close()


@pytest.fixture
def hf_cache(server, tmp_path, monkeypatch):
    """huggingface_hub pointed at the server, online, with an empty cache of its own; the zoo's cache too."""
    monkeypatch.setattr(constants, "ENDPOINT", server.url)
    monkeypatch.setattr(constants, "HUGGINGFACE_CO_URL_TEMPLATE",
                        server.url + "/{repo_id}/resolve/{revision}/{filename}")
    monkeypatch.setattr(constants, "HF_HUB_CACHE", str(tmp_path / "hf-cache"))
    monkeypatch.setattr(constants, "HF_HUB_OFFLINE", False)
    monkeypatch.setenv("GAN_ZOO_CACHE", str(tmp_path / "zoo-cache"))
    server.requests.clear()
    return str(tmp_path / "hf-cache")


def test_a_model_loads_from_hf_and_samples_what_the_same_file_gives(hf_cache, tiny_hub):
    generator = zoo.load("tiny-noise", hub="hf://org/zoo")
    assert generator.path.startswith(hf_cache)
    expected = zoo.load("tiny-noise", hub="file://" + tiny_hub[0]).sample(4, seed=0)
    assert np.array_equal(generator.sample(4, seed=0), expected)


def test_the_hub_variable_takes_hf_urls_and_savedmodels_unpack_outside_the_hf_cache(hf_cache, tmp_path,
                                                                                     monkeypatch):
    monkeypatch.setenv("GAN_ZOO_HUB", "hf://org/zoo")
    hub = Hub()
    assert hub.names() == ["tiny-conditional", "tiny-noise", "tiny-translation"]
    assert hub.load("tiny-conditional").kind == "conditional"
    folder = hub.savedmodel_folder("tiny-translation")
    assert folder.startswith(str(tmp_path / "zoo-cache")) and os.path.isfile(os.path.join(folder, "saved_model.pb"))
    assert hub.download("tiny-noise") == os.path.dirname(hub.path("tiny-noise", "card.md"))


def test_a_revision_is_passed_through_and_files_come_from_the_index_commit(hf_cache, server):
    hub = Hub("hf://org/zoo@v1")
    assert hub.names() == ["tiny-noise"]
    hub.download("tiny-noise", ["generator.onnx"])
    paths = [path for _, path in server.requests]
    assert "/org/zoo/resolve/v1/index.json" in paths
    assert f"/org/zoo/resolve/{V1}/tiny-noise/generator.onnx" in paths
    assert Hub("hf://org/zoo").names() == ["tiny-conditional", "tiny-noise", "tiny-translation"]


def test_only_files_the_index_names_are_requested(hf_cache, server):
    hub = Hub("hf://org/zoo")
    hub.download("tiny-noise")
    requested = {path.split("/resolve/")[1].split("/", 1)[1] for _, path in server.requests}
    assert requested == {"index.json"} | {f"tiny-noise/{name}" for name in hub.entry("tiny-noise")["files"]}


def test_a_file_that_differs_from_the_index_is_refused_and_not_kept(hf_cache):
    hub = Hub("hf://org/damaged")
    with pytest.raises(HubError, match="damaged or was replaced; nothing was kept") as caught:
        hub.load("tiny-noise")
    assert "\n" not in str(caught.value)
    assert not hub.is_cached("tiny-noise")
    blobs = [name for folder, _, files in os.walk(hf_cache) if folder.endswith("blobs") for name in files]
    assert len(blobs) == 1  # the index's; the damaged file's blob went with it
    with pytest.raises(HubError, match="damaged"):  # asked again, downloaded again, refused again
        hub.load("tiny-noise")


def test_offline_a_warm_cache_works_and_a_cold_one_is_one_line(hf_cache, server, tmp_path, monkeypatch):
    expected = zoo.load("tiny-noise", hub="hf://org/zoo").sample(2, seed=1)
    monkeypatch.setattr(constants, "HF_HUB_OFFLINE", True)
    server.requests.clear()
    assert np.array_equal(zoo.load("tiny-noise", hub="hf://org/zoo").sample(2, seed=1), expected)
    assert server.requests == []
    monkeypatch.setattr(constants, "HF_HUB_CACHE", str(tmp_path / "cold"))
    with pytest.raises(HfError, match="not in the Hugging Face cache, and HF_HUB_OFFLINE is set") as caught:
        zoo.load("tiny-noise", hub="hf://org/zoo")
    assert "\n" not in str(caught.value) and server.requests == []


def test_unknown_repos_revisions_and_models_are_one_line(hf_cache):
    with pytest.raises(HfError, match="no such model repo"):
        Hub("hf://org/nothing").names()
    with pytest.raises(HfError, match="no revision 'v9'"):
        Hub("hf://org/zoo@v9").names()
    with pytest.raises(HubError, match="no model 'tiny-nois'.*did you mean tiny-noise"):
        Hub("hf://org/zoo").load("tiny-nois")


@pytest.mark.parametrize("url", ["hf://", "hf://org", "hf://org/", "hf:///repo", "hf://org/repo@", "hf://org/repo@a@b",
                                 "hf://org/re po", "hf://org/repo/extra", "hf://org/..", "hf://org--x/repo",
                                 "hf://org/repo@../../etc", "hf://org/repo@/main", "hf://org/repo@main;rm",
                                 "hf://" + "o" * 97 + "/repo"])
def test_a_bad_hf_url_is_one_line(url):
    with pytest.raises(HfError, match=r"is not a Hugging Face hub: expected hf://ORG/REPO") as caught:
        Hub(url)
    assert "\n" not in str(caught.value)


def test_without_huggingface_hub_an_hf_url_names_the_install(monkeypatch, capsys):
    monkeypatch.setitem(sys.modules, "huggingface_hub", None)  # what a missing package raises: ImportError
    monkeypatch.setitem(sys.modules, "huggingface_hub.constants", None)
    assert zoo_main(["--hub", "hf://org/zoo", "list"]) == 2
    error = capsys.readouterr().err
    assert error.count("\n") == 1 and "needs the huggingface_hub library" in error
    assert "pip install 'gan-zoo[hf]'" in error


def test_the_command_line_with_the_library_s_variables(server, tmp_path):
    """HF_ENDPOINT, HF_HOME and HF_HUB_OFFLINE as a user sets them, read by the library as it is imported."""
    env = {key: value for key, value in os.environ.items() if not key.startswith(("HF_", "GAN_ZOO_"))}
    env.update(HF_ENDPOINT=server.url, HF_HOME=str(tmp_path / "hf-home"), GAN_ZOO_CACHE=str(tmp_path / "zoo"))

    def sample(output, **variables):
        return subprocess.run([sys.executable, "-m", "zoo", "--hub", "hf://org/zoo", "sample", "tiny-noise", "-n",
                               "4", "-o", str(tmp_path / output)], cwd=ROOT, env={**env, **variables},
                              capture_output=True, text=True, timeout=300)

    online = sample("online.png")
    assert online.returncode == 0, online.stderr
    server.requests.clear()
    offline = sample("offline.png", HF_HUB_OFFLINE="1")
    assert offline.returncode == 0, offline.stderr
    assert server.requests == [] and sha256_of(tmp_path / "offline.png") == sha256_of(tmp_path / "online.png")
    cold = sample("cold.png", HF_HUB_OFFLINE="1", HF_HOME=str(tmp_path / "cold"))
    assert cold.returncode == 2 and cold.stderr.count("\n") == 1, cold.stderr
    assert "HF_HUB_OFFLINE is set" in cold.stderr


# --- python -m export hf-layout ----------------------------------------------------------------------------

def test_the_layout_copies_every_file_byte_for_byte_and_adds_cards(tiny_hub, tmp_path, capsys):
    hub, index = tiny_hub
    out = tmp_path / "repo"
    assert export_main(["hf-layout", "--hub", hub, "--out", str(out), "--repo", "me/zoo"]) == 0
    assert "hf://me/zoo" in capsys.readouterr().out
    assert (out / "index.json").read_bytes() == open(os.path.join(hub, "index.json"), "rb").read()
    for name, entry in index["models"].items():
        for file_name, declared in entry["files"].items():
            assert sha256_of(out / name / file_name) == declared["sha256"]
        card = ModelCard.load(out / name / "README.md")
        assert card.data.license == "apache-2.0" and card.data.library_name == "onnx"
        assert "gan" in card.data.tags and card.text.lstrip() == (out / name / "card.md").read_text()
    root = ModelCard.load(out / "README.md")
    assert root.data.license == "apache-2.0" and {"gan", "onnx"} <= set(root.data.tags)
    assert "[tiny-noise](tiny-noise/README.md)" in root.text and "--hub hf://me/zoo list" in root.text


def test_the_front_matter_of_a_published_fashion_mnist_model():
    with open(os.path.join(ROOT, "zoo", "hub", "index.json")) as f:
        models = json.load(f)["models"]
    card = ModelCard(front_matter(hf_metadata("cgan-fashion-mnist", models["cgan-fashion-mnist"])) + "\n# card\n")
    assert card.data.datasets == ["zalando-datasets/fashion_mnist"]
    assert card.data.metrics == ["fid", "kid", "precision", "recall", "accuracy"]
    assert {"cgan", "fashion-mnist", "class-conditional"} <= set(card.data.tags)
    assert card.data.to_dict().get("pipeline_tag") is None  # the Hub has no task for class-conditional
    noise = hf_metadata("gan-fashion-mnist", models["gan-fashion-mnist"])
    assert noise["pipeline_tag"] == "unconditional-image-generation"


def test_the_layout_refuses_an_occupied_out_and_a_file_the_index_does_not_describe(tiny_hub, tmp_path):
    (tmp_path / "occupied").mkdir()
    (tmp_path / "occupied" / "x").write_text("mine")
    with pytest.raises(LayoutError, match="not an empty folder"):
        write_hf_layout(tiny_hub[0], str(tmp_path / "occupied"))
    assert export_main(["hf-layout", "--hub", tiny_hub[0], "--out", str(tmp_path / "new"), "--repo", "me"]) == 2
    assert not os.path.exists(tmp_path / "new")
    hub = str(tmp_path / "hub")
    shutil.copytree(tiny_hub[0], hub)
    with open(os.path.join(hub, "tiny-noise", "card.md"), "a") as f:
        f.write("edited by hand\n")
    with pytest.raises(LayoutError, match="not the file the hub's index describes"):
        write_hf_layout(hub, str(tmp_path / "out"))
    assert not os.path.exists(tmp_path / "out")
