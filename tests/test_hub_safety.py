"""The deploy side against hostile input: index entries, archives, servers, caches, images and flags.

Every case runs the real `python -m zoo` entry point (in this process, or as subprocesses where processes
race) and asserts the same outcome: it works, or it ends with one line on stderr and exit code 2, and
nothing outside the cache and the output file is touched. Servers are real (tests/hub_server.py on
127.0.0.1); the hub is tests/tiny_hub.py's, built in milliseconds, except where a real SavedModel matters.
"""

import contextlib
import copy
import gzip
import io
import json
import os
import shutil
import stat
import subprocess
import sys
import tarfile
import tempfile
import time
import urllib.request
import warnings

import numpy as np
import pytest
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st
from PIL import Image

import zoo.hub
from tests.hub_server import HubServer
from tests.tiny_hub import MODELS, SAVEDMODEL, file_record, tar_gz, write_index, write_tiny_hub
from zoo.__main__ import SAMPLE_LIMIT
from zoo.__main__ import main as zoo_main
from zoo.hub import Hub, HubError, extract_archive

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
REAL_MODEL = "gan-fashion-mnist"  # the repository's own hub: a real SavedModel archive
FUZZ = settings(deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
# argv strings never hold NUL; everything else (surrogates from undecodable bytes included) they can
ARGV_TEXT = st.text(st.characters(blacklist_characters="\0"), max_size=30)
#: warnings that Python does not show on the command line by default
HIDDEN_WARNINGS = (DeprecationWarning, PendingDeprecationWarning, ImportWarning, ResourceWarning)


# --- the sandbox: a hub, a cache, an output folder and victims, all watched --------------------------

@pytest.fixture(scope="module")
def tiny_models(tmp_path_factory):
    """The tiny hub's model folders (read only: tests link to them) and its index."""
    folder = str(tmp_path_factory.mktemp("tiny-hub"))
    return folder, write_tiny_hub(folder)


class Sandbox:
    """A folder holding a hub (its index is the test's to change), a cache three folders deep, an output
    folder and victims next to them; `unchanged()` says whether anything but the cache and the output
    changed since the sandbox was made (or since `watch()`)."""

    def __init__(self, folder, models):
        self.folder = folder
        self.hub = os.path.join(folder, "hub")
        os.makedirs(self.hub)
        for name in MODELS:
            os.symlink(os.path.join(models[0], name), os.path.join(self.hub, name))
        self.index = copy.deepcopy(models[1])
        self.write_index()
        self.cache = os.path.join(folder, "deep", "a", "b", "c", "cache")
        self.output_folder = os.path.join(folder, "out")
        self.output = os.path.join(self.output_folder, "grid.png")
        os.makedirs(self.output_folder)
        self.victim = os.path.join(folder, "deep", "a", "b", "c", "victim")  # where ../../../../victim lands
        os.makedirs(self.victim)
        with open(os.path.join(self.victim, "precious.txt"), "w") as f:
            f.write("do not touch")
        tar_gz(self.victim + ".tar.gz", SAVEDMODEL)
        self.image = os.path.join(folder, "sandal.png")
        Image.fromarray(np.full((4, 4), 200, np.uint8)).save(self.image)
        self.watch()

    def write_index(self, text=None):
        if text is None:
            write_index(self.hub, self.index)
        else:
            with open(os.path.join(self.hub, "index.json"), "w") as f:
                f.write(text)

    def watch(self):
        self.before = self.state()

    def state(self):
        """Everything in the sandbox but the cache and the output file: path -> kind, size, time, link (a
        folder's time changes with what it holds, so only the times of files count)."""
        found = {}
        for folder, folders, files in os.walk(self.folder):
            for name in folders + files:
                path = os.path.join(folder, name)
                if path == self.output or path == self.cache or path.startswith(self.cache + os.sep):
                    continue
                status = os.lstat(path)
                found[os.path.relpath(path, self.folder)] = (
                    stat.S_IFMT(status.st_mode), status.st_size,
                    None if stat.S_ISDIR(status.st_mode) else status.st_mtime_ns,
                    os.readlink(path) if stat.S_ISLNK(status.st_mode) else None)
        return found

    def unchanged(self):
        after = self.state()
        return after == self.before or {key: (self.before.get(key), after.get(key))
                                        for key in set(self.before) | set(after)
                                        if self.before.get(key) != after.get(key)}

    def zoo(self, *argv, hub=None):
        return run_zoo("--hub", hub or "file://" + self.hub, "--cache", self.cache, *argv)

    def cached(self, name, hub=None):
        """The cache folder of a model from this sandbox's hub (read at `hub`, by default as file://)."""
        return os.path.join(Hub(hub or "file://" + self.hub, self.cache).cache, name, "1.0")


@pytest.fixture
def sandbox(tmp_path, tiny_models):
    return Sandbox(str(tmp_path / "sandbox"), tiny_models)


@pytest.fixture
def fast_network(monkeypatch):
    """Deadlines and retry pauses short enough for tests."""
    monkeypatch.setattr(zoo.hub, "READ_TIMEOUT", 1.0)
    monkeypatch.setattr(zoo.hub, "STALL_SECONDS", 1.5)
    monkeypatch.setattr(zoo.hub, "RETRY_PAUSE_SECONDS", 0.0)


@pytest.fixture
def server(sandbox):
    served = HubServer(sandbox.hub)
    yield served
    served.stop()


def file_requests(server, name):
    return [path for path, _ in server.requests if path.endswith(name)]


def run_zoo(*argv):
    """`python -m zoo ARGV` in this process: (exit code, stdout, stderr), where stderr also holds the
    warnings that Python would print on the command line."""
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err), \
            warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            code = zoo_main([str(arg) for arg in argv])
        except SystemExit as exit_info:  # argparse's errors end this way, as on the command line
            code = exit_info.code
    shown = [w for w in caught if not issubclass(w.category, HIDDEN_WARNINGS)]
    return code, out.getvalue(), err.getvalue() + "".join(
        warnings.formatwarning(w.message, w.category, w.filename, w.lineno) for w in shown)


def assert_refused(result, *fragments):
    """Exit code 2 and one short line on stderr that holds every fragment."""
    code, _, err = result
    lines = err.strip().splitlines()
    assert code == 2 and len(lines) == 1, result
    assert lines[0].startswith("python -m zoo") and len(lines[0]) <= 700, lines[0][:1000]
    for fragment in fragments:
        assert fragment in lines[0], lines[0]


def assert_works_or_refused(result):
    code, _, err = result
    event(f"exit code {code}")
    if code == 0:
        assert err == "", err
        return True
    assert_refused(result)
    return False


# --- index entries -----------------------------------------------------------------------------------

def test_savedmodel_field_that_is_a_path_is_refused(sandbox):
    sandbox.index["models"]["tiny-noise"]["savedmodel"] = "../../../../victim.tar.gz"
    sandbox.write_index()
    sandbox.watch()
    assert_refused(sandbox.zoo("download", "tiny-noise", "--savedmodel"), "savedmodel file",
                   "'../../../../victim.tar.gz'", "refused")
    assert sandbox.unchanged() is True
    assert not os.path.exists(sandbox.cache)  # refused when the index was read, before anything was cached


def deep(depth):
    return "[" * depth + "]" * depth


@pytest.mark.parametrize("change,fragment", [
    (lambda m: m.update({"tiny-noise": ["a", "list"]}), "with list, not an object"),
    (lambda m: m["tiny-noise"].pop("files"), "lists no files"),
    (lambda m: m["tiny-noise"].pop("kind"), "no 'kind' text"),
    (lambda m: m["tiny-noise"].update(variant=["gan"]), "no 'variant' text"),
    (lambda m: m["tiny-noise"]["files"].update({"card.md": [13, "abc"]}), "no valid size and SHA-256"),
    (lambda m: m["tiny-noise"]["files"]["card.md"].update(size="13"), "no valid size and SHA-256"),
    (lambda m: m["tiny-noise"]["files"]["card.md"].update(size=True), "no valid size and SHA-256"),
    (lambda m: m["tiny-noise"]["files"]["card.md"].update(size=-1), "no valid size and SHA-256"),
    (lambda m: m["tiny-noise"]["files"]["card.md"].update(sha256="../" * 30), "no valid size and SHA-256"),
    (lambda m: m["tiny-noise"].update(onnx="../generator.onnx"), "the onnx file '../generator.onnx'"),
    (lambda m: m["tiny-noise"].update(onnx="card.md"), "the onnx file 'card.md'"),
    (lambda m: m["tiny-noise"].update(savedmodel="/etc/shadow.tar.gz"), "savedmodel file '/etc/shadow.tar.gz'"),
    (lambda m: m["tiny-noise"].update(savedmodel="other.tar.gz"), "not one of its listed .tar.gz files"),
    (lambda m: m["tiny-noise"].update(version=["1.0"]), "names a version"),
    (lambda m: m["tiny-noise"].update(version="x" * 3_000_000), "names a version 'xxxx"),
    (lambda m: m.update({"x" * 3_000_000: m["tiny-noise"]}), "names a model 'xxx"),
    (lambda m: m["tiny-noise"]["files"].update({"../../generator.onnx": m["tiny-noise"]["files"]["card.md"]}),
     "names a file '../../generator.onnx'"),
])
def test_malformed_index_entries_are_one_line(sandbox, change, fragment):
    change(sandbox.index["models"])
    sandbox.write_index()
    sandbox.watch()
    for command in (["list"], ["download", "tiny-noise", "--savedmodel"]):
        assert_refused(sandbox.zoo(*command), fragment)
    assert sandbox.unchanged() is True


@pytest.mark.parametrize("text,fragment", [
    (deep(100_000), "not valid JSON"),  # deeper than json can parse
    ('{"models": {}, "x": %s}' % deep(40), "nests lists and objects more than 32 deep"),
    ('{"models": {"a": {"size": 1%s}}}' % ("0" * 5000), "not valid JSON"),  # past Python's int digits limit
    ('{"models": ["tiny-noise"]}', "no 'models' object"),
    ("[1, 2]", "no 'models' object"),
    ("\xff\xfe garbage", "not valid JSON"),
    (" " * (5 << 20), "larger than"),
])
def test_broken_index_documents_are_one_line(sandbox, text, fragment):
    sandbox.write_index(text)
    sandbox.watch()
    assert_refused(sandbox.zoo("list"), fragment)
    assert sandbox.unchanged() is True


def test_ten_megabyte_values_are_not_echoed(sandbox, tmp_path):
    huge = "x" * 10_000_000
    for argv in (["info", huge], ["sample", "tiny-noise", "-n", huge, "-o", sandbox.output],
                 ["sample", "tiny-conditional", "--label", "9" * 100_000, "-o", sandbox.output]):
        assert_refused(sandbox.zoo(*argv))
    assert_refused(sandbox.zoo("list", hub="https://" + huge), "is not a valid URL")
    assert_refused(run_zoo("--hub", "file://" + sandbox.hub, "--cache", str(tmp_path / huge), "list"),
                   "cannot use the cache")


@pytest.mark.parametrize("url", ["ftp://127.0.0.1/hub", "http://", "http://127.0.0.1:99999", "http://[::1",
                                 "http://exa mple.org", "hub-folder"])
def test_hub_urls_that_cannot_work_are_one_line(sandbox, url):
    assert_refused(sandbox.zoo("list", hub=url), "hub URL")


#: values a hostile index puts where names, numbers and objects belong
HOSTILE_TEXT = st.one_of(st.sampled_from([
    "../../../../victim.tar.gz", "../../../../victim", "../victim.onnx", "/etc/passwd", "..", ".", "", "a/b.onnx",
    "savedmodel.tar.gz/../../../../victim.tar.gz", "generator.onnx\n", "x\0.onnx", "%2e%2e%2fvictim.tar.gz",
    "~/.bashrc", "-rf", "victim.tar.gz", "x" * 300, "savedmodel.TAR.GZ", "model.keras", "weights.pkl"]),
    st.text(max_size=20))
JUNK = st.recursive(st.none() | st.booleans() | st.integers() | st.floats() | HOSTILE_TEXT,
                    lambda children: st.lists(children, max_size=3) | st.dictionaries(HOSTILE_TEXT, children,
                                                                                      max_size=3),
                    max_leaves=6)
FIELDS = ["version", "files", "onnx", "savedmodel", "variant", "dataset", "kind", "headline"]
PLACES = st.one_of(st.tuples(st.sampled_from(["entry", "name", "models", "index"])),
                   st.tuples(st.just("field"), st.sampled_from(FIELDS)),
                   st.tuples(st.sampled_from(["file name", "file record", "size", "sha256"]),
                             st.sampled_from(["generator.onnx", "savedmodel.tar.gz", "card.md"])))


def hostile_index(index, name, place, value):
    """A copy of `index` with `value` put at `place` in the entry of model `name`."""
    index = copy.deepcopy(index)
    entry = index["models"][name]
    kind, *where = place
    if kind == "index":
        return value
    if kind == "models":
        index["models"] = value
    elif kind == "entry":
        index["models"][name] = value
    elif kind == "name":
        index["models"][value if isinstance(value, str) else json.dumps(value)] = index["models"].pop(name)
    elif kind == "field":
        entry[where[0]] = value
    elif kind == "file name":
        entry["files"][value if isinstance(value, str) else json.dumps(value)] = entry["files"].pop(where[0])
    elif kind == "file record":
        entry["files"][where[0]] = value
    else:
        entry["files"][where[0]][kind] = value
    return index


class RawJSON(str):
    """JSON text that goes into the index as it is: nesting deeper than json.dumps can write."""


@settings(FUZZ, max_examples=150)
@given(name=st.sampled_from(sorted(MODELS)), place=PLACES,
       value=st.one_of(JUNK, st.integers(1, 3000).map(lambda depth: RawJSON(deep(depth)))),
       command=st.sampled_from([["list"], ["info"], ["download"], ["download", "--savedmodel"], ["sample"],
                                ["translate"]]))
def test_hostile_index_entries(tmp_path, tiny_models, fast_network, name, place, value, command):
    sandbox = Sandbox(tempfile.mkdtemp(dir=tmp_path), tiny_models)
    text = json.dumps(hostile_index(sandbox.index, name, place, "@raw@" if isinstance(value, RawJSON) else value))
    sandbox.write_index(text.replace('"@raw@"', value) if isinstance(value, RawJSON) else text)
    sandbox.watch()
    verb, *flags = command
    argv = [verb] if verb == "list" else [verb, name, *flags]
    if verb == "sample":
        argv += ["-n", "2", "-o", sandbox.output]
    elif verb == "translate":
        argv[2:2] = [sandbox.image]
        argv += ["-o", sandbox.output]
    assert_works_or_refused(sandbox.zoo(*argv))
    assert sandbox.unchanged() is True


# --- the network -------------------------------------------------------------------------------------

def test_a_server_that_drips_the_index_is_given_up_on(sandbox, server, fast_network):
    server.drips["/index.json"] = (0.2, 0)  # even the status line comes a byte at a time
    started = time.monotonic()
    assert_refused(sandbox.zoo("list", hub=server.url), "cannot reach hub", "less than")
    assert time.monotonic() - started < 20  # without a deadline: as long as the server drips (30 s here)


def test_a_server_that_drips_a_file_is_given_up_on(sandbox, server, fast_network):
    server.drips["/tiny-noise/generator.onnx"] = (0.2, 100)  # headers and a few bytes, then a drip
    started = time.monotonic()
    assert_refused(sandbox.zoo("download", "tiny-noise", hub=server.url), "stalled", "less than")
    assert len(file_requests(server, "generator.onnx")) == 1  # one stall, not one per attempt
    assert time.monotonic() - started < 20
    assert not [f for f in os.listdir(sandbox.cached("tiny-noise", server.url)) if f.startswith("generator.onnx")
                and not f.endswith(".lock")]


def test_a_server_that_stops_sending_hits_the_read_timeout(sandbox, server, monkeypatch):
    monkeypatch.setattr(zoo.hub, "READ_TIMEOUT", 0.5)
    monkeypatch.setattr(zoo.hub, "RETRY_PAUSE_SECONDS", 0.0)
    server.drips["/tiny-noise/generator.onnx"] = (5.0, 100)  # then silence, far longer than a read may wait
    started = time.monotonic()
    assert_refused(sandbox.zoo("download", "tiny-noise", hub=server.url), "failed 3 times", "no reply for 0.5 s")
    assert time.monotonic() - started < 20  # without a deadline: 3 times as long as the server drips (30 s)


def test_connections_get_the_connect_timeout(sandbox, server, monkeypatch):
    timeouts = []
    real_create_connection = zoo.hub.http.client.socket.create_connection

    def create_connection(address, timeout, *args, **kwargs):
        timeouts.append(timeout)
        return real_create_connection(address, timeout, *args, **kwargs)

    monkeypatch.setattr(zoo.hub.http.client.socket, "create_connection", create_connection)
    assert sandbox.zoo("list", hub=server.url)[0] == 0
    assert timeouts == [zoo.hub.CONNECT_TIMEOUT]


BROKEN_REPLIES = {
    "bad status line": b"SPDY/9 whatever\r\n\r\n",
    "no status line": b"",
    "status line of 100 kB": b"HTTP/1.1 200 " + b"x" * 100_000 + b"\r\n\r\n",
    "200 headers": b"HTTP/1.1 200 OK\r\n" + b"X-A: b\r\n" * 200 + b"\r\n",
    "incomplete chunk": b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n100\r\nonly a few bytes",
    "bad chunk size": b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n",
    "short body": b"HTTP/1.1 200 OK\r\nContent-Length: 1000\r\n\r\nshort",
    "bad content length": b"HTTP/1.1 200 OK\r\nContent-Length: many\r\n\r\n{}",
}


@pytest.mark.parametrize("reply", BROKEN_REPLIES.values(), ids=BROKEN_REPLIES.keys())
def test_broken_http_replies_are_one_line(sandbox, server, fast_network, reply):
    server.raw_replies["/index.json"] = reply
    assert_refused(sandbox.zoo("list", hub=server.url), server.url)
    del server.raw_replies["/index.json"]
    server.raw_replies["/tiny-noise/generator.onnx"] = reply
    assert_refused(sandbox.zoo("download", "tiny-noise", hub=server.url), "tiny-noise/generator.onnx")
    assert not os.path.exists(os.path.join(sandbox.cached("tiny-noise", server.url), "generator.onnx"))


@pytest.mark.parametrize("old,new,allowed", [
    ("https://hub.example/m/generator.onnx", "http://hub.example/m/generator.onnx", False),
    ("https://hub.example/m/generator.onnx", "file:///etc/passwd", False),
    ("https://hub.example/m/generator.onnx", "https://mirror.example/m/generator.onnx", True),
    ("http://hub.example/m/generator.onnx", "https://hub.example/m/generator.onnx", True),
    ("http://hub.example/m/generator.onnx", "http://mirror.example/m/generator.onnx", True),
    ("http://hub.example/m/generator.onnx", "ftp://hub.example/m/generator.onnx", False),
])
def test_redirects_never_downgrade(old, new, allowed):
    handler = zoo.hub._SafeRedirects()
    request = urllib.request.Request(old)
    if allowed:
        assert handler.redirect_request(request, None, 302, "Found", {}, new).full_url == new
    else:
        with pytest.raises(HubError, match="redirects to .* refused"):
            handler.redirect_request(request, None, 302, "Found", {}, new)


# --- traps in a shared cache -------------------------------------------------------------------------

def plant(path, target):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    os.symlink(target, path)


@pytest.mark.parametrize("trap", ["generator.onnx.part", "generator.onnx.lock", "generator.onnx"])
def test_symbolic_links_planted_in_the_cache_are_not_written_through(sandbox, trap):
    outside = os.path.join(sandbox.victim, "precious.txt")
    plant(os.path.join(sandbox.cached("tiny-noise"), trap), outside)
    sandbox.watch()
    assert_refused(sandbox.zoo("download", "tiny-noise"), "symbolic link", "refused")
    assert sandbox.unchanged() is True
    assert os.path.islink(os.path.join(sandbox.cached("tiny-noise"), trap))  # left for the user to see


def test_a_fifo_planted_as_the_part_file_is_refused_without_waiting(sandbox):
    os.makedirs(sandbox.cached("tiny-noise"))
    os.mkfifo(os.path.join(sandbox.cached("tiny-noise"), "generator.onnx.part"))
    assert_refused(sandbox.zoo("download", "tiny-noise"), "special file", "refused")


@pytest.mark.parametrize("trap", ["model folder", "version folder", "hub folder"])
def test_a_linked_cache_folder_is_refused(sandbox, trap):
    folder = {"model folder": os.path.dirname(sandbox.cached("tiny-noise")),
              "version folder": sandbox.cached("tiny-noise"),
              "hub folder": os.path.dirname(os.path.dirname(sandbox.cached("tiny-noise")))}[trap]
    plant(folder, sandbox.victim)
    sandbox.watch()
    assert_refused(sandbox.zoo("download", "tiny-noise", "--savedmodel"), "symbolic link", "refused")
    assert sandbox.unchanged() is True


@pytest.mark.parametrize("trap", ["savedmodel", "savedmodel.extracting", "savedmodel.lock"])
def test_links_where_the_savedmodel_is_unpacked_are_not_followed(sandbox, trap):
    plant(os.path.join(sandbox.cached("tiny-noise"), trap), sandbox.victim)
    sandbox.watch()
    result = sandbox.zoo("download", "tiny-noise", "--savedmodel")
    if trap == "savedmodel.extracting":  # the staging folder has a fresh, unguessable name: the trap is missed
        assert result[0] == 0 and result[1].strip().endswith("savedmodel/savedmodel")
    else:
        assert_refused(result, "symbolic link", "refused")
    assert sandbox.unchanged() is True


# --- SavedModel archives -----------------------------------------------------------------------------

def special_member(name, kind, **fields):
    info = tarfile.TarInfo(name)
    info.type = kind
    for key, value in fields.items():
        setattr(info, key, value)
    return info


HOSTILE_ARCHIVES = {
    "symbolic link": ({**SAVEDMODEL, "savedmodel/link": special_member("savedmodel/link", tarfile.SYMTYPE,
                                                                       linkname="../../../../victim")},
                      "not a plain file"),
    "hard link": ({**SAVEDMODEL, "savedmodel/hard": special_member("savedmodel/hard", tarfile.LNKTYPE,
                                                                   linkname="savedmodel/saved_model.pb")},
                  "not a plain file"),
    "device": ({**SAVEDMODEL, "savedmodel/disk": special_member("savedmodel/disk", tarfile.CHRTYPE,
                                                                devmajor=8, devminor=0)}, "not a plain file"),
    "fifo": ({**SAVEDMODEL, "savedmodel/pipe": special_member("savedmodel/pipe", tarfile.FIFOTYPE)},
             "not a plain file"),
    "absolute path": ({**SAVEDMODEL, "/tmp/gan-zoo-escaped": b"x"}, "not a plain file"),
    "parent path": ({**SAVEDMODEL, "savedmodel/../../../../victim/precious.txt": b"x"}, "not a plain file"),
    "no saved_model.pb": ({"savedmodel/": None, "savedmodel/readme.md": b"x"}, "0 saved_model.pb"),
    "two saved_model.pb": ({**SAVEDMODEL, "other/saved_model.pb": b"x"}, "2 saved_model.pb"),
    "file then folder of one name": ({**SAVEDMODEL, "savedmodel/variables/variables.index/x": b"x"},
                                     "cannot unpack"),
}


def serve_archive(sandbox, archive_bytes):
    """Make the tiny-noise model's savedmodel.tar.gz these bytes, with a matching index entry."""
    model = os.path.join(sandbox.hub, "tiny-noise")
    real = os.readlink(model)
    os.unlink(model)
    shutil.copytree(real, model)
    with open(os.path.join(model, "savedmodel.tar.gz"), "wb") as f:
        f.write(archive_bytes)
    sandbox.index["models"]["tiny-noise"]["files"]["savedmodel.tar.gz"] = file_record(
        os.path.join(model, "savedmodel.tar.gz"))
    sandbox.write_index()
    sandbox.watch()


def archive_bytes(members, folder):
    path = tar_gz(os.path.join(folder, "archive.tar.gz"), members)
    with open(path, "rb") as f:
        return f.read()


@pytest.mark.parametrize("members,fragment", HOSTILE_ARCHIVES.values(), ids=HOSTILE_ARCHIVES.keys())
def test_hostile_archives_are_refused_whole(sandbox, tmp_path, members, fragment):
    serve_archive(sandbox, archive_bytes(members, tmp_path))
    assert_refused(sandbox.zoo("download", "tiny-noise", "--savedmodel"), fragment)
    assert sandbox.unchanged() is True
    assert not os.path.exists("/tmp/gan-zoo-escaped")
    folder = sandbox.cached("tiny-noise")
    assert not [f for f in os.listdir(folder) if f.startswith((".savedmodel", "savedmodel")) and
                f not in ("savedmodel.tar.gz", "savedmodel.tar.gz.lock", "savedmodel.lock")]


def empty_files(count):
    """A .tar.gz of `count` empty files, an inode bomb, its headers written directly: tarfile would take
    half a minute for 200,000."""
    template = bytearray(tarfile.TarInfo("savedmodel/assets/000000").tobuf(tarfile.USTAR_FORMAT))
    template[148:156] = b" " * 8  # the checksum counts its own field as spaces
    checksum_without_digits = sum(template) - sum(b"000000")
    headers = []
    for i in range(count):
        header = bytearray(template)
        header[18:24] = digits = b"%06d" % i
        header[148:156] = b"%06o\0 " % (checksum_without_digits + sum(digits))
        headers.append(bytes(header))
    return gzip.compress(b"".join(headers) + b"\0" * 1024, compresslevel=1)


def two_hundred_gigabytes():
    """A .tar.gz whose one member claims 200 GB; only the header is there, the refusal comes before data."""
    header = tarfile.TarInfo("savedmodel/variables/variables.data-00000-of-00001")
    header.size = 200 << 30
    return gzip.compress(header.tobuf() + b"\0" * 4096)


@pytest.mark.parametrize("build,fragment", [(lambda: empty_files(200_000), "more than 1000 files"),
                                            (two_hundred_gigabytes, "unpacks to more than")],
                         ids=["200,000 files", "200 GB"])
def test_archives_that_would_fill_the_disk_are_refused(sandbox, build, fragment):
    serve_archive(sandbox, build())
    assert_refused(sandbox.zoo("download", "tiny-noise", "--savedmodel"), fragment)
    assert sandbox.unchanged() is True
    assert not [f for f in os.listdir(sandbox.cached("tiny-noise")) if ".unpacking-" in f]


@pytest.mark.parametrize("damage", ["not gzip", "truncated"])
def test_damaged_archives_are_refused(sandbox, tmp_path, damage):
    good = archive_bytes(SAVEDMODEL, tmp_path)
    serve_archive(sandbox, b"plain text, not an archive" if damage == "not gzip" else good[:len(good) // 2])
    assert_refused(sandbox.zoo("download", "tiny-noise", "--savedmodel"), "cannot unpack")
    assert sandbox.unchanged() is True


def test_savedmodel_is_unpacked_once_and_again_when_the_archive_changes(sandbox, tmp_path):
    code, out, _ = sandbox.zoo("download", "tiny-noise", "--savedmodel")
    folder = out.strip()
    assert code == 0 and os.path.isfile(os.path.join(folder, "saved_model.pb"))
    first = os.stat(folder).st_ino
    assert sandbox.zoo("download", "tiny-noise", "--savedmodel")[1].strip() == folder
    assert os.stat(folder).st_ino == first  # found complete: not unpacked again
    serve_archive(sandbox, archive_bytes({**SAVEDMODEL, "savedmodel/saved_model.pb": b"version 2"}, tmp_path))
    assert sandbox.zoo("download", "tiny-noise", "--savedmodel")[1].strip() == folder
    with open(os.path.join(folder, "saved_model.pb"), "rb") as f:
        assert f.read() == b"version 2"


def test_unpacking_without_tarfile_filters_as_on_older_pythons(tmp_path, monkeypatch):
    """Python 3.10.0-3.10.11 and 3.11.0-3.11.3 have no tarfile.data_filter and no extractall(filter=)."""
    real_extractall = tarfile.TarFile.extractall

    def old_extractall(self, path=".", members=None, *, numeric_owner=False):
        return real_extractall(self, path, members, numeric_owner=numeric_owner, filter="fully_trusted")

    monkeypatch.delattr(tarfile, "data_filter", raising=False)
    monkeypatch.setattr(tarfile.TarFile, "extractall", old_extractall)
    setuid = tarfile.TarInfo("savedmodel/saved_model.pb")
    setuid.size, setuid.mode, setuid.uid, setuid.uname = 1, 0o6777, 12345, "someone"
    with tarfile.open(tmp_path / "model.tar.gz", "w:gz") as tar:
        tar.addfile(setuid, io.BytesIO(b"x"))
    folder = extract_archive(str(tmp_path / "model.tar.gz"), str(tmp_path / "model"))
    assert folder == str(tmp_path / "model" / "savedmodel")
    assert stat.S_IMODE(os.stat(os.path.join(folder, "saved_model.pb")).st_mode) == 0o644
    assert os.stat(os.path.join(folder, "saved_model.pb")).st_uid == os.getuid()
    archive = tar_gz(str(tmp_path / "evil.tar.gz"), HOSTILE_ARCHIVES["symbolic link"][0])
    with pytest.raises(HubError, match="not a plain file"):
        extract_archive(archive, str(tmp_path / "evil"))


def test_six_processes_unpack_one_complete_savedmodel(tmp_path):
    import tensorflow as tf

    hub = tmp_path / "hub"
    hub.mkdir()
    os.symlink(os.path.join(ROOT, "zoo", "hub", REAL_MODEL), hub / REAL_MODEL)
    with open(os.path.join(ROOT, "zoo", "hub", "index.json")) as f:
        entry = json.load(f)["models"][REAL_MODEL]
    write_index(str(hub), {"models": {REAL_MODEL: entry}})
    served = HubServer(str(hub))
    served.delay = 0.01  # the downloads overlap
    try:
        command = [sys.executable, "-m", "zoo", "--hub", served.url, "--cache", str(tmp_path / "cache"),
                   "download", REAL_MODEL, "--savedmodel"]
        processes = [subprocess.Popen(command, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
                     for _ in range(6)]
        results = [process.communicate(timeout=300) for process in processes]
    finally:
        served.stop()
    assert [process.returncode for process in processes] == [0] * 6, results
    folders = {out.strip() for out, _ in results}
    assert len(folders) == 1
    folder = folders.pop()
    with tarfile.open(os.path.join(ROOT, "zoo", "hub", REAL_MODEL, "savedmodel.tar.gz")) as tar:
        expected = {m.name.removeprefix("savedmodel/"): m.size for m in tar.getmembers() if m.isfile()}
    unpacked = {os.path.relpath(os.path.join(d, f), folder): os.path.getsize(os.path.join(d, f))
                for d, _, files in os.walk(folder) for f in files}
    assert unpacked == expected and len(expected) == 4
    assert not [f for f in os.listdir(os.path.dirname(os.path.dirname(folder))) if ".unpacking-" in f]
    loaded = tf.saved_model.load(folder)
    assert loaded.signatures  # the folder tf.saved_model.load takes


# --- sampling caps and flags -------------------------------------------------------------------------

def test_sample_count_is_capped_with_a_clear_error(sandbox):
    assert_refused(sandbox.zoo("sample", "tiny-noise", "-n", "10000000", "-o", sandbox.output), "-n",
                   f"between 1 and {SAMPLE_LIMIT:,}")
    assert not os.path.exists(sandbox.output)
    assert sandbox.zoo("sample", "tiny-noise", "-n", str(SAMPLE_LIMIT), "-o", sandbox.output)[0] == 0
    assert Image.open(sandbox.output).size[0] > 300 * 6  # 317 columns of 4-pixel images and padding


@pytest.mark.parametrize("label,fragment", [(str(2 ** 70), "[0, 3)"), ("3", "[0, 3)"), ("-1", "[0, 3)"),
                                            ("seven", "expected an integer")])
def test_labels_outside_the_classes_are_one_line(sandbox, label, fragment):
    assert_refused(sandbox.zoo("sample", "tiny-conditional", "--label", label, "-o", sandbox.output), fragment)
    assert sandbox.zoo("sample", "tiny-conditional", "--label", "2", "-o", sandbox.output)[0] == 0


VALID_FLAGS = {"name": st.sampled_from(["tiny-noise", "tiny-conditional"]), "-n": st.integers(1, 300).map(str),
               "--seed": st.integers(0, 2 ** 70).map(str), "--label": st.none(), "-o": st.just("grid.png")}
HOSTILE_FLAGS = {
    "name": st.one_of(st.just("tiny-translation"), ARGV_TEXT),
    "-n": st.one_of(st.integers(-10, 0).map(str), st.sampled_from([str(SAMPLE_LIMIT + 1), str(10 ** 30)]), ARGV_TEXT),
    "--seed": st.one_of(st.integers(-2 ** 70, -1).map(str), ARGV_TEXT),
    "--label": st.one_of(st.integers(-2 ** 70, 2 ** 70).map(str), st.integers(-2, 5).map(str), ARGV_TEXT),
    "-o": st.one_of(st.sampled_from(["missing-folder/grid.png", ".", "..", ""]),
                    st.text(st.characters(blacklist_characters="\0/"), max_size=30)),
}


@settings(FUZZ, max_examples=100)
@given(hostile=st.sets(st.sampled_from(sorted(VALID_FLAGS)), max_size=2), data=st.data())
def test_hostile_sample_flags(tmp_path, tiny_models, hostile, data):
    """`sample` with up to two hostile flags, the others valid (so that each hostile one is what decides)."""
    flags = {flag: data.draw((HOSTILE_FLAGS if flag in hostile else VALID_FLAGS)[flag], label=flag)
             for flag in VALID_FLAGS}
    sandbox = Sandbox(tempfile.mkdtemp(dir=tmp_path), tiny_models)
    sandbox.output = os.path.join(sandbox.output_folder, flags.pop("-o"))
    argv = ["sample", flags.pop("name"), "-o", sandbox.output]
    for flag, value in flags.items():
        argv += [] if value is None else [flag, value]
    sandbox.watch()
    if assert_works_or_refused(sandbox.zoo(*argv)):
        assert Image.open(sandbox.output).format == "PNG"
    assert sandbox.unchanged() is True


# --- images given to `translate` ---------------------------------------------------------------------

def translated(sandbox, image, name="input.png"):
    """What the identity translator returns for `image`: the pixels `translate` read from the file."""
    path = os.path.join(sandbox.folder, name)
    image.save(path)
    result = sandbox.zoo("translate", "tiny-translation", path, "-o", sandbox.output)
    assert result[0] == 0, result
    return np.asarray(Image.open(sandbox.output))


def test_16_bit_images_are_scaled_not_clipped(sandbox):
    values = np.array([[0, 257, 32896, 65535]] * 4, np.uint16)
    pixels = translated(sandbox, Image.fromarray(values))  # a 16-bit greyscale PNG
    assert Image.open(os.path.join(sandbox.folder, "input.png")).mode == "I;16"
    np.testing.assert_array_equal(pixels, [[0, 1, 128, 255]] * 4)


@pytest.mark.parametrize("mode,values,expected", [
    ("I", [[0, 100, 255, 7]] * 4, [[0, 100, 255, 7]] * 4),  # 8-bit values in a 32-bit image
    ("I", [[0, 257, 32896, 65535]] * 4, [[0, 1, 128, 255]] * 4),  # 16-bit values in a 32-bit image
    ("F", [[0.0, 0.5, 1.0, 0.25]] * 4, [[0, 128, 255, 64]] * 4),  # floats in [0, 1]
    ("F", [[0.0, 100.0, 255.0, 7.0]] * 4, [[0, 100, 255, 7]] * 4),
])
def test_wide_images_are_read_by_their_range(sandbox, mode, values, expected):
    image = Image.fromarray(np.array(values, np.int32 if mode == "I" else np.float32))
    np.testing.assert_array_equal(translated(sandbox, image, "input.tiff"), expected)


def test_transparent_pixels_become_black(sandbox):
    rgba = np.zeros((4, 4, 4), np.uint8)
    rgba[..., :3], rgba[:, :2, 3] = 255, 255  # white; the right half fully transparent
    np.testing.assert_array_equal(translated(sandbox, Image.fromarray(rgba)), [[255, 255, 0, 0]] * 4)
    grey_alpha = Image.fromarray(rgba).convert("LA")
    np.testing.assert_array_equal(translated(sandbox, grey_alpha), [[255, 255, 0, 0]] * 4)
    palette = Image.fromarray(rgba).convert("P")
    palette.info["transparency"] = palette.getpixel((3, 0))
    np.testing.assert_array_equal(translated(sandbox, palette), [[255, 255, 0, 0]] * 4)


@pytest.mark.parametrize("mode", ["1", "L", "P", "RGB", "CMYK", "YCbCr", "I;16B"])
def test_eight_bit_and_other_modes_are_converted(sandbox, mode):
    grey = Image.fromarray(np.array([[0, 80, 160, 255]] * 4, np.uint8))
    image = grey.convert(mode) if mode != "I;16B" else Image.frombytes(
        "I;16B", grey.size, (np.asarray(grey, np.uint16) * 257).astype(">u2").tobytes())
    pixels = translated(sandbox, image, "input.tiff")
    expected = np.asarray(grey.convert("1").convert("L") if mode == "1" else grey, np.int16)
    assert np.abs(pixels.astype(np.int16) - expected).max() <= 2  # colour conversions round a little


def test_modes_without_a_conversion_are_refused_by_name(sandbox):
    path = os.path.join(sandbox.folder, "input.tiff")
    Image.new("LAB", (4, 4)).save(path)
    assert_refused(sandbox.zoo("translate", "tiny-translation", path, "-o", sandbox.output), "pixel mode 'LAB'")
    assert not os.path.exists(sandbox.output)


@pytest.mark.parametrize("values,fragment", [([[np.nan, 0, 0, 0]] * 4, "NaN"), ([[-1.0, 0, 0, 0]] * 4, "negative"),
                                             ([[1e9, 0, 0, 0]] * 4, "beyond 16 bits")])
def test_wide_images_without_a_usable_range_are_refused(sandbox, values, fragment):
    path = os.path.join(sandbox.folder, "input.tiff")
    Image.fromarray(np.array(values, np.float32)).save(path)
    assert_refused(sandbox.zoo("translate", "tiny-translation", path, "-o", sandbox.output), fragment)


MODES = ["1", "L", "P", "RGB", "RGBA", "LA", "PA", "CMYK", "YCbCr", "I", "F", "I;16", "I;16B", "LAB", "HSV"]
FORMATS = ["PNG", "TIFF", "BMP", "GIF", "WEBP", "JPEG", "PPM", "ICO", "TGA"]


@settings(FUZZ, max_examples=120)
@given(mode=st.sampled_from(MODES), file_format=st.sampled_from(FORMATS), width=st.integers(1, 9),
       height=st.integers(1, 9), data=st.data(), cut=st.one_of(st.none(), st.floats(0, 1)))
def test_hostile_images(tmp_path, tiny_models, mode, file_format, width, height, data, cut):
    sandbox = Sandbox(tempfile.mkdtemp(dir=tmp_path), tiny_models)
    size = len(Image.new(mode, (width, height)).tobytes())
    image = Image.frombytes(mode, (width, height), data.draw(st.binary(min_size=size, max_size=size)))
    encoded = io.BytesIO()
    try:
        image.save(encoded, format=file_format)
    except (OSError, ValueError, KeyError):  # this format cannot hold this mode: the raw pixels, then
        encoded = io.BytesIO(image.tobytes())
    content = encoded.getvalue()
    path = os.path.join(sandbox.folder, "input")
    with open(path, "wb") as f:
        f.write(content if cut is None else content[:int(cut * len(content))])
    sandbox.watch()
    if assert_works_or_refused(sandbox.zoo("translate", "tiny-translation", path, "-o", sandbox.output)):
        assert Image.open(sandbox.output).size == (4, 4)
    assert sandbox.unchanged() is True


def test_bugs_are_not_expected_errors(sandbox, monkeypatch):
    """The guard tells a bug from a user's mistake: exit code 1 and a report, not the one-line exit 2."""
    monkeypatch.setattr(zoo.hub.Hub, "names", lambda self: 1 / 0)
    code, _, err = sandbox.zoo("list")
    assert code == 1 and "internal error (a bug, not your input): ZeroDivisionError" in err
    os.unlink(err.split("traceback in ")[1].strip())
